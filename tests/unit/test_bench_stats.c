/* test_bench_stats.c - cairn-bench's latency percentiles (exact below 64,
 * within 1/64 above), error counts by status and S3 code, the response
 * fields it reads from S3 XML, and the JSON report's shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "bench_report.h"
#include "bench_stats.h"
#include "bench_xml.h"
#include "error.h"

static struct bench_histogram *new_histogram(void) {
  struct bench_histogram *h = calloc(1, sizeof *h);
  assert_non_null(h);
  return h;
}

static void test_percentiles_exact(void **state) {
  (void)state;
  struct bench_histogram *h = new_histogram();
  assert_int_equal(bench_histogram_percentile(h, 50), 0); /* empty */
  for (uint64_t v = 100; v >= 1; v--) /* order does not matter */
    bench_histogram_record(h, v);
  assert_int_equal(h->count, 100);
  assert_int_equal(bench_histogram_percentile(h, 50), 50);
  assert_int_equal(bench_histogram_percentile(h, 90), 90);
  assert_int_equal(bench_histogram_percentile(h, 99), 99);
  assert_int_equal(bench_histogram_percentile(h, 100), 100);
  assert_int_equal(bench_histogram_percentile(h, 0), 1);
  assert_int_equal(h->max, 100);
  free(h);
}

static void test_percentiles_large_values(void **state) {
  (void)state;
  struct bench_histogram *h = new_histogram();
  /* 1 ms .. 1000 ms in microseconds, and one outlier. */
  for (uint64_t v = 1; v <= 1000; v++)
    bench_histogram_record(h, v * 1000);
  bench_histogram_record(h, 1ull << 45); /* beyond the last bucket */
  uint64_t p50 = bench_histogram_percentile(h, 50);
  uint64_t p99 = bench_histogram_percentile(h, 99);
  assert_true(p50 >= 500000 && p50 <= 500000 + 500000 / 64);
  assert_true(p99 >= 990000 && p99 <= 990000 + 990000 / 64);
  assert_int_equal(bench_histogram_percentile(h, 100), 1ull << 45);
  free(h);
}

static void test_percentile_never_above_max(void **state) {
  (void)state;
  struct bench_histogram *h = new_histogram();
  bench_histogram_record(h, 1000001);
  assert_int_equal(bench_histogram_percentile(h, 50), 1000001);
  free(h);
}

static void test_error_counts(void **state) {
  (void)state;
  struct bench_errors *e = calloc(1, sizeof *e);
  assert_non_null(e);
  bench_errors_record(e, 503, "SlowDown", NULL);
  bench_errors_record(e, 503, "SlowDown", NULL);
  bench_errors_record(e, 404, "NoSuchKey", NULL);
  bench_errors_record(e, 500, "", NULL);
  bench_errors_record(e, 0, NULL, "Connection refused");
  bench_errors_record(e, 1000, NULL, NULL); /* not HTTP: transport */
  assert_int_equal(e->total, 6);
  assert_int_equal(e->by_status[503], 2);
  assert_int_equal(e->by_status[404], 1);
  assert_int_equal(e->by_status[500], 1);
  assert_int_equal(e->transport, 2);
  assert_int_equal(e->code_count, 2);
  assert_string_equal(e->codes[0], "SlowDown");
  assert_int_equal(e->code_totals[0], 2);
  /* Distinct codes beyond the table are pooled, not dropped. */
  char code[16];
  for (int i = 0; i < BENCH_ERROR_CODES_MAX + 3; i++) {
    snprintf(code, sizeof code, "Code%d", i);
    bench_errors_record(e, 400, code, NULL);
  }
  assert_int_equal(e->code_count, BENCH_ERROR_CODES_MAX);
  assert_int_equal(e->other_codes, 5);
  free(e);
}

static void test_xml_fields(void **state) {
  (void)state;
  const char *err = "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code>"
                    "<Message>The bucket &amp; &lt;x&gt;</Message></Error>";
  char out[64];
  assert_int_equal(bench_xml_text(err, strlen(err), "Code", out, sizeof out),
                   0);
  assert_string_equal(out, "NoSuchBucket");
  assert_int_equal(bench_xml_text(err, strlen(err), "Message", out, sizeof out),
                   0);
  assert_string_equal(out, "The bucket & <x>");
  assert_int_equal(bench_xml_text(err, strlen(err), "Key", out, sizeof out),
                   CAIRN_ENOENT);
  assert_int_equal(bench_xml_text(err, strlen(err), "Message", out, 5),
                   CAIRN_ETOOBIG);
  /* Not NUL-terminated, cut inside the element. */
  assert_int_equal(bench_xml_text(err, 45, "Code", out, sizeof out),
                   CAIRN_ENOENT);
  /* A lone '&' and an entity that is not one are kept as they are. */
  const char *odd = "<UploadId>a&b&amp;&ampx</UploadId>";
  assert_int_equal(
      bench_xml_text(odd, strlen(odd), "UploadId", out, sizeof out), 0);
  assert_string_equal(out, "a&b&&ampx");
  const char *list = "<ListBucketResult><KeyCount>2</KeyCount><Contents>"
                     "<Key>a</Key></Contents><Contents><Key>b</Key>"
                     "</Contents></ListBucketResult>";
  assert_int_equal(bench_xml_count(list, strlen(list), "Contents"), 2);
  assert_int_equal(bench_xml_count(list, strlen(list), "Missing"), 0);
}

static void test_json_report(void **state) {
  (void)state;
  struct bench_options o;
  memset(&o, 0, sizeof o);
  o.scenario = BENCH_GET;
  strcpy(o.endpoint, "http://127.0.0.1:9000");
  o.size.min = o.size.max = 4096;
  o.concurrency = 8;
  struct bench_stats *s = calloc(1, sizeof *s);
  assert_non_null(s);
  s->ops = 200;
  s->bytes = 200 * 4096;
  s->seconds = 2.0;
  for (uint64_t v = 1; v <= 200; v++)
    bench_histogram_record(&s->latency_us, v * 10);
  bench_errors_record(&s->errors, 503, "SlowDown", NULL);
  json_t *doc = bench_report_json(&o, s);
  assert_non_null(doc);
  assert_string_equal(json_string_value(json_object_get(doc, "scenario")),
                      "get");
  assert_true(json_real_value(json_object_get(doc, "ops_per_second")) == 100.0);
  json_t *latency = json_object_get(doc, "latency_ms");
  double p50 = json_real_value(json_object_get(latency, "p50"));
  assert_true(p50 >= 1.0 && p50 <= 1.0 + 1.0 / 64); /* 1000 us */
  json_t *errors = json_object_get(doc, "errors");
  assert_int_equal(json_integer_value(json_object_get(
                       json_object_get(errors, "by_status"), "503")),
                   1);
  assert_int_equal(json_integer_value(json_object_get(
                       json_object_get(errors, "by_code"), "SlowDown")),
                   1);
  json_decref(doc);
  char text[32];
  bench_format_size_range(&(struct bench_size_range){4096, 1u << 20}, text,
                          sizeof text);
  assert_string_equal(text, "4 KiB-1 MiB");
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_percentiles_exact),
      cmocka_unit_test(test_percentiles_large_values),
      cmocka_unit_test(test_percentile_never_above_max),
      cmocka_unit_test(test_error_counts),
      cmocka_unit_test(test_xml_fields),
      cmocka_unit_test(test_json_report),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_bench_options.c - cairn-bench's command line: sizes, size ranges,
 * durations, defaults, credentials from the environment, and bad input
 * refused with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "bench_options.h"
#include "error.h"

static const char *fake_env(const char *name) {
  if (strcmp(name, "AWS_ACCESS_KEY_ID") == 0)
    return "ENVKEY";
  if (strcmp(name, "AWS_SECRET_ACCESS_KEY") == 0)
    return "envsecret";
  return NULL;
}

static const char *empty_env(const char *name) {
  (void)name;
  return NULL;
}

#define ARGC(a) ((int)(sizeof(a) / sizeof(a[0])))

static void test_sizes(void **state) {
  (void)state;
  uint64_t v;
  assert_int_equal(bench_parse_size("4096", &v), 0);
  assert_int_equal(v, 4096);
  assert_int_equal(bench_parse_size("4k", &v), 0);
  assert_int_equal(v, 4096);
  assert_int_equal(bench_parse_size("1M", &v), 0);
  assert_int_equal(v, 1u << 20);
  assert_int_equal(bench_parse_size("2g", &v), 0);
  assert_int_equal(v, 2ull << 30);
  assert_int_equal(bench_parse_size("0", &v), 0);
  assert_int_equal(v, 0);
  assert_int_equal(bench_parse_size("5120g", &v), 0); /* 5 TiB, S3's max */
  const char *bad[] = {"",    "k",   "-1", " 1",    "1.5m",
                       "4kb", "4x",  "1t", "5121g", "99999999999999999999",
                       "1 k", "0x10"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal(bench_parse_size(bad[i], &v), CAIRN_EINVAL);
  assert_int_equal(bench_parse_size(NULL, &v), CAIRN_EINVAL);
}

static void test_size_ranges(void **state) {
  (void)state;
  struct bench_size_range r;
  assert_int_equal(bench_parse_size_range("4k:1m", &r), 0);
  assert_int_equal(r.min, 4096);
  assert_int_equal(r.max, 1u << 20);
  assert_int_equal(bench_parse_size_range("64m", &r), 0);
  assert_int_equal(r.min, r.max);
  const char *bad[] = {"1m:4k", ":4k", "4k:", "4k:1m:2m", "a:b"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal(bench_parse_size_range(bad[i], &r), CAIRN_EINVAL);
  char longer[100];
  memset(longer, '1', sizeof longer - 1);
  longer[sizeof longer - 1] = '\0';
  assert_int_equal(bench_parse_size_range(longer, &r), CAIRN_EINVAL);
}

static void test_durations(void **state) {
  (void)state;
  double s;
  assert_int_equal(bench_parse_duration("30", &s), 0);
  assert_true(s == 30.0);
  assert_int_equal(bench_parse_duration("2s", &s), 0);
  assert_true(s == 2.0);
  assert_int_equal(bench_parse_duration("500ms", &s), 0);
  assert_true(s == 0.5);
  assert_int_equal(bench_parse_duration("2m", &s), 0);
  assert_true(s == 120.0);
  const char *bad[] = {"0", "-1", "1h", "s", "", "1e9", "2 s", "nan"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_int_equal(bench_parse_duration(bad[i], &s), CAIRN_EINVAL);
}

static void test_defaults_and_env(void **state) {
  (void)state;
  char *argv[] = {"cairn-bench", "get"};
  struct bench_options o;
  char err[256];
  assert_int_equal(
      bench_options_parse(ARGC(argv), argv, fake_env, &o, err, sizeof err), 0);
  assert_int_equal(o.scenario, BENCH_GET);
  assert_string_equal(o.access_key, "ENVKEY");
  assert_string_equal(o.secret_key, "envsecret");
  assert_string_equal(o.endpoint, "http://127.0.0.1:9000");
  assert_string_equal(o.host, "127.0.0.1:9000");
  assert_int_equal(o.prefill, 100);
  assert_int_equal(o.concurrency, 16);
  assert_int_equal(o.size.min, 1u << 20);
}

static void test_all_options(void **state) {
  (void)state;
  char *argv[] = {"cairn-bench",
                  "multipart",
                  "--endpoint",
                  "http://10.0.0.1:8080/",
                  "--access-key",
                  "AK",
                  "--secret-key",
                  "SK",
                  "--region=eu-west-1",
                  "--bucket",
                  "bench-1",
                  "--prefix",
                  "p/",
                  "--size",
                  "64m:128m",
                  "--part-size",
                  "8m",
                  "--concurrency",
                  "4",
                  "--ops",
                  "10",
                  "--keys",
                  "random",
                  "--json"};
  struct bench_options o;
  char err[256];
  assert_int_equal(
      bench_options_parse(ARGC(argv), argv, empty_env, &o, err, sizeof err), 0);
  assert_string_equal(o.endpoint, "http://10.0.0.1:8080");
  assert_string_equal(o.host, "10.0.0.1:8080");
  assert_string_equal(o.access_key, "AK");
  assert_string_equal(o.region, "eu-west-1");
  assert_string_equal(o.bucket, "bench-1");
  assert_int_equal(o.size.min, 64u << 20);
  assert_int_equal(o.size.max, 128u << 20);
  assert_int_equal(o.part_size, 8u << 20);
  assert_int_equal(o.concurrency, 4);
  assert_int_equal(o.ops, 10);
  assert_int_equal(o.keys, BENCH_KEYS_RANDOM);
  assert_true(o.json);
}

static void test_list_default_prefill_and_anonymous(void **state) {
  (void)state;
  struct bench_options o;
  char err[256];
  char *list[] = {"cairn-bench", "list"};
  assert_int_equal(
      bench_options_parse(ARGC(list), list, fake_env, &o, err, sizeof err), 0);
  assert_int_equal(o.prefill, 10000);
  /* Anonymous needs no credentials and implies --existing. */
  char *anon[] = {"cairn-bench", "get", "--anonymous", "--prefill", "8"};
  assert_int_equal(
      bench_options_parse(ARGC(anon), anon, empty_env, &o, err, sizeof err), 0);
  assert_true(o.anonymous && o.existing);
}

/* Each bad command line is refused with a message naming what to change. */
static const struct {
  const char *args[7]; /* after the program name, NULL-terminated */
  const char *mention;
} refused[] = {
    {{NULL}, "scenario"},
    {{"fly", NULL}, "fly"},
    {{"put", "--size", "lots", NULL}, "--size"},
    {{"put", "--concurrency", "0", NULL}, "--concurrency"},
    {{"put", "--concurrency", "5000", NULL}, "--concurrency"},
    {{"multipart", "--part-size", "1m", NULL}, "--part-size"},
    {{"multipart", "--size", "100g", "--part-size", "5m", NULL}, "parts"},
    {{"mixed", "--get-ratio", "1.5", NULL}, "--get-ratio"},
    {{"get", "--keys", "shuffled", NULL}, "--keys"},
    {{"put", "--endpoint", "ftp://x", NULL}, "--endpoint"},
    {{"put", "--endpoint", "http://h:1/bucket", NULL}, "--endpoint"},
    {{"put", "--bucket", "Bad_Name", NULL}, "--bucket"},
    {{"put", "--size", NULL}, "needs a value"},
    {{"put", "--json=yes", NULL}, "no value"},
    {{"put", "extra", NULL}, "extra"},
    {{"put", "--colour", "red", NULL}, "--colour"},
    {{"get", "--prefill", "0", NULL}, "--prefill"},
    {{"get", "--ops", "-3", NULL}, "--ops"},
    {{"put", "--anonymous", NULL}, "--anonymous"},
};

static void test_bad_input(void **state) {
  (void)state;
  struct bench_options o;
  char err[256];
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
    char *argv[8] = {"cairn-bench"};
    int argc = 1;
    while (refused[i].args[argc - 1]) {
      argv[argc] = (char *)refused[i].args[argc - 1];
      argc++;
    }
    assert_int_equal(
        bench_options_parse(argc, argv, fake_env, &o, err, sizeof err),
        CAIRN_EINVAL);
    assert_non_null(strstr(err, refused[i].mention));
  }
  /* No credentials anywhere. */
  char *creds[] = {"cairn-bench", "put"};
  assert_int_equal(
      bench_options_parse(2, creds, empty_env, &o, err, sizeof err),
      CAIRN_EINVAL);
  assert_non_null(strstr(err, "AWS_ACCESS_KEY_ID"));
  /* A prefix longer than the bound. */
  char long_prefix[BENCH_PREFIX_MAX + 10];
  memset(long_prefix, 'p', sizeof long_prefix - 1);
  long_prefix[sizeof long_prefix - 1] = '\0';
  char *prefix[] = {"cairn-bench", "put", "--prefix", long_prefix};
  assert_int_equal(
      bench_options_parse(4, prefix, fake_env, &o, err, sizeof err),
      CAIRN_EINVAL);
  assert_non_null(strstr(err, "--prefix"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sizes),
      cmocka_unit_test(test_size_ranges),
      cmocka_unit_test(test_durations),
      cmocka_unit_test(test_defaults_and_env),
      cmocka_unit_test(test_all_options),
      cmocka_unit_test(test_list_default_prefill_and_anonymous),
      cmocka_unit_test(test_bad_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

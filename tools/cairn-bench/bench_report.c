/* bench_report.c - table and JSON output (see bench_report.h). */
#include "bench_report.h"

#include "error.h"

#include <inttypes.h>
#include <string.h>

#define MIB (1024.0 * 1024.0)

static double per_second(uint64_t n, double seconds) {
  return seconds > 0.0 ? (double)n / seconds : 0.0;
}

static double ms(uint64_t us) {
  return (double)us / 1000.0;
}

static void format_size(uint64_t bytes, char *out, size_t cap) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)bytes;
  size_t u = 0;
  while (v >= 1024.0 && u + 1 < sizeof units / sizeof *units) {
    v /= 1024.0;
    u++;
  }
  if (v == (double)(uint64_t)v)
    snprintf(out, cap, "%" PRIu64 " %s", (uint64_t)v, units[u]);
  else
    snprintf(out, cap, "%.1f %s", v, units[u]);
}

void bench_format_size_range(const struct bench_size_range *r, char *out,
                             size_t cap) {
  char min[32], max[32];
  format_size(r->min, min, sizeof min);
  if (r->min == r->max) {
    snprintf(out, cap, "%s", min);
    return;
  }
  format_size(r->max, max, sizeof max);
  snprintf(out, cap, "%s-%s", min, max);
}

json_t *bench_report_json(const struct bench_options *o,
                          const struct bench_stats *s) {
  const struct bench_histogram *h = &s->latency_us;
  json_t *by_status = json_object(), *by_code = json_object();
  for (int i = 0; i <= BENCH_HTTP_STATUS_MAX; i++) {
    if (s->errors.by_status[i]) {
      char name[16];
      snprintf(name, sizeof name, "%d", i);
      json_object_set_new(by_status, name,
                          json_integer((json_int_t)s->errors.by_status[i]));
    }
  }
  for (size_t i = 0; i < s->errors.code_count; i++)
    json_object_set_new(by_code, s->errors.codes[i],
                        json_integer((json_int_t)s->errors.code_totals[i]));
  if (s->errors.other_codes)
    json_object_set_new(by_code, "(other)",
                        json_integer((json_int_t)s->errors.other_codes));
  return json_pack(
      "{s:s, s:s, s:I, s:I, s:i, s:f, s:I, s:f, s:I, s:f, s:I, s:f, s:f, "
      "s:{s:f, s:f, s:f, s:f}, s:{s:I, s:I, s:o, s:o}}",
      "scenario", bench_scenario_name(o->scenario), "endpoint", o->endpoint,
      "size_min", (json_int_t)o->size.min, "size_max", (json_int_t)o->size.max,
      "concurrency", (int)o->concurrency, "seconds", s->seconds, "ops",
      (json_int_t)s->ops, "ops_per_second", per_second(s->ops, s->seconds),
      "bytes", (json_int_t)s->bytes, "mib_per_second",
      per_second(s->bytes, s->seconds) / MIB, "keys", (json_int_t)s->keys,
      "keys_per_second", per_second(s->keys, s->seconds), "gib",
      (double)s->bytes / (MIB * 1024.0), "latency_ms", "p50",
      ms(bench_histogram_percentile(h, 50)), "p90",
      ms(bench_histogram_percentile(h, 90)), "p99",
      ms(bench_histogram_percentile(h, 99)), "max", ms(h->max), "errors",
      "total", (json_int_t)s->errors.total, "transport",
      (json_int_t)s->errors.transport, "by_status", by_status, "by_code",
      by_code);
}

void bench_report_table(FILE *out, const struct bench_options *o,
                        const struct bench_stats *s) {
  const struct bench_histogram *h = &s->latency_us;
  char size[80];
  bench_format_size_range(&o->size, size, sizeof size);
  if (o->scenario == BENCH_LIST || o->scenario == BENCH_DELETE)
    snprintf(size, sizeof size, "%" PRIu64, o->prefill); /* size moot */
  fprintf(out, "cairn-bench %s: %s objects, concurrency %u, %.1f s\n",
          bench_scenario_name(o->scenario), size, o->concurrency, s->seconds);
  fprintf(out, "%10s %10s %10s %9s %9s %9s %9s %8s%s\n", "ops", "ops/s",
          "MiB/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "errors",
          o->scenario == BENCH_LIST ? "     keys/s" : "");
  fprintf(out, "%10" PRIu64 " %10.1f %10.2f %9.2f %9.2f %9.2f %9.2f %8" PRIu64,
          s->ops, per_second(s->ops, s->seconds),
          per_second(s->bytes, s->seconds) / MIB,
          ms(bench_histogram_percentile(h, 50)),
          ms(bench_histogram_percentile(h, 90)),
          ms(bench_histogram_percentile(h, 99)), ms(h->max), s->errors.total);
  if (o->scenario == BENCH_LIST)
    fprintf(out, " %10.0f", per_second(s->keys, s->seconds));
  fputc('\n', out);
  if (!s->errors.total)
    return;
  fprintf(out, "failures:\n");
  for (int i = 0; i <= BENCH_HTTP_STATUS_MAX; i++)
    if (s->errors.by_status[i])
      fprintf(out, "  HTTP %d: %" PRIu64 "\n", i, s->errors.by_status[i]);
  for (size_t i = 0; i < s->errors.code_count; i++)
    fprintf(out, "  %s: %" PRIu64 "\n", s->errors.codes[i],
            s->errors.code_totals[i]);
  if (s->errors.other_codes)
    fprintf(out, "  other S3 codes: %" PRIu64 "\n", s->errors.other_codes);
  if (s->errors.transport)
    fprintf(out, "  no HTTP answer: %" PRIu64 " (last: %s)\n",
            s->errors.transport, s->errors.transport_last);
}

int bench_report_print_json(json_t *doc) {
  if (!doc)
    return CAIRN_ENOMEM;
  json_dumpf(doc, stdout, JSON_COMPACT);
  fputc('\n', stdout);
  json_decref(doc);
  return 0;
}

/*
 * bench_stats.h - what a run measured: a latency histogram, byte and key
 * counters, and failures by HTTP status and by S3 error code.
 *
 * The histogram is log-linear (as HdrHistogram): values below 64 are exact,
 * above that each power of two has 64 buckets, so a percentile is at most
 * 1/64 (1.6%) above the true value, whatever the number of samples, in a
 * fixed BENCH_HISTOGRAM_BUCKETS counters (no per-sample memory).
 */
#ifndef CAIRN_BENCH_STATS_H
#define CAIRN_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_HISTOGRAM_SUB_BITS 6
#define BENCH_HISTOGRAM_SUB (1u << BENCH_HISTOGRAM_SUB_BITS)
#define BENCH_HISTOGRAM_MAX_BITS 40 /* microseconds: 12 days */
#define BENCH_HISTOGRAM_BUCKETS                                                \
  (BENCH_HISTOGRAM_SUB *                                                       \
   (BENCH_HISTOGRAM_MAX_BITS - BENCH_HISTOGRAM_SUB_BITS + 1))

struct bench_histogram {
  uint64_t counts[BENCH_HISTOGRAM_BUCKETS];
  uint64_t count;
  uint64_t max;
};

void bench_histogram_record(struct bench_histogram *h, uint64_t value);
/* The nearest-rank percentile (p in 0..100): the smallest recorded value
 * (to the bucket's precision) with at least p% of the samples at or below
 * it; never above the maximum. 0 when empty. */
uint64_t bench_histogram_percentile(const struct bench_histogram *h, double p);

#define BENCH_HTTP_STATUS_MAX 599
#define BENCH_ERROR_CODES_MAX 16 /* distinct S3 codes kept; others pooled */
#define BENCH_ERROR_CODE_LEN 64

struct bench_errors {
  uint64_t total;
  uint64_t transport; /* no HTTP answer: refused, reset, timed out */
  char transport_last[128];
  uint64_t by_status[BENCH_HTTP_STATUS_MAX + 1];
  size_t code_count;
  char codes[BENCH_ERROR_CODES_MAX][BENCH_ERROR_CODE_LEN];
  uint64_t code_totals[BENCH_ERROR_CODES_MAX];
  uint64_t other_codes; /* beyond BENCH_ERROR_CODES_MAX distinct ones */
};

/* One failed request: status 0 is a transport failure (why: its message);
 * code is the S3 <Code>, NULL or "" when the body had none. */
void bench_errors_record(struct bench_errors *e, long status, const char *code,
                         const char *why);

struct bench_stats {
  struct bench_histogram latency_us; /* per operation */
  struct bench_errors errors;
  uint64_t ops;   /* completed operations, failed ones included */
  uint64_t bytes; /* object bytes sent or received */
  uint64_t keys;  /* list: keys returned */
  double seconds; /* the measured span */
};

#endif

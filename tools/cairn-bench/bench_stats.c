/* bench_stats.c - latency histogram and error counts (see bench_stats.h). */
#include "bench_stats.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static unsigned top_bit(uint64_t v) {
  return 63u - (unsigned)__builtin_clzll(v);
}

static size_t bucket_of(uint64_t v) {
  if (v < BENCH_HISTOGRAM_SUB)
    return (size_t)v;
  unsigned e = top_bit(v);
  if (e >= BENCH_HISTOGRAM_MAX_BITS)
    return BENCH_HISTOGRAM_BUCKETS - 1;
  unsigned shift = e - BENCH_HISTOGRAM_SUB_BITS;
  size_t sub = (size_t)(v >> shift) - BENCH_HISTOGRAM_SUB;
  return (size_t)BENCH_HISTOGRAM_SUB * (shift + 1) + sub;
}

/* The largest value that falls in bucket i. */
static uint64_t bucket_top(size_t i) {
  if (i < BENCH_HISTOGRAM_SUB)
    return i;
  unsigned shift = (unsigned)(i / BENCH_HISTOGRAM_SUB) - 1;
  uint64_t low = (uint64_t)(BENCH_HISTOGRAM_SUB + i % BENCH_HISTOGRAM_SUB)
                 << shift;
  return low + ((uint64_t)1 << shift) - 1;
}

void bench_histogram_record(struct bench_histogram *h, uint64_t value) {
  h->counts[bucket_of(value)]++;
  h->count++;
  if (value > h->max)
    h->max = value;
}

uint64_t bench_histogram_percentile(const struct bench_histogram *h, double p) {
  if (h->count == 0)
    return 0;
  if (p < 0.0)
    p = 0.0;
  if (p > 100.0)
    p = 100.0;
  uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)h->count);
  if (rank == 0)
    rank = 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < BENCH_HISTOGRAM_BUCKETS; i++) {
    seen += h->counts[i];
    if (seen >= rank) {
      if (i == BENCH_HISTOGRAM_BUCKETS - 1)
        return h->max; /* the overflow bucket has no top of its own */
      uint64_t top = bucket_top(i);
      return top < h->max ? top : h->max;
    }
  }
  return h->max;
}

void bench_errors_record(struct bench_errors *e, long status, const char *code,
                         const char *why) {
  e->total++;
  if (status <= 0 || status > BENCH_HTTP_STATUS_MAX) {
    e->transport++;
    snprintf(e->transport_last, sizeof e->transport_last, "%s",
             why && *why ? why : "no HTTP answer");
    return;
  }
  e->by_status[status]++;
  if (!code || !*code)
    return;
  for (size_t i = 0; i < e->code_count; i++) {
    if (strcmp(e->codes[i], code) == 0) {
      e->code_totals[i]++;
      return;
    }
  }
  if (e->code_count == BENCH_ERROR_CODES_MAX) {
    e->other_codes++;
    return;
  }
  snprintf(e->codes[e->code_count], BENCH_ERROR_CODE_LEN, "%s", code);
  e->code_totals[e->code_count++] = 1;
}

/* rate_limit.c - token bucket (see rate_limit.h). */
#include "rate_limit.h"

void rate_limit_init(struct rate_limit *r, uint64_t bytes_per_sec,
                     uint64_t now_ms) {
  r->bytes_per_sec = bytes_per_sec;
  r->tokens = (double)bytes_per_sec;
  r->last_ms = now_ms;
}

uint64_t rate_limit_take(struct rate_limit *r, uint64_t bytes,
                         uint64_t now_ms) {
  if (r->bytes_per_sec == 0)
    return 0;
  double burst = (double)r->bytes_per_sec;
  if (now_ms > r->last_ms) {
    r->tokens += (double)(now_ms - r->last_ms) * burst / 1000.0;
    if (r->tokens > burst)
      r->tokens = burst;
    r->last_ms = now_ms;
  }
  /* A request bigger than the burst goes when the bucket is full. */
  double need = (double)bytes < burst ? (double)bytes : burst;
  if (r->tokens >= need) {
    r->tokens -= (double)bytes;
    return 0;
  }
  uint64_t wait = (uint64_t)((need - r->tokens) * 1000.0 / burst) + 1;
  return wait;
}

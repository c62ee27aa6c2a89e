/*
 * rate_limit.h - a token bucket that bounds background I/O (repair on the
 * coordinator, the scrubber on a node) to a number of bytes per second.
 *
 * Pure: the caller passes the time (monotonic ms), so it is testable and
 * usable from any thread that owns the struct. A burst of one second's
 * worth is allowed; a request larger than that is let through once the
 * bucket is full, so a big chunk is never starved.
 */
#ifndef CAIRN_RATE_LIMIT_H
#define CAIRN_RATE_LIMIT_H

#include <stdint.h>

struct rate_limit {
  uint64_t bytes_per_sec; /* 0: unlimited */
  double tokens;          /* bytes that may go now */
  uint64_t last_ms;
};

void rate_limit_init(struct rate_limit *r, uint64_t bytes_per_sec,
                     uint64_t now_ms);
/* 0 when `bytes` may go now (they are taken), else the ms to wait before
 * asking again. */
uint64_t rate_limit_take(struct rate_limit *r, uint64_t bytes, uint64_t now_ms);

#endif

/*
 * s3_put_budget.h - the PUT budget (--put-budget-bytes): the bytes of
 * pieces and stripes that every object writer of the coordinator
 * (PutObject, UploadPart, CopyObject, UploadPartCopy) may hold at once,
 * so that its memory does not grow with object size or connection count.
 *
 *   join:    a writer takes a replicated plan from its share (windows and
 *            pieces shrink as more writers run) and counts in puts_held
 *   stripes: an erasure-coded writer trades that plan for its stripes,
 *            which cannot shrink; past the budget it waits, in arrival
 *            order, until running writers give bytes back
 *   leave:   gives its bytes back (or leaves the queue) and admits the
 *            waiting writers the budget now holds
 *
 * All on the loop thread.
 */
#ifndef CAIRN_S3_PUT_BUDGET_H
#define CAIRN_S3_PUT_BUDGET_H

#include "object_writer.h"

#include <stdint.h>

struct coordinator;

struct put_waiter {
  struct put_waiter *next; /* in coordinator.puts_waiting */
  uint64_t held;           /* its bytes in coordinator.puts_held */
  int joined, waiting;
  /* Called once a waiting writer is admitted (held counted). */
  void (*admitted)(struct put_waiter *w);
};

/* Counts a writer of `size` bytes among the running ones and returns its
 * replicated plan (object_writer_plan_share). */
struct object_writer_plan s3_put_budget_join(struct coordinator *c,
                                             struct put_waiter *w,
                                             uint64_t size, int encrypt);
/* An erasure-coded writer holding `held` bytes of stripes instead: 0 when
 * it may start now, 1 when it waits (w->admitted is called later). */
int s3_put_budget_stripes(struct coordinator *c, struct put_waiter *w,
                          uint64_t held);
/* The writer is done (or never started): safe on a writer that never
 * joined, and once only. */
void s3_put_budget_leave(struct coordinator *c, struct put_waiter *w);
/* A request aborted while its writer waits (nothing began): leaves the
 * queue and answers code (NULL: the client is gone, just ends r). 1 when
 * it did, 0 when the writer was not waiting. */
struct s3_request;
int s3_put_budget_abort_waiting(struct s3_request *r, struct put_waiter *w,
                                const char *code);

#endif

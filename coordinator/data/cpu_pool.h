/*
 * cpu_pool.h - per-byte CPU work of object streams (hashing, sealing,
 * erasure coding) on worker threads, in ordered lanes, off the loop thread.
 *
 * Why not uv_queue_work: libuv's pool is global, 4 threads by default and
 * shared with every uv_fs_* and getaddrinfo call, and it runs jobs in no
 * particular order. A stream's bytes must be hashed in order (MD5 is
 * sequential), so each stream gets a lane: the jobs of one lane run one at
 * a time, in submission order; different lanes run in parallel on the
 * pool's threads. The loop only moves buffers.
 *
 * Threads: work() runs on a worker thread; done() runs on the loop thread,
 * for the jobs of one lane in submission order, never inside
 * cpu_lane_submit or cpu_lane_cancel. Everything a job's work() touches
 * belongs to that job (or to its lane's earlier jobs, which are finished)
 * until its done(): the pool's mutex orders one job's writes before the
 * next job of the lane and before done().
 *
 * Errors: when a work() returns non-zero, the lane's later jobs do not run:
 * their done() gets that status. cpu_lane_cancel() does the same with
 * CAIRN_ECANCELED for every job not yet started (a running one finishes
 * and reports its own status).
 *
 * Ownership: jobs are the caller's (usually embedded in a larger struct)
 * and must stay valid until their done(). A lane is freed by its owner
 * once idle (every submitted job done). The pool is closed once, after
 * every lane is freed; it frees itself when its handle is closed.
 */
#ifndef CAIRN_CPU_POOL_H
#define CAIRN_CPU_POOL_H

#include <stddef.h>
#include <uv.h>

#define CPU_POOL_MAX_THREADS 16

struct cpu_pool;
struct cpu_lane;

struct cpu_job {
  /* Set by the caller before cpu_lane_submit. */
  int (*work)(struct cpu_job *job);              /* worker thread */
  void (*done)(struct cpu_job *job, int status); /* loop thread */
  /* The pool's. */
  struct cpu_job *next;
  struct cpu_lane *lane;
  int status;
};

/* threads 0: one per available CPU (at most CPU_POOL_MAX_THREADS). 0,
 * CAIRN_ENOMEM or CAIRN_EIO (a thread could not start). */
int cpu_pool_new(uv_loop_t *loop, unsigned threads, struct cpu_pool **out);
unsigned cpu_pool_threads(const struct cpu_pool *pool);
/* Lets queued work finish, joins the threads (briefly blocking the loop),
 * delivers the last done() calls, then closes the handle; the pool frees
 * itself in the close callback. Every lane must be freed first. */
void cpu_pool_close(struct cpu_pool *pool);

/* 0 or CAIRN_ENOMEM. */
int cpu_lane_new(struct cpu_pool *pool, struct cpu_lane **out);
/* Queues job behind the lane's earlier ones. 0, or CAIRN_ECANCELED when the
 * pool is closing (done never runs then). */
int cpu_lane_submit(struct cpu_lane *lane, struct cpu_job *job);
/* Jobs not yet started complete with CAIRN_ECANCELED, later submissions
 * too. */
void cpu_lane_cancel(struct cpu_lane *lane);
/* Submitted jobs whose done() has not run yet (loop thread). */
size_t cpu_lane_pending(const struct cpu_lane *lane);
/* Requires cpu_lane_pending() == 0. NULL is ignored. */
void cpu_lane_free(struct cpu_lane *lane);

#endif

/*
 * cpu_pool.c - worker threads running ordered lanes of CPU jobs
 * (cpu_pool.h).
 *
 * One mutex guards everything shared with the workers: the queue of
 * runnable lanes, each lane's pending jobs, its running flag and status,
 * and the completion queue the loop drains on the uv_async_t.
 *
 *   submit --> lane.pending --(lane not running)--> ready queue
 *   worker: pop lane, pop its first job, run work() unlocked,
 *           post the job to completions; lane failed: post the rest too;
 *           more pending: the lane goes back to the ready queue
 *   loop (async): completions in order --> done()
 *
 * Invariants:
 *  1. A lane is in the ready queue at most once, only while it is not
 *     running and has pending jobs; so its jobs run one at a time, in order.
 *  2. A lane's jobs reach the completion queue in submission order (a job is
 *     posted when its work ends, or with the lane's error when an earlier
 *     one failed or the lane was cancelled), so done() runs in that order.
 *  3. No worker touches a lane after posting its last job: the loop may
 *     free it as soon as that job's done() ran.
 */
#include "cpu_pool.h"

#include "error.h"

#include <pthread.h>
#include <stdlib.h>

struct cpu_lane {
  struct cpu_pool *pool;
  struct cpu_job *head, *tail; /* pending, not started */
  struct cpu_lane *next_ready;
  int running, ready;
  int status;         /* first failure (or CAIRN_ECANCELED), then sticky */
  size_t outstanding; /* submitted, done() not run (loop thread only) */
};

struct cpu_pool {
  uv_loop_t *loop;
  uv_async_t async;
  pthread_mutex_t mu;
  pthread_cond_t cond;
  struct cpu_lane *ready_head, *ready_tail;
  struct cpu_job *done_head, *done_tail;
  int stopping;
  unsigned n_threads;
  pthread_t threads[CPU_POOL_MAX_THREADS];
};

/* ---- under pool->mu ------------------------------------------------------ */

static void post_done(struct cpu_pool *pool, struct cpu_job *job, int status) {
  job->status = status;
  job->next = NULL;
  if (pool->done_tail)
    pool->done_tail->next = job;
  else
    pool->done_head = job;
  pool->done_tail = job;
}

static void make_ready(struct cpu_pool *pool, struct cpu_lane *lane) {
  if (lane->ready || lane->running || !lane->head)
    return;
  lane->ready = 1;
  lane->next_ready = NULL;
  if (pool->ready_tail)
    pool->ready_tail->next_ready = lane;
  else
    pool->ready_head = lane;
  pool->ready_tail = lane;
  pthread_cond_signal(&pool->cond);
}

static void unready(struct cpu_pool *pool, struct cpu_lane *lane) {
  if (!lane->ready)
    return;
  struct cpu_lane **at = &pool->ready_head, *prev = NULL;
  while (*at != lane) {
    prev = *at;
    at = &(*at)->next_ready;
  }
  *at = lane->next_ready;
  if (pool->ready_tail == lane)
    pool->ready_tail = prev;
  lane->ready = 0;
}

/* Every pending job of a failed lane completes with its status. */
static void flush_failed(struct cpu_pool *pool, struct cpu_lane *lane) {
  while (lane->head) {
    struct cpu_job *job = lane->head;
    lane->head = job->next;
    post_done(pool, job, lane->status);
  }
  lane->tail = NULL;
  unready(pool, lane);
}

/* ---- worker threads ------------------------------------------------------ */

static void *worker_main(void *arg) {
  struct cpu_pool *pool = arg;
  pthread_mutex_lock(&pool->mu);
  for (;;) {
    while (!pool->ready_head && !pool->stopping)
      pthread_cond_wait(&pool->cond, &pool->mu);
    struct cpu_lane *lane = pool->ready_head;
    if (!lane)
      break; /* stopping and nothing left */
    pool->ready_head = lane->next_ready;
    if (!pool->ready_head)
      pool->ready_tail = NULL;
    lane->ready = 0;
    struct cpu_job *job = lane->head; /* non-NULL: invariant 1 */
    lane->head = job->next;
    if (!lane->head)
      lane->tail = NULL;
    lane->running = 1;
    pthread_mutex_unlock(&pool->mu);

    int status = job->work(job);

    pthread_mutex_lock(&pool->mu);
    lane->running = 0;
    post_done(pool, job, status);
    if (status != 0 && lane->status == 0)
      lane->status = status;
    if (lane->status != 0)
      flush_failed(pool, lane);
    else
      make_ready(pool, lane);
    /* From here on the lane may be freed by the loop (invariant 3). */
    pthread_mutex_unlock(&pool->mu);
    uv_async_send(&pool->async);
    pthread_mutex_lock(&pool->mu);
  }
  pthread_mutex_unlock(&pool->mu);
  return NULL;
}

/* ---- loop thread --------------------------------------------------------- */

static void deliver(struct cpu_pool *pool) {
  pthread_mutex_lock(&pool->mu);
  struct cpu_job *job = pool->done_head;
  pool->done_head = pool->done_tail = NULL;
  pthread_mutex_unlock(&pool->mu);
  while (job) {
    struct cpu_job *next = job->next; /* done() may free job and lane */
    job->lane->outstanding--;
    job->done(job, job->status);
    job = next;
  }
}

static void on_async(uv_async_t *h) {
  deliver(h->data);
}

static void on_closed(uv_handle_t *h) {
  struct cpu_pool *pool = h->data;
  pthread_cond_destroy(&pool->cond);
  pthread_mutex_destroy(&pool->mu);
  free(pool);
}

int cpu_pool_new(uv_loop_t *loop, unsigned threads, struct cpu_pool **out) {
  if (threads == 0)
    threads = uv_available_parallelism();
  if (threads == 0)
    threads = 1;
  if (threads > CPU_POOL_MAX_THREADS)
    threads = CPU_POOL_MAX_THREADS;
  struct cpu_pool *pool = calloc(1, sizeof *pool);
  if (!pool)
    return CAIRN_ENOMEM;
  pool->loop = loop;
  if (pthread_mutex_init(&pool->mu, NULL) != 0) {
    free(pool);
    return CAIRN_ENOMEM;
  }
  if (pthread_cond_init(&pool->cond, NULL) != 0) {
    pthread_mutex_destroy(&pool->mu);
    free(pool);
    return CAIRN_ENOMEM;
  }
  uv_async_init(loop, &pool->async, on_async);
  pool->async.data = pool;
  for (unsigned i = 0; i < threads; i++) {
    if (pthread_create(&pool->threads[i], NULL, worker_main, pool) != 0) {
      cpu_pool_close(pool);
      return CAIRN_EIO;
    }
    pool->n_threads++;
  }
  *out = pool;
  return 0;
}

unsigned cpu_pool_threads(const struct cpu_pool *pool) {
  return pool->n_threads;
}

void cpu_pool_close(struct cpu_pool *pool) {
  if (!pool)
    return;
  pthread_mutex_lock(&pool->mu);
  pool->stopping = 1;
  pthread_cond_broadcast(&pool->cond);
  pthread_mutex_unlock(&pool->mu);
  for (unsigned i = 0; i < pool->n_threads; i++)
    pthread_join(pool->threads[i], NULL);
  pool->n_threads = 0;
  deliver(pool);
  uv_close((uv_handle_t *)&pool->async, on_closed);
}

int cpu_lane_new(struct cpu_pool *pool, struct cpu_lane **out) {
  struct cpu_lane *lane = calloc(1, sizeof *lane);
  if (!lane)
    return CAIRN_ENOMEM;
  lane->pool = pool;
  *out = lane;
  return 0;
}

int cpu_lane_submit(struct cpu_lane *lane, struct cpu_job *job) {
  struct cpu_pool *pool = lane->pool;
  job->lane = lane;
  job->next = NULL;
  pthread_mutex_lock(&pool->mu);
  if (pool->stopping) {
    pthread_mutex_unlock(&pool->mu);
    return CAIRN_ECANCELED;
  }
  lane->outstanding++;
  /* A failed lane's job completes at once, unless one still runs: it then
   * waits behind it, so done() keeps the order (invariant 2). */
  int failed = lane->status != 0 && !lane->running;
  if (failed) {
    post_done(pool, job, lane->status);
  } else {
    if (lane->tail)
      lane->tail->next = job;
    else
      lane->head = job;
    lane->tail = job;
    if (lane->status == 0)
      make_ready(pool, lane);
  }
  pthread_mutex_unlock(&pool->mu);
  if (failed)
    uv_async_send(&pool->async);
  return 0;
}

void cpu_lane_cancel(struct cpu_lane *lane) {
  struct cpu_pool *pool = lane->pool;
  pthread_mutex_lock(&pool->mu);
  if (lane->status == 0)
    lane->status = CAIRN_ECANCELED;
  /* A running job reports first; its worker then flushes the rest. */
  int posted = !lane->running && lane->head != NULL;
  if (!lane->running)
    flush_failed(pool, lane);
  pthread_mutex_unlock(&pool->mu);
  if (posted)
    uv_async_send(&pool->async);
}

size_t cpu_lane_pending(const struct cpu_lane *lane) {
  return lane->outstanding;
}

void cpu_lane_free(struct cpu_lane *lane) {
  free(lane);
}

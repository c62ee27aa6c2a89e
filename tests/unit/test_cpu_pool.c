/* test_cpu_pool.c - ordered lanes of CPU jobs on worker threads
 * (coordinator/data/cpu_pool.c): a lane's jobs run one at a time in order
 * and report in order, lanes run in parallel, a failure or a cancel stops
 * the lane's later jobs, done() never runs inside submit or cancel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cpu_pool.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define MAX_JOBS 512

struct log {
  int ran[MAX_JOBS]; /* job ids in the order their work ran */
  int n_ran;
  int done[MAX_JOBS]; /* job ids in the order done() ran */
  int status[MAX_JOBS];
  int n_done;
  int running; /* works of this lane running now (must stay <= 1) */
  int overlap; /* set when two ran at once */
  int in_call; /* the test is inside submit/cancel */
  int reentered;
};

struct test_job {
  struct cpu_job job; /* first */
  struct log *log;
  int id;
  int fail_with;               /* work's status */
  uv_sem_t *started, *release; /* when set: block in work until released */
};

static int job_work(struct cpu_job *job) {
  struct test_job *t = (struct test_job *)job;
  if (__atomic_add_fetch(&t->log->running, 1, __ATOMIC_SEQ_CST) > 1)
    t->log->overlap = 1;
  if (t->started)
    uv_sem_post(t->started);
  if (t->release)
    uv_sem_wait(t->release);
  /* Plain writes: the pool's ordering must make them visible in turn. */
  t->log->ran[t->log->n_ran++] = t->id;
  __atomic_sub_fetch(&t->log->running, 1, __ATOMIC_SEQ_CST);
  return t->fail_with;
}

static void job_done(struct cpu_job *job, int status) {
  struct test_job *t = (struct test_job *)job;
  if (t->log->in_call)
    t->log->reentered = 1;
  t->log->status[t->id] = status;
  t->log->done[t->log->n_done++] = t->id;
}

static void init_job(struct test_job *t, struct log *log, int id) {
  memset(t, 0, sizeof *t);
  t->job.work = job_work;
  t->job.done = job_done;
  t->log = log;
  t->id = id;
}

static void submit(struct cpu_lane *lane, struct test_job *t) {
  t->log->in_call = 1;
  assert_int_equal(cpu_lane_submit(lane, &t->job), 0);
  t->log->in_call = 0;
}

static void run_until_done(uv_loop_t *loop, struct log *log, int n) {
  while (log->n_done < n)
    uv_run(loop, UV_RUN_ONCE);
}

static void finish(uv_loop_t *loop, struct cpu_pool *pool) {
  cpu_pool_close(pool);
  uv_run(loop, UV_RUN_DEFAULT); /* the close callback frees the pool */
  assert_int_equal(uv_loop_close(loop), 0);
}

/* One lane: work and done() both in submission order, never two at once,
 * never a done() inside submit. */
static void test_one_lane_in_order(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct cpu_pool *pool;
  assert_int_equal(cpu_pool_new(&loop, 4, &pool), 0);
  assert_int_equal(cpu_pool_threads(pool), 4);
  struct cpu_lane *lane;
  assert_int_equal(cpu_lane_new(pool, &lane), 0);
  static struct log log;
  memset(&log, 0, sizeof log);
  static struct test_job jobs[300];
  for (int i = 0; i < 300; i++) {
    init_job(&jobs[i], &log, i);
    submit(lane, &jobs[i]);
  }
  assert_true(cpu_lane_pending(lane) > 0);
  run_until_done(&loop, &log, 300);
  assert_int_equal(cpu_lane_pending(lane), 0);
  assert_int_equal(log.n_ran, 300);
  for (int i = 0; i < 300; i++) {
    assert_int_equal(log.ran[i], i);
    assert_int_equal(log.done[i], i);
    assert_int_equal(log.status[i], 0);
  }
  assert_false(log.overlap);
  assert_false(log.reentered);
  cpu_lane_free(lane);
  finish(&loop, pool);
}

/* Several lanes at once: each keeps its own order; they do run in
 * parallel (two blocked jobs of two lanes are both started). */
static void test_lanes_in_parallel(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct cpu_pool *pool;
  assert_int_equal(cpu_pool_new(&loop, 2, &pool), 0);
  enum { LANES = 4, PER = 100 };
  struct cpu_lane *lanes[LANES];
  static struct log logs[LANES];
  static struct test_job jobs[LANES][PER];
  uv_sem_t started, release;
  uv_sem_init(&started, 0);
  uv_sem_init(&release, 0);
  memset(logs, 0, sizeof logs);
  for (int l = 0; l < LANES; l++)
    assert_int_equal(cpu_lane_new(pool, &lanes[l]), 0);
  /* The first jobs of lanes 0 and 1 block: both must start. */
  for (int l = 0; l < 2; l++) {
    init_job(&jobs[l][0], &logs[l], 0);
    jobs[l][0].started = &started;
    jobs[l][0].release = &release;
    submit(lanes[l], &jobs[l][0]);
  }
  uv_sem_wait(&started);
  uv_sem_wait(&started); /* two threads busy with two lanes */
  for (int l = 0; l < LANES; l++)
    for (int i = l < 2 ? 1 : 0; i < PER; i++) {
      init_job(&jobs[l][i], &logs[l], i);
      submit(lanes[l], &jobs[l][i]);
    }
  uv_sem_post(&release);
  uv_sem_post(&release);
  for (int l = 0; l < LANES; l++)
    run_until_done(&loop, &logs[l], PER);
  for (int l = 0; l < LANES; l++) {
    assert_false(logs[l].overlap);
    assert_int_equal(logs[l].n_ran, PER);
    for (int i = 0; i < PER; i++) {
      assert_int_equal(logs[l].ran[i], i);
      assert_int_equal(logs[l].done[i], i);
    }
    cpu_lane_free(lanes[l]);
  }
  uv_sem_destroy(&started);
  uv_sem_destroy(&release);
  finish(&loop, pool);
}

/* A failing job: its status reaches its done(); the lane's later jobs do
 * not run and report that status, submissions after it too. Another lane
 * is unaffected. */
static void test_error_stops_the_lane(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct cpu_pool *pool;
  assert_int_equal(cpu_pool_new(&loop, 2, &pool), 0);
  struct cpu_lane *lane, *other;
  assert_int_equal(cpu_lane_new(pool, &lane), 0);
  assert_int_equal(cpu_lane_new(pool, &other), 0);
  static struct log log, olog;
  memset(&log, 0, sizeof log);
  memset(&olog, 0, sizeof olog);
  static struct test_job jobs[11], ojobs[10];
  for (int i = 0; i < 10; i++) {
    init_job(&jobs[i], &log, i);
    if (i == 3)
      jobs[i].fail_with = CAIRN_EIO;
    submit(lane, &jobs[i]);
    init_job(&ojobs[i], &olog, i);
    submit(other, &ojobs[i]);
  }
  run_until_done(&loop, &log, 10);
  init_job(&jobs[10], &log, 10); /* after the failure */
  submit(lane, &jobs[10]);
  assert_int_equal(log.n_done, 10); /* not inside submit */
  run_until_done(&loop, &log, 11);
  run_until_done(&loop, &olog, 10);
  assert_int_equal(log.n_ran, 4); /* 0..3 ran, the rest did not */
  for (int i = 0; i <= 10; i++) {
    assert_int_equal(log.done[i], i);
    assert_int_equal(log.status[i], i < 3 ? 0 : CAIRN_EIO);
  }
  assert_int_equal(olog.n_ran, 10);
  for (int i = 0; i < 10; i++)
    assert_int_equal(olog.status[i], 0);
  assert_false(log.reentered);
  cpu_lane_free(lane);
  cpu_lane_free(other);
  finish(&loop, pool);
}

/* The client went away: cancel while a job runs. The running one finishes
 * with its own status and reports first; the queued ones never run and
 * report CAIRN_ECANCELED, in order; later submissions too. */
static void test_cancel_while_running(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct cpu_pool *pool;
  assert_int_equal(cpu_pool_new(&loop, 2, &pool), 0);
  struct cpu_lane *lane;
  assert_int_equal(cpu_lane_new(pool, &lane), 0);
  static struct log log;
  memset(&log, 0, sizeof log);
  static struct test_job jobs[7];
  uv_sem_t started, release;
  uv_sem_init(&started, 0);
  uv_sem_init(&release, 0);
  init_job(&jobs[0], &log, 0);
  jobs[0].started = &started;
  jobs[0].release = &release;
  submit(lane, &jobs[0]);
  uv_sem_wait(&started);
  for (int i = 1; i < 5; i++) {
    init_job(&jobs[i], &log, i);
    submit(lane, &jobs[i]);
  }
  log.in_call = 1;
  cpu_lane_cancel(lane);
  log.in_call = 0;
  init_job(&jobs[5], &log, 5);
  submit(lane, &jobs[5]); /* cancelled, behind the running one */
  uv_sem_post(&release);
  run_until_done(&loop, &log, 6);
  assert_int_equal(log.n_ran, 1);
  for (int i = 0; i < 6; i++) {
    assert_int_equal(log.done[i], i);
    assert_int_equal(log.status[i], i == 0 ? 0 : CAIRN_ECANCELED);
  }
  /* Idle and cancelled: a submission completes at once, on the loop. */
  init_job(&jobs[6], &log, 6);
  submit(lane, &jobs[6]);
  run_until_done(&loop, &log, 7);
  assert_int_equal(log.status[6], CAIRN_ECANCELED);
  assert_int_equal(log.n_ran, 1);
  assert_false(log.reentered);
  assert_int_equal(cpu_lane_pending(lane), 0);
  cpu_lane_free(lane);
  uv_sem_destroy(&started);
  uv_sem_destroy(&release);
  finish(&loop, pool);
}

/* Cancel of an idle lane with queued jobs (the only thread is busy with
 * another lane): none of them runs. */
static void test_cancel_queued(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct cpu_pool *pool;
  assert_int_equal(cpu_pool_new(&loop, 1, &pool), 0);
  struct cpu_lane *busy, *lane;
  assert_int_equal(cpu_lane_new(pool, &busy), 0);
  assert_int_equal(cpu_lane_new(pool, &lane), 0);
  static struct log blog, log;
  memset(&blog, 0, sizeof blog);
  memset(&log, 0, sizeof log);
  static struct test_job block, jobs[3];
  uv_sem_t started, release;
  uv_sem_init(&started, 0);
  uv_sem_init(&release, 0);
  init_job(&block, &blog, 0);
  block.started = &started;
  block.release = &release;
  submit(busy, &block);
  uv_sem_wait(&started);
  for (int i = 0; i < 3; i++) {
    init_job(&jobs[i], &log, i);
    submit(lane, &jobs[i]);
  }
  cpu_lane_cancel(lane); /* its jobs wait in the ready queue */
  uv_sem_post(&release);
  run_until_done(&loop, &log, 3);
  run_until_done(&loop, &blog, 1);
  assert_int_equal(log.n_ran, 0);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(log.done[i], i);
    assert_int_equal(log.status[i], CAIRN_ECANCELED);
  }
  assert_int_equal(blog.status[0], 0);
  cpu_lane_free(busy);
  cpu_lane_free(lane); /* freed while the pool lives: nothing refers to it */
  uv_sem_destroy(&started);
  uv_sem_destroy(&release);
  finish(&loop, pool);
}

/* Closing the pool runs what is queued and delivers every done() before
 * it returns. */
static void test_close_delivers(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct cpu_pool *pool;
  assert_int_equal(cpu_pool_new(&loop, 2, &pool), 0);
  struct cpu_lane *lane;
  assert_int_equal(cpu_lane_new(pool, &lane), 0);
  static struct log log;
  memset(&log, 0, sizeof log);
  static struct test_job jobs[50];
  for (int i = 0; i < 50; i++) {
    init_job(&jobs[i], &log, i);
    submit(lane, &jobs[i]);
  }
  cpu_pool_close(pool);
  assert_int_equal(log.n_done, 50);
  for (int i = 0; i < 50; i++)
    assert_int_equal(log.done[i], i);
  cpu_lane_free(lane);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_one_lane_in_order),
      cmocka_unit_test(test_lanes_in_parallel),
      cmocka_unit_test(test_error_stops_the_lane),
      cmocka_unit_test(test_cancel_while_running),
      cmocka_unit_test(test_cancel_queued),
      cmocka_unit_test(test_close_delivers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * data_io.c - the node's disk I/O threads (see data_io.h).
 *
 *   submit (loop) --> queue --> worker thread: job->work()
 *                                   |
 *   done() (loop) <-- uv_async <-- completed list
 *
 * Invariants: `queue` and `completed` are only touched under `lock`; a job
 * is in at most one of them; done callbacks run only on the loop thread
 * (from on_async, or from data_io_stop after the join).
 */
#include "data_io.h"

#include "error.h"

#include <pthread.h>
#include <stdlib.h>

struct data_io {
  uv_loop_t *loop;
  uv_async_t async;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  struct data_io_job *queue, *queue_tail;
  struct data_io_job *completed, *completed_tail;
  int stopping;
  unsigned thread_count;
  pthread_t threads[64];
};

static void list_push(struct data_io_job **head, struct data_io_job **tail,
                      struct data_io_job *job) {
  job->next = NULL;
  if (*tail)
    (*tail)->next = job;
  else
    *head = job;
  *tail = job;
}

static void *worker_main(void *arg) {
  struct data_io *io = arg;
  pthread_mutex_lock(&io->lock);
  for (;;) {
    while (!io->queue && !io->stopping)
      pthread_cond_wait(&io->wake, &io->lock);
    struct data_io_job *job = io->queue;
    if (!job)
      break; /* stopping and drained */
    io->queue = job->next;
    if (!io->queue)
      io->queue_tail = NULL;
    pthread_mutex_unlock(&io->lock);
    job->work(job);
    pthread_mutex_lock(&io->lock);
    list_push(&io->completed, &io->completed_tail, job);
    uv_async_send(&io->async);
  }
  pthread_mutex_unlock(&io->lock);
  return NULL;
}

/* Runs the done callbacks of every completed job (loop thread). */
static void drain_completed(struct data_io *io) {
  pthread_mutex_lock(&io->lock);
  struct data_io_job *job = io->completed;
  io->completed = io->completed_tail = NULL;
  pthread_mutex_unlock(&io->lock);
  while (job) {
    struct data_io_job *next = job->next;
    job->done(job);
    job = next;
  }
}

static void on_async(uv_async_t *a) {
  drain_completed(a->data);
}

int data_io_start(uv_loop_t *loop, unsigned threads, struct data_io **out) {
  if (threads == 0 || threads > 64)
    return CAIRN_EINVAL;
  struct data_io *io = calloc(1, sizeof *io);
  if (!io)
    return CAIRN_ENOMEM;
  io->loop = loop;
  pthread_mutex_init(&io->lock, NULL);
  pthread_cond_init(&io->wake, NULL);
  if (uv_async_init(loop, &io->async, on_async) != 0) {
    pthread_cond_destroy(&io->wake);
    pthread_mutex_destroy(&io->lock);
    free(io);
    return CAIRN_EIO;
  }
  io->async.data = io;
  for (unsigned i = 0; i < threads; i++) {
    if (pthread_create(&io->threads[i], NULL, worker_main, io) != 0)
      break;
    io->thread_count++;
  }
  if (io->thread_count == 0) {
    data_io_stop(io);
    return CAIRN_ENOMEM;
  }
  *out = io;
  return 0;
}

void data_io_submit(struct data_io *io, struct data_io_job *job) {
  pthread_mutex_lock(&io->lock);
  list_push(&io->queue, &io->queue_tail, job);
  pthread_cond_signal(&io->wake);
  pthread_mutex_unlock(&io->lock);
}

void data_io_complete(struct data_io *io, struct data_io_job *job) {
  pthread_mutex_lock(&io->lock);
  list_push(&io->completed, &io->completed_tail, job);
  uv_async_send(&io->async);
  pthread_mutex_unlock(&io->lock);
}

static void on_async_closed(uv_handle_t *h) {
  struct data_io *io = h->data;
  pthread_cond_destroy(&io->wake);
  pthread_mutex_destroy(&io->lock);
  free(io);
}

void data_io_stop(struct data_io *io) {
  if (!io)
    return;
  pthread_mutex_lock(&io->lock);
  io->stopping = 1;
  pthread_cond_broadcast(&io->wake);
  pthread_mutex_unlock(&io->lock);
  for (unsigned i = 0; i < io->thread_count; i++)
    pthread_join(io->threads[i], NULL);
  drain_completed(io);
  uv_close((uv_handle_t *)&io->async, on_async_closed);
}

/*
 * meta_writer.c - batches and the group-commit writer thread.
 *
 *   loop thread                     writer thread
 *   -----------                     -------------
 *   meta_write_async(batch) --->    pending queue
 *   meta_write_logged_async(batch)  take ALL pending jobs, split them:
 *                                   logged jobs first, then synced ones;
 *                                   for each of the two groups:
 *                                   lock write_lock, one WriteBatchWithIndex
 *                                   per job: save point, apply its ops,
 *                                            roll back to the save point on
 *                                            error (the job fails alone)
 *                                   ONE rocksdb_write for the group: WAL
 *                                   append only (logged), or synced
 *   meta_drain_completions() <---   done queue + notify(arg) per group
 *   runs callbacks                  a logged group not synced yet and
 *                                   nothing queued for 2 ms:
 *                                   rocksdb_flush_wal(sync)
 *
 * Invariants:
 *  1. Only the writer thread and meta_run (under write_lock) write to the
 *     store, so every read-modify-write sees a stable state plus the
 *     earlier writes of its own group (WriteBatchWithIndex reads).
 *  2. A job's callback runs exactly once, on the loop thread, after the
 *     write of its group returned (or it failed) - never from
 *     meta_write_async itself. For a synced job that write was synced;
 *     for a logged job it is in the WAL (it survives a crash of this
 *     process, not a power loss until the next sync).
 *  3. Synced jobs complete in submission order, and so do logged jobs; a
 *     logged job may complete before a synced job submitted earlier.
 *  4. Every synced write also syncs every logged write before it (one WAL,
 *     appended in order): a synced job whose batch was submitted after a
 *     logged job's callback makes that logged batch durable too. The
 *     writer syncs a logged group itself when nothing else arrives within
 *     META_LOGGED_SYNC_DELAY_MS (and before it stops), so no logged batch
 *     stays unsynced longer than that plus the writer's current group.
 */
#include "meta_internal.h"

#include "error.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How long a logged batch may wait for a synced group to sync it before
 * the writer syncs it alone: bounds what a power loss can leak (chunks of
 * uploads never acknowledged) to the uploads of a few milliseconds, and
 * spares an fsync whenever commits follow, as they do under load. */
#define META_LOGGED_SYNC_DELAY_MS 2

struct meta_job {
  struct meta_job *next;
  struct meta_batch *batch;
  meta_write_cb cb;
  void *arg;
  int status;
};

/* ---- batches --------------------------------------------------------------
 */

struct meta_batch *meta_batch_new(void) {
  return calloc(1, sizeof(struct meta_batch));
}

void meta_batch_free(struct meta_batch *b) {
  if (!b)
    return;
  struct meta_op *op = b->head;
  while (op) {
    struct meta_op *next = op->next;
    if (op->release)
      op->release(op->arg);
    free(op);
    op = next;
  }
  free(b);
}

int batch_add(struct meta_batch *b, meta_apply_fn apply,
              void (*release)(void *arg), void *arg) {
  struct meta_op *op = calloc(1, sizeof *op);
  if (!op) {
    if (release)
      release(arg);
    return CAIRN_ENOMEM;
  }
  op->apply = apply;
  op->release = release;
  op->arg = arg;
  if (b->tail)
    b->tail->next = op;
  else
    b->head = op;
  b->tail = op;
  return 0;
}

int batch_apply(struct meta_tx *tx, void *arg) {
  struct meta_batch *b = arg;
  for (struct meta_op *op = b->head; op; op = op->next) {
    int r = op->apply(tx, op->arg);
    if (r)
      return r;
  }
  return 0;
}

/* ---- the writer thread ------------------------------------------------------
 */

/* Returns whether a write reached the store (and, with wo_sync, the WAL
 * was synced). */
static bool write_group(struct meta *m, struct meta_job *jobs,
                        const rocksdb_writeoptions_t *wo) {
  char *err = NULL;
  int written = 0;
  bool wrote = false;
  pthread_mutex_lock(&m->write_lock);
  struct meta_tx tx = {.m = m, .now_ms = meta_now_ms()};
  tx.wb = rocksdb_writebatch_wi_create(0, 1);
  for (struct meta_job *j = jobs; j; j = j->next) {
    if (!tx.wb) {
      j->status = CAIRN_ENOMEM;
      continue;
    }
    rocksdb_writebatch_wi_set_save_point(tx.wb);
    j->status = batch_apply(&tx, j->batch);
    if (j->status) {
      rocksdb_writebatch_wi_rollback_to_save_point(tx.wb, &err);
      if (err) { /* cannot happen: a save point was set */
        log_error("coord.meta", "rollback: %s", err);
        rocksdb_free(err);
        err = NULL;
      }
    } else {
      written++;
    }
  }
  if (tx.wb && written > 0 && rocksdb_writebatch_wi_count(tx.wb) > 0) {
    tx_write_seq(&tx); /* once for the group's PUTs */
    rocksdb_write_writebatch_wi(m->db, (rocksdb_writeoptions_t *)wo, tx.wb,
                                &err);
    tx_after_write(&tx);
    if (err) {
      log_error("coord.meta", "group write: %s", err);
      rocksdb_free(err);
      for (struct meta_job *j = jobs; j; j = j->next)
        if (j->status == 0)
          j->status = CAIRN_EDB;
    } else {
      wrote = true;
    }
  }
  if (tx.wb)
    rocksdb_writebatch_wi_destroy(tx.wb);
  pthread_mutex_unlock(&m->write_lock);
  return wrote;
}

/* Writes one group (jobs linked through next, last its tail) and hands
 * it to the loop. Called without q_lock. */
static void write_and_post(struct meta *m, struct meta_job *jobs,
                           struct meta_job *last, bool logged) {
  bool wrote = write_group(m, jobs, logged ? m->wo_logged : m->wo_sync);
  if (logged && wrote)
    m->wal_unsynced = true;
  else if (!logged && wrote)
    m->wal_unsynced = false; /* invariant 4: the sync covered them */
  uint64_t n = 0;
  for (struct meta_job *j = jobs; j; j = j->next)
    n++;
  pthread_mutex_lock(&m->q_lock);
  if (m->done_tail)
    m->done_tail->next = jobs;
  else
    m->done_head = jobs;
  m->done_tail = last;
  m->groups_written++;
  m->jobs_written += n;
  void (*notify)(void *) = m->notify;
  void *notify_arg = m->notify_arg;
  pthread_mutex_unlock(&m->q_lock);
  if (notify)
    notify(notify_arg);
}

/* Syncs the WAL when logged batches wait for it and nothing else is
 * queued (a queued synced group would sync them anyway). Called without
 * q_lock. */
static void sync_logged(struct meta *m) {
  char *err = NULL;
  rocksdb_flush_wal(m->db, 1, &err);
  if (err) { /* the next synced group retries; nothing was acknowledged */
    log_error("coord.meta", "WAL sync: %s", err);
    rocksdb_free(err);
    return;
  }
  m->wal_unsynced = false;
}

/* Waits (q_lock held) up to META_LOGGED_SYNC_DELAY_MS for work; false
 * when none came. */
static bool wait_for_work(struct meta *m) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until); /* q_cond's clock */
  until.tv_nsec += META_LOGGED_SYNC_DELAY_MS * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  while (!m->pending_head && !m->stopping)
    if (pthread_cond_timedwait(&m->q_cond, &m->q_lock, &until) != 0)
      break; /* timed out (or a clock step: a sync comes early, harmless) */
  return m->pending_head != NULL;
}

static void *writer_main(void *arg) {
  struct meta *m = arg;
  meta_thread_init();
  pthread_mutex_lock(&m->q_lock);
  for (;;) {
    /* Logged batches wait for a sync: the commits that follow them
     * usually bring one within milliseconds; else sync them alone. */
    if (!m->pending_head && m->wal_unsynced &&
        (m->stopping || !wait_for_work(m))) {
      pthread_mutex_unlock(&m->q_lock);
      sync_logged(m);
      pthread_mutex_lock(&m->q_lock);
      continue;
    }
    while (!m->pending_head && !m->stopping)
      pthread_cond_wait(&m->q_cond, &m->q_lock);
    if (!m->pending_head)
      break; /* stopping and drained (a logged group was synced above) */
    struct meta_job *jobs = m->pending_head;
    m->pending_head = m->pending_tail = NULL;
    pthread_mutex_unlock(&m->q_lock);

    /* Split, keeping the order within each kind. */
    struct meta_job *lhead = NULL, *ltail = NULL, *shead = NULL, *stail = NULL;
    while (jobs) {
      struct meta_job *j = jobs;
      jobs = j->next;
      j->next = NULL;
      struct meta_job **head = j->batch->logged ? &lhead : &shead;
      struct meta_job **tail = j->batch->logged ? &ltail : &stail;
      if (*tail)
        (*tail)->next = j;
      else
        *head = j;
      *tail = j;
    }
    if (lhead)
      write_and_post(m, lhead, ltail, true);
    if (shead)
      write_and_post(m, shead, stail, false);
    pthread_mutex_lock(&m->q_lock);
  }
  pthread_mutex_unlock(&m->q_lock);
  return NULL;
}

int writer_start(struct meta *m) {
  if (pthread_create(&m->writer, NULL, writer_main, m) != 0)
    return CAIRN_ENOMEM;
  m->writer_started = true;
  return 0;
}

static void free_jobs(struct meta_job *j) {
  while (j) {
    struct meta_job *next = j->next;
    meta_batch_free(j->batch);
    free(j);
    j = next;
  }
}

void writer_stop(struct meta *m) {
  if (m->writer_started) {
    pthread_mutex_lock(&m->q_lock);
    m->stopping = true;
    pthread_cond_signal(&m->q_cond);
    pthread_mutex_unlock(&m->q_lock);
    pthread_join(m->writer, NULL);
    m->writer_started = false;
  }
  free_jobs(m->pending_head);
  free_jobs(m->done_head);
  m->pending_head = m->pending_tail = m->done_head = m->done_tail = NULL;
}

/* ---- the loop side ----------------------------------------------------------
 */

void meta_set_notify(struct meta *m, void (*notify)(void *arg), void *arg) {
  pthread_mutex_lock(&m->q_lock);
  m->notify = notify;
  m->notify_arg = arg;
  pthread_mutex_unlock(&m->q_lock);
}

int meta_write_async(struct meta *m, struct meta_batch *b, meta_write_cb cb,
                     void *arg) {
  if (!b)
    return CAIRN_EINVAL;
  struct meta_job *j = calloc(1, sizeof *j);
  if (!j) {
    meta_batch_free(b);
    return CAIRN_ENOMEM;
  }
  j->batch = b;
  j->cb = cb;
  j->arg = arg;
  pthread_mutex_lock(&m->q_lock);
  if (m->stopping) {
    pthread_mutex_unlock(&m->q_lock);
    free_jobs(j);
    return CAIRN_ECANCELED;
  }
  if (m->pending_tail)
    m->pending_tail->next = j;
  else
    m->pending_head = j;
  m->pending_tail = j;
  pthread_cond_signal(&m->q_cond);
  pthread_mutex_unlock(&m->q_lock);
  return 0;
}

int meta_write_logged_async(struct meta *m, struct meta_batch *b,
                            meta_write_cb cb, void *arg) {
  if (b)
    b->logged = true;
  return meta_write_async(m, b, cb, arg);
}

int meta_drain_completions(struct meta *m) {
  pthread_mutex_lock(&m->q_lock);
  struct meta_job *j = m->done_head;
  m->done_head = m->done_tail = NULL;
  pthread_mutex_unlock(&m->q_lock);
  int n = 0;
  while (j) {
    struct meta_job *next = j->next;
    if (j->cb)
      j->cb(j->status, j->arg);
    meta_batch_free(j->batch);
    free(j);
    j = next;
    n++;
  }
  return n;
}

void meta_writer_stats(struct meta *m, uint64_t *groups, uint64_t *batches) {
  pthread_mutex_lock(&m->q_lock);
  *groups = m->groups_written;
  *batches = m->jobs_written;
  pthread_mutex_unlock(&m->q_lock);
}

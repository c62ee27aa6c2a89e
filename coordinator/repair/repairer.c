/*
 * repairer.c - the background repair of degraded chunks (repairer.h).
 *
 *   IDLE --tick--> PICK (next D row after the cursor, its object, a plan)
 *     PICK: object or chunk gone, or nothing bad -> clear the row -> IDLE
 *     PICK: cannot rebuild yet (node down, too few readable, no target)
 *           -> skip (cursor moves on) -> IDLE
 *     PICK --rate limit allows--> READ
 *   READ  replica: one good copy whole (next copy on failure)
 *         EC: any k fragments (stripe_read), parity recomputed
 *   READ --bytes in memory--> WRITE (one put per bad fragment, in parallel)
 *   WRITE --all answered--> COMMIT (meta_repair_commit, one batch) -> IDLE
 *
 * Invariants:
 *  1. At most one job; it owns every buffer (one chunk plus parity).
 *  2. Metadata changes only in COMMIT, and only for fragments whose put
 *     was acknowledged (fsync'd); a put that failed is queued as garbage
 *     unless it targeted the fragment's own node (in-place rewrite).
 *  3. Reads take only fragments not recorded missing, on up nodes, not
 *     reported corrupt; the nodes verify every block's CRC.
 */
#include "repairer.h"

#include "chunk_cipher.h"
#include "erasure.h"
#include "error.h"
#include "log.h"
#include "meta.h"
#include "node_link.h"
#include "rate_limit.h"
#include "registry.h"
#include "repair_plan.h"
#include "stripe_reader.h"

#include <isa-l.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_NODES 256
#define PIECE (256u << 10)
#define MAX_SWEPT 64

struct put_slot {
  struct repair_job *job;
  uint32_t bad; /* index into plan.bad */
  struct node_put *op;
  int status;
};

struct repair_job {
  struct repairer *r;
  struct meta_degraded d;
  struct meta_object obj;
  struct meta_chunk *c; /* into obj */
  struct repair_plan plan;
  struct cluster_node_view views[MAX_NODES];
  struct repair_node nodes[MAX_NODES];
  size_t n_nodes;
  uint64_t stored, frag_len;
  uint8_t *buf; /* replica: the stored bytes */
  uint64_t got;
  uint32_t source; /* replica: fragment position being read */
  struct node_get *get;
  struct stripe_read *stripe;
  /* What the stripe reader sees: the chunk with corrupt-reported fragments
   * hidden as missing (it borrows this for the whole read). */
  struct meta_chunk read_chunk;
  struct meta_fragment read_frags[REPAIR_MAX_FRAGMENTS];
  struct erasure erasure;
  int erasure_ready;
  uint8_t *parity;
  struct put_slot puts[REPAIR_MAX_FRAGMENTS];
  uint32_t puts_pending;
};

struct repairer {
  uv_loop_t *loop;
  struct meta *meta;
  struct cluster *cluster;
  struct node_link_pool *links;
  struct repairer_config cfg;
  uv_timer_t timer;
  struct rate_limit rate;
  struct repair_job *job;
  uint8_t cursor[META_CHUNK_ID_LEN];
  int has_cursor, stopping;
  uint64_t started_ms;
  uint64_t pass_waiting;
  struct repairer_stats stats;
  /* Counting D is a scan: done at most once per interval (loop ms of the
   * last count, 0: count at the next tick); rows this repairer removes
   * are taken off the count in between. */
  uint64_t counted_at;
  char swept[MAX_SWEPT][META_NODE_ID_LEN + 1]; /* dead nodes marked */
  size_t n_swept;
};

static uint64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_tick(uv_timer_t *t);

static void rearm(struct repairer *r, uint64_t ms) {
  if (!r->stopping)
    uv_timer_start(&r->timer, on_tick, ms, r->cfg.interval_ms);
}

static int node_is_dead(const struct repairer *r,
                        const struct cluster_node_view *v, uint64_t now) {
  if (v->up)
    return 0;
  uint64_t since =
      v->last_heartbeat_ms ? (uint64_t)v->last_heartbeat_ms : r->started_ms;
  return now > since && now - since >= r->cfg.dead_after_ms;
}

/* ---- node events --------------------------------------------------------- */

static int swept_index(struct repairer *r, const char *id) {
  for (size_t i = 0; i < r->n_swept; i++)
    if (strcmp(r->swept[i], id) == 0)
      return (int)i;
  return -1;
}

/* Marks the chunks of nodes newly dead, re-marks draining nodes that still
 * hold fragments once the index is empty, and marks drained nodes. */
static uint64_t sweep_nodes(struct repairer *r, uint64_t degraded) {
  uint64_t queued = r->stats.queued;
  struct cluster_node_view views[MAX_NODES];
  size_t n = cluster_nodes_snapshot(r->cluster, views, MAX_NODES);
  if (n > MAX_NODES)
    n = MAX_NODES;
  uint64_t now = wall_ms();
  for (size_t i = 0; i < n; i++) {
    const struct cluster_node_view *v = &views[i];
    int at = swept_index(r, v->node_id);
    uint64_t marked = 0;
    if (node_is_dead(r, v, now) && at < 0 && r->n_swept < MAX_SWEPT) {
      if (meta_degraded_mark_node(r->meta, v->node_id, &marked) == 0) {
        log_warn("repair", "node %s declared dead: %llu fragment(s) queued",
                 v->node_id, (unsigned long long)marked);
        r->stats.queued += marked;
        memcpy(r->swept[r->n_swept++], v->node_id, sizeof r->swept[0]);
      }
    } else if (v->up && at >= 0) {
      memmove(r->swept[at], r->swept[at + 1],
              (r->n_swept - (size_t)at - 1) * sizeof r->swept[0]);
      r->n_swept--;
    }
    if (v->drain_state != CLUSTER_DRAIN_DRAINING || degraded != 0)
      continue;
    uint64_t left = 0;
    if (meta_fragment_count_node(r->meta, v->node_id, &left) != 0)
      continue;
    if (left == 0) {
      if (cluster_node_set_drain(r->cluster, v->node_id,
                                 CLUSTER_DRAIN_DRAINED) == 0)
        log_info("repair", "node %s drained", v->node_id);
    } else if (meta_degraded_mark_node(r->meta, v->node_id, &marked) == 0) {
      r->stats.queued += marked; /* fragments written during the drain */
    }
  }
  return r->stats.queued - queued;
}

/* ---- the job ------------------------------------------------------------- */

static void job_free(struct repair_job *j) {
  if (!j)
    return;
  if (j->get)
    node_get_cancel(j->get);
  for (uint32_t i = 0; i < j->plan.n_bad; i++)
    if (j->puts[i].op)
      node_put_cancel(j->puts[i].op);
  stripe_read_free(j->stripe);
  if (j->erasure_ready)
    erasure_release(&j->erasure);
  free(j->buf);
  free(j->parity);
  meta_object_free(&j->obj);
  free(j);
}

/* A row this repairer removed. */
static void row_gone(struct repairer *r) {
  if (r->stats.degraded_chunks)
    r->stats.degraded_chunks--;
}

/* Ends the job and moves the cursor past its chunk. */
static void job_end(struct repairer *r, int failed) {
  struct repair_job *j = r->job;
  memcpy(r->cursor, j->d.chunk_id, sizeof r->cursor);
  r->has_cursor = 1;
  if (failed)
    r->stats.failed++;
  r->job = NULL;
  job_free(j);
  rearm(r, 0); /* next row now; the rate limit paces the reads */
}

static const struct cluster_node_view *target_view(const struct repair_job *j,
                                                   uint32_t bad) {
  return &j->views[j->plan.target[bad]];
}

static void commit(struct repair_job *j) {
  struct repairer *r = j->r;
  struct meta_repair_move moves[REPAIR_MAX_FRAGMENTS];
  struct meta_fragment lost[REPAIR_MAX_FRAGMENTS];
  uint32_t n = 0, n_lost = 0;
  for (uint32_t b = 0; b < j->plan.n_bad; b++) {
    const struct cluster_node_view *t = target_view(j, b);
    const struct meta_fragment *fr = &j->c->fragments[j->plan.bad[b]];
    if (j->puts[b].status != 0) {
      if (strcmp(t->node_id, fr->node_id) != 0) {
        memset(&lost[n_lost], 0, sizeof lost[0]);
        memcpy(lost[n_lost].node_id, t->node_id, sizeof lost[0].node_id);
        lost[n_lost++].index = fr->index;
      }
      continue;
    }
    moves[n].index = fr->index;
    memcpy(moves[n].old_node, fr->node_id, sizeof moves[n].old_node);
    memcpy(moves[n].new_node, t->node_id, sizeof moves[n].new_node);
    n++;
  }
  int rc = 0;
  if (n) {
    rc = meta_repair_commit(r->meta, j->d.bucket, j->d.key, j->c, moves, n,
                            j->plan.deferred || n < j->plan.n_bad);
    if (rc == 0) {
      if (!j->plan.deferred && n == j->plan.n_bad)
        row_gone(r);
      r->stats.bytes_repaired += n * j->frag_len;
      if (n == j->plan.n_bad)
        r->stats.repaired++;
      log_info("repair", "%s/%s: %u fragment(s) of a chunk rebuilt",
               j->d.bucket, j->d.key, n);
    } else if (rc != CAIRN_ENOENT) {
      log_warn("repair", "cannot commit a repair of %s/%s: %s", j->d.bucket,
               j->d.key, cairn_strerror(rc));
    }
  }
  if (n_lost) { /* puts that failed may have left a file behind */
    struct meta_chunk g = *j->c;
    g.fragments = lost;
    g.n_fragments = n_lost;
    meta_gc_add(r->meta, &g, 1);
  }
  job_end(r, n < j->plan.n_bad || (rc != 0 && rc != CAIRN_ENOENT));
}

static void on_put_written(void *arg) {
  (void)arg; /* the job's buffers outlive every put */
}

static void on_put_done(struct node_put *op, int status, void *arg) {
  (void)op;
  struct put_slot *s = arg;
  s->op = NULL;
  s->status = status;
  if (status != 0)
    log_warn("repair", "put of a rebuilt fragment to node %s failed: %s",
             target_view(s->job, s->bad)->node_id, cairn_strerror(status));
  if (--s->job->puts_pending == 0)
    commit(s->job);
}

/* The bytes of fragment position pos once READ is done. */
static const uint8_t *fragment_bytes(struct repair_job *j, uint32_t pos) {
  if (j->c->layout.kind != META_LAYOUT_EC)
    return j->buf;
  uint32_t index = j->c->fragments[pos].index, k = j->c->layout.data;
  if (index < k)
    return stripe_read_bytes(j->stripe) + (uint64_t)index * j->frag_len;
  return j->parity + (uint64_t)(index - k) * j->frag_len;
}

static int start_put(struct repair_job *j, uint32_t b) {
  struct put_slot *s = &j->puts[b];
  const uint8_t *data = fragment_bytes(j, j->plan.bad[b]);
  uint32_t index = j->c->fragments[j->plan.bad[b]].index;
  int rc = node_put_begin(j->r->links, target_view(j, b)->data_addr, j->c->id,
                          index, j->frag_len, on_put_done, s, &s->op);
  for (uint64_t off = 0; rc == 0 && off < j->frag_len; off += PIECE) {
    uint64_t len = j->frag_len - off < PIECE ? j->frag_len - off : PIECE;
    rc = node_put_write(s->op, data + off, (size_t)len, on_put_written, s);
  }
  if (rc == 0)
    rc = node_put_finish(
        s->op, crc32_iscsi((unsigned char *)data, (int)j->frag_len, 0));
  if (rc != 0 && s->op) {
    node_put_cancel(s->op);
    s->op = NULL;
  }
  return rc;
}

static void write_all(struct repair_job *j) {
  j->puts_pending = 1; /* held while starting */
  for (uint32_t b = 0; b < j->plan.n_bad; b++) {
    j->puts[b] = (struct put_slot){j, b, NULL, 0};
    int rc = start_put(j, b);
    if (rc == 0)
      j->puts_pending++;
    else
      j->puts[b].status = rc;
  }
  if (--j->puts_pending == 0)
    commit(j);
}

static void on_stripe(struct stripe_read *s, int status, void *arg) {
  (void)s;
  struct repair_job *j = arg;
  if (status != 0) {
    log_warn("repair", "cannot read enough fragments of a chunk of %s/%s: %s",
             j->d.bucket, j->d.key, cairn_strerror(status));
    job_end(j->r, 1);
    return;
  }
  uint32_t k = j->c->layout.data, m = j->c->layout.parity;
  uint8_t *data[ERASURE_MAX_DATA], *parity[ERASURE_MAX_PARITY];
  uint8_t *bytes = (uint8_t *)stripe_read_bytes(j->stripe);
  for (uint32_t i = 0; i < k; i++)
    data[i] = bytes + (uint64_t)i * j->frag_len;
  for (uint32_t i = 0; i < m; i++)
    parity[i] = j->parity + (uint64_t)i * j->frag_len;
  erasure_encode(&j->erasure, (size_t)j->frag_len, data, parity);
  write_all(j);
}

static int read_replica(struct repair_job *j);

static int on_replica_data(const void *data, size_t len, void *arg) {
  struct repair_job *j = arg;
  if (j->got + len <= j->stored)
    memcpy(j->buf + j->got, data, len);
  j->got += len;
  return 0;
}

static void on_replica_done(struct node_get *op, int status, void *arg) {
  (void)op;
  struct repair_job *j = arg;
  j->get = NULL;
  if (status == 0 && j->got == j->stored) {
    write_all(j);
    return;
  }
  const struct meta_fragment *fr = &j->c->fragments[j->source];
  log_warn("repair", "read of a copy from node %s failed (%s); next copy",
           fr->node_id, cairn_strerror(status ? status : CAIRN_ECORRUPT));
  if (status == CAIRN_ECORRUPT)
    repairer_report_corrupt(j->r, fr->node_id, j->c->id, fr->index);
  j->source++;
  if (read_replica(j) != 0)
    job_end(j->r, 1);
}

static const struct cluster_node_view *view_of(const struct repair_job *j,
                                               const char *id) {
  for (size_t i = 0; i < j->n_nodes; i++)
    if (strcmp(j->views[i].node_id, id) == 0)
      return &j->views[i];
  return NULL;
}

/* Reads the next good copy whole; CAIRN_EUNAVAIL when none is left. */
static int read_replica(struct repair_job *j) {
  for (; j->source < j->c->n_fragments; j->source++) {
    const struct meta_fragment *fr = &j->c->fragments[j->source];
    const struct cluster_node_view *v = view_of(j, fr->node_id);
    int corrupt = fr->index < 32 && (j->d.corrupt_mask >> fr->index & 1u);
    if (fr->missing || corrupt || !v || !v->up)
      continue;
    j->got = 0;
    if (node_get(j->r->links, v->data_addr, j->c->id, fr->index, 0, j->stored,
                 0, on_replica_data, on_replica_done, j, &j->get) == 0)
      return 0;
  }
  return CAIRN_EUNAVAIL;
}

static int start_read(struct repair_job *j) {
  if (j->c->layout.kind != META_LAYOUT_EC) {
    j->frag_len = j->stored;
    j->buf = malloc(j->stored ? (size_t)j->stored : 1);
    return j->buf ? read_replica(j) : CAIRN_ENOMEM;
  }
  uint32_t k = j->c->layout.data, m = j->c->layout.parity;
  int rc = erasure_init(&j->erasure, (int)k, (int)m);
  if (rc != 0)
    return rc;
  j->erasure_ready = 1;
  j->frag_len = erasure_fragment_length(j->stored, (int)k);
  j->parity = malloc((size_t)(j->frag_len * m));
  if (!j->parity)
    return CAIRN_ENOMEM;
  /* The stripe reader skips fragments recorded missing; hide the ones
   * reported corrupt from it the same way. */
  j->read_chunk = *j->c;
  j->read_chunk.fragments = j->read_frags;
  j->read_chunk.n_fragments = j->c->n_fragments < REPAIR_MAX_FRAGMENTS
                                  ? j->c->n_fragments
                                  : REPAIR_MAX_FRAGMENTS;
  for (uint32_t f = 0; f < j->read_chunk.n_fragments; f++) {
    j->read_frags[f] = j->c->fragments[f];
    uint32_t idx = j->read_frags[f].index;
    if (idx < 32 && (j->d.corrupt_mask >> idx & 1u))
      j->read_frags[f].missing = true;
  }
  rc = stripe_read_start(j->r->cluster, j->r->links, &j->read_chunk, j->stored,
                         on_stripe, j, &j->stripe);
  return rc;
}

static int copy_row(const struct meta_degraded *d, void *arg) {
  *(struct meta_degraded *)arg = *d;
  return 1; /* one row */
}

/* PICK: 0 and a job in r->job ready to read, 1 when the row was settled
 * (or skipped) without a job, 2 when the index has no row after the
 * cursor, 3 when the rate limit says wait (*wait_ms). */
static int pick(struct repairer *r, uint64_t *wait_ms) {
  struct repair_job *j = calloc(1, sizeof *j);
  if (!j)
    return 2;
  j->r = r;
  int rc = meta_degraded_list(r->meta, r->has_cursor ? r->cursor : NULL, 1,
                              copy_row, &j->d);
  if (rc != 1) {
    free(j);
    return 2;
  }
  r->job = j;
  rc = meta_object_get_latest(r->meta, j->d.bucket, j->d.key, &j->obj);
  for (uint32_t i = 0; rc == 0 && i < j->obj.n_chunks; i++)
    if (memcmp(j->obj.chunks[i].id, j->d.chunk_id, META_CHUNK_ID_LEN) == 0)
      j->c = &j->obj.chunks[i];
  if (rc == CAIRN_ENOENT || (rc == 0 && !j->c)) {
    /* The object was replaced or deleted: nothing to repair. */
    if (meta_degraded_clear(r->meta, j->d.chunk_id) == 0)
      row_gone(r);
    job_end(r, 0);
    return 1;
  }
  if (rc != 0) {
    job_end(r, 1);
    return 1;
  }
  size_t n = cluster_nodes_snapshot(r->cluster, j->views, MAX_NODES);
  j->n_nodes = n > MAX_NODES ? MAX_NODES : n;
  uint64_t now = wall_ms();
  for (size_t i = 0; i < j->n_nodes; i++)
    j->nodes[i] =
        (struct repair_node){j->views[i].node_id,
                             j->views[i].up,
                             node_is_dead(r, &j->views[i], now),
                             j->views[i].drain_state != CLUSTER_DRAIN_NONE,
                             j->views[i].free_bytes,
                             j->views[i].labels};
  repair_plan_chunk(j->c, j->d.corrupt_mask, j->nodes, j->n_nodes, &j->plan);
  if (j->plan.n_bad == 0 && !j->plan.deferred) {
    if (meta_degraded_clear(r->meta, j->d.chunk_id) == 0) /* healthy again */
      row_gone(r);
    job_end(r, 0);
    return 1;
  }
  j->stored = j->obj.attrs.sealed_key ? chunk_cipher_stored_length(j->c->length)
                                      : j->c->length;
  uint64_t f = j->c->layout.kind == META_LAYOUT_EC
                   ? erasure_fragment_length(j->stored, j->c->layout.data)
                   : j->stored;
  if (j->plan.n_bad == 0 || !j->plan.feasible ||
      repair_plan_targets(j->c, j->nodes, j->n_nodes, f, &j->plan) != 0) {
    r->pass_waiting++;
    job_end(r, 0);
    return 1;
  }
  uint64_t wait = rate_limit_take(&r->rate, j->stored, uv_now(r->loop));
  if (wait) {
    *wait_ms = wait;
    r->job = NULL;
    job_free(j);
    return 3;
  }
  return 0;
}

static void on_tick(uv_timer_t *t) {
  struct repairer *r = t->data;
  if (r->job || r->stopping)
    return;
  uint64_t now = uv_now(r->loop);
  if (r->counted_at == 0 || now - r->counted_at >= r->cfg.interval_ms) {
    uint64_t degraded = 0;
    if (meta_degraded_count(r->meta, &degraded) == 0)
      r->stats.degraded_chunks = degraded;
    r->counted_at = now ? now : 1;
  }
  /* Rows a sweep adds count at once: the count is never behind them. The
   * drain check uses the count only as a hint (its test is the F scan). */
  if (sweep_nodes(r, r->stats.degraded_chunks) > 0) {
    uint64_t degraded = 0;
    if (meta_degraded_count(r->meta, &degraded) == 0)
      r->stats.degraded_chunks = degraded;
  }
  uint64_t wait = 0;
  int rc = pick(r, &wait);
  if (rc == 2) { /* end of a pass: start over next interval */
    r->stats.waiting = r->pass_waiting;
    r->pass_waiting = 0;
    r->has_cursor = 0;
    rearm(r, r->cfg.interval_ms);
    return;
  }
  if (rc == 3) {
    rearm(r, wait);
    return;
  }
  if (rc == 1)
    return; /* job_end re-armed */
  rc = start_read(r->job);
  if (rc != 0) {
    log_warn("repair", "cannot start reading a chunk of %s/%s: %s",
             r->job->d.bucket, r->job->d.key, cairn_strerror(rc));
    job_end(r, 1);
  }
}

/* ---- public -------------------------------------------------------------- */

/* After rows were added outside a tick: count again at the next one. */
static void refresh_count(struct repairer *r) {
  r->counted_at = 0;
}

static void on_corrupt_hook(void *arg, const char *node_id,
                            const uint8_t chunk_id[16], uint32_t index) {
  repairer_report_corrupt(arg, node_id, chunk_id, index);
}

int repairer_start(uv_loop_t *loop, struct meta *meta, struct cluster *cluster,
                   struct node_link_pool *links,
                   const struct repairer_config *cfg, struct repairer **out) {
  struct repairer *r = calloc(1, sizeof *r);
  if (!r)
    return CAIRN_ENOMEM;
  r->loop = loop;
  r->meta = meta;
  r->cluster = cluster;
  r->links = links;
  r->cfg = *cfg;
  if (r->cfg.interval_ms == 0)
    r->cfg.interval_ms = 1000;
  r->started_ms = wall_ms();
  rate_limit_init(&r->rate, cfg->bytes_per_sec, uv_now(loop));
  uv_timer_init(loop, &r->timer);
  r->timer.data = r;
  rearm(r, r->cfg.interval_ms);
  cluster_set_corrupt_hook(cluster, on_corrupt_hook, r);
  *out = r;
  return 0;
}

static void on_timer_closed(uv_handle_t *h) {
  free(h->data);
}

void repairer_stop(struct repairer *r) {
  if (!r)
    return;
  r->stopping = 1;
  cluster_set_corrupt_hook(r->cluster, NULL, NULL);
  job_free(r->job);
  r->job = NULL;
  uv_close((uv_handle_t *)&r->timer, on_timer_closed);
}

int repairer_node_dead(const struct repairer *r,
                       const struct cluster_node_view *v) {
  return node_is_dead(r, v, wall_ms());
}

void repairer_get_stats(struct repairer *r, struct repairer_stats *out) {
  *out = r->stats;
}

int repairer_drain(struct repairer *r, const char *node_id) {
  int rc = cluster_node_set_drain(r->cluster, node_id, CLUSTER_DRAIN_DRAINING);
  uint64_t marked = 0;
  if (rc == 0)
    rc = meta_degraded_mark_node(r->meta, node_id, &marked);
  if (rc == 0) {
    r->stats.queued += marked;
    refresh_count(r);
    log_info("repair", "draining node %s: %llu fragment(s) to move", node_id,
             (unsigned long long)marked);
    if (!r->job)
      rearm(r, 0);
  }
  return rc;
}

void repairer_report_corrupt(struct repairer *r, const char *node_id,
                             const uint8_t chunk_id[16], uint32_t index) {
  r->stats.corrupt_reports++;
  int rc = meta_fragment_report_corrupt(r->meta, node_id, chunk_id, index);
  if (rc == 0) {
    r->stats.queued++;
    refresh_count(r);
    if (!r->job)
      rearm(r, 0);
  } else {
    log_warn("repair", "corrupt fragment %u on node %s not queued: %s", index,
             node_id, cairn_strerror(rc));
  }
}

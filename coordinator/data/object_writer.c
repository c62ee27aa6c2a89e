/*
 * object_writer.c - chunking, encryption and replicated or erasure-coded
 * streaming of a PUT body.
 *
 *   NEW --write--> STREAMING --finish--> DRAINING --all chunks acked--> DONE
 *                     |                      |
 *                     +---- error/abort -----+--> FAILING --quiet--> DONE
 *
 * Two ways a chunk reaches the nodes (cfg.layout):
 *  - replica:N: every piece (OBJECT_WRITER_PIECE) is sent to the N nodes
 *    as it fills; the chunk is durable when all N puts answered.
 *  - EC k+m: the chunk is collected whole in one stripe buffer (bounded:
 *    the chunk size plus m/k parity), cut in k fragments (the last one
 *    zero-padded), m parity fragments are computed (erasure.h) and fragment
 *    i streams to the i-th placed node. Write quorum: the chunk is durable
 *    when at least write_quorum (k + 1, at most k + m) fragments are
 *    fsync'd. A fragment whose put failed, or that found no up node to go
 *    to, is recorded as missing in the chunk's metadata, so the object is
 *    readable (any k fragments rebuild it) and a repair can find it.
 * With a data key, each 64 KiB block is sealed (chunk_cipher.h) in the
 * buffer itself before anything is sent: nodes only see ciphertext.
 *
 * The pipeline of one buffer (the loop thread only copies and sends):
 *
 *   loop: copy bytes into the piece --full--> seal job on the writer's lane
 *   worker (cpu_pool.h, in order): digest the plaintext, seal its blocks,
 *     CRC32C; the last job of an EC stripe pads, encodes, CRCs fragments
 *   loop (job done, in order): send to the nodes, or drop on failure
 *
 * An object of at most OBJECT_WRITER_INLINE_MAX bytes runs its job inline
 * (no lane): the hand-off would cost more than the work, and its
 * single-piece chunks then go out whole (node_put_whole: one write per
 * copy).
 *
 * An EC stripe gets one job per OBJECT_WRITER_PIECE of plaintext as it
 * fills (the worker seals ranges the loop no longer writes), so hashing
 * keeps pace with the body instead of waiting for the whole chunk.
 *
 * Invariants:
 *  1. A buffer (piece or stripe) is freed only when every write of it has
 *     completed (refs reaches 0); `inflight` counts the bytes of buffers
 *     being sent (a stripe counts once it is complete, so the one being
 *     filled never holds up its own completion).
 *  2. done() fires exactly once, after no node operation and no job remains
 *     in flight, so the caller may free the writer inside it or right after.
 *  3. Every chunk that was begun is in w->chunks, so a failed write can hand
 *     all of them to the garbage table.
 *  4. A job's worker touches only its job, its piece's bytes in [from, to)
 *     (the last EC job: the whole stripe, complete by then), worker_crc
 *     and read-only fields (cfg, erasure, encrypt); never w->chunks or
 *     w->states, which the loop may reallocate meanwhile.
 */
#include "object_writer.h"

#include "buf_pool.h"
#include "chunk_cipher.h"
#include "cpu_pool.h"
#include "crypto.h"
#include "erasure.h"
#include "error.h"
#include "log.h"
#include "node_link.h"
#include "placement.h"
#include "registry.h"

#include <isa-l.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FRAGMENTS ERASURE_MAX_FRAGMENTS
#define MAX_NODES 256

/* A buffer of stored bytes on its way to the nodes: one piece of a
 * replicated chunk (OBJECT_WRITER_PIECE plaintext bytes) or the whole
 * stripe of an EC chunk (k data then m parity fragments). With encryption
 * the plaintext is sealed in place block by block (by its jobs), a tag's
 * room left after each block. refs: the filler's (while it is w->current),
 * one per job, one per node write. */
struct piece {
  struct object_writer *w;
  uint32_t refs;
  size_t len;       /* stored bytes (blocks with room for tags + open one) */
  size_t plain;     /* plaintext bytes taken */
  size_t cap;       /* bytes data[] holds */
  size_t counted;   /* bytes of it in w->inflight */
  size_t submitted; /* stored bytes handed to jobs */
  size_t plain_submitted;
  uint32_t block;        /* cipher block index at `submitted` */
  struct buf_pool *pool; /* one of cfg.pieces (back there), or NULL */
  uint8_t data[];
};

/* The work on one range of a piece (struct cpu_job first: the pool hands
 * it back). */
struct seal_job {
  struct cpu_job job;
  struct object_writer *w;
  struct piece *p;
  uint32_t chunk;             /* index in w->chunks */
  size_t from, to;            /* stored bytes of p->data */
  uint32_t first_block;       /* cipher block index at from */
  int first, last;            /* the chunk's first / last bytes */
  struct chunk_cipher cipher; /* a copy: the writer's moves to later chunks */
  uint32_t crc;               /* replica: the chunk's CRC32C up to `to` */
  /* The last job of an EC stripe. */
  uint64_t frag_len;
  uint32_t frag_crc[MAX_FRAGMENTS];
  char addrs[MAX_FRAGMENTS][128];
};

struct chunk_state {
  struct node_put *ops[MAX_FRAGMENTS];
  uint32_t pending;  /* fragment puts not yet done */
  uint32_t failed;   /* fragments missing (failed or never placed) */
  uint64_t written;  /* stored bytes pushed into this chunk (replica) */
  uint64_t stored;   /* stored bytes of the chunk (with tags if sealed) */
  uint64_t frag_len; /* bytes per fragment */
};

struct object_writer {
  struct object_writer_config cfg;
  struct meta_chunk *chunks; /* one per chunk begun */
  struct chunk_state *states;
  uint32_t n_chunks, cap_chunks;
  struct piece *current; /* being filled */
  struct piece *spare;   /* a sent replica piece kept for the next one */
  size_t piece;          /* plaintext bytes of a full replica piece */
  uint64_t received;     /* bytes accepted from the caller */
  uint64_t inflight;     /* bytes of buffers being sent */
  uint64_t window;       /* pause above this many in flight */
  uint64_t resume_at;    /* resume at or below this many */
  uint32_t ops_pending;  /* fragment puts begun and not done */
  uint32_t jobs_pending; /* seal jobs submitted and not done */
  struct cpu_lane *lane; /* cfg.cpu's lane of this stream, or NULL */
  uint32_t worker_crc;   /* replica: running CRC32C, seal jobs only */
  int fresh_chunk;       /* no job of the current chunk submitted yet */
  int status;            /* first error, or 0 */
  int finished, paused, done_called;
  int ec;                         /* cfg.layout is META_LAYOUT_EC */
  uint32_t n_fragments;           /* per chunk: replicas, or k + m */
  uint32_t quorum;                /* fragments that must be durable per chunk */
  struct erasure erasure;         /* when ec */
  char addrs[MAX_FRAGMENTS][128]; /* data ports of the current chunk */
  int encrypt;                    /* cfg.data_key was given */
  uint8_t key[CHUNK_CIPHER_KEY_LEN];
  struct chunk_cipher cipher; /* of the chunk being written */
  uint32_t block;             /* next block index of that chunk */
  size_t block_fill;          /* plaintext bytes in the open block */
};

static void seal_done(struct cpu_job *job, int status);

static uint64_t stored_length(const struct object_writer *w, uint64_t plain) {
  return w->encrypt ? chunk_cipher_stored_length(plain) : plain;
}

/* Plaintext a buffer takes, and the bytes it needs for them. */
static size_t piece_plain_max(const struct object_writer *w) {
  return w->ec ? (size_t)w->cfg.chunk_size : w->piece;
}

/* A replica piece holds at most what is left of its chunk: a 4 KiB PUT
 * takes a 4 KiB buffer, not a 256 KiB one (which malloc would map and
 * unmap for every request). */
static size_t piece_capacity(const struct object_writer *w,
                             const struct chunk_state *state) {
  if (w->ec)
    return (size_t)(state->frag_len * w->n_fragments);
  const struct meta_chunk *chunk = &w->chunks[w->n_chunks - 1];
  uint64_t left = chunk->offset + chunk->length - w->received;
  return (size_t)stored_length(w, left < w->piece ? left : w->piece);
}

static void maybe_done(struct object_writer *w) {
  if (w->done_called || w->ops_pending > 0 || w->inflight > 0 ||
      w->jobs_pending > 0)
    return;
  if (!w->finished && w->status == 0)
    return;
  w->done_called = 1;
  w->cfg.done(w, w->status, w->cfg.arg);
}

static void fail(struct object_writer *w, int status) {
  if (w->status != 0)
    return;
  w->status = status;
  /* Jobs not started yet complete with CAIRN_ECANCELED; a running one
   * finishes first. Their pieces come back in seal_done. */
  if (w->lane)
    cpu_lane_cancel(w->lane);
  /* Cancel what is still in flight: a cancelled put never calls back, so
   * its count goes here; its buffers still come back through
   * piece_release. */
  for (uint32_t i = 0; i < w->n_chunks; i++)
    for (uint32_t r = 0; r < w->chunks[i].n_fragments; r++)
      if (w->states[i].ops[r]) {
        node_put_cancel(w->states[i].ops[r]);
        w->states[i].ops[r] = NULL;
        w->states[i].pending--;
        w->ops_pending--;
      }
}

/* A fragment of chunk i is lost: recorded for repair while the chunk still
 * meets its quorum, the whole write fails otherwise. */
static void fragment_lost(struct object_writer *w, uint32_t i, uint32_t r,
                          int status) {
  struct meta_chunk *chunk = &w->chunks[i];
  chunk->fragments[r].missing = true;
  w->states[i].failed++;
  if (chunk->n_fragments - w->states[i].failed < w->quorum) {
    fail(w, status);
    return;
  }
  char hex[2 * META_CHUNK_ID_LEN + 1];
  crypto_hex(chunk->id, META_CHUNK_ID_LEN, hex);
  log_warn("data",
           "chunk %s stored degraded: fragment %u missing (%s), %u of %u "
           "durable; recorded for repair",
           hex, r, cairn_strerror(status),
           chunk->n_fragments - w->states[i].failed, chunk->n_fragments);
}

static void on_put_done(struct node_put *op, int status, void *arg) {
  struct object_writer *w = arg;
  for (uint32_t i = 0; i < w->n_chunks; i++)
    for (uint32_t r = 0; r < w->chunks[i].n_fragments; r++)
      if (w->states[i].ops[r] == op) {
        w->states[i].ops[r] = NULL;
        w->states[i].pending--;
        if (status != 0) {
          log_warn("data", "chunk write to node %s failed: %s",
                   w->chunks[i].fragments[r].node_id, cairn_strerror(status));
          fragment_lost(w, i, r, status);
        }
      }
  w->ops_pending--;
  maybe_done(w);
}

size_t object_writer_piece_bytes(unsigned i) {
  return sizeof(struct piece) +
         chunk_cipher_stored_length((uint64_t)OBJECT_WRITER_PIECE_MIN << i);
}

/* The pool whose buffers fit cap: full pieces only (within a block of
 * it, e.g. unsealed ones), as the window counts the bytes asked for and a
 * pooled buffer may hold at most one block more than counted. */
static struct buf_pool *piece_pool(const struct object_writer *w, size_t cap) {
  for (int i = 0; i < OBJECT_WRITER_POOLS; i++) {
    struct buf_pool *pool = w->cfg.pieces[i];
    size_t room = pool ? buf_pool_size(pool) - sizeof(struct piece) : 0;
    if (cap <= room && cap + CHUNK_CIPHER_BLOCK > room)
      return pool;
  }
  return NULL;
}

/* A buffer for cap bytes of data. Full pieces come from cfg.pieces: a
 * fresh 256 KiB malloc is mapped, faulted in page by page while the body
 * is read into it and unmapped when freed, which was ~19% of the
 * coordinator's CPU at 16 uploads of 1 MiB. */
static struct piece *piece_alloc(struct object_writer *w, size_t cap) {
  struct buf_pool *pool = piece_pool(w, cap);
  struct piece *p = pool ? buf_pool_get(pool) : malloc(sizeof *p + cap);
  if (p) {
    p->cap = pool ? buf_pool_size(pool) - sizeof(struct piece) : cap;
    p->pool = pool;
  }
  return p;
}

static void piece_free(struct object_writer *w, struct piece *p) {
  (void)w;
  if (p && p->pool)
    buf_pool_put(p->pool, p);
  else
    free(p);
}

/* Drops one reference; the last one frees (or keeps) the buffer and may
 * resume the caller. Never calls done(). */
static void piece_unref(struct piece *p) {
  struct object_writer *w = p->w;
  if (--p->refs > 0)
    return;
  w->inflight -= p->counted;
  /* The next replica piece reuses a malloc'd buffer when it fits (fewer
   * page faults and less heap churn than malloc per piece); a pooled one
   * goes back to its pool, where any upload may take it: at 256 uploads a
   * spare each was a third of their pieces. */
  if (!w->ec && !w->spare && !p->pool)
    w->spare = p;
  else
    piece_free(w, p);
  if (w->paused && w->inflight <= w->resume_at) {
    w->paused = 0;
    if (w->cfg.resume && !w->done_called)
      w->cfg.resume(w->cfg.arg);
  }
}

/* A node write of the piece completed (or was cancelled). */
static void piece_release(void *arg) {
  struct piece *p = arg;
  struct object_writer *w = p->w;
  piece_unref(p);
  maybe_done(w);
}

static int grow_chunks(struct object_writer *w) {
  if (w->n_chunks < w->cap_chunks)
    return 0;
  uint32_t cap = w->cap_chunks ? w->cap_chunks * 2 : 4;
  struct meta_chunk *c = realloc(w->chunks, cap * sizeof *c);
  if (!c)
    return CAIRN_ENOMEM;
  w->chunks = c;
  struct chunk_state *s = realloc(w->states, cap * sizeof *s);
  if (!s)
    return CAIRN_ENOMEM;
  w->states = s;
  w->cap_chunks = cap;
  return 0;
}

/* Picks the nodes of a chunk into w->addrs and its fragment records. EC
 * chunks may go to fewer nodes than fragments when some are down, as long
 * as the quorum can still be met; the rest are recorded as missing. */
static int place(struct object_writer *w, struct meta_chunk *chunk,
                 struct chunk_state *state) {
  struct cluster_node_view views[MAX_NODES];
  struct place_candidate cands[MAX_NODES];
  struct place_domains domains[MAX_NODES];
  size_t n = cluster_nodes_snapshot(w->cfg.cluster, views, MAX_NODES);
  if (n > MAX_NODES)
    n = MAX_NODES;
  size_t up = 0;
  for (size_t i = 0; i < n; i++) {
    /* Draining nodes (and nodes with every dir full) take no new
     * fragments. */
    int writable = cluster_node_writable(&views[i]);
    place_domains_from_labels(views[i].labels, views[i].node_id, &domains[i]);
    cands[i] = (struct place_candidate){views[i].node_id, &domains[i],
                                        views[i].free_bytes, writable};
    up += writable;
  }
  size_t count = w->n_fragments;
  if (w->ec && up < count && up >= w->quorum)
    count = up;
  size_t picked[MAX_FRAGMENTS];
  int rc = place_chunk(chunk->id, cands, n, count, state->frag_len, picked);
  if (rc != 0)
    return rc;
  for (uint32_t r = 0; r < w->n_fragments; r++) {
    chunk->fragments[r].index = r;
    if (r < count) {
      const struct cluster_node_view *v = &views[picked[r]];
      memcpy(chunk->fragments[r].node_id, v->node_id, sizeof v->node_id);
      snprintf(w->addrs[r], sizeof w->addrs[r], "%s", v->data_addr);
    } else {
      chunk->fragments[r].missing = true; /* no node up to take it */
      state->failed++;
    }
  }
  if (state->failed) {
    char hex[2 * META_CHUNK_ID_LEN + 1];
    crypto_hex(chunk->id, META_CHUNK_ID_LEN, hex);
    log_warn("data",
             "chunk %s stored degraded: only %zu nodes up for %u fragments; "
             "the rest are recorded missing for repair",
             hex, count, w->n_fragments);
  }
  return 0;
}

/* A replicated chunk that is one piece: each copy goes out with
 * node_put_whole (one socket write) once sealed, instead of a begin now
 * and a piece and a finish later. Its job carries the chunk's addresses
 * (w->addrs may have moved on to a later chunk when it is done). */
static int whole_puts(const struct object_writer *w,
                      const struct chunk_state *state) {
  return !w->ec && state->stored <= stored_length(w, w->piece);
}

/* Places the next chunk; replicated chunks open their puts now (or, when
 * whole_puts, once sealed), EC chunks when their stripe is complete. */
static int begin_chunk(struct object_writer *w) {
  int rc = grow_chunks(w);
  if (rc != 0)
    return rc;
  uint64_t offset = (uint64_t)w->n_chunks * w->cfg.chunk_size;
  uint64_t length = w->cfg.size - offset < w->cfg.chunk_size
                        ? w->cfg.size - offset
                        : w->cfg.chunk_size;
  struct meta_chunk *chunk = &w->chunks[w->n_chunks];
  struct chunk_state *state = &w->states[w->n_chunks];
  memset(chunk, 0, sizeof *chunk);
  memset(state, 0, sizeof *state);
  chunk->offset = offset;
  chunk->length = length;
  chunk->layout = w->cfg.layout;
  memcpy(chunk->id, w->cfg.chunk_ids[w->n_chunks], sizeof chunk->id);
  state->stored = stored_length(w, length);
  state->frag_len =
      w->ec ? erasure_fragment_length(state->stored, w->cfg.layout.data)
            : state->stored;
  chunk->fragments = calloc(w->n_fragments, sizeof *chunk->fragments);
  if (!chunk->fragments)
    return CAIRN_ENOMEM;
  rc = place(w, chunk, state);
  if (rc != 0) {
    free(chunk->fragments);
    return rc;
  }
  chunk->n_fragments = w->n_fragments;
  w->n_chunks++; /* from here on the chunk is recorded (invariant 3) */
  w->fresh_chunk = 1;
  if (w->encrypt) {
    chunk_cipher_init(&w->cipher, w->key, chunk->id, length);
    w->block = 0;
    w->block_fill = 0;
  }
  if (w->ec || whole_puts(w, state))
    return 0;
  for (uint32_t r = 0; r < w->n_fragments; r++) {
    rc = node_put_begin(w->cfg.links, w->addrs[r], chunk->id, r, state->stored,
                        on_put_done, w, &state->ops[r]);
    if (rc != 0)
      return rc;
    state->pending++;
    w->ops_pending++;
  }
  return 0;
}

/* Streams fragment r (len bytes at data, CRC32C crc) of chunk i to addr. */
static void send_fragment(struct object_writer *w, uint32_t i, struct piece *p,
                          uint32_t r, const char *addr, const uint8_t *data,
                          uint64_t len, uint32_t crc) {
  struct chunk_state *state = &w->states[i];
  struct meta_chunk *chunk = &w->chunks[i];
  int rc = node_put_begin(w->cfg.links, addr, chunk->id, r, len, on_put_done, w,
                          &state->ops[r]);
  if (rc == 0) {
    state->pending++;
    w->ops_pending++;
  }
  for (uint64_t off = 0; rc == 0 && off < len; off += OBJECT_WRITER_PIECE) {
    uint64_t n =
        len - off < OBJECT_WRITER_PIECE ? len - off : OBJECT_WRITER_PIECE;
    p->refs++;
    rc = node_put_write(state->ops[r], data + off, (size_t)n, piece_release, p);
    if (rc != 0)
      p->refs--;
  }
  if (rc == 0)
    rc = node_put_finish(state->ops[r], crc);
  if (rc != 0 && w->status == 0) {
    if (state->ops[r]) {
      node_put_cancel(state->ops[r]);
      state->ops[r] = NULL;
      state->pending--;
      w->ops_pending--;
    }
    fragment_lost(w, i, r, rc);
  }
}

/* Worker thread (invariant 4): digest and seal the job's range, then the
 * CRC32C of a replica piece, or pad, encode and CRC a complete stripe. */
static int seal_work(struct cpu_job *job) {
  struct seal_job *s = (struct seal_job *)job;
  struct object_writer *w = s->w;
  uint8_t *at = s->p->data + s->from, *end = s->p->data + s->to;
  if (!w->encrypt) {
    if (w->cfg.digest && at < end)
      w->cfg.digest(w->cfg.arg, at, (size_t)(end - at));
  } else {
    for (uint32_t b = s->first_block; at < end; b++) {
      size_t n = chunk_cipher_block_length(&s->cipher, b);
      if (n == 0 || n + CHUNK_CIPHER_TAG > (size_t)(end - at))
        return CAIRN_EINVAL; /* a range not made of whole blocks */
      if (w->cfg.digest)
        w->cfg.digest(w->cfg.arg, at, n);
      int rc = chunk_cipher_seal(&s->cipher, b, at, at);
      if (rc != 0)
        return rc;
      at += n + CHUNK_CIPHER_TAG;
    }
  }
  if (!w->ec) {
    uint32_t seed = s->first ? 0 : w->worker_crc;
    s->crc = crc32_iscsi(s->p->data + s->from, (int)(s->to - s->from), seed);
    w->worker_crc = s->crc;
  } else if (s->last) {
    uint32_t k = w->cfg.layout.data, m = w->cfg.layout.parity;
    size_t f = (size_t)s->frag_len;
    memset(s->p->data + s->to, 0, k * f - s->to); /* pad the last fragment */
    uint8_t *frags[MAX_FRAGMENTS];
    for (uint32_t r = 0; r < k + m; r++)
      frags[r] = s->p->data + (size_t)r * f;
    erasure_encode(&w->erasure, f, frags, frags + k);
    for (uint32_t r = 0; r < k + m; r++)
      s->frag_crc[r] = crc32_iscsi(frags[r], (int)f, 0);
  }
  return 0;
}

/* A sealed replica piece goes to every replica of its chunk. */
static int send_piece(struct object_writer *w, struct seal_job *s) {
  struct piece *p = s->p;
  struct chunk_state *state = &w->states[s->chunk];
  struct meta_chunk *chunk = &w->chunks[s->chunk];
  state->written += p->len;
  int rc = 0;
  if (whole_puts(w, state)) {
    for (uint32_t r = 0; r < chunk->n_fragments && rc == 0; r++) {
      p->refs++;
      rc = node_put_whole(w->cfg.links, s->addrs[r], chunk->id, r, p->data,
                          p->len, s->crc, on_put_done, w, piece_release, p,
                          &state->ops[r]);
      if (rc != 0) {
        p->refs--;
        break;
      }
      state->pending++;
      w->ops_pending++;
    }
    return rc;
  }
  for (uint32_t r = 0; r < chunk->n_fragments && rc == 0; r++) {
    p->refs++;
    rc = node_put_write(state->ops[r], p->data, p->len, piece_release, p);
    if (rc != 0)
      p->refs--;
  }
  if (rc == 0 && state->written == state->stored)
    for (uint32_t r = 0; r < chunk->n_fragments && rc == 0; r++)
      rc = node_put_finish(state->ops[r], s->crc);
  return rc;
}

/* An encoded stripe: fragment r to the r-th placed node. */
static void send_stripe(struct object_writer *w, struct seal_job *s) {
  struct piece *p = s->p;
  uint32_t k = w->cfg.layout.data, m = w->cfg.layout.parity;
  size_t f = (size_t)s->frag_len;
  p->len = (k + m) * f;
  for (uint32_t r = 0; r < k + m && w->status == 0; r++)
    if (!w->chunks[s->chunk].fragments[r].missing)
      send_fragment(w, s->chunk, p, r, s->addrs[r], p->data + (size_t)r * f, f,
                    s->frag_crc[r]);
}

/* Loop thread, in submission order: send what the job prepared, unless
 * the write failed meanwhile; then drop the job's piece reference. */
static void seal_done(struct cpu_job *job, int status) {
  struct seal_job *s = (struct seal_job *)job;
  struct object_writer *w = s->w;
  struct piece *p = s->p;
  if (status != 0)
    fail(w, status);
  if (w->status == 0) {
    int rc = 0;
    if (!w->ec)
      rc = send_piece(w, s);
    else if (s->last)
      send_stripe(w, s);
    if (rc != 0)
      fail(w, rc);
  }
  chunk_cipher_wipe(&s->cipher);
  free(s);
  piece_unref(p);
  w->jobs_pending--;
  maybe_done(w);
}

/* Hands the current piece's bytes from `submitted` to p->len to a job; the
 * last one of a piece (replica) or stripe (EC) takes the filler's
 * reference and the piece stops being current. Inline without cfg.cpu. */
static int submit_range(struct object_writer *w, int last) {
  struct piece *p = w->current;
  uint32_t i = w->n_chunks - 1;
  struct seal_job *s = malloc(sizeof *s);
  if (!s)
    return CAIRN_ENOMEM;
  s->job.work = seal_work;
  s->job.done = seal_done;
  s->w = w;
  s->p = p;
  s->chunk = i;
  s->from = p->submitted;
  s->to = p->len;
  s->first_block = p->block;
  s->first = w->fresh_chunk;
  w->fresh_chunk = 0;
  s->last = last;
  s->crc = 0;
  if (w->encrypt)
    s->cipher = w->cipher;
  else
    memset(&s->cipher, 0, sizeof s->cipher);
  s->frag_len = w->states[i].frag_len;
  p->submitted = p->len;
  p->plain_submitted = p->plain;
  p->block = w->block;
  if (last) {
    w->current = NULL; /* the filler's reference goes to the job */
    if (w->ec || whole_puts(w, &w->states[i]))
      memcpy(s->addrs, w->addrs, sizeof s->addrs);
    if (w->ec) {
      p->counted = (size_t)(s->frag_len * w->n_fragments);
      w->inflight += p->counted;
    } else {
      /* The piece's reserved window shrinks to its real size. */
      w->inflight -= p->counted - p->len;
      p->counted = p->len;
    }
  } else {
    p->refs++;
  }
  w->jobs_pending++;
  if (!w->lane) {
    seal_done(&s->job, seal_work(&s->job));
    return 0;
  }
  int rc = cpu_lane_submit(w->lane, &s->job);
  if (rc != 0) { /* the pool is closing: done never runs */
    chunk_cipher_wipe(&s->cipher);
    free(s);
    w->jobs_pending--;
    piece_unref(p);
  }
  return rc;
}

static uint64_t sealed_bytes(uint64_t plain, int encrypt) {
  return encrypt ? chunk_cipher_stored_length(plain) : plain;
}

struct object_writer_plan object_writer_plan(uint64_t window, uint64_t size,
                                             int encrypt) {
  struct object_writer_plan plan = {OBJECT_WRITER_PIECE, 0, 0};
  if (window == 0)
    window = OBJECT_WRITER_WINDOW;
  /* A body of one piece needs a window over it; a longer one a window of
   * two pieces, one sent while the next fills. A small share of the budget
   * (many uploads at once) takes smaller pieces, down to
   * OBJECT_WRITER_PIECE_MIN, rather than a floor of two large pieces per
   * upload that overran the budget at 256 uploads. */
  uint64_t body = sealed_bytes(size, encrypt), least;
  for (;;) {
    uint64_t sealed = sealed_bytes(plan.piece, encrypt);
    least = size <= plan.piece ? body : 2 * sealed;
    if (least <= window || plan.piece == OBJECT_WRITER_PIECE_MIN)
      break;
    plan.piece /= 2;
  }
  plan.window = window > least ? window : least;
  uint64_t sealed = sealed_bytes(plan.piece, encrypt);
  if (size <= plan.piece) {
    /* One piece, never paused: its bytes and the block by which a pooled
     * buffer may exceed them. */
    plan.held_max = plan.window + sealed_bytes(CHUNK_CIPHER_BLOCK, encrypt);
  } else {
    /* Pause is checked after a write (of at most one piece), so the piece
     * begun while the window was not yet crossed is held on top of it, and
     * so may one malloc'd spare (never counted in flight). */
    plan.held_max = plan.window + 2 * sealed;
  }
  return plan;
}

struct object_writer_plan object_writer_plan_share(uint64_t budget,
                                                   uint64_t held,
                                                   uint32_t active,
                                                   uint64_t size, int encrypt) {
  uint64_t want = budget / (active ? active : 1);
  /* Never much more than the body (a small piece covers the tags): 16
   * uploads of 1 MiB took 4 MiB windows each, and the budget was gone
   * before the last ones began. */
  if (size < OBJECT_WRITER_WINDOW && want > size + OBJECT_WRITER_PIECE_MIN)
    want = size + OBJECT_WRITER_PIECE_MIN;
  uint64_t left = held < budget ? budget - held : 0;
  if (want > left)
    want = left;
  if (want > OBJECT_WRITER_WINDOW)
    want = OBJECT_WRITER_WINDOW;
  /* 1, not 0 (which means the default window): the floor. */
  return object_writer_plan(want ? want : 1, size, encrypt);
}

uint64_t object_writer_ec_held(struct meta_layout layout, uint64_t chunk_size,
                               uint64_t size, int encrypt) {
  uint64_t chunk = size < chunk_size ? size : chunk_size;
  uint32_t n = (uint32_t)layout.data + layout.parity;
  uint64_t stripe =
      erasure_fragment_length(sealed_bytes(chunk, encrypt), layout.data) * n;
  return size > chunk_size ? 2 * stripe : stripe;
}

int object_writer_new(const struct object_writer_config *cfg,
                      struct object_writer **out) {
  struct meta_layout layout = cfg->layout;
  if (layout.kind == 0)
    layout =
        (struct meta_layout){META_LAYOUT_REPLICA, (uint8_t)cfg->replicas, 0};
  int ec = layout.kind == META_LAYOUT_EC;
  uint32_t n = ec ? (uint32_t)layout.data + layout.parity : layout.data;
  if (n == 0 || n > MAX_FRAGMENTS ||
      (ec && (layout.data > ERASURE_MAX_DATA || layout.parity == 0 ||
              layout.parity > ERASURE_MAX_PARITY)) ||
      (layout.kind != META_LAYOUT_REPLICA && !ec) || cfg->chunk_size == 0 ||
      (cfg->size > 0 && !cfg->chunk_ids))
    return CAIRN_EINVAL;
  struct object_writer *w = calloc(1, sizeof *w);
  if (!w)
    return CAIRN_ENOMEM;
  /* A tiny object is hashed and sealed on the loop: the worker round trip
   * would cost more than the work. */
  int inline_work = cfg->size <= OBJECT_WRITER_INLINE_MAX;
  if (cfg->cpu && !inline_work && cpu_lane_new(cfg->cpu, &w->lane) != 0) {
    free(w);
    return CAIRN_ENOMEM;
  }
  w->cfg = *cfg;
  w->cfg.layout = layout;
  w->ec = ec;
  w->n_fragments = n;
  w->quorum = ec ? object_writer_quorum(layout) : n;
  /* Before the windows: a sealed piece is larger than its plaintext, and a
   * window under two sealed pieces (with resume_at under one) would pause
   * the body for good while the piece being filled holds its reserve. */
  if (cfg->data_key) {
    w->encrypt = 1;
    memcpy(w->key, cfg->data_key, sizeof w->key);
  }
  struct object_writer_plan plan =
      object_writer_plan(cfg->window, cfg->size, w->encrypt);
  w->piece = plan.piece;
  w->window = plan.window;
  w->resume_at = w->window / 2;
  if (ec) {
    int rc = erasure_init(&w->erasure, layout.data, layout.parity);
    if (rc != 0) {
      cpu_lane_free(w->lane);
      free(w);
      return rc;
    }
    /* One stripe being sent while the next one fills. */
    uint64_t stripe = erasure_fragment_length(stored_length(w, cfg->chunk_size),
                                              layout.data) *
                      n;
    w->window = 2 * stripe - 1;
    w->resume_at = stripe;
  }
  w->cfg.data_key = NULL; /* the copy in w->key is the one used */
  *out = w;
  return 0;
}

struct meta_layout object_writer_layout(const struct object_writer *w) {
  return w->cfg.layout;
}

uint32_t object_writer_quorum(struct meta_layout layout) {
  if (layout.kind != META_LAYOUT_EC)
    return layout.data;
  uint32_t q = (uint32_t)layout.data + 1;
  uint32_t n = (uint32_t)layout.data + layout.parity;
  return q < n ? q : n;
}

/* Takes plaintext into the current buffer, leaving room for a tag after
 * each whole block (sealed later by a job). Returns the bytes taken. */
static size_t take_bytes(struct object_writer *w, const uint8_t *bytes,
                         size_t len, uint64_t chunk_left) {
  struct piece *p = w->current;
  size_t take = piece_plain_max(w) - p->plain;
  if (take > len)
    take = len;
  if (take > chunk_left)
    take = (size_t)chunk_left;
  if (w->encrypt && take > CHUNK_CIPHER_BLOCK - w->block_fill)
    take = CHUNK_CIPHER_BLOCK - w->block_fill;
  /* Bytes read straight into the buffer (object_writer_buffer) are home. */
  if (p->data + p->len != bytes)
    memcpy(p->data + p->len, bytes, take);
  p->len += take;
  p->plain += take;
  w->received += take;
  if (w->encrypt) {
    w->block_fill += take;
    if (w->block_fill == CHUNK_CIPHER_BLOCK || take == chunk_left) {
      p->len += CHUNK_CIPHER_TAG;
      w->block++;
      w->block_fill = 0;
    }
  }
  return take;
}

/* Makes sure the next byte has a chunk and a buffer (w->current). Requires
 * w->received < cfg.size. */
static int prepare_current(struct object_writer *w) {
  int rc = 0;
  /* Start a chunk when the previous one is complete. */
  if (w->received == (uint64_t)w->n_chunks * w->cfg.chunk_size)
    rc = begin_chunk(w);
  if (rc != 0 || w->current)
    return rc;
  size_t cap = piece_capacity(w, &w->states[w->n_chunks - 1]);
  struct piece *p = w->spare;
  if (p && p->cap < cap) {
    piece_free(w, p);
    p = NULL;
  }
  if (!p)
    p = piece_alloc(w, cap);
  if (!p)
    return CAIRN_ENOMEM;
  w->spare = NULL;
  p->w = w;
  p->refs = 1; /* the filler's */
  p->len = p->plain = 0;
  p->submitted = p->plain_submitted = 0;
  p->block = w->block;
  /* A replica piece counts from the start; a stripe once sent. */
  p->counted = w->ec ? 0 : cap;
  w->inflight += p->counted;
  w->current = p;
  return 0;
}

void *object_writer_buffer(struct object_writer *w, size_t *len) {
  if (w->status != 0 || w->received >= w->cfg.size)
    return NULL;
  int rc = prepare_current(w);
  if (rc != 0) {
    fail(w, rc); /* the next write reports it */
    return NULL;
  }
  struct piece *p = w->current;
  const struct meta_chunk *chunk = &w->chunks[w->n_chunks - 1];
  uint64_t room = chunk->offset + chunk->length - w->received;
  if (room > piece_plain_max(w) - p->plain)
    room = piece_plain_max(w) - p->plain;
  if (w->encrypt && room > CHUNK_CIPHER_BLOCK - w->block_fill)
    room = CHUNK_CIPHER_BLOCK - w->block_fill; /* a tag follows the block */
  if (*len > room)
    *len = (size_t)room;
  return p->data + p->len;
}

int object_writer_write(struct object_writer *w, const void *data, size_t len) {
  const uint8_t *bytes = data;
  if (w->status != 0)
    return w->status;
  if (len > w->cfg.size - w->received) {
    fail(w, CAIRN_ETOOBIG);
    return CAIRN_ETOOBIG;
  }
  while (len > 0) {
    int rc = prepare_current(w);
    if (rc != 0) {
      fail(w, rc);
      return rc;
    }
    struct meta_chunk *chunk = &w->chunks[w->n_chunks - 1];
    uint64_t chunk_left = chunk->offset + chunk->length - w->received;
    size_t take = take_bytes(w, bytes, len, chunk_left);
    bytes += take;
    len -= take;
    /* A full replica piece, a stripe's next OBJECT_WRITER_PIECE (taken up
     * to block boundaries) or the chunk's end goes to a job. */
    struct piece *p = w->current;
    if (take == chunk_left || p->plain == piece_plain_max(w))
      rc = submit_range(w, 1);
    else if (w->ec && p->plain - p->plain_submitted >= OBJECT_WRITER_PIECE &&
             (!w->encrypt || w->block_fill == 0))
      rc = submit_range(w, 0);
    if (rc == 0)
      rc = w->status; /* an inline job (no cfg.cpu) may have failed it */
    if (rc != 0) {
      fail(w, rc);
      return rc;
    }
  }
  if (w->inflight > w->window && !w->paused) {
    w->paused = 1;
    if (w->cfg.pause)
      w->cfg.pause(w->cfg.arg);
  }
  return 0;
}

/* The piece being filled is not sent; jobs on it may still hold it. */
static void drop_current(struct object_writer *w) {
  struct piece *p = w->current;
  if (!p)
    return;
  w->current = NULL;
  piece_unref(p);
}

int object_writer_finish(struct object_writer *w) {
  w->finished = 1;
  int rc = 0;
  if (w->status == 0 && w->received != w->cfg.size)
    rc = CAIRN_EINVAL;
  if (rc != 0)
    fail(w, rc);
  if (w->status != 0)
    drop_current(w);
  maybe_done(w);
  return rc;
}

void object_writer_abort(struct object_writer *w) {
  w->finished = 1;
  fail(w, CAIRN_ECANCELED);
  drop_current(w);
  maybe_done(w);
}

const struct meta_chunk *object_writer_chunks(const struct object_writer *w,
                                              uint32_t *count) {
  *count = w->n_chunks;
  return w->chunks;
}

void object_writer_free(struct object_writer *w) {
  if (!w)
    return;
  for (uint32_t i = 0; i < w->n_chunks; i++)
    free(w->chunks[i].fragments);
  free(w->chunks);
  free(w->states);
  piece_free(w, w->current);
  piece_free(w, w->spare);
  cpu_lane_free(w->lane); /* idle: done() waited for every job */
  if (w->ec)
    erasure_release(&w->erasure);
  chunk_cipher_wipe(&w->cipher);
  OPENSSL_cleanse(w->key, sizeof w->key);
  free(w);
}

/*
 * object_writer.c - chunking and replicated streaming of a PUT body.
 *
 *   NEW --write--> STREAMING --finish--> DRAINING --all chunks acked--> DONE
 *                     |                      |
 *                     +---- error/abort -----+--> FAILING --quiet--> DONE
 *
 * Invariants:
 *  1. A piece is freed only when every replica's write of it has completed
 *     (piece->refs reaches 0); in-flight bytes count live pieces.
 *  2. done() fires exactly once, after no node operation remains in flight,
 *     so the caller may free the writer inside it or right after.
 *  3. Every chunk that was begun is in w->chunks, so a failed write can hand
 *     all of them to the garbage table.
 */
#include "object_writer.h"

#include "chunk_cipher.h"
#include "crypto.h"
#include "error.h"
#include "log.h"
#include "node_link.h"
#include "placement.h"
#include "registry.h"

#include <isa-l.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REPLICAS 16
#define MAX_NODES 256

/* A piece holds OBJECT_WRITER_PIECE plaintext bytes of one chunk; with
 * encryption it holds them as sealed blocks (each followed by its tag), so
 * its capacity is piece_capacity(). */
struct piece {
  struct object_writer *w;
  uint32_t refs;
  size_t len;   /* stored bytes (sealed blocks + an open block's plaintext) */
  size_t plain; /* plaintext bytes taken */
  uint8_t data[];
};

struct chunk_state {
  struct node_put *ops[MAX_REPLICAS];
  uint32_t pending; /* replica puts not yet done */
  uint64_t written; /* stored bytes pushed into this chunk */
  uint64_t stored;  /* stored bytes of the chunk (with tags if sealed) */
  uint32_t crc;
};

struct object_writer {
  struct object_writer_config cfg;
  struct meta_chunk *chunks; /* one per chunk begun */
  struct chunk_state *states;
  uint32_t n_chunks, cap_chunks;
  struct piece *current; /* being filled */
  uint64_t received;     /* bytes accepted from the caller */
  uint64_t inflight;     /* bytes in live pieces */
  uint32_t ops_pending;  /* replica puts begun and not done */
  int status;            /* first error, or 0 */
  int finished, paused, done_called;
  int encrypt; /* cfg.data_key was given */
  uint8_t key[CHUNK_CIPHER_KEY_LEN];
  struct chunk_cipher cipher; /* of the chunk being written */
  uint32_t block;             /* next block index of that chunk */
  size_t block_fill;          /* plaintext bytes in the open block */
};

static size_t piece_capacity(const struct object_writer *w) {
  return w->encrypt
             ? OBJECT_WRITER_PIECE / CHUNK_CIPHER_BLOCK * CHUNK_CIPHER_STRIDE
             : OBJECT_WRITER_PIECE;
}

static void maybe_done(struct object_writer *w) {
  if (w->done_called || w->ops_pending > 0 || w->inflight > 0)
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
  /* Cancel what is still in flight: a cancelled put never calls back, so
   * its count goes here; its pieces still come back through piece_release. */
  for (uint32_t i = 0; i < w->n_chunks; i++)
    for (uint32_t r = 0; r < w->chunks[i].n_fragments; r++)
      if (w->states[i].ops[r]) {
        node_put_cancel(w->states[i].ops[r]);
        w->states[i].ops[r] = NULL;
        w->states[i].pending--;
        w->ops_pending--;
      }
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
          fail(w, status);
        }
      }
  w->ops_pending--;
  maybe_done(w);
}

static void piece_release(void *arg) {
  struct piece *p = arg;
  struct object_writer *w = p->w;
  if (--p->refs > 0)
    return;
  w->inflight -= p->len;
  free(p);
  if (w->paused && w->inflight <= OBJECT_WRITER_WINDOW / 2) {
    w->paused = 0;
    if (w->cfg.resume && !w->done_called)
      w->cfg.resume(w->cfg.arg);
  }
  maybe_done(w);
}

/* Places and opens the replica puts of the next chunk. */
static int begin_chunk(struct object_writer *w) {
  if (w->n_chunks == w->cap_chunks) {
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
  }
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
  chunk->layout =
      (struct meta_layout){META_LAYOUT_REPLICA, (uint8_t)w->cfg.replicas, 0};
  memcpy(chunk->id, w->cfg.chunk_ids[w->n_chunks], sizeof chunk->id);

  struct cluster_node_view views[MAX_NODES];
  struct place_candidate cands[MAX_NODES];
  size_t n = cluster_nodes_snapshot(w->cfg.cluster, views, MAX_NODES);
  if (n > MAX_NODES)
    n = MAX_NODES;
  for (size_t i = 0; i < n; i++)
    cands[i] = (struct place_candidate){views[i].node_id, "",
                                        views[i].free_bytes, views[i].up};
  size_t picked[MAX_REPLICAS];
  int rc = place_chunk(chunk->id, cands, n, w->cfg.replicas, length, picked);
  if (rc != 0)
    return rc;
  chunk->fragments = calloc(w->cfg.replicas, sizeof *chunk->fragments);
  if (!chunk->fragments)
    return CAIRN_ENOMEM;
  w->n_chunks++; /* from here on the chunk is recorded (invariant 3) */
  state->stored = length;
  if (w->encrypt) {
    chunk_cipher_init(&w->cipher, w->key, chunk->id, length);
    state->stored = chunk_cipher_stored_length(length);
    w->block = 0;
    w->block_fill = 0;
  }
  for (uint32_t r = 0; r < w->cfg.replicas; r++) {
    const struct cluster_node_view *v = &views[picked[r]];
    memcpy(chunk->fragments[r].node_id, v->node_id, sizeof v->node_id);
    chunk->fragments[r].index = r;
    chunk->n_fragments = r + 1;
    rc = node_put_begin(w->cfg.links, v->data_addr, chunk->id, r, state->stored,
                        on_put_done, w, &state->ops[r]);
    if (rc != 0)
      return rc;
    state->pending++;
    w->ops_pending++;
  }
  return 0;
}

/* Sends the current piece to every replica of the current chunk. */
static int flush_piece(struct object_writer *w) {
  struct piece *p = w->current;
  w->current = NULL;
  if (!p)
    return 0;
  struct chunk_state *state = &w->states[w->n_chunks - 1];
  struct meta_chunk *chunk = &w->chunks[w->n_chunks - 1];
  state->crc = crc32_iscsi(p->data, (int)p->len, state->crc);
  state->written += p->len;
  p->refs = 1; /* held while queuing, so a synchronous release can't free */
  int rc = 0;
  for (uint32_t r = 0; r < chunk->n_fragments && rc == 0; r++) {
    p->refs++;
    rc = node_put_write(state->ops[r], p->data, p->len, piece_release, p);
    if (rc != 0)
      p->refs--;
  }
  if (rc == 0 && state->written == state->stored)
    for (uint32_t r = 0; r < chunk->n_fragments && rc == 0; r++)
      rc = node_put_finish(state->ops[r], state->crc);
  piece_release(p);
  return rc;
}

int object_writer_new(const struct object_writer_config *cfg,
                      struct object_writer **out) {
  if (cfg->replicas == 0 || cfg->replicas > MAX_REPLICAS ||
      cfg->chunk_size == 0 || (cfg->size > 0 && !cfg->chunk_ids))
    return CAIRN_EINVAL;
  struct object_writer *w = calloc(1, sizeof *w);
  if (!w)
    return CAIRN_ENOMEM;
  w->cfg = *cfg;
  if (cfg->data_key) {
    w->encrypt = 1;
    memcpy(w->key, cfg->data_key, sizeof w->key);
  }
  w->cfg.data_key = NULL; /* the copy in w->key is the one used */
  *out = w;
  return 0;
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
    /* Start a chunk when the previous one is complete. */
    if (w->received == (uint64_t)w->n_chunks * w->cfg.chunk_size) {
      int rc = begin_chunk(w);
      if (rc != 0) {
        fail(w, rc);
        return rc;
      }
    }
    if (!w->current) {
      w->current = malloc(sizeof *w->current + piece_capacity(w));
      if (!w->current) {
        fail(w, CAIRN_ENOMEM);
        return CAIRN_ENOMEM;
      }
      w->current->w = w;
      w->current->len = 0;
      w->current->plain = 0;
      w->inflight += piece_capacity(w);
    }
    struct piece *p = w->current;
    struct meta_chunk *chunk = &w->chunks[w->n_chunks - 1];
    uint64_t chunk_left = chunk->offset + chunk->length - w->received;
    size_t take = OBJECT_WRITER_PIECE - p->plain;
    if (take > len)
      take = len;
    if (take > chunk_left)
      take = (size_t)chunk_left;
    if (w->encrypt && take > CHUNK_CIPHER_BLOCK - w->block_fill)
      take = CHUNK_CIPHER_BLOCK - w->block_fill;
    memcpy(p->data + p->len, bytes, take);
    p->len += take;
    p->plain += take;
    w->received += take;
    bytes += take;
    len -= take;
    if (w->encrypt) {
      /* Seal the block in place once it is whole (or the chunk ends). */
      w->block_fill += take;
      if (w->block_fill == CHUNK_CIPHER_BLOCK || take == chunk_left) {
        uint8_t *block = p->data + p->len - w->block_fill;
        int rc = chunk_cipher_seal(&w->cipher, w->block++, block, block);
        if (rc != 0) {
          fail(w, rc);
          return rc;
        }
        p->len += CHUNK_CIPHER_TAG;
        w->block_fill = 0;
      }
    }
    if (p->plain == OBJECT_WRITER_PIECE || take == chunk_left) {
      /* The piece's reserved window shrinks to its real size. */
      w->inflight -= piece_capacity(w) - p->len;
      int rc = flush_piece(w);
      if (rc != 0) {
        fail(w, rc);
        return rc;
      }
    }
  }
  if (w->inflight > OBJECT_WRITER_WINDOW && !w->paused) {
    w->paused = 1;
    if (w->cfg.pause)
      w->cfg.pause(w->cfg.arg);
  }
  return 0;
}

static void drop_current(struct object_writer *w) {
  if (!w->current)
    return;
  w->inflight -= piece_capacity(w);
  free(w->current);
  w->current = NULL;
}

int object_writer_finish(struct object_writer *w) {
  w->finished = 1;
  if (w->status != 0)
    drop_current(w);
  int rc = 0;
  if (w->status == 0 && w->received != w->cfg.size)
    rc = CAIRN_EINVAL;
  if (rc != 0)
    fail(w, rc);
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
  free(w->current);
  chunk_cipher_wipe(&w->cipher);
  OPENSSL_cleanse(w->key, sizeof w->key);
  free(w);
}

/*
 * object_reader.c - ranged, failover reads of an object's chunks.
 *
 *   START --next chunk--> FETCHING --node done ok--> (next chunk | DONE)
 *                            |  ^
 *                 node error |  | retry from the same offset
 *                            v  |  on the next replica
 *                         FAILOVER --no replica left--> DONE(error)
 *
 * An erasure-coded chunk is read whole by a stripe_read (any k fragments,
 * lost data fragments rebuilt; stripe_reader.h) and the range's bytes are
 * then handed out from that buffer, with the same decryption and pauses.
 *
 * Invariants:
 *  1. At most one node_get (or one stripe read) is in flight; done() fires
 *     only when none is.
 *  2. `delivered` counts bytes handed to on_data: a retry asks the next
 *     replica for the rest of the chunk's range only, so the client never
 *     sees a byte twice.
 */
#include "object_reader.h"

#include "chunk_cipher.h"
#include "crypto.h"
#include "error.h"
#include "log.h"
#include "node_link.h"
#include "registry.h"
#include "stripe_reader.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct object_reader {
  struct object_reader_config cfg;
  uint32_t chunk;     /* index of the chunk being read */
  uint32_t replica;   /* which fragment of it we are trying */
  uint64_t delivered; /* bytes of the range handed to on_data */
  struct node_get *op;
  int paused, canceled, done_called, status;
  /* Decryption of the current chunk (when cfg.data_key was given). */
  int encrypted;
  uint8_t key[CHUNK_CIPHER_KEY_LEN];
  struct chunk_cipher cipher;
  struct crypto_gcm *gcm; /* keyed once per chunk, reused for its blocks */
  uint32_t block;         /* index of the block being received */
  uint32_t skip;          /* plaintext bytes of it before the range */
  uint64_t want;          /* plaintext bytes of this chunk still to deliver */
  size_t fill;            /* stored bytes of the block received so far */
  int bad_block;          /* a block failed to open: discard the rest */
  uint8_t *buf;           /* one stored block (CHUNK_CIPHER_STRIDE) */
  /* on_data may cancel the reader and its owner free it; while several
   * blocks of one piece are being delivered the free waits (free_pending)
   * until the loop is out of the reader's memory. */
  int delivering, free_pending;
  /* Erasure-coded chunks: the stripe being fetched, then the stored bytes
   * of the range still to hand out from it. */
  struct stripe_read *stripe;
  const uint8_t *mem;
  uint64_t mem_left;
  int from_memory;
};

static void reader_release(struct object_reader *r);

static void finish(struct object_reader *r, int status) {
  if (r->done_called)
    return;
  r->done_called = 1;
  r->cfg.done(r, status, r->cfg.arg);
}

static int fetch(struct object_reader *r);
static int on_node_data(const void *data, size_t len, void *arg);

/* Sets up decryption for plaintext [from, to) of chunk c and returns the
 * stored bytes to fetch for it. */
static void begin_range(struct object_reader *r, const struct meta_chunk *c,
                        uint64_t from, uint64_t to, uint64_t *get_from,
                        uint64_t *get_len) {
  *get_from = from;
  *get_len = to - from;
  if (!r->encrypted)
    return;
  /* Whole sealed blocks; the state restarts at `from`, so a retry resumes
   * at the first block not yet delivered. */
  struct chunk_cipher_range range;
  chunk_cipher_init(&r->cipher, r->key, c->id, c->length);
  chunk_cipher_bind(&r->cipher, r->gcm);
  chunk_cipher_map(c->length, from, to - from, &range);
  *get_from = range.stored_offset;
  *get_len = range.stored_length;
  r->block = range.first_block;
  r->skip = range.skip;
  r->want = to - from;
  r->fill = 0;
  r->bad_block = 0;
}

/* Hands out the rebuilt stripe's bytes of the range, pausing when asked;
 * at the end, moves to the next chunk. */
static void deliver_memory(struct object_reader *r) {
  r->delivering++;
  while (r->mem_left > 0 && !r->paused && !r->canceled && !r->free_pending) {
    size_t n = r->mem_left < (256u << 10) ? (size_t)r->mem_left : 256u << 10;
    const uint8_t *p = r->mem;
    r->mem += n;
    r->mem_left -= n;
    on_node_data(p, n, r);
  }
  int pending = --r->delivering == 0 && r->free_pending;
  if (pending) {
    reader_release(r);
    return;
  }
  if (r->free_pending || r->canceled || r->paused || r->mem_left > 0)
    return;
  r->from_memory = 0;
  stripe_read_free(r->stripe);
  r->stripe = NULL;
  if (r->encrypted && (r->bad_block || r->want != 0 || r->fill != 0)) {
    /* Rebuilt bytes that fail their tags: never hand them out. */
    log_error("data", "an erasure-coded chunk failed authentication");
    finish(r, CAIRN_EAUTH);
    return;
  }
  r->chunk++;
  int rc = fetch(r);
  if (rc != 0)
    finish(r, rc);
}

static void on_stripe_done(struct stripe_read *s, int status, void *arg) {
  struct object_reader *r = arg;
  (void)s;
  if (status != 0) {
    log_error("data", "fewer than k fragments of a chunk readable (%s)",
              cairn_strerror(status));
    finish(r, status);
    return;
  }
  r->from_memory = 1;
  deliver_memory(r);
}

/* Starts the stripe read of an EC chunk for plaintext [from, to). */
static int fetch_stripe(struct object_reader *r, const struct meta_chunk *c,
                        uint64_t from, uint64_t to) {
  uint64_t get_from, get_len;
  begin_range(r, c, from, to, &get_from, &get_len);
  uint64_t stored =
      r->encrypted ? chunk_cipher_stored_length(c->length) : c->length;
  int rc = stripe_read_start(r->cfg.cluster, r->cfg.links, c, stored,
                             on_stripe_done, r, &r->stripe);
  if (rc != 0)
    return rc;
  r->mem = stripe_read_bytes(r->stripe) + get_from;
  r->mem_left = get_len;
  return 0;
}

/* Looks up where a node's data port is now (nodes may move). */
static int node_addr(struct object_reader *r, const char *node_id, char *addr,
                     size_t cap) {
  struct cluster_node_view view;
  int rc = cluster_node_find(r->cfg.cluster, node_id, &view);
  if (rc != 0)
    return rc;
  if (!view.up)
    return CAIRN_EUNAVAIL;
  snprintf(addr, cap, "%s", view.data_addr);
  return 0;
}

/* Encrypted chunks: collects stored bytes block by block, opens each whole
 * block and delivers the wanted part of its plaintext. */
static int on_sealed_data(struct object_reader *r, const uint8_t *data,
                          size_t len) {
  int pause = 0;
  r->delivering++;
  while (len > 0 && !r->bad_block && !r->canceled && !r->free_pending) {
    size_t block_stored =
        chunk_cipher_block_length(&r->cipher, r->block) + CHUNK_CIPHER_TAG;
    if (r->want == 0 || block_stored == CHUNK_CIPHER_TAG) {
      r->bad_block = 1; /* more bytes than the range needs */
      break;
    }
    const uint8_t *stored;
    if (r->fill == 0 && len >= block_stored) {
      stored = data; /* whole in the network piece: opened from there */
      data += block_stored;
      len -= block_stored;
    } else {
      size_t take = block_stored - r->fill;
      if (take > len)
        take = len;
      memcpy(r->buf + r->fill, data, take);
      r->fill += take;
      data += take;
      len -= take;
      if (r->fill < block_stored)
        break;
      stored = r->buf;
    }
    uint8_t *out = NULL;
    if (r->cfg.block_buffer)
      out = r->cfg.block_buffer(block_stored - CHUNK_CIPHER_TAG, r->cfg.arg);
    if (!out)
      out = r->buf;
    if (chunk_cipher_open_on(&r->cipher, r->gcm, r->block, stored, block_stored,
                             out) != 0) {
      r->bad_block = 1; /* on_node_done fails over from this block */
      break;
    }
    size_t n = block_stored - CHUNK_CIPHER_TAG - r->skip;
    if (n > r->want)
      n = (size_t)r->want;
    const uint8_t *plain = out + r->skip;
    r->want -= n;
    r->delivered += n;
    r->block++;
    r->fill = 0;
    r->skip = 0;
    if (r->cfg.on_data(plain, n, r->cfg.arg) != 0)
      pause = 1;
  }
  if (--r->delivering == 0 && r->free_pending) {
    reader_release(r);
    return 0;
  }
  if (r->free_pending)
    return 0;
  if (pause)
    r->paused = 1;
  return pause;
}

static int on_node_data(const void *data, size_t len, void *arg) {
  struct object_reader *r = arg;
  if (r->canceled)
    return 0;
  if (r->encrypted)
    return on_sealed_data(r, data, len);
  r->delivered += len;
  if (r->cfg.on_data(data, len, r->cfg.arg) != 0) {
    r->paused = 1;
    return 1; /* node_link stops delivering until node_get_resume */
  }
  return 0;
}

static void on_node_done(struct node_get *op, int status, void *arg) {
  struct object_reader *r = arg;
  (void)op;
  r->op = NULL;
  if (r->canceled) {
    finish(r, CAIRN_ECANCELED);
    return;
  }
  if (status == 0 && r->encrypted &&
      (r->bad_block || r->want != 0 || r->fill != 0))
    status = CAIRN_EAUTH; /* a block did not open, or came short */
  if (status == 0) {
    r->chunk++;
    r->replica = 0;
  } else {
    const struct meta_chunk *c = &r->cfg.chunks[r->chunk];
    log_warn("data",
             "read of a chunk from node %s failed (%s); trying the "
             "next copy",
             c->fragments[r->replica].node_id, cairn_strerror(status));
    if (status == CAIRN_ECORRUPT || status == CAIRN_EAUTH) /* bad bytes */
      cluster_report_corrupt(r->cfg.cluster, c->fragments[r->replica].node_id,
                             c->id, c->fragments[r->replica].index);
    r->replica++;
    r->status = status;
  }
  int rc = fetch(r);
  if (rc != 0)
    finish(r, rc);
}

/* Starts the read of the current chunk's part of the range, or finishes. */
static int fetch(struct object_reader *r) {
  uint64_t end = r->cfg.offset + r->cfg.length;
  for (; r->chunk < r->cfg.n_chunks; r->chunk++, r->replica = 0) {
    const struct meta_chunk *c = &r->cfg.chunks[r->chunk];
    uint64_t pos = r->cfg.offset + r->delivered; /* next byte wanted */
    if (c->offset + c->length <= pos)
      continue;
    if (c->offset >= end)
      break;
    uint64_t from = pos - c->offset;
    uint64_t to =
        (end < c->offset + c->length ? end : c->offset + c->length) - c->offset;
    if (c->layout.kind == META_LAYOUT_EC)
      return fetch_stripe(r, c, from, to);
    for (; r->replica < c->n_fragments; r->replica++) {
      char addr[128];
      const struct meta_fragment *f = &c->fragments[r->replica];
      uint64_t get_from, get_len;
      begin_range(r, c, from, to, &get_from, &get_len);
      if (c->fragments[r->replica].missing)
        continue;
      int rc = node_addr(r, f->node_id, addr, sizeof addr);
      if (rc == 0)
        rc = node_get(r->cfg.links, addr, c->id, f->index, get_from, get_len,
                      on_node_data, on_node_done, r, &r->op);
      if (rc == 0)
        return 0;
      r->status = rc;
    }
    log_error("data", "no reachable copy of a chunk (last error: %s)",
              cairn_strerror(r->status));
    return r->status ? r->status : CAIRN_EUNAVAIL;
  }
  if (r->delivered != r->cfg.length)
    return CAIRN_ECORRUPT; /* the chunk list does not cover the range */
  finish(r, 0);
  return 0;
}

int object_reader_start(const struct object_reader_config *cfg,
                        struct object_reader **out) {
  struct object_reader *r = calloc(1, sizeof *r);
  if (!r)
    return CAIRN_ENOMEM;
  r->cfg = *cfg;
  if (cfg->data_key) {
    r->encrypted = 1;
    memcpy(r->key, cfg->data_key, sizeof r->key);
    r->buf = malloc(CHUNK_CIPHER_STRIDE);
    r->gcm = crypto_gcm_new();
    if (!r->buf || !r->gcm) {
      free(r->buf);
      crypto_gcm_free(r->gcm);
      free(r);
      return CAIRN_ENOMEM;
    }
  }
  r->cfg.data_key = NULL; /* the copy in r->key is the one used */
  *out = r;
  int rc = fetch(r);
  if (rc != 0) {
    object_reader_free(r);
    *out = NULL;
    return rc;
  }
  return 0;
}

void object_reader_resume(struct object_reader *r) {
  if (!r->paused)
    return;
  r->paused = 0;
  if (r->op)
    node_get_resume(r->op);
  else if (r->from_memory)
    deliver_memory(r);
}

void object_reader_cancel(struct object_reader *r) {
  if (r->canceled || r->done_called)
    return;
  r->canceled = 1;
  if (r->op) {
    node_get_cancel(r->op); /* a cancelled get never calls back */
    r->op = NULL;
  }
  if (r->stripe)
    stripe_read_cancel(r->stripe); /* its done never fires */
  finish(r, CAIRN_ECANCELED);
}

void object_reader_free(struct object_reader *r) {
  if (!r)
    return;
  if (r->delivering) {
    r->free_pending = 1;
    return;
  }
  reader_release(r);
}

static void reader_release(struct object_reader *r) {
  stripe_read_free(r->stripe);
  OPENSSL_cleanse(r->key, sizeof r->key);
  chunk_cipher_wipe(&r->cipher);
  crypto_gcm_free(r->gcm);
  free(r->buf);
  free(r);
}

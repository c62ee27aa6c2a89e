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
 * Encrypted replicated ranges of more than OBJECT_READER_INLINE_MAX bytes
 * with cfg.cpu are opened off the loop (the loop only copies and hands
 * out):
 *
 *   loop: stored bytes from the node --copy--> staging buffer (whole
 *         blocks: each one's ciphertext where its plaintext goes, its tag
 *         apart) --full, or the range's last block--> job on the lane
 *   worker (in order): open the job's blocks in place
 *   loop (job done, in order): on_data(wanted plaintext), buffer back; or
 *         on_buffer(the buffer), which the consumer gives back later
 *
 * A range (one chunk on one replica) ends when its node_get is done and
 * every job of it was handed out (try_advance): then the next chunk, or,
 * if the node failed, a block did not open or the bytes came short, the
 * next replica from the first byte not delivered. A job whose block fails
 * its tag is never handed out, nor anything staged after it.
 *
 * Invariants:
 *  1. At most one node_get (or one stripe read) is in flight; done() fires
 *     only when none is, and no job is (jobs_running == 0).
 *  2. `delivered` counts bytes handed to on_data: a retry asks the next
 *     replica for the rest of the chunk's range only, so the client never
 *     sees a byte twice. A range is retried or left only once its queue is
 *     empty, so every job of it was handed out or dropped first.
 *  3. Jobs are handed out in submission order, from the head of the queue;
 *     a job's buffer goes back when it was handed out or dropped, never
 *     while its work may run (finished is set by its done()).
 *  4. A job's worker touches only its job (buffer, cipher copy) and the
 *     lane's worker_gcm / worker_key_gen, which only the lane's jobs use,
 *     one at a time; the reader is freed only when jobs_running is 0.
 *  5. Staging memory: at most staged_max queued buffers plus the one being
 *     filled (one more when a network piece ends past a full queue: the
 *     node is paused after the piece, not inside it).
 */
#include "object_reader.h"

#include "buf_pool.h"
#include "chunk_cipher.h"
#include "cpu_pool.h"
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

#define STAGE_DATA (OBJECT_READER_STAGE_BLOCKS * CHUNK_CIPHER_BLOCK)

/* One staging buffer and the job that opens it (struct cpu_job first: the
 * pool hands it back). The blocks' ciphertext follows the struct, each
 * block where its plaintext goes (the tags are kept apart), so that the
 * job's plaintext is contiguous once opened in place. */
struct open_job {
  struct cpu_job job;
  struct object_reader *r;
  struct open_job *next;      /* the reader's queue, in submission order */
  struct chunk_cipher cipher; /* a copy: the reader's moves to later chunks */
  uint32_t key_gen;           /* which range's key cipher holds */
  uint32_t first_block, n_blocks;
  size_t fill;        /* ciphertext bytes of its whole blocks */
  size_t skip, plain; /* after the job: plaintext [skip, skip + plain) */
  uint8_t tags[OBJECT_READER_STAGE_BLOCKS][CHUNK_CIPHER_TAG];
  int finished;    /* done() ran: the worker is out of it */
  int open_status; /* a block that did not open (or ECANCELED) */
  uint8_t data[];
};

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
  /* Offloaded opening (lane != NULL; the header comment). */
  struct cpu_lane *lane;
  struct crypto_gcm *worker_gcm; /* the lane's jobs only (invariant 4) */
  uint32_t worker_key_gen;       /* the lane's jobs only */
  uint32_t key_gen;              /* bumped by each begin_range */
  struct open_job *filling;      /* being filled, not submitted */
  struct open_job *head, *tail;  /* submitted, not yet handed out */
  uint32_t n_staged, staged_max; /* in the queue; its bound */
  uint32_t jobs_running;         /* submitted, done() not run yet */
  int net_paused;                /* the node_get paused: queue full */
  int node_status, range_status; /* how the node_get / the jobs ended */
};

static void reader_release(struct object_reader *r);
static void stage_drop_filling(struct object_reader *r);

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
  r->key_gen++;
  r->node_status = r->range_status = 0;
  stage_drop_filling(r);
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
  if (r->encrypted && !r->buf && !(r->buf = malloc(CHUNK_CIPHER_STRIDE)))
    return CAIRN_ENOMEM; /* offloaded readers open EC chunks inline too */
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

/* ---- offloaded opening ---------------------------------------------------
 */

size_t object_reader_stage_bytes(void) {
  return sizeof(struct open_job) + STAGE_DATA;
}

void object_reader_buffer_put(struct buf_pool *staging, void *buf) {
  if (staging)
    buf_pool_put(staging, buf);
  else
    free(buf);
}

static void stage_release(struct object_reader *r, struct open_job *j) {
  chunk_cipher_wipe(&j->cipher);
  object_reader_buffer_put(r->cfg.staging, j);
}

static void stage_drop_filling(struct object_reader *r) {
  if (r->filling)
    stage_release(r, r->filling);
  r->filling = NULL;
}

/* Worker thread (invariant 4): opens the job's blocks in place. Returns 0
 * even when a block does not open, so that the lane stays usable for the
 * next replica: the loop reads open_status. */
static int open_work(struct cpu_job *job) {
  struct open_job *j = (struct open_job *)job;
  struct object_reader *r = j->r;
  if (r->worker_key_gen != j->key_gen) {
    chunk_cipher_bind(&j->cipher, r->worker_gcm);
    r->worker_key_gen = j->key_gen;
  }
  uint8_t *at = j->data;
  for (uint32_t i = 0; i < j->n_blocks; i++) {
    uint32_t b = j->first_block + i;
    int rc = chunk_cipher_open_detached_on(&j->cipher, r->worker_gcm, b, at,
                                           j->tags[i], at);
    if (rc != 0) {
      j->open_status = rc;
      return 0;
    }
    at += chunk_cipher_block_length(&j->cipher, b);
  }
  return 0;
}

static void drive(struct object_reader *r);

/* Loop thread, in submission order. */
static void open_done(struct cpu_job *job, int status) {
  struct open_job *j = (struct open_job *)job;
  struct object_reader *r = j->r;
  r->jobs_running--;
  j->finished = 1;
  if (status != 0 && j->open_status == 0)
    j->open_status = status; /* cancelled before it ran */
  if (r->free_pending) {
    if (r->jobs_running == 0 && !r->delivering)
      reader_release(r);
    return;
  }
  if (r->canceled) {
    if (r->jobs_running == 0)
      finish(r, CAIRN_ECANCELED); /* the last job out: invariant 1 */
    return;
  }
  drive(r);
}

/* Queues the buffer being filled on the lane. */
static void stage_submit(struct object_reader *r) {
  struct open_job *j = r->filling;
  r->filling = NULL;
  j->cipher = r->cipher;
  j->key_gen = r->key_gen;
  j->next = NULL;
  if (r->tail)
    r->tail->next = j;
  else
    r->head = j;
  r->tail = j;
  r->n_staged++;
  r->jobs_running++;
  int rc = cpu_lane_submit(r->lane, &j->job);
  if (rc != 0) { /* the pool is closing: done never runs */
    r->jobs_running--;
    j->finished = 1;
    j->open_status = rc;
  }
}

/* Encrypted chunks, offloaded: copies stored bytes into staging buffers,
 * whole blocks each, and queues every full buffer (or the one holding the
 * range's last block). Answers pause when the queue is at its bound. */
static int on_staged_data(struct object_reader *r, const uint8_t *data,
                          size_t len) {
  while (len > 0 && r->range_status == 0) {
    size_t block_stored =
        chunk_cipher_block_length(&r->cipher, r->block) + CHUNK_CIPHER_TAG;
    if (r->want == 0 || block_stored == CHUNK_CIPHER_TAG) {
      r->range_status = CAIRN_EAUTH; /* more bytes than the range needs */
      break;
    }
    struct open_job *j = r->filling;
    if (!j) {
      j = r->cfg.staging ? buf_pool_get(r->cfg.staging)
                         : malloc(object_reader_stage_bytes());
      if (!j) {
        r->range_status = CAIRN_ENOMEM;
        break;
      }
      memset(j, 0, sizeof *j);
      j->job.work = open_work;
      j->job.done = open_done;
      j->r = r;
      j->first_block = r->block;
      j->skip = r->skip;
      r->filling = j;
    }
    /* The ciphertext where its plaintext goes, the tag apart. */
    size_t ct = block_stored - CHUNK_CIPHER_TAG, take;
    if (r->fill < ct) {
      take = ct - r->fill < len ? ct - r->fill : len;
      memcpy(j->data + j->fill + r->fill, data, take);
    } else {
      take = block_stored - r->fill < len ? block_stored - r->fill : len;
      memcpy(j->tags[j->n_blocks] + (r->fill - ct), data, take);
    }
    r->fill += take;
    data += take;
    len -= take;
    if (r->fill < block_stored)
      continue;
    j->fill += ct;
    size_t n = ct - r->skip;
    if (n > r->want)
      n = (size_t)r->want;
    j->n_blocks++;
    j->plain += n;
    r->want -= n;
    r->block++;
    r->fill = 0;
    r->skip = 0;
    if (j->n_blocks == OBJECT_READER_STAGE_BLOCKS || r->want == 0)
      stage_submit(r);
  }
  if (r->range_status != 0) {
    stage_drop_filling(r); /* the rest of the transfer is dropped */
    return 0;
  }
  if (r->n_staged >= r->staged_max) {
    r->net_paused = 1;
    return 1;
  }
  return 0;
}

static void range_end(struct object_reader *r, int status);

/* The range is over when its node_get is done and its queue empty
 * (invariant 2). */
static void try_advance(struct object_reader *r) {
  if (r->done_called || r->op || r->stripe || r->head || r->jobs_running)
    return;
  int status = r->node_status ? r->node_status : r->range_status;
  if (status == 0 && (r->want != 0 || r->fill != 0 || r->filling))
    status = CAIRN_EAUTH; /* the bytes came short */
  stage_drop_filling(r);
  range_end(r, status);
}

/* Hands out the opened jobs at the head of the queue while the consumer
 * takes them (invariant 3), drops them once one failed, then lets the
 * node send more (room in the queue) or ends the range. */
static void drive(struct object_reader *r) {
  r->delivering++;
  while (r->head && r->head->finished && !r->canceled && !r->free_pending) {
    struct open_job *j = r->head;
    if (r->range_status == 0 && j->open_status != 0)
      r->range_status = j->open_status; /* try_advance fails over */
    int deliver = r->range_status == 0;
    if (deliver && r->paused)
      break;
    r->head = j->next;
    if (!r->head)
      r->tail = NULL;
    r->n_staged--;
    if (deliver && r->cfg.on_buffer) {
      r->delivered += j->plain;
      chunk_cipher_wipe(&j->cipher); /* the buffer is the callee's now */
      if (r->cfg.on_buffer(j, j->data + j->skip, j->plain, r->cfg.arg) != 0)
        r->paused = 1;
      continue;
    }
    if (deliver) {
      r->delivered += j->plain;
      if (r->cfg.on_data(j->data + j->skip, j->plain, r->cfg.arg) != 0)
        r->paused = 1;
    }
    stage_release(r, j);
  }
  if (!r->canceled && !r->free_pending) {
    if (r->range_status != 0)
      stage_drop_filling(r);
    if (r->op && r->net_paused &&
        (r->range_status != 0 || r->n_staged < r->staged_max)) {
      r->net_paused = 0;
      node_get_resume(r->op); /* may deliver, end the get, even finish */
    } else {
      try_advance(r);
    }
  }
  if (--r->delivering == 0 && r->free_pending && r->jobs_running == 0)
    reader_release(r); /* else the last job's done does */
}

/* ---- node callbacks ------------------------------------------------------ */

static int offloaded(const struct object_reader *r) {
  return r->lane && !r->stripe;
}

static int on_node_data(const void *data, size_t len, void *arg) {
  struct object_reader *r = arg;
  if (r->canceled)
    return 0;
  if (r->encrypted && offloaded(r))
    return on_staged_data(r, data, len);
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
    if (r->jobs_running == 0)
      finish(r, CAIRN_ECANCELED);
    return;
  }
  if (offloaded(r)) {
    r->node_status = status;
    r->net_paused = 0;
    drive(r); /* ends the range once its last jobs are handed out */
    return;
  }
  if (status == 0 && r->encrypted &&
      (r->bad_block || r->want != 0 || r->fill != 0))
    status = CAIRN_EAUTH; /* a block did not open, or came short */
  range_end(r, status);
}

/* After a range: the next chunk, or the next replica from the first byte
 * not delivered. */
static void range_end(struct object_reader *r, int status) {
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
        /* Sealed: every block's tag is checked here (a bad one is reported
         * corrupt and the next copy read), so the node need not check. */
        rc = node_get(r->cfg.links, addr, c->id, f->index, get_from, get_len,
                      r->encrypted ? NODE_GET_AUTHENTICATED : 0, on_node_data,
                      on_node_done, r, &r->op);
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
  r->staged_max = cfg->staged_max ? cfg->staged_max : OBJECT_READER_STAGED_MAX;
  if (cfg->data_key) {
    r->encrypted = 1;
    memcpy(r->key, cfg->data_key, sizeof r->key);
    r->gcm = crypto_gcm_new();
    /* A lane only when there is enough to open: a small range is opened
     * inline, straight into block_buffer (OBJECT_READER_INLINE_MAX). */
    int offload = cfg->cpu && cfg->length > OBJECT_READER_INLINE_MAX;
    if (offload) {
      r->worker_gcm = crypto_gcm_new();
      if (r->worker_gcm && cpu_lane_new(cfg->cpu, &r->lane) != 0)
        r->lane = NULL;
    } else {
      r->buf = malloc(CHUNK_CIPHER_STRIDE);
    }
    if (!r->gcm || (offload ? !r->lane : !r->buf)) {
      free(r->buf);
      crypto_gcm_free(r->gcm);
      crypto_gcm_free(r->worker_gcm);
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
  if (r->encrypted && offloaded(r))
    drive(r); /* the node_get is paused by the queue's bound only */
  else if (r->op)
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
  if (r->lane)
    cpu_lane_cancel(r->lane); /* queued jobs come back at once */
  if (r->jobs_running == 0)
    finish(r, CAIRN_ECANCELED); /* else the last job's done does */
}

void object_reader_free(struct object_reader *r) {
  if (!r)
    return;
  if (r->delivering || r->jobs_running) {
    /* Out of an on_data call first, or until the workers are out of the
     * reader's jobs (only when freed before done: the jobs are cut
     * short). */
    if (r->jobs_running)
      cpu_lane_cancel(r->lane);
    r->free_pending = 1;
    return;
  }
  reader_release(r);
}

static void reader_release(struct object_reader *r) {
  while (r->head) {
    struct open_job *j = r->head;
    r->head = j->next;
    stage_release(r, j);
  }
  stage_drop_filling(r);
  cpu_lane_free(r->lane); /* idle: jobs_running is 0 */
  crypto_gcm_free(r->worker_gcm);
  stripe_read_free(r->stripe);
  OPENSSL_cleanse(r->key, sizeof r->key);
  chunk_cipher_wipe(&r->cipher);
  crypto_gcm_free(r->gcm);
  free(r->buf);
  free(r);
}

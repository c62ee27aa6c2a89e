/*
 * data_server.c - the node's data port: authenticated connections from the
 * coordinator carrying fragment puts, gets, deletes, stats and pings
 * (frames: common/frame.h; protocol: the data-plane section of
 * proto/cairn.proto).
 *
 *            accept: send AUTH_CHALLENGE(nonce)
 *                 |
 *                 v
 *   CONN_AUTH --AUTH_RESPONSE, good MAC--> CONN_READY <----------------+
 *      | bad MAC / other op: WARN, close    |  |  |  |                  |
 *                                           |  |  |  +-PING-> RESULT --+
 *            +------------PUT---------------+  |  +-DELETE/STAT-> job -+
 *            v                                 |                       |
 *   CONN_PUT (job: open; pieces fill buf,      +-GET-> CONN_GET:       |
 *     a full buf -> job: append)                  job: read piece ->   |
 *            | PUT_END (last piece + crc)         DATA frame -> ... -> |
 *            v                                    RESULT --------------+
 *                                  (a segment image's range: one span
 *                                   read, on the loop if cached, one DATA
 *                                   frame + RESULT)
 *   job: append rest, verify crc, fsync, rename, fsync dir -> RESULT --+
 *
 *   Any state: EOF, read/write error, malformed frame, stall -> closed.
 *   A put that fails before its PUT_END (ENOSPC, a disk error) is answered
 *   at once; its remaining frames are then read and dropped up to the
 *   PUT_END, which gets no second RESULT (`discard`).
 *
 * Disk work runs on the node's own I/O threads (data_io.h); the loop only
 * moves bytes. Invariants:
 *  1. At most one disk job per connection is in flight (`job_running`), and
 *     no frame is processed while one is (`busy`), nor while a DATA or
 *     RESULT write that the state machine waits for is in flight.
 *  2. A connection is freed only after its job (if any) finished: a close
 *     requested meanwhile is completed by the job's done callback.
 *  3. Memory per connection is bounded: inbuf (CONN_INBUF) + one put buffer
 *     (PUT_BUFFER) or one get piece (a span of whole blocks with their
 *     CRCs, at most SPAN_MAX ~1.1 MiB: what a segment put's image holds
 *     too); reading stops when inbuf is full. At most DATA_CONN_MAX
 *     connections.
 */
#include "data_server.h"

#include "buf_pool.h"
#include "chunk_store.h"
#include "config.h"
#include "crypto.h"
#include "data_io.h"
#include "error.h"
#include "frame.h"
#include "log.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PUT_BUFFER (1u << 20)   /* bytes appended per disk job */
#define CONN_INBUF (128u << 10) /* socket bytes buffered per connection */
#define AUTH_TIMEOUT_MS 10000   /* to answer the challenge */
#define STALL_TIMEOUT_MS 60000  /* without a byte during a request */
/* The largest span a GET reads (chunk_span_bytes of a range of
 * CHUNK_SEGMENT_MAX bytes that does not start on a block): a DATA frame
 * carries at most its 17 blocks (a whole segment image, or a file piece).
 * Spans over SPAN_POOLED come from a pool of such buffers, at most
 * SPAN_KEEP idle (~19 MiB): a fresh ~1 MiB malloc per GET is mapped,
 * faulted in page by page and unmapped (a fifth of a node's CPU in 1 MiB
 * GETs). Fewer, larger pieces: each piece of a file is an I/O-thread trip
 * (two wakeups, a context switch). */
#define SPAN_MAX (CHUNK_SPAN_IOV_MAX * (CHUNK_BLOCK_SIZE + CHUNK_CRC_SIZE))
#define SPAN_POOLED (128u << 10)
#define SPAN_KEEP 16

enum conn_state { CONN_AUTH, CONN_READY, CONN_PUT, CONN_GET, CONN_OTHER };

struct data_server {
  uv_loop_t *loop;
  uv_tcp_t listener;
  uint8_t *secret;
  size_t secret_len;
  struct chunk_store *store;
  struct data_io *io;
  struct buf_pool *spans; /* GET spans over SPAN_POOLED (loop only) */
  struct data_conn *conns;
  size_t conn_count;
  int stopping, io_stopping;
};

struct data_conn {
  struct data_server *srv;
  struct data_conn *next, *prev;
  uv_tcp_t tcp;
  uv_timer_t timer;
  int handles; /* open uv handles: freed when 0 */
  char peer[64];
  enum conn_state state;
  uint8_t nonce[DATA_AUTH_NONCE];
  struct frame_reader *reader;
  uint8_t inbuf[CONN_INBUF];
  size_t in_len;
  int reading, closing;
  int busy;        /* frames wait: a job or a awaited write is in flight */
  int job_running; /* a data_io job is in flight: c must outlive it */
  struct data_io_job job;
  void (*job_work)(struct data_conn *c);
  void (*job_done)(struct data_conn *c);
  void (*after_write)(struct data_conn *c);
  /* the request in progress */
  Cairn__DataOp op;
  uint8_t chunk_id[16];
  uint32_t fragment;
  uint64_t offset, length; /* GET range; PUT fragment size */
  int authenticated;       /* GET: the reader checks every byte (no CRCs) */
  uint64_t done_bytes;     /* PUT: bytes received; GET: bytes sent */
  uint64_t frag_length;    /* GET/STAT: the fragment's size */
  int put_end;             /* PUT_END header seen */
  int put_over;            /* ... and its payload too */
  int discard;             /* a failed put: its data is dropped */
  int direct;              /* a segment put: bytes go to the writer here */
  struct chunk_writer *writer;
  uint8_t *buf;
  size_t buf_len, buf_cap;
  int buf_pooled;                            /* buf is from srv->spans */
  struct iovec span_iov[CHUNK_SPAN_IOV_MAX]; /* a GET piece: into buf */
  size_t span_iov_count;
  size_t piece_len;        /* GET: range bytes of the piece in buf */
  struct chunk_file *file; /* GET of a file: open for its pieces */
  uint32_t crc;
  int status;
};

static void conn_process(struct data_conn *c);
static void conn_close(struct data_conn *c);

/* ---- socket reading ------------------------------------------------------ */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  struct data_conn *c = h->data;
  (void)suggested;
  b->base = (char *)c->inbuf + c->in_len;
  b->len = CONN_INBUF - c->in_len;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static void set_reading(struct data_conn *c, int on) {
  if (c->closing)
    return;
  if (on && c->in_len == CONN_INBUF)
    on = 0;
  if (c->reading == on)
    return;
  c->reading = on;
  if (on)
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
  else
    uv_read_stop((uv_stream_t *)&c->tcp);
}

static void on_stall(uv_timer_t *t) {
  struct data_conn *c = t->data;
  log_warn("data", "%s: no progress (%s): closing", c->peer,
           c->state == CONN_AUTH ? "no authentication" : "request stalled");
  conn_close(c);
}

/* (Re)arms the stall timer: in AUTH, and while a request is in progress. */
static void arm_timer(struct data_conn *c) {
  if (c->closing)
    return;
  uint64_t ms = c->state == CONN_AUTH    ? AUTH_TIMEOUT_MS
                : c->state == CONN_READY ? 0
                                         : STALL_TIMEOUT_MS;
  if (ms == 0)
    uv_timer_stop(&c->timer);
  else
    uv_timer_start(&c->timer, on_stall, ms, ms);
}

/* Progress: restarts an armed stall timer (a no-op when idle). */
static void touch(struct data_conn *c) {
  if (!c->closing && c->state != CONN_READY)
    uv_timer_again(&c->timer);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  struct data_conn *c = s->data;
  (void)b;
  if (n < 0) {
    if (n != UV_EOF)
      log_debug("data", "%s: read: %s", c->peer, uv_strerror((int)n));
    conn_close(c);
    return;
  }
  c->in_len += (size_t)n;
  if (n > 0)
    touch(c);
  set_reading(c, 1); /* stops when inbuf is full */
  conn_process(c);
}

/* ---- writing ------------------------------------------------------------- */

static void on_conn_written(int status, void *arg) {
  struct data_conn *c = arg;
  if (c->closing)
    return;
  if (status != 0) {
    conn_close(c);
    return;
  }
  touch(c);
  void (*after)(struct data_conn *) = c->after_write;
  c->after_write = NULL;
  if (after)
    after(c);
}

/* Sends one frame; `after` runs once it is flushed (the back-pressure). */
static void send_frame(struct data_conn *c, Cairn__DataHeader *h,
                       const void *payload, size_t len,
                       void (*after)(struct data_conn *)) {
  c->after_write = after;
  if (after)
    c->busy = 1;
  int rc = frame_write((uv_stream_t *)&c->tcp, h, payload, len,
                       after ? on_conn_written : NULL, c);
  if (rc != 0) {
    c->after_write = NULL;
    conn_close(c);
  }
}

static void release_buf(struct data_conn *c) {
  if (c->buf_pooled)
    buf_pool_put(c->srv->spans, c->buf);
  else
    free(c->buf);
  c->buf = NULL;
  c->buf_pooled = 0;
  c->buf_len = c->buf_cap = 0;
}

static void request_finished(struct data_conn *c) {
  release_buf(c);
  chunk_file_close(c->file); /* a cheap close(): no disk I/O */
  c->file = NULL;
  c->busy = 0;
  c->state = CONN_READY;
  arm_timer(c);
  conn_process(c);
}

/* After the early RESULT of a failed put: drop the rest of its data. */
static void put_discard_rest(struct data_conn *c) {
  if (c->put_over) {
    request_finished(c);
    return;
  }
  c->busy = 0;
  conn_process(c);
}

/* Ends the request with a RESULT; `early` for a put that failed before its
 * last piece arrived: its remaining frames are then read and dropped. */
static void send_result(struct data_conn *c, int status, uint64_t length,
                        int early) {
  Cairn__DataHeader h = CAIRN__DATA_HEADER__INIT;
  h.op = CAIRN__DATA_OP__DATA_RESULT;
  h.status = status;
  h.length = length;
  if (status != 0)
    h.message = (char *)cairn_strerror(status);
  send_frame(c, &h, NULL, 0, early ? put_discard_rest : request_finished);
}

/* ---- disk jobs ----------------------------------------------------------- */

static void job_work_trampoline(struct data_io_job *job) {
  struct data_conn *c =
      (struct data_conn *)((char *)job - offsetof(struct data_conn, job));
  c->job_work(c);
}

static void job_done_trampoline(struct data_io_job *job) {
  struct data_conn *c =
      (struct data_conn *)((char *)job - offsetof(struct data_conn, job));
  c->job_running = 0;
  touch(c);
  if (c->closing) {
    conn_close(c); /* the close deferred for this job */
    return;
  }
  c->busy = 0;
  c->job_done(c);
}

static void start_job(struct data_conn *c, void (*work)(struct data_conn *),
                      void (*done)(struct data_conn *)) {
  c->busy = 1;
  c->job_running = 1;
  c->job_work = work;
  c->job_done = done;
  c->job.work = job_work_trampoline;
  c->job.done = job_done_trampoline;
  data_io_submit(c->srv->io, &c->job);
}

/* Put. */

static void work_put_open(struct data_conn *c) {
  c->status = chunk_writer_open(c->srv->store, c->chunk_id, c->fragment,
                                c->length, &c->writer);
}

static void work_put_append(struct data_conn *c) {
  if (c->status == 0 && c->buf_len > 0)
    c->status = chunk_writer_append(c->writer, c->buf, c->buf_len);
  c->buf_len = 0;
}

static void work_put_commit(struct data_conn *c) {
  work_put_append(c);
  if (c->status == 0)
    c->status = chunk_writer_commit(c->writer, c->crc); /* frees it */
  else
    chunk_writer_abort(c->writer);
  c->writer = NULL;
}

static void work_put_abort(struct data_conn *c) {
  chunk_writer_abort(c->writer); /* removes the temporary file */
  c->writer = NULL;
}

static void done_put_abort(struct data_conn *c) {
  send_result(c, c->status, 0, 1);
}

/* A put that cannot complete: answer at once (the coordinator need not
 * send the rest), then drop whatever of the fragment still arrives, up to
 * its PUT_END, which gets no second answer. The connection stays in step;
 * the coordinator closes it anyway. */
static void put_failed_early(struct data_conn *c) {
  log_warn("data", "%s: fragment write failed: %s", c->peer,
           cairn_strerror(c->status));
  c->discard = 1;
  if (c->writer)
    start_job(c, work_put_abort, done_put_abort);
  else
    send_result(c, c->status, 0, 1);
}

static void done_put_step(struct data_conn *c) {
  if (c->status != 0) {
    put_failed_early(c);
    return;
  }
  conn_process(c);
}

static void done_put_commit(struct data_conn *c) {
  if (c->status != 0)
    log_warn("data", "%s: fragment commit failed: %s", c->peer,
             cairn_strerror(c->status));
  send_result(c, c->status, c->length, 0);
}

/* The segment log's thread: the fragment is durable (or not). */
static void direct_committed(int status, void *arg) {
  struct data_conn *c = arg;
  c->status = status;
  data_io_complete(c->srv->io, &c->job);
}

/* Commits a segment put without an I/O thread: the job's done runs on the
 * loop once the group commit is over (as if the job had been submitted). */
static void commit_direct(struct data_conn *c) {
  c->busy = 1;
  c->job_running = 1;
  c->job_work = NULL;
  c->job_done = done_put_commit;
  c->job.work = job_work_trampoline;
  c->job.done = job_done_trampoline;
  struct chunk_writer *w = c->writer;
  c->writer = NULL; /* the commit frees it */
  int rc = chunk_writer_commit_async(w, c->crc, direct_committed, c);
  if (rc != 0) {
    c->status = rc;
    data_io_complete(c->srv->io, &c->job);
  }
}

/* Get. A range of at most a segment image (every GET of an object up to
 * 1 MiB) is read whole: its blocks and CRCs come with one pread into buf,
 * are checked there and go out as ONE frame gathered from buf, the CRCs
 * skipped (no copy, no header read per piece), on the loop when the image
 * is in the page cache. A file is opened once per GET and read by pieces
 * of whole blocks (as many as buf holds with their CRCs), each one pread
 * into buf and one frame gathered the same way. */

static void done_get(struct data_conn *c);

static int read_segment_span(struct data_conn *c, int nowait) {
  c->piece_len = (size_t)c->length;
  return chunk_read_small_iov(c->srv->store, c->chunk_id, c->fragment,
                              c->offset, (size_t)c->length, !c->authenticated,
                              c->buf, c->buf_cap, c->span_iov,
                              &c->span_iov_count, &c->frag_length, nowait);
}

/* buf for the GET's span: exactly the range's blocks and CRCs, or, when
 * that is over SPAN_POOLED, a pooled SPAN_MAX buffer (17 blocks a piece).
 * 0 or CAIRN_ENOMEM. */
static int get_buffer(struct data_conn *c) {
  c->buf_cap = chunk_span_bytes(c->offset, (size_t)c->length);
  c->buf_pooled = c->buf_cap > SPAN_POOLED;
  if (c->buf_pooled)
    c->buf_cap = SPAN_MAX;
  c->buf = c->buf_pooled ? buf_pool_get(c->srv->spans)
                         : malloc(c->buf_cap ? c->buf_cap : 1);
  return c->buf ? 0 : CAIRN_ENOMEM;
}

static void work_get_segment(struct data_conn *c) {
  c->status = read_segment_span(c, 0);
}

static void work_get_file(struct data_conn *c) {
  struct chunk_store *store = c->srv->store;
  c->span_iov_count = 0;
  c->piece_len = 0;
  if (!c->file) {
    c->status = chunk_file_open(store, c->chunk_id, c->fragment, &c->file,
                                &c->frag_length);
    uint64_t len;
    if (c->status == CAIRN_ENOENT &&
        chunk_stat(store, c->chunk_id, c->fragment, &len) == 0) {
      c->frag_length = len; /* an image, and the range is not in it */
      c->status = CAIRN_ERANGE;
    }
    if (c->status == 0 &&
        (c->offset > c->frag_length || c->length > c->frag_length - c->offset))
      c->status = CAIRN_ERANGE;
    if (c->status != 0)
      return;
  }
  uint64_t blocks = c->buf_cap / (CHUNK_BLOCK_SIZE + CHUNK_CRC_SIZE);
  if (blocks > CHUNK_SPAN_IOV_MAX - 1)
    blocks = CHUNK_SPAN_IOV_MAX - 1;
  uint64_t from = c->offset + c->done_bytes, range_end = c->offset + c->length;
  uint64_t end = (from / CHUNK_BLOCK_SIZE + blocks) * CHUNK_BLOCK_SIZE;
  if (end > range_end)
    end = range_end;
  c->piece_len = end > from ? (size_t)(end - from) : 0; /* 0: empty range */
  c->status =
      chunk_file_read_iov(c->file, from, c->piece_len, !c->authenticated,
                          c->buf, c->buf_cap, c->span_iov, &c->span_iov_count);
}

static void done_get_segment(struct data_conn *c) {
  if (c->status == CAIRN_ENOENT) { /* a file: read by pieces (buf fits) */
    c->status = 0;
    start_job(c, work_get_file, done_get);
    return;
  }
  done_get(c);
}

static void get_next(struct data_conn *c) {
  start_job(c, work_get_file, done_get);
}

static void done_get(struct data_conn *c) {
  if (c->status != 0) {
    if (c->status == CAIRN_ECORRUPT || c->done_bytes > 0)
      log_warn("data", "%s: read failed after %llu bytes: %s", c->peer,
               (unsigned long long)c->done_bytes, cairn_strerror(c->status));
    send_result(c, c->status, c->frag_length, 0);
    return;
  }
  c->done_bytes += c->piece_len;
  int last = c->done_bytes >= c->length;
  if (c->span_iov_count == 0) { /* an empty range (never a stuck piece) */
    send_result(c, last ? 0 : CAIRN_EINVAL, c->frag_length, 0);
    return;
  }
  uv_buf_t bufs[CHUNK_SPAN_IOV_MAX];
  for (size_t i = 0; i < c->span_iov_count; i++)
    bufs[i] =
        uv_buf_init(c->span_iov[i].iov_base, (unsigned)c->span_iov[i].iov_len);
  Cairn__DataHeader h = CAIRN__DATA_HEADER__INIT;
  Cairn__DataHeader result = CAIRN__DATA_HEADER__INIT;
  h.op = CAIRN__DATA_OP__DATA_DATA;
  result.op = CAIRN__DATA_OP__DATA_RESULT;
  result.length = c->frag_length;
  /* The last piece carries the RESULT in the same write (one syscall, one
   * wakeup); buf lives until it is written. The next piece is read only
   * once this one is on the socket (back-pressure). */
  c->after_write = last ? request_finished : get_next;
  c->busy = 1;
  if (frame_writev_then((uv_stream_t *)&c->tcp, &h, bufs,
                        (unsigned)c->span_iov_count, last ? &result : NULL,
                        on_conn_written, c) != 0) {
    c->after_write = NULL;
    conn_close(c);
  }
}

/* Delete, stat. */

static void work_delete(struct data_conn *c) {
  c->status = chunk_delete(c->srv->store, c->chunk_id, c->fragment);
}

static void work_stat(struct data_conn *c) {
  c->status =
      chunk_stat(c->srv->store, c->chunk_id, c->fragment, &c->frag_length);
}

static void done_simple(struct data_conn *c) {
  send_result(c, c->status, c->status == 0 ? c->frag_length : 0, 0);
}

/* ---- frames -------------------------------------------------------------- */

static int protocol_error(struct data_conn *c, const char *why) {
  log_warn("data", "%s: protocol error (%s): closing", c->peer, why);
  return -1;
}

static int on_auth(struct data_conn *c, const Cairn__DataHeader *h) {
  uint8_t mac[DATA_AUTH_MAC];
  if (h->op != CAIRN__DATA_OP__DATA_AUTH_RESPONSE ||
      h->auth.len != DATA_AUTH_MAC || h->payload_len != 0) {
    log_warn("data", "%s: refused a data connection: no authentication",
             c->peer);
    return -1;
  }
  frame_auth_mac(c->srv->secret, c->srv->secret_len, c->nonce, mac);
  if (!crypto_equal(mac, h->auth.data, DATA_AUTH_MAC)) {
    log_warn("data", "%s: refused a data connection: bad cluster secret",
             c->peer);
    return -1;
  }
  c->state = CONN_READY;
  arm_timer(c);
  return 0;
}

static int begin_request(struct data_conn *c, const Cairn__DataHeader *h) {
  if (h->op != CAIRN__DATA_OP__DATA_PING && h->chunk_id.len != 16)
    return protocol_error(c, "no chunk id");
  if (h->op != CAIRN__DATA_OP__DATA_PUT && h->payload_len != 0)
    return protocol_error(c, "unexpected payload");
  if (h->chunk_id.len == 16)
    memcpy(c->chunk_id, h->chunk_id.data, 16);
  c->op = h->op;
  c->fragment = h->fragment;
  c->offset = h->offset;
  c->length = h->length;
  c->done_bytes = 0;
  c->frag_length = 0;
  c->put_end = 0;
  c->put_over = 0;
  c->discard = 0;
  c->direct = 0;
  c->status = 0;
  c->buf_len = 0;
  switch (h->op) {
  case CAIRN__DATA_OP__DATA_PUT:
    if (h->length > CHUNK_MAX_FRAGMENT)
      return protocol_error(c, "fragment too large");
    if (h->payload_len != 0)
      return protocol_error(c, "PUT carries no data");
    c->state = CONN_PUT;
    if (h->length <= CHUNK_SEGMENT_MAX &&
        chunk_store_has_segments(c->srv->store)) {
      /* A segment fragment: opening its writer touches no disk (a statvfs)
       * and its bytes are copied into the writer's image right here, so
       * it needs no put buffer and no I/O-thread trip before its commit.
       * EBUSY: the log's dir cannot take it now; a file, as below. */
      c->status = chunk_writer_open_segment(c->srv->store, c->chunk_id,
                                            c->fragment, c->length, &c->writer);
      if (c->status == 0) {
        arm_timer(c);
        c->direct = 1;
        return 0;
      }
      c->status = 0;
    }
    c->buf_cap = h->length < PUT_BUFFER ? (size_t)h->length : PUT_BUFFER;
    c->buf = malloc(c->buf_cap ? c->buf_cap : 1);
    if (!c->buf)
      return -1;
    arm_timer(c);
    start_job(c, work_put_open, done_put_step);
    return 1;
  case CAIRN__DATA_OP__DATA_GET:
    if (h->length > CHUNK_MAX_FRAGMENT)
      return protocol_error(c, "range too large");
    c->state = CONN_GET;
    c->authenticated = h->authenticated;
    arm_timer(c);
    if (h->offset > CHUNK_MAX_FRAGMENT) { /* in no fragment (and would wrap) */
      c->busy = 1;
      send_result(c, CAIRN_ERANGE, 0, 0);
      return 1;
    }
    if (c->length <= CHUNK_SEGMENT_MAX &&
        chunk_store_has_segments(c->srv->store)) {
      if (get_buffer(c) != 0)
        return -1;
      /* An image in the page cache is served here, without a trip through
       * an I/O thread (each costs two wakeups and a context switch); else
       * (EBUSY) by a thread. A file (ENOENT) is read by pieces. */
      c->status = read_segment_span(c, 1);
      if (c->status == CAIRN_EBUSY) {
        c->status = 0;
        start_job(c, work_get_segment, done_get_segment);
      } else {
        c->busy = 1;
        done_get_segment(c);
      }
      return 1;
    }
    if (get_buffer(c) != 0) /* a file: pieces of at most 17 blocks */
      return -1;
    start_job(c, work_get_file, done_get);
    return 1;
  case CAIRN__DATA_OP__DATA_DELETE:
  case CAIRN__DATA_OP__DATA_STAT:
    c->state = CONN_OTHER;
    arm_timer(c);
    start_job(c, h->op == CAIRN__DATA_OP__DATA_DELETE ? work_delete : work_stat,
              done_simple);
    return 1;
  case CAIRN__DATA_OP__DATA_PING:
    c->state = CONN_OTHER;
    arm_timer(c);
    send_result(c, 0, 0, 0);
    return 1;
  default: return protocol_error(c, "unknown request");
  }
}

static int on_header(const Cairn__DataHeader *h, void *arg) {
  struct data_conn *c = arg;
  switch (c->state) {
  case CONN_AUTH: return on_auth(c, h);
  case CONN_READY: return begin_request(c, h);
  case CONN_PUT:
    if (c->put_end || (h->op != CAIRN__DATA_OP__DATA_PUT_PIECE &&
                       h->op != CAIRN__DATA_OP__DATA_PUT_END))
      return protocol_error(c, "expected a put piece");
    if (h->payload_len > c->length - c->done_bytes)
      return protocol_error(c, "more data than the fragment's length");
    c->done_bytes += h->payload_len;
    if (h->op == CAIRN__DATA_OP__DATA_PUT_END) {
      c->put_end = 1;
      c->crc = h->crc32c;
    }
    return 0;
  default: return protocol_error(c, "request while busy");
  }
}

static int on_payload(const uint8_t *data, size_t len, void *arg) {
  struct data_conn *c = arg;
  if (c->state != CONN_PUT)
    return -1;
  if (c->discard)
    return 0;
  if (c->direct) {
    c->status = chunk_writer_append(c->writer, data, len); /* a memcpy */
    if (c->status != 0) {
      put_failed_early(c);
      return 1;
    }
    return 0;
  }
  /* conn_process never feeds more than fits in buf. */
  memcpy(c->buf + c->buf_len, data, len);
  c->buf_len += len;
  if (c->buf_len == c->buf_cap) {
    start_job(c, work_put_append, done_put_step);
    return 1;
  }
  return 0;
}

static int on_payload_end(void *arg) {
  struct data_conn *c = arg;
  if (c->state != CONN_PUT || !c->put_end)
    return 0;
  c->put_over = 1;
  if (c->discard) { /* answered already: the next request may follow */
    if (!c->busy) {
      release_buf(c);
      c->state = CONN_READY;
      arm_timer(c);
    }
    return 0;
  }
  if (c->done_bytes != c->length) {
    c->status = CAIRN_EINVAL; /* answered, then the link is cut */
    put_failed_early(c);
    return 1;
  }
  if (c->direct) { /* no I/O thread: the segment log answers */
    commit_direct(c);
    return 1;
  }
  start_job(c, work_put_commit, done_put_commit);
  return 1;
}

static const struct frame_reader_ops reader_ops = {on_header, on_payload,
                                                   on_payload_end};

/* Feeds buffered bytes while no job or awaited write is in flight. */
static void conn_process(struct data_conn *c) {
  size_t off = 0;
  /* A feed of 0 bytes still delivers a payload end left pending when a
   * callback stopped the reader on a payload's last byte. */
  while (!c->busy && !c->closing) {
    size_t feed = c->in_len - off;
    if (c->state == CONN_PUT && !c->discard && c->buf_cap > 0 &&
        feed > c->buf_cap - c->buf_len)
      feed = c->buf_cap - c->buf_len; /* never overflow the put buffer */
    long used = frame_reader_feed(c->reader, c->inbuf + off, feed);
    if (used < 0) {
      conn_close(c);
      return;
    }
    off += (size_t)used;
    if (used == 0 || off == c->in_len)
      break;
  }
  if (c->closing)
    return;
  memmove(c->inbuf, c->inbuf + off, c->in_len - off);
  c->in_len -= off;
  set_reading(c, 1);
}

/* ---- connections --------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h) {
  struct data_conn *c = h->data;
  if (--c->handles > 0)
    return;
  frame_reader_free(c->reader);
  free(c->buf); /* a pooled one too (a malloc block); the pool may be gone */
  chunk_file_close(c->file);
  free(c);
}

static void conn_close(struct data_conn *c) {
  if (c->closing == 2)
    return;
  if (!c->closing) {
    c->closing = 1;
    struct data_server *s = c->srv;
    if (c->prev)
      c->prev->next = c->next;
    else
      s->conns = c->next;
    if (c->next)
      c->next->prev = c->prev;
    s->conn_count--;
    uv_read_stop((uv_stream_t *)&c->tcp);
    uv_timer_stop(&c->timer);
  }
  if (c->job_running)
    return;        /* job_done_trampoline finishes the close */
  if (c->writer) { /* the coordinator went away mid-put */
    if (!c->srv->io_stopping) {
      start_job(c, work_put_abort, NULL); /* its done closes again */
      return;
    }
    chunk_writer_abort(c->writer); /* shutdown: the I/O threads are gone */
    c->writer = NULL;
  }
  c->closing = 2;
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void peer_name(uv_tcp_t *tcp, char *out, size_t len) {
  struct sockaddr_storage sa;
  int sa_len = sizeof sa;
  char host[48] = "?";
  int port = 0;
  if (uv_tcp_getpeername(tcp, (struct sockaddr *)&sa, &sa_len) == 0) {
    if (sa.ss_family == AF_INET6) {
      uv_ip6_name((struct sockaddr_in6 *)&sa, host, sizeof host);
      port = ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
    } else {
      uv_ip4_name((struct sockaddr_in *)&sa, host, sizeof host);
      port = ntohs(((struct sockaddr_in *)&sa)->sin_port);
    }
  }
  snprintf(out, len, "%s:%d", host, port);
}

static void on_connection(uv_stream_t *l, int status) {
  struct data_server *s = l->data;
  if (status < 0 || s->stopping)
    return;
  struct data_conn *c = calloc(1, sizeof *c);
  if (!c)
    return;
  c->srv = s;
  c->reader = frame_reader_new(&reader_ops, c);
  uv_tcp_init(s->loop, &c->tcp);
  uv_timer_init(s->loop, &c->timer);
  c->handles = 2;
  c->tcp.data = c->timer.data = c;
  if (!c->reader || uv_accept(l, (uv_stream_t *)&c->tcp) != 0 ||
      s->conn_count >= DATA_CONN_MAX) {
    if (s->conn_count >= DATA_CONN_MAX)
      log_warn("data", "refused a data connection: %d already open",
               DATA_CONN_MAX);
    c->closing = 2;
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  peer_name(&c->tcp, c->peer, sizeof c->peer);
  c->next = s->conns;
  if (s->conns)
    s->conns->prev = c;
  s->conns = c;
  s->conn_count++;
  c->state = CONN_AUTH;
  uv_timer_start(&c->timer, on_stall, AUTH_TIMEOUT_MS, AUTH_TIMEOUT_MS);
  crypto_random(c->nonce, sizeof c->nonce);
  Cairn__DataHeader h = CAIRN__DATA_HEADER__INIT;
  h.op = CAIRN__DATA_OP__DATA_AUTH_CHALLENGE;
  h.auth.data = c->nonce;
  h.auth.len = sizeof c->nonce;
  send_frame(c, &h, NULL, 0, NULL);
  set_reading(c, 1);
}

/* ---- server -------------------------------------------------------------- */

int data_server_start(uv_loop_t *loop, const struct data_server_config *cfg,
                      struct data_server **out, char *err, size_t err_len) {
  char host[256];
  int port, rc;
  struct data_server *s = NULL;
  if (config_parse_hostport(cfg->listen_addr, host, sizeof host, &port)) {
    snprintf(err, err_len, "the data address wants host:port, got '%s'",
             cfg->listen_addr);
    return CAIRN_EINVAL;
  }
  s = calloc(1, sizeof *s);
  if (!s || !(s->secret = malloc(cfg->secret_len ? cfg->secret_len : 1))) {
    snprintf(err, err_len, "out of memory");
    rc = CAIRN_ENOMEM;
    goto fail;
  }
  s->loop = loop;
  s->spans = buf_pool_new(SPAN_MAX, SPAN_KEEP);
  if (!s->spans) {
    snprintf(err, err_len, "out of memory");
    rc = CAIRN_ENOMEM;
    goto fail;
  }
  memcpy(s->secret, cfg->secret, cfg->secret_len);
  s->secret_len = cfg->secret_len;
  rc = chunk_store_open((char *const *)cfg->data_dirs, cfg->data_dir_count,
                        &s->store);
  if (rc != 0) {
    snprintf(err, err_len, "cannot open the chunk store: %s",
             cairn_strerror(rc));
    goto fail;
  }
  if (cfg->disks)
    chunk_store_set_disks(s->store, cfg->disks);
  struct sockaddr_storage addr;
  rc = strchr(host, ':') ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr)
                         : uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
  if (rc != 0) {
    snprintf(err, err_len, "bad data address '%s'", cfg->listen_addr);
    rc = CAIRN_EINVAL;
    goto fail;
  }
  uv_tcp_init(loop, &s->listener);
  s->listener.data = s;
  rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
  if (rc != 0) {
    snprintf(err, err_len, "cannot listen on %s: %s", cfg->listen_addr,
             uv_strerror(rc));
    rc = rc == UV_EADDRINUSE ? CAIRN_EADDRINUSE : CAIRN_EINVAL;
    uv_close((uv_handle_t *)&s->listener, NULL);
    uv_run(loop, UV_RUN_NOWAIT); /* let the close finish before the free */
    goto fail;
  }
  rc = data_io_start(loop, DATA_IO_THREADS, &s->io);
  if (rc != 0) {
    snprintf(err, err_len, "cannot start the I/O threads: %s",
             cairn_strerror(rc));
    uv_close((uv_handle_t *)&s->listener, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    goto fail;
  }
  *out = s;
  return 0;
fail:
  if (s) {
    chunk_store_close(s->store);
    buf_pool_free(s->spans);
    free(s->secret);
    free(s);
  }
  return rc;
}

struct segment_log *data_server_segments(struct data_server *s) {
  return chunk_store_segments(s->store);
}

static void on_listener_closed(uv_handle_t *h) {
  struct data_server *s = h->data;
  chunk_store_close(s->store);
  buf_pool_free(s->spans);
  memset(s->secret, 0, s->secret_len);
  free(s->secret);
  free(s);
}

void data_server_stop(struct data_server *s) {
  if (!s)
    return;
  s->stopping = 1;
  while (s->conns)
    conn_close(s->conns);
  /* Joins the I/O threads; the done callbacks of jobs still in flight run
   * here and finish the closes deferred above. */
  s->io_stopping = 1;
  chunk_store_flush(s->store); /* direct commits report before the stop */
  data_io_stop(s->io);
  s->io = NULL;
  uv_close((uv_handle_t *)&s->listener, on_listener_closed);
}

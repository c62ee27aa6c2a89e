/*
 * data_server.c - the node's data port: authenticated connections from the
 * coordinator carrying fragment puts, gets and deletes (frame.h).
 *
 *   AUTH --valid MAC--> READY --PUT--> RECEIVING --PUT_END--> COMMITTING
 *                         ^  \--GET--> SENDING (block by block) --+   |
 *                         |   \-DELETE-> DELETING ---------------+ |   |
 *                         +------------ RESULT sent <------------+-+---+
 *
 * Disk work runs on libuv's worker threads (uv_queue_work; the node sets
 * UV_THREADPOOL_SIZE): the loop only moves bytes. While a job runs the
 * connection stops reading, which is the back-pressure toward the
 * coordinator. Invariant: at most one job per connection is in flight.
 */
#include "data_server.h"

#include "chunk_store.h"
#include "config.h"
#include "crypto.h"
#include "error.h"
#include "frame.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PUT_BUFFER (1u << 20)  /* bytes appended per disk job */
#define GET_PIECE (256u << 10) /* bytes read and sent per step */
#define INBUF_MAX (128u << 10)

struct data_server {
  uv_loop_t *loop;
  uv_tcp_t listener;
  uint8_t *secret;
  size_t secret_len;
  struct chunk_store *store;
  struct data_conn *conns;
  int stopping, listener_closed;
  unsigned jobs; /* disk jobs in flight: the server outlives them */
};

static void server_maybe_free(struct data_server *s);

enum conn_state { CONN_AUTH, CONN_READY, CONN_PUT, CONN_PUT_DONE };

struct data_conn {
  struct data_server *srv;
  struct data_conn *next, *prev;
  uv_tcp_t tcp;
  enum conn_state state;
  uint8_t nonce[DATA_AUTH_NONCE];
  struct frame_reader *reader;
  uint8_t inbuf[INBUF_MAX];
  size_t in_len;
  int busy, closing, reading;
  int job_running; /* a uv_work_t is in flight: c must outlive it */
  /* the operation in progress */
  Cairn__DataOp op;
  uint8_t chunk_id[16];
  uint32_t fragment;
  uint64_t offset, length, sent;
  struct chunk_writer *writer;
  uint8_t *buf;
  size_t buf_len;
  uint32_t crc;
  int status;
  uv_work_t work;
};

static void conn_process(struct data_conn *c);
static void conn_close(struct data_conn *c);

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  struct data_conn *c = h->data;
  (void)suggested;
  b->base = (char *)c->inbuf + c->in_len;
  b->len = INBUF_MAX - c->in_len;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static void set_reading(struct data_conn *c, int on) {
  if (c->closing || c->reading == on)
    return;
  if (on && c->in_len == INBUF_MAX)
    return;
  c->reading = on;
  if (on)
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
  else
    uv_read_stop((uv_stream_t *)&c->tcp);
}

struct write_req {
  uv_write_t w;
  struct data_conn *c;
  void (*after)(struct data_conn *c, int status);
  uint8_t data[];
};

static void on_written(uv_write_t *w, int status) {
  struct write_req *req = (struct write_req *)w;
  struct data_conn *c = req->c;
  void (*after)(struct data_conn *, int) = req->after;
  free(req);
  if (after && !c->closing)
    after(c, status);
}

/* Sends a copy of (a, alen) + (b, blen); `after` runs once flushed. */
static int send_bytes(struct data_conn *c, const void *a, size_t alen,
                      const void *b, size_t blen,
                      void (*after)(struct data_conn *, int)) {
  struct write_req *req = malloc(sizeof *req + alen + blen);
  if (!req)
    return CAIRN_ENOMEM;
  req->c = c;
  req->after = after;
  memcpy(req->data, a, alen);
  if (blen)
    memcpy(req->data + alen, b, blen);
  uv_buf_t buf = uv_buf_init((char *)req->data, (unsigned)(alen + blen));
  int rc = uv_write(&req->w, (uv_stream_t *)&c->tcp, &buf, 1, on_written);
  if (rc != 0) {
    free(req);
    return cairn_err_from_errno(rc);
  }
  return 0;
}

static void op_finished(struct data_conn *c, int status) {
  (void)status;
  c->busy = 0;
  c->state = CONN_READY;
  conn_process(c);
}

static void send_result(struct data_conn *c, int status, uint64_t payload,
                        const void *data, size_t data_len,
                        void (*after)(struct data_conn *, int)) {
  Cairn__DataHeader h = CAIRN__DATA_HEADER__INIT;
  uint8_t frame[256];
  h.op = CAIRN__DATA_OP__DATA_RESULT;
  h.status = status;
  h.payload_len = payload;
  size_t n = frame_encode(&h, frame, sizeof frame);
  if (n == 0 || send_bytes(c, frame, n, data, data_len, after) != 0)
    conn_close(c);
}

/* ---- disk jobs ----------------------------------------------------------- */

static void job_put_open(uv_work_t *w) {
  struct data_conn *c = w->data;
  c->status = chunk_writer_open(c->srv->store, c->chunk_id, c->fragment,
                                c->length, &c->writer);
}

static void job_put_append(uv_work_t *w) {
  struct data_conn *c = w->data;
  if (c->status == 0 && c->writer)
    c->status = chunk_writer_append(c->writer, c->buf, c->buf_len);
  c->buf_len = 0;
}

static void job_put_commit(uv_work_t *w) {
  struct data_conn *c = w->data;
  if (!c->writer)
    return;
  if (c->status == 0)
    c->status = chunk_writer_commit(c->writer, c->crc);
  else
    chunk_writer_abort(c->writer);
  c->writer = NULL;
}

static void job_get(uv_work_t *w) {
  struct data_conn *c = w->data;
  size_t take = c->length - c->sent < GET_PIECE ? (size_t)(c->length - c->sent)
                                                : GET_PIECE;
  c->buf_len = take;
  c->status = take ? chunk_read(c->srv->store, c->chunk_id, c->fragment,
                                c->offset + c->sent, take, c->buf)
                   : 0;
}

static void job_delete(uv_work_t *w) {
  struct data_conn *c = w->data;
  c->status = chunk_delete(c->srv->store, c->chunk_id, c->fragment);
}

static void after_job(uv_work_t *w, int status);

static void start_job(struct data_conn *c, uv_work_cb job) {
  c->busy = 1;
  c->job_running = 1;
  c->srv->jobs++;
  c->work.data = c;
  set_reading(c, 0);
  uv_queue_work(c->srv->loop, &c->work, job, after_job);
}

static void get_step(struct data_conn *c, int status);

static void after_job(uv_work_t *w, int status) {
  struct data_conn *c = w->data;
  (void)status;
  c->srv->jobs--;
  c->job_running = 0;
  if (c->closing) {
    struct data_server *s = c->srv;
    c->busy = 0;
    if (c->writer) {
      chunk_writer_abort(c->writer); /* the coordinator went away */
      c->writer = NULL;
    }
    conn_close(c); /* deferred free now that no job runs */
    server_maybe_free(s);
    return;
  }
  switch (c->op) {
  case CAIRN__DATA_OP__DATA_PUT:
    c->busy = 0;
    conn_process(c);
    break;
  case CAIRN__DATA_OP__DATA_PUT_END:
    if (c->status != 0)
      log_warn("data", "fragment write failed: %s", cairn_strerror(c->status));
    send_result(c, c->status, 0, NULL, 0, op_finished);
    break;
  case CAIRN__DATA_OP__DATA_GET:
    if (c->sent == 0) {
      if (c->status != 0) {
        send_result(c, c->status, 0, NULL, 0, op_finished);
        return;
      }
      c->sent += c->buf_len;
      send_result(c, 0, c->length, c->buf, c->buf_len, get_step);
      return;
    }
    if (c->status != 0) {
      /* Mid-stream: only a cut connection can tell the reader. */
      log_warn("data", "read failed mid-stream: %s", cairn_strerror(c->status));
      conn_close(c);
      return;
    }
    c->sent += c->buf_len;
    if (send_bytes(c, c->buf, c->buf_len, NULL, 0, get_step) != 0)
      conn_close(c);
    break;
  case CAIRN__DATA_OP__DATA_DELETE:
    send_result(c, c->status, 0, NULL, 0, op_finished);
    break;
  default: conn_close(c);
  }
}

static void get_step(struct data_conn *c, int status) {
  if (status != 0) {
    conn_close(c);
    return;
  }
  if (c->sent >= c->length) {
    free(c->buf);
    c->buf = NULL;
    op_finished(c, 0);
    return;
  }
  start_job(c, job_get);
}

/* ---- frames -------------------------------------------------------------- */

static int on_header(const Cairn__DataHeader *h, void *arg) {
  struct data_conn *c = arg;
  if (h->chunk_id.len == 16)
    memcpy(c->chunk_id, h->chunk_id.data, 16);
  switch (h->op) {
  case CAIRN__DATA_OP__DATA_PUT:
    if (c->state != CONN_READY || h->chunk_id.len != 16 ||
        h->length > CHUNK_MAX_FRAGMENT || h->payload_len != h->length)
      return c->status = CAIRN_EPROTO, -1;
    c->op = h->op;
    c->fragment = h->fragment;
    c->length = h->length;
    c->state = CONN_PUT;
    c->status = 0;
    c->buf = malloc(PUT_BUFFER);
    c->buf_len = 0;
    if (!c->buf)
      return -1;
    start_job(c, job_put_open);
    return 1;
  case CAIRN__DATA_OP__DATA_PUT_END:
    if (c->state != CONN_PUT_DONE)
      return -1;
    c->op = h->op;
    c->crc = h->crc32c;
    free(c->buf);
    c->buf = NULL;
    start_job(c, job_put_commit);
    return 1;
  case CAIRN__DATA_OP__DATA_GET:
    if (c->state != CONN_READY || h->chunk_id.len != 16 ||
        h->length > CHUNK_MAX_FRAGMENT)
      return -1;
    c->op = h->op;
    c->fragment = h->fragment;
    c->offset = h->offset;
    c->length = h->length;
    c->sent = 0;
    c->buf = malloc(GET_PIECE);
    if (!c->buf)
      return -1;
    start_job(c, job_get);
    return 1;
  case CAIRN__DATA_OP__DATA_DELETE:
    if (c->state != CONN_READY || h->chunk_id.len != 16)
      return -1;
    c->op = h->op;
    c->fragment = h->fragment;
    start_job(c, job_delete);
    return 1;
  default: return -1;
  }
}

static int on_payload(const uint8_t *data, size_t len, void *arg) {
  struct data_conn *c = arg;
  if (c->state != CONN_PUT)
    return -1;
  /* The reader never hands more than fits: see conn_process. */
  memcpy(c->buf + c->buf_len, data, len);
  c->buf_len += len;
  if (c->buf_len == PUT_BUFFER) {
    start_job(c, job_put_append);
    return 1;
  }
  return 0;
}

static int on_payload_end(void *arg) {
  struct data_conn *c = arg;
  if (c->state != CONN_PUT)
    return 0; /* GET/DELETE/PUT_END carry no payload */
  c->state = CONN_PUT_DONE;
  if (c->buf_len > 0) {
    start_job(c, job_put_append);
    return 1;
  }
  return 0;
}

static const struct frame_reader_ops reader_ops = {on_header, on_payload,
                                                   on_payload_end};

/* Feeds buffered bytes while no job runs. */
static void conn_process(struct data_conn *c) {
  while (!c->busy && !c->closing && c->in_len > 0) {
    size_t feed = c->in_len;
    if (c->state == CONN_PUT && feed > PUT_BUFFER - c->buf_len)
      feed = PUT_BUFFER - c->buf_len; /* never overflow the put buffer */
    long used = frame_reader_feed(c->reader, c->inbuf, feed);
    if (used < 0) {
      log_warn("data", "malformed frame from the coordinator: closing");
      conn_close(c);
      return;
    }
    memmove(c->inbuf, c->inbuf + used, c->in_len - (size_t)used);
    c->in_len -= (size_t)used;
    if (used == 0 && !c->busy)
      break;
  }
  if (!c->busy)
    set_reading(c, 1);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  struct data_conn *c = s->data;
  (void)b;
  if (n < 0) {
    conn_close(c);
    return;
  }
  c->in_len += (size_t)n;
  if (c->state == CONN_AUTH) {
    if (c->in_len < 32)
      return;
    uint8_t mac[32];
    frame_auth_mac(c->srv->secret, c->srv->secret_len, c->nonce, mac);
    if (!crypto_equal(mac, c->inbuf, 32)) {
      log_warn("data", "refused a data connection: bad cluster secret");
      conn_close(c);
      return;
    }
    memmove(c->inbuf, c->inbuf + 32, c->in_len - 32);
    c->in_len -= 32;
    c->state = CONN_READY;
  }
  if (c->in_len == INBUF_MAX)
    set_reading(c, 0);
  conn_process(c);
}

static void on_closed(uv_handle_t *h) {
  struct data_conn *c = h->data;
  frame_reader_free(c->reader);
  free(c->buf);
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
  }
  if (c->job_running)
    return; /* after_job finishes the close */
  c->closing = 2;
  if (c->writer) {
    chunk_writer_abort(c->writer);
    c->writer = NULL;
  }
  uv_close((uv_handle_t *)&c->tcp, on_closed);
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
  c->tcp.data = c;
  if (!c->reader || uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
    c->closing = 2;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  c->next = s->conns;
  if (s->conns)
    s->conns->prev = c;
  s->conns = c;
  crypto_random(c->nonce, sizeof c->nonce);
  if (send_bytes(c, c->nonce, sizeof c->nonce, NULL, 0, NULL) != 0) {
    conn_close(c);
    return;
  }
  set_reading(c, 1);
}

int data_server_start(uv_loop_t *loop, const struct data_server_config *cfg,
                      struct data_server **out, char *err, size_t err_len) {
  char host[256];
  int port;
  if (config_parse_hostport(cfg->listen_addr, host, sizeof host, &port)) {
    snprintf(err, err_len, "--listen wants host:port, got '%s'",
             cfg->listen_addr);
    return CAIRN_EINVAL;
  }
  /* Disk jobs run on libuv's pool, which is ours alone in a node: size it
   * before the first job starts it (the default 4 would serialise fsyncs). */
  setenv("UV_THREADPOOL_SIZE", "8", 0);
  struct data_server *s = calloc(1, sizeof *s);
  if (!s)
    return CAIRN_ENOMEM;
  s->loop = loop;
  s->secret = malloc(cfg->secret_len);
  int rc = s->secret ? chunk_store_open((char *const *)cfg->data_dirs,
                                        cfg->data_dir_count, &s->store)
                     : CAIRN_ENOMEM;
  if (rc != 0) {
    snprintf(err, err_len, "cannot open the chunk store: %s",
             cairn_strerror(rc));
    free(s->secret);
    free(s);
    return rc;
  }
  memcpy(s->secret, cfg->secret, cfg->secret_len);
  s->secret_len = cfg->secret_len;
  struct sockaddr_storage addr;
  rc = strchr(host, ':') ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr)
                         : uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
  uv_tcp_init(loop, &s->listener);
  s->listener.data = s;
  if (rc == 0)
    rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
  if (rc != 0) {
    snprintf(err, err_len, "cannot listen on %s: %s%s", cfg->listen_addr,
             uv_strerror(rc),
             rc == UV_EADDRINUSE ? " (address already in use)" : "");
    uv_close((uv_handle_t *)&s->listener, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    chunk_store_close(s->store);
    free(s->secret);
    free(s);
    return rc == UV_EADDRINUSE ? CAIRN_EADDRINUSE : CAIRN_EINVAL;
  }
  *out = s;
  return 0;
}

static void server_maybe_free(struct data_server *s) {
  if (!s->stopping || !s->listener_closed || s->jobs > 0)
    return;
  chunk_store_close(s->store);
  memset(s->secret, 0, s->secret_len);
  free(s->secret);
  free(s);
}

static void on_listener_closed(uv_handle_t *h) {
  struct data_server *s = h->data;
  s->listener_closed = 1;
  server_maybe_free(s);
}

void data_server_stop(struct data_server *s) {
  if (!s)
    return;
  s->stopping = 1;
  while (s->conns)
    conn_close(s->conns);
  uv_close((uv_handle_t *)&s->listener, on_listener_closed);
}

/*
 * node_link.c - pooled, authenticated connections to the nodes' data ports
 * (protocol: the data-plane section of proto/cairn.proto).
 *
 *   LINK_CONNECTING --connected--> LINK_AUTH --AUTH_CHALLENGE in,
 *         |                           |        AUTH_RESPONSE out--> LINK_READY
 *         |                           |                               |  ^
 *         +---- error / timeout ------+------- error / timeout -------+  |
 *                      |                              op ends cleanly:   |
 *                      v                              back to idle ------+
 *                 LINK_CLOSED (never reused; freed when its handles close)
 *
 * One operation at a time per link. An operation may start on a link that
 * is still connecting: its frames wait in `pending` and go out, in order,
 * right after the AUTH_RESPONSE.
 *
 * Per operation, what the node sends back:
 *   put:    RESULT (after PUT_END, or earlier for a failure; a link whose
 *           put failed is dropped: pieces may still be queued)
 *   get:    DATA* then RESULT
 *   delete, stat, ping: RESULT
 *
 * Invariants:
 *  1. Every write a caller handed us reaches its written callback exactly
 *     once (sent, cancelled by the close, or dropped from `pending`).
 *  2. A link is in the pool's `all` list until it is closed, and in `idle`
 *     only when READY without an operation.
 *  3. An operation's done callback runs once, from op_end, never inside
 *     the call that started it; a cancelled operation never calls back.
 */
#include "node_link.h"

#include "buf_pool.h"
#include "config.h"
#include "crypto.h"
#include "error.h"
#include "frame.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINK_INBUF (128u << 10)
/* Idle input buffers kept for the next read (4 MiB). */
#define LINK_INBUF_KEEP 32

enum link_state { LINK_CONNECTING, LINK_AUTH, LINK_READY, LINK_CLOSED };
enum op_kind { OP_PUT, OP_GET, OP_DELETE, OP_STAT, OP_PING };

struct link_op {
  enum op_kind kind;
  struct link *link;
  void *arg;
  node_put_done_cb put_done;
  node_get_data_cb on_data;
  node_get_done_cb get_done;
  void (*simple_done)(int status, void *arg); /* delete, ping */
  node_stat_done_cb stat_done;
  uint64_t length, moved; /* put: bytes queued; get: bytes delivered */
  int finished;           /* put: PUT_END sent */
  int paused;
};

struct node_put {
  struct link_op op;
};
struct node_get {
  struct link_op op;
};

struct lwrite {
  uv_write_t w;
  struct lwrite *next; /* in the pending list */
  struct link *link;
  void (*written)(void *arg);
  void *arg;
  /* The frame header(s) (copied into header[]) and the payload (borrowed);
   * a whole put (node_put_whole) is PUT + PUT_PIECE headers, the payload,
   * the PUT_END header. */
  uv_buf_t bufs[3];
  unsigned nbufs;
  uint8_t header[]; /* copy of the encoded header(s) */
};

struct link {
  struct node_link_pool *pool;
  struct link *next_idle;
  struct link *next, *prev; /* the pool's `all` list */
  char addr[128];
  enum link_state state;
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_timer_t timer;
  int handles; /* open uv handles: freed at 0 */
  struct frame_reader *reader;
  /* LINK_INBUF bytes from the pool's inbufs while a read needs them (bytes
   * not yet parsed, or a read under way), else NULL: 512 links of 256
   * uploads held 64 MiB of mostly idle buffers when each had its own. */
  uint8_t *inbuf;
  size_t in_len;
  int processing; /* link_process runs: the inbuf must stay */
  int reading;
  struct lwrite *pending, *pending_tail;
  struct link_op *op;
};

struct node_link_pool {
  uv_loop_t *loop;
  uint8_t *secret;
  size_t secret_len;
  struct link *idle;
  size_t idle_count;
  struct link *all;
  struct buf_pool *inbufs; /* LINK_INBUF each, mapped */
  int closing; /* node_link_pool_free is running: no new operations */
};

static void link_fail(struct link *l, int status);
static void link_process(struct link *l);

/* The input buffer goes back once no byte of it is left to parse. */
static void inbuf_drop(struct link *l) {
  if (!l->inbuf || l->processing || (l->in_len && l->state != LINK_CLOSED))
    return;
  buf_pool_put(l->pool->inbufs, l->inbuf);
  l->inbuf = NULL;
  l->in_len = 0;
}

/* ---- lifetime ------------------------------------------------------------ */

static void on_handle_closed(uv_handle_t *h) {
  struct link *l = h->data;
  if (--l->handles == 0) {
    frame_reader_free(l->reader);
    free(l);
  }
}

static void idle_remove(struct link *l) {
  struct node_link_pool *p = l->pool;
  for (struct link **pp = &p->idle; *pp; pp = &(*pp)->next_idle)
    if (*pp == l) {
      *pp = l->next_idle;
      p->idle_count--;
      return;
    }
}

/* Closes the link; its op (if any) must have been detached already. */
static void link_close(struct link *l) {
  if (l->state == LINK_CLOSED)
    return;
  l->state = LINK_CLOSED;
  idle_remove(l);
  struct node_link_pool *p = l->pool;
  if (l->prev)
    l->prev->next = l->next;
  else
    p->all = l->next;
  if (l->next)
    l->next->prev = l->prev;
  /* Writes never handed to libuv: release their buffers now. */
  for (struct lwrite *w = l->pending, *next; w; w = next) {
    next = w->next;
    if (w->written)
      w->written(w->arg);
    free(w);
  }
  l->pending = l->pending_tail = NULL;
  inbuf_drop(l);
  uv_close((uv_handle_t *)&l->timer, on_handle_closed);
  uv_close((uv_handle_t *)&l->tcp, on_handle_closed);
}

/* Progress on an operation: the timeout starts over. */
static void touch(struct link *l) {
  if (l->state != LINK_CLOSED && l->op)
    uv_timer_again(&l->timer);
}

/* ---- writing ------------------------------------------------------------- */

static void on_write(uv_write_t *w, int status) {
  struct lwrite *lw = (struct lwrite *)w;
  struct link *l = lw->link;
  /* The buffer is released first: the caller may free everything in its
   * done callback, which a failure below runs. The link outlives its
   * writes (libuv cancels them before the close callback). */
  if (lw->written)
    lw->written(lw->arg);
  free(lw);
  if (status < 0 && l->state != LINK_CLOSED)
    link_fail(l, CAIRN_ECLOSED);
  else
    touch(l);
}

static int submit(struct link *l, struct lwrite *lw) {
  int rc =
      uv_write(&lw->w, (uv_stream_t *)&l->tcp, lw->bufs, lw->nbufs, on_write);
  return rc ? CAIRN_ECLOSED : 0;
}

static int link_queue(struct link *l, struct lwrite *lw);

/* Queues one frame: h (encoded and copied) then payload (borrowed until
 * written(arg), which runs exactly once if this returns 0, never if not). */
static int link_send(struct link *l, Cairn__DataHeader *h, const void *payload,
                     size_t len, void (*written)(void *), void *arg) {
  if (l->state == LINK_CLOSED)
    return CAIRN_ECLOSED;
  if (len > FRAME_PAYLOAD_MAX)
    return CAIRN_ETOOBIG;
  h->payload_len = len;
  size_t cap = cairn__data_header__get_packed_size(h) + FRAME_PREFIX;
  struct lwrite *lw = malloc(sizeof *lw + cap);
  if (!lw)
    return CAIRN_ENOMEM;
  size_t n = frame_encode(h, lw->header, cap);
  if (n == 0) {
    free(lw);
    return CAIRN_EINVAL;
  }
  lw->next = NULL;
  lw->link = l;
  lw->written = written;
  lw->arg = arg;
  lw->bufs[0] = uv_buf_init((char *)lw->header, (unsigned)n);
  lw->bufs[1] = uv_buf_init((char *)payload, (unsigned)len);
  lw->nbufs = len ? 2 : 1;
  return link_queue(l, lw);
}

/* Hands lw to libuv, or holds it until the link is authenticated. If this
 * fails lw is freed and its written callback never runs. */
static int link_queue(struct link *l, struct lwrite *lw) {
  if (l->state != LINK_READY) {
    if (l->pending_tail)
      l->pending_tail->next = lw;
    else
      l->pending = lw;
    l->pending_tail = lw;
    return 0;
  }
  int rc = submit(l, lw);
  if (rc != 0)
    free(lw);
  return rc;
}

/* ---- operations end ------------------------------------------------------ */

/* Ends the link's op with status; a clean end returns the link to the pool
 * before the callback runs (which may start the next op on it). */
static void op_end(struct link *l, int status, int link_ok) {
  struct link_op *op = l->op;
  l->op = NULL;
  if (l->state != LINK_CLOSED)
    uv_timer_stop(&l->timer);
  if (link_ok && l->state == LINK_READY &&
      l->pool->idle_count < NODE_LINK_IDLE_MAX) {
    l->next_idle = l->pool->idle;
    l->pool->idle = l;
    l->pool->idle_count++;
  } else if (l->state != LINK_CLOSED) {
    link_close(l);
  }
  if (!op)
    return;
  switch (op->kind) {
  case OP_PUT: op->put_done((struct node_put *)op, status, op->arg); break;
  case OP_GET: op->get_done((struct node_get *)op, status, op->arg); break;
  case OP_DELETE:
  case OP_PING: op->simple_done(status, op->arg); break;
  case OP_STAT:
    op->stat_done(status, status == 0 ? op->length : 0, op->arg);
    break;
  }
  free(op);
}

static void link_fail(struct link *l, int status) {
  if (l->op)
    op_end(l, status, 0);
  else
    link_close(l);
}

/* ---- reading ------------------------------------------------------------- */

/* The node's challenge: answer it, then release the queued frames. */
static int on_challenge(struct link *l, const Cairn__DataHeader *h) {
  if (h->op != CAIRN__DATA_OP__DATA_AUTH_CHALLENGE ||
      h->auth.len != DATA_AUTH_NONCE || h->payload_len != 0)
    return -1;
  uint8_t mac[DATA_AUTH_MAC];
  frame_auth_mac(l->pool->secret, l->pool->secret_len, h->auth.data, mac);
  Cairn__DataHeader r = CAIRN__DATA_HEADER__INIT;
  r.op = CAIRN__DATA_OP__DATA_AUTH_RESPONSE;
  r.auth.data = mac;
  r.auth.len = sizeof mac;
  struct lwrite *queued = l->pending;
  l->pending = l->pending_tail = NULL;
  l->state = LINK_READY;
  int rc = link_send(l, &r, NULL, 0, NULL, NULL);
  while (queued) {
    struct lwrite *next = queued->next;
    if (rc == 0)
      rc = submit(l, queued);
    if (rc != 0) { /* still owed its written callback */
      if (queued->written)
        queued->written(queued->arg);
      free(queued);
    }
    queued = next;
  }
  if (rc != 0) {
    link_fail(l, CAIRN_ECLOSED);
    return 1;
  }
  if (!l->op) /* authenticated ahead of any use: idle */
    op_end(l, 0, 1);
  return 0;
}

static int on_result(struct link *l, const Cairn__DataHeader *h) {
  struct link_op *op = l->op;
  int status = h->status;
  if (status > 0 || h->payload_len != 0)
    return -1;
  switch (op->kind) {
  case OP_PUT:
    /* A failed put may have been answered before all its pieces were
     * sent or read: the link is out of step, never reused. */
    if (status != 0 || !op->finished) {
      op_end(l, status ? status : CAIRN_EPROTO, 0);
      return 1;
    }
    break;
  case OP_GET:
    if (status == 0 && op->moved != op->length)
      return -1;
    break;
  case OP_STAT: op->length = h->length; break;
  default: break;
  }
  op_end(l, status, 1);
  return 1;
}

static int on_header(const Cairn__DataHeader *h, void *arg) {
  struct link *l = arg;
  if (l->state == LINK_AUTH)
    return on_challenge(l, h);
  if (!l->op)
    return -1; /* nothing is owed to an idle link */
  if (h->op == CAIRN__DATA_OP__DATA_RESULT)
    return on_result(l, h);
  if (h->op == CAIRN__DATA_OP__DATA_DATA && l->op->kind == OP_GET &&
      h->payload_len <= l->op->length - l->op->moved)
    return 0;
  return -1;
}

static int on_payload(const uint8_t *data, size_t len, void *arg) {
  struct link *l = arg;
  struct link_op *op = l->op;
  if (!op || op->kind != OP_GET)
    return -1;
  op->moved += len;
  if (op->on_data(data, len, op->arg) != 0) {
    if (l->op == op) /* the callback may have cancelled it */
      op->paused = 1;
    return 1;
  }
  return l->op == op ? 0 : 1;
}

static int on_payload_end(void *arg) {
  (void)arg;
  return 0; /* every request ends with a RESULT, not a payload */
}

static const struct frame_reader_ops reader_ops = {on_header, on_payload,
                                                   on_payload_end};

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  struct link *l = h->data;
  (void)suggested;
  if (!l->inbuf)
    l->inbuf = buf_pool_get(l->pool->inbufs);
  if (!l->inbuf) { /* read_cb gets UV_ENOBUFS: the link fails */
    b->base = NULL;
    b->len = 0;
    return;
  }
  b->base = (char *)l->inbuf + l->in_len;
  b->len = LINK_INBUF - l->in_len;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static void set_reading(struct link *l, int on) {
  if (l->state == LINK_CLOSED || l->reading == on)
    return;
  l->reading = on;
  if (on)
    uv_read_start((uv_stream_t *)&l->tcp, alloc_cb, read_cb);
  else
    uv_read_stop((uv_stream_t *)&l->tcp);
}

static void link_process(struct link *l) {
  size_t off = 0;
  l->processing = 1;
  while (l->state != LINK_CLOSED && l->state != LINK_CONNECTING &&
         off < l->in_len && !(l->op && l->op->paused)) {
    long used = frame_reader_feed(l->reader, l->inbuf + off, l->in_len - off);
    if (used < 0) {
      log_warn("link", "malformed answer from node %s: dropping the link",
               l->addr);
      link_fail(l, CAIRN_ECLOSED);
      break;
    }
    off += (size_t)used;
    if (used == 0)
      break;
  }
  l->processing = 0;
  if (l->state == LINK_CLOSED) {
    inbuf_drop(l);
    return;
  }
  if (off) {
    memmove(l->inbuf, l->inbuf + off, l->in_len - off);
    l->in_len -= off;
  }
  inbuf_drop(l);
  int paused = l->op && l->op->paused;
  set_reading(l, !paused && l->in_len < LINK_INBUF);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  struct link *l = s->data;
  (void)b;
  if (n < 0) {
    if (l->op)
      log_warn("link", "node %s: connection lost: %s", l->addr,
               uv_strerror((int)n));
    link_fail(l, CAIRN_ECLOSED);
    return;
  }
  touch(l);
  l->in_len += (size_t)n;
  link_process(l);
}

static void on_timeout(uv_timer_t *t) {
  struct link *l = t->data;
  log_warn("link", "node %s: no progress for %d ms", l->addr,
           NODE_LINK_TIMEOUT_MS);
  link_fail(l, CAIRN_ETIMEDOUT);
}

static void on_connect(uv_connect_t *req, int status) {
  struct link *l = req->data;
  if (l->state == LINK_CLOSED)
    return;
  if (status < 0) {
    log_warn("link", "cannot connect to node %s: %s", l->addr,
             uv_strerror(status));
    link_fail(l, CAIRN_ECLOSED);
    return;
  }
  uv_tcp_nodelay(&l->tcp, 1);
  l->state = LINK_AUTH;
  set_reading(l, 1);
}

/* An idle link to addr, or a new one (connecting). */
static struct link *link_get(struct node_link_pool *p, const char *addr,
                             int *err) {
  for (struct link *l = p->idle; l; l = l->next_idle)
    if (strcmp(l->addr, addr) == 0) {
      idle_remove(l);
      return l;
    }
  char host[128];
  int port;
  struct sockaddr_in sa;
  if (strlen(addr) >= sizeof((struct link *)0)->addr ||
      config_parse_hostport(addr, host, sizeof host, &port) != 0 ||
      uv_ip4_addr(host, port, &sa) != 0) {
    *err = CAIRN_EINVAL;
    return NULL;
  }
  struct link *l = calloc(1, sizeof *l);
  if (!l || !(l->reader = frame_reader_new(&reader_ops, l))) {
    free(l);
    *err = CAIRN_ENOMEM;
    return NULL;
  }
  l->pool = p;
  snprintf(l->addr, sizeof l->addr, "%s", addr);
  uv_tcp_init(p->loop, &l->tcp);
  uv_timer_init(p->loop, &l->timer);
  l->handles = 2;
  l->tcp.data = l->timer.data = l->connect.data = l;
  l->state = LINK_CONNECTING;
  l->next = p->all;
  if (p->all)
    p->all->prev = l;
  p->all = l;
  int rc =
      uv_tcp_connect(&l->connect, &l->tcp, (struct sockaddr *)&sa, on_connect);
  if (rc != 0) {
    link_close(l);
    *err = CAIRN_ECLOSED;
    return NULL;
  }
  return l;
}

static struct link_op *op_start(struct node_link_pool *p, const char *addr,
                                enum op_kind kind, size_t size, int *err) {
  if (p->closing) {
    *err = CAIRN_ECLOSED;
    return NULL;
  }
  struct link *l = link_get(p, addr, err);
  if (!l)
    return NULL;
  struct link_op *op = calloc(1, size);
  if (!op) {
    link_close(l);
    *err = CAIRN_ENOMEM;
    return NULL;
  }
  op->kind = kind;
  op->link = l;
  l->op = op;
  uv_timer_start(&l->timer, on_timeout, NODE_LINK_TIMEOUT_MS,
                 NODE_LINK_TIMEOUT_MS);
  if (l->state == LINK_READY)
    set_reading(l, 1);
  return op;
}

/* Undoes op_start after a synchronous failure, or cancels: no callback of
 * the op runs; the link, now out of step, is closed. */
static void op_abandon(struct link_op *op) {
  struct link *l = op->link;
  if (l->op == op) {
    l->op = NULL;
    link_close(l);
  }
  free(op);
}

/* ---- public operations --------------------------------------------------- */

int node_link_pool_new(uv_loop_t *loop, const uint8_t *secret,
                       size_t secret_len, struct node_link_pool **out) {
  struct node_link_pool *p = calloc(1, sizeof *p);
  if (!p || !(p->secret = malloc(secret_len ? secret_len : 1)) ||
      !(p->inbufs = buf_pool_new_mapped(LINK_INBUF, LINK_INBUF_KEEP))) {
    if (p)
      free(p->secret);
    free(p);
    return CAIRN_ENOMEM;
  }
  memcpy(p->secret, secret, secret_len);
  p->secret_len = secret_len;
  p->loop = loop;
  *out = p;
  return 0;
}

void node_link_pool_free(struct node_link_pool *p) {
  if (!p)
    return;
  p->closing = 1;
  while (p->all)
    link_fail(p->all, CAIRN_ECLOSED); /* ops in flight fail, links close */
  memset(p->secret, 0, p->secret_len);
  free(p->secret);
  buf_pool_free(p->inbufs); /* every closed link gave its inbuf back */
  free(p);
}

size_t node_link_pool_inbufs_held(const struct node_link_pool *p) {
  size_t n = 0;
  for (const struct link *l = p->all; l; l = l->next)
    n += l->inbuf != NULL;
  return n;
}

static void fill_header(Cairn__DataHeader *h, Cairn__DataOp op,
                        const uint8_t chunk_id[16], uint32_t fragment) {
  cairn__data_header__init(h);
  h->op = op;
  if (chunk_id) {
    h->chunk_id.data = (uint8_t *)chunk_id;
    h->chunk_id.len = 16;
  }
  h->fragment = fragment;
}

/* Starts an op of `kind` and sends its request header. */
static int op_request(struct node_link_pool *p, const char *addr,
                      enum op_kind kind, size_t size, Cairn__DataHeader *h,
                      struct link_op **out) {
  int err = 0;
  struct link_op *op = op_start(p, addr, kind, size, &err);
  if (!op)
    return err;
  if ((err = link_send(op->link, h, NULL, 0, NULL, NULL)) != 0) {
    op_abandon(op);
    return err;
  }
  *out = op;
  return 0;
}

int node_put_begin(struct node_link_pool *p, const char *addr,
                   const uint8_t chunk_id[16], uint32_t fragment,
                   uint64_t length, node_put_done_cb done, void *arg,
                   struct node_put **out) {
  if (length > DATA_FRAGMENT_MAX)
    return CAIRN_ETOOBIG;
  Cairn__DataHeader h;
  fill_header(&h, CAIRN__DATA_OP__DATA_PUT, chunk_id, fragment);
  h.length = length;
  struct link_op *op;
  int rc = op_request(p, addr, OP_PUT, sizeof(struct node_put), &h, &op);
  if (rc != 0)
    return rc;
  op->put_done = done;
  op->arg = arg;
  op->length = length;
  *out = (struct node_put *)op;
  return 0;
}

int node_put_whole(struct node_link_pool *p, const char *addr,
                   const uint8_t chunk_id[16], uint32_t fragment,
                   const void *data, size_t len, uint32_t crc32c,
                   node_put_done_cb done, void *arg, void (*written)(void *arg),
                   void *written_arg, struct node_put **out) {
  if (len == 0 || len > FRAME_PAYLOAD_MAX || len > DATA_FRAGMENT_MAX)
    return CAIRN_EINVAL;
  Cairn__DataHeader put, piece, end;
  fill_header(&put, CAIRN__DATA_OP__DATA_PUT, chunk_id, fragment);
  put.length = len;
  fill_header(&piece, CAIRN__DATA_OP__DATA_PUT_PIECE, NULL, 0);
  piece.payload_len = len;
  fill_header(&end, CAIRN__DATA_OP__DATA_PUT_END, NULL, 0);
  end.crc32c = crc32c;
  size_t cap = cairn__data_header__get_packed_size(&put) +
               cairn__data_header__get_packed_size(&piece) +
               cairn__data_header__get_packed_size(&end) + 3 * FRAME_PREFIX;
  struct lwrite *lw = malloc(sizeof *lw + cap);
  if (!lw)
    return CAIRN_ENOMEM;
  size_t a = frame_encode(&put, lw->header, cap);
  size_t b = a ? frame_encode(&piece, lw->header + a, cap - a) : 0;
  size_t c = b ? frame_encode(&end, lw->header + a + b, cap - a - b) : 0;
  if (c == 0) {
    free(lw);
    return CAIRN_EINVAL;
  }
  int err = 0;
  struct link_op *op = op_start(p, addr, OP_PUT, sizeof(struct node_put), &err);
  if (!op) {
    free(lw);
    return err;
  }
  lw->next = NULL;
  lw->link = op->link;
  lw->written = written;
  lw->arg = written_arg;
  lw->bufs[0] = uv_buf_init((char *)lw->header, (unsigned)(a + b));
  lw->bufs[1] = uv_buf_init((char *)data, (unsigned)len);
  lw->bufs[2] = uv_buf_init((char *)lw->header + a + b, (unsigned)c);
  lw->nbufs = 3;
  if ((err = link_queue(op->link, lw)) != 0) {
    op_abandon(op);
    return err;
  }
  op->put_done = done;
  op->arg = arg;
  op->length = op->moved = len;
  op->finished = 1;
  *out = (struct node_put *)op;
  return 0;
}

int node_put_write(struct node_put *put, const void *data, size_t len,
                   void (*written)(void *arg), void *arg) {
  struct link_op *op = &put->op;
  if (op->finished || len > op->length - op->moved)
    return CAIRN_ETOOBIG;
  if (len == 0)
    return CAIRN_EINVAL;
  Cairn__DataHeader h;
  fill_header(&h, CAIRN__DATA_OP__DATA_PUT_PIECE, NULL, 0);
  int rc = link_send(op->link, &h, data, len, written, arg);
  if (rc == 0)
    op->moved += len;
  return rc;
}

int node_put_finish(struct node_put *put, uint32_t crc32c) {
  struct link_op *op = &put->op;
  if (op->finished || op->moved != op->length)
    return CAIRN_EINVAL;
  Cairn__DataHeader h;
  fill_header(&h, CAIRN__DATA_OP__DATA_PUT_END, NULL, 0);
  h.crc32c = crc32c;
  int rc = link_send(op->link, &h, NULL, 0, NULL, NULL);
  if (rc == 0)
    op->finished = 1;
  return rc;
}

void node_put_cancel(struct node_put *put) {
  op_abandon(&put->op);
}

int node_get(struct node_link_pool *p, const char *addr,
             const uint8_t chunk_id[16], uint32_t fragment, uint64_t offset,
             uint64_t length, unsigned flags, node_get_data_cb on_data,
             node_get_done_cb done, void *arg, struct node_get **out) {
  if (length > DATA_FRAGMENT_MAX)
    return CAIRN_EINVAL;
  Cairn__DataHeader h;
  fill_header(&h, CAIRN__DATA_OP__DATA_GET, chunk_id, fragment);
  h.offset = offset;
  h.length = length;
  h.authenticated = (flags & NODE_GET_AUTHENTICATED) != 0;
  struct link_op *op;
  int rc = op_request(p, addr, OP_GET, sizeof(struct node_get), &h, &op);
  if (rc != 0)
    return rc;
  op->on_data = on_data;
  op->get_done = done;
  op->arg = arg;
  op->length = length;
  *out = (struct node_get *)op;
  return 0;
}

void node_get_resume(struct node_get *get) {
  struct link_op *op = &get->op;
  if (!op->paused)
    return;
  op->paused = 0;
  link_process(op->link);
}

void node_get_cancel(struct node_get *get) {
  op_abandon(&get->op);
}

int node_delete(struct node_link_pool *p, const char *addr,
                const uint8_t chunk_id[16], uint32_t fragment,
                void (*done)(int status, void *arg), void *arg) {
  Cairn__DataHeader h;
  fill_header(&h, CAIRN__DATA_OP__DATA_DELETE, chunk_id, fragment);
  struct link_op *op;
  int rc = op_request(p, addr, OP_DELETE, sizeof *op, &h, &op);
  if (rc != 0)
    return rc;
  op->simple_done = done;
  op->arg = arg;
  return 0;
}

int node_stat(struct node_link_pool *p, const char *addr,
              const uint8_t chunk_id[16], uint32_t fragment,
              node_stat_done_cb done, void *arg) {
  Cairn__DataHeader h;
  fill_header(&h, CAIRN__DATA_OP__DATA_STAT, chunk_id, fragment);
  struct link_op *op;
  int rc = op_request(p, addr, OP_STAT, sizeof *op, &h, &op);
  if (rc != 0)
    return rc;
  op->stat_done = done;
  op->arg = arg;
  return 0;
}

int node_ping(struct node_link_pool *p, const char *addr,
              void (*done)(int status, void *arg), void *arg) {
  Cairn__DataHeader h;
  fill_header(&h, CAIRN__DATA_OP__DATA_PING, NULL, 0);
  struct link_op *op;
  int rc = op_request(p, addr, OP_PING, sizeof *op, &h, &op);
  if (rc != 0)
    return rc;
  op->simple_done = done;
  op->arg = arg;
  return 0;
}

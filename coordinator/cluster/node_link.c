/*
 * node_link.c - pooled, authenticated connections to the nodes' data ports.
 *
 *   CONNECTING --connected--> AUTHENTICATING --nonce in, MAC out--> READY
 *        |                          |                                 |
 *        +------ error / timeout ---+-------------- error / timeout --+-->
 * CLOSED READY: one operation at a time; when it ends cleanly the link goes
 * back to the pool's idle list.
 *
 * Writes queued before READY wait in `pending` and go out, in order, right
 * after the MAC. Invariant: every write a caller handed us reaches its
 * written callback exactly once (sent, cancelled by close, or dropped from
 * `pending` on failure).
 */
#include "node_link.h"

#include "config.h"
#include "crypto.h"
#include "error.h"
#include "frame.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINK_INBUF (128u << 10)

enum link_state { LINK_CONNECTING, LINK_AUTH, LINK_READY, LINK_CLOSED };
enum op_kind { OP_PUT, OP_GET, OP_DELETE };

struct link_op {
  enum op_kind kind;
  struct link *link;
  void *arg;
  node_put_done_cb put_done;
  node_get_data_cb on_data;
  node_get_done_cb get_done;
  void (*delete_done)(int status, void *arg);
  uint64_t length, received;
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
  uv_buf_t buf;
  uint8_t copy[]; /* headers are copied; payload referenced */
};

struct link {
  struct node_link_pool *pool;
  struct link *next; /* idle list */
  char addr[128];
  enum link_state state;
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_timer_t timer;
  int handles; /* open uv handles: freed at 0 */
  struct frame_reader *reader;
  uint8_t nonce[DATA_AUTH_NONCE];
  size_t nonce_have;
  uint8_t inbuf[LINK_INBUF];
  size_t in_len;
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
};

static void link_fail(struct link *l, int status);
static void link_process(struct link *l);

/* ---- lifetime -------------------------------------------------------------
 */

static void on_handle_closed(uv_handle_t *h) {
  struct link *l = h->data;
  if (--l->handles == 0) {
    frame_reader_free(l->reader);
    free(l);
  }
}

static void idle_remove(struct link *l) {
  struct node_link_pool *p = l->pool;
  for (struct link **pp = &p->idle; *pp; pp = &(*pp)->next)
    if (*pp == l) {
      *pp = l->next;
      p->idle_count--;
      return;
    }
}

/* Closes the link; the op (if any) must have been detached already. */
static void link_close(struct link *l) {
  if (l->state == LINK_CLOSED)
    return;
  l->state = LINK_CLOSED;
  idle_remove(l);
  /* Writes never handed to libuv: release their buffers now. */
  for (struct lwrite *w = l->pending, *next; w; w = next) {
    next = w->next;
    if (w->written)
      w->written(w->arg);
    free(w);
  }
  l->pending = l->pending_tail = NULL;
  uv_close((uv_handle_t *)&l->timer, on_handle_closed);
  uv_close((uv_handle_t *)&l->tcp, on_handle_closed);
}

static void touch(struct link *l) {
  if (l->state != LINK_CLOSED && l->op)
    uv_timer_again(&l->timer);
}

/* ---- writing --------------------------------------------------------------
 */

static void on_write(uv_write_t *w, int status) {
  struct lwrite *lw = (struct lwrite *)w;
  struct link *l = lw->link;
  if (lw->written)
    lw->written(lw->arg);
  free(lw);
  if (status < 0 && l->state != LINK_CLOSED)
    link_fail(l, CAIRN_ECLOSED);
  else
    touch(l);
}

static int submit(struct link *l, struct lwrite *lw) {
  int rc = uv_write(&lw->w, (uv_stream_t *)&l->tcp, &lw->buf, 1, on_write);
  return rc ? cairn_err_from_errno(rc) : 0;
}

/* Queues bytes: copied when copy is set, else referenced until written. */
static int link_send(struct link *l, const void *data, size_t len, int copy,
                     void (*written)(void *), void *arg) {
  if (l->state == LINK_CLOSED)
    return CAIRN_ECLOSED;
  struct lwrite *lw = malloc(sizeof *lw + (copy ? len : 0));
  if (!lw)
    return CAIRN_ENOMEM;
  lw->next = NULL;
  lw->link = l;
  lw->written = written;
  lw->arg = arg;
  if (copy)
    memcpy(lw->copy, data, len);
  lw->buf = uv_buf_init(copy ? (char *)lw->copy : (char *)data, (unsigned)len);
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

static int send_header(struct link *l, const Cairn__DataHeader *h) {
  uint8_t frame[512];
  size_t n = frame_encode(h, frame, sizeof frame);
  return n ? link_send(l, frame, n, 1, NULL, NULL) : CAIRN_EINVAL;
}

/* ---- operations end -------------------------------------------------------
 */

/* Ends the link's op with status; a clean end returns the link to the pool
 * before the callback runs (which may start the next op on it). */
static void op_end(struct link *l, int status, int link_ok) {
  struct link_op *op = l->op;
  l->op = NULL;
  uv_timer_stop(&l->timer);
  if (link_ok && l->state == LINK_READY &&
      l->pool->idle_count < NODE_LINK_IDLE_MAX) {
    l->next = l->pool->idle;
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
  case OP_DELETE: op->delete_done(status, op->arg); break;
  }
  free(op);
}

static void link_fail(struct link *l, int status) {
  if (l->op)
    op_end(l, status, 0);
  else
    link_close(l);
}

/* ---- reading --------------------------------------------------------------
 */

static int on_header(const Cairn__DataHeader *h, void *arg) {
  struct link *l = arg;
  struct link_op *op = l->op;
  if (!op || h->op != CAIRN__DATA_OP__DATA_RESULT)
    return -1;
  if (h->status != 0) {
    if (h->payload_len != 0)
      return -1;
    op_end(l, h->status < 0 ? h->status : CAIRN_EIO, 1);
    return 1;
  }
  if (op->kind == OP_GET && h->payload_len != op->length)
    return -1;
  if (op->kind != OP_GET && h->payload_len != 0)
    return -1;
  if (op->kind != OP_GET) {
    op_end(l, 0, 1);
    return 1;
  }
  if (op->length == 0)
    return 0; /* on_payload_end ends it */
  return 0;
}

static int on_payload(const uint8_t *data, size_t len, void *arg) {
  struct link *l = arg;
  struct link_op *op = l->op;
  if (!op || op->kind != OP_GET)
    return -1;
  op->received += len;
  if (op->on_data(data, len, op->arg) != 0) {
    op->paused = 1;
    return 1;
  }
  return 0;
}

static int on_payload_end(void *arg) {
  struct link *l = arg;
  if (l->op && l->op->kind == OP_GET && l->op->received == l->op->length) {
    op_end(l, 0, 1);
    return 1;
  }
  return 0;
}

static const struct frame_reader_ops reader_ops = {on_header, on_payload,
                                                   on_payload_end};

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *b) {
  struct link *l = h->data;
  (void)suggested;
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
  while (l->state == LINK_READY && l->in_len > 0 && !(l->op && l->op->paused)) {
    long used = frame_reader_feed(l->reader, l->inbuf, l->in_len);
    if (used < 0) {
      log_warn("link", "malformed answer from node %s", l->addr);
      link_fail(l, CAIRN_EPROTO);
      return;
    }
    if (l->state == LINK_CLOSED)
      return;
    memmove(l->inbuf, l->inbuf + used, l->in_len - (size_t)used);
    l->in_len -= (size_t)used;
    if (used == 0)
      break;
  }
  int paused = l->op && l->op->paused;
  set_reading(l, !paused && l->in_len < LINK_INBUF);
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  struct link *l = s->data;
  (void)b;
  if (n < 0) {
    link_fail(l, CAIRN_ECLOSED);
    return;
  }
  touch(l);
  l->in_len += (size_t)n;
  if (l->state == LINK_AUTH) {
    size_t take = DATA_AUTH_NONCE - l->nonce_have;
    if (take > l->in_len)
      take = l->in_len;
    memcpy(l->nonce + l->nonce_have, l->inbuf, take);
    l->nonce_have += take;
    memmove(l->inbuf, l->inbuf + take, l->in_len - take);
    l->in_len -= take;
    if (l->nonce_have < DATA_AUTH_NONCE)
      return;
    uint8_t mac[32];
    frame_auth_mac(l->pool->secret, l->pool->secret_len, l->nonce, mac);
    struct lwrite *queued = l->pending;
    l->pending = l->pending_tail = NULL;
    l->state = LINK_READY;
    int rc = link_send(l, mac, sizeof mac, 1, NULL, NULL);
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
      link_fail(l, rc);
      return;
    }
  }
  if (!l->op && l->in_len > 0) {
    link_fail(l, CAIRN_EPROTO); /* nothing is owed to an idle link */
    return;
  }
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
    link_fail(l, CAIRN_EUNAVAIL);
    return;
  }
  uv_tcp_nodelay(&l->tcp, 1);
  l->state = LINK_AUTH;
  set_reading(l, 1);
}

/* An idle link to addr, or a new one (connecting). */
static struct link *link_get(struct node_link_pool *p, const char *addr,
                             int *err) {
  for (struct link *l = p->idle; l; l = l->next)
    if (strcmp(l->addr, addr) == 0) {
      idle_remove(l);
      return l;
    }
  char host[128];
  int port;
  struct sockaddr_in sa;
  if (config_parse_hostport(addr, host, sizeof host, &port) != 0 ||
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
  int rc =
      uv_tcp_connect(&l->connect, &l->tcp, (struct sockaddr *)&sa, on_connect);
  if (rc != 0) {
    link_close(l);
    *err = CAIRN_EUNAVAIL;
    return NULL;
  }
  return l;
}

static struct link_op *op_start(struct node_link_pool *p, const char *addr,
                                enum op_kind kind, size_t size, int *err) {
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

/* Undoes op_start after a synchronous failure (no callback runs). */
static void op_abandon(struct link_op *op) {
  struct link *l = op->link;
  l->op = NULL;
  free(op);
  link_close(l);
}

/* ---- public operations ----------------------------------------------------
 */

int node_link_pool_new(uv_loop_t *loop, const uint8_t *secret,
                       size_t secret_len, struct node_link_pool **out) {
  struct node_link_pool *p = calloc(1, sizeof *p);
  if (!p || !(p->secret = malloc(secret_len))) {
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
  while (p->idle)
    link_close(p->idle);
  memset(p->secret, 0, p->secret_len);
  free(p->secret);
  free(p);
}

static void fill_header(Cairn__DataHeader *h, Cairn__DataOp op,
                        const uint8_t chunk_id[16], uint32_t fragment) {
  cairn__data_header__init(h);
  h->op = op;
  h->chunk_id.data = (uint8_t *)chunk_id;
  h->chunk_id.len = 16;
  h->fragment = fragment;
}

int node_put_begin(struct node_link_pool *p, const char *addr,
                   const uint8_t chunk_id[16], uint32_t fragment,
                   uint64_t length, node_put_done_cb done, void *arg,
                   struct node_put **out) {
  int err = 0;
  struct link_op *op = op_start(p, addr, OP_PUT, sizeof(struct node_put), &err);
  if (!op)
    return err;
  op->put_done = done;
  op->arg = arg;
  op->length = length;
  Cairn__DataHeader h;
  fill_header(&h, CAIRN__DATA_OP__DATA_PUT, chunk_id, fragment);
  h.length = length;
  h.payload_len = length;
  if ((err = send_header(op->link, &h)) != 0) {
    op_abandon(op);
    return err;
  }
  *out = (struct node_put *)op;
  return 0;
}

int node_put_write(struct node_put *put, const void *data, size_t len,
                   void (*written)(void *arg), void *arg) {
  struct link_op *op = &put->op;
  if (op->received + len > op->length)
    return CAIRN_ETOOBIG;
  op->received += len;
  return link_send(op->link, data, len, 0, written, arg);
}

int node_put_finish(struct node_put *put, uint32_t crc32c) {
  struct link_op *op = &put->op;
  if (op->received != op->length)
    return CAIRN_EINVAL;
  Cairn__DataHeader h;
  cairn__data_header__init(&h);
  h.op = CAIRN__DATA_OP__DATA_PUT_END;
  h.crc32c = crc32c;
  return send_header(op->link, &h);
}

void node_put_cancel(struct node_put *put) {
  op_abandon(&put->op);
}

int node_get(struct node_link_pool *p, const char *addr,
             const uint8_t chunk_id[16], uint32_t fragment, uint64_t offset,
             uint64_t length, node_get_data_cb on_data, node_get_done_cb done,
             void *arg, struct node_get **out) {
  int err = 0;
  struct link_op *op = op_start(p, addr, OP_GET, sizeof(struct node_get), &err);
  if (!op)
    return err;
  op->on_data = on_data;
  op->get_done = done;
  op->arg = arg;
  op->length = length;
  Cairn__DataHeader h;
  fill_header(&h, CAIRN__DATA_OP__DATA_GET, chunk_id, fragment);
  h.offset = offset;
  h.length = length;
  if ((err = send_header(op->link, &h)) != 0) {
    op_abandon(op);
    return err;
  }
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
  int err = 0;
  struct link_op *op =
      op_start(p, addr, OP_DELETE, sizeof(struct link_op), &err);
  if (!op)
    return err;
  op->delete_done = done;
  op->arg = arg;
  Cairn__DataHeader h;
  fill_header(&h, CAIRN__DATA_OP__DATA_DELETE, chunk_id, fragment);
  if ((err = send_header(op->link, &h)) != 0) {
    op_abandon(op);
    return err;
  }
  return 0;
}

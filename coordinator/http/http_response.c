/*
 * http_response.c - writing responses (http_server.h's http_response_*
 * and http_respond): the head built once and held back to go out with the
 * first body bytes, Content-Length or chunked bodies, the per-connection
 * write queue with its bound (max_write_queue) and recycled write ops,
 * and the keep-alive or close decision once a response ends. The
 * connection state machine that drives it is http_server.c.
 */
#include "http_internal.h"

#include "error.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *status_text(int status) {
  switch (status) {
  case 100: return "Continue";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 301: return "Moved Permanently";
  case 302: return "Found";
  case 304: return "Not Modified";
  case 307: return "Temporary Redirect";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 410: return "Gone";
  case 411: return "Length Required";
  case 412: return "Precondition Failed";
  case 413: return "Payload Too Large";
  case 414: return "URI Too Long";
  case 416: return "Range Not Satisfiable";
  case 417: return "Expectation Failed";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  default: return "Status";
  }
}

/* The Date header value, formatted once a second. */
static const char *server_date(struct http_server *s) {
  time_t now = time(NULL);
  if (now != s->date_second) {
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(s->date, sizeof s->date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    s->date_second = now;
  }
  return s->date;
}

/* ---- writing ------------------------------------------------------------ */

static struct write_op *op_get(struct http_conn *conn, size_t need) {
  struct write_op *op;
  if (need <= OP_INLINE && conn->free_ops) {
    op = conn->free_ops;
    conn->free_ops = op->next_free;
    conn->free_op_count--;
    return op;
  }
  size_t cap = need <= OP_INLINE ? OP_INLINE : need;
  op = malloc(sizeof *op + cap);
  if (op)
    op->cap = cap;
  return op;
}

void http_op_put(struct http_conn *conn, struct write_op *op) {
  if (op->cap == OP_INLINE && conn->free_op_count < OP_FREELIST_MAX) {
    op->next_free = conn->free_ops;
    conn->free_ops = op;
    conn->free_op_count++;
  } else {
    free(op);
  }
}

static void on_write_done(uv_write_t *w, int status) {
  struct write_op *op = (struct write_op *)w;
  struct http_request *req = op->req;
  struct http_conn *conn = req->conn;
  http_write_cb cb = op->cb;
  void *arg = op->arg;
  conn->writes_queued--;
  http_op_put(conn, op);
  if (status < 0 && conn->closing != CONN_CLOSED) {
    log_debug("http", "%s: write failed: %s", conn->peer, uv_strerror(status));
    http_conn_close(conn); /* aborts the request */
  }
  if (conn->closing != CONN_CLOSED)
    conn->last_progress_ms = uv_now(conn->srv->loop);
  if (cb) {
    int rc = 0;
    if (status < 0)
      rc = status == UV_ECANCELED || req->aborted
               ? CAIRN_ECLOSED
               : cairn_err_from_errno(status);
    cb(req, rc, arg);
  }
  /* While open the connection holds a reference on itself, so it survives
   * the release below. */
  int advance = conn->closing != CONN_CLOSED;
  http_request_release(req);
  if (advance)
    http_conn_advance(conn);
}

/* Queues bufs on the socket with op (taken from op_get, or NULL for none
 * of its own data); on failure op is released and cb never runs. */
int http_queue_write(struct http_request *req, struct write_op *op,
                     uv_buf_t *bufs, unsigned nbufs, http_write_cb cb,
                     void *arg) {
  struct http_conn *conn = req->conn;
  if (req->aborted || conn->closing == CONN_CLOSED) {
    if (op)
      http_op_put(conn, op);
    return CAIRN_ECLOSED;
  }
  if (!op && !(op = op_get(conn, 0)))
    return CAIRN_ENOMEM;
  op->req = req;
  op->cb = cb;
  op->arg = arg;
  int rc =
      uv_write(&op->w, (uv_stream_t *)&conn->tcp, bufs, nbufs, on_write_done);
  if (rc != 0) {
    http_op_put(conn, op);
    return cairn_err_from_errno(rc);
  }
  req->refs++;
  conn->writes_queued++;
  return 0;
}

/* Decides, before the head goes out, whether the connection survives. */
static void decide_close(struct http_request *req) {
  struct http_conn *conn = req->conn;
  if (!req->keep_alive || conn->srv->shutting_down || conn->peer_eof)
    req->close_after = 1;
  /* A body we will not read (or not drain) poisons the stream. */
  if (!req->message_complete && req->has_body &&
      (req->chunked ||
       (uint64_t)req->content_length - req->body_received > DRAIN_LIMIT ||
       (req->expect_continue && !req->continue_sent)))
    req->close_after = 1;
}

/* A response head being written into a buffer of cap bytes. cap is
 * computed from the headers before (build_head), so it is never reached;
 * if it were, the head is cut there rather than the buffer overrun. */
struct head_out {
  char *buf;
  size_t len, cap;
};

static void head_put_n(struct head_out *h, const char *s, size_t n) {
  if (n > h->cap - h->len)
    n = h->cap - h->len;
  memcpy(h->buf + h->len, s, n);
  h->len += n;
}

static void head_put(struct head_out *h, const char *s) {
  head_put_n(h, s, strlen(s));
}

/* Decimal digits of v into out (no terminator); returns their count. */
static size_t format_u64(char out[24], uint64_t v) {
  char tmp[24];
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++)
    out[i] = tmp[n - 1 - i];
  return n;
}

/* Writes the status line and headers into a write op with room for extra
 * more bytes after them; *len is the head's length. Plain copies, no
 * printf: this runs for every response. */
static struct write_op *build_head(struct http_request *req, int status,
                                   const struct http_header *headers, size_t n,
                                   int64_t content_length, size_t extra,
                                   size_t *len) {
  struct http_conn *conn = req->conn;
  const char *text = status_text(status), *date = server_date(conn->srv);
  /* The fixed lines (status, Date, Server, Content-Length or
   * Transfer-Encoding, Connection, the blank line) fit in 256 bytes with
   * room to spare; each header costs its name, value, ": " and CRLF. */
  size_t cap = 256 + strlen(text) + strlen(date) + extra;
  for (size_t i = 0; i < n; i++)
    cap += strlen(headers[i].name) + strlen(headers[i].value) + 4;
  struct write_op *op = op_get(conn, cap);
  if (!op)
    return NULL;
  /* (snprintf cost ~10 calls and ~9,000 instructions a head, callgrind:
   * a tenth of a small GET's own work.) */
  struct head_out h = {op->data, 0, op->cap - extra};
  char digits[24];
  head_put(&h, "HTTP/1.1 ");
  size_t n_digits = format_u64(digits, (uint64_t)status);
  head_put_n(&h, digits, n_digits);
  head_put(&h, " ");
  head_put(&h, text);
  head_put(&h, "\r\nDate: ");
  head_put(&h, date);
  head_put(&h, "\r\nServer: Cairn\r\n");
  for (size_t i = 0; i < n; i++) {
    head_put(&h, headers[i].name);
    head_put(&h, ": ");
    head_put(&h, headers[i].value);
    head_put(&h, "\r\n");
  }
  if (status >= 200 && status != 204 && status != 304) {
    if (content_length >= 0) {
      head_put(&h, "Content-Length: ");
      n_digits = format_u64(digits, (uint64_t)content_length);
      head_put_n(&h, digits, n_digits);
      head_put(&h, "\r\n");
    } else if (req->response_chunked) {
      head_put(&h, "Transfer-Encoding: chunked\r\n");
    }
  }
  if (req->close_after)
    head_put(&h, "Connection: close\r\n");
  else if (req->http10)
    head_put(&h, "Connection: keep-alive\r\n");
  head_put(&h, "\r\n");
  *len = h.len;
  return op;
}

/* Sends a whole response with a body copied into the same buffer. */
static int send_whole(struct http_request *req, int status,
                      const struct http_header *headers, size_t n,
                      const void *body, size_t len) {
  req->response_started = 1;
  decide_close(req);
  size_t body_len = req->is_head_method ? 0 : len;
  size_t head_len;
  struct write_op *op =
      build_head(req, status, headers, n, (int64_t)len, body_len, &head_len);
  if (!op)
    return CAIRN_ENOMEM;
  if (body_len)
    memcpy(op->data + head_len, body, body_len);
  uv_buf_t b = uv_buf_init(op->data, (unsigned)(head_len + body_len));
  return http_queue_write(req, op, &b, 1, NULL, NULL);
}

/* A response the server writes itself, its body from render_error. */
void http_send_error_response(struct http_request *req, int status,
                              const char *reason) {
  struct http_server *s = req->conn->srv;
  char body[ERROR_BODY_MAX];
  const char *type = "text/plain";
  size_t len = 0;
  if (s->handler.render_error)
    len = s->handler.render_error(status, reason, req->id, body, sizeof body,
                                  &type, s->handler.arg);
  if (len >= sizeof body || !type)
    len = 0, type = "text/plain";
  struct http_header h[] = {{"Content-Type", type},
                            {s->handler.request_id_header, req->id}};
  req->close_after = 1;
  send_whole(req, status, h, s->handler.request_id_header ? 2 : 1, body, len);
}

int http_response_start(struct http_request *req, int status,
                        const struct http_header *headers, size_t n,
                        int64_t content_length) {
  if (req->ended || req->response_started)
    return CAIRN_EINVAL;
  if (req->aborted)
    return CAIRN_ECLOSED;
  req->response_started = 1;
  req->response_length = req->is_head_method ? -1 : content_length;
  decide_close(req);
  if (content_length < 0 && !req->is_head_method) {
    if (req->http10)
      req->close_after = 1; /* HTTP/1.0: the body ends with the connection */
    else
      req->response_chunked = 1;
  }
  size_t len;
  struct write_op *op =
      build_head(req, status, headers, n, content_length, 0, &len);
  if (!op)
    return CAIRN_ENOMEM;
  if (content_length > 0 && !req->is_head_method) {
    req->held_head = op; /* sent with the first body bytes */
    req->held_len = len;
    return 0;
  }
  uv_buf_t buf = uv_buf_init(op->data, (unsigned)len);
  return http_queue_write(req, op, &buf, 1, NULL, NULL);
}

/* Sends a held head on its own (the response ends without body bytes). */
static int flush_held_head(struct http_request *req) {
  struct write_op *op = req->held_head;
  if (!op)
    return 0;
  req->held_head = NULL;
  uv_buf_t buf = uv_buf_init(op->data, (unsigned)req->held_len);
  return http_queue_write(req, op, &buf, 1, NULL, NULL);
}

int http_response_write(struct http_request *req, const void *data, size_t len,
                        http_write_cb cb, void *arg) {
  if (!req->response_started || req->ended)
    return CAIRN_EINVAL;
  if (req->aborted)
    return CAIRN_ECLOSED;
  struct http_conn *conn = req->conn;
  size_t bound = conn->srv->limits.max_write_queue
                     ? conn->srv->limits.max_write_queue
                     : DEFAULT_WRITE_QUEUE;
  if (uv_stream_get_write_queue_size((uv_stream_t *)&conn->tcp) >= bound)
    return CAIRN_EBUSY;
  if (req->is_head_method || len == 0) {
    int rc = flush_held_head(req);
    if (rc != 0 || !cb)
      return rc;
    /* Nothing to send: the callback still runs, asynchronously. */
    uv_buf_t empty = uv_buf_init(NULL, 0);
    return http_queue_write(req, NULL, &empty, 1, cb, arg);
  }
  if (req->response_length >= 0 &&
      req->response_sent + len > (uint64_t)req->response_length)
    return CAIRN_EINVAL; /* more than announced would break the framing */
  req->response_sent += len;
  uv_buf_t body; /* uv_buf_init takes an unsigned int: sizes may not fit */
  body.base = (char *)data;
  body.len = len;
  if (req->held_head) { /* head and first bytes in one write */
    struct write_op *op = req->held_head;
    req->held_head = NULL;
    uv_buf_t bufs[2] = {uv_buf_init(op->data, (unsigned)req->held_len), body};
    return http_queue_write(req, op, bufs, 2, cb, arg);
  }
  if (!req->response_chunked)
    return http_queue_write(req, NULL, &body, 1, cb, arg);
  struct write_op *op = op_get(conn, 24);
  if (!op)
    return CAIRN_ENOMEM;
  int flen = snprintf(op->data, 24, "%zx\r\n", len);
  uv_buf_t bufs[3] = {uv_buf_init(op->data, (unsigned)flen), body,
                      uv_buf_init("\r\n", 2)};
  return http_queue_write(req, op, bufs, 3, cb, arg);
}

void http_response_end(struct http_request *req) {
  if (req->ended)
    return;
  struct http_conn *conn = req->conn;
  if (!req->aborted) {
    flush_held_head(req);
    if (!req->response_started) {
      log_warn("http", "%s: request %s ended without a response", conn->peer,
               req->id);
      http_send_error_response(req, 500, "no response");
    } else if (req->response_chunked) {
      uv_buf_t buf = uv_buf_init("0\r\n\r\n", 5);
      http_queue_write(req, NULL, &buf, 1, NULL, NULL);
    } else if (req->response_length >= 0 &&
               req->response_sent < (uint64_t)req->response_length) {
      /* Shorter than announced: only closing tells the client. */
      log_warn("http", "%s: request %s ended %llu bytes short", conn->peer,
               req->id,
               (unsigned long long)((uint64_t)req->response_length -
                                    req->response_sent));
      req->close_after = 1;
    }
  }
  req->ended = 1;
  if (conn->req != req) { /* detached by a close: nobody else frees it */
    http_request_release(req);
    return;
  }
  http_conn_advance(conn);
}

void http_response_abort(struct http_request *req) {
  if (req->ended || req->aborted)
    return;
  req->aborted = 1; /* the handler knows: no on_abort */
  struct http_conn *conn = req->conn;
  if (conn->req == req && conn->closing != CONN_CLOSED)
    http_conn_close(conn);
}

int http_respond(struct http_request *req, int status,
                 const struct http_header *headers, size_t n, const void *body,
                 size_t len) {
  if (req->ended)
    return CAIRN_EINVAL;
  if (req->aborted) {
    http_response_end(req);
    return CAIRN_ECLOSED;
  }
  if (req->response_started)
    return CAIRN_EINVAL;
  int rc = send_whole(req, status, headers, n, body, len);
  http_response_end(req);
  return rc;
}

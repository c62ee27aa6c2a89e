/*
 * http_server.c - the connection state machine behind http_server.h.
 *
 *            accept
 *              |
 *              v          first byte            head complete
 *   +-----> IDLE -----------------> HEAD ---------------------> HANDLER
 *   |        | idle timeout          | header timeout / limit     |  body bytes
 *   |        v                       v                            |  (BODY_TIMEOUT
 *   |      close               4xx + close                        |   while reading)
 *   |                                                             v
 *   +------ response ended and message complete, keep-alive <-----+
 *                                     (else close after the writes)
 *
 * The parser runs only inside conn_feed(). Callbacks that would let the
 * handler act (head complete, message complete) pause llhttp; conn_advance()
 * then calls the handler outside the parser, so a handler may answer, end
 * or abort synchronously without re-entering llhttp.
 *
 * Invariants:
 *  1. At most one request per connection is live (conn->req); bytes after
 *     it wait in conn->pending until it is released.
 *  2. A request is freed when the handler has ended it AND none of its
 *     writes is in flight (req->refs == 0).
 *  3. A connection is freed when its handle is closed and no request
 *     refers to it (conn->refs == 0).
 *  4. on_abort runs at most once per request, and never after
 *     http_response_end.
 */
#include "http_server.h"

#include "crypto.h"
#include "error.h"
#include "log.h"

#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DRAIN_LIMIT (64u << 10) /* unread body we read and drop after an early answer */
#define HEAD_BUFFER_START 2048
#define ERROR_BODY_MAX 2048

enum conn_phase { PHASE_IDLE, PHASE_HEAD, PHASE_HANDLER };

struct http_server {
  uv_loop_t *loop;
  uv_tcp_t listener;
  uv_timer_t grace_timer;
  struct http_limits limits;
  struct http_handler handler;
  llhttp_settings_t settings;
  struct http_conn *conns; /* doubly linked */
  size_t conn_count;
  int shutting_down, listener_closed, grace_closed;
  void (*done_cb)(void *);
  void *done_arg;
  uint64_t id_prefix, id_counter;
  int port;
};

struct http_request {
  struct http_conn *conn;
  int refs;                /* handler (1 until ended) + writes in flight */
  /* head, in one growable buffer: URL, then name\0value\0 pairs */
  char *head;
  size_t head_len, head_cap;
  size_t url_len;
  size_t header_count;
  int in_value;            /* last header span was a value */
  struct http_header *headers;
  char method[24];
  int64_t content_length;
  uint64_t body_received;
  int has_body, chunked, keep_alive, is_head_method, expect_continue;
  /* flags */
  int dispatched, message_complete, body_end_sent, ended, aborted;
  int response_started, response_chunked, continue_sent, body_paused;
  int close_after;         /* close the connection when this one is done */
  char id[17];
  void *data;
};

struct http_conn {
  struct http_server *srv;
  struct http_conn *prev, *next;
  uv_tcp_t tcp;
  uv_timer_t timer;
  llhttp_t parser;
  enum conn_phase phase;
  struct http_request *req;
  char *pending;           /* unparsed bytes after a pause */
  size_t pending_off, pending_len;
  char read_buf[HTTP_READ_BUFFER];
  int reading, closing, in_advance, in_parser, peer_eof;
  int limit_status;        /* 414/431/413 set by a parser callback */
  int refs;                /* handle open (1) + live request (1) */
  uint64_t head_started_ms;
  uint64_t last_progress_ms;
  size_t writes_queued;
  char peer[64];
};

struct write_op {
  uv_write_t w;
  struct http_request *req;
  http_write_cb cb;
  void *arg;
  char *owned;             /* head or copied body, freed with the op */
};

static void conn_advance(struct http_conn *conn);
static void conn_close(struct http_conn *conn);
static void conn_schedule_timer(struct http_conn *conn);

/* ---- small helpers ----------------------------------------------------- */

void http_limits_default(struct http_limits *l) {
  l->max_request_line = 16u << 10;
  l->max_header_bytes = 64u << 10;
  l->max_headers = 100;
  l->max_body = 5ULL << 40;
  l->header_timeout_ms = 10000;
  l->idle_timeout_ms = 60000;
  l->body_timeout_ms = 30000;
  l->shutdown_grace_ms = 10000;
}

static const char *status_text(int status) {
  switch (status) {
  case 100: return "Continue";
  case 200: return "OK";
  case 204: return "No Content";
  case 206: return "Partial Content";
  case 301: return "Moved Permanently";
  case 304: return "Not Modified";
  case 307: return "Temporary Redirect";
  case 400: return "Bad Request";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 411: return "Length Required";
  case 412: return "Precondition Failed";
  case 413: return "Payload Too Large";
  case 414: return "URI Too Long";
  case 416: return "Range Not Satisfiable";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 503: return "Service Unavailable";
  case 505: return "HTTP Version Not Supported";
  default: return "Status";
  }
}

static void format_date(char *out, size_t cap) {
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* ---- request lifetime -------------------------------------------------- */

static void request_release(struct http_request *req) {
  if (--req->refs > 0)
    return;
  struct http_conn *conn = req->conn;
  free(req->head);
  free(req->headers);
  free(req);
  if (--conn->refs == 0)
    free(conn);
}

static struct http_request *request_new(struct http_conn *conn) {
  struct http_request *req = calloc(1, sizeof *req);
  if (!req)
    return NULL;
  req->conn = conn;
  req->refs = 1;
  req->content_length = -1;
  struct http_server *s = conn->srv;
  snprintf(req->id, sizeof req->id, "%08llX%08llX",
           (unsigned long long)(s->id_prefix & 0xffffffffu),
           (unsigned long long)(++s->id_counter & 0xffffffffu));
  conn->refs++;
  return req;
}

/* Appends bytes to the head buffer, bounded by the header limit. */
static int head_append(struct http_conn *conn, const char *at, size_t len) {
  struct http_request *req = conn->req;
  size_t limit = conn->srv->limits.max_header_bytes +
                 conn->srv->limits.max_request_line;
  if (req->head_len + len + 1 > limit) {
    conn->limit_status = 431;
    return -1;
  }
  if (req->head_len + len + 1 > req->head_cap) {
    size_t cap = req->head_cap ? req->head_cap : HEAD_BUFFER_START;
    while (cap < req->head_len + len + 1)
      cap *= 2;
    char *grown = realloc(req->head, cap);
    if (!grown)
      return -1;
    req->head = grown;
    req->head_cap = cap;
  }
  memcpy(req->head + req->head_len, at, len);
  req->head_len += len;
  return 0;
}

/* ---- llhttp callbacks (run only inside conn_feed) ---------------------- */

static int on_message_begin(llhttp_t *p) {
  struct http_conn *conn = p->data;
  conn->req = request_new(conn);
  if (!conn->req)
    return -1;
  conn->phase = PHASE_HEAD;
  conn->head_started_ms = uv_now(conn->srv->loop);
  conn_schedule_timer(conn);
  return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len) {
  struct http_conn *conn = p->data;
  if (conn->req->url_len + len > conn->srv->limits.max_request_line) {
    conn->limit_status = 414;
    return -1;
  }
  conn->req->url_len += len;
  return head_append(conn, at, len);
}

static int on_url_complete(llhttp_t *p) {
  struct http_conn *conn = p->data;
  return head_append(conn, "", 1) == 0 ? 0 : -1; /* NUL after the URL */
}

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
  struct http_conn *conn = p->data;
  struct http_request *req = conn->req;
  if (req->in_value || req->header_count == 0) {
    if (req->header_count > 0 && head_append(conn, "", 1) != 0)
      return -1; /* ends the previous value */
    if (++req->header_count > conn->srv->limits.max_headers) {
      conn->limit_status = 431;
      return -1;
    }
    req->in_value = 0;
  }
  size_t start = req->head_len;
  if (head_append(conn, at, len) != 0)
    return -1;
  for (size_t i = start; i < req->head_len; i++)
    if (req->head[i] >= 'A' && req->head[i] <= 'Z')
      req->head[i] += 'a' - 'A';
  return 0;
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
  struct http_conn *conn = p->data;
  struct http_request *req = conn->req;
  if (!req->in_value) {
    if (head_append(conn, "", 1) != 0) /* ends the name */
      return -1;
    req->in_value = 1;
  }
  return head_append(conn, at, len);
}

static int on_headers_complete(llhttp_t *p) {
  struct http_conn *conn = p->data;
  struct http_request *req = conn->req;
  if (req->header_count > 0) {
    if (!req->in_value && head_append(conn, "", 1) != 0)
      return -1; /* a name with an empty value */
    if (head_append(conn, "", 1) != 0)
      return -1;
  }
  /* Index the name/value pairs now that the buffer no longer moves. */
  req->headers = calloc(req->header_count + 1, sizeof *req->headers);
  if (!req->headers)
    return -1;
  const char *cursor = req->head + req->url_len + 1;
  for (size_t i = 0; i < req->header_count; i++) {
    req->headers[i].name = cursor;
    cursor += strlen(cursor) + 1;
    req->headers[i].value = cursor;
    cursor += strlen(cursor) + 1;
  }
  snprintf(req->method, sizeof req->method, "%s",
           llhttp_method_name((llhttp_method_t)p->method));
  req->is_head_method = p->method == HTTP_HEAD;
  req->keep_alive = llhttp_should_keep_alive(p);
  req->chunked = (p->flags & F_CHUNKED) != 0;
  if (p->flags & F_CONTENT_LENGTH) {
    req->content_length = (int64_t)p->content_length;
    req->has_body = p->content_length > 0;
    if (p->content_length > conn->srv->limits.max_body) {
      conn->limit_status = 413;
      return -1;
    }
  } else {
    req->has_body = req->chunked;
  }
  const char *expect = http_request_header(req, "expect");
  req->expect_continue = expect && strcasecmp(expect, "100-continue") == 0;
  /* With a body, stop here so the handler sees the head before any body
   * byte; without one, on_message_complete pauses right after. */
  return req->has_body ? HPE_PAUSED : 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  struct http_conn *conn = p->data;
  struct http_request *req = conn->req;
  req->body_received += len;
  conn->last_progress_ms = uv_now(conn->srv->loop);
  /* After an early answer the rest of the body is read and dropped. */
  if (!req->ended && !req->aborted && conn->srv->handler.on_body)
    conn->srv->handler.on_body(req, at, len, conn->srv->handler.arg);
  return 0;
}

static int on_message_complete(llhttp_t *p) {
  struct http_conn *conn = p->data;
  conn->req->message_complete = 1;
  return HPE_PAUSED;
}

/* ---- writing ------------------------------------------------------------ */

static void on_write_done(uv_write_t *w, int status) {
  struct write_op *op = (struct write_op *)w;
  struct http_request *req = op->req;
  struct http_conn *conn = req->conn;
  conn->writes_queued--;
  conn->last_progress_ms = uv_now(conn->srv->loop);
  if (op->cb)
    op->cb(req, status ? cairn_err_from_errno(status) : 0, op->arg);
  free(op->owned);
  free(op);
  request_release(req);
  if (conn->closing != 2)
    conn_advance(conn);
}

/* Queues bufs on the socket; `owned` (may be NULL) is freed after. */
static int queue_write(struct http_request *req, uv_buf_t *bufs,
                       unsigned nbufs, char *owned, http_write_cb cb,
                       void *arg) {
  struct http_conn *conn = req->conn;
  if (req->aborted || conn->closing) {
    free(owned);
    return CAIRN_ECLOSED;
  }
  struct write_op *op = calloc(1, sizeof *op);
  if (!op) {
    free(owned);
    return CAIRN_ENOMEM;
  }
  op->req = req;
  op->cb = cb;
  op->arg = arg;
  op->owned = owned;
  int rc = uv_write(&op->w, (uv_stream_t *)&conn->tcp, bufs, nbufs,
                    on_write_done);
  if (rc != 0) {
    free(owned);
    free(op);
    return cairn_err_from_errno(rc);
  }
  req->refs++;
  conn->writes_queued++;
  return 0;
}

/* Builds the status line and headers into a malloc'd buffer. */
static char *build_head(struct http_request *req, int status,
                        const struct http_header *headers, size_t n,
                        int64_t content_length, size_t extra, size_t *len) {
  size_t cap = 512 + extra;
  for (size_t i = 0; i < n; i++)
    cap += strlen(headers[i].name) + strlen(headers[i].value) + 4;
  char *buf = malloc(cap);
  if (!buf)
    return NULL;
  char date[64];
  format_date(date, sizeof date);
  size_t off = (size_t)snprintf(buf, cap,
                                "HTTP/1.1 %d %s\r\nDate: %s\r\n"
                                "Server: Cairn\r\n",
                                status, status_text(status), date);
  for (size_t i = 0; i < n; i++)
    off += (size_t)snprintf(buf + off, cap - off, "%s: %s\r\n",
                            headers[i].name, headers[i].value);
  if (status >= 200 && status != 204 && status != 304) {
    if (content_length >= 0)
      off += (size_t)snprintf(buf + off, cap - off,
                              "Content-Length: %lld\r\n",
                              (long long)content_length);
    else
      off += (size_t)snprintf(buf + off, cap - off,
                              "Transfer-Encoding: chunked\r\n");
  }
  if (req->close_after)
    off += (size_t)snprintf(buf + off, cap - off, "Connection: close\r\n");
  off += (size_t)snprintf(buf + off, cap - off, "\r\n");
  *len = off;
  return buf;
}

/* Decides before the head goes out whether the connection survives. */
static void decide_close(struct http_request *req) {
  struct http_conn *conn = req->conn;
  if (!req->keep_alive || conn->srv->shutting_down || conn->peer_eof)
    req->close_after = 1;
  /* A body we have not read (and will not drain) poisons the stream. */
  if (!req->message_complete && req->has_body &&
      (req->chunked || req->content_length < 0 ||
       (uint64_t)req->content_length - req->body_received > DRAIN_LIMIT ||
       (req->expect_continue && !req->continue_sent)))
    req->close_after = 1;
}

int http_response_start(struct http_request *req, int status,
                        const struct http_header *headers, size_t n,
                        int64_t content_length) {
  if (req->response_started || req->ended)
    return CAIRN_EINVAL;
  if (req->aborted)
    return CAIRN_ECLOSED;
  req->response_started = 1;
  decide_close(req);
  req->response_chunked = content_length < 0 && !req->is_head_method;
  size_t len;
  char *head = build_head(req, status, headers, n, content_length, 0, &len);
  if (!head)
    return CAIRN_ENOMEM;
  uv_buf_t buf = uv_buf_init(head, (unsigned)len);
  return queue_write(req, &buf, 1, head, NULL, NULL);
}

int http_response_write(struct http_request *req, const void *data,
                        size_t len, http_write_cb cb, void *arg) {
  if (!req->response_started || req->ended)
    return CAIRN_EINVAL;
  if (req->is_head_method || len == 0) {
    if (!cb)
      return 0;
    /* Nothing to send: the callback still runs asynchronously. */
    uv_buf_t empty = uv_buf_init("", 0);
    return queue_write(req, &empty, 1, NULL, cb, arg);
  }
  if (!req->response_chunked) {
    uv_buf_t buf = uv_buf_init((char *)data, (unsigned)len);
    return queue_write(req, &buf, 1, NULL, cb, arg);
  }
  char *frame = malloc(24);
  if (!frame)
    return CAIRN_ENOMEM;
  int flen = snprintf(frame, 24, "%zx\r\n", len);
  uv_buf_t bufs[3] = {uv_buf_init(frame, (unsigned)flen),
                      uv_buf_init((char *)data, (unsigned)len),
                      uv_buf_init("\r\n", 2)};
  return queue_write(req, bufs, 3, frame, cb, arg);
}

void http_response_end(struct http_request *req) {
  if (req->ended)
    return;
  struct http_conn *conn = req->conn;
  if (req->response_chunked && !req->aborted) {
    uv_buf_t buf = uv_buf_init("0\r\n\r\n", 5);
    queue_write(req, &buf, 1, NULL, NULL, NULL);
  }
  if (!req->response_started && !req->aborted)
    req->close_after = 1; /* the handler gave up without answering */
  req->ended = 1;
  if (conn->req != req) { /* detached by a close: nobody else frees it */
    request_release(req);
    return;
  }
  conn_advance(conn);
}

int http_respond(struct http_request *req, int status,
                 const struct http_header *headers, size_t n,
                 const void *body, size_t len) {
  if (req->response_started || req->ended)
    return CAIRN_EINVAL;
  if (req->aborted) {
    http_response_end(req);
    return CAIRN_ECLOSED;
  }
  req->response_started = 1;
  decide_close(req);
  size_t head_len;
  size_t body_len = req->is_head_method ? 0 : len;
  char *buf = build_head(req, status, headers, n, (int64_t)len, body_len,
                         &head_len);
  int rc = CAIRN_ENOMEM;
  if (buf) {
    if (body_len)
      memcpy(buf + head_len, body, body_len);
    uv_buf_t b = uv_buf_init(buf, (unsigned)(head_len + body_len));
    rc = queue_write(req, &b, 1, buf, NULL, NULL);
  }
  http_response_end(req);
  return rc;
}

/* An error the server answers itself, then closes. */
static void respond_error_and_close(struct http_conn *conn, int status,
                                    const char *reason) {
  struct http_server *s = conn->srv;
  struct http_request *req = conn->req;
  if (!req) {
    req = conn->req = request_new(conn);
    if (!req) {
      conn_close(conn);
      return;
    }
    snprintf(req->method, sizeof req->method, "GET");
  }
  req->close_after = 1;
  req->keep_alive = 0;
  if (!req->response_started && !req->aborted) {
    char body[ERROR_BODY_MAX];
    const char *type = "text/plain";
    size_t len = 0;
    if (s->handler.render_error)
      len = s->handler.render_error(status, reason, req->id, body,
                                    sizeof body, &type, s->handler.arg);
    if (len >= sizeof body)
      len = 0;
    struct http_header h[] = {{"Content-Type", type},
                              {"x-amz-request-id", req->id}};
    req->is_head_method = 0;
    req->response_started = 1;
    size_t head_len;
    char *buf = build_head(req, status, h, 2, (int64_t)len, len, &head_len);
    if (buf) {
      memcpy(buf + head_len, body, len);
      uv_buf_t b = uv_buf_init(buf, (unsigned)(head_len + len));
      queue_write(req, &b, 1, buf, NULL, NULL);
    }
  }
  log_debug("http", "%s: %d %s", conn->peer, status, reason);
  if (!req->dispatched) {
    req->ended = 1;
    conn->req = NULL;
    request_release(req);
  }
  conn->phase = PHASE_IDLE;
  uv_read_stop((uv_stream_t *)&conn->tcp);
  conn->reading = 0;
  conn->closing = 1; /* close once the writes above have flushed */
  if (conn->writes_queued == 0)
    conn_close(conn);
}

/* ---- connection driver -------------------------------------------------- */

static void abort_request(struct http_conn *conn) {
  struct http_request *req = conn->req;
  if (!req)
    return;
  if (req->dispatched && !req->ended && !req->aborted) {
    req->aborted = 1;
    if (conn->srv->handler.on_abort)
      conn->srv->handler.on_abort(req, conn->srv->handler.arg);
  } else {
    req->aborted = 1;
  }
}

static void on_close(uv_handle_t *h) {
  struct http_conn *conn = h->data;
  if (--conn->refs == 0)
    free(conn);
}

static void on_timer_closed(uv_handle_t *h) {
  struct http_conn *conn = h->data;
  uv_close((uv_handle_t *)&conn->tcp, on_close);
}

static void conn_close(struct http_conn *conn) {
  if (conn->closing == 2)
    return;
  conn->closing = 2;
  struct http_server *s = conn->srv;
  /* Unlink first: the handler may free things during on_abort. */
  if (conn->prev)
    conn->prev->next = conn->next;
  else
    s->conns = conn->next;
  if (conn->next)
    conn->next->prev = conn->prev;
  s->conn_count--;
  abort_request(conn);
  struct http_request *req = conn->req;
  if (req && !req->dispatched) {
    conn->req = NULL;
    request_release(req);
  } else if (req && req->ended) {
    conn->req = NULL;
    request_release(req);
  } else if (req) {
    /* The handler still holds it: http_response_end releases it later. */
    conn->req = NULL;
  }
  free(conn->pending);
  conn->pending = NULL;
  uv_close((uv_handle_t *)&conn->timer, on_timer_closed);
  if (s->shutting_down && s->conn_count == 0 && s->listener_closed &&
      s->done_cb) {
    void (*cb)(void *) = s->done_cb;
    s->done_cb = NULL;
    uv_timer_stop(&s->grace_timer);
    cb(s->done_arg);
  }
}

static void on_timer(uv_timer_t *t) {
  struct http_conn *conn = t->data;
  struct http_request *req = conn->req;
  switch (conn->phase) {
  case PHASE_IDLE:
    if (!req && conn->writes_queued == 0)
      conn_close(conn);
    break;
  case PHASE_HEAD:
    respond_error_and_close(conn, 408, "request head timed out");
    break;
  case PHASE_HANDLER:
    /* Stalled body upload or stalled response write. */
    log_info("http", "%s: no progress for %d ms, closing", conn->peer,
             conn->srv->limits.body_timeout_ms);
    if (req && !req->response_started && !req->ended) {
      abort_request(conn);
      respond_error_and_close(conn, 408, "request body timed out");
    } else {
      conn_close(conn);
    }
    break;
  }
}

static void conn_schedule_timer(struct http_conn *conn) {
  const struct http_limits *l = &conn->srv->limits;
  struct http_request *req = conn->req;
  uint64_t now = uv_now(conn->srv->loop), due;
  switch (conn->phase) {
  case PHASE_IDLE:
    due = (uint64_t)l->idle_timeout_ms;
    break;
  case PHASE_HEAD: {
    uint64_t elapsed = now - conn->head_started_ms;
    due = elapsed >= (uint64_t)l->header_timeout_ms
              ? 1
              : (uint64_t)l->header_timeout_ms - elapsed;
    break;
  }
  default:
    /* Watch only while we wait on the client: reading a body it owes us,
     * or flushing writes it does not read. */
    if ((req && !req->message_complete && !req->body_paused &&
         (req->dispatched && (!req->expect_continue || req->continue_sent ||
                              req->ended))) ||
        conn->writes_queued > 0)
      due = (uint64_t)l->body_timeout_ms;
    else {
      uv_timer_stop(&conn->timer);
      return;
    }
  }
  uv_timer_start(&conn->timer, on_timer, due, 0);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  struct http_conn *conn = h->data;
  (void)suggested;
  buf->base = conn->read_buf;
  buf->len = sizeof conn->read_buf;
}

static void set_reading(struct http_conn *conn, int on);
static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

/* Runs the parser over data; stores what is left after a pause. */
static void conn_feed(struct http_conn *conn, const char *data, size_t len) {
  conn->in_parser = 1;
  llhttp_errno_t err = llhttp_execute(&conn->parser, data, len);
  conn->in_parser = 0;
  if (err == HPE_OK)
    return;
  if (err == HPE_PAUSED) {
    const char *pos = llhttp_get_error_pos(&conn->parser);
    size_t used = pos ? (size_t)(pos - data) : len;
    if (used < len) {
      char *rest = malloc(len - used);
      if (!rest) {
        conn_close(conn);
        return;
      }
      memcpy(rest, data + used, len - used);
      free(conn->pending);
      conn->pending = rest;
      conn->pending_off = 0;
      conn->pending_len = len - used;
    }
    return;
  }
  int status = conn->limit_status ? conn->limit_status : 400;
  if (err == HPE_INVALID_TRANSFER_ENCODING)
    status = 501;
  if (err == HPE_INVALID_VERSION)
    status = 505;
  const char *reason = conn->limit_status ? "request too large"
                                          : llhttp_get_error_reason(&conn->parser);
  if (conn->req && conn->req->dispatched) {
    /* Broken framing mid-body: the handler's request dies with it. */
    abort_request(conn);
  }
  respond_error_and_close(conn, status, reason ? reason : "bad request");
}

static void set_reading(struct http_conn *conn, int on) {
  if (conn->closing || conn->reading == on)
    return;
  conn->reading = on;
  if (on)
    uv_read_start((uv_stream_t *)&conn->tcp, alloc_cb, read_cb);
  else
    uv_read_stop((uv_stream_t *)&conn->tcp);
}

static void dispatch(struct http_conn *conn) {
  struct http_request *req = conn->req;
  struct http_server *s = conn->srv;
  req->dispatched = 1;
  conn->phase = PHASE_HANDLER;
  conn->last_progress_ms = uv_now(s->loop);
  s->handler.on_request(req, s->handler.arg);
}

/* Moves the connection forward after any event. Never re-entered. */
static void conn_advance(struct http_conn *conn) {
  if (conn->in_advance || conn->in_parser || conn->closing == 2)
    return;
  conn->in_advance = 1;
  for (;;) {
    struct http_request *req = conn->req;
    if (conn->closing) {
      if (conn->writes_queued == 0)
        conn_close(conn);
      break;
    }
    if (req && req->dispatched && req->ended && req->close_after &&
        !req->message_complete) {
      /* Answered early and not worth draining: done once flushed. */
      conn->closing = 1;
      continue;
    }
    if (req && !req->dispatched && req->headers) {
      dispatch(conn);
      continue;
    }
    if (req && req->dispatched && req->message_complete &&
        !req->body_end_sent) {
      req->body_end_sent = 1;
      if (!req->ended && !req->aborted && conn->srv->handler.on_body_end)
        conn->srv->handler.on_body_end(req, conn->srv->handler.arg);
      continue;
    }
    if (req && req->ended && req->message_complete) {
      /* Request done: free it and go on to what is pipelined. */
      int close = req->close_after;
      conn->req = NULL;
      request_release(req);
      if (close) {
        conn->closing = 1;
        continue;
      }
      conn->phase = PHASE_IDLE;
      if (llhttp_get_errno(&conn->parser) == HPE_PAUSED)
        llhttp_resume(&conn->parser);
      conn_schedule_timer(conn);
      if (conn->pending) {
        char *data = conn->pending;
        size_t len = conn->pending_len;
        conn->pending = NULL;
        conn_feed(conn, data, len);
        free(data);
        continue;
      }
      set_reading(conn, 1);
      break;
    }
    if (req && req->dispatched && !req->message_complete) {
      /* The handler is reading the body (or draining after an answer). */
      if (!req->ended && !req->response_started && req->expect_continue &&
          !req->continue_sent && !req->body_paused) {
        req->continue_sent = 1;
        uv_buf_t b = uv_buf_init("HTTP/1.1 100 Continue\r\n\r\n", 25);
        queue_write(req, &b, 1, NULL, NULL, NULL);
      }
      if (req->ended && !req->continue_sent && req->expect_continue) {
        conn->closing = 1; /* the client never sent the body */
        continue;
      }
      if (llhttp_get_errno(&conn->parser) == HPE_PAUSED)
        llhttp_resume(&conn->parser);
      if (req->body_paused && !req->ended) {
        set_reading(conn, 0);
        conn_schedule_timer(conn);
        break;
      }
      conn_schedule_timer(conn);
      if (conn->pending) {
        char *data = conn->pending;
        size_t len = conn->pending_len;
        conn->pending = NULL;
        conn_feed(conn, data, len);
        free(data);
        continue;
      }
      set_reading(conn, 1);
      break;
    }
    if (!req && conn->pending) {
      char *data = conn->pending;
      size_t len = conn->pending_len;
      conn->pending = NULL;
      conn_feed(conn, data, len);
      free(data);
      continue;
    }
    /* Waiting: for the handler (stop reading; pipelined bytes wait in the
     * kernel) or for the next request. */
    set_reading(conn, req == NULL || conn->phase == PHASE_HEAD);
    conn_schedule_timer(conn);
    break;
  }
  conn->in_advance = 0;
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  struct http_conn *conn = stream->data;
  (void)buf;
  if (nread == 0)
    return;
  if (nread < 0) {
    struct http_request *req = conn->req;
    if (nread == UV_EOF && req && req->dispatched && req->message_complete &&
        !req->ended) {
      /* Half-close after a whole request: answer, then close. */
      conn->peer_eof = 1;
      set_reading(conn, 0);
      return;
    }
    conn_close(conn);
    return;
  }
  if (conn->phase == PHASE_IDLE && !conn->req)
    conn->head_started_ms = uv_now(conn->srv->loop);
  conn_feed(conn, conn->read_buf, (size_t)nread);
  if (conn->closing != 2) {
    /* A paused parser means a request needs the handler: hold the socket. */
    if (llhttp_get_errno(&conn->parser) == HPE_PAUSED)
      set_reading(conn, 0);
    conn_advance(conn);
  }
}

static void on_connection(uv_stream_t *listener, int status) {
  struct http_server *s = listener->data;
  if (status < 0 || s->shutting_down)
    return;
  struct http_conn *conn = calloc(1, sizeof *conn);
  if (!conn)
    return;
  conn->srv = s;
  conn->refs = 1;
  uv_tcp_init(s->loop, &conn->tcp);
  uv_timer_init(s->loop, &conn->timer);
  conn->tcp.data = conn->timer.data = conn;
  if (uv_accept(listener, (uv_stream_t *)&conn->tcp) != 0) {
    conn->closing = 2;
    uv_close((uv_handle_t *)&conn->timer, on_timer_closed);
    return;
  }
  uv_tcp_nodelay(&conn->tcp, 1);
  struct sockaddr_storage addr;
  int addr_len = sizeof addr;
  if (uv_tcp_getpeername(&conn->tcp, (struct sockaddr *)&addr, &addr_len) ==
      0) {
    if (addr.ss_family == AF_INET6)
      uv_ip6_name((struct sockaddr_in6 *)&addr, conn->peer, sizeof conn->peer);
    else
      uv_ip4_name((struct sockaddr_in *)&addr, conn->peer, sizeof conn->peer);
  }
  llhttp_init(&conn->parser, HTTP_REQUEST, &s->settings);
  conn->parser.data = conn;
  conn->next = s->conns;
  if (s->conns)
    s->conns->prev = conn;
  s->conns = conn;
  s->conn_count++;
  conn->phase = PHASE_IDLE;
  /* The first request's head must come within the header timeout too. */
  conn->head_started_ms = uv_now(s->loop);
  conn->phase = PHASE_HEAD;
  uv_timer_start(&conn->timer, on_timer, (uint64_t)s->limits.header_timeout_ms,
                 0);
  conn->phase = PHASE_IDLE;
  set_reading(conn, 1);
}

/* ---- server ------------------------------------------------------------- */

int http_server_start(uv_loop_t *loop, const char *host, int port,
                      const struct http_limits *limits,
                      const struct http_handler *handler,
                      struct http_server **out, char *err, size_t err_len) {
  struct http_server *s = calloc(1, sizeof *s);
  if (!s)
    return CAIRN_ENOMEM;
  s->loop = loop;
  s->limits = *limits;
  s->handler = *handler;
  crypto_random(&s->id_prefix, sizeof s->id_prefix);
  llhttp_settings_init(&s->settings);
  s->settings.on_message_begin = on_message_begin;
  s->settings.on_url = on_url;
  s->settings.on_url_complete = on_url_complete;
  s->settings.on_header_field = on_header_field;
  s->settings.on_header_value = on_header_value;
  s->settings.on_headers_complete = on_headers_complete;
  s->settings.on_body = on_body;
  s->settings.on_message_complete = on_message_complete;

  struct sockaddr_storage addr;
  int rc = strchr(host, ':')
               ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr)
               : uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
  if (rc != 0) {
    snprintf(err, err_len, "invalid listen address %s", host);
    free(s);
    return CAIRN_EINVAL;
  }
  uv_tcp_init(loop, &s->listener);
  uv_timer_init(loop, &s->grace_timer);
  s->listener.data = s->grace_timer.data = s;
  rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
  if (rc != 0) {
    snprintf(err, err_len, "cannot listen on %s:%d: %s%s", host, port,
             uv_strerror(rc),
             rc == UV_EADDRINUSE ? " (address already in use)" : "");
    uv_close((uv_handle_t *)&s->listener, NULL);
    uv_close((uv_handle_t *)&s->grace_timer, NULL);
    uv_run(loop, UV_RUN_NOWAIT); /* let the handles close before free */
    free(s);
    return rc == UV_EADDRINUSE ? CAIRN_EADDRINUSE : cairn_err_from_errno(rc);
  }
  struct sockaddr_storage bound;
  int bound_len = sizeof bound;
  uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &bound_len);
  s->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
  *out = s;
  return 0;
}

int http_server_port(const struct http_server *s) { return s->port; }

static void on_grace_expired(uv_timer_t *t) {
  struct http_server *s = t->data;
  log_warn("http", "shutdown grace expired: closing %zu connections",
           s->conn_count);
  while (s->conns)
    conn_close(s->conns);
}

static void on_listener_closed(uv_handle_t *h) {
  struct http_server *s = h->data;
  s->listener_closed = 1;
  if (s->conn_count == 0 && s->done_cb) {
    void (*cb)(void *) = s->done_cb;
    s->done_cb = NULL;
    uv_timer_stop(&s->grace_timer);
    cb(s->done_arg);
  }
}

void http_server_shutdown(struct http_server *s, void (*done_cb)(void *),
                          void *arg) {
  s->shutting_down = 1;
  s->done_cb = done_cb;
  s->done_arg = arg;
  /* Idle connections go now; busy ones close after their response. */
  struct http_conn *conn = s->conns;
  while (conn) {
    struct http_conn *next = conn->next;
    if (!conn->req && conn->writes_queued == 0)
      conn_close(conn);
    else if (conn->req)
      conn->req->close_after = conn->req->close_after ||
                               !conn->req->response_started;
    conn = next;
  }
  uv_timer_start(&s->grace_timer, on_grace_expired,
                 (uint64_t)s->limits.shutdown_grace_ms, 0);
  uv_close((uv_handle_t *)&s->listener, on_listener_closed);
}

void http_server_free(struct http_server *s) {
  if (!s)
    return;
  if (!uv_is_closing((uv_handle_t *)&s->grace_timer))
    uv_close((uv_handle_t *)&s->grace_timer, NULL);
  /* The timer handle lives inside s: run the loop once so the close lands. */
  uv_run(s->loop, UV_RUN_NOWAIT);
  free(s);
}

/* ---- request accessors -------------------------------------------------- */

const char *http_request_method(const struct http_request *r) {
  return r->method;
}
const char *http_request_target(const struct http_request *r) {
  return r->head ? r->head : "/";
}
const char *http_request_header(const struct http_request *r,
                                const char *lower_name) {
  for (size_t i = 0; r->headers && i < r->header_count; i++)
    if (strcmp(r->headers[i].name, lower_name) == 0)
      return r->headers[i].value;
  return NULL;
}
size_t http_request_headers(const struct http_request *r,
                            const struct http_header **out) {
  *out = r->headers;
  return r->header_count;
}
int http_request_has_body(const struct http_request *r) { return r->has_body; }
int64_t http_request_content_length(const struct http_request *r) {
  return r->chunked ? -1 : (r->content_length < 0 ? 0 : r->content_length);
}
const char *http_request_id(const struct http_request *r) { return r->id; }
const char *http_request_peer(const struct http_request *r) {
  return r->conn->peer;
}
void http_request_set_data(struct http_request *r, void *data) {
  r->data = data;
}
void *http_request_data(const struct http_request *r) { return r->data; }

void http_request_pause_body(struct http_request *r) {
  r->body_paused = 1;
  if (!r->aborted && r->conn->closing == 0) {
    set_reading(r->conn, 0);
    conn_schedule_timer(r->conn);
  }
}

void http_request_resume_body(struct http_request *r) {
  if (!r->body_paused)
    return;
  r->body_paused = 0;
  if (!r->aborted && r->conn->closing == 0)
    conn_advance(r->conn);
}

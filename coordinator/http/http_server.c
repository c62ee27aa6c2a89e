/*
 * http_server.c - the connection state machine behind http_server.h:
 * accepting, reading and parsing, handing requests to the handler,
 * deadlines, closing and shutdown. Writing the responses is
 * http_response.c; what both share is in http_internal.h.
 *
 *            accept (idle deadline = header_timeout)
 *              |
 *              v        first byte of a message       head complete
 *   +-----> IDLE -----------------------------> HEAD -----------------> HANDLER
 *   |        | idle deadline                     | header deadline /     |
 *   |        v                                   | limit / bad syntax    | body
 * bytes (body |      close (silent)                        v |  deadline while
 * we |                                      4xx + close                   |
 * wait on the client) | v
 *   +----- response ended, message complete, keep-alive <----------------+
 *                                        (else close once writes flushed)
 *
 *   transition                          function
 *   IDLE -> HEAD                        on_message_begin (inside llhttp)
 *   HEAD -> HANDLER                     dispatch (from http_conn_advance)
 *   HANDLER -> IDLE                     http_conn_advance, "request done" step
 *   any -> close                        http_conn_close, or
 *                                         respond_error_and_close
 *   answered with body bytes unread     conn_start_linger: shut down our side,
 *     -> LINGER -> close                  read and drop up to LINGER_MS
 *   deadlines                           conn_deadline + on_timer
 *
 * The parser runs only inside conn_feed(). Callbacks that let the handler
 * act (head complete, message complete, a paused body) pause llhttp;
 * http_conn_advance() then calls the handler outside the parser, so a handler
 * may answer, end or pause synchronously without re-entering llhttp. Bytes
 * the paused parser has not consumed stay where they are, in the read
 * buffer (pending_off/pending_len); bytes read while the parser is paused
 * are appended to them, unparsed, and reading stops only when the buffer
 * is full (a stop and restart of reading costs two epoll_ctl calls, which
 * every request paid): nothing is reordered, memory stays bounded.
 *
 * The read buffer comes from the server's pool while a read needs it and
 * goes back once no unparsed byte is left in it (conn_drop_read_buf): a
 * body read straight into the handler's buffer, or a connection waiting
 * for its next request, holds none. Inline, 256 uploads held 16 MiB.
 *
 * Invariants:
 *  1. At most one request per connection is live (conn->req); the bytes of
 *     the next (pipelined) ones wait in the read buffer or the kernel.
 *  2. While pending_len > 0 the parser is not fed from the socket: reads
 *     land after the pending bytes (alloc_cb), and the socket is not read
 *     once they fill read_buf.
 *  3. A request is released when the handler has ended it AND none of its
 *     writes is in flight (req->refs == 0); it then becomes the
 *     connection's spare, reused by the next request (no allocation).
 *  4. A connection is freed when its handles are closed and no request
 *     refers to it (conn->refs == 0).
 *  5. on_abort runs at most once per request, only after on_request, and
 *     never after http_response_end.
 *  6. The server calls done_cb only after every connection handle, the
 *     listener and the grace timer are closed; no callback touches the
 *     server afterwards.
 */
#include "http_internal.h"

#include "buf_pool.h"
#include "crypto.h"
#include "error.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static void conn_schedule_timer(struct http_conn *conn);
static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
static void server_maybe_done(struct http_server *s);

/* ---- small helpers ----------------------------------------------------- */

void http_limits_default(struct http_limits *l) {
  l->max_request_line = 16u << 10;
  l->max_header_bytes = 64u << 10;
  l->max_headers = 100;
  l->max_body = 5ULL << 40; /* S3's largest object: 5 TiB */
  l->header_timeout_ms = 10000;
  l->idle_timeout_ms = 60000;
  l->body_timeout_ms = 30000;
  l->shutdown_grace_ms = 10000;
  l->max_write_queue = DEFAULT_WRITE_QUEUE;
}

/* ---- connection and request lifetime ----------------------------------- */

static void request_free(struct http_request *req) {
  free(req->head);
  free(req->headers);
  free(req);
}

static void conn_free(struct http_conn *conn) {
  if (conn->spare)
    request_free(conn->spare);
  while (conn->free_ops) {
    struct write_op *op = conn->free_ops;
    conn->free_ops = op->next_free;
    free(op);
  }
  free(conn);
}

static void conn_unref(struct http_conn *conn) {
  if (--conn->refs == 0)
    conn_free(conn);
}

/* The read buffer, taken from the pool if the connection holds none; NULL
 * when out of memory. */
static char *conn_read_buf(struct http_conn *conn) {
  if (!conn->read_buf)
    conn->read_buf = buf_pool_get(conn->srv->read_buffers);
  return conn->read_buf;
}

/* Gives the read buffer back once no unparsed byte waits in it. Only
 * pending bytes are referred to after a read's callbacks return. */
static void conn_drop_read_buf(struct http_conn *conn) {
  if (!conn->read_buf || conn->pending_len)
    return;
  buf_pool_put(conn->srv->read_buffers, conn->read_buf);
  conn->read_buf = NULL;
}

/* Drops one reference; the last one turns the request into the spare. */
void http_request_release(struct http_request *req) {
  if (--req->refs > 0)
    return;
  struct http_conn *conn = req->conn;
  if (req->held_head) { /* never sent: the request was aborted */
    http_op_put(conn, req->held_head);
    req->held_head = NULL;
  }
  if (conn->closing != CONN_CLOSED && !conn->spare) {
    char *head = req->head;
    size_t head_cap = req->head_cap;
    struct http_header *headers = req->headers;
    size_t headers_cap = req->headers_cap;
    memset(req, 0, sizeof *req);
    req->head = head;
    req->head_cap = head_cap;
    req->headers = headers;
    req->headers_cap = headers_cap;
    conn->spare = req;
  } else {
    request_free(req);
  }
  conn_unref(conn);
}

static struct http_request *request_new(struct http_conn *conn) {
  struct http_request *req = conn->spare;
  if (req)
    conn->spare = NULL;
  else if (!(req = calloc(1, sizeof *req)))
    return NULL;
  struct http_server *s = conn->srv;
  req->conn = conn;
  req->refs = 1;
  req->content_length = -1;
  req->response_length = -1;
  req->method = "";
  req->keep_alive = 1;
  /* 16 upper-hex characters: a random prefix per process, then a counter. */
  static const char hex[] = "0123456789ABCDEF";
  uint64_t v = (s->id_prefix << 32) ^ ++s->id_counter;
  for (int i = 15; i >= 0; i--, v >>= 4)
    req->id[i] = hex[v & 15];
  req->id[16] = '\0';
  conn->refs++;
  return req;
}

/* Appends bytes to the head buffer, bounded by the header limits. */
static int head_append(struct http_conn *conn, const char *at, size_t len) {
  struct http_request *req = conn->req;
  const struct http_limits *l = &conn->srv->limits;
  size_t need = req->head_len + len;
  if (need > l->max_header_bytes + l->max_request_line + 1) {
    conn->limit_status = 431;
    return -1;
  }
  if (need > req->head_cap) {
    size_t cap = req->head_cap ? req->head_cap : HEAD_BUFFER_START;
    while (cap < need)
      cap *= 2;
    char *grown = realloc(req->head, cap);
    if (!grown)
      return -1;
    req->head = grown;
    req->head_cap = cap;
  }
  memcpy(req->head + req->head_len, at, len);
  req->head_len = need;
  return 0;
}

/* ---- llhttp callbacks (run only inside conn_feed) ---------------------- */

static int on_message_begin(llhttp_t *p) {
  struct http_conn *conn = p->data;
  conn->req = request_new(conn);
  if (!conn->req)
    return -1;
  conn->phase = PHASE_HEAD;
  conn->phase_start_ms = uv_now(conn->srv->loop);
  return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len) {
  struct http_conn *conn = p->data;
  conn->req->url_len += len;
  if (conn->req->url_len > conn->srv->limits.max_request_line) {
    conn->limit_status = 414;
    return -1;
  }
  return head_append(conn, at, len);
}

static int on_url_complete(llhttp_t *p) {
  return head_append(p->data, "", 1); /* NUL after the target */
}

static int on_header_field(llhttp_t *p, const char *at, size_t len) {
  struct http_conn *conn = p->data;
  struct http_request *req = conn->req;
  if (!req->in_field) {
    if (++req->header_count > conn->srv->limits.max_headers) {
      conn->limit_status = 431;
      return -1;
    }
    req->in_field = 1;
  }
  size_t start = req->head_len;
  if (head_append(conn, at, len) != 0)
    return -1;
  for (char *c = req->head + start; c < req->head + req->head_len; c++)
    if (*c >= 'A' && *c <= 'Z')
      *c += 'a' - 'A';
  return 0;
}

static int on_header_field_complete(llhttp_t *p) {
  struct http_conn *conn = p->data;
  conn->req->in_field = 0;
  return head_append(conn, "", 1);
}

static int on_header_value(llhttp_t *p, const char *at, size_t len) {
  return head_append(p->data, at, len);
}

static int on_header_value_complete(llhttp_t *p) {
  return head_append(p->data, "", 1);
}

static int on_headers_complete(llhttp_t *p) {
  struct http_conn *conn = p->data;
  struct http_request *req = conn->req;
  if (req->url_len == 0 && head_append(conn, "", 1) != 0)
    return -1; /* "*" or empty targets still get their NUL */
  /* Index the name/value pairs now that the buffer no longer moves. */
  if (req->header_count + 1 > req->headers_cap) {
    size_t cap = req->header_count + 16;
    struct http_header *grown = realloc(req->headers, cap * sizeof *grown);
    if (!grown)
      return -1;
    req->headers = grown;
    req->headers_cap = cap;
  }
  const char *cursor = req->head + req->url_len + 1;
  for (size_t i = 0; i < req->header_count; i++) {
    req->headers[i].name = cursor;
    cursor += strlen(cursor) + 1;
    req->headers[i].value = cursor;
    cursor += strlen(cursor) + 1;
  }
  req->headers[req->header_count].name = NULL;
  req->headers[req->header_count].value = NULL;
  req->method = llhttp_method_name((llhttp_method_t)p->method);
  req->is_head_method = p->method == HTTP_HEAD;
  req->http10 = p->http_major == 1 && p->http_minor == 0;
  /* We speak HTTP/1.1 only: "Upgrade: h2c" and the like are ignored. */
  p->upgrade = 0;
  req->keep_alive = llhttp_should_keep_alive(p);
  req->chunked = (p->flags & F_CHUNKED) != 0;
  if (p->flags & F_CONTENT_LENGTH) {
    req->content_length = (int64_t)p->content_length;
    if (p->content_length > conn->srv->limits.max_body) {
      conn->limit_status = 413;
      return -1;
    }
  }
  req->has_body = req->chunked || req->content_length > 0;
  const char *expect = http_request_header(req, "expect");
  req->expect_continue = expect && strcasecmp(expect, "100-continue") == 0;
  req->head_ready = 1;
  /* With a body, stop so the handler sees the head before any body byte;
   * without one, on_message_complete pauses right after. */
  return req->has_body ? HPE_PAUSED : 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len) {
  struct http_conn *conn = p->data;
  struct http_request *req = conn->req;
  struct http_server *s = conn->srv;
  req->body_received += len;
  /* After an early answer the rest of the body is read and dropped. */
  if (req->ended || req->aborted)
    return 0;
  if (s->handler.on_body)
    s->handler.on_body(req, at, len, s->handler.arg);
  /* Back-pressure: no further on_body until http_request_resume_body. */
  return req->body_paused && !req->ended ? HPE_PAUSED : 0;
}

static int on_message_complete(llhttp_t *p) {
  struct http_conn *conn = p->data;
  conn->req->message_complete = 1;
  return HPE_PAUSED;
}

/* ---- connection driver -------------------------------------------------- */

/* Marks req aborted and tells the handler (once, only if it holds req). */
static void abort_request(struct http_conn *conn, struct http_request *req) {
  if (!req || req->aborted)
    return;
  req->aborted = 1;
  if (req->dispatched && !req->ended && conn->srv->handler.on_abort)
    conn->srv->handler.on_abort(req, conn->srv->handler.arg);
}

static void set_reading(struct http_conn *conn, int on) {
  if (conn->closing == CONN_CLOSED || conn->reading == on ||
      (on && (conn->closing || conn->pending_len == HTTP_READ_BUFFER)))
    return;
  conn->reading = on;
  if (on)
    uv_read_start((uv_stream_t *)&conn->tcp, alloc_cb, read_cb);
  else
    uv_read_stop((uv_stream_t *)&conn->tcp);
}

/* An error the server answers itself (when it still can), then closes. */
static void respond_error_and_close(struct http_conn *conn, int status,
                                    const char *reason) {
  struct http_request *req = conn->req;
  if (!req) {
    req = conn->req = request_new(conn);
    if (!req) {
      http_conn_close(conn);
      return;
    }
  }
  log_debug("http", "%s: %d %s", conn->peer, status, reason);
  if (!req->response_started && !req->ended && !req->aborted)
    http_send_error_response(req, status, reason);
  req->close_after = 1;
  set_reading(conn, 0);
  conn->closing = CONN_CLOSE_AFTER_FLUSH; /* before the handler runs */
  conn->last_progress_ms = uv_now(conn->srv->loop);
  conn->linger = status != 408;
  if (req->dispatched) {
    abort_request(conn, req); /* it still ends req; http_conn_close detaches */
  } else {
    conn->req = NULL;
    http_request_release(
        req); /* its error write keeps it alive until flushed */
  }
  http_conn_advance(conn);
}

static void on_tcp_closed(uv_handle_t *h) {
  struct http_conn *conn = h->data;
  struct http_server *s = conn->srv;
  /* Before the server may be freed (it owns the pool); a request still
   * alive reads no more. */
  conn->pending_len = 0;
  conn_drop_read_buf(conn);
  s->conn_handles--;
  conn_unref(conn);
  server_maybe_done(s);
}

static void on_timer_closed(uv_handle_t *h) {
  struct http_conn *conn = h->data;
  uv_close((uv_handle_t *)&conn->tcp, on_tcp_closed);
}

void http_conn_close(struct http_conn *conn) {
  if (conn->closing == CONN_CLOSED)
    return;
  struct http_server *s = conn->srv;
  if (conn->prev)
    conn->prev->next = conn->next;
  else
    s->conns = conn->next;
  if (conn->next)
    conn->next->prev = conn->prev;
  s->conn_count--;
  /* Detach first: on_abort may end the request (which then sees it
   * detached and releases it itself) or even close other things. */
  conn->closing = CONN_CLOSED;
  conn->pending_len = 0;
  struct http_request *req = conn->req;
  conn->req = NULL;
  if (req) {
    int handler_holds = req->dispatched && !req->ended;
    abort_request(conn, req);
    if (!handler_holds)
      http_request_release(req); /* the server's reference */
    /* else http_response_end releases it, maybe already did in on_abort */
  }
  uv_read_stop((uv_stream_t *)&conn->tcp);
  conn->reading = 0;
  uv_timer_stop(&conn->timer);
  uv_close((uv_handle_t *)&conn->timer, on_timer_closed);
}

/* When the connection's current wait must end; 0 when nothing is due. */
static int conn_deadline(struct http_conn *conn, uint64_t *due) {
  const struct http_limits *l = &conn->srv->limits;
  struct http_request *req = conn->req;
  if (conn->lingering) {
    *due = conn->phase_start_ms + LINGER_MS;
    return 1;
  }
  if (conn->closing) { /* flushing a last answer to a client that may not read
                        */
    *due = conn->last_progress_ms + (uint64_t)l->body_timeout_ms;
    return 1;
  }
  switch (conn->phase) {
  case PHASE_IDLE:
    if (conn->writes_queued)
      *due = conn->last_progress_ms + (uint64_t)l->body_timeout_ms;
    else
      *due = conn->phase_start_ms + conn->idle_limit_ms;
    return 1;
  case PHASE_HEAD:
    *due = conn->phase_start_ms + (uint64_t)l->header_timeout_ms;
    return 1;
  case PHASE_HANDLER:
    /* Only while we wait on the client: a body it owes us (and may send),
     * or writes it does not read. */
    if (conn->writes_queued ||
        (req && !req->message_complete && !req->body_paused &&
         (!req->expect_continue || req->continue_sent || req->ended))) {
      *due = conn->last_progress_ms + (uint64_t)l->body_timeout_ms;
      return 1;
    }
    return 0;
  }
  return 0;
}

static void on_timer(uv_timer_t *t);

static void conn_schedule_timer(struct http_conn *conn) {
  uint64_t due, now = uv_now(conn->srv->loop);
  if (conn->closing == CONN_CLOSED)
    return;
  if (!conn_deadline(conn, &due)) {
    uv_timer_stop(&conn->timer);
    return;
  }
  uv_timer_start(&conn->timer, on_timer, due > now ? due - now : 0, 0);
}

static void on_timer(uv_timer_t *t) {
  struct http_conn *conn = t->data;
  struct http_request *req = conn->req;
  uint64_t due;
  if (!conn_deadline(conn, &due))
    return;
  if (due > uv_now(conn->srv->loop)) { /* progress since it was set */
    conn_schedule_timer(conn);
    return;
  }
  if (conn->lingering || conn->closing) {
    http_conn_close(conn);
    return;
  }
  switch (conn->phase) {
  case PHASE_IDLE: http_conn_close(conn); break;
  case PHASE_HEAD:
    respond_error_and_close(conn, 408, "request head timed out");
    break;
  case PHASE_HANDLER:
    log_info("http", "%s: no progress for %d ms, closing", conn->peer,
             conn->srv->limits.body_timeout_ms);
    if (req && !req->response_started && !req->ended)
      respond_error_and_close(conn, 408, "request body timed out");
    else
      http_conn_close(conn);
    break;
  }
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  struct http_conn *conn = h->data;
  struct http_request *req = conn->req;
  const struct http_handler *hd = &conn->srv->handler;
  (void)suggested;
  if (conn->pending_len) { /* after the bytes that wait (invariant 2) */
    if (conn->pending_off)
      memmove(conn->read_buf, conn->read_buf + conn->pending_off,
              conn->pending_len);
    conn->pending_off = 0;
    buf->base = conn->read_buf + conn->pending_len;
    buf->len = HTTP_READ_BUFFER - conn->pending_len;
    return;
  }
  /* Straight into the handler's buffer: only body bytes can arrive (no
   * more than the body owes), and no earlier bytes wait unparsed. */
  if (hd->body_buffer && req && req->dispatched && !req->chunked &&
      req->content_length > 0 && !req->message_complete && !req->ended &&
      !req->aborted && !req->body_paused && !conn->pending_len &&
      !conn->closing) {
    uint64_t owed = (uint64_t)req->content_length - req->body_received;
    size_t len = owed < HTTP_READ_BUFFER ? (size_t)owed : HTTP_READ_BUFFER;
    /* Even a short place is taken: it is the rest of the handler's block,
     * and the reads after it line up with the handler's buffers again. */
    char *direct = hd->body_buffer(req, &len, hd->arg);
    if (direct && len > 0 && len <= owed) {
      buf->base = direct;
      buf->len = len;
      return;
    }
  }
  /* No buffer (out of memory): libuv reports UV_ENOBUFS, read_cb closes. */
  buf->base = conn_read_buf(conn);
  buf->len = buf->base ? HTTP_READ_BUFFER : 0;
}

/* Runs the parser over data (in read_buf, or a handler's body buffer); a
 * pause leaves the rest in read_buf. */
static void conn_feed(struct http_conn *conn, const char *data, size_t len,
                      int in_read_buf) {
  conn->in_parser = 1;
  llhttp_errno_t err = llhttp_execute(&conn->parser, data, len);
  conn->in_parser = 0;
  if (err == HPE_OK)
    return;
  if (err == HPE_PAUSED) {
    const char *pos = llhttp_get_error_pos(&conn->parser);
    size_t used = pos ? (size_t)(pos - data) : len;
    if (used < len) {
      if (in_read_buf) {
        conn->pending_off = (size_t)(data + used - conn->read_buf);
      } else { /* fits: a direct read is at most HTTP_READ_BUFFER long */
        if (!conn_read_buf(conn)) {
          http_conn_close(conn);
          return;
        }
        memmove(conn->read_buf, data + used, len - used);
        conn->pending_off = 0;
      }
      conn->pending_len = len - used;
    }
    return;
  }
  if (err == HPE_CLOSED_CONNECTION) { /* bytes after "Connection: close" */
    http_conn_close(conn);
    return;
  }
  int status = conn->limit_status ? conn->limit_status : 400;
  if (err == HPE_INVALID_TRANSFER_ENCODING)
    status = 501;
  else if (err == HPE_INVALID_VERSION)
    status = 505;
  const char *reason = conn->limit_status
                           ? "request too large"
                           : llhttp_get_error_reason(&conn->parser);
  respond_error_and_close(conn, status, reason ? reason : "bad request");
}

static void feed_pending(struct http_conn *conn) {
  const char *data = conn->read_buf + conn->pending_off;
  size_t len = conn->pending_len;
  conn->pending_len = 0;
  conn_feed(conn, data, len, 1);
}

static void on_shutdown(uv_shutdown_t *sr, int status) {
  (void)sr;
  (void)status; /* a failure shows up as a read error, or the timer */
}

static void linger_read_cb(uv_stream_t *stream, ssize_t nread,
                           const uv_buf_t *buf) {
  struct http_conn *conn = stream->data;
  (void)buf;
  if (nread < 0 && conn->closing != CONN_CLOSED)
    http_conn_close(conn); /* EOF or error: the client has our answer */
  else if (conn->closing != CONN_CLOSED)
    conn_drop_read_buf(conn); /* the bytes are dropped */
}

static void conn_start_linger(struct http_conn *conn) {
  conn->lingering = 1;
  conn->phase_start_ms = uv_now(conn->srv->loop);
  conn->pending_len = 0;
  if (uv_shutdown(&conn->shutdown_req, (uv_stream_t *)&conn->tcp,
                  on_shutdown) != 0 ||
      uv_read_start((uv_stream_t *)&conn->tcp, alloc_cb, linger_read_cb) != 0) {
    http_conn_close(conn);
    return;
  }
  conn->reading = 1;
}

/* The interim answer to Expect: 100-continue, once per request. */
static void send_continue(struct http_request *req) {
  req->continue_sent = 1;
  uv_buf_t b = uv_buf_init("HTTP/1.1 100 Continue\r\n\r\n", 25);
  http_queue_write(req, NULL, &b, 1, NULL, NULL);
}

static void dispatch(struct http_conn *conn) {
  struct http_request *req = conn->req;
  struct http_server *s = conn->srv;
  req->dispatched = 1;
  conn->phase = PHASE_HANDLER;
  conn->last_progress_ms = uv_now(s->loop);
  /* Expect: 100-continue with an empty body: answer the 100 at once, as
   * S3 does. botocore waits for it before "sending" the empty body; a
   * final answer in its place leaves its connection out of step and its
   * next request on it stalls for the 60 s read timeout. */
  if (req->expect_continue && !req->continue_sent && !req->chunked &&
      req->content_length == 0)
    send_continue(req);
  s->handler.on_request(req, s->handler.arg);
}

/* Moves the connection forward after any event. Never re-entered: a nested
 * call (from a handler inside on_request, say) returns at once and the
 * outer loop sees the new state. */
void http_conn_advance(struct http_conn *conn) {
  if (conn->in_advance || conn->in_parser || conn->closing == CONN_CLOSED)
    return;
  conn->in_advance = 1;
  for (;;) {
    struct http_request *req = conn->req;
    if (conn->closing) {
      if (!conn->lingering) {
        set_reading(conn, 0);
        if (conn->writes_queued == 0) {
          if (conn->linger)
            conn_start_linger(conn);
          else
            http_conn_close(conn);
        }
      }
      break;
    }
    if (!req) {
      if (conn->pending_len) {
        feed_pending(conn); /* the next pipelined request */
        continue;
      }
      set_reading(conn, 1);
      break;
    }
    if (!req->head_ready) { /* the head is still arriving */
      set_reading(conn, 1);
      break;
    }
    if (!req->dispatched) {
      dispatch(conn);
      continue;
    }
    if (req->message_complete) {
      if (!req->body_end_sent) {
        req->body_end_sent = 1;
        if (!req->ended && !req->aborted && conn->srv->handler.on_body_end)
          conn->srv->handler.on_body_end(req, conn->srv->handler.arg);
        continue;
      }
      /* The handler works. Reading goes on (stopping and restarting it
       * cost two epoll_ctl calls per request): bytes of a pipelined
       * request that arrive meanwhile wait unparsed (read_cb). */
      if (!req->ended)
        break;
      /* Request done: release it and go on with what is pipelined. */
      int close =
          req->close_after || conn->srv->shutting_down || conn->peer_eof;
      conn->req = NULL;
      http_request_release(req);
      if (close) {
        conn->closing = CONN_CLOSE_AFTER_FLUSH;
        continue;
      }
      conn->phase = PHASE_IDLE;
      conn->phase_start_ms = uv_now(conn->srv->loop);
      conn->idle_limit_ms = (uint64_t)conn->srv->limits.idle_timeout_ms;
      if (llhttp_get_errno(&conn->parser) == HPE_PAUSED)
        llhttp_resume(&conn->parser);
      continue;
    }
    /* The body is still arriving. */
    if (req->ended && req->close_after) { /* answered early, no drain */
      conn->closing = CONN_CLOSE_AFTER_FLUSH;
      conn->linger = 1;
      continue;
    }
    if (!req->ended && !req->response_started && req->expect_continue &&
        !req->continue_sent && !req->body_paused) {
      /* A client that stopped waiting and sent the body gets no 100: a
       * late interim response ahead of the final one is misread by some
       * clients (botocore takes it as the answer). RFC 9110 15.2.1 lets a
       * server omit it once body bytes have arrived. */
      if (req->body_received == 0 && conn->pending_len == 0)
        send_continue(req);
      else
        req->continue_sent = 1; /* as good as sent: the body is coming */
    }
    if (req->body_paused && !req->ended)
      break; /* bytes read meanwhile wait (invariant 2) */
    if (llhttp_get_errno(&conn->parser) == HPE_PAUSED) {
      llhttp_resume(&conn->parser);
      if (!conn->pending_len) {
        /* Paused on the last byte it had: steps that need no input (the
         * end of the message) run only inside llhttp_execute. */
        conn_feed(conn, "", 0, 0);
        continue;
      }
    }
    if (conn->pending_len) {
      feed_pending(conn);
      continue;
    }
    set_reading(conn, 1);
    break;
  }
  conn_drop_read_buf(conn);
  conn->in_advance = 0;
  conn_schedule_timer(conn);
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
  struct http_conn *conn = stream->data;
  if (nread == 0 || conn->closing == CONN_CLOSED)
    return;
  if (nread < 0) {
    struct http_request *req = conn->req;
    int mid_message = conn->phase == PHASE_HEAD ||
                      (req && req->dispatched && !req->message_complete);
    if (nread != UV_EOF || mid_message) {
      http_conn_close(conn); /* aborts a request the handler holds */
      return;
    }
    /* A half-close between messages: finish what we owe, then close. */
    conn->peer_eof = 1;
    set_reading(conn, 0);
    if (!req)
      conn->closing = CONN_CLOSE_AFTER_FLUSH;
    else if (!req->response_started)
      req->close_after = 1;
    http_conn_advance(conn);
    return;
  }
  conn->last_progress_ms = uv_now(conn->srv->loop);
  struct http_request *req = conn->req;
  if (conn->pending_len || (conn->read_buf && buf->base == conn->read_buf &&
                            (llhttp_get_errno(&conn->parser) == HPE_PAUSED ||
                             (req && req->body_paused && !req->ended)))) {
    /* Bytes behind unparsed ones, or while the parser waits for the
     * handler (a paused body, a request being answered): appended to the
     * pending bytes (alloc_cb put them there), parsed when it goes on. */
    if (!conn->pending_len)
      conn->pending_off = 0;
    conn->pending_len += (size_t)nread;
    if (conn->pending_len == HTTP_READ_BUFFER)
      set_reading(conn, 0);
    http_conn_advance(conn);
    return;
  }
  conn_feed(conn, buf->base, (size_t)nread,
            conn->read_buf && buf->base == conn->read_buf);
  if (conn->closing == CONN_CLOSED)
    return;
  if (conn->pending_len == HTTP_READ_BUFFER) /* invariant 2 */
    set_reading(conn, 0);
  http_conn_advance(conn);
  if (conn->closing != CONN_CLOSED)
    conn_drop_read_buf(conn);
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
  s->conn_handles++;
  uv_tcp_init(s->loop, &conn->tcp);
  uv_timer_init(s->loop, &conn->timer);
  conn->tcp.data = conn->timer.data = conn;
  if (uv_accept(listener, (uv_stream_t *)&conn->tcp) != 0) {
    conn->closing = CONN_CLOSED;
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
  /* The first request's head must come within the header timeout. */
  conn->phase = PHASE_IDLE;
  conn->phase_start_ms = uv_now(s->loop);
  conn->idle_limit_ms =
      (uint64_t)(s->limits.header_timeout_ms < s->limits.idle_timeout_ms
                     ? s->limits.header_timeout_ms
                     : s->limits.idle_timeout_ms);
  conn->reading = 1;
  uv_read_start((uv_stream_t *)&conn->tcp, alloc_cb, read_cb);
  conn_schedule_timer(conn);
}

/* ---- server ------------------------------------------------------------- */

static void on_start_failed_closed(uv_handle_t *h) {
  struct http_server *s = h->data;
  if (--s->start_failed_handles == 0) {
    buf_pool_free(s->read_buffers);
    free(s);
  }
}

int http_server_start(uv_loop_t *loop, const char *host, int port,
                      const struct http_limits *limits,
                      const struct http_handler *handler,
                      struct http_server **out, char *err, size_t err_len) {
  struct sockaddr_storage addr;
  int rc = strchr(host, ':')
               ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr)
               : uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
  if (rc != 0) {
    snprintf(err, err_len, "invalid listen address %s", host);
    return CAIRN_EINVAL;
  }
  struct http_server *s = calloc(1, sizeof *s);
  if (s && !(s->read_buffers =
                 buf_pool_new_mapped(HTTP_READ_BUFFER, READ_BUFFERS_IDLE))) {
    free(s);
    s = NULL;
  }
  if (!s) {
    snprintf(err, err_len, "out of memory");
    return CAIRN_ENOMEM;
  }
  s->loop = loop;
  if (limits)
    s->limits = *limits;
  else
    http_limits_default(&s->limits);
  if (!s->limits.max_write_queue)
    s->limits.max_write_queue = DEFAULT_WRITE_QUEUE;
  s->handler = *handler;
  crypto_random(&s->id_prefix, sizeof s->id_prefix);
  s->id_prefix &= 0xffffffffu;
  llhttp_settings_init(&s->settings);
  s->settings.on_message_begin = on_message_begin;
  s->settings.on_url = on_url;
  s->settings.on_url_complete = on_url_complete;
  s->settings.on_header_field = on_header_field;
  s->settings.on_header_field_complete = on_header_field_complete;
  s->settings.on_header_value = on_header_value;
  s->settings.on_header_value_complete = on_header_value_complete;
  s->settings.on_headers_complete = on_headers_complete;
  s->settings.on_body = on_body;
  s->settings.on_message_complete = on_message_complete;

  uv_tcp_init(loop, &s->listener);
  uv_timer_init(loop, &s->grace_timer);
  s->listener.data = s->grace_timer.data = s;
  rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
  if (rc != 0) {
    snprintf(err, err_len, "cannot listen on %s:%d: %s", host, port,
             uv_strerror(rc));
    /* The handles live inside s: it is freed when both have closed. */
    s->start_failed_handles = 2;
    uv_close((uv_handle_t *)&s->listener, on_start_failed_closed);
    uv_close((uv_handle_t *)&s->grace_timer, on_start_failed_closed);
    return rc == UV_EADDRINUSE ? CAIRN_EADDRINUSE : cairn_err_from_errno(rc);
  }
  struct sockaddr_storage bound;
  int bound_len = sizeof bound;
  uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &bound_len);
  s->port = bound.ss_family == AF_INET6
                ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                : ntohs(((struct sockaddr_in *)&bound)->sin_port);
  *out = s;
  return 0;
}

int http_server_port(const struct http_server *s) {
  return s->port;
}

size_t http_server_connections(const struct http_server *s) {
  return s->conn_count;
}

static void on_grace_expired(uv_timer_t *t) {
  struct http_server *s = t->data;
  log_warn("http", "shutdown grace expired: closing %zu connections",
           s->conn_count);
  while (s->conns)
    http_conn_close(s->conns);
}

static void on_grace_timer_closed(uv_handle_t *h) {
  struct http_server *s = h->data;
  if (s->done_cb)
    s->done_cb(s->done_arg);
}

static void server_maybe_done(struct http_server *s) {
  if (!s->shutting_down || !s->listener_closed || s->conn_handles > 0 ||
      s->finishing)
    return;
  s->finishing = 1;
  uv_timer_stop(&s->grace_timer);
  uv_close((uv_handle_t *)&s->grace_timer, on_grace_timer_closed);
}

static void on_listener_closed(uv_handle_t *h) {
  struct http_server *s = h->data;
  s->listener_closed = 1;
  server_maybe_done(s);
}

void http_server_shutdown(struct http_server *s, void (*done_cb)(void *),
                          void *arg) {
  if (s->shutting_down)
    return;
  s->shutting_down = 1;
  s->done_cb = done_cb;
  s->done_arg = arg;
  /* Connections without a request in the handler's hands go now (after
   * flushing what they owe); the others close after their response. */
  struct http_conn *conn = s->conns;
  while (conn) {
    struct http_conn *next = conn->next;
    if (!conn->req || !conn->req->dispatched) {
      if (conn->writes_queued == 0) {
        http_conn_close(conn);
      } else {
        set_reading(conn, 0);
        conn->closing = CONN_CLOSE_AFTER_FLUSH;
      }
    }
    conn = next;
  }
  uv_timer_start(&s->grace_timer, on_grace_expired,
                 (uint64_t)s->limits.shutdown_grace_ms, 0);
  uv_close((uv_handle_t *)&s->listener, on_listener_closed);
}

void http_server_free(struct http_server *s) {
  if (s)
    buf_pool_free(s->read_buffers); /* every connection has closed */
  free(s);
}

/* ---- request accessors -------------------------------------------------- */

const char *http_request_method(const struct http_request *r) {
  return r->method;
}
const char *http_request_target(const struct http_request *r) {
  return r->head && r->head_ready ? r->head : "/";
}
const char *http_request_header(const struct http_request *r,
                                const char *lower_name) {
  for (size_t i = 0; i < r->header_count && r->headers; i++)
    if (strcmp(r->headers[i].name, lower_name) == 0)
      return r->headers[i].value;
  return NULL;
}
size_t http_request_headers(const struct http_request *r,
                            const struct http_header **out) {
  *out = r->headers;
  return r->head_ready ? r->header_count : 0;
}
int http_request_has_body(const struct http_request *r) {
  return r->has_body;
}
int64_t http_request_content_length(const struct http_request *r) {
  return r->chunked ? -1 : (r->content_length < 0 ? 0 : r->content_length);
}
uint64_t http_request_body_received(const struct http_request *r) {
  return r->body_received;
}
const char *http_request_id(const struct http_request *r) {
  return r->id;
}
const char *http_request_peer(const struct http_request *r) {
  return r->conn->peer;
}
void http_request_set_data(struct http_request *r, void *data) {
  r->data = data;
}
void *http_request_data(const struct http_request *r) {
  return r->data;
}

void http_request_pause_body(struct http_request *r) {
  if (r->aborted || r->ended || r->message_complete)
    return;
  r->body_paused = 1;
  /* Inside on_body the parser pauses itself. Reading goes on: what arrives
   * waits unparsed in the read buffer (invariant 2) and reading stops when
   * that is full. */
  if (!r->conn->in_parser && r->conn->closing == CONN_OPEN)
    conn_schedule_timer(r->conn);
}

void http_request_resume_body(struct http_request *r) {
  if (!r->body_paused)
    return;
  r->body_paused = 0;
  if (!r->aborted && r->conn->closing == CONN_OPEN)
    http_conn_advance(r->conn);
}

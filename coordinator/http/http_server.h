/*
 * http_server.h - HTTP/1.1 on libuv + llhttp: bytes in, requests out.
 *
 * Nothing of S3 lives here. The server parses requests, enforces limits and
 * timeouts, and hands each request to a handler, which answers it through
 * the response functions below. It is the only module that sees llhttp.
 * Everything runs on the loop thread given to http_server_start.
 *
 * Ownership: every request is owned by the server until on_request, then
 * by the handler until it calls http_response_end() exactly once - also
 * after on_abort, whose request stays valid (and writes fail with
 * CAIRN_ECLOSED) until then. Requests on one connection are handled one at
 * a time, in order: the bytes of pipelined requests wait unparsed.
 *
 * Request body back-pressure: http_request_pause_body() stops both the
 * socket and the parser: no on_body call arrives after it returns (even
 * when called from inside on_body) until http_request_resume_body().
 *
 * Response back-pressure: bytes given to http_response_write() are
 * REFERENCED, not copied: keep them valid until the write callback runs.
 * The callback runs once they are flushed to the socket (status 0) or with
 * an error. A streaming handler keeps a bounded number of writes in flight
 * and waits for their callbacks; once max_write_queue bytes sit unflushed
 * on a connection, http_response_write() refuses with CAIRN_EBUSY (and its
 * callback never runs), so a slow reader cannot make the server buffer
 * without bound. http_respond() copies its (small) body.
 */
#ifndef CAIRN_HTTP_SERVER_H
#define CAIRN_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* Read buffer per connection: one read(2) returns at most this much. */
#define HTTP_READ_BUFFER (64u << 10)

struct http_server;
struct http_request;

struct http_header {
  const char *name; /* lower-case in requests */
  const char *value;
};

struct http_handler {
  /* The head is complete; the handler owns the request (see above). It may
   * answer at once (e.g. an auth error) without reading the body. With
   * "Expect: 100-continue" the server sends "100 Continue" when on_request
   * returns without having started a response and without pausing the
   * body (or later, at the first resume). Required. */
  void (*on_request)(struct http_request *req, void *arg);
  /* Body bytes, de-chunked, valid during the call only. May be NULL. */
  void (*on_body)(struct http_request *req, const char *data, size_t len,
                  void *arg);
  /* The whole body arrived (also called for requests without a body),
   * unless the handler has already ended the request. May be NULL. */
  void (*on_body_end)(struct http_request *req, void *arg);
  /* The client vanished, timed out or broke framing after on_request;
   * writes now fail with CAIRN_ECLOSED. The handler cleans up and still
   * calls http_response_end (maybe later). Never after that end. */
  void (*on_abort)(struct http_request *req, void *arg);
  /* Renders the body of an error the server answers itself (400, 408, 413,
   * 414, 431, 500 when a handler ended without answering, 501 for an
   * unsupported Transfer-Encoding, 505): writes at most cap bytes into buf,
   * returns their length and sets *content_type. request_id is the 16-hex
   * id. May be NULL (empty text/plain body). */
  size_t (*render_error)(int status, const char *reason, const char *request_id,
                         char *buf, size_t cap, const char **content_type,
                         void *arg);
  void *arg;
  /* When set (e.g. "x-amz-request-id"), the server's own error responses
   * carry the request id under this header name. May be NULL. */
  const char *request_id_header;
  /* For a body framed by Content-Length, before each socket read: where
   * the handler wants the next body bytes read to (its own buffer, where
   * on_body would copy them), at most *len bytes (the server caps *len to
   * what the body still owes and HTTP_READ_BUFFER; the handler may lower
   * it). on_body then gets a pointer into that buffer. NULL (or a callback
   * that returns NULL): the server's read buffer. Saves one copy of every
   * body byte. May be NULL. */
  char *(*body_buffer)(struct http_request *req, size_t *len, void *arg);
};

struct http_limits {
  size_t max_request_line; /* request-target bytes; default 16 KiB -> 414 */
  size_t max_header_bytes; /* header bytes; default 64 KiB -> 431 */
  size_t max_headers;      /* header count; default 100 -> 431 */
  uint64_t max_body;       /* Content-Length; default 5 TiB -> 413 */
  int header_timeout_ms;   /* default 10000: whole head -> 408 + close */
  int idle_timeout_ms;     /* default 60000: keep-alive idle -> close */
  int body_timeout_ms;     /* default 30000: no body/write progress while
                              waiting on the client -> 408 (or close) */
  int shutdown_grace_ms;   /* default 10000 */
  size_t max_write_queue;  /* unflushed response bytes per connection
                              before CAIRN_EBUSY; default (and 0) 4 MiB */
};
void http_limits_default(struct http_limits *l);

/* Binds host:port (IPv4 or IPv6 literal; port 0 picks a free port, see
 * http_server_port) and serves on loop. limits may be NULL for defaults;
 * handler is copied. 0 or CAIRN_E* (CAIRN_EADDRINUSE when taken) with a
 * reason in err. */
int http_server_start(uv_loop_t *loop, const char *host, int port,
                      const struct http_limits *limits,
                      const struct http_handler *handler,
                      struct http_server **out, char *err, size_t err_len);
int http_server_port(const struct http_server *s);
/* Open connections (for tests and /healthz). */
size_t http_server_connections(const struct http_server *s);
/* Graceful: stops accepting, closes connections that have no request in a
 * handler's hands, lets in-flight requests finish (their responses carry
 * Connection: close) for shutdown_grace_ms, then aborts the rest. done_cb
 * runs once every handle is closed; call it once. */
void http_server_shutdown(struct http_server *s, void (*done_cb)(void *),
                          void *arg);
/* Frees the server; only after done_cb (or it leaks / crashes). Requests a
 * handler still holds after a forced close stay valid until it ends them. */
void http_server_free(struct http_server *s);

/* ---- the request (strings owned by the request, valid until the end) --- */
const char *http_request_method(const struct http_request *r); /* "GET" */
/* The raw request-target, e.g. "/b/k?x=1". */
const char *http_request_target(const struct http_request *r);
/* First header of that lower-case name, or NULL. */
const char *http_request_header(const struct http_request *r,
                                const char *lower_name);
/* All headers in arrival order, names lower-cased; returns the count. */
size_t http_request_headers(const struct http_request *r,
                            const struct http_header **out);
int http_request_has_body(const struct http_request *r);
/* -1 when chunked (length unknown); 0 without a body. */
int64_t http_request_content_length(const struct http_request *r);
/* Body bytes parsed so far (de-chunked). */
uint64_t http_request_body_received(const struct http_request *r);
/* 16 upper-hex characters, unique per request in this process. */
const char *http_request_id(const struct http_request *r);
/* The client's IP address as text (for aws:SourceIp). */
const char *http_request_peer(const struct http_request *r);
void http_request_set_data(struct http_request *r, void *data);
void *http_request_data(const struct http_request *r);
void http_request_pause_body(struct http_request *r);
void http_request_resume_body(struct http_request *r);

/* ---- the response ------------------------------------------------------- */
/* Sends the status line and headers. The server adds Date, Server: Cairn,
 * Content-Length (or Transfer-Encoding: chunked when content_length is -1)
 * and Connection: close when it will close. HEAD responses carry the given
 * Content-Length but no body (writes are accepted and dropped). Header
 * names and values must not contain CR or LF. 0, CAIRN_EINVAL (already
 * started or ended), CAIRN_ECLOSED (aborted) or CAIRN_ENOMEM. */
int http_response_start(struct http_request *r, int status,
                        const struct http_header *headers, size_t n,
                        int64_t content_length);
typedef void (*http_write_cb)(struct http_request *r, int status, void *arg);
/* Queues len body bytes, referenced until cb (see the top). cb may be NULL
 * for static data. On an error return cb never runs: CAIRN_EINVAL (no
 * response started, already ended, or more bytes than the announced
 * Content-Length), CAIRN_ECLOSED (aborted), CAIRN_EBUSY (write queue over
 * max_write_queue: wait for a callback), CAIRN_ENOMEM. */
int http_response_write(struct http_request *r, const void *data, size_t len,
                        http_write_cb cb, void *arg);
/* Finishes the response (the terminating chunk if chunked) and releases the
 * request: the handler must not touch r afterwards. Ending without having
 * started a response sends a 500 and closes the connection; ending short
 * of the announced Content-Length closes it after the bytes sent. */
void http_response_end(struct http_request *r);
/* Cuts the connection under a response that cannot be completed (a GET
 * whose source failed after the head went out): the client sees a short
 * body, never a complete wrong one. Writes in flight complete with
 * CAIRN_ECLOSED, later ones fail with it; on_abort is not called (the
 * handler knows). The handler still calls http_response_end. */
void http_response_abort(struct http_request *r);
/* A whole response with a small body (copied), then http_response_end -
 * always, even when it returns an error (except CAIRN_EINVAL: already
 * started or ended, nothing done). */
int http_respond(struct http_request *r, int status,
                 const struct http_header *headers, size_t n, const void *body,
                 size_t len);

#endif

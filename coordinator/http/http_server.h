/*
 * http_server.h - HTTP/1.1 on libuv + llhttp: bytes in, requests out.
 *
 * Nothing of S3 lives here. The server parses requests, enforces limits and
 * timeouts, and hands each request to a handler, which answers it through
 * the response functions below. It is the only module that sees llhttp.
 *
 * Ownership: every request is owned by the handler from on_request until it
 * calls http_response_end() exactly once - also after on_abort, whose
 * request stays valid until then. Requests on one connection are handled
 * one at a time, in order (pipelined bytes wait in the connection).
 *
 * Back-pressure: http_request_pause_body() stops reading the socket; bytes
 * of the current read buffer (at most HTTP_READ_BUFFER) may still arrive
 * through on_body before the pause takes hold. Response bytes passed to
 * http_response_write() are referenced, not copied: keep them valid until
 * the write callback runs, and wait for it before writing more when the
 * source is large (that is the response's back-pressure).
 */
#ifndef CAIRN_HTTP_SERVER_H
#define CAIRN_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define HTTP_READ_BUFFER (64u << 10)

struct http_server;
struct http_request;

struct http_header {
  const char *name; /* lower-case in requests */
  const char *value;
};

struct http_handler {
  /* The head is complete; the handler owns the request (see above). */
  void (*on_request)(struct http_request *req, void *arg);
  /* Body bytes, de-chunked, valid during the call only. */
  void (*on_body)(struct http_request *req, const char *data, size_t len,
                  void *arg);
  /* The whole body arrived (also called for requests without a body). */
  void (*on_body_end)(struct http_request *req, void *arg);
  /* The client is gone or timed out; writes now fail with CAIRN_ECLOSED. */
  void (*on_abort)(struct http_request *req, void *arg);
  /* Renders the body of an error the server answers itself (400, 408, 413,
   * 414, 431, 501, 505); returns its length and sets *content_type. */
  size_t (*render_error)(int status, const char *reason,
                         const char *request_id, char *buf, size_t cap,
                         const char **content_type, void *arg);
  void *arg;
};

struct http_limits {
  size_t max_request_line;  /* URL bytes -> 414 */
  size_t max_header_bytes;  /* whole head -> 431 */
  size_t max_headers;       /* count -> 431 */
  uint64_t max_body;        /* Content-Length -> 413 */
  int header_timeout_ms;    /* a head must arrive within this -> 408 */
  int idle_timeout_ms;      /* idle keep-alive -> silent close */
  int body_timeout_ms;      /* no body or write progress -> 408/close */
  int shutdown_grace_ms;    /* in-flight requests get this on shutdown */
};
void http_limits_default(struct http_limits *l);

/* Binds host:port (port 0: any; see http_server_port) and serves on loop.
 * 0 or CAIRN_E* (CAIRN_EADDRINUSE) with a reason in err. */
int http_server_start(uv_loop_t *loop, const char *host, int port,
                      const struct http_limits *limits,
                      const struct http_handler *handler,
                      struct http_server **out, char *err, size_t err_len);
int http_server_port(const struct http_server *s);
/* Stops accepting, closes idle connections, lets in-flight requests finish
 * for shutdown_grace_ms (then aborts them), then calls done_cb(arg). */
void http_server_shutdown(struct http_server *s, void (*done_cb)(void *),
                          void *arg);
void http_server_free(struct http_server *s); /* after done_cb */

/* ---- the request -------------------------------------------------------- */
const char *http_request_method(const struct http_request *r);
const char *http_request_target(const struct http_request *r);
/* First header of that lower-case name, or NULL. */
const char *http_request_header(const struct http_request *r,
                                const char *lower_name);
size_t http_request_headers(const struct http_request *r,
                            const struct http_header **out);
int http_request_has_body(const struct http_request *r);
/* -1 when chunked (length unknown). */
int64_t http_request_content_length(const struct http_request *r);
const char *http_request_id(const struct http_request *r);
const char *http_request_peer(const struct http_request *r);
void http_request_set_data(struct http_request *r, void *data);
void *http_request_data(const struct http_request *r);
void http_request_pause_body(struct http_request *r);
void http_request_resume_body(struct http_request *r);

/* ---- the response ------------------------------------------------------- */
/* Sends the status line and headers; the server adds Date, Server,
 * Content-Length (or Transfer-Encoding: chunked when content_length is -1)
 * and Connection: close when it will close. HEAD responses carry no body. */
int http_response_start(struct http_request *r, int status,
                        const struct http_header *headers, size_t n,
                        int64_t content_length);
typedef void (*http_write_cb)(struct http_request *r, int status, void *arg);
/* Queues len bytes (referenced until cb). cb may be NULL for static data. */
int http_response_write(struct http_request *r, const void *data, size_t len,
                        http_write_cb cb, void *arg);
/* Finishes the response and releases the request. */
void http_response_end(struct http_request *r);
/* A whole response with a small body (copied), then end. */
int http_respond(struct http_request *r, int status,
                 const struct http_header *headers, size_t n,
                 const void *body, size_t len);

#endif

/*
 * s3_request.h - one S3 request in flight: what routing and authentication
 * found, where its body goes, and the operation's own state.
 *
 * Ownership: created by s3_dispatch_request() and attached to the HTTP
 * request (http_request_set_data); freed by s3_request_end(), which also
 * ends the HTTP request. Operations never free it themselves.
 *
 * Body plumbing: the dispatcher decodes aws-chunked framing and verifies the
 * payload hash and trailing checksums; the operation sees only plain bytes
 * through its sink, and its end() runs only when every check passed.
 */
#ifndef CAIRN_S3_REQUEST_H
#define CAIRN_S3_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "s3_error.h"
#include "s3_route.h"

struct coordinator;
struct http_request;
struct http_header;
struct s3_request;
struct s3_body;

struct s3_sink {
  /* Plain body bytes, valid during the call. */
  void (*data)(struct s3_request *r, const char *data, size_t len);
  /* The whole body arrived and passed every integrity check. */
  void (*end)(struct s3_request *r);
  /* The client vanished or the body failed a check: release op state. The
   * dispatcher answers the client (if it still can) after abort returns;
   * the operation must then not respond. If the operation has work in
   * flight it sets r->op_busy and calls s3_request_end() when done. */
  void (*abort)(struct s3_request *r);
};

struct s3_request {
  struct coordinator *c;
  struct http_request *http;
  struct s3_route route;
  char access_key[129]; /* who signed it; "" when anonymous */
  struct s3_body *body; /* decoding and integrity checks; NULL: none */
  struct s3_sink sink;
  void *op;             /* the operation's state */
  void (*op_free)(void *op);
  int responded;
  int op_busy;          /* async work the op must finish before ending */
  int aborted;          /* the client is gone */
  /* Small XML bodies, collected up to collect_max bytes. */
  char *collected;
  size_t collected_len, collect_max;
  void (*collected_cb)(struct s3_request *r);
};

/* ---- responses (s3_response.c) ---------------------------------------- */

/* Sends an S3 XML error (message NULL: the table's default) and ends the
 * request. resource defaults to the request path. */
void s3_send_error(struct s3_request *r, enum s3_error_code code,
                   const char *message);
/* Same, mapping an internal CAIRN_E* code. */
void s3_send_cairn_error(struct s3_request *r, int cairn_err);
/* Sends status with the common headers plus extra ones and an optional
 * body of content_type, then ends the request. */
void s3_send(struct s3_request *r, int status, const struct http_header *extra,
             size_t n_extra, const char *content_type, const void *body,
             size_t len);
/* Starts a streamed response (content_length -1: chunked) with the common
 * headers; the caller writes through http_response_write and ends with
 * s3_request_end. */
int s3_start_response(struct s3_request *r, int status,
                      const struct http_header *extra, size_t n_extra,
                      int64_t content_length);
/* Ends the HTTP request and frees r. */
void s3_request_end(struct s3_request *r);

/* Collects a small body (up to max bytes; larger -> error_code) then calls
 * done(r) with r->collected / r->collected_len. */
void s3_collect_body(struct s3_request *r, size_t max,
                     enum s3_error_code too_large,
                     void (*done)(struct s3_request *r));

/* Query parameter by name (decoded), or NULL. */
const char *s3_query(const struct s3_request *r, const char *name);
/* Header by lower-case name, or NULL. */
const char *s3_header(const struct s3_request *r, const char *name);

#endif

/*
 * s3_request.h - one S3 request in flight: what routing and authentication
 * found, where its body goes, and the operation's own state.
 *
 * Ownership: created by s3_dispatch_request() and attached to the HTTP
 * request; freed by s3_request_end(), which also ends the HTTP request.
 * Operations never free it themselves.
 *
 * Body plumbing: the dispatcher decodes aws-chunked framing and verifies
 * payload hashes; the operation sees only plain bytes through its sink, and
 * sink.end runs only when every integrity check passed.
 */
#ifndef CAIRN_S3_REQUEST_H
#define CAIRN_S3_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "iam.h"
#include "token.h"
#include "s3_route.h"

struct coordinator;
struct http_request;
struct http_header;
struct s3_request;
struct sigv4_stream;
struct s3_bucket_access;

#define S3_BUCKET_MAX 63
#define S3_KEY_MAX 1024

struct s3_sink {
  /* Plain body bytes, valid during the call. */
  void (*data)(struct s3_request *r, const char *data, size_t len);
  /* Optional: where the next plain bytes may be read straight to, at most
   * *len of them (http_handler.body_buffer); data() then gets a pointer
   * into it. NULL: no such place now. */
  char *(*buffer)(struct s3_request *r, size_t *len);
  /* The whole body arrived and passed every integrity check. */
  void (*end)(struct s3_request *r);
  /* The body failed a check (error_code, e.g. "BadDigest") or the client
   * vanished (error_code NULL). The operation stops its work and, once
   * nothing is in flight, answers s3_send_error(r, error_code, NULL) or,
   * when error_code is NULL, s3_request_end(r). */
  void (*abort)(struct s3_request *r, const char *error_code);
};

struct s3_request {
  struct coordinator *c;
  struct http_request *http;
  const char *method;
  struct s3_route route;          /* operation, bucket, key, parameters */
  enum s3_operation operation;    /* = route.op, once routing succeeded */
  char bucket[S3_BUCKET_MAX + 1]; /* "" for service-level requests */
  const char *key;                /* decoded (in route); NULL for buckets */
  char *path;                     /* "/bucket/key" decoded, for Resource */
  char access_key[129];           /* who signed it */
  const char *signature_version;  /* s3:signatureversion (static string) */
  bool has_token;                 /* authenticated by a scoped token: */
  struct token token;             /* its scope bounds every decision */
  struct iam_principal principal; /* root or an IAM user */
  int anonymous;                  /* no credentials at all: principal "*" */
  /* The request bucket's owner, ownership, policy and ACL, loaded once by
   * s3_authorize or s3_bucket_access (s3_auth.c); NULL until then. */
  struct s3_bucket_access *access;
  char *new_acl; /* the stored ACL a new object gets (s3_acl.c), or NULL */
  struct s3_body *body;             /* aws-chunked / payload hash checks */
  int client_gone;                  /* on_abort came: no answer possible */
  struct sigv4_stream *auth_stream; /* chunk-signature state, or NULL */
  int auth_payload;                 /* enum auth_payload of the body */
  uint8_t auth_payload_sha256[32];  /* AUTH_PAYLOAD_SHA256: the signed hash */
  char encoding_buf[256];           /* Content-Encoding without aws-chunked */
  struct s3_sink sink;
  void *op; /* the operation's state */
  void (*op_free)(void *op);
  int paused; /* body paused by the operation */
  int responded;
  /* Small bodies collected whole (XML documents), bounded. */
  char *collected;
  size_t collected_len, collect_max;
  void (*collected_done)(struct s3_request *r);
  const char *collect_too_large; /* error code when over collect_max */
};

/* ---- responses (s3_response.c) ------------------------------------------ */

/* Sends an S3 XML error (message NULL: the code's default) and ends r. */
void s3_send_error(struct s3_request *r, const char *code, const char *message);
/* Maps an internal CAIRN_E* code to an S3 error and sends it. */
void s3_send_cairn_error(struct s3_request *r, int cairn_err);
/* status + common headers + extra ones + optional body, then ends r. */
void s3_send(struct s3_request *r, int status, const struct http_header *extra,
             size_t n_extra, const char *content_type, const void *body,
             size_t len);
/* Starts a streamed response; the caller writes with http_response_write
 * and finishes with s3_request_end(). */
int s3_start_response(struct s3_request *r, int status,
                      const struct http_header *extra, size_t n_extra,
                      int64_t content_length);
/* Ends the HTTP request and frees r (and r->op via op_free). */
void s3_request_end(struct s3_request *r);

/* Collects the body (at most max bytes, else error `too_large`), then
 * calls done(r) with r->collected (NUL-terminated) / r->collected_len. */
void s3_collect_body(struct s3_request *r, size_t max, const char *too_large,
                     void (*done)(struct s3_request *r));

const char *s3_query(const struct s3_request *r, const char *name);
int s3_has_query(const struct s3_request *r, const char *name);
const char *s3_header(const struct s3_request *r, const char *lower_name);

/* ---- XML building (s3_response.c) ---------------------------------------- */

struct s3_xml {
  char *buf;
  size_t len, cap;
  int failed; /* out of memory: the document is unusable */
};
void s3_xml_init(struct s3_xml *x,
                 const char *root); /* prolog + <root xmlns> */
void s3_xml_open(struct s3_xml *x, const char *name);
void s3_xml_close(struct s3_xml *x, const char *name);
void s3_xml_text(struct s3_xml *x, const char *name, const char *text);
void s3_xml_chars(struct s3_xml *x, const char *text); /* escaped text */
/* Appends already-built XML (another s3_xml's buffer). */
void s3_xml_chars_raw(struct s3_xml *x, const char *xml, size_t len);
void s3_xml_textf(struct s3_xml *x, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void s3_xml_release(struct s3_xml *x);
/* Sends x as a 200 application/xml response and releases it. */
void s3_send_xml(struct s3_request *r, struct s3_xml *x);
/* The same with extra response headers. */
void s3_send_xml_headers(struct s3_request *r, struct s3_xml *x,
                         const struct http_header *h, size_t n);
/* The same, with x-amz-server-side-encryption: AES256 when encrypted. */
void s3_send_xml_sse(struct s3_request *r, struct s3_xml *x, int encrypted);

/* ISO-8601 with milliseconds ("2026-11-24T06:40:00.000Z") and RFC 1123. */
void s3_format_iso8601(int64_t ms, char *out, size_t cap);
void s3_format_http_date(int64_t ms, char *out, size_t cap);
/* Parses an HTTP date; returns unix ms or -1. */
int64_t s3_parse_http_date(const char *text);

#endif

/*
 * s3_body.c - request-body integrity on the way to the operation, with
 * coordinator/auth: the payload hash of signed payloads, and aws-chunked
 * decoding (chunk signatures, trailing checksums) of streaming ones.
 *
 * Data bytes are handed on as they arrive, before a chunk's signature (or
 * the payload hash) can be checked at its end: the contract with every
 * operation is that nothing is committed unless s3_body_finish() reports
 * success.
 */
#include "s3_body.h"

#include "auth.h"
#include "aws_chunked.h"
#include "crypto.h"
#include "s3_request.h"

#include <stdlib.h>
#include <string.h>

struct s3_body {
  struct s3_request *r;
  enum auth_payload mode;
  struct auth_payload_check hash;
  struct aws_chunked *chunked;
  void (*emit)(struct s3_request *, const char *, size_t);
  long long decoded_length;
};

static int on_decoded(void *arg, const void *data, size_t len) {
  struct s3_body *b = arg;
  b->emit(b->r, data, len);
  return 0;
}

struct s3_body *s3_body_new(struct s3_request *r, const char **error_code) {
  *error_code = NULL;
  struct s3_body *b = calloc(1, sizeof *b);
  if (!b) {
    *error_code = "InternalError";
    return NULL;
  }
  b->r = r;
  b->mode = r->auth_payload;
  b->decoded_length = -1;
  enum auth_status status = AUTH_OK;
  if (b->mode == AUTH_PAYLOAD_SHA256) {
    status = auth_payload_begin(&b->hash, r->auth_payload_sha256);
  } else if (b->mode != AUTH_PAYLOAD_UNSIGNED) {
    const char *decoded = s3_header(r, "x-amz-decoded-content-length");
    char *end = NULL;
    b->decoded_length = decoded ? strtoll(decoded, &end, 10) : -1;
    if (decoded && (*end || b->decoded_length < 0)) {
      free(b);
      *error_code = "InvalidArgument";
      return NULL;
    }
    struct aws_chunked_config cfg = {
        .payload = b->mode,
        .stream = r->auth_stream,
        .decoded_length = b->decoded_length,
        .declared_trailer = s3_header(r, "x-amz-trailer"),
    };
    b->chunked = aws_chunked_new(&cfg, on_decoded, b, &status);
  }
  if (status != AUTH_OK) {
    s3_body_free(b);
    *error_code = auth_status_s3_code(status);
    return NULL;
  }
  return b;
}

int s3_body_take_payload_hash(struct s3_body *b,
                              struct auth_payload_check *out) {
  if (!b || b->mode != AUTH_PAYLOAD_SHA256)
    return 0;
  *out = b->hash;
  memset(&b->hash, 0, sizeof b->hash);
  b->mode = AUTH_PAYLOAD_UNSIGNED; /* bytes pass through unhashed */
  return 1;
}

int s3_body_passes_through(const struct s3_body *b) {
  return !b || !b->chunked;
}

long long s3_body_decoded_length(const struct s3_body *b) {
  return b ? b->decoded_length : -1;
}

const char *s3_body_feed(struct s3_body *b, const char *data, size_t len,
                         void (*emit)(struct s3_request *, const char *,
                                      size_t)) {
  if (b->chunked) {
    b->emit = emit;
    enum auth_status status = aws_chunked_feed(b->chunked, data, len);
    return status == AUTH_OK ? NULL : auth_status_s3_code(status);
  }
  if (b->mode == AUTH_PAYLOAD_SHA256)
    auth_payload_update(&b->hash, data, len);
  emit(b->r, data, len);
  return NULL;
}

const char *s3_body_finish(struct s3_body *b) {
  enum auth_status status = AUTH_OK;
  if (b->chunked)
    status = aws_chunked_finish(b->chunked);
  else if (b->mode == AUTH_PAYLOAD_SHA256)
    status = auth_payload_finish(&b->hash);
  return status == AUTH_OK ? NULL : auth_status_s3_code(status);
}

void s3_body_free(struct s3_body *b) {
  if (!b)
    return;
  if (b->mode == AUTH_PAYLOAD_SHA256)
    auth_payload_release(&b->hash);
  aws_chunked_free(b->chunked);
  free(b);
}

int s3_body_content_md5(const struct s3_request *r, uint8_t out[16]) {
  const char *v = s3_header(r, "content-md5");
  if (!v)
    return 0;
  return crypto_unbase64(v, strlen(v), out, MD5_LEN) == MD5_LEN ? 1 : -1;
}

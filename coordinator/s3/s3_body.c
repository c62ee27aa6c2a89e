/*
 * s3_body.c - request-body integrity: payload hash, aws-chunked framing,
 * chunk signatures and trailing checksums.
 *
 * aws-chunked (STREAMING-* payloads), as an incremental state machine:
 *
 *   SIZE_LINE --"<hex>[;chunk-signature=<sig>]\r\n"--> DATA (size bytes)
 *      ^                                                  |
 *      +-------------------- DATA_CR, DATA_LF <-----------+
 *   SIZE_LINE with size 0 --> TRAILER lines ("name:value\r\n")* --> "\r\n"
 *                             (no trailer mode: just "\r\n")      --> DONE
 *
 * Data bytes are handed on as they arrive, before the chunk's signature is
 * checked at its end: the contract with every operation is that nothing is
 * committed unless s3_body_finish() reports success.
 */
#include "s3_body.h"

#include "checksum.h"
#include "crypto.h"
#include "http_server.h"
#include "s3_auth.h"
#include "s3_request.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LINE_MAX_BYTES 4096   /* a size line or trailer line */
#define CHUNK_MAX (64u << 20) /* one aws-chunked chunk */
#define TRAILER_MAX 8192

enum mode { MODE_NONE, MODE_HASH, MODE_CHUNKED };
enum state { SIZE_LINE, DATA, DATA_CR, DATA_LF, TRAILER, DONE };

struct s3_body {
  struct s3_request *r;
  enum mode mode;
  /* signed payload */
  struct crypto_hash *payload_hash;
  uint8_t expected[SHA256_LEN];
  /* aws-chunked */
  int signed_chunks, trailer_mode, trailer_signed;
  enum state state;
  char line[LINE_MAX_BYTES];
  size_t line_len;
  uint64_t chunk_left;
  char chunk_signature[65];
  char previous_signature[65];
  struct crypto_hash *chunk_hash;
  long long decoded_length, decoded_seen;
  /* trailing checksum */
  struct checksum trailer_sum;
  enum checksum_algorithm trailer_algorithm;
  char trailer_value[CHECKSUM_B64_MAX];
  char trailer_text[TRAILER_MAX]; /* canonical "name:value\n" lines */
  size_t trailer_text_len;
  int trailer_seen;
  char trailer_signature[65];
};

static int parse_hex64(const char *text, uint8_t out[SHA256_LEN]) {
  return strlen(text) == 64 && crypto_unhex(text, 64, out, SHA256_LEN) == 0;
}

struct s3_body *s3_body_new(struct s3_request *r, const char **error_code) {
  *error_code = NULL;
  const char *sha = s3_header(r, "x-amz-content-sha256");
  struct s3_body *b = calloc(1, sizeof *b);
  if (!b) {
    *error_code = "InternalError";
    return NULL;
  }
  b->r = r;
  b->decoded_length = -1;
  if (!sha || strcmp(sha, "UNSIGNED-PAYLOAD") == 0) {
    b->mode = MODE_NONE; /* presigned or unsigned: nothing to check */
    return b;
  }
  if (strncmp(sha, "STREAMING-", 10) != 0) {
    if (!parse_hex64(sha, b->expected)) {
      free(b);
      *error_code = "InvalidArgument";
      return NULL;
    }
    b->mode = MODE_HASH;
    b->payload_hash = crypto_hash_new(CRYPTO_HASH_SHA256);
    if (!b->payload_hash) {
      free(b);
      *error_code = "InternalError";
      return NULL;
    }
    return b;
  }
  b->mode = MODE_CHUNKED;
  if (strcmp(sha, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD") == 0) {
    b->signed_chunks = 1;
  } else if (strcmp(sha, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER") == 0) {
    b->signed_chunks = b->trailer_mode = b->trailer_signed = 1;
  } else if (strcmp(sha, "STREAMING-UNSIGNED-PAYLOAD-TRAILER") == 0) {
    b->trailer_mode = 1;
  } else {
    free(b);
    *error_code = "InvalidArgument";
    return NULL;
  }
  if (b->signed_chunks && !s3_auth_stream_of(r)) {
    free(b);
    *error_code = "InvalidRequest";
    return NULL;
  }
  const char *decoded = s3_header(r, "x-amz-decoded-content-length");
  if (decoded) {
    char *end;
    b->decoded_length = strtoll(decoded, &end, 10);
    if (*end || b->decoded_length < 0) {
      free(b);
      *error_code = "InvalidArgument";
      return NULL;
    }
  } else {
    free(b);
    *error_code = "MissingContentLength";
    return NULL;
  }
  if (b->trailer_mode) {
    const char *trailer = s3_header(r, "x-amz-trailer");
    if (trailer) {
      const char *dash = strrchr(trailer, '-');
      b->trailer_algorithm =
          strncasecmp(trailer, "x-amz-checksum-", 15) == 0 && dash
              ? checksum_parse(dash + 1)
              : CHECKSUM_NONE;
      if (b->trailer_algorithm == CHECKSUM_NONE) {
        free(b);
        *error_code = "InvalidRequest";
        return NULL;
      }
      checksum_init(&b->trailer_sum, b->trailer_algorithm);
    }
  }
  if (b->signed_chunks) {
    memcpy(b->previous_signature, s3_auth_stream_of(r)->seed_signature, 65);
    b->chunk_hash = crypto_hash_new(CRYPTO_HASH_SHA256);
  }
  b->state = SIZE_LINE;
  return b;
}

long long s3_body_decoded_length(const struct s3_body *b) {
  return b ? b->decoded_length : -1;
}

static const char *verify_chunk(struct s3_body *b) {
  if (!b->signed_chunks)
    return NULL;
  uint8_t digest[SHA256_LEN];
  char expected[65];
  crypto_hash_final(b->chunk_hash, digest);
  crypto_hash_free(b->chunk_hash);
  b->chunk_hash = crypto_hash_new(CRYPTO_HASH_SHA256);
  sigv4_chunk_signature(s3_auth_stream_of(b->r), b->previous_signature, digest,
                        expected);
  if (!crypto_equal(expected, b->chunk_signature, 64))
    return "SignatureDoesNotMatch";
  memcpy(b->previous_signature, b->chunk_signature, 65);
  return NULL;
}

/* "<hex>[;chunk-signature=<64 hex>]" */
static const char *parse_size_line(struct s3_body *b) {
  char *semi = strchr(b->line, ';');
  if (semi)
    *semi = '\0';
  if (b->line[0] == '\0' || strlen(b->line) > 16)
    return "IncompleteBody";
  char *end;
  unsigned long long size = strtoull(b->line, &end, 16);
  if (*end || size > CHUNK_MAX)
    return "InvalidArgument";
  b->chunk_left = size;
  if (b->signed_chunks) {
    static const char key[] = "chunk-signature=";
    if (!semi || strncmp(semi + 1, key, sizeof key - 1) != 0 ||
        strlen(semi + 1 + sizeof key - 1) != 64)
      return "SignatureDoesNotMatch";
    memcpy(b->chunk_signature, semi + 1 + sizeof key - 1, 65);
  }
  if (size == 0) {
    const char *error = verify_chunk(b); /* the final, empty chunk */
    if (error)
      return error;
    b->state = TRAILER;
  } else {
    b->state = DATA;
  }
  return NULL;
}

/* One trailer line, or the empty line that ends the body. */
static const char *parse_trailer_line(struct s3_body *b) {
  if (b->line_len == 0) {
    b->state = DONE;
    return NULL;
  }
  if (!b->trailer_mode)
    return "IncompleteBody";
  char *colon = strchr(b->line, ':');
  if (!colon)
    return "InvalidArgument";
  *colon = '\0';
  const char *name = b->line, *value = colon + 1;
  while (*value == ' ')
    value++;
  for (char *c = b->line; *c; c++)
    *c = (char)tolower((unsigned char)*c);
  if (strcmp(name, "x-amz-trailer-signature") == 0) {
    if (strlen(value) != 64)
      return "SignatureDoesNotMatch";
    memcpy(b->trailer_signature, value, 65);
    return NULL;
  }
  size_t need = strlen(name) + strlen(value) + 2;
  if (b->trailer_text_len + need >= sizeof b->trailer_text)
    return "InvalidArgument";
  b->trailer_text_len += (size_t)snprintf(
      b->trailer_text + b->trailer_text_len,
      sizeof b->trailer_text - b->trailer_text_len, "%s:%s\n", name, value);
  if (b->trailer_algorithm != CHECKSUM_NONE &&
      strcmp(name, checksum_header(b->trailer_algorithm)) == 0) {
    if (strlen(value) >= sizeof b->trailer_value)
      return "InvalidArgument";
    strcpy(b->trailer_value, value);
    b->trailer_seen = 1;
  }
  return NULL;
}

const char *s3_body_feed(struct s3_body *b, const char *data, size_t len,
                         void (*emit)(struct s3_request *, const char *,
                                      size_t)) {
  if (b->mode == MODE_NONE) {
    emit(b->r, data, len);
    return NULL;
  }
  if (b->mode == MODE_HASH) {
    crypto_hash_update(b->payload_hash, data, len);
    emit(b->r, data, len);
    return NULL;
  }
  size_t i = 0;
  while (i < len) {
    const char *error = NULL;
    switch (b->state) {
    case DATA: {
      size_t take = len - i < b->chunk_left ? len - i : (size_t)b->chunk_left;
      if (b->decoded_length >= 0 &&
          b->decoded_seen + (long long)take > b->decoded_length)
        return "IncompleteBody";
      if (b->signed_chunks)
        crypto_hash_update(b->chunk_hash, data + i, take);
      if (b->trailer_algorithm != CHECKSUM_NONE)
        checksum_update(&b->trailer_sum, data + i, take);
      b->decoded_seen += (long long)take;
      emit(b->r, data + i, take);
      i += take;
      b->chunk_left -= take;
      if (b->chunk_left == 0)
        b->state = DATA_CR;
      continue;
    }
    case DATA_CR:
      if (data[i++] != '\r')
        return "IncompleteBody";
      b->state = DATA_LF;
      continue;
    case DATA_LF:
      if (data[i++] != '\n')
        return "IncompleteBody";
      if ((error = verify_chunk(b)) != NULL)
        return error;
      b->state = SIZE_LINE;
      continue;
    case SIZE_LINE:
    case TRAILER: {
      char c = data[i++];
      if (c == '\n') {
        if (b->line_len == 0 || b->line[b->line_len - 1] != '\r')
          return "IncompleteBody";
        b->line[--b->line_len] = '\0';
        error =
            b->state == SIZE_LINE ? parse_size_line(b) : parse_trailer_line(b);
        b->line_len = 0;
        if (error)
          return error;
        continue;
      }
      if (b->line_len + 1 >= sizeof b->line)
        return "InvalidArgument";
      b->line[b->line_len++] = c;
      continue;
    }
    case DONE: return "IncompleteBody"; /* bytes after the end */
    }
  }
  return NULL;
}

const char *s3_body_finish(struct s3_body *b) {
  if (b->mode == MODE_NONE)
    return NULL;
  if (b->mode == MODE_HASH) {
    uint8_t digest[SHA256_LEN];
    crypto_hash_final(b->payload_hash, digest);
    return crypto_equal(digest, b->expected, SHA256_LEN)
               ? NULL
               : "XAmzContentSHA256Mismatch";
  }
  if (b->state != DONE)
    return "IncompleteBody";
  if (b->decoded_length >= 0 && b->decoded_seen != b->decoded_length)
    return "IncompleteBody";
  if (b->trailer_signed) {
    uint8_t digest[SHA256_LEN];
    char expected[65];
    crypto_sha256(b->trailer_text, b->trailer_text_len, digest);
    sigv4_trailer_signature(s3_auth_stream_of(b->r), b->previous_signature,
                            digest, expected);
    if (!crypto_equal(expected, b->trailer_signature, 64))
      return "SignatureDoesNotMatch";
  }
  if (b->trailer_algorithm != CHECKSUM_NONE) {
    char computed[CHECKSUM_B64_MAX];
    checksum_final_base64(&b->trailer_sum, computed);
    b->trailer_algorithm = CHECKSUM_NONE;
    if (!b->trailer_seen || strcmp(computed, b->trailer_value) != 0)
      return "BadDigest";
  }
  return NULL;
}

void s3_body_free(struct s3_body *b) {
  if (!b)
    return;
  crypto_hash_free(b->payload_hash);
  crypto_hash_free(b->chunk_hash);
  checksum_release(&b->trailer_sum);
  free(b);
}

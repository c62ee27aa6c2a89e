/*
 * aws_chunked.c - incremental aws-chunked decoder (see aws_chunked.h).
 *
 * The body (S3 API reference, sigv4-streaming and sigv4-streaming-trailers):
 *
 *   <hex-size>[;chunk-signature=<64 hex>]\r\n <size bytes> \r\n   ...repeat
 *   0[;chunk-signature=<64 hex>]\r\n
 *   [name:value\r\n ...]  [x-amz-trailer-signature:<64 hex>\r\n]   trailers
 *   \r\n
 *
 * States and transitions:
 *
 *              line "<hex>[;ext]\r\n", size > 0
 *   +-------+ ----------------------------------> +------+
 *   | SIZE  |                                     | DATA | emit + hash
 *   +-------+ <------ DATA_LF <--- DATA_CR <----- +------+ size bytes
 *     |  ^        '\n'          '\r' (chunk signature checked at
 *     |  |                           the end of DATA, before DATA_CR)
 *     |  +-- size line not complete: stay, accumulate (bounded)
 *     |
 *     | line "0[;ext]\r\n" (final chunk signature checked)
 *     v
 *   +---------+  "name:value\r\n": recorded (bounded), stay
 *   | TRAILER |  empty line "\r\n": trailers checked ------> DONE
 *   +---------+
 *   Any state --(error)--> FAILED (sticky; the status is kept)
 *
 *   transition               function
 *   SIZE -> DATA / TRAILER   size_line()
 *   DATA -> DATA_CR          end_of_chunk_data()
 *   TRAILER -> DONE          trailers_done()
 *
 * Invariants:
 *   1. Data bytes go to the callback exactly once, after being added to the
 *      chunk hash and the trailing checksum; nothing is buffered but lines.
 *   2. In signed modes `previous` holds the last verified signature: the
 *      seed, then each chunk's, so the chain cannot be reordered or cut.
 *   3. decoded <= decoded_length at all times when the length is known
 *      (checked on each size line, before any byte of the chunk is emitted).
 *   4. status != AUTH_OK <=> state == FAILED.
 */
#include "aws_chunked.h"

#include "crypto.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum state { SIZE, DATA, DATA_CR, DATA_LF, TRAILER, DONE, FAILED };

struct aws_chunked {
  enum state state;
  enum auth_status status;
  int signed_chunks, trailer_mode, trailer_signed;
  size_t max_chunk;
  aws_chunked_data_fn on_data;
  void *arg;
  struct sigv4_stream stream;
  char previous[SIGV4_SIGNATURE_HEX + 1];
  char chunk_signature[SIGV4_SIGNATURE_HEX + 1];
  struct crypto_hash *chunk_hash;
  uint64_t chunk_left;
  uint64_t decoded;
  int64_t decoded_length;
  char line[AWS_CHUNKED_LINE_MAX];
  size_t line_len;
  /* trailers */
  enum checksum_algorithm algorithm; /* declared checksum trailer */
  struct checksum sum;
  int sum_live;
  char received[CHECKSUM_B64_MAX]; /* the value sent in the trailer */
  char computed[CHECKSUM_B64_MAX];
  int checksum_seen;
  char trailer_signature[SIGV4_SIGNATURE_HEX + 1];
  struct crypto_hash *trailer_hash; /* over canonical "name:value\n" lines */
  size_t trailer_bytes;
};

static enum auth_status fail(struct aws_chunked *d, enum auth_status st) {
  if (d->state != FAILED) {
    d->state = FAILED;
    d->status = st;
  }
  return d->status;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

struct aws_chunked *aws_chunked_new(const struct aws_chunked_config *cfg,
                                    aws_chunked_data_fn on_data, void *arg,
                                    enum auth_status *status) {
  struct aws_chunked *d = NULL;
  enum auth_status st = AUTH_INVALID_ARGUMENT;
  int signed_chunks = cfg->payload == AUTH_PAYLOAD_STREAMING_SIGNED ||
                      cfg->payload == AUTH_PAYLOAD_STREAMING_SIGNED_TRAILER;
  int trailer = cfg->payload == AUTH_PAYLOAD_STREAMING_SIGNED_TRAILER ||
                cfg->payload == AUTH_PAYLOAD_STREAMING_UNSIGNED_TRAILER;
  if (!on_data || (!signed_chunks && !trailer) ||
      (signed_chunks && !cfg->stream))
    goto fail;
  d = calloc(1, sizeof *d);
  if (!d) {
    st = AUTH_INTERNAL;
    goto fail;
  }
  d->signed_chunks = signed_chunks;
  d->trailer_mode = trailer;
  d->trailer_signed = signed_chunks && trailer;
  d->max_chunk = cfg->max_chunk ? cfg->max_chunk : AWS_CHUNKED_MAX_CHUNK;
  d->on_data = on_data;
  d->arg = arg;
  d->decoded_length = cfg->decoded_length;
  d->state = SIZE;
  d->status = AUTH_OK;
  if (signed_chunks) {
    d->stream = *cfg->stream;
    memcpy(d->previous, cfg->stream->seed_signature, sizeof d->previous);
    d->chunk_hash = crypto_hash_new(CRYPTO_HASH_SHA256);
    d->trailer_hash = crypto_hash_new(CRYPTO_HASH_SHA256);
    if (!d->chunk_hash || !d->trailer_hash) {
      st = AUTH_INTERNAL;
      goto fail;
    }
  }
  if (cfg->declared_trailer && *cfg->declared_trailer) {
    d->algorithm = checksum_from_header(cfg->declared_trailer);
    if (d->algorithm == CHECKSUM_NONE || !trailer) {
      st = AUTH_TRAILER_MALFORMED;
      goto fail;
    }
    if (checksum_init(&d->sum, d->algorithm) != 0) {
      st = AUTH_INTERNAL;
      goto fail;
    }
    d->sum_live = 1;
  }
  *status = AUTH_OK;
  return d;
fail:
  aws_chunked_free(d);
  *status = st;
  return NULL;
}

void aws_chunked_free(struct aws_chunked *d) {
  if (!d)
    return;
  crypto_hash_free(d->chunk_hash);
  crypto_hash_free(d->trailer_hash);
  if (d->sum_live)
    checksum_release(&d->sum);
  memset(d, 0, sizeof *d);
  free(d);
}

/* A complete size line (without CRLF) in d->line. */
static enum auth_status size_line(struct aws_chunked *d) {
  const char *p = d->line, *end = d->line + d->line_len;
  uint64_t size = 0;
  int ndigits = 0;
  for (; p < end && hexval(*p) >= 0; p++) {
    if (++ndigits > 16)
      return fail(d, AUTH_CHUNK_MALFORMED);
    size = size << 4 | (uint64_t)hexval(*p);
  }
  if (ndigits == 0)
    return fail(d, AUTH_CHUNK_MALFORMED);
  if (d->signed_chunks) {
    static const char ext[] = ";chunk-signature=";
    size_t elen = sizeof ext - 1;
    if ((size_t)(end - p) != elen + SIGV4_SIGNATURE_HEX ||
        memcmp(p, ext, elen) != 0)
      return fail(d, AUTH_CHUNK_MALFORMED);
    for (int i = 0; i < SIGV4_SIGNATURE_HEX; i++) {
      char c = p[elen + i];
      if (hexval(c) < 0)
        return fail(d, AUTH_CHUNK_MALFORMED);
      d->chunk_signature[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    d->chunk_signature[SIGV4_SIGNATURE_HEX] = '\0';
  } else if (p < end && *p != ';') {
    return fail(d, AUTH_CHUNK_MALFORMED); /* extensions are ignored */
  }
  if (size > d->max_chunk)
    return fail(d, AUTH_CHUNK_TOO_LARGE);
  if (d->decoded_length >= 0 && d->decoded + size > (uint64_t)d->decoded_length)
    return fail(d, AUTH_LENGTH_EXCEEDED);
  d->chunk_left = size;
  if (size > 0) {
    d->state = DATA;
    return AUTH_OK;
  }
  /* The final, empty chunk: its signature covers the empty string. */
  if (d->signed_chunks) {
    uint8_t digest[SHA256_LEN];
    char expected[SIGV4_SIGNATURE_HEX + 1];
    crypto_hash_final(d->chunk_hash, digest);
    sigv4_sign_chunk(&d->stream, d->previous, digest, expected);
    if (!crypto_equal(expected, d->chunk_signature, SIGV4_SIGNATURE_HEX))
      return fail(d, AUTH_SIGNATURE_MISMATCH);
    memcpy(d->previous, expected, sizeof d->previous);
  }
  if (d->decoded_length >= 0 && d->decoded != (uint64_t)d->decoded_length)
    return fail(d, AUTH_INCOMPLETE_BODY);
  d->state = TRAILER;
  return AUTH_OK;
}

static enum auth_status end_of_chunk_data(struct aws_chunked *d) {
  if (d->signed_chunks) {
    uint8_t digest[SHA256_LEN];
    char expected[SIGV4_SIGNATURE_HEX + 1];
    crypto_hash_final(d->chunk_hash, digest);
    sigv4_sign_chunk(&d->stream, d->previous, digest, expected);
    if (!crypto_equal(expected, d->chunk_signature, SIGV4_SIGNATURE_HEX))
      return fail(d, AUTH_SIGNATURE_MISMATCH);
    memcpy(d->previous, expected, sizeof d->previous);
    /* Re-arm the digest for the next chunk (EVP allows init after final
     * only through a fresh context: keep it simple). */
    crypto_hash_free(d->chunk_hash);
    d->chunk_hash = crypto_hash_new(CRYPTO_HASH_SHA256);
    if (!d->chunk_hash)
      return fail(d, AUTH_INTERNAL);
  }
  d->state = DATA_CR;
  return AUTH_OK;
}

static int is_space(char c) {
  return c == ' ' || c == '\t';
}

/* One trailer line "name:value" (without CRLF). */
static enum auth_status trailer_line(struct aws_chunked *d) {
  if (!d->trailer_mode)
    return fail(d, AUTH_CHUNK_MALFORMED); /* only "\r\n" may follow "0" */
  d->trailer_bytes += d->line_len + 2;
  if (d->trailer_bytes > AWS_CHUNKED_TRAILER_MAX)
    return fail(d, AUTH_TRAILER_MALFORMED);
  char *colon = memchr(d->line, ':', d->line_len);
  if (!colon || colon == d->line || d->trailer_signature[0])
    return fail(d, AUTH_TRAILER_MALFORMED); /* nothing after the signature */
  size_t nlen = (size_t)(colon - d->line);
  for (size_t i = 0; i < nlen; i++) {
    char c = d->line[i];
    if (c >= 'A' && c <= 'Z')
      d->line[i] = (char)(c - 'A' + 'a');
    else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return fail(d, AUTH_TRAILER_MALFORMED);
  }
  const char *v = colon + 1, *vend = d->line + d->line_len;
  while (v < vend && is_space(*v))
    v++;
  while (vend > v && is_space(vend[-1]))
    vend--;
  size_t vlen = (size_t)(vend - v);
  *colon = '\0';
  if (strcmp(d->line, "x-amz-trailer-signature") == 0) {
    if (!d->trailer_signed || vlen != SIGV4_SIGNATURE_HEX)
      return fail(d, AUTH_TRAILER_MALFORMED);
    for (size_t i = 0; i < vlen; i++) {
      if (hexval(v[i]) < 0)
        return fail(d, AUTH_TRAILER_MALFORMED);
      d->trailer_signature[i] =
          (char)(v[i] >= 'A' && v[i] <= 'F' ? v[i] - 'A' + 'a' : v[i]);
    }
    d->trailer_signature[vlen] = '\0';
    return AUTH_OK;
  }
  if (d->trailer_signed) {
    crypto_hash_update(d->trailer_hash, d->line, nlen);
    crypto_hash_update(d->trailer_hash, ":", 1);
    crypto_hash_update(d->trailer_hash, v, vlen);
    crypto_hash_update(d->trailer_hash, "\n", 1);
  }
  enum checksum_algorithm a = checksum_from_header(d->line);
  if (a != CHECKSUM_NONE) {
    /* Only the declared checksum, once, well formed. */
    if (a != d->algorithm || d->checksum_seen || vlen >= CHECKSUM_B64_MAX)
      return fail(d, AUTH_TRAILER_MALFORMED);
    memcpy(d->received, v, vlen);
    d->received[vlen] = '\0';
    if (checksum_decode(a, d->received, NULL) != 0)
      return fail(d, AUTH_TRAILER_MALFORMED);
    d->checksum_seen = 1;
  }
  return AUTH_OK; /* other trailers: signed over, otherwise ignored */
}

static enum auth_status trailers_done(struct aws_chunked *d) {
  if (d->trailer_signed) {
    uint8_t digest[SHA256_LEN];
    char expected[SIGV4_SIGNATURE_HEX + 1];
    if (!d->trailer_signature[0])
      return fail(d, AUTH_TRAILER_MALFORMED);
    crypto_hash_final(d->trailer_hash, digest);
    sigv4_sign_trailer(&d->stream, d->previous, digest, expected);
    if (!crypto_equal(expected, d->trailer_signature, SIGV4_SIGNATURE_HEX))
      return fail(d, AUTH_SIGNATURE_MISMATCH);
  }
  if (d->sum_live) {
    if (!d->checksum_seen)
      return fail(d, AUTH_TRAILER_MALFORMED); /* declared, not sent */
    checksum_final_base64(&d->sum, d->computed);
    d->sum_live = 0;
    if (strcmp(d->computed, d->received) != 0)
      return fail(d, AUTH_BAD_DIGEST);
  }
  d->state = DONE;
  return AUTH_OK;
}

/* Accumulates one CRLF-terminated line; returns 1 when d->line holds a
 * complete line, 0 when more bytes are needed, -1 on error (state set). */
static int take_line(struct aws_chunked *d, const char **p, const char *end) {
  while (*p < end) {
    char c = *(*p)++;
    if (c == '\n') {
      if (d->line_len == 0 || d->line[d->line_len - 1] != '\r') {
        fail(d, AUTH_CHUNK_MALFORMED);
        return -1;
      }
      d->line_len--;
      return 1;
    }
    if (d->line_len + 1 >= sizeof d->line || c == '\0') {
      fail(d,
           d->state == TRAILER ? AUTH_TRAILER_MALFORMED : AUTH_CHUNK_MALFORMED);
      return -1;
    }
    d->line[d->line_len++] = c;
  }
  return 0;
}

enum auth_status aws_chunked_feed(struct aws_chunked *d, const void *data,
                                  size_t len) {
  const char *p = data, *end = p + len;
  while (p < end && d->state != FAILED) {
    switch (d->state) {
    case SIZE: {
      int got = take_line(d, &p, end);
      if (got <= 0)
        break;
      size_line(d);
      d->line_len = 0;
      break;
    }
    case DATA: {
      size_t n = (size_t)(end - p);
      if (n > d->chunk_left)
        n = (size_t)d->chunk_left;
      if (d->signed_chunks)
        crypto_hash_update(d->chunk_hash, p, n);
      if (d->sum_live)
        checksum_update(&d->sum, p, n);
      d->decoded += n;
      d->chunk_left -= n;
      if (d->on_data(d->arg, p, n) != 0) {
        fail(d, AUTH_ABORTED);
        break;
      }
      p += n;
      if (d->chunk_left == 0)
        end_of_chunk_data(d);
      break;
    }
    case DATA_CR:
      if (*p++ != '\r')
        fail(d, AUTH_CHUNK_MALFORMED);
      else
        d->state = DATA_LF;
      break;
    case DATA_LF:
      if (*p++ != '\n')
        fail(d, AUTH_CHUNK_MALFORMED);
      else
        d->state = SIZE;
      break;
    case TRAILER: {
      int got = take_line(d, &p, end);
      if (got <= 0)
        break;
      if (d->line_len == 0)
        trailers_done(d);
      else
        trailer_line(d);
      d->line_len = 0;
      break;
    }
    case DONE:
      fail(d, AUTH_CHUNK_MALFORMED); /* bytes after the end */
      break;
    case FAILED: break;
    }
  }
  return d->status;
}

enum auth_status aws_chunked_finish(struct aws_chunked *d) {
  if (d->state == FAILED)
    return d->status;
  if (d->state != DONE)
    return fail(d, AUTH_INCOMPLETE_BODY);
  return AUTH_OK;
}

enum checksum_algorithm aws_chunked_checksum(const struct aws_chunked *d,
                                             char *value) {
  if (d->state != DONE || d->algorithm == CHECKSUM_NONE)
    return CHECKSUM_NONE;
  memcpy(value, d->computed, CHECKSUM_B64_MAX);
  return d->algorithm;
}

uint64_t aws_chunked_decoded_bytes(const struct aws_chunked *d) {
  return d->decoded;
}

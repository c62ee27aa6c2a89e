/*
 * sigv4.h - AWS Signature Version 4, the pure part: canonical requests,
 * strings to sign, signing keys, signatures, chunk and trailer signatures,
 * presigned URLs and AWS's URI encoding. No I/O, no clock, no global state.
 *
 * Shared by the server-side verifier (coordinator/auth), the CLI, the
 * replicator and the benchmark, so that the signer and the verifier cannot
 * drift apart: both build the canonical request with
 * sigv4_canonical_request() from the request as it is on the wire.
 *
 * References: "Authenticating Requests (AWS Signature Version 4)" in the S3
 * API reference (sigv4-auth-using-authorization-header, sigv4-query-string-
 * auth, sigv4-streaming, sigv4-streaming-trailers).
 *
 * Errors are CAIRN_E* (common/error.h). Nothing here logs; nothing here
 * keeps a secret beyond the call (stack copies are wiped).
 */
#ifndef CAIRN_SIGV4_H
#define CAIRN_SIGV4_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_EMPTY_SHA256                                                     \
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SIGV4_STREAMING_PAYLOAD "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
#define SIGV4_STREAMING_PAYLOAD_TRAILER                                        \
  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
#define SIGV4_STREAMING_UNSIGNED_TRAILER "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

/* Limits on what we canonicalize; a request beyond them is refused rather
 * than buffered (inputs come from the network). */
#define SIGV4_SIGNATURE_HEX 64 /* hex HMAC-SHA256 */
#define SIGV4_AMZ_DATE_LEN 16  /* 20130524T000000Z */
#define SIGV4_SCOPE_MAX 160    /* date/region/service/aws4_request */
#define SIGV4_REGION_MAX 63
#define SIGV4_SERVICE_MAX 31
#define SIGV4_SECRET_MAX 255
#define SIGV4_CANONICAL_MAX (128u << 10) /* whole canonical request */
#define SIGV4_QUERY_PARAMS_MAX 256
#define SIGV4_SIGNED_HEADERS_MAX 64   /* names in SignedHeaders */
#define SIGV4_SIGNED_HEADERS_LEN 2048 /* the SignedHeaders text */

/* One request header. The name may be of any case (compared without case);
 * the value is as received (it is trimmed when canonicalized). */
struct sigv4_header {
  const char *name;
  const char *value;
};

/* A request as it is on the wire. Everything is borrowed. */
struct sigv4_request {
  const char *method; /* "GET" */
  const char *path;   /* raw, percent-encoded as sent; "" or NULL is "/" */
  const char *query;  /* raw, without '?'; NULL or "" when none */
  const struct sigv4_header *headers;
  size_t header_count;
  /* "host;range;x-amz-date": lower-case names, ';'-separated, in the order
   * the canonical headers are written (signers send them sorted). */
  const char *signed_headers;
  /* Hex SHA-256 of the body, or UNSIGNED-PAYLOAD, or a STREAMING-* value. */
  const char *payload_hash;
  /* Presigned URLs: leave X-Amz-Signature out of the canonical query. */
  int exclude_signature_param;
};

/* --- URI encoding (AWS rules) ------------------------------------------ */

/* Encodes every byte but A-Z a-z 0-9 - _ . ~ (and '/' when keep_slash) as
 * %XX with upper-case hex. Writes at most cap bytes including the NUL and
 * returns the length the full encoding needs (as snprintf): out is complete
 * only when the result is < cap. out may be NULL when cap is 0. */
size_t sigv4_uri_encode(const char *in, size_t len, int keep_slash, char *out,
                        size_t cap);

/* Percent-decodes len bytes into out (which holds len + 1 bytes) and
 * returns the decoded length. '+' stays '+' (SigV4 clients send %20); a '%'
 * not followed by two hex digits is kept as is. */
size_t sigv4_uri_decode(const char *in, size_t len, char *out);

/* --- building blocks ----------------------------------------------------- */

/* The canonical request:
 *   method \n canonical-uri \n canonical-query \n canonical-headers \n
 *   signed-headers \n payload-hash
 * The URI is rebuilt from the raw path segment by segment (decode, then
 * encode with '/' encoded), so "%7E" and "~" agree and "%2F" stays distinct
 * from "/"; S3 neither normalizes "." / ".." nor double-encodes. The query
 * pairs are decoded, re-encoded and sorted by name then value. Each signed
 * header is "name:value" with every occurrence joined by ',' and runs of
 * white space collapsed; a signed header the request lacks gets an empty
 * value (the signature then fails, as it should).
 * On success *out is a NUL-terminated malloc'd string the caller frees, and
 * *out_len (if not NULL) its length. Returns 0, CAIRN_EINVAL (missing or
 * malformed field, too many signed headers or query parameters),
 * CAIRN_ETOOBIG (over SIGV4_CANONICAL_MAX) or CAIRN_ENOMEM. */
int sigv4_canonical_request(const struct sigv4_request *r, char **out,
                            size_t *out_len);

/* "date/region/service/aws4_request" into out (SIGV4_SCOPE_MAX bytes);
 * 0 or CAIRN_EINVAL when too long. */
int sigv4_scope(const char *date, const char *region, const char *service,
                char out[SIGV4_SCOPE_MAX]);

/* The signing key: HMAC chain over "AWS4"+secret, date (YYYYMMDD), region,
 * service, "aws4_request". It depends only on (secret, date, region,
 * service): callers that sign or verify many requests may cache it per day.
 * Returns 0 or CAIRN_EINVAL (secret longer than SIGV4_SECRET_MAX). */
int sigv4_signing_key(const char *secret, const char *date, const char *region,
                      const char *service, uint8_t key[SHA256_LEN]);

/* A small cache of signing keys, owned by its caller and used by one
 * thread. The derivation costs 4 HMACs (about a fifth of verifying a GET
 * of 4 KiB, callgrind) and its inputs change once a day per key, so a
 * verifier keeps the last SIGV4_KEY_CACHE_SLOTS. An entry is matched on
 * the secret itself (a rotated secret misses), so the caller still looks
 * the secret up, and checks the key's status, on every request. Zero it to
 * initialise; sigv4_key_cache_clear wipes it. */
#define SIGV4_KEY_CACHE_SLOTS 16
struct sigv4_key_cache_slot {
  char secret[SIGV4_SECRET_MAX + 1];
  char date[9];
  char region[SIGV4_REGION_MAX + 1];
  char service[SIGV4_SERVICE_MAX + 1];
  uint8_t key[32];
  int used;
};
struct sigv4_key_cache {
  struct sigv4_key_cache_slot slot[SIGV4_KEY_CACHE_SLOTS];
  unsigned next; /* the slot replaced on a miss */
  uint64_t hits, misses;
};
/* sigv4_signing_key through cache (NULL: no cache). */
int sigv4_signing_key_cached(struct sigv4_key_cache *cache, const char *secret,
                             const char *date, const char *region,
                             const char *service, uint8_t key[32]);
void sigv4_key_cache_clear(struct sigv4_key_cache *cache);

/* Signature (lower-case hex, NUL-terminated) of a canonical request:
 * HMAC(key, "AWS4-HMAC-SHA256\n" amz_date "\n" scope "\n"
 * hex(sha256(canonical))). */
void sigv4_signature(const uint8_t key[SHA256_LEN], const char *amz_date,
                     const char *scope, const char *canonical,
                     size_t canonical_len, char out[SIGV4_SIGNATURE_HEX + 1]);

/* Canonical request + signature in one call: 0 or an error of
 * sigv4_canonical_request(). */
int sigv4_sign_canonical(const struct sigv4_request *r,
                         const uint8_t key[SHA256_LEN], const char *amz_date,
                         const char *scope, char out[SIGV4_SIGNATURE_HEX + 1]);

/* --- streaming (aws-chunked) -------------------------------------------- */

/* What the chain of chunk signatures needs; filled by the verifier from the
 * request's Authorization header, or by a signing client. Holds the derived
 * signing key: wipe it (memset) when done. */
struct sigv4_stream {
  uint8_t signing_key[SHA256_LEN];
  char amz_date[SIGV4_AMZ_DATE_LEN + 1];
  char scope[SIGV4_SCOPE_MAX];
  char seed_signature[SIGV4_SIGNATURE_HEX + 1];
};

/* HMAC(key, "AWS4-HMAC-SHA256-PAYLOAD\n" date "\n" scope "\n" previous
 * "\n" sha256("") "\n" hex(chunk_sha256)). */
void sigv4_sign_chunk(const struct sigv4_stream *s, const char *previous,
                      const uint8_t chunk_sha256[SHA256_LEN],
                      char out[SIGV4_SIGNATURE_HEX + 1]);
/* HMAC(key, "AWS4-HMAC-SHA256-TRAILER\n" date "\n" scope "\n" previous
 * "\n" hex(trailer_sha256)); the hash is over the canonical trailer lines
 * ("name:value\n" each). */
void sigv4_sign_trailer(const struct sigv4_stream *s, const char *previous,
                        const uint8_t trailer_sha256[SHA256_LEN],
                        char out[SIGV4_SIGNATURE_HEX + 1]);

/* --- dates ---------------------------------------------------------------- */

/* "20130524T000000Z" -> Unix seconds; 0 or CAIRN_EINVAL. */
int sigv4_parse_amz_date(const char *text, int64_t *unix_seconds);
/* RFC 1123 "Fri, 24 May 2013 00:00:00 GMT" -> Unix seconds. */
int sigv4_parse_http_date(const char *text, int64_t *unix_seconds);
/* Unix seconds -> "20130524T000000Z". */
void sigv4_format_amz_date(int64_t unix_seconds,
                           char out[SIGV4_AMZ_DATE_LEN + 1]);

/* --- client side ---------------------------------------------------------- */

struct sigv4_credentials {
  const char *access_key;
  const char *secret_key;
  const char *region;  /* "us-east-1" */
  const char *service; /* "s3" */
};

/* "host;x-amz-date;..." from the header list: lower-cased, sorted, each
 * name once. 0, CAIRN_EINVAL (too many) or CAIRN_ETOOBIG (cap). */
int sigv4_signed_headers_of(const struct sigv4_header *headers, size_t n,
                            char *out, size_t cap);

/* Signs r into an Authorization header value:
 *   AWS4-HMAC-SHA256 Credential=AK/date/region/service/aws4_request,
 *   SignedHeaders=..., Signature=...
 * r->headers must hold what is signed (at least host, x-amz-date and, for
 * S3, x-amz-content-sha256); r->signed_headers NULL signs all of them.
 * amz_date is the x-amz-date value. signature_out (may be NULL) receives the
 * bare signature, the seed of an aws-chunked upload. 0, CAIRN_EINVAL,
 * CAIRN_ETOOBIG (cap) or CAIRN_ENOMEM. */
int sigv4_sign_request(const struct sigv4_credentials *c,
                       const struct sigv4_request *r, const char *amz_date,
                       char *authorization, size_t cap,
                       char signature_out[SIGV4_SIGNATURE_HEX + 1]);

/* Presigns r: returns in *query_out (malloc'd, caller frees) r->query (if
 * any) followed by X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
 * X-Amz-Expires, X-Amz-SignedHeaders and X-Amz-Signature, ready to follow
 * '?'. r->payload_hash NULL means UNSIGNED-PAYLOAD; r->signed_headers NULL
 * signs every header given (usually just host). expires is 1..604800.
 * 0, CAIRN_EINVAL, CAIRN_ETOOBIG or CAIRN_ENOMEM. */
int sigv4_presign(const struct sigv4_credentials *c,
                  const struct sigv4_request *r, const char *amz_date,
                  unsigned expires, char **query_out);

#endif

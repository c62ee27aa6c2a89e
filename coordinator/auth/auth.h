/*
 * auth.h - who is calling: server-side verification of AWS Signature V4
 * (Authorization header or presigned query), knowing nothing of HTTP
 * servers, S3 routing or libuv. The caller describes the request in a plain
 * struct; secrets come from a lookup callback (the root credentials today,
 * IAM users later).
 *
 * Outcomes are an auth_status, not a CAIRN_E* code: each status is an S3
 * answer (error code string, HTTP status, message) from one X-macro table
 * below, which the S3 layer turns into XML. Several statuses may share an S3
 * code with different messages (AccessDenied, InvalidRequest).
 *
 * AWS Signature Version 2 (header and query) is verified by sigv2.c behind
 * the same auth_verify().
 *
 * Also here: the streaming payload-hash helper (x-amz-content-sha256 given
 * as a hex hash). The aws-chunked decoder is in aws_chunked.h.
 */
#ifndef CAIRN_AUTH_H
#define CAIRN_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "sigv4.h"

/* name, S3 error code, HTTP status, message (never empty). */
#define AUTH_STATUS_MAP(XX)                                                    \
  XX(OK, "OK", 200, "OK")                                                      \
  XX(NO_CREDENTIALS, "AccessDenied", 403,                                      \
     "Access Denied") /* anonymous: no signature at all */                     \
  XX(EXPIRED, "AccessDenied", 403, "Request has expired")                      \
  XX(MISSING_DATE, "AccessDenied", 403,                                        \
     "AWS authentication requires a valid Date or x-amz-date header")          \
  XX(UNSIGNED_HEADERS, "AccessDenied", 403,                                    \
     "There were headers present in the request which were not signed")        \
  XX(SIGNATURE_MISMATCH, "SignatureDoesNotMatch", 403,                         \
     "The request signature we calculated does not match the signature you "   \
     "provided. Check your key and signing method.")                           \
  XX(INVALID_ACCESS_KEY, "InvalidAccessKeyId", 403,                            \
     "The AWS Access Key Id you provided does not exist in our records.")      \
  XX(USER_DISABLED, "AccessDenied", 403,                                       \
     "The user that owns this access key is disabled.")                        \
  XX(TIME_SKEWED, "RequestTimeTooSkewed", 403,                                 \
     "The difference between the request time and the current time is too "    \
     "large.")                                                                 \
  XX(HEADER_MALFORMED, "AuthorizationHeaderMalformed", 400,                    \
     "The authorization header is malformed.")                                 \
  XX(WRONG_REGION, "AuthorizationHeaderMalformed", 400,                        \
     "The authorization header is malformed; the region is wrong.")            \
  XX(QUERY_MALFORMED, "AuthorizationQueryParametersError", 400,                \
     "Query-string authentication version 4 requires the X-Amz-Algorithm, "    \
     "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "    \
     "and X-Amz-Expires parameters.")                                          \
  XX(EXPIRES_RANGE, "AuthorizationQueryParametersError", 400,                  \
     "X-Amz-Expires must be a number between 1 and 604800 seconds.")           \
  XX(MISSING_SECURITY_HEADER, "MissingSecurityHeader", 400,                    \
     "Your request was missing a required header: "                            \
     "x-amz-decoded-content-length.")                                          \
  XX(MISSING_CONTENT_SHA256, "InvalidRequest", 400,                            \
     "Missing required header for this request: x-amz-content-sha256")         \
  XX(BAD_CONTENT_SHA256, "InvalidArgument", 400,                               \
     "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a STREAMING- value, or "  \
     "a valid sha256 value.")                                                  \
  XX(INVALID_ARGUMENT, "InvalidArgument", 400,                                 \
     "The request could not be canonicalized (malformed query or headers).")   \
  XX(STREAMING_NOT_ALLOWED, "InvalidRequest", 400,                             \
     "Signed aws-chunked payloads require Authorization header signing.")      \
  XX(CONTENT_SHA256_MISMATCH, "XAmzContentSHA256Mismatch", 400,                \
     "The provided 'x-amz-content-sha256' header does not match what was "     \
     "computed.")                                                              \
  XX(BAD_DIGEST, "BadDigest", 400,                                             \
     "The checksum you specified did not match the calculated checksum.")      \
  XX(INCOMPLETE_BODY, "IncompleteBody", 400,                                   \
     "You did not provide the number of bytes specified by the "               \
     "x-amz-decoded-content-length header.")                                   \
  XX(LENGTH_EXCEEDED, "InvalidRequest", 400,                                   \
     "The aws-chunked body holds more bytes than "                             \
     "x-amz-decoded-content-length.")                                          \
  XX(CHUNK_MALFORMED, "InvalidRequest", 400,                                   \
     "The aws-chunked body is malformed.")                                     \
  XX(CHUNK_TOO_LARGE, "InvalidRequest", 400,                                   \
     "An aws-chunked chunk is larger than this server accepts.")               \
  XX(TRAILER_MALFORMED, "InvalidRequest", 400,                                 \
     "The trailing headers are malformed, too large, or not the ones "         \
     "declared in x-amz-trailer.")                                             \
  XX(SIGV2_DISABLED, "AccessDenied", 403,                                      \
     "AWS Signature Version 2 is disabled on this server (sigv2 off); sign "   \
     "requests with Signature Version 4.")                                     \
  XX(QUERY_V2_MALFORMED, "AccessDenied", 403,                                  \
     "Query-string authentication requires the Signature, Expires and "        \
     "AWSAccessKeyId parameters")                                              \
  XX(TOKEN_MALFORMED, "AccessDenied", 403, "token malformed")                  \
  XX(TOKEN_SIGNATURE, "AccessDenied", 403, "token signature invalid")          \
  XX(TOKEN_EXPIRED, "AccessDenied", 403, "token expired")                      \
  XX(TOKEN_REVOKED, "AccessDenied", 403, "token revoked")                      \
  XX(TOKEN_ORIGIN, "AccessDenied", 403,                                        \
     "token not valid from this client address")                               \
  XX(TOKEN_SCOPE, "AccessDenied", 403,                                         \
     "the request is outside the token's scope")                               \
  XX(TOKEN_OWNER, "AccessDenied", 403,                                         \
     "the token's owner no longer exists or is disabled")                      \
  XX(TOKEN_NOT_HERE, "AccessDenied", 403,                                      \
     "tokens grant S3 object access only, not the admin API")                  \
  XX(NOT_IMPLEMENTED, "NotImplemented", 501,                                   \
     "This signing algorithm is not implemented.")                             \
  XX(ABORTED, "InternalError", 500,                                            \
     "We encountered an internal error. Please try again.")                    \
  XX(INTERNAL, "InternalError", 500,                                           \
     "We encountered an internal error. Please try again.")

enum auth_status {
#define XX(name, code, http, msg) AUTH_##name,
  AUTH_STATUS_MAP(XX)
#undef XX
};

const char *
auth_status_s3_code(enum auth_status s);  /* "SignatureDoesNotMatch" */
int auth_status_http(enum auth_status s); /* 403 */
const char *auth_status_message(enum auth_status s); /* never empty */

#define AUTH_MAX_SKEW_SECONDS (15 * 60) /* AWS: RequestTimeTooSkewed */
#define AUTH_MAX_EXPIRES 604800         /* AWS: presigned URLs, 7 days */
#define AUTH_ACCESS_KEY_MAX 128         /* IAM: access key ids <= 128 */

/* The request, as the HTTP layer parsed it. Everything is borrowed for the
 * duration of auth_verify(). Header names are lower-case (compared without
 * case anyway); repeated headers appear repeatedly. */
struct auth_request {
  const char *method;
  const char *path;  /* raw target up to '?', percent-encoded as sent */
  const char *query; /* raw, after '?'; NULL or "" when none */
  const struct sigv4_header *headers;
  size_t header_count;
  int64_t now; /* Unix seconds */
  /* The bucket named by the Host header of a virtual-hosted-style request,
   * NULL for path-style: SigV2 signs "/bucket" + path. */
  const char *virtual_bucket;
};

/* Returns 0 and the NUL-terminated secret in secret_out, CAIRN_ENOENT for an
 * unknown key, or another CAIRN_E* (-> AUTH_INTERNAL). */
typedef int (*auth_lookup_secret_fn)(const char *access_key, char *secret_out,
                                     size_t cap, void *arg);

struct auth_verifier {
  auth_lookup_secret_fn lookup_secret;
  void *arg;
  /* If not NULL, the credential's region must be this one (else
   * AUTH_WRONG_REGION); NULL accepts any region. */
  const char *region;
  /* 0 (strict, AWS's rule): any x-amz-* header in a header-signed request
   * must be signed, else AUTH_UNSIGNED_HEADERS. */
  int allow_unsigned_amz_headers;
  /* 1: AWS Signature Version 2 is refused (AUTH_SIGV2_DISABLED). */
  int sigv2_disabled;
  /* If not NULL, signing keys are taken from and kept in it (the caller's,
   * used by one thread; common/sigv4.h). */
  struct sigv4_key_cache *key_cache;
};

enum auth_method {
  AUTH_METHOD_HEADER = 1, /* SigV4 Authorization header */
  AUTH_METHOD_PRESIGNED,  /* SigV4 query */
  AUTH_METHOD_V2_HEADER,  /* "AWS AKID:signature" */
  AUTH_METHOD_V2_QUERY,   /* AWSAccessKeyId, Expires, Signature */
  AUTH_METHOD_TOKEN,      /* a scoped token (token.h; coordinator/access) */
};

/* What x-amz-content-sha256 says about the body. */
enum auth_payload {
  AUTH_PAYLOAD_UNSIGNED = 1,     /* UNSIGNED-PAYLOAD (or presigned, none) */
  AUTH_PAYLOAD_SHA256,           /* hex hash: check it with auth_payload_* */
  AUTH_PAYLOAD_STREAMING_SIGNED, /* STREAMING-AWS4-HMAC-SHA256-PAYLOAD */
  AUTH_PAYLOAD_STREAMING_SIGNED_TRAILER,   /* ...-PAYLOAD-TRAILER */
  AUTH_PAYLOAD_STREAMING_UNSIGNED_TRAILER, /* STREAMING-UNSIGNED-PAYLOAD-TRAILER
                                            */
};

/* Filled by auth_verify() on AUTH_OK. Plain data, no pointers: copy it
 * freely; wipe it (memset) when done, it holds the derived signing key. */
struct auth_result {
  char access_key[AUTH_ACCESS_KEY_MAX + 1];
  enum auth_method method;
  enum auth_payload payload;
  uint8_t payload_sha256[SHA256_LEN]; /* AUTH_PAYLOAD_SHA256 */
  /* AUTH_PAYLOAD_STREAMING_SIGNED*: key, date, scope and seed signature
   * for the chunk signature chain (aws_chunked.h). */
  struct sigv4_stream stream;
  char region[SIGV4_REGION_MAX + 1];
};

/* Authenticates r. A request with neither an Authorization header nor
 * X-Amz-Algorithm/X-Amz-Signature in its query is AUTH_NO_CREDENTIALS (the
 * S3 layer decides whether anonymous access is allowed). Order of checks,
 * as AWS: syntax (HEADER_MALFORMED / QUERY_MALFORMED / EXPIRES_RANGE),
 * date (MISSING_DATE), skew (TIME_SKEWED) and expiry (EXPIRED), payload
 * mode (MISSING_CONTENT_SHA256 / BAD_CONTENT_SHA256), key
 * (INVALID_ACCESS_KEY), signature (SIGNATURE_MISMATCH), unsigned x-amz-*
 * headers (UNSIGNED_HEADERS). Costs one canonical request (bounded by
 * SIGV4_CANONICAL_MAX) and six HMACs; the secret never leaves the stack.
 * SigV2 ("Authorization: AWS ..." or AWSAccessKeyId/Signature in the
 * query) is AUTH_SIGV2_DISABLED when the verifier says so, else checked by
 * sigv2_verify (sigv2.h): QUERY_V2_MALFORMED, MISSING_DATE, TIME_SKEWED,
 * EXPIRED, INVALID_ACCESS_KEY, SIGNATURE_MISMATCH. */
enum auth_status auth_verify(const struct auth_verifier *v,
                             const struct auth_request *r,
                             struct auth_result *out);

/* Payload hash check for AUTH_PAYLOAD_SHA256 bodies, hashed once as they
 * stream: begin, update per buffer, finish. The caller must not commit the
 * body unless finish returns AUTH_OK (else AUTH_CONTENT_SHA256_MISMATCH).
 * begin returns AUTH_OK or AUTH_INTERNAL (out of memory); finish and
 * release free the hash, release is safe twice. */
struct auth_payload_check {
  struct crypto_hash *hash;
  uint8_t expected[SHA256_LEN];
};
enum auth_status auth_payload_begin(struct auth_payload_check *p,
                                    const uint8_t expected[SHA256_LEN]);
void auth_payload_update(struct auth_payload_check *p, const void *data,
                         size_t len);
enum auth_status auth_payload_finish(struct auth_payload_check *p);
void auth_payload_release(struct auth_payload_check *p);

#endif

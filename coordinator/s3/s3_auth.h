/*
 * s3_auth.h - who is calling: AWS Signature V4, in the Authorization header
 * or in a presigned URL's query string, checked against the root
 * credentials (IAM users come with their own issue; the secret lookup is
 * the one place that will change).
 *
 * On success r->access_key is set and, for streaming (aws-chunked) uploads,
 * the state needed to verify each chunk's signature is kept in the
 * request's s3_auth_stream (see s3_auth_stream_of()).
 */
#ifndef CAIRN_S3_AUTH_H
#define CAIRN_S3_AUTH_H

#include <stdint.h>

#include "crypto.h"

struct s3_request;

#define SIGV4_MAX_SKEW_MS (15 * 60 * 1000) /* AWS: 15 minutes */
#define SIGV4_MAX_EXPIRES 604800           /* AWS: presigned URLs, 7 days */

/* What a streaming upload needs to check its chunk signatures. */
struct s3_auth_stream {
  uint8_t signing_key[SHA256_LEN];
  char seed_signature[65];
  char amz_date[17]; /* 20130524T000000Z */
  char scope[128];   /* 20130524/us-east-1/s3/aws4_request */
};

/* NULL when authenticated, else the S3 error code to answer. */
const char *s3_authenticate(struct s3_request *r);

/* The streaming state recorded by s3_authenticate (header auth only). */
const struct s3_auth_stream *s3_auth_stream_of(const struct s3_request *r);

/* Chunk signature: HMAC(key, "AWS4-HMAC-SHA256-PAYLOAD\n" date "\n" scope
 * "\n" previous "\n" sha256("") "\n" hex(sha256(chunk))), as hex. */
void sigv4_chunk_signature(const struct s3_auth_stream *s,
                           const char *previous_signature,
                           const uint8_t chunk_sha256[SHA256_LEN],
                           char out[65]);
/* Trailer signature over the canonical trailer lines. */
void sigv4_trailer_signature(const struct s3_auth_stream *s,
                             const char *previous_signature,
                             const uint8_t trailer_sha256[SHA256_LEN],
                             char out[65]);

#endif

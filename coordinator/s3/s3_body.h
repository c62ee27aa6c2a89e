/*
 * s3_body.h - integrity of a request body on its way to the operation:
 * the x-amz-content-sha256 payload hash (signed payloads), aws-chunked
 * decoding with chunk signatures and trailing checksums (streaming modes),
 * and Content-MD5. Bytes pass through once; nothing is buffered whole.
 */
#ifndef CAIRN_S3_BODY_H
#define CAIRN_S3_BODY_H

#include <stddef.h>
#include <stdint.h>

struct auth_payload_check;
struct s3_request;
struct s3_body;

/* Prepares the checks the request's headers ask for. Returns NULL with
 * *error_code set when the headers are wrong, or NULL with *error_code NULL
 * when there is nothing to check. */
struct s3_body *s3_body_new(struct s3_request *r, const char **error_code);
/* The request's Content-MD5 header (base64 of 16 bytes) into out: 1 when
 * given, 0 when absent, -1 when malformed (InvalidDigest). The operation
 * compares it with the MD5 it computes anyway (the ETag's, or the
 * collected body's). */
int s3_body_content_md5(const struct s3_request *r, uint8_t out[16]);
/* Feeds raw body bytes; decoded bytes go to emit(r, data, len). Returns
 * NULL, or the S3 error code that ends the request. */
const char *s3_body_feed(struct s3_body *b, const char *data, size_t len,
                         void (*emit)(struct s3_request *, const char *,
                                      size_t));
/* The body ended: NULL when every check passed, else the S3 error code. */
const char *s3_body_finish(struct s3_body *b);
/* A signed payload's hash check, for an operation that hashes the bytes
 * itself off the loop thread (PutObject, UploadPart on the upload's
 * worker lane): moved into *out (the caller updates, finishes and
 * releases it, and commits nothing unless it passes) and 1; 0 when the
 * body is not a signed payload. s3_body checks it no more. */
int s3_body_take_payload_hash(struct s3_body *b,
                              struct auth_payload_check *out);
/* 1 when the bytes fed reach emit unchanged (no aws-chunked framing). */
int s3_body_passes_through(const struct s3_body *b);
/* Decoded length promised by x-amz-decoded-content-length, or -1. */
long long s3_body_decoded_length(const struct s3_body *b);
void s3_body_free(struct s3_body *b);

#endif

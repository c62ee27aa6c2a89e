/*
 * s3_sse.h - server-side encryption (SSE-S3) as the S3 layer sees it: which
 * request headers are allowed, the per-object data keys (made here, sealed
 * by the KMS, stored sealed in the records) and the response header.
 *
 * Every object and every multipart upload gets a fresh random 32-byte data
 * key; the chunk bytes are sealed with it block by block in the data path
 * (coordinator/data/chunk_cipher.h). Only SSE-S3 exists: a request asking
 * for SSE-KMS or SSE-C gets an error, never a silently unencrypted or
 * differently encrypted object.
 */
#ifndef CAIRN_S3_SSE_H
#define CAIRN_S3_SSE_H

#include <stddef.h>
#include <stdint.h>

#include "kms.h"

struct s3_request;
struct meta_object_attrs;

#define S3_SSE_KEY_LEN 32
#define S3_SSE_SEALED_MAX (S3_SSE_KEY_LEN + KMS_SEAL_OVERHEAD)
#define S3_SSE_HEADER "x-amz-server-side-encryption"
#define S3_SSE_AES256 "AES256"

/* A data key and its sealed form, kept by an operation while it runs. */
struct s3_sse_key {
  int enabled; /* 0: plaintext (a record from before encryption) */
  uint8_t key[S3_SSE_KEY_LEN];
  uint8_t sealed[S3_SSE_SEALED_MAX];
  uint32_t sealed_len;
};

/* Checks the SSE headers of a request: NULL to go on, or the S3 error code
 * with *message. SSE-C and SSE-KMS headers: NotImplemented;
 * x-amz-server-side-encryption other than AES256: InvalidArgument (and on
 * a read, where AWS takes no such header: InvalidArgument too). */
const char *s3_sse_check(const struct s3_request *r, int writes_object,
                         const char **message);

/* A fresh random data key, sealed. 0 or CAIRN_E*. */
int s3_sse_new(struct s3_request *r, struct s3_sse_key *k);
/* The data key of a record (attrs.sealed_key); k->enabled = 0 when the
 * record has none. CAIRN_EAUTH if the blob does not open. */
int s3_sse_open(struct s3_request *r, const struct meta_object_attrs *a,
                struct s3_sse_key *k);
/* Points a record's attrs at k's sealed key (or at none). */
void s3_sse_attach(const struct s3_sse_key *k, struct meta_object_attrs *a);
/* The data key for the data path: NULL when plaintext. */
const uint8_t *s3_sse_data_key(const struct s3_sse_key *k);
void s3_sse_wipe(struct s3_sse_key *k);

#endif

/*
 * sigv2.h - AWS Signature Version 2 for S3 (the "AWS AKID:signature"
 * Authorization header and the AWSAccessKeyId/Expires/Signature query),
 * as the S3 developer guide's "Signing and authenticating REST requests"
 * defines it:
 *
 *   StringToSign = Method \n Content-MD5 \n Content-Type \n Date \n
 *                  CanonicalizedAmzHeaders CanonicalizedResource
 *   Signature    = base64(HMAC-SHA1(secret, StringToSign))
 *
 * Date is the Date header, empty when x-amz-date is sent (which then
 * appears among the x-amz-* headers), and the Expires parameter for the
 * query form. The resource is "/bucket" for a virtual-hosted request, then
 * the path as sent, then the sub-resources of SIGV2_SUBRESOURCES sorted by
 * name with their decoded values.
 *
 * Old clients (s3cmd --signature-v2, boto2, botocore's HmacV1) still use
 * it; a coordinator may refuse it (`--sigv2 off`).
 */
#ifndef CAIRN_SIGV2_H
#define CAIRN_SIGV2_H

#include <stddef.h>

#include "auth.h"

#define SIGV2_SIGNATURE_B64 28 /* base64 of the 20 bytes of HMAC-SHA1 */
#define SIGV2_SUBRESOURCES_MAX 32
/* Expires of a V2 query: digits of Unix seconds (AWS sets no lifetime
 * limit for V2; the number itself is bounded). */
#define SIGV2_EXPIRES_DIGITS_MAX 11

struct sigv2_request {
  const char *method;
  const char *path;  /* raw, percent-encoded as sent */
  const char *query; /* raw, after '?'; NULL or "" when none */
  const struct sigv4_header *headers;
  size_t header_count;
  const char *virtual_bucket; /* NULL for path-style requests */
  const char *expires;        /* query form: replaces Date; NULL otherwise */
};

/* 1 when name[0..len) is a query parameter that belongs to the
 * canonicalized resource (acl, uploadId, response-content-type, ...). */
int sigv2_is_subresource(const char *name, size_t len);

/* Builds the StringToSign into *out (malloc'd, NUL-terminated, the caller
 * frees) and its length into *len. CAIRN_EINVAL when the request cannot be
 * canonicalized (too many sub-resources), CAIRN_ENOMEM. */
int sigv2_string_to_sign(const struct sigv2_request *r, char **out,
                         size_t *len);

/* base64(HMAC-SHA1(secret, sts)), NUL-terminated. */
void sigv2_signature(const char *secret, const char *sts, size_t len,
                     char out[SIGV2_SIGNATURE_B64 + 1]);

/* The verifier behind auth_verify() for a V2 request: query is 1 for the
 * AWSAccessKeyId/Signature/Expires form. Same contract as auth_verify:
 * on AUTH_OK out->access_key is set, payload is UNSIGNED (or SHA256 when
 * an x-amz-content-sha256 hash came along). */
enum auth_status sigv2_verify(const struct auth_verifier *v,
                              const struct auth_request *r,
                              const char *authorization, int query,
                              struct auth_result *out);

#endif

/*
 * auth_internal.h - the request-reading helpers that auth.c (SigV4) and
 * sigv2.c (SigV2) share. Not for use outside coordinator/auth.
 */
#ifndef CAIRN_AUTH_INTERNAL_H
#define CAIRN_AUTH_INTERNAL_H

#include "auth.h"

/* The value of the header named name (any case; the first if repeated),
 * NULL if absent; *count (may be NULL) gets how many there were. */
const char *auth_header_value(const struct auth_request *r, const char *name,
                              int *count);

/* Looks up name (exact, after decoding) in the raw query. 0 with the
 * decoded value in out; -1 when absent; -2 when repeated or too long. */
int auth_query_param(const char *query, const char *name, char *out,
                     size_t cap);

/* x-amz-content-sha256 -> out->payload (and out->payload_sha256). */
enum auth_status auth_classify_payload(const char *v, struct auth_result *out);

/* The secret of access_key through v->lookup_secret, NUL-terminated in
 * secret[cap]: AUTH_OK, AUTH_INVALID_ACCESS_KEY (unknown) or AUTH_INTERNAL
 * (the lookup failed or gave no terminated secret). */
enum auth_status auth_lookup_secret(const struct auth_verifier *v,
                                    const char *access_key, char *secret,
                                    size_t cap);

/* 1 for the aws-chunked payload modes. */
int auth_payload_is_streaming(enum auth_payload p);

#endif

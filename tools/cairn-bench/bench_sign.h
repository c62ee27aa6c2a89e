/*
 * bench_sign.h - the SigV4 headers of one benchmark request, from Cairn's
 * own signer (common/sigv4.h): no second implementation to drift from the
 * verifier.
 *
 * Bodies go as UNSIGNED-PAYLOAD, so signing costs a canonical request and a
 * few HMACs per request and nothing per byte.
 */
#ifndef CAIRN_BENCH_SIGN_H
#define CAIRN_BENCH_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "sigv4.h"

#define BENCH_AUTHORIZATION_MAX 1024
#define BENCH_SIGN_EXTRA_MAX 4

/* The header values a request carries besides Host and the payload hash. */
struct bench_signature {
  char amz_date[SIGV4_AMZ_DATE_LEN + 1];
  char authorization[BENCH_AUTHORIZATION_MAX];
};

/* Signs method, path (already URI-encoded), query (raw, may be NULL) at
 * Unix time now, with headers Host: host, x-amz-content-sha256:
 * payload_hash, x-amz-date and up to BENCH_SIGN_EXTRA_MAX extra headers,
 * all signed. Everything is borrowed. 0 or an error of
 * sigv4_sign_request(); CAIRN_EINVAL for too many extra headers. */
int bench_sign(const struct sigv4_credentials *credentials, const char *host,
               const char *method, const char *path, const char *query,
               const char *payload_hash, const struct sigv4_header *extra,
               size_t extra_count, int64_t now, struct bench_signature *out);

#endif

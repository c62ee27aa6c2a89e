/* bench_sign.c - SigV4 headers for benchmark requests (see bench_sign.h). */
#include "bench_sign.h"

#include "error.h"

int bench_sign(const struct sigv4_credentials *credentials, const char *host,
               const char *method, const char *path, const char *query,
               const char *payload_hash, const struct sigv4_header *extra,
               size_t extra_count, int64_t now, struct bench_signature *out) {
  if (extra_count > BENCH_SIGN_EXTRA_MAX)
    return CAIRN_EINVAL;
  sigv4_format_amz_date(now, out->amz_date);
  struct sigv4_header headers[3 + BENCH_SIGN_EXTRA_MAX] = {
      {"host", host},
      {"x-amz-content-sha256", payload_hash},
      {"x-amz-date", out->amz_date},
  };
  for (size_t i = 0; i < extra_count; i++)
    headers[3 + i] = extra[i];
  struct sigv4_request request = {
      .method = method,
      .path = path,
      .query = query,
      .headers = headers,
      .header_count = 3 + extra_count,
      .signed_headers = NULL, /* all of them */
      .payload_hash = payload_hash,
  };
  return sigv4_sign_request(credentials, &request, out->amz_date,
                            out->authorization, sizeof out->authorization,
                            NULL);
}

/*
 * fuzz_auth_inputs.c - libFuzzer target for the network inputs that
 * coordinator/auth parses beyond SigV4: scoped tokens (token_decode, then
 * the checks and the scope on whatever parsed) and SigV2 (an Authorization
 * header and a query string, through auth_verify). The first byte picks
 * the target; the rest is the input.
 *
 * Build (clang only): cmake -DCMAKE_C_COMPILER=clang -DCAIRN_FUZZ=ON
 *   -DCMAKE_BUILD_TYPE=Sanitize, target fuzz_auth_inputs; run with
 *   ./fuzz_auth_inputs -max_total_time=60 -max_len=4096
 */
#include "auth.h"
#include "token.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t key[TOKEN_KEY_LEN] = "fuzz-token-key-32-bytes-long...";

static int lookup(const char *access_key, char *secret, size_t cap, void *arg) {
  (void)access_key;
  (void)arg;
  snprintf(secret, cap, "%s", "fuzz-secret");
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  char *text = malloc(size);
  if (!text)
    return 0;
  memcpy(text, data + 1, size - 1);
  text[size - 1] = '\0';
  if (data[0] & 1) {
    struct token t;
    if (token_decode(text, strlen(text), key, &t) != AUTH_TOKEN_MALFORMED) {
      token_check(&t, 1700000000, 1, "127.0.0.1");
      token_allows(&t, "s3:GetObject", t.bucket, t.path, strlen(t.path), NULL);
      token_allows(&t, "s3:ListBucket", t.bucket, NULL, 0, t.path);
    }
  } else {
    /* "header\nquery": the Authorization header value and the raw query. */
    char *nl = strchr(text, '\n');
    const char *query = nl ? nl + 1 : NULL;
    if (nl)
      *nl = '\0';
    struct sigv4_header h[] = {{"host", "bucket.example.com"},
                               {"date", "Tue, 27 Mar 2007 19:36:42 +0000"},
                               {"x-amz-meta-a", "b"},
                               {"authorization", text}};
    struct auth_request r = {.method = "GET",
                             .path = "/key",
                             .query = query,
                             .headers = h,
                             .header_count = text[0] ? 4 : 3,
                             .now = 1175024202,
                             .virtual_bucket = "bucket"};
    struct auth_verifier v = {.lookup_secret = lookup};
    struct auth_result out;
    auth_verify(&v, &r, &out);
  }
  free(text);
  return 0;
}

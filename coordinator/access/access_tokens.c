/*
 * access_tokens.c - the coordinator's side of scoped tokens (token.h):
 * the cluster's token key and generation, kept in coordinator/meta (the
 * key only sealed by coordinator/kms), and finding a token in a request.
 */
#include "access.h"

#include "error.h"
#include "http_server.h"
#include "kms.h"
#include "log.h"
#include "meta.h"
#include "sigv4.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KEY_NAME "token-key"
#define GENERATION_NAME "token-generation"
#define SEAL_CONTEXT "token-key"

static int load_key(struct access *acc, const struct kms *kms) {
  void *blob = NULL;
  size_t len = 0, out_len = 0;
  int r = meta_config_get(acc->meta, KEY_NAME, &blob, &len);
  if (r == CAIRN_ENOENT) {
    uint8_t sealed[TOKEN_KEY_LEN + KMS_SEAL_OVERHEAD];
    if ((r = crypto_random(acc->token_key, TOKEN_KEY_LEN)) != 0 ||
        (r = kms_seal(kms, SEAL_CONTEXT, acc->token_key, TOKEN_KEY_LEN, sealed,
                      sizeof sealed, &out_len)) != 0)
      return r;
    return meta_config_put(acc->meta, KEY_NAME, sealed, out_len);
  }
  if (r)
    return r;
  r = kms_unseal(kms, SEAL_CONTEXT, blob, len, acc->token_key, TOKEN_KEY_LEN,
                 &out_len);
  free(blob);
  if (!r && out_len != TOKEN_KEY_LEN)
    r = CAIRN_ECORRUPT;
  return r;
}

static int store_generation(struct meta *m, uint64_t g) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++)
    b[i] = (uint8_t)(g >> (56 - 8 * i));
  return meta_config_put(m, GENERATION_NAME, b, sizeof b);
}

static int load_generation(struct access *acc) {
  void *v = NULL;
  size_t len = 0;
  int r = meta_config_get(acc->meta, GENERATION_NAME, &v, &len);
  if (r == CAIRN_ENOENT) {
    acc->token_generation = 1;
    return store_generation(acc->meta, 1);
  }
  if (r)
    return r;
  if (len != 8) {
    free(v);
    return CAIRN_ECORRUPT;
  }
  const uint8_t *b = v;
  acc->token_generation = 0;
  for (int i = 0; i < 8; i++)
    acc->token_generation = acc->token_generation << 8 | b[i];
  free(v);
  return 0;
}

int access_tokens_open(struct access *acc, struct meta *meta,
                       const struct kms *kms, char *err, size_t err_len) {
  acc->meta = meta;
  int r = load_key(acc, kms);
  if (!r)
    r = load_generation(acc);
  if (r) {
    OPENSSL_cleanse(acc->token_key, sizeof acc->token_key);
    snprintf(err, err_len, "cannot load the token key: %s", cairn_strerror(r));
    return r;
  }
  acc->tokens = true;
  return 0;
}

void access_tokens_close(struct access *acc) {
  OPENSSL_cleanse(acc->token_key, sizeof acc->token_key);
  acc->tokens = false;
}

int access_tokens_revoke_all(struct access *acc, uint64_t *generation) {
  uint64_t next = acc->token_generation + 1;
  int r = store_generation(acc->meta, next);
  if (r)
    return r;
  acc->token_generation = next;
  *generation = next;
  log_info("access", "token generation raised to %llu: earlier tokens revoked",
           (unsigned long long)next);
  return 0;
}

int access_token_of(struct http_request *req, char *buf, size_t cap,
                    const char **text, size_t *len) {
  static const char param[] = "x-cairn-token";
  int found = 0;
  const char *auth = http_request_header(req, "authorization");
  if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
    *text = auth + 7;
    *len = strlen(*text);
    while (*len && (*text)[*len - 1] == ' ')
      (*len)--;
    found = 1;
  }
  const char *q = strchr(http_request_target(req), '?');
  for (const char *p = q ? q + 1 : NULL; p && *p;) {
    const char *amp = strchr(p, '&');
    size_t n = amp ? (size_t)(amp - p) : strlen(p);
    if (n > sizeof param && memcmp(p, param, sizeof param - 1) == 0 &&
        p[sizeof param - 1] == '=') {
      size_t vlen = n - sizeof param;
      if (found || vlen >= cap)
        return -1;
      *len = sigv4_uri_decode(p + sizeof param, vlen, buf);
      buf[*len] = '\0';
      *text = buf;
      found = 1;
    }
    p = amp ? amp + 1 : NULL;
  }
  return found;
}

/* access.c - authentication and authorization of an HTTP request (see
 * access.h). */
#include "access.h"

#include "error.h"
#include "http_server.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ACCESS_HEADERS_MAX 128 /* the HTTP layer admits at most 100 */

struct lookup_arg {
  const struct iam *iam;
  int64_t now_ms;
  struct iam_principal *who;
};

static int lookup_secret(const char *access_key, char *secret_out, size_t cap,
                         void *arg) {
  struct lookup_arg *a = arg;
  return iam_lookup_key(a->iam, access_key, a->now_ms, secret_out, cap, a->who);
}

/* A request that presents a token: verified, checked, and its owner as the
 * caller. */
static enum auth_status authenticate_token(const struct access *acc,
                                           struct http_request *req,
                                           const char *text, size_t len,
                                           int64_t now_ms,
                                           struct access_caller *out) {
  if (!acc->tokens)
    return AUTH_TOKEN_MALFORMED; /* no key loaded: nothing can verify */
  enum auth_status st = token_decode(text, len, acc->token_key, &out->token);
  if (st == AUTH_OK)
    st = token_check(&out->token, now_ms / 1000, acc->token_generation,
                     http_request_peer(req));
  if (st != AUTH_OK)
    return st;
  int r = iam_principal_of_user(acc->iam, out->token.owner, &out->who);
  if (r == CAIRN_ENOENT || (!r && out->who.disabled))
    return AUTH_TOKEN_OWNER;
  if (r)
    return AUTH_INTERNAL;
  out->has_token = true;
  out->auth.method = AUTH_METHOD_TOKEN;
  out->auth.payload = AUTH_PAYLOAD_UNSIGNED;
  return AUTH_OK;
}

/* 1 when the request also carries a signature (header or query). */
static int has_signature(struct http_request *req) {
  const char *auth = http_request_header(req, "authorization");
  if (auth && strncasecmp(auth, "Bearer ", 7) != 0)
    return 1;
  const char *q = strchr(http_request_target(req), '?');
  return q && (strstr(q, "Signature=") || strstr(q, "X-Amz-Credential=") ||
               strstr(q, "AWSAccessKeyId="));
}

enum auth_status access_authenticate(const struct access *acc,
                                     struct http_request *req,
                                     const char *virtual_bucket, int64_t now_ms,
                                     struct access_caller *out) {
  memset(out, 0, sizeof *out);
  char token_buf[TOKEN_TEXT_MAX + 1];
  const char *token_text = NULL;
  size_t token_len = 0;
  int presented = access_token_of(req, token_buf, sizeof token_buf, &token_text,
                                  &token_len);
  if (presented < 0)
    return AUTH_TOKEN_MALFORMED;
  if (presented) {
    if (has_signature(req))
      return AUTH_INVALID_ARGUMENT; /* one mechanism per request */
    enum auth_status st =
        authenticate_token(acc, req, token_text, token_len, now_ms, out);
    if (st != AUTH_OK)
      OPENSSL_cleanse(out, sizeof *out);
    return st;
  }
  const struct http_header *h;
  size_t n = http_request_headers(req, &h);
  struct sigv4_header headers[ACCESS_HEADERS_MAX];
  if (n > ACCESS_HEADERS_MAX)
    n = ACCESS_HEADERS_MAX;
  for (size_t i = 0; i < n; i++)
    headers[i] = (struct sigv4_header){h[i].name, h[i].value};

  const char *target = http_request_target(req);
  const char *q = strchr(target, '?');
  size_t path_len = q ? (size_t)(q - target) : strlen(target);
  char *path = strndup(target, path_len);
  if (!path)
    return AUTH_INTERNAL;
  struct auth_request ar = {
      .method = http_request_method(req),
      .path = path,
      .query = q ? q + 1 : NULL,
      .headers = headers,
      .header_count = n,
      .now = now_ms / 1000,
      .virtual_bucket = virtual_bucket,
  };
  struct lookup_arg la = {.iam = acc->iam, .now_ms = now_ms, .who = &out->who};
  struct auth_verifier v = {.lookup_secret = lookup_secret,
                            .arg = &la,
                            .sigv2_disabled = !acc->sigv2,
                            .key_cache = acc->key_cache};
  enum auth_status status = auth_verify(&v, &ar, &out->auth);
  free(path);
  if (status == AUTH_OK && out->who.disabled)
    status = AUTH_USER_DISABLED;
  if (status != AUTH_OK)
    OPENSSL_cleanse(&out->auth, sizeof out->auth);
  return status;
}

const char *access_signature_version(const struct access_caller *caller) {
  if (caller->has_token)
    return "CairnToken";
  return caller->auth.method == AUTH_METHOD_V2_HEADER ||
                 caller->auth.method == AUTH_METHOD_V2_QUERY
             ? "AWS"
             : "AWS4-HMAC-SHA256";
}

void access_context_add(struct access_context *ctx, const char *key,
                        const char *value) {
  if (value && ctx->n < ACCESS_CONTEXT_MAX)
    ctx->kv[ctx->n++] = (struct policy_kv){key, value};
}

void access_context_init(struct access_context *ctx, struct http_request *req,
                         const struct iam_principal *who, int64_t now_ms) {
  memset(ctx, 0, sizeof *ctx);
  time_t secs = (time_t)(now_ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  strftime(ctx->current_time, sizeof ctx->current_time, "%Y-%m-%dT%H:%M:%SZ",
           &tm);
  snprintf(ctx->epoch_time, sizeof ctx->epoch_time, "%lld", (long long)secs);
  access_context_add(ctx, "aws:SourceIp", http_request_peer(req));
  access_context_add(ctx, "aws:SecureTransport", "false");
  access_context_add(ctx, "aws:CurrentTime", ctx->current_time);
  access_context_add(ctx, "aws:EpochTime", ctx->epoch_time);
  if (who) {
    access_context_add(ctx, "aws:PrincipalArn", who->arn);
    if (!who->root) {
      access_context_add(ctx, "aws:username", who->user);
      access_context_add(ctx, "aws:userid", who->user);
    }
  }
}

enum policy_decision access_authorize(const struct iam *iam,
                                      const struct iam_principal *who,
                                      const char *action, const char *resource,
                                      const struct access_context *ctx,
                                      const struct policy_set *policies) {
  struct policy_request req = {.action = action,
                               .resource = resource,
                               .context = ctx->kv,
                               .n_context = ctx->n};
  return iam_authorize(iam, who, &req, policies);
}

/* access.c - authentication and authorization of an HTTP request (see
 * access.h). */
#include "access.h"

#include "error.h"
#include "http_server.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

enum auth_status access_authenticate(const struct iam *iam,
                                     struct http_request *req, int64_t now_ms,
                                     struct access_caller *out) {
  memset(out, 0, sizeof *out);
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
  };
  struct lookup_arg la = {.iam = iam, .now_ms = now_ms, .who = &out->who};
  struct auth_verifier v = {.lookup_secret = lookup_secret, .arg = &la};
  enum auth_status status = auth_verify(&v, &ar, &out->auth);
  free(path);
  if (status == AUTH_OK && out->who.disabled)
    status = AUTH_USER_DISABLED;
  if (status != AUTH_OK)
    OPENSSL_cleanse(&out->auth, sizeof out->auth);
  return status;
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

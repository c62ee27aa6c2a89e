/*
 * access.h - who is calling and may they, for one HTTP request: the glue
 * between the HTTP layer, coordinator/auth (SigV4), coordinator/iam (keys,
 * users, their policies) and coordinator/policy (the decision). Shared by
 * the S3 front end and the admin API, so both authenticate and authorize
 * the same way.
 */
#ifndef CAIRN_ACCESS_H
#define CAIRN_ACCESS_H

#include "auth.h"
#include "iam.h"
#include "policy.h"

#include <stdbool.h>
#include <stdint.h>

struct http_request;

struct access_caller {
  struct iam_principal who;
  struct auth_result auth; /* AUTH_OK only; wipe when done (signing key) */
};

/* Verifies req's signature against root's and the IAM users' keys.
 * AUTH_OK: out is filled. AUTH_NO_CREDENTIALS: anonymous. AUTH_USER_DISABLED:
 * the signature is right but the user is disabled. Otherwise the status to
 * answer (InvalidAccessKeyId for an unknown, inactive or expired key). */
enum auth_status access_authenticate(const struct iam *iam,
                                     struct http_request *req, int64_t now_ms,
                                     struct access_caller *out);

#define ACCESS_CONTEXT_MAX 24

/* The condition context of one request; strings are borrowed (from the
 * request, the principal or the buffers here) for its lifetime. */
struct access_context {
  struct policy_kv kv[ACCESS_CONTEXT_MAX];
  size_t n;
  char current_time[32];
  char epoch_time[24];
};

/* aws:SourceIp, aws:SecureTransport ("false": the listener is plain
 * HTTP), aws:CurrentTime, aws:EpochTime, and for a signed-in user
 * aws:username, aws:userid and aws:PrincipalArn. who may be NULL
 * (anonymous). */
void access_context_init(struct access_context *ctx, struct http_request *req,
                         const struct iam_principal *who, int64_t now_ms);
/* Adds key = value (borrowed; value NULL: nothing added). */
void access_context_add(struct access_context *ctx, const char *key,
                        const char *value);

/* The decision for action on resource; who NULL is anonymous. policies:
 * the resource's bucket policy and ACL check (see iam_authorize), or
 * NULL. */
enum policy_decision access_authorize(const struct iam *iam,
                                      const struct iam_principal *who,
                                      const char *action, const char *resource,
                                      const struct access_context *ctx,
                                      const struct policy_set *policies);

#endif

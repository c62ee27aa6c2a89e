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
#include "token.h"

#include <stdbool.h>
#include <stdint.h>

struct http_request;
struct sigv4_key_cache;
struct kms;

/* What authentication accepts, set once at start (coordinator.h owns it;
 * access_tokens_open fills the token part, revoke-all changes the
 * generation). */
struct access {
  const struct iam *iam;
  struct meta *meta;
  bool sigv2;  /* accept AWS Signature Version 2 (option `sigv2`) */
  bool tokens; /* the token key is loaded */
  uint8_t token_key[TOKEN_KEY_LEN]; /* never logged; wiped at close */
  uint64_t token_generation;        /* tokens below it are revoked */
  /* Derived SigV4 signing keys kept between requests (loop thread only),
   * or NULL (common/sigv4.h). */
  struct sigv4_key_cache *key_cache;
};

struct access_caller {
  struct iam_principal who;
  struct auth_result auth; /* AUTH_OK only; wipe when done (signing key) */
  bool has_token;          /* authenticated by a scoped token: */
  struct token token;      /* its scope, authorized on every request */
};

/* Verifies req's signature (SigV4, or SigV2 when acc->sigv2) against
 * root's and the IAM users' keys, or its scoped token (?x-cairn-token= or
 * Authorization: Bearer): then out->has_token, out->token, and out->who
 * is the token's owner (AUTH_TOKEN_*: malformed, signature, expired,
 * revoked, origin, owner gone). virtual_bucket is the bucket the Host
 * header named (virtual-hosted style), else NULL: SigV2 signs it.
 * AUTH_OK: out is filled. AUTH_NO_CREDENTIALS: anonymous. AUTH_USER_DISABLED:
 * the signature is right but the user is disabled. Otherwise the status to
 * answer (InvalidAccessKeyId for an unknown, inactive or expired key). */
enum auth_status access_authenticate(const struct access *acc,
                                     struct http_request *req,
                                     const char *virtual_bucket, int64_t now_ms,
                                     struct access_caller *out);

/* "AWS4-HMAC-SHA256" or "AWS" (SigV2): the s3:signatureversion value. */
const char *access_signature_version(const struct access_caller *caller);

/* ---- scoped tokens (access_tokens.c) ------------------------------------ */

/* Loads the cluster's token key (meta config "token-key", sealed by kms;
 * 32 random bytes created on first start) and the generation
 * ("token-generation", 1 at first). 0 or CAIRN_E* with a reason in err. */
int access_tokens_open(struct access *acc, struct meta *meta,
                       const struct kms *kms, char *err, size_t err_len);
void access_tokens_close(struct access *acc); /* wipes the key */

/* Raises the generation by one, durably: every token issued before is
 * revoked at once. *generation gets the new value. 0 or CAIRN_E*. */
int access_tokens_revoke_all(struct access *acc, uint64_t *generation);

/* The token of req, if it presents one: *text and *len borrowed from the
 * request (the query value decoded into buf[cap]). 1 found, 0 none, -1
 * presented twice or too long. */
int access_token_of(struct http_request *req, char *buf, size_t cap,
                    const char **text, size_t *len);

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

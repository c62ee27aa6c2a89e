/*
 * s3_auth.c - who is calling and may they, for an S3 request: the S3
 * layer's use of coordinator/access. Authentication verifies the signature
 * against root's and the IAM users' keys; authorization asks the one
 * policy evaluation with the operation's IAM action (S3_OP_MAP), the
 * resource ARN and the request's condition keys.
 */
#include "s3_auth.h"

#include "access.h"
#include "coordinator.h"
#include "http_server.h"
#include "s3_request.h"
#include "s3_route.h"
#include "s3_uri.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *s3_authenticate(struct s3_request *r, const char **message) {
  struct access_caller caller;
  const char *vbucket =
      r->route.addressing == S3_ADDRESSING_VIRTUAL ? r->route.bucket : NULL;
  enum auth_status status = access_authenticate(&r->c->access, r->http, vbucket,
                                                coord_now_ms(), &caller);
  *message = NULL;
  if (status == AUTH_NO_CREDENTIALS)
    return "AccessDenied"; /* anonymous: nothing is public until bucket
                              policies and ACLs exist */
  if (status != AUTH_OK) {
    *message = auth_status_message(status);
    return auth_status_s3_code(status);
  }
  const struct auth_result *res = &caller.auth;
  r->principal = caller.who;
  r->signature_version = access_signature_version(&caller);
  r->has_token = caller.has_token;
  if (caller.has_token)
    r->token = caller.token;
  snprintf(r->access_key, sizeof r->access_key, "%s", res->access_key);
  r->auth_payload = (int)res->payload;
  memcpy(r->auth_payload_sha256, res->payload_sha256,
         sizeof r->auth_payload_sha256);
  if (res->payload == AUTH_PAYLOAD_STREAMING_SIGNED ||
      res->payload == AUTH_PAYLOAD_STREAMING_SIGNED_TRAILER) {
    r->auth_stream = malloc(sizeof *r->auth_stream);
    if (r->auth_stream)
      *r->auth_stream = res->stream;
  }
  OPENSSL_cleanse(&caller, sizeof caller);
  if (r->auth_payload == AUTH_PAYLOAD_STREAMING_SIGNED ||
      r->auth_payload == AUTH_PAYLOAD_STREAMING_SIGNED_TRAILER)
    return r->auth_stream ? NULL : "InternalError";
  return NULL;
}

/* "arn:aws:s3:::bucket[/key]" (malloc'd), or NULL when out of memory. */
static char *resource_arn(const char *bucket, const char *key, size_t key_len) {
  size_t cap = 16 + strlen(bucket) + 1 + key_len + 1;
  char *arn = malloc(cap);
  if (!arn)
    return NULL;
  int n = snprintf(arn, cap, "arn:aws:s3:::%s", bucket);
  if (key) {
    arn[n++] = '/';
    memcpy(arn + n, key, key_len);
    arn[n + key_len] = '\0';
  }
  return arn;
}

/* The decision for action on bucket[/key]: the token's scope first (a
 * token never reaches beyond it, whoever its owner), then the owner's or
 * signer's policies. NULL or the S3 error code, with *message. */
static const char *decide(struct s3_request *r, const char *action,
                          const char *bucket, const char *key, size_t key_len,
                          const struct access_context *ctx,
                          const char **message) {
  if (r->has_token) {
    enum auth_status st = token_allows(&r->token, action, bucket, key, key_len,
                                       s3_query(r, "prefix"));
    if (st != AUTH_OK) {
      *message = auth_status_message(st);
      return auth_status_s3_code(st);
    }
  }
  if (r->principal.root)
    return NULL; /* root may do everything */
  /* ListBuckets has no resource of its own: "arn:aws:s3:::*" is matched
   * by policies on "*" or on every bucket, not by single-bucket ones. */
  char *arn = !bucket[0] ? strdup("arn:aws:s3:::*")
                         : resource_arn(bucket, key, key_len);
  if (!arn)
    return "InternalError";
  enum policy_decision d =
      access_authorize(&r->c->iam, &r->principal, action, arn, ctx);
  free(arn);
  return d == POLICY_ALLOW ? NULL : "AccessDenied";
}

/* CopyObject and UploadPartCopy also read their source: s3:GetObject on
 * it. x-amz-copy-source is "[/]bucket/key[?versionId=...]", encoded. */
static const char *authorize_copy_source(struct s3_request *r,
                                         const struct access_context *ctx,
                                         const char **message) {
  const char *src = s3_header(r, "x-amz-copy-source");
  if (!src)
    return NULL;
  if (*src == '/')
    src++;
  size_t n = strcspn(src, "?");
  char *decoded = s3_uri_decode(src, n, 0, 1);
  char *slash = decoded ? strchr(decoded, '/') : NULL;
  if (!slash || slash == decoded || !slash[1]) {
    free(decoded);
    return "InvalidArgument";
  }
  *slash = '\0';
  const char *error = decide(r, "s3:GetObject", decoded, slash + 1,
                             strlen(slash + 1), ctx, message);
  free(decoded);
  return error;
}

const char *s3_authorize(struct s3_request *r, const char **message) {
  *message = NULL;
  enum s3_operation op = r->operation;
  const char *action = s3_op_action(op);
  struct access_context ctx;
  memset(&ctx, 0, sizeof ctx);
  if (!r->principal.root) { /* root skips building the context */
    access_context_init(&ctx, r->http, &r->principal, coord_now_ms());
    access_context_add(&ctx, "s3:x-amz-acl", s3_header(r, "x-amz-acl"));
    access_context_add(&ctx, "s3:signatureversion", r->signature_version);
    if (strcmp(action, "s3:ListBucket") == 0 ||
        strcmp(action, "s3:ListBucketVersions") == 0 ||
        strcmp(action, "s3:ListBucketMultipartUploads") == 0) {
      access_context_add(&ctx, "s3:prefix", s3_query(r, "prefix"));
      access_context_add(&ctx, "s3:delimiter", s3_query(r, "delimiter"));
      access_context_add(&ctx, "s3:max-keys", s3_query(r, "max-keys"));
    }
  }
  const char *error =
      r->key ? decide(r, action, r->bucket, r->key, r->route.key_len, &ctx,
                      message)
      : op == S3_OP_DELETE_OBJECTS
          ? decide(r, action, r->bucket, "*", 1, &ctx, message)
          : decide(r, action, r->bucket, NULL, 0, &ctx, message);
  if (!error && (op == S3_OP_COPY_OBJECT || op == S3_OP_UPLOAD_PART_COPY))
    error = authorize_copy_source(r, &ctx, message);
  return error;
}

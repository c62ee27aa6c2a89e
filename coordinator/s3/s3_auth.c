/*
 * s3_auth.c - who is calling and may they, for an S3 request: the S3
 * layer's use of coordinator/access. Authentication verifies the signature
 * against root's and the IAM users' keys (no credentials at all: an
 * anonymous caller). Authorization asks the one policy evaluation with the
 * operation's IAM action (S3_OP_MAP), the resource ARN, the request's
 * condition keys and what the bucket brings: its bucket policy, joined to
 * the caller's identity policies, and its ACLs through the acl_check slot
 * (asked only when no policy allowed or denied: an explicit Deny anywhere
 * still wins, and an object's ACL costs a read only then).
 *
 * Ownership rights, as in AWS: the bucket owner may always read and write
 * the bucket's ACL, policy and ownership controls, and an object's owner
 * its object's ACL (unless a policy explicitly denies it), even under
 * BucketOwnerEnforced, which switches the ACL grants off.
 */
#include "s3_auth.h"

#include "access.h"
#include "acl.h"
#include "coordinator.h"
#include "error.h"
#include "http_server.h"
#include "meta.h"
#include "policy.h"
#include "s3_request.h"
#include "s3_route.h"
#include "s3_uri.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *s3_authenticate(struct s3_request *r, const char **message) {
  struct access_caller caller;
  const char *vbucket =
      r->route.addressing == S3_ADDRESSING_VIRTUAL ? r->route.bucket : NULL;
  enum auth_status status = access_authenticate(&r->c->access, r->http, vbucket,
                                                coord_now_ms(), &caller);
  *message = NULL;
  if (status == AUTH_NO_CREDENTIALS) {
    /* No Authorization header, no presigned query: anonymous, principal
     * "*". s3_authorize lets it through only where a bucket policy or an
     * ACL grant says so. A wrong signature never gets here. */
    r->anonymous = 1;
    const char *sha = s3_header(r, "x-amz-content-sha256");
    r->auth_payload =
        sha && strcmp(sha, "STREAMING-UNSIGNED-PAYLOAD-TRAILER") == 0
            ? AUTH_PAYLOAD_STREAMING_UNSIGNED_TRAILER
            : AUTH_PAYLOAD_UNSIGNED; /* nothing signed */
    return NULL;
  }
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

/* A scoped token never reaches beyond its scope, whoever its owner (root
 * included): checked before any policy. NULL or the S3 error code. */
static const char *token_scope_check(struct s3_request *r, const char *action,
                                     const char *bucket, const char *key,
                                     size_t key_len, const char **message) {
  if (!r->has_token)
    return NULL;
  enum auth_status st = token_allows(&r->token, action, bucket, key, key_len,
                                     s3_query(r, "prefix"));
  if (st == AUTH_OK)
    return NULL;
  if (message)
    *message = auth_status_message(st);
  return auth_status_s3_code(st);
}

/* ---- what a bucket brings to a decision --------------------------------- */

/* Loads bucket's record, policy and ACL into a (zeroed first). 0, or
 * CAIRN_E* for a store failure (a missing bucket is a->exists == 0). A
 * stored policy that no longer parses grants nothing (fail closed). */
static int bucket_access_load(struct s3_request *r, const char *bucket,
                              struct s3_bucket_access *a) {
  memset(a, 0, sizeof *a);
  struct meta *m = r->c->meta;
  int rc = meta_bucket_get(m, bucket, &a->bucket);
  if (rc == CAIRN_ENOENT || rc == CAIRN_EINVAL)
    return 0;
  if (rc)
    return rc;
  a->exists = 1;
  char *text = NULL;
  size_t len = 0;
  rc = meta_bucket_config_get(m, bucket, "policy", &text, &len);
  if (rc == 0) {
    char err[POLICY_ERR_MAX];
    if (policy_parse(text, len, POLICY_BUCKET, &a->policy, err, sizeof err))
      a->policy = NULL;
    a->policy_text = text;
    a->policy_len = len;
  } else if (rc != CAIRN_ENOENT) {
    return rc;
  }
  rc = meta_bucket_config_get(m, bucket, "acl", &text, &len);
  if (rc == 0) {
    int bad = acl_decode(text, len, &a->acl);
    free(text);
    if (bad)
      return CAIRN_ECORRUPT;
  } else if (rc == CAIRN_ENOENT) {
    /* Buckets from before ACLs: root's, private. */
    struct acl_owner root;
    acl_owner_of("arn:aws:iam::" POLICY_ACCOUNT_ID ":root", "", &root);
    acl_private(&root, &a->acl);
  } else {
    return rc;
  }
  return 0;
}

static void access_destroy(struct s3_bucket_access *a) {
  policy_free(a->policy);
  free(a->policy_text);
  free(a);
}

void s3_bucket_access_free(struct s3_bucket_access *a) {
  if (a && --a->refs == 0)
    access_destroy(a);
}

static size_t cache_slot(const char *bucket) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)bucket; *p; p++)
    h = (h ^ *p) * 16777619u;
  return h % S3_BUCKET_CACHE_SLOTS;
}

/* A reference to bucket's access: the cached one when no configuration
 * was written since it was loaded, else loaded now (and cached). The
 * generation is read before the rows, so a write that lands while they
 * are read leaves an entry that is already out of date. */
static struct s3_bucket_access *bucket_access_get(struct s3_request *r,
                                                  const char *bucket) {
  struct coordinator *c = r->c;
  uint64_t generation = meta_config_generation(c->meta);
  size_t len = strlen(bucket);
  size_t slot = cache_slot(bucket);
  struct s3_bucket_access *e = c->bucket_cache[slot];
  if (e && e->generation == generation && strcmp(e->name, bucket) == 0) {
    e->refs++;
    return e;
  }
  struct s3_bucket_access *a = malloc(sizeof *a);
  if (!a)
    return NULL;
  if (bucket_access_load(r, bucket, a) != 0) {
    access_destroy(a);
    return NULL;
  }
  a->refs = 1;
  if (len < sizeof a->name) {
    memcpy(a->name, bucket, len + 1);
    a->generation = generation;
    a->refs++;
    s3_bucket_access_free(e);
    c->bucket_cache[slot] = a;
  }
  return a;
}

void s3_bucket_cache_clear(struct coordinator *c) {
  for (size_t i = 0; i < S3_BUCKET_CACHE_SLOTS; i++) {
    s3_bucket_access_free(c->bucket_cache[i]);
    c->bucket_cache[i] = NULL;
  }
}

const struct s3_bucket_access *s3_bucket_access(struct s3_request *r) {
  if (!r->access)
    r->access = bucket_access_get(r, r->bucket);
  return r->access;
}

const struct s3_bucket_access *s3_bucket_access_existing(struct s3_request *r) {
  const struct s3_bucket_access *b = s3_bucket_access(r);
  if (!b)
    s3_send_error(r, "InternalError", NULL);
  else if (!b->exists)
    s3_send_error(r, "NoSuchBucket", NULL);
  return b && b->exists ? b : NULL;
}

int s3_bucket_ownership(const struct s3_bucket_access *a) {
  return a->bucket.ownership ? a->bucket.ownership : S3_DEFAULT_OWNERSHIP;
}

void s3_caller_owner(const struct s3_request *r, struct acl_owner *out) {
  acl_owner_of(r->principal.arn, r->principal.user, out);
}

/* ---- the ACL question (policy_set.acl_check) ---------------------------- */

struct acl_question {
  struct s3_request *r;
  const struct s3_bucket_access *bucket;
  const char *action;
  const char *key; /* NULL for the bucket itself */
  const char *caller_id;
};

/* What the bucket owner may do by ownership alone. */
static int owner_action(const char *action) {
  static const char *const actions[] = {"s3:GetBucketAcl",
                                        "s3:PutBucketAcl",
                                        "s3:GetBucketPolicy",
                                        "s3:PutBucketPolicy",
                                        "s3:DeleteBucketPolicy",
                                        "s3:GetBucketPolicyStatus",
                                        "s3:GetBucketOwnershipControls",
                                        "s3:PutBucketOwnershipControls"};
  for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++)
    if (strcasecmp(actions[i], action) == 0)
      return 1;
  return 0;
}

static int object_acl_allows(const struct acl_question *q, unsigned perm) {
  struct meta_object o;
  if (meta_object_get_latest(q->r->c->meta, q->bucket->bucket.name, q->key,
                             &o) != 0) {
    meta_object_free(&o);
    return 0; /* no object: nothing to grant (AWS answers 403 too) */
  }
  struct acl *acl = malloc(sizeof *acl);
  int allowed = 0;
  if (acl) {
    if (!o.attrs.acl)
      acl_private(&q->bucket->acl.owner, acl);
    if (o.attrs.acl && acl_decode(o.attrs.acl, strlen(o.attrs.acl), acl)) {
      allowed = 0; /* corrupt: grants nothing */
    } else {
      int is_owner = q->caller_id && strcmp(q->caller_id, acl->owner.id) == 0;
      allowed = (is_owner && (perm & (ACL_READ_ACP | ACL_WRITE_ACP))) ||
                (s3_bucket_ownership(q->bucket) !=
                     META_OWNERSHIP_BUCKET_OWNER_ENFORCED &&
                 acl_allows(acl, q->caller_id, perm));
    }
    free(acl);
  }
  meta_object_free(&o);
  return allowed;
}

static int acl_question_allows(void *arg) {
  const struct acl_question *q = arg;
  const struct s3_bucket_access *b = q->bucket;
  if (!q->key && q->caller_id && strcmp(q->caller_id, b->acl.owner.id) == 0 &&
      owner_action(q->action))
    return 1;
  unsigned perm = acl_bucket_permission(q->action);
  if (perm && s3_bucket_ownership(b) != META_OWNERSHIP_BUCKET_OWNER_ENFORCED &&
      acl_allows(&b->acl, q->caller_id, perm))
    return 1;
  perm = acl_object_permission(q->action);
  return perm && q->key ? object_acl_allows(q, perm) : 0;
}

/* The decision for action on resource (the ARN of bucket b's key, or of
 * the bucket when key is NULL; b NULL: no bucket involved). */
static const char *decide(struct s3_request *r, const char *action,
                          const char *resource,
                          const struct s3_bucket_access *b, const char *key,
                          const struct access_context *ctx) {
  if (!resource)
    return "InternalError";
  struct acl_owner caller;
  s3_caller_owner(r, &caller);
  struct acl_question q = {r, b, action, key, r->anonymous ? NULL : caller.id};
  struct policy_set set = {0};
  if (b && b->exists) {
    set.bucket = b->policy;
    set.acl_check = acl_question_allows;
    set.acl_arg = &q;
  }
  enum policy_decision d =
      access_authorize(&r->c->iam, r->anonymous ? NULL : &r->principal, action,
                       resource, ctx, &set);
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
  const char *slash = decoded ? strchr(decoded, '/') : NULL;
  if (!slash || slash == decoded || !slash[1]) {
    free(decoded);
    return "InvalidArgument";
  }
  char *arn = resource_arn("", decoded, strlen(decoded));
  /* The source bucket's policy and ACLs decide too. */
  char bucket[S3_BUCKET_MAX + 1];
  size_t blen = (size_t)(slash - decoded);
  const char *error = NULL;
  struct s3_bucket_access *b = NULL;
  if (blen > S3_BUCKET_MAX) {
    error = "InvalidArgument";
  } else {
    memcpy(bucket, decoded, blen);
    bucket[blen] = '\0';
    if (!(b = bucket_access_get(r, bucket)))
      error = "InternalError";
  }
  if (!error)
    error = token_scope_check(r, "s3:GetObject", bucket, slash + 1,
                              strlen(slash + 1), message);
  if (!error && !r->principal.root)
    error = decide(r, "s3:GetObject", arn, b, slash + 1, ctx);
  s3_bucket_access_free(b);
  free(arn);
  free(decoded);
  return error;
}

static void request_context(struct s3_request *r, struct access_context *ctx) {
  access_context_init(ctx, r->http, r->anonymous ? NULL : &r->principal,
                      coord_now_ms());
  access_context_add(ctx, "s3:x-amz-acl", s3_header(r, "x-amz-acl"));
  if (!r->anonymous)
    access_context_add(ctx, "s3:signatureversion", r->signature_version);
}

const char *s3_authorize_key(struct s3_request *r, const char *action,
                             const char *key, size_t key_len) {
  const char *error =
      token_scope_check(r, action, r->bucket, key, key_len, NULL);
  if (error || r->principal.root)
    return error;
  const struct s3_bucket_access *b = s3_bucket_access(r);
  if (!b)
    return "InternalError";
  struct access_context ctx;
  request_context(r, &ctx);
  char *arn = resource_arn(r->bucket, key, key_len);
  error = decide(r, action, arn, b, key, &ctx);
  free(arn);
  return error;
}

const char *s3_authorize(struct s3_request *r, const char **message) {
  *message = NULL;
  enum s3_operation op = r->operation;
  const char *action = s3_op_action(op);
  const char *error =
      op == S3_OP_DELETE_OBJECTS
          ? token_scope_check(r, action, r->bucket, "*", 1, message)
          : token_scope_check(r, action, r->bucket, r->key,
                              r->key ? r->route.key_len : 0, message);
  if (error)
    return error;
  if (r->principal.root && !r->has_token)
    return NULL;         /* root may do everything: skip building the context */
  if (r->principal.root) /* a root-owned token: its scope was the check */
    return op == S3_OP_COPY_OBJECT || op == S3_OP_UPLOAD_PART_COPY
               ? authorize_copy_source(r, NULL, message)
               : NULL;
  const struct s3_bucket_access *b = NULL;
  if (r->bucket[0] && op != S3_OP_CREATE_BUCKET) {
    if (!(b = s3_bucket_access(r)))
      return "InternalError";
    /* AWS tells an anonymous caller that a bucket does not exist before
     * it refuses it; a signed caller is judged as before. */
    if (!b->exists && r->anonymous)
      return "NoSuchBucket";
  }
  /* DeleteObjects is judged key by key (s3_authorize_key), each entry of
   * the answer saying AccessDenied on its own. */
  if (op == S3_OP_DELETE_OBJECTS)
    return NULL;
  struct access_context ctx;
  request_context(r, &ctx);
  if (strcmp(action, "s3:ListBucket") == 0 ||
      strcmp(action, "s3:ListBucketVersions") == 0 ||
      strcmp(action, "s3:ListBucketMultipartUploads") == 0) {
    access_context_add(&ctx, "s3:prefix", s3_query(r, "prefix"));
    access_context_add(&ctx, "s3:delimiter", s3_query(r, "delimiter"));
    access_context_add(&ctx, "s3:max-keys", s3_query(r, "max-keys"));
  }
  /* ListBuckets has no resource of its own: "arn:aws:s3:::*" is matched
   * by policies on "*" or on every bucket, not by single-bucket ones. */
  char *arn = !r->bucket[0] ? strdup("arn:aws:s3:::*")
              : r->key      ? resource_arn(r->bucket, r->key, r->route.key_len)
                            : resource_arn(r->bucket, NULL, 0);
  error = decide(r, action, arn, b, r->key, &ctx);
  free(arn);
  if (!error && (op == S3_OP_COPY_OBJECT || op == S3_OP_UPLOAD_PART_COPY))
    error = authorize_copy_source(r, &ctx, message);
  return error;
}

/*
 * s3_auth.h - who is calling and may they: the S3 layer's use of
 * coordinator/access (AWS Signature V4 in the Authorization header or a
 * presigned URL, against root's and the IAM users' keys; then the one
 * policy evaluation).
 *
 * On success of s3_authenticate r->access_key and r->principal are set
 * (or r->anonymous when the request carries no credentials at all) and, for
 * signed streaming (aws-chunked) uploads, the chunk-signature state is kept in
 * r->auth_stream.
 */
#ifndef CAIRN_S3_AUTH_H
#define CAIRN_S3_AUTH_H

#include "acl.h"
#include "meta.h"

#include <stddef.h>

struct coordinator;
struct s3_request;
struct policy;

/* Object ownership of a bucket that never set one: ObjectWriter, so ACLs
 * work as most clients and the s3-tests suite expect (AWS's default for
 * new buckets is BucketOwnerEnforced; README says why Cairn differs). */
#define S3_DEFAULT_OWNERSHIP META_OWNERSHIP_OBJECT_WRITER

/* What a bucket brings to a decision. Immutable once loaded, and shared:
 * the coordinator keeps the last loaded access of up to
 * S3_BUCKET_CACHE_SLOTS buckets (c->bucket_cache), each valid while the
 * store's meta_config_generation() is the one read before it was loaded,
 * so every write of a bucket record, policy or ACL (or of any IAM row)
 * makes the next request load again: a changed policy or ACL applies to
 * the next request, never a stale one. */
struct s3_bucket_access {
  int exists;
  struct meta_bucket bucket;
  char *policy_text; /* as stored, NUL-terminated; NULL: no policy */
  size_t policy_len;
  struct policy *policy; /* parsed; NULL: none */
  struct acl acl;        /* stored, or root's private ACL for old buckets */
  /* The cache's bookkeeping (s3_auth.c). */
  char name[META_BUCKET_MAX + 1]; /* the bucket asked for */
  uint64_t generation;            /* meta_config_generation before loading */
  unsigned refs;                  /* the cache's and each request's */
};

/* Drops every cached bucket access (at shutdown, loop thread). */
void s3_bucket_cache_clear(struct coordinator *c);

/* r's bucket (r->access, a reference owned by r, from the cache or loaded
 * on first use); NULL when the store fails or memory runs out (answer
 * InternalError). */
const struct s3_bucket_access *s3_bucket_access(struct s3_request *r);
/* The same for a bucket that must exist: else NoSuchBucket (or
 * InternalError) is answered and NULL returned. */
const struct s3_bucket_access *s3_bucket_access_existing(struct s3_request *r);
/* Drops a reference from s3_bucket_access; NULL is fine. */
void s3_bucket_access_free(struct s3_bucket_access *a);
/* META_OWNERSHIP_* in force (the default applied). */
int s3_bucket_ownership(const struct s3_bucket_access *a);
/* The caller's canonical id and display name (meaningless if anonymous). */
void s3_caller_owner(const struct s3_request *r, struct acl_owner *out);

/* NULL when authenticated, else the S3 error code to answer and, in
 * *message, AWS's message for it. */
const char *s3_authenticate(struct s3_request *r, const char **message);

/* NULL when the caller may run r->operation (its IAM action in S3_OP_MAP)
 * on r's bucket/key (and, for copies, read the source), else the S3 error
 * code ("AccessDenied"; "NoSuchBucket" for an anonymous caller and a
 * missing bucket) and in *message a specific message or NULL. With a
 * scoped token the token's scope is checked too ("outside the token's
 * scope"), and the owner's policies still apply. DeleteObjects passes
 * here (within a token's scope): its handler asks s3_authorize_key for
 * every key. */
const char *s3_authorize(struct s3_request *r, const char **message);
/* The same question for action on key of r's bucket (key NULL: on the
 * bucket itself). */
const char *s3_authorize_key(struct s3_request *r, const char *action,
                             const char *key, size_t key_len);

#endif

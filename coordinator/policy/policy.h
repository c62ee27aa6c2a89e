/*
 * policy.h - may they? Parsing and evaluation of access policies, a pure
 * function of (principal, action, resource, context, policies): no I/O, no
 * clock, no globals. Links jansson only.
 *
 * Two input forms, both turned into one AWS-shaped document at parse time:
 *  - AWS IAM JSON: {"Version", "Id", "Statement": object or array}; each
 *    statement has Sid, Effect, Action|NotAction, Resource|NotResource,
 *    Principal|NotPrincipal (bucket policies only) and Condition.
 *  - MyFSIO's compact form: [{"bucket": "name" or "*", "actions": ["list",
 *    "read", "write", "delete", "share", "policy", "replication", "iam:*",
 *    "s3:GetObject", ...]}], each entry an Allow of the mapped actions on
 *    the bucket and its objects (policy_compact_actions lists the mapping).
 *
 * Evaluation, as AWS documents it for one account: an explicit Deny in any
 * applicable policy wins; otherwise an Allow from any of them (identity
 * policies, the bucket policy, later ACL grants through set->acl_allows);
 * otherwise the implicit deny.
 *
 * Matching: actions compare without case, with '*' and '?' wildcards;
 * resources with case and wildcards ('*' also spans '/'). Conditions: every
 * operator block and every key in it must hold (AND); the values of one key
 * are alternatives (OR); negated operators hold when no value matches. A
 * key absent from the context makes a condition false, except for negated
 * operators, ...IfExists forms and Null, which then hold.
 *
 * Ownership: a struct policy is immutable after policy_parse and owned by
 * the caller (policy_free). policy_evaluate borrows everything.
 */
#ifndef CAIRN_POLICY_H
#define CAIRN_POLICY_H

#include <stddef.h>

/* S3 bucket policies: 20 KiB (AWS). IAM's own quotas are smaller (2 KiB of
 * inline user policy, 6 KiB managed); Cairn allows 20 KiB everywhere. */
#define POLICY_DOC_MAX (20 * 1024)
#define POLICY_STATEMENTS_MAX 128 /* statements per document */
#define POLICY_VALUES_MAX 256     /* entries in one Action/Resource/... list */
#define POLICY_DEPTH_MAX 8        /* JSON nesting (AWS needs 5) */
#define POLICY_ERR_MAX 256        /* room for policy_parse's message */

#define POLICY_ACCOUNT_ID "000000000000"

enum policy_kind {
  POLICY_IDENTITY, /* attached to a user or group: no Principal */
  POLICY_BUCKET    /* a bucket policy: Principal or NotPrincipal required */
};

struct policy;

/* Parses and validates text[0..len) (AWS or compact form). Returns 0 and
 * *out, or CAIRN_EINVAL (malformed: the S3 answer is MalformedPolicy),
 * CAIRN_ETOOBIG (over POLICY_DOC_MAX) or CAIRN_ENOMEM, with a one-line
 * reason in err (POLICY_ERR_MAX bytes is enough). */
int policy_parse(const char *text, size_t len, enum policy_kind kind,
                 struct policy **out, char *err, size_t err_len);
void policy_free(struct policy *p);
/* The AWS form of p (compact input converted), compact JSON, malloc'd. */
char *policy_to_json(const struct policy *p);

/* One condition-context entry: "aws:SourceIp" -> "127.0.0.1". Values are
 * text: "true"/"false" for Bool keys, decimal for numeric ones, ISO 8601
 * ("2026-12-01T10:00:00Z") or epoch seconds for dates. */
struct policy_kv {
  const char *key; /* compared without case, as AWS does */
  const char *value;
};

struct policy_request {
  /* "arn:aws:iam::000000000000:user/alice", the account root
   * "arn:aws:iam::000000000000:root", or NULL when anonymous. */
  const char *principal;
  const char *action;   /* "s3:GetObject" */
  const char *resource; /* "arn:aws:s3:::bucket/key" */
  const struct policy_kv *context;
  size_t n_context;
};

/* The policies that apply to one request. */
struct policy_set {
  const struct policy *const *identity; /* the user's and its groups' */
  size_t n_identity;
  const struct policy *bucket; /* or NULL */
  int acl_allows;              /* an ACL grant allows the request */
  /* Or asked lazily: called only when no policy denied or allowed, since
   * an object's ACL costs a metadata read. NULL: no such check. */
  int (*acl_check)(void *arg);
  void *acl_arg;
};

enum policy_decision {
  POLICY_IMPLICIT_DENY = 0, /* nothing allowed it */
  POLICY_ALLOW,
  POLICY_EXPLICIT_DENY
};

enum policy_decision policy_evaluate(const struct policy_request *req,
                                     const struct policy_set *set);

/* A bucket policy speaks of its own bucket only (AWS: "Policy has invalid
 * resource"): every Resource/NotResource of p must be able to name bucket
 * or an object in it. 0, or CAIRN_EINVAL with the reason in err. */
int policy_check_bucket(const struct policy *p, const char *bucket, char *err,
                        size_t err_len);

/* GetBucketPolicyStatus: 1 when a statement of p allows Principal "*"
 * (also {"AWS": "*"} or "*" among a list) without a Condition, i.e.
 * anyone, also anonymous callers, gets something. */
int policy_is_public(const struct policy *p);

/* ---- pieces exposed for tests and for other modules ------------------ */

/* AWS wildcard match: '*' any run (also empty, also '/'), '?' one byte. */
int policy_wildcard_match(const char *pattern, const char *text,
                          int ignore_case);
/* The AWS actions a compact-form word stands for ("read" -> s3:GetObject,
 * ...), NULL-terminated, or NULL for an unknown word. Static. */
const char *const *policy_compact_actions(const char *word);

#endif

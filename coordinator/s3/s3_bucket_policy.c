/*
 * s3_bucket_policy.c - PutBucketPolicy, GetBucketPolicy, DeleteBucketPolicy
 * and GetBucketPolicyStatus.
 *
 * The policy is parsed by coordinator/policy (as a bucket policy: every
 * statement needs a Principal or NotPrincipal) before it is stored, so a
 * stored policy always parses; it is kept as the caller sent it (table
 * 'C', name "policy") and GetBucketPolicy returns it unchanged. Who may
 * set it is decided before the handler runs: root, the bucket owner, or a
 * caller some policy allows s3:PutBucketPolicy.
 */
#include "coordinator.h"
#include "error.h"
#include "meta.h"
#include "policy.h"
#include "s3_auth.h"
#include "s3_ops.h"

#include <stdio.h>
#include <string.h>

static void put_policy_body_done(struct s3_request *r) {
  struct policy *p = NULL;
  char err[POLICY_ERR_MAX], message[POLICY_ERR_MAX + 32];
  int rc = policy_parse(r->collected, r->collected_len, POLICY_BUCKET, &p, err,
                        sizeof err);
  if (rc == 0)
    rc = policy_check_bucket(p, r->bucket, err, sizeof err);
  policy_free(p);
  if (rc == CAIRN_ENOMEM) {
    s3_send_cairn_error(r, rc);
    return;
  }
  if (rc) {
    snprintf(message, sizeof message, "Policy is not valid: %s", err);
    s3_send_error(r, "MalformedPolicy", message);
    return;
  }
  rc = meta_bucket_config_set(r->c->meta, r->bucket, "policy", r->collected,
                              r->collected_len);
  s3_send_bucket_write(r, rc, 204);
}

void s3_put_bucket_policy(struct s3_request *r) {
  struct meta_bucket b;
  if (s3_bucket_find(r, &b) != 0)
    return;
  s3_collect_body(r, POLICY_DOC_MAX, "MalformedPolicy", put_policy_body_done);
}

/* The stored policy, or an answer (NoSuchBucket, NoSuchBucketPolicy,
 * InternalError) already sent: NULL. */
static const struct s3_bucket_access *stored_policy(struct s3_request *r) {
  const struct s3_bucket_access *a = s3_bucket_access_existing(r);
  if (!a)
    return NULL;
  if (!a->policy_text)
    s3_send_error(r, "NoSuchBucketPolicy", NULL);
  else
    return a;
  return NULL;
}

void s3_get_bucket_policy(struct s3_request *r) {
  const struct s3_bucket_access *a = stored_policy(r);
  if (a)
    s3_send(r, 200, NULL, 0, "application/json", a->policy_text, a->policy_len);
}

void s3_delete_bucket_policy(struct s3_request *r) {
  int rc = meta_bucket_config_set(r->c->meta, r->bucket, "policy", NULL, 0);
  s3_send_bucket_write(r, rc, 204);
}

void s3_get_bucket_policy_status(struct s3_request *r) {
  const struct s3_bucket_access *a = stored_policy(r);
  if (!a)
    return;
  struct s3_xml x;
  s3_xml_init(&x, "PolicyStatus");
  s3_xml_text(&x, "IsPublic",
              a->policy && policy_is_public(a->policy) ? "true" : "false");
  s3_xml_close(&x, "PolicyStatus");
  s3_send_xml(r, &x);
}

/* admin_buckets.c - bucket policies through the admin API (what `cairn
 * bucket policy` drives): the same stored document as S3's
 * Put/Get/DeleteBucketPolicy (table 'C', "policy"), validated by the same
 * parser. Allowed to root and to callers whose policy allows the S3
 * action of the route on arn:aws:s3:::BUCKET. */
#include "admin_internal.h"

#include "coordinator.h"
#include "error.h"
#include "meta.h"
#include "policy.h"

#include <stdlib.h>

static void send_no_bucket(struct admin_request *a) {
  admin_send_error(a, 404, "NoSuchBucket", "The bucket does not exist.");
}

void admin_get_bucket_policy(struct admin_request *a) {
  struct meta_bucket b;
  int r = meta_bucket_get(a->c->meta, a->bucket, &b);
  char *text = NULL;
  size_t len = 0;
  if (!r)
    r = meta_bucket_config_get(a->c->meta, a->bucket, "policy", &text, &len);
  else if (r == CAIRN_ENOENT || r == CAIRN_EINVAL) {
    send_no_bucket(a);
    return;
  }
  if (r && r != CAIRN_ENOENT) {
    admin_send_cairn_error(a, r, NULL);
    return;
  }
  json_t *policy = text ? json_loadb(text, len, 0, NULL) : json_null();
  free(text);
  admin_send_json(a, 200,
                  json_pack("{s:s, s:o}", "bucket", a->bucket, "policy",
                            policy ? policy : json_null()));
}

void admin_put_bucket_policy(struct admin_request *a) {
  char err[POLICY_ERR_MAX] = "";
  struct policy *p = NULL;
  const char *text = a->body ? a->body : "";
  int r = policy_parse(text, a->body_len, POLICY_BUCKET, &p, err, sizeof err);
  if (r == 0)
    r = policy_check_bucket(p, a->bucket, err, sizeof err);
  policy_free(p);
  if (!r)
    r = meta_bucket_config_set(a->c->meta, a->bucket, "policy", text,
                               a->body_len);
  else if (r != CAIRN_ENOMEM) {
    admin_send_error(a, 400, "MalformedPolicy", err[0] ? err : "Invalid.");
    return;
  }
  if (r == CAIRN_ENOENT)
    send_no_bucket(a);
  else if (r)
    admin_send_cairn_error(a, r, NULL);
  else
    admin_send_json(a, 200, json_pack("{s:b}", "ok", 1));
}

void admin_delete_bucket_policy(struct admin_request *a) {
  int r = meta_bucket_config_set(a->c->meta, a->bucket, "policy", NULL, 0);
  if (r == CAIRN_ENOENT || r == CAIRN_EINVAL)
    send_no_bucket(a);
  else if (r)
    admin_send_cairn_error(a, r, NULL);
  else
    admin_send_json(a, 200, json_pack("{s:b}", "ok", 1));
}

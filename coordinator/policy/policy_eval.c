/*
 * policy_eval.c - the one evaluation function: explicit Deny anywhere
 * wins, then an Allow from any applicable policy, else the implicit deny
 * (AWS "Policy evaluation logic", single account).
 */
#include "policy_internal.h"

#include "error.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Iterative '*'/'?' matcher with one back-track point: O(n*m) worst case,
 * no recursion (patterns come from users). */
int policy_wildcard_match(const char *pattern, const char *text,
                          int ignore_case) {
  const char *p = pattern, *t = text, *star = NULL, *resume = NULL;
  while (*t) {
    char pc = *p, tc = *t;
    if (ignore_case) {
      pc = (char)tolower((unsigned char)pc);
      tc = (char)tolower((unsigned char)tc);
    }
    if (*p == '*') {
      star = ++p;
      resume = t;
    } else if (*p && (*p == '?' || pc == tc)) {
      p++;
      t++;
    } else if (star) {
      p = star;
      t = ++resume;
    } else {
      return 0;
    }
  }
  while (*p == '*')
    p++;
  return *p == '\0';
}

/* Does any entry of v (a string or an array of strings) match text? */
static int any_matches(json_t *v, const char *text, int ignore_case) {
  if (json_is_string(v))
    return policy_wildcard_match(json_string_value(v), text, ignore_case);
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) {
    if (policy_wildcard_match(json_string_value(e), text, ignore_case))
      return 1;
  }
  return 0;
}

/* A principal id of a policy against the caller: "*" is everyone (also
 * anonymous); the account id or its root ARN is every identity of the
 * account; otherwise the ARN itself. */
static int principal_id_matches(const char *id, const char *principal) {
  static const char account_prefix[] = "arn:aws:iam::" POLICY_ACCOUNT_ID ":";
  if (strcmp(id, "*") == 0)
    return 1;
  if (!principal)
    return 0;
  if (strcmp(id, POLICY_ACCOUNT_ID) == 0 ||
      strcmp(id, "arn:aws:iam::" POLICY_ACCOUNT_ID ":root") == 0)
    return strncmp(principal, account_prefix, sizeof account_prefix - 1) == 0;
  return strcmp(id, principal) == 0;
}

static int principal_matches(json_t *v, const char *principal) {
  if (json_is_string(v))
    return principal_id_matches(json_string_value(v), principal);
  json_t *ids = json_object_get(v, "AWS");
  if (json_is_string(ids))
    return principal_id_matches(json_string_value(ids), principal);
  size_t i;
  json_t *e;
  json_array_foreach(ids, i, e) {
    if (principal_id_matches(json_string_value(e), principal))
      return 1;
  }
  return 0;
}

static int statement_applies(json_t *st, const struct policy *p,
                             const struct policy_request *req) {
  json_t *v;
  if (p->kind == POLICY_BUCKET) {
    if ((v = json_object_get(st, "Principal")) &&
        !principal_matches(v, req->principal))
      return 0;
    if ((v = json_object_get(st, "NotPrincipal")) &&
        principal_matches(v, req->principal))
      return 0;
  }
  if ((v = json_object_get(st, "Action")) && !any_matches(v, req->action, 1))
    return 0;
  if ((v = json_object_get(st, "NotAction")) && any_matches(v, req->action, 1))
    return 0;
  if ((v = json_object_get(st, "Resource")) &&
      !any_matches(v, req->resource, 0))
    return 0;
  if ((v = json_object_get(st, "NotResource")) &&
      any_matches(v, req->resource, 0))
    return 0;
  json_t *cond = json_object_get(st, "Condition");
  const char *op;
  json_object_foreach(cond, op, v) {
    if (!policy_condition_holds(op, v, req))
      return 0;
  }
  return 1;
}

/* 1 allow, -1 deny, 0 nothing applies. */
static int policy_verdict(const struct policy *p,
                          const struct policy_request *req) {
  int allowed = 0;
  size_t i;
  json_t *st;
  json_array_foreach(json_object_get(p->doc, "Statement"), i, st) {
    if (!statement_applies(st, p, req))
      continue;
    if (strcmp(json_string_value(json_object_get(st, "Effect")), "Deny") == 0)
      return -1;
    allowed = 1;
  }
  return allowed;
}

enum policy_decision policy_evaluate(const struct policy_request *req,
                                     const struct policy_set *set) {
  int allowed = 0;
  for (size_t i = 0; i < set->n_identity + 1; i++) {
    const struct policy *p =
        i < set->n_identity ? set->identity[i] : set->bucket;
    if (!p)
      continue;
    int v = policy_verdict(p, req);
    if (v < 0)
      return POLICY_EXPLICIT_DENY;
    allowed |= v;
  }
  if (allowed || set->acl_allows)
    return POLICY_ALLOW;
  return set->acl_check && set->acl_check(set->acl_arg) ? POLICY_ALLOW
                                                        : POLICY_IMPLICIT_DENY;
}

int policy_is_public(const struct policy *p) {
  size_t i;
  json_t *st;
  json_array_foreach(json_object_get(p->doc, "Statement"), i, st) {
    json_t *who = json_object_get(st, "Principal");
    if (!who || json_object_get(st, "Condition") ||
        strcmp(json_string_value(json_object_get(st, "Effect")), "Allow") != 0)
      continue;
    /* principal_matches with no caller is true exactly for "*" */
    if (principal_matches(who, NULL))
      return 1;
  }
  return 0;
}

/* Can resource pattern res name the bucket (arn) or an object in it? */
static int resource_in_bucket(const char *res, const char *arn,
                              const char *object) {
  size_t n = strlen(arn);
  return (strncmp(res, arn, n) == 0 && (res[n] == '\0' || res[n] == '/')) ||
         policy_wildcard_match(res, arn, 0) ||
         policy_wildcard_match(res, object, 0);
}

int policy_check_bucket(const struct policy *p, const char *bucket, char *err,
                        size_t err_len) {
  char arn[96], object[100];
  snprintf(arn, sizeof arn, "arn:aws:s3:::%.63s", bucket);
  snprintf(object, sizeof object, "%s/k", arn);
  size_t i, j;
  json_t *st, *v;
  json_array_foreach(json_object_get(p->doc, "Statement"), i, st) {
    static const char *const fields[] = {"Resource", "NotResource"};
    for (int f = 0; f < 2; f++) {
      json_t *list = json_object_get(st, fields[f]);
      if (json_is_string(list) &&
          !resource_in_bucket(json_string_value(list), arn, object))
        goto bad;
      json_array_foreach(list, j, v) {
        if (!resource_in_bucket(json_string_value(v), arn, object))
          goto bad;
      }
    }
  }
  return 0;
bad:
  if (err && err_len)
    snprintf(err, err_len,
             "Policy has invalid resource: every Resource must be in %s", arn);
  return CAIRN_EINVAL;
}

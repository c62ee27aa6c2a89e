/*
 * policy_internal.h - what the files of coordinator/policy share: the
 * parsed document and the condition operators. Private to this folder.
 */
#ifndef CAIRN_POLICY_INTERNAL_H
#define CAIRN_POLICY_INTERNAL_H

#include "policy.h"

#include <jansson.h>

/* A validated AWS-form document: "Statement" is always an array of
 * objects, every list field a string or an array of strings. */
struct policy {
  json_t *doc;
  enum policy_kind kind;
};

/* The operator "StringLikeIfExists" is known (0) or not (CAIRN_EINVAL);
 * values (one scalar or an array) must be of the operator's type. On
 * error err says why. */
int policy_condition_check(const char *op, json_t *values, char *err,
                           size_t err_len);
/* Does the operator block {key: values, ...} hold in the context? */
int policy_condition_holds(const char *op, json_t *block,
                           const struct policy_request *req);

/* A JSON scalar as text: strings as is, numbers in decimal, booleans as
 * "true"/"false". Returns buf or the string itself; NULL for other types. */
const char *policy_scalar_text(json_t *v, char *buf, size_t cap);

#endif

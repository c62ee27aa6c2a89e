/*
 * policy_parse.c - from policy text to a validated AWS-form document:
 * size and nesting bounds first (the text is from the network), then
 * jansson, then the shape of every statement. The compact MyFSIO form is
 * rewritten into AWS statements here, so evaluation knows one form only.
 */
#include "policy_internal.h"

#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fail(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t err_len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (err && err_len)
    vsnprintf(err, err_len, fmt, ap);
  va_end(ap);
  return CAIRN_EINVAL;
}

/* Nesting depth of [ and { outside strings, so jansson's recursion is
 * bounded by our limit and not by the attacker's. */
static int depth_ok(const char *text, size_t len) {
  int depth = 0, in_string = 0;
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = 0;
    } else if (c == '"') {
      in_string = 1;
    } else if (c == '[' || c == '{') {
      if (++depth > POLICY_DEPTH_MAX)
        return 0;
    } else if (c == ']' || c == '}') {
      depth--;
    }
  }
  return 1;
}

const char *policy_scalar_text(json_t *v, char *buf, size_t cap) {
  if (json_is_string(v))
    return json_string_value(v);
  if (json_is_integer(v)) {
    snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
    return buf;
  }
  if (json_is_real(v)) {
    snprintf(buf, cap, "%.17g", json_real_value(v));
    return buf;
  }
  if (json_is_boolean(v))
    return json_is_true(v) ? "true" : "false";
  return NULL;
}

/* A string or a non-empty array of at most POLICY_VALUES_MAX strings, each
 * accepted by check (may be NULL). */
static int check_list(json_t *v, const char *field, int (*check)(const char *s),
                      char *err, size_t err_len) {
  if (json_is_string(v)) {
    if (check && !check(json_string_value(v)))
      return fail(err, err_len, "%s: invalid value \"%.64s\"", field,
                  json_string_value(v));
    return 0;
  }
  if (!json_is_array(v) || json_array_size(v) == 0)
    return fail(err, err_len, "%s must be a string or a non-empty array",
                field);
  if (json_array_size(v) > POLICY_VALUES_MAX)
    return fail(err, err_len, "%s has more than %d entries", field,
                POLICY_VALUES_MAX);
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) {
    if (!json_is_string(e))
      return fail(err, err_len, "%s entries must be strings", field);
    if (check && !check(json_string_value(e)))
      return fail(err, err_len, "%s: invalid value \"%.64s\"", field,
                  json_string_value(e));
  }
  return 0;
}

/* "*" or "service:Name" with a service of [a-z0-9-]. */
static int valid_action(const char *s) {
  if (strcmp(s, "*") == 0)
    return 1;
  const char *colon = strchr(s, ':');
  if (!colon || colon == s || colon[1] == '\0' || strlen(s) > 128)
    return 0;
  for (const char *p = s; p < colon; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
      return 0;
  return 1;
}

static int valid_resource(const char *s) {
  return strcmp(s, "*") == 0 ||
         (strncmp(s, "arn:", 4) == 0 && strlen(s) <= 2048);
}

static int valid_principal_id(const char *s) {
  return strcmp(s, "*") == 0 || strcmp(s, POLICY_ACCOUNT_ID) == 0 ||
         (strncmp(s, "arn:", 4) == 0 && strlen(s) <= 2048);
}

static int check_principal(json_t *v, const char *field, char *err,
                           size_t err_len) {
  if (json_is_string(v)) {
    if (strcmp(json_string_value(v), "*") != 0)
      return fail(err, err_len, "%s must be \"*\" or {\"AWS\": ...}", field);
    return 0;
  }
  if (!json_is_object(v) || json_object_size(v) == 0)
    return fail(err, err_len, "%s must be \"*\" or {\"AWS\": ...}", field);
  const char *type;
  json_t *ids;
  json_object_foreach(v, type, ids) {
    if (strcmp(type, "AWS") != 0)
      return fail(err, err_len, "%s type \"%.32s\" is not supported", field,
                  type);
    int r = check_list(ids, field, valid_principal_id, err, err_len);
    if (r)
      return r;
  }
  return 0;
}

static int check_condition(json_t *v, char *err, size_t err_len) {
  if (!json_is_object(v))
    return fail(err, err_len, "Condition must be an object");
  const char *op;
  json_t *block;
  json_object_foreach(v, op, block) {
    if (!json_is_object(block) || json_object_size(block) == 0)
      return fail(err, err_len, "Condition %.64s must be a non-empty object",
                  op);
    const char *key;
    json_t *values;
    json_object_foreach(block, key, values) {
      size_t klen = strlen(key);
      if (klen == 0 || klen > 256 || !strchr(key, ':'))
        return fail(err, err_len, "Condition key \"%.64s\" is invalid", key);
      int r = policy_condition_check(op, values, err, err_len);
      if (r)
        return r;
    }
  }
  return 0;
}

/* Exactly one of a and b ("Action"/"NotAction") in st, checked by check. */
static int check_pair(json_t *st, const char *a, const char *b,
                      int (*check)(const char *), char *err, size_t err_len) {
  json_t *va = json_object_get(st, a), *vb = json_object_get(st, b);
  if (va && vb)
    return fail(err, err_len, "a statement has both %s and %s", a, b);
  if (!va && !vb)
    return fail(err, err_len, "a statement needs %s or %s", a, b);
  return check_list(va ? va : vb, va ? a : b, check, err, err_len);
}

static int check_statement(json_t *st, enum policy_kind kind, char *err,
                           size_t err_len) {
  static const char *const allowed[] = {
      "Sid",         "Effect",    "Action",       "NotAction", "Resource",
      "NotResource", "Principal", "NotPrincipal", "Condition"};
  if (!json_is_object(st))
    return fail(err, err_len, "every statement must be an object");
  const char *name;
  json_t *v;
  json_object_foreach(st, name, v) {
    size_t i = 0;
    while (i < sizeof allowed / sizeof allowed[0] && strcmp(allowed[i], name))
      i++;
    if (i == sizeof allowed / sizeof allowed[0])
      return fail(err, err_len, "unknown statement element \"%.64s\"", name);
  }
  json_t *sid = json_object_get(st, "Sid");
  if (sid && !json_is_string(sid))
    return fail(err, err_len, "Sid must be a string");
  const char *effect = json_string_value(json_object_get(st, "Effect"));
  if (!effect || (strcmp(effect, "Allow") != 0 && strcmp(effect, "Deny") != 0))
    return fail(err, err_len, "Effect must be \"Allow\" or \"Deny\"");
  int r = check_pair(st, "Action", "NotAction", valid_action, err, err_len);
  if (!r)
    r = check_pair(st, "Resource", "NotResource", valid_resource, err, err_len);
  if (r)
    return r;
  json_t *p = json_object_get(st, "Principal");
  json_t *np = json_object_get(st, "NotPrincipal");
  if (kind == POLICY_IDENTITY && (p || np))
    return fail(err, err_len,
                "Principal is not allowed in a user or group policy");
  if (kind == POLICY_BUCKET) {
    if ((p && np) || (!p && !np))
      return fail(err, err_len,
                  "a bucket policy statement needs Principal or NotPrincipal");
    r = check_principal(p ? p : np, p ? "Principal" : "NotPrincipal", err,
                        err_len);
    if (r)
      return r;
  }
  json_t *cond = json_object_get(st, "Condition");
  return cond ? check_condition(cond, err, err_len) : 0;
}

/* Validates doc in place; a single statement object becomes an array. */
static int check_aws(json_t *doc, enum policy_kind kind, char *err,
                     size_t err_len) {
  const char *name;
  json_t *v;
  json_object_foreach(doc, name, v) {
    if (strcmp(name, "Version") && strcmp(name, "Id") &&
        strcmp(name, "Statement"))
      return fail(err, err_len, "unknown policy element \"%.64s\"", name);
  }
  json_t *version = json_object_get(doc, "Version");
  if (version && (!json_is_string(version) ||
                  (strcmp(json_string_value(version), "2012-10-17") != 0 &&
                   strcmp(json_string_value(version), "2008-10-17") != 0)))
    return fail(err, err_len,
                "Version must be \"2012-10-17\" or \"2008-10-17\"");
  json_t *id = json_object_get(doc, "Id");
  if (id && !json_is_string(id))
    return fail(err, err_len, "Id must be a string");
  json_t *st = json_object_get(doc, "Statement");
  if (!st)
    return fail(err, err_len, "the policy has no Statement");
  if (json_is_object(st)) {
    json_t *array = json_array();
    if (!array || json_array_append(array, st) ||
        json_object_set_new(doc, "Statement", array))
      return CAIRN_ENOMEM;
    st = array;
  }
  if (!json_is_array(st) || json_array_size(st) == 0)
    return fail(err, err_len,
                "Statement must be an object or a non-empty "
                "array");
  if (json_array_size(st) > POLICY_STATEMENTS_MAX)
    return fail(err, err_len, "more than %d statements", POLICY_STATEMENTS_MAX);
  size_t i;
  json_t *s;
  json_array_foreach(st, i, s) {
    int r = check_statement(s, kind, err, err_len);
    if (r)
      return r;
  }
  return 0;
}

/* ---- the compact form ------------------------------------------------ */

struct compact_word {
  const char *word;
  const char *const *actions;
};

static const char *const list_actions[] = {"s3:ListBucket",
                                           "s3:ListAllMyBuckets",
                                           "s3:ListBucketMultipartUploads",
                                           "s3:ListBucketVersions",
                                           "s3:GetBucketLocation",
                                           NULL};
static const char *const read_actions[] = {"s3:GetObject",
                                           "s3:GetObjectVersion",
                                           "s3:GetObjectTagging",
                                           "s3:GetObjectAttributes",
                                           "s3:GetBucketLocation",
                                           "s3:ListMultipartUploadParts",
                                           "s3:GetObjectRetention",
                                           "s3:GetObjectLegalHold",
                                           NULL};
static const char *const write_actions[] = {"s3:PutObject",
                                            "s3:CreateBucket",
                                            "s3:AbortMultipartUpload",
                                            "s3:ListMultipartUploadParts",
                                            "s3:PutObjectTagging",
                                            NULL};
static const char *const delete_actions[] = {
    "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteObjectTagging",
    "s3:DeleteBucket", NULL};
static const char *const share_actions[] = {
    "s3:GetObjectAcl", "s3:PutObjectAcl", "s3:GetBucketAcl", "s3:PutBucketAcl",
    NULL};
static const char *const policy_actions[] = {
    "s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy",
    "s3:GetBucketPolicyStatus", NULL};
static const char *const replication_actions[] = {
    "s3:GetReplicationConfiguration",
    "s3:PutReplicationConfiguration",
    "s3:ReplicateObject",
    "s3:ReplicateDelete",
    "s3:ReplicateTags",
    NULL};

static const struct compact_word compact_words[] = {
    {"list", list_actions},
    {"read", read_actions},
    {"write", write_actions},
    {"delete", delete_actions},
    {"share", share_actions},
    {"policy", policy_actions},
    {"replication", replication_actions},
};

const char *const *policy_compact_actions(const char *word) {
  for (size_t i = 0; i < sizeof compact_words / sizeof compact_words[0]; i++)
    if (strcasecmp(compact_words[i].word, word) == 0)
      return compact_words[i].actions;
  return NULL;
}

/* Bucket names, or patterns of them: 1..63 bytes of a-z 0-9 . - * ? */
static int valid_bucket_pattern(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 63)
    return 0;
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
          strchr(".-*?", *s)))
      return 0;
  return 1;
}

static int append_action(json_t *list, const char *a) {
  size_t i;
  json_t *e;
  json_array_foreach(list, i, e) if (strcmp(json_string_value(e), a) == 0) {
    return 0; /* once each */
  }
  return json_array_append_new(list, json_string(a)) ? CAIRN_ENOMEM : 0;
}

static json_t *allow_statement(json_t *actions, json_t *resources) {
  return json_pack("{s:s, s:O, s:O}", "Effect", "Allow", "Action", actions,
                   "Resource", resources);
}

/* One compact entry -> one or two AWS statements appended to out: the S3
 * actions on the bucket and its objects, the other services' on "*". */
static int convert_entry(json_t *entry, json_t *out, char *err,
                         size_t err_len) {
  if (!json_is_object(entry))
    return fail(err, err_len,
                "every entry must be an object with \"bucket\" "
                "and \"actions\"");
  const char *name;
  json_t *v;
  json_object_foreach(entry, name, v) {
    if (strcmp(name, "bucket") && strcmp(name, "actions"))
      return fail(err, err_len, "unknown entry element \"%.64s\"", name);
  }
  const char *bucket = json_string_value(json_object_get(entry, "bucket"));
  if (!bucket || !valid_bucket_pattern(bucket))
    return fail(err, err_len, "\"bucket\" must be a bucket name or \"*\"");
  json_t *words = json_object_get(entry, "actions");
  int r = check_list(words, "actions", NULL, err, err_len);
  if (r)
    return r;
  json_t *s3 = json_array(), *other = json_array(), *res = NULL;
  r = s3 && other ? 0 : CAIRN_ENOMEM;
  for (size_t i = 0; !r && i < json_array_size(words); i++) {
    const char *w = json_string_value(json_array_get(words, i));
    const char *const *mapped = policy_compact_actions(w);
    if (mapped) {
      for (; !r && *mapped; mapped++)
        r = append_action(s3, *mapped);
    } else if (strcmp(w, "*") == 0) {
      r = append_action(s3, "s3:*");
      if (!r)
        r = append_action(other, "iam:*");
    } else if (valid_action(w)) {
      r = append_action(strncasecmp(w, "s3:", 3) == 0 ? s3 : other, w);
    } else {
      r = fail(err, err_len, "unknown action \"%.64s\"", w);
    }
  }
  if (!r && json_array_size(s3)) {
    char arn[128];
    res = json_array();
    snprintf(arn, sizeof arn, "arn:aws:s3:::%s", bucket);
    if (!res || json_array_append_new(res, json_string(arn)))
      r = CAIRN_ENOMEM;
    if (!r && strcmp(bucket, "*") != 0) {
      snprintf(arn, sizeof arn, "arn:aws:s3:::%s/*", bucket);
      if (json_array_append_new(res, json_string(arn)))
        r = CAIRN_ENOMEM;
    }
    if (!r && json_array_append_new(out, allow_statement(s3, res)))
      r = CAIRN_ENOMEM;
  }
  if (!r && json_array_size(other)) {
    json_t *star = json_string("*");
    if (!star || json_array_append_new(out, allow_statement(other, star)))
      r = CAIRN_ENOMEM;
    json_decref(star);
  }
  json_decref(res);
  json_decref(s3);
  json_decref(other);
  return r;
}

static int convert_compact(json_t *array, json_t **doc, char *err,
                           size_t err_len) {
  if (json_array_size(array) > POLICY_STATEMENTS_MAX)
    return fail(err, err_len, "more than %d entries", POLICY_STATEMENTS_MAX);
  json_t *st = json_array();
  int r = st ? 0 : CAIRN_ENOMEM;
  size_t i;
  json_t *entry;
  json_array_foreach(array, i, entry) {
    if (!r)
      r = convert_entry(entry, st, err, err_len);
  }
  if (!r && json_array_size(st) == 0)
    r = fail(err, err_len, "the policy allows nothing");
  if (!r) {
    *doc = json_pack("{s:s, s:O}", "Version", "2012-10-17", "Statement", st);
    if (!*doc)
      r = CAIRN_ENOMEM;
  }
  json_decref(st);
  return r;
}

int policy_parse(const char *text, size_t len, enum policy_kind kind,
                 struct policy **out, char *err, size_t err_len) {
  json_t *doc = NULL, *input = NULL;
  int r;
  *out = NULL;
  if (len > POLICY_DOC_MAX) {
    fail(err, err_len, "the policy is larger than %d bytes", POLICY_DOC_MAX);
    return CAIRN_ETOOBIG;
  }
  if (!depth_ok(text, len))
    return fail(err, err_len, "the policy nests deeper than %d levels",
                POLICY_DEPTH_MAX);
  json_error_t jerr;
  input = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!input)
    return fail(err, err_len, "invalid JSON at line %d: %.120s", jerr.line,
                jerr.text);
  if (json_is_array(input)) {
    r = convert_compact(input, &doc, err, err_len);
    if (!r)
      r = check_aws(doc, kind, err, err_len);
  } else if (json_is_object(input)) {
    doc = json_incref(input);
    r = check_aws(doc, kind, err, err_len);
  } else {
    r = fail(err, err_len, "a policy is a JSON object or a compact array");
  }
  json_decref(input);
  if (!r) {
    *out = calloc(1, sizeof **out);
    if (!*out)
      r = CAIRN_ENOMEM;
  }
  if (r) {
    json_decref(doc);
    if (r == CAIRN_ENOMEM)
      fail(err, err_len, "out of memory");
    return r;
  }
  (*out)->doc = doc;
  (*out)->kind = kind;
  return 0;
}

void policy_free(struct policy *p) {
  if (!p)
    return;
  json_decref(p->doc);
  free(p);
}

char *policy_to_json(const struct policy *p) {
  return json_dumps(p->doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

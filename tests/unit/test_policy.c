/* test_policy.c - coordinator/policy: parsing (AWS and compact forms,
 * hostile input) and evaluation tables (Deny wins, Allow, implicit deny,
 * wildcards, principals, every condition operator family). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "error.h"
#include "policy.h"
#include "policy_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALICE "arn:aws:iam::000000000000:user/alice"
#define BOB "arn:aws:iam::000000000000:user/bob"

static struct policy *parse_ok(const char *text, enum policy_kind kind) {
  struct policy *p = NULL;
  char err[POLICY_ERR_MAX] = "";
  int r = policy_parse(text, strlen(text), kind, &p, err, sizeof err);
  if (r)
    fail_msg("policy_parse failed (%d): %s\n%s", r, err, text);
  return p;
}

static int parse_err(const char *text, enum policy_kind kind, char *err,
                     size_t cap) {
  struct policy *p = NULL;
  int r = policy_parse(text, strlen(text), kind, &p, err, cap);
  assert_null(p);
  return r;
}

/* Evaluates one identity policy (and optionally a bucket policy). */
static enum policy_decision eval_ctx(const struct policy *id,
                                     const struct policy *bucket,
                                     const char *principal, const char *action,
                                     const char *resource,
                                     const struct policy_kv *ctx, size_t n) {
  const struct policy *ids[1] = {id};
  struct policy_set set = {
      .identity = ids, .n_identity = id ? 1 : 0, .bucket = bucket};
  struct policy_request req = {.principal = principal,
                               .action = action,
                               .resource = resource,
                               .context = ctx,
                               .n_context = n};
  return policy_evaluate(&req, &set);
}

static enum policy_decision eval(const struct policy *id, const char *action,
                                 const char *resource) {
  return eval_ctx(id, NULL, ALICE, action, resource, NULL, 0);
}

static void test_wildcards(void **state) {
  (void)state;
  assert_true(policy_wildcard_match("*", "", 0));
  assert_true(
      policy_wildcard_match("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/y", 0));
  assert_false(policy_wildcard_match("arn:aws:s3:::b/*", "arn:aws:s3:::b", 0));
  assert_true(policy_wildcard_match("a?c", "abc", 0));
  assert_false(policy_wildcard_match("a?c", "ac", 0));
  assert_true(policy_wildcard_match("*a*b*c", "xxaxxbxxc", 0));
  assert_false(policy_wildcard_match("*a*b*c", "xxaxxbxx", 0));
  assert_true(policy_wildcard_match("s3:get*", "s3:GetObject", 1));
  assert_false(policy_wildcard_match("s3:get*", "s3:GetObject", 0));
  assert_false(policy_wildcard_match("abc", "abcd", 0));
  /* pathological pattern stays fast (no exponential backtracking) */
  char text[2001];
  memset(text, 'a', 2000);
  text[2000] = '\0';
  assert_false(policy_wildcard_match("*a*a*a*a*a*a*a*a*b", text, 0));
}

static void test_allow_deny_implicit(void **state) {
  (void)state;
  struct policy *p =
      parse_ok("{\"Version\":\"2012-10-17\",\"Statement\":["
               "{\"Sid\":\"r\",\"Effect\":\"Allow\",\"Action\":[\"s3:Get*\","
               "\"s3:ListBucket\"],\"Resource\":[\"arn:aws:s3:::data\","
               "\"arn:aws:s3:::data/*\"]},"
               "{\"Effect\":\"Deny\",\"Action\":\"s3:GetObject\","
               "\"Resource\":\"arn:aws:s3:::data/secret/*\"}]}",
               POLICY_IDENTITY);
  assert_int_equal(eval(p, "s3:GetObject", "arn:aws:s3:::data/a"),
                   POLICY_ALLOW);
  assert_int_equal(eval(p, "S3:getobject", "arn:aws:s3:::data/a"),
                   POLICY_ALLOW); /* actions ignore case */
  assert_int_equal(eval(p, "s3:ListBucket", "arn:aws:s3:::data"), POLICY_ALLOW);
  assert_int_equal(eval(p, "s3:PutObject", "arn:aws:s3:::data/a"),
                   POLICY_IMPLICIT_DENY);
  assert_int_equal(eval(p, "s3:GetObject", "arn:aws:s3:::other/a"),
                   POLICY_IMPLICIT_DENY);
  assert_int_equal(eval(p, "s3:GetObject", "arn:aws:s3:::DATA/a"),
                   POLICY_IMPLICIT_DENY); /* resources keep case */
  assert_int_equal(eval(p, "s3:GetObject", "arn:aws:s3:::data/secret/k"),
                   POLICY_EXPLICIT_DENY);
  /* a Deny in one policy beats an Allow in another */
  struct policy *all = parse_ok("{\"Statement\":{\"Effect\":\"Allow\","
                                "\"Action\":\"*\",\"Resource\":\"*\"}}",
                                POLICY_IDENTITY);
  const struct policy *both[2] = {all, p};
  struct policy_set set = {.identity = both, .n_identity = 2};
  struct policy_request req = {.principal = ALICE,
                               .action = "s3:GetObject",
                               .resource = "arn:aws:s3:::data/secret/k"};
  assert_int_equal(policy_evaluate(&req, &set), POLICY_EXPLICIT_DENY);
  req.resource = "arn:aws:s3:::zzz/k";
  assert_int_equal(policy_evaluate(&req, &set), POLICY_ALLOW);
  /* nothing at all: implicit deny; an ACL grant is another allow source */
  struct policy_set none = {0};
  assert_int_equal(policy_evaluate(&req, &none), POLICY_IMPLICIT_DENY);
  none.acl_allows = 1;
  assert_int_equal(policy_evaluate(&req, &none), POLICY_ALLOW);
  policy_free(all);
  policy_free(p);
}

static void test_not_action_not_resource(void **state) {
  (void)state;
  struct policy *p = parse_ok(
      "{\"Statement\":[{\"Effect\":\"Allow\",\"NotAction\":\"s3:Delete*\","
      "\"NotResource\":\"arn:aws:s3:::locked/*\"}]}",
      POLICY_IDENTITY);
  assert_int_equal(eval(p, "s3:PutObject", "arn:aws:s3:::a/b"), POLICY_ALLOW);
  assert_int_equal(eval(p, "s3:DeleteObject", "arn:aws:s3:::a/b"),
                   POLICY_IMPLICIT_DENY);
  assert_int_equal(eval(p, "s3:PutObject", "arn:aws:s3:::locked/b"),
                   POLICY_IMPLICIT_DENY);
  policy_free(p);
}

static void test_bucket_policy_principals(void **state) {
  (void)state;
  struct policy *b = parse_ok(
      "{\"Version\":\"2012-10-17\",\"Statement\":["
      "{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"s3:GetObject\","
      "\"Resource\":\"arn:aws:s3:::pub/*\"},"
      "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"" ALICE "\"]},"
      "\"Action\":\"s3:PutObject\",\"Resource\":\"arn:aws:s3:::pub/*\"},"
      "{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"000000000000\"},"
      "\"Action\":\"s3:ListBucket\",\"Resource\":\"arn:aws:s3:::pub\"},"
      "{\"Effect\":\"Deny\",\"NotPrincipal\":{\"AWS\":\"" ALICE "\"},"
      "\"Action\":\"s3:DeleteObject\",\"Resource\":\"arn:aws:s3:::pub/*\"}]}",
      POLICY_BUCKET);
  const char *obj = "arn:aws:s3:::pub/k";
  assert_int_equal(eval_ctx(NULL, b, NULL, "s3:GetObject", obj, NULL, 0),
                   POLICY_ALLOW); /* anonymous */
  assert_int_equal(eval_ctx(NULL, b, NULL, "s3:PutObject", obj, NULL, 0),
                   POLICY_IMPLICIT_DENY);
  assert_int_equal(eval_ctx(NULL, b, ALICE, "s3:PutObject", obj, NULL, 0),
                   POLICY_ALLOW);
  assert_int_equal(eval_ctx(NULL, b, BOB, "s3:PutObject", obj, NULL, 0),
                   POLICY_IMPLICIT_DENY);
  assert_int_equal(
      eval_ctx(NULL, b, BOB, "s3:ListBucket", "arn:aws:s3:::pub", NULL, 0),
      POLICY_ALLOW);
  assert_int_equal(
      eval_ctx(NULL, b, NULL, "s3:ListBucket", "arn:aws:s3:::pub", NULL, 0),
      POLICY_IMPLICIT_DENY);
  assert_int_equal(eval_ctx(NULL, b, BOB, "s3:DeleteObject", obj, NULL, 0),
                   POLICY_EXPLICIT_DENY);
  /* the bucket policy's Deny also beats the user's own Allow */
  struct policy *all = parse_ok("{\"Statement\":{\"Effect\":\"Allow\","
                                "\"Action\":\"s3:*\",\"Resource\":\"*\"}}",
                                POLICY_IDENTITY);
  assert_int_equal(eval_ctx(all, b, BOB, "s3:DeleteObject", obj, NULL, 0),
                   POLICY_EXPLICIT_DENY);
  assert_int_equal(eval_ctx(all, b, ALICE, "s3:DeleteObject", obj, NULL, 0),
                   POLICY_ALLOW);
  policy_free(all);
  policy_free(b);
}

static struct policy *cond_policy(const char *condition) {
  char text[2048];
  snprintf(text, sizeof text,
           "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:*\","
           "\"Resource\":\"*\",\"Condition\":%s}]}",
           condition);
  return parse_ok(text, POLICY_IDENTITY);
}

/* 1 when the condition lets s3:GetObject through in ctx. */
static int cond_allows(const char *condition, const struct policy_kv *ctx,
                       size_t n) {
  struct policy *p = cond_policy(condition);
  enum policy_decision d =
      eval_ctx(p, NULL, ALICE, "s3:GetObject", "arn:aws:s3:::b/k", ctx, n);
  policy_free(p);
  return d == POLICY_ALLOW;
}

static void test_condition_ip(void **state) {
  (void)state;
  struct policy_kv lo = {"aws:SourceIp", "127.0.0.1"};
  struct policy_kv ten = {"aws:SourceIp", "10.1.2.3"};
  struct policy_kv mapped = {"aws:sourceip", "::ffff:127.0.0.1"};
  struct policy_kv v6 = {"aws:SourceIp", "2001:db8::1"};
  const char *c = "{\"IpAddress\":{\"aws:SourceIp\":\"127.0.0.1/32\"}}";
  assert_true(cond_allows(c, &lo, 1));
  assert_true(cond_allows(c, &mapped, 1));
  assert_false(cond_allows(c, &ten, 1));
  assert_false(cond_allows(c, NULL, 0)); /* absent key */
  c = "{\"IpAddress\":{\"aws:SourceIp\":[\"10.0.0.0/8\",\"2001:db8::/32\"]}}";
  assert_false(cond_allows(c, &lo, 1));
  assert_true(cond_allows(c, &ten, 1));
  assert_true(cond_allows(c, &v6, 1));
  c = "{\"NotIpAddress\":{\"aws:SourceIp\":\"10.0.0.0/8\"}}";
  assert_true(cond_allows(c, &lo, 1));
  assert_false(cond_allows(c, &ten, 1));
  assert_true(
      cond_allows("{\"IpAddress\":{\"aws:SourceIp\":\"0.0.0.0/0\"}}", &ten, 1));
  assert_true(cond_allows("{\"IpAddress\":{\"aws:SourceIp\":\"10.1.2.0/23\"}}",
                          &ten, 1));
}

static void test_condition_strings(void **state) {
  (void)state;
  struct policy_kv ctx[] = {{"s3:prefix", "home/alice/"},
                            {"aws:username", "alice"},
                            {"s3:x-amz-acl", "private"},
                            {"s3:ExistingObjectTag/team", "Blue"}};
  size_t n = sizeof ctx / sizeof ctx[0];
  assert_true(cond_allows(
      "{\"StringLike\":{\"s3:prefix\":[\"home/alice/*\",\"\"]}}", ctx, n));
  assert_false(
      cond_allows("{\"StringLike\":{\"s3:prefix\":\"home/bob/*\"}}", ctx, n));
  assert_true(
      cond_allows("{\"StringEquals\":{\"aws:username\":\"alice\"}}", ctx, n));
  assert_false(
      cond_allows("{\"StringEquals\":{\"aws:username\":\"Alice\"}}", ctx, n));
  assert_true(cond_allows(
      "{\"StringEqualsIgnoreCase\":{\"aws:username\":\"Alice\"}}", ctx, n));
  assert_false(cond_allows(
      "{\"StringNotEquals\":{\"s3:x-amz-acl\":[\"public-read\",\"private\"]}}",
      ctx, n));
  assert_true(cond_allows(
      "{\"StringNotEquals\":{\"s3:x-amz-acl\":\"public-read\"}}", ctx, n));
  assert_true(
      cond_allows("{\"StringNotLike\":{\"s3:prefix\":\"tmp/*\"}}", ctx, n));
  assert_true(cond_allows(
      "{\"StringEquals\":{\"s3:ExistingObjectTag/team\":\"Blue\"}}", ctx, n));
  /* two operators and two keys: all must hold */
  assert_false(cond_allows("{\"StringEquals\":{\"aws:username\":\"alice\","
                           "\"s3:x-amz-acl\":\"public-read\"}}",
                           ctx, n));
  assert_false(cond_allows("{\"StringEquals\":{\"aws:username\":\"alice\"},"
                           "\"StringLike\":{\"s3:prefix\":\"x*\"}}",
                           ctx, n));
  /* absent keys: positive false, negated true, IfExists true */
  assert_false(
      cond_allows("{\"StringEquals\":{\"s3:delimiter\":\"/\"}}", ctx, n));
  assert_true(
      cond_allows("{\"StringNotEquals\":{\"s3:delimiter\":\"/\"}}", ctx, n));
  assert_true(cond_allows("{\"StringEqualsIfExists\":{\"s3:delimiter\":\"/\"}}",
                          ctx, n));
  assert_true(cond_allows("{\"Null\":{\"s3:delimiter\":\"true\"}}", ctx, n));
  assert_false(cond_allows("{\"Null\":{\"s3:prefix\":\"true\"}}", ctx, n));
  assert_true(cond_allows("{\"Null\":{\"s3:prefix\":false}}", ctx, n));
}

static void test_condition_bool_numeric(void **state) {
  (void)state;
  struct policy_kv ctx[] = {{"aws:SecureTransport", "false"},
                            {"s3:max-keys", "100"}};
  assert_false(
      cond_allows("{\"Bool\":{\"aws:SecureTransport\":\"true\"}}", ctx, 2));
  assert_true(
      cond_allows("{\"Bool\":{\"aws:SecureTransport\":false}}", ctx, 2));
  assert_true(
      cond_allows("{\"NumericLessThanEquals\":{\"s3:max-keys\":100}}", ctx, 2));
  assert_false(
      cond_allows("{\"NumericLessThan\":{\"s3:max-keys\":\"100\"}}", ctx, 2));
  assert_true(cond_allows("{\"NumericGreaterThan\":{\"s3:max-keys\":\"99.5\"}}",
                          ctx, 2));
  assert_true(cond_allows(
      "{\"NumericGreaterThanEquals\":{\"s3:max-keys\":100}}", ctx, 2));
  assert_true(
      cond_allows("{\"NumericEquals\":{\"s3:max-keys\":[1,100]}}", ctx, 2));
  assert_false(
      cond_allows("{\"NumericNotEquals\":{\"s3:max-keys\":100}}", ctx, 2));
  /* a context value that is not a number matches nothing */
  struct policy_kv bad = {"s3:max-keys", "lots"};
  assert_false(
      cond_allows("{\"NumericLessThan\":{\"s3:max-keys\":1000}}", &bad, 1));
  assert_true(cond_allows(
      "{\"NumericLessThanIfExists\":{\"s3:max-keys\":1000}}", NULL, 0));
}

static void test_condition_dates(void **state) {
  (void)state;
  struct policy_kv now = {"aws:CurrentTime", "2026-12-01T10:00:00Z"};
  assert_true(cond_allows(
      "{\"DateLessThan\":{\"aws:CurrentTime\":\"2027-01-01T00:00:00Z\"}}", &now,
      1));
  assert_false(cond_allows(
      "{\"DateGreaterThan\":{\"aws:CurrentTime\":\"2027-01-01\"}}", &now, 1));
  assert_true(cond_allows("{\"DateGreaterThanEquals\":{\"aws:CurrentTime\":"
                          "\"2026-12-01T11:00:00+01:00\"}}",
                          &now, 1));
  assert_true(cond_allows(
      "{\"DateEquals\":{\"aws:CurrentTime\":\"2026-12-01T10:00:00.000Z\"}}",
      &now, 1));
  assert_true(cond_allows(
      "{\"DateLessThanEquals\":{\"aws:CurrentTime\":1796119200}}", &now, 1));
  assert_false(cond_allows(
      "{\"DateNotEquals\":{\"aws:CurrentTime\":1796119200}}", &now, 1));
  assert_false(cond_allows(
      "{\"DateLessThan\":{\"aws:CurrentTime\":\"2026-12-01T09:59:59Z\"}}", &now,
      1));
}

static void test_compact_form(void **state) {
  (void)state;
  struct policy *p = parse_ok(
      "[{\"bucket\":\"photos\",\"actions\":[\"list\",\"read\"]},"
      "{\"bucket\":\"*\",\"actions\":[\"s3:PutObject\"]},"
      "{\"bucket\":\"logs\",\"actions\":[\"delete\",\"iam:ListUsers\"]}]",
      POLICY_IDENTITY);
  assert_int_equal(eval(p, "s3:GetObject", "arn:aws:s3:::photos/a.jpg"),
                   POLICY_ALLOW);
  assert_int_equal(eval(p, "s3:ListBucket", "arn:aws:s3:::photos"),
                   POLICY_ALLOW);
  assert_int_equal(eval(p, "s3:GetObject", "arn:aws:s3:::logs/x"),
                   POLICY_IMPLICIT_DENY);
  assert_int_equal(eval(p, "s3:PutObject", "arn:aws:s3:::any/x"), POLICY_ALLOW);
  assert_int_equal(eval(p, "s3:DeleteObject", "arn:aws:s3:::logs/x"),
                   POLICY_ALLOW);
  assert_int_equal(eval(p, "s3:DeleteObject", "arn:aws:s3:::photos/x"),
                   POLICY_IMPLICIT_DENY);
  assert_int_equal(eval(p, "iam:ListUsers", "*"), POLICY_ALLOW);
  assert_int_equal(eval(p, "iam:CreateUser", "*"), POLICY_IMPLICIT_DENY);
  /* a single-bucket lister may not list every bucket (AWS) */
  assert_int_equal(eval(p, "s3:ListAllMyBuckets", "arn:aws:s3:::*"),
                   POLICY_IMPLICIT_DENY);
  char *json = policy_to_json(p);
  assert_non_null(strstr(json, "\"arn:aws:s3:::photos/*\""));
  free(json);
  policy_free(p);

  p = parse_ok("[{\"bucket\":\"*\",\"actions\":[\"list\",\"write\","
               "\"share\",\"policy\",\"replication\",\"iam:*\"]}]",
               POLICY_IDENTITY);
  assert_int_equal(eval(p, "s3:ListAllMyBuckets", "arn:aws:s3:::*"),
                   POLICY_ALLOW);
  assert_int_equal(eval(p, "s3:PutBucketPolicy", "arn:aws:s3:::b"),
                   POLICY_ALLOW);
  assert_int_equal(eval(p, "s3:PutObjectAcl", "arn:aws:s3:::b/k"),
                   POLICY_ALLOW);
  assert_int_equal(eval(p, "s3:ReplicateObject", "arn:aws:s3:::b/k"),
                   POLICY_ALLOW);
  assert_int_equal(
      eval(p, "iam:CreateUser", "arn:aws:iam::000000000000:user/x"),
      POLICY_ALLOW);
  assert_int_equal(eval(p, "s3:GetObject", "arn:aws:s3:::b/k"),
                   POLICY_IMPLICIT_DENY);
  policy_free(p);
  assert_non_null(policy_compact_actions("READ"));
  assert_null(policy_compact_actions("fly"));
}

static void test_malformed(void **state) {
  (void)state;
  static const struct {
    const char *text;
    enum policy_kind kind;
    const char *why; /* a word the message must contain */
  } cases[] = {
      {"", POLICY_IDENTITY, "JSON"},
      {"{", POLICY_IDENTITY, "JSON"},
      {"42", POLICY_IDENTITY, "JSON"},
      {"{}", POLICY_IDENTITY, "Statement"},
      {"{\"Statement\":[]}", POLICY_IDENTITY, "Statement"},
      {"{\"Version\":\"2020-01-01\",\"Statement\":{}}", POLICY_IDENTITY,
       "Version"},
      {"{\"Statement\":{\"Effect\":\"Maybe\",\"Action\":\"*\","
       "\"Resource\":\"*\"}}",
       POLICY_IDENTITY, "Effect"},
      {"{\"Statement\":{\"Effect\":\"Allow\",\"Resource\":\"*\"}}",
       POLICY_IDENTITY, "Action"},
      {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\","
       "\"NotAction\":\"*\",\"Resource\":\"*\"}}",
       POLICY_IDENTITY, "both"},
      {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"GetObject\","
       "\"Resource\":\"*\"}}",
       POLICY_IDENTITY, "GetObject"},
      {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\","
       "\"Resource\":\"bucket\"}}",
       POLICY_IDENTITY, "Resource"},
      {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":[],"
       "\"Resource\":\"*\"}}",
       POLICY_IDENTITY, "Action"},
      {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":[1],"
       "\"Resource\":\"*\"}}",
       POLICY_IDENTITY, "strings"},
      {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\","
       "\"Resource\":\"*\",\"Principal\":\"*\"}}",
       POLICY_IDENTITY, "Principal"},
      {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\","
       "\"Resource\":\"*\"}}",
       POLICY_BUCKET, "Principal"},
      {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\","
       "\"Resource\":\"*\",\"Principal\":{\"Service\":\"x\"}}}",
       POLICY_BUCKET, "Service"},
      {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\","
       "\"Resource\":\"*\",\"Colour\":1}}",
       POLICY_IDENTITY, "Colour"},
      {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\","
       "\"Resource\":\"*\",\"Condition\":{\"StringSortOf\":{\"a:b\":\"c\"}}}}",
       POLICY_IDENTITY, "StringSortOf"},
      {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\","
       "\"Resource\":\"*\",\"Condition\":{\"IpAddress\":{\"aws:SourceIp\":"
       "\"300.1.1.1/8\"}}}}",
       POLICY_IDENTITY, "IpAddress"},
      {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\","
       "\"Resource\":\"*\",\"Condition\":{\"NumericLessThan\":{\"s3:max-keys\":"
       "\"ten\"}}}}",
       POLICY_IDENTITY, "NumericLessThan"},
      {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\","
       "\"Resource\":\"*\",\"Condition\":{\"DateLessThan\":{\"aws:"
       "CurrentTime\":"
       "\"yesterday\"}}}}",
       POLICY_IDENTITY, "DateLessThan"},
      {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\","
       "\"Resource\":\"*\",\"Condition\":{\"NullIfExists\":{\"a:b\":true}}}}",
       POLICY_IDENTITY, "NullIfExists"},
      {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\","
       "\"Resource\":\"*\",\"Condition\":{\"Bool\":{\"nocolon\":true}}}}",
       POLICY_IDENTITY, "nocolon"},
      {"{\"Statement\":[],\"Statement\":[]}", POLICY_IDENTITY, "JSON"},
      {"[]", POLICY_IDENTITY, "nothing"},
      {"[{\"bucket\":\"b\"}]", POLICY_IDENTITY, "actions"},
      {"[{\"bucket\":\"B!\",\"actions\":[\"read\"]}]", POLICY_IDENTITY,
       "bucket"},
      {"[{\"bucket\":\"b\",\"actions\":[\"fly\"]}]", POLICY_IDENTITY, "fly"},
      {"[{\"bucket\":\"b\",\"actions\":[\"read\"],\"x\":1}]", POLICY_IDENTITY,
       "x"},
      {"[\"read\"]", POLICY_IDENTITY, "entry"},
      {"{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:\\u0000\","
       "\"Resource\":\"*\"}}",
       POLICY_IDENTITY, "JSON"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char err[POLICY_ERR_MAX] = "";
    int r = parse_err(cases[i].text, cases[i].kind, err, sizeof err);
    if (r != CAIRN_EINVAL)
      fail_msg("case %zu: want EINVAL, got %d (%s)", i, r, cases[i].text);
    if (!strstr(err, cases[i].why))
      fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, err, cases[i].why);
  }
}

static void test_bounds(void **state) {
  (void)state;
  char err[POLICY_ERR_MAX];
  /* too large */
  size_t big = POLICY_DOC_MAX + 1;
  char *text = malloc(big + 1);
  memset(text, ' ', big);
  text[big] = '\0';
  struct policy *p = NULL;
  assert_int_equal(
      policy_parse(text, big, POLICY_IDENTITY, &p, err, sizeof err),
      CAIRN_ETOOBIG);
  free(text);
  /* too deep, even inside an otherwise fine document */
  char deep[256] = "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\","
                   "\"Resource\":\"*\",\"Condition\":{\"Bool\":{\"a:b\":"
                   "[[[[[[[[true]]]]]]]]}}}}";
  assert_int_equal(parse_err(deep, POLICY_IDENTITY, err, sizeof err),
                   CAIRN_EINVAL);
  assert_non_null(strstr(err, "deeper"));
  /* braces inside strings do not count */
  p = parse_ok("{\"Statement\":{\"Sid\":\"[[[[[[[[[[{{{{{{{{\","
               "\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}",
               POLICY_IDENTITY);
  policy_free(p);
  /* too many statements */
  size_t cap = 64 * (POLICY_STATEMENTS_MAX + 2);
  text = malloc(cap);
  size_t n = (size_t)snprintf(text, cap, "{\"Statement\":[");
  for (int i = 0; i <= POLICY_STATEMENTS_MAX; i++)
    n += (size_t)snprintf(text + n, cap - n,
                          "%s{\"Effect\":\"Deny\",\"Action\":\"*\","
                          "\"Resource\":\"*\"}",
                          i ? "," : "");
  snprintf(text + n, cap - n, "]}");
  assert_int_equal(parse_err(text, POLICY_IDENTITY, err, sizeof err),
                   CAIRN_EINVAL);
  assert_non_null(strstr(err, "statements"));
  free(text);
  /* the message buffer may be tiny or absent */
  assert_int_equal(parse_err("{", POLICY_IDENTITY, err, 4), CAIRN_EINVAL);
  assert_int_equal(parse_err("{", POLICY_IDENTITY, NULL, 0), CAIRN_EINVAL);
}

static int acl_calls;
static int acl_yes(void *arg) {
  acl_calls++;
  return *(int *)arg;
}

/* The ACL slot: asked only when no policy decided; a Deny beats it. */
static void test_acl_slot_and_public(void **state) {
  (void)state;
  struct policy *deny = parse_ok(
      "{\"Statement\":{\"Effect\":\"Deny\",\"Principal\":\"*\","
      "\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/s/*\"}}",
      POLICY_BUCKET);
  struct policy *allow = parse_ok(
      "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\","
      "\"Resource\":\"*\"}}",
      POLICY_IDENTITY);
  int yes = 1;
  const struct policy *ids[1] = {allow};
  struct policy_set set = {
      .bucket = deny, .acl_check = acl_yes, .acl_arg = &yes};
  struct policy_request req = {.principal = NULL,
                               .action = "s3:GetObject",
                               .resource = "arn:aws:s3:::b/s/k"};
  acl_calls = 0;
  assert_int_equal(policy_evaluate(&req, &set), POLICY_EXPLICIT_DENY);
  req.resource = "arn:aws:s3:::b/open";
  assert_int_equal(policy_evaluate(&req, &set), POLICY_ALLOW); /* the ACL */
  assert_int_equal(acl_calls, 1);
  set.identity = ids;
  set.n_identity = 1;
  req.principal = ALICE;
  assert_int_equal(policy_evaluate(&req, &set), POLICY_ALLOW);
  assert_int_equal(acl_calls, 1); /* a policy allowed: no ACL read */
  yes = 0;
  set.n_identity = 0;
  assert_int_equal(policy_evaluate(&req, &set), POLICY_IMPLICIT_DENY);
  assert_false(policy_is_public(deny));
  struct policy *pub = parse_ok(
      "{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"" BOB
      "\",\"*\"]},\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}]}",
      POLICY_BUCKET);
  assert_true(policy_is_public(pub));
  struct policy *cond =
      parse_ok("{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\","
               "\"Action\":\"s3:GetObject\",\"Resource\":\"*\",\"Condition\":"
               "{\"Bool\":{\"aws:SecureTransport\":\"true\"}}}]}",
               POLICY_BUCKET);
  assert_false(policy_is_public(cond));
  char err[POLICY_ERR_MAX];
  assert_int_equal(policy_check_bucket(deny, "b", err, sizeof err), 0);
  assert_int_equal(policy_check_bucket(deny, "other", err, sizeof err),
                   CAIRN_EINVAL);
  assert_non_null(strstr(err, "arn:aws:s3:::other"));
  assert_int_equal(policy_check_bucket(pub, "any", err, sizeof err), 0);
  policy_free(deny);
  policy_free(allow);
  policy_free(pub);
  policy_free(cond);
}

/* The parsed-policy cache is keyed by the exact text: the same document is
 * parsed once, a changed one (even by a byte) is parsed anew and decides
 * by its own statements, a document that does not parse is refused and
 * never cached, and entries outlive their eviction while referenced. */
static void test_policy_cache(void **state) {
  (void)state;
  const char *allow = "{\"Statement\":{\"Effect\":\"Allow\","
                      "\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}}";
  const char *deny = "{\"Statement\":{\"Effect\":\"Deny\","
                     "\"Action\":\"s3:GetObject\",\"Resource\":\"*\"}}";
  char err[POLICY_ERR_MAX];
  struct policy_cache *c = policy_cache_new();
  assert_non_null(c);
  struct policy_cache_entry *e1, *e2, *e3;
  const struct policy *p1, *p2, *p3;
  assert_int_equal(policy_cache_get(c, allow, strlen(allow), POLICY_IDENTITY,
                                    &e1, &p1, err, sizeof err),
                   0);
  assert_int_equal(eval(p1, "s3:GetObject", "arn:aws:s3:::b/k"), POLICY_ALLOW);
  assert_int_equal(policy_cache_get(c, allow, strlen(allow), POLICY_IDENTITY,
                                    &e2, &p2, err, sizeof err),
                   0);
  assert_ptr_equal(p1, p2);
  assert_int_equal(policy_cache_parses(c), 1);
  /* A changed document: parsed again, its own decision. */
  assert_int_equal(policy_cache_get(c, deny, strlen(deny), POLICY_IDENTITY, &e3,
                                    &p3, err, sizeof err),
                   0);
  assert_int_equal(policy_cache_parses(c), 2);
  assert_int_equal(eval(p3, "s3:GetObject", "arn:aws:s3:::b/k"),
                   POLICY_EXPLICIT_DENY);
  /* The same text under the other kind is another key (a bucket policy
   * needs a Principal: this one does not parse as one). */
  struct policy_cache_entry *bad;
  const struct policy *pb;
  assert_int_not_equal(policy_cache_get(c, allow, strlen(allow), POLICY_BUCKET,
                                        &bad, &pb, err, sizeof err),
                       0);
  assert_null(bad);
  assert_null(pb);
  assert_int_not_equal(
      policy_cache_get(c, "{", 1, POLICY_IDENTITY, &bad, &pb, err, sizeof err),
      0);
  assert_int_equal(policy_cache_parses(c), 4); /* failures are not kept */
  /* Fill every slot: whatever was evicted stays valid for its holders. */
  for (int i = 0; i < 4 * POLICY_CACHE_SLOTS; i++) {
    char text[256];
    snprintf(text, sizeof text,
             "{\"Statement\":{\"Sid\":\"s%d\",\"Effect\":\"Allow\","
             "\"Action\":\"s3:PutObject\",\"Resource\":\"*\"}}",
             i);
    struct policy_cache_entry *e;
    const struct policy *p;
    assert_int_equal(policy_cache_get(c, text, strlen(text), POLICY_IDENTITY,
                                      &e, &p, err, sizeof err),
                     0);
    policy_cache_release(e);
  }
  policy_cache_free(c); /* entries still held live on */
  assert_int_equal(eval(p1, "s3:GetObject", "arn:aws:s3:::b/k"), POLICY_ALLOW);
  assert_int_equal(eval(p3, "s3:GetObject", "arn:aws:s3:::b/k"),
                   POLICY_EXPLICIT_DENY);
  policy_cache_release(e1);
  policy_cache_release(e2);
  policy_cache_release(e3);
  /* No cache: parsed for the caller alone. */
  assert_int_equal(policy_cache_get(NULL, allow, strlen(allow), POLICY_IDENTITY,
                                    &e1, &p1, err, sizeof err),
                   0);
  assert_int_equal(eval(p1, "s3:GetObject", "arn:aws:s3:::b/k"), POLICY_ALLOW);
  policy_cache_release(e1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_acl_slot_and_public),
      cmocka_unit_test(test_wildcards),
      cmocka_unit_test(test_allow_deny_implicit),
      cmocka_unit_test(test_not_action_not_resource),
      cmocka_unit_test(test_bucket_policy_principals),
      cmocka_unit_test(test_condition_ip),
      cmocka_unit_test(test_condition_strings),
      cmocka_unit_test(test_condition_bool_numeric),
      cmocka_unit_test(test_condition_dates),
      cmocka_unit_test(test_compact_form),
      cmocka_unit_test(test_policy_cache),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_bounds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

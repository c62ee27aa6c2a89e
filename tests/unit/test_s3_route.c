/* test_s3_route.c - routing tables (path-style and virtual-hosted), key
 * and query decoding, bucket-name rules and the operation table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "error.h"
#include "s3_route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DOMAIN "s3.example.com"

struct route_case {
  const char *method, *target, *host, *domain;
  unsigned flags;
  enum s3_operation op;
  enum s3_error_code error;
  const char *bucket, *key; /* NULL: expect NULL */
};

static void check_case(const struct route_case *c) {
  struct s3_route rt;
  assert_int_equal(s3_route_parse(&rt, c->method, c->target, strlen(c->target),
                                  c->host, c->domain, c->flags),
                   0);
  if (rt.op != c->op || rt.error != c->error)
    fail_msg("%s %s (Host %s): got %s/%s, want %s/%s", c->method, c->target,
             c->host ? c->host : "-", s3_op_name(rt.op),
             s3_error_name(rt.error), s3_op_name(c->op),
             s3_error_name(c->error));
  if (c->bucket)
    assert_string_equal(rt.bucket, c->bucket);
  else if (c->error == S3_OK)
    assert_null(rt.bucket);
  if (c->key) {
    assert_non_null(rt.key);
    assert_string_equal(rt.key, c->key);
    assert_int_equal(rt.key_len, strlen(c->key));
  } else if (c->error == S3_OK) {
    assert_null(rt.key);
  }
  s3_route_release(&rt);
}

#define CP S3_ROUTE_COPY_SOURCE
#define OK S3_OK

static void test_path_style(void **state) {
  (void)state;
  const struct route_case cases[] = {
      {"GET", "/", "localhost:9000", NULL, 0, S3_OP_LIST_BUCKETS, OK, NULL,
       NULL},
      {"GET", "/", NULL, NULL, 0, S3_OP_LIST_BUCKETS, OK, NULL, NULL},
      {"PUT", "/", NULL, NULL, 0, S3_OP_UNKNOWN, S3_ERR_MethodNotAllowed, NULL,
       NULL},
      {"PUT", "/photos", NULL, NULL, 0, S3_OP_CREATE_BUCKET, OK, "photos",
       NULL},
      {"PUT", "/photos/", NULL, NULL, 0, S3_OP_CREATE_BUCKET, OK, "photos",
       NULL},
      {"HEAD", "/photos", NULL, NULL, 0, S3_OP_HEAD_BUCKET, OK, "photos", NULL},
      {"DELETE", "/photos", NULL, NULL, 0, S3_OP_DELETE_BUCKET, OK, "photos",
       NULL},
      {"GET", "/photos", NULL, NULL, 0, S3_OP_LIST_OBJECTS, OK, "photos", NULL},
      {"GET", "/photos?list-type=2&prefix=a", NULL, NULL, 0,
       S3_OP_LIST_OBJECTS_V2, OK, "photos", NULL},
      {"GET", "/photos?list-type=1", NULL, NULL, 0, S3_OP_LIST_OBJECTS, OK,
       "photos", NULL},
      {"GET", "/photos?location", NULL, NULL, 0, S3_OP_GET_BUCKET_LOCATION, OK,
       "photos", NULL},
      {"GET", "/photos?location=", NULL, NULL, 0, S3_OP_GET_BUCKET_LOCATION, OK,
       "photos", NULL},
      {"POST", "/photos?delete", NULL, NULL, 0, S3_OP_DELETE_OBJECTS, OK,
       "photos", NULL},
      {"POST", "/photos?delete=&x-id=DeleteObjects", NULL, NULL, 0,
       S3_OP_DELETE_OBJECTS, OK, "photos", NULL},
      {"GET", "/photos?uploads", NULL, NULL, 0, S3_OP_LIST_MULTIPART_UPLOADS,
       OK, "photos", NULL},
      {"GET", "/photos?versions", NULL, NULL, 0, S3_OP_LIST_OBJECT_VERSIONS,
       S3_ERR_NotImplemented, "photos", NULL},
      {"PUT", "/photos?versioning", NULL, NULL, 0, S3_OP_PUT_BUCKET_VERSIONING,
       S3_ERR_NotImplemented, "photos", NULL},
      {"GET", "/photos?acl", NULL, NULL, 0, S3_OP_GET_BUCKET_ACL, OK, "photos",
       NULL},
      {"DELETE", "/photos?policy", NULL, NULL, 0, S3_OP_DELETE_BUCKET_POLICY,
       OK, "photos", NULL},
      {"GET", "/photos?policyStatus", NULL, NULL, 0,
       S3_OP_GET_BUCKET_POLICY_STATUS, OK, "photos", NULL},
      {"PUT", "/photos?tagging", NULL, NULL, 0, S3_OP_PUT_BUCKET_TAGGING,
       S3_ERR_NotImplemented, "photos", NULL},
      {"GET", "/photos?cors", NULL, NULL, 0, S3_OP_GET_BUCKET_CORS,
       S3_ERR_NotImplemented, "photos", NULL},
      {"PUT", "/photos?lifecycle", NULL, NULL, 0, S3_OP_PUT_BUCKET_LIFECYCLE,
       S3_ERR_NotImplemented, "photos", NULL},
      {"GET", "/photos?encryption", NULL, NULL, 0, S3_OP_GET_BUCKET_ENCRYPTION,
       S3_OK, "photos", NULL},
      {"GET", "/photos?object-lock", NULL, NULL, 0,
       S3_OP_GET_OBJECT_LOCK_CONFIGURATION, S3_ERR_NotImplemented, "photos",
       NULL},
      {"GET", "/photos?intelligent-tiering&id=x", NULL, NULL, 0,
       S3_OP_GET_BUCKET_INTELLIGENT_TIERING, S3_ERR_NotImplemented, "photos",
       NULL},
      {"POST", "/photos", NULL, NULL, 0, S3_OP_POST_OBJECT,
       S3_ERR_NotImplemented, "photos", NULL},
      /* a known sub-resource with a method nobody serves */
      {"POST", "/photos?acl", NULL, NULL, 0, S3_OP_UNKNOWN,
       S3_ERR_MethodNotAllowed, "photos", NULL},
      {"PATCH", "/photos", NULL, NULL, 0, S3_OP_UNKNOWN,
       S3_ERR_MethodNotAllowed, "photos", NULL},
      /* a bucket sub-resource on an object */
      {"GET", "/photos/k?versioning", NULL, NULL, 0, S3_OP_UNKNOWN,
       S3_ERR_NotImplemented, "photos", "k"},
      /* objects */
      {"PUT", "/photos/a.jpg", NULL, NULL, 0, S3_OP_PUT_OBJECT, OK, "photos",
       "a.jpg"},
      {"PUT", "/photos/a.jpg?x-id=PutObject", NULL, NULL, 0, S3_OP_PUT_OBJECT,
       OK, "photos", "a.jpg"},
      {"PUT", "/photos/a.jpg", NULL, NULL, CP, S3_OP_COPY_OBJECT, OK, "photos",
       "a.jpg"},
      {"GET", "/photos/a.jpg", NULL, NULL, 0, S3_OP_GET_OBJECT, OK, "photos",
       "a.jpg"},
      {"GET", "/photos/a.jpg?partNumber=2&versionId=null", NULL, NULL, 0,
       S3_OP_GET_OBJECT, OK, "photos", "a.jpg"},
      {"GET", "/photos/a.jpg", NULL, NULL, CP, S3_OP_GET_OBJECT, OK, "photos",
       "a.jpg"},
      {"HEAD", "/photos/a.jpg", NULL, NULL, 0, S3_OP_HEAD_OBJECT, OK, "photos",
       "a.jpg"},
      {"DELETE", "/photos/a.jpg", NULL, NULL, 0, S3_OP_DELETE_OBJECT, OK,
       "photos", "a.jpg"},
      {"POST", "/photos/a.jpg?uploads", NULL, NULL, 0,
       S3_OP_CREATE_MULTIPART_UPLOAD, OK, "photos", "a.jpg"},
      {"PUT", "/photos/a.jpg?partNumber=1&uploadId=XYZ", NULL, NULL, 0,
       S3_OP_UPLOAD_PART, OK, "photos", "a.jpg"},
      {"PUT", "/photos/a.jpg?partNumber=1&uploadId=XYZ", NULL, NULL, CP,
       S3_OP_UPLOAD_PART_COPY, OK, "photos", "a.jpg"},
      {"POST", "/photos/a.jpg?uploadId=XYZ", NULL, NULL, 0,
       S3_OP_COMPLETE_MULTIPART_UPLOAD, OK, "photos", "a.jpg"},
      {"DELETE", "/photos/a.jpg?uploadId=XYZ", NULL, NULL, 0,
       S3_OP_ABORT_MULTIPART_UPLOAD, OK, "photos", "a.jpg"},
      {"GET", "/photos/a.jpg?uploadId=XYZ&max-parts=10", NULL, NULL, 0,
       S3_OP_LIST_PARTS, OK, "photos", "a.jpg"},
      {"GET", "/photos/a.jpg?uploads", NULL, NULL, 0, S3_OP_UNKNOWN,
       S3_ERR_MethodNotAllowed, "photos", "a.jpg"},
      {"POST", "/photos/a.jpg", NULL, NULL, 0, S3_OP_UNKNOWN,
       S3_ERR_MethodNotAllowed, "photos", "a.jpg"},
      {"GET", "/photos/a.jpg?tagging", NULL, NULL, 0, S3_OP_GET_OBJECT_TAGGING,
       S3_ERR_NotImplemented, "photos", "a.jpg"},
      {"PUT", "/photos/a.jpg?retention", NULL, NULL, 0,
       S3_OP_PUT_OBJECT_RETENTION, S3_ERR_NotImplemented, "photos", "a.jpg"},
      {"GET", "/photos/a.jpg?legal-hold", NULL, NULL, 0,
       S3_OP_GET_OBJECT_LEGAL_HOLD, S3_ERR_NotImplemented, "photos", "a.jpg"},
      {"GET", "/photos/a.jpg?attributes", NULL, NULL, 0,
       S3_OP_GET_OBJECT_ATTRIBUTES, S3_OK, "photos", "a.jpg"},
      {"POST", "/photos/a.jpg?restore", NULL, NULL, 0, S3_OP_RESTORE_OBJECT,
       S3_ERR_NotImplemented, "photos", "a.jpg"},
      {"POST", "/photos/a.jpg?select&select-type=2", NULL, NULL, 0,
       S3_OP_SELECT_OBJECT_CONTENT, S3_ERR_NotImplemented, "photos", "a.jpg"},
      {"GET", "/photos/a.jpg?torrent", NULL, NULL, 0, S3_OP_GET_OBJECT_TORRENT,
       S3_ERR_NotImplemented, "photos", "a.jpg"},
      {"PUT", "/photos/a.jpg?acl", NULL, NULL, CP, S3_OP_PUT_OBJECT_ACL, OK,
       "photos", "a.jpg"},
      /* the Host is not under the domain: path-style */
      {"GET", "/photos/k", "10.0.0.1:9000", DOMAIN, 0, S3_OP_GET_OBJECT, OK,
       "photos", "k"},
      {"GET", "/photos/k", DOMAIN, DOMAIN, 0, S3_OP_GET_OBJECT, OK, "photos",
       "k"},
      {"GET", "/photos/k", "S3.EXAMPLE.COM:443", DOMAIN, 0, S3_OP_GET_OBJECT,
       OK, "photos", "k"},
      {"GET", "/photos/k", "[::1]:9000", DOMAIN, 0, S3_OP_GET_OBJECT, OK,
       "photos", "k"},
      /* absolute-form */
      {"GET", "http://127.0.0.1:9000/photos/k?tagging", "ignored", NULL, 0,
       S3_OP_GET_OBJECT_TAGGING, S3_ERR_NotImplemented, "photos", "k"},
      {"GET", "http://photos.s3.example.com:9000/k", "ignored", DOMAIN, 0,
       S3_OP_GET_OBJECT, OK, "photos", "k"},
      {"GET", "http://s3.example.com", NULL, DOMAIN, 0, S3_OP_LIST_BUCKETS, OK,
       NULL, NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    check_case(&cases[i]);
}

static void test_virtual_hosted(void **state) {
  (void)state;
  const struct route_case cases[] = {
      {"GET", "/", "photos." DOMAIN, DOMAIN, 0, S3_OP_LIST_OBJECTS, OK,
       "photos", NULL},
      {"GET", "/?list-type=2", "photos." DOMAIN ":9000", DOMAIN, 0,
       S3_OP_LIST_OBJECTS_V2, OK, "photos", NULL},
      {"PUT", "/", "Photos.S3.Example.COM", DOMAIN, 0, S3_OP_CREATE_BUCKET, OK,
       "photos", NULL},
      {"GET", "/a/b.jpg", "my.dotted.bucket." DOMAIN, DOMAIN, 0,
       S3_OP_GET_OBJECT, OK, "my.dotted.bucket", "a/b.jpg"},
      /* the whole path is the key, even one that looks like a bucket */
      {"PUT", "/other/k", "photos." DOMAIN, DOMAIN, 0, S3_OP_PUT_OBJECT, OK,
       "photos", "other/k"},
      {"GET", "//double", "photos." DOMAIN, DOMAIN, 0, S3_OP_GET_OBJECT, OK,
       "photos", "/double"},
      {"POST", "/?delete", "photos." DOMAIN, DOMAIN, 0, S3_OP_DELETE_OBJECTS,
       OK, "photos", NULL},
      {"PUT", "/k?partNumber=3&uploadId=u", "photos." DOMAIN, DOMAIN, CP,
       S3_OP_UPLOAD_PART_COPY, OK, "photos", "k"},
      {"GET", "/", "Bad_Name." DOMAIN, DOMAIN, 0, S3_OP_UNKNOWN,
       S3_ERR_InvalidBucketName, NULL, NULL},
      {"GET", "/", "ab." DOMAIN, DOMAIN, 0, S3_OP_UNKNOWN,
       S3_ERR_InvalidBucketName, NULL, NULL},
      /* another domain's subdomain is not ours */
      {"GET", "/photos", "photos.other.com", DOMAIN, 0, S3_OP_LIST_OBJECTS, OK,
       "photos", NULL},
      {"GET", "/photos", "xs3.example.com", DOMAIN, 0, S3_OP_LIST_OBJECTS, OK,
       "photos", NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    check_case(&cases[i]);
}

static void test_keys(void **state) {
  (void)state;
  const struct route_case cases[] = {
      {"GET", "/bk1/a%20b", NULL, NULL, 0, S3_OP_GET_OBJECT, OK, "bk1", "a b"},
      {"GET", "/bk1/a+b", NULL, NULL, 0, S3_OP_GET_OBJECT, OK, "bk1", "a+b"},
      {"GET", "/bk1/a%2Bb", NULL, NULL, 0, S3_OP_GET_OBJECT, OK, "bk1", "a+b"},
      {"GET", "/bk1/a%2Fb", NULL, NULL, 0, S3_OP_GET_OBJECT, OK, "bk1", "a/b"},
      {"GET", "/bk1/a%2fb", NULL, NULL, 0, S3_OP_GET_OBJECT, OK, "bk1", "a/b"},
      {"GET", "/bk1/what%3F", NULL, NULL, 0, S3_OP_GET_OBJECT, OK, "bk1",
       "what?"},
      {"GET", "/bk1/100%25", NULL, NULL, 0, S3_OP_GET_OBJECT, OK, "bk1",
       "100%"},
      {"GET", "/bk1//x//y/", NULL, NULL, 0, S3_OP_GET_OBJECT, OK, "bk1",
       "/x//y/"},
      {"GET", "/bk1/%2F", NULL, NULL, 0, S3_OP_GET_OBJECT, OK, "bk1", "/"},
      {"GET", "/bk1/caf%C3%A9/%F0%9F%98%80", NULL, NULL, 0, S3_OP_GET_OBJECT,
       OK, "bk1", "caf\xc3\xa9/\xf0\x9f\x98\x80"},
      {"GET", "/bk1/caf\xc3\xa9", NULL, NULL, 0, S3_OP_GET_OBJECT, OK, "bk1",
       "caf\xc3\xa9"},
      {"GET", "/bk1/a%01b", NULL, NULL, 0, S3_OP_GET_OBJECT, OK, "bk1",
       "a\x01"
       "b"},
      {"GET", "/bk1/..", NULL, NULL, 0, S3_OP_GET_OBJECT, OK, "bk1", ".."},
      /* malformed escapes */
      {"GET", "/bk1/a%", NULL, NULL, 0, S3_OP_UNKNOWN, S3_ERR_InvalidURI, NULL,
       NULL},
      {"GET", "/bk1/a%2", NULL, NULL, 0, S3_OP_UNKNOWN, S3_ERR_InvalidURI, NULL,
       NULL},
      {"GET", "/bk1/a%G1", NULL, NULL, 0, S3_OP_UNKNOWN, S3_ERR_InvalidURI,
       NULL, NULL},
      {"GET", "/b%zz/k", NULL, NULL, 0, S3_OP_UNKNOWN, S3_ERR_InvalidURI, NULL,
       NULL},
      {"GET", "/bk1/k?prefix=%", NULL, NULL, 0, S3_OP_UNKNOWN,
       S3_ERR_InvalidURI, NULL, NULL},
      /* invalid UTF-8 and NUL */
      {"GET", "/bk1/%FF", NULL, NULL, 0, S3_OP_UNKNOWN, S3_ERR_InvalidURI, NULL,
       NULL},
      {"GET", "/bk1/%C0%AF", NULL, NULL, 0, S3_OP_UNKNOWN, S3_ERR_InvalidURI,
       NULL, NULL},
      {"GET", "/bk1/%ED%A0%80", NULL, NULL, 0, S3_OP_UNKNOWN, S3_ERR_InvalidURI,
       NULL, NULL},
      {"GET", "/bk1/a%00b", NULL, NULL, 0, S3_OP_UNKNOWN, S3_ERR_InvalidURI,
       NULL, NULL},
      {"GET", "/bk1%00/k", NULL, NULL, 0, S3_OP_UNKNOWN,
       S3_ERR_InvalidBucketName, NULL, NULL},
      {"GET", "/bk1/k?prefix=a%00", NULL, NULL, 0, S3_OP_UNKNOWN,
       S3_ERR_InvalidURI, NULL, NULL},
      /* not origin-form */
      {"GET", "b1/k", NULL, NULL, 0, S3_OP_UNKNOWN, S3_ERR_InvalidURI, NULL,
       NULL},
      {"GET", "*", NULL, NULL, 0, S3_OP_UNKNOWN, S3_ERR_InvalidURI, NULL, NULL},
      {"GET", "/bk1/k#frag", NULL, NULL, 0, S3_OP_UNKNOWN, S3_ERR_InvalidURI,
       NULL, NULL},
      /* bucket names */
      {"GET", "/Photos/k", NULL, NULL, 0, S3_OP_UNKNOWN,
       S3_ERR_InvalidBucketName, NULL, NULL},
      {"GET", "/a%2Fb/k", NULL, NULL, 0, S3_OP_UNKNOWN,
       S3_ERR_InvalidBucketName, NULL, NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    check_case(&cases[i]);

  /* 1024 bytes pass (plain and fully escaped), 1025 do not */
  char target[4 * 1100], key[1100];
  for (int escaped = 0; escaped < 2; escaped++)
    for (size_t len = 1023; len <= 1025; len++) {
      size_t n = (size_t)sprintf(target, "/bk1/");
      for (size_t i = 0; i < len; i++)
        n += (size_t)sprintf(target + n, escaped ? "%%%02X" : "%c", 'k');
      memset(key, 'k', len);
      key[len] = '\0';
      struct route_case c = {"PUT",
                             target,
                             NULL,
                             NULL,
                             0,
                             len <= 1024 ? S3_OP_PUT_OBJECT : S3_OP_UNKNOWN,
                             len <= 1024 ? OK : S3_ERR_KeyTooLongError,
                             "bk1",
                             len <= 1024 ? key : NULL};
      check_case(&c);
    }
  /* a 2-byte character straddling the limit */
  size_t n = (size_t)sprintf(target, "/bk1/");
  for (int i = 0; i < 1023; i++)
    target[n++] = 'k';
  n += (size_t)sprintf(target + n, "%%C3%%A9");
  struct s3_route rt;
  assert_int_equal(s3_route_parse(&rt, "PUT", target, n, NULL, NULL, 0), 0);
  assert_int_equal(rt.error, S3_ERR_KeyTooLongError);
  assert_string_equal(rt.bucket, "bk1"); /* filled even on error */
  s3_route_release(&rt);
  /* an absurd target */
  size_t huge = S3_ROUTE_TARGET_MAX + 1;
  char *t = malloc(huge);
  memset(t, 'a', huge);
  t[0] = '/';
  assert_int_equal(s3_route_parse(&rt, "GET", t, huge, NULL, NULL, 0), 0);
  assert_int_equal(rt.error, S3_ERR_InvalidURI);
  s3_route_release(&rt);
  free(t);
}

static void test_query(void **state) {
  (void)state;
  struct s3_route rt;
  const char *target =
      "/bk1?list-type=2&prefix=a+b%2Bc%20d&delimiter=%2F&&start-after="
      "&fetch-owner&encoding-type=url&x=1&x=2&%41=%62";
  assert_int_equal(
      s3_route_parse(&rt, "GET", target, strlen(target), NULL, NULL, 0), 0);
  assert_int_equal(rt.error, S3_OK);
  assert_int_equal(rt.op, S3_OP_LIST_OBJECTS_V2);
  assert_string_equal(s3_route_param(&rt, "prefix"), "a b+c d");
  assert_string_equal(s3_route_param(&rt, "delimiter"), "/");
  assert_string_equal(s3_route_param(&rt, "start-after"), "");
  assert_string_equal(s3_route_param(&rt, "fetch-owner"), "");
  assert_string_equal(s3_route_param(&rt, "x"), "1");
  assert_string_equal(s3_route_param(&rt, "A"), "b");
  assert_null(s3_route_param(&rt, "missing"));
  assert_null(s3_route_param(&rt, "Prefix")); /* case-sensitive */
  assert_int_equal(rt.param_count, 9);
  assert_false(rt.params[4].has_value); /* fetch-owner */
  assert_true(rt.params[3].has_value);  /* start-after= */
  assert_string_equal(rt.raw_path, "/bk1");
  assert_string_equal(rt.raw_query, target + 5);
  s3_route_release(&rt);

  /* too many parameters */
  char many[2048];
  size_t n = (size_t)sprintf(many, "/bk1?");
  for (int i = 0; i <= S3_ROUTE_PARAMS_MAX; i++)
    n += (size_t)sprintf(many + n, "p%d=%d&", i, i);
  assert_int_equal(s3_route_parse(&rt, "GET", many, n, NULL, NULL, 0), 0);
  assert_int_equal(rt.error, S3_ERR_InvalidURI);
  s3_route_release(&rt);

  /* a route with no query */
  assert_int_equal(s3_route_parse(&rt, "GET", "/bk1/k", 6, NULL, NULL, 0), 0);
  assert_string_equal(rt.raw_query, "");
  assert_string_equal(rt.raw_path, "/bk1/k");
  assert_int_equal(rt.param_count, 0);
  s3_route_release(&rt);
}

static void test_bucket_names(void **state) {
  (void)state;
  const char *good[] = {
      "abc",
      "my-bucket",
      "my.bucket.name",
      "0ab",
      "a1b",
      "123",
      "a-b-c",
      "xn-ok",
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "1.2.3",
      "1.2.3.4.5",
      "bucket-s3alias-x"};
  const char *bad[] = {
      "",
      "ab",
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "ABC",
      "my_bucket",
      "-abc",
      "abc-",
      ".abc",
      "abc.",
      "a..b",
      "192.168.5.4",
      "1.2.3.4",
      "xn--abc",
      "sthree-abc",
      "amzn-s3-demo-x",
      "abc-s3alias",
      "abc--ol-s3",
      "abc.mrap",
      "abc--x-s3",
      "abc--table-s3",
      "a b",
      "a/b",
      "caf\xc3\xa9"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    if (s3_bucket_name_check(good[i]) != S3_OK)
      fail_msg("should be valid: %s", good[i]);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (s3_bucket_name_check(bad[i]) != S3_ERR_InvalidBucketName)
      fail_msg("should be invalid: %s", bad[i]);
  assert_int_equal(s3_object_key_check("", 0), S3_ERR_InvalidArgument);
  assert_int_equal(s3_object_key_check("a", 1), S3_OK);
}

static void test_op_table(void **state) {
  (void)state;
  int implemented = 0;
  for (int i = 1; i < S3_OP_COUNT; i++) {
    enum s3_operation op = (enum s3_operation)i;
    const char *name = s3_op_name(op), *action = s3_op_action(op);
    assert_true(strlen(name) > 0);
    assert_int_equal(strncmp(action, "s3:", 3), 0);
    assert_int_equal(s3_op_from_name(name), op);
    implemented += s3_op_implemented(op);
  }
  assert_int_equal(implemented, 35);
  assert_string_equal(s3_op_name(S3_OP_PUT_OBJECT), "PutObject");
  assert_string_equal(s3_op_action(S3_OP_PUT_OBJECT), "s3:PutObject");
  assert_string_equal(s3_op_action(S3_OP_LIST_BUCKETS), "s3:ListAllMyBuckets");
  assert_string_equal(s3_op_action(S3_OP_ABORT_MULTIPART_UPLOAD),
                      "s3:AbortMultipartUpload");
  assert_string_equal(s3_op_name(S3_OP_UNKNOWN), "Unknown");
  assert_string_equal(s3_op_name((enum s3_operation)9999), "Unknown");
  assert_string_equal(s3_op_action(S3_OP_UNKNOWN), "");
  assert_int_equal(s3_op_from_name("NoSuchOp"), S3_OP_UNKNOWN);
  /* Every row is reachable: route a request built from each row. */
#define XX(id, name, action, method, target, sub, copy, impl)                  \
  {S3_OP_##id, method, #target, sub, copy},
  struct {
    enum s3_operation op;
    const char *method, *target, *sub;
    int copy;
  } rows[] = {S3_OP_MAP(XX)};
#undef XX
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    char t[128];
    const char *path = strcmp(rows[i].target, "SERVICE") == 0  ? "/"
                       : strcmp(rows[i].target, "BUCKET") == 0 ? "/bkt"
                                                               : "/bkt/key";
    snprintf(t, sizeof t, "%s%s%s", path, rows[i].sub ? "?" : "",
             rows[i].sub ? rows[i].sub : "");
    struct s3_route rt;
    assert_int_equal(s3_route_parse(&rt, rows[i].method, t, strlen(t), NULL,
                                    NULL, rows[i].copy ? CP : 0),
                     0);
    if (rt.op != rows[i].op)
      fail_msg("%s %s routes to %s, not %s", rows[i].method, t,
               s3_op_name(rt.op), s3_op_name(rows[i].op));
    assert_int_equal(rt.error, s3_op_implemented(rows[i].op)
                                   ? S3_OK
                                   : S3_ERR_NotImplemented);
    s3_route_release(&rt);
  }
}

/* Every prefix and every single-byte mutation of some targets routes
 * without crashing (ASan watches the arena bounds). */
static void test_no_crash(void **state) {
  (void)state;
  const char *seeds[] = {"/bk1/k%41?uploadId=x&partNumber=1",
                         "http://b1.s3.example.com:9/%2F%2F?acl=&a+b=c+d",
                         "/?list-type=2&prefix=%E2%82%AC"};
  const char alphabet[] = "/?&=%+#:.aZ09\x80\xff";
  for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
    size_t n = strlen(seeds[s]);
    char buf[128];
    for (size_t len = 0; len <= n; len++)
      for (size_t pos = 0; pos <= len; pos++)
        for (size_t a = 0; a < sizeof alphabet - 1; a++) {
          memcpy(buf, seeds[s], len);
          if (pos < len)
            buf[pos] = alphabet[a];
          struct s3_route rt;
          assert_int_equal(
              s3_route_parse(&rt, "GET", buf, len, "b1." DOMAIN, DOMAIN, 0), 0);
          s3_route_release(&rt);
        }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_path_style),
      cmocka_unit_test(test_virtual_hosted),
      cmocka_unit_test(test_keys),
      cmocka_unit_test(test_query),
      cmocka_unit_test(test_bucket_names),
      cmocka_unit_test(test_op_table),
      cmocka_unit_test(test_no_crash),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

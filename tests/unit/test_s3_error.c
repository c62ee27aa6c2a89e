/* test_s3_error.c - the S3 error table, the CAIRN_E* mapping and error
 * documents (parsed back with expat). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "error.h"
#include "s3_error.h"

#include <expat.h>
#include <stdio.h>
#include <string.h>

static void test_table_sane(void **state) {
  (void)state;
  for (int i = S3_OK + 1; i < S3_ERROR_COUNT; i++) {
    enum s3_error_code c = (enum s3_error_code)i;
    const char *name = s3_error_name(c), *msg = s3_error_message(c);
    assert_non_null(name);
    assert_non_null(msg);
    assert_true(strlen(name) > 0);
    assert_true(strlen(msg) > 0);
    int status = s3_error_status(c);
    assert_in_range(status, 300, 599);
    assert_int_equal(s3_error_from_name(name), c);
    for (int j = i + 1; j < S3_ERROR_COUNT; j++)
      assert_string_not_equal(name, s3_error_name((enum s3_error_code)j));
  }
}

static void test_known_rows(void **state) {
  (void)state;
  struct {
    const char *name;
    int status;
  } rows[] = {{"AccessDenied", 403},
              {"NoSuchKey", 404},
              {"NoSuchBucket", 404},
              {"BucketNotEmpty", 409},
              {"InvalidRange", 416},
              {"MethodNotAllowed", 405},
              {"MissingContentLength", 411},
              {"PreconditionFailed", 412},
              {"NotImplemented", 501},
              {"SlowDown", 503},
              {"ServiceUnavailable", 503},
              {"InternalError", 500},
              {"NotModified", 304},
              {"SignatureDoesNotMatch", 403},
              {"RequestTimeTooSkewed", 403},
              {"XAmzContentSHA256Mismatch", 400},
              {"MalformedXML", 400},
              {"KeyTooLongError", 400},
              {"InvalidObjectState", 403},
              {"NoSuchUpload", 404},
              {"EntityTooLarge", 400},
              {"BucketAlreadyOwnedByYou", 409},
              {"ServerSideEncryptionConfigurationNotFoundError", 404}};
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    enum s3_error_code c = s3_error_from_name(rows[i].name);
    assert_int_not_equal(c, S3_OK);
    assert_int_equal(s3_error_status(c), rows[i].status);
  }
  assert_int_equal(s3_error_from_name("NoSuchThing"), S3_OK);
  assert_int_equal(s3_error_from_name("nosuchkey"), S3_OK); /* exact */
  assert_int_equal(s3_error_status(S3_OK), 200);
  /* out of range reads as InternalError */
  assert_int_equal(s3_error_status((enum s3_error_code)9999), 500);
  assert_string_equal(s3_error_name((enum s3_error_code) - 3), "InternalError");
}

static void test_from_cairn(void **state) {
  (void)state;
  assert_int_equal(s3_error_from_cairn(0), S3_OK);
  assert_int_equal(s3_error_from_cairn(CAIRN_EUNAVAIL),
                   S3_ERR_ServiceUnavailable);
  assert_int_equal(s3_error_from_cairn(CAIRN_ENOSPC),
                   S3_ERR_ServiceUnavailable);
  assert_int_equal(s3_error_from_cairn(CAIRN_ETIMEDOUT), S3_ERR_RequestTimeout);
  assert_int_equal(s3_error_from_cairn(CAIRN_ETOOBIG), S3_ERR_EntityTooLarge);
  assert_int_equal(s3_error_from_cairn(CAIRN_ECORRUPT), S3_ERR_InternalError);
  assert_int_equal(s3_error_from_cairn(CAIRN_ENOENT), S3_ERR_InternalError);
  assert_int_equal(s3_error_from_cairn(-12345), S3_ERR_InternalError);
  assert_non_null(s3_error_message_for_cairn(CAIRN_ENOSPC));
  assert_null(s3_error_message_for_cairn(CAIRN_EIO));
  /* every internal code maps to a row with a message */
  for (int e = -1; e >= -20; e--) {
    enum s3_error_code c = s3_error_from_cairn(e);
    assert_int_not_equal(c, S3_OK);
    assert_true(strlen(s3_error_message(c)) > 0);
  }
}

/* ---- parse an error document back ---------------------------------------- */

struct collected {

  char code[512], message[512], resource[512], request_id[512], extra[512];
  char cur[512];
  size_t cur_len;
  int depth;
};

static void on_start(void *d, const XML_Char *name, const XML_Char **atts) {
  struct collected *c = d;
  (void)atts;
  (void)name;
  c->depth++;
  c->cur_len = 0;
}
static void on_text(void *d, const XML_Char *s, int len) {
  struct collected *c = d;
  if (c->cur_len + (size_t)len < sizeof c->cur) {
    memcpy(c->cur + c->cur_len, s, (size_t)len);
    c->cur_len += (size_t)len;
  }
}
static void on_end(void *d, const XML_Char *name) {
  struct collected *c = d;
  c->cur[c->cur_len] = '\0';
  char *dst = strcmp(name, "Code") == 0        ? c->code
              : strcmp(name, "Message") == 0   ? c->message
              : strcmp(name, "Resource") == 0  ? c->resource
              : strcmp(name, "RequestId") == 0 ? c->request_id
              : strcmp(name, "Key") == 0       ? c->extra
                                               : NULL;
  if (dst)
    snprintf(dst, 512, "%s", c->cur);
  c->cur_len = 0;
  c->depth--;
}

static int parse_back(const char *doc, size_t len, struct collected *c) {
  memset(c, 0, sizeof *c);
  XML_Parser p = XML_ParserCreate(NULL);
  XML_SetUserData(p, c);
  XML_SetElementHandler(p, on_start, on_end);
  XML_SetCharacterDataHandler(p, on_text);
  int ok = XML_Parse(p, doc, (int)len, XML_TRUE) == XML_STATUS_OK;
  XML_ParserFree(p);
  return ok;
}

static void test_render(void **state) {
  (void)state;
  char buf[4096];
  long n = s3_error_render_xml(S3_ERR_NoSuchKey, NULL, "/b/a&b<c>", "REQ1",
                               NULL, 0, buf, sizeof buf);
  assert_true(n > 0);
  assert_int_equal((size_t)n, strlen(buf));
  assert_memory_equal(
      buf, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>", 45);
  struct collected c;
  assert_true(parse_back(buf, (size_t)n, &c));
  assert_string_equal(c.code, "NoSuchKey");
  assert_string_equal(c.message, "The specified key does not exist.");
  assert_string_equal(c.resource, "/b/a&b<c>");
  assert_string_equal(c.request_id, "REQ1");

  struct s3_error_field extra[] = {
      {"Key", "k\"'\t\n"}, {"StringToSign", "AWS4\n2026"}, {"Skipped", NULL}};
  n = s3_error_render_xml(S3_ERR_SignatureDoesNotMatch, "custom <msg>", NULL,
                          NULL, extra, 3, buf, sizeof buf);
  assert_true(n > 0);
  assert_non_null(strstr(buf, "<StringToSign>AWS4&#xA;2026</StringToSign>"));
  assert_null(strstr(buf, "Resource"));
  assert_null(strstr(buf, "Skipped"));
  assert_true(parse_back(buf, (size_t)n, &c));
  assert_string_equal(c.message, "custom <msg>");
  assert_string_equal(c.extra, "k\"'\t\n");

  /* empty message falls back to the default; tiny buffers fail cleanly */
  n = s3_error_render_xml(S3_ERR_SlowDown, "", NULL, NULL, NULL, 0, buf,
                          sizeof buf);
  assert_non_null(strstr(buf, "Please reduce your request rate."));
  assert_int_equal(
      s3_error_render_xml(S3_ERR_SlowDown, NULL, NULL, NULL, NULL, 0, buf, 40),
      CAIRN_ETOOBIG);
  assert_int_equal(
      s3_error_render_xml(S3_ERR_SlowDown, NULL, NULL, NULL, NULL, 0, buf, 0),
      CAIRN_ETOOBIG);
  /* every code renders well-formed */
  for (int i = 1; i < S3_ERROR_COUNT; i++) {
    n = s3_error_render_xml((enum s3_error_code)i, NULL, "/r", "id", NULL, 0,
                            buf, sizeof buf);
    assert_true(n > 0);
    assert_true(parse_back(buf, (size_t)n, &c));
    assert_string_equal(c.code, s3_error_name((enum s3_error_code)i));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table_sane),
      cmocka_unit_test(test_known_rows),
      cmocka_unit_test(test_from_cairn),
      cmocka_unit_test(test_render),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

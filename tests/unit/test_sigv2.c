/* test_sigv2.c - AWS Signature Version 2 (coordinator/auth/sigv2.c): the
 * StringToSign and signatures of the S3 developer guide's examples
 * ("Signing and authenticating REST requests"), then verification through
 * auth_verify() and every way to be refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "error.h"
#include "sigv2.h"

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
/* Tue, 27 Mar 2007 19:36:42 +0000 */
#define NOW 1175024202

static int lookup(const char *access_key, char *secret, size_t cap, void *arg) {
  (void)arg;
  if (strcmp(access_key, AK) != 0)
    return CAIRN_ENOENT;
  snprintf(secret, cap, "%s", SK);
  return 0;
}

static struct auth_verifier verifier = {.lookup_secret = lookup};

/* StringToSign of r, compared, then its signature. */
static void check(const struct sigv2_request *r, const char *want_sts,
                  const char *want_sig) {
  char *sts;
  size_t len;
  assert_int_equal(sigv2_string_to_sign(r, &sts, &len), 0);
  assert_string_equal(sts, want_sts);
  assert_int_equal(len, strlen(want_sts));
  char sig[SIGV2_SIGNATURE_B64 + 1];
  sigv2_signature(SK, sts, len, sig);
  assert_string_equal(sig, want_sig);
  free(sts);
}

static void test_example_get_object(void **state) {
  (void)state;
  struct sigv4_header h[] = {{"Host", "johnsmith.s3.amazonaws.com"},
                             {"Date", "Tue, 27 Mar 2007 19:36:42 +0000"}};
  struct sigv2_request r = {.method = "GET",
                            .path = "/photos/puppy.jpg",
                            .headers = h,
                            .header_count = 2,
                            .virtual_bucket = "johnsmith"};
  check(&r,
        "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/"
        "puppy.jpg",
        "bWq2s1WEIj+Ydj0vQ697zp+IXMU=");
  /* Path-style names the bucket in the path: the same string. */
  r.virtual_bucket = NULL;
  r.path = "/johnsmith/photos/puppy.jpg";
  check(&r,
        "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/"
        "puppy.jpg",
        "bWq2s1WEIj+Ydj0vQ697zp+IXMU=");
}

static void test_example_put_object(void **state) {
  (void)state;
  struct sigv4_header h[] = {{"Content-Type", "image/jpeg"},
                             {"Content-Length", "94328"},
                             {"Host", "johnsmith.s3.amazonaws.com"},
                             {"Date", "Tue, 27 Mar 2007 21:15:45 +0000"}};
  struct sigv2_request r = {.method = "PUT",
                            .path = "/photos/puppy.jpg",
                            .headers = h,
                            .header_count = 4,
                            .virtual_bucket = "johnsmith"};
  check(&r,
        "PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/johnsmith/"
        "photos/puppy.jpg",
        "MyyxeRY7whkBe+bq8fHCL/2kKUg=");
}

static void test_example_list_and_acl(void **state) {
  (void)state;
  struct sigv4_header h[] = {{"User-Agent", "Mozilla/5.0"},
                             {"Host", "johnsmith.s3.amazonaws.com"},
                             {"Date", "Tue, 27 Mar 2007 19:42:41 +0000"}};
  /* Listing parameters are not sub-resources: not signed. */
  struct sigv2_request r = {.method = "GET",
                            .path = "/",
                            .query = "prefix=photos&max-keys=50&marker=puppy",
                            .headers = h,
                            .header_count = 3,
                            .virtual_bucket = "johnsmith"};
  check(&r, "GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/johnsmith/",
        "htDYFYduRNen8P9ZfE/s9SuKy0U=");
  /* Fetch with a sub-resource. */
  h[2].value = "Tue, 27 Mar 2007 19:44:46 +0000";
  r.query = "acl";
  check(&r, "GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/johnsmith/?acl",
        "c2WLPFtWHVgbEmeEG93a4cG37dM=");
}

static void test_example_upload_amz_headers(void **state) {
  (void)state;
  /* A CNAME'd virtual host, repeated x-amz-meta headers merged, names
   * lower-cased and sorted, values trimmed. */
  struct sigv4_header h[] = {
      {"User-Agent", "curl/7.15.5"},
      {"Host", "static.johnsmith.net:8080"},
      {"Date", "Tue, 27 Mar 2007 21:06:08 +0000"},
      {"x-amz-acl", "public-read"},
      {"content-type", "application/x-download"},
      {"Content-MD5", "4gJE4saaMU4BqNR0kLY+lw=="},
      {"X-Amz-Meta-ReviewedBy", "joe@johnsmith.net"},
      {"X-Amz-Meta-ReviewedBy", " jane@johnsmith.net"},
      {"X-Amz-Meta-FileChecksum", "0x02661779"},
      {"X-Amz-Meta-ChecksumAlgorithm", "crc32"},
      {"Content-Disposition", "attachment; filename=database.dat"},
      {"Content-Encoding", "gzip"},
      {"Content-Length", "5913339"}};
  struct sigv2_request r = {.method = "PUT",
                            .path = "/db-backup.dat.gz",
                            .headers = h,
                            .header_count = 13,
                            .virtual_bucket = "static.johnsmith.net"};
  check(&r,
        "PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\nTue, 27 Mar "
        "2007 21:06:08 +0000\nx-amz-acl:public-read\n"
        "x-amz-meta-checksumalgorithm:crc32\n"
        "x-amz-meta-filechecksum:0x02661779\n"
        "x-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n"
        "/static.johnsmith.net/db-backup.dat.gz",
        "ilyl83RwaSoYIEdixDQcA4OnAnc=");
}

static void test_example_list_buckets_and_unicode(void **state) {
  (void)state;
  struct sigv4_header h[] = {{"Host", "s3.amazonaws.com"},
                             {"Date", "Wed, 28 Mar 2007 01:29:59 +0000"}};
  struct sigv2_request r = {
      .method = "GET", .path = "/", .headers = h, .header_count = 2};
  check(&r, "GET\n\n\nWed, 28 Mar 2007 01:29:59 +0000\n/",
        "qGdzdERIC03wnaRNKh6OqZehG9s=");
  /* The path is signed as sent, percent-encoding and its case kept. */
  h[1].value = "Wed, 28 Mar 2007 01:49:49 +0000";
  r.path = "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re";
  check(&r,
        "GET\n\n\nWed, 28 Mar 2007 01:49:49 +0000\n/dictionary/fran%C3%A7ais/"
        "pr%c3%a9f%c3%a8re",
        "DNEZGsoieTZ92F3bUfSPQcbGmlM=");
}

static void test_example_query_string(void **state) {
  (void)state;
  struct sigv4_header h[] = {{"Host", "johnsmith.s3.amazonaws.com"}};
  struct sigv2_request r = {.method = "GET",
                            .path = "/photos/puppy.jpg",
                            .query = "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&"
                                     "Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%"
                                     "3D&Expires=1175139620",
                            .headers = h,
                            .header_count = 1,
                            .virtual_bucket = "johnsmith",
                            .expires = "1175139620"};
  check(&r, "GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg",
        "NpgCjnDzrM+WFzoENXmpNDUsSn8=");
}

static void test_subresources_sorted_and_decoded(void **state) {
  (void)state;
  struct sigv4_header h[] = {{"x-amz-date", "Tue, 27 Mar 2007 21:20:26 +0000"},
                             {"Date", "Tue, 27 Mar 2007 21:20:27 +0000"}};
  struct sigv2_request r = {
      .method = "GET",
      .path = "/b/k",
      .query = "versionId=3&response-content-type=text%2Fplain&prefix=x&"
               "uploadId=u%20id&acl",
      .headers = h,
      .header_count = 2};
  char *sts;
  size_t len;
  assert_int_equal(sigv2_string_to_sign(&r, &sts, &len), 0);
  /* x-amz-date empties the Date line. */
  assert_string_equal(sts, "GET\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 "
                           "+0000\n/b/k?acl&response-content-type=text/plain&"
                           "uploadId=u id&versionId=3");
  free(sts);
  assert_true(sigv2_is_subresource("uploads", 7));
  assert_true(sigv2_is_subresource("delete", 6));
  assert_false(sigv2_is_subresource("upload", 6));
  assert_false(sigv2_is_subresource("prefix", 6));
  /* Too many sub-resources: refused, not truncated. */
  char q[4096] = "";
  for (int i = 0; i < SIGV2_SUBRESOURCES_MAX + 1; i++)
    strcat(q, "acl&");
  r.query = q;
  assert_int_equal(sigv2_string_to_sign(&r, &sts, &len), CAIRN_EINVAL);
}

/* ---- verification through auth_verify ---------------------------------- */

static struct sigv4_header vh[4];

static struct auth_request v2_request(const char *authorization,
                                      const char *date) {
  vh[0] = (struct sigv4_header){"host", "johnsmith.s3.amazonaws.com"};
  vh[1] = (struct sigv4_header){"date", date};
  vh[2] = (struct sigv4_header){"authorization", authorization};
  return (struct auth_request){.method = "GET",
                               .path = "/photos/puppy.jpg",
                               .headers = vh,
                               .header_count = 3,
                               .now = NOW,
                               .virtual_bucket = "johnsmith"};
}

#define GOOD "AWS " AK ":bWq2s1WEIj+Ydj0vQ697zp+IXMU="
#define GOOD_DATE "Tue, 27 Mar 2007 19:36:42 +0000"

static void test_verify_header(void **state) {
  (void)state;
  struct auth_result out;
  struct auth_request r = v2_request(GOOD, GOOD_DATE);
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_OK);
  assert_string_equal(out.access_key, AK);
  assert_int_equal(out.method, AUTH_METHOD_V2_HEADER);
  assert_int_equal(out.payload, AUTH_PAYLOAD_UNSIGNED);
  /* The RFC 1123 "GMT" form of the same instant is accepted for the
   * clock, but it is what was signed: a different string, a mismatch. */
  r = v2_request(GOOD, "Tue, 27 Mar 2007 19:36:42 GMT");
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_SIGNATURE_MISMATCH);
  /* Wrong signature, bad base64, a changed byte of the request. */
  r = v2_request("AWS " AK ":bWq2s1WEIj+Ydj0vQ697zp+IXMV=", GOOD_DATE);
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_SIGNATURE_MISMATCH);
  r = v2_request("AWS " AK ":!!!", GOOD_DATE);
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_SIGNATURE_MISMATCH);
  r = v2_request(GOOD, GOOD_DATE);
  r.path = "/photos/puppy.png";
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_SIGNATURE_MISMATCH);
  /* Unknown key; malformed headers. */
  r = v2_request("AWS AKIDUNKNOWN:bWq2s1WEIj+Ydj0vQ697zp+IXMU=", GOOD_DATE);
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_INVALID_ACCESS_KEY);
  static const char *const malformed[] = {"AWS ", "AWS :sig", "AWS nocolon",
                                          "AWS a b:sig"};
  for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
    r = v2_request(malformed[i], GOOD_DATE);
    assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_HEADER_MALFORMED);
  }
}

static void test_verify_dates(void **state) {
  (void)state;
  struct auth_result out;
  struct auth_request r = v2_request(GOOD, "yesterday");
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_MISSING_DATE);
  r = v2_request(GOOD, GOOD_DATE);
  vh[1].name = "x-other"; /* no date at all */
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_MISSING_DATE);
  /* 15 minutes of skew either way, not one second more. */
  r = v2_request(GOOD, GOOD_DATE);
  r.now = NOW + AUTH_MAX_SKEW_SECONDS;
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_OK);
  r.now = NOW + AUTH_MAX_SKEW_SECONDS + 1;
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_TIME_SKEWED);
  r.now = NOW - AUTH_MAX_SKEW_SECONDS - 1;
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_TIME_SKEWED);
}

static void test_verify_query(void **state) {
  (void)state;
  struct auth_result out;
  struct sigv4_header h[] = {{"host", "johnsmith.s3.amazonaws.com"}};
  struct auth_request r = {
      .method = "GET",
      .path = "/photos/puppy.jpg",
      .query = "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620&"
               "Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D",
      .headers = h,
      .header_count = 1,
      .now = 1175139620,
      .virtual_bucket = "johnsmith"};
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_OK);
  assert_int_equal(out.method, AUTH_METHOD_V2_QUERY);
  r.now++; /* one second after Expires */
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_EXPIRED);
  r.now--;
  r.query = "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139621&"
            "Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D";
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_SIGNATURE_MISMATCH);
  static const char *const malformed[] = {
      "AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Expires=1175139620",
      "Signature=x&Expires=1175139620",
      "AWSAccessKeyId=A&Signature=x",
      "AWSAccessKeyId=A&Signature=x&Expires=12ab",
      "AWSAccessKeyId=A&Signature=x&Expires=123456789012345",
      "AWSAccessKeyId=A&AWSAccessKeyId=A&Signature=x&Expires=1"};
  for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
    r.query = malformed[i];
    assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_QUERY_V2_MALFORMED);
  }
  /* Both a V2 query and an Authorization header: one mechanism only. */
  struct sigv4_header two[] = {{"host", "x"}, {"authorization", GOOD}};
  r.query = "AWSAccessKeyId=A&Signature=x&Expires=1";
  r.headers = two;
  r.header_count = 2;
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_INVALID_ARGUMENT);
}

static void test_disabled_and_payload(void **state) {
  (void)state;
  struct auth_result out;
  struct auth_verifier off = {.lookup_secret = lookup, .sigv2_disabled = 1};
  struct auth_request r = v2_request(GOOD, GOOD_DATE);
  assert_int_equal(auth_verify(&off, &r, &out), AUTH_SIGV2_DISABLED);
  assert_string_equal(auth_status_s3_code(AUTH_SIGV2_DISABLED), "AccessDenied");
  struct sigv4_header h[] = {{"host", "x"}, {"authorization", "AWS " AK ":x"}};
  r = (struct auth_request){.method = "GET",
                            .path = "/",
                            .query = "AWSAccessKeyId=A&Signature=x&Expires=1",
                            .headers = h,
                            .header_count = 1,
                            .now = NOW};
  assert_int_equal(auth_verify(&off, &r, &out), AUTH_SIGV2_DISABLED);
  /* A SigV4 streaming payload claim makes no sense with V2. */
  r = v2_request(GOOD, GOOD_DATE);
  vh[3] =
      (struct sigv4_header){"x-amz-content-sha256", SIGV4_STREAMING_PAYLOAD};
  r.header_count = 4;
  assert_int_equal(auth_verify(&verifier, &r, &out),
                   AUTH_STREAMING_NOT_ALLOWED);
  vh[3].value = "nonsense";
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_BAD_CONTENT_SHA256);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_example_get_object),
      cmocka_unit_test(test_example_put_object),
      cmocka_unit_test(test_example_list_and_acl),
      cmocka_unit_test(test_example_upload_amz_headers),
      cmocka_unit_test(test_example_list_buckets_and_unicode),
      cmocka_unit_test(test_example_query_string),
      cmocka_unit_test(test_subresources_sorted_and_decoded),
      cmocka_unit_test(test_verify_header),
      cmocka_unit_test(test_verify_dates),
      cmocka_unit_test(test_verify_query),
      cmocka_unit_test(test_disabled_and_payload),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

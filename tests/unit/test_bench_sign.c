/* test_bench_sign.c - cairn-bench's request signing: AWS's published GET
 * Object example reproduced to the byte, and the requests the benchmark
 * sends (UNSIGNED-PAYLOAD PUTs, multipart queries, listings) accepted by
 * the coordinator's own verifier (coordinator/auth). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "bench_sign.h"
#include "crypto.h"
#include "error.h"

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define NOW 1369353600 /* 20130524T000000Z, the date of AWS's examples */
#define HOST "examplebucket.s3.amazonaws.com"

static const struct sigv4_credentials credentials = {AK, SK, "us-east-1", "s3"};

static int lookup(const char *access_key, char *secret, size_t cap, void *arg) {
  (void)arg;
  if (strcmp(access_key, AK) != 0)
    return CAIRN_ENOENT;
  snprintf(secret, cap, "%s", SK);
  return 0;
}

static int setup(void **state) {
  (void)state;
  return crypto_init();
}

static int teardown(void **state) {
  (void)state;
  crypto_shutdown();
  return 0;
}

/* "Example: GET Object" of the S3 SigV4 documentation. */
static void test_aws_get_object_example(void **state) {
  (void)state;
  const struct sigv4_header range = {"range", "bytes=0-9"};
  struct bench_signature sig;
  assert_int_equal(bench_sign(&credentials, HOST, "GET", "/test.txt", NULL,
                              SIGV4_EMPTY_SHA256, &range, 1, NOW, &sig),
                   0);
  assert_string_equal(sig.amz_date, "20130524T000000Z");
  assert_string_equal(
      sig.authorization,
      "AWS4-HMAC-SHA256 "
      "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
      "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
      "Signature="
      "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

/* Signs as cairn-bench does, then verifies the headers it would send. */
static enum auth_status sign_and_verify(const char *method,
                                        const char *signed_path,
                                        const char *sent_path,
                                        const char *query) {
  struct bench_signature sig;
  assert_int_equal(bench_sign(&credentials, "127.0.0.1:9000", method,
                              signed_path, query, SIGV4_UNSIGNED_PAYLOAD, NULL,
                              0, NOW, &sig),
                   0);
  const struct sigv4_header headers[] = {
      {"host", "127.0.0.1:9000"},
      {"x-amz-content-sha256", SIGV4_UNSIGNED_PAYLOAD},
      {"x-amz-date", sig.amz_date},
      {"authorization", sig.authorization},
  };
  const struct auth_request request = {method,  sent_path, query,
                                       headers, 4,         NOW + 60};
  const struct auth_verifier verifier = {.lookup_secret = lookup};
  struct auth_result result;
  enum auth_status status = auth_verify(&verifier, &request, &result);
  if (status == AUTH_OK) {
    assert_int_equal(result.payload, AUTH_PAYLOAD_UNSIGNED);
    assert_string_equal(result.access_key, AK);
  }
  memset(&result, 0, sizeof result);
  return status;
}

static void test_verifier_accepts_bench_requests(void **state) {
  (void)state;
  const char *key = "/cairn-bench/bench/obj-0000000042";
  assert_int_equal(sign_and_verify("PUT", key, key, NULL), AUTH_OK);
  assert_int_equal(sign_and_verify("GET", key, key, NULL), AUTH_OK);
  assert_int_equal(sign_and_verify("DELETE", key, key, NULL), AUTH_OK);
  assert_int_equal(sign_and_verify("POST", key, key, "uploads"), AUTH_OK);
  assert_int_equal(
      sign_and_verify("PUT", key, key, "partNumber=3&uploadId=a%2Bb%3D"),
      AUTH_OK);
  assert_int_equal(sign_and_verify("GET", "/cairn-bench", "/cairn-bench",
                                   "list-type=2&max-keys=1000&prefix=bench%2F"
                                   "&continuation-token=abc%3D%3D"),
                   AUTH_OK);
  const char *spaced = "/cairn-bench/a%20key/with~tilde";
  assert_int_equal(sign_and_verify("PUT", spaced, spaced, NULL), AUTH_OK);
}

static void test_verifier_refuses_another_request(void **state) {
  (void)state;
  assert_int_equal(sign_and_verify("PUT", "/b/key-1", "/b/key-2", NULL),
                   AUTH_SIGNATURE_MISMATCH);
}

static void test_too_many_extra_headers(void **state) {
  (void)state;
  struct sigv4_header extra[BENCH_SIGN_EXTRA_MAX + 1];
  for (size_t i = 0; i < BENCH_SIGN_EXTRA_MAX + 1; i++)
    extra[i] = (struct sigv4_header){"x-amz-meta-n", "v"};
  struct bench_signature sig;
  assert_int_equal(bench_sign(&credentials, HOST, "GET", "/", NULL,
                              SIGV4_UNSIGNED_PAYLOAD, extra,
                              BENCH_SIGN_EXTRA_MAX + 1, NOW, &sig),
                   CAIRN_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_aws_get_object_example),
      cmocka_unit_test(test_verifier_accepts_bench_requests),
      cmocka_unit_test(test_verifier_refuses_another_request),
      cmocka_unit_test(test_too_many_extra_headers),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

/* test_sigv4_verify.c - server-side SigV4 verification (coordinator/auth):
 * AWS's published examples accepted, then every way to be refused. */
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

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define DATE "20130524T000000Z"
#define NOW 1369353600
#define EMPTY SIGV4_EMPTY_SHA256

static const char *secret_for_test = SK;

static int lookup(const char *access_key, char *secret, size_t cap, void *arg) {
  int *calls = arg;
  if (calls)
    (*calls)++;
  if (strcmp(access_key, AK) != 0)
    return CAIRN_ENOENT;
  snprintf(secret, cap, "%s", secret_for_test);
  return 0;
}

static struct auth_verifier verifier = {.lookup_secret = lookup};

#define GET_AUTH                                                               \
  "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"    \
  "aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"     \
  "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"

static struct sigv4_header get_headers[5];

static struct auth_request get_request(const char *authorization) {
  get_headers[0] =
      (struct sigv4_header){"host", "examplebucket.s3.amazonaws.com"};
  get_headers[1] = (struct sigv4_header){"range", "bytes=0-9"};
  get_headers[2] = (struct sigv4_header){"x-amz-content-sha256", EMPTY};
  get_headers[3] = (struct sigv4_header){"x-amz-date", DATE};
  get_headers[4] = (struct sigv4_header){"authorization", authorization};
  return (struct auth_request){.method = "GET",
                               .path = "/test.txt",
                               .headers = get_headers,
                               .header_count = 5,
                               .now = NOW};
}

static void test_status_table(void **state) {
  (void)state;
  assert_string_equal(auth_status_s3_code(AUTH_SIGNATURE_MISMATCH),
                      "SignatureDoesNotMatch");
  assert_int_equal(auth_status_http(AUTH_SIGNATURE_MISMATCH), 403);
  assert_string_equal(auth_status_s3_code(AUTH_EXPIRED), "AccessDenied");
  assert_string_equal(auth_status_message(AUTH_EXPIRED), "Request has expired");
  assert_int_equal(auth_status_http(AUTH_HEADER_MALFORMED), 400);
  for (int s = AUTH_OK; s <= AUTH_INTERNAL; s++) {
    assert_true(strlen(auth_status_message(s)) > 0);
    assert_true(strlen(auth_status_s3_code(s)) > 0);
  }
  assert_string_equal(auth_status_s3_code((enum auth_status)999),
                      "InternalError");
}

static void test_get_object_example(void **state) {
  (void)state;
  struct auth_request r = get_request(GET_AUTH);
  struct auth_result out;
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_OK);
  assert_string_equal(out.access_key, AK);
  assert_int_equal(out.method, AUTH_METHOD_HEADER);
  assert_int_equal(out.payload, AUTH_PAYLOAD_SHA256);
  assert_string_equal(out.region, "us-east-1");
  /* Spaces after commas, another order, upper-case hex: same request. */
  r = get_request(
      "AWS4-HMAC-SHA256  "
      "Signature="
      "F0E8BDB87C964420E857BD35B5D6ED310BD44F0170ABA48DD91039C6036BDB41 , "
      "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,  "
      "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request");
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_OK);
  /* Skew: 15 minutes either way is fine, one second more is not. */
  r = get_request(GET_AUTH);
  r.now = NOW + 900;
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_OK);
  r.now = NOW - 900;
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_OK);
  r.now = NOW + 901;
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_TIME_SKEWED);
  r.now = NOW - 901;
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_TIME_SKEWED);
  /* Region pinned. */
  struct auth_verifier pinned = {.lookup_secret = lookup,
                                 .region = "eu-west-1"};
  r = get_request(GET_AUTH);
  assert_int_equal(auth_verify(&pinned, &r, &out), AUTH_WRONG_REGION);
  assert_string_equal(auth_status_s3_code(AUTH_WRONG_REGION),
                      "AuthorizationHeaderMalformed");
  pinned.region = "us-east-1";
  assert_int_equal(auth_verify(&pinned, &r, &out), AUTH_OK);
}

static void test_put_and_list_examples(void **state) {
  (void)state;
  struct sigv4_header h[] = {
      {"host", "examplebucket.s3.amazonaws.com"},
      {"date", "Fri, 24 May 2013 00:00:00 GMT"},
      {"x-amz-date", DATE},
      {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
      {"x-amz-content-sha256",
       "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"},
      {"authorization",
       "AWS4-HMAC-SHA256 "
       "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
       "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-"
       "class,"
       "Signature="
       "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"}};
  struct auth_request r = {.method = "PUT",
                           .path = "/test%24file.text",
                           .headers = h,
                           .header_count = 6,
                           .now = NOW};
  struct auth_result out;
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_OK);
  assert_int_equal(out.payload, AUTH_PAYLOAD_SHA256);
  assert_int_equal(out.payload_sha256[0], 0x44);
  /* The body hash check, streamed. */
  struct auth_payload_check pc;
  assert_int_equal(auth_payload_begin(&pc, out.payload_sha256), AUTH_OK);
  auth_payload_update(&pc, "Welcome to ", 11);
  auth_payload_update(&pc, "Amazon S3.", 10);
  assert_int_equal(auth_payload_finish(&pc), AUTH_OK);
  assert_int_equal(auth_payload_begin(&pc, out.payload_sha256), AUTH_OK);
  auth_payload_update(&pc, "Welcome to Amazon S3!", 21);
  assert_int_equal(auth_payload_finish(&pc), AUTH_CONTENT_SHA256_MISMATCH);
  auth_payload_release(&pc); /* safe after finish */
  /* A tampered signed header. */
  h[3].value = "STANDARD";
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_SIGNATURE_MISMATCH);
  h[3].value = "REDUCED_REDUNDANCY";
  /* An x-amz-* header that was not signed. */
  struct sigv4_header h2[7];
  memcpy(h2, h, sizeof h);
  h2[6] = (struct sigv4_header){"x-amz-meta-late", "1"};
  r.headers = h2;
  r.header_count = 7;
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_UNSIGNED_HEADERS);
  struct auth_verifier lax = {.lookup_secret = lookup,
                              .allow_unsigned_amz_headers = 1};
  assert_int_equal(auth_verify(&lax, &r, &out), AUTH_OK);
  /* A non-amz header added later is fine. */
  h2[6] = (struct sigv4_header){"user-agent", "x"};
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_OK);

  /* List objects: the query in any order. */
  struct sigv4_header l[] = {
      {"host", "examplebucket.s3.amazonaws.com"},
      {"x-amz-date", DATE},
      {"x-amz-content-sha256", EMPTY},
      {"authorization",
       "AWS4-HMAC-SHA256 "
       "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
       "SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
       "Signature="
       "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"}};
  struct auth_request lr = {.method = "GET",
                            .path = "/",
                            .query = "prefix=J&max-keys=2",
                            .headers = l,
                            .header_count = 4,
                            .now = NOW};
  assert_int_equal(auth_verify(&verifier, &lr, &out), AUTH_OK);
  lr.query = "prefix=K&max-keys=2";
  assert_int_equal(auth_verify(&verifier, &lr, &out), AUTH_SIGNATURE_MISMATCH);
  lr.query = "prefix=J&max-keys=2";
  lr.method = "DELETE";
  assert_int_equal(auth_verify(&verifier, &lr, &out), AUTH_SIGNATURE_MISMATCH);
  lr.method = "GET";
  lr.path = "/x";
  assert_int_equal(auth_verify(&verifier, &lr, &out), AUTH_SIGNATURE_MISMATCH);
}

static void test_wrong_secret_and_key(void **state) {
  (void)state;
  struct auth_request r = get_request(GET_AUTH);
  struct auth_result out;
  int calls = 0;
  struct auth_verifier v = {.lookup_secret = lookup, .arg = &calls};
  secret_for_test = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEZ";
  assert_int_equal(auth_verify(&v, &r, &out), AUTH_SIGNATURE_MISMATCH);
  assert_string_equal(out.access_key, ""); /* nothing leaks on failure */
  secret_for_test = SK;
  r = get_request(
      "AWS4-HMAC-SHA256 "
      "Credential=AKIDUNKNOWN/20130524/us-east-1/s3/aws4_request,"
      "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
      "Signature="
      "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  assert_int_equal(auth_verify(&v, &r, &out), AUTH_INVALID_ACCESS_KEY);
  assert_int_equal(calls, 2);
  /* A signature one nibble off. */
  r = get_request(
      "AWS4-HMAC-SHA256 "
      "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
      "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
      "Signature="
      "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb42");
  assert_int_equal(auth_verify(&v, &r, &out), AUTH_SIGNATURE_MISMATCH);
}

static void test_malformed_authorization(void **state) {
  (void)state;
  static const struct {
    const char *header;
    enum auth_status want;
  } cases[] = {
      {"", AUTH_HEADER_MALFORMED},
      {"AWS4-HMAC-SHA256", AUTH_HEADER_MALFORMED},
      {"AWS4-HMAC-SHA256X Credential=a", AUTH_HEADER_MALFORMED},
      /* SigV2 (sigv2.c): this request's x-amz-date, another signature */
      {"AWS AKIAIOSFODNN7EXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=",
       AUTH_SIGNATURE_MISMATCH},
      {"AWS4-ECDSA-P256-SHA256 Credential=x", AUTH_NOT_IMPLEMENTED},
      /* missing Signature */
      {"AWS4-HMAC-SHA256 "
       "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
       "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date",
       AUTH_HEADER_MALFORMED},
      /* duplicate field */
      {"AWS4-HMAC-SHA256 "
       "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
       "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
       "SignedHeaders=host,Signature="
       "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
       AUTH_HEADER_MALFORMED},
      /* unknown field */
      {"AWS4-HMAC-SHA256 "
       "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
       "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Foo=bar,"
       "Signature="
       "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
       AUTH_HEADER_MALFORMED},
      /* bad hex, short signature */
      {"AWS4-HMAC-SHA256 "
       "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
       "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
       "Signature="
       "g0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
       AUTH_HEADER_MALFORMED},
      {"AWS4-HMAC-SHA256 "
       "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
       "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature="
       "f0e8",
       AUTH_HEADER_MALFORMED},
      /* credential: too few parts, wrong terminator, bad date, empty key */
      {"AWS4-HMAC-SHA256 "
       "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/aws4_request,"
       "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
       "Signature="
       "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
       AUTH_HEADER_MALFORMED},
      {"AWS4-HMAC-SHA256 "
       "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_requesx,"
       "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
       "Signature="
       "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
       AUTH_HEADER_MALFORMED},
      {"AWS4-HMAC-SHA256 "
       "Credential=AKIAIOSFODNN7EXAMPLE/2013052a/us-east-1/s3/aws4_request,"
       "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
       "Signature="
       "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
       AUTH_HEADER_MALFORMED},
      {"AWS4-HMAC-SHA256 Credential=/20130524/us-east-1/s3/aws4_request,"
       "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
       "Signature="
       "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
       AUTH_HEADER_MALFORMED},
      /* credential date is not the request's date */
      {"AWS4-HMAC-SHA256 "
       "Credential=AKIAIOSFODNN7EXAMPLE/20130525/us-east-1/s3/aws4_request,"
       "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
       "Signature="
       "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
       AUTH_HEADER_MALFORMED},
      /* another service */
      {"AWS4-HMAC-SHA256 "
       "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/iam/aws4_request,"
       "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
       "Signature="
       "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
       AUTH_HEADER_MALFORMED},
      /* host, x-amz-date or x-amz-content-sha256 not signed */
      {"AWS4-HMAC-SHA256 "
       "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
       "SignedHeaders=range;x-amz-content-sha256;x-amz-date,"
       "Signature="
       "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
       AUTH_HEADER_MALFORMED},
      {"AWS4-HMAC-SHA256 "
       "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
       "SignedHeaders=host;range;x-amz-content-sha256,"
       "Signature="
       "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
       AUTH_HEADER_MALFORMED},
      {"AWS4-HMAC-SHA256 "
       "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
       "SignedHeaders=host;range;x-amz-date,"
       "Signature="
       "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
       AUTH_HEADER_MALFORMED},
      /* signed headers: upper case, empty name */
      {"AWS4-HMAC-SHA256 "
       "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
       "SignedHeaders=Host;range;x-amz-content-sha256;x-amz-date,"
       "Signature="
       "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
       AUTH_HEADER_MALFORMED},
      {"AWS4-HMAC-SHA256 "
       "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
       "SignedHeaders=host;;range;x-amz-content-sha256;x-amz-date,"
       "Signature="
       "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
       AUTH_HEADER_MALFORMED},
  };
  struct auth_result out;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct auth_request r = get_request(cases[i].header);
    enum auth_status got = auth_verify(&verifier, &r, &out);
    if (got != cases[i].want)
      fail_msg("case %zu: got %d want %d", i, got, cases[i].want);
  }
  /* Very long header values and fields. */
  size_t n = 100000;
  char *huge = malloc(n + 1);
  memset(huge, 'A', n);
  memcpy(huge, "AWS4-HMAC-SHA256 Credential=", 28);
  huge[n] = '\0';
  struct auth_request r = get_request(huge);
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_HEADER_MALFORMED);
  snprintf(
      huge, n,
      "AWS4-HMAC-SHA256 Credential=%0300d/20130524/us-east-1/s3/aws4_request,"
      "SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=%064d",
      7, 0);
  r = get_request(huge);
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_HEADER_MALFORMED);
  free(huge);
}

static void test_missing_pieces(void **state) {
  (void)state;
  struct auth_result out;
  struct auth_request r = get_request(GET_AUTH);
  /* No credentials at all. */
  r.header_count = 4;
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_NO_CREDENTIALS);
  /* No date. */
  r = get_request(GET_AUTH);
  get_headers[3] = get_headers[4];
  r.header_count = 4;
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_MISSING_DATE);
  /* A bad x-amz-date. */
  r = get_request(GET_AUTH);
  get_headers[3].value = "20130524 000000";
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_MISSING_DATE);
  /* No x-amz-content-sha256, or a bad one. */
  r = get_request(GET_AUTH);
  get_headers[2].name = "x-other";
  assert_int_equal(auth_verify(&verifier, &r, &out),
                   AUTH_MISSING_CONTENT_SHA256);
  r = get_request(GET_AUTH);
  get_headers[2].value = "abc";
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_BAD_CONTENT_SHA256);
  get_headers[2].value = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD";
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_NOT_IMPLEMENTED);
  /* Streaming without x-amz-decoded-content-length. */
  get_headers[2].value = SIGV4_STREAMING_PAYLOAD;
  assert_int_equal(auth_verify(&verifier, &r, &out),
                   AUTH_MISSING_SECURITY_HEADER);
  /* Two Authorization headers, or header + presigned. */
  struct sigv4_header twice[6];
  r = get_request(GET_AUTH);
  memcpy(twice, get_headers, sizeof get_headers);
  twice[5] = twice[4];
  r.headers = twice;
  r.header_count = 6;
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_HEADER_MALFORMED);
  r = get_request(GET_AUTH);
  r.query = "X-Amz-Algorithm=AWS4-HMAC-SHA256";
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_INVALID_ARGUMENT);
}

/* Date instead of x-amz-date: signed with our own signer, verified. */
static void test_date_header(void **state) {
  (void)state;
  struct sigv4_header h[4] = {{"host", "h"},
                              {"date", "Fri, 24 May 2013 00:00:00 GMT"},
                              {"x-amz-content-sha256", EMPTY}};
  struct sigv4_credentials c = {AK, SK, "us-east-1", "s3"};
  struct sigv4_request sr = {.method = "GET",
                             .path = "/b/k",
                             .headers = h,
                             .header_count = 3,
                             .payload_hash = EMPTY};
  char authorization[512];
  assert_int_equal(sigv4_sign_request(&c, &sr, DATE, authorization,
                                      sizeof authorization, NULL),
                   0);
  h[3] = (struct sigv4_header){"authorization", authorization};
  struct auth_request r = {.method = "GET",
                           .path = "/b/k",
                           .headers = h,
                           .header_count = 4,
                           .now = NOW + 60};
  struct auth_result out;
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_OK);
}

static void test_presigned(void **state) {
  (void)state;
  struct sigv4_header h[] = {{"host", "examplebucket.s3.amazonaws.com"}};
  const char *q =
      "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%"
      "2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
      "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders="
      "host"
      "&X-Amz-Signature="
      "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
  struct auth_request r = {.method = "GET",
                           .path = "/test.txt",
                           .query = q,
                           .headers = h,
                           .header_count = 1,
                           .now = NOW + 86400};
  struct auth_result out;
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_OK);
  assert_int_equal(out.method, AUTH_METHOD_PRESIGNED);
  assert_int_equal(out.payload, AUTH_PAYLOAD_UNSIGNED);
  assert_string_equal(out.access_key, AK);
  r.now = NOW + 86401;
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_EXPIRED);
  assert_string_equal(auth_status_message(AUTH_EXPIRED), "Request has expired");
  r.now = NOW - 901; /* dated too far in the future */
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_TIME_SKEWED);
  r.now = NOW;
  r.path = "/test2.txt";
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_SIGNATURE_MISMATCH);
  r.path = "/test.txt";
  /* Extra query parameters are signed too. */
  char extra[1024];
  snprintf(extra, sizeof extra, "%s&versionId=1", q);
  r.query = extra;
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_SIGNATURE_MISMATCH);

  static const struct {
    const char *query;
    enum auth_status want;
  } bad[] = {
      {"X-Amz-Algorithm=AWS4-HMAC-SHA256", AUTH_QUERY_MALFORMED},
      {"X-Amz-Signature=00", AUTH_QUERY_MALFORMED},
      {"X-Amz-Algorithm=AWS4-HMAC-SHA1&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%"
       "2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
       "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders="
       "host&X-Amz-Signature="
       "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
       AUTH_QUERY_MALFORMED},
      {"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%"
       "2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
       "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=604801&X-Amz-SignedHeaders="
       "host&X-Amz-Signature="
       "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
       AUTH_EXPIRES_RANGE},
      {"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%"
       "2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
       "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=0&X-Amz-SignedHeaders=host&"
       "X-Amz-Signature="
       "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
       AUTH_EXPIRED},
      {"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%"
       "2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
       "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=-5&X-Amz-SignedHeaders=host&"
       "X-Amz-Signature="
       "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
       AUTH_EXPIRED},
      {"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%"
       "2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
       "&X-Amz-Date=20130524T000000Z&X-Amz-SignedHeaders=host&X-Amz-Signature="
       "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
       AUTH_QUERY_MALFORMED},
      {"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%"
       "2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
       "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders="
       "range&X-Amz-Signature="
       "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
       AUTH_QUERY_MALFORMED},
      {"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%"
       "2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
       "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders="
       "host&X-Amz-Signature=zz",
       AUTH_QUERY_MALFORMED},
      {"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-"
       "Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_"
       "request"
       "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders="
       "host&X-Amz-Signature="
       "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
       AUTH_QUERY_MALFORMED},
      {"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%"
       "2F20130525%2Fus-east-1%2Fs3%2Faws4_request"
       "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders="
       "host&X-Amz-Signature="
       "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
       AUTH_QUERY_MALFORMED},
      {"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDUNKNOWN%"
       "2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
       "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders="
       "host&X-Amz-Signature="
       "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
       AUTH_INVALID_ACCESS_KEY},
  };
  r.now = NOW;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    r.query = bad[i].query;
    enum auth_status got = auth_verify(&verifier, &r, &out);
    if (got != bad[i].want)
      fail_msg("case %zu: got %d want %d", i, got, bad[i].want);
  }
  /* A presigned URL from our own presigner, with a query of its own. */
  struct sigv4_credentials c = {AK, SK, "us-east-1", "s3"};
  struct sigv4_request sr = {.method = "PUT",
                             .path = "/b/a%20key",
                             .query = "partNumber=1&uploadId=a%2Fb",
                             .headers = h,
                             .header_count = 1};
  char *pq;
  assert_int_equal(sigv4_presign(&c, &sr, DATE, 60, &pq), 0);
  r.method = "PUT";
  r.path = "/b/a%20key";
  r.query = pq;
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_OK);
  /* No signed streaming bodies through presigned URLs. */
  struct sigv4_header hs[] = {
      {"host", "examplebucket.s3.amazonaws.com"},
      {"x-amz-content-sha256", SIGV4_STREAMING_PAYLOAD}};
  r.headers = hs;
  r.header_count = 2;
  assert_int_equal(auth_verify(&verifier, &r, &out),
                   AUTH_STREAMING_NOT_ALLOWED);
  free(pq);
}

/* The streaming example's seed: the result carries the chain's state. */
static void test_streaming_seed(void **state) {
  (void)state;
  struct sigv4_header h[] = {
      {"host", "s3.amazonaws.com"},
      {"x-amz-date", DATE},
      {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
      {"content-encoding", "aws-chunked"},
      {"x-amz-decoded-content-length", "66560"},
      {"content-length", "66824"},
      {"x-amz-content-sha256", SIGV4_STREAMING_PAYLOAD},
      {"authorization",
       "AWS4-HMAC-SHA256 "
       "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
       "SignedHeaders=content-encoding;content-length;host;x-amz-content-"
       "sha256;x-amz-date;"
       "x-amz-decoded-content-length;x-amz-storage-class,"
       "Signature="
       "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"}};
  struct auth_request r = {.method = "PUT",
                           .path = "/examplebucket/chunkObject.txt",
                           .headers = h,
                           .header_count = 8,
                           .now = NOW};
  struct auth_result out;
  assert_int_equal(auth_verify(&verifier, &r, &out), AUTH_OK);
  assert_int_equal(out.payload, AUTH_PAYLOAD_STREAMING_SIGNED);
  assert_string_equal(
      out.stream.seed_signature,
      "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
  assert_string_equal(out.stream.scope, "20130524/us-east-1/s3/aws4_request");
  assert_string_equal(out.stream.amz_date, DATE);
  uint8_t key[SHA256_LEN];
  sigv4_signing_key(SK, "20130524", "us-east-1", "s3", key);
  assert_memory_equal(out.stream.signing_key, key, SHA256_LEN);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_status_table),
      cmocka_unit_test(test_get_object_example),
      cmocka_unit_test(test_put_and_list_examples),
      cmocka_unit_test(test_wrong_secret_and_key),
      cmocka_unit_test(test_malformed_authorization),
      cmocka_unit_test(test_missing_pieces),
      cmocka_unit_test(test_date_header),
      cmocka_unit_test(test_presigned),
      cmocka_unit_test(test_streaming_seed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_sigv4.c - the pure SigV4 signer against AWS's published examples
 * (S3 API reference: sig-v4-header-based-auth examples, sigv4-query-string-
 * auth, sigv4-streaming), plus URI encoding and dates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "sigv4.h"

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define DATE "20130524T000000Z"
#define EMPTY SIGV4_EMPTY_SHA256

static const struct sigv4_credentials creds = {AK, SK, "us-east-1", "s3"};

static void sign(const char *method, const char *path, const char *query,
                 const struct sigv4_header *h, size_t n, const char *payload,
                 char authorization[512], char sig[65]) {
  struct sigv4_request r = {.method = method,
                            .path = path,
                            .query = query,
                            .headers = h,
                            .header_count = n,
                            .payload_hash = payload};
  assert_int_equal(
      sigv4_sign_request(&creds, &r, DATE, authorization, 512, sig), 0);
}

static void sha_hex(const char *text, char out[65]) {
  uint8_t d[SHA256_LEN];
  crypto_sha256(text, strlen(text), d);
  crypto_hex(d, SHA256_LEN, out);
}

/* Example: GET Object (Range bytes=0-9). */
static void test_get_object(void **state) {
  (void)state;
  const struct sigv4_header h[] = {{"Host", "examplebucket.s3.amazonaws.com"},
                                   {"Range", "bytes=0-9"},
                                   {"x-amz-content-sha256", EMPTY},
                                   {"x-amz-date", DATE}};
  char auth[512], sig[65], hash[65];
  sign("GET", "/test.txt", NULL, h, 4, EMPTY, auth, sig);
  assert_string_equal(
      sig, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  assert_string_equal(
      auth,
      "AWS4-HMAC-SHA256 "
      "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
      "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
      "Signature="
      "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
  /* The canonical request is the documented one. */
  struct sigv4_request r = {.method = "GET",
                            .path = "/test.txt",
                            .headers = h,
                            .header_count = 4,
                            .payload_hash = EMPTY,
                            .signed_headers =
                                "host;range;x-amz-content-sha256;x-amz-date"};
  char *cr;
  size_t len;
  assert_int_equal(sigv4_canonical_request(&r, &cr, &len), 0);
  assert_string_equal(cr,
                      "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n"
                      "range:bytes=0-9\nx-amz-content-sha256:" EMPTY "\n"
                      "x-amz-date:20130524T000000Z\n\n"
                      "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY);
  assert_int_equal(len, strlen(cr));
  sha_hex(cr, hash);
  assert_string_equal(
      hash, "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
  free(cr);
}

/* Example: PUT Object ("test$file.text", Date and storage class signed). */
static void test_put_object(void **state) {
  (void)state;
  char body_hash[65], auth[512], sig[65];
  sha_hex("Welcome to Amazon S3.", body_hash);
  assert_string_equal(
      body_hash,
      "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
  const struct sigv4_header h[] = {
      {"Host", "examplebucket.s3.amazonaws.com"},
      {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
      {"x-amz-date", DATE},
      {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
      {"x-amz-content-sha256", body_hash}};
  /* The raw path as a client sends it: '$' encoded, or not. */
  sign("PUT", "/test%24file.text", NULL, h, 5, body_hash, auth, sig);
  assert_string_equal(
      sig, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
  assert_non_null(strstr(auth, "SignedHeaders=date;host;x-amz-content-sha256;x-"
                               "amz-date;x-amz-storage-class,"));
  sign("PUT", "/test$file.text", NULL, h, 5, body_hash, auth, sig);
  assert_string_equal(
      sig, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

/* Example: GET Bucket lifecycle and GET Bucket (list objects). */
static void test_bucket_queries(void **state) {
  (void)state;
  const struct sigv4_header h[] = {{"host", "examplebucket.s3.amazonaws.com"},
                                   {"x-amz-date", DATE},
                                   {"x-amz-content-sha256", EMPTY}};
  char auth[512], sig[65];
  sign("GET", "/", "lifecycle", h, 3, EMPTY, auth, sig);
  assert_string_equal(
      sig, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
  sign("GET", "", "lifecycle=", h, 3, EMPTY, auth, sig); /* same canonical */
  assert_string_equal(
      sig, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
  sign("GET", "/", "max-keys=2&prefix=J", h, 3, EMPTY, auth, sig);
  assert_string_equal(
      sig, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
  /* Order and needless escapes on the wire do not matter. */
  sign("GET", "/", "prefix=%4A&max-keys=2", h, 3, EMPTY, auth, sig);
  assert_string_equal(
      sig, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

/* sigv4-query-string-auth: GET /test.txt, 86400 s. */
static void test_presign(void **state) {
  (void)state;
  const struct sigv4_header h[] = {{"Host", "examplebucket.s3.amazonaws.com"}};
  struct sigv4_request r = {
      .method = "GET", .path = "/test.txt", .headers = h, .header_count = 1};
  char *q;
  assert_int_equal(sigv4_presign(&creds, &r, DATE, 86400, &q), 0);
  assert_string_equal(
      q, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
         "AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
         "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders="
         "host"
         "&X-Amz-Signature="
         "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  /* The canonical request of the presigned URL (signature excluded). */
  r.query = q;
  r.signed_headers = "host";
  r.payload_hash = SIGV4_UNSIGNED_PAYLOAD;
  r.exclude_signature_param = 1;
  char *cr, hash[65];
  assert_int_equal(sigv4_canonical_request(&r, &cr, NULL), 0);
  sha_hex(cr, hash);
  assert_string_equal(
      hash, "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04");
  free(cr);
  free(q);
  r.query = NULL;
  r.signed_headers = NULL;
  assert_int_equal(sigv4_presign(&creds, &r, DATE, 0, &q), CAIRN_EINVAL);
  assert_int_equal(sigv4_presign(&creds, &r, DATE, 604801, &q), CAIRN_EINVAL);
  assert_null(q);
}

/* sigv4-streaming: seed signature and the chain of 64 KiB + 1 KiB + 0. */
static void test_streaming_chain(void **state) {
  (void)state;
  const struct sigv4_header h[] = {
      {"Host", "s3.amazonaws.com"},
      {"x-amz-date", DATE},
      {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
      {"Content-Encoding", "aws-chunked"},
      {"x-amz-decoded-content-length", "66560"},
      {"Content-Length", "66824"},
      {"x-amz-content-sha256", SIGV4_STREAMING_PAYLOAD}};
  char auth[512], seed[65];
  sign("PUT", "/examplebucket/chunkObject.txt", NULL, h, 7,
       SIGV4_STREAMING_PAYLOAD, auth, seed);
  assert_string_equal(
      seed, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
  struct sigv4_stream s;
  assert_int_equal(
      sigv4_signing_key(SK, "20130524", "us-east-1", "s3", s.signing_key), 0);
  strcpy(s.amz_date, DATE);
  assert_int_equal(sigv4_scope("20130524", "us-east-1", "s3", s.scope), 0);
  strcpy(s.seed_signature, seed);
  char *data = malloc(65536);
  memset(data, 'a', 65536);
  uint8_t d[SHA256_LEN];
  char sig1[65], sig2[65], sig3[65];
  crypto_sha256(data, 65536, d);
  sigv4_sign_chunk(&s, seed, d, sig1);
  assert_string_equal(
      sig1, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648");
  crypto_sha256(data, 1024, d);
  sigv4_sign_chunk(&s, sig1, d, sig2);
  assert_string_equal(
      sig2, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497");
  crypto_sha256("", 0, d);
  sigv4_sign_chunk(&s, sig2, d, sig3);
  assert_string_equal(
      sig3, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9");
  free(data);
}

static void test_uri_encode(void **state) {
  (void)state;
  char out[64];
  assert_int_equal(sigv4_uri_encode("a b/c~d+é", 10, 1, out, sizeof out), 18);
  assert_string_equal(out, "a%20b/c~d%2B%C3%A9");
  sigv4_uri_encode("a/b=&?#", 7, 0, out, sizeof out);
  assert_string_equal(out, "a%2Fb%3D%26%3F%23");
  sigv4_uri_encode("!'()*", 5, 0, out, sizeof out);
  assert_string_equal(out, "%21%27%28%29%2A");
  /* Truncation as snprintf: the needed length, a NUL-terminated prefix. */
  assert_int_equal(sigv4_uri_encode("   ", 3, 0, out, 5), 9);
  assert_string_equal(out, "%20%");
  char dec[16];
  assert_int_equal(sigv4_uri_decode("a%2Fb%zz%4", 10, dec), 8);
  assert_string_equal(dec, "a/b%zz%4");
}

static void test_canonical_details(void **state) {
  (void)state;
  /* Repeated headers join with ','; white space runs collapse; "%2F" in a
   * segment stays distinct from '/'; "." and ".." are not normalized. */
  const struct sigv4_header h[] = {
      {"host", "h"}, {"X-Amz-Meta-A", "  x   y  "}, {"x-amz-meta-a", "z\t\tw"}};
  struct sigv4_request r = {.method = "GET",
                            .path = "/b/a%2Fb/./../%7e",
                            .query = "b=2&a=2&a=1&flag&X-Amz-Signature=s",
                            .headers = h,
                            .header_count = 3,
                            .signed_headers = "host;x-amz-meta-a",
                            .payload_hash = "UNSIGNED-PAYLOAD",
                            .exclude_signature_param = 1};
  char *cr;
  assert_int_equal(sigv4_canonical_request(&r, &cr, NULL), 0);
  assert_string_equal(cr, "GET\n/b/a%2Fb/./../~\na=1&a=2&b=2&flag=\n"
                          "host:h\nx-amz-meta-a:x y,z w\n\n"
                          "host;x-amz-meta-a\nUNSIGNED-PAYLOAD");
  free(cr);
  /* Hostile: too many signed headers, empty names, huge requests. */
  r.signed_headers = "host;;x";
  assert_int_equal(sigv4_canonical_request(&r, &cr, NULL), CAIRN_EINVAL);
  char *many = malloc(SIGV4_SIGNED_HEADERS_LEN + 10);
  strcpy(many, "a");
  for (int i = 0; i < SIGV4_SIGNED_HEADERS_MAX; i++)
    strcat(many, ";a");
  r.signed_headers = many;
  assert_int_equal(sigv4_canonical_request(&r, &cr, NULL), CAIRN_EINVAL);
  free(many);
  size_t big = SIGV4_CANONICAL_MAX;
  char *path = malloc(big + 2);
  memset(path, ' ', big);
  path[0] = '/';
  path[big] = '\0';
  r.path = path;
  r.signed_headers = "host";
  assert_int_equal(sigv4_canonical_request(&r, &cr, NULL), CAIRN_ETOOBIG);
  assert_null(cr);
  free(path);
  char *query = malloc(4 * SIGV4_QUERY_PARAMS_MAX + 8);
  strcpy(query, "a");
  for (int i = 0; i < SIGV4_QUERY_PARAMS_MAX; i++)
    strcat(query, "&a=1");
  r.path = "/";
  r.query = query;
  assert_int_equal(sigv4_canonical_request(&r, &cr, NULL), CAIRN_EINVAL);
  free(query);
  r.method = NULL;
  assert_int_equal(sigv4_canonical_request(&r, &cr, NULL), CAIRN_EINVAL);
}

static void test_dates(void **state) {
  (void)state;
  int64_t t;
  assert_int_equal(sigv4_parse_amz_date(DATE, &t), 0);
  assert_int_equal(t, 1369353600);
  assert_int_equal(sigv4_parse_http_date("Fri, 24 May 2013 00:00:00 GMT", &t),
                   0);
  assert_int_equal(t, 1369353600);
  char out[17];
  sigv4_format_amz_date(951782400, out);
  assert_string_equal(out, "20000229T000000Z");
  assert_int_equal(sigv4_parse_amz_date("20000229T000000Z", &t), 0);
  assert_int_equal(t, 951782400);
  const char *bad[] = {"",
                       "20130524T000000",
                       "20130524T000000ZZ",
                       "2013052AT000000Z",
                       "20131324T000000Z",
                       "20130532T000000Z",
                       "20130524T250000Z",
                       "20130524X000000Z",
                       "+0130524T000000Z"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(sigv4_parse_amz_date(bad[i], &t), CAIRN_EINVAL);
  assert_int_equal(sigv4_parse_amz_date(NULL, &t), CAIRN_EINVAL);
  assert_int_equal(sigv4_parse_http_date("Fri, 24 Mai 2013 00:00:00 GMT", &t),
                   CAIRN_EINVAL);
  assert_int_equal(sigv4_parse_http_date("Fri, 24 May 2013 00:00:00 UTC", &t),
                   CAIRN_EINVAL);
}

static void test_client_limits(void **state) {
  (void)state;
  char small[16], names[8];
  const struct sigv4_header h[] = {
      {"Host", "h"}, {"X-Amz-Date", DATE}, {"host", "h"}};
  struct sigv4_request r = {.method = "GET",
                            .path = "/",
                            .headers = h,
                            .header_count = 2,
                            .payload_hash = EMPTY};
  assert_int_equal(
      sigv4_sign_request(&creds, &r, DATE, small, sizeof small, NULL),
      CAIRN_ETOOBIG);
  assert_int_equal(
      sigv4_sign_request(&creds, &r, "2013", small, sizeof small, NULL),
      CAIRN_EINVAL);
  assert_int_equal(sigv4_signed_headers_of(h, 3, names, sizeof names),
                   CAIRN_ETOOBIG);
  char ok[64];
  assert_int_equal(sigv4_signed_headers_of(h, 3, ok, sizeof ok), 0);
  assert_string_equal(ok, "host;x-amz-date");
  char long_secret[300];
  memset(long_secret, 'k', sizeof long_secret - 1);
  long_secret[sizeof long_secret - 1] = '\0';
  uint8_t key[SHA256_LEN];
  assert_int_equal(sigv4_signing_key(long_secret, "20130524", "r", "s3", key),
                   CAIRN_EINVAL);
}

/* The signing-key cache gives the derived key, misses on any other input
 * (a rotated secret among them) and is wiped by clear. */
static void test_key_cache(void **state) {
  (void)state;
  struct sigv4_key_cache *c = calloc(1, sizeof *c);
  const char *secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  uint8_t want[32], got[32];
  assert_int_equal(
      sigv4_signing_key(secret, "20130524", "us-east-1", "s3", want), 0);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(
        sigv4_signing_key_cached(c, secret, "20130524", "us-east-1", "s3", got),
        0);
    assert_memory_equal(got, want, 32);
  }
  assert_int_equal(c->misses, 1);
  assert_int_equal(c->hits, 2);
  uint8_t other[32];
  assert_int_equal(sigv4_signing_key_cached(c, "another-secret", "20130524",
                                            "us-east-1", "s3", other),
                   0);
  assert_memory_not_equal(other, want, 32);
  assert_int_equal(
      sigv4_signing_key_cached(c, secret, "20130525", "us-east-1", "s3", other),
      0);
  assert_memory_not_equal(other, want, 32);
  assert_int_equal(c->misses, 3);
  /* More inputs than slots: still right, old ones replaced. */
  for (int d = 0; d < 2 * SIGV4_KEY_CACHE_SLOTS; d++) {
    char date[16];
    snprintf(date, sizeof date, "201301%02d", d % 28 + 1);
    uint8_t plain[32];
    assert_int_equal(sigv4_signing_key(secret, date, "eu-west-1", "s3", plain),
                     0);
    assert_int_equal(
        sigv4_signing_key_cached(c, secret, date, "eu-west-1", "s3", got), 0);
    assert_memory_equal(got, plain, 32);
  }
  assert_int_equal(sigv4_signing_key_cached(NULL, secret, "20130524",
                                            "us-east-1", "s3", got),
                   0);
  assert_memory_equal(got, want, 32);
  sigv4_key_cache_clear(c);
  assert_int_equal(c->slot[0].used, 0);
  assert_int_equal(c->slot[0].secret[0], 0);
  free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_get_object),
      cmocka_unit_test(test_put_object),
      cmocka_unit_test(test_bucket_queries),
      cmocka_unit_test(test_presign),
      cmocka_unit_test(test_streaming_chain),
      cmocka_unit_test(test_uri_encode),
      cmocka_unit_test(test_canonical_details),
      cmocka_unit_test(test_dates),
      cmocka_unit_test(test_client_limits),
      cmocka_unit_test(test_key_cache),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_token.c - scoped tokens (coordinator/auth/token.c): round trips,
 * every tampered byte refused, expiry, revocation, client ranges, scope
 * and the text helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "error.h"
#include "token.h"

static const uint8_t key[TOKEN_KEY_LEN] = "0123456789abcdef0123456789abcde";
static const uint8_t other_key[TOKEN_KEY_LEN] =
    "another key, 32 bytes long....";

#define NOW 1700000000

static struct token sample(void) {
  struct token t = {.generation = 3,
                    .issued = NOW,
                    .expires = NOW + 3600,
                    .perms = TOKEN_PERM_READ | TOKEN_PERM_LIST,
                    .scope = TOKEN_SCOPE_PREFIX};
  memcpy(t.id, "\x01\x02\x03\x04\x05\x06\x07\x08", TOKEN_ID_LEN);
  snprintf(t.bucket, sizeof t.bucket, "photos");
  snprintf(t.path, sizeof t.path, "shared/");
  snprintf(t.owner, sizeof t.owner, "alice");
  assert_int_equal(token_parse_cidr("127.0.0.0/8", &t.cidrs[0]), 0);
  assert_int_equal(token_parse_cidr("::1", &t.cidrs[1]), 0);
  t.n_cidrs = 2;
  return t;
}

static void test_round_trip(void **state) {
  (void)state;
  struct token t = sample(), back;
  char text[TOKEN_TEXT_MAX + 1];
  assert_int_equal(token_encode(&t, key, text, sizeof text), 0);
  assert_memory_equal(text, TOKEN_PREFIX, strlen(TOKEN_PREFIX));
  /* URL-safe: nothing to escape in a query string. */
  assert_int_equal(strspn(text + strlen(TOKEN_PREFIX),
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                          "0123456789-_"),
                   strlen(text) - strlen(TOKEN_PREFIX));
  assert_int_equal(token_decode(text, strlen(text), key, &back), AUTH_OK);
  assert_memory_equal(&t, &back, sizeof t);
  /* Another key: the fields parse, the signature does not hold. */
  assert_int_equal(token_decode(text, strlen(text), other_key, &back),
                   AUTH_TOKEN_SIGNATURE);
  /* The longest token fits TOKEN_TEXT_MAX. */
  memset(t.bucket, 'b', TOKEN_BUCKET_MAX);
  t.bucket[TOKEN_BUCKET_MAX] = '\0';
  memset(t.path, 'p', TOKEN_PATH_MAX);
  t.path[TOKEN_PATH_MAX] = '\0';
  memset(t.owner, 'o', TOKEN_OWNER_MAX);
  t.owner[TOKEN_OWNER_MAX] = '\0';
  for (size_t i = 0; i < TOKEN_CIDRS_MAX; i++)
    assert_int_equal(token_parse_cidr("2001:db8::/32", &t.cidrs[i]), 0);
  t.n_cidrs = TOKEN_CIDRS_MAX;
  assert_int_equal(token_encode(&t, key, text, sizeof text), 0);
  assert_true(strlen(text) <= TOKEN_TEXT_MAX);
  assert_int_equal(token_decode(text, strlen(text), key, &back), AUTH_OK);
  assert_memory_equal(&t, &back, sizeof t);
  assert_int_equal(token_encode(&t, key, text, 100), CAIRN_ETOOBIG);
}

static void test_encode_refuses_bad_fields(void **state) {
  (void)state;
  char text[TOKEN_TEXT_MAX + 1];
  struct token t = sample();
  t.perms = 0;
  assert_int_equal(token_encode(&t, key, text, sizeof text), CAIRN_EINVAL);
  t = sample();
  t.bucket[0] = '\0';
  assert_int_equal(token_encode(&t, key, text, sizeof text), CAIRN_EINVAL);
  t = sample();
  t.scope = TOKEN_SCOPE_BUCKET; /* with a path */
  assert_int_equal(token_encode(&t, key, text, sizeof text), CAIRN_EINVAL);
  t = sample();
  t.path[0] = '\0'; /* a prefix scope without a prefix */
  assert_int_equal(token_encode(&t, key, text, sizeof text), CAIRN_EINVAL);
  t = sample();
  t.expires = t.issued;
  assert_int_equal(token_encode(&t, key, text, sizeof text), CAIRN_EINVAL);
  t = sample();
  t.n_cidrs = TOKEN_CIDRS_MAX + 1;
  assert_int_equal(token_encode(&t, key, text, sizeof text), CAIRN_EINVAL);
}

/* Every bit of the decoded bytes flipped, one at a time: never AUTH_OK. */
static void test_every_tamper_refused(void **state) {
  (void)state;
  struct token t = sample(), back;
  char text[TOKEN_TEXT_MAX + 1], b64[TOKEN_TEXT_MAX + 4];
  uint8_t raw[TOKEN_TEXT_MAX];
  assert_int_equal(token_encode(&t, key, text, sizeof text), 0);
  /* Decode the body by hand (standard alphabet, padded). */
  const char *body = text + strlen(TOKEN_PREFIX);
  size_t n = strlen(body);
  for (size_t i = 0; i < n; i++)
    b64[i] = body[i] == '-' ? '+' : body[i] == '_' ? '/' : body[i];
  while (n % 4)
    b64[n++] = '=';
  long raw_len = crypto_unbase64(b64, n, raw, sizeof raw);
  assert_true(raw_len > TOKEN_MAC_LEN);
  for (long i = 0; i < raw_len; i++)
    for (int bit = 0; bit < 8; bit++) {
      raw[i] ^= (uint8_t)(1 << bit);
      char enc[TOKEN_TEXT_MAX + 8], t2[TOKEN_TEXT_MAX + 16];
      crypto_base64(raw, (size_t)raw_len, enc);
      size_t m = strlen(enc);
      while (m && enc[m - 1] == '=')
        enc[--m] = '\0';
      for (size_t k = 0; k < m; k++)
        enc[k] = enc[k] == '+' ? '-' : enc[k] == '/' ? '_' : enc[k];
      snprintf(t2, sizeof t2, "%s%s", TOKEN_PREFIX, enc);
      enum auth_status st = token_decode(t2, strlen(t2), key, &back);
      assert_true(st == AUTH_TOKEN_MALFORMED || st == AUTH_TOKEN_SIGNATURE);
      raw[i] ^= (uint8_t)(1 << bit);
    }
  /* Truncated at every length, and one byte longer. */
  for (size_t len = 0; len < strlen(text); len++)
    assert_int_not_equal(token_decode(text, len, key, &back), AUTH_OK);
  char longer[TOKEN_TEXT_MAX + 2];
  snprintf(longer, sizeof longer, "%sA", text);
  assert_int_not_equal(token_decode(longer, strlen(longer), key, &back),
                       AUTH_OK);
}

static void test_malformed_text(void **state) {
  (void)state;
  struct token back;
  static const char *const bad[] = {
      "",         "cairn1.",     "cairn2.AAAA",     "CAIRN1.AAAA",
      "cairn1.A", "cairn1.####", "cairn1.AAAA+/==", "Bearer cairn1.AAAA"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(token_decode(bad[i], strlen(bad[i]), key, &back),
                     AUTH_TOKEN_MALFORMED);
  char huge[TOKEN_TEXT_MAX + 100];
  memset(huge, 'A', sizeof huge - 1);
  memcpy(huge, TOKEN_PREFIX, strlen(TOKEN_PREFIX));
  huge[sizeof huge - 1] = '\0';
  assert_int_equal(token_decode(huge, strlen(huge), key, &back),
                   AUTH_TOKEN_MALFORMED);
}

static void test_check_expiry_generation_origin(void **state) {
  (void)state;
  struct token t = sample();
  assert_int_equal(token_check(&t, NOW, 3, "127.0.0.1"), AUTH_OK);
  assert_int_equal(token_check(&t, NOW + 3599, 3, "127.0.0.1"), AUTH_OK);
  assert_int_equal(token_check(&t, NOW + 3600, 3, "127.0.0.1"),
                   AUTH_TOKEN_EXPIRED);
  /* Generation raised: revoked; an older cluster generation is fine. */
  assert_int_equal(token_check(&t, NOW, 4, "127.0.0.1"), AUTH_TOKEN_REVOKED);
  assert_int_equal(token_check(&t, NOW, 1, "127.0.0.1"), AUTH_OK);
  /* Client ranges, v4 and v6, v4-mapped v6. */
  assert_int_equal(token_check(&t, NOW, 3, "127.9.9.9"), AUTH_OK);
  assert_int_equal(token_check(&t, NOW, 3, "::1"), AUTH_OK);
  assert_int_equal(token_check(&t, NOW, 3, "::ffff:127.0.0.1"), AUTH_OK);
  assert_int_equal(token_check(&t, NOW, 3, "10.0.0.1"), AUTH_TOKEN_ORIGIN);
  assert_int_equal(token_check(&t, NOW, 3, "::2"), AUTH_TOKEN_ORIGIN);
  assert_int_equal(token_check(&t, NOW, 3, "nonsense"), AUTH_TOKEN_ORIGIN);
  assert_int_equal(token_check(&t, NOW, 3, NULL), AUTH_TOKEN_ORIGIN);
  assert_int_equal(token_parse_cidr("10.0.0.0/8", &t.cidrs[0]), 0);
  t.n_cidrs = 1;
  assert_int_equal(token_check(&t, NOW, 3, "127.0.0.1"), AUTH_TOKEN_ORIGIN);
  assert_int_equal(token_check(&t, NOW, 3, "10.255.0.1"), AUTH_OK);
  t.n_cidrs = 0; /* no ranges: anywhere */
  assert_int_equal(token_check(&t, NOW, 3, "192.0.2.1"), AUTH_OK);
  /* A lifetime beyond the bound is refused even with a valid MAC. */
  t.expires = t.issued + TOKEN_MAX_LIFETIME + 1;
  assert_int_equal(token_check(&t, NOW, 3, NULL), AUTH_TOKEN_EXPIRED);
}

static void test_scope(void **state) {
  (void)state;
  struct token t = sample(); /* photos, prefix shared/, read+list */
  assert_int_equal(
      token_allows(&t, "s3:GetObject", "photos", "shared/x", 8, NULL), AUTH_OK);
  assert_int_equal(
      token_allows(&t, "s3:GetObject", "photos", "other/x", 7, NULL),
      AUTH_TOKEN_SCOPE);
  assert_int_equal(
      token_allows(&t, "s3:GetObject", "photos2", "shared/x", 8, NULL),
      AUTH_TOKEN_SCOPE);
  /* The key length counts, not a NUL. */
  assert_int_equal(
      token_allows(&t, "s3:GetObject", "photos", "shared/x", 5, NULL),
      AUTH_TOKEN_SCOPE);
  assert_int_equal(
      token_allows(&t, "s3:PutObject", "photos", "shared/x", 8, NULL),
      AUTH_TOKEN_SCOPE);
  assert_int_equal(
      token_allows(&t, "s3:DeleteObject", "photos", "shared/x", 8, NULL),
      AUTH_TOKEN_SCOPE);
  assert_int_equal(
      token_allows(&t, "s3:ListBucket", "photos", NULL, 0, "shared/a"),
      AUTH_OK);
  assert_int_equal(token_allows(&t, "s3:ListBucket", "photos", NULL, 0, NULL),
                   AUTH_TOKEN_SCOPE);
  assert_int_equal(token_allows(&t, "s3:ListBucket", "photos", NULL, 0, "sh"),
                   AUTH_TOKEN_SCOPE);
  assert_int_equal(
      token_allows(&t, "s3:GetBucketLocation", "photos", NULL, 0, NULL),
      AUTH_OK);
  assert_int_equal(token_allows(&t, "s3:DeleteBucket", "photos", NULL, 0, NULL),
                   AUTH_TOKEN_SCOPE);
  assert_int_equal(token_allows(&t, "s3:ListAllMyBuckets", "", NULL, 0, NULL),
                   AUTH_TOKEN_SCOPE);
  /* A key scope: that key only, no listing. */
  t.scope = TOKEN_SCOPE_KEY;
  snprintf(t.path, sizeof t.path, "a/b");
  t.perms = TOKEN_PERMS_ALL;
  assert_int_equal(token_allows(&t, "s3:PutObject", "photos", "a/b", 3, NULL),
                   AUTH_OK);
  assert_int_equal(token_allows(&t, "s3:PutObject", "photos", "a/bc", 4, NULL),
                   AUTH_TOKEN_SCOPE);
  assert_int_equal(token_allows(&t, "s3:ListBucket", "photos", NULL, 0, "a/b"),
                   AUTH_TOKEN_SCOPE);
  /* A bucket scope: any key, any listing. */
  t.scope = TOKEN_SCOPE_BUCKET;
  t.path[0] = '\0';
  assert_int_equal(token_allows(&t, "s3:DeleteObject", "photos", "z", 1, NULL),
                   AUTH_OK);
  assert_int_equal(token_allows(&t, "s3:ListBucket", "photos", NULL, 0, NULL),
                   AUTH_OK);
}

static void test_text_helpers(void **state) {
  (void)state;
  unsigned p;
  char buf[64];
  assert_int_equal(token_parse_perms("read,list", &p), 0);
  assert_int_equal(p, TOKEN_PERM_READ | TOKEN_PERM_LIST);
  token_format_perms(p, buf, sizeof buf);
  assert_string_equal(buf, "read,list");
  assert_int_equal(token_parse_perms("read,all", &p), CAIRN_EINVAL);
  assert_int_equal(token_parse_perms("", &p), CAIRN_EINVAL);
  assert_int_equal(token_parse_perms("read,", &p), 0);
  struct token_cidr c;
  assert_int_equal(token_parse_cidr("10.0.0.0/8", &c), 0);
  token_format_cidr(&c, buf, sizeof buf);
  assert_string_equal(buf, "10.0.0.0/8");
  assert_int_equal(token_parse_cidr("10.0.0.1/8", &c), CAIRN_EINVAL);
  assert_int_equal(token_parse_cidr("10.0.0.0/33", &c), CAIRN_EINVAL);
  assert_int_equal(token_parse_cidr("10.0.0.0/", &c), CAIRN_EINVAL);
  assert_int_equal(token_parse_cidr("10.0.0.0/-1", &c), CAIRN_EINVAL);
  assert_int_equal(token_parse_cidr("host/8", &c), CAIRN_EINVAL);
  assert_int_equal(token_parse_cidr("fd00::/8", &c), 0);
  token_format_cidr(&c, buf, sizeof buf);
  assert_string_equal(buf, "fd00::/8");
  assert_int_equal(token_parse_cidr("0.0.0.0/0", &c), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_encode_refuses_bad_fields),
      cmocka_unit_test(test_every_tamper_refused),
      cmocka_unit_test(test_malformed_text),
      cmocka_unit_test(test_check_expiry_generation_origin),
      cmocka_unit_test(test_scope),
      cmocka_unit_test(test_text_helpers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

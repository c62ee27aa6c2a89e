/* test_crypto.c - known-answer tests for common/crypto and secret files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "error.h"
#include "secret_file.h"

static void test_sha256_md5(void **state) {
  (void)state;
  uint8_t d[SHA256_LEN];
  char hex[2 * SHA256_LEN + 1];
  crypto_sha256("", 0, d);
  crypto_hex(d, SHA256_LEN, hex);
  assert_string_equal(
      hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  crypto_md5("abc", 3, d);
  crypto_hex(d, MD5_LEN, hex);
  assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");

  /* Streaming equals one-shot. */
  struct crypto_hash *h = crypto_hash_new(CRYPTO_HASH_SHA256);
  assert_non_null(h);
  crypto_hash_update(h, "a", 1);
  crypto_hash_update(h, "bc", 2);
  uint8_t s[SHA256_LEN], o[SHA256_LEN];
  assert_int_equal(crypto_hash_final(h, s), SHA256_LEN);
  crypto_hash_free(h);
  crypto_sha256("abc", 3, o);
  assert_memory_equal(s, o, SHA256_LEN);
}

/* RFC 4231 test cases 2 (short key), 1 (20-byte key), 6 (a key longer
 * than the block: hashed first), and the output written over the key. */
static void test_hmac(void **state) {
  (void)state;
  uint8_t mac[SHA256_LEN];
  char hex[65];
  crypto_hmac_sha256("Jefe", 4, "what do ya want for nothing?", 28, mac);
  crypto_hex(mac, SHA256_LEN, hex);
  assert_string_equal(
      hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  uint8_t key[131];
  memset(key, 0x0b, 20);
  crypto_hmac_sha256(key, 20, "Hi There", 8, mac);
  crypto_hex(mac, SHA256_LEN, hex);
  assert_string_equal(
      hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  memset(key, 0xaa, sizeof key);
  const char *m = "Test Using Larger Than Block-Size Key - Hash Key First";
  crypto_hmac_sha256(key, sizeof key, m, strlen(m), mac);
  crypto_hex(mac, SHA256_LEN, hex);
  assert_string_equal(
      hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  memset(key, 0x0b, 20);
  crypto_hmac_sha256(key, 20, "Hi There", 8, key); /* in place */
  crypto_hex(key, SHA256_LEN, hex);
  assert_string_equal(
      hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

static void test_hex_base64(void **state) {
  (void)state;
  uint8_t out[4];
  assert_int_equal(crypto_unhex("deadBEEF", 8, out, 4), 0);
  assert_int_equal(out[0], 0xde);
  assert_int_equal(out[3], 0xef);
  assert_int_equal(crypto_unhex("zz", 2, out, 1), CAIRN_EINVAL);
  assert_int_equal(crypto_unhex("abc", 3, out, 2), CAIRN_EINVAL);

  char b64[16];
  crypto_base64((const uint8_t *)"hello", 5, b64);
  assert_string_equal(b64, "aGVsbG8=");
  uint8_t dec[8];
  assert_int_equal(crypto_unbase64("aGVsbG8=", 8, dec, sizeof dec), 5);
  assert_memory_equal(dec, "hello", 5);
  assert_int_equal(crypto_unbase64("aGVsbG8", 7, dec, sizeof dec), -1);
  assert_int_equal(crypto_unbase64("aGVsbG8=", 8, dec, 3), -1);
  assert_true(crypto_equal("abc", "abc", 3));
  assert_false(crypto_equal("abc", "abd", 3));
}

static void test_secret_file(void **state) {
  (void)state;
  char dir[] = "/tmp/cairn-secret-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256], buf[64];
  snprintf(path, sizeof path, "%s/s", dir);
  assert_int_equal(secret_file_read(path, buf, sizeof buf), CAIRN_ENOENT);
  assert_int_equal(secret_file_write(path, "topsecret", 9), 0);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  assert_int_equal(secret_file_read(path, buf, sizeof buf), 9);
  assert_string_equal(buf, "topsecret");
  chmod(path, 0644); /* readable by others: refused */
  assert_int_equal(secret_file_read(path, buf, sizeof buf), CAIRN_EPERM);
  unlink(path);
  rmdir(dir);

  char text[41];
  assert_int_equal(secret_random_text(text, 40, 0), 0);
  assert_int_equal(strlen(text), 40);
  assert_int_equal(secret_random_text(text, 20, 1), 0);
  for (int i = 0; i < 20; i++)
    assert_true((text[i] >= 'A' && text[i] <= 'Z') ||
                (text[i] >= '0' && text[i] <= '9'));
}

/* AES-256-GCM, test case 14 of the GCM specification (McGrew & Viega):
 * zero key, zero 96-bit IV, one zero block. */
static const uint8_t gcm14_ct[16] = {0xce, 0xa7, 0x40, 0x3d, 0x4d, 0x60,
                                     0x6b, 0x6e, 0x07, 0x4e, 0xc5, 0xd3,
                                     0xba, 0xf3, 0x9d, 0x18};
static const uint8_t gcm14_tag[16] = {0xd0, 0xd1, 0xc8, 0xa7, 0x99, 0x99,
                                      0x6b, 0xf0, 0x26, 0x5b, 0x98, 0xb5,
                                      0xd4, 0x8a, 0xb9, 0x19};

/* One reused context gives, block after block, exactly what the one-shot
 * functions give; a failed tag, a change of direction or of key does not
 * leave stale state behind. */
static void test_gcm_context_reuse(void **state) {
  (void)state;
  uint8_t key[32] = {0}, nonce[12] = {0}, zero[16] = {0}, ct[16], tag[16],
          back[16];
  struct crypto_gcm *g = crypto_gcm_new();
  assert_non_null(g);
  crypto_gcm_set_key(g, key);
  assert_int_equal(crypto_gcm_encrypt(g, nonce, NULL, 0, zero, 16, ct, tag), 0);
  assert_memory_equal(ct, gcm14_ct, 16);
  assert_memory_equal(tag, gcm14_tag, 16);

  /* Many blocks, each its own nonce and aad, in place and not. */
  enum { BLOCKS = 40, LEN = 1000 };
  uint8_t plain[LEN], one[LEN + 16], many[LEN + 16], aad[8];
  for (int i = 0; i < LEN; i++)
    plain[i] = (uint8_t)(i * 7);
  for (int i = 0; i < 32; i++)
    key[i] = (uint8_t)(i + 1);
  crypto_gcm_set_key(g, key);
  for (uint32_t b = 0; b < BLOCKS; b++) {
    size_t len = b % 5 == 4 ? LEN - b : LEN; /* some shorter */
    nonce[11] = (uint8_t)b;
    memset(aad, (int)b, sizeof aad);
    assert_int_equal(crypto_aes_gcm_encrypt(key, nonce, aad, sizeof aad, plain,
                                            len, one, one + len),
                     0);
    memcpy(many, plain, len);
    assert_int_equal(crypto_gcm_encrypt(g, nonce, aad, sizeof aad, many, len,
                                        many, many + len),
                     0);
    assert_memory_equal(one, many, len + 16);
  }
  /* Decrypt on the same context (a change of direction), block by block;
   * a bad tag fails and the next block still opens. */
  for (uint32_t b = 0; b < BLOCKS; b++) {
    nonce[11] = (uint8_t)b;
    memset(aad, (int)b, sizeof aad);
    assert_int_equal(crypto_aes_gcm_encrypt(key, nonce, aad, sizeof aad, plain,
                                            LEN, one, one + LEN),
                     0);
    if (b % 3 == 1) {
      one[b] ^= 1;
      assert_int_equal(crypto_gcm_decrypt(g, nonce, aad, sizeof aad, one, LEN,
                                          many, one + LEN),
                       CAIRN_EAUTH);
      continue;
    }
    if (b % 7 == 2) { /* wrong aad */
      aad[0] ^= 1;
      assert_int_equal(crypto_gcm_decrypt(g, nonce, aad, sizeof aad, one, LEN,
                                          many, one + LEN),
                       CAIRN_EAUTH);
      continue;
    }
    assert_int_equal(crypto_gcm_decrypt(g, nonce, aad, sizeof aad, one, LEN,
                                        many, one + LEN),
                     0);
    assert_memory_equal(many, plain, LEN);
  }
  /* A new key takes effect: blocks of the old key no longer open. */
  nonce[11] = 0;
  memset(aad, 0, sizeof aad);
  assert_int_equal(crypto_aes_gcm_encrypt(key, nonce, aad, sizeof aad, plain,
                                          LEN, one, one + LEN),
                   0);
  key[0] ^= 0x80;
  crypto_gcm_set_key(g, key);
  assert_int_equal(
      crypto_gcm_decrypt(g, nonce, aad, sizeof aad, one, LEN, many, one + LEN),
      CAIRN_EAUTH);
  key[0] ^= 0x80;
  crypto_gcm_set_key(g, key);
  assert_int_equal(
      crypto_gcm_decrypt(g, nonce, aad, sizeof aad, one, LEN, many, one + LEN),
      0);
  assert_memory_equal(many, plain, LEN);
  /* One-shot agrees with the known answer too. */
  memset(key, 0, sizeof key);
  memset(nonce, 0, sizeof nonce);
  assert_int_equal(crypto_aes_gcm_decrypt(key, nonce, NULL, 0, gcm14_ct, 16,
                                          back, gcm14_tag),
                   0);
  assert_memory_equal(back, zero, 16);
  crypto_gcm_free(g);
  crypto_gcm_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sha256_md5),
      cmocka_unit_test(test_gcm_context_reuse),
      cmocka_unit_test(test_hmac),
      cmocka_unit_test(test_hex_base64),
      cmocka_unit_test(test_secret_file),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  crypto_shutdown();
  return rc;
}

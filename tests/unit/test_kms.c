/* test_kms.c - master key creation and reuse, sealed blobs bound to their
 * context, tampering detected, AES-256-GCM against NIST's vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "crypto.h"
#include "error.h"
#include "kms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* NIST GCM spec, test cases 13 and 14: AES-256, zero key and IV. */
static void test_aes_gcm_vectors(void **state) {
  (void)state;
  uint8_t key[32] = {0}, nonce[12] = {0}, zero[16] = {0}, ct[16], tag[16];
  char hex[33];
  assert_int_equal(
      crypto_aes_gcm_encrypt(key, nonce, NULL, 0, NULL, 0, NULL, tag), 0);
  crypto_hex(tag, 16, hex);
  assert_string_equal(hex, "530f8afbc74536b9a963b4f1c4cb738b");
  assert_int_equal(
      crypto_aes_gcm_encrypt(key, nonce, NULL, 0, zero, 16, ct, tag), 0);
  crypto_hex(ct, 16, hex);
  assert_string_equal(hex, "cea7403d4d606b6e074ec5d3baf39d18");
  crypto_hex(tag, 16, hex);
  assert_string_equal(hex, "d0d1c8a799996bf0265b98b5d48ab919");

  uint8_t back[16];
  assert_int_equal(
      crypto_aes_gcm_decrypt(key, nonce, NULL, 0, ct, 16, back, tag), 0);
  assert_memory_equal(back, zero, 16);
  ct[3] ^= 1;
  assert_int_equal(
      crypto_aes_gcm_decrypt(key, nonce, NULL, 0, ct, 16, back, tag),
      CAIRN_EAUTH);
  ct[3] ^= 1;
  assert_int_equal(
      crypto_aes_gcm_decrypt(key, nonce, "x", 1, ct, 16, back, tag),
      CAIRN_EAUTH); /* associated data is authenticated too */
}

static void test_master_key_and_seal(void **state) {
  (void)state;
  char dir[] = "/tmp/cairn-kms-XXXXXX", path[64];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/master.key", dir);
  char err[256];
  struct kms *k;
  assert_int_equal(kms_open(dir, &k, err, sizeof err), 0);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);

  const uint8_t secret[32] = "0123456789abcdef0123456789abcdef";
  uint8_t blob[32 + KMS_SEAL_OVERHEAD], again[32 + KMS_SEAL_OVERHEAD], out[32];
  size_t blob_len, again_len, out_len;
  assert_int_equal(
      kms_seal(k, "object-key", secret, 32, blob, sizeof blob, &blob_len), 0);
  assert_true(blob_len <= 32 + KMS_SEAL_OVERHEAD);
  assert_null(memmem(blob, blob_len, secret, 32)); /* no plaintext inside */
  assert_int_equal(
      kms_seal(k, "object-key", secret, 32, again, sizeof again, &again_len),
      0);
  assert_memory_not_equal(blob, again, blob_len); /* fresh nonce each time */
  kms_close(k);

  /* The key survives a restart: a blob sealed before opens after. */
  assert_int_equal(kms_open(dir, &k, err, sizeof err), 0);
  assert_int_equal(
      kms_unseal(k, "object-key", blob, blob_len, out, sizeof out, &out_len),
      0);
  assert_int_equal(out_len, 32);
  assert_memory_equal(out, secret, 32);

  /* Another context, a flipped bit, a truncated blob, a small buffer. */
  assert_int_equal(
      kms_unseal(k, "iam-secret:AK", blob, blob_len, out, sizeof out, &out_len),
      CAIRN_EAUTH);
  blob[blob_len - 20] ^= 0x40;
  assert_int_equal(
      kms_unseal(k, "object-key", blob, blob_len, out, sizeof out, &out_len),
      CAIRN_EAUTH);
  blob[blob_len - 20] ^= 0x40;
  assert_int_equal(
      kms_unseal(k, "object-key", blob, 10, out, sizeof out, &out_len),
      CAIRN_EINVAL);
  assert_int_equal(
      kms_unseal(k, "object-key", blob, blob_len, out, 8, &out_len),
      CAIRN_ETOOBIG);
  blob[2] = 'X'; /* a key id this KMS does not have */
  assert_int_equal(
      kms_unseal(k, "object-key", blob, blob_len, out, sizeof out, &out_len),
      CAIRN_ENOENT);
  assert_int_equal(kms_seal(k, "c", secret, 32, blob, 40, &blob_len),
                   CAIRN_ETOOBIG);
  kms_close(k);

  /* A master key others can read is refused; garbage is refused. */
  chmod(path, 0644);
  assert_int_equal(kms_open(dir, &k, err, sizeof err), CAIRN_EPERM);
  assert_non_null(strstr(err, "0600"));
  chmod(path, 0600);
  FILE *f = fopen(path, "w");
  fputs("not a key", f);
  fclose(f);
  assert_int_equal(kms_open(dir, &k, err, sizeof err), CAIRN_ECORRUPT);
  unlink(path);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_aes_gcm_vectors),
      cmocka_unit_test(test_master_key_and_seal),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  crypto_shutdown();
  return rc;
}

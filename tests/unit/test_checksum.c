/* test_checksum.c - check values of S3's additional checksums. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "checksum.h"
#include "crypto.h"
#include "error.h"

static void digest_of(enum checksum_algorithm a, const char *text,
                      char out[CHECKSUM_B64_MAX]) {
  struct checksum c;
  assert_int_equal(checksum_init(&c, a), 0);
  /* Fed in two pieces: streaming equals one shot. */
  size_t half = strlen(text) / 2;
  checksum_update(&c, text, half);
  checksum_update(&c, text + half, strlen(text) - half);
  checksum_final_base64(&c, out);
}

/* "123456789" check values: CRC32 0xCBF43926, CRC32C 0xE3069283,
 * CRC64/NVME 0xAE8B14860A799888; SHA-1/SHA-256 of "abc". */
static void test_check_values(void **state) {
  (void)state;
  char out[CHECKSUM_B64_MAX];
  digest_of(CHECKSUM_CRC32, "123456789", out);
  assert_string_equal(out, "y/Q5Jg==");
  digest_of(CHECKSUM_CRC32C, "123456789", out);
  assert_string_equal(out, "4waSgw==");
  digest_of(CHECKSUM_CRC64NVME, "123456789", out);
  assert_string_equal(out, "rosUhgp5mIg=");
  digest_of(CHECKSUM_SHA1, "abc", out);
  assert_string_equal(out, "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=");
  digest_of(CHECKSUM_SHA256, "abc", out);
  assert_string_equal(out, "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
}

static void test_names(void **state) {
  (void)state;
  assert_int_equal(checksum_parse("crc64nvme"), CHECKSUM_CRC64NVME);
  assert_int_equal(checksum_parse("CRC32C"), CHECKSUM_CRC32C);
  assert_int_equal(checksum_parse("md5"), CHECKSUM_NONE);
  assert_int_equal(checksum_parse(NULL), CHECKSUM_NONE);
  assert_string_equal(checksum_header(CHECKSUM_SHA256),
                      "x-amz-checksum-sha256");
  assert_string_equal(checksum_name(CHECKSUM_CRC32), "CRC32");
}

/* The slicing-by-8 CRC64 equals the bit-at-a-time definition at every
 * length and alignment, and streams across any split. */
static uint64_t crc64_bitwise(const uint8_t *p, size_t n) {
  uint64_t c = ~0ULL;
  for (size_t i = 0; i < n; i++) {
    c ^= p[i];
    for (int k = 0; k < 8; k++)
      c = c & 1 ? (c >> 1) ^ 0x9A6C9329AC4BC9B5ULL : c >> 1;
  }
  return ~c;
}

static void test_crc64_slicing(void **state) {
  (void)state;
  uint8_t buf[300];
  for (size_t i = 0; i < sizeof buf; i++)
    buf[i] = (uint8_t)(i * 131 + 7);
  for (size_t off = 0; off < 8; off++)
    for (size_t n = 0; n + off <= sizeof buf; n += 13) {
      assert_true(crc64_nvme(0, buf + off, n) == crc64_bitwise(buf + off, n));
      size_t half = n / 3;
      uint64_t c = crc64_nvme(0, buf + off, half);
      c = crc64_nvme(c, buf + off + half, n - half);
      assert_true(c == crc64_bitwise(buf + off, n));
    }
  assert_true(crc64_nvme(0, "123456789", 9) == 0xAE8B14860A799888ULL);
}

static void test_decode_and_lengths(void **state) {
  (void)state;
  uint8_t raw[CHECKSUM_MAX_LEN];
  assert_int_equal(checksum_length(CHECKSUM_CRC32), 4);
  assert_int_equal(checksum_length(CHECKSUM_CRC64NVME), 8);
  assert_int_equal(checksum_length(CHECKSUM_SHA1), 20);
  assert_int_equal(checksum_length(CHECKSUM_SHA256), 32);
  assert_int_equal(checksum_length(CHECKSUM_NONE), 0);
  assert_int_equal(checksum_decode(CHECKSUM_CRC32, "y/Q5Jg==", raw), 0);
  assert_int_equal(raw[0], 0xCB);
  assert_int_equal(raw[3], 0x26);
  assert_int_equal(checksum_decode(CHECKSUM_CRC64NVME, "rosUhgp5mIg=", raw), 0);
  assert_int_equal(raw[0], 0xAE);
  /* wrong length for the algorithm, not base64, empty, NULL */
  assert_int_equal(checksum_decode(CHECKSUM_CRC32, "rosUhgp5mIg=", raw),
                   CAIRN_EINVAL);
  assert_int_equal(checksum_decode(CHECKSUM_CRC32, "y/Q5J*==", raw),
                   CAIRN_EINVAL);
  assert_int_equal(checksum_decode(CHECKSUM_CRC32, "", raw), CAIRN_EINVAL);
  assert_int_equal(checksum_decode(CHECKSUM_CRC32, NULL, raw), CAIRN_EINVAL);
  assert_int_equal(checksum_decode(CHECKSUM_NONE, "y/Q5Jg==", raw),
                   CAIRN_EINVAL);
  assert_int_equal(checksum_from_header("X-Amz-Checksum-CRC64NVME"),
                   CHECKSUM_CRC64NVME);
  assert_int_equal(checksum_from_header("x-amz-checksum-md5"), CHECKSUM_NONE);
  assert_int_equal(checksum_from_header(NULL), CHECKSUM_NONE);
  assert_int_equal(checksum_parse("sha1"), CHECKSUM_SHA1);
  assert_int_equal(checksum_parse("Sha256"), CHECKSUM_SHA256);
  assert_int_equal(checksum_parse("crc32"), CHECKSUM_CRC32);
  /* raw finals: CRC32 of "123456789" big-endian */
  struct checksum c;
  assert_int_equal(checksum_init(&c, CHECKSUM_CRC32), 0);
  checksum_update(&c, "123456789", 9);
  assert_int_equal(checksum_final_raw(&c, raw), 4);
  assert_int_equal(raw[0], 0xCB);
  checksum_release(&c); /* safe after a final */
  char out[CHECKSUM_B64_MAX];
  assert_int_equal(checksum_of(CHECKSUM_CRC32C, "123456789", 9, out), 0);
  assert_string_equal(out, "4waSgw==");
}

/* Checksum of checksums: the algorithm over the raw part checksums. */
static void test_composite(void **state) {
  (void)state;
  const enum checksum_algorithm algs[] = {CHECKSUM_CRC32, CHECKSUM_CRC32C,
                                          CHECKSUM_CRC64NVME, CHECKSUM_SHA1,
                                          CHECKSUM_SHA256};
  for (size_t i = 0; i < 5; i++) {
    char p1[CHECKSUM_B64_MAX], p2[CHECKSUM_B64_MAX], want[CHECKSUM_B64_MAX];
    char expected[CHECKSUM_COMPOSITE_MAX], got[CHECKSUM_COMPOSITE_MAX];
    uint8_t raw[2 * CHECKSUM_MAX_LEN];
    size_t len = checksum_length(algs[i]);
    checksum_of(algs[i], "part one", 8, p1);
    checksum_of(algs[i], "part two", 8, p2);
    checksum_decode(algs[i], p1, raw);
    checksum_decode(algs[i], p2, raw + len);
    checksum_of(algs[i], raw, 2 * len, want);
    snprintf(expected, sizeof expected, "%s-2", want);
    struct checksum_composite cc;
    assert_int_equal(checksum_composite_init(&cc, algs[i]), 0);
    assert_int_equal(checksum_composite_add(&cc, p1), 0);
    assert_int_equal(checksum_composite_add(&cc, p2), 0);
    checksum_composite_final(&cc, got);
    assert_string_equal(got, expected);
    /* A bad part value is refused; releasing is then enough. */
    assert_int_equal(checksum_composite_init(&cc, algs[i]), 0);
    assert_int_equal(checksum_composite_add(&cc, "!!!!"), CAIRN_EINVAL);
    checksum_composite_release(&cc);
  }
  /* The longest form fits: SHA-256 of 10,000 parts. */
  struct checksum_composite cc;
  char part[CHECKSUM_B64_MAX], got[CHECKSUM_COMPOSITE_MAX];
  checksum_of(CHECKSUM_SHA256, "x", 1, part);
  assert_int_equal(checksum_composite_init(&cc, CHECKSUM_SHA256), 0);
  for (int i = 0; i < 10000; i++)
    assert_int_equal(checksum_composite_add(&cc, part), 0);
  checksum_composite_final(&cc, got);
  assert_int_equal(strlen(got), 44 + 6);
  assert_string_equal(got + 44, "-10000");
}

/* The full-object CRC of parts equals the CRC of the whole, for every split
 * point (including empty parts) and each CRC; SHA is refused. */
static void test_full_object(void **state) {
  (void)state;
  static const char text[] =
      "The quick brown fox jumps over the lazy dog, 0123456789 times.";
  const size_t len = sizeof text - 1;
  const enum checksum_algorithm crcs[] = {CHECKSUM_CRC32, CHECKSUM_CRC32C,
                                          CHECKSUM_CRC64NVME};
  for (size_t a = 0; a < 3; a++) {
    char whole[CHECKSUM_B64_MAX], got[CHECKSUM_B64_MAX];
    assert_int_equal(checksum_of(crcs[a], text, len, whole), 0);
    for (size_t cut = 0; cut <= len; cut++)
      for (size_t cut2 = cut; cut2 <= len; cut2 += 7) {
        char p1[CHECKSUM_B64_MAX], p2[CHECKSUM_B64_MAX], p3[CHECKSUM_B64_MAX];
        checksum_of(crcs[a], text, cut, p1);
        checksum_of(crcs[a], text + cut, cut2 - cut, p2);
        checksum_of(crcs[a], text + cut2, len - cut2, p3);
        struct checksum_full f;
        assert_int_equal(checksum_full_init(&f, crcs[a]), 0);
        assert_int_equal(checksum_full_add(&f, p1, cut), 0);
        assert_int_equal(checksum_full_add(&f, p2, cut2 - cut), 0);
        assert_int_equal(checksum_full_add(&f, p3, len - cut2), 0);
        checksum_full_final(&f, got);
        assert_string_equal(got, whole);
      }
    /* A large part: the shift runs through many squarings. */
    static uint8_t big[3 << 20];
    memset(big, 'x', sizeof big);
    char b1[CHECKSUM_B64_MAX], b2[CHECKSUM_B64_MAX];
    checksum_of(crcs[a], big, 1, b1);
    checksum_of(crcs[a], big + 1, sizeof big - 1, b2);
    checksum_of(crcs[a], big, sizeof big, whole);
    struct checksum_full f;
    checksum_full_init(&f, crcs[a]);
    checksum_full_add(&f, b1, 1);
    checksum_full_add(&f, b2, sizeof big - 1);
    checksum_full_final(&f, got);
    assert_string_equal(got, whole);
    assert_int_equal(checksum_full_add(&f, "not base64", 3), CAIRN_EINVAL);
  }
  struct checksum_full f;
  assert_int_equal(checksum_full_init(&f, CHECKSUM_SHA256), CAIRN_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_check_values),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_crc64_slicing),
      cmocka_unit_test(test_decode_and_lengths),
      cmocka_unit_test(test_composite),
      cmocka_unit_test(test_full_object),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

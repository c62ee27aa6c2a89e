/* test_checksum.c - check values of S3's additional checksums. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "checksum.h"

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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_check_values),
      cmocka_unit_test(test_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_erasure.c - Reed-Solomon stripes: parity of a known stripe, and for
 * the RAIN layouts every combination of up to m lost fragments decodes
 * bit-exact from the survivors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "erasure.h"
#include "error.h"
#include "layout.h"

#include <stdlib.h>
#include <string.h>

#define LEN 1024

static void fill(uint8_t *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)((i * 131 + seed * 17 + (i >> 7)) ^ seed);
}

/* Encodes a k+m stripe, then decodes from every subset of k survivors. */
static void check_all_erasures(int k, int m) {
  struct erasure e;
  assert_int_equal(erasure_init(&e, k, m), 0);
  int n = k + m;
  uint8_t *frag[ERASURE_MAX_FRAGMENTS], *out[ERASURE_MAX_DATA];
  for (int i = 0; i < n; i++) {
    frag[i] = malloc(LEN);
    if (i < k)
      fill(frag[i], LEN, (unsigned)i + 1);
  }
  for (int j = 0; j < k; j++)
    out[j] = malloc(LEN);
  erasure_encode(&e, LEN, frag, frag + k);
  unsigned combos = 0;
  for (uint32_t lost = 0; lost < (1u << n); lost++) {
    if (__builtin_popcount(lost) > m)
      continue;
    uint32_t have[ERASURE_MAX_DATA];
    uint8_t *src[ERASURE_MAX_DATA];
    int h = 0;
    for (int i = 0; i < n && h < k; i++)
      if (!(lost >> i & 1u)) {
        have[h] = (uint32_t)i;
        src[h++] = frag[i];
      }
    assert_int_equal(h, k);
    for (int j = 0; j < k; j++)
      memset(out[j], 0xee, LEN);
    assert_int_equal(erasure_decode(&e, LEN, have, src, out), 0);
    for (int j = 0; j < k; j++)
      assert_memory_equal(out[j], frag[j], LEN);
    /* Only the lost data fragments asked for. */
    uint8_t *some[ERASURE_MAX_DATA];
    for (int j = 0; j < k; j++) {
      some[j] = (lost >> j & 1u) ? out[j] : NULL;
      memset(out[j], 0xee, LEN);
    }
    assert_int_equal(erasure_decode(&e, LEN, have, src, some), 0);
    for (int j = 0; j < k; j++)
      if (lost >> j & 1u)
        assert_memory_equal(out[j], frag[j], LEN);
    combos++;
  }
  assert_true(combos > 0);
  for (int i = 0; i < n; i++)
    free(frag[i]);
  for (int j = 0; j < k; j++)
    free(out[j]);
  erasure_release(&e);
}

static void test_raid5(void **state) {
  (void)state;
  check_all_erasures(4, 1);
}
static void test_raid6(void **state) {
  (void)state;
  check_all_erasures(4, 2);
  check_all_erasures(8, 2);
}
static void test_archive(void **state) {
  (void)state;
  check_all_erasures(6, 3);
}
static void test_qrain(void **state) {
  (void)state;
  check_all_erasures(8, 4);
}

/* With one parity row a Cauchy code is not plain XOR, but parity must
 * still change when any data byte does, and decode must reject bad input. */
static void test_parity_and_errors(void **state) {
  (void)state;
  struct erasure e;
  assert_int_equal(erasure_init(&e, 0, 2), CAIRN_EINVAL);
  assert_int_equal(erasure_init(&e, 4, 5), CAIRN_EINVAL);
  assert_int_equal(erasure_init(&e, 2, 1), 0);
  uint8_t a[LEN], b[LEN], p1[LEN], p2[LEN];
  fill(a, LEN, 1);
  fill(b, LEN, 2);
  uint8_t *d[2] = {a, b}, *p[1] = {p1};
  erasure_encode(&e, LEN, d, p);
  b[10] ^= 1;
  p[0] = p2;
  erasure_encode(&e, LEN, d, p);
  assert_memory_not_equal(p1, p2, LEN);
  uint32_t dup[2] = {1, 1}, big[2] = {0, 3};
  uint8_t o1[LEN], o2[LEN], *out[2] = {o1, o2};
  assert_int_equal(erasure_decode(&e, LEN, dup, d, out), CAIRN_EINVAL);
  assert_int_equal(erasure_decode(&e, LEN, big, d, out), CAIRN_EINVAL);
  erasure_release(&e);
  assert_int_equal(erasure_fragment_length(0, 4), 0);
  assert_int_equal(erasure_fragment_length(1, 4), 64);
  assert_int_equal(erasure_fragment_length(4u << 20, 4), 1u << 20);
  assert_int_equal(erasure_fragment_length((4u << 20) + 1, 4), (1u << 20) + 64);
}

static void test_layout_names(void **state) {
  (void)state;
  struct meta_layout l;
  char text[LAYOUT_TEXT_MAX];
  static const char *const good[] = {"replica:2", "raid5:4", "raid6:4",
                                     "archive:6", "qrain:8", "raid6:16"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    assert_int_equal(layout_parse(good[i], &l), 0);
    layout_format(l, text, sizeof text);
    assert_string_equal(text, good[i]);
  }
  assert_int_equal(layout_parse("raid6:4", &l), 0);
  assert_int_equal(l.kind, META_LAYOUT_EC);
  assert_int_equal(layout_fragments(l), 6);
  assert_int_equal(layout_parse("qrain:3", &l), 0);
  assert_int_equal(layout_fragments(l), 7);
  static const char *const bad[] = {"raid6",     "raid6:",   "raid6:0",
                                    "raid6:17",  "raid7:4",  "replica:17",
                                    "replica:x", "raid6:4x", ""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(layout_parse(bad[i], &l), CAIRN_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_raid5),
      cmocka_unit_test(test_raid6),
      cmocka_unit_test(test_archive),
      cmocka_unit_test(test_qrain),
      cmocka_unit_test(test_parity_and_errors),
      cmocka_unit_test(test_layout_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

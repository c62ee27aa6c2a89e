/* test_placement.c - determinism, distinctness, domains and weighting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "placement.h"

static char ids[8][33];

static void make_nodes(struct place_candidate *c, size_t n) {
  for (size_t i = 0; i < n; i++) {
    snprintf(ids[i], sizeof ids[i], "%032zx", i * 7919 + 1);
    c[i] = (struct place_candidate){ids[i], "", 100ULL << 30, 1};
  }
}

static void chunk(uint8_t id[16], unsigned v) {
  memset(id, 0, 16);
  memcpy(id, &v, sizeof v);
}

static void test_distinct_and_deterministic(void **state) {
  (void)state;
  struct place_candidate c[6];
  make_nodes(c, 6);
  for (unsigned k = 0; k < 200; k++) {
    uint8_t id[16];
    size_t a[3], b[3];
    chunk(id, k);
    assert_int_equal(place_chunk(id, c, 6, 3, 0, a), 0);
    assert_int_equal(place_chunk(id, c, 6, 3, 0, b), 0);
    assert_memory_equal(a, b, sizeof a);
    assert_true(a[0] != a[1] && a[1] != a[2] && a[0] != a[2]);
  }
}

static void test_skips_down_and_full(void **state) {
  (void)state;
  struct place_candidate c[4];
  make_nodes(c, 4);
  c[1].up = 0;
  c[2].free_bytes = 10;
  uint8_t id[16];
  size_t out[2];
  for (unsigned k = 0; k < 50; k++) {
    chunk(id, k);
    assert_int_equal(place_chunk(id, c, 4, 2, 1 << 20, out), 0);
    for (int j = 0; j < 2; j++)
      assert_true(out[j] == 0 || out[j] == 3);
  }
  assert_int_equal(place_chunk(id, c, 4, 3, 1 << 20, out), CAIRN_EUNAVAIL);
}

static void test_failure_domains(void **state) {
  (void)state;
  struct place_candidate c[4];
  make_nodes(c, 4);
  c[0].domain = c[1].domain = "hostA";
  c[2].domain = c[3].domain = "hostB";
  for (unsigned k = 0; k < 100; k++) {
    uint8_t id[16];
    size_t out[2];
    chunk(id, k);
    assert_int_equal(place_chunk(id, c, 4, 2, 0, out), 0);
    assert_string_not_equal(c[out[0]].domain, c[out[1]].domain);
  }
}

/* A node with more free space is picked first more often. */
static void test_weighting(void **state) {
  (void)state;
  struct place_candidate c[2];
  make_nodes(c, 2);
  c[0].free_bytes = 300ULL << 30;
  c[1].free_bytes = 100ULL << 30;
  int first0 = 0;
  for (unsigned k = 0; k < 4000; k++) {
    uint8_t id[16];
    size_t out[1];
    chunk(id, k);
    assert_int_equal(place_chunk(id, c, 2, 1, 0, out), 0);
    first0 += out[0] == 0;
  }
  assert_in_range(first0, 2700, 3300); /* expected 3000 */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_distinct_and_deterministic),
      cmocka_unit_test(test_skips_down_and_full),
      cmocka_unit_test(test_failure_domains),
      cmocka_unit_test(test_weighting),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

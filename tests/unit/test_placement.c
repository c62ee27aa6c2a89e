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
    c[i] = (struct place_candidate){ids[i], NULL, 100ULL << 30, 1};
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
  struct place_domains d[4];
  make_nodes(c, 4);
  place_domains_from_labels("host=hostA", ids[0], &d[0]);
  place_domains_from_labels("host=hostA,rack=r1", ids[1], &d[1]);
  place_domains_from_labels("host=hostB", ids[2], &d[2]);
  place_domains_from_labels("rack=r2,host=hostB", ids[3], &d[3]);
  for (int i = 0; i < 4; i++)
    c[i].domains = &d[i];
  for (unsigned k = 0; k < 100; k++) {
    uint8_t id[16];
    size_t out[2];
    chunk(id, k);
    assert_int_equal(place_chunk(id, c, 4, 2, 0, out), 0);
    assert_string_not_equal(d[out[0]].host, d[out[1]].host);
  }
}

/* Hosts first, then sites, then racks; a shared filesystem is one host. */
static void test_domain_hierarchy_and_shared_fs(void **state) {
  (void)state;
  struct place_candidate c[6];
  struct place_domains d[6];
  static const char *const labels[6] = {
      "site=s1,rack=a,host=h1",        "site=s1,rack=a,host=h2",
      "site=s1,rack=b,host=h3",        "site=s2,rack=c,host=h4",
      "site=s2,rack=c,host=h5,fs=nas", "site=s2,rack=d,host=h6,fs=nas"};
  make_nodes(c, 6);
  for (int i = 0; i < 6; i++) {
    place_domains_from_labels(labels[i], ids[i], &d[i]);
    c[i].domains = &d[i];
  }
  assert_string_equal(d[4].host, "fs:nas");
  assert_string_equal(d[4].host, d[5].host); /* one filesystem, one host */
  place_domains_from_labels("", ids[0], &d[0]);
  assert_true(strncmp(d[0].host, "node:", 5) == 0 && !d[0].site[0]);
  place_domains_from_labels(labels[0], ids[0], &d[0]);
  for (unsigned k = 0; k < 200; k++) {
    uint8_t id[16];
    size_t out[5];
    chunk(id, k);
    /* Two fragments: never on one site. */
    assert_int_equal(place_chunk(id, c, 6, 2, 0, out), 0);
    assert_string_not_equal(d[out[0]].site, d[out[1]].site);
    /* Four: two per site, and never twice on the shared filesystem. */
    assert_int_equal(place_chunk(id, c, 6, 4, 0, out), 0);
    int s1 = 0, nas = 0;
    for (int j = 0; j < 4; j++) {
      s1 += strcmp(d[out[j]].site, "s1") == 0;
      nas += strcmp(d[out[j]].host, "fs:nas") == 0;
    }
    assert_int_equal(s1, 2);
    assert_true(nas <= 1);
    /* Five of six: the shared filesystem holds two only when it must. */
    assert_int_equal(place_chunk(id, c, 6, 5, 0, out), 0);
    nas = 0;
    for (int j = 0; j < 5; j++)
      nas += strcmp(d[out[j]].host, "fs:nas") == 0;
    assert_true(nas <= 1);
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
      cmocka_unit_test(test_domain_hierarchy_and_shared_fs),
      cmocka_unit_test(test_weighting),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

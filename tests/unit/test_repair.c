/* test_repair.c - the pure parts of repair: the degraded-index and
 * fragment-location key codecs, repair planning (which fragments are bad,
 * where they go), the token bucket, and the scrubber's file names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "meta.h"
#include "rate_limit.h"
#include "repair_plan.h"
#include "scrubber.h"

static char ids[8][33];

static void make_nodes(struct repair_node *n, size_t count) {
  for (size_t i = 0; i < count; i++) {
    snprintf(ids[i], sizeof ids[i], "%032zx", i * 7919 + 1);
    n[i] = (struct repair_node){ids[i], 1, 0, 0, 100ULL << 30};
  }
}

/* An EC k+m chunk with fragment i on node i. */
static void make_chunk(struct meta_chunk *c, struct meta_fragment *f, uint8_t k,
                       uint8_t m) {
  memset(c, 0, sizeof *c);
  memset(c->id, 0xab, sizeof c->id);
  c->layout = (struct meta_layout){META_LAYOUT_EC, k, m};
  c->n_fragments = (uint32_t)(k + m);
  c->fragments = f;
  for (uint32_t i = 0; i < c->n_fragments; i++) {
    memset(&f[i], 0, sizeof f[i]);
    memcpy(f[i].node_id, ids[i], 33);
    f[i].index = i;
  }
}

static void test_degraded_key_round_trip(void **state) {
  (void)state;
  uint8_t id[16], back[16], key[META_DEGRADED_KEY_LEN];
  for (int i = 0; i < 16; i++)
    id[i] = (uint8_t)(i * 17);
  meta_degraded_key(id, key);
  assert_int_equal(key[0], 'D');
  assert_int_equal(meta_degraded_key_parse(key, sizeof key, back), 0);
  assert_memory_equal(id, back, 16);
  assert_int_equal(meta_degraded_key_parse(key, sizeof key - 1, back),
                   CAIRN_EINVAL);
  key[0] = 'G';
  assert_int_equal(meta_degraded_key_parse(key, sizeof key, back),
                   CAIRN_EINVAL);
}

static void test_fragment_key_orders_by_node(void **state) {
  (void)state;
  uint8_t id[16] = {1, 2, 3}, a[META_FRAGMENT_KEY_LEN],
          b[META_FRAGMENT_KEY_LEN];
  meta_fragment_key("0000000000000000000000000000000a", id, 7, a);
  meta_fragment_key("0000000000000000000000000000000b", id, 0, b);
  assert_true(memcmp(a, b, sizeof a) < 0); /* one node: one range */
  char node[33];
  uint8_t back[16];
  uint32_t index;
  assert_int_equal(meta_fragment_key_parse(a, sizeof a, node, back, &index), 0);
  assert_string_equal(node, "0000000000000000000000000000000a");
  assert_memory_equal(back, id, 16);
  assert_int_equal(index, 7);
}

static void test_plan_missing_dead_corrupt_draining(void **state) {
  (void)state;
  struct repair_node nodes[7];
  make_nodes(nodes, 7);
  struct meta_chunk c;
  struct meta_fragment f[6];
  make_chunk(&c, f, 4, 2);
  struct repair_plan p;
  repair_plan_chunk(&c, 0, nodes, 7, &p);
  assert_int_equal(p.n_bad, 0);
  assert_false(p.deferred);

  f[1].missing = true; /* write-time */
  nodes[2].up = 0;     /* down, not dead yet */
  nodes[3].up = 0;
  nodes[3].dead = 1;
  nodes[4].draining = 1;
  repair_plan_chunk(&c, 1u << 5, nodes, 7, &p); /* index 5 corrupt */
  assert_int_equal(p.n_bad, 4);
  assert_int_equal(p.bad[0], 1);
  assert_int_equal(p.bad[1], 3);
  assert_int_equal(p.bad[2], 4);
  assert_int_equal(p.bad[3], 5);
  assert_true(p.deferred);
  assert_int_equal(p.n_readable, 2); /* 0 and the draining 4 */
  assert_false(p.feasible);          /* k = 4 */
}

static void test_targets_distinct_and_in_place(void **state) {
  (void)state;
  struct repair_node nodes[8];
  make_nodes(nodes, 8);
  struct meta_chunk c;
  struct meta_fragment f[6];
  make_chunk(&c, f, 4, 2);
  nodes[2].up = 0;
  nodes[2].dead = 1;
  struct repair_plan p;
  repair_plan_chunk(&c, 1u << 4, nodes, 8, &p);
  assert_int_equal(p.n_bad, 2);
  assert_true(p.feasible);
  assert_int_equal(repair_plan_targets(&c, nodes, 8, 1 << 20, &p), 0);
  /* Nodes 6 and 7 are the only ones holding nothing of the chunk. */
  assert_true(p.target[0] >= 6 && p.target[1] >= 6);
  assert_true(p.target[0] != p.target[1]);

  /* With no spare node, the corrupt fragment is rewritten in place and
   * the dead node's has nowhere to go. */
  repair_plan_chunk(&c, 1u << 4, nodes, 6, &p);
  assert_int_equal(repair_plan_targets(&c, nodes, 6, 1 << 20, &p),
                   CAIRN_EUNAVAIL);
  repair_plan_chunk(&c, 1u << 4, nodes, 6, &p);
  p.n_bad = 1;
  p.bad[0] = 4;
  assert_int_equal(repair_plan_targets(&c, nodes, 6, 1 << 20, &p), 0);
  assert_int_equal(p.target[0], 4);
  /* A full node is never chosen. */
  nodes[6].free_bytes = 10;
  repair_plan_chunk(&c, 0, nodes, 8, &p);
  assert_int_equal(repair_plan_targets(&c, nodes, 8, 1 << 20, &p), 0);
  assert_int_equal(p.target[0], 7);
}

static void test_plan_replicas(void **state) {
  (void)state;
  struct repair_node nodes[3];
  make_nodes(nodes, 3);
  struct meta_chunk c;
  struct meta_fragment f[2];
  make_chunk(&c, f, 2, 0);
  c.layout = (struct meta_layout){META_LAYOUT_REPLICA, 2, 0};
  struct repair_plan p;
  repair_plan_chunk(&c, 1u << 0, nodes, 3, &p);
  assert_int_equal(p.n_bad, 1);
  assert_true(p.feasible); /* one good copy is enough */
  assert_int_equal(repair_plan_targets(&c, nodes, 3, 1000, &p), 0);
  assert_int_equal(p.target[0], 2);
}

static void test_rate_limit(void **state) {
  (void)state;
  struct rate_limit r;
  rate_limit_init(&r, 1000, 0); /* 1000 B/s, a second of burst */
  assert_int_equal(rate_limit_take(&r, 600, 0), 0);
  uint64_t wait = rate_limit_take(&r, 600, 0);
  assert_true(wait >= 200 && wait <= 201);
  assert_int_equal(rate_limit_take(&r, 600, 200), 0);
  /* Bigger than the burst: goes once the bucket is full, then pays. */
  assert_true(rate_limit_take(&r, 5000, 300) > 0);
  assert_int_equal(rate_limit_take(&r, 5000, 1300), 0);
  assert_true(rate_limit_take(&r, 1, 1400) > 3000);
  struct rate_limit off;
  rate_limit_init(&off, 0, 0);
  assert_int_equal(rate_limit_take(&off, 1ULL << 40, 0), 0);
}

static void test_scrub_names(void **state) {
  (void)state;
  uint8_t id[16];
  uint32_t f;
  assert_int_equal(
      scrub_parse_name("000102030405060708090a0b0c0d0e0f.12", id, &f), 0);
  assert_int_equal(id[15], 15);
  assert_int_equal(f, 12);
  assert_int_equal(
      scrub_parse_name("000102030405060708090a0b0c0d0e0f.1.tmp-ab", id, &f),
      CAIRN_EINVAL);
  assert_int_equal(scrub_parse_name("node.id", id, &f), CAIRN_EINVAL);
  assert_int_equal(
      scrub_parse_name("000102030405060708090a0b0c0d0e0f.99999999999", id, &f),
      CAIRN_EINVAL);
}

/* ---- the indexes in a real store ------------------------------------- */

static int count_degraded(struct meta *m) {
  uint64_t n = 0;
  assert_int_equal(meta_degraded_count(m, &n), 0);
  return (int)n;
}

static int count_on(struct meta *m, const char *node) {
  uint64_t n = 0;
  assert_int_equal(meta_fragment_count_node(m, node, &n), 0);
  return (int)n;
}

static void put_object(struct meta *m, struct meta_chunk *c) {
  struct meta_object o;
  memset(&o, 0, sizeof o);
  snprintf(o.bucket, sizeof o.bucket, "b");
  snprintf(o.key, sizeof o.key, "k");
  snprintf(o.version_id, sizeof o.version_id, "null");
  o.size = c->length;
  o.n_chunks = 1;
  o.chunks = c;
  o.attrs.layout = c->layout;
  assert_int_equal(meta_object_put(m, &o), 0);
}

static void test_indexes_follow_versions(void **state) {
  (void)state;
  char dir[] = "/tmp/cairn-test-repair-XXXXXX";
  assert_non_null(mkdtemp(dir));
  struct meta *m;
  char err[256];
  assert_int_equal(meta_open(dir, &m, err, sizeof err), 0);
  struct meta_bucket b = {.name = "b"};
  assert_int_equal(meta_bucket_create(m, &b), 0);
  struct repair_node nodes[7];
  make_nodes(nodes, 7);
  struct meta_chunk c;
  struct meta_fragment f[6];
  make_chunk(&c, f, 4, 2);
  c.length = 1000;
  f[5].missing = true;
  put_object(m, &c);
  assert_int_equal(count_degraded(m), 1); /* the missing fragment */
  assert_int_equal(count_on(m, ids[0]), 1);
  assert_int_equal(count_on(m, ids[5]), 0); /* missing: not indexed */

  /* A dead node's fragments: one scan of its F range. */
  uint64_t marked = 0;
  assert_int_equal(meta_degraded_mark_node(m, ids[2], &marked), 0);
  assert_int_equal(marked, 1);
  assert_int_equal(count_degraded(m), 1); /* same chunk, one row */

  /* A corruption report finds the object through F. */
  assert_int_equal(meta_fragment_report_corrupt(m, ids[1], c.id, 1), 0);
  assert_int_equal(meta_fragment_report_corrupt(m, ids[6], c.id, 1),
                   CAIRN_ENOENT);

  /* The repair moves fragment 5 to node 6 in one batch. */
  struct meta_repair_move mv = {.index = 5};
  memcpy(mv.old_node, ids[5], 33);
  memcpy(mv.new_node, ids[6], 33);
  assert_int_equal(meta_repair_commit(m, "b", "k", &c, &mv, 1, false), 0);
  assert_int_equal(count_degraded(m), 0);
  assert_int_equal(count_on(m, ids[6]), 1);
  struct meta_object got;
  assert_int_equal(meta_object_get_latest(m, "b", "k", &got), 0);
  assert_string_equal(got.chunks[0].fragments[5].node_id, ids[6]);
  assert_false(got.chunks[0].fragments[5].missing);
  meta_object_free(&got);
  struct meta_gc_list g;
  assert_int_equal(meta_gc_take(m, 10, &g), 0);
  assert_int_equal(g.n, 1); /* the old copy's place, to clean up */
  assert_string_equal(g.items[0].chunk.fragments[0].node_id, ids[5]);
  meta_gc_list_free(&g);

  /* A stale repair (the fragment moved meanwhile) changes nothing and
   * queues its new copy as garbage, unless the record uses that very copy
   * (here: the same move again). */
  assert_int_equal(meta_repair_commit(m, "b", "k", &c, &mv, 1, false),
                   CAIRN_ENOENT);
  assert_int_equal(meta_gc_take(m, 10, &g), 0);
  assert_int_equal(g.n, 1);
  meta_gc_list_free(&g);
  memcpy(mv.old_node, ids[3], 33); /* wrong: fragment 5 is not there */
  memcpy(mv.new_node, ids[4], 33);
  assert_int_equal(meta_repair_commit(m, "b", "k", &c, &mv, 1, false),
                   CAIRN_ENOENT);
  assert_int_equal(meta_gc_take(m, 10, &g), 0);
  assert_true(g.n >= 1);
  int queued_new = 0;
  for (uint32_t i = 0; i < g.n; i++)
    queued_new |= strcmp(g.items[i].chunk.fragments[0].node_id, ids[4]) == 0;
  assert_true(queued_new);
  meta_gc_list_free(&g);

  /* Deleting the object drops its F rows. */
  assert_int_equal(meta_object_delete(m, "b", "k"), 0);
  assert_int_equal(count_on(m, ids[0]), 0);
  assert_int_equal(count_on(m, ids[6]), 0);
  meta_close(m);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_degraded_key_round_trip),
      cmocka_unit_test(test_fragment_key_orders_by_node),
      cmocka_unit_test(test_plan_missing_dead_corrupt_draining),
      cmocka_unit_test(test_targets_distinct_and_in_place),
      cmocka_unit_test(test_plan_replicas),
      cmocka_unit_test(test_rate_limit),
      cmocka_unit_test(test_scrub_names),
      cmocka_unit_test(test_indexes_follow_versions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_meta_iam.c - the IAM tables of coordinator/meta (users, access keys,
 * groups) on a real RocksDB: create/replace rules, cascading deletes,
 * listings, reopen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "meta.h"

static char dir[] = "/tmp/cairn-meta-iam-XXXXXX";

static struct meta *open_store(void) {
  struct meta *m = NULL;
  char err[256] = "";
  assert_int_equal(meta_open(dir, &m, err, sizeof err), 0);
  return m;
}

static int count_users(const struct meta_iam_user *u, void *arg) {
  (void)u;
  ++*(int *)arg;
  return 0;
}

static int count_keys(const struct meta_access_key *k, void *arg) {
  (void)k;
  ++*(int *)arg;
  return 0;
}

static struct meta_access_key key_for(const char *id, const char *user) {
  struct meta_access_key k = {.status = META_KEY_ACTIVE, .created_ms = 5};
  snprintf(k.access_key_id, sizeof k.access_key_id, "%s", id);
  snprintf(k.user, sizeof k.user, "%s", user);
  k.sealed_len = 3;
  memcpy(k.sealed, "\x00\x01\x02", 3);
  return k;
}

static void test_users_keys_groups(void **state) {
  (void)state;
  assert_non_null(mkdtemp(dir));
  struct meta *m = open_store();
  struct meta_iam_user u = {.name = "alice", .created_ms = 42};
  u.policy = "[{\"bucket\":\"*\",\"actions\":[\"read\"]}]";
  assert_int_equal(meta_iam_user_put(m, &u, true), 0);
  assert_int_equal(meta_iam_user_put(m, &u, true), CAIRN_EEXIST);
  struct meta_iam_user bob = {.name = "bob"};
  assert_int_equal(meta_iam_user_put(m, &bob, false), CAIRN_ENOENT);
  assert_int_equal(meta_iam_user_put(m, &bob, true), 0);

  struct meta_iam_user got;
  assert_int_equal(meta_iam_user_get(m, "alice", &got), 0);
  assert_int_equal(got.created_ms, 42);
  assert_string_equal(got.policy, u.policy);
  assert_false(got.disabled);
  meta_iam_user_release(&got);
  assert_int_equal(meta_iam_user_get(m, "carol", &got), CAIRN_ENOENT);
  assert_int_equal(meta_iam_user_get(m, "", &got), CAIRN_EINVAL);

  /* keys: the user must exist */
  struct meta_access_key k = key_for("CKALICE1", "alice");
  assert_int_equal(meta_access_key_put(m, &k, true), 0);
  assert_int_equal(meta_access_key_put(m, &k, true), CAIRN_EEXIST);
  struct meta_access_key orphan = key_for("CKNOBODY", "nobody");
  assert_int_equal(meta_access_key_put(m, &orphan, true), CAIRN_ENOENT);
  struct meta_access_key k2 = key_for("CKALICE2", "alice");
  assert_int_equal(meta_access_key_put(m, &k2, true), 0);
  struct meta_access_key kb = key_for("CKBOB1", "bob");
  assert_int_equal(meta_access_key_put(m, &kb, true), 0);
  k.status = META_KEY_INACTIVE;
  k.expires_ms = 99;
  assert_int_equal(meta_access_key_put(m, &k, false), 0);
  struct meta_access_key kg;
  assert_int_equal(meta_access_key_get(m, "CKALICE1", &kg), 0);
  assert_int_equal(kg.status, META_KEY_INACTIVE);
  assert_int_equal(kg.expires_ms, 99);
  assert_string_equal(kg.user, "alice");
  assert_int_equal(kg.sealed_len, 3);
  assert_memory_equal(kg.sealed, "\x00\x01\x02", 3);
  int n = 0;
  assert_int_equal(meta_access_key_list(m, "alice", count_keys, &n), 0);
  assert_int_equal(n, 2);
  n = 0;
  assert_int_equal(meta_access_key_list(m, NULL, count_keys, &n), 0);
  assert_int_equal(n, 3);
  assert_int_equal(meta_access_key_delete(m, "CKALICE2"), 0);
  assert_int_equal(meta_access_key_delete(m, "CKALICE2"), CAIRN_ENOENT);

  /* groups and membership; deleting the group ungroups its users */
  struct meta_iam_group g = {
      .name = "readers", .created_ms = 7, .policy = "{\"Statement\":[]}"};
  assert_int_equal(meta_iam_group_put(m, &g, true), 0);
  assert_int_equal(meta_iam_group_put(m, &g, true), CAIRN_EEXIST);
  u.n_groups = 1;
  snprintf(u.groups[0], sizeof u.groups[0], "readers");
  assert_int_equal(meta_iam_user_put(m, &u, false), 0);
  struct meta_iam_group gg;
  assert_int_equal(meta_iam_group_get(m, "readers", &gg), 0);
  assert_string_equal(gg.policy, g.policy);
  meta_iam_group_release(&gg);
  assert_int_equal(meta_iam_group_delete(m, "readers"), 0);
  assert_int_equal(meta_iam_group_get(m, "readers", &gg), CAIRN_ENOENT);
  assert_int_equal(meta_iam_user_get(m, "alice", &got), 0);
  assert_int_equal(got.n_groups, 0);
  meta_iam_user_release(&got);

  /* deleting a user takes its keys */
  assert_int_equal(meta_iam_user_delete(m, "alice"), 0);
  assert_int_equal(meta_iam_user_delete(m, "alice"), CAIRN_ENOENT);
  assert_int_equal(meta_access_key_get(m, "CKALICE1", &kg), CAIRN_ENOENT);
  assert_int_equal(meta_access_key_get(m, "CKBOB1", &kg), 0);

  /* survives a reopen */
  meta_close(m);
  m = open_store();
  n = 0;
  assert_int_equal(meta_iam_user_list(m, count_users, &n), 0);
  assert_int_equal(n, 1);
  meta_close(m);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_users_keys_groups),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

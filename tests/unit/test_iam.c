/* test_iam.c - coordinator/iam on a real RocksDB and master key in a
 * temporary directory: key lookup (root, active, inactive, rotated out,
 * disabled user), secrets sealed at rest, and authorization with user and
 * group policies. */
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
#include "iam.h"
#include "kms.h"
#include "meta.h"

static enum policy_decision can(const struct iam *iam, const char *user,
                                const char *action, const char *resource) {
  struct iam_principal who = {0};
  snprintf(who.user, sizeof who.user, "%s", user);
  iam_arn("user", user, who.arn, sizeof who.arn);
  struct policy_request req = {.action = action, .resource = resource};
  return iam_authorize(iam, &who, &req, NULL);
}

/* The whole table twice: without caches, and with the parsed-policy and
 * opened-key caches of the coordinator, where every lookup before a
 * change warms them and the change must still decide the next lookup. */
static void run_iam(bool cached) {
  char dir[] = "/tmp/cairn-iam-XXXXXX";
  assert_int_equal(crypto_init(), 0);
  assert_non_null(mkdtemp(dir));
  char err[256] = "", path[128];
  struct kms *kms = NULL;
  struct meta *meta = NULL;
  assert_int_equal(kms_open(dir, &kms, err, sizeof err), 0);
  snprintf(path, sizeof path, "%s/meta", dir);
  assert_int_equal(meta_open(path, &meta, err, sizeof err), 0);
  struct iam iam = {.meta = meta,
                    .kms = kms,
                    .root_access_key = "ROOTKEY",
                    .root_secret_key = "rootsecret",
                    .rotation_grace_ms = 1000,
                    .policies = cached ? policy_cache_new() : NULL,
                    .keys = cached ? iam_key_cache_new() : NULL};
  if (cached) {
    assert_non_null(iam.policies);
    assert_non_null(iam.keys);
  }

  char secret[256];
  struct iam_principal who;
  assert_int_equal(
      iam_lookup_key(&iam, "ROOTKEY", 0, secret, sizeof secret, &who), 0);
  assert_true(who.root);
  assert_string_equal(secret, "rootsecret");
  assert_int_equal(
      iam_authorize(
          &iam, &who,
          &(struct policy_request){.action = "iam:DeleteUser", .resource = "*"},
          NULL),
      POLICY_ALLOW);

  assert_int_equal(iam_user_create(&iam, "alice", err, sizeof err), 0);
  assert_int_equal(iam_user_create(&iam, "alice", err, sizeof err),
                   CAIRN_EEXIST);
  assert_int_equal(iam_user_create(&iam, "bad name", err, sizeof err),
                   CAIRN_EINVAL);
  char id[IAM_ACCESS_KEY_LEN + 1], sk[IAM_SECRET_KEY_LEN + 1];
  assert_int_equal(iam_key_create(&iam, "alice", 1000, id, sk), 0);
  assert_int_equal(strncmp(id, "CK", 2), 0);
  assert_int_equal(strlen(sk), IAM_SECRET_KEY_LEN);
  char no_id[IAM_ACCESS_KEY_LEN + 1], no_sk[IAM_SECRET_KEY_LEN + 1];
  assert_int_equal(iam_key_create(&iam, "nobody", 1000, no_id, no_sk),
                   CAIRN_ENOENT);
  assert_int_equal(iam_lookup_key(&iam, id, 2000, secret, sizeof secret, &who),
                   0);
  assert_string_equal(secret, sk);
  assert_string_equal(who.user, "alice");
  assert_string_equal(who.arn, "arn:aws:iam::000000000000:user/alice");
  assert_false(who.root || who.disabled);

  /* the stored blob is sealed: the secret is not in it */
  struct meta_access_key k;
  assert_int_equal(meta_access_key_get(meta, id, &k), 0);
  assert_null(memmem(k.sealed, k.sealed_len, sk, strlen(sk)));

  /* inactive, disabled */
  assert_int_equal(iam_key_set_active(&iam, "alice", id, false), 0);
  assert_int_equal(iam_lookup_key(&iam, id, 2000, secret, sizeof secret, &who),
                   CAIRN_ENOENT);
  assert_int_equal(iam_key_set_active(&iam, "alice", id, true), 0);
  assert_int_equal(iam_key_set_active(&iam, "bob", id, true), CAIRN_ENOENT);
  assert_int_equal(iam_lookup_key(&iam, id, 2000, secret, sizeof secret, &who),
                   0); /* warm */
  assert_false(who.disabled);
  assert_int_equal(iam_user_set_disabled(&iam, "alice", true), 0);
  assert_int_equal(iam_lookup_key(&iam, id, 2000, secret, sizeof secret, &who),
                   0);
  assert_true(who.disabled);
  assert_int_equal(iam_user_set_disabled(&iam, "alice", false), 0);

  /* rotation: the old key works until now + grace, then is unknown */
  char id2[IAM_ACCESS_KEY_LEN + 1], sk2[IAM_SECRET_KEY_LEN + 1];
  assert_int_equal(iam_key_rotate(&iam, "alice", id, 5000, id2, sk2), 0);
  assert_string_not_equal(id, id2);
  assert_int_equal(iam_lookup_key(&iam, id, 5999, secret, sizeof secret, &who),
                   0);
  assert_int_equal(iam_lookup_key(&iam, id, 6000, secret, sizeof secret, &who),
                   CAIRN_ENOENT);
  assert_int_equal(iam_lookup_key(&iam, id2, 6000, secret, sizeof secret, &who),
                   0);
  assert_string_equal(secret, sk2);
  /* two live keys at most (the rotated-out one does not count) */
  char id3[IAM_ACCESS_KEY_LEN + 1], sk3[IAM_SECRET_KEY_LEN + 1];
  assert_int_equal(iam_key_create(&iam, "alice", 7000, id3, sk3), 0);
  assert_int_equal(iam_key_create(&iam, "alice", 7000, id3, sk3), CAIRN_ERANGE);

  /* policies: user Allow, group Deny wins; malformed refused */
  const char *allow = "[{\"bucket\":\"*\",\"actions\":[\"read\"]}]";
  assert_int_equal(
      iam_user_set_policy(&iam, "alice", allow, strlen(allow), err, sizeof err),
      0);
  assert_int_equal(can(&iam, "alice", "s3:GetObject", "arn:aws:s3:::b/k"),
                   POLICY_ALLOW);
  assert_int_equal(can(&iam, "alice", "s3:PutObject", "arn:aws:s3:::b/k"),
                   POLICY_IMPLICIT_DENY);
  /* A replaced policy decides the next request (the cache is by text). */
  const char *write = "[{\"bucket\":\"*\",\"actions\":[\"write\"]}]";
  assert_int_equal(
      iam_user_set_policy(&iam, "alice", write, strlen(write), err, sizeof err),
      0);
  assert_int_equal(can(&iam, "alice", "s3:GetObject", "arn:aws:s3:::b/k"),
                   POLICY_IMPLICIT_DENY);
  assert_int_equal(
      iam_user_set_policy(&iam, "alice", allow, strlen(allow), err, sizeof err),
      0);
  assert_int_equal(can(&iam, "alice", "s3:GetObject", "arn:aws:s3:::b/k"),
                   POLICY_ALLOW);
  assert_int_equal(iam_user_set_policy(&iam, "alice", "{", 1, err, sizeof err),
                   CAIRN_EINVAL);
  assert_non_null(strstr(err, "JSON"));
  assert_int_equal(iam_group_create(&iam, "no-b", err, sizeof err), 0);
  const char *deny = "{\"Statement\":{\"Effect\":\"Deny\",\"Action\":\"s3:*\","
                     "\"Resource\":\"arn:aws:s3:::b/*\"}}";
  assert_int_equal(
      iam_group_set_policy(&iam, "no-b", deny, strlen(deny), err, sizeof err),
      0);
  assert_int_equal(iam_group_member(&iam, "no-b", "alice", true), 0);
  assert_int_equal(iam_group_member(&iam, "no-b", "alice", true), 0);
  assert_int_equal(iam_group_member(&iam, "missing", "alice", true),
                   CAIRN_ENOENT);
  assert_int_equal(can(&iam, "alice", "s3:GetObject", "arn:aws:s3:::b/k"),
                   POLICY_EXPLICIT_DENY);
  assert_int_equal(can(&iam, "alice", "s3:GetObject", "arn:aws:s3:::c/k"),
                   POLICY_ALLOW);
  assert_int_equal(iam_group_member(&iam, "no-b", "alice", false), 0);
  assert_int_equal(can(&iam, "alice", "s3:GetObject", "arn:aws:s3:::b/k"),
                   POLICY_ALLOW);
  /* a disabled or unknown user is denied whatever its policy */
  assert_int_equal(iam_user_set_disabled(&iam, "alice", true), 0);
  assert_int_equal(can(&iam, "alice", "s3:GetObject", "arn:aws:s3:::c/k"),
                   POLICY_IMPLICIT_DENY);
  assert_int_equal(can(&iam, "ghost", "s3:GetObject", "arn:aws:s3:::c/k"),
                   POLICY_IMPLICIT_DENY);

  /* deleting the user removes its keys */
  assert_int_equal(iam_user_delete(&iam, "alice"), 0);
  assert_int_equal(iam_lookup_key(&iam, id2, 6000, secret, sizeof secret, &who),
                   CAIRN_ENOENT);

  policy_cache_free(iam.policies);
  iam_key_cache_free(iam.keys);
  meta_close(meta);
  kms_close(kms);
  crypto_shutdown();
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

static void test_iam(void **state) {
  (void)state;
  run_iam(false);
}

static void test_iam_cached(void **state) {
  (void)state;
  run_iam(true);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_iam),
                                     cmocka_unit_test(test_iam_cached)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}

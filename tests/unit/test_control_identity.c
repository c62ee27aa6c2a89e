/* test_control_identity.c - the node's data dirs, id file and capacity
 * (storagenode/node_identity.c, storagenode/capacity.c). */
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

#include "capacity.h"
#include "crypto.h"
#include "error.h"
#include "node_identity.h"

static char base[256];

static int make_base(void **state) {
  (void)state;
  snprintf(base, sizeof base, "/tmp/cairn-test-ident-XXXXXX");
  return mkdtemp(base) ? 0 : -1;
}

static int remove_base(void **state) {
  (void)state;
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
  return system(cmd) == 0 ? 0 : -1;
}

static void test_id_create_and_reuse(void **state) {
  (void)state;
  char id1[NODE_ID_LEN + 1], id2[NODE_ID_LEN + 1], err[256] = "";
  assert_int_equal(node_identity_load(base, id1, err, sizeof err), 0);
  assert_true(node_id_valid(id1));
  assert_int_equal(node_identity_load(base, id2, err, sizeof err), 0);
  assert_string_equal(id1, id2);

  char path[512], content[64] = "";
  snprintf(path, sizeof path, "%s/node.id", base);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  assert_non_null(fgets(content, sizeof content, f));
  fclose(f);
  assert_int_equal(strlen(content), NODE_ID_LEN + 1);
  assert_memory_equal(content, id1, NODE_ID_LEN);
  /* No temp file left behind. */
  snprintf(path, sizeof path, "%s/node.id.tmp", base);
  assert_int_not_equal(access(path, F_OK), 0);

  /* Another dir: another id. */
  char other[300];
  snprintf(other, sizeof other, "%s/other", base);
  assert_int_equal(mkdir(other, 0700), 0);
  assert_int_equal(node_identity_load(other, id2, err, sizeof err), 0);
  assert_string_not_equal(id1, id2);
}

static void test_id_corrupt(void **state) {
  (void)state;
  char dir[300], path[400], id[NODE_ID_LEN + 1], err[512] = "";
  snprintf(dir, sizeof dir, "%s/corrupt", base);
  assert_int_equal(mkdir(dir, 0700), 0);
  snprintf(path, sizeof path, "%s/node.id", dir);
  FILE *f = fopen(path, "w");
  fputs("not-an-id\n", f);
  fclose(f);
  assert_int_equal(node_identity_load(dir, id, err, sizeof err),
                   CAIRN_ECORRUPT);
  assert_non_null(strstr(err, "corrupt"));
  /* Upper-case hex is not an id either (ids are compared as strings). */
  f = fopen(path, "w");
  fputs("00112233445566778899AABBCCDDEEFF\n", f);
  fclose(f);
  assert_int_equal(node_identity_load(dir, id, err, sizeof err),
                   CAIRN_ECORRUPT);
  assert_false(node_id_valid("00112233445566778899aabbccddeef"));
  assert_false(node_id_valid("00112233445566778899aabbccddeeff0"));
  assert_true(node_id_valid("00112233445566778899aabbccddeeff"));
}

static void test_data_dirs(void **state) {
  (void)state;
  char list[1024], err[512] = "";
  char *dirs[NODE_MAX_DATA_DIRS];
  size_t n = 0;
  /* Missing dirs whose parent exists are created; spaces and trailing
   * slashes are trimmed; empty items skipped. */
  snprintf(list, sizeof list, "%s/d1/, %s/d2,,", base, base);
  assert_int_equal(node_data_dirs_prepare(list, dirs, &n, err, sizeof err), 0);
  assert_int_equal(n, 2);
  struct stat st;
  assert_int_equal(stat(dirs[0], &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  assert_int_equal(stat(dirs[1], &st), 0);
  assert_null(strchr(dirs[0], ','));
  assert_int_not_equal(dirs[0][strlen(dirs[0]) - 1], '/');

  /* A dir whose parent is missing is an error with a reason. */
  snprintf(list, sizeof list, "%s/no/such/parent", base);
  assert_int_not_equal(node_data_dirs_prepare(list, dirs, &n, err, sizeof err),
                       0);
  assert_non_null(strstr(err, "cannot be created"));

  /* A file is not a dir. */
  char file[400];
  snprintf(file, sizeof file, "%s/plainfile", base);
  FILE *f = fopen(file, "w");
  fclose(f);
  snprintf(list, sizeof list, "%s", file);
  assert_int_equal(node_data_dirs_prepare(list, dirs, &n, err, sizeof err),
                   CAIRN_EINVAL);

  /* Nothing at all. */
  snprintf(list, sizeof list, " , ");
  assert_int_equal(node_data_dirs_prepare(list, dirs, &n, err, sizeof err),
                   CAIRN_EINVAL);
}

static void test_capacity_counts_shared_fs_once(void **state) {
  (void)state;
  char d1[300], d2[300];
  snprintf(d1, sizeof d1, "%s/c1", base);
  snprintf(d2, sizeof d2, "%s/c2", base);
  mkdir(d1, 0700);
  mkdir(d2, 0700);
  char *one[] = {d1};
  char *two[] = {d1, d2};
  uint64_t cap1, free1, cap2, free2;
  node_capacity(one, 1, &cap1, &free1);
  node_capacity(two, 2, &cap2, &free2);
  assert_true(cap1 > 0);
  assert_true(free1 <= cap1);
  assert_int_equal(cap1, cap2); /* same file system: counted once */
  /* A dir that does not exist adds nothing. */
  char missing[] = "/nonexistent/cairn";
  char *bad[] = {missing};
  node_capacity(bad, 1, &cap2, &free2);
  assert_int_equal(cap2, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_id_create_and_reuse),
      cmocka_unit_test(test_id_corrupt),
      cmocka_unit_test(test_data_dirs),
      cmocka_unit_test(test_capacity_counts_shared_fs_once),
  };
  if (crypto_init() != 0)
    return 1;
  int rc = cmocka_run_group_tests(tests, make_base, remove_base);
  crypto_shutdown();
  return rc;
}

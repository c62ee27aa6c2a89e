/* test_bench_disk.c - `cairn-bench disk` on a real directory: both figures
 * come out positive and plausible, the scratch files are gone afterwards,
 * and a directory that cannot be written is an error, not a figure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_disk.h"
#include "error.h"

static int entries(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(d);
  return n;
}

static void test_measures_and_cleans_up(void **state) {
  (void)state;
  char dir[] = "/tmp/cairn-bench-disk-XXXXXX";
  assert_non_null(mkdtemp(dir));
  struct bench_disk_result r;
  assert_int_equal(bench_disk_measure(dir, 0.2, &r), 0);
  /* At least one 1 MiB write went out in 0.2 s, and no disk syncs 4 KiB
   * in under a microsecond or takes a second. */
  assert_true(r.durable_mbps > 0.5);
  assert_true(r.append_sync_us >= 1.0 && r.append_sync_us < 1e6);
  assert_int_equal(entries(dir), 0);
  assert_int_equal(rmdir(dir), 0);
}

static void test_unwritable_dir_fails(void **state) {
  (void)state;
  struct bench_disk_result r;
  assert_int_equal(bench_disk_measure("/nonexistent/cairn-bench", 0.1, &r),
                   CAIRN_ENOENT);
  assert_true(bench_disk("/nonexistent/cairn-bench", 1) != 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_measures_and_cleans_up),
      cmocka_unit_test(test_unwritable_dir_fails),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_config.c - option precedence, parsing and errors of common/config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "error.h"

struct test_cfg {
  char *listen;
  int64_t size;
  int flag;
};

static const struct config_option opts[] = {
    {"listen", "CAIRN_TEST_LISTEN", CONFIG_STRING, "127.0.0.1:9000",
     offsetof(struct test_cfg, listen), 0, 0, "address"},
    {"size", "CAIRN_TEST_SIZE", CONFIG_INT, "4M",
     offsetof(struct test_cfg, size), 1, 1 << 30, "size"},
    {"flag", "CAIRN_TEST_FLAG", CONFIG_BOOL, "false",
     offsetof(struct test_cfg, flag), 0, 0, "flag"},
};
#define N (sizeof opts / sizeof opts[0])

static int load(struct test_cfg *cfg, int argc, char **argv, char *err) {
  memset(cfg, 0, sizeof *cfg);
  return config_load(opts, N, cfg, argc, argv, "test", err, 256);
}

static void test_defaults(void **state) {
  (void)state;
  struct test_cfg cfg;
  char err[256];
  char *argv[] = {"test"};
  unsetenv("CAIRN_TEST_LISTEN");
  unsetenv("CAIRN_TEST_SIZE");
  assert_int_equal(load(&cfg, 1, argv, err), 0);
  assert_string_equal(cfg.listen, "127.0.0.1:9000");
  assert_int_equal(cfg.size, 4 << 20);
  assert_int_equal(cfg.flag, 0);
  config_release(opts, N, &cfg);
}

/* flags > file > env > default */
static void test_precedence(void **state) {
  (void)state;
  char path[] = "/tmp/cairn-config-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *text = "# comment\n listen = 10.0.0.1:1 \nsize=2k\n";
  assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
  close(fd);

  setenv("CAIRN_TEST_LISTEN", "env:1", 1);
  setenv("CAIRN_TEST_SIZE", "7", 1);
  setenv("CAIRN_TEST_FLAG", "yes", 1);
  struct test_cfg cfg;
  char err[256];
  char *argv[] = {"test", "--config", path, "--size=99"};
  assert_int_equal(load(&cfg, 4, argv, err), 0);
  assert_string_equal(cfg.listen, "10.0.0.1:1"); /* file beats env */
  assert_int_equal(cfg.size, 99);                /* flag beats file */
  assert_int_equal(cfg.flag, 1);                 /* env beats default */
  config_release(opts, N, &cfg);
  unsetenv("CAIRN_TEST_LISTEN");
  unsetenv("CAIRN_TEST_SIZE");
  unsetenv("CAIRN_TEST_FLAG");
  unlink(path);
}

static void test_errors(void **state) {
  (void)state;
  struct test_cfg cfg;
  char err[256];
  char *unknown[] = {"test", "--nope", "1"};
  assert_int_equal(load(&cfg, 3, unknown, err), CAIRN_EINVAL);
  assert_non_null(strstr(err, "unknown option --nope"));
  config_release(opts, N, &cfg);

  char *range[] = {"test", "--size", "0"};
  assert_int_equal(load(&cfg, 3, range, err), CAIRN_ERANGE);
  config_release(opts, N, &cfg);

  char *bad_int[] = {"test", "--size", "12x"};
  assert_int_equal(load(&cfg, 3, bad_int, err), CAIRN_EINVAL);
  config_release(opts, N, &cfg);

  char *missing[] = {"test", "--listen"};
  assert_int_equal(load(&cfg, 2, missing, err), CAIRN_EINVAL);
  config_release(opts, N, &cfg);

  char *nofile[] = {"test", "--config", "/nonexistent/cairn.conf"};
  assert_true(load(&cfg, 3, nofile, err) < 0);
  assert_non_null(strstr(err, "/nonexistent/cairn.conf"));
  config_release(opts, N, &cfg);
}

static void test_bad_file_line(void **state) {
  (void)state;
  char path[] = "/tmp/cairn-config-XXXXXX";
  int fd = mkstemp(path);
  const char *text = "listen = a:1\nthis line has no equals\n";
  assert_int_equal(write(fd, text, strlen(text)), (int)strlen(text));
  close(fd);
  struct test_cfg cfg;
  char err[256];
  char *argv[] = {"test", "--config", path};
  assert_int_equal(load(&cfg, 3, argv, err), CAIRN_EINVAL);
  assert_non_null(strstr(err, ":2:"));
  config_release(opts, N, &cfg);
  unlink(path);
}

static void test_hostport(void **state) {
  (void)state;
  char host[64];
  int port;
  assert_int_equal(config_parse_hostport("127.0.0.1:9000", host, 64, &port), 0);
  assert_string_equal(host, "127.0.0.1");
  assert_int_equal(port, 9000);
  assert_int_equal(config_parse_hostport("[::1]:80", host, 64, &port), 0);
  assert_string_equal(host, "::1");
  assert_int_equal(config_parse_hostport("nohost", host, 64, &port),
                   CAIRN_EINVAL);
  assert_int_equal(config_parse_hostport("a:99999", host, 64, &port),
                   CAIRN_EINVAL);
  assert_int_equal(config_parse_hostport(":80", host, 64, &port), CAIRN_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults), cmocka_unit_test(test_precedence),
      cmocka_unit_test(test_errors),   cmocka_unit_test(test_bad_file_line),
      cmocka_unit_test(test_hostport),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

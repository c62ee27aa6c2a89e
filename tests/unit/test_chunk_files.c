/* test_chunk_files.c - fragment files: round trip, ranges, rot, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <isa-l.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chunk_store.h"
#include "crypto.h"
#include "error.h"

static char dir[64];

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/cairn-chunks-XXXXXX");
  return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd);
}

static struct chunk_store *open_store(void) {
  char *dirs[] = {dir};
  struct chunk_store *s;
  assert_int_equal(chunk_store_open(dirs, 1, &s), 0);
  return s;
}

static uint8_t *random_bytes(size_t n) {
  uint8_t *b = malloc(n);
  assert_int_equal(crypto_random(b, n), 0);
  return b;
}

static void put(struct chunk_store *s, const uint8_t id[16], const uint8_t *d,
                size_t n) {
  struct chunk_writer *w;
  assert_int_equal(chunk_writer_open(s, id, 0, n, &w), 0);
  for (size_t off = 0; off < n; off += 70001) /* not block-aligned */
    assert_int_equal(
        chunk_writer_append(w, d + off, n - off < 70001 ? n - off : 70001), 0);
  assert_int_equal(chunk_writer_commit(w, crc32_iscsi((uint8_t *)d, (int)n, 0)),
                   0);
}

static void test_round_trip_and_ranges(void **state) {
  (void)state;
  struct chunk_store *s = open_store();
  uint8_t id[16] = {0xab, 0xcd, 1};
  size_t n = 5 * 1024 * 1024 + 1;
  uint8_t *data = random_bytes(n), *back = malloc(n);
  put(s, id, data, n);
  uint64_t len;
  assert_int_equal(chunk_stat(s, id, 0, &len), 0);
  assert_int_equal(len, n);
  assert_int_equal(chunk_read(s, id, 0, 0, n, back), 0);
  assert_memory_equal(back, data, n);
  assert_int_equal(chunk_read(s, id, 0, 65530, 20, back), 0);
  assert_memory_equal(back, data + 65530, 20);
  assert_int_equal(chunk_read(s, id, 0, n - 1, 1, back), 0);
  assert_int_equal(back[0], data[n - 1]);
  assert_int_equal(chunk_read(s, id, 0, n, 1, back), CAIRN_ERANGE);
  assert_int_equal(chunk_read(s, id, 1, 0, 1, back), CAIRN_ENOENT);
  assert_int_equal(chunk_delete(s, id, 0), 0);
  assert_int_equal(chunk_stat(s, id, 0, &len), CAIRN_ENOENT);
  free(data);
  free(back);
  chunk_store_close(s);
}

/* One flipped byte on disk is found by the block CRC, never returned. */
static void test_bit_rot_detected(void **state) {
  (void)state;
  struct chunk_store *s = open_store();
  uint8_t id[16] = {0x12, 0x34, 2};
  size_t n = 200000;
  uint8_t *data = random_bytes(n), *back = malloc(n);
  put(s, id, data, n);
  char hex[33], path[256];
  crypto_hex(id, 16, hex);
  snprintf(path, sizeof path, "%s/chunks/%.2s/%.2s/%s.0", dir, hex, hex + 2,
           hex);
  int fd = open(path, O_RDWR);
  assert_true(fd >= 0);
  off_t at = 64 + 65536 + 4 + 100; /* inside the second block */
  uint8_t b;
  assert_int_equal(pread(fd, &b, 1, at), 1);
  b ^= 0x40;
  assert_int_equal(pwrite(fd, &b, 1, at), 1);
  close(fd);
  assert_int_equal(chunk_read(s, id, 0, 0, 1000, back), 0); /* block 1 ok */
  assert_int_equal(chunk_read(s, id, 0, 65536, 1000, back), CAIRN_ECORRUPT);
  assert_int_equal(chunk_read(s, id, 0, 0, n, back), CAIRN_ECORRUPT);
  free(data);
  free(back);
  chunk_store_close(s);
}

static void test_commit_checks(void **state) {
  (void)state;
  struct chunk_store *s = open_store();
  uint8_t id[16] = {9};
  struct chunk_writer *w;
  assert_int_equal(chunk_writer_open(s, id, 0, 10, &w), 0);
  assert_int_equal(chunk_writer_append(w, "0123456789X", 11), CAIRN_ETOOBIG);
  assert_int_equal(chunk_writer_append(w, "01234", 5), 0);
  assert_int_equal(chunk_writer_commit(w, 0), CAIRN_EINVAL); /* short */
  assert_int_equal(chunk_writer_open(s, id, 0, 5, &w), 0);
  assert_int_equal(chunk_writer_append(w, "01234", 5), 0);
  assert_int_equal(chunk_writer_commit(w, 12345), CAIRN_ECORRUPT); /* crc */
  uint64_t len;
  assert_int_equal(chunk_stat(s, id, 0, &len), CAIRN_ENOENT);
  assert_int_equal(
      chunk_writer_open(s, id, 0, (uint64_t)CHUNK_MAX_FRAGMENT + 1, &w),
      CAIRN_ETOOBIG);
  chunk_store_close(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_and_ranges),
      cmocka_unit_test(test_bit_rot_detected),
      cmocka_unit_test(test_commit_checks),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

/* test_chunk_store.c - fragment files in a temporary dir: put/get/range/
 * delete, header fields round trip, a flipped byte is ECORRUPT, commit
 * checks, and the node's I/O threads (data_io) report on the loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <isa-l.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chunk_store.h"
#include "crypto.h"
#include "data_io.h"
#include "error.h"

static char dir[64], dir2[80];

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/cairn-chunk-store-XXXXXX");
  if (!mkdtemp(dir))
    return -1;
  snprintf(dir2, sizeof dir2, "%s/disk2", dir);
  return mkdir(dir2, 0700);
}

static int teardown(void **state) {
  (void)state;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd);
}

static struct chunk_store *open_store(void) {
  char *dirs[] = {dir, dir2};
  struct chunk_store *s;
  assert_int_equal(chunk_store_open(dirs, 2, &s), 0);
  return s;
}

static uint8_t *random_bytes(size_t n) {
  uint8_t *b = malloc(n);
  assert_int_equal(crypto_random(b, n), 0);
  return b;
}

static void put(struct chunk_store *s, const uint8_t id[16], uint32_t frag,
                const uint8_t *d, size_t n, size_t step) {
  struct chunk_writer *w;
  assert_int_equal(chunk_writer_open(s, id, frag, n, &w), 0);
  for (size_t off = 0; off < n; off += step)
    assert_int_equal(
        chunk_writer_append(w, d + off, n - off < step ? n - off : step), 0);
  assert_int_equal(chunk_writer_commit(w, crc32_iscsi((uint8_t *)d, (int)n, 0)),
                   0);
}

/* The file of (id, frag), in whichever data dir holds it. */
static void file_of(const uint8_t id[16], uint32_t frag, char *path,
                    size_t len) {
  char hex[33];
  crypto_hex(id, 16, hex);
  const char *dirs[] = {dir, dir2};
  for (int i = 0; i < 2; i++) {
    snprintf(path, len, "%s/chunks/%.2s/%.2s/%s.%u", dirs[i], hex, hex + 2, hex,
             frag);
    if (access(path, F_OK) == 0)
      return;
  }
  fail_msg("no file for the fragment");
}

static void test_put_get_range_delete(void **state) {
  (void)state;
  struct chunk_store *s = open_store();
  uint8_t id[16] = {0xab, 0xcd, 1};
  size_t n = 5 * 1024 * 1024 + 1;
  uint8_t *data = random_bytes(n), *back = malloc(n);
  put(s, id, 3, data, n, 70001); /* pieces not block-aligned */
  uint64_t len;
  assert_int_equal(chunk_stat(s, id, 3, &len), 0);
  assert_int_equal(len, n);
  assert_int_equal(chunk_read(s, id, 3, 0, n, back), 0);
  assert_memory_equal(back, data, n);
  /* Ranges across block boundaries, the last byte, an empty range. */
  assert_int_equal(chunk_read(s, id, 3, 65530, 20, back), 0);
  assert_memory_equal(back, data + 65530, 20);
  assert_int_equal(chunk_read(s, id, 3, 65536 * 3 - 1, 65538, back), 0);
  assert_memory_equal(back, data + 65536 * 3 - 1, 65538);
  assert_int_equal(chunk_read(s, id, 3, n - 1, 1, back), 0);
  assert_int_equal(back[0], data[n - 1]);
  assert_int_equal(chunk_read(s, id, 3, n, 0, back), 0);
  assert_int_equal(chunk_read(s, id, 3, n, 1, back), CAIRN_ERANGE);
  assert_int_equal(chunk_read(s, id, 3, n - 1, 2, back), CAIRN_ERANGE);
  assert_int_equal(chunk_read(s, id, 4, 0, 1, back), CAIRN_ENOENT);
  /* The on-disk size is the documented one. */
  char path[256];
  file_of(id, 3, path, sizeof path);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_size,
                   CHUNK_HEADER_SIZE + n +
                       4 * ((n + CHUNK_BLOCK_SIZE - 1) / CHUNK_BLOCK_SIZE));
  assert_int_equal(chunk_delete(s, id, 3), 0);
  assert_int_equal(chunk_stat(s, id, 3, &len), CAIRN_ENOENT);
  assert_int_equal(chunk_delete(s, id, 3), CAIRN_ENOENT);
  /* An empty fragment. */
  put(s, id, 0, data, 0, 1);
  assert_int_equal(chunk_stat(s, id, 0, &len), 0);
  assert_int_equal(len, 0);
  assert_int_equal(chunk_read(s, id, 0, 0, 0, back), 0);
  assert_int_equal(chunk_delete(s, id, 0), 0);
  free(data);
  free(back);
  chunk_store_close(s);
}

static void test_header_round_trip(void **state) {
  (void)state;
  struct chunk_header h = {.version = CHUNK_FORMAT_VERSION,
                           .fragment = 0x01020304,
                           .length = 0x0123456,
                           .block_size = CHUNK_BLOCK_SIZE,
                           .checksum_type = CHUNK_CHECKSUM_CRC32C};
  for (int i = 0; i < 16; i++)
    h.chunk_id[i] = (uint8_t)(0xf0 + i);
  uint8_t raw[CHUNK_HEADER_SIZE];
  chunk_header_encode(&h, raw);
  assert_memory_equal(raw, "CAIRNFR1", 8);
  assert_int_equal(raw[12], 1); /* big-endian fragment */
  assert_int_equal(raw[15], 4);
  struct chunk_header back;
  assert_int_equal(chunk_header_decode(raw, &back), 0);
  assert_int_equal(back.version, h.version);
  assert_int_equal(back.fragment, h.fragment);
  assert_int_equal(back.length, h.length);
  assert_int_equal(back.block_size, h.block_size);
  assert_int_equal(back.checksum_type, h.checksum_type);
  assert_memory_equal(back.chunk_id, h.chunk_id, 16);
  /* Any flipped bit of the header is caught by its CRC. */
  for (size_t i = 0; i < CHUNK_HEADER_SIZE; i++) {
    raw[i] ^= 0x10;
    assert_int_equal(chunk_header_decode(raw, &back), CAIRN_ECORRUPT);
    raw[i] ^= 0x10;
  }
  /* An unknown version with a valid CRC is refused too. */
  h.version = 2;
  chunk_header_encode(&h, raw);
  assert_int_equal(chunk_header_decode(raw, &back), CAIRN_ECORRUPT);

  /* What a put writes to disk decodes to what was asked. */
  struct chunk_store *s = open_store();
  uint8_t id[16] = {0x77, 0x66, 5};
  uint8_t *data = random_bytes(100000);
  put(s, id, 7, data, 100000, 4096);
  assert_int_equal(chunk_read_header(s, id, 7, &back), 0);
  assert_int_equal(back.version, CHUNK_FORMAT_VERSION);
  assert_int_equal(back.fragment, 7);
  assert_int_equal(back.length, 100000);
  assert_int_equal(back.block_size, CHUNK_BLOCK_SIZE);
  assert_int_equal(back.checksum_type, CHUNK_CHECKSUM_CRC32C);
  assert_memory_equal(back.chunk_id, id, 16);
  /* A file renamed to another fragment's name is not that fragment. */
  char from[256], to[256];
  file_of(id, 7, from, sizeof from);
  snprintf(to, sizeof to, "%.*s8", (int)strlen(from) - 1, from);
  assert_int_equal(rename(from, to), 0);
  uint64_t len;
  assert_int_equal(chunk_stat(s, id, 8, &len), CAIRN_ECORRUPT);
  free(data);
  chunk_store_close(s);
}

static void flip_byte(const char *path, off_t at) {
  int fd = open(path, O_RDWR);
  assert_true(fd >= 0);
  uint8_t b;
  assert_int_equal(pread(fd, &b, 1, at), 1);
  b ^= 0x40;
  assert_int_equal(pwrite(fd, &b, 1, at), 1);
  close(fd);
}

/* One flipped byte on disk is found by the block CRC, never returned. */
static void test_flipped_byte_is_corrupt(void **state) {
  (void)state;
  struct chunk_store *s = open_store();
  uint8_t id[16] = {0x12, 0x34, 2};
  size_t n = 200000;
  uint8_t *data = random_bytes(n), *back = malloc(n);
  put(s, id, 0, data, n, n);
  char path[256];
  file_of(id, 0, path, sizeof path);
  flip_byte(path, CHUNK_HEADER_SIZE + CHUNK_BLOCK_SIZE + 4 + 100); /* blk 1 */
  assert_int_equal(chunk_read(s, id, 0, 0, 1000, back), 0); /* block 0 ok */
  assert_memory_equal(back, data, 1000);
  assert_int_equal(chunk_read(s, id, 0, 65536, 1000, back), CAIRN_ECORRUPT);
  assert_int_equal(chunk_read(s, id, 0, 65536 + 100, 1, back), CAIRN_ECORRUPT);
  assert_int_equal(chunk_read(s, id, 0, 0, n, back), CAIRN_ECORRUPT);
  assert_int_equal(chunk_read(s, id, 0, 3 * 65536, 100, back), 0);
  /* A flipped CRC byte is as bad as a flipped data byte. */
  flip_byte(path, CHUNK_HEADER_SIZE + CHUNK_BLOCK_SIZE); /* block 0's CRC */
  assert_int_equal(chunk_read(s, id, 0, 0, 1, back), CAIRN_ECORRUPT);
  /* A damaged header fails every read. */
  flip_byte(path, 20);
  assert_int_equal(chunk_read(s, id, 0, 3 * 65536, 100, back), CAIRN_ECORRUPT);
  /* A truncated file too. */
  put(s, id, 1, data, n, n);
  file_of(id, 1, path, sizeof path);
  assert_int_equal(truncate(path, 70000), 0);
  assert_int_equal(chunk_read(s, id, 1, 0, 100, back), 0);
  assert_int_equal(chunk_read(s, id, 1, 0, n, back), CAIRN_ECORRUPT);
  free(data);
  free(back);
  chunk_store_close(s);
}

static void test_commit_checks(void **state) {
  (void)state;
  struct chunk_store *s = open_store();
  uint8_t id[16] = {9};
  struct chunk_writer *w;
  uint64_t len;
  assert_int_equal(chunk_writer_open(s, id, 0, 10, &w), 0);
  assert_int_equal(chunk_writer_append(w, "0123456789X", 11), CAIRN_ETOOBIG);
  assert_int_equal(chunk_writer_append(w, "01234", 5), 0);
  assert_int_equal(chunk_writer_commit(w, 0), CAIRN_EINVAL); /* short */
  assert_int_equal(chunk_writer_open(s, id, 0, 5, &w), 0);
  assert_int_equal(chunk_writer_append(w, "01234", 5), 0);
  assert_int_equal(chunk_writer_commit(w, 12345), CAIRN_ECORRUPT); /* crc */
  assert_int_equal(chunk_stat(s, id, 0, &len), CAIRN_ENOENT);
  assert_int_equal(chunk_writer_open(s, id, 0, 5, &w), 0);
  chunk_writer_abort(w);
  assert_int_equal(chunk_stat(s, id, 0, &len), CAIRN_ENOENT);
  assert_int_equal(
      chunk_writer_open(s, id, 0, (uint64_t)CHUNK_MAX_FRAGMENT + 1, &w),
      CAIRN_ETOOBIG);
  /* No temporary file is left behind by the failed puts. */
  char cmd[256];
  snprintf(cmd, sizeof cmd, "find %s -name '*.tmp-*' | grep -q .", dir);
  assert_int_not_equal(system(cmd), 0);
  chunk_store_close(s);
}

/* ---- the I/O threads -------------------------------------------------- */

#define JOBS 64

struct io_test {
  struct data_io_job job;
  struct chunk_store *store;
  pthread_t loop_thread;
  int index, status, done;
  uint8_t data[1000];
  int *remaining;
  struct data_io *io;
};

static void job_work(struct data_io_job *j) {
  struct io_test *t = (struct io_test *)j;
  assert_false(pthread_equal(pthread_self(), t->loop_thread));
  uint8_t id[16] = {0x10, (uint8_t)t->index};
  struct chunk_writer *w;
  t->status = chunk_writer_open(t->store, id, 0, sizeof t->data, &w);
  if (t->status == 0)
    t->status = chunk_writer_append(w, t->data, sizeof t->data);
  if (t->status == 0)
    t->status =
        chunk_writer_commit(w, crc32_iscsi(t->data, (int)sizeof t->data, 0));
}

static void job_done(struct data_io_job *j) {
  struct io_test *t = (struct io_test *)j;
  assert_true(pthread_equal(pthread_self(), t->loop_thread));
  t->done++;
  if (--*t->remaining == 0)
    data_io_stop(t->io); /* from a done callback: allowed */
}

static void test_io_threads(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct data_io *io;
  assert_int_equal(data_io_start(&loop, 0, &io), CAIRN_EINVAL);
  assert_int_equal(data_io_start(&loop, 4, &io), 0);
  struct chunk_store *s = open_store();
  struct io_test *jobs = calloc(JOBS, sizeof *jobs);
  int remaining = JOBS;
  for (int i = 0; i < JOBS; i++) {
    jobs[i].job.work = job_work;
    jobs[i].job.done = job_done;
    jobs[i].store = s;
    jobs[i].loop_thread = pthread_self();
    jobs[i].index = i;
    jobs[i].remaining = &remaining;
    jobs[i].io = io;
    memset(jobs[i].data, i, sizeof jobs[i].data);
    data_io_submit(io, &jobs[i].job);
  }
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  for (int i = 0; i < JOBS; i++) {
    assert_int_equal(jobs[i].done, 1);
    assert_int_equal(jobs[i].status, 0);
    uint8_t id[16] = {0x10, (uint8_t)i}, back[1000];
    assert_int_equal(chunk_read(s, id, 0, 0, sizeof back, back), 0);
    assert_memory_equal(back, jobs[i].data, sizeof back);
  }
  /* Stop with jobs still queued: each still reports, once. */
  assert_int_equal(data_io_start(&loop, 1, &io), 0);
  remaining = 1000; /* never reaches 0 here: stop below */
  for (int i = 0; i < JOBS; i++) {
    jobs[i].done = 0;
    jobs[i].io = io;
    data_io_submit(io, &jobs[i].job);
  }
  data_io_stop(io);
  for (int i = 0; i < JOBS; i++)
    assert_int_equal(jobs[i].done, 1);
  assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
  free(jobs);
  chunk_store_close(s);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_put_get_range_delete),
      cmocka_unit_test(test_header_round_trip),
      cmocka_unit_test(test_flipped_byte_is_corrupt),
      cmocka_unit_test(test_commit_checks),
      cmocka_unit_test(test_io_threads),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

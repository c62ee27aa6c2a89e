/* test_chunk_store.c - fragment files in a temporary dir: put/get/range/
 * delete, header fields round trip, a flipped byte is ECORRUPT, commit
 * checks, and the node's I/O threads (data_io) report on the loop; small
 * fragments in segment files: concurrent appends are acknowledged only
 * after the one sync of their group and survive a reopen, deletes and torn
 * tails, a failed fdatasync (wrapped) is never acknowledged; the scrubber
 * finds a flipped byte in a segment image (data or header) and reports
 * that fragment; a segment log whose dir leaves service (disks.h) hands
 * small fragments to files in another dir, and one copy stays. */
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
#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chunk_store.h"
#include "crypto.h"
#include "data_io.h"
#include "disks.h"
#include "error.h"
#include "scrubber.h"
#include "segment_log.h"

static char dir[64], dir2[80];

/* Fault injection: -Wl,--wrap=fdatasync (tests/unit/data.cmake). */
int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);
static atomic_int fail_fdatasync, fdatasync_calls;
int __wrap_fdatasync(int fd) {
  atomic_fetch_add(&fdatasync_calls, 1);
  if (atomic_load(&fail_fdatasync)) {
    errno = EIO;
    return -1;
  }
  return __real_fdatasync(fd);
}

/* Bytes written through an O_DIRECT descriptor (-Wl,--wrap=pwrite). */
ssize_t __real_pwrite(int fd, const void *buf, size_t len, off_t at);
ssize_t __wrap_pwrite(int fd, const void *buf, size_t len, off_t at);
static atomic_llong direct_bytes;
ssize_t __wrap_pwrite(int fd, const void *buf, size_t len, off_t at) {
  ssize_t n = __real_pwrite(fd, buf, len, at);
  int flags = fcntl(fd, F_GETFL);
  if (n > 0 && flags >= 0 && (flags & O_DIRECT))
    atomic_fetch_add(&direct_bytes, n);
  return n;
}

/* Whether the test's file system takes O_DIRECT (tmpfs may not). */
static int direct_io_here(const char *in) {
  char probe[160];
  snprintf(probe, sizeof probe, "%s/direct-probe", in);
  int fd = open(probe, O_WRONLY | O_CREAT | O_DIRECT, 0600);
  if (fd >= 0)
    close(fd);
  unlink(probe);
  return fd >= 0;
}

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
  long long direct_before = atomic_load(&direct_bytes);
  put(s, id, 3, data, n, 70001); /* pieces not block-aligned */
  /* Where O_DIRECT works, all but the file's last partial 4 KiB bypass
   * the page cache. */
  if (direct_io_here(dir))
    assert_true(atomic_load(&direct_bytes) - direct_before >=
                (long long)n - 4096);
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
  uint8_t *data = random_bytes(1200000); /* a file: over CHUNK_SEGMENT_MAX */
  put(s, id, 7, data, 1200000, 65536);
  assert_int_equal(chunk_read_header(s, id, 7, &back), 0);
  assert_int_equal(back.version, CHUNK_FORMAT_VERSION);
  assert_int_equal(back.fragment, 7);
  assert_int_equal(back.length, 1200000);
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
  size_t n = 1200000; /* a file: over CHUNK_SEGMENT_MAX */
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

/* ---- small fragments: segment files and group commit ------------------- */

#define APPENDERS 8

struct appender {
  struct segment_log *log;
  uint8_t id[16];
  uint8_t image[CHUNK_HEADER_SIZE + 500 + CHUNK_CRC_SIZE];
  int status;
  atomic_int returned;
};

static void make_image(struct appender *a, int i) {
  memset(a->id, 0, 16);
  a->id[0] = 0x5e;
  a->id[1] = (uint8_t)i;
  struct chunk_header h = {.version = CHUNK_FORMAT_VERSION,
                           .fragment = 1,
                           .length = 500,
                           .block_size = CHUNK_BLOCK_SIZE,
                           .checksum_type = CHUNK_CHECKSUM_CRC32C};
  memcpy(h.chunk_id, a->id, 16);
  chunk_header_encode(&h, a->image);
  memset(a->image + CHUNK_HEADER_SIZE, i, 500);
  uint32_t crc = crc32_iscsi(a->image + CHUNK_HEADER_SIZE, 500, 0);
  for (int b = 0; b < 4; b++)
    a->image[CHUNK_HEADER_SIZE + 500 + b] = (uint8_t)(crc >> (24 - 8 * b));
}

static void *append_main(void *arg) {
  struct appender *a = arg;
  a->status = segment_log_append(a->log, a->id, 1, a->image, sizeof a->image);
  atomic_store(&a->returned, 1);
  return NULL;
}

/* The newest segment file of seg_dir, into path. */
static void last_segment(const char *seg_dir, char *path, size_t len) {
  DIR *d = opendir(seg_dir);
  assert_non_null(d);
  char best[256] = "";
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strstr(e->d_name, ".seg") && strcmp(e->d_name, best) > 0)
      snprintf(best, sizeof best, "%s", e->d_name);
  closedir(d);
  assert_true(best[0]);
  snprintf(path, len, "%s/%s", seg_dir, best);
}

static void test_segment_group_commit(void **state) {
  (void)state;
  char seg_dir[128];
  snprintf(seg_dir, sizeof seg_dir, "%s/seglog", dir);
  struct segment_log *log;
  assert_int_equal(segment_log_open(seg_dir, &log), 0);
  /* Hold the syncer: appends queue up and none is acknowledged. */
  segment_log_hold(log, 1);
  struct appender *a = calloc(APPENDERS, sizeof *a);
  pthread_t threads[APPENDERS];
  int syncs_before = atomic_load(&fdatasync_calls);
  for (int i = 0; i < APPENDERS; i++) {
    a[i].log = log;
    make_image(&a[i], i);
    assert_int_equal(pthread_create(&threads[i], NULL, append_main, &a[i]), 0);
  }
  uint64_t groups, images, waiting = 0;
  while (waiting < APPENDERS) { /* every append is queued */
    segment_log_stats(log, &groups, &images, &waiting);
    usleep(1000);
  }
  for (int i = 0; i < APPENDERS; i++)
    assert_int_equal(atomic_load(&a[i].returned), 0);
  uint8_t buf[CHUNK_HEADER_SIZE + CHUNK_BLOCK_SIZE + CHUNK_CRC_SIZE];
  size_t len;
  assert_int_equal(
      segment_log_read(log, a[0].id, 1, 0, buf, sizeof a[0].image, &len, 0),
      CAIRN_ENOENT); /* not durable: not readable either */
  assert_int_equal(atomic_load(&fdatasync_calls), syncs_before);
  /* Released: one group, one fdatasync, every append acknowledged. */
  segment_log_hold(log, 0);
  for (int i = 0; i < APPENDERS; i++) {
    pthread_join(threads[i], NULL);
    assert_int_equal(a[i].status, 0);
  }
  segment_log_stats(log, &groups, &images, &waiting);
  assert_int_equal(groups, 1);
  assert_int_equal(images, APPENDERS);
  assert_int_equal(waiting, 0);
  assert_int_equal(atomic_load(&fdatasync_calls), syncs_before + 1);
  /* Deletes are tombstones; a reopen rebuilds the index from the files. */
  assert_int_equal(segment_log_delete(log, a[3].id, 1), 0);
  assert_int_equal(segment_log_delete(log, a[3].id, 1), CAIRN_ENOENT);
  segment_log_close(log);
  assert_int_equal(segment_log_open(seg_dir, &log), 0);
  for (int i = 0; i < APPENDERS; i++) {
    int rc =
        segment_log_read(log, a[i].id, 1, 0, buf, sizeof a[0].image, &len, 0);
    if (i == 3) {
      assert_int_equal(rc, CAIRN_ENOENT);
      continue;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(len, sizeof a[i].image);
    assert_memory_equal(buf, a[i].image, len);
  }
  segment_log_close(log);
  /* A torn tail (a group cut by a crash, never acknowledged) is ignored. */
  char path[256];
  last_segment(seg_dir, path, sizeof path);
  int fd = open(path, O_WRONLY | O_APPEND);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, a[0].image, 100), 100);
  close(fd);
  assert_int_equal(segment_log_open(seg_dir, &log), 0);
  assert_int_equal(
      segment_log_read(log, a[7].id, 1, 0, buf, sizeof a[0].image, &len, 0), 0);
  /* Everything deleted: the old segments go away. */
  for (int i = 0; i < APPENDERS; i++)
    if (i != 3)
      assert_int_equal(segment_log_delete(log, a[i].id, 1), 0);
  segment_log_close(log);
  assert_int_equal(segment_log_open(seg_dir, &log), 0);
  assert_int_equal(
      segment_log_read(log, a[0].id, 1, 0, buf, sizeof a[0].image, &len, 0),
      CAIRN_ENOENT);
  segment_log_close(log);
  free(a);
}

/* A header rotted in the middle of a segment loses only its own image at
 * the next open: the scan finds the next header and goes on. */
static void test_segment_bad_header_mid_segment(void **state) {
  (void)state;
  char seg_dir[128];
  snprintf(seg_dir, sizeof seg_dir, "%s/seglog-rot", dir);
  struct segment_log *log;
  assert_int_equal(segment_log_open(seg_dir, &log), 0);
  struct appender a[3];
  for (int i = 0; i < 3; i++) {
    make_image(&a[i], 100 + i);
    assert_int_equal(
        segment_log_append(log, a[i].id, 1, a[i].image, sizeof a[i].image), 0);
  }
  struct segment_cursor cursor = {0, 0};
  struct segment_image listed[3];
  assert_int_equal(segment_log_list(log, &cursor, listed, 3), 3);
  assert_memory_equal(listed[1].id, a[1].id, 16);
  segment_log_close(log);
  char path[256];
  last_segment(seg_dir, path, sizeof path);
  flip_byte(path, (off_t)listed[1].offset + 20); /* image 1's length */
  assert_int_equal(segment_log_open(seg_dir, &log), 0);
  uint8_t buf[sizeof a[0].image];
  size_t len;
  for (int i = 0; i < 3; i++) {
    int rc = segment_log_read(log, a[i].id, 1, 0, buf, sizeof buf, &len, 0);
    assert_int_equal(rc, i == 1 ? CAIRN_ENOENT : 0);
    if (rc == 0)
      assert_memory_equal(buf, a[i].image, sizeof buf);
  }
  segment_log_close(log);
}

/* A fragment image of len data bytes of `fill`: header, then each block
 * followed by its CRC32C. Returns its length, chunk_stored_length(len). */
static size_t build_image(const uint8_t id[16], uint32_t frag, size_t len,
                          uint8_t fill, uint8_t *out) {
  struct chunk_header h = {.version = CHUNK_FORMAT_VERSION,
                           .fragment = frag,
                           .length = len,
                           .block_size = CHUNK_BLOCK_SIZE,
                           .checksum_type = CHUNK_CHECKSUM_CRC32C};
  memcpy(h.chunk_id, id, 16);
  chunk_header_encode(&h, out);
  uint8_t *at = out + CHUNK_HEADER_SIZE;
  for (size_t done = 0; done < len;) {
    size_t n = len - done < CHUNK_BLOCK_SIZE ? len - done : CHUNK_BLOCK_SIZE;
    memset(at, fill, n);
    uint32_t crc = crc32_iscsi(at, (int)n, 0);
    for (int b = 0; b < 4; b++)
      at[n + (size_t)b] = (uint8_t)(crc >> (24 - 8 * b));
    at += n + CHUNK_CRC_SIZE;
    done += n;
  }
  return (size_t)(at - out);
}

static int count_segments(const char *seg_dir) {
  DIR *d = opendir(seg_dir);
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    n += strstr(e->d_name, ".seg") != NULL;
  closedir(d);
  return n;
}

/* An active segment of more than 1 MiB whose images are all deleted is
 * closed by the next group and removed: its space comes back. */
/* Groups of small images are written buffered, larger ones with O_DIRECT
 * on a 4 KiB boundary (a hole, then zeros after them): a reopen's scan
 * steps over both gaps and finds every image, bytes intact. */
static void test_segment_buffered_and_direct_writes(void **state) {
  (void)state;
  char seg_dir[128];
  snprintf(seg_dir, sizeof seg_dir, "%s/seglog-mixed", dir);
  static const size_t lens[] = {500, 40000, 700, 50000, 300};
  enum { N = sizeof lens / sizeof lens[0] };
  static uint8_t images[N][CHUNK_HEADER_SIZE + 50000 + CHUNK_CRC_SIZE];
  size_t image_len[N];
  uint8_t ids[N][16];
  struct segment_log *log;
  assert_int_equal(segment_log_open(seg_dir, &log), 0);
  for (int i = 0; i < N; i++) {
    memset(ids[i], 0, 16);
    ids[i][0] = 0x6d;
    ids[i][1] = (uint8_t)i;
    image_len[i] = build_image(ids[i], 2, lens[i], (uint8_t)(i + 1), images[i]);
    assert_int_equal(
        segment_log_append(log, ids[i], 2, images[i], image_len[i]), 0);
  }
  segment_log_close(log);
  assert_int_equal(segment_log_open(seg_dir, &log), 0);
  static uint8_t back[sizeof images[0]];
  for (int i = 0; i < N; i++) {
    size_t len;
    assert_int_equal(
        segment_log_read(log, ids[i], 2, 0, back, image_len[i], &len, 0), 0);
    assert_int_equal(len, image_len[i]);
    assert_memory_equal(back, images[i], image_len[i]);
  }
  segment_log_close(log);
}

static off_t file_size(const char *path) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  return st.st_size;
}

/* Small groups are written into space zero-filled ahead (where O_DIRECT
 * works): later groups overwrite zeros instead of growing the file; a
 * reopen indexes every image and ends at the zero tail. */
static void test_segment_zero_filled_ahead(void **state) {
  (void)state;
  char seg_dir[128], path[256];
  snprintf(seg_dir, sizeof seg_dir, "%s/seglog-zeros", dir);
  enum { N = 4 };
  static uint8_t images[N][CHUNK_HEADER_SIZE + 5000 + CHUNK_CRC_SIZE];
  size_t image_len[N], total = 0;
  uint8_t ids[N][16];
  struct segment_log *log;
  assert_int_equal(segment_log_open(seg_dir, &log), 0);
  last_segment(seg_dir, path, sizeof path);
  int direct = open(path, O_WRONLY | O_DIRECT);
  off_t after_first = 0;
  for (int i = 0; i < N; i++) {
    memset(ids[i], 0, 16);
    ids[i][0] = 0x2e;
    ids[i][1] = (uint8_t)i;
    image_len[i] = build_image(ids[i], 0, 4096 + (size_t)i * 300,
                               (uint8_t)(i + 7), images[i]);
    total += image_len[i];
    assert_int_equal(
        segment_log_append(log, ids[i], 0, images[i], image_len[i]), 0);
    if (i == 0)
      after_first = file_size(path);
  }
  if (direct >= 0) { /* zero-filled: the file did not grow after group 1 */
    close(direct);
    assert_true(after_first >= (off_t)(256u << 10));
    assert_int_equal(file_size(path), after_first);
  }
  assert_true(file_size(path) >= (off_t)total);
  segment_log_close(log);
  assert_int_equal(segment_log_open(seg_dir, &log), 0);
  static uint8_t back[sizeof images[0]];
  for (int i = 0; i < N; i++) {
    size_t len;
    assert_int_equal(
        segment_log_read(log, ids[i], 0, 0, back, image_len[i], &len, 0), 0);
    assert_int_equal(len, image_len[i]);
    assert_memory_equal(back, images[i], image_len[i]);
  }
  /* The new active segment takes images as before. */
  assert_int_equal(segment_log_delete(log, ids[0], 0), 0);
  segment_log_close(log);
  assert_int_equal(segment_log_open(seg_dir, &log), 0);
  size_t len;
  assert_int_equal(
      segment_log_read(log, ids[0], 0, 0, back, image_len[0], &len, 0),
      CAIRN_ENOENT);
  assert_int_equal(
      segment_log_read(log, ids[3], 0, 0, back, image_len[3], &len, 0), 0);
  assert_memory_equal(back, images[3], image_len[3]);
  segment_log_close(log);
}

static void test_segment_dead_active_reclaimed(void **state) {
  (void)state;
  char seg_dir[128];
  snprintf(seg_dir, sizeof seg_dir, "%s/seglog-dead", dir);
  struct segment_log *log;
  assert_int_equal(segment_log_open(seg_dir, &log), 0);
  uint8_t *image = malloc(CHUNK_HEADER_SIZE + CHUNK_BLOCK_SIZE + 4);
  uint8_t id[16] = {0x60};
  for (int i = 0; i < 17; i++) { /* 17 x 64 KiB: past 1 MiB */
    id[1] = (uint8_t)i;
    size_t len = build_image(id, 0, CHUNK_BLOCK_SIZE, (uint8_t)i, image);
    assert_int_equal(segment_log_append(log, id, 0, image, len), 0);
  }
  assert_int_equal(count_segments(seg_dir), 1);
  for (int i = 0; i < 17; i++) {
    id[1] = (uint8_t)i;
    assert_int_equal(segment_log_delete(log, id, 0), 0);
  }
  id[1] = 99;
  size_t len = build_image(id, 0, 100, 7, image);
  assert_int_equal(segment_log_append(log, id, 0, image, len), 0);
  assert_int_equal(count_segments(seg_dir), 1); /* a new one; the old went */
  segment_log_close(log);
  assert_int_equal(segment_log_open(seg_dir, &log), 0);
  uint8_t back[CHUNK_HEADER_SIZE + 104];
  size_t image_len;
  assert_int_equal(segment_log_read(log, id, 0, 0, back, len, &image_len, 0),
                   0);
  assert_memory_equal(back, image, len);
  id[1] = 3;
  assert_int_equal(segment_log_read(log, id, 0, 0, back, 10, &image_len, 0),
                   CAIRN_ENOENT);
  segment_log_close(log);
  free(image);
}

static atomic_int async_calls, async_status;
static void on_async(int status, void *arg) {
  (void)arg;
  atomic_store(&async_status, status);
  atomic_fetch_add(&async_calls, 1);
}

/* Async appends (the node's loop commits segment puts this way): the
 * callback runs once, only after the group's sync; flush waits for it; a
 * commit_async through the store makes the fragment readable. */
static void test_segment_async(void **state) {
  (void)state;
  char seg_dir[128];
  snprintf(seg_dir, sizeof seg_dir, "%s/seglog-async", dir);
  struct segment_log *log;
  assert_int_equal(segment_log_open(seg_dir, &log), 0);
  struct appender a;
  memset(&a, 0, sizeof a);
  make_image(&a, 42);
  segment_log_hold(log, 1);
  int syncs = atomic_load(&fdatasync_calls);
  atomic_store(&async_calls, 0);
  uint8_t *image = segment_log_image_alloc(log, sizeof a.image);
  assert_non_null(image);
  memcpy(image, a.image, sizeof a.image);
  assert_int_equal(segment_log_append_async(log, a.id, 1, image, sizeof a.image,
                                            on_async, NULL),
                   0);
  usleep(20000);
  assert_int_equal(atomic_load(&async_calls), 0); /* held: not durable yet */
  assert_int_equal(atomic_load(&fdatasync_calls), syncs);
  segment_log_flush(log); /* releases the hold, waits for the callback */
  assert_int_equal(atomic_load(&async_calls), 1);
  assert_int_equal(atomic_load(&async_status), 0);
  assert_int_equal(atomic_load(&fdatasync_calls), syncs + 1);
  uint8_t buf[sizeof a.image];
  size_t len;
  assert_int_equal(segment_log_read(log, a.id, 1, 0, buf, sizeof buf, &len, 0),
                   0);
  assert_memory_equal(buf, a.image, sizeof buf);
  segment_log_image_free(log, image, sizeof a.image);
  segment_log_close(log);
  /* Through the chunk store; a wrong CRC fails at once, no callback. */
  struct chunk_store *s = open_store();
  uint8_t id[16] = {0xa5, 0x1c};
  uint8_t *data = random_bytes(3000);
  struct chunk_writer *w;
  assert_int_equal(chunk_writer_open(s, id, 0, 3000, &w), 0);
  assert_int_equal(chunk_writer_append(w, data, 3000), 0);
  assert_int_equal(chunk_writer_commit_async(w, 1234, on_async, NULL),
                   CAIRN_ECORRUPT);
  assert_int_equal(chunk_writer_open(s, id, 0, 3000, &w), 0);
  assert_int_equal(chunk_writer_append(w, data, 3000), 0);
  assert_int_equal(
      chunk_writer_commit_async(w, crc32_iscsi(data, 3000, 0), on_async, NULL),
      0);
  chunk_store_flush(s);
  assert_int_equal(atomic_load(&async_calls), 2);
  assert_int_equal(atomic_load(&async_status), 0);
  uint8_t back[3000];
  assert_int_equal(chunk_read(s, id, 0, 0, 3000, back), 0);
  assert_memory_equal(back, data, 3000);
  free(data);
  chunk_store_close(s);
}

/* Async images of 64 KiB and more go to disk from their own buffers
 * (segment_log_image_alloc), between runs of copied small ones, each
 * padded to a 4 KiB boundary: they land aligned (where the file system
 * takes O_DIRECT), read back intact, and a reopen's scan finds them all. */
static void test_segment_async_in_place(void **state) {
  (void)state;
  char seg_dir[128];
  snprintf(seg_dir, sizeof seg_dir, "%s/seglog-in-place", dir);
  static const size_t lens[] = {500,   200000, 3000,  CHUNK_SEGMENT_MAX,
                                70000, 700,    65536, 1};
  enum { N = sizeof lens / sizeof lens[0] };
  uint8_t *images[N], *copies[N], ids[N][16];
  size_t image_len[N];
  struct segment_log *log;
  assert_int_equal(segment_log_open(seg_dir, &log), 0);
  segment_log_hold(log, 1); /* one group */
  atomic_store(&async_calls, 0);
  for (int i = 0; i < N; i++) {
    memset(ids[i], 0, 16);
    ids[i][0] = 0x1b;
    ids[i][1] = (uint8_t)i;
    size_t len = (size_t)chunk_stored_length(lens[i]);
    uint8_t *image = images[i] = segment_log_image_alloc(log, len);
    assert_non_null(image);
    image_len[i] = build_image(ids[i], 3, lens[i], (uint8_t)(i + 7), image);
    assert_int_equal(image_len[i], len);
    copies[i] = malloc(len);
    memcpy(copies[i], image, len);
    assert_int_equal(
        segment_log_append_async(log, ids[i], 3, image, len, on_async, NULL),
        0);
  }
  segment_log_flush(log);
  assert_int_equal(atomic_load(&async_calls), N);
  assert_int_equal(atomic_load(&async_status), 0);
  for (int i = 0; i < N; i++) /* done: the buffers are ours again */
    segment_log_image_free(log, images[i], image_len[i]);
  struct segment_cursor cursor = {0, 0};
  struct segment_image listed[N];
  assert_int_equal(segment_log_list(log, &cursor, listed, N), N);
  for (int i = 0; direct_io_here(seg_dir) && i < N; i++) /* aligned */
    if (listed[i].len >= (64u << 10))
      assert_int_equal(listed[i].offset % 4096, 0);
  for (int pass = 0; pass < 2; pass++) {
    static uint8_t
        back[CHUNK_HEADER_SIZE + CHUNK_SEGMENT_MAX + CHUNK_CRC_SIZE * 32];
    for (int i = 0; i < N; i++) {
      size_t len;
      assert_int_equal(
          segment_log_read(log, ids[i], 3, 0, back, image_len[i], &len, 0), 0);
      assert_int_equal(len, image_len[i]);
      assert_memory_equal(back, copies[i], image_len[i]);
    }
    segment_log_close(log); /* then the scan of a reopen */
    assert_int_equal(segment_log_open(seg_dir, &log), 0);
  }
  segment_log_close(log);
  for (int i = 0; i < N; i++)
    free(copies[i]);
}

/* Small fragments through the chunk store: ranges, stat, delete, a
 * flipped byte in the segment is ECORRUPT, a failed sync is no success. */
static void test_small_fragments(void **state) {
  (void)state;
  struct chunk_store *s = open_store();
  uint8_t id[16] = {0x5a, 0x11, 9};
  size_t n = 4112; /* a sealed 4 KiB object */
  uint8_t *data = random_bytes(CHUNK_BLOCK_SIZE), *back = malloc(n);
  put(s, id, 0, data, n, 1000);
  uint64_t len;
  assert_int_equal(chunk_stat(s, id, 0, &len), 0);
  assert_int_equal(len, n);
  assert_int_equal(chunk_read(s, id, 0, 10, 100, back), 0);
  assert_memory_equal(back, data + 10, 100);
  assert_int_equal(chunk_read(s, id, 0, n - 1, 2, back), CAIRN_ERANGE);
  char hex[33], path[256];
  crypto_hex(id, 16, hex);
  snprintf(path, sizeof path, "%s/chunks/%.2s/%.2s/%s.0", dir, hex, hex + 2,
           hex);
  assert_int_equal(access(path, F_OK), -1); /* no file of its own */
  /* A whole block is still small; one byte more is a file. */
  put(s, id, 1, data, CHUNK_BLOCK_SIZE, CHUNK_BLOCK_SIZE);
  uint8_t *whole = malloc(CHUNK_BLOCK_SIZE);
  assert_int_equal(chunk_read(s, id, 1, 0, CHUNK_BLOCK_SIZE, whole), 0);
  assert_memory_equal(whole, data, CHUNK_BLOCK_SIZE);
  free(whole);
  char seg_dir[128];
  /* One read gives length and bytes; the loop's variant never blocks. */
  uint64_t frag_len = 0;
  assert_int_equal(chunk_read_small(s, id, 1, 5, 100, back, &frag_len, 0), 0);
  assert_int_equal(frag_len, CHUNK_BLOCK_SIZE);
  assert_memory_equal(back, data + 5, 100);
  int nowait = chunk_read_small(s, id, 1, 5, 100, back, &frag_len, 1);
  assert_true(nowait == 0 || nowait == CAIRN_EBUSY); /* EBUSY: not cached */
  if (nowait == 0)
    assert_memory_equal(back, data + 5, 100);
  assert_int_equal(chunk_read_small(s, id, 9, 0, 1, back, &frag_len, 1),
                   CAIRN_ENOENT);
  /* Several blocks in a segment: ranges across blocks, one read each. */
  uint8_t id3[16] = {0x5a, 0x33};
  size_t big = 5 * CHUNK_BLOCK_SIZE + 1234;
  uint8_t *many = random_bytes(big), *got = malloc(big);
  put(s, id3, 2, many, big, 70001);
  assert_int_equal(chunk_stat(s, id3, 2, &len), 0);
  assert_int_equal(len, big);
  assert_int_equal(chunk_read(s, id3, 2, 0, big, got), 0);
  assert_memory_equal(got, many, big);
  assert_int_equal(chunk_read(s, id3, 2, 65530, 70000, got), 0);
  assert_memory_equal(got, many + 65530, 70000);
  assert_int_equal(chunk_read(s, id3, 2, big - 3, 3, got), 0);
  assert_memory_equal(got, many + big - 3, 3);
  assert_int_equal(chunk_read(s, id3, 2, big, 1, got), CAIRN_ERANGE);
  /* A flipped byte in block 2 fails the reads that touch block 2 only. */
  snprintf(seg_dir, sizeof seg_dir, "%s/segments", dir);
  last_segment(seg_dir, path, sizeof path);
  struct stat seg_st;
  assert_int_equal(stat(path, &seg_st), 0);
  off_t image_at = seg_st.st_size - (off_t)(CHUNK_HEADER_SIZE + big + 6 * 4);
  flip_byte(path,
            image_at + CHUNK_HEADER_SIZE + 2 * (CHUNK_BLOCK_SIZE + 4) + 9);
  assert_int_equal(chunk_read(s, id3, 2, 0, 100, got), 0);
  assert_int_equal(chunk_read(s, id3, 2, 2 * CHUNK_BLOCK_SIZE + 5, 10, got),
                   CAIRN_ECORRUPT);
  assert_int_equal(chunk_read(s, id3, 2, 3 * CHUNK_BLOCK_SIZE, 10, got), 0);
  free(many);
  free(got);
  /* Flip a data byte of fragment 0 inside the segment file. */
  last_segment(seg_dir, path, sizeof path);
  flip_byte(path, CHUNK_HEADER_SIZE + 50); /* the segment's first image */
  assert_int_equal(chunk_read(s, id, 0, 0, 10, back), CAIRN_ECORRUPT);
  assert_int_equal(chunk_delete(s, id, 0), 0);
  assert_int_equal(chunk_stat(s, id, 0, &len), CAIRN_ENOENT);
  /* A failed fdatasync: the commit fails and nothing is readable. */
  atomic_store(&fail_fdatasync, 1);
  struct chunk_writer *w;
  uint8_t id2[16] = {0x5a, 0x22};
  assert_int_equal(chunk_writer_open(s, id2, 0, 100, &w), 0);
  assert_int_equal(chunk_writer_append(w, data, 100), 0);
  assert_int_not_equal(chunk_writer_commit(w, crc32_iscsi(data, 100, 0)), 0);
  atomic_store(&fail_fdatasync, 0);
  assert_int_equal(chunk_stat(s, id2, 0, &len), CAIRN_ENOENT);
  put(s, id2, 0, data, 100, 100); /* the next group starts a new segment */
  chunk_store_close(s);
  s = open_store();
  assert_int_equal(chunk_read(s, id2, 0, 0, 100, back), 0);
  assert_memory_equal(back, data, 100);
  assert_int_equal(chunk_read(s, id, 1, 0, 100, back), 0);
  assert_memory_equal(back, data, 100);
  assert_int_equal(chunk_stat(s, id, 0, &len), CAIRN_ENOENT);
  free(data);
  free(back);
  chunk_store_close(s);
}

/* The live images of a store's segment log whose chunk id starts with
 * `tag` (the dir is shared by the tests), in log order. */
static size_t list_images(struct chunk_store *s, uint8_t tag,
                          struct segment_image *out, size_t cap) {
  struct segment_cursor cursor = {0, 0};
  struct segment_image batch[3]; /* small: the cursor is exercised */
  size_t n = 0, got;
  while ((got = segment_log_list(chunk_store_segments(s), &cursor, batch, 3)) >
         0)
    for (size_t i = 0; i < got; i++)
      if (batch[i].id[0] == tag && n < cap)
        out[n++] = batch[i];
  return n;
}

static void image_path(const char *data_dir, const struct segment_image *img,
                       char *path, size_t len) {
  snprintf(path, len, "%s/segments/%016llx.seg", data_dir,
           (unsigned long long)img->segment);
}

/* The bytes iov[0..n) point at, gathered (what a writev would send). */
static size_t gather(const struct iovec *iov, size_t n, uint8_t *out) {
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    memcpy(out + len, iov[i].iov_base, iov[i].iov_len);
    len += iov[i].iov_len;
  }
  return len;
}

/* chunk_read_small_iov: one span read, CRCs checked in place, the iovecs
 * give exactly the range's bytes (no CRC among them) for ranges on and
 * off block boundaries of the largest small fragment; a too small span,
 * a range beyond the end, a file and a flipped byte are refused with no
 * iovec handed out. */
static void test_small_span_iov(void **state) {
  (void)state;
  struct chunk_store *s = open_store();
  uint8_t id[16] = {0x5a, 0x77};
  size_t n = CHUNK_SEGMENT_MAX; /* 17 blocks, the last one whole */
  uint8_t *data = random_bytes(n), *got = malloc(n);
  size_t span_max = chunk_span_bytes(1, n - 1);
  uint8_t *span = malloc(span_max);
  struct iovec iov[CHUNK_SPAN_IOV_MAX];
  size_t count;
  uint64_t frag_len = 0;
  assert_int_equal(chunk_span_bytes(0, 0), 0);
  assert_int_equal(chunk_span_bytes(0, 1), CHUNK_BLOCK_SIZE + 4);
  assert_int_equal(chunk_span_bytes(CHUNK_BLOCK_SIZE - 1, 2),
                   2 * (CHUNK_BLOCK_SIZE + 4));
  assert_int_equal(span_max, 17 * (CHUNK_BLOCK_SIZE + 4));
  /* A range no fragment holds (offset + len would wrap): no span. */
  assert_int_equal(chunk_span_bytes(UINT64_MAX - 5, 100), 0);
  assert_int_equal(chunk_span_bytes(CHUNK_MAX_FRAGMENT + 1, 1), 0);
  put(s, id, 0, data, n, 100000);
  struct {
    uint64_t offset;
    size_t len, blocks;
  } ranges[] = {{0, n, 17},
                {1, n - 1, 17},
                {0, CHUNK_BLOCK_SIZE, 1},
                {CHUNK_BLOCK_SIZE - 3, 6, 2},
                {5 * CHUNK_BLOCK_SIZE + 7, 3 * CHUNK_BLOCK_SIZE, 4},
                {n - 1, 1, 1}};
  for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
    memset(got, 0, n);
    assert_int_equal(chunk_read_small_iov(s, id, 0, ranges[i].offset,
                                          ranges[i].len, 1, span, span_max, iov,
                                          &count, &frag_len, 0),
                     0);
    assert_int_equal(frag_len, n);
    assert_int_equal(count, ranges[i].blocks);
    for (size_t b = 0; b < count; b++) /* every slice inside the span */
      assert_true((uint8_t *)iov[b].iov_base >= span &&
                  (uint8_t *)iov[b].iov_base + iov[b].iov_len <=
                      span + span_max);
    assert_int_equal(gather(iov, count, got), ranges[i].len);
    assert_memory_equal(got, data + ranges[i].offset, ranges[i].len);
  }
  /* The span must hold the blocks with their CRCs. */
  assert_int_equal(chunk_read_small_iov(s, id, 0, 0, n, 1, span, span_max - 1,
                                        iov, &count, NULL, 0),
                   CAIRN_EINVAL);
  assert_int_equal(count, 0);
  assert_int_equal(chunk_read_small_iov(s, id, 0, n - 1, 2, 1, span, span_max,
                                        iov, &count, NULL, 0),
                   CAIRN_ERANGE);
  assert_int_equal(chunk_read_small_iov(s, id, 0, UINT64_MAX - 5, 100, 1, span,
                                        span_max, iov, &count, NULL, 0),
                   CAIRN_ERANGE);
  /* An empty range: the length, no iovec. */
  assert_int_equal(chunk_read_small_iov(s, id, 0, n, 0, 1, span, 0, iov, &count,
                                        &frag_len, 0),
                   0);
  assert_int_equal(count, 0);
  /* A file (one byte over the segment limit) is not a small fragment. */
  uint8_t id_file[16] = {0x5a, 0x78};
  uint8_t *more = random_bytes(n + 1);
  put(s, id_file, 0, more, n + 1, 100000);
  assert_int_equal(chunk_read_small_iov(s, id_file, 0, 0, 100, 1, span,
                                        span_max, iov, &count, NULL, 0),
                   CAIRN_ENOENT);
  assert_int_equal(chunk_read(s, id_file, 0, 0, n + 1, more), 0);
  /* A flipped byte in block 16: the whole range fails, block 15 not. */
  char path[256];
  struct segment_image img[4];
  size_t listed = list_images(s, 0x5a, img, 4);
  size_t at = listed;
  for (size_t i = 0; i < listed; i++)
    if (memcmp(img[i].id, id, 16) == 0)
      at = i;
  assert_true(at < listed);
  image_path(dir, &img[at], path, sizeof path);
  flip_byte(path, (off_t)img[at].offset + CHUNK_HEADER_SIZE +
                      16 * (CHUNK_BLOCK_SIZE + 4) + 77);
  assert_int_equal(chunk_read_small_iov(s, id, 0, 0, n, 1, span, span_max, iov,
                                        &count, NULL, 0),
                   CAIRN_ECORRUPT);
  assert_int_equal(count, 0);
  assert_int_equal(chunk_read_small_iov(s, id, 0, 0, n, 0, span, span_max, iov,
                                        &count, NULL, 0),
                   0); /* unverified: as stored */
  assert_int_equal(gather(iov, count, got), n);
  assert_int_equal(got[16 * CHUNK_BLOCK_SIZE + 77],
                   (uint8_t)(data[16 * CHUNK_BLOCK_SIZE + 77] ^ 0x40));
  assert_int_equal(chunk_read_small_iov(s, id, 0, 15 * CHUNK_BLOCK_SIZE, 10, 1,
                                        span, span_max, iov, &count, NULL, 0),
                   0);
  assert_int_equal(gather(iov, count, got), 10);
  assert_memory_equal(got, data + 15 * CHUNK_BLOCK_SIZE, 10);
  assert_int_equal(chunk_read(s, id, 0, n - 1, 1, got), CAIRN_ECORRUPT);
  assert_int_equal(chunk_delete(s, id, 0), 0);
  assert_int_equal(chunk_delete(s, id_file, 0), 0);
  free(more);
  free(span);
  free(data);
  free(got);
  chunk_store_close(s);
}

/* chunk_file_*: a file opened once, pieces read as spans (one pread, CRCs
 * checked in place, iovecs free of CRCs), in any order, the last block
 * short; a segment image is ENOENT to it; a flipped byte or a truncated
 * file fails the pieces that touch it only. */
static void test_file_span_iov(void **state) {
  (void)state;
  struct chunk_store *s = open_store();
  uint8_t id[16] = {0x5a, 0x79};
  size_t n = 3 * CHUNK_SEGMENT_MAX + 12345; /* a file; the last block short */
  uint8_t *data = random_bytes(n), *got = malloc(n);
  size_t cap = chunk_span_bytes(1, CHUNK_SEGMENT_MAX);
  uint8_t *span = malloc(cap);
  struct iovec iov[CHUNK_SPAN_IOV_MAX];
  size_t count;
  uint64_t len = 0;
  put(s, id, 0, data, n, 300000);
  struct chunk_file *f;
  assert_int_equal(chunk_file_open(s, id, 0, &f, &len), 0);
  assert_int_equal(len, n);
  struct {
    uint64_t offset;
    size_t len, blocks;
  } pieces[] = {{n - 12345, 12345, 1},
                {0, 4 * CHUNK_BLOCK_SIZE, 4},
                {7, CHUNK_SEGMENT_MAX, 18},
                {CHUNK_BLOCK_SIZE - 1, 2, 2},
                {n - 3, 3, 1},
                {n, 0, 0}};
  for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++) {
    assert_int_equal(chunk_file_read_iov(f, pieces[i].offset, pieces[i].len, 1,
                                         span, cap, iov, &count),
                     0);
    assert_int_equal(count, pieces[i].blocks);
    assert_int_equal(gather(iov, count, got), pieces[i].len);
    assert_memory_equal(got, data + pieces[i].offset, pieces[i].len);
  }
  assert_int_equal(chunk_file_read_iov(f, n - 1, 2, 1, span, cap, iov, &count),
                   CAIRN_ERANGE);
  assert_int_equal(
      chunk_file_read_iov(f, UINT64_MAX - 5, 100, 1, span, cap, iov, &count),
      CAIRN_ERANGE);
  assert_int_equal(chunk_file_read_iov(f, 0, 10, 1, span, 100, iov, &count),
                   CAIRN_EINVAL);
  assert_int_equal(chunk_file_read_iov(f, 0, CHUNK_SEGMENT_MAX + 1, 1, span,
                                       cap, iov, &count),
                   CAIRN_EINVAL);
  /* Block 5 flipped, on the open file: only pieces over it fail. */
  char path[256];
  file_of(id, 0, path, sizeof path);
  flip_byte(path, CHUNK_HEADER_SIZE + 5 * (CHUNK_BLOCK_SIZE + 4) + 1);
  assert_int_equal(chunk_file_read_iov(f, 4 * CHUNK_BLOCK_SIZE,
                                       2 * CHUNK_BLOCK_SIZE, 1, span, cap, iov,
                                       &count),
                   CAIRN_ECORRUPT);
  assert_int_equal(count, 0);
  assert_int_equal(chunk_file_read_iov(f, 4 * CHUNK_BLOCK_SIZE,
                                       CHUNK_BLOCK_SIZE, 1, span, cap, iov,
                                       &count),
                   0);
  /* Unverified (a reader that authenticates the bytes): the flipped block
   * goes out as stored, flipped byte and all. */
  assert_int_equal(chunk_file_read_iov(f, 5 * CHUNK_BLOCK_SIZE,
                                       CHUNK_BLOCK_SIZE, 0, span, cap, iov,
                                       &count),
                   0);
  assert_int_equal(gather(iov, count, got), CHUNK_BLOCK_SIZE);
  assert_int_equal(got[1], (uint8_t)(data[5 * CHUNK_BLOCK_SIZE + 1] ^ 0x40));
  assert_memory_equal(got + 2, data + 5 * CHUNK_BLOCK_SIZE + 2,
                      CHUNK_BLOCK_SIZE - 2);
  /* Truncated under the open file: the missing blocks are corrupt. */
  assert_int_equal(truncate(path, 8 * (CHUNK_BLOCK_SIZE + 4)), 0);
  assert_int_equal(chunk_file_read_iov(f, 9 * CHUNK_BLOCK_SIZE, 100, 1, span,
                                       cap, iov, &count),
                   CAIRN_ECORRUPT);
  chunk_file_close(f);
  chunk_file_close(NULL);
  /* A segment image has no file; a missing fragment neither. */
  uint8_t id_small[16] = {0x5a, 0x7a};
  put(s, id_small, 0, data, 1000, 1000);
  assert_int_equal(chunk_file_open(s, id_small, 0, &f, &len), CAIRN_ENOENT);
  assert_int_equal(chunk_file_open(s, id, 9, &f, &len), CAIRN_ENOENT);
  assert_int_equal(chunk_delete(s, id, 0), 0);
  assert_int_equal(chunk_delete(s, id_small, 0), 0);
  free(span);
  free(data);
  free(got);
  chunk_store_close(s);
}

/* Waits (bounded) until the scrubber has queued `want` reports. */
static size_t wait_reports(struct scrubber *scrub, struct scrub_report *out,
                           size_t want) {
  size_t n = 0;
  for (int i = 0; i < 3000 && n < want; i++) {
    n += scrubber_take_reports(scrub, out + n, SCRUB_REPORTS_MAX - n);
    if (n < want)
      usleep(10000);
  }
  return n;
}

/* The scrubber walks segment images as it walks files: a flipped data
 * byte, then a flipped header byte, each gets its fragment reported (and
 * no other); a deleted image is not walked; the bad block is no longer
 * served. */
static void test_scrub_segment_images(void **state) {
  (void)state;
  /* Dirs of its own: earlier tests left corrupt fragments behind. */
  char d1[128], d2[160];
  snprintf(d1, sizeof d1, "%s/scrub", dir);
  snprintf(d2, sizeof d2, "%s/scrub/disk2", dir);
  assert_int_equal(mkdir(d1, 0700), 0);
  assert_int_equal(mkdir(d2, 0700), 0);
  char *dirs[] = {d1, d2};
  struct chunk_store *s;
  assert_int_equal(chunk_store_open(dirs, 2, &s), 0);
  uint8_t a[16] = {0x5c, 1}, b[16] = {0x5c, 2}, gone[16] = {0x5c, 3};
  uint8_t big_id[16] = {0x5c, 4};
  size_t big = CHUNK_SEGMENT_MAX + 1; /* a file */
  uint8_t *data = random_bytes(big), *back = malloc(big);
  put(s, a, 0, data, 4112, 4112);
  put(s, b, 1, data, 3 * CHUNK_BLOCK_SIZE + 7, 50000);
  put(s, gone, 0, data, 100, 100);
  put(s, big_id, 0, data, big, 1 << 20);
  assert_int_equal(chunk_delete(s, gone, 0), 0);
  struct segment_image imgs[8];
  assert_int_equal(list_images(s, 0x5c, imgs, 8), 2);
  assert_memory_equal(imgs[0].id, a, 16);
  assert_memory_equal(imgs[1].id, b, 16);
  assert_int_equal(imgs[1].fragment, 1);
  assert_true(imgs[1].segment > imgs[0].segment ||
              imgs[1].offset > imgs[0].offset);
  char path[256];
  image_path(d1, &imgs[1], path, sizeof path);
  flip_byte(path, (off_t)imgs[1].offset + CHUNK_HEADER_SIZE + CHUNK_BLOCK_SIZE +
                      CHUNK_CRC_SIZE + 77); /* block 1 */
  assert_int_equal(chunk_read(s, b, 1, CHUNK_BLOCK_SIZE, 10, back),
                   CAIRN_ECORRUPT);
  assert_int_equal(chunk_read(s, b, 1, 0, 10, back), 0);

  struct scrubber_config cfg = {.dirs = dirs,
                                .n = 2,
                                .bytes_per_sec = 256u << 20,
                                .interval_ms = 20,
                                .segments = chunk_store_segments(s),
                                .segment_dir = 0};
  struct scrubber *scrub;
  assert_int_equal(scrubber_start(&cfg, &scrub), 0);
  struct scrub_report reports[SCRUB_REPORTS_MAX];
  assert_int_equal(wait_reports(scrub, reports, 1), 1);
  assert_memory_equal(reports[0].chunk_id, b, 16);
  assert_int_equal(reports[0].fragment, 1);
  struct scrub_stats st;
  scrubber_get_stats(scrub, &st);
  assert_true(st.files >= 3); /* two images and the file */
  assert_true(st.corrupt >= 1);
  /* A header byte of the other image: that one is reported next. */
  image_path(d1, &imgs[0], path, sizeof path);
  flip_byte(path, (off_t)imgs[0].offset + 20);
  assert_int_equal(chunk_read(s, a, 0, 0, 10, back), CAIRN_ECORRUPT);
  int found_a = 0;
  for (int pass = 0; pass < 50 && !found_a; pass++) {
    size_t n = wait_reports(scrub, reports, 1);
    for (size_t i = 0; i < n; i++) {
      if (memcmp(reports[i].chunk_id, a, 16) == 0)
        found_a = 1;
      else
        assert_memory_equal(reports[i].chunk_id, b, 16); /* again */
    }
  }
  assert_true(found_a);
  scrubber_stop(scrub);
  free(data);
  free(back);
  chunk_store_close(s);
}

/* segment_log_list goes on where it stopped although the image it listed
 * last, and the next one, were deleted in between; a rewritten image is
 * listed at its new place. */
static void test_segment_list_cursor(void **state) {
  (void)state;
  struct chunk_store *s = open_store();
  struct segment_log *l = chunk_store_segments(s);
  uint8_t *data = random_bytes(300);
  uint8_t ids[10][16];
  for (int i = 0; i < 10; i++) {
    memset(ids[i], 0, 16);
    ids[i][0] = 0x5f;
    ids[i][1] = (uint8_t)i;
    put(s, ids[i], 0, data, 300, 300);
  }
  struct segment_cursor cursor = {0, 0};
  struct segment_image got[16];
  size_t n = 0, k;
  /* Skip what earlier tests left, up to the first of ours. */
  while ((k = segment_log_list(l, &cursor, got, 1)) > 0 && got[0].id[0] != 0x5f)
    ;
  assert_int_equal(k, 1);
  assert_memory_equal(got[0].id, ids[0], 16);
  n = 1;
  k = segment_log_list(l, &cursor, got + n, 2); /* ids 1 and 2 */
  assert_int_equal(k, 2);
  n += k;
  assert_int_equal(chunk_delete(s, ids[2], 0), 0); /* the hint */
  assert_int_equal(chunk_delete(s, ids[3], 0), 0);
  put(s, ids[4], 0, data, 300, 300); /* moves to the log's end */
  while ((k = segment_log_list(l, &cursor, got + n, 2)) > 0)
    n += k;
  assert_int_equal(n, 9); /* 0, 1, 2 (listed before), 5..9, then 4 */
  assert_memory_equal(got[3].id, ids[5], 16);
  assert_memory_equal(got[7].id, ids[9], 16);
  assert_memory_equal(got[8].id, ids[4], 16);
  free(data);
  chunk_store_close(s);
}

/* dir 0 out of service (EIO): small fragments go to files in dir 2, a
 * rewrite of one held in a segment drops the image (reads and a reopen
 * see the new bytes only); a dir whose byte budget runs out refuses the
 * image (ENOSPC, nothing readable) and leaves service. */
static void test_segment_dir_service(void **state) {
  (void)state;
  char *dirs[] = {dir, dir2};
  struct node_disks *disks;
  assert_int_equal(node_disks_new(dirs, 2, 0, &disks), 0);
  struct chunk_store *s = open_store();
  chunk_store_set_disks(s, disks);
  uint8_t id[16] = {0x5d, 1};
  uint8_t *old = random_bytes(5000), *fresh = random_bytes(5000);
  uint8_t *back = malloc(5000);
  put(s, id, 0, old, 5000, 5000);
  struct segment_image imgs[4];
  assert_int_equal(list_images(s, 0x5d, imgs, 4), 1);
  struct chunk_writer *w;
  assert_int_equal(chunk_writer_open_segment(s, id, 1, 100, &w), 0);
  chunk_writer_abort(w);
  node_disks_fail(disks, 0, CAIRN_EIO);
  assert_int_equal(chunk_writer_open_segment(s, id, 1, 100, &w), CAIRN_EBUSY);
  put(s, id, 0, fresh, 5000, 1000); /* a file, in dir 2 */
  char path[256];
  file_of(id, 0, path, sizeof path);
  assert_non_null(strstr(path, "/disk2/"));
  assert_int_equal(list_images(s, 0x5d, imgs, 4), 0); /* the older image went */
  /* ... durably before the put returned: its tombstone ends the segment. */
  char seg_dir[128], seg[256];
  snprintf(seg_dir, sizeof seg_dir, "%s/segments", dir);
  last_segment(seg_dir, seg, sizeof seg);
  struct stat seg_st;
  assert_int_equal(stat(seg, &seg_st), 0);
  uint8_t raw[CHUNK_HEADER_SIZE];
  int fd = open(seg, O_RDONLY);
  assert_true(fd >= 0);
  /* The last header in the file (zeros pad each aligned write). */
  off_t at = -1;
  for (off_t o = 0; o + CHUNK_HEADER_SIZE <= seg_st.st_size; o++) {
    uint8_t magic[8];
    assert_int_equal(pread(fd, magic, 8, o), 8);
    if (memcmp(magic, CHUNK_MAGIC, 8) == 0)
      at = o;
  }
  assert_true(at >= 0);
  assert_int_equal(pread(fd, raw, sizeof raw, at), CHUNK_HEADER_SIZE);
  close(fd);
  struct chunk_header th;
  assert_int_equal(chunk_header_decode(raw, &th), 0);
  assert_true(raw[SEGMENT_TOMBSTONE_FLAG_OFFSET] & 1);
  assert_memory_equal(th.chunk_id, id, 16);
  assert_int_equal(chunk_read(s, id, 0, 0, 5000, back), 0);
  assert_memory_equal(back, fresh, 5000);
  chunk_store_close(s);
  node_disks_free(disks);
  s = open_store(); /* the tombstone was synced at close */
  assert_int_equal(list_images(s, 0x5d, imgs, 4), 0);
  assert_int_equal(chunk_read(s, id, 0, 0, 5000, back), 0);
  assert_memory_equal(back, fresh, 5000);
  /* Back in a segment: the file copy goes, one copy is left. */
  put(s, id, 0, old, 5000, 5000);
  assert_int_equal(list_images(s, 0x5d, imgs, 4), 1);
  assert_int_equal(access(path, F_OK), -1);
  assert_int_equal(chunk_read(s, id, 0, 0, 5000, back), 0);
  assert_memory_equal(back, old, 5000);
  assert_int_equal(chunk_delete(s, id, 0), 0);
  assert_int_equal(chunk_delete(s, id, 0), CAIRN_ENOENT);
  chunk_store_close(s);

  /* A byte budget of 1000 per dir: the image does not fit. */
  assert_int_equal(node_disks_new(dirs, 2, 1000, &disks), 0);
  s = open_store();
  chunk_store_set_disks(s, disks);
  uint8_t id2[16] = {0x5d, 2};
  assert_int_equal(chunk_writer_open(s, id2, 0, 4112, &w), 0);
  assert_int_equal(chunk_writer_append(w, fresh, 4112), 0);
  assert_int_equal(chunk_writer_commit(w, crc32_iscsi(fresh, 4112, 0)),
                   CAIRN_ENOSPC);
  uint64_t len;
  assert_int_equal(chunk_stat(s, id2, 0, &len), CAIRN_ENOENT);
  assert_int_equal(node_disks_writable(disks, 0), 0);
  assert_int_equal(chunk_writer_open_segment(s, id2, 0, 4112, &w), CAIRN_EBUSY);
  chunk_store_close(s);
  node_disks_free(disks);
  free(old);
  free(fresh);
  free(back);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_put_get_range_delete),
      cmocka_unit_test(test_header_round_trip),
      cmocka_unit_test(test_flipped_byte_is_corrupt),
      cmocka_unit_test(test_commit_checks),
      cmocka_unit_test(test_io_threads),
      cmocka_unit_test(test_segment_group_commit),
      cmocka_unit_test(test_small_fragments),
      cmocka_unit_test(test_segment_async),
      cmocka_unit_test(test_segment_bad_header_mid_segment),
      cmocka_unit_test(test_segment_buffered_and_direct_writes),
      cmocka_unit_test(test_segment_async_in_place),
      cmocka_unit_test(test_segment_zero_filled_ahead),
      cmocka_unit_test(test_segment_dead_active_reclaimed),
      cmocka_unit_test(test_scrub_segment_images),
      cmocka_unit_test(test_segment_list_cursor),
      cmocka_unit_test(test_segment_dir_service),
      cmocka_unit_test(test_small_span_iov),
      cmocka_unit_test(test_file_span_iov),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

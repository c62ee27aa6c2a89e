/* test_object_reader.c - the object reader against two real node data
 * servers (two replicas) over loopback, in one process on one loop, with
 * and without worker threads: encrypted ranges of several chunks at
 * offsets off the block boundaries, bit-exact; pauses while jobs are
 * queued; a corrupted block in the middle of one replica failing over to
 * the other with the right bytes; cancel and free while jobs are in
 * flight; staging buffers taken over by the consumer outliving the reader.
 * The cluster registry is stubbed (node id -> address). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_port.h"

#include <isa-l.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf_pool.h"
#include "chunk_cipher.h"
#include "cpu_pool.h"
#include "crypto.h"
#include "data_server.h"
#include "error.h"
#include "node_link.h"
#include "object_reader.h"
#include "registry.h"

#define NODES 2
#define CHUNKS 2
/* Two chunks of 9 blocks and a tail: every job size, partial last jobs. */
#define CHUNK_LEN (9u * CHUNK_CIPHER_BLOCK + 5000)
#define OBJ_LEN (2u * CHUNK_LEN)

static const uint8_t secret[] = "the cluster secret, 32 bytes long";

struct env {
  uv_loop_t loop;
  char dir[NODES][64];
  char addr[NODES][64];
  struct data_server *srv[NODES];
  struct node_link_pool *links;
  struct cpu_pool *cpu;
  struct buf_pool *staging;
  uint8_t key[CHUNK_CIPHER_KEY_LEN];
  uint8_t *plain; /* the object */
  struct meta_chunk chunks[CHUNKS];
  struct meta_fragment frags[CHUNKS][NODES];
  int corrupt_reports;
};

static struct env E;

/* ---- the registry, stubbed ---------------------------------------------- */

int cluster_node_find(struct cluster *c, const char *node_id,
                      struct cluster_node_view *out) {
  (void)c;
  for (int i = 0; i < NODES; i++) {
    char id[16];
    snprintf(id, sizeof id, "n%d", i);
    if (strcmp(id, node_id) == 0) {
      memset(out, 0, sizeof *out);
      snprintf(out->node_id, sizeof out->node_id, "%s", id);
      snprintf(out->data_addr, sizeof out->data_addr, "%s", E.addr[i]);
      out->up = 1;
      return 0;
    }
  }
  return CAIRN_ENOENT;
}

void cluster_report_corrupt(struct cluster *c, const char *node_id,
                            const uint8_t chunk_id[16], uint32_t index) {
  (void)c;
  (void)node_id;
  (void)chunk_id;
  (void)index;
  E.corrupt_reports++;
}

/* ---- set-up ------------------------------------------------------------- */

static void run_until(const int *flag) {
  while (!*flag)
    uv_run(&E.loop, UV_RUN_ONCE);
}

struct put_result {
  int done, status, written;
};

static void on_put_done(struct node_put *op, int status, void *arg) {
  (void)op;
  struct put_result *r = arg;
  r->done = 1;
  r->status = status;
}

static void on_written(void *arg) {
  ((struct put_result *)arg)->written = 1;
}

/* Stores a chunk's sealed bytes on node `node`. */
static void put_fragment(int node, const uint8_t id[16], uint32_t frag,
                         const uint8_t *data, size_t len) {
  struct put_result r = {0};
  struct node_put *op;
  assert_int_equal(node_put_whole(E.links, E.addr[node], id, frag, data, len,
                                  crc32_iscsi((uint8_t *)data, (int)len, 0),
                                  on_put_done, &r, on_written, &r, &op),
                   0);
  run_until(&r.done);
  while (!r.written)
    uv_run(&E.loop, UV_RUN_ONCE);
  assert_int_equal(r.status, 0);
}

/* Seals chunk i of the object; corrupt >= 0 flips a byte of that block. */
static uint8_t *seal_chunk(uint32_t i, int corrupt, size_t *len) {
  struct chunk_cipher c;
  chunk_cipher_init(&c, E.key, E.chunks[i].id, CHUNK_LEN);
  *len = (size_t)chunk_cipher_stored_length(CHUNK_LEN);
  uint8_t *stored = malloc(*len);
  assert_non_null(stored);
  const uint8_t *plain = E.plain + E.chunks[i].offset;
  for (uint32_t b = 0; b * CHUNK_CIPHER_BLOCK < CHUNK_LEN; b++)
    assert_int_equal(chunk_cipher_seal(&c, b, plain + b * CHUNK_CIPHER_BLOCK,
                                       stored + b * CHUNK_CIPHER_STRIDE),
                     0);
  if (corrupt >= 0)
    stored[(size_t)corrupt * CHUNK_CIPHER_STRIDE + 100] ^= 1;
  chunk_cipher_wipe(&c);
  return stored;
}

/* Both replicas of every chunk (under fresh chunk ids), the first copy of
 * chunk `bad_chunk` with block `bad_block` changed (-1: none). */
static void store_object(int bad_chunk, int bad_block) {
  for (uint32_t i = 0; i < CHUNKS; i++) {
    assert_int_equal(crypto_random(E.chunks[i].id, sizeof E.chunks[i].id), 0);
    for (int n = 0; n < NODES; n++) {
      size_t len;
      uint8_t *s =
          seal_chunk(i, n == 0 && (int)i == bad_chunk ? bad_block : -1, &len);
      put_fragment(n, E.chunks[i].id, (uint32_t)n, s, len);
      free(s);
    }
  }
}

static int setup(void **state) {
  (void)state;
  crypto_init();
  uv_loop_init(&E.loop);
  for (int n = 0; n < NODES; n++) {
    snprintf(E.dir[n], sizeof E.dir[n], "/tmp/cairn-object-reader-XXXXXX");
    if (!mkdtemp(E.dir[n]))
      return -1;
    const char *dirs[] = {E.dir[n]};
    char err[256];
    int rc = CAIRN_EADDRINUSE;
    for (int tries = 0; tries < 20 && rc == CAIRN_EADDRINUSE; tries++) {
      snprintf(E.addr[n], sizeof E.addr[n], "127.0.0.1:%d", free_port());
      struct data_server_config cfg = {.listen_addr = E.addr[n],
                                       .secret = secret,
                                       .secret_len = sizeof secret - 1,
                                       .data_dirs = dirs,
                                       .data_dir_count = 1};
      rc = data_server_start(&E.loop, &cfg, &E.srv[n], err, sizeof err);
    }
    if (rc != 0)
      return -1;
  }
  if (node_link_pool_new(&E.loop, secret, sizeof secret - 1, &E.links) != 0 ||
      cpu_pool_new(&E.loop, 2, &E.cpu) != 0 ||
      !(E.staging = buf_pool_new(object_reader_stage_bytes(), 4)))
    return -1;
  E.plain = malloc(OBJ_LEN);
  if (!E.plain || crypto_random(E.plain, OBJ_LEN) != 0 ||
      crypto_random(E.key, sizeof E.key) != 0)
    return -1;
  for (uint32_t i = 0; i < CHUNKS; i++) {
    struct meta_chunk *c = &E.chunks[i];
    c->offset = (uint64_t)i * CHUNK_LEN;
    c->length = CHUNK_LEN;
    c->layout.kind = META_LAYOUT_REPLICA;
    c->layout.data = NODES;
    c->n_fragments = NODES;
    c->fragments = E.frags[i];
    for (int n = 0; n < NODES; n++) {
      snprintf(E.frags[i][n].node_id, sizeof E.frags[i][n].node_id, "n%d", n);
      E.frags[i][n].index = (uint32_t)n;
    }
  }
  store_object(-1, -1);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  node_link_pool_free(E.links);
  cpu_pool_close(E.cpu);
  for (int n = 0; n < NODES; n++)
    data_server_stop(E.srv[n]);
  uv_run(&E.loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&E.loop);
  buf_pool_free(E.staging);
  free(E.plain);
  for (int n = 0; n < NODES; n++) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", E.dir[n]);
    if (system(cmd) != 0)
      return -1;
  }
  crypto_shutdown();
  return rc;
}

/* ---- a consumer --------------------------------------------------------- */

struct sink {
  struct object_reader *r;
  uint8_t *got;
  size_t len, cap;
  int done, status, calls;
  int pause;       /* answer pause to every on_data */
  int paused;      /* asked to pause, not resumed yet */
  int cancel_at;   /* cancel inside the n-th call (0: never) */
  void *kept[256]; /* taken over, given back after the reader is freed */
  int n_kept;
  int free_in_done;
};

static int sink_data(const void *data, size_t len, void *arg) {
  struct sink *s = arg;
  assert_false(s->done);
  assert_true(s->len + len <= s->cap);
  memcpy(s->got + s->len, data, len);
  s->len += len;
  if (++s->calls == s->cancel_at)
    object_reader_cancel(s->r);
  if (s->pause)
    s->paused = 1;
  return s->pause;
}

static int sink_buffer(void *buf, const void *data, size_t len, void *arg) {
  struct sink *s = arg;
  int pause = sink_data(data, len, arg);
  assert_true(s->n_kept < 256);
  s->kept[s->n_kept++] = buf;
  return pause;
}

static void sink_done(struct object_reader *r, int status, void *arg) {
  struct sink *s = arg;
  assert_false(s->done); /* exactly once */
  s->done = 1;
  s->status = status;
  if (s->free_in_done) { /* as s3_get does, from inside done */
    object_reader_free(r);
    s->r = NULL;
  }
}

/* Reads [from, from + len) and checks the bytes; returns the status. */
static int read_range(struct sink *s, uint64_t from, uint64_t len, int workers,
                      int lend) {
  s->cap = (size_t)len;
  s->got = malloc(s->cap ? s->cap : 1);
  assert_non_null(s->got);
  struct object_reader_config cfg = {
      .links = E.links,
      .chunks = E.chunks,
      .n_chunks = CHUNKS,
      .offset = from,
      .length = len,
      .data_key = E.key,
      .on_data = sink_data,
      .done = sink_done,
      .arg = s,
      .cpu = workers ? E.cpu : NULL,
      .staging = E.staging,
      .staged_max = 1,
      .on_buffer = lend ? sink_buffer : NULL,
  };
  int rc = object_reader_start(&cfg, &s->r);
  if (rc != 0) {
    free(s->got);
    return rc;
  }
  while (!s->done) {
    if (s->paused && !s->done) {
      s->paused = 0; /* outside on_data, as a socket's write callback */
      object_reader_resume(s->r);
    } else {
      uv_run(&E.loop, UV_RUN_ONCE);
    }
  }
  if (s->status == 0) {
    assert_int_equal(s->len, len);
    assert_memory_equal(s->got, E.plain + from, len);
  } else {
    /* Whatever came is the right prefix: only authenticated bytes. */
    assert_memory_equal(s->got, E.plain + from, s->len);
  }
  if (!s->free_in_done)
    object_reader_free(s->r);
  for (int i = 0; i < s->n_kept; i++) /* after the reader is gone */
    object_reader_buffer_put(E.staging, s->kept[i]);
  s->n_kept = 0;
  free(s->got);
  return s->status;
}

/* ---- tests -------------------------------------------------------------- */

/* Ranges across blocks and chunks, starting and ending off the block
 * boundaries, inline and on the workers, with and without taking the
 * buffers over, with pauses after every delivery. */
static void test_ranges(void **state) {
  (void)state;
  static const uint64_t ranges[][2] = {
      {0, OBJ_LEN},
      {1, OBJ_LEN - 2},
      {CHUNK_CIPHER_BLOCK - 7, 3 * CHUNK_CIPHER_BLOCK + 11},
      {CHUNK_LEN - 70000, 140001}, /* across the chunk boundary */
      {5 * CHUNK_CIPHER_BLOCK + 3, 200000},
      {123, 4096}, /* small: inline even with workers */
      {CHUNK_LEN + 9 * CHUNK_CIPHER_BLOCK + 1, 4999}, /* in the last block */
  };
  for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
    for (int mode = 0; mode < 8; mode++) {
      struct sink s = {.pause = mode & 1};
      assert_int_equal(read_range(&s, ranges[i][0], ranges[i][1],
                                  (mode >> 1) & 1, (mode >> 2) & 1),
                       0);
    }
  assert_int_equal(E.corrupt_reports, 0);
}

/* A block in the middle of the first copy fails its tag: the read goes on
 * from that block on the second copy, the client sees every byte once,
 * and the bad copy is reported. */
static void test_corrupt_block_fails_over(void **state) {
  (void)state;
  store_object(0, 5);
  for (int mode = 0; mode < 8; mode++) {
    E.corrupt_reports = 0;
    struct sink s = {.pause = mode & 1};
    assert_int_equal(
        read_range(&s, 1000, OBJ_LEN - 2000, (mode >> 1) & 1, (mode >> 2) & 1),
        0);
    assert_int_equal(E.corrupt_reports, 1);
  }
  /* A range that starts inside the bad block. */
  E.corrupt_reports = 0;
  struct sink s = {0};
  assert_int_equal(read_range(&s, 5 * CHUNK_CIPHER_BLOCK + 10, 300000, 1, 1),
                   0);
  assert_int_equal(E.corrupt_reports, 1);
  /* Both copies bad: an error, and only good bytes before it. */
  assert_int_equal(crypto_random(E.chunks[1].id, sizeof E.chunks[1].id), 0);
  for (uint32_t n = 0; n < NODES; n++) {
    size_t len;
    uint8_t *bad = seal_chunk(1, 2, &len);
    put_fragment((int)n, E.chunks[1].id, n, bad, len);
    free(bad);
  }
  struct sink s2 = {0};
  assert_int_equal(read_range(&s2, 0, OBJ_LEN, 1, 0), CAIRN_EAUTH);
  assert_true(s2.len <= CHUNK_LEN + 2 * CHUNK_CIPHER_BLOCK);
  store_object(-1, -1);
}

/* Cancel inside on_data while later jobs are queued or running: done
 * fires once, with ECANCELED, after the workers are out; nothing leaks
 * (ASan) whether the reader is freed inside done or after. */
static void test_cancel_with_jobs_in_flight(void **state) {
  (void)state;
  for (int mode = 0; mode < 8; mode++) {
    struct sink s = {.cancel_at = 1 + (mode & 1),
                     .free_in_done = (mode >> 1) & 1};
    assert_int_equal(read_range(&s, 77, OBJ_LEN - 77, 1, (mode >> 2) & 1),
                     CAIRN_ECANCELED);
  }
  /* Cancel from outside, right after the start and after a few turns. */
  for (int turns = 0; turns < 40; turns += 3) {
    struct sink s = {.cap = OBJ_LEN};
    s.got = malloc(OBJ_LEN);
    struct object_reader_config cfg = {
        .links = E.links,
        .chunks = E.chunks,
        .n_chunks = CHUNKS,
        .offset = 0,
        .length = OBJ_LEN,
        .data_key = E.key,
        .on_data = sink_data,
        .done = sink_done,
        .arg = &s,
        .cpu = E.cpu,
        .staging = E.staging,
    };
    assert_int_equal(object_reader_start(&cfg, &s.r), 0);
    for (int i = 0; i < turns && !s.done; i++)
      uv_run(&E.loop, UV_RUN_ONCE);
    object_reader_cancel(s.r);
    run_until(&s.done);
    assert_true(s.status == CAIRN_ECANCELED || s.status == 0);
    assert_memory_equal(s.got, E.plain, s.len);
    object_reader_free(s.r);
    free(s.got);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ranges),
      cmocka_unit_test(test_corrupt_block_fails_over),
      cmocka_unit_test(test_cancel_with_jobs_in_flight),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

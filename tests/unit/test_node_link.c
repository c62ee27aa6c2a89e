/* test_node_link.c - the coordinator's node links against a real node data
 * server, in one process on one loop over 127.0.0.1: a 5 MiB + 1 fragment
 * put in pieces, read back whole and by ranges bit-exact (with pauses),
 * stat, delete, corruption reported over the wire, early put failures,
 * cancellation, a wrong cluster secret and a dead port refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_port.h"

#include <fcntl.h>
#include <isa-l.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chunk_store.h"
#include "crypto.h"
#include "data_server.h"
#include "error.h"
#include "node_link.h"

#define FRAG_LEN (5u * 1024 * 1024 + 1)
#define PIECE 300007

static const uint8_t secret[] = "the cluster secret, 32 bytes long";
static const uint8_t wrong[] = "not the cluster secret at all....";

struct env {
  uv_loop_t loop;
  char dir[64];
  char addr[64];
  struct data_server *srv;
  struct node_link_pool *pool;
  uint8_t *data;
};

static struct env E;

static int setup(void **state) {
  (void)state;
  crypto_init();
  uv_loop_init(&E.loop);
  snprintf(E.dir, sizeof E.dir, "/tmp/cairn-node-link-XXXXXX");
  if (!mkdtemp(E.dir))
    return -1;
  const char *dirs[] = {E.dir};
  char err[256];
  int rc = CAIRN_EADDRINUSE;
  for (int tries = 0; tries < 20 && rc == CAIRN_EADDRINUSE; tries++) {
    snprintf(E.addr, sizeof E.addr, "127.0.0.1:%d", free_port());
    struct data_server_config cfg = {.listen_addr = E.addr,
                                     .secret = secret,
                                     .secret_len = sizeof secret - 1,
                                     .data_dirs = dirs,
                                     .data_dir_count = 1};
    rc = data_server_start(&E.loop, &cfg, &E.srv, err, sizeof err);
  }
  if (rc != 0)
    return -1;
  if (node_link_pool_new(&E.loop, secret, sizeof secret - 1, &E.pool) != 0)
    return -1;
  E.data = malloc(FRAG_LEN);
  return crypto_random(E.data, FRAG_LEN);
}

static int teardown(void **state) {
  (void)state;
  node_link_pool_free(E.pool);
  data_server_stop(E.srv);
  uv_run(&E.loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&E.loop); /* every handle closed */
  free(E.data);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", E.dir);
  if (system(cmd) != 0)
    return -1;
  crypto_shutdown();
  return rc;
}

static void run_until(const int *flag) {
  while (!*flag)
    uv_run(&E.loop, UV_RUN_ONCE);
}

/* ---- helpers, one per operation ----------------------------------------- */

struct result {
  int done, status;
  uint64_t length;
  int written, pieces;
};

static void on_simple(int status, void *arg) {
  struct result *r = arg;
  r->done++;
  r->status = status;
}

static void on_stat(int status, uint64_t length, void *arg) {
  struct result *r = arg;
  r->done++;
  r->status = status;
  r->length = length;
}

static void on_put_done(struct node_put *op, int status, void *arg) {
  (void)op;
  on_simple(status, arg);
}

static void on_written(void *arg) {
  ((struct result *)arg)->written++;
}

static int ping(struct node_link_pool *pool, const char *addr) {
  struct result r = {0};
  assert_int_equal(node_ping(pool, addr, on_simple, &r), 0);
  assert_int_equal(r.done, 0); /* never inside the call */
  run_until(&r.done);
  return r.status;
}

static int stat_fragment(const uint8_t id[16], uint32_t frag,
                         uint64_t *length) {
  struct result r = {0};
  assert_int_equal(node_stat(E.pool, E.addr, id, frag, on_stat, &r), 0);
  run_until(&r.done);
  *length = r.length;
  return r.status;
}

static int delete_fragment(const uint8_t id[16], uint32_t frag) {
  struct result r = {0};
  assert_int_equal(node_delete(E.pool, E.addr, id, frag, on_simple, &r), 0);
  run_until(&r.done);
  return r.status;
}

/* Puts data[0..len) in pieces of `piece`, all queued at once. */
static int put_fragment(struct node_link_pool *pool, const char *addr,
                        const uint8_t id[16], uint32_t frag,
                        const uint8_t *data, size_t len, size_t piece) {
  struct result r = {0};
  struct node_put *op;
  int rc = node_put_begin(pool, addr, id, frag, len, on_put_done, &r, &op);
  if (rc != 0)
    return rc;
  for (size_t off = 0; off < len; off += piece) {
    size_t n = len - off < piece ? len - off : piece;
    assert_int_equal(node_put_write(op, data + off, n, on_written, &r), 0);
    r.pieces++;
  }
  assert_int_equal(node_put_write(op, data, 1, on_written, &r), CAIRN_ETOOBIG);
  assert_int_equal(
      node_put_finish(op, crc32_iscsi((uint8_t *)data, (int)len, 0)), 0);
  run_until(&r.done);
  assert_int_equal(r.done, 1);
  /* Every piece's buffer came back, whatever the outcome. */
  while (r.written < r.pieces)
    uv_run(&E.loop, UV_RUN_ONCE);
  assert_int_equal(r.written, r.pieces);
  return r.status;
}

struct getter {
  uint8_t *buf;
  uint64_t got, cap;
  int done, status, calls, paused, pause_every;
  struct node_get *op;
};

static int on_get_data(const void *data, size_t len, void *arg) {
  struct getter *g = arg;
  assert_true(g->got + len <= g->cap);
  memcpy(g->buf + g->got, data, len);
  g->got += len;
  g->calls++;
  if (g->pause_every && g->calls % g->pause_every == 0) {
    g->paused = 1;
    return 1;
  }
  return 0;
}

static void on_get_done(struct node_get *op, int status, void *arg) {
  (void)op;
  struct getter *g = arg;
  g->done++;
  g->status = status;
}

/* Resumes a paused get from outside its callbacks, as a consumer would. */
static void on_resume_timer(uv_timer_t *t) {
  struct getter *g = t->data;
  if (g->paused && !g->done) {
    g->paused = 0;
    node_get_resume(g->op);
  }
}

static int get_range_flags(const uint8_t id[16], uint32_t frag, uint64_t off,
                           uint64_t len, unsigned flags, uint8_t *buf,
                           int pause_every) {
  struct getter g = {.buf = buf, .cap = len, .pause_every = pause_every};
  uv_timer_t timer;
  uv_timer_init(&E.loop, &timer);
  timer.data = &g;
  uv_timer_start(&timer, on_resume_timer, 1, 1);
  int rc = node_get(E.pool, E.addr, id, frag, off, len, flags, on_get_data,
                    on_get_done, &g, &g.op);
  if (rc == 0) {
    run_until(&g.done);
    assert_int_equal(g.done, 1);
    rc = g.status;
    if (rc == 0)
      assert_int_equal(g.got, len);
  }
  uv_close((uv_handle_t *)&timer, NULL);
  uv_run(&E.loop, UV_RUN_NOWAIT);
  return rc;
}

static int get_range(const uint8_t id[16], uint32_t frag, uint64_t off,
                     uint64_t len, uint8_t *buf, int pause_every) {
  return get_range_flags(id, frag, off, len, 0, buf, pause_every);
}

static char *fragment_file(const uint8_t id[16], uint32_t frag) {
  static char path[256];
  char hex[33];
  crypto_hex(id, 16, hex);
  snprintf(path, sizeof path, "%s/chunks/%.2s/%.2s/%s.%u", E.dir, hex, hex + 2,
           hex, frag);
  return path;
}

/* ---- tests ----------------------------------------------------------------
 */

static void test_put_get_stat_delete(void **state) {
  (void)state;
  assert_int_equal(ping(E.pool, E.addr), 0);
  uint8_t id[16] = {0xca, 0x1f, 0x00, 0x01};
  assert_int_equal(put_fragment(E.pool, E.addr, id, 1, E.data, FRAG_LEN, PIECE),
                   0);
  assert_int_equal(access(fragment_file(id, 1), F_OK), 0);

  uint64_t len = 0;
  assert_int_equal(stat_fragment(id, 1, &len), 0);
  assert_int_equal(len, FRAG_LEN);

  uint8_t *back = malloc(FRAG_LEN);
  memset(back, 0, FRAG_LEN);
  assert_int_equal(get_range(id, 1, 0, FRAG_LEN, back, 0), 0);
  assert_memory_equal(back, E.data, FRAG_LEN);
  /* Again with the consumer pausing every other piece. */
  memset(back, 0, FRAG_LEN);
  assert_int_equal(get_range(id, 1, 0, FRAG_LEN, back, 2), 0);
  assert_memory_equal(back, E.data, FRAG_LEN);
  /* Ranges: unaligned inside, the tail, the last byte, an empty one. */
  assert_int_equal(get_range(id, 1, 65530, 1000000, back, 0), 0);
  assert_memory_equal(back, E.data + 65530, 1000000);
  assert_int_equal(get_range(id, 1, FRAG_LEN - 300000, 300000, back, 1), 0);
  assert_memory_equal(back, E.data + FRAG_LEN - 300000, 300000);
  assert_int_equal(get_range(id, 1, FRAG_LEN - 1, 1, back, 0), 0);
  assert_int_equal(back[0], E.data[FRAG_LEN - 1]);
  assert_int_equal(get_range(id, 1, 17, 0, back, 0), 0);
  /* Past the end, another fragment index. */
  assert_int_equal(get_range(id, 1, FRAG_LEN - 1, 2, back, 0), CAIRN_ERANGE);
  /* An offset where offset + length wraps: ERANGE, nothing read. */
  assert_int_equal(get_range(id, 1, UINT64_MAX - 5, 100, back, 0),
                   CAIRN_ERANGE);
  assert_int_equal(get_range(id, 1, UINT64_MAX - 5, 2000000, back, 0),
                   CAIRN_ERANGE);
  assert_int_equal(get_range(id, 2, 0, 1, back, 0), CAIRN_ENOENT);
  assert_int_equal(stat_fragment(id, 2, &len), CAIRN_ENOENT);

  assert_int_equal(delete_fragment(id, 1), 0);
  assert_int_equal(access(fragment_file(id, 1), F_OK), -1);
  assert_int_equal(stat_fragment(id, 1, &len), CAIRN_ENOENT);
  assert_int_equal(get_range(id, 1, 0, 1, back, 0), CAIRN_ENOENT);
  assert_int_equal(delete_fragment(id, 1), CAIRN_ENOENT);
  /* The link survived every error answer. */
  assert_int_equal(ping(E.pool, E.addr), 0);
  /* Idle again, it gave its input buffer back. */
  assert_int_equal(node_link_pool_inbufs_held(E.pool), 0);
  free(back);
}

static void test_small_and_empty_fragments(void **state) {
  (void)state;
  uint8_t id[16] = {0x5e, 0x11};
  uint8_t back[10];
  assert_int_equal(put_fragment(E.pool, E.addr, id, 0, E.data, 0, 1), 0);
  uint64_t len = 99;
  assert_int_equal(stat_fragment(id, 0, &len), 0);
  assert_int_equal(len, 0);
  assert_int_equal(put_fragment(E.pool, E.addr, id, 1, E.data, 10, 1), 0);
  assert_int_equal(get_range(id, 1, 0, 10, back, 3), 0);
  assert_memory_equal(back, E.data, 10);
  /* The same fragment again replaces it. */
  assert_int_equal(put_fragment(E.pool, E.addr, id, 1, E.data + 100, 10, 4), 0);
  assert_int_equal(get_range(id, 1, 0, 10, back, 0), 0);
  assert_memory_equal(back, E.data + 100, 10);
}

/* A flipped byte on the node's disk: the get fails with ECORRUPT (after
 * the good pieces), and the link stays usable. */
static void test_corruption_over_the_wire(void **state) {
  (void)state;
  uint8_t id[16] = {0xba, 0xd0};
  size_t n = 1200000; /* a file: over CHUNK_SEGMENT_MAX */
  assert_int_equal(put_fragment(E.pool, E.addr, id, 0, E.data, n, 65536), 0);
  int fd = open(fragment_file(id, 0), O_RDWR);
  assert_true(fd >= 0);
  off_t at = CHUNK_HEADER_SIZE + 10 * (CHUNK_BLOCK_SIZE + 4) + 5;
  uint8_t b;
  assert_int_equal(pread(fd, &b, 1, at), 1);
  b ^= 1;
  assert_int_equal(pwrite(fd, &b, 1, at), 1);
  close(fd);
  uint8_t *back = malloc(n);
  assert_int_equal(get_range(id, 0, 0, n, back, 0), CAIRN_ECORRUPT);
  assert_int_equal(get_range(id, 0, 0, 65536, back, 0), 0);
  assert_memory_equal(back, E.data, 65536);
  /* A reader that authenticates the bytes itself gets them as stored. */
  assert_int_equal(
      get_range_flags(id, 0, 0, n, NODE_GET_AUTHENTICATED, back, 0), 0);
  assert_int_equal(back[10 * CHUNK_BLOCK_SIZE + 5],
                   (uint8_t)(E.data[10 * CHUNK_BLOCK_SIZE + 5] ^ 1));
  assert_memory_equal(back, E.data, 10 * CHUNK_BLOCK_SIZE + 5);
  assert_int_equal(ping(E.pool, E.addr), 0);
  free(back);
}

/* A wrong CRC is refused after the data was sent; nothing is stored. */
static void test_bad_crc_refused(void **state) {
  (void)state;
  uint8_t id[16] = {0xcc, 0xcc};
  struct result r = {0};
  struct node_put *op;
  assert_int_equal(
      node_put_begin(E.pool, E.addr, id, 0, 1000, on_put_done, &r, &op), 0);
  assert_int_equal(node_put_finish(op, 0), CAIRN_EINVAL); /* short */
  assert_int_equal(node_put_write(op, E.data, 1000, on_written, &r), 0);
  assert_int_equal(node_put_finish(op, 0x12345678), 0);
  run_until(&r.done);
  assert_int_equal(r.status, CAIRN_ECORRUPT);
  assert_int_equal(r.written, 1);
  uint64_t len;
  assert_int_equal(stat_fragment(id, 0, &len), CAIRN_ENOENT);
  assert_int_equal(node_put_begin(E.pool, E.addr, id, 0,
                                  (uint64_t)CHUNK_MAX_FRAGMENT + 1, on_put_done,
                                  &r, &op),
                   CAIRN_ETOOBIG);
}

/* node_put_whole: begin, one piece and finish in one write. */
static int put_whole(const uint8_t id[16], uint32_t frag, const uint8_t *data,
                     size_t len, uint32_t crc) {
  struct result r = {0};
  struct node_put *op;
  int rc = node_put_whole(E.pool, E.addr, id, frag, data, len, crc, on_put_done,
                          &r, on_written, &r, &op);
  if (rc != 0)
    return rc;
  assert_int_equal(r.done + r.written, 0); /* never inside the call */
  run_until(&r.done);
  while (r.written < 1)
    uv_run(&E.loop, UV_RUN_ONCE);
  assert_int_equal(r.done, 1);
  assert_int_equal(r.written, 1);
  return r.status;
}

/* Whole puts of a segment-sized and a file-sized fragment read back
 * bit-exact; a wrong CRC stores nothing; the link stays in step. */
static void test_whole_put(void **state) {
  (void)state;
  uint8_t id[16] = {0x3a, 0x01};
  uint8_t *back = malloc(1200000);
  size_t sizes[] = {4096, 1, 1200000};
  for (size_t i = 0; i < 3; i++) {
    size_t n = sizes[i];
    uint32_t crc = crc32_iscsi(E.data + i, (int)n, 0);
    assert_int_equal(put_whole(id, (uint32_t)i, E.data + i, n, crc), 0);
    memset(back, 0, n);
    assert_int_equal(get_range(id, (uint32_t)i, 0, n, back, 0), 0);
    assert_memory_equal(back, E.data + i, n);
  }
  uint8_t bad[16] = {0x3a, 0x02};
  assert_int_equal(put_whole(bad, 0, E.data, 4096, 0x12345678), CAIRN_ECORRUPT);
  uint64_t len;
  assert_int_equal(stat_fragment(bad, 0, &len), CAIRN_ENOENT);
  assert_int_equal(put_whole(bad, 0, E.data, 0, 0), CAIRN_EINVAL);
  assert_int_equal(ping(E.pool, E.addr), 0);
  /* And pieced puts still work after whole ones on the same links. */
  assert_int_equal(put_fragment(E.pool, E.addr, bad, 1, E.data, 5000, 999), 0);
  assert_int_equal(get_range(bad, 1, 0, 5000, back, 0), 0);
  assert_memory_equal(back, E.data, 5000);
  free(back);
}

/* A cancelled put: no callback, every buffer released, no file left. */
static void test_cancel(void **state) {
  (void)state;
  uint8_t id[16] = {0xcf};
  struct result r = {0};
  struct node_put *op;
  assert_int_equal(
      node_put_begin(E.pool, E.addr, id, 0, FRAG_LEN, on_put_done, &r, &op), 0);
  assert_int_equal(node_put_write(op, E.data, PIECE, on_written, &r), 0);
  for (int i = 0; i < 20; i++)
    uv_run(&E.loop, UV_RUN_NOWAIT);
  node_put_cancel(op);
  for (int i = 0; i < 200 && r.written < 1; i++)
    uv_run(&E.loop, UV_RUN_ONCE);
  assert_int_equal(r.written, 1);
  assert_int_equal(r.done, 0);
  /* The node notices the cut and removes its temporary file. Its I/O
   * thread may create the file only after the cut, so wait for it to
   * appear (up to ~2 s: it may also have come and gone between two
   * looks), then for it to go. */
  char cmd[256];
  snprintf(cmd, sizeof cmd, "find %s -name '*.tmp-*' | grep -q .", E.dir);
  for (int i = 0; i < 1000 && system(cmd) != 0; i++) {
    uv_run(&E.loop, UV_RUN_NOWAIT);
    usleep(2000);
  }
  for (int i = 0; i < 5000 && system(cmd) == 0; i++) { /* up to ~10 s */
    uv_run(&E.loop, UV_RUN_NOWAIT);
    usleep(2000);
  }
  assert_int_not_equal(system(cmd), 0);
  uint64_t len;
  assert_int_equal(stat_fragment(id, 0, &len), CAIRN_ENOENT);
}

/* A node that cannot store the fragment answers at once (before the data
 * has been sent) and drops the link; the put fails with its status. */
static void test_early_failure(void **state) {
  (void)state;
  const char *dirs[] = {"/nonexistent/cairn-data"};
  char addr[64], err[256];
  struct data_server *srv = NULL;
  int rc = CAIRN_EADDRINUSE;
  for (int tries = 0; tries < 20 && rc == CAIRN_EADDRINUSE; tries++) {
    snprintf(addr, sizeof addr, "127.0.0.1:%d", free_port());
    struct data_server_config cfg = {.listen_addr = addr,
                                     .secret = secret,
                                     .secret_len = sizeof secret - 1,
                                     .data_dirs = dirs,
                                     .data_dir_count = 1};
    rc = data_server_start(&E.loop, &cfg, &srv, err, sizeof err);
  }
  assert_int_equal(rc, 0);
  uint8_t id[16] = {0xee};
  assert_int_equal(put_fragment(E.pool, addr, id, 0, E.data, FRAG_LEN, PIECE),
                   CAIRN_ENOSPC);
  assert_int_equal(ping(E.pool, addr), 0); /* a new link works */
  data_server_stop(srv);
  /* The node is gone: connection refused. */
  assert_int_equal(ping(E.pool, addr), CAIRN_ECLOSED);
}

/* The wrong cluster secret: the node refuses, every operation fails. */
static void test_wrong_secret_refused(void **state) {
  (void)state;
  struct node_link_pool *bad;
  assert_int_equal(node_link_pool_new(&E.loop, wrong, sizeof wrong - 1, &bad),
                   0);
  assert_int_equal(ping(bad, E.addr), CAIRN_ECLOSED);
  uint8_t id[16] = {0xde, 0xad};
  assert_int_equal(put_fragment(bad, E.addr, id, 0, E.data, 100000, 5000),
                   CAIRN_ECLOSED);
  uint64_t len;
  assert_int_equal(stat_fragment(id, 0, &len), CAIRN_ENOENT);
  /* Malformed addresses fail at once, without a callback. */
  struct result r = {0};
  assert_int_equal(node_ping(bad, "nonsense", on_simple, &r), CAIRN_EINVAL);
  node_link_pool_free(bad);
  assert_int_equal(r.done, 0);
  /* The right secret still works. */
  assert_int_equal(ping(E.pool, E.addr), 0);
}

/* Freeing a pool with operations in flight fails them, once. */
static void test_pool_free_in_flight(void **state) {
  (void)state;
  struct node_link_pool *p;
  assert_int_equal(node_link_pool_new(&E.loop, secret, sizeof secret - 1, &p),
                   0);
  struct result a = {0}, b = {0};
  assert_int_equal(node_ping(p, E.addr, on_simple, &a), 0);
  uint64_t dummy = 0;
  (void)dummy;
  uint8_t id[16] = {1};
  assert_int_equal(node_stat(p, E.addr, id, 0, on_stat, &b), 0);
  node_link_pool_free(p);
  assert_int_equal(a.done, 1);
  assert_int_equal(a.status, CAIRN_ECLOSED);
  assert_int_equal(b.done, 1);
  assert_int_equal(b.status, CAIRN_ECLOSED);
  for (int i = 0; i < 10; i++)
    uv_run(&E.loop, UV_RUN_NOWAIT);
  assert_int_equal(ping(E.pool, E.addr), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_put_get_stat_delete),
      cmocka_unit_test(test_small_and_empty_fragments),
      cmocka_unit_test(test_corruption_over_the_wire),
      cmocka_unit_test(test_bad_crc_refused),
      cmocka_unit_test(test_whole_put),
      cmocka_unit_test(test_cancel),
      cmocka_unit_test(test_early_failure),
      cmocka_unit_test(test_wrong_secret_refused),
      cmocka_unit_test(test_pool_free_in_flight),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

/* test_meta_nodes.c - node table, config blobs, reopen, group-commit writer
 * of coordinator/meta on a real RocksDB in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "meta.h"

static char *make_dir(void) {
  char *t = strdup("/tmp/cairn-meta-XXXXXX");
  assert_non_null(mkdtemp(t));
  return t;
}

static void remove_dir(char *d) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
  assert_int_equal(system(cmd), 0);
  free(d);
}

static struct meta *open_at(const char *d) {
  struct meta *m = NULL;
  char err[256] = "";
  int r = meta_open(d, &m, err, sizeof err);
  if (r)
    fprintf(stderr, "meta_open: %s\n", err);
  assert_int_equal(r, 0);
  return m;
}

static void fill_node(struct meta_node_record *n, int i) {
  memset(n, 0, sizeof *n);
  snprintf(n->node_id, sizeof n->node_id, "%032x", i);
  snprintf(n->data_addr, sizeof n->data_addr, "127.0.0.1:%d", 9000 + i);
  n->capacity_bytes = 1000000ull * (uint64_t)i;
  n->free_bytes = 1000ull * (uint64_t)i;
  n->first_seen_ms = 1700000000000ll + i;
  n->last_seen_ms = 1700000001000ll + i;
  snprintf(n->labels, sizeof n->labels, "host=h%d,rack=r%d", i, i % 2);
}

struct collect {
  int n;
  struct meta_node_record recs[16];
};

static int collect_cb(const struct meta_node_record *rec, void *arg) {
  struct collect *c = arg;
  c->recs[c->n++] = *rec;
  return 0;
}

static int stop_cb(const struct meta_node_record *rec, void *arg) {
  (void)rec;
  (*(int *)arg)++;
  return 42;
}

static void test_nodes(void **state) {
  (void)state;
  char *d = make_dir();
  struct meta *m = open_at(d);
  struct meta_node_record n;
  for (int i = 5; i >= 1; i--) {
    fill_node(&n, i);
    assert_int_equal(meta_node_put(m, &n), 0);
  }
  /* Replace node 3. */
  fill_node(&n, 3);
  n.free_bytes = 7;
  assert_int_equal(meta_node_put(m, &n), 0);
  assert_int_equal(meta_node_delete(m, "00000000000000000000000000000002"), 0);
  assert_int_equal(meta_node_delete(m, "00000000000000000000000000000002"),
                   CAIRN_ENOENT);
  fill_node(&n, 1);
  memset(n.node_id, 'a', sizeof n.node_id); /* not terminated: too long */
  assert_int_equal(meta_node_put(m, &n), CAIRN_EINVAL);

  struct collect c = {0};
  assert_int_equal(meta_node_list(m, collect_cb, &c), 0);
  assert_int_equal(c.n, 4);
  assert_string_equal(c.recs[0].node_id, "00000000000000000000000000000001");
  assert_string_equal(c.recs[1].node_id, "00000000000000000000000000000003");
  assert_int_equal(c.recs[1].free_bytes, 7);
  assert_string_equal(c.recs[3].labels, "host=h5,rack=r1");
  int calls = 0;
  assert_int_equal(meta_node_list(m, stop_cb, &calls), 42);
  assert_int_equal(calls, 1);

  assert_int_equal(meta_config_put(m, "root", "secret-blob", 11), 0);
  meta_close(m);

  /* Reopening keeps everything. */
  m = open_at(d);
  memset(&c, 0, sizeof c);
  assert_int_equal(meta_node_list(m, collect_cb, &c), 0);
  assert_int_equal(c.n, 4);
  assert_int_equal(c.recs[2].capacity_bytes, 4000000);
  assert_int_equal(c.recs[2].first_seen_ms, 1700000000004ll);
  assert_string_equal(c.recs[2].data_addr, "127.0.0.1:9004");
  void *v = NULL;
  size_t len = 0;
  assert_int_equal(meta_config_get(m, "root", &v, &len), 0);
  assert_int_equal(len, 11);
  assert_memory_equal(v, "secret-blob", 11);
  free(v);
  assert_int_equal(meta_config_get(m, "nope", &v, &len), CAIRN_ENOENT);
  meta_close(m);
  remove_dir(d);
}

/* ---- group commit ------------------------------------------------------ */

struct notifier {
  int fds[2];
};

static void notify_pipe(void *arg) {
  struct notifier *n = arg;
  char b = 1;
  ssize_t w = write(n->fds[1], &b, 1);
  (void)w;
}

struct done {
  int calls;
  int status;
};

static void done_cb(int status, void *arg) {
  struct done *d = arg;
  d->calls++;
  d->status = status;
}

#define ASYNC_N 64

struct node_count {
  int n;
  int has5000;
};

static int count_cb(const struct meta_node_record *rec, void *arg) {
  struct node_count *c = arg;
  c->n++;
  if (strcmp(rec->node_id, "00000000000000000000000000001388") == 0)
    c->has5000 = 1;
  return 0;
}

static void test_group_commit(void **state) {
  (void)state;
  char *d = make_dir();
  struct meta *m = open_at(d);
  struct notifier nt;
  assert_int_equal(pipe(nt.fds), 0);
  meta_set_notify(m, notify_pipe, &nt);

  struct done dn[ASYNC_N + 1];
  memset(dn, 0, sizeof dn);
  for (int i = 0; i < ASYNC_N; i++) {
    struct meta_batch *b = meta_batch_new();
    assert_non_null(b);
    struct meta_node_record n;
    fill_node(&n, i + 1);
    assert_int_equal(meta_batch_node_put(b, &n), 0);
    if (i % 2 == 0) { /* two operations in one batch */
      fill_node(&n, 1000 + i);
      assert_int_equal(meta_batch_node_put(b, &n), 0);
    }
    assert_int_equal(meta_write_async(m, b, done_cb, &dn[i]), 0);
  }
  /* A batch whose second op fails (delete of a missing node) must leave
   * nothing behind. */
  struct meta_batch *bad = meta_batch_new();
  struct meta_node_record n;
  fill_node(&n, 5000);
  assert_int_equal(meta_batch_node_put(bad, &n), 0);
  assert_int_equal(meta_batch_node_delete(bad, "ffff"), 0);
  assert_int_equal(meta_write_async(m, bad, done_cb, &dn[ASYNC_N]), 0);

  int got = 0;
  while (got < ASYNC_N + 1) {
    struct pollfd p = {.fd = nt.fds[0], .events = POLLIN};
    assert_true(poll(&p, 1, 10000) > 0);
    char buf[64];
    assert_true(read(nt.fds[0], buf, sizeof buf) > 0);
    got += meta_drain_completions(m);
  }
  for (int i = 0; i < ASYNC_N; i++) {
    assert_int_equal(dn[i].calls, 1);
    assert_int_equal(dn[i].status, 0);
  }
  assert_int_equal(dn[ASYNC_N].calls, 1);
  assert_int_equal(dn[ASYNC_N].status, CAIRN_ENOENT);
  uint64_t groups, batches;
  meta_writer_stats(m, &groups, &batches);
  assert_int_equal(batches, ASYNC_N + 1);
  assert_true(groups >= 1 && groups <= batches);
  fprintf(stderr, "group commit: %llu batches in %llu synced writes\n",
          (unsigned long long)batches, (unsigned long long)groups);

  meta_close(m);
  m = open_at(d);
  struct node_count cn = {0, 0};
  assert_int_equal(meta_node_list(m, count_cb, &cn), 0);
  assert_int_equal(cn.n, ASYNC_N + ASYNC_N / 2);
  assert_int_equal(cn.has5000, 0);
  meta_close(m);
  close(nt.fds[0]);
  close(nt.fds[1]);
  remove_dir(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nodes),
      cmocka_unit_test(test_group_commit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_control_loop.c - the control plane end to end in one process: the
 * coordinator's registry (coordinator/cluster/registry.c) and a node's
 * control client (storagenode/control.c) on one libuv loop over real
 * ZeroMQ TCP on 127.0.0.1. The metadata store is a small in-test fake of
 * the meta_node_* functions the registry calls. */
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
#include <uv.h>

#include "control.h"
#include "crypto.h"
#include "error.h"
#include "meta.h"
#include "registry.h"

/* ---- fake metadata store ------------------------------------------------ */

#define FAKE_MAX 8
static struct meta_node_record fake_nodes[FAKE_MAX];
static size_t fake_count;
static int fake_puts;

int meta_node_put(struct meta *m, const struct meta_node_record *rec) {
  (void)m;
  fake_puts++;
  for (size_t i = 0; i < fake_count; i++)
    if (strcmp(fake_nodes[i].node_id, rec->node_id) == 0) {
      fake_nodes[i] = *rec;
      return 0;
    }
  if (fake_count == FAKE_MAX)
    return CAIRN_ENOSPC;
  fake_nodes[fake_count++] = *rec;
  return 0;
}

int meta_node_list(struct meta *m, meta_node_cb cb, void *arg) {
  (void)m;
  for (size_t i = 0; i < fake_count; i++) {
    int rc = cb(&fake_nodes[i], arg);
    if (rc)
      return rc;
  }
  return 0;
}

int meta_node_delete(struct meta *m, const char *node_id) {
  (void)m;
  (void)node_id;
  return CAIRN_ENOENT;
}

/* Drain states (config blobs): none stored in this fake. */
int meta_config_get(struct meta *m, const char *name, void **v, size_t *len) {
  (void)m, (void)name, (void)v, (void)len;
  return CAIRN_ENOENT;
}

int meta_config_put(struct meta *m, const char *name, const void *v,
                    size_t len) {
  (void)m, (void)name, (void)v, (void)len;
  return 0;
}

/* ---- harness --------------------------------------------------------------
 */

static const char SECRET[] = "test-cluster-secret-0123456789";
static const char WRONG[] = "not-the-cluster-secret-98765";
static const char ID_A[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char ID_B[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

static char base[256];
static char *dirs[1];

struct world {
  uv_loop_t loop;
  struct cluster *cluster;
  struct node_control *node;
  int refused;
  char refusal[512];
};

static int setup(void **state) {
  snprintf(base, sizeof base, "/tmp/cairn-test-ctl-XXXXXX");
  if (!mkdtemp(base))
    return -1;
  dirs[0] = base;
  fake_count = 0;
  fake_puts = 0;
  struct world *w = calloc(1, sizeof *w);
  uv_loop_init(&w->loop);
  *state = w;
  return 0;
}

static int teardown(void **state) {
  struct world *w = *state;
  node_control_stop(w->node);
  cluster_stop(w->cluster);
  uv_run(&w->loop, UV_RUN_DEFAULT); /* let every close callback run */
  int rc = uv_loop_close(&w->loop);
  free(w);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
  if (system(cmd) != 0)
    return -1;
  return rc == 0 ? 0 : -1;
}

static void start_cluster(struct world *w, const char *endpoint) {
  struct cluster_config cfg = {
      .endpoint = endpoint,
      .secret = (const uint8_t *)SECRET,
      .secret_len = strlen(SECRET),
      .heartbeat_interval_ms = 40,
      .heartbeat_misses = 3,
      .meta = NULL,
  };
  char err[256] = "";
  int rc = cluster_start(&w->loop, &cfg, &w->cluster, err, sizeof err);
  if (rc != 0)
    fail_msg("cluster_start: %s", err);
}

static void on_refused(const char *reason, void *arg) {
  struct world *w = arg;
  w->refused++;
  snprintf(w->refusal, sizeof w->refusal, "%s", reason);
  node_control_stop(w->node);
  w->node = NULL;
}

static void start_node(struct world *w, const char *id, const char *secret) {
  struct node_control_config cfg = {
      .endpoint = cluster_endpoint(w->cluster),
      .node_id = id,
      .data_addr = "127.0.0.1:9301",
      .secret = (const uint8_t *)secret,
      .secret_len = strlen(secret),
      .heartbeat_interval_ms = 1000, /* the HelloAck says 40 */
      .data_dirs = dirs,
      .data_dir_count = 1,
      .labels = "host=h1,rack=r1",
      .hello_retry_ms = 50,
      .refuse_after_ms = 400,
      .on_refused = on_refused,
      .arg = w,
  };
  char err[256] = "";
  int rc = node_control_start(&w->loop, &cfg, &w->node, err, sizeof err);
  if (rc != 0)
    fail_msg("node_control_start: %s", err);
}

typedef int (*predicate)(struct world *w);

struct waiter {
  uv_timer_t timer;
  struct world *w;
  predicate pred;
  uint64_t deadline;
  int met;
};

static void on_check(uv_timer_t *t) {
  struct waiter *wt = t->data;
  if (wt->pred(wt->w)) {
    wt->met = 1;
    uv_stop(t->loop);
  } else if (uv_now(t->loop) >= wt->deadline) {
    uv_stop(t->loop);
  }
}

/* Runs the loop until pred holds (1) or timeout_ms passes (0). */
static int run_until(struct world *w, predicate pred, int timeout_ms) {
  struct waiter wt = {.w = w, .pred = pred};
  uv_update_time(&w->loop);
  wt.deadline = uv_now(&w->loop) + (uint64_t)timeout_ms;
  uv_timer_init(&w->loop, &wt.timer);
  wt.timer.data = &wt;
  uv_timer_start(&wt.timer, on_check, 5, 5);
  uv_run(&w->loop, UV_RUN_DEFAULT);
  uv_close((uv_handle_t *)&wt.timer, NULL);
  uv_run(&w->loop, UV_RUN_NOWAIT); /* the close callback */
  return wt.met;
}

static int view_of(struct world *w, const char *id,
                   struct cluster_node_view *out) {
  struct cluster_node_view views[FAKE_MAX];
  size_t n = cluster_nodes_snapshot(w->cluster, views, FAKE_MAX);
  for (size_t i = 0; i < n && i < FAKE_MAX; i++)
    if (strcmp(views[i].node_id, id) == 0) {
      *out = views[i];
      return 1;
    }
  return 0;
}

static int a_is_up(struct world *w) {
  struct cluster_node_view v;
  return node_control_registered(w->node) && view_of(w, ID_A, &v) && v.up;
}

static int a_is_down(struct world *w) {
  struct cluster_node_view v;
  return view_of(w, ID_A, &v) && !v.up;
}

static int node_refused(struct world *w) {
  return w->refused > 0;
}

static int64_t last_heartbeat_of_a;
static int a_heartbeat_advanced(struct world *w) {
  struct cluster_node_view v;
  return view_of(w, ID_A, &v) && v.up &&
         v.last_heartbeat_ms > last_heartbeat_of_a + 100;
}

/* ---- tests ----------------------------------------------------------------
 */

static void test_register_heartbeat_down(void **state) {
  struct world *w = *state;
  start_cluster(w, "tcp://127.0.0.1:*");
  assert_non_null(strstr(cluster_endpoint(w->cluster), "tcp://127.0.0.1:"));
  assert_null(strstr(cluster_endpoint(w->cluster), "*"));
  start_node(w, ID_A, SECRET);
  assert_true(run_until(w, a_is_up, 5000));

  /* Registration persisted, with the node's address, labels, capacity. */
  assert_int_equal(fake_count, 1);
  assert_string_equal(fake_nodes[0].node_id, ID_A);
  assert_string_equal(fake_nodes[0].data_addr, "127.0.0.1:9301");
  assert_string_equal(fake_nodes[0].labels, "host=h1,rack=r1");
  assert_true(fake_nodes[0].capacity_bytes > 0);
  assert_true(fake_nodes[0].first_seen_ms > 0);
  int puts_after_hello = fake_puts;

  /* Heartbeats keep it up (every 40 ms, down after 120 ms without) and do
   * not touch the store. */
  struct cluster_node_view v;
  assert_true(view_of(w, ID_A, &v));
  last_heartbeat_of_a = v.last_heartbeat_ms;
  assert_true(run_until(w, a_heartbeat_advanced, 3000));
  assert_true(view_of(w, ID_A, &v));
  assert_true(v.up);
  assert_string_equal(v.data_addr, "127.0.0.1:9301");
  assert_int_equal(fake_puts, puts_after_hello);
  /* The node heartbeats at the interval the HelloAck gave (40 ms, not its
   * own 1000): it does not flap down over many intervals. */
  assert_false(run_until(w, a_is_down, 500));

  /* The node goes away: marked down, still listed. */
  node_control_stop(w->node);
  w->node = NULL;
  assert_true(run_until(w, a_is_down, 3000));
  assert_int_equal(cluster_nodes_snapshot(w->cluster, NULL, 0), 1);
}

static void test_wrong_secret_refused(void **state) {
  struct world *w = *state;
  start_cluster(w, "tcp://127.0.0.1:*");
  start_node(w, ID_B, WRONG);
  assert_true(run_until(w, node_refused, 5000));
  assert_int_equal(w->refused, 1);
  assert_non_null(strstr(w->refusal, "cluster secret"));
  /* Not registered, not persisted, not listed. */
  assert_int_equal(fake_count, 0);
  assert_int_equal(cluster_nodes_snapshot(w->cluster, NULL, 0), 0);
}

/* Nodes persisted by an earlier coordinator run load as down; a restarted
 * coordinator makes a running node say hello again, and first_seen is
 * kept. */
static void test_coordinator_restart(void **state) {
  struct world *w = *state;
  struct meta_node_record old = {0};
  snprintf(old.node_id, sizeof old.node_id, "%s", ID_A);
  snprintf(old.data_addr, sizeof old.data_addr, "10.0.0.1:9201");
  old.first_seen_ms = 1234;
  old.last_seen_ms = 5678;
  meta_node_put(NULL, &old);
  fake_puts = 0;

  start_cluster(w, "tcp://127.0.0.1:*");
  char endpoint[256];
  snprintf(endpoint, sizeof endpoint, "%s", cluster_endpoint(w->cluster));
  struct cluster_node_view v;
  assert_true(view_of(w, ID_A, &v));
  assert_false(v.up);
  assert_string_equal(v.data_addr, "10.0.0.1:9201");

  start_node(w, ID_A, SECRET);
  assert_true(run_until(w, a_is_up, 5000));
  assert_int_equal(fake_count, 1);
  assert_int_equal(fake_nodes[0].first_seen_ms, 1234);
  assert_string_equal(fake_nodes[0].data_addr, "127.0.0.1:9301");
  assert_int_equal(fake_puts, 1);

  /* Restart the coordinator on the same endpoint. */
  cluster_stop(w->cluster);
  w->cluster = NULL;
  uv_run(&w->loop, UV_RUN_NOWAIT);
  start_cluster(w, endpoint);
  assert_true(view_of(w, ID_A, &v));
  assert_false(v.up);
  assert_true(run_until(w, a_is_up, 5000));
  assert_int_equal(fake_puts, 2);
  assert_int_equal(fake_nodes[0].first_seen_ms, 1234);
  assert_int_equal(w->refused, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_register_heartbeat_down, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_wrong_secret_refused, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_coordinator_restart, setup,
                                      teardown),
  };
  if (crypto_init() != 0)
    return 1;
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  crypto_shutdown();
  return rc;
}

/*
 * main.c - cairn-node: a storage node. Reads its configuration, takes its
 * identity from the first data dir, serves the data port and registers with
 * the coordinator over the control channel; SIGTERM/SIGINT stop it cleanly.
 *
 * Start-up failures print one line "cairn-node: error: ..." and exit 1; so
 * does a coordinator that refuses the node's cluster secret.
 */
#include "node.h"

#include "crypto.h"
#include "data_server.h"
#include "disks.h"
#include "node_report.h"
#include "scrubber.h"
#include "error.h"
#include "fd_limit.h"
#include "log.h"
#include "secret_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROGRAM "cairn-node"
#define SECRET_MAX 256

struct node {
  uv_loop_t *loop;
  struct node_config cfg;
  char *dirs[NODE_MAX_DATA_DIRS];
  size_t dir_count;
  char secret[SECRET_MAX + 1];
  char id[NODE_ID_LEN + 1];
  struct data_server *data;
  struct node_control *control;
  struct node_disks *disks;
  struct scrubber *scrubber;
  struct node_report report;
  uv_signal_t sigterm, sigint;
  int exit_code;
};

static int fail(const char *msg) {
  fprintf(stderr, PROGRAM ": error: %s\n", msg);
  return 1;
}

static int load_secret(struct node *n, char *err, size_t err_len) {
  if (n->cfg.cluster_secret) {
    if (strlen(n->cfg.cluster_secret) > SECRET_MAX) {
      snprintf(err, err_len,
               "the cluster secret is longer than %d "
               "characters",
               SECRET_MAX);
      return CAIRN_EINVAL;
    }
    snprintf(n->secret, sizeof n->secret, "%s", n->cfg.cluster_secret);
  } else if (n->cfg.cluster_secret_file) {
    long rc = secret_file_read(n->cfg.cluster_secret_file, n->secret,
                               sizeof n->secret);
    if (rc < 0) {
      snprintf(err, err_len, "cannot read the cluster secret from %s: %s",
               n->cfg.cluster_secret_file, cairn_strerror((int)rc));
      return (int)rc;
    }
    if (rc >= SECRET_MAX) {
      snprintf(err, err_len,
               "the cluster secret in %s is longer than %d "
               "characters",
               n->cfg.cluster_secret_file, SECRET_MAX - 1);
      return CAIRN_EINVAL;
    }
  } else {
    snprintf(err, err_len,
             "no cluster secret: give --cluster-secret or "
             "--cluster-secret-file (CAIRN_CLUSTER_SECRET[_FILE])");
    return CAIRN_EINVAL;
  }
  if (strlen(n->secret) < 16) {
    snprintf(err, err_len,
             "the cluster secret must have at least 16 "
             "characters");
    return CAIRN_EINVAL;
  }
  return 0;
}

static void stop(struct node *n) {
  node_control_stop(n->control);
  n->control = NULL;
  scrubber_stop(n->scrubber); /* before the data server's segment log */
  n->scrubber = NULL;
  n->report.scrubber = NULL;
  data_server_stop(n->data);
  n->data = NULL;
  if (!uv_is_closing((uv_handle_t *)&n->sigterm)) {
    uv_close((uv_handle_t *)&n->sigterm, NULL);
    uv_close((uv_handle_t *)&n->sigint, NULL);
  }
}

static void on_signal(uv_signal_t *h, int signum) {
  struct node *n = h->data;
  log_info("node", "signal %d: stopping", signum);
  stop(n);
}

/* The coordinator did not accept us: stop everything and exit 1, so that
 * a supervisor (and the operator) sees the misconfiguration at once. */
static void on_refused(const char *reason, void *arg) {
  struct node *n = arg;
  log_error("node", "%s; exiting", reason);
  n->exit_code = 1;
  stop(n);
}

int main(int argc, char **argv) {
  struct node node;
  struct node *n = &node;
  char err[512] = "";
  int rc;
  memset(n, 0, sizeof *n);
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (crypto_init() != 0)
    return fail("OpenSSL could not provide SHA-256/HMAC");
  rc = config_load(node_options, node_option_count, &n->cfg, argc, argv,
                   PROGRAM, err, sizeof err);
  if (rc != 0) {
    n->exit_code = rc > 0 ? 0 : fail(err);
    goto out;
  }
  int level = log_level_parse(n->cfg.log_level);
  if (level < 0) {
    n->exit_code = fail("unknown log level (debug, info, warn, error)");
    goto out;
  }
  log_set_level((enum log_level)level);
  /* The data connections, plus chunk files, segments and the control
   * socket. */
  uint64_t files = fd_limit_raise(DATA_CONN_MAX + 1024);
  if (files < DATA_CONN_MAX + 1024)
    log_warn("node",
             "open files limited to %llu: connections beyond ~%llu "
             "will be refused",
             (unsigned long long)files,
             (unsigned long long)(files > 256 ? files - 256 : 0));
  if (load_secret(n, err, sizeof err) != 0 ||
      node_data_dirs_prepare(n->cfg.data_dir, n->dirs, &n->dir_count, err,
                             sizeof err) != 0 ||
      node_identity_load(n->dirs[0], n->id, err, sizeof err) != 0) {
    n->exit_code = fail(err);
    goto out;
  }

  if (node_disks_new(n->dirs, n->dir_count, (uint64_t)n->cfg.max_bytes_per_dir,
                     &n->disks) != 0) {
    n->exit_code = fail("out of memory");
    goto out;
  }
  n->report.disks = n->disks;
  n->loop = uv_default_loop();
  struct data_server_config dcfg = {
      .disks = n->disks,
      .listen_addr = n->cfg.listen,
      .secret = (const uint8_t *)n->secret,
      .secret_len = strlen(n->secret),
      .data_dirs = (const char *const *)n->dirs,
      .data_dir_count = n->dir_count,
  };
  if (data_server_start(n->loop, &dcfg, &n->data, err, sizeof err) != 0) {
    n->exit_code = fail(err);
    goto out_loop;
  }
  /* The scrubber verifies the data server's segment log too: it starts
   * after it and stops before it. */
  struct scrubber_config scfg = {
      .dirs = n->dirs,
      .n = n->dir_count,
      .bytes_per_sec = (uint64_t)n->cfg.scrub_rate,
      .interval_ms = (uint64_t)n->cfg.scrub_interval_ms,
      .disks = n->disks,
      .segments = data_server_segments(n->data),
      .segment_dir = 0,
  };
  if (scrubber_start(&scfg, &n->scrubber) != 0) {
    n->exit_code = fail("cannot start the scrubber thread");
    data_server_stop(n->data);
    goto out_loop;
  }
  n->report.scrubber = n->scrubber;
  struct node_control_config ccfg = {
      .endpoint = n->cfg.coordinator,
      .node_id = n->id,
      .data_addr = n->cfg.advertise ? n->cfg.advertise : n->cfg.listen,
      .secret = (const uint8_t *)n->secret,
      .secret_len = strlen(n->secret),
      .heartbeat_interval_ms = (int)n->cfg.heartbeat_interval_ms,
      .data_dirs = n->dirs,
      .data_dir_count = n->dir_count,
      .labels = n->cfg.labels,
      .on_refused = on_refused,
      .arg = n,
      .heartbeat_extend = node_report_extend,
      .heartbeat_done = node_report_done,
      .report_arg = &n->report,
  };
  if (node_control_start(n->loop, &ccfg, &n->control, err, sizeof err) != 0) {
    n->exit_code = fail(err);
    scrubber_stop(n->scrubber);
    n->scrubber = NULL;
    data_server_stop(n->data);
    goto out_loop;
  }
  uv_signal_init(n->loop, &n->sigterm);
  uv_signal_init(n->loop, &n->sigint);
  n->sigterm.data = n->sigint.data = n;
  uv_signal_start(&n->sigterm, on_signal, SIGTERM);
  uv_signal_start(&n->sigint, on_signal, SIGINT);
  signal(SIGPIPE, SIG_IGN);
  log_info("node",
           "cairn-node %s: id %s, data port %s, coordinator %s, %zu "
           "data dir(s)",
           CAIRN_VERSION, n->id, ccfg.data_addr, n->cfg.coordinator,
           n->dir_count);
  uv_run(n->loop, UV_RUN_DEFAULT);
  log_info("node", "stopped");
out_loop:
  uv_run(n->loop, UV_RUN_DEFAULT);
  uv_loop_close(n->loop);
out:
  scrubber_stop(n->scrubber);
  node_disks_free(n->disks);
  memset(n->secret, 0, sizeof n->secret);
  config_release(node_options, node_option_count, &n->cfg);
  crypto_shutdown();
  return n->exit_code;
}

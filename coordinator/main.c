/*
 * main.c - cairn-coordinator: reads the configuration, opens the metadata
 * store, starts the node registry and the S3 endpoint on one libuv loop, and
 * shuts them down in reverse order on SIGTERM/SIGINT.
 *
 * Start-up failures (bad option, data dir, port in use) print one line
 * "cairn-coordinator: error: ..." and exit 1.
 */
#include "coordinator.h"

#include "buf_pool.h"
#include "config.h"
#include "cpu_pool.h"
#include "crypto.h"
#include "error.h"
#include "fd_limit.h"
#include "frontend.h"
#include "gc.h"
#include "http_server.h"
#include "kms.h"
#include "layout.h"
#include "log.h"
#include "meta.h"
#include "node_link.h"
#include "object_reader.h"
#include "object_writer.h"
#include "registry.h"
#include "repairer.h"
#include "s3_auth.h"
#include "s3_ops.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROGRAM "cairn-coordinator"
/* Open files the coordinator asks for (soft limit, up to the hard one). */
#define COORD_OPEN_FILES 65536

int64_t coord_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fail(const char *fmt, const char *detail) {
  fprintf(stderr, PROGRAM ": error: ");
  fprintf(stderr, fmt, detail);
  fputc('\n', stderr);
  return 1;
}

/* The data dir may be created if its parent exists; it must be writable. */
static int prepare_data_dir(const char *dir, char *err, size_t err_len) {
  struct stat st;
  if (stat(dir, &st) != 0) {
    if (errno != ENOENT || mkdir(dir, 0700) != 0) {
      snprintf(err, err_len, "data dir %s cannot be created: %s", dir,
               strerror(errno));
      return CAIRN_EIO;
    }
  } else if (!S_ISDIR(st.st_mode)) {
    snprintf(err, err_len, "data dir %s is not a directory", dir);
    return CAIRN_EINVAL;
  }
  if (access(dir, W_OK | X_OK) != 0) {
    snprintf(err, err_len, "data dir %s is not writable: %s", dir,
             strerror(errno));
    return CAIRN_EPERM;
  }
  return 0;
}

/* Group-commit completions: the metadata writer thread wakes the loop,
 * which runs the callbacks of the batches it synced. */
static void on_meta_notify(void *arg) {
  struct coordinator *c = arg;
  uv_async_send(&c->meta_async);
}

static void on_meta_async(uv_async_t *handle) {
  struct coordinator *c = handle->data;
  meta_drain_completions(c->meta);
}

static int start_repairer(struct coordinator *c) {
  struct repairer_config rc = {(uint64_t)c->config.repair_interval_ms,
                               (uint64_t)c->config.node_dead_after_ms,
                               (uint64_t)c->config.repair_rate};
  return repairer_start(c->loop, c->meta, c->cluster, c->links, &rc,
                        &c->repairer);
}

static void on_http_closed(void *arg) {
  struct coordinator *c = arg;
  uv_close((uv_handle_t *)&c->meta_async, NULL); /* no request is left */
  cpu_pool_close(c->cpu);                        /* no writer is left either */
  c->cpu = NULL;
  repairer_stop(c->repairer); /* before the links its job uses */
  c->repairer = NULL;
  gc_stop(c->gc);
  c->gc = NULL;
  node_link_pool_free(c->links);
  c->links = NULL;
  cluster_stop(c->cluster);
  c->cluster = NULL;
  uv_close((uv_handle_t *)&c->sigterm, NULL);
  uv_close((uv_handle_t *)&c->sigint, NULL);
}

static void on_signal(uv_signal_t *handle, int signum) {
  struct coordinator *c = handle->data;
  if (c->stopping) {
    log_warn("coord", "second signal %d: exiting now", signum);
    exit(1);
  }
  c->stopping = 1;
  log_info("coord", "signal %d: shutting down gracefully", signum);
  http_server_shutdown(c->http, on_http_closed, c);
}

static void walk_close(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

int main(int argc, char **argv) {
  struct coordinator coord;
  struct coordinator *c = &coord;
  char err[512] = "";
  int exit_code = 1, rc;

  memset(c, 0, sizeof *c);
  /* Buffers of 96 KiB and more (PUT pieces, node-link input buffers) are
   * mapped and unmapped on their own instead of glibc's default, which
   * raises that threshold as they are freed and then keeps them in the
   * heap: at 256 connections of 1 MiB PUTs the peak RSS was 221-235 MiB
   * with the default and 118 MiB with this (GETs: 243 -> 168 MiB). Below
   * 96 KiB stay the connections and one-block GET buffers: mapped, they
   * cost a third of the 256-connection GET rate in page faults. */
  mallopt(M_MMAP_THRESHOLD, 96 * 1024);
  c->started_ms = coord_now_ms();
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (crypto_init() != 0)
    return fail("%s", "OpenSSL could not provide SHA-256/MD5/HMAC");

  rc = config_load(coord_options, coord_option_count, &c->config, argc, argv,
                   PROGRAM, err, sizeof err);
  if (rc != 0) {
    exit_code = rc > 0 ? 0 : fail("%s", err);
    goto out_config;
  }
  int level = log_level_parse(c->config.log_level);
  if (level < 0) {
    fail("unknown log level '%s' (debug, info, warn, error)",
         c->config.log_level);
    goto out_config;
  }
  log_set_level((enum log_level)level);
  /* Each S3 connection and each node link in flight is a descriptor. */
  uint64_t files = fd_limit_raise(COORD_OPEN_FILES);
  if (files < COORD_OPEN_FILES)
    log_warn("coord",
             "open files limited to %llu: S3 connections and node "
             "links beyond that will be refused",
             (unsigned long long)files);

  char host[256];
  int port;
  if (config_parse_hostport(c->config.listen, host, sizeof host, &port)) {
    fail("--listen wants host:port, got '%s'", c->config.listen);
    goto out_config;
  }
  c->default_layout =
      (struct meta_layout){META_LAYOUT_REPLICA, (uint8_t)c->config.replicas, 0};
  if (c->config.layout &&
      layout_parse(c->config.layout, &c->default_layout) != 0) {
    fail("--layout wants replica:N, raid5:K, raid6:K, archive:K or qrain:K "
         "(K 1..16), got '%s'",
         c->config.layout);
    goto out_config;
  }
  if (prepare_data_dir(c->config.data_dir, err, sizeof err) != 0 ||
      credentials_load(&c->config, &c->secrets, err, sizeof err) != 0) {
    fail("%s", err);
    goto out_config;
  }
  if (kms_open(c->config.data_dir, &c->kms, err, sizeof err) != 0) {
    fail("%s", err);
    goto out_secrets;
  }

  char meta_dir[4096];
  snprintf(meta_dir, sizeof meta_dir, "%s/meta", c->config.data_dir);
  if (meta_open_cached(meta_dir, (size_t)c->config.meta_cache_bytes, &c->meta,
                       err, sizeof err) != 0) {
    fail("%s", err);
    goto out_secrets;
  }
  c->iam = (struct iam){.meta = c->meta,
                        .kms = c->kms,
                        .root_access_key = c->secrets.root_access_key,
                        .root_secret_key = c->secrets.root_secret_key,
                        .rotation_grace_ms = c->config.key_rotation_grace_ms,
                        .policies = policy_cache_new(),
                        .keys = iam_key_cache_new()};
  c->access = (struct access){.iam = &c->iam,
                              .sigv2 = c->config.sigv2 != 0,
                              .key_cache = &c->key_cache};
  if (access_tokens_open(&c->access, c->meta, c->kms, err, sizeof err) != 0) {
    fail("%s", err);
    goto out_meta;
  }

  c->loop = uv_default_loop();
  uv_async_init(c->loop, &c->meta_async, on_meta_async);
  c->meta_async.data = c;
  meta_set_notify(c->meta, on_meta_notify, c);
  struct cluster_config cluster_cfg = {
      .endpoint = c->config.cluster_listen,
      .secret = (const uint8_t *)c->secrets.cluster_secret,
      .secret_len = c->secrets.cluster_secret_len,
      .heartbeat_interval_ms = (int)c->config.heartbeat_interval_ms,
      .heartbeat_misses = (int)c->config.heartbeat_misses,
      .meta = c->meta,
  };
  if (cluster_start(c->loop, &cluster_cfg, &c->cluster, err, sizeof err)) {
    fail("%s", err);
    goto out_meta;
  }

  if (cpu_pool_new(c->loop, 0, &c->cpu) != 0) {
    fail("%s", "cannot start the worker threads");
    cluster_stop(c->cluster);
    goto out_loop;
  }
  c->get_buffers[0] =
      buf_pool_new(S3_GET_BATCH + S3_GET_BUFFER_HEADER, S3_GET_BUFFERS_IDLE);
  c->get_buffers[1] = buf_pool_new(S3_GET_SMALL_BATCH + S3_GET_BUFFER_HEADER,
                                   S3_GET_SMALL_BUFFERS_IDLE);
  c->get_staging =
      buf_pool_new(object_reader_stage_bytes(), S3_GET_STAGING_IDLE);
  int pools_ok = 1;
  for (unsigned i = 0; i < OBJECT_WRITER_POOLS; i++) {
    size_t size = object_writer_piece_bytes(i);
    size_t keep = S3_PUT_PIECES_IDLE_BYTES / size + 1;
    /* Under the mmap threshold the heap would take them (fragmented). */
    c->put_pieces[i] =
        i == 0 ? buf_pool_new_mapped(size, keep) : buf_pool_new(size, keep);
    pools_ok &= c->put_pieces[i] != NULL;
  }
  if (!c->get_buffers[0] || !c->get_buffers[1] || !c->get_staging ||
      !pools_ok ||
      node_link_pool_new(c->loop, (const uint8_t *)c->secrets.cluster_secret,
                         c->secrets.cluster_secret_len, &c->links) != 0 ||
      gc_start(c->loop, c->meta, c->cluster, c->links,
               (uint64_t)c->config.gc_interval_ms, &c->gc) != 0 ||
      start_repairer(c) != 0) {
    fail("%s", "cannot start the data path");
    cpu_pool_close(c->cpu);
    cluster_stop(c->cluster);
    goto out_loop;
  }

  struct http_limits limits;
  http_limits_default(&limits);
  limits.max_header_bytes = (size_t)c->config.max_header_bytes;
  limits.max_headers = (size_t)c->config.max_headers;
  limits.header_timeout_ms = (int)c->config.header_timeout_ms;
  limits.idle_timeout_ms = (int)c->config.idle_timeout_ms;
  limits.body_timeout_ms = (int)c->config.body_timeout_ms;
  limits.shutdown_grace_ms = (int)c->config.shutdown_grace_ms;
  struct http_handler handler;
  frontend_handler(c, &handler);
  if (http_server_start(c->loop, host, port, &limits, &handler, &c->http, err,
                        sizeof err) != 0) {
    fail("%s", err);
    cpu_pool_close(c->cpu);
    repairer_stop(c->repairer);
    gc_stop(c->gc);
    node_link_pool_free(c->links);
    cluster_stop(c->cluster);
    goto out_loop;
  }

  uv_signal_init(c->loop, &c->sigterm);
  uv_signal_init(c->loop, &c->sigint);
  c->sigterm.data = c->sigint.data = c;
  uv_signal_start(&c->sigterm, on_signal, SIGTERM);
  uv_signal_start(&c->sigint, on_signal, SIGINT);
  signal(SIGPIPE, SIG_IGN);

  log_info("coord",
           "cairn-coordinator %s: S3 endpoint http://%s, nodes at %s,"
           " data in %s",
           CAIRN_VERSION, c->config.listen, c->config.cluster_listen,
           c->config.data_dir);
  uv_run(c->loop, UV_RUN_DEFAULT);
  http_server_free(c->http);
  log_info("coord", "stopped");
  exit_code = 0;

out_loop:
  uv_walk(c->loop, walk_close, NULL);
  uv_run(c->loop, UV_RUN_DEFAULT);
  uv_loop_close(c->loop);
  for (int i = 0; i < 2; i++) { /* every request has ended */
    buf_pool_free(c->get_buffers[i]);
    c->get_buffers[i] = NULL;
  }
  buf_pool_free(c->get_staging);
  c->get_staging = NULL;
  for (unsigned i = 0; i < OBJECT_WRITER_POOLS; i++) {
    buf_pool_free(c->put_pieces[i]);
    c->put_pieces[i] = NULL;
  }
out_meta:
  s3_bucket_cache_clear(c);
  policy_cache_free(c->iam.policies);
  iam_key_cache_free(c->iam.keys);
  access_tokens_close(&c->access);
  meta_close(c->meta);
out_secrets:
  kms_close(c->kms);
  credentials_clear(&c->secrets);
  sigv4_key_cache_clear(&c->key_cache);
out_config:
  config_release(coord_options, coord_option_count, &c->config);
  crypto_shutdown();
  return exit_code;
}

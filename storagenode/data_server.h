/*
 * data_server.h - the storage node's data port: a TCP server on libuv that
 * speaks the framed data protocol (common/frame.h, proto/cairn.proto) with
 * the coordinator and stores chunks in the chunk store.
 */
#ifndef CAIRN_DATA_SERVER_H
#define CAIRN_DATA_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct data_server;
struct node_disks;

struct data_server_config {
  const char *listen_addr; /* "127.0.0.1:9201" */
  const uint8_t *secret;   /* cluster secret; copied */
  size_t secret_len;
  const char *const *data_dirs; /* one per disk; borrowed for the call */
  size_t data_dir_count;
  struct node_disks *disks; /* per-dir service state (disks.h) or NULL */
};

/* Binds and starts serving on loop. Returns 0 or CAIRN_E*
 * (CAIRN_EADDRINUSE when the port is taken) with a reason in err. */
int data_server_start(uv_loop_t *loop, const struct data_server_config *cfg,
                      struct data_server **out, char *err, size_t err_len);
/* The chunk store's segment log (segment_log.h), or NULL; valid until
 * data_server_stop. */
struct segment_log;
struct segment_log *data_server_segments(struct data_server *srv);
/* Stops accepting, closes every connection; the loop can then finish. */
void data_server_stop(struct data_server *srv);

#endif

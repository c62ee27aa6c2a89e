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

/* Data connections a node takes at once. The coordinator opens one per
 * fragment operation in flight and never queues them (a streamed put
 * holds its connection while its upload's other copies take theirs, so a
 * queue below some limit could leave two uploads each holding what the
 * other waits for): the node takes as many as a busy coordinator opens.
 * At 256, 600 PUTs of 256 KiB at once had a quarter refused. Each costs
 * what it reads and buffers (its input buffer's pages are touched as used;
 * a streamed put holds up to 1 MiB here and the chunk writer's ~1 MiB
 * output buffer): 1024 of them bound a node's connections at ~2.1 GiB. */
#define DATA_CONN_MAX 1024

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

/*
 * node.h - cairn-node's configuration and the small pieces its main wires:
 * the node identity, capacity accounting and the control channel.
 */
#ifndef CAIRN_NODE_H
#define CAIRN_NODE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"

struct node_config {
  char *coordinator;
  char *listen;
  char *advertise;
  char *data_dir; /* comma-separated */
  char *cluster_secret;
  char *cluster_secret_file;
  char *labels;
  char *log_level;
  int64_t heartbeat_interval_ms;
};

extern const struct config_option node_options[];
extern const size_t node_option_count;

#define NODE_MAX_DATA_DIRS 32

/* Reads DIR/node.id, or creates it (32 random hex, written durably).
 * 0 or CAIRN_E* with a reason in err. */
int node_identity_load(const char *dir, char id[33], char *err,
                       size_t err_len);

/* Sums statvfs over the data dirs, counting a file system shared by
 * several dirs once. */
void node_capacity(char *const *dirs, size_t n, uint64_t *capacity,
                   uint64_t *free_bytes);

struct node_control;
struct node_control_config {
  const char *endpoint;
  const char *node_id;
  const char *data_addr;
  const uint8_t *secret;
  size_t secret_len;
  int heartbeat_interval_ms;
  char *const *data_dirs;
  size_t data_dir_count;
  const char *labels; /* "k=v,k=v" */
  /* Called when the coordinator refused us for good (bad secret). */
  void (*on_refused)(const char *reason, void *arg);
  void *arg;
};
int node_control_start(uv_loop_t *loop, const struct node_control_config *cfg,
                       struct node_control **out, char *err, size_t err_len);
void node_control_stop(struct node_control *nc);

#endif

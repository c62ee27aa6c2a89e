/*
 * node_config.h - cairn-node's options (common/config.h table; flags > file
 * > env > default). String fields are owned by the struct and released with
 * config_release(node_options, node_option_count, &cfg).
 */
#ifndef CAIRN_NODE_CONFIG_H
#define CAIRN_NODE_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct node_config {
  char *coordinator;    /* ZeroMQ endpoint, "tcp://127.0.0.1:9100" */
  char *listen;         /* data port, "127.0.0.1:9201" */
  char *advertise;      /* NULL: same as listen */
  char *data_dir;       /* comma-separated, one per disk */
  char *cluster_secret; /* never logged */
  char *cluster_secret_file;
  char *labels; /* "host=a,rack=b" */
  char *log_level;
  int64_t heartbeat_interval_ms;
  int64_t scrub_rate;        /* bytes/s, 0: off */
  int64_t scrub_interval_ms; /* between passes */
  int64_t max_bytes_per_dir; /* fault injection, 0: off */
};

extern const struct config_option node_options[];
extern const size_t node_option_count;

#endif

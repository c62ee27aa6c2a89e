/*
 * coord_config.h - every option of cairn-coordinator, in one table that also
 * feeds --help and the README's configuration table.
 */
#ifndef CAIRN_COORD_CONFIG_H
#define CAIRN_COORD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct coord_config {
  char *listen;         /* S3 endpoint host:port */
  char *cluster_listen; /* ZeroMQ endpoint for nodes */
  char *data_dir;
  char *cluster_secret;
  char *cluster_secret_file;
  char *root_access_key;
  char *root_secret_key;
  char *domain; /* virtual-hosted-style base domain, or NULL */
  char *region;
  char *log_level;
  int64_t heartbeat_interval_ms;
  int64_t heartbeat_misses;
  int64_t replicas;
  char *layout; /* cluster default layout; NULL: replica:<replicas> */
  int64_t ec_min_size;
  int64_t chunk_size;
  int64_t max_header_bytes;
  int64_t max_headers;
  int64_t header_timeout_ms;
  int64_t idle_timeout_ms;
  int64_t body_timeout_ms;
  int64_t shutdown_grace_ms;
  int64_t write_intent_grace_ms;
  int64_t key_rotation_grace_ms;
  int64_t repair_interval_ms;
  int64_t repair_rate;
  int64_t node_dead_after_ms;
  int64_t gc_interval_ms;
  int64_t meta_cache_bytes;
  int64_t put_budget_bytes;
  int sigv2; /* accept AWS Signature Version 2 */
};

extern const struct config_option coord_options[];
extern const size_t coord_option_count;

#endif

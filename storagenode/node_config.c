/* node_config.c - cairn-node's option table (see node_config.h). */
#include "node_config.h"

#include <stddef.h>

#define FIELD(f) offsetof(struct node_config, f)

const struct config_option node_options[] = {
    {"coordinator", "CAIRN_COORDINATOR", CONFIG_STRING, "tcp://127.0.0.1:9100",
     FIELD(coordinator), 0, 0, "the coordinator's control endpoint"},
    {"listen", "CAIRN_NODE_LISTEN", CONFIG_STRING, "127.0.0.1:9201",
     FIELD(listen), 0, 0, "data port (host:port)"},
    {"advertise", "CAIRN_NODE_ADVERTISE", CONFIG_STRING, NULL, FIELD(advertise),
     0, 0,
     "address the coordinator uses to reach the data port (default: listen)"},
    {"data-dir", "CAIRN_NODE_DATA_DIR", CONFIG_STRING, "./data/node1",
     FIELD(data_dir), 0, 0, "comma-separated data directories, one per disk"},
    {"cluster-secret", "CAIRN_CLUSTER_SECRET", CONFIG_STRING, NULL,
     FIELD(cluster_secret), 0, 0, "the cluster secret (at least 16 chars)"},
    {"cluster-secret-file", "CAIRN_CLUSTER_SECRET_FILE", CONFIG_STRING, NULL,
     FIELD(cluster_secret_file), 0, 0,
     "file holding the cluster secret (one of the two is required)"},
    {"heartbeat-interval-ms", "CAIRN_HEARTBEAT_INTERVAL_MS", CONFIG_INT, "2000",
     FIELD(heartbeat_interval_ms), 100, 60000,
     "heartbeat period until the coordinator says otherwise"},
    {"labels", "CAIRN_NODE_LABELS", CONFIG_STRING, "", FIELD(labels), 0, 0,
     "failure-domain labels, host=a,rack=b"},
    {"log-level", "CAIRN_LOG_LEVEL", CONFIG_STRING, "info", FIELD(log_level), 0,
     0, "debug, info, warn or error"},
    {"scrub-rate", "CAIRN_SCRUB_RATE", CONFIG_INT, "16M", FIELD(scrub_rate), 0,
     1LL << 40, "bytes per second the scrubber reads (0: no scrubbing)"},
    {"scrub-interval-ms", "CAIRN_SCRUB_INTERVAL_MS", CONFIG_INT, "3600000",
     FIELD(scrub_interval_ms), 10, 30 * 24 * 3600000LL,
     "rest between two scrub passes over every fragment"},
    {"max-bytes-per-dir", "CAIRN_MAX_BYTES_PER_DIR", CONFIG_INT, "0",
     FIELD(max_bytes_per_dir), 0, 1LL << 50,
     "test knob: a data dir answers ENOSPC after this many bytes (0: off)"},
};

const size_t node_option_count = sizeof node_options / sizeof node_options[0];

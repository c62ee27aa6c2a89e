/* coord_config.c - the coordinator's option table (see coord_config.h). */
#include "coord_config.h"

#include "config.h"

#include <stddef.h>

#define OPT_INT(field) offsetof(struct coord_config, field)

const struct config_option coord_options[] = {
    {"listen", "CAIRN_LISTEN", CONFIG_STRING, "127.0.0.1:9000",
     offsetof(struct coord_config, listen), 0, 0,
     "S3 endpoint address (host:port)"},
    {"cluster-listen", "CAIRN_CLUSTER_LISTEN", CONFIG_STRING,
     "tcp://127.0.0.1:9100", offsetof(struct coord_config, cluster_listen), 0,
     0, "ZeroMQ endpoint the storage nodes connect to"},
    {"data-dir", "CAIRN_DATA_DIR", CONFIG_STRING, "./data/coord",
     offsetof(struct coord_config, data_dir), 0, 0,
     "metadata (RocksDB), credentials and cluster secret"},
    {"cluster-secret", "CAIRN_CLUSTER_SECRET", CONFIG_STRING, NULL,
     offsetof(struct coord_config, cluster_secret), 0, 0,
     "secret shared with the nodes (at least 16 characters)"},
    {"cluster-secret-file", "CAIRN_CLUSTER_SECRET_FILE", CONFIG_STRING, NULL,
     offsetof(struct coord_config, cluster_secret_file), 0, 0,
     "file holding the cluster secret; default DATA_DIR/cluster.secret, "
     "generated on first start"},
    {"root-access-key", "CAIRN_ROOT_ACCESS_KEY", CONFIG_STRING, NULL,
     offsetof(struct coord_config, root_access_key), 0, 0,
     "root access key; generated into DATA_DIR/root.credentials if unset"},
    {"root-secret-key", "CAIRN_ROOT_SECRET_KEY", CONFIG_STRING, NULL,
     offsetof(struct coord_config, root_secret_key), 0, 0,
     "root secret key (give it with the access key)"},
    {"domain", "CAIRN_DOMAIN", CONFIG_STRING, NULL,
     offsetof(struct coord_config, domain), 0, 0,
     "base domain for virtual-hosted-style requests (bucket.DOMAIN)"},
    {"region", "CAIRN_REGION", CONFIG_STRING, "us-east-1",
     offsetof(struct coord_config, region), 0, 0,
     "region name used in SigV4 scopes and GetBucketLocation"},
    {"log-level", "CAIRN_LOG_LEVEL", CONFIG_STRING, "info",
     offsetof(struct coord_config, log_level), 0, 0,
     "debug, info, warn or error"},
    {"heartbeat-interval-ms", "CAIRN_HEARTBEAT_INTERVAL_MS", CONFIG_INT, "2000",
     OPT_INT(heartbeat_interval_ms), 100, 60000, "how often nodes heartbeat"},
    {"heartbeat-misses", "CAIRN_HEARTBEAT_MISSES", CONFIG_INT, "3",
     OPT_INT(heartbeat_misses), 1, 100,
     "missed heartbeats before a node is marked down"},
    {"replicas", "CAIRN_REPLICAS", CONFIG_INT, "2", OPT_INT(replicas), 1, 16,
     "copies of each chunk on distinct nodes"},
    {"layout", "CAIRN_LAYOUT", CONFIG_STRING, NULL,
     offsetof(struct coord_config, layout), 0, 0,
     "default layout of new buckets: replica:N, raid5:K, raid6:K, archive:K "
     "or qrain:K (none: replica:REPLICAS)"},
    {"ec-min-size", "CAIRN_EC_MIN_SIZE", CONFIG_INT, "1M", OPT_INT(ec_min_size),
     0, 1LL << 40,
     "objects (parts) smaller than this are replicated, not erasure-coded"},
    {"chunk-size", "CAIRN_CHUNK_SIZE", CONFIG_INT, "4M", OPT_INT(chunk_size),
     65536, 64 << 20, "bytes per chunk sent to the nodes"},
    {"max-header-bytes", "CAIRN_MAX_HEADER_BYTES", CONFIG_INT, "64K",
     OPT_INT(max_header_bytes), 1024, 1 << 20,
     "limit on a request's header block (431 beyond)"},
    {"max-headers", "CAIRN_MAX_HEADERS", CONFIG_INT, "100",
     OPT_INT(max_headers), 8, 1000, "limit on header count (431 beyond)"},
    {"header-timeout-ms", "CAIRN_HEADER_TIMEOUT_MS", CONFIG_INT, "10000",
     OPT_INT(header_timeout_ms), 100, 600000,
     "time a client has to send a request's headers (408 beyond)"},
    {"idle-timeout-ms", "CAIRN_IDLE_TIMEOUT_MS", CONFIG_INT, "60000",
     OPT_INT(idle_timeout_ms), 100, 3600000,
     "idle keep-alive connections are closed after this"},
    {"body-timeout-ms", "CAIRN_BODY_TIMEOUT_MS", CONFIG_INT, "30000",
     OPT_INT(body_timeout_ms), 100, 3600000,
     "a request body that makes no progress this long is dropped (408)"},
    {"shutdown-grace-ms", "CAIRN_SHUTDOWN_GRACE_MS", CONFIG_INT, "10000",
     OPT_INT(shutdown_grace_ms), 0, 600000,
     "on SIGTERM, time in-flight requests get to finish"},
    {"write-intent-grace-ms", "CAIRN_WRITE_INTENT_GRACE_MS", CONFIG_INT,
     "3600000", OPT_INT(write_intent_grace_ms), 1000, 7 * 24 * 3600000LL,
     "chunks of an upload that never completed are deleted after this"},
    {"key-rotation-grace-ms", "CAIRN_KEY_ROTATION_GRACE_MS", CONFIG_INT,
     "600000", OPT_INT(key_rotation_grace_ms), 0, 7 * 24 * 3600000LL,
     "a rotated access key keeps working this long"},
    {"repair-interval-ms", "CAIRN_REPAIR_INTERVAL_MS", CONFIG_INT, "1000",
     OPT_INT(repair_interval_ms), 10, 3600000,
     "how often the repairer looks at the degraded-chunk index when idle"},
    {"repair-rate", "CAIRN_REPAIR_RATE", CONFIG_INT, "64M",
     OPT_INT(repair_rate), 0, 1LL << 40,
     "bytes per second the repairer may read (0: unlimited)"},
    {"node-dead-after-ms", "CAIRN_NODE_DEAD_AFTER_MS", CONFIG_INT, "600000",
     OPT_INT(node_dead_after_ms), 100, 30 * 24 * 3600000LL,
     "a node down this long is declared dead: its fragments are rebuilt"},
    {"gc-interval-ms", "CAIRN_GC_INTERVAL_MS", CONFIG_INT, "5000",
     OPT_INT(gc_interval_ms), 10, 3600000,
     "how often the garbage collector deletes unreferenced fragments"},
    /* 32 MiB: listing and deleting 300,000 keys (make bench) filled the
     * old 64 MiB cache and it stayed in the RSS; a sequential scan reads
     * blocks once, from the page cache when they are not here. */
    {"meta-cache-bytes", "CAIRN_META_CACHE_BYTES", CONFIG_INT, "32M",
     OPT_INT(meta_cache_bytes), 1 << 20, 1LL << 40,
     "RocksDB block cache of the metadata store (data, index and filter "
     "blocks)"},
    /* 48 MiB: 256 uploads of 1 MiB at once peaked at 221 MiB of RSS with
     * full windows, ~150 MiB within this. */
    {"put-budget-bytes", "CAIRN_PUT_BUDGET_BYTES", CONFIG_INT, "48M",
     OPT_INT(put_budget_bytes), 1, 1LL << 40,
     "upload bytes all PUTs may hold in memory together; replicated uploads "
     "take smaller pieces, erasure-coded ones wait their turn"},
    {"sigv2", "CAIRN_SIGV2", CONFIG_BOOL, "on",
     offsetof(struct coord_config, sigv2), 0, 0,
     "accept AWS Signature Version 2 (s3cmd --signature-v2, old SDKs); "
     "off refuses it with AccessDenied"},
};

const size_t coord_option_count =
    sizeof coord_options / sizeof coord_options[0];

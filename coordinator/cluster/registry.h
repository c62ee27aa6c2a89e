/*
 * registry.h - the coordinator's view of its storage nodes.
 *
 * Nodes connect over ZeroMQ (DEALER -> our ROUTER), prove the cluster secret
 * with an HMAC on every message (proto/cairn.proto), register, and heartbeat.
 * A node that misses `heartbeat_misses` intervals is marked down; a heartbeat
 * or a new hello brings it back up. Registrations are persisted in the
 * metadata store so the node set survives a coordinator restart (loaded as
 * down until they speak).
 */
#ifndef CAIRN_CLUSTER_REGISTRY_H
#define CAIRN_CLUSTER_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct meta;
struct cluster;

struct cluster_config {
  const char *endpoint;  /* ZeroMQ bind endpoint, "tcp://127.0.0.1:9100" */
  const uint8_t *secret; /* cluster secret; copied */
  size_t secret_len;
  int heartbeat_interval_ms; /* told to nodes in HelloAck */
  int heartbeat_misses;      /* down after this many missed intervals */
  struct meta *meta;         /* borrowed; outlives the cluster */
};

struct cluster_node_view {
  char node_id[33];
  char data_addr[128];
  int up;
  int64_t last_heartbeat_ms; /* unix ms; 0 if never since start */
  uint64_t capacity_bytes;
  uint64_t free_bytes;
  int drain_state;        /* CLUSTER_DRAIN_*; persisted */
  uint32_t dirs_total;    /* data dirs the node reports */
  uint32_t dirs_writable; /* of them, in service for writes */
  char labels[256];       /* "host=a,rack=b,site=c,fs=x" (placement.h) */
};

/* Drain states: a draining node gets no new fragments while the repairer
 * moves its fragments away; drained: none left, it may be removed. */
#define CLUSTER_DRAIN_NONE 0
#define CLUSTER_DRAIN_DRAINING 1
#define CLUSTER_DRAIN_DRAINED 2

/* The cluster's capacity and free bytes over views[0..n): nodes on one
 * shared filesystem (label fs=ID) count once. */
void cluster_capacity_totals(const struct cluster_node_view *views, size_t n,
                             uint64_t *capacity, uint64_t *free_bytes);

/* May new fragments go to this node? */
static inline int cluster_node_writable(const struct cluster_node_view *v) {
  return v->up && v->drain_state == CLUSTER_DRAIN_NONE && v->free_bytes > 0;
}

/* Binds and starts serving on loop. Returns 0 or CAIRN_E* (CAIRN_EADDRINUSE
 * when the endpoint is taken) with a one-line reason in err. */
int cluster_start(uv_loop_t *loop, const struct cluster_config *cfg,
                  struct cluster **out, char *err, size_t err_len);
/* Closes every handle and socket; the loop can then finish. */
void cluster_stop(struct cluster *c);

/* Copies up to cap node views in node-id order; returns how many nodes
 * exist (may exceed cap). */
size_t cluster_nodes_snapshot(struct cluster *c, struct cluster_node_view *out,
                              size_t cap);

/* Copies the view of one node; 0 or CAIRN_ENOENT. */
int cluster_node_find(struct cluster *c, const char *node_id,
                      struct cluster_node_view *out);

/* The endpoint as bound, with a wildcard port resolved
 * ("tcp://127.0.0.1:*" -> "tcp://127.0.0.1:41234"); owned by c. */
const char *cluster_endpoint(const struct cluster *c);

/* Sets and persists (config blob "node-drain:<id>") a node's drain state.
 * 0, CAIRN_ENOENT, or a metadata error. */
int cluster_node_set_drain(struct cluster *c, const char *node_id, int state);
/* Forgets a node (table and metadata). CAIRN_ENOENT when unknown. */
int cluster_node_remove(struct cluster *c, const char *node_id);

/* Corruption reports that arrive in heartbeats are handed to this hook
 * (the repairer); cluster_report_corrupt lets a reader report one too. */
typedef void (*cluster_corrupt_hook)(void *arg, const char *node_id,
                                     const uint8_t chunk_id[16],
                                     uint32_t index);
void cluster_set_corrupt_hook(struct cluster *c, cluster_corrupt_hook hook,
                              void *arg);
void cluster_report_corrupt(struct cluster *c, const char *node_id,
                            const uint8_t chunk_id[16], uint32_t index);

/*
 * Protocol notes (registry.c has the full table):
 *  - A message whose MAC does not verify (wrong cluster secret) gets no
 *    answer and one rate-limited WARN line "refused node <id> from <peer>:
 *    bad cluster secret"; the node gives up after a few unanswered hellos.
 *  - A heartbeat from a node that has not said hello to this coordinator
 *    run is answered HelloAck{accepted=false, say_hello=true}; the node
 *    then says hello again (this is how nodes re-register after a
 *    coordinator restart).
 *  - Heartbeats update liveness and free space in memory only; hellos are
 *    persisted with meta_node_put (first_seen kept).
 */

#endif

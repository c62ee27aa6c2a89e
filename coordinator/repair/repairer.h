/*
 * repairer.h - the background repairer: works through the metadata's
 * degraded-chunk index (meta.h, table D) one chunk at a time, at a bounded
 * rate, rebuilding each bad fragment from the survivors onto another node
 * (repair_plan.h) and committing the move in one metadata batch. It also
 * turns node events into index rows: a node down longer than
 * dead_after_ms, or put to draining, has every fragment it holds marked;
 * corruption reports (a node's scrubber, a GET) mark one fragment.
 *
 * Memory: one chunk's stored bytes (plus parity) at a time.
 * Loop thread only.
 */
#ifndef CAIRN_REPAIRER_H
#define CAIRN_REPAIRER_H

#include <stdint.h>
#include <uv.h>

struct cluster;
struct meta;
struct node_link_pool;
struct repairer;

struct repairer_config {
  uint64_t interval_ms;   /* between looks at the index when idle */
  uint64_t dead_after_ms; /* a node down this long is declared dead */
  uint64_t bytes_per_sec; /* repair read bandwidth; 0: unlimited */
};

struct repairer_stats {
  uint64_t degraded_chunks; /* rows in the index now */
  uint64_t queued;          /* rows added by this process (reports, sweeps) */
  uint64_t repaired;        /* chunk repairs committed with every bad
                               fragment rebuilt */
  uint64_t failed;          /* repair attempts that failed */
  uint64_t waiting;         /* last pass: chunks that cannot be repaired yet */
  uint64_t bytes_repaired;  /* fragment bytes written */
  uint64_t corrupt_reports; /* corrupt fragments reported */
};

int repairer_start(uv_loop_t *loop, struct meta *meta, struct cluster *cluster,
                   struct node_link_pool *links,
                   const struct repairer_config *cfg, struct repairer **out);
/* Stops the timer; a repair in flight is cancelled (its new copies, if
 * any, are left to the write-intent-free garbage path: never committed). */
void repairer_stop(struct repairer *r);
void repairer_get_stats(struct repairer *r, struct repairer_stats *out);
/* Starts moving every fragment off node_id (the node must be known); it
 * gets no new fragments from now on. 0, CAIRN_ENOENT. */
int repairer_drain(struct repairer *r, const char *node_id);
/* Is this node declared dead (down at least dead_after_ms)? */
struct cluster_node_view;
int repairer_node_dead(const struct repairer *r,
                       const struct cluster_node_view *v);
/* A fragment that failed its checksum on node_id: queue it for repair. */
void repairer_report_corrupt(struct repairer *r, const char *node_id,
                             const uint8_t chunk_id[16], uint32_t index);

#endif

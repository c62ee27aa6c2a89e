/*
 * repair_plan.h - what a repair of one chunk must do, as a pure function of
 * the chunk's record and the cluster's view of its nodes: which fragments
 * are bad (recorded missing, reported corrupt, on a dead, draining or
 * unknown node), which can be read, and which nodes take the rebuilt
 * fragments (placement as for writes: weighted rendezvous over up nodes
 * that are not draining, distinct from the chunk's other fragments; a
 * corrupt fragment may be rewritten in place when no other node fits).
 */
#ifndef CAIRN_REPAIR_PLAN_H
#define CAIRN_REPAIR_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "meta.h"

#define REPAIR_MAX_FRAGMENTS 32

struct repair_node {
  const char *node_id;
  int up;       /* heartbeating */
  int dead;     /* down past the grace: its fragments are lost */
  int draining; /* no new fragments; its fragments move away */
  uint64_t free_bytes;
  const char *labels; /* failure-domain labels (placement.h), or NULL */
};

struct repair_plan {
  uint32_t n_bad;
  uint32_t bad[REPAIR_MAX_FRAGMENTS]; /* positions in chunk->fragments */
  uint32_t n_readable; /* fragments on up nodes, not missing or corrupt */
  int deferred;        /* a fragment is on a node down but not yet dead */
  int feasible;        /* enough readable fragments to rebuild from */
  /* After repair_plan_targets: node index (into nodes[]) per bad one. */
  size_t target[REPAIR_MAX_FRAGMENTS];
};

/* Fills *p. corrupt_mask bit i: fragment index i was reported corrupt. */
void repair_plan_chunk(const struct meta_chunk *c, uint32_t corrupt_mask,
                       const struct repair_node *nodes, size_t n,
                       struct repair_plan *p);
/* Chooses p->target[] for the bad fragments. 0, or CAIRN_EUNAVAIL when
 * some bad fragment has no node to go to. */
int repair_plan_targets(const struct meta_chunk *c,
                        const struct repair_node *nodes, size_t n,
                        uint64_t fragment_bytes, struct repair_plan *p);

#endif

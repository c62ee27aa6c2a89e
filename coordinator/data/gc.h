/*
 * gc.h - the garbage collector: deletes from the nodes the fragments of
 * chunks no object refers to any more (overwritten or deleted objects,
 * aborted or failed uploads), as queued in the metadata store's garbage
 * table, and then forgets them. A fragment on a node that is down stays
 * queued and is retried on a later pass.
 */
#ifndef CAIRN_GC_H
#define CAIRN_GC_H

#include <uv.h>

struct cluster;
struct meta;
struct node_link_pool;
struct gc;

#define GC_INTERVAL_MS 5000
#define GC_BATCH 64

/* interval_ms 0: GC_INTERVAL_MS. */
int gc_start(uv_loop_t *loop, struct meta *meta, struct cluster *cluster,
             struct node_link_pool *links, uint64_t interval_ms,
             struct gc **out);
/* Stops the timer; in-flight deletes finish on their own. */
void gc_stop(struct gc *g);

#endif

/*
 * object_reader.c - ranged, failover reads of an object's chunks.
 *
 *   START --next chunk--> FETCHING --node done ok--> (next chunk | DONE)
 *                            |  ^
 *                 node error |  | retry from the same offset
 *                            v  |  on the next replica
 *                         FAILOVER --no replica left--> DONE(error)
 *
 * Invariants:
 *  1. At most one node_get is in flight; done() fires only when none is.
 *  2. `delivered` counts bytes handed to on_data: a retry asks the next
 *     replica for the rest of the chunk's range only, so the client never
 *     sees a byte twice.
 */
#include "object_reader.h"

#include "error.h"
#include "log.h"
#include "node_link.h"
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct object_reader {
  struct object_reader_config cfg;
  uint32_t chunk;     /* index of the chunk being read */
  uint32_t replica;   /* which fragment of it we are trying */
  uint64_t delivered; /* bytes of the range handed to on_data */
  struct node_get *op;
  int paused, canceled, done_called, status;
};

static void finish(struct object_reader *r, int status) {
  if (r->done_called)
    return;
  r->done_called = 1;
  r->cfg.done(r, status, r->cfg.arg);
}

static int fetch(struct object_reader *r);

/* Looks up where a node's data port is now (nodes may move). */
static int node_addr(struct object_reader *r, const char *node_id, char *addr,
                     size_t cap) {
  struct cluster_node_view view;
  int rc = cluster_node_find(r->cfg.cluster, node_id, &view);
  if (rc != 0)
    return rc;
  if (!view.up)
    return CAIRN_EUNAVAIL;
  snprintf(addr, cap, "%s", view.data_addr);
  return 0;
}

static int on_node_data(const void *data, size_t len, void *arg) {
  struct object_reader *r = arg;
  if (r->canceled)
    return 0;
  r->delivered += len;
  if (r->cfg.on_data(data, len, r->cfg.arg) != 0) {
    r->paused = 1;
    return 1; /* node_link stops delivering until node_get_resume */
  }
  return 0;
}

static void on_node_done(struct node_get *op, int status, void *arg) {
  struct object_reader *r = arg;
  (void)op;
  r->op = NULL;
  if (r->canceled) {
    finish(r, CAIRN_ECANCELED);
    return;
  }
  if (status == 0) {
    r->chunk++;
    r->replica = 0;
  } else {
    const struct meta_chunk *c = &r->cfg.chunks[r->chunk];
    log_warn("data",
             "read of a chunk from node %s failed (%s); trying the "
             "next copy",
             c->fragments[r->replica].node_id, cairn_strerror(status));
    r->replica++;
    r->status = status;
  }
  int rc = fetch(r);
  if (rc != 0)
    finish(r, rc);
}

/* Starts the read of the current chunk's part of the range, or finishes. */
static int fetch(struct object_reader *r) {
  uint64_t end = r->cfg.offset + r->cfg.length;
  for (; r->chunk < r->cfg.n_chunks; r->chunk++, r->replica = 0) {
    const struct meta_chunk *c = &r->cfg.chunks[r->chunk];
    uint64_t pos = r->cfg.offset + r->delivered; /* next byte wanted */
    if (c->offset + c->length <= pos)
      continue;
    if (c->offset >= end)
      break;
    uint64_t from = pos - c->offset;
    uint64_t to =
        (end < c->offset + c->length ? end : c->offset + c->length) - c->offset;
    for (; r->replica < c->n_fragments; r->replica++) {
      char addr[128];
      const struct meta_fragment *f = &c->fragments[r->replica];
      int rc = node_addr(r, f->node_id, addr, sizeof addr);
      if (rc == 0)
        rc = node_get(r->cfg.links, addr, c->id, f->index, from, to - from,
                      on_node_data, on_node_done, r, &r->op);
      if (rc == 0)
        return 0;
      r->status = rc;
    }
    log_error("data", "no reachable copy of a chunk (last error: %s)",
              cairn_strerror(r->status));
    return r->status ? r->status : CAIRN_EUNAVAIL;
  }
  if (r->delivered != r->cfg.length)
    return CAIRN_ECORRUPT; /* the chunk list does not cover the range */
  finish(r, 0);
  return 0;
}

int object_reader_start(const struct object_reader_config *cfg,
                        struct object_reader **out) {
  struct object_reader *r = calloc(1, sizeof *r);
  if (!r)
    return CAIRN_ENOMEM;
  r->cfg = *cfg;
  *out = r;
  int rc = fetch(r);
  if (rc != 0) {
    free(r);
    *out = NULL;
    return rc;
  }
  return 0;
}

void object_reader_resume(struct object_reader *r) {
  if (!r->paused)
    return;
  r->paused = 0;
  if (r->op)
    node_get_resume(r->op);
}

void object_reader_cancel(struct object_reader *r) {
  if (r->canceled || r->done_called)
    return;
  r->canceled = 1;
  if (r->op) {
    node_get_cancel(r->op); /* a cancelled get never calls back */
    r->op = NULL;
  }
  finish(r, CAIRN_ECANCELED);
}

void object_reader_free(struct object_reader *r) {
  free(r);
}

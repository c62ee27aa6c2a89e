/* node_report.c - per-dir state and corruption reports on heartbeats. */
#include "node_report.h"

#include <string.h>

void node_report_extend(void *msg, void *arg) {
  Cairn__Heartbeat *hb = msg;
  struct node_report *r = arg;
  size_t n = node_disks_count(r->disks);
  if (n > NODE_REPORT_DIRS_MAX)
    n = NODE_REPORT_DIRS_MAX;
  for (size_t i = 0; i < n; i++) {
    Cairn__DataDirState *d = &r->dirs[i];
    cairn__data_dir_state__init(d);
    node_disks_view(r->disks, i, &r->views[i]);
    d->path = (char *)r->views[i].path;
    d->writable = r->views[i].writable;
    d->reason = r->views[i].reason;
    d->used_bytes = r->views[i].used_bytes;
    r->dir_ptrs[i] = d;
  }
  hb->n_dirs = n;
  hb->dirs = r->dir_ptrs;
  /* Full or failed dirs take no new fragments: say so in the free space
   * the coordinator places by. */
  uint64_t free_bytes = node_disks_free_bytes(r->disks);
  if (free_bytes < hb->free_bytes)
    hb->free_bytes = free_bytes;
  size_t c =
      scrubber_take_reports(r->scrubber, r->taken, NODE_REPORT_CORRUPT_MAX);
  for (size_t i = 0; i < c; i++) {
    cairn__corrupt_fragment__init(&r->corrupt[i]);
    r->corrupt[i].chunk_id.data = r->taken[i].chunk_id;
    r->corrupt[i].chunk_id.len = 16;
    r->corrupt[i].fragment = r->taken[i].fragment;
    r->corrupt_ptrs[i] = &r->corrupt[i];
  }
  hb->n_corrupt = c;
  hb->corrupt = r->corrupt_ptrs;
}

void node_report_done(void *msg, void *arg) {
  Cairn__Heartbeat *hb = msg;
  (void)arg;
  hb->n_dirs = 0;
  hb->dirs = NULL;
  hb->n_corrupt = 0;
  hb->corrupt = NULL;
}

/*
 * node_report.h - what a node adds to each heartbeat besides its size:
 * the state of every data dir (disks.h) and the fragments the scrubber
 * found corrupt (scrubber.h). Plugs into node_control_config's
 * heartbeat_extend / heartbeat_done; loop thread only.
 */
#ifndef CAIRN_NODE_REPORT_H
#define CAIRN_NODE_REPORT_H

#include "cairn.pb-c.h"
#include "disks.h"
#include "scrubber.h"

#define NODE_REPORT_DIRS_MAX 32
#define NODE_REPORT_CORRUPT_MAX 64 /* per heartbeat; the rest wait */

struct node_report {
  struct node_disks *disks;  /* borrowed */
  struct scrubber *scrubber; /* borrowed, may be NULL */
  /* The messages attached to the heartbeat being sent. */
  Cairn__DataDirState dirs[NODE_REPORT_DIRS_MAX];
  Cairn__DataDirState *dir_ptrs[NODE_REPORT_DIRS_MAX];
  struct node_disk_view views[NODE_REPORT_DIRS_MAX];
  Cairn__CorruptFragment corrupt[NODE_REPORT_CORRUPT_MAX];
  Cairn__CorruptFragment *corrupt_ptrs[NODE_REPORT_CORRUPT_MAX];
  struct scrub_report taken[NODE_REPORT_CORRUPT_MAX];
};

void node_report_extend(void *hb, void *report);
void node_report_done(void *hb, void *report);

#endif

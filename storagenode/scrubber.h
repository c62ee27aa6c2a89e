/*
 * scrubber.h - the node's background scrubber: one thread that re-reads
 * every fragment file of every data dir, and every live image of the
 * segment log (segment_log.h), and verifies its header and each block's
 * CRC32C, at most bytes_per_sec, then rests interval_ms before the next
 * pass. A fragment that fails is logged and queued as a report; the
 * control channel sends the reports to the coordinator with the next
 * heartbeat, and the coordinator queues the fragment for repair.
 *
 * The scrubber only reads; it never changes a file.
 */
#ifndef CAIRN_SCRUBBER_H
#define CAIRN_SCRUBBER_H

#include <stddef.h>
#include <stdint.h>

#define SCRUB_REPORTS_MAX 256 /* queued reports; more wait for a later pass */

struct scrubber;
struct node_disks;
struct segment_log;

struct scrubber_config {
  char *const *dirs; /* borrowed: must outlive the scrubber */
  size_t n;
  uint64_t bytes_per_sec;   /* 0: the scrubber does not run */
  uint64_t interval_ms;     /* rest between passes */
  struct node_disks *disks; /* an EIO while reading takes the dir out */
  /* The segment log whose images are verified too (NULL: none), in data
   * dir segment_dir; borrowed: must outlive the scrubber. */
  struct segment_log *segments;
  size_t segment_dir;
};

struct scrub_report {
  uint8_t chunk_id[16];
  uint32_t fragment;
};

struct scrub_stats {
  uint64_t passes, files, bytes, corrupt;
};

/* *out is NULL (and 0 returned) when bytes_per_sec is 0. */
int scrubber_start(const struct scrubber_config *cfg, struct scrubber **out);
/* Wakes and joins the thread. NULL is a no-op. */
void scrubber_stop(struct scrubber *s);
/* Moves up to cap queued reports into out; any thread. */
size_t scrubber_take_reports(struct scrubber *s, struct scrub_report *out,
                             size_t cap);
void scrubber_get_stats(struct scrubber *s, struct scrub_stats *out);

/* Pure: parses "<32 hex>.<index>" (no temporary files). 0 or
 * CAIRN_EINVAL. */
int scrub_parse_name(const char *name, uint8_t chunk_id[16],
                     uint32_t *fragment);

#endif

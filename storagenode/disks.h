/*
 * disks.h - the service state of a node's data dirs, shared by the chunk
 * store (I/O threads), the scrubber (its thread) and the control channel
 * (loop thread, for heartbeats); every function takes the lock.
 *
 * A dir whose I/O fails with EIO is taken out of service for new fragments
 * until the node restarts; one that is full (ENOSPC) is taken out too and
 * retried after DISKS_NOSPC_RETRY_MS. Reads of every dir go on either way.
 * max_bytes (fault injection for tests, --max-bytes-per-dir) makes a dir
 * answer ENOSPC once this process has written that many fragment bytes to
 * it, as a disk filled behind our back would (the free space the node
 * reports does not foresee it: the first write that passes the limit
 * fails, and the dir then reports no free space).
 */
#ifndef CAIRN_NODE_DISKS_H
#define CAIRN_NODE_DISKS_H

#include <stddef.h>
#include <stdint.h>

#define DISKS_NOSPC_RETRY_MS 30000
#define DISKS_REASON_MAX 64

struct node_disks;

struct node_disk_view {
  const char *path; /* borrowed from the dirs given at creation */
  int writable;
  char reason[DISKS_REASON_MAX]; /* "" when writable */
  uint64_t used_bytes;           /* fragment bytes written by this process */
};

/* dirs are borrowed and must outlive d. */
int node_disks_new(char *const *dirs, size_t n, uint64_t max_bytes,
                   struct node_disks **out);
void node_disks_free(struct node_disks *d);
size_t node_disks_count(const struct node_disks *d);
/* May a new fragment of `bytes` go to dir i? (An ENOSPC dir comes back
 * after the retry delay.) */
int node_disks_writable(struct node_disks *d, size_t i);
/* CAIRN_ENOSPC when writing `bytes` more would pass max_bytes (the dir is
 * then marked full), else 0 and the bytes are counted. */
int node_disks_charge(struct node_disks *d, size_t i, uint64_t bytes);
/* Records an I/O failure (CAIRN_EIO or CAIRN_ENOSPC; others are ignored):
 * the dir takes no new fragments. */
void node_disks_fail(struct node_disks *d, size_t i, int err);
void node_disks_view(struct node_disks *d, size_t i,
                     struct node_disk_view *out);
/* Free bytes new fragments may use over the writable dirs: statvfs less
 * CHUNK_RESERVE_BYTES (dirs out of service count 0). */
uint64_t node_disks_free_bytes(struct node_disks *d);

#endif

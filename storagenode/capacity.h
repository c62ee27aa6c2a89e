/*
 * capacity.h - what the node reports as its size: statvfs over its data
 * dirs, a file system shared by several dirs (same st_dev) counted once.
 * Blocking but cheap (a few syscalls); called on the loop thread at each
 * hello and heartbeat.
 */
#ifndef CAIRN_NODE_CAPACITY_H
#define CAIRN_NODE_CAPACITY_H

#include <stddef.h>
#include <stdint.h>

/* Sums total and available-to-us bytes. A dir that cannot be stat'ed adds
 * nothing. */
void node_capacity(char *const *dirs, size_t n, uint64_t *capacity,
                   uint64_t *free_bytes);

#endif

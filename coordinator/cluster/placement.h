/*
 * placement.h - which nodes hold the fragments of a chunk.
 *
 * Weighted rendezvous hashing (highest random weight): every candidate node
 * gets a score from hash(chunk id, node id) scaled by its free space; the
 * best `count` distinct nodes win, spreading across failure domains (the
 * `host` label) before doubling up inside one. Deterministic for a given
 * node set, so a placement can be recomputed, but it is always recorded in
 * the chunk's metadata so reads never have to.
 *
 * Pure: no I/O, no allocation beyond the caller's arrays.
 */
#ifndef CAIRN_PLACEMENT_H
#define CAIRN_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

struct place_candidate {
  const char *node_id; /* 32 hex */
  const char *domain;  /* failure domain (host label), "" if none */
  uint64_t free_bytes;
  int up;
};

/*
 * Chooses `count` distinct up candidates for chunk_id and writes their
 * indexes into out[0..count), best first. Nodes with less than
 * min_free_bytes free are skipped. Returns 0, or CAIRN_EUNAVAIL when fewer
 * than count nodes qualify (nothing is written then).
 */
int place_chunk(const uint8_t chunk_id[16],
                const struct place_candidate *candidates, size_t n,
                size_t count, uint64_t min_free_bytes, size_t *out);

#endif

/*
 * placement.h - which nodes hold the fragments of a chunk.
 *
 * Weighted rendezvous hashing (highest random weight): every candidate node
 * gets a score from hash(chunk id, node id) scaled by its free space; the
 * best `count` distinct nodes win, spread across failure domains. The
 * domains come from the node's labels (host, site, rack): each pick takes
 * the best-scored node among those that share the fewest chosen hosts,
 * then sites, then racks, so two fragments share a host only when there
 * are fewer hosts than fragments, and the rest spread over sites and
 * racks. Nodes on one shared filesystem (label
 * `fs=ID`, EOS's "shared filesystem") are one host: one disk fails them
 * together. Deterministic for a given node set, so a placement can be
 * recomputed, but it is always recorded in the chunk's metadata so reads
 * never have to.
 *
 * Pure: no I/O, no allocation beyond the caller's arrays.
 */
#ifndef CAIRN_PLACEMENT_H
#define CAIRN_PLACEMENT_H

#include <stddef.h>
#include <stdint.h>

struct place_domains {
  char site[64], rack[64], host[64]; /* "" when the node has no such label */
};

/* The failure domains of a node from its labels ("host=a,rack=r1,fs=x"):
 * host is the fs label when there is one (nodes sharing a filesystem are
 * one failure domain), else the host label, else the node itself. */
void place_domains_from_labels(const char *labels, const char *node_id,
                               struct place_domains *out);

struct place_candidate {
  const char *node_id;                 /* 32 hex */
  const struct place_domains *domains; /* NULL: a domain of its own */
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
/* The same, for a chunk whose other fragments are already on the
 * candidates held[0..n_held) (a repair): their domains count as taken. */
int place_chunk_around(const uint8_t chunk_id[16],
                       const struct place_candidate *candidates, size_t n,
                       const size_t *held, size_t n_held, size_t count,
                       uint64_t min_free_bytes, size_t *out);

#endif

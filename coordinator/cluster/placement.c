/* placement.c - weighted rendezvous hashing (see placement.h). */
#include "placement.h"

#include "crypto.h"
#include "error.h"

#include <math.h>
#include <string.h>

/*
 * Score of one node for one chunk: -weight / ln(u), with u uniform in (0,1)
 * from the hash. This is the weighted rendezvous formula: a node's chance to
 * rank first is proportional to its weight.
 */
static double score(const uint8_t chunk_id[16], const char *node_id,
                    uint64_t weight) {
  uint8_t input[16 + 64], digest[SHA256_LEN];
  size_t id_len = strnlen(node_id, 64);
  memcpy(input, chunk_id, 16);
  memcpy(input + 16, node_id, id_len);
  crypto_sha256(input, 16 + id_len, digest);
  uint64_t h = 0;
  for (int i = 0; i < 8; i++)
    h = h << 8 | digest[i];
  /* 53 random bits -> (0, 1) */
  double u = ((double)(h >> 11) + 0.5) / 9007199254740992.0;
  double w = (double)(weight >> 20) + 1.0; /* MiB granularity, never 0 */
  return -w / log(u);
}

int place_chunk(const uint8_t chunk_id[16],
                const struct place_candidate *candidates, size_t n,
                size_t count, uint64_t min_free_bytes, size_t *out) {
  if (count == 0)
    return 0;
  size_t chosen = 0;
  /* Two passes: first one node per failure domain, then any remaining. */
  for (int pass = 0; pass < 2 && chosen < count; pass++) {
    while (chosen < count) {
      size_t best = n;
      double best_score = -1.0;
      for (size_t i = 0; i < n; i++) {
        const struct place_candidate *c = &candidates[i];
        if (!c->up || c->free_bytes < min_free_bytes)
          continue;
        int taken = 0;
        for (size_t j = 0; j < chosen && !taken; j++) {
          const struct place_candidate *o = &candidates[out[j]];
          taken =
              out[j] == i || (pass == 0 && c->domain && o->domain &&
                              *c->domain && strcmp(c->domain, o->domain) == 0);
        }
        if (taken)
          continue;
        double s = score(chunk_id, c->node_id, c->free_bytes);
        if (s > best_score) {
          best_score = s;
          best = i;
        }
      }
      if (best == n)
        break;
      out[chosen++] = best;
    }
  }
  return chosen == count ? 0 : CAIRN_EUNAVAIL;
}

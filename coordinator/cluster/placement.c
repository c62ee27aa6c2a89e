/* placement.c - weighted rendezvous hashing (see placement.h). */
#include "placement.h"

#include "crypto.h"
#include "error.h"

#include <math.h>
#include <stdio.h>
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

/* The value of `key=` in a comma-separated label list into out. */
static void label_value(const char *labels, const char *key, char *out,
                        size_t cap) {
  size_t klen = strlen(key);
  out[0] = '\0';
  for (const char *p = labels; p && *p;) {
    size_t len = strcspn(p, ",");
    if (len > klen && strncmp(p, key, klen) == 0 && p[klen] == '=') {
      size_t vlen = len - klen - 1;
      if (vlen >= cap)
        vlen = cap - 1;
      memcpy(out, p + klen + 1, vlen);
      out[vlen] = '\0';
      return;
    }
    p += len + (p[len] == ',');
  }
}

void place_domains_from_labels(const char *labels, const char *node_id,
                               struct place_domains *out) {
  label_value(labels, "site", out->site, sizeof out->site);
  label_value(labels, "rack", out->rack, sizeof out->rack);
  char fs[64];
  label_value(labels, "fs", fs, sizeof fs);
  if (fs[0])
    snprintf(out->host, sizeof out->host, "fs:%.60s", fs);
  else
    label_value(labels, "host", out->host, sizeof out->host);
  if (!out->host[0])
    snprintf(out->host, sizeof out->host, "node:%.50s", node_id);
}

static int same(const char *a, const char *b) {
  return a[0] && b[0] && strcmp(a, b) == 0;
}

/* How crowded c's domains already are among the chosen, as one number
 * ordered host (one disk, one machine: never two fragments there while
 * another host is free), then site, then rack (fewer is better). */
static unsigned long crowding(const struct place_candidate *candidates,
                              const size_t *held, size_t n_held,
                              const size_t *chosen, size_t n_chosen,
                              const struct place_candidate *c) {
  unsigned long sites = 0, racks = 0, hosts = 0;
  for (size_t j = 0; c->domains && j < n_held + n_chosen; j++) {
    size_t k = j < n_held ? held[j] : chosen[j - n_held];
    const struct place_domains *o = candidates[k].domains;
    if (!o)
      continue;
    sites += same(c->domains->site, o->site);
    racks += same(c->domains->rack, o->rack);
    hosts += same(c->domains->host, o->host);
  }
  return hosts << 20 | sites << 10 | racks;
}

int place_chunk(const uint8_t chunk_id[16],
                const struct place_candidate *candidates, size_t n,
                size_t count, uint64_t min_free_bytes, size_t *out) {
  return place_chunk_around(chunk_id, candidates, n, NULL, 0, count,
                            min_free_bytes, out);
}

int place_chunk_around(const uint8_t chunk_id[16],
                       const struct place_candidate *candidates, size_t n,
                       const size_t *held, size_t n_held, size_t count,
                       uint64_t min_free_bytes, size_t *out) {
  size_t chosen = 0;
  while (chosen < count) {
    size_t best = n;
    unsigned long best_crowd = 0;
    double best_score = -1.0;
    for (size_t i = 0; i < n; i++) {
      const struct place_candidate *c = &candidates[i];
      if (!c->up || c->free_bytes < min_free_bytes)
        continue;
      int taken = 0;
      for (size_t j = 0; j < chosen && !taken; j++)
        taken = out[j] == i;
      if (taken)
        continue;
      unsigned long crowd = crowding(candidates, held, n_held, out, chosen, c);
      double s = score(chunk_id, c->node_id, c->free_bytes);
      if (best == n || crowd < best_crowd ||
          (crowd == best_crowd && s > best_score)) {
        best = i;
        best_crowd = crowd;
        best_score = s;
      }
    }
    if (best == n)
      break;
    out[chosen++] = best;
  }
  return chosen == count ? 0 : CAIRN_EUNAVAIL;
}

/* repair_plan.c - which fragments to rebuild and where (repair_plan.h). */
#include "repair_plan.h"

#include "error.h"
#include "placement.h"

#include <stdlib.h>
#include <string.h>

static const struct repair_node *find(const struct repair_node *nodes, size_t n,
                                      const char *id) {
  for (size_t i = 0; id[0] && i < n; i++)
    if (strcmp(nodes[i].node_id, id) == 0)
      return &nodes[i];
  return NULL;
}

void repair_plan_chunk(const struct meta_chunk *c, uint32_t corrupt_mask,
                       const struct repair_node *nodes, size_t n,
                       struct repair_plan *p) {
  memset(p, 0, sizeof *p);
  for (uint32_t f = 0; f < c->n_fragments && f < REPAIR_MAX_FRAGMENTS; f++) {
    const struct meta_fragment *fr = &c->fragments[f];
    const struct repair_node *node = find(nodes, n, fr->node_id);
    int corrupt = fr->index < 32 && (corrupt_mask >> fr->index & 1u);
    int lost = fr->missing || !node || node->dead || corrupt;
    if (!lost && !node->up)
      p->deferred = 1; /* may come back: not ours to rebuild yet */
    if (!lost && node->up)
      p->n_readable++;
    if (lost || node->draining)
      p->bad[p->n_bad++] = f;
  }
  uint32_t need = c->layout.kind == META_LAYOUT_EC ? c->layout.data : 1;
  p->feasible = p->n_readable >= need;
}

/* May node i hold a rebuilt fragment of c other than position self? */
static int holds_other(const struct meta_chunk *c, const char *id,
                       uint32_t self) {
  for (uint32_t f = 0; f < c->n_fragments; f++)
    if (f != self && !c->fragments[f].missing &&
        strcmp(c->fragments[f].node_id, id) == 0)
      return 1;
  return 0;
}

int repair_plan_targets(const struct meta_chunk *c,
                        const struct repair_node *nodes, size_t n,
                        uint64_t fragment_bytes, struct repair_plan *p) {
  struct place_candidate *cands = calloc(n ? n : 1, sizeof *cands);
  struct place_domains *domains = calloc(n ? n : 1, sizeof *domains);
  size_t *held = calloc(n ? n : 1, sizeof *held);
  if (!cands || !domains || !held) {
    free(cands);
    free(domains);
    free(held);
    return CAIRN_ENOMEM;
  }
  /* The nodes holding the chunk's other fragments: a new fragment goes to
   * another failure domain than theirs when one is free. */
  size_t n_held = 0;
  for (size_t i = 0; i < n; i++) {
    place_domains_from_labels(nodes[i].labels ? nodes[i].labels : "",
                              nodes[i].node_id, &domains[i]);
    if (holds_other(c, nodes[i].node_id, (uint32_t)-1))
      held[n_held++] = i;
  }
  int rc = 0;
  for (uint32_t b = 0; b < p->n_bad && rc == 0; b++) {
    uint32_t self = p->bad[b];
    for (size_t i = 0; i < n; i++) {
      int usable = nodes[i].up && !nodes[i].dead && !nodes[i].draining;
      /* Not a node holding any fragment of the chunk, nor one already
       * chosen for another bad fragment. */
      int taken = holds_other(c, nodes[i].node_id, (uint32_t)-1);
      for (uint32_t j = 0; j < b; j++)
        taken |= p->target[j] == i;
      cands[i] = (struct place_candidate){
          nodes[i].node_id, &domains[i], nodes[i].free_bytes, usable && !taken};
    }
    size_t pick;
    rc = place_chunk_around(c->id, cands, n, held, n_held, 1, fragment_bytes,
                            &pick);
    if (rc != 0) {
      /* Fall back to rewriting in place on its own healthy node. */
      const struct meta_fragment *fr = &c->fragments[self];
      for (size_t i = 0; i < n && rc != 0; i++) {
        int ok = strcmp(nodes[i].node_id, fr->node_id) == 0 && nodes[i].up &&
                 !nodes[i].dead && !nodes[i].draining &&
                 !holds_other(c, fr->node_id, self);
        for (uint32_t j = 0; ok && j < b; j++)
          ok = p->target[j] != i;
        if (ok) {
          pick = i;
          rc = 0;
        }
      }
    }
    if (rc == 0)
      p->target[b] = pick;
  }
  free(cands);
  free(domains);
  free(held);
  return rc;
}

/*
 * stripe_reader.c - parallel fetch of any k fragments of an EC chunk and
 * rebuild of the lost data fragments (see stripe_reader.h).
 *
 *   START --launch up to k gets--> FETCHING --k arrived--> DECODE --> DONE(0)
 *                                     | get failed: launch the next
 *                                     v untried fragment
 *                         none left and < k arrived --> DONE(error)
 *
 * Invariants:
 *  1. Data fragment j lands at buf + j * f, parity fragment p in its own
 *     slot after the data, so the first k * f bytes are the stored chunk
 *     once the lost data fragments are rebuilt in place.
 *  2. done fires once, from a node callback, after no get is in flight; a
 *     read that cannot start fails in stripe_read_start instead.
 */
#include "stripe_reader.h"

#include "erasure.h"
#include "error.h"
#include "log.h"
#include "node_link.h"
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct slot {
  struct stripe_read *s;
  uint32_t frag; /* index into c->fragments */
  uint64_t got;  /* bytes received */
  struct node_get *op;
  int state; /* 0 untried, 1 in flight, 2 arrived, 3 failed */
};

struct stripe_read {
  struct cluster *cluster;
  struct node_link_pool *links;
  const struct meta_chunk *c;
  stripe_read_done_cb done;
  void *arg;
  struct erasure erasure;
  uint64_t f; /* bytes per fragment */
  uint32_t k, n, inflight, arrived;
  int status, done_called, canceled;
  struct slot slots[ERASURE_MAX_FRAGMENTS];
  uint8_t *buf; /* (k + m) * f */
};

static uint8_t *slot_dest(struct stripe_read *s, const struct slot *sl) {
  uint32_t index = s->c->fragments[sl->frag].index;
  return s->buf + (uint64_t)index * s->f;
}

static void finish(struct stripe_read *s, int status) {
  if (s->done_called || s->canceled)
    return;
  s->done_called = 1;
  s->done(s, status, s->arg);
}

/* All k arrived: rebuild the lost data fragments in place. */
static int rebuild(struct stripe_read *s) {
  uint32_t have[ERASURE_MAX_DATA];
  uint8_t *frags[ERASURE_MAX_DATA], *out[ERASURE_MAX_DATA] = {0};
  uint32_t h = 0, lost = 0;
  for (uint32_t i = 0; i < s->n && h < s->k; i++)
    if (s->slots[i].state == 2) {
      have[h] = s->c->fragments[s->slots[i].frag].index;
      frags[h++] = slot_dest(s, &s->slots[i]);
    }
  for (uint32_t j = 0; j < s->k; j++) {
    int present = 0;
    for (uint32_t i = 0; i < h; i++)
      present |= have[i] == j;
    if (!present) {
      out[j] = s->buf + (uint64_t)j * s->f;
      lost++;
    }
  }
  if (lost == 0)
    return 0;
  char hex[2 * META_CHUNK_ID_LEN + 1];
  for (int i = 0; i < META_CHUNK_ID_LEN; i++)
    snprintf(hex + 2 * i, 3, "%02x", s->c->id[i]);
  log_info("data", "chunk %s: rebuilding %u lost data fragment(s) from parity",
           hex, lost);
  return erasure_decode(&s->erasure, (size_t)s->f, have, frags, out);
}

static int launch(struct stripe_read *s);

static int on_data(const void *data, size_t len, void *arg) {
  struct slot *sl = arg;
  struct stripe_read *s = sl->s;
  if (sl->got + len > s->f) {
    sl->state = 3; /* more than a fragment: on_done fails it */
    return 0;
  }
  memcpy(slot_dest(s, sl) + sl->got, data, len);
  sl->got += len;
  return 0;
}

static void on_done(struct node_get *op, int status, void *arg) {
  (void)op;
  struct slot *sl = arg;
  struct stripe_read *s = sl->s;
  sl->op = NULL;
  s->inflight--;
  if (status == 0 && sl->state == 1 && sl->got == s->f) {
    sl->state = 2;
    s->arrived++;
  } else {
    sl->state = 3;
    s->status = status ? status : CAIRN_ECORRUPT;
    if (s->status == CAIRN_ECORRUPT) /* a block failed its CRC: repair it */
      cluster_report_corrupt(s->cluster, s->c->fragments[sl->frag].node_id,
                             s->c->id, s->c->fragments[sl->frag].index);
    log_warn("data", "read of fragment %u from node %s failed (%s)",
             s->c->fragments[sl->frag].index, s->c->fragments[sl->frag].node_id,
             cairn_strerror(s->status));
  }
  if (s->arrived == s->k) {
    if (s->inflight == 0)
      finish(s, rebuild(s));
    return;
  }
  int rc = launch(s);
  if (rc != 0 && s->inflight == 0)
    finish(s, rc);
}

/* Starts gets until k are arrived or in flight; CAIRN_EUNAVAIL when too few
 * fragments are left to ever reach k. */
static int launch(struct stripe_read *s) {
  for (uint32_t i = 0; i < s->n && s->arrived + s->inflight < s->k; i++) {
    struct slot *sl = &s->slots[i];
    if (sl->state != 0)
      continue;
    const struct meta_fragment *fr = &s->c->fragments[sl->frag];
    struct cluster_node_view view;
    int rc = cluster_node_find(s->cluster, fr->node_id, &view);
    if (rc == 0 && !view.up)
      rc = CAIRN_EUNAVAIL;
    if (rc == 0) {
      sl->state = 1;
      sl->got = 0;
      /* No NODE_GET_AUTHENTICATED: the tags cover the decoded chunk, not
       * a fragment, so only the node's CRCs can say which one is bad. */
      rc = node_get(s->links, view.data_addr, s->c->id, fr->index, 0, s->f, 0,
                    on_data, on_done, sl, &sl->op);
    }
    if (rc != 0) {
      sl->state = 3;
      s->status = rc;
      continue;
    }
    s->inflight++;
  }
  if (s->arrived + s->inflight < s->k)
    return s->inflight ? 0 : (s->status ? s->status : CAIRN_EUNAVAIL);
  return 0;
}

int stripe_read_start(struct cluster *cluster, struct node_link_pool *links,
                      const struct meta_chunk *c, uint64_t stored_len,
                      stripe_read_done_cb done, void *arg,
                      struct stripe_read **out) {
  if (c->layout.kind != META_LAYOUT_EC || c->layout.data == 0 ||
      c->n_fragments > ERASURE_MAX_FRAGMENTS)
    return CAIRN_EINVAL;
  struct stripe_read *s = calloc(1, sizeof *s);
  if (!s)
    return CAIRN_ENOMEM;
  s->cluster = cluster;
  s->links = links;
  s->c = c;
  s->done = done;
  s->arg = arg;
  s->k = c->layout.data;
  s->f = erasure_fragment_length(stored_len, (int)s->k);
  int rc = erasure_init(&s->erasure, (int)s->k, c->layout.parity);
  if (rc != 0) {
    free(s);
    return rc;
  }
  s->buf = malloc((size_t)(s->f * ((uint64_t)s->k + c->layout.parity)));
  if (!s->buf) {
    stripe_read_free(s);
    return CAIRN_ENOMEM;
  }
  /* Data fragments first (no decoding when they all answer), then parity;
   * fragments recorded missing at write time are never asked. */
  for (int pass = 0; pass < 2; pass++)
    for (uint32_t i = 0; i < c->n_fragments; i++) {
      const struct meta_fragment *fr = &c->fragments[i];
      int is_data = fr->index < s->k;
      if (fr->missing || is_data != (pass == 0) ||
          fr->index >= s->k + c->layout.parity)
        continue;
      s->slots[s->n++] = (struct slot){s, i, 0, NULL, 0};
    }
  rc = launch(s);
  if (rc != 0 && s->inflight == 0) { /* done never fires then */
    stripe_read_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

const uint8_t *stripe_read_bytes(const struct stripe_read *s) {
  return s->buf;
}

void stripe_read_cancel(struct stripe_read *s) {
  s->canceled = 1;
  for (uint32_t i = 0; i < s->n; i++)
    if (s->slots[i].op) {
      node_get_cancel(s->slots[i].op); /* never calls back */
      s->slots[i].op = NULL;
      s->inflight--;
    }
}

void stripe_read_free(struct stripe_read *s) {
  if (!s)
    return;
  stripe_read_cancel(s);
  erasure_release(&s->erasure);
  free(s->buf);
  free(s);
}

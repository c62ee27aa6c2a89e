/*
 * meta_repair.c - the repair indexes (docs/metadata.md):
 *
 *   F|1|node_id(32)|chunk_id(16)|index(4 BE) -> u8 v1, str bucket, str key
 *   D|1|chunk_id(16)                         -> u8 v1, str bucket, str key,
 *                                               u32 corrupt mask, u64 since
 *
 * F says which object holds a fragment a node has, so a dead or draining
 * node's chunks are one range scan and a node's corruption report finds
 * its object; D is the repairer's work list. Both are maintained in the
 * same batch as the versions they describe.
 */
#include "codec.h"
#include "error.h"
#include "meta_internal.h"

#include <stdlib.h>
#include <string.h>

#define INDEX_VALUE_V1 1
#define GC_VALUE_V1 1 /* as meta_object.c */

/* ---- keys ---------------------------------------------------------------- */

void meta_degraded_key(const uint8_t chunk_id[META_CHUNK_ID_LEN],
                       uint8_t out[META_DEGRADED_KEY_LEN]) {
  out[0] = TBL_DEGRADED;
  out[1] = META_FORMAT;
  memcpy(out + 2, chunk_id, META_CHUNK_ID_LEN);
}

int meta_degraded_key_parse(const uint8_t *k, size_t len,
                            uint8_t chunk_id[META_CHUNK_ID_LEN]) {
  if (len != META_DEGRADED_KEY_LEN || k[0] != TBL_DEGRADED ||
      k[1] != META_FORMAT)
    return CAIRN_EINVAL;
  memcpy(chunk_id, k + 2, META_CHUNK_ID_LEN);
  return 0;
}

static int valid_node(const char *id) {
  size_t n = strlen(id);
  return n == META_NODE_ID_LEN;
}

void meta_fragment_key(const char *node_id,
                       const uint8_t chunk_id[META_CHUNK_ID_LEN],
                       uint32_t index, uint8_t out[META_FRAGMENT_KEY_LEN]) {
  out[0] = TBL_FRAGMENT;
  out[1] = META_FORMAT;
  memcpy(out + 2, node_id, META_NODE_ID_LEN);
  memcpy(out + 2 + META_NODE_ID_LEN, chunk_id, META_CHUNK_ID_LEN);
  codec_be32(out + 2 + META_NODE_ID_LEN + META_CHUNK_ID_LEN, index);
}

int meta_fragment_key_parse(const uint8_t *k, size_t len, char *node_id,
                            uint8_t chunk_id[META_CHUNK_ID_LEN],
                            uint32_t *index) {
  if (len != META_FRAGMENT_KEY_LEN || k[0] != TBL_FRAGMENT ||
      k[1] != META_FORMAT)
    return CAIRN_EINVAL;
  memcpy(node_id, k + 2, META_NODE_ID_LEN);
  node_id[META_NODE_ID_LEN] = '\0';
  memcpy(chunk_id, k + 2 + META_NODE_ID_LEN, META_CHUNK_ID_LEN);
  *index = codec_rd32(k + 2 + META_NODE_ID_LEN + META_CHUNK_ID_LEN);
  return 0;
}

static void dkey(struct meta_key *k, const uint8_t id[META_CHUNK_ID_LEN]) {
  meta_degraded_key(id, k->b);
  k->len = META_DEGRADED_KEY_LEN;
}

static void fkey(struct meta_key *k, const char *node, const uint8_t id[16],
                 uint32_t index) {
  meta_fragment_key(node, id, index, k->b);
  k->len = META_FRAGMENT_KEY_LEN;
}

static void node_prefix(struct meta_key *k, const char *node) {
  key_init(k, TBL_FRAGMENT);
  key_raw(k, node, META_NODE_ID_LEN);
}

/* ---- degraded rows ------------------------------------------------------- */

static int degraded_decode(const uint8_t *v, size_t len,
                           struct meta_degraded *d) {
  struct codec_in in;
  codec_in_init(&in, v, len);
  if (codec_get_u8(&in) != INDEX_VALUE_V1)
    return CAIRN_ECORRUPT;
  codec_get_str_into(&in, d->bucket, sizeof d->bucket);
  codec_get_str_into(&in, d->key, sizeof d->key);
  d->corrupt_mask = codec_get_u32(&in);
  d->since_ms = (int64_t)codec_get_u64(&in);
  return in.err;
}

/* Writes (or merges into) the D row of a chunk inside tx. */
static int degraded_mark_in_tx(struct meta_tx *tx, const uint8_t id[16],
                               const char *bucket, const char *key,
                               uint32_t mask) {
  struct meta_key k;
  dkey(&k, id);
  char *v = NULL;
  size_t n = 0;
  struct meta_degraded d = {0};
  d.since_ms = tx->now_ms;
  int r = tx_get(tx, &k, &v, &n);
  if (r == 0 && degraded_decode((const uint8_t *)v, n, &d) == 0 &&
      strcmp(d.bucket, bucket) == 0 && strcmp(d.key, key) == 0)
    mask |= d.corrupt_mask;
  else
    d.since_ms = tx->now_ms;
  val_free(v);
  if (r && r != CAIRN_ENOENT)
    return r;
  struct codec_out o;
  codec_out_init(&o);
  codec_put_u8(&o, INDEX_VALUE_V1);
  codec_put_str(&o, bucket);
  codec_put_str(&o, key);
  codec_put_u32(&o, mask);
  codec_put_u64(&o, (uint64_t)d.since_ms);
  r = o.err;
  if (!r)
    tx_put(tx, &k, o.buf, o.len);
  codec_out_release(&o);
  return r;
}

static int owner_put(struct meta_tx *tx, const struct meta_key *k,
                     const char *bucket, const char *key) {
  struct codec_out o;
  codec_out_init(&o);
  codec_put_u8(&o, INDEX_VALUE_V1);
  codec_put_str(&o, bucket);
  codec_put_str(&o, key);
  int r = o.err;
  if (!r)
    tx_put(tx, k, o.buf, o.len);
  codec_out_release(&o);
  return r;
}

int repair_index_add(struct meta_tx *tx, const char *bucket, const char *key,
                     const struct meta_chunk *chunks, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    int degraded = 0;
    for (uint32_t f = 0; f < chunks[i].n_fragments; f++) {
      const struct meta_fragment *fr = &chunks[i].fragments[f];
      degraded |= fr->missing;
      if (fr->missing || !valid_node(fr->node_id))
        continue;
      struct meta_key k;
      fkey(&k, fr->node_id, chunks[i].id, fr->index);
      int r = owner_put(tx, &k, bucket, key);
      if (r)
        return r;
    }
    if (degraded) {
      int r = degraded_mark_in_tx(tx, chunks[i].id, bucket, key, 0);
      if (r)
        return r;
    }
  }
  return 0;
}

static int chunk_in(const struct meta_chunk *c, const struct meta_chunk *set,
                    uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (memcmp(c->id, set[i].id, META_CHUNK_ID_LEN) == 0)
      return 1;
  return 0;
}

void repair_index_drop(struct meta_tx *tx, const struct meta_chunk *chunks,
                       uint32_t n, const struct meta_chunk *keep,
                       uint32_t n_keep) {
  for (uint32_t i = 0; i < n; i++) {
    if (chunk_in(&chunks[i], keep, n_keep))
      continue;
    struct meta_key k;
    for (uint32_t f = 0; f < chunks[i].n_fragments; f++) {
      const struct meta_fragment *fr = &chunks[i].fragments[f];
      if (fr->missing || !valid_node(fr->node_id))
        continue;
      fkey(&k, fr->node_id, chunks[i].id, fr->index);
      tx_del(tx, &k);
    }
    dkey(&k, chunks[i].id);
    tx_del(tx, &k);
  }
}

struct mark_arg {
  const uint8_t *id;
  const char *bucket, *key, *node;
  uint32_t mask, index;
  uint64_t count;
};

static int apply_mark(struct meta_tx *tx, void *arg) {
  struct mark_arg *a = arg;
  return degraded_mark_in_tx(tx, a->id, a->bucket, a->key, a->mask);
}

int meta_degraded_mark(struct meta *m, const uint8_t chunk_id[16],
                       const char *bucket, const char *key, int corrupt_index) {
  if (valid_bucket(bucket) || valid_key(key) || corrupt_index >= 32)
    return CAIRN_EINVAL;
  struct mark_arg a = {
      chunk_id, bucket, key, NULL, corrupt_index >= 0 ? 1u << corrupt_index : 0,
      0,        0};
  return meta_run(m, apply_mark, &a);
}

static int owner_decode(const char *v, size_t n, char *bucket, char *key) {
  struct codec_in in;
  codec_in_init(&in, v, n);
  if (codec_get_u8(&in) != INDEX_VALUE_V1)
    return CAIRN_ECORRUPT;
  codec_get_str_into(&in, bucket, META_BUCKET_MAX + 1);
  codec_get_str_into(&in, key, META_OBJECT_KEY_MAX + 1);
  return in.err;
}

static int apply_report(struct meta_tx *tx, void *arg) {
  struct mark_arg *a = arg;
  struct meta_key k;
  fkey(&k, a->node, a->id, a->index);
  char *v = NULL;
  size_t n = 0;
  char bucket[META_BUCKET_MAX + 1], key[META_OBJECT_KEY_MAX + 1];
  int r = tx_get(tx, &k, &v, &n);
  if (!r)
    r = owner_decode(v, n, bucket, key);
  val_free(v);
  if (!r)
    r = degraded_mark_in_tx(tx, a->id, bucket, key, a->mask);
  return r;
}

int meta_fragment_report_corrupt(struct meta *m, const char *node_id,
                                 const uint8_t chunk_id[16], uint32_t index) {
  if (!valid_node(node_id) || index >= 32)
    return CAIRN_EINVAL;
  struct mark_arg a = {chunk_id, NULL, NULL, node_id, 1u << index, index, 0};
  return meta_run(m, apply_report, &a);
}

/* Calls fn for every F row of a node (tx may be NULL). */
static int scan_node(struct meta *m, struct meta_tx *tx, const char *node,
                     meta_kv_fn fn, void *arg) {
  struct meta_key lo;
  node_prefix(&lo, node);
  return meta_prefix_scan(m, tx, &lo, fn, arg);
}

struct node_mark {
  struct meta_tx *tx;
  uint64_t count;
};

static int mark_row(const uint8_t *k, size_t kl, const uint8_t *v, size_t vl,
                    void *arg) {
  struct node_mark *nm = arg;
  char node[META_NODE_ID_LEN + 1], bucket[META_BUCKET_MAX + 1],
      key[META_OBJECT_KEY_MAX + 1];
  uint8_t id[META_CHUNK_ID_LEN];
  uint32_t index;
  int r = meta_fragment_key_parse(k, kl, node, id, &index);
  if (!r)
    r = owner_decode((const char *)v, vl, bucket, key);
  if (!r)
    r = degraded_mark_in_tx(nm->tx, id, bucket, key, 0);
  nm->count++;
  return r;
}

static int apply_mark_node(struct meta_tx *tx, void *arg) {
  struct mark_arg *a = arg;
  struct node_mark nm = {tx, 0};
  int r = scan_node(tx->m, tx, a->node, mark_row, &nm);
  a->count = nm.count;
  return r;
}

int meta_degraded_mark_node(struct meta *m, const char *node_id,
                            uint64_t *marked) {
  if (!valid_node(node_id))
    return CAIRN_EINVAL;
  struct mark_arg a = {NULL, NULL, NULL, node_id, 0, 0, 0};
  int r = meta_run(m, apply_mark_node, &a);
  if (marked)
    *marked = a.count;
  return r;
}

bool meta_fragment_live(struct meta *m, const char *node_id,
                        const uint8_t chunk_id[16], uint32_t index) {
  if (!valid_node(node_id))
    return false;
  struct meta_key k;
  fkey(&k, node_id, chunk_id, index);
  char *v = NULL;
  size_t n = 0;
  int r = db_get(m, &k, &v, &n);
  val_free(v);
  return r == 0;
}

static int count_row(const uint8_t *k, size_t kl, const uint8_t *v, size_t vl,
                     void *arg) {
  (void)k, (void)kl, (void)v, (void)vl;
  (*(uint64_t *)arg)++;
  return 0;
}

int meta_fragment_count_node(struct meta *m, const char *node_id,
                             uint64_t *count) {
  *count = 0;
  if (!valid_node(node_id))
    return CAIRN_EINVAL;
  return scan_node(m, NULL, node_id, count_row, count);
}

int meta_degraded_list(struct meta *m, const uint8_t *after, uint32_t max,
                       meta_degraded_cb cb, void *arg) {
  struct meta_key lo, hi;
  key_init(&lo, TBL_DEGRADED);
  hi = lo;
  key_successor(&hi);
  if (after)
    dkey(&lo, after);
  struct meta_iter it;
  int r = iter_open(m, NULL, &hi, &it);
  if (r)
    return r;
  uint32_t n = 0;
  for (iter_seek(&it, &lo); !r && n < max && iter_valid(&it); iter_next(&it)) {
    size_t kl, vl;
    const uint8_t *kb = iter_key(&it, &kl);
    const uint8_t *vb = iter_value(&it, &vl);
    struct meta_degraded d;
    r = meta_degraded_key_parse(kb, kl, d.chunk_id);
    if (!r && after && memcmp(d.chunk_id, after, META_CHUNK_ID_LEN) == 0)
      continue;
    if (!r)
      r = degraded_decode(vb, vl, &d);
    if (!r) {
      n++;
      r = cb(&d, arg);
    }
  }
  if (!r)
    r = iter_status(&it);
  iter_close(&it);
  return r;
}

static int count_one(const struct meta_degraded *d, void *arg) {
  (void)d;
  (*(uint64_t *)arg)++;
  return 0;
}

int meta_degraded_count(struct meta *m, uint64_t *count) {
  *count = 0;
  return meta_degraded_list(m, NULL, UINT32_MAX, count_one, count);
}

static int apply_clear(struct meta_tx *tx, void *arg) {
  struct meta_key k;
  dkey(&k, arg);
  tx_del(tx, &k);
  return 0;
}

int meta_degraded_clear(struct meta *m, const uint8_t chunk_id[16]) {
  return meta_run(m, apply_clear, (void *)chunk_id);
}

/* ---- committing a repair ------------------------------------------------- */

struct commit_arg {
  const char *bucket, *key;
  const struct meta_chunk *chunk;
  const struct meta_repair_move *moves;
  uint32_t n;
  bool keep_degraded;
  int stale;
};

/* Queues one garbage row for chunk c holding the fragments whose node is
 * taken from old (use_old) or new side of the moves, skipping in-place
 * rewrites. */
static int referenced(const struct meta_chunk *live, const char *node,
                      uint32_t index) {
  for (uint32_t f = 0; live && f < live->n_fragments; f++)
    if (live->fragments[f].index == index && !live->fragments[f].missing &&
        strcmp(live->fragments[f].node_id, node) == 0)
      return 1;
  return 0;
}

/* live: the chunk as the current record has it (NULL: none); a copy it
 * still references is never queued. */
static int queue_moves(struct meta_tx *tx, const struct meta_chunk *c,
                       const struct meta_chunk *live,
                       const struct meta_repair_move *mv, uint32_t n,
                       int use_old) {
  struct meta_fragment frags[32];
  struct meta_chunk g = *c;
  g.fragments = frags;
  g.n_fragments = 0;
  for (uint32_t i = 0; i < n && g.n_fragments < 32; i++) {
    const char *node = use_old ? mv[i].old_node : mv[i].new_node;
    if (strcmp(mv[i].old_node, mv[i].new_node) == 0 || !valid_node(node) ||
        referenced(live, node, mv[i].index))
      continue;
    struct meta_fragment *f = &frags[g.n_fragments++];
    memset(f, 0, sizeof *f);
    memcpy(f->node_id, node, sizeof f->node_id);
    f->index = mv[i].index;
  }
  return g.n_fragments ? gc_queue_chunks(tx, &g, 1, NULL, 0) : 0;
}

static struct meta_fragment *find_move(struct meta_chunk *c,
                                       const struct meta_repair_move *mv) {
  for (uint32_t f = 0; f < c->n_fragments; f++)
    if (c->fragments[f].index == mv->index &&
        strcmp(c->fragments[f].node_id, mv->old_node) == 0)
      return &c->fragments[f];
  return NULL;
}

/* Applies the moves to chunk c of the record: all of them, or (1) none
 * when a fragment is not where the repair found it. */
static int apply_moves(struct meta_chunk *c, const struct meta_repair_move *mv,
                       uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (!find_move(c, &mv[i]))
      return 1;
  for (uint32_t i = 0; i < n; i++) {
    struct meta_fragment *hit = find_move(c, &mv[i]);
    memcpy(hit->node_id, mv[i].new_node, sizeof hit->node_id);
    hit->missing = false;
  }
  return 0;
}

static int apply_commit(struct meta_tx *tx, void *arg) {
  struct commit_arg *a = arg;
  uint64_t seq;
  struct meta_object obj;
  int have_obj = 0;
  int r = latest_seq_in_tx(tx, a->bucket, a->key, &seq);
  struct meta_key k;
  char *v = NULL;
  size_t n = 0;
  if (!r) {
    version_key(&k, a->bucket, a->key, seq);
    r = tx_get(tx, &k, &v, &n);
  }
  if (!r) {
    r = object_decode(v, n, a->bucket, a->key, &obj);
    have_obj = r == 0;
  }
  val_free(v);
  if (r && r != CAIRN_ENOENT)
    return r;
  struct meta_chunk *c = NULL;
  for (uint32_t i = 0; have_obj && i < obj.n_chunks; i++)
    if (memcmp(obj.chunks[i].id, a->chunk->id, META_CHUNK_ID_LEN) == 0)
      c = &obj.chunks[i];
  if (!c || apply_moves(c, a->moves, a->n)) {
    /* The object changed under the repair: its new copies are garbage
     * (apply_moves changed nothing). */
    a->stale = 1;
    struct meta_key d;
    dkey(&d, a->chunk->id);
    if (!c)
      tx_del(tx, &d);
    r = queue_moves(tx, a->chunk, c, a->moves, a->n, 0);
    if (have_obj)
      meta_object_free(&obj);
    return r;
  }
  struct codec_out o;
  r = object_encode(&obj, &o);
  if (!r)
    r = o.err;
  if (!r)
    tx_put(tx, &k, o.buf, o.len);
  codec_out_release(&o);
  for (uint32_t i = 0; !r && i < a->n; i++) {
    struct meta_key f;
    if (valid_node(a->moves[i].old_node)) {
      fkey(&f, a->moves[i].old_node, c->id, a->moves[i].index);
      tx_del(tx, &f);
    }
    fkey(&f, a->moves[i].new_node, c->id, a->moves[i].index);
    r = owner_put(tx, &f, a->bucket, a->key);
  }
  if (!r)
    r = queue_moves(tx, c, NULL, a->moves, a->n, 1);
  if (!r && !a->keep_degraded) {
    dkey(&k, c->id);
    tx_del(tx, &k);
  }
  meta_object_free(&obj);
  return r;
}

int meta_repair_commit(struct meta *m, const char *bucket, const char *key,
                       const struct meta_chunk *chunk,
                       const struct meta_repair_move *moves, uint32_t n,
                       bool keep_degraded) {
  if (valid_bucket(bucket) || valid_key(key) || n == 0 || n > 32)
    return CAIRN_EINVAL;
  for (uint32_t i = 0; i < n; i++)
    if (!valid_node(moves[i].new_node))
      return CAIRN_EINVAL;
  struct commit_arg a = {bucket, key, chunk, moves, n, keep_degraded, 0};
  int r = meta_run(m, apply_commit, &a);
  return r ? r : a.stale ? CAIRN_ENOENT : 0;
}

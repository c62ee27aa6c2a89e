/* meta_node.c - the storage-node table 'N': N|1|node_id -> node record.
 *
 * Value v1: u8 version, str node_id, str data_addr, u64 capacity,
 * u64 free, u64 first_seen_ms, u64 last_seen_ms, str labels. */
#include "meta_internal.h"

#include "codec.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

#define NODE_VALUE_V1 1

static int node_key(const char *node_id, struct meta_key *k) {
  if (!node_id || !node_id[0] || strlen(node_id) > META_NODE_ID_LEN)
    return CAIRN_EINVAL;
  key_init(k, TBL_NODE);
  key_str(k, node_id);
  return 0;
}

static int node_decode(const void *v, size_t len,
                       struct meta_node_record *rec) {
  struct codec_in in;
  codec_in_init(&in, v, len);
  memset(rec, 0, sizeof *rec);
  if (codec_get_u8(&in) != NODE_VALUE_V1)
    return CAIRN_ECORRUPT;
  codec_get_str_into(&in, rec->node_id, sizeof rec->node_id);
  codec_get_str_into(&in, rec->data_addr, sizeof rec->data_addr);
  rec->capacity_bytes = codec_get_u64(&in);
  rec->free_bytes = codec_get_u64(&in);
  rec->first_seen_ms = (int64_t)codec_get_u64(&in);
  rec->last_seen_ms = (int64_t)codec_get_u64(&in);
  codec_get_str_into(&in, rec->labels, sizeof rec->labels);
  return in.err;
}

struct node_put_arg {
  struct meta_key k;
  struct codec_out val;
};

static int apply_node_put(struct meta_tx *tx, void *arg) {
  struct node_put_arg *a = arg;
  tx_put(tx, &a->k, a->val.buf, a->val.len);
  return 0;
}

static void release_node_put(void *arg) {
  struct node_put_arg *a = arg;
  codec_out_release(&a->val);
  free(a);
}

/* Builds the key and encoded value once (shared by the sync and async
 * paths). */
static int node_put_prepare(const struct meta_node_record *rec,
                            struct node_put_arg **out) {
  struct node_put_arg *a = calloc(1, sizeof *a);
  if (!a)
    return CAIRN_ENOMEM;
  int r = node_key(rec->node_id, &a->k);
  if (r)
    goto fail;
  if (memchr(rec->data_addr, 0, sizeof rec->data_addr) == NULL ||
      memchr(rec->labels, 0, sizeof rec->labels) == NULL) {
    r = CAIRN_EINVAL;
    goto fail;
  }
  codec_out_init(&a->val);
  codec_put_u8(&a->val, NODE_VALUE_V1);
  codec_put_str(&a->val, rec->node_id);
  codec_put_str(&a->val, rec->data_addr);
  codec_put_u64(&a->val, rec->capacity_bytes);
  codec_put_u64(&a->val, rec->free_bytes);
  codec_put_u64(&a->val, (uint64_t)rec->first_seen_ms);
  codec_put_u64(&a->val, (uint64_t)rec->last_seen_ms);
  codec_put_str(&a->val, rec->labels);
  r = a->val.err;
  if (r)
    goto fail;
  *out = a;
  return 0;
fail:
  release_node_put(a);
  return r;
}

int meta_node_put(struct meta *m, const struct meta_node_record *rec) {
  struct node_put_arg *a = NULL;
  int r = node_put_prepare(rec, &a);
  if (r)
    return r;
  r = meta_run(m, apply_node_put, a);
  release_node_put(a);
  return r;
}

int meta_batch_node_put(struct meta_batch *b,
                        const struct meta_node_record *rec) {
  struct node_put_arg *a = NULL;
  int r = node_put_prepare(rec, &a);
  if (r)
    return r;
  return batch_add(b, apply_node_put, release_node_put, a);
}

static int apply_node_delete(struct meta_tx *tx, void *arg) {
  struct meta_key *k = arg;
  char *v = NULL;
  size_t n;
  int r = tx_get(tx, k, &v, &n);
  val_free(v);
  if (r)
    return r; /* CAIRN_ENOENT when absent */
  tx_del(tx, k);
  return 0;
}

int meta_node_delete(struct meta *m, const char *node_id) {
  struct meta_key k;
  int r = node_key(node_id, &k);
  return r ? r : meta_run(m, apply_node_delete, &k);
}

int meta_batch_node_delete(struct meta_batch *b, const char *node_id) {
  struct meta_key *k = malloc(sizeof *k);
  if (!k)
    return CAIRN_ENOMEM;
  int r = node_key(node_id, k);
  if (r) {
    free(k);
    return r;
  }
  return batch_add(b, apply_node_delete, free, k);
}

int meta_node_list(struct meta *m, meta_node_cb cb, void *arg) {
  struct meta_key lo, hi;
  key_init(&lo, TBL_NODE);
  key_init(&hi, TBL_NODE);
  key_successor(&hi);
  struct meta_iter it;
  int r = iter_open(m, NULL, &hi, &it);
  if (r)
    return r;
  for (iter_seek(&it, &lo); iter_valid(&it); iter_next(&it)) {
    size_t n;
    const uint8_t *v = iter_value(&it, &n);
    struct meta_node_record rec;
    r = node_decode(v, n, &rec);
    if (r)
      break;
    r = cb(&rec, arg);
    if (r)
      break;
  }
  if (!r)
    r = iter_status(&it);
  iter_close(&it);
  return r;
}

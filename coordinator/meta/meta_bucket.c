/* meta_bucket.c - the bucket table 'B': B|1|bucket -> bucket record.
 *
 * Value v2: u8 2, u64 created_ms, str owner, str location, u32 flags,
 * u8 layout kind, u8 data, u8 parity, u8 sse algorithm, u8 bucket key
 * enabled; v3 adds u8 object ownership (META_OWNERSHIP_*). v1 ends after
 * the layout (no encryption configuration set).
 *
 * The bucket's larger documents live beside it in table 'C' (bucket
 * configuration): C|1|bucket\0|name -> raw bytes, name "policy" (the bucket
 * policy JSON as given) or "acl" (coordinator/acl's stored form). Keeping
 * them out of the B value keeps every bucket lookup small; a bucket delete
 * removes its C rows in the same batch. */
#include "meta_internal.h"

#include "codec.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKET_VALUE_V1 1
#define BUCKET_VALUE_V2 2                   /* + encryption configuration */
#define BUCKET_VALUE_V3 3                   /* + object ownership */
#define BUCKET_CONFIG_VALUE_MAX (64 * 1024) /* policy 20 KiB, ACL < 32 KiB */

static int bucket_decode(const char *name, const void *v, size_t len,
                         struct meta_bucket *b) {
  memset(b, 0, sizeof *b);
  snprintf(b->name, sizeof b->name, "%s", name);
  struct codec_in in;
  codec_in_init(&in, v, len);
  uint8_t version = codec_get_u8(&in);
  if (version < BUCKET_VALUE_V1 || version > BUCKET_VALUE_V3)
    return CAIRN_ECORRUPT;
  b->created_ms = (int64_t)codec_get_u64(&in);
  codec_get_str_into(&in, b->owner, sizeof b->owner);
  codec_get_str_into(&in, b->location, sizeof b->location);
  b->flags = codec_get_u32(&in);
  b->default_layout.kind = codec_get_u8(&in);
  b->default_layout.data = codec_get_u8(&in);
  b->default_layout.parity = codec_get_u8(&in);
  if (version >= BUCKET_VALUE_V2) {
    b->sse_algorithm = codec_get_u8(&in);
    b->bucket_key_enabled = codec_get_u8(&in);
  }
  if (version >= BUCKET_VALUE_V3)
    b->ownership = codec_get_u8(&in);
  return in.err;
}

static void bucket_encode(const struct meta_bucket *b, struct codec_out *o) {
  codec_out_init(o);
  codec_put_u8(o, BUCKET_VALUE_V3);
  codec_put_u64(o, (uint64_t)b->created_ms);
  codec_put_str(o, b->owner);
  codec_put_str(o, b->location);
  codec_put_u32(o, b->flags);
  codec_put_u8(o, b->default_layout.kind);
  codec_put_u8(o, b->default_layout.data);
  codec_put_u8(o, b->default_layout.parity);
  codec_put_u8(o, b->sse_algorithm);
  codec_put_u8(o, b->bucket_key_enabled);
  codec_put_u8(o, b->ownership);
}

struct bucket_create_arg {
  struct meta_key k;
  struct codec_out val;
};

static int apply_bucket_create(struct meta_tx *tx, void *arg) {
  struct bucket_create_arg *a = arg;
  char *v = NULL;
  size_t n = 0;
  int r = tx_get(tx, &a->k, &v, &n);
  val_free(v);
  if (r == 0)
    return CAIRN_EEXIST;
  if (r != CAIRN_ENOENT)
    return r;
  tx_put(tx, &a->k, a->val.buf, a->val.len);
  return 0;
}

int meta_bucket_create(struct meta *m, const struct meta_bucket *b) {
  if (valid_bucket(b->name) || !memchr(b->owner, 0, sizeof b->owner) ||
      !memchr(b->location, 0, sizeof b->location))
    return CAIRN_EINVAL;
  struct bucket_create_arg a;
  key_init(&a.k, TBL_BUCKET);
  key_str(&a.k, b->name);
  bucket_encode(b, &a.val);
  int r = a.val.err;
  if (!r)
    r = meta_run(m, apply_bucket_create, &a);
  codec_out_release(&a.val);
  return r;
}

int meta_bucket_get(struct meta *m, const char *name, struct meta_bucket *out) {
  if (valid_bucket(name))
    return CAIRN_EINVAL;
  struct meta_key k;
  key_init(&k, TBL_BUCKET);
  key_str(&k, name);
  char *v = NULL;
  size_t n = 0;
  int r = db_get(m, &k, &v, &n);
  if (r)
    return r;
  r = bucket_decode(name, v, n, out);
  val_free(v);
  return r;
}

struct bucket_sse_arg {
  const char *name;
  uint8_t algorithm, bucket_key;
  int ownership; /* >= 0: set the ownership instead of the encryption */
};

static int apply_bucket_sse(struct meta_tx *tx, void *arg) {
  struct bucket_sse_arg *a = arg;
  struct meta_key k;
  key_init(&k, TBL_BUCKET);
  key_str(&k, a->name);
  char *v = NULL;
  size_t n = 0;
  struct meta_bucket b;
  int r = tx_get(tx, &k, &v, &n);
  if (!r)
    r = bucket_decode(a->name, v, n, &b);
  val_free(v);
  if (r)
    return r;
  if (a->ownership >= 0) {
    b.ownership = (uint8_t)a->ownership;
  } else {
    b.sse_algorithm = a->algorithm;
    b.bucket_key_enabled = a->bucket_key;
  }
  struct codec_out o;
  bucket_encode(&b, &o);
  r = o.err;
  if (!r)
    tx_put(tx, &k, o.buf, o.len);
  codec_out_release(&o);
  return r;
}

int meta_bucket_set_encryption(struct meta *m, const char *name,
                               uint8_t sse_algorithm,
                               uint8_t bucket_key_enabled) {
  if (valid_bucket(name))
    return CAIRN_EINVAL;
  struct bucket_sse_arg a = {name, sse_algorithm, bucket_key_enabled, -1};
  return meta_run(m, apply_bucket_sse, &a);
}

int meta_bucket_set_ownership(struct meta *m, const char *name,
                              uint8_t ownership) {
  if (valid_bucket(name) || ownership > META_OWNERSHIP_OBJECT_WRITER)
    return CAIRN_EINVAL;
  struct bucket_sse_arg a = {name, 0, 0, ownership};
  return meta_run(m, apply_bucket_sse, &a);
}

/* ---- bucket configuration documents (table 'C') ---------------------- */

static int config_key(struct meta_key *k, const char *bucket,
                      const char *name) {
  if (valid_bucket(bucket) || !name || !name[0] || strlen(name) > 32)
    return CAIRN_EINVAL;
  key_init(k, TBL_BUCKET_CONFIG);
  key_str(k, bucket);
  key_sep(k);
  key_str(k, name);
  return 0;
}

int meta_bucket_config_get(struct meta *m, const char *bucket, const char *name,
                           char **out, size_t *len) {
  *out = NULL;
  *len = 0;
  struct meta_key k;
  int r = config_key(&k, bucket, name);
  char *v = NULL;
  size_t n = 0;
  if (!r)
    r = db_get(m, &k, &v, &n);
  if (r)
    return r;
  *out = malloc(n + 1);
  if (*out) {
    memcpy(*out, v, n);
    (*out)[n] = '\0';
    *len = n;
  }
  val_free(v);
  return *out ? 0 : CAIRN_ENOMEM;
}

struct bucket_config_arg {
  const char *bucket;
  struct meta_key k;
  const void *value;
  size_t len;
};

int tx_bucket_exists(struct meta_tx *tx, const char *bucket) {
  struct meta *m = tx->m;
  if (!tx->buckets_touched)
    for (unsigned i = 0; i < META_KNOWN_BUCKETS; i++)
      if (strcmp(m->known_buckets[i], bucket) == 0)
        return 0;
  struct meta_key k;
  key_init(&k, TBL_BUCKET);
  key_str(&k, bucket);
  char *v = NULL;
  size_t n = 0;
  int r = tx_get(tx, &k, &v, &n);
  val_free(v);
  if (r == 0 && !tx->buckets_touched && strlen(bucket) <= META_BUCKET_MAX) {
    snprintf(m->known_buckets[m->known_next], sizeof m->known_buckets[0], "%s",
             bucket);
    m->known_next = (m->known_next + 1) % META_KNOWN_BUCKETS;
  }
  return r;
}

static int apply_bucket_config(struct meta_tx *tx, void *arg) {
  struct bucket_config_arg *a = arg;
  int r = tx_bucket_exists(tx, a->bucket);
  if (r)
    return r; /* CAIRN_ENOENT: no such bucket */
  if (a->value)
    tx_put(tx, &a->k, a->value, a->len);
  else
    tx_del(tx, &a->k);
  return 0;
}

int meta_bucket_config_set(struct meta *m, const char *bucket, const char *name,
                           const void *value, size_t len) {
  struct bucket_config_arg a = {.bucket = bucket, .value = value, .len = len};
  int r = config_key(&a.k, bucket, name);
  if (r)
    return r;
  if (value && len > BUCKET_CONFIG_VALUE_MAX)
    return CAIRN_ETOOBIG;
  return meta_run(m, apply_bucket_config, &a);
}

/* True (1) when some key starts with prefix, 0 when none, or an error. */
static int tx_prefix_nonempty(struct meta_tx *tx, const struct meta_key *pfx) {
  struct meta_key hi = *pfx;
  key_successor(&hi);
  struct meta_iter it;
  int r = iter_open(tx->m, tx, &hi, &it);
  if (r)
    return r;
  iter_seek(&it, pfx);
  r = iter_valid(&it) ? 1 : iter_status(&it);
  iter_close(&it);
  return r;
}

static int apply_bucket_delete(struct meta_tx *tx, void *arg) {
  const char *name = arg;
  int r = tx_bucket_exists(tx, name);
  if (r)
    return r;
  struct meta_key k;
  key_init(&k, TBL_BUCKET);
  key_str(&k, name);
  /* Any version (O) or any multipart upload (U) keeps the bucket. */
  static const char tables[] = {TBL_OBJECT, TBL_LATEST, TBL_UPLOAD};
  for (size_t i = 0; i < sizeof tables; i++) {
    struct meta_key p;
    key_bucket_prefix(&p, tables[i], name);
    r = tx_prefix_nonempty(tx, &p);
    if (r < 0)
      return r;
    if (r > 0)
      return CAIRN_EBUSY;
  }
  tx_del(tx, &k);
  /* Its configuration documents go with it. */
  struct meta_key lo, hi;
  key_bucket_prefix(&lo, TBL_BUCKET_CONFIG, name);
  hi = lo;
  key_successor(&hi);
  struct meta_iter it;
  if ((r = iter_open(tx->m, tx, &hi, &it)) != 0)
    return r;
  for (iter_seek(&it, &lo); iter_valid(&it); iter_next(&it)) {
    size_t kn;
    const uint8_t *kb = iter_key(&it, &kn);
    struct meta_key del;
    del.len = 0;
    if (kn > sizeof del.b)
      continue;
    memcpy(del.b, kb, kn);
    del.len = kn;
    tx_del(tx, &del);
  }
  r = iter_status(&it);
  iter_close(&it);
  return r;
}

int meta_bucket_delete(struct meta *m, const char *name) {
  if (valid_bucket(name))
    return CAIRN_EINVAL;
  return meta_run(m, apply_bucket_delete, (void *)name);
}

struct bucket_list_arg {
  meta_bucket_cb cb;
  void *arg;
};

static int bucket_row(const char *name, const uint8_t *v, size_t len,
                      void *arg) {
  struct bucket_list_arg *l = arg;
  struct meta_bucket b;
  if (strlen(name) > META_BUCKET_MAX)
    return CAIRN_ECORRUPT;
  int r = bucket_decode(name, v, len, &b);
  return r ? r : l->cb(&b, l->arg);
}

int meta_bucket_list(struct meta *m, meta_bucket_cb cb, void *arg) {
  struct bucket_list_arg l = {cb, arg};
  return meta_table_scan(m, NULL, TBL_BUCKET, bucket_row, &l);
}

/*
 * meta_object.c - object versions ('O'), latest pointers ('L'), garbage
 * ('G') and the record encodings shared with the multipart file.
 *
 * Versions of one key sort newest first under O|1|bucket\0|key\0 because
 * their last field is ~seq (UINT64_MAX - seq, big-endian), seq being a
 * store-wide counter persisted in the same batch (K|1|\x01vseq). The latest
 * version is found with ONE point read of L|1|bucket\0|key, whose value
 * also carries the listing summary (size, etag, mtime, delete marker), so
 * ListObjectsV2 reads L only.
 *
 * Values (v2; v1 is v2 without the sealed key, read as unencrypted):
 *   O: u8 2, str version_id, u8 delete_marker, u64 size, str etag,
 *      u64 last_modified_ms, attrs, u32 n_chunks, chunk*, u32 n_parts,
 *      {u32 number, u64 offset, u64 size, str etag}*,
 *      then (appended later; absent in older values) {str checksum}* one
 *      per part, then str upload_id (the completed upload, or "")
 *   attrs: 6 optional strings (u8 present, str) content-type, -encoding,
 *      -disposition, -language, cache-control, expires; u32 n, {str name,
 *      str value}* user metadata; opt str checksum algorithm, opt str
 *      checksum value; u8 layout kind, u8 data, u8 parity;
 *      (v2) u8 present, bytes sealed data key; (v3) opt str ACL
 *      (coordinator/acl's stored form; absent: the owner's private ACL)
 *   chunk: 16 raw id bytes, u64 offset, u64 length, u8 kind, u8 data,
 *      u8 parity, u32 n, {str node_id, u32 index (bit 31: missing)}*
 *   L: u8 1, u64 seq, str version_id, u8 delete_marker, u64 size, str etag,
 *      u64 last_modified_ms
 *   G: u8 1, u64 length, u8 kind, u8 data, u8 parity, u32 n,
 *      {str node_id, u32 index}*
 */
#include "meta_internal.h"

#include "codec.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OBJECT_VALUE_V1 1
#define OBJECT_VALUE_V2 2 /* attrs carry the sealed data key */
#define OBJECT_VALUE_V3 3 /* attrs carry the object's ACL */
#define LATEST_VALUE_V1 1
#define GC_VALUE_V1 1

int valid_bucket(const char *bucket) {
  if (!bucket || !bucket[0] ||
      strnlen(bucket, META_BUCKET_MAX + 1) > META_BUCKET_MAX)
    return CAIRN_EINVAL;
  return 0;
}

/* A C string cannot hold 0x00, so that rule is enforced by the type: the S3
 * layer must reject a key that percent-decodes to a 0x00 byte. */
int valid_key(const char *key) {
  if (!key || !key[0] ||
      strnlen(key, META_OBJECT_KEY_MAX + 1) > META_OBJECT_KEY_MAX)
    return CAIRN_EINVAL;
  return 0;
}

void key_bucket_prefix(struct meta_key *k, char table, const char *bucket) {
  key_init(k, table);
  key_str(k, bucket);
  key_sep(k);
}

static void latest_key(struct meta_key *k, const char *bucket,
                       const char *key) {
  key_bucket_prefix(k, TBL_LATEST, bucket);
  key_str(k, key);
}

void version_key(struct meta_key *k, const char *bucket, const char *key,
                 uint64_t seq) {
  key_bucket_prefix(k, TBL_OBJECT, bucket);
  key_str(k, key);
  key_sep(k);
  key_u64(k, UINT64_MAX - seq);
}

/* ---- encodings ------------------------------------------------------------
 */

static void put_opt(struct codec_out *o, const char *s) {
  codec_put_u8(o, s != NULL);
  if (s)
    codec_put_str(o, s);
}

static const char *get_opt(struct codec_in *in) {
  return codec_get_u8(in) ? codec_get_str(in, NULL) : NULL;
}

void enc_attrs(struct codec_out *o, const struct meta_object_attrs *a) {
  put_opt(o, a->content_type);
  put_opt(o, a->content_encoding);
  put_opt(o, a->content_disposition);
  put_opt(o, a->content_language);
  put_opt(o, a->cache_control);
  put_opt(o, a->expires);
  codec_put_u32(o, a->n_user_meta);
  for (uint32_t i = 0; i < a->n_user_meta; i++) {
    codec_put_str(o, a->user_meta[i].name);
    codec_put_str(o, a->user_meta[i].value);
  }
  put_opt(o, a->checksum_algorithm);
  put_opt(o, a->checksum_value);
  codec_put_u8(o, a->layout.kind);
  codec_put_u8(o, a->layout.data);
  codec_put_u8(o, a->layout.parity);
  codec_put_u8(o, a->sealed_key != NULL);
  if (a->sealed_key)
    codec_put_bytes(o, a->sealed_key, a->sealed_key_len);
  put_opt(o, a->acl);
}

void dec_attrs(struct codec_in *in, struct meta_object_attrs *a, int level) {
  memset(a, 0, sizeof *a);
  a->content_type = get_opt(in);
  a->content_encoding = get_opt(in);
  a->content_disposition = get_opt(in);
  a->content_language = get_opt(in);
  a->cache_control = get_opt(in);
  a->expires = get_opt(in);
  uint32_t n = codec_get_u32(in);
  if (in->err || n > in->len) { /* each pair takes more than one byte */
    in->err = CAIRN_ECORRUPT;
    return;
  }
  if (n) {
    a->user_meta = calloc(n, sizeof *a->user_meta);
    if (!a->user_meta) {
      in->err = CAIRN_ENOMEM;
      return;
    }
    a->n_user_meta = n;
    for (uint32_t i = 0; i < n; i++) {
      a->user_meta[i].name = codec_get_str(in, NULL);
      a->user_meta[i].value = codec_get_str(in, NULL);
    }
  }
  a->checksum_algorithm = get_opt(in);
  a->checksum_value = get_opt(in);
  a->layout.kind = codec_get_u8(in);
  a->layout.data = codec_get_u8(in);
  a->layout.parity = codec_get_u8(in);
  if (level >= 2 && codec_get_u8(in)) {
    size_t key_len = 0;
    a->sealed_key = (const uint8_t *)codec_get_str(in, &key_len);
    a->sealed_key_len = (uint32_t)key_len;
  }
  if (level >= 3)
    a->acl = get_opt(in);
}

void enc_fragments(struct codec_out *o, const struct meta_chunk *c) {
  codec_put_u8(o, c->layout.kind);
  codec_put_u8(o, c->layout.data);
  codec_put_u8(o, c->layout.parity);
  codec_put_u32(o, c->n_fragments);
  for (uint32_t f = 0; f < c->n_fragments; f++) {
    codec_put_str(o, c->fragments[f].node_id);
    codec_put_u32(
        o, c->fragments[f].index |
               (c->fragments[f].missing ? META_FRAGMENT_MISSING_BIT : 0));
  }
}

void dec_fragments(struct codec_in *in, struct meta_chunk *c) {
  c->layout.kind = codec_get_u8(in);
  c->layout.data = codec_get_u8(in);
  c->layout.parity = codec_get_u8(in);
  uint32_t n = codec_get_u32(in);
  if (in->err || n > in->len) {
    in->err = CAIRN_ECORRUPT;
    return;
  }
  if (!n)
    return;
  c->fragments = calloc(n, sizeof *c->fragments);
  if (!c->fragments) {
    in->err = CAIRN_ENOMEM;
    return;
  }
  c->n_fragments = n;
  for (uint32_t f = 0; f < n; f++) {
    codec_get_str_into(in, c->fragments[f].node_id,
                       sizeof c->fragments[f].node_id);
    uint32_t index = codec_get_u32(in);
    c->fragments[f].index = index & ~META_FRAGMENT_MISSING_BIT;
    c->fragments[f].missing = (index & META_FRAGMENT_MISSING_BIT) != 0;
  }
}

void enc_chunks(struct codec_out *o, const struct meta_chunk *c, uint32_t n) {
  codec_put_u32(o, n);
  for (uint32_t i = 0; i < n; i++) {
    codec_put_raw(o, c[i].id, META_CHUNK_ID_LEN);
    codec_put_u64(o, c[i].offset);
    codec_put_u64(o, c[i].length);
    enc_fragments(o, &c[i]);
  }
}

void dec_chunks(struct codec_in *in, struct meta_chunk **out, uint32_t *nout) {
  *out = NULL;
  *nout = 0;
  uint32_t n = codec_get_u32(in);
  if (in->err || n > in->len) {
    in->err = CAIRN_ECORRUPT;
    return;
  }
  if (!n)
    return;
  struct meta_chunk *c = calloc(n, sizeof *c);
  if (!c) {
    in->err = CAIRN_ENOMEM;
    return;
  }
  *out = c;
  *nout = n;
  for (uint32_t i = 0; i < n && !in->err; i++) {
    codec_get_raw(in, c[i].id, META_CHUNK_ID_LEN);
    c[i].offset = codec_get_u64(in);
    c[i].length = codec_get_u64(in);
    dec_fragments(in, &c[i]);
  }
}

void free_chunks(struct meta_chunk *c, uint32_t n) {
  if (!c)
    return;
  for (uint32_t i = 0; i < n; i++)
    free(c[i].fragments);
  free(c);
}

int object_encode(const struct meta_object *rec, struct codec_out *o) {
  codec_out_init(o);
  codec_put_u8(o, OBJECT_VALUE_V3);
  codec_put_str(o, rec->version_id);
  codec_put_u8(o, rec->delete_marker);
  codec_put_u64(o, rec->size);
  codec_put_str(o, rec->etag);
  codec_put_u64(o, (uint64_t)rec->last_modified_ms);
  enc_attrs(o, &rec->attrs);
  enc_chunks(o, rec->chunks, rec->n_chunks);
  codec_put_u32(o, rec->n_parts);
  for (uint32_t i = 0; i < rec->n_parts; i++) {
    codec_put_u32(o, rec->parts[i].part_number);
    codec_put_u64(o, rec->parts[i].offset);
    codec_put_u64(o, rec->parts[i].size);
    codec_put_str(o, rec->parts[i].etag);
  }
  for (uint32_t i = 0; i < rec->n_parts; i++)
    codec_put_str(o, rec->parts[i].checksum);
  codec_put_str(o, rec->upload_id);
  return o->err;
}

void meta_object_free(struct meta_object *obj) {
  if (!obj)
    return;
  free_chunks(obj->chunks, obj->n_chunks);
  free(obj->parts);
  free(obj->attrs.user_meta);
  free(obj->owned_);
  obj->chunks = NULL;
  obj->parts = NULL;
  obj->attrs.user_meta = NULL;
  obj->owned_ = NULL;
  obj->n_chunks = obj->n_parts = 0;
}

int object_decode(const void *v, size_t len, const char *bucket,
                  const char *key, struct meta_object *out) {
  memset(out, 0, sizeof *out);
  out->owned_ = malloc(len ? len : 1);
  if (!out->owned_)
    return CAIRN_ENOMEM;
  memcpy(out->owned_, v, len);
  snprintf(out->bucket, sizeof out->bucket, "%s", bucket);
  snprintf(out->key, sizeof out->key, "%s", key);
  struct codec_in in;
  codec_in_init(&in, out->owned_, len);
  uint8_t version = codec_get_u8(&in);
  if (version < OBJECT_VALUE_V1 || version > OBJECT_VALUE_V3)
    in.err = CAIRN_ECORRUPT;
  codec_get_str_into(&in, out->version_id, sizeof out->version_id);
  out->delete_marker = codec_get_u8(&in) != 0;
  out->size = codec_get_u64(&in);
  codec_get_str_into(&in, out->etag, sizeof out->etag);
  out->last_modified_ms = (int64_t)codec_get_u64(&in);
  dec_attrs(&in, &out->attrs, version);
  dec_chunks(&in, &out->chunks, &out->n_chunks);
  uint32_t np = codec_get_u32(&in);
  if (!in.err && np > len)
    in.err = CAIRN_ECORRUPT;
  if (!in.err && np) {
    out->parts = calloc(np, sizeof *out->parts);
    if (!out->parts)
      in.err = CAIRN_ENOMEM;
    else
      out->n_parts = np;
  }
  for (uint32_t i = 0; i < out->n_parts && !in.err; i++) {
    out->parts[i].part_number = codec_get_u32(&in);
    out->parts[i].offset = codec_get_u64(&in);
    out->parts[i].size = codec_get_u64(&in);
    codec_get_str_into(&in, out->parts[i].etag, sizeof out->parts[i].etag);
  }
  if (!in.err && in.off < in.len) /* part checksums */
    for (uint32_t i = 0; i < out->n_parts && !in.err; i++)
      codec_get_str_into(&in, out->parts[i].checksum,
                         sizeof out->parts[i].checksum);
  if (!in.err && in.off < in.len)
    codec_get_str_into(&in, out->upload_id, sizeof out->upload_id);
  if (out->attrs.checksum_value)
    out->attrs.checksum_type = strchr(out->attrs.checksum_value, '-')
                                   ? META_CHECKSUM_COMPOSITE
                                   : META_CHECKSUM_FULL_OBJECT;
  if (in.err) {
    meta_object_free(out);
    return in.err;
  }
  return 0;
}

/* ---- latest pointer -------------------------------------------------------
 */

struct latest {
  uint64_t seq;
  char version_id[META_VERSION_ID_MAX + 1];
  bool delete_marker;
};

static int latest_decode(const void *v, size_t len, struct latest *l) {
  struct codec_in in;
  codec_in_init(&in, v, len);
  if (codec_get_u8(&in) != LATEST_VALUE_V1)
    return CAIRN_ECORRUPT;
  l->seq = codec_get_u64(&in);
  codec_get_str_into(&in, l->version_id, sizeof l->version_id);
  l->delete_marker = codec_get_u8(&in) != 0;
  return in.err;
}

/* Reads L inside tx: 0, CAIRN_ENOENT, or an error. */
static int tx_latest(struct meta_tx *tx, const char *bucket, const char *key,
                     struct latest *l);
int latest_seq_in_tx(struct meta_tx *tx, const char *bucket, const char *key,
                     uint64_t *seq) {
  struct latest l;
  int r = tx_latest(tx, bucket, key, &l);
  if (!r && l.delete_marker)
    r = CAIRN_ENOENT;
  if (!r)
    *seq = l.seq;
  return r;
}

static int tx_latest(struct meta_tx *tx, const char *bucket, const char *key,
                     struct latest *l) {
  struct meta_key k;
  latest_key(&k, bucket, key);
  char *v = NULL;
  size_t n = 0;
  int r = tx_get(tx, &k, &v, &n);
  if (!r)
    r = latest_decode(v, n, l);
  val_free(v);
  return r;
}

/* ---- ACL of the latest version ------------------------------------------ */

struct object_acl_arg {
  const char *bucket, *key, *acl;
};

static int apply_object_acl(struct meta_tx *tx, void *arg) {
  struct object_acl_arg *a = arg;
  struct latest l;
  int r = tx_latest(tx, a->bucket, a->key, &l);
  if (r)
    return r;
  if (l.delete_marker)
    return CAIRN_ENOENT;
  struct meta_key k;
  version_key(&k, a->bucket, a->key, l.seq);
  char *v = NULL;
  size_t n = 0;
  struct meta_object o;
  if ((r = tx_get(tx, &k, &v, &n)) == 0)
    r = object_decode(v, n, a->bucket, a->key, &o);
  val_free(v);
  if (r)
    return r;
  o.attrs.acl = a->acl;
  struct codec_out out;
  if ((r = object_encode(&o, &out)) == 0)
    tx_put(tx, &k, out.buf, out.len);
  codec_out_release(&out);
  meta_object_free(&o);
  return r;
}

int meta_object_set_acl(struct meta *m, const char *bucket, const char *key,
                        const char *acl) {
  if (valid_bucket(bucket) || valid_key(key))
    return CAIRN_EINVAL;
  struct object_acl_arg a = {bucket, key, acl};
  return meta_run(m, apply_object_acl, &a);
}

/* ---- garbage ------------------------------------------------------------- */

static bool chunk_kept(const struct meta_chunk *c,
                       const struct meta_chunk *keep, uint32_t n_keep) {
  for (uint32_t i = 0; i < n_keep; i++)
    if (memcmp(c->id, keep[i].id, META_CHUNK_ID_LEN) == 0)
      return true;
  return false;
}

int gc_queue_chunks(struct meta_tx *tx, const struct meta_chunk *chunks,
                    uint32_t n, const struct meta_chunk *keep,
                    uint32_t n_keep) {
  for (uint32_t i = 0; i < n; i++) {
    if (chunk_kept(&chunks[i], keep, n_keep))
      continue;
    struct meta_key k;
    key_init(&k, TBL_GARBAGE);
    key_u64(&k, (uint64_t)tx->now_ms);
    key_raw(&k, chunks[i].id, META_CHUNK_ID_LEN);
    struct codec_out o;
    codec_out_init(&o);
    codec_put_u8(&o, GC_VALUE_V1);
    codec_put_u64(&o, chunks[i].length);
    enc_fragments(&o, &chunks[i]);
    int r = o.err;
    if (!r)
      tx_put(tx, &k, o.buf, o.len);
    codec_out_release(&o);
    if (r)
      return r;
  }
  return 0;
}

/* Removes version seq of bucket/key, queueing its chunks as garbage. */
static int remove_version(struct meta_tx *tx, const char *bucket,
                          const char *key, uint64_t seq,
                          const struct meta_chunk *keep, uint32_t n_keep) {
  struct meta_key k;
  version_key(&k, bucket, key, seq);
  char *v = NULL;
  size_t n = 0;
  int r = tx_get(tx, &k, &v, &n);
  if (r == CAIRN_ENOENT)
    return 0; /* a dangling pointer: nothing to collect */
  if (r)
    return r;
  struct meta_object old;
  r = object_decode(v, n, bucket, key, &old);
  val_free(v);
  if (r)
    return r;
  r = gc_queue_chunks(tx, old.chunks, old.n_chunks, keep, n_keep);
  if (!r)
    repair_index_drop(tx, old.chunks, old.n_chunks, keep, n_keep);
  meta_object_free(&old);
  if (!r)
    tx_del(tx, &k);
  return r;
}

/* ---- put / delete ----------------------------------------------------------
 */

int object_put_in_tx(struct meta_tx *tx, const struct meta_object *rec,
                     const void *value, size_t value_len) {
  struct meta_key k;
  int r = tx_bucket_exists(tx, rec->bucket);
  if (r)
    return r; /* CAIRN_ENOENT: NoSuchBucket */

  struct latest old;
  r = tx_latest(tx, rec->bucket, rec->key, &old);
  if (r && r != CAIRN_ENOENT)
    return r;
  /* Unversioned buckets: the new version replaces the current one. With
   * versioning (later) only a null version would be replaced. */
  if (r == 0) {
    r = remove_version(tx, rec->bucket, rec->key, old.seq, rec->chunks,
                       rec->n_chunks);
    if (r)
      return r;
  }

  uint64_t seq = tx_next_seq(tx);
  version_key(&k, rec->bucket, rec->key, seq);
  tx_put(tx, &k, value, value_len);

  struct codec_out o;
  codec_out_init(&o);
  codec_put_u8(&o, LATEST_VALUE_V1);
  codec_put_u64(&o, seq);
  codec_put_str(&o, rec->version_id);
  codec_put_u8(&o, rec->delete_marker);
  codec_put_u64(&o, rec->size);
  codec_put_str(&o, rec->etag);
  codec_put_u64(&o, (uint64_t)rec->last_modified_ms);
  r = o.err;
  if (!r) {
    latest_key(&k, rec->bucket, rec->key);
    tx_put(tx, &k, o.buf, o.len);
    intent_clear_in_tx(tx, rec->intent_ms, rec->chunks, rec->n_chunks);
    r = repair_index_add(tx, rec->bucket, rec->key, rec->chunks, rec->n_chunks);
  }
  codec_out_release(&o);
  return r;
}

struct object_put_arg {
  struct meta_object rec; /* bucket/key/version/chunks for the tx */
  struct codec_out value;
};

static int apply_object_put(struct meta_tx *tx, void *arg) {
  struct object_put_arg *a = arg;
  return object_put_in_tx(tx, &a->rec, a->value.buf, a->value.len);
}

static void release_object_put(void *arg) {
  struct object_put_arg *a = arg;
  codec_out_release(&a->value);
  meta_object_free(&a->rec);
  free(a);
}

/* Encodes rec once and keeps a decoded private copy (the async path must
 * not read the caller's pointers after the call). */
static int object_put_prepare(const struct meta_object *rec,
                              struct object_put_arg **out) {
  if (valid_bucket(rec->bucket) || valid_key(rec->key) ||
      !memchr(rec->version_id, 0, sizeof rec->version_id) ||
      !rec->version_id[0] || !memchr(rec->etag, 0, sizeof rec->etag))
    return CAIRN_EINVAL;
  struct object_put_arg *a = calloc(1, sizeof *a);
  if (!a)
    return CAIRN_ENOMEM;
  int r = object_encode(rec, &a->value);
  if (!r)
    r = object_decode(a->value.buf, a->value.len, rec->bucket, rec->key,
                      &a->rec);
  if (!r)
    a->rec.intent_ms = rec->intent_ms; /* not stored: an input only */
  if (r) {
    codec_out_release(&a->value);
    free(a);
    return r;
  }
  *out = a;
  return 0;
}

int meta_object_put(struct meta *m, const struct meta_object *rec) {
  struct object_put_arg *a = NULL;
  int r = object_put_prepare(rec, &a);
  if (r)
    return r;
  r = meta_run(m, apply_object_put, a);
  release_object_put(a);
  return r;
}

int meta_batch_object_put(struct meta_batch *b, const struct meta_object *rec) {
  struct object_put_arg *a = NULL;
  int r = object_put_prepare(rec, &a);
  if (r)
    return r;
  return batch_add(b, apply_object_put, release_object_put, a);
}

struct object_delete_arg {
  char bucket[META_BUCKET_MAX + 1];
  char key[META_OBJECT_KEY_MAX + 1];
};

static int apply_object_delete(struct meta_tx *tx, void *arg) {
  struct object_delete_arg *a = arg;
  struct latest l;
  int r = tx_latest(tx, a->bucket, a->key, &l);
  if (r)
    return r;
  r = remove_version(tx, a->bucket, a->key, l.seq, NULL, 0);
  if (r)
    return r;
  struct meta_key k;
  latest_key(&k, a->bucket, a->key);
  tx_del(tx, &k);
  return 0;
}

static int object_delete_prepare(const char *bucket, const char *key,
                                 struct object_delete_arg **out) {
  if (valid_bucket(bucket) || valid_key(key))
    return CAIRN_EINVAL;
  struct object_delete_arg *a = malloc(sizeof *a);
  if (!a)
    return CAIRN_ENOMEM;
  snprintf(a->bucket, sizeof a->bucket, "%s", bucket);
  snprintf(a->key, sizeof a->key, "%s", key);
  *out = a;
  return 0;
}

int meta_object_delete(struct meta *m, const char *bucket, const char *key) {
  struct object_delete_arg *a = NULL;
  int r = object_delete_prepare(bucket, key, &a);
  if (r)
    return r;
  r = meta_run(m, apply_object_delete, a);
  free(a);
  return r;
}

int meta_batch_object_delete(struct meta_batch *b, const char *bucket,
                             const char *key) {
  struct object_delete_arg *a = NULL;
  int r = object_delete_prepare(bucket, key, &a);
  if (r)
    return r;
  return batch_add(b, apply_object_delete, free, a);
}

/* ---- reads ------------------------------------------------------------------
 */

int meta_object_get_latest(struct meta *m, const char *bucket, const char *key,
                           struct meta_object *out) {
  memset(out, 0, sizeof *out);
  if (valid_bucket(bucket) || valid_key(key))
    return CAIRN_EINVAL;
  /* L then O are two reads; a writer may replace the version between them,
   * so a vanished O means "read L again". */
  for (int attempt = 0; attempt < 8; attempt++) {
    struct meta_key k;
    latest_key(&k, bucket, key);
    char *v = NULL;
    size_t n = 0;
    int r = db_get(m, &k, &v, &n);
    if (r)
      return r;
    struct latest l;
    r = latest_decode(v, n, &l);
    val_free(v);
    if (r)
      return r;
    version_key(&k, bucket, key, l.seq);
    r = db_get(m, &k, &v, &n);
    if (r == CAIRN_ENOENT)
      continue;
    if (r)
      return r;
    r = object_decode(v, n, bucket, key, out);
    val_free(v);
    if (r)
      return r;
    return out->delete_marker ? CAIRN_ENOENT : 0;
  }
  return CAIRN_EBUSY;
}

/* ---- garbage collection interface -------------------------------------- */

int meta_gc_take(struct meta *m, uint32_t max, struct meta_gc_list *out) {
  memset(out, 0, sizeof *out);
  if (max == 0)
    return 0;
  struct meta_key lo, hi;
  key_init(&lo, TBL_GARBAGE);
  hi = lo;
  key_successor(&hi);
  struct meta_iter it;
  int r = iter_open(m, NULL, &hi, &it);
  if (r)
    return r;
  out->items = calloc(max, sizeof *out->items);
  if (!out->items) {
    r = CAIRN_ENOMEM;
    goto done;
  }
  for (iter_seek(&it, &lo); iter_valid(&it) && out->n < max; iter_next(&it)) {
    size_t kl, vl;
    const uint8_t *kb = iter_key(&it, &kl);
    const uint8_t *vb = iter_value(&it, &vl);
    if (kl != sizeof out->items[0].gc_key) {
      r = CAIRN_ECORRUPT;
      break;
    }
    struct meta_gc_item *g = &out->items[out->n++];
    memcpy(g->gc_key, kb, kl);
    g->queued_ms = (int64_t)codec_rd64(kb + 2);
    memcpy(g->chunk.id, kb + 10, META_CHUNK_ID_LEN);
    struct codec_in in;
    codec_in_init(&in, vb, vl);
    if (codec_get_u8(&in) != GC_VALUE_V1)
      in.err = CAIRN_ECORRUPT;
    g->chunk.length = codec_get_u64(&in);
    dec_fragments(&in, &g->chunk);
    if (in.err) {
      r = in.err;
      break;
    }
  }
  if (!r)
    r = iter_status(&it);
done:
  iter_close(&it);
  if (r)
    meta_gc_list_free(out);
  return r;
}

void meta_gc_list_free(struct meta_gc_list *l) {
  for (uint32_t i = 0; i < l->n; i++)
    free(l->items[i].chunk.fragments);
  free(l->items);
  memset(l, 0, sizeof *l);
}

struct gc_done_arg {
  const struct meta_gc_item *items;
  uint32_t n;
};

static int apply_gc_done(struct meta_tx *tx, void *arg) {
  struct gc_done_arg *a = arg;
  for (uint32_t i = 0; i < a->n; i++) {
    struct meta_key k;
    k.len = 0;
    key_raw(&k, a->items[i].gc_key, sizeof a->items[i].gc_key);
    if (k.b[0] != TBL_GARBAGE)
      return CAIRN_EINVAL;
    tx_del(tx, &k);
  }
  return 0;
}

int meta_gc_done(struct meta *m, const struct meta_gc_item *items, uint32_t n) {
  struct gc_done_arg a = {items, n};
  return n ? meta_run(m, apply_gc_done, &a) : 0;
}

struct gc_add_arg {
  const struct meta_chunk *chunks;
  uint32_t n;
};

static int apply_gc_add(struct meta_tx *tx, void *arg) {
  struct gc_add_arg *a = arg;
  return gc_queue_chunks(tx, a->chunks, a->n, NULL, 0);
}

/* Deletes the intents of chunks (see meta_intent_add) inside tx. */
void intent_clear_in_tx(struct meta_tx *tx, int64_t intent_ms,
                        const struct meta_chunk *chunks, uint32_t n) {
  if (!intent_ms)
    return;
  for (uint32_t i = 0; i < n; i++) {
    struct meta_key k;
    key_init(&k, TBL_GARBAGE);
    key_u64(&k, (uint64_t)intent_ms);
    key_raw(&k, chunks[i].id, META_CHUNK_ID_LEN);
    tx_del(tx, &k);
  }
}

struct intent_arg {
  int64_t due_ms;
  const uint8_t (*ids)[META_CHUNK_ID_LEN];
  uint32_t n, fragments;
};

static int apply_intent_add(struct meta_tx *tx, void *arg) {
  struct intent_arg *a = arg;
  for (uint32_t i = 0; i < a->n; i++) {
    struct meta_key k;
    key_init(&k, TBL_GARBAGE);
    key_u64(&k, (uint64_t)a->due_ms);
    key_raw(&k, a->ids[i], META_CHUNK_ID_LEN);
    /* Fragments with an empty node id: "on whichever node has it". */
    struct meta_chunk c;
    memset(&c, 0, sizeof c);
    struct meta_fragment frags[16];
    memset(frags, 0, sizeof frags);
    c.n_fragments = a->fragments < 16 ? a->fragments : 16;
    for (uint32_t f = 0; f < c.n_fragments; f++)
      frags[f].index = f;
    c.fragments = frags;
    struct codec_out o;
    codec_out_init(&o);
    codec_put_u8(&o, GC_VALUE_V1);
    codec_put_u64(&o, 0);
    enc_fragments(&o, &c);
    int r = o.err;
    if (!r)
      tx_put(tx, &k, o.buf, o.len);
    codec_out_release(&o);
    if (r)
      return r;
  }
  return 0;
}

int meta_intent_add(struct meta *m, int64_t due_ms,
                    const uint8_t (*chunk_ids)[META_CHUNK_ID_LEN], uint32_t n,
                    uint32_t fragments) {
  struct intent_arg a = {due_ms, chunk_ids, n, fragments};
  return n ? meta_run(m, apply_intent_add, &a) : 0;
}

/* The batch form owns a copy of the ids (the caller's may go away first). */
struct intent_batch_arg {
  struct intent_arg a;
  uint8_t ids[][META_CHUNK_ID_LEN];
};

static int apply_intent_batch(struct meta_tx *tx, void *arg) {
  struct intent_batch_arg *b = arg;
  return apply_intent_add(tx, &b->a);
}

int meta_batch_intent_add(struct meta_batch *b, int64_t due_ms,
                          const uint8_t (*chunk_ids)[META_CHUNK_ID_LEN],
                          uint32_t n, uint32_t fragments) {
  if (n == 0)
    return CAIRN_EINVAL;
  struct intent_batch_arg *a =
      malloc(sizeof *a + (size_t)n * META_CHUNK_ID_LEN);
  if (!a)
    return CAIRN_ENOMEM;
  memcpy(a->ids, chunk_ids, (size_t)n * META_CHUNK_ID_LEN);
  a->a = (struct intent_arg){
      due_ms, (const uint8_t(*)[META_CHUNK_ID_LEN])a->ids, n, fragments};
  return batch_add(b, apply_intent_batch, free, a);
}

int meta_gc_add(struct meta *m, const struct meta_chunk *chunks, uint32_t n) {
  struct gc_add_arg a = {chunks, n};
  return n ? meta_run(m, apply_gc_add, &a) : 0;
}

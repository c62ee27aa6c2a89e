/*
 * meta_multipart.c - multipart uploads ('U') and their parts ('P').
 *
 *   U|1|bucket\0|key\0|upload_id  -> v2: u8 2, u64 initiated_ms, attrs
 *                                    (with the sealed data key; v1: without),
 *                                    then (appended later) u8 checksum_type
 *   P|1|upload_id|part_number(BE) -> v2: u8 2, u64 size, str etag,
 *                                    u64 last_modified_ms, opt str checksum,
 *                                    u32 n_chunks, chunk*, u8 present,
 *                                    bytes sealed data key (v1: no key)
 * upload_id is 32 hex characters (16 random bytes), fixed width, so P keys
 * need no separator and the parts of one upload are one contiguous range.
 *
 * Life of an upload:
 *
 *   meta_upload_create --> [open] --meta_part_put (n times)--> [open]
 *                            |                                   |
 *                 meta_upload_abort                   meta_upload_complete
 *                            v                                   v
 *           U, P deleted; all part chunks      ONE batch: O + L written, U and
 *           queued in G                        every P deleted, chunks of
 *                                              unlisted parts and of the
 *                                              replaced version queued in G
 */
#include "meta_internal.h"

#include "checksum.h"
#include "codec.h"
#include "crypto.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UPLOAD_VALUE_V1 1
#define UPLOAD_VALUE_V2 2 /* attrs carry the sealed data key */
#define UPLOAD_VALUE_V3 3 /* attrs carry the ACL the object gets */
#define PART_VALUE_V1 1
#define PART_VALUE_V2 2 /* + the sealed data key */

static int valid_upload_id(const char *id) {
  if (!id || strnlen(id, META_UPLOAD_ID_LEN + 1) != META_UPLOAD_ID_LEN)
    return CAIRN_EINVAL;
  for (int i = 0; i < META_UPLOAD_ID_LEN; i++) {
    char c = id[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return CAIRN_EINVAL;
  }
  return 0;
}

static void upload_key(struct meta_key *k, const char *bucket, const char *key,
                       const char *upload_id) {
  key_bucket_prefix(k, TBL_UPLOAD, bucket);
  key_str(k, key);
  key_sep(k);
  key_str(k, upload_id);
}

static void part_key(struct meta_key *k, const char *upload_id,
                     uint32_t part_number) {
  key_init(k, TBL_PART);
  key_str(k, upload_id);
  key_u32(k, part_number);
}

void meta_upload_free(struct meta_upload *u) {
  if (!u)
    return;
  free(u->attrs.user_meta);
  free(u->owned_);
  u->attrs.user_meta = NULL;
  u->owned_ = NULL;
}

/* Fills u (attrs point into a private copy of v). */
static int upload_decode(const void *v, size_t len, struct meta_upload *u) {
  u->owned_ = malloc(len ? len : 1);
  if (!u->owned_)
    return CAIRN_ENOMEM;
  memcpy(u->owned_, v, len);
  struct codec_in in;
  codec_in_init(&in, u->owned_, len);
  uint8_t version = codec_get_u8(&in);
  if (version < UPLOAD_VALUE_V1 || version > UPLOAD_VALUE_V3)
    in.err = CAIRN_ECORRUPT;
  u->initiated_ms = (int64_t)codec_get_u64(&in);
  dec_attrs(&in, &u->attrs, version);
  if (!in.err && in.off < in.len)
    u->attrs.checksum_type = codec_get_u8(&in);
  if (in.err)
    meta_upload_free(u);
  return in.err;
}

/* ---- create / get ----------------------------------------------------------
 */

struct upload_create_arg {
  const struct meta_upload *u;
  struct codec_out val;
};

static int apply_upload_create(struct meta_tx *tx, void *arg) {
  struct upload_create_arg *a = arg;
  struct meta_key k;
  key_init(&k, TBL_BUCKET);
  key_str(&k, a->u->bucket);
  char *v = NULL;
  size_t n = 0;
  int r = tx_get(tx, &k, &v, &n);
  val_free(v);
  if (r)
    return r;
  upload_key(&k, a->u->bucket, a->u->key, a->u->upload_id);
  tx_put(tx, &k, a->val.buf, a->val.len);
  return 0;
}

int meta_upload_create(struct meta *m, struct meta_upload *u) {
  if (valid_bucket(u->bucket) || valid_key(u->key))
    return CAIRN_EINVAL;
  uint8_t rnd[META_UPLOAD_ID_LEN / 2];
  int r = crypto_random(rnd, sizeof rnd);
  if (r)
    return r;
  crypto_hex(rnd, sizeof rnd, u->upload_id);
  if (u->initiated_ms == 0)
    u->initiated_ms = meta_now_ms();
  struct upload_create_arg a = {.u = u};
  codec_out_init(&a.val);
  codec_put_u8(&a.val, UPLOAD_VALUE_V3);
  codec_put_u64(&a.val, (uint64_t)u->initiated_ms);
  enc_attrs(&a.val, &u->attrs);
  codec_put_u8(&a.val, u->attrs.checksum_type);
  r = a.val.err;
  if (!r)
    r = meta_run(m, apply_upload_create, &a);
  codec_out_release(&a.val);
  return r;
}

int meta_upload_get(struct meta *m, const char *bucket, const char *key,
                    const char *upload_id, struct meta_upload *out) {
  memset(out, 0, sizeof *out);
  if (valid_bucket(bucket) || valid_key(key))
    return CAIRN_EINVAL;
  if (valid_upload_id(upload_id))
    return CAIRN_ENOENT; /* a malformed id names no upload */
  struct meta_key k;
  upload_key(&k, bucket, key, upload_id);
  char *v = NULL;
  size_t n = 0;
  int r = db_get(m, &k, &v, &n);
  if (r)
    return r;
  snprintf(out->bucket, sizeof out->bucket, "%s", bucket);
  snprintf(out->key, sizeof out->key, "%s", key);
  snprintf(out->upload_id, sizeof out->upload_id, "%s", upload_id);
  r = upload_decode(v, n, out);
  val_free(v);
  return r;
}

/* ---- parts
 * ------------------------------------------------------------------- */

/* Decodes a P value; p->chunks is malloc'd, strings point into v. */
static int part_decode(const uint8_t *v, size_t len, uint32_t number,
                       struct meta_part *p) {
  memset(p, 0, sizeof *p);
  p->part_number = number;
  struct codec_in in;
  codec_in_init(&in, v, len);
  uint8_t version = codec_get_u8(&in);
  if (version != PART_VALUE_V1 && version != PART_VALUE_V2)
    in.err = CAIRN_ECORRUPT;
  p->size = codec_get_u64(&in);
  codec_get_str_into(&in, p->etag, sizeof p->etag);
  p->last_modified_ms = (int64_t)codec_get_u64(&in);
  p->checksum_value = codec_get_u8(&in) ? codec_get_str(&in, NULL) : NULL;
  dec_chunks(&in, &p->chunks, &p->n_chunks);
  if (version >= PART_VALUE_V2 && codec_get_u8(&in)) {
    size_t n = 0;
    p->sealed_key = (const uint8_t *)codec_get_str(&in, &n);
    p->sealed_key_len = (uint32_t)n;
  }
  if (in.err) {
    free_chunks(p->chunks, p->n_chunks);
    p->chunks = NULL;
    p->n_chunks = 0;
  }
  return in.err;
}

static int tx_upload_exists(struct meta_tx *tx, const char *bucket,
                            const char *key, const char *upload_id) {
  struct meta_key k;
  upload_key(&k, bucket, key, upload_id);
  char *v = NULL;
  size_t n = 0;
  int r = tx_get(tx, &k, &v, &n);
  val_free(v);
  return r;
}

struct part_put_arg {
  const char *bucket, *key, *upload_id;
  const struct meta_part *part;
  struct codec_out val;
};

static int apply_part_put(struct meta_tx *tx, void *arg) {
  struct part_put_arg *a = arg;
  int r = tx_upload_exists(tx, a->bucket, a->key, a->upload_id);
  if (r)
    return r;
  struct meta_key k;
  part_key(&k, a->upload_id, a->part->part_number);
  char *v = NULL;
  size_t n = 0;
  r = tx_get(tx, &k, &v, &n);
  if (r == 0) { /* replaced: the old part's chunks become garbage */
    struct meta_part old;
    r = part_decode((const uint8_t *)v, n, a->part->part_number, &old);
    if (!r)
      r = gc_queue_chunks(tx, old.chunks, old.n_chunks, a->part->chunks,
                          a->part->n_chunks);
    free_chunks(old.chunks, old.n_chunks);
  } else if (r == CAIRN_ENOENT) {
    r = 0;
  }
  val_free(v);
  if (r)
    return r;
  tx_put(tx, &k, a->val.buf, a->val.len);
  intent_clear_in_tx(tx, a->part->intent_ms, a->part->chunks,
                     a->part->n_chunks);
  return 0;
}

int meta_part_put(struct meta *m, const char *bucket, const char *key,
                  const char *upload_id, const struct meta_part *part) {
  if (valid_bucket(bucket) || valid_key(key) ||
      !memchr(part->etag, 0, sizeof part->etag))
    return CAIRN_EINVAL;
  if (valid_upload_id(upload_id))
    return CAIRN_ENOENT;
  if (part->part_number < 1 || part->part_number > META_PART_NUMBER_MAX)
    return CAIRN_EINVAL;
  struct part_put_arg a = {bucket, key, upload_id, part, {0}};
  codec_out_init(&a.val);
  codec_put_u8(&a.val, PART_VALUE_V2);
  codec_put_u64(&a.val, part->size);
  codec_put_str(&a.val, part->etag);
  codec_put_u64(&a.val,
                (uint64_t)(part->last_modified_ms ? part->last_modified_ms
                                                  : meta_now_ms()));
  codec_put_u8(&a.val, part->checksum_value != NULL);
  if (part->checksum_value)
    codec_put_str(&a.val, part->checksum_value);
  enc_chunks(&a.val, part->chunks, part->n_chunks);
  codec_put_u8(&a.val, part->sealed_key != NULL);
  if (part->sealed_key)
    codec_put_bytes(&a.val, part->sealed_key, part->sealed_key_len);
  int r = a.val.err;
  if (!r)
    r = meta_run(m, apply_part_put, &a);
  codec_out_release(&a.val);
  return r;
}

int meta_part_list(struct meta *m, const char *upload_id,
                   uint32_t part_number_marker, uint32_t max_parts,
                   meta_part_cb cb, void *arg, bool *truncated) {
  *truncated = false;
  if (valid_upload_id(upload_id))
    return CAIRN_ENOENT;
  struct meta_key lo, hi;
  part_key(&lo, upload_id, part_number_marker + 1);
  key_init(&hi, TBL_PART);
  key_str(&hi, upload_id);
  key_successor(&hi);
  struct meta_iter it;
  int r = iter_open(m, NULL, &hi, &it);
  if (r)
    return r;
  uint32_t count = 0;
  for (iter_seek(&it, &lo); iter_valid(&it); iter_next(&it)) {
    if (count == max_parts) {
      *truncated = true;
      break;
    }
    size_t kl, vl;
    const uint8_t *kb = iter_key(&it, &kl);
    const uint8_t *vb = iter_value(&it, &vl);
    if (kl != 2 + META_UPLOAD_ID_LEN + 4) {
      r = CAIRN_ECORRUPT;
      break;
    }
    struct meta_part p;
    r = part_decode(vb, vl, codec_rd32(kb + kl - 4), &p);
    if (r)
      break;
    r = cb(&p, arg);
    free_chunks(p.chunks, p.n_chunks);
    if (r)
      break;
    count++;
  }
  if (!r)
    r = iter_status(&it);
  iter_close(&it);
  return r;
}

/* ---- abort
 * ------------------------------------------------------------------- */

/* Deletes every P of upload_id; chunks of parts not in keep go to G. The
 * part numbers are collected first: the indexed batch is not modified while
 * an iterator over it is open. */
static int drop_parts(struct meta_tx *tx, const char *upload_id,
                      const struct meta_chunk *keep, uint32_t n_keep) {
  struct meta_key lo, hi;
  key_init(&lo, TBL_PART);
  key_str(&lo, upload_id);
  hi = lo;
  key_successor(&hi);
  uint32_t *numbers = NULL, count = 0, cap = 0;
  struct meta_iter it;
  int r = iter_open(tx->m, tx, &hi, &it);
  if (r)
    return r;
  for (iter_seek(&it, &lo); iter_valid(&it); iter_next(&it)) {
    size_t kl;
    const uint8_t *kb = iter_key(&it, &kl);
    if (kl != 2 + META_UPLOAD_ID_LEN + 4 || count >= META_PART_NUMBER_MAX) {
      r = CAIRN_ECORRUPT;
      break;
    }
    if (count == cap) {
      cap = cap ? 2 * cap : 64;
      uint32_t *nn = realloc(numbers, cap * sizeof *nn);
      if (!nn) {
        r = CAIRN_ENOMEM;
        break;
      }
      numbers = nn;
    }
    numbers[count++] = codec_rd32(kb + kl - 4);
  }
  if (!r)
    r = iter_status(&it);
  iter_close(&it);

  for (uint32_t i = 0; i < count && !r; i++) {
    struct meta_key pk;
    part_key(&pk, upload_id, numbers[i]);
    char *v = NULL;
    size_t n = 0;
    r = tx_get(tx, &pk, &v, &n);
    if (r)
      break;
    struct meta_part p;
    r = part_decode((const uint8_t *)v, n, numbers[i], &p);
    val_free(v);
    if (!r)
      r = gc_queue_chunks(tx, p.chunks, p.n_chunks, keep, n_keep);
    free_chunks(p.chunks, p.n_chunks);
    if (!r)
      tx_del(tx, &pk);
  }
  free(numbers);
  return r;
}

struct upload_ref {
  const char *bucket, *key, *upload_id;
};

static int apply_upload_abort(struct meta_tx *tx, void *arg) {
  struct upload_ref *a = arg;
  int r = tx_upload_exists(tx, a->bucket, a->key, a->upload_id);
  if (r)
    return r;
  r = drop_parts(tx, a->upload_id, NULL, 0);
  if (r)
    return r;
  struct meta_key k;
  upload_key(&k, a->bucket, a->key, a->upload_id);
  tx_del(tx, &k);
  return 0;
}

int meta_upload_abort(struct meta *m, const char *bucket, const char *key,
                      const char *upload_id) {
  if (valid_bucket(bucket) || valid_key(key))
    return CAIRN_EINVAL;
  if (valid_upload_id(upload_id))
    return CAIRN_ENOENT;
  struct upload_ref a = {bucket, key, upload_id};
  return meta_run(m, apply_upload_abort, &a);
}

/* ---- list uploads
 * -------------------------------------------------------------- */

int meta_upload_list(struct meta *m, const char *bucket, const char *prefix,
                     const char *key_marker, const char *upload_id_marker,
                     uint32_t max_uploads, meta_upload_cb cb, void *arg,
                     bool *truncated) {
  *truncated = false;
  prefix = prefix ? prefix : "";
  key_marker = key_marker ? key_marker : "";
  upload_id_marker = upload_id_marker ? upload_id_marker : "";
  if (valid_bucket(bucket) || strlen(prefix) > META_OBJECT_KEY_MAX ||
      strlen(key_marker) > META_OBJECT_KEY_MAX ||
      strlen(upload_id_marker) > META_UPLOAD_ID_LEN)
    return CAIRN_EINVAL;
  struct meta_key base, lo, hi;
  key_bucket_prefix(&base, TBL_UPLOAD, bucket);
  hi = base;
  key_str(&hi, prefix);
  key_successor(&hi);
  lo = base;
  if (key_marker[0] && strcmp(key_marker, prefix) >= 0) {
    key_str(&lo, key_marker);
    key_sep(&lo);
    if (upload_id_marker[0]) {
      key_str(&lo, upload_id_marker);
      key_successor(&lo); /* strictly after that upload */
    } else {
      key_successor(&lo); /* after every upload of key_marker */
    }
  } else {
    key_str(&lo, prefix);
  }
  struct meta_iter it;
  int r = iter_open(m, NULL, &hi, &it);
  if (r)
    return r;
  uint32_t count = 0;
  for (iter_seek(&it, &lo); iter_valid(&it); iter_next(&it)) {
    if (count == max_uploads) {
      *truncated = true;
      break;
    }
    size_t kl, vl;
    const uint8_t *kb = iter_key(&it, &kl);
    const uint8_t *vb = iter_value(&it, &vl);
    /* bucket\0 | key \0 | upload_id */
    if (kl < base.len + 1 + META_UPLOAD_ID_LEN ||
        kb[kl - META_UPLOAD_ID_LEN - 1] != 0 ||
        kl - base.len - 1 - META_UPLOAD_ID_LEN > META_OBJECT_KEY_MAX) {
      r = CAIRN_ECORRUPT;
      break;
    }
    struct meta_upload u;
    memset(&u, 0, sizeof u);
    snprintf(u.bucket, sizeof u.bucket, "%s", bucket);
    size_t keylen = kl - base.len - 1 - META_UPLOAD_ID_LEN;
    memcpy(u.key, kb + base.len, keylen);
    u.key[keylen] = 0;
    memcpy(u.upload_id, kb + kl - META_UPLOAD_ID_LEN, META_UPLOAD_ID_LEN);
    u.upload_id[META_UPLOAD_ID_LEN] = 0;
    r = upload_decode(vb, vl, &u);
    if (r)
      break;
    r = cb(&u, arg);
    meta_upload_free(&u);
    if (r)
      break;
    count++;
  }
  if (!r)
    r = iter_status(&it);
  iter_close(&it);
  return r;
}

/* ---- complete
 * ------------------------------------------------------------------ */

struct complete_arg {
  const char *bucket, *key, *upload_id;
  const struct meta_complete_part *parts;
  uint32_t n;
  const char *expected_checksum;
  uint64_t min_part_size;
  int64_t last_modified_ms;
  uint32_t *bad_part;
  struct codec_out value; /* the new version, kept for *out */
};

/* Compares etags ignoring surrounding quotes. */
static bool etag_equal(const char *stored, const char *given) {
  size_t n = strlen(given);
  if (n >= 2 && given[0] == '"' && given[n - 1] == '"') {
    given++;
    n -= 2;
  }
  return strlen(stored) == n && memcmp(stored, given, n) == 0;
}

/* The object's checksum from its parts' (see meta_upload_complete): 0 with
 * out filled ("" when the upload asked for none, or a part has none, as
 * an UploadPartCopy part may not), CAIRN_EINVAL (InvalidPart) when a listed
 * checksum differs from the stored one, CAIRN_ECORRUPT when the result
 * differs from the client's expectation. */
static int complete_checksum(const struct meta_upload *up,
                             const struct meta_complete_part *listed,
                             const struct meta_part *parts, uint32_t n,
                             const char *expected, uint32_t *bad_part,
                             char out[CHECKSUM_COMPOSITE_MAX]) {
  out[0] = 0;
  enum checksum_algorithm alg = checksum_parse(up->attrs.checksum_algorithm);
  if (alg == CHECKSUM_NONE)
    return expected ? CAIRN_ECORRUPT : 0;
  for (uint32_t i = 0; i < n; i++) {
    if (listed[i].checksum &&
        (!parts[i].checksum_value ||
         strcmp(listed[i].checksum, parts[i].checksum_value) != 0)) {
      *bad_part = i;
      return CAIRN_EINVAL;
    }
    if (!parts[i].checksum_value)
      return expected ? CAIRN_ECORRUPT : 0;
  }
  int r = 0;
  if (up->attrs.checksum_type == META_CHECKSUM_FULL_OBJECT) {
    struct checksum_full f;
    r = checksum_full_init(&f, alg);
    for (uint32_t i = 0; i < n && !r; i++)
      r = checksum_full_add(&f, parts[i].checksum_value, parts[i].size);
    if (!r)
      checksum_full_final(&f, out);
  } else {
    struct checksum_composite c;
    r = checksum_composite_init(&c, alg);
    for (uint32_t i = 0; i < n && !r; i++)
      r = checksum_composite_add(&c, parts[i].checksum_value);
    if (!r)
      checksum_composite_final(&c, out);
    else
      checksum_composite_release(&c);
  }
  if (r)
    return CAIRN_ECORRUPT; /* a stored part checksum that does not decode */
  return expected && strcmp(expected, out) != 0 ? CAIRN_ECORRUPT : 0;
}

static bool same_key(const struct meta_part *p,
                     const struct meta_object_attrs *upload) {
  if (p->sealed_key_len != upload->sealed_key_len)
    return false;
  return !upload->sealed_key ||
         (p->sealed_key && memcmp(p->sealed_key, upload->sealed_key,
                                  upload->sealed_key_len) == 0);
}

static int apply_upload_complete(struct meta_tx *tx, void *arg) {
  struct complete_arg *a = arg;
  struct meta_part *parts = NULL;
  struct meta_upload up;
  struct meta_object obj;
  struct crypto_hash *md5 = NULL;
  char(*sums)[META_CHECKSUM_MAX + 1] = NULL; /* the parts' checksums */
  uint32_t loaded = 0;
  memset(&up, 0, sizeof up);
  memset(&obj, 0, sizeof obj);

  struct meta_key k;
  upload_key(&k, a->bucket, a->key, a->upload_id);
  char *v = NULL;
  size_t n = 0;
  int r = tx_get(tx, &k, &v, &n);
  if (r)
    return r; /* CAIRN_ENOENT: NoSuchUpload */
  r = upload_decode(v, n, &up);
  val_free(v);
  if (r)
    return r;
  if (a->n == 0 || a->n > META_PART_NUMBER_MAX) {
    r = CAIRN_EINVAL;
    goto out;
  }
  parts = calloc(a->n, sizeof *parts);
  sums = calloc(a->n, sizeof *sums);
  md5 = crypto_hash_new(CRYPTO_HASH_MD5);
  if (!parts || !sums || !md5) {
    r = CAIRN_ENOMEM;
    goto out;
  }
  uint64_t total_chunks = 0, size = 0;
  for (uint32_t i = 0; i < a->n; i++) {
    *a->bad_part = i;
    if (i > 0 && a->parts[i].part_number <= a->parts[i - 1].part_number) {
      r = CAIRN_EPROTO; /* InvalidPartOrder */
      goto out;
    }
    part_key(&k, a->upload_id, a->parts[i].part_number);
    r = tx_get(tx, &k, &v, &n);
    if (r == CAIRN_ENOENT)
      r = CAIRN_EINVAL; /* InvalidPart */
    if (r)
      goto out;
    r = part_decode((const uint8_t *)v, n, a->parts[i].part_number, &parts[i]);
    if (!r && parts[i].checksum_value) { /* points into v: keep a copy */
      snprintf(sums[i], sizeof sums[i], "%s", parts[i].checksum_value);
      parts[i].checksum_value = sums[i];
    }
    /* Every part must be sealed under the upload's own data key (checked
     * while the part's strings still point into v). */
    if (!r && !same_key(&parts[i], &up.attrs))
      r = CAIRN_EINVAL; /* InvalidPart */
    parts[i].sealed_key = NULL;
    val_free(v);
    if (r) {
      loaded = i + 1;
      goto out;
    }
    loaded = i + 1;
    uint8_t bin[MD5_LEN];
    if (!a->parts[i].etag || !etag_equal(parts[i].etag, a->parts[i].etag) ||
        crypto_unhex(parts[i].etag, strlen(parts[i].etag), bin, MD5_LEN)) {
      r = CAIRN_EINVAL;
      goto out;
    }
    if (i + 1 < a->n && parts[i].size < a->min_part_size) {
      r = CAIRN_ERANGE; /* EntityTooSmall */
      goto out;
    }
    crypto_hash_update(md5, bin, MD5_LEN);
    total_chunks += parts[i].n_chunks;
    size += parts[i].size;
  }

  /* The new version: the parts' chunks end to end. */
  snprintf(obj.bucket, sizeof obj.bucket, "%s", a->bucket);
  snprintf(obj.key, sizeof obj.key, "%s", a->key);
  snprintf(obj.version_id, sizeof obj.version_id, "null");
  obj.size = size;
  obj.last_modified_ms = a->last_modified_ms ? a->last_modified_ms : tx->now_ms;
  char checksum[CHECKSUM_COMPOSITE_MAX];
  r = complete_checksum(&up, a->parts, parts, a->n, a->expected_checksum,
                        a->bad_part, checksum);
  if (r)
    goto out;
  obj.attrs = up.attrs;
  obj.attrs.checksum_value = checksum[0] ? checksum : NULL;
  if (!checksum[0])
    obj.attrs.checksum_algorithm = NULL;
  uint8_t digest[MD5_LEN];
  char hex[2 * MD5_LEN + 1];
  crypto_hash_final(md5, digest);
  crypto_hex(digest, MD5_LEN, hex);
  snprintf(obj.etag, sizeof obj.etag, "%s-%u", hex, a->n);
  obj.chunks = calloc(total_chunks ? total_chunks : 1, sizeof *obj.chunks);
  obj.parts = calloc(a->n, sizeof *obj.parts);
  if (!obj.chunks || !obj.parts) {
    r = CAIRN_ENOMEM;
    goto out;
  }
  uint64_t off = 0;
  for (uint32_t i = 0; i < a->n; i++) {
    obj.parts[i].part_number = parts[i].part_number;
    obj.parts[i].offset = off;
    obj.parts[i].size = parts[i].size;
    memcpy(obj.parts[i].etag, parts[i].etag, sizeof obj.parts[i].etag);
    if (checksum[0])
      snprintf(obj.parts[i].checksum, sizeof obj.parts[i].checksum, "%s",
               parts[i].checksum_value);
    for (uint32_t c = 0; c < parts[i].n_chunks; c++) {
      struct meta_chunk *dst = &obj.chunks[obj.n_chunks++];
      *dst = parts[i].chunks[c]; /* fragments borrowed from parts[i] */
      dst->offset += off;
    }
    off += parts[i].size;
  }
  obj.n_parts = a->n;
  snprintf(obj.upload_id, sizeof obj.upload_id, "%s", a->upload_id);

  r = object_encode(&obj, &a->value);
  if (r)
    goto out;
  /* Unlisted parts' chunks become garbage; listed ones live on. */
  r = drop_parts(tx, a->upload_id, obj.chunks, obj.n_chunks);
  if (r)
    goto out;
  r = object_put_in_tx(tx, &obj, a->value.buf, a->value.len);
  if (r)
    goto out;
  upload_key(&k, a->bucket, a->key, a->upload_id);
  tx_del(tx, &k);

out:
  free(obj.chunks); /* fragments belong to parts[] */
  free(obj.parts);
  for (uint32_t i = 0; i < loaded; i++)
    free_chunks(parts[i].chunks, parts[i].n_chunks);
  free(parts);
  free(sums);
  if (md5)
    crypto_hash_free(md5);
  meta_upload_free(&up);
  return r;
}

int meta_upload_complete(struct meta *m, const char *bucket, const char *key,
                         const char *upload_id,
                         const struct meta_complete_part *parts, uint32_t n,
                         const char *expected_checksum, uint64_t min_part_size,
                         int64_t last_modified_ms, struct meta_object *out,
                         uint32_t *bad_part) {
  uint32_t bad = 0;
  if (out)
    memset(out, 0, sizeof *out);
  if (valid_bucket(bucket) || valid_key(key))
    return CAIRN_EINVAL;
  if (valid_upload_id(upload_id))
    return CAIRN_ENOENT;
  struct complete_arg a = {.bucket = bucket,
                           .key = key,
                           .upload_id = upload_id,
                           .parts = parts,
                           .n = n,
                           .expected_checksum = expected_checksum,
                           .min_part_size = min_part_size,
                           .last_modified_ms = last_modified_ms,
                           .bad_part = bad_part ? bad_part : &bad};
  codec_out_init(&a.value);
  int r = meta_run(m, apply_upload_complete, &a);
  if (!r && out)
    r = object_decode(a.value.buf, a.value.len, bucket, key, out);
  codec_out_release(&a.value);
  return r;
}

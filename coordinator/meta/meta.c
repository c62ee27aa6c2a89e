/*
 * meta.c - opening the store, keys, transactions and iterators: the small
 * layer every table file (meta_node.c, meta_bucket.c, meta_object.c, ...)
 * builds on.
 *
 * A write is a transaction: a RocksDB WriteBatchWithIndex whose reads see
 * the store plus the batch's own earlier writes, committed with ONE synced
 * rocksdb_write. Every transaction runs under m->write_lock, so a
 * read-modify-write (look up the latest version, then replace it and queue
 * its chunks as garbage) cannot interleave with another writer, whether it
 * runs synchronously here or in the group-commit writer (meta_writer.c).
 *
 * RocksDB settings (see docs/metadata.md): create_if_missing, WAL on and
 * fsynced for every acknowledged write, a 32 MiB LRU block cache shared by
 * data, index and filter blocks, 10-bit bloom filters on whole keys (point
 * lookups of L, B, U, N), index and filters partitioned (a whole index of
 * a large file outgrew a cache shard), bounded max_open_files, LZ4 off (values
 * are small); range scans use iterate_upper_bound so they stop at the end of a
 * table/bucket prefix without reading the next one.
 */
#include "meta_internal.h"

#include "codec.h"
#include "error.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define META_BLOOM_BITS 10
#define META_MAX_OPEN_FILES 512
/* Partitioned index and filters need table format 3 or later; 5 is
 * RocksDB 7's default and the first with the faster full filters. */
#define META_FORMAT_VERSION 5
#define META_PARTITION_BYTES 4096
/* Memtable size (two may be held while one flushes). RocksDB's 64 MiB
 * default let the memtables alone hold ~128 MiB of the coordinator's
 * RSS after a burst of small PUTs (peak 347 MiB in `make bench`). */
#define META_WRITE_BUFFER_BYTES (16u << 20)
/* Share of the memtable given to its bloom filter (RocksDB suggests
 * 0.1 at most; 2% of 16 MiB is ~330 KiB). */
#define META_MEMTABLE_BLOOM_RATIO 0.02

int64_t meta_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void val_free(char *v) {
  if (v)
    rocksdb_free(v);
}

/* ---- keys --------------------------------------------------------------- */

void key_init(struct meta_key *k, char table) {
  k->b[0] = (uint8_t)table;
  k->b[1] = META_FORMAT;
  k->len = 2;
}

void key_raw(struct meta_key *k, const void *p, size_t n) {
  /* Callers validate lengths first; META_KEY_CAP covers the longest key. */
  if (k->len + n > sizeof k->b)
    n = sizeof k->b - k->len;
  memcpy(k->b + k->len, p, n);
  k->len += n;
}

void key_str(struct meta_key *k, const char *s) {
  key_raw(k, s, strlen(s));
}

void key_sep(struct meta_key *k) {
  uint8_t z = 0;
  key_raw(k, &z, 1);
}

void key_u32(struct meta_key *k, uint32_t v) {
  uint8_t b[4];
  codec_be32(b, v);
  key_raw(k, b, 4);
}

void key_u64(struct meta_key *k, uint64_t v) {
  uint8_t b[8];
  codec_be64(b, v);
  key_raw(k, b, 8);
}

bool key_successor(struct meta_key *k) {
  while (k->len > 0 && k->b[k->len - 1] == 0xFF)
    k->len--;
  if (k->len == 0)
    return false;
  k->b[k->len - 1]++;
  return true;
}

/* ---- open / close ------------------------------------------------------- */

static int load_seq(struct meta *m) {
  struct meta_key k;
  key_init(&k, TBL_CONFIG);
  key_str(&k, "\x01vseq"); /* leading 0x01: outside user config names */
  char *v = NULL;
  size_t n = 0;
  int r = db_get(m, &k, &v, &n);
  if (r == CAIRN_ENOENT)
    return 0;
  if (r)
    return r;
  if (n != 8)
    r = CAIRN_ECORRUPT;
  else
    m->version_seq = codec_rd64((const uint8_t *)v);
  val_free(v);
  return r;
}

void meta_thread_init(void) {
  /* RocksDB counts every key comparison and lookup in thread-local perf
   * counters unless told not to; nothing reads them. */
  rocksdb_set_perf_level(rocksdb_disable);
}

int meta_open(const char *dir, struct meta **out, char *err, size_t err_len) {
  return meta_open_cached(dir, META_BLOCK_CACHE_DEFAULT, out, err, err_len);
}

int meta_open_cached(const char *dir, size_t cache_bytes, struct meta **out,
                     char *err, size_t err_len) {
  int r = CAIRN_ENOMEM;
  char *dberr = NULL;
  struct meta *m = calloc(1, sizeof *m);
  if (!m) {
    snprintf(err, err_len, "out of memory");
    return CAIRN_ENOMEM;
  }
  pthread_mutex_init(&m->write_lock, NULL);
  pthread_mutex_init(&m->q_lock, NULL);
  pthread_cond_init(&m->q_cond, NULL);

  m->opts = rocksdb_options_create();
  m->table_opts = rocksdb_block_based_options_create();
  m->cache = rocksdb_cache_create_lru(cache_bytes);
  m->wo_sync = rocksdb_writeoptions_create();
  m->wo_logged = rocksdb_writeoptions_create();
  m->ro = rocksdb_readoptions_create();
  if (!m->opts || !m->table_opts || !m->cache || !m->wo_sync || !m->wo_logged ||
      !m->ro) {
    snprintf(err, err_len, "out of memory");
    goto fail;
  }
  rocksdb_block_based_options_set_block_cache(m->table_opts, m->cache);
  /* The table options take ownership of the filter policy. */
  rocksdb_block_based_options_set_filter_policy(
      m->table_opts, rocksdb_filterpolicy_create_bloom_full(META_BLOOM_BITS));
  rocksdb_block_based_options_set_whole_key_filtering(m->table_opts, 1);
  rocksdb_block_based_options_set_cache_index_and_filter_blocks(m->table_opts,
                                                                1);
  /* Index and filter cut in ~4 KiB partitions under a small top level kept
   * pinned in the cache. Whole, an SST of 100,000 objects (~50 MB) had a
   * ~600 KiB index block, larger than a cache shard: it was evicted on
   * release and read again (pread + page faults) by every point lookup,
   * and a 4 KiB PUT fell from ~5,000/s to ~1,500/s once such a file
   * existed. */
  rocksdb_block_based_options_set_format_version(m->table_opts,
                                                 META_FORMAT_VERSION);
  rocksdb_block_based_options_set_index_type(
      m->table_opts,
      rocksdb_block_based_table_index_type_two_level_index_search);
  rocksdb_block_based_options_set_partition_filters(m->table_opts, 1);
  rocksdb_block_based_options_set_metadata_block_size(m->table_opts,
                                                      META_PARTITION_BYTES);
  rocksdb_block_based_options_set_pin_top_level_index_and_filter(m->table_opts,
                                                                 1);
  rocksdb_block_based_options_set_cache_index_and_filter_blocks_with_high_priority(
      m->table_opts, 1);
  rocksdb_options_set_block_based_table_factory(m->opts, m->table_opts);
  rocksdb_options_set_create_if_missing(m->opts, 1);
  rocksdb_options_set_max_open_files(m->opts, META_MAX_OPEN_FILES);
  rocksdb_options_set_compression(m->opts, rocksdb_no_compression);
  rocksdb_options_increase_parallelism(m->opts, 2);
  rocksdb_options_set_write_buffer_size(m->opts, META_WRITE_BUFFER_BYTES);
  /* A whole-key bloom filter over the memtable too: a point lookup of a
   * key that is not there (the L row of a new object, a missing bucket
   * configuration) skips the memtable's skip-list search. */
  rocksdb_options_set_memtable_prefix_bloom_size_ratio(
      m->opts, META_MEMTABLE_BLOOM_RATIO);
  rocksdb_options_set_memtable_whole_key_filtering(m->opts, 1);
  rocksdb_writeoptions_set_sync(m->wo_sync, 1);
  meta_thread_init();

  m->db = rocksdb_open(m->opts, dir, &dberr);
  if (dberr) {
    snprintf(err, err_len, "rocksdb open %s: %s", dir, dberr);
    r = CAIRN_EDB;
    goto fail;
  }
  r = load_seq(m);
  if (r) {
    snprintf(err, err_len, "reading version sequence: %s", cairn_strerror(r));
    goto fail;
  }
  r = writer_start(m);
  if (r) {
    snprintf(err, err_len, "starting the writer thread: %s", cairn_strerror(r));
    goto fail;
  }
  log_info("coord.meta", "opened %s", dir);
  *out = m;
  return 0;

fail:
  if (dberr)
    rocksdb_free(dberr);
  meta_close(m);
  return r;
}

void meta_close(struct meta *m) {
  if (!m)
    return;
  writer_stop(m);
  if (m->db)
    rocksdb_close(m->db);
  if (m->ro)
    rocksdb_readoptions_destroy(m->ro);
  if (m->wo_sync)
    rocksdb_writeoptions_destroy(m->wo_sync);
  if (m->wo_logged)
    rocksdb_writeoptions_destroy(m->wo_logged);
  if (m->opts)
    rocksdb_options_destroy(m->opts);
  if (m->table_opts)
    rocksdb_block_based_options_destroy(m->table_opts);
  if (m->cache)
    rocksdb_cache_destroy(m->cache);
  pthread_cond_destroy(&m->q_cond);
  pthread_mutex_destroy(&m->q_lock);
  pthread_mutex_destroy(&m->write_lock);
  free(m);
}

/* ---- reads and transactions ---------------------------------------------- */

int db_get(struct meta *m, const struct meta_key *k, char **val, size_t *len) {
  char *err = NULL;
  *val = rocksdb_get(m->db, m->ro, (const char *)k->b, k->len, len, &err);
  if (err) {
    log_error("coord.meta", "get: %s", err);
    rocksdb_free(err);
    return CAIRN_EDB;
  }
  return *val ? 0 : CAIRN_ENOENT;
}

int tx_get(struct meta_tx *tx, const struct meta_key *k, char **val,
           size_t *len) {
  char *err = NULL;
  *val = rocksdb_writebatch_wi_get_from_batch_and_db(
      tx->wb, tx->m->db, tx->m->ro, (const char *)k->b, k->len, len, &err);
  if (err) {
    log_error("coord.meta", "get: %s", err);
    rocksdb_free(err);
    return CAIRN_EDB;
  }
  return *val ? 0 : CAIRN_ENOENT;
}

/* The tables whose rows caches outside meta hold (meta_config_generation). */
static void note_config(struct meta_tx *tx, const struct meta_key *k) {
  char t = k->len ? (char)k->b[0] : 0;
  if (t == TBL_BUCKET && !tx->buckets_touched) {
    /* Until this group is written (or fails), what exists is the batch's
     * business: forget every known bucket and learn none. */
    tx->buckets_touched = true;
    memset(tx->m->known_buckets, 0, sizeof tx->m->known_buckets);
  }
  if (t == TBL_BUCKET || t == TBL_BUCKET_CONFIG || t == TBL_IAM_USER ||
      t == TBL_ACCESS_KEY || t == TBL_IAM_GROUP)
    tx->config_touched = true;
}

void tx_after_write(struct meta_tx *tx) {
  if (tx->config_touched)
    atomic_fetch_add(&tx->m->config_generation, 1);
}

uint64_t meta_config_generation(struct meta *m) {
  return atomic_load(&m->config_generation);
}

void tx_put(struct meta_tx *tx, const struct meta_key *k, const void *v,
            size_t len) {
  note_config(tx, k);
  rocksdb_writebatch_wi_put(tx->wb, (const char *)k->b, k->len, (const char *)v,
                            len);
}

void tx_del(struct meta_tx *tx, const struct meta_key *k) {
  note_config(tx, k);
  rocksdb_writebatch_wi_delete(tx->wb, (const char *)k->b, k->len);
}

uint64_t tx_next_seq(struct meta_tx *tx) {
  tx->seq_dirty = true;
  return ++tx->m->version_seq;
}

void tx_write_seq(struct meta_tx *tx) {
  if (!tx->seq_dirty)
    return;
  struct meta_key k;
  key_init(&k, TBL_CONFIG);
  key_str(&k, "\x01vseq");
  uint8_t b[8];
  codec_be64(b, tx->m->version_seq);
  tx_put(tx, &k, b, 8);
  tx->seq_dirty = false;
}

int meta_run(struct meta *m, meta_apply_fn apply, void *arg) {
  int r;
  char *err = NULL;
  pthread_mutex_lock(&m->write_lock);
  struct meta_tx tx = {.m = m, .now_ms = meta_now_ms()};
  tx.wb = rocksdb_writebatch_wi_create(0, 1);
  if (!tx.wb) {
    r = CAIRN_ENOMEM;
    goto out;
  }
  r = apply(&tx, arg);
  if (r || rocksdb_writebatch_wi_count(tx.wb) == 0)
    goto out;
  tx_write_seq(&tx);
  rocksdb_write_writebatch_wi(m->db, m->wo_sync, tx.wb, &err);
  tx_after_write(&tx);
  if (err) {
    log_error("coord.meta", "synced write: %s", err);
    rocksdb_free(err);
    r = CAIRN_EDB;
  }
out:
  if (tx.wb)
    rocksdb_writebatch_wi_destroy(tx.wb);
  pthread_mutex_unlock(&m->write_lock);
  return r;
}

/* ---- iterators ------------------------------------------------------------
 */

int iter_open(struct meta *m, struct meta_tx *tx, const struct meta_key *upper,
              struct meta_iter *out) {
  memset(out, 0, sizeof *out);
  out->ro = rocksdb_readoptions_create();
  if (!out->ro)
    return CAIRN_ENOMEM;
  if (upper) {
    out->upper = *upper;
    out->has_upper = true;
    /* The bound must outlive the iterator: it lives in *out. */
    rocksdb_readoptions_set_iterate_upper_bound(
        out->ro, (const char *)out->upper.b, out->upper.len);
  }
  out->base = rocksdb_create_iterator(m->db, out->ro);
  if (!out->base)
    goto fail;
  if (tx) {
    out->it =
        rocksdb_writebatch_wi_create_iterator_with_base(tx->wb, out->base);
    if (!out->it)
      goto fail;
    out->base = NULL; /* owned by it now */
  } else {
    out->it = out->base;
    out->base = NULL;
  }
  return 0;
fail:
  iter_close(out);
  return CAIRN_ENOMEM;
}

void iter_seek(struct meta_iter *i, const struct meta_key *k) {
  rocksdb_iter_seek(i->it, (const char *)k->b, k->len);
}

bool iter_valid(struct meta_iter *i) {
  if (!rocksdb_iter_valid(i->it))
    return false;
  if (!i->has_upper)
    return true;
  /* Batch entries of a transaction iterator ignore iterate_upper_bound. */
  size_t n;
  const char *k = rocksdb_iter_key(i->it, &n);
  size_t c = n < i->upper.len ? n : i->upper.len;
  int d = memcmp(k, i->upper.b, c);
  return d < 0 || (d == 0 && n < i->upper.len);
}

void iter_next(struct meta_iter *i) {
  rocksdb_iter_next(i->it);
}

const uint8_t *iter_key(struct meta_iter *i, size_t *len) {
  return (const uint8_t *)rocksdb_iter_key(i->it, len);
}

const uint8_t *iter_value(struct meta_iter *i, size_t *len) {
  return (const uint8_t *)rocksdb_iter_value(i->it, len);
}

int iter_status(struct meta_iter *i) {
  char *err = NULL;
  rocksdb_iter_get_error(i->it, &err);
  if (err) {
    log_error("coord.meta", "iterator: %s", err);
    rocksdb_free(err);
    return CAIRN_EDB;
  }
  return 0;
}

void iter_close(struct meta_iter *i) {
  if (i->it)
    rocksdb_iter_destroy(i->it);
  if (i->base)
    rocksdb_iter_destroy(i->base);
  if (i->ro)
    rocksdb_readoptions_destroy(i->ro);
  memset(i, 0, sizeof *i);
}

/* ---- whole-table scans ----------------------------------------------- */

int meta_prefix_scan(struct meta *m, struct meta_tx *tx,
                     const struct meta_key *prefix, meta_kv_fn fn, void *arg) {
  struct meta_key hi = *prefix;
  key_successor(&hi);
  struct meta_iter it;
  int r = iter_open(m, tx, &hi, &it);
  if (r)
    return r;
  for (iter_seek(&it, prefix); !r && iter_valid(&it); iter_next(&it)) {
    size_t kl, vl;
    const uint8_t *kb = iter_key(&it, &kl);
    const uint8_t *vb = iter_value(&it, &vl);
    r = fn(kb, kl, vb, vl, arg);
  }
  if (!r)
    r = iter_status(&it);
  iter_close(&it);
  return r;
}

struct table_scan {
  meta_row_fn fn;
  void *arg;
};

static int table_row(const uint8_t *kb, size_t kl, const uint8_t *vb, size_t vl,
                     void *arg) {
  struct table_scan *t = arg;
  char name[META_TABLE_NAME_MAX + 1];
  if (kl < 3 || kl - 2 > META_TABLE_NAME_MAX)
    return CAIRN_ECORRUPT;
  memcpy(name, kb + 2, kl - 2);
  name[kl - 2] = '\0';
  return t->fn(name, vb, vl, t->arg);
}

int meta_table_scan(struct meta *m, struct meta_tx *tx, char table,
                    meta_row_fn fn, void *arg) {
  struct meta_key lo;
  key_init(&lo, table);
  struct table_scan t = {fn, arg};
  return meta_prefix_scan(m, tx, &lo, table_row, &t);
}

/* ---- config blobs ('K') ----------------------------------------------- */

struct config_put_arg {
  struct meta_key k;
  const void *v;
  size_t len;
};

static int apply_config_put(struct meta_tx *tx, void *arg) {
  struct config_put_arg *a = arg;
  tx_put(tx, &a->k, a->v, a->len);
  return 0;
}

static int config_key(const char *name, struct meta_key *k) {
  if (!name || !name[0] || strlen(name) > 255 || name[0] == 0x01)
    return CAIRN_EINVAL;
  key_init(k, TBL_CONFIG);
  key_str(k, name);
  return 0;
}

int meta_config_put(struct meta *m, const char *name, const void *v,
                    size_t len) {
  struct config_put_arg a = {.v = v, .len = len};
  int r = config_key(name, &a.k);
  return r ? r : meta_run(m, apply_config_put, &a);
}

int meta_config_get(struct meta *m, const char *name, void **v, size_t *len) {
  struct meta_key k;
  int r = config_key(name, &k);
  if (r)
    return r;
  char *val = NULL;
  size_t n = 0;
  r = db_get(m, &k, &val, &n);
  if (r)
    return r;
  *v = malloc(n ? n : 1);
  if (!*v) {
    val_free(val);
    return CAIRN_ENOMEM;
  }
  memcpy(*v, val, n);
  *len = n;
  val_free(val);
  return 0;
}

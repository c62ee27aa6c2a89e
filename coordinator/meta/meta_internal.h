/*
 * meta_internal.h - what the files of coordinator/meta share: the store
 * struct, key building, transactions over a RocksDB WriteBatchWithIndex, and
 * iterators. This is the only header that includes rocksdb/c.h; nothing
 * outside this folder may include it.
 */
#ifndef CAIRN_META_INTERNAL_H
#define CAIRN_META_INTERNAL_H

#include "meta.h"

#include <pthread.h>
#include <rocksdb/c.h>
#include <stdatomic.h>
#include <stdbool.h>

#define META_FORMAT 1 /* the format-version byte of every key */

/* Table prefixes (docs/metadata.md). */
#define TBL_NODE 'N'
#define TBL_BUCKET 'B'
#define TBL_OBJECT 'O'
#define TBL_LATEST 'L'
#define TBL_UPLOAD 'U'
#define TBL_PART 'P'
#define TBL_GARBAGE 'G'
#define TBL_CONFIG 'K'
#define TBL_IAM_USER 'I'
#define TBL_ACCESS_KEY 'A'
#define TBL_IAM_GROUP 'R'
#define TBL_FRAGMENT 'F' /* node_id chunk_id index -> bucket, key */
#define TBL_DEGRADED 'D' /* chunk_id -> bucket, key, corrupt mask */
#define TBL_BUCKET_CONFIG 'C'

/* The longest key: O|v|bucket\0|key\0|seq. */
#define META_KEY_CAP                                                           \
  (2 + META_BUCKET_MAX + 1 + META_OBJECT_KEY_MAX + 1 + 8 + 64)

struct meta_key {
  uint8_t b[META_KEY_CAP];
  size_t len;
};

void key_init(struct meta_key *k, char table);
void key_str(struct meta_key *k, const char *s); /* raw bytes, no separator */
void key_sep(struct meta_key *k);                /* 0x00 */
void key_u32(struct meta_key *k, uint32_t v);
void key_u64(struct meta_key *k, uint64_t v);
void key_raw(struct meta_key *k, const void *p, size_t n);
/* Turns k into the smallest key greater than every key that starts with k
 * (drop trailing 0xFF bytes, increment the last). Returns false when no such
 * key exists (all bytes 0xFF). */
bool key_successor(struct meta_key *k);

struct meta_job;
/* Buckets remembered to exist by the writer (struct meta.known_buckets). */
#define META_KNOWN_BUCKETS 16

struct meta {
  rocksdb_t *db;
  rocksdb_options_t *opts;
  rocksdb_block_based_table_options_t *table_opts;
  rocksdb_cache_t *cache;
  rocksdb_writeoptions_t *wo_sync;
  rocksdb_writeoptions_t *wo_logged; /* WAL on, no sync: logged batches */
  rocksdb_readoptions_t *ro;

  /* Serializes every read-modify-write: held by a synchronous write on the
   * loop thread or by the writer thread around a group. */
  pthread_mutex_t write_lock;
  uint64_t version_seq; /* last allocated version sequence (under lock) */

  /* The group-commit writer (meta_writer.c). */
  pthread_t writer;
  bool writer_started;
  pthread_mutex_t q_lock;
  pthread_cond_t q_cond;
  struct meta_job *pending_head, *pending_tail; /* loop -> writer */
  struct meta_job *done_head, *done_tail;       /* writer -> loop */
  bool stopping;
  void (*notify)(void *arg);
  void *notify_arg;
  uint64_t groups_written; /* statistics, under q_lock */
  uint64_t jobs_written;
  bool wal_unsynced; /* writer thread only: a logged group awaits a sync */

  /* meta_config_generation: bumped after every write that touched a
   * bucket, bucket configuration or IAM row (tx.config_touched). */
  _Atomic uint64_t config_generation;

  /* Buckets a transaction found to exist (tx_bucket_exists), under
   * write_lock: every PutObject commit checks its bucket, and the B row,
   * long flushed, cost an SST lookup (filter and index) per PUT. Emptied
   * whenever a transaction puts or deletes any B row. */
  char known_buckets[META_KNOWN_BUCKETS][META_BUCKET_MAX + 1];
  unsigned known_next; /* the slot to fill next (round robin) */
};

/* A transaction: reads see the store plus this batch's own writes. */
struct meta_tx {
  struct meta *m;
  rocksdb_writebatch_wi_t *wb;
  int64_t now_ms;
  bool config_touched;  /* a B, C, I, A or R key was put or deleted */
  bool buckets_touched; /* a B key was: known_buckets is not filled */
  bool seq_dirty;       /* tx_next_seq ran: tx_write_seq before the write */
};

/* After a transaction's write returned (written or failed): a touched
 * configuration bumps the generation, so caches keyed by it reload. */
void tx_after_write(struct meta_tx *tx);

int64_t meta_now_ms(void);
/* Per-thread RocksDB settings (perf counters off): meta_open calls it for
 * its thread, the writer thread for itself. */
void meta_thread_init(void);
void val_free(char *v);
/* Allocates the next version sequence; the high-water mark is persisted in
 * the same write by tx_write_seq, once per write however many sequences
 * the transaction (or group) took. A sequence taken by a job that is then
 * rolled back is simply never used: gaps are fine, reuse never happens. */
uint64_t tx_next_seq(struct meta_tx *tx);
/* Puts the high-water mark (m->version_seq) when a sequence was taken:
 * called right before the transaction's rocksdb_write, outside any save
 * point. */
void tx_write_seq(struct meta_tx *tx);

/* 0 and a value to release with val_free, CAIRN_ENOENT, or CAIRN_EDB. */
int tx_get(struct meta_tx *tx, const struct meta_key *k, char **val,
           size_t *len);
void tx_put(struct meta_tx *tx, const struct meta_key *k, const void *v,
            size_t len);
void tx_del(struct meta_tx *tx, const struct meta_key *k);

/* Reads outside transactions (loop thread, consistent per call). */
int db_get(struct meta *m, const struct meta_key *k, char **val, size_t *len);

/* An iterator over [lower, upper) (upper may be NULL: no bound); tx may be
 * NULL to read the store only. */
struct meta_iter {
  rocksdb_iterator_t *it;
  rocksdb_iterator_t *base; /* owned by it when tx != NULL */
  rocksdb_readoptions_t *ro;
  struct meta_key upper;
  bool has_upper;
};
int iter_open(struct meta *m, struct meta_tx *tx, const struct meta_key *upper,
              struct meta_iter *out);
void iter_seek(struct meta_iter *i, const struct meta_key *k);
/* True while positioned on a key below the upper bound. */
bool iter_valid(struct meta_iter *i);
void iter_next(struct meta_iter *i);
const uint8_t *iter_key(struct meta_iter *i, size_t *len);
const uint8_t *iter_value(struct meta_iter *i, size_t *len);
int iter_status(struct meta_iter *i); /* 0 or CAIRN_EDB */
void iter_close(struct meta_iter *i);

/* Calls fn(name, value, len, arg) for every row of a table keyed by one
 * name (table|1|name: buckets, IAM users, keys, groups), in name order;
 * non-zero from fn stops the scan and is returned. tx may be NULL (read the
 * store). The name and value are valid during the call only. */
#define META_TABLE_NAME_MAX 128
typedef int (*meta_row_fn)(const char *name, const uint8_t *v, size_t len,
                           void *arg);
int meta_table_scan(struct meta *m, struct meta_tx *tx, char table,
                    meta_row_fn fn, void *arg);
/* Calls fn(key, value) for every row whose key starts with prefix, in key
 * order; non-zero from fn stops the scan and is returned. */
typedef int (*meta_kv_fn)(const uint8_t *k, size_t kl, const uint8_t *v,
                          size_t vl, void *arg);
int meta_prefix_scan(struct meta *m, struct meta_tx *tx,
                     const struct meta_key *prefix, meta_kv_fn fn, void *arg);

/* Runs apply in one synced transaction on the calling thread. */
typedef int (*meta_apply_fn)(struct meta_tx *tx, void *arg);
int meta_run(struct meta *m, meta_apply_fn apply, void *arg);

/* A batch: operations applied in order in one transaction (meta_writer.c).
 * batch_add takes ownership of arg (released with release, even when it
 * fails). */
struct meta_op {
  struct meta_op *next;
  meta_apply_fn apply;
  void (*release)(void *arg);
  void *arg;
};
struct meta_batch {
  struct meta_op *head, *tail;
  bool logged; /* meta_write_logged_async: WAL append, synced after */
};
int batch_add(struct meta_batch *b, meta_apply_fn apply,
              void (*release)(void *arg), void *arg);
/* Applies every operation of b (stops at the first error). */
int batch_apply(struct meta_tx *tx, void *b);

/* Writer thread lifecycle (meta_writer.c). */
int writer_start(struct meta *m);
void writer_stop(struct meta *m);

/* ---- record encodings shared by the table files (meta_object.c) ---- */
struct codec_out;
struct codec_in;
int valid_bucket(const char *bucket); /* 0 or CAIRN_EINVAL */
/* 0 when bucket exists in tx's view, CAIRN_ENOENT, or an error
 * (meta_bucket.c). */
int tx_bucket_exists(struct meta_tx *tx, const char *bucket);
int valid_key(const char *key); /* 0 or CAIRN_EINVAL */
void enc_attrs(struct codec_out *o, const struct meta_object_attrs *a);
/* Strings point into the input; a->user_meta is malloc'd. level: the
 * record's value version; 2 and up carry the sealed data key, 3 and up the
 * ACL (enc_attrs always writes both; older versions end before them and
 * decode as unencrypted / no ACL stored). */
void dec_attrs(struct codec_in *in, struct meta_object_attrs *a, int level);
void enc_chunks(struct codec_out *o, const struct meta_chunk *c, uint32_t n);
/* *out and each fragments array are malloc'd (free_chunks). */
void dec_chunks(struct codec_in *in, struct meta_chunk **out, uint32_t *n);
void free_chunks(struct meta_chunk *c, uint32_t n);
/* Decodes an 'O' value; the record owns a copy of v. */
int object_decode(const void *v, size_t len, const char *bucket,
                  const char *key, struct meta_object *out);
/* Encodes everything but bucket/key into o. */
int object_encode(const struct meta_object *rec, struct codec_out *o);

/* The read-modify-write of a PUT inside tx: bucket must exist, the current
 * version (unversioned: the null version) is removed and its chunks not
 * referenced by new_chunks are queued as garbage, then the new version and
 * its latest pointer are written. value is an object_encode output. */
int object_put_in_tx(struct meta_tx *tx, const struct meta_object *rec,
                     const void *value, size_t value_len);

void key_bucket_prefix(struct meta_key *k, char table, const char *bucket);

/* Removes the write intents of chunks queued at intent_ms (0: none). */
void intent_clear_in_tx(struct meta_tx *tx, int64_t intent_ms,
                        const struct meta_chunk *chunks, uint32_t n);
/* Garbage: queue chunks (skipping ids found in keep[0..n_keep)). */
int gc_queue_chunks(struct meta_tx *tx, const struct meta_chunk *chunks,
                    uint32_t n, const struct meta_chunk *keep, uint32_t n_keep);

/* Shared with meta_repair.c. */
void version_key(struct meta_key *k, const char *bucket, const char *key,
                 uint64_t seq);
/* The seq of the current (non-delete-marker) version: 0 or CAIRN_ENOENT. */
int latest_seq_in_tx(struct meta_tx *tx, const char *bucket, const char *key,
                     uint64_t *seq);
void enc_fragments(struct codec_out *o, const struct meta_chunk *c);
void dec_fragments(struct codec_in *in, struct meta_chunk *c);

/* The repair indexes (meta_repair.c), kept in the batch that writes or
 * removes a version: every placed fragment gets an 'F' row, and a chunk
 * with a missing fragment a 'D' row; removing a version drops them (chunks
 * in keep are still referenced and left alone). */
int repair_index_add(struct meta_tx *tx, const char *bucket, const char *key,
                     const struct meta_chunk *chunks, uint32_t n);
void repair_index_drop(struct meta_tx *tx, const struct meta_chunk *chunks,
                       uint32_t n, const struct meta_chunk *keep,
                       uint32_t n_keep);

#endif

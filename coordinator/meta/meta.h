/*
 * meta.h - the coordinator's metadata store, the only user of RocksDB.
 *
 * Key schema (full text in docs/metadata.md). Every key is
 *   table byte | format byte (1) | fields
 * with strings raw (plus a 0x00 separator when a field follows) and integers
 * fixed-width big-endian, so that RocksDB's byte order is the order we list
 * in. Bucket names never hold 0x00; object keys holding 0x00 are rejected
 * (CAIRN_EINVAL: the S3 layer must refuse a key that decodes to %00).
 *   N|1|node_id                         -> node record
 *   B|1|bucket                          -> bucket record
 *   L|1|bucket\0|key                    -> latest pointer + listing summary
 *   O|1|bucket\0|key\0|~seq (8 BE)      -> object version (newest first)
 *   U|1|bucket\0|key\0|upload_id        -> multipart upload
 *   P|1|upload_id|part_number (4 BE)    -> uploaded part
 *   G|1|time_ms (8 BE)|chunk_id (16)    -> garbage: fragments to delete
 *   K|1|name                            -> config blob
 *   I|1|user                            -> IAM user (inline policy, groups)
 *   A|1|access_key_id                   -> access key (user, sealed secret)
 *   R|1|group                           -> IAM group (policy)
 *   F|1|node_id|chunk_id|index (4 BE)   -> where a fragment is: bucket, key
 *   D|1|chunk_id                        -> degraded chunk: bucket, key, mask
 * Values are a version byte then fields (coordinator/meta/codec.h).
 *
 * Errors: 0 or a negative CAIRN_E*. CAIRN_EINVAL: a name or key too long or
 * holding 0x00; CAIRN_ENOENT: no such bucket/object/upload/part; CAIRN_EDB:
 * RocksDB failed; CAIRN_ECORRUPT: a stored value does not decode.
 *
 * Durability: every write function returns only after a synced write (WAL
 * fsync). Writes are serialized by one lock; a read-modify-write (an
 * overwrite that moves old chunks to garbage) is atomic: one WriteBatch.
 *
 * Threading: every function here may be called from the loop thread only
 * unless it says otherwise. Records returned through callbacks are owned by
 * the store and valid only during the callback.
 */
#ifndef CAIRN_META_H
#define CAIRN_META_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct meta;

/* Opens (creating if needed) the store under dir. On failure returns a
 * negative CAIRN_E* and a one-line reason in err. */
int meta_open(const char *dir, struct meta **out, char *err, size_t err_len);
/* The same with a block cache of cache_bytes (data, index and filter
 * blocks all charged to it) instead of META_BLOCK_CACHE_DEFAULT. */
#define META_BLOCK_CACHE_DEFAULT (32u << 20)
int meta_open_cached(const char *dir, size_t cache_bytes, struct meta **out,
                     char *err, size_t err_len);
/* Stops the writer thread (after writing what is queued; completions not yet
 * drained are dropped without running) and closes the store. */
void meta_close(struct meta *m);

/* ---- storage nodes (table 'N') ---------------------------------------- */

#define META_NODE_ID_LEN 32 /* hex characters */

struct meta_node_record {
  char node_id[META_NODE_ID_LEN + 1];
  char data_addr[128]; /* host:port of the node's data port */
  uint64_t capacity_bytes;
  uint64_t free_bytes;
  int64_t first_seen_ms; /* unix ms of the first registration */
  int64_t last_seen_ms;  /* unix ms of the last registration */
  char labels[256];      /* "host=a,rack=b" */
};

/* Inserts or replaces; durable (synced) when it returns 0. */
int meta_node_put(struct meta *m, const struct meta_node_record *rec);
int meta_node_delete(struct meta *m, const char *node_id); /* or ENOENT */
/* Calls cb for every node in id order; a non-zero return from cb stops the
 * walk and is returned. */
typedef int (*meta_node_cb)(const struct meta_node_record *rec, void *arg);
int meta_node_list(struct meta *m, meta_node_cb cb, void *arg);

/* ---- shared pieces of records ----------------------------------------- */

#define META_BUCKET_MAX 63       /* S3 bucket naming rules */
#define META_OBJECT_KEY_MAX 1024 /* S3: key names up to 1024 bytes UTF-8 */
#define META_CHUNK_ID_LEN 16
#define META_UPLOAD_ID_LEN 32 /* hex characters */
#define META_VERSION_ID_MAX 64
#define META_ETAG_MAX 64           /* hex md5 (32) or "<hex md5>-<parts>" */
#define META_PART_NUMBER_MAX 10000 /* S3: part numbers 1..10000 */

enum meta_layout_kind {
  META_LAYOUT_REPLICA = 1, /* data = number of copies, parity = 0 */
  META_LAYOUT_EC = 2       /* data (k) + parity (m) Reed-Solomon fragments */
};

struct meta_layout {
  uint8_t kind; /* enum meta_layout_kind */
  uint8_t data;
  uint8_t parity;
};

struct meta_fragment {
  char node_id[META_NODE_ID_LEN + 1]; /* "" when never placed */
  uint32_t index;                     /* replica number or EC fragment index */
  /* The write of this fragment failed (or it could not be placed) while
   * the chunk still met its write quorum: the chunk is degraded and a
   * repair must rebuild the fragment; readers skip it. node_id still names
   * the node that was tried, so the collector cleans it there too. Stored
   * as bit 31 of the index (no record ever had it set before). */
  bool missing;
};
#define META_FRAGMENT_MISSING_BIT 0x80000000u

struct meta_chunk {
  uint8_t id[META_CHUNK_ID_LEN];
  uint64_t offset; /* within the object */
  uint64_t length;
  struct meta_layout layout;
  uint32_t n_fragments;
  struct meta_fragment *fragments;
};

#define META_CHECKSUM_MAX 63 /* base64 of the longest digest (SHA-256) */

struct meta_part_boundary {
  uint32_t part_number;
  uint64_t offset, size;
  char etag[META_ETAG_MAX + 1];
  char checksum[META_CHECKSUM_MAX + 1]; /* the part's base64 checksum, or "" */
};

/* How CompleteMultipartUpload combines the parts' checksums (S3's
 * x-amz-checksum-type). A single PUT's checksum is always FULL_OBJECT. */
enum meta_checksum_type {
  META_CHECKSUM_TYPE_NONE = 0,
  META_CHECKSUM_COMPOSITE = 1,   /* checksum of the part checksums, "-N" */
  META_CHECKSUM_FULL_OBJECT = 2, /* CRC of the whole object */
};

struct meta_header {
  const char *name; /* "x-amz-meta-color" (lower case) */
  const char *value;
};

/* The stored headers and options an object carries (given at PUT or at
 * CreateMultipartUpload). NULL strings mean "absent". */
struct meta_object_attrs {
  const char *content_type;
  const char *content_encoding;
  const char *content_disposition;
  const char *content_language;
  const char *cache_control;
  const char *expires;
  uint32_t n_user_meta;
  struct meta_header *user_meta;  /* x-amz-meta-* pairs */
  const char *checksum_algorithm; /* "CRC32", "CRC32C", "SHA1", "SHA256" */
  const char *checksum_value;     /* base64; NULL if none */
  /* enum meta_checksum_type. Stored on uploads; on objects it follows from
   * the value (a composite ends in "-N") and is filled in when decoded. */
  uint8_t checksum_type;
  struct meta_layout layout;
  /* SSE-S3: the data key of the object (or of the multipart upload, shared
   * by its parts), sealed by the KMS (kms_seal, context "object-data-key").
   * NULL: the chunks hold plaintext (records from before encryption). */
  const uint8_t *sealed_key;
  uint32_t sealed_key_len;
  /* The object's ACL in coordinator/acl's stored form; NULL: private to
   * the bucket owner (records from before ACLs). */
  const char *acl;
};

/* One version of an object.
 * As input (meta_object_put) every pointer is the caller's and is only read
 * during the call. As output (meta_object_get_latest) the record and all it
 * points to are owned by the caller and released with meta_object_free. */
struct meta_object {
  char bucket[META_BUCKET_MAX + 1];
  char key[META_OBJECT_KEY_MAX + 1];
  char version_id[META_VERSION_ID_MAX + 1]; /* "null" when unversioned */
  bool delete_marker;
  uint64_t size;
  char etag[META_ETAG_MAX + 1]; /* without quotes */
  int64_t last_modified_ms;
  struct meta_object_attrs attrs;
  uint32_t n_chunks;
  struct meta_chunk *chunks; /* ascending offsets, covering [0, size) */
  uint32_t n_parts;          /* 0 unless completed from a multipart upload */
  struct meta_part_boundary *parts;
  /* The multipart upload this version was completed from, or "": a retried
   * CompleteMultipartUpload of it answers the same result. */
  char upload_id[META_UPLOAD_ID_LEN + 1];
  int64_t intent_ms; /* input only: clear this write intent (below) */
  void *owned_;      /* internal: storage of a decoded record */
};

void meta_object_free(struct meta_object *obj);

/* ---- buckets (table 'B') ---------------------------------------------- */

struct meta_bucket {
  char name[META_BUCKET_MAX + 1];
  int64_t created_ms;
  char owner[128];   /* access key id (or account) of the creator */
  char location[64]; /* region / LocationConstraint, "" for default */
  uint32_t flags;    /* META_BUCKET_* */
  struct meta_layout default_layout; /* kind 0: the cluster default */
  /* PutBucketEncryption: META_SSE_NONE (never set: objects still get the
   * SSE-S3 default) or META_SSE_AES256; bucket_key_enabled as given. */
  uint8_t sse_algorithm;
  uint8_t bucket_key_enabled;
  /* PutBucketOwnershipControls: META_OWNERSHIP_*; NONE is never set (the
   * coordinator's default applies). */
  uint8_t ownership;
};
#define META_OWNERSHIP_NONE 0
#define META_OWNERSHIP_BUCKET_OWNER_ENFORCED 1
#define META_OWNERSHIP_BUCKET_OWNER_PREFERRED 2
#define META_OWNERSHIP_OBJECT_WRITER 3
#define META_SSE_NONE 0
#define META_SSE_AES256 1
#define META_BUCKET_VERSIONING_ENABLED 0x1u   /* reserved: later */
#define META_BUCKET_VERSIONING_SUSPENDED 0x2u /* reserved: later */

/* CAIRN_EEXIST when a bucket of that name exists. */
int meta_bucket_create(struct meta *m, const struct meta_bucket *b);
/* CAIRN_ENOENT when absent. */
int meta_bucket_get(struct meta *m, const char *name, struct meta_bucket *out);
/* Sets the encryption configuration of an existing bucket (read-modify-
 * write in one synced batch); CAIRN_ENOENT when absent. */
int meta_bucket_set_encryption(struct meta *m, const char *name,
                               uint8_t sse_algorithm,
                               uint8_t bucket_key_enabled);
/* The object ownership setting (META_OWNERSHIP_*); CAIRN_ENOENT when
 * absent. */
int meta_bucket_set_ownership(struct meta *m, const char *name,
                              uint8_t ownership);
/* A configuration document of a bucket (table 'C'; name "policy" or
 * "acl"): *out is malloc'd, NUL-terminated, *len bytes (caller frees).
 * CAIRN_ENOENT when the bucket has none (or does not exist). */
int meta_bucket_config_get(struct meta *m, const char *bucket, const char *name,
                           char **out, size_t *len);
/* Stores it (value NULL removes it) in one synced batch that checks the
 * bucket exists (else CAIRN_ENOENT); over 64 KiB is CAIRN_ETOOBIG. */
int meta_bucket_config_set(struct meta *m, const char *bucket, const char *name,
                           const void *value, size_t len);
/* CAIRN_ENOENT when absent; CAIRN_EBUSY (S3 BucketNotEmpty) when it holds
 * any object version or any multipart upload. */
int meta_bucket_delete(struct meta *m, const char *name);
/* Every bucket in name order; non-zero from cb stops and is returned. */
typedef int (*meta_bucket_cb)(const struct meta_bucket *b, void *arg);
int meta_bucket_list(struct meta *m, meta_bucket_cb cb, void *arg);

/* ---- objects (tables 'O' and 'L') ------------------------------------- */

/* The current version of bucket/key into *out (caller frees with
 * meta_object_free). CAIRN_ENOENT when there is none or it is a delete
 * marker (then out->delete_marker is set and out is still filled). */
int meta_object_get_latest(struct meta *m, const char *bucket, const char *key,
                           struct meta_object *out);

/* Writes a new version of rec->bucket/rec->key and makes it the latest, in
 * ONE synced batch; the replaced null version (if any) is removed and its
 * chunks queued as garbage. CAIRN_ENOENT if the bucket does not exist. */
int meta_object_put(struct meta *m, const struct meta_object *rec);

/* Replaces the ACL of the latest version (acl NULL: none stored), in one
 * synced batch. CAIRN_ENOENT when there is no such object. */
int meta_object_set_acl(struct meta *m, const char *bucket, const char *key,
                        const char *acl);

/* Unversioned delete: removes the latest version and queues its chunks as
 * garbage, in one batch. CAIRN_ENOENT when absent (S3 still answers 204). */
int meta_object_delete(struct meta *m, const char *bucket, const char *key);

/* ---- listing (ListObjectsV2 over table 'L') --------------------------- */

/* What a listing knows of each key without reading its version record. */
struct meta_object_summary {
  const char *key;
  uint64_t size;
  const char *etag;
  int64_t last_modified_ms;
  const char *version_id;
};

struct meta_list_params {
  const char *prefix;      /* NULL or "" for all */
  const char *delimiter;   /* NULL or "" for none */
  const char *start_after; /* exclusive; NULL or "" for the beginning */
  uint32_t max_keys;       /* entries + common prefixes per page (0: none are
                              returned; truncated says whether any exist) */
};

/* Exactly one of the pointers is non-NULL per call; both are valid only
 * during the call. Non-zero stops the listing and is returned. */
typedef int (*meta_list_cb)(const struct meta_object_summary *entry,
                            const char *common_prefix, void *arg);

struct meta_list_result {
  bool truncated;
  /* When truncated: the last key or common prefix returned; pass it as the
   * next page's start_after (a common prefix as start_after skips all keys
   * under it). */
  char next_marker[META_OBJECT_KEY_MAX + 1];
  uint32_t count;
  uint32_t scanned; /* index entries visited (cost check for tests) */
};

/* Costs O(page): each common prefix is skipped with one seek. */
int meta_list_objects(struct meta *m, const char *bucket,
                      const struct meta_list_params *p, meta_list_cb cb,
                      void *arg, struct meta_list_result *res);

/* ---- multipart uploads (tables 'U' and 'P') --------------------------- */

struct meta_upload {
  char bucket[META_BUCKET_MAX + 1];
  char key[META_OBJECT_KEY_MAX + 1];
  char upload_id[META_UPLOAD_ID_LEN + 1];
  int64_t initiated_ms;
  struct meta_object_attrs attrs; /* applied at completion */
  void *owned_;                   /* internal */
};
void meta_upload_free(struct meta_upload *u);

/* Creates an upload with a fresh random upload_id (written into
 * u->upload_id); u->initiated_ms is set when 0. CAIRN_ENOENT: no bucket. */
int meta_upload_create(struct meta *m, struct meta_upload *u);
/* Caller frees with meta_upload_free. CAIRN_ENOENT when absent. */
int meta_upload_get(struct meta *m, const char *bucket, const char *key,
                    const char *upload_id, struct meta_upload *out);
/* Deletes the upload and its parts; every part's chunks become garbage. */
int meta_upload_abort(struct meta *m, const char *bucket, const char *key,
                      const char *upload_id);

/* ListMultipartUploads: uploads of bucket whose key starts with prefix, in
 * (key, upload_id) order, strictly after (key_marker, upload_id_marker)
 * (upload_id_marker "" or NULL: after every upload of key_marker). The
 * record passed to cb is valid during the call only. */
typedef int (*meta_upload_cb)(const struct meta_upload *u, void *arg);
int meta_upload_list(struct meta *m, const char *bucket, const char *prefix,
                     const char *key_marker, const char *upload_id_marker,
                     uint32_t max_uploads, meta_upload_cb cb, void *arg,
                     bool *truncated);

struct meta_part {
  uint32_t part_number;
  uint64_t size;
  char etag[META_ETAG_MAX + 1];
  int64_t last_modified_ms;
  const char *checksum_value; /* base64 or NULL */
  uint32_t n_chunks;
  struct meta_chunk *chunks; /* offsets within the part */
  /* The upload's sealed data key the part was encrypted with (NULL: none);
   * completion refuses a part whose key is not the upload's. */
  const uint8_t *sealed_key;
  uint32_t sealed_key_len;
  int64_t intent_ms; /* input only: clear this write intent */
};

/* Stores a part (chunks copied); replacing the same part number moves the
 * old part's chunks to garbage. CAIRN_ENOENT: no such upload; CAIRN_EINVAL:
 * part number outside 1..10000. */
int meta_part_put(struct meta *m, const char *bucket, const char *key,
                  const char *upload_id, const struct meta_part *part);
/* ListParts: parts with number > part_number_marker, ascending, at most
 * max_parts; the record is valid during the call only. */
typedef int (*meta_part_cb)(const struct meta_part *p, void *arg);
int meta_part_list(struct meta *m, const char *upload_id,
                   uint32_t part_number_marker, uint32_t max_parts,
                   meta_part_cb cb, void *arg, bool *truncated);

struct meta_complete_part {
  uint32_t part_number;
  const char *etag;     /* quotes allowed, ignored */
  const char *checksum; /* as the client lists it, or NULL: not checked */
};

/* CompleteMultipartUpload in ONE batch: checks that the listed parts exist
 * with those etags, in ascending order, every part but the last at least
 * min_part_size bytes; writes the object version (version_id, chunks of the
 * parts in order with object offsets, part boundaries, etag = md5 of the
 * binary part md5s + "-N") and its latest pointer; deletes the upload and
 * all its parts; queues the chunks of unlisted parts and of the replaced
 * version as garbage. On success *out (optional) receives the new record
 * (free with meta_object_free).
 * Errors: CAIRN_ENOENT NoSuchUpload; CAIRN_EINVAL InvalidPart (missing or
 * etag mismatch, *bad_part = its index); CAIRN_EPROTO InvalidPartOrder;
 * CAIRN_ERANGE EntityTooSmall. A part stored under another data key than
 * the upload's is InvalidPart too.
 * Checksums: when the upload was created with a checksum algorithm, each
 * listed part's checksum must match the stored one (else InvalidPart), and
 * the object's checksum is computed from the parts' as the upload's
 * checksum type says; when expected_checksum (the request's
 * x-amz-checksum-* header) is given and differs: CAIRN_ECORRUPT
 * (BadDigest), nothing written. */
int meta_upload_complete(struct meta *m, const char *bucket, const char *key,
                         const char *upload_id,
                         const struct meta_complete_part *parts, uint32_t n,
                         const char *expected_checksum, uint64_t min_part_size,
                         int64_t last_modified_ms, struct meta_object *out,
                         uint32_t *bad_part);

/* ---- garbage (table 'G') ---------------------------------------------- */

struct meta_gc_item {
  uint8_t gc_key[2 + 8 + META_CHUNK_ID_LEN]; /* pass back to meta_gc_done */
  int64_t queued_ms;
  struct meta_chunk chunk; /* offset/length 0; fragments owned by the list */
};
struct meta_gc_list {
  uint32_t n;
  struct meta_gc_item *items;
};
/* The oldest max entries (not removed). Free with meta_gc_list_free. */
int meta_gc_take(struct meta *m, uint32_t max, struct meta_gc_list *out);
void meta_gc_list_free(struct meta_gc_list *l);
/* Write intents: before a chunk's bytes go to any node, its id is queued as
 * garbage due at due_ms (an hour ahead), with `fragments` fragments on
 * nodes not yet known (the collector asks every node). The record that
 * makes the chunk live (meta_object_put / meta_part_put with intent_ms =
 * due_ms) removes the intent in its own batch, so a coordinator crash at any
 * moment leaves every written chunk either referenced or collectable.
 * Synced. */
int meta_intent_add(struct meta *m, int64_t due_ms,
                    const uint8_t (*chunk_ids)[META_CHUNK_ID_LEN], uint32_t n,
                    uint32_t fragments);
/* Queues chunks that no record refers to (a failed or aborted upload). */
int meta_gc_add(struct meta *m, const struct meta_chunk *chunks, uint32_t n);
/* Removes entries whose fragments were deleted, in one synced batch. */
int meta_gc_done(struct meta *m, const struct meta_gc_item *items, uint32_t n);

/* ---- config blobs (table 'K') ----------------------------------------- */

int meta_config_put(struct meta *m, const char *name, const void *v,
                    size_t len);
/* *v is malloc'd (free()); CAIRN_ENOENT when absent. */
int meta_config_get(struct meta *m, const char *name, void **v, size_t *len);

/* ---- IAM: users ('I'), access keys ('A'), groups ('R') --------------- *
 *
 * Administration-rate, synchronous (one synced write each). Names are
 * 1..META_IAM_NAME_MAX bytes without 0x00 (the IAM layer checks AWS's
 * character rules). Secrets are stored only as blobs sealed by the caller
 * (coordinator/kms); this layer never sees a plaintext secret. */

#define META_IAM_NAME_MAX 64   /* AWS: user names up to 64 characters */
#define META_IAM_GROUPS_MAX 10 /* AWS: a user is in at most 10 groups */
#define META_ACCESS_KEY_ID_MAX 128
#define META_SEALED_SECRET_MAX 256

struct meta_iam_user {
  char name[META_IAM_NAME_MAX + 1];
  int64_t created_ms;
  bool disabled;
  char *policy; /* inline policy text or NULL; output: malloc'd */
  uint32_t n_groups;
  char groups[META_IAM_GROUPS_MAX][META_IAM_NAME_MAX + 1];
};
/* Frees out->policy of a record filled by meta_iam_user_get/_list. */
void meta_iam_user_release(struct meta_iam_user *u);

/* create: CAIRN_EEXIST when the user exists; otherwise it must exist
 * (CAIRN_ENOENT) and is replaced. */
int meta_iam_user_put(struct meta *m, const struct meta_iam_user *u,
                      bool create);
int meta_iam_user_get(struct meta *m, const char *name,
                      struct meta_iam_user *out);
/* Removes the user and every access key of it, in one batch. */
int meta_iam_user_delete(struct meta *m, const char *name);
/* In name order; the record is valid during the call only. */
typedef int (*meta_iam_user_cb)(const struct meta_iam_user *u, void *arg);
int meta_iam_user_list(struct meta *m, meta_iam_user_cb cb, void *arg);

enum meta_key_status { META_KEY_INACTIVE = 0, META_KEY_ACTIVE = 1 };

struct meta_access_key {
  char access_key_id[META_ACCESS_KEY_ID_MAX + 1];
  char user[META_IAM_NAME_MAX + 1];
  uint8_t status; /* enum meta_key_status */
  int64_t created_ms;
  int64_t expires_ms;  /* 0: never; set when the key is rotated out */
  uint32_t sealed_len; /* the secret, sealed by the kms */
  uint8_t sealed[META_SEALED_SECRET_MAX];
};

/* create: CAIRN_EEXIST when the id exists (and CAIRN_ENOENT when the user
 * does not); otherwise the key must exist and is replaced. */
int meta_access_key_put(struct meta *m, const struct meta_access_key *k,
                        bool create);
int meta_access_key_get(struct meta *m, const char *access_key_id,
                        struct meta_access_key *out);
int meta_access_key_delete(struct meta *m, const char *access_key_id);
/* Keys of user (NULL: every key), in id order. */
typedef int (*meta_access_key_cb)(const struct meta_access_key *k, void *arg);
int meta_access_key_list(struct meta *m, const char *user,
                         meta_access_key_cb cb, void *arg);

struct meta_iam_group {
  char name[META_IAM_NAME_MAX + 1];
  int64_t created_ms;
  char *policy; /* or NULL; output: malloc'd */
};
void meta_iam_group_release(struct meta_iam_group *g);
int meta_iam_group_put(struct meta *m, const struct meta_iam_group *g,
                       bool create);
int meta_iam_group_get(struct meta *m, const char *name,
                       struct meta_iam_group *out);
/* Removes the group and its membership in every user, in one batch. */
int meta_iam_group_delete(struct meta *m, const char *name);
typedef int (*meta_iam_group_cb)(const struct meta_iam_group *g, void *arg);
int meta_iam_group_list(struct meta *m, meta_iam_group_cb cb, void *arg);

/* ---- repair indexes: fragments by node ('F'), degraded chunks ('D') --- *
 *
 * Every fragment of a current version that names a node has an F row
 * (written and dropped in the batches that write and remove versions), so
 * the chunks on one node are one range scan, never a walk of all objects.
 * A chunk that needs a repair (a fragment recorded missing at write time,
 * reported corrupt, or on a node that is dead or draining) has a D row; the
 * repairer works through D only. Parts of multipart uploads not yet
 * completed are not indexed (they are at completion). */

#define META_DEGRADED_KEY_LEN (2 + META_CHUNK_ID_LEN)
#define META_FRAGMENT_KEY_LEN (2 + META_NODE_ID_LEN + META_CHUNK_ID_LEN + 4)

struct meta_degraded {
  uint8_t chunk_id[META_CHUNK_ID_LEN];
  char bucket[META_BUCKET_MAX + 1];
  char key[META_OBJECT_KEY_MAX + 1];
  uint32_t corrupt_mask; /* bit i: fragment index i was reported corrupt */
  int64_t since_ms;      /* when the row was first written */
};

/* Pure key codecs (unit-tested): the D key of a chunk, the F key of a
 * fragment; the decoders return 0 or CAIRN_EINVAL. */
void meta_degraded_key(const uint8_t chunk_id[META_CHUNK_ID_LEN],
                       uint8_t out[META_DEGRADED_KEY_LEN]);
int meta_degraded_key_parse(const uint8_t *k, size_t len,
                            uint8_t chunk_id[META_CHUNK_ID_LEN]);
void meta_fragment_key(const char *node_id,
                       const uint8_t chunk_id[META_CHUNK_ID_LEN],
                       uint32_t index, uint8_t out[META_FRAGMENT_KEY_LEN]);
int meta_fragment_key_parse(const uint8_t *k, size_t len, char *node_id,
                            uint8_t chunk_id[META_CHUNK_ID_LEN],
                            uint32_t *index);

/* Marks a chunk degraded (merging corrupt_index into the mask; -1: none).
 * Synced. */
int meta_degraded_mark(struct meta *m, const uint8_t chunk_id[16],
                       const char *bucket, const char *key, int corrupt_index);
/* A node reported fragment (chunk_id, index) corrupt: finds its object in
 * F and marks the chunk. CAIRN_ENOENT when no current version holds it. */
int meta_fragment_report_corrupt(struct meta *m, const char *node_id,
                                 const uint8_t chunk_id[16], uint32_t index);
/* Marks every chunk with a fragment on node_id degraded (dead or draining
 * node); *marked gets how many rows were scanned. Synced. */
int meta_degraded_mark_node(struct meta *m, const char *node_id,
                            uint64_t *marked);
/* Does a current version hold fragment (chunk_id, index) on node_id? The
 * garbage collector asks before each delete, so a queued old copy never
 * removes a fragment a repair has since put back on the same node. */
bool meta_fragment_live(struct meta *m, const char *node_id,
                        const uint8_t chunk_id[16], uint32_t index);
/* Fragments recorded on node_id (an F range scan). */
int meta_fragment_count_node(struct meta *m, const char *node_id,
                             uint64_t *count);
/* Rows of D in chunk-id order strictly after `after` (NULL: from the
 * start), at most max; cb's record is valid during the call. */
typedef int (*meta_degraded_cb)(const struct meta_degraded *d, void *arg);
int meta_degraded_list(struct meta *m, const uint8_t *after, uint32_t max,
                       meta_degraded_cb cb, void *arg);
int meta_degraded_count(struct meta *m, uint64_t *count);
int meta_degraded_clear(struct meta *m, const uint8_t chunk_id[16]);

/* One rebuilt fragment: index `index` moved from old_node ("" if it was
 * never placed) to new_node (may equal old_node: rewritten in place). */
struct meta_repair_move {
  uint32_t index;
  char old_node[META_NODE_ID_LEN + 1];
  char new_node[META_NODE_ID_LEN + 1];
};
/* Commits a repair in ONE synced batch: if bucket/key's current version
 * still holds the chunk with each moved fragment where the repair found it,
 * the fragments are rewritten to their new nodes (missing cleared), F is
 * updated, old copies on other nodes are queued as garbage, and the D row
 * is removed (kept when keep_degraded). Otherwise (the object changed) the
 * new copies are queued as garbage instead and CAIRN_ENOENT returned. */
int meta_repair_commit(struct meta *m, const char *bucket, const char *key,
                       const struct meta_chunk *chunk,
                       const struct meta_repair_move *moves, uint32_t n,
                       bool keep_degraded);

/* ---- asynchronous writes with group commit ---------------------------- *
 *
 * A meta_batch collects operations (each is a read-modify-write applied by
 * the writer thread in order); meta_write_async hands it to the ONE writer
 * thread, which applies every pending batch into a single WriteBatch and
 * does ONE synced write for all of them (group commit). A batch is atomic:
 * if one of its operations fails, none of its writes happen and its
 * callback gets that error; other batches of the group are unaffected.
 *
 * Completions come back through a queue: the writer calls notify(arg) (from
 * the writer thread; it must be thread-safe, e.g. uv_async_send) and the
 * loop thread then calls meta_drain_completions(), which runs the
 * callbacks. This keeps libuv out of the metadata library. */
struct meta_batch;
struct meta_batch *meta_batch_new(void);
void meta_batch_free(struct meta_batch *b); /* if never submitted */
/* Add operations; each copies what it needs. Semantics as the synchronous
 * functions of the same name. */
int meta_batch_object_put(struct meta_batch *b, const struct meta_object *rec);
int meta_batch_object_delete(struct meta_batch *b, const char *bucket,
                             const char *key);
/* meta_intent_add as a batch operation (the group-commit writer syncs it
 * with the other batches of its group): the PUT path records its write
 * intents this way and sends no byte to a node before the callback. The
 * ids are copied. */
int meta_batch_intent_add(struct meta_batch *b, int64_t due_ms,
                          const uint8_t (*chunk_ids)[META_CHUNK_ID_LEN],
                          uint32_t n, uint32_t fragments);
int meta_batch_node_put(struct meta_batch *b,
                        const struct meta_node_record *rec);
int meta_batch_node_delete(struct meta_batch *b, const char *node_id);

typedef void (*meta_write_cb)(int status, void *arg);
/* May be called once, before the first meta_write_async. */
void meta_set_notify(struct meta *m, void (*notify)(void *arg), void *arg);
/* Takes ownership of b in every case. If it returns an error, cb never
 * runs. */
int meta_write_async(struct meta *m, struct meta_batch *b, meta_write_cb cb,
                     void *arg);
/* The same, but cb runs once b is appended to the WAL, before it is
 * synced: it survives a crash of this process, and the writer syncs it
 * right after (with the next synced group, or on its own as soon as it is
 * idle). For batches whose loss in a power failure costs nothing but
 * space, and whose callers never need it durable before a later synced
 * batch of theirs (which syncs it too): the write intents of an upload
 * (docs/metadata.md, "Write intents"). It may complete before synced
 * batches submitted earlier. */
int meta_write_logged_async(struct meta *m, struct meta_batch *b,
                            meta_write_cb cb, void *arg);
/* Runs the callbacks of finished batches; returns how many ran. Loop
 * thread. */
int meta_drain_completions(struct meta *m);
/* Statistics: synced group writes and batches written so far (any
 * thread). */
void meta_writer_stats(struct meta *m, uint64_t *groups, uint64_t *batches);

/* A counter that grows after every committed (or failed) write touching a
 * bucket record, a bucket configuration (policy, ACL) or an IAM user,
 * access key or group, before that write's caller learns it is done. A
 * cache of such rows read at generation g (read BEFORE the rows) is
 * current while meta_config_generation() is still g. Any thread. */
uint64_t meta_config_generation(struct meta *m);

#endif

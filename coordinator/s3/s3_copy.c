/*
 * s3_copy.c - CopyObject and UploadPartCopy.
 *
 *   source lookup --conditions--> (self-copy with REPLACE: new metadata over
 *   the same chunks, no bytes move) | pipe: object_reader --> object_writer
 *   (MD5 on the way) --both done--> metadata batch --> CopyObjectResult
 *
 * The pipe is bounded: when the writer's window (a share of the PUT
 * budget, as an upload's) is full it pauses the reader, and resumes it as
 * the nodes acknowledge; an erasure-coded copy waits for the budget to
 * hold its stripes before it starts (s3_put_budget.h).
 */
#include "coordinator.h"
#include "crypto.h"
#include "error.h"
#include "http_server.h"
#include "log.h"
#include "meta.h"
#include "object_reader.h"
#include "object_writer.h"
#include "s3_ops.h"
#include "s3_put_budget.h"
#include "s3_sse.h"
#include "s3_uri.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_COPY_SIZE (5ULL << 30) /* AWS: CopyObject up to 5 GiB */

struct copy_op {
  struct s3_request *r;
  struct meta_object src;
  struct meta_object_attrs attrs; /* of the new object */
  int replace;                    /* metadata directive REPLACE */
  uint32_t part_number;           /* UploadPartCopy, else 0 */
  char upload_id[META_UPLOAD_ID_LEN + 1];
  uint64_t from, length;
  struct object_reader *reader;
  struct object_writer *writer;
  struct crypto_hash *md5;
  uint8_t (*chunk_ids)[16];
  int64_t intent_ms;
  int reader_done, writer_done, reader_paused, writer_full, status;
  struct s3_sse_key src_key; /* opens the source's chunks */
  struct s3_sse_key dst_key; /* seals the copy (the upload's for a part) */
  /* The writer's layout and configuration, chosen before it may wait for
   * the PUT budget (erasure-coded stripes), and its share of it. */
  struct meta_layout layout;
  struct object_writer_config wc;
  struct put_waiter budget;
};

static void copy_free(void *p) {
  struct copy_op *op = p;
  s3_put_budget_leave(op->r->c, &op->budget);
  if (op->reader)
    object_reader_free(op->reader);
  if (op->writer)
    object_writer_free(op->writer);
  crypto_hash_free(op->md5);
  free(op->chunk_ids);
  if (op->replace)
    free(op->attrs.user_meta);
  meta_object_free(&op->src);
  s3_sse_wipe(&op->src_key);
  s3_sse_wipe(&op->dst_key);
  free(op);
}

static void discard(struct copy_op *op) {
  uint32_t n;
  const struct meta_chunk *chunks = object_writer_chunks(op->writer, &n);
  if (meta_gc_add(op->r->c->meta, chunks, n) != 0)
    log_error("s3", "cannot queue %u orphan chunks of a copy", n);
}

static void send_result(struct copy_op *op, const char *etag,
                        int64_t modified_ms) {
  struct s3_xml x;
  char date[40];
  s3_format_iso8601(modified_ms, date, sizeof date);
  s3_xml_init(&x, op->part_number ? "CopyPartResult" : "CopyObjectResult");
  s3_xml_text(&x, "LastModified", date);
  s3_xml_textf(&x, "ETag", "\"%s\"", etag);
  s3_xml_close(&x, op->part_number ? "CopyPartResult" : "CopyObjectResult");
  s3_send_xml_sse(op->r, &x, op->dst_key.enabled);
}

/* Writes the record for chunks (the copied or the shared ones). */
static void commit(struct copy_op *op, const char *etag,
                   const struct meta_chunk *chunks, uint32_t n_chunks,
                   int fresh_chunks) {
  struct s3_request *r = op->r;
  int64_t now = coord_now_ms();
  int rc;
  if (op->part_number) {
    struct meta_part part = {
        .part_number = op->part_number,
        .size = op->length,
        .last_modified_ms = now,
        .n_chunks = n_chunks,
        .chunks = (struct meta_chunk *)chunks,
        .intent_ms = op->intent_ms,
        .sealed_key = op->dst_key.enabled ? op->dst_key.sealed : NULL,
        .sealed_key_len = op->dst_key.sealed_len};
    snprintf(part.etag, sizeof part.etag, "%s", etag);
    rc = meta_part_put(r->c->meta, r->bucket, r->key, op->upload_id, &part);
  } else {
    struct meta_object rec;
    memset(&rec, 0, sizeof rec);
    snprintf(rec.bucket, sizeof rec.bucket, "%s", r->bucket);
    snprintf(rec.key, sizeof rec.key, "%s", r->key);
    strcpy(rec.version_id, "null");
    rec.size = op->length;
    snprintf(rec.etag, sizeof rec.etag, "%s", etag);
    rec.last_modified_ms = now;
    rec.attrs = op->replace ? op->attrs : op->src.attrs;
    rec.attrs.layout =
        fresh_chunks ? object_writer_layout(op->writer) : op->src.attrs.layout;
    rec.attrs.acl = r->new_acl;
    s3_sse_attach(&op->dst_key, &rec.attrs);
    rec.n_chunks = n_chunks;
    rec.chunks = (struct meta_chunk *)chunks;
    rec.n_parts = fresh_chunks ? 0 : op->src.n_parts;
    rec.parts = fresh_chunks ? NULL : op->src.parts;
    rec.intent_ms = op->intent_ms;
    rc = meta_object_put(r->c->meta, &rec);
  }
  if (rc != 0) {
    if (fresh_chunks)
      discard(op);
    if (rc == CAIRN_ENOENT)
      s3_send_error(r, op->part_number ? "NoSuchUpload" : "NoSuchBucket", NULL);
    else
      s3_send_cairn_error(r, rc);
    return;
  }
  send_result(op, etag, now);
}

static void settle(struct copy_op *op) {
  if (!op->reader_done || !op->writer_done)
    return;
  if (op->status != 0) {
    discard(op);
    if (op->r->client_gone)
      s3_request_end(op->r);
    else
      s3_send_cairn_error(op->r, op->status);
    return;
  }
  uint8_t md5[MD5_LEN];
  char etag[2 * MD5_LEN + 1];
  crypto_hash_final(op->md5, md5);
  crypto_hex(md5, MD5_LEN, etag);
  uint32_t n;
  const struct meta_chunk *chunks = object_writer_chunks(op->writer, &n);
  commit(op, etag, chunks, n, 1);
}

/* Stops the copy: the reader first, whose done stops the writer, whose
 * done settles (on_reader_done, on_writer_done). Either may happen before
 * the call returns, freeing op: so one call, and op is not read after. */
static void fail(struct copy_op *op, int status) {
  if (op->status == 0)
    op->status = status;
  if (!op->reader_done)
    object_reader_cancel(op->reader);
  else if (!op->writer_done)
    object_writer_abort(op->writer);
}

/* The writer's digest (a cpu_pool worker, in order): the new ETag. op->md5
 * is read only once the writer is done. */
static void copy_digest(void *arg, const void *data, size_t len) {
  crypto_hash_update(((struct copy_op *)arg)->md5, data, len);
}

static int on_data(const void *data, size_t len, void *arg) {
  struct copy_op *op = arg;
  if (op->status)
    return 0;
  int rc = object_writer_write(op->writer, data, len);
  if (rc != 0) {
    fail(op, rc);
    return 0;
  }
  if (op->writer_full) {
    op->reader_paused = 1;
    return 1;
  }
  return 0;
}

static void on_reader_done(struct object_reader *rd, int status, void *arg) {
  struct copy_op *op = arg;
  (void)rd;
  op->reader_done = 1;
  if (status != 0 && status != CAIRN_ECANCELED && !op->status)
    op->status = status;
  /* Each branch is the last use of op: the writer's done may settle (and
   * free op) before finish or abort returns. */
  if (op->status == 0)
    object_writer_finish(op->writer);
  else if (!op->writer_done)
    object_writer_abort(op->writer);
  else
    settle(op);
}

static void writer_pause(void *arg) {
  ((struct copy_op *)arg)->writer_full = 1;
}

static void writer_resume(void *arg) {
  struct copy_op *op = arg;
  op->writer_full = 0;
  if (op->reader_paused && !op->reader_done) {
    op->reader_paused = 0;
    object_reader_resume(op->reader);
  }
}

static void on_writer_done(struct object_writer *w, int status, void *arg) {
  struct copy_op *op = arg;
  (void)w;
  op->writer_done = 1;
  if (status != 0 && status != CAIRN_ECANCELED && !op->status)
    op->status = status;
  /* As in on_reader_done: the reader's done settles once it is cancelled,
   * possibly before object_reader_cancel returns. */
  if (op->status != 0 && !op->reader_done)
    object_reader_cancel(op->reader);
  else
    settle(op);
}

static void copy_abort(struct s3_request *r, const char *code) {
  struct copy_op *op = r->op;
  if (s3_put_budget_abort_waiting(r, &op->budget, code))
    return;                  /* nothing began: no intent, no writer */
  fail(op, CAIRN_ECANCELED); /* settle ends r once both wind down */
}

/* Records the write intents, opens the writer and starts the pipe. */
static void copy_begin(struct copy_op *op) {
  struct s3_request *r = op->r;
  int rc = s3_writer_begin(r, op->length, op->layout,
                           (const uint8_t(*)[16])op->chunk_ids, &op->intent_ms,
                           &op->wc, &op->writer);
  if (rc != 0) {
    s3_send_cairn_error(r, rc);
    return;
  }
  if (op->length == 0) {
    op->reader_done = 1;
    object_writer_finish(op->writer); /* settles at once */
    return;
  }
  struct object_reader_config rc_cfg = {
      .cluster = r->c->cluster,
      .links = r->c->links,
      .chunks = op->src.chunks,
      .n_chunks = op->src.n_chunks,
      .offset = op->from,
      .length = op->length,
      .data_key = s3_sse_data_key(&op->src_key),
      .on_data = on_data,
      .done = on_reader_done,
      .arg = op,
  };
  rc = object_reader_start(&rc_cfg, &op->reader);
  if (rc != 0) {
    op->reader_done = 1;
    fail(op, rc); /* the writer's done settles */
  }
}

/* An erasure-coded copy the PUT budget now holds. */
static void copy_admitted(struct put_waiter *w) {
  copy_begin((struct copy_op *)((char *)w - offsetof(struct copy_op, budget)));
}

/* "/bucket/key" or "bucket/key" (URL-encoded, maybe ?versionId=). */
static int parse_source(const char *header, char *bucket, size_t bcap,
                        char **key) {
  const char *s = header[0] == '/' ? header + 1 : header;
  char *decoded = s3_uri_decode(s, strcspn(s, "?"), 0, 1);
  if (!decoded)
    return -1;
  char *slash = strchr(decoded, '/');
  if (!slash || slash == decoded || !slash[1] ||
      (size_t)(slash - decoded) >= bcap) {
    free(decoded);
    return -1;
  }
  memcpy(bucket, decoded, (size_t)(slash - decoded));
  bucket[slash - decoded] = '\0';
  *key = strdup(slash + 1);
  free(decoded);
  return *key ? 0 : -1;
}

/* upload: the upload record of an UploadPartCopy (its data key seals the
 * part), NULL for CopyObject. */
static void start_copy(struct s3_request *r, uint32_t part_number,
                       const char *upload_id,
                       const struct meta_upload *upload) {
  struct copy_op *op = calloc(1, sizeof *op);
  if (!op) {
    s3_send_error(r, "InternalError", NULL);
    return;
  }
  op->r = r;
  r->op = op;
  r->op_free = copy_free;
  op->part_number = part_number;
  if (upload_id)
    snprintf(op->upload_id, sizeof op->upload_id, "%s", upload_id);

  char src_bucket[S3_BUCKET_MAX + 1];
  char *src_key = NULL;
  if (parse_source(s3_header(r, "x-amz-copy-source"), src_bucket,
                   sizeof src_bucket, &src_key) != 0 ||
      strlen(src_key) > S3_KEY_MAX) {
    free(src_key);
    s3_send_error(r, "InvalidArgument",
                  "Copy Source must mention the "
                  "source bucket and key: sourcebucket/sourcekey");
    return;
  }
  int rc = meta_object_get_latest(r->c->meta, src_bucket, src_key, &op->src);
  int self = strcmp(src_bucket, r->bucket) == 0 && strcmp(src_key, r->key) == 0;
  free(src_key);
  if (rc != 0) {
    struct meta_bucket b;
    s3_send_error(r,
                  rc != CAIRN_ENOENT ? "InternalError"
                  : meta_bucket_get(r->c->meta, src_bucket, &b) == CAIRN_ENOENT
                      ? "NoSuchBucket"
                      : "NoSuchKey",
                  NULL);
    return;
  }
  if (s3_check_conditions(r, &op->src, "x-amz-copy-source-") != 0) {
    s3_send_error(r, "PreconditionFailed", NULL);
    return;
  }
  const char *directive = s3_header(r, "x-amz-metadata-directive");
  if (directive && strcasecmp(directive, "REPLACE") != 0 &&
      strcasecmp(directive, "COPY") != 0) {
    s3_send_error(r, "InvalidArgument", "Unknown metadata directive.");
    return;
  }
  op->replace =
      !part_number && directive && strcasecmp(directive, "REPLACE") == 0;
  if (op->replace) {
    const char *error = s3_attrs_from_request(r, &op->attrs);
    if (error) {
      s3_send_error(r, error, NULL);
      return;
    }
  }
  op->from = 0;
  op->length = op->src.size;
  const char *range = s3_header(r, "x-amz-copy-source-range");
  if (part_number && range) {
    unsigned long long a, b;
    char tail;
    /* Malformed is 400 InvalidArgument (as AWS); well-formed but outside
     * the source is 416 InvalidRange. */
    if (strncmp(range, "bytes=", 6) != 0 ||
        !(range[6] >= '0' && range[6] <= '9') || !strchr(range, '-') ||
        !(strchr(range, '-')[1] >= '0' && strchr(range, '-')[1] <= '9') ||
        sscanf(range, "bytes=%llu-%llu%c", &a, &b, &tail) != 2 || b < a) {
      s3_send_error(r, "InvalidArgument",
                    "The x-amz-copy-source-range value must be of the form "
                    "bytes=first-last where first and last are the "
                    "zero-based offsets of the first and last bytes to copy");
      return;
    }
    if (b >= op->src.size) {
      s3_send_error(r, "InvalidRange", NULL);
      return;
    }
    op->from = a;
    op->length = b - a + 1;
  }
  if (op->length > MAX_COPY_SIZE) {
    s3_send_error(r, "InvalidRequest",
                  "The specified copy source is larger "
                  "than the maximum allowable size for a copy source: "
                  "5368709120");
    return;
  }
  rc = s3_sse_open(r, &op->src.attrs, &op->src_key);
  if (rc != 0) {
    s3_send_cairn_error(r, rc);
    return;
  }
  if (self && !part_number) {
    if (!op->replace) {
      s3_send_error(r, "InvalidRequest",
                    "This copy request is illegal because it is trying to "
                    "copy an object to itself without changing the object's "
                    "metadata, storage class, website redirect location or "
                    "encryption attributes.");
      return;
    }
    /* New metadata over the same chunks: no byte moves, so the chunks keep
     * the source's data key. */
    op->dst_key = op->src_key;
    commit(op, op->src.etag, op->src.chunks, op->src.n_chunks, 0);
    return;
  }
  rc = upload ? s3_sse_open(r, &upload->attrs, &op->dst_key)
              : s3_sse_new(r, &op->dst_key);
  if (rc != 0) {
    s3_send_cairn_error(r, rc);
    return;
  }
  op->md5 = crypto_hash_new(CRYPTO_HASH_MD5);
  if (!op->md5) {
    s3_send_cairn_error(r, CAIRN_ENOMEM);
    return;
  }
  rc = s3_writer_plan(r, op->length, &op->layout, &op->chunk_ids);
  if (rc != 0) {
    s3_send_cairn_error(r, rc);
    return;
  }
  /* The writer's window is a share of the PUT budget, as an upload's: 256
   * copies at once held 4 MiB windows each. */
  const uint8_t *key = s3_sse_data_key(&op->dst_key);
  struct object_writer_plan plan =
      s3_put_budget_join(r->c, &op->budget, op->length, key != NULL);
  op->wc = (struct object_writer_config){.window = plan.window,
                                         .digest = copy_digest,
                                         .pause = writer_pause,
                                         .resume = writer_resume,
                                         .done = on_writer_done,
                                         .data_key = key,
                                         .arg = op};
  r->sink.abort = copy_abort;
  op->budget.admitted = copy_admitted;
  if (op->layout.kind == META_LAYOUT_EC && op->length > 0 &&
      s3_put_budget_stripes(
          r->c, &op->budget,
          object_writer_ec_held(op->layout, (uint64_t)r->c->config.chunk_size,
                                op->length, key != NULL)))
    return; /* copy_admitted starts it */
  copy_begin(op);
}

void s3_copy_object(struct s3_request *r) {
  struct meta_bucket b;
  if (s3_bucket_find(r, &b) != 0)
    return;
  /* A copy gets a new ACL from its own request (AWS never copies one). */
  char msg[ACL_MSG_MAX];
  const char *error = s3_acl_new_object(r, msg, sizeof msg);
  if (error) {
    s3_send_error(r, error, msg[0] ? msg : NULL);
    return;
  }
  start_copy(r, 0, NULL, NULL);
}

void s3_upload_part_copy(struct s3_request *r) {
  const char *part_text = s3_query(r, "partNumber");
  const char *upload_id = s3_query(r, "uploadId");
  char *end = NULL;
  long part = part_text ? strtol(part_text, &end, 10) : 0;
  if (!part_text || *end || part < 1 || part > 10000) {
    s3_send_error(r, "InvalidArgument",
                  "Part number must be an integer "
                  "between 1 and 10000, inclusive");
    return;
  }
  struct meta_upload u;
  if (!upload_id ||
      meta_upload_get(r->c->meta, r->bucket, r->key, upload_id, &u) != 0) {
    s3_send_error(r, "NoSuchUpload", NULL);
    return;
  }
  start_copy(r, (uint32_t)part, upload_id, &u);
  meta_upload_free(&u);
}

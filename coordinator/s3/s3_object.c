/*
 * s3_object.c - PutObject (and the part streams of UploadPart), with what
 * the object operations share: the stored headers and the write intents.
 * GetObject / HeadObject are in s3_get.c, DeleteObject(s) in s3_delete.c.
 *
 * PUT:  head --checks--> INTENT (body paused; the chunks' write intents in
 *         the group-commit writer) --synced--> STREAMING (bytes read
 *         into object_writer's pieces; MD5 and checksum on its worker
 *         threads via put_digest, inline for bodies up to 16 KiB)
 *         --body end + writer done--> verify digests --> meta put
 *         (group-commit batch) --> 200 ETag.  Any failure: the chunks
 *         written so far go to the garbage table; the client gets the
 *         error.
 *
 * Invariants: an object becomes visible only through meta_object_put, after
 * every chunk is fsync'd on its nodes and every integrity check passed; no
 * byte goes to a node before the write intents of its chunks are synced.
 */
#include "auth.h"
#include "buf_pool.h"
#include "checksum.h"
#include "coordinator.h"
#include "crypto.h"
#include "error.h"
#include "http_server.h"
#include "layout.h"
#include "log.h"
#include "meta.h"
#include "object_writer.h"
#include "registry.h"
#include "s3_auth.h"
#include "s3_body.h"
#include "s3_ops.h"
#include "s3_put_budget.h"
#include "s3_sse.h"

#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PUT_SIZE (5ULL << 30) /* AWS: 5 GiB in one PUT */
#define USER_META_MAX 2048        /* AWS: 2 KB of x-amz-meta-* */

/* ---- stored headers ------------------------------------------------------ */

const struct s3_stored_header s3_stored_headers[S3_N_STORED] = {
    {"content-type", "Content-Type", "response-content-type",
     offsetof(struct meta_object_attrs, content_type)},
    {"content-encoding", "Content-Encoding", "response-content-encoding",
     offsetof(struct meta_object_attrs, content_encoding)},
    {"content-disposition", "Content-Disposition",
     "response-content-disposition",
     offsetof(struct meta_object_attrs, content_disposition)},
    {"content-language", "Content-Language", "response-content-language",
     offsetof(struct meta_object_attrs, content_language)},
    {"cache-control", "Cache-Control", "response-cache-control",
     offsetof(struct meta_object_attrs, cache_control)},
    {"expires", "Expires", "response-expires",
     offsetof(struct meta_object_attrs, expires)},
};

const char **s3_stored_field(struct meta_object_attrs *a, size_t i) {
  return (const char **)((char *)a + s3_stored_headers[i].offset);
}

/* Fills attrs from the request (pointers into the request's headers,
 * valid for the request's life). NULL, or the S3 error. */
const char *s3_attrs_from_request(struct s3_request *r,
                                  struct meta_object_attrs *a) {
  memset(a, 0, sizeof *a);
  a->acl = r->new_acl; /* from s3_acl_new_object, when it ran */
  for (size_t i = 0; i < S3_N_STORED; i++)
    *s3_stored_field(a, i) = s3_header(r, s3_stored_headers[i].header);
  /* aws-chunked is a transfer detail, not the object's encoding: drop that
   * token from the list ("gzip, aws-chunked" is stored as "gzip"). */
  if (a->content_encoding && strcasestr(a->content_encoding, "aws-chunked")) {
    char *out = r->encoding_buf;
    size_t used = 0;
    const char *p = a->content_encoding;
    while (*p) {
      while (*p == ' ' || *p == ',')
        p++;
      size_t n = strcspn(p, ",");
      size_t t = n;
      while (t > 0 && p[t - 1] == ' ')
        t--;
      if (t && !(t == 11 && strncasecmp(p, "aws-chunked", 11) == 0) &&
          used + t + 3 < sizeof r->encoding_buf) {
        if (used)
          used += (size_t)snprintf(out + used, 3, ", ");
        memcpy(out + used, p, t);
        used += t;
      }
      p += n;
    }
    out[used] = '\0';
    a->content_encoding = used ? out : NULL;
  }
  const struct http_header *h;
  size_t n = http_request_headers(r->http, &h), meta_bytes = 0, count = 0;
  for (size_t i = 0; i < n; i++)
    if (strncmp(h[i].name, "x-amz-meta-", 11) == 0)
      count++;
  if (count) {
    a->user_meta = calloc(count, sizeof *a->user_meta);
    if (!a->user_meta)
      return "InternalError";
    for (size_t i = 0; i < n; i++)
      if (strncmp(h[i].name, "x-amz-meta-", 11) == 0) {
        meta_bytes += strlen(h[i].name) - 11 + strlen(h[i].value);
        a->user_meta[a->n_user_meta++] =
            (struct meta_header){h[i].name, h[i].value};
      }
  }
  if (meta_bytes > USER_META_MAX)
    return "MetadataTooLarge";
  return NULL;
}

/* ---- write intents ------------------------------------------------------ */

size_t s3_nodes_up(struct s3_request *r) {
  struct cluster_node_view views[256];
  size_t n = cluster_nodes_snapshot(r->c->cluster, views, 256), up = 0;
  for (size_t i = 0; i < n && i < 256; i++)
    up += views[i].up ? 1 : 0;
  return up;
}

/* The layout of a new upload of `size` bytes into the request's bucket:
 * the bucket's (or the cluster default), replicated instead when the
 * object is below --ec-min-size (a stripe of tiny fragments costs k + m
 * files and fsyncs for no saving) - with m + 1 copies, so a small object
 * survives as many lost nodes as the layout promises. */
static int choose_layout(struct s3_request *r, uint64_t size,
                         struct meta_layout *out) {
  const struct s3_bucket_access *a = s3_bucket_access(r);
  if (!a)
    return CAIRN_ENOMEM;
  if (!a->exists)
    return CAIRN_ENOENT;
  const struct meta_bucket *b = &a->bucket;
  *out = b->default_layout.kind ? b->default_layout : r->c->default_layout;
  if (out->kind == META_LAYOUT_EC && size < (uint64_t)r->c->config.ec_min_size)
    *out = (struct meta_layout){META_LAYOUT_REPLICA, (uint8_t)(out->parity + 1),
                                0};
  /* Refused before any byte moves when too few nodes are up to meet the
   * write quorum (every copy; k + 1 fragments of EC). */
  if (s3_nodes_up(r) < object_writer_quorum(*out))
    return CAIRN_EUNAVAIL;
  return 0;
}

/* How many chunks a size-byte upload is cut into (at most 5 GiB in chunks
 * of at least 64 KiB: the count fits). */
static uint32_t chunks_of(const struct coordinator *c, uint64_t size) {
  uint64_t chunk = (uint64_t)c->config.chunk_size;
  return (uint32_t)((size + chunk - 1) / chunk);
}

/* The chunk ids of a size-byte upload (*ids malloc'd, NULL and *n 0 for
 * 0 bytes) and the due time of their write intents. */
static int choose_ids(struct s3_request *r, uint64_t size, uint8_t (**ids)[16],
                      uint32_t *n_ids, int64_t *intent_ms) {
  uint32_t n = chunks_of(r->c, size);
  *ids = NULL;
  *n_ids = 0;
  *intent_ms = 0;
  if (n == 0)
    return 0;
  *ids = malloc(n * sizeof **ids);
  if (!*ids)
    return CAIRN_ENOMEM;
  int rc = crypto_random(*ids, n * sizeof **ids);
  if (rc != 0) {
    free(*ids);
    *ids = NULL;
    return rc;
  }
  *n_ids = n;
  *intent_ms = coord_now_ms() + r->c->config.write_intent_grace_ms;
  return 0;
}

static int open_writer(struct s3_request *r, uint64_t size,
                       struct meta_layout layout, const uint8_t (*ids)[16],
                       const struct object_writer_config *cb,
                       struct object_writer **out) {
  struct object_writer_config wc = *cb;
  wc.cluster = r->c->cluster;
  wc.links = r->c->links;
  wc.cpu = r->c->cpu; /* hashing and sealing off the loop thread */
  memcpy(wc.pieces, r->c->put_pieces, sizeof wc.pieces);
  wc.replicas = (uint32_t)r->c->config.replicas;
  wc.layout = layout;
  wc.chunk_size = (uint64_t)r->c->config.chunk_size;
  wc.size = size;
  wc.chunk_ids = ids;
  return object_writer_new(&wc, out);
}

/* What every upload decides before a byte moves: its layout and its chunk
 * ids with their write-intent due time. */
static int plan_upload(struct s3_request *r, uint64_t size,
                       struct meta_layout *layout, uint8_t (**ids)[16],
                       uint32_t *n_ids, int64_t *intent_ms) {
  int rc = choose_layout(r, size, layout);
  return rc != 0 ? rc : choose_ids(r, size, ids, n_ids, intent_ms);
}

int s3_writer_plan(struct s3_request *r, uint64_t size,
                   struct meta_layout *layout, uint8_t (**ids)[16]) {
  uint32_t n;
  int64_t intent_ms;
  return plan_upload(r, size, layout, ids, &n, &intent_ms);
}

int s3_writer_begin(struct s3_request *r, uint64_t size,
                    struct meta_layout layout, const uint8_t (*ids)[16],
                    int64_t *intent_ms, const struct object_writer_config *cb,
                    struct object_writer **out) {
  uint32_t n = chunks_of(r->c, size);
  *intent_ms = n ? coord_now_ms() + r->c->config.write_intent_grace_ms : 0;
  if (n > 0) {
    int rc = meta_intent_add(r->c->meta, *intent_ms, ids, n,
                             layout_fragments(layout));
    if (rc != 0)
      return rc;
  }
  return open_writer(r, size, layout, ids, cb, out);
}

/* ---- PutObject ---------------------------------------------------------- */

struct put_op {
  struct s3_request *r;
  struct object_writer *w;
  struct crypto_hash *md5;
  /* A signed payload's x-amz-content-sha256 (boto3 and the AWS CLI over
   * http), hashed with the MD5 on the worker lane: on the loop, SHA-256
   * held every other request for ~0.6 ms per MiB. Checked before the
   * commit. */
  struct auth_payload_check payload;
  int has_payload;
  uint8_t content_md5[MD5_LEN];
  int has_content_md5;
  struct checksum sum;
  enum checksum_algorithm algorithm;
  const char *expected_checksum; /* header value, or NULL (trailer) */
  struct meta_object_attrs attrs;
  uint64_t size, received;
  int body_done, writer_done, writer_status;
  const char *error;    /* S3 error to answer once the writer is quiet */
  int abandoned;        /* client gone: answer nothing */
  uint32_t part_number; /* UploadPart: the part; 0 for PutObject */
  const char *upload_id;
  uint8_t (*chunk_ids)[16]; /* chosen before any byte moves */
  int64_t intent_ms;        /* their write intents, cleared at commit */
  struct meta_layout layout;
  /* The write intents are in the group-commit writer: the body is paused
   * and no writer exists yet; an abort only marks the op, the intent's
   * callback finishes it. */
  int intent_pending;
  struct object_writer_config wc;
  struct s3_sse_key sse; /* the object's (or upload's) data key */
  /* The metadata commit is in the group-commit writer: an abort then only
   * marks the op abandoned, the commit's callback finishes it. */
  int committing;
  char etag[2 * MD5_LEN + 3]; /* quoted, for the response */
  char checksum_value[CHECKSUM_B64_MAX];
  /* Its share of the PUT budget; waiting: erasure-coded, for the budget
   * to hold its stripes (body paused, no intent yet). */
  struct put_waiter budget;
};

static int put_send_intent(struct put_op *op);

/* An erasure-coded upload the budget now holds: its intents' grace starts
 * now, not when it began to wait. */
static void put_admitted(struct put_waiter *w) {
  struct put_op *op =
      (struct put_op *)((char *)w - offsetof(struct put_op, budget));
  op->intent_ms = coord_now_ms() + op->r->c->config.write_intent_grace_ms;
  int rc = put_send_intent(op);
  if (rc != 0)
    s3_send_cairn_error(op->r, rc);
}

/* When the last object stream ends, at most once a second: the heap's
 * free pages go back to the system. Buffers under the mmap threshold
 * (connections, one-block GET buffers, RocksDB's small allocations) leave
 * the heap fragmented after a burst, and what it keeps adds to the next
 * burst's peak (make bench: 307 MiB without this). */
void s3_trim_when_quiet(struct coordinator *c) {
  if (c->puts_active || c->gets_active)
    return;
  for (unsigned i = 0; i < OBJECT_WRITER_POOLS; i++)
    if (c->put_pieces[i])
      buf_pool_trim(c->put_pieces[i], S3_PUT_PIECES_QUIET);
  uint64_t now = uv_now(c->loop);
  if (now - c->trimmed_ms < 1000)
    return;
  c->trimmed_ms = now;
  malloc_trim(0);
}

static void put_free(void *p) {
  struct put_op *op = p;
  struct coordinator *c = op->r->c;
  s3_put_budget_leave(c, &op->budget);
  if (op->w)
    object_writer_free(op->w);
  crypto_hash_free(op->md5);
  if (op->has_payload)
    auth_payload_release(&op->payload);
  checksum_release(&op->sum);
  free(op->attrs.user_meta);
  free(op->chunk_ids);
  s3_sse_wipe(&op->sse);
  free(op);
  s3_trim_when_quiet(c);
}

static void put_pause(void *arg) {
  struct put_op *op = arg;
  if (op->r->http && !op->r->client_gone)
    http_request_pause_body(op->r->http);
}

static void put_resume(void *arg) {
  struct put_op *op = arg;
  if (op->r->http && !op->r->client_gone)
    http_request_resume_body(op->r->http);
}

/* Every chunk this upload wrote becomes garbage. */
static void put_discard_chunks(struct put_op *op) {
  uint32_t n;
  const struct meta_chunk *chunks = object_writer_chunks(op->w, &n);
  int rc = meta_gc_add(op->r->c->meta, chunks, n);
  if (rc != 0)
    log_error("s3", "cannot queue %u orphan chunks: %s", n, cairn_strerror(rc));
}

/* The answer once the metadata commit is done (rc 0) or failed. */
static void put_answer(struct put_op *op, int rc) {
  struct s3_request *r = op->r;
  if (rc != 0) {
    put_discard_chunks(op);
    if (op->abandoned)
      s3_request_end(r);
    else if (rc == CAIRN_ENOENT)
      s3_send_error(r, op->part_number ? "NoSuchUpload" : "NoSuchBucket", NULL);
    else
      s3_send_cairn_error(r, rc);
    return;
  }
  if (op->abandoned) { /* committed: the object stays, nobody to tell */
    s3_request_end(r);
    return;
  }
  struct http_header h[4];
  size_t n = 0;
  h[n++] = (struct http_header){"ETag", op->etag};
  if (op->sse.enabled)
    h[n++] = (struct http_header){S3_SSE_HEADER, S3_SSE_AES256};
  if (op->algorithm != CHECKSUM_NONE)
    h[n++] = (struct http_header){checksum_header(op->algorithm),
                                  op->checksum_value};
  s3_send(r, 200, h, n, NULL, NULL, 0);
}

static void put_committed(int status, void *arg) {
  struct put_op *op = arg;
  op->committing = 0;
  put_answer(op, status);
}

static void put_commit(struct put_op *op) {
  struct s3_request *r = op->r;
  uint8_t md5[MD5_LEN];
  char etag[2 * MD5_LEN + 1], checksum_value[CHECKSUM_B64_MAX] = "";
  if (op->has_payload) {
    op->has_payload = 0; /* finish releases it */
    enum auth_status status = auth_payload_finish(&op->payload);
    if (status != AUTH_OK) {
      put_discard_chunks(op);
      s3_send_error(r, auth_status_s3_code(status), NULL);
      return;
    }
  }
  crypto_hash_final(op->md5, md5);
  crypto_hex(md5, MD5_LEN, etag);
  if (op->has_content_md5 && memcmp(md5, op->content_md5, MD5_LEN) != 0) {
    put_discard_chunks(op);
    s3_send_error(r, "BadDigest", NULL);
    return;
  }
  if (op->algorithm != CHECKSUM_NONE) {
    checksum_final_base64(&op->sum, checksum_value);
    if (op->expected_checksum &&
        strcmp(op->expected_checksum, checksum_value) != 0) {
      put_discard_chunks(op);
      s3_send_error(r, "BadDigest", NULL);
      return;
    }
    op->attrs.checksum_algorithm = checksum_name(op->algorithm);
    op->attrs.checksum_value = checksum_value;
  }
  struct meta_object rec;
  memset(&rec, 0, sizeof rec);
  snprintf(rec.bucket, sizeof rec.bucket, "%s", r->bucket);
  snprintf(rec.key, sizeof rec.key, "%s", r->key);
  strcpy(rec.version_id, "null");
  rec.size = op->size;
  memcpy(rec.etag, etag, sizeof etag);
  rec.last_modified_ms = coord_now_ms();
  rec.attrs = op->attrs;
  rec.attrs.layout = object_writer_layout(op->w);
  s3_sse_attach(&op->sse, &rec.attrs);
  const struct meta_chunk *chunks = object_writer_chunks(op->w, &rec.n_chunks);
  rec.chunks = (struct meta_chunk *)chunks;
  int rc;
  if (op->part_number) {
    struct meta_part part = {
        .part_number = op->part_number,
        .size = op->size,
        .last_modified_ms = rec.last_modified_ms,
        .checksum_value =
            op->algorithm != CHECKSUM_NONE ? checksum_value : NULL,
        .n_chunks = rec.n_chunks,
        .chunks = rec.chunks,
        .intent_ms = op->intent_ms,
        .sealed_key = rec.attrs.sealed_key,
        .sealed_key_len = rec.attrs.sealed_key_len,
    };
    memcpy(part.etag, etag, sizeof etag);
    rc = meta_part_put(r->c->meta, r->bucket, r->key, op->upload_id, &part);
  } else {
    rec.intent_ms = op->intent_ms;
    rc = 0; /* committed below, asynchronously */
  }
  snprintf(op->etag, sizeof op->etag, "\"%s\"", etag);
  memcpy(op->checksum_value, checksum_value, sizeof op->checksum_value);
  if (rc == 0 && !op->part_number) {
    /* Group commit: the writer thread syncs many PUTs' batches at once and
     * the loop serves other requests meanwhile. */
    struct meta_batch *b = meta_batch_new();
    rc = b ? meta_batch_object_put(b, &rec) : CAIRN_ENOMEM;
    if (rc != 0) {
      meta_batch_free(b);
    } else {
      op->committing = 1;
      rc = meta_write_async(r->c->meta, b, put_committed, op);
      if (rc == 0)
        return;
      op->committing = 0;
    }
  }
  put_answer(op, rc);
}

/* Runs when both the body and the writer are finished. */
static void put_settle(struct put_op *op) {
  if (!op->writer_done || (!op->body_done && !op->error && !op->abandoned))
    return;
  struct s3_request *r = op->r;
  if (op->abandoned) {
    put_discard_chunks(op);
    s3_request_end(r);
  } else if (op->error) {
    put_discard_chunks(op);
    s3_send_error(r, op->error, NULL);
  } else if (op->writer_status != 0) {
    put_discard_chunks(op);
    s3_send_cairn_error(r, op->writer_status);
  } else {
    put_commit(op);
  }
}

static void put_writer_done(struct object_writer *w, int status, void *arg) {
  struct put_op *op = arg;
  (void)w;
  op->writer_done = 1;
  op->writer_status = status;
  put_settle(op);
}

/* The writer's digest: every body byte once, in order, on a cpu_pool
 * worker (or inline for a tiny body); op->md5 and op->sum are read only after
 * the writer is done. */
static void put_digest(void *arg, const void *data, size_t len) {
  struct put_op *op = arg;
  crypto_hash_update(op->md5, data, len);
  if (op->has_payload)
    auth_payload_update(&op->payload, data, len);
  if (op->algorithm != CHECKSUM_NONE)
    checksum_update(&op->sum, data, len);
}

static void put_data(struct s3_request *r, const char *data, size_t len) {
  struct put_op *op = r->op;
  if (op->error || op->writer_status)
    return;
  op->received += len;
  int rc = object_writer_write(op->w, data, len);
  if (rc == CAIRN_ETOOBIG) {
    op->error = "IncompleteBody"; /* more bytes than declared */
    object_writer_abort(op->w);
  } else if (rc != 0 && !op->writer_status) {
    op->writer_status = rc;
    object_writer_abort(op->w);
  }
}

/* The body is read straight into the writer's piece (one copy less). */
static char *put_buffer(struct s3_request *r, size_t *len) {
  struct put_op *op = r->op;
  if (op->error || op->writer_status || !op->w)
    return NULL;
  return object_writer_buffer(op->w, len);
}

/* Both end paths hand over to the writer, whose done callback settles the
 * request (possibly before they return: op may be gone then). */
static void put_end(struct s3_request *r) {
  struct put_op *op = r->op;
  op->body_done = 1;
  if (!op->error && !op->writer_status && op->received != op->size)
    op->error = "IncompleteBody";
  if (op->writer_done)
    put_settle(op);
  else if (op->error || op->writer_status)
    object_writer_abort(op->w);
  else
    object_writer_finish(op->w);
}

static void put_abort(struct s3_request *r, const char *code) {
  struct put_op *op = r->op;
  if (s3_put_budget_abort_waiting(r, &op->budget, code))
    return;                 /* nothing began: no intent, no writer */
  if (op->intent_pending) { /* the intent's callback answers, or ends r */
    if (code)
      op->error = code;
    else
      op->abandoned = 1;
    return;
  }
  if (op->committing) { /* the commit's callback answers, or ends r */
    if (!code)
      op->abandoned = 1;
    return;
  }
  if (code)
    op->error = code;
  else
    op->abandoned = 1;
  if (op->writer_done)
    put_settle(op);
  else
    object_writer_abort(op->w);
}

/* The write intents are durable (status 0): open the writer and let the
 * body flow. */
static void put_intent_done(int status, void *arg) {
  struct put_op *op = arg;
  struct s3_request *r = op->r;
  op->intent_pending = 0;
  if (op->abandoned) { /* no byte was sent: the intents expire harmlessly */
    s3_request_end(r);
    return;
  }
  if (status == 0 && op->error)
    status = CAIRN_EINVAL; /* answered with op->error below */
  if (status == 0)
    status = open_writer(r, op->size, op->layout,
                         (const uint8_t(*)[16])op->chunk_ids, &op->wc, &op->w);
  if (status != 0) {
    if (op->error)
      s3_send_error(r, op->error, NULL);
    else
      s3_send_cairn_error(r, status);
    return;
  }
  http_request_resume_body(r->http);
}

/* Chooses the layout and chunk ids, then records the write intents (or,
 * for an empty body, opens the writer now). An erasure-coded upload first
 * trades its replicated plan for its stripes (object_writer_ec_held) and
 * waits, its body paused, while the budget has no room for them: windows
 * and pieces bound replicated uploads, only waiting bounds these. */
static int put_start_writer(struct put_op *op) {
  struct s3_request *r = op->r;
  struct coordinator *c = r->c;
  uint32_t n = 0;
  int rc =
      plan_upload(r, op->size, &op->layout, &op->chunk_ids, &n, &op->intent_ms);
  if (rc != 0)
    return rc;
  if (n == 0)
    return open_writer(r, op->size, op->layout,
                       (const uint8_t(*)[16])op->chunk_ids, &op->wc, &op->w);
  if (op->layout.kind == META_LAYOUT_EC) {
    op->budget.admitted = put_admitted;
    if (s3_put_budget_stripes(
            c, &op->budget,
            object_writer_ec_held(op->layout, (uint64_t)c->config.chunk_size,
                                  op->size, op->wc.data_key != NULL))) {
      http_request_pause_body(r->http);
      return 0;
    }
  }
  return put_send_intent(op);
}

/* Records the write intents in the group-commit writer, the body paused
 * until they are synced; put_intent_done opens the writer. */
static int put_send_intent(struct put_op *op) {
  struct s3_request *r = op->r;
  uint32_t n = chunks_of(r->c, op->size);
  struct meta_batch *b = meta_batch_new();
  int rc = b ? meta_batch_intent_add(b, op->intent_ms,
                                     (const uint8_t(*)[16])op->chunk_ids, n,
                                     layout_fragments(op->layout))
             : CAIRN_ENOMEM;
  if (rc != 0) {
    meta_batch_free(b);
    return rc;
  }
  http_request_pause_body(r->http);
  op->intent_pending = 1;
  rc = meta_write_logged_async(r->c->meta, b, put_intent_done, op);
  if (rc != 0) {
    op->intent_pending = 0;
    http_request_resume_body(r->http);
  }
  return rc;
}

/* Starts streaming the body to the nodes: the object itself, or one part
 * of a multipart upload (part_number > 0). */
void s3_put_stream(struct s3_request *r, uint32_t part_number,
                   const char *upload_id, const struct meta_upload *upload) {
  int rc;
  long long size = s3_body_decoded_length(r->body);
  if (size < 0)
    size = http_request_content_length(r->http);
  if (size < 0) {
    s3_send_error(r, "MissingContentLength", NULL);
    return;
  }
  if ((unsigned long long)size > MAX_PUT_SIZE) {
    s3_send_error(r, "EntityTooLarge", NULL);
    return;
  }
  struct put_op *op = calloc(1, sizeof *op);
  if (!op) {
    s3_send_error(r, "InternalError", NULL);
    return;
  }
  op->r = r;
  op->size = (uint64_t)size;
  op->part_number = part_number;
  op->upload_id = upload_id;
  r->op = op;
  r->op_free = put_free;
  const char *error = s3_attrs_from_request(r, &op->attrs);
  if (error) {
    s3_send_error(r, error, NULL);
    return;
  }
  int has_md5 = s3_body_content_md5(r, op->content_md5);
  if (has_md5 < 0) {
    s3_send_error(r, "InvalidDigest", NULL);
    return;
  }
  op->has_content_md5 = has_md5;
  /* A checksum in a header, or announced for the trailer. */
  for (int a = CHECKSUM_CRC32; a <= CHECKSUM_SHA256; a++) {
    const char *v = s3_header(r, checksum_header((enum checksum_algorithm)a));
    if (v) {
      op->algorithm = (enum checksum_algorithm)a;
      op->expected_checksum = v;
    }
  }
  if (op->algorithm == CHECKSUM_NONE) {
    const char *trailer = s3_header(r, "x-amz-trailer");
    const char *declared = s3_header(r, "x-amz-sdk-checksum-algorithm");
    if (trailer && strrchr(trailer, '-'))
      op->algorithm = checksum_parse(strrchr(trailer, '-') + 1);
    else if (declared)
      op->algorithm = checksum_parse(declared);
  }
  /* A part of an upload created with a checksum algorithm carries that
   * checksum (the completion combines them): computed here when the
   * client sent none, refused when it names another algorithm. */
  enum checksum_algorithm want =
      upload ? checksum_parse(upload->attrs.checksum_algorithm) : CHECKSUM_NONE;
  if (want != CHECKSUM_NONE) {
    if (op->algorithm == CHECKSUM_NONE)
      op->algorithm = want;
    else if (op->algorithm != want) {
      s3_send_error(r, "InvalidRequest",
                    "The checksum algorithm of the part differs from the "
                    "one the multipart upload was created with");
      return;
    }
  }
  op->md5 = crypto_hash_new(CRYPTO_HASH_MD5);
  op->has_payload = s3_body_take_payload_hash(r->body, &op->payload);
  if (!op->md5 || (op->algorithm != CHECKSUM_NONE &&
                   checksum_init(&op->sum, op->algorithm) != 0)) {
    s3_send_error(r, "InternalError", NULL);
    return;
  }
  /* A part uses its upload's key; an old upload without one stays
   * plaintext so its parts agree at completion. */
  rc = part_number ? s3_sse_open(r, &upload->attrs, &op->sse)
                   : s3_sse_new(r, &op->sse);
  if (rc != 0) {
    s3_send_cairn_error(r, rc);
    return;
  }
  /* Bytes now wait for the worker threads as well as for the nodes: at
   * many connections each upload gets a share of the PUT budget, capped by
   * what the running ones left of it (at least two pieces), so memory
   * stays bounded. */
  struct object_writer_plan plan = s3_put_budget_join(
      r->c, &op->budget, op->size, s3_sse_data_key(&op->sse) != NULL);
  op->wc = (struct object_writer_config){.window = plan.window,
                                         .digest = put_digest,
                                         .pause = put_pause,
                                         .resume = put_resume,
                                         .done = put_writer_done,
                                         .data_key = s3_sse_data_key(&op->sse),
                                         .arg = op};
  rc = put_start_writer(op);
  if (rc != 0) {
    s3_send_cairn_error(r, rc);
    return;
  }
  r->sink.data = put_data;
  r->sink.buffer = put_buffer;
  r->sink.end = put_end;
  r->sink.abort = put_abort;
}

int s3_check_write_conditions(struct s3_request *r) {
  const char *if_match = s3_header(r, "if-match");
  const char *if_none = s3_header(r, "if-none-match");
  if (!if_match && !if_none)
    return 0;
  struct meta_object cur;
  memset(&cur, 0, sizeof cur);
  int rc = meta_object_get_latest(r->c->meta, r->bucket, r->key, &cur);
  int exists = rc == 0;
  int ok = 1;
  if (rc == 0 || rc == CAIRN_ENOENT) {
    if (if_none)
      ok = !(exists && (strcmp(if_none, "*") == 0 ||
                        s3_check_conditions(r, &cur, "") == 304));
    if (ok && if_match)
      ok = exists && s3_check_conditions(r, &cur, "") != 412;
  }
  meta_object_free(&cur);
  if (rc != 0 && rc != CAIRN_ENOENT) {
    s3_send_cairn_error(r, rc);
    return -1;
  }
  if (!ok) {
    s3_send_error(r, if_match && !exists ? "NoSuchKey" : "PreconditionFailed",
                  NULL);
    return -1;
  }
  return 0;
}

void s3_put_object(struct s3_request *r) {
  struct meta_bucket bucket;
  if (s3_bucket_find(r, &bucket) != 0)
    return;
  char msg[ACL_MSG_MAX];
  const char *error = s3_acl_new_object(r, msg, sizeof msg);
  if (error) {
    s3_send_error(r, error, msg[0] ? msg : NULL);
    return;
  }
  if (s3_check_write_conditions(r) != 0)
    return;
  s3_put_stream(r, 0, NULL, NULL);
}

/*
 * s3_object.c - PutObject, GetObject, HeadObject, DeleteObject and
 * DeleteObjects.
 *
 * PUT:  head --checks--> INTENT (body paused; the chunks' write intents in
 *         the group-commit writer) --synced--> STREAMING (bytes read
 *         into object_writer's pieces; MD5 and checksum on its worker
 *         threads via put_digest, inline for bodies up to 16 KiB)
 *         --body end + writer done--> verify digests --> meta put
 *         (group-commit batch) --> 200 ETag.  Any failure: the chunks
 *         written so far go to the garbage table; the client gets the
 *         error.
 * GET:  meta lookup --> conditions --> range --> headers --> object_reader
 *         streams chunks, pausing while the socket's queue is full.
 *
 * Invariants: an object becomes visible only through meta_object_put, after
 * every chunk is fsync'd on its nodes and every integrity check passed; no
 * byte goes to a node before the write intents of its chunks are synced.
 */
#include "auth.h"
#include "checksum.h"
#include "coordinator.h"
#include "crypto.h"
#include "error.h"
#include "http_server.h"
#include "log.h"
#include "meta.h"
#include "object_reader.h"
#include "buf_pool.h"
#include "chunk_cipher.h"
#include "layout.h"
#include "object_writer.h"
#include "registry.h"
#include "s3_body.h"
#include "s3_auth.h"
#include "s3_ops.h"
#include "s3_sse.h"
#include "xml_parse.h"

#include <ctype.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PUT_SIZE (5ULL << 30) /* AWS: 5 GiB in one PUT */
#define USER_META_MAX 2048        /* AWS: 2 KB of x-amz-meta-* */
#define GET_WINDOW (2u << 20)     /* response bytes queued before pause */
#define GET_BATCH S3_GET_BATCH    /* response bytes per write, at most */
/* The bytes all GETs (PUTs) may hold queued (in flight) together: each
 * gets budget / active, between its least and its full window. Measured
 * at 256 connections of 1 MiB objects: peak RSS 221 MiB (PUT) and 243 MiB
 * (GET) with full windows. */
#define GET_BUDGET (48u << 20)
#define GET_WINDOW_MIN (256u << 10)
#define PUT_BUDGET (48u << 20)

static size_t share(uint64_t budget, uint32_t active, uint64_t least,
                    uint64_t most) {
  uint64_t w = budget / (active ? active : 1);
  return (size_t)(w < least ? least : w > most ? most : w);
}

/* ---- stored headers ------------------------------------------------------ */

static const struct {
  const char *header;
  size_t offset;
} stored_headers[] = {
    {"content-type", offsetof(struct meta_object_attrs, content_type)},
    {"content-encoding", offsetof(struct meta_object_attrs, content_encoding)},
    {"content-disposition",
     offsetof(struct meta_object_attrs, content_disposition)},
    {"content-language", offsetof(struct meta_object_attrs, content_language)},
    {"cache-control", offsetof(struct meta_object_attrs, cache_control)},
    {"expires", offsetof(struct meta_object_attrs, expires)},
};
#define N_STORED (sizeof stored_headers / sizeof stored_headers[0])

static const char **attr_field(struct meta_object_attrs *a, size_t i) {
  return (const char **)((char *)a + stored_headers[i].offset);
}

/* Fills attrs from the request (pointers into the request's headers,
 * valid for the request's life). NULL, or the S3 error. */
const char *s3_attrs_from_request(struct s3_request *r,
                                  struct meta_object_attrs *a) {
  memset(a, 0, sizeof *a);
  a->acl = r->new_acl; /* from s3_acl_new_object, when it ran */
  for (size_t i = 0; i < N_STORED; i++)
    *attr_field(a, i) = s3_header(r, stored_headers[i].header);
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

/* The chunk ids of a size-byte upload (*ids malloc'd, NULL and *n 0 for
 * 0 bytes) and the due time of their write intents. */
static int choose_ids(struct s3_request *r, uint64_t size, uint8_t (**ids)[16],
                      uint32_t *n_ids, int64_t *intent_ms) {
  uint64_t chunk = (uint64_t)r->c->config.chunk_size;
  uint64_t n = (size + chunk - 1) / chunk;
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
  *n_ids = (uint32_t)n;
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
  wc.pieces = r->c->put_pieces;
  wc.small_pieces = r->c->put_small_pieces;
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

int s3_writer_start(struct s3_request *r, uint64_t size, uint8_t (**ids)[16],
                    int64_t *intent_ms, const struct object_writer_config *cb,
                    struct object_writer **out) {
  struct meta_layout layout;
  uint32_t n = 0;
  int rc = plan_upload(r, size, &layout, ids, &n, intent_ms);
  if (rc == 0 && n > 0) {
    rc = meta_intent_add(r->c->meta, *intent_ms, (const uint8_t(*)[16]) * ids,
                         n, layout_fragments(layout));
    if (rc != 0) {
      free(*ids);
      *ids = NULL;
    }
  }
  if (rc != 0)
    return rc;
  return open_writer(r, size, layout, (const uint8_t(*)[16]) * ids, cb, out);
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
  uint64_t held; /* its share of PUT_BUDGET in c->puts_held */
};

/* When the last object stream ends, at most once a second: the heap's
 * free pages go back to the system. Buffers under the mmap threshold
 * (connections, one-block GET buffers, RocksDB's small allocations) leave
 * the heap fragmented after a burst, and what it keeps adds to the next
 * burst's peak (make bench: 307 MiB without this). */
static void trim_when_quiet(struct coordinator *c) {
  if (c->puts_active || c->gets_active)
    return;
  if (c->put_pieces)
    buf_pool_trim(c->put_pieces, S3_PUT_PIECES_QUIET);
  if (c->put_small_pieces)
    buf_pool_trim(c->put_small_pieces, S3_PUT_PIECES_QUIET);
  uint64_t now = uv_now(c->loop);
  if (now - c->trimmed_ms < 1000)
    return;
  c->trimmed_ms = now;
  malloc_trim(0);
}

static void put_free(void *p) {
  struct put_op *op = p;
  struct coordinator *c = op->r->c;
  c->puts_active--;
  c->puts_held -= op->held;
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
  trim_when_quiet(c);
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

/* Records the write intents in the group-commit writer, the body paused
 * until they are synced (or, for an empty body, opens the writer now). */
static int put_start_writer(struct put_op *op) {
  struct s3_request *r = op->r;
  uint32_t n = 0;
  int rc =
      plan_upload(r, op->size, &op->layout, &op->chunk_ids, &n, &op->intent_ms);
  if (rc != 0)
    return rc;
  if (n == 0)
    return open_writer(r, op->size, op->layout,
                       (const uint8_t(*)[16])op->chunk_ids, &op->wc, &op->w);
  struct meta_batch *b = meta_batch_new();
  rc = b ? meta_batch_intent_add(b, op->intent_ms,
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
  r->c->puts_active++; /* until put_free */
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
  const char *content_md5 = s3_header(r, "content-md5");
  if (content_md5) {
    if (crypto_unbase64(content_md5, strlen(content_md5), op->content_md5,
                        MD5_LEN) != MD5_LEN) {
      s3_send_error(r, "InvalidDigest", NULL);
      return;
    }
    op->has_content_md5 = 1;
  }
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
   * many connections each upload gets a share of PUT_BUDGET, capped by
   * what the running ones left of it (at least two pieces), so memory
   * stays bounded. */
  struct object_writer_plan plan =
      object_writer_plan_share(PUT_BUDGET, r->c->puts_held, r->c->puts_active,
                               op->size, s3_sse_data_key(&op->sse) != NULL);
  op->held = plan.held_max;
  r->c->puts_held += op->held;
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

/* ---- GetObject / HeadObject --------------------------------------------- */

/* Response bytes go out in batches: the reader opens each sealed block
 * straight into the batch being gathered (no copy of the plaintext), and
 * the batch is written when it is full (GET_BATCH), when none of our
 * writes is on the socket, when the reader pauses or ends. So while one
 * write is in flight the blocks arriving meanwhile are gathered into the
 * next, and a 1 MiB GET takes a handful of writes (and wakeups of the
 * client) instead of one per 64 KiB block. Full-size batches come from
 * the coordinator's buffer pool (no page faults per batch).
 *
 * Invariants:
 *  1. queued = bytes gathered + bytes written but not yet confirmed; the
 *     reader is paused at queued >= window and resumed below window / 2.
 *  2. Whenever the reader is paused, or no write is in flight, nothing is
 *     left in the batch: a paused GET always has a write whose completion
 *     resumes it.
 *  3. After get_on_data returns, the batch (if any) has room for one more
 *     whole block: get_block_buffer never has to write. */
struct piece {
  struct get_op *op;
  struct buf_pool *pool; /* where it goes back, or NULL: free() */
  size_t len, cap;
  char data[];
};

struct get_op {
  struct s3_request *r;
  struct meta_object obj;
  struct s3_sse_key sse;
  struct object_reader *reader;
  size_t queued; /* see invariant 1 */
  int reader_paused, reader_done, reader_status, writes_pending;
  /* Inside one of our callbacks: a cancel there must not end (free) the
   * request under our feet; the outermost callback ends it on its way out. */
  int busy;
  struct piece *batch; /* bytes gathered, not yet written */
  uint64_t to_gather;  /* bytes of the body not yet gathered */
  size_t window;       /* queued bytes before pausing the reader */
};

static void piece_release(struct piece *p) {
  if (p && p->pool)
    buf_pool_put(p->pool, p);
  else
    free(p);
}

static void get_free(void *p) {
  struct get_op *op = p;
  struct coordinator *c = op->r->c;
  piece_release(op->batch);
  c->gets_held -= op->window;
  if (--c->gets_active == 0) /* quiet: the burst's buffers go back */
    for (int i = 0; i < 2; i++)
      if (c->get_buffers[i])
        buf_pool_trim(c->get_buffers[i], S3_GET_BUFFERS_QUIET);
  if (op->reader)
    object_reader_free(op->reader);
  meta_object_free(&op->obj);
  s3_sse_wipe(&op->sse);
  free(op);
  trim_when_quiet(c);
}

static void get_maybe_end(struct get_op *op) {
  if (op->busy || !op->reader_done || op->writes_pending)
    return;
  if (op->reader_status != 0) {
    /* Headers are out: only a cut connection tells the client. */
    log_error("s3", "[req=%s] GET %s/%s failed mid-stream: %s",
              op->r->http ? http_request_id(op->r->http) : "-", op->r->bucket,
              op->r->key, cairn_strerror(op->reader_status));
    if (op->r->http)
      http_response_abort(op->r->http);
  }
  s3_request_end(op->r);
}

/* A new batch for at least `need` bytes: GET_BATCH while the window
 * holds two of them, else one block (many GETs at once: a GET's buffers
 * then stay within its window and what one network piece adds past it),
 * or the rest of the body when that is smaller. Batches of more than
 * half that size (the tail of a 1 MiB body is 192 KiB) come from the
 * coordinator's pools, so that no large batch is a fresh mapping (128 KiB
 * and more: mmap, page faults, munmap) or grows the heap. */
static struct piece *batch_new(struct get_op *op, size_t need) {
  int small = op->window < 2 * GET_BATCH;
  size_t most = small ? S3_GET_SMALL_BATCH : GET_BATCH;
  size_t cap = op->to_gather < most ? (size_t)op->to_gather : most;
  if (cap < need)
    cap = need;
  struct buf_pool *pool = op->r->c->get_buffers[small];
  struct piece *p;
  if (pool && cap > most / 2 && cap <= most &&
      buf_pool_size(pool) >= sizeof *p + cap) {
    p = buf_pool_get(pool);
  } else {
    p = malloc(sizeof *p + cap);
    pool = NULL;
  }
  if (!p)
    return NULL;
  p->op = op;
  p->pool = pool;
  p->len = 0;
  p->cap = cap;
  return p;
}

static void piece_written(struct http_request *req, int status, void *arg);

/* Writes the batch, if it holds anything. A failed write stops the reader
 * (its done then ends the request). */
static void get_flush(struct get_op *op) {
  struct piece *p = op->batch;
  if (!p || p->len == 0)
    return;
  op->batch = NULL;
  op->writes_pending++;
  if (http_response_write(op->r->http, p->data, p->len, piece_written, p) !=
      0) {
    op->writes_pending--;
    op->queued -= p->len;
    piece_release(p);
    if (op->reader && !op->reader_done)
      object_reader_cancel(op->reader);
  }
}

static void piece_written(struct http_request *req, int status, void *arg) {
  (void)req;
  struct piece *p = arg;
  struct get_op *op = p->op;
  op->queued -= p->len;
  op->writes_pending--;
  piece_release(p);
  op->busy++;
  if (status != 0 && op->reader && !op->reader_done)
    object_reader_cancel(op->reader);
  else if (status == 0 && op->writes_pending == 0)
    get_flush(op); /* what arrived while this was in flight */
  if (op->reader_paused && op->queued < op->window / 2 && !op->reader_done) {
    op->reader_paused = 0;
    object_reader_resume(op->reader);
  }
  op->busy--;
  get_maybe_end(op);
}

/* Where the reader opens the next block: the free end of the batch. */
static void *get_block_buffer(size_t len, void *arg) {
  struct get_op *op = arg;
  if (!op->batch && !(op->batch = batch_new(op, len)))
    return NULL; /* the reader uses its own buffer; get_on_data copies */
  struct piece *p = op->batch;
  return p->cap - p->len >= len ? p->data + p->len : NULL;
}

static int gather(struct get_op *op, const void *data, size_t len);

static int get_on_data(const void *data, size_t len, void *arg) {
  struct get_op *op = arg;
  if (op->reader_done)
    return 0;
  op->busy++;
  int pause = gather(op, data, len);
  op->busy--;
  if (op->reader_done) {
    get_maybe_end(op); /* may free op */
    return 0;
  }
  return pause;
}

/* get_on_data's work: takes the bytes into the batch, writes it when due,
 * and answers whether the reader must pause. */
static int gather(struct get_op *op, const void *data, size_t len) {
  struct piece *p = op->batch;
  uintptr_t at = (uintptr_t)data, room = p ? (uintptr_t)(p->data + p->len) : 0;
  if (p && at >= room && at + len <= (uintptr_t)(p->data + p->cap)) {
    /* Opened in place; a range's first block starts `skip` bytes in. */
    if (at != room)
      memmove(p->data + p->len, data, len);
    p->len += len;
    op->queued += len;
    op->to_gather -= len;
  } else {
    /* Plaintext from the link, or a block the reader opened in its own
     * buffer: copied in. */
    const char *src = data;
    while (len > 0) {
      if (!op->batch && !(op->batch = batch_new(op, 1))) {
        op->reader_status = CAIRN_ENOMEM;
        object_reader_cancel(op->reader);
        return 0;
      }
      p = op->batch;
      size_t take = p->cap - p->len < len ? p->cap - p->len : len;
      memcpy(p->data + p->len, src, take);
      p->len += take;
      op->queued += take;
      op->to_gather -= take;
      src += take;
      len -= take;
      if (p->len == p->cap) {
        get_flush(op);
        if (op->reader_done)
          return 0; /* the write failed and stopped the reader */
      }
    }
  }
  p = op->batch;
  if (p && (p->cap - p->len < CHUNK_CIPHER_BLOCK || op->to_gather == 0 ||
            op->writes_pending == 0))
    get_flush(op); /* invariants 2 and 3 */
  if (op->reader_done)
    return 0;
  if (op->queued >= op->window) {
    get_flush(op);
    op->reader_paused = 1;
    return 1;
  }
  return 0;
}

static void get_reader_done(struct object_reader *rd, int status, void *arg) {
  struct get_op *op = arg;
  (void)rd;
  op->reader_done = 1;
  if (status != 0 && op->reader_status == 0)
    op->reader_status = status;
  if (op->reader_status == 0)
    get_flush(op); /* the last bytes */
  get_maybe_end(op);
}

static void get_abort(struct s3_request *r, const char *code) {
  (void)code;
  struct get_op *op = r->op;
  if (op->reader && !op->reader_done)
    object_reader_cancel(op->reader); /* get_reader_done ends r */
  else
    get_maybe_end(op);
}

static int etag_matches(const char *list, const char *etag) {
  /* A comma-separated list of quoted (or bare, or W/) tags, or "*". */
  for (const char *p = list; *p;) {
    while (*p == ' ' || *p == ',')
      p++;
    if (!*p)
      break;
    const char *end = p + strcspn(p, ",");
    const char *s = p, *e = end;
    while (e > s && e[-1] == ' ')
      e--;
    if (e - s >= 2 && s[0] == 'W' && s[1] == '/')
      s += 2;
    if (e - s >= 2 && *s == '"' && e[-1] == '"') {
      s++;
      e--;
    }
    if ((e - s == 1 && *s == '*') || ((size_t)(e - s) == strlen(etag) &&
                                      strncmp(s, etag, (size_t)(e - s)) == 0))
      return 1;
    p = end;
  }
  return 0;
}

int s3_check_conditions(struct s3_request *r, const struct meta_object *o,
                        const char *prefix) {
  /* prefix is "" or "x-amz-copy-source-": the names are spelled out,
   * not formatted (this runs for every GET and HEAD). */
  int copy = prefix[0] != '\0';
  const char *if_match =
      s3_header(r, copy ? "x-amz-copy-source-if-match" : "if-match");
  const char *if_none =
      s3_header(r, copy ? "x-amz-copy-source-if-none-match" : "if-none-match");
  const char *if_unmod =
      s3_header(r, copy ? "x-amz-copy-source-if-unmodified-since"
                        : "if-unmodified-since");
  const char *if_mod = s3_header(r, copy ? "x-amz-copy-source-if-modified-since"
                                         : "if-modified-since");
  int64_t modified = o->last_modified_ms / 1000 * 1000;
  if (if_match && !etag_matches(if_match, o->etag))
    return 412;
  if (!if_match && if_unmod) {
    int64_t t = s3_parse_http_date(if_unmod);
    if (t >= 0 && modified > t)
      return 412;
  }
  if (if_none && etag_matches(if_none, o->etag))
    return 304;
  if (!if_none && if_mod) {
    int64_t t = s3_parse_http_date(if_mod);
    if (t >= 0 && modified <= t)
      return 304;
  }
  return 0;
}

/* Parses "bytes=a-b" | "bytes=a-" | "bytes=-n". 1: a range in [*from,*to];
 * 0: no usable range (serve all); -1: unsatisfiable. */
static int parse_range(const char *h, uint64_t size, uint64_t *from,
                       uint64_t *to) {
  if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
    return 0;
  const char *p = h + 6, *dash = strchr(p, '-');
  if (!dash)
    return 0;
  char *end;
  if (dash == p) { /* suffix */
    unsigned long long n = strtoull(dash + 1, &end, 10);
    if (*end || end == dash + 1)
      return 0;
    if (n == 0 || size == 0)
      return -1;
    *from = n >= size ? 0 : size - n;
    *to = size - 1;
    return 1;
  }
  unsigned long long a = strtoull(p, &end, 10);
  if (end != dash)
    return 0;
  if (a >= size)
    return -1;
  *from = a;
  if (dash[1] == '\0') {
    *to = size - 1;
    return 1;
  }
  unsigned long long b = strtoull(dash + 1, &end, 10);
  if (*end || b < a)
    return 0;
  *to = b >= size ? size - 1 : b;
  return 1;
}

void s3_get_object(struct s3_request *r) {
  struct get_op *op = calloc(1, sizeof *op);
  if (!op) {
    s3_send_error(r, "InternalError", NULL);
    return;
  }
  r->c->gets_active++; /* until get_free */
  /* Capped by what the running GETs left of the budget: windows are fixed
   * here, and budget / active alone gave the first of 256 GETs arriving
   * together 2 MiB each. */
  uint64_t fair = GET_BUDGET / r->c->gets_active;
  uint64_t left =
      r->c->gets_held < GET_BUDGET ? GET_BUDGET - r->c->gets_held : 0;
  op->window = share(fair < left ? fair : left, 1, GET_WINDOW_MIN, GET_WINDOW);
  r->c->gets_held += op->window;
  if (op->window < 2 * GET_BATCH && r->c->get_buffers[0])
    /* Many GETs: their batches are one block now; the full-size ones
     * left idle by the GETs before would only add to the peak RSS. */
    buf_pool_trim(r->c->get_buffers[0], S3_GET_BUFFERS_QUIET);
  op->r = r;
  r->op = op;
  r->op_free = get_free;
  int rc = meta_object_get_latest(r->c->meta, r->bucket, r->key, &op->obj);
  if (rc == CAIRN_ENOENT) {
    /* As AWS: a caller that may not list the bucket learns nothing of
     * which keys exist (AccessDenied rather than NoSuchKey). */
    struct meta_bucket b;
    const char *code =
        meta_bucket_get(r->c->meta, r->bucket, &b) == CAIRN_ENOENT
            ? "NoSuchBucket"
        : s3_authorize_key(r, "s3:ListBucket", NULL, 0) ? "AccessDenied"
                                                        : "NoSuchKey";
    s3_send_error(r, code, NULL);
    return;
  }
  if (rc != 0) {
    s3_send_cairn_error(r, rc);
    return;
  }
  const struct meta_object *o = &op->obj;
  rc = s3_sse_open(r, &o->attrs, &op->sse);
  if (rc != 0) {
    s3_send_cairn_error(r, rc);
    return;
  }
  int is_head = strcmp(r->method, "HEAD") == 0;
  char etag[META_ETAG_MAX + 3], modified[64], length[32], range_text[96];
  snprintf(etag, sizeof etag, "\"%s\"", o->etag);
  s3_format_http_date(o->last_modified_ms, modified, sizeof modified);
  struct http_header h[40];
  size_t n = 0;
  h[n++] = (struct http_header){"ETag", etag};
  h[n++] = (struct http_header){"Last-Modified", modified};
  if (op->sse.enabled)
    h[n++] = (struct http_header){S3_SSE_HEADER, S3_SSE_AES256};

  int status = s3_check_conditions(r, o, "");
  if (status == 412) {
    s3_send_error(r, "PreconditionFailed", NULL);
    return;
  }
  if (status == 304) {
    s3_send(r, 304, h, n, NULL, NULL, 0);
    return;
  }
  uint64_t from = 0, to = o->size ? o->size - 1 : 0;
  int ranged;
  char parts_count[16];
  const char *part_text = s3_query(r, "partNumber");
  const struct meta_part_boundary *part_b = NULL;
  if (part_text) {
    /* GET ?partNumber=N: the bytes of part N (1 for a simple object). */
    char *end;
    long part = strtol(part_text, &end, 10);
    uint32_t count = o->n_parts ? o->n_parts : 1;
    if (*end || part < 1 || part > 10000) {
      s3_send_error(r, "InvalidArgument", "Invalid partNumber");
      return;
    }
    if ((uint32_t)part > count) {
      s3_send_error(r, "InvalidPartNumber", NULL);
      return;
    }
    if (o->n_parts) {
      part_b = &o->parts[part - 1];
      from = part_b->offset;
      to = part_b->size ? part_b->offset + part_b->size - 1 : part_b->offset;
    }
    snprintf(parts_count, sizeof parts_count, "%u", count);
    h[n++] = (struct http_header){"x-amz-mp-parts-count", parts_count};
    ranged = o->n_parts ? 1 : 0;
  } else {
    ranged = parse_range(s3_header(r, "range"), o->size, &from, &to);
  }
  if (ranged < 0) {
    snprintf(range_text, sizeof range_text, "bytes */%" PRIu64, o->size);
    s3_send_error(r, "InvalidRange", NULL);
    return;
  }
  uint64_t length_bytes = o->size ? to - from + 1 : 0;
  snprintf(length, sizeof length, "%" PRIu64, length_bytes);
  (void)length;
  h[n++] = (struct http_header){"Accept-Ranges", "bytes"};
  if (ranged) {
    snprintf(range_text, sizeof range_text,
             "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, from, to, o->size);
    h[n++] = (struct http_header){"Content-Range", range_text};
  }
  /* Stored headers, then response-content-* overrides (GET only). */
  static const char *const overrides[N_STORED] = {
      "response-content-type",        "response-content-encoding",
      "response-content-disposition", "response-content-language",
      "response-cache-control",       "response-expires"};
  static const char *const names[N_STORED] = {
      "Content-Type",     "Content-Encoding", "Content-Disposition",
      "Content-Language", "Cache-Control",    "Expires"};
  struct meta_object_attrs attrs = o->attrs;
  for (size_t i = 0; i < N_STORED; i++) {
    const char *v = s3_query(r, overrides[i]);
    if (!v)
      v = *attr_field(&attrs, i);
    if (i == 0 && !v)
      v = "binary/octet-stream";
    if (v)
      h[n++] = (struct http_header){names[i], v};
  }
  for (uint32_t i = 0; i < o->attrs.n_user_meta && n < 36; i++)
    h[n++] = (struct http_header){o->attrs.user_meta[i].name,
                                  o->attrs.user_meta[i].value};
  /* x-amz-checksum-mode: the checksum of what is returned, when it is a
   * whole object or a whole part. */
  const char *mode = s3_header(r, "x-amz-checksum-mode");
  const char *checksum = !part_b && !ranged ? o->attrs.checksum_value
                         : part_b && part_b->checksum[0] ? part_b->checksum
                                                         : NULL;
  if (mode && strcasecmp(mode, "ENABLED") == 0 && checksum &&
      o->attrs.checksum_algorithm) {
    h[n++] = (struct http_header){
        checksum_header(checksum_parse(o->attrs.checksum_algorithm)), checksum};
    h[n++] = (struct http_header){
        "x-amz-checksum-type", s3_checksum_type_name(o->attrs.checksum_type)};
  }

  if (s3_start_response(r, ranged ? 206 : 200, h, n, (int64_t)length_bytes) !=
      0) {
    s3_request_end(r);
    return;
  }
  if (is_head || length_bytes == 0) {
    s3_request_end(r);
    return;
  }
  r->sink.abort = get_abort; /* the client may vanish mid-stream */
  op->to_gather = length_bytes;
  struct object_reader_config rc_cfg = {
      .cluster = r->c->cluster,
      .links = r->c->links,
      .chunks = o->chunks,
      .n_chunks = o->n_chunks,
      .offset = from,
      .length = length_bytes,
      .data_key = s3_sse_data_key(&op->sse),
      .on_data = get_on_data,
      .block_buffer = get_block_buffer,
      .done = get_reader_done,
      .arg = op,
  };
  rc = object_reader_start(&rc_cfg, &op->reader);
  if (rc != 0) {
    op->reader_done = 1;
    op->reader_status = rc;
    get_maybe_end(op);
  }
}

/* ---- DeleteObject / DeleteObjects --------------------------------------- */

/* DeleteObject commits through the group-commit writer, like PutObject:
 * its synced write is shared with the other requests of the group and the
 * loop does not wait for it. A client gone meanwhile only marks the op;
 * the callback ends the request. */
struct delete_op {
  struct s3_request *r;
  int abandoned;
};

static void delete_free(void *p) {
  free(p);
}

static void delete_abort(struct s3_request *r, const char *code) {
  struct delete_op *op = r->op;
  (void)code; /* no body: only the client can go away */
  op->abandoned = 1;
}

static void delete_answer(struct s3_request *r, int rc) {
  if (rc == CAIRN_ENOENT) {
    struct meta_bucket b;
    if (meta_bucket_get(r->c->meta, r->bucket, &b) == CAIRN_ENOENT) {
      s3_send_error(r, "NoSuchBucket", NULL);
      return;
    }
    rc = 0; /* deleting a missing key succeeds, as in S3 */
  }
  if (rc != 0) {
    s3_send_cairn_error(r, rc);
    return;
  }
  s3_send(r, 204, NULL, 0, NULL, NULL, 0);
}

static void delete_done(int status, void *arg) {
  struct delete_op *op = arg;
  if (op->abandoned)
    s3_request_end(op->r);
  else
    delete_answer(op->r, status);
}

void s3_delete_object(struct s3_request *r) {
  struct delete_op *op = calloc(1, sizeof *op);
  struct meta_batch *b = op ? meta_batch_new() : NULL;
  int rc = b ? meta_batch_object_delete(b, r->bucket, r->key) : CAIRN_ENOMEM;
  if (rc != 0) {
    meta_batch_free(b);
    free(op);
    delete_answer(r, rc);
    return;
  }
  op->r = r;
  r->op = op;
  r->op_free = delete_free;
  r->sink.abort = delete_abort;
  rc = meta_write_async(r->c->meta, b, delete_done, op);
  if (rc != 0) {
    r->sink.abort = NULL;
    delete_answer(r, rc);
  }
}

/* DeleteObjects: each key is its own batch in the group-commit writer (a
 * missing or refused key must not undo the others), so up to 1000
 * deletions share a few synced writes and the loop never waits for one.
 * The answer goes out when the last one is done. */
struct delete_objects_op;
struct delete_key {
  struct delete_objects_op *op;
  const char *denied; /* the S3 code the key was refused with, or NULL */
  int status;         /* the deletion's result */
};
struct delete_objects_op {
  struct s3_request *r;
  struct s3_delete_objects doc;
  struct delete_key *keys; /* one per doc entry */
  size_t pending;          /* deletions still in the writer */
  int abandoned;           /* client gone: answer nothing */
};

static void delete_objects_free(void *p) {
  struct delete_objects_op *op = p;
  s3_delete_objects_release(&op->doc);
  free(op->keys);
  free(op);
}

static void delete_objects_abort(struct s3_request *r, const char *code) {
  struct delete_objects_op *op = r->op;
  (void)code; /* the body is in: only the client can go away */
  op->abandoned = 1;
}

static void delete_result_error(struct s3_xml *x, const char *key,
                                const char *code, const char *message) {
  s3_xml_open(x, "Error");
  s3_xml_text(x, "Key", key);
  s3_xml_text(x, "Code", code);
  s3_xml_text(x, "Message", message);
  s3_xml_close(x, "Error");
}

/* Every deletion is done: the DeleteResult, key by key in request order. */
static void delete_objects_answer(struct delete_objects_op *op) {
  struct s3_request *r = op->r;
  if (op->abandoned) {
    s3_request_end(r);
    return;
  }
  struct s3_xml x;
  s3_xml_init(&x, "DeleteResult");
  for (size_t i = 0; i < op->doc.count; i++) {
    const char *key = op->doc.entries[i].key;
    const struct delete_key *k = &op->keys[i];
    if (k->denied) {
      delete_result_error(&x, key, k->denied,
                          s3_error_message(s3_error_from_name(k->denied)));
    } else if (k->status == 0 || k->status == CAIRN_ENOENT) {
      if (!op->doc.quiet) {
        s3_xml_open(&x, "Deleted");
        s3_xml_text(&x, "Key", key);
        s3_xml_close(&x, "Deleted");
      }
    } else {
      delete_result_error(&x, key,
                          k->status == CAIRN_EINVAL ? "InvalidArgument"
                                                    : "InternalError",
                          cairn_strerror(k->status));
    }
  }
  s3_xml_close(&x, "DeleteResult");
  s3_send_xml(r, &x);
}

static void delete_key_done(int status, void *arg) {
  struct delete_key *k = arg;
  struct delete_objects_op *op = k->op;
  k->status = status;
  if (--op->pending == 0)
    delete_objects_answer(op); /* may free op: nothing after this */
}

static void delete_objects_body_done(struct s3_request *r) {
  const char *md5 = s3_header(r, "content-md5");
  if (md5) {
    uint8_t want[MD5_LEN], got[MD5_LEN];
    if (crypto_unbase64(md5, strlen(md5), want, MD5_LEN) != MD5_LEN) {
      s3_send_error(r, "InvalidDigest", NULL);
      return;
    }
    crypto_md5(r->collected, r->collected_len, got);
    if (memcmp(want, got, MD5_LEN) != 0) {
      s3_send_error(r, "BadDigest", NULL);
      return;
    }
  }
  struct delete_objects_op *op = calloc(1, sizeof *op);
  if (!op) {
    s3_send_error(r, "InternalError", NULL);
    return;
  }
  op->r = r;
  r->op = op;
  r->op_free = delete_objects_free;
  enum s3_error_code e = xml_parse_document(&xml_doc_delete_objects, &op->doc,
                                            r->collected, r->collected_len);
  for (size_t i = 0; e == S3_OK && i < op->doc.count; i++)
    if (op->doc.entries[i].key_len == 0)
      e = S3_ERR_MalformedXML; /* an object needs a name */
  struct meta_bucket b;
  if (e != S3_OK) {
    s3_send_error(r, s3_error_name(e), NULL);
    return;
  }
  if (meta_bucket_get(r->c->meta, r->bucket, &b) == CAIRN_ENOENT) {
    s3_send_error(r, "NoSuchBucket", NULL);
    return;
  }
  size_t n = op->doc.count;
  op->keys = calloc(n, sizeof *op->keys);
  if (!op->keys) {
    s3_send_error(r, "InternalError", NULL);
    return;
  }
  memset(&r->sink, 0, sizeof r->sink); /* the body is in */
  r->sink.abort = delete_objects_abort;
  for (size_t i = 0; i < n; i++) {
    struct delete_key *k = &op->keys[i];
    k->op = op;
    /* Each key is its own s3:DeleteObject on bucket/key. */
    k->denied = s3_authorize_key(r, "s3:DeleteObject", op->doc.entries[i].key,
                                 op->doc.entries[i].key_len);
    if (k->denied)
      continue;
    struct meta_batch *batch = meta_batch_new();
    k->status = batch ? meta_batch_object_delete(batch, r->bucket,
                                                 op->doc.entries[i].key)
                      : CAIRN_ENOMEM;
    if (k->status != 0) {
      meta_batch_free(batch);
      continue;
    }
    op->pending++;
    k->status = meta_write_async(r->c->meta, batch, delete_key_done, k);
    if (k->status != 0)
      op->pending--;
  }
  if (op->pending == 0)
    delete_objects_answer(op);
}

void s3_delete_objects(struct s3_request *r) {
  s3_collect_body(r, S3_XML_DELETE_MAX_BYTES, "MaxMessageLengthExceeded",
                  delete_objects_body_done);
}

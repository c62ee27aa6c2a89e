/*
 * s3_get.c - GetObject and HeadObject: meta lookup --> conditions -->
 * range --> headers --> object_reader streams the chunks, pausing while
 * the socket's queue is full.
 */
#include "buf_pool.h"
#include "checksum.h"
#include "chunk_cipher.h"
#include "coordinator.h"
#include "error.h"
#include "http_server.h"
#include "log.h"
#include "meta.h"
#include "object_reader.h"
#include "s3_auth.h"
#include "s3_ops.h"
#include "s3_sse.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define GET_WINDOW (2u << 20)  /* response bytes queued before pause */
#define GET_BATCH S3_GET_BATCH /* response bytes per write, at most */
/* The bytes all GETs may hold queued together: each gets budget / active,
 * between its least and its full window. Measured at 256 connections of
 * 1 MiB objects: peak RSS 243 MiB with full windows. */
#define GET_BUDGET (48u << 20)
#define GET_WINDOW_MIN (256u << 10)
/* GETs open their blocks on the workers only while the loop thread is
 * the bottleneck: it used at least this share (%) of a core over the last
 * GET_LOOP_SAMPLE_MS. Offloading costs more CPU in all (every block is
 * copied to staging, two hand-offs per job): on a 2-core machine, 1 MiB
 * GETs offloaded spent 5% more coordinator CPU per MiB (19% while another
 * load saturated the machine) for the same MiB/s, while the loop's own
 * share fell by 40%. */
#define GET_LOOP_BUSY 90
#define GET_LOOP_SAMPLE_MS 100

/* Whether the loop is the bottleneck now (GET_LOOP_BUSY). Its thread's
 * CPU time, not its idle time: a loop starved of CPU by other processes
 * looks busy to uv_metrics_idle_time, and offloading then only adds work
 * to a saturated machine. */
static int loop_busy(struct coordinator *c) {
  uint64_t now = uv_now(c->loop);
  if (now - c->loop_sampled_ms < GET_LOOP_SAMPLE_MS)
    return c->loop_busy;
  struct timespec ts;
  if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
    return 0;
  uint64_t cpu = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
  uint64_t wall_ns = (now - c->loop_sampled_ms) * 1000000u;
  c->loop_busy = c->loop_sampled_ms != 0 &&
                 (cpu - c->loop_cpu_ns) * 100 >= wall_ns * GET_LOOP_BUSY;
  c->loop_sampled_ms = now;
  c->loop_cpu_ns = cpu;
  return c->loop_busy;
}

static size_t share(uint64_t budget, uint32_t active, uint64_t least,
                    uint64_t most) {
  uint64_t w = budget / (active ? active : 1);
  return (size_t)(w < least ? least : w > most ? most : w);
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
 * When the reader opens blocks on the worker threads (a busy loop and a
 * large window: few GETs at once; object_reader.h), their plaintext is in
 * the reader's staging buffers, up to 256 KiB each: get_on_buffer writes each
 * one as it is (after the batch gathered before it) and gives it back
 * when written, so those bytes are never copied on the loop.
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
  /* A staging buffer taken over from the reader (get_on_buffer; then cap
   * is 0): its bytes are written from there and it goes back to the
   * reader's pool. NULL: the bytes are data[]. */
  void *lent;
  const char *bytes;
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
  if (p && p->lent)
    object_reader_buffer_put(p->op->r->c->get_staging, p->lent);
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
  if (op->reader) /* before the trim: its staging goes back too */
    object_reader_free(op->reader);
  if (--c->gets_active == 0) { /* quiet: the burst's buffers go back */
    for (int i = 0; i < 2; i++)
      if (c->get_buffers[i])
        buf_pool_trim(c->get_buffers[i], S3_GET_BUFFERS_QUIET);
    if (c->get_staging)
      buf_pool_trim(c->get_staging, S3_GET_BUFFERS_QUIET);
  }
  meta_object_free(&op->obj);
  s3_sse_wipe(&op->sse);
  free(op);
  s3_trim_when_quiet(c);
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
  p->lent = NULL;
  p->bytes = p->data;
  return p;
}

static void piece_written(struct http_request *req, int status, void *arg);

/* Writes p (its bytes are counted in queued). A failed write stops the
 * reader (its done then ends the request). */
static void write_piece(struct get_op *op, struct piece *p) {
  op->writes_pending++;
  if (http_response_write(op->r->http, p->bytes, p->len, piece_written, p) !=
      0) {
    op->writes_pending--;
    op->queued -= p->len;
    piece_release(p);
    if (op->reader && !op->reader_done)
      object_reader_cancel(op->reader);
  }
}

/* Writes the batch, if it holds anything. */
static void get_flush(struct get_op *op) {
  struct piece *p = op->batch;
  if (!p || p->len == 0)
    return;
  op->batch = NULL;
  write_piece(op, p);
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

/* Plaintext the workers opened in the reader's staging buffer: written
 * from there (no copy), after what was gathered before it. */
static int get_on_buffer(void *buf, const void *data, size_t len, void *arg) {
  struct get_op *op = arg;
  struct piece *p = op->reader_done ? NULL : malloc(sizeof *p);
  if (!p) {
    object_reader_buffer_put(op->r->c->get_staging, buf);
    if (!op->reader_done) {
      op->reader_status = CAIRN_ENOMEM;
      object_reader_cancel(op->reader);
    }
    return 0;
  }
  *p = (struct piece){.op = op, .len = len, .lent = buf, .bytes = data};
  op->busy++;
  get_flush(op);
  op->queued += len;
  op->to_gather -= len;
  if (!op->reader_done)
    write_piece(op, p);
  else
    piece_release(p); /* the batch's write failed and stopped the reader */
  int pause = 0;
  if (!op->reader_done && op->queued >= op->window) {
    op->reader_paused = 1;
    pause = 1;
  }
  op->busy--;
  if (op->reader_done) {
    get_maybe_end(op); /* may free op */
    return 0;
  }
  return pause;
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
  if (op->window < 2 * GET_BATCH) {
    /* Many GETs: their batches are one block now and they open blocks
     * inline; the full-size batches and staging buffers left idle by the
     * GETs before would only add to the peak RSS. */
    if (r->c->get_buffers[0])
      buf_pool_trim(r->c->get_buffers[0], S3_GET_BUFFERS_QUIET);
    if (r->c->get_staging)
      buf_pool_trim(r->c->get_staging, S3_GET_BUFFERS_QUIET);
  }
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
  struct meta_object_attrs attrs = o->attrs;
  for (size_t i = 0; i < S3_N_STORED; i++) {
    const char *v = s3_query(r, s3_stored_headers[i].override);
    if (!v)
      v = *s3_stored_field(&attrs, i);
    if (i == 0 && !v)
      v = "binary/octet-stream";
    if (v)
      h[n++] = (struct http_header){s3_stored_headers[i].response, v};
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
      /* Sealed blocks are opened by the workers while the loop is the
       * bottleneck and the GET's window is large; with many GETs (small
       * windows) inline as before, so that staging adds no memory. */
      .cpu = op->window >= 2 * GET_BATCH && loop_busy(r->c) ? r->c->cpu : NULL,
      .staging = r->c->get_staging,
      .staged_max = op->window >= GET_WINDOW ? 0 : 1,
      .on_buffer = get_on_buffer,
  };
  rc = object_reader_start(&rc_cfg, &op->reader);
  if (rc != 0) {
    op->reader_done = 1;
    op->reader_status = rc;
    get_maybe_end(op);
  }
}

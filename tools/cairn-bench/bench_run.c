/*
 * bench_run.c - the load generator's engine: --concurrency transfer slots
 * on one libcurl multi handle, refilled as each request completes.
 *
 * A run has three phases, each driven by run_phase():
 *
 *   PHASE_BUCKET --> PHASE_PREFILL --> PHASE_MEASURE
 *   (PUT /bucket;     (PUT keys 0..N-1;  (the scenario, until --duration
 *    skipped when      skipped when       or --ops; only this phase is
 *    --anonymous)      --existing)        reported)
 *
 * A slot is idle or carries one request. next_request() picks the work of
 * an idle slot; finish_request() accounts a completed one. An operation is
 * one request, except for multipart, where one upload is an operation of
 * several requests spread over the slots:
 *
 *   create (POST ?uploads) --> parts (PUT ?partNumber&uploadId, in
 *   parallel on any idle slots) --> complete (POST ?uploadId)
 *
 * Invariants:
 *   1. A slot's request owns its curl header list; nothing else does.
 *   2. Request bodies are read from run.body (filled once with random
 *      bytes) and never allocated per request.
 *   3. Once the phase's deadline or operation count is reached no new
 *      operation starts; the ones in flight (and the parts of started
 *      uploads) finish and are counted, so the span covers all of them.
 */
#include "bench_run.h"

#include "bench_sign.h"
#include "bench_xml.h"
#include "crypto.h"
#include "error.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define BODY_BUFFER_MAX (16u << 20) /* bodies larger wrap around it */
#define URL_MAX 8192
#define KEY_MAX (BENCH_PREFIX_MAX + 32)
#define TOKEN_MAX 1024 /* continuation tokens we follow */
#define UPLOAD_ID_MAX 512
#define ETAG_MAX 80
#define ERROR_BODY_MAX (8u << 10) /* enough for an S3 <Error> */
#define XML_BODY_MAX (16u << 20)  /* a ListObjectsV2 page of 1000 keys */
#define LIST_PAGE_KEYS 1000       /* S3's max-keys ceiling */
#define PROGRESS_TTY_US 1000000   /* a progress line every second... */
#define PROGRESS_LOG_US 5000000   /* ...or every 5 s when not a tty */
#define POLL_TIMEOUT_MS 100

enum phase { PHASE_BUCKET, PHASE_PREFILL, PHASE_MEASURE };

enum request_kind {
  REQUEST_BUCKET,
  REQUEST_PUT,
  REQUEST_GET,
  REQUEST_DELETE,
  REQUEST_LIST,
  REQUEST_UPLOAD_CREATE,
  REQUEST_UPLOAD_PART,
  REQUEST_UPLOAD_COMPLETE,
};

/* One multipart upload in progress (an operation of several requests). */
struct upload {
  int active, created, completing, failed;
  uint64_t key, size, started_us;
  unsigned parts, next_part, parts_done, in_flight;
  char upload_id[UPLOAD_ID_MAX];
  char (*etags)[ETAG_MAX]; /* parts entries, owned */
};

struct slot {
  struct run *run;
  CURL *easy;
  int busy;
  enum request_kind kind;
  struct curl_slist *headers; /* owned while busy */
  uint64_t key, started_us;
  uint64_t body_len, body_sent, body_start;
  char *post_body; /* complete's XML, owned while busy */
  char *response;  /* captured body, kept across requests */
  size_t response_len, response_cap, response_limit;
  uint64_t received;
  char etag[ETAG_MAX];
  struct upload *upload;
  unsigned part;
  /* list: this slot's walk over the prefix */
  char list_token[TOKEN_MAX];
  char url[URL_MAX];
};

struct run {
  const struct bench_options *o;
  struct sigv4_credentials credentials;
  CURLM *multi;
  struct slot *slots;
  struct upload *uploads;
  unsigned busy;
  uint8_t *body;
  size_t body_len;
  uint64_t rng;
  enum phase phase;
  struct bench_stats *stats; /* of the current phase */
  uint64_t started, ops_limit, deadline_us, phase_start_us, next_progress_us;
  uint32_t *delete_order; /* --keys random: a permutation of the prefill */
  int bucket_ready;
};

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* xorshift64*: key and size choices only, not security. */
static uint64_t rng_next(struct run *r) {
  r->rng ^= r->rng >> 12;
  r->rng ^= r->rng << 25;
  r->rng ^= r->rng >> 27;
  return r->rng * 0x2545F4914F6CDD1Dull;
}

static double rng_unit(struct run *r) {
  return (double)(rng_next(r) >> 11) / 9007199254740992.0; /* [0, 1) */
}

/* Log-uniform in [min, max]: as many small objects as large ones. */
static uint64_t object_size(struct run *r) {
  const struct bench_size_range *s = &r->o->size;
  if (s->min == s->max)
    return s->min;
  double lo = log((double)(s->min ? s->min : 1)), hi = log((double)s->max);
  uint64_t v = (uint64_t)exp(lo + rng_unit(r) * (hi - lo));
  return v < s->min ? s->min : v > s->max ? s->max : v;
}

static void key_name(const struct run *r, uint64_t key, char *out, size_t cap) {
  snprintf(out, cap, "%sobj-%010" PRIu64, r->o->prefix, key);
}

/* "/bucket" or "/bucket/encoded-key". */
static void object_path(const struct run *r, const uint64_t *key, char *out,
                        size_t cap) {
  int n = snprintf(out, cap, "/%s", r->o->bucket);
  if (!key || n < 0 || (size_t)n + 1 >= cap)
    return;
  char name[KEY_MAX];
  key_name(r, *key, name, sizeof name);
  out[n++] = '/';
  sigv4_uri_encode(name, strlen(name), 1, out + n, cap - (size_t)n);
}

/* --- curl callbacks ------------------------------------------------------ */

static size_t on_read(char *buf, size_t size, size_t nmemb, void *arg) {
  struct slot *s = arg;
  const struct run *r = s->run;
  size_t want = size * nmemb, done = 0;
  if (want > s->body_len - s->body_sent)
    want = (size_t)(s->body_len - s->body_sent);
  while (done < want) {
    size_t at = (size_t)((s->body_start + s->body_sent) % r->body_len);
    size_t n = r->body_len - at;
    if (n > want - done)
      n = want - done;
    memcpy(buf + done, r->body + at, n);
    done += n;
    s->body_sent += n;
  }
  return done;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *arg) {
  struct slot *s = arg;
  size_t n = size * nmemb;
  s->received += n;
  size_t limit = s->response_limit;
  if (limit == 0) { /* data GET: keep only an error's body */
    long status = 0;
    curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status < 300)
      return n;
    limit = ERROR_BODY_MAX;
  }
  size_t keep = s->response_len + n > limit ? limit - s->response_len : n;
  if (keep == 0)
    return n;
  if (s->response_len + keep > s->response_cap) {
    size_t cap = s->response_cap ? s->response_cap : 4096;
    while (cap < s->response_len + keep)
      cap *= 2;
    char *grown = realloc(s->response, cap);
    if (!grown)
      return 0; /* fails the transfer: counted as an error */
    s->response = grown;
    s->response_cap = cap;
  }
  memcpy(s->response + s->response_len, data, keep);
  s->response_len += keep;
  return n;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *arg) {
  struct slot *s = arg;
  size_t n = size * nmemb;
  if (n > 5 && strncasecmp(line, "etag:", 5) == 0) {
    const char *v = line + 5;
    size_t len = n - 5;
    while (len && (*v == ' ' || *v == '\t'))
      v++, len--;
    while (len &&
           (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
      len--;
    if (len < sizeof s->etag) {
      memcpy(s->etag, v, len);
      s->etag[len] = '\0';
    }
  }
  return n;
}

/* --- starting a request -------------------------------------------------- */

static int add_header(struct curl_slist **list, const char *name,
                      const char *value) {
  char line[BENCH_AUTHORIZATION_MAX + 64];
  snprintf(line, sizeof line, "%s:%s%s", name, *value ? " " : "", value);
  struct curl_slist *grown = curl_slist_append(*list, line);
  if (!grown)
    return CAIRN_ENOMEM;
  *list = grown;
  return 0;
}

/* Sends method path?query on slot s, signed unless --anonymous. The body
 * (body_len bytes from the random buffer, or post_body) is set up by the
 * caller through s->kind. */
static int send_request(struct run *r, struct slot *s, const char *method,
                        const char *path, const char *query) {
  const struct bench_options *o = r->o;
  int rc = 0;
  snprintf(s->url, sizeof s->url, "%s%s%s%s", o->endpoint, path,
           query ? "?" : "", query ? query : "");
  curl_easy_reset(s->easy);
  s->headers = NULL;
  if ((rc = add_header(&s->headers, "Host", o->host)) ||
      (rc = add_header(&s->headers, "Expect", "")) ||
      (rc = add_header(&s->headers, "Content-Type",
                       s->post_body ? "application/xml" : "")))
    return rc;
  if (!o->anonymous) {
    struct bench_signature sig;
    if ((rc = bench_sign(&r->credentials, o->host, method, path, query,
                         SIGV4_UNSIGNED_PAYLOAD, NULL, 0, time(NULL), &sig)))
      return rc;
    if ((rc = add_header(&s->headers, "x-amz-content-sha256",
                         SIGV4_UNSIGNED_PAYLOAD)) ||
        (rc = add_header(&s->headers, "x-amz-date", sig.amz_date)) ||
        (rc = add_header(&s->headers, "Authorization", sig.authorization)))
      return rc;
  }
  CURL *e = s->easy;
  curl_easy_setopt(e, CURLOPT_URL, s->url);
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->headers);
  curl_easy_setopt(e, CURLOPT_PRIVATE, s);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L); /* stuck for 60 s */
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
  if (strcmp(method, "PUT") == 0) {
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(e, CURLOPT_READDATA, s);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)s->body_len);
  } else if (strcmp(method, "POST") == 0) {
    const char *body = s->post_body ? s->post_body : "";
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
  } else if (strcmp(method, "GET") != 0) {
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
  }
  s->response_len = 0;
  s->received = 0;
  s->etag[0] = '\0';
  s->body_sent = 0;
  s->started_us = now_us();
  if (curl_multi_add_handle(r->multi, e) != CURLM_OK)
    return CAIRN_ENOMEM;
  s->busy = 1;
  r->busy++;
  return 0;
}

static int send_object_request(struct run *r, struct slot *s,
                               enum request_kind kind, uint64_t key) {
  static const char *const methods[] = {[REQUEST_PUT] = "PUT",
                                        [REQUEST_GET] = "GET",
                                        [REQUEST_DELETE] = "DELETE"};
  char path[URL_MAX / 2];
  s->kind = kind;
  s->key = key;
  s->response_limit = 0;
  if (kind == REQUEST_PUT) {
    s->body_len = object_size(r);
    s->body_start = rng_next(r) % r->body_len;
  }
  object_path(r, &key, path, sizeof path);
  return send_request(r, s, methods[kind], path, NULL);
}

static int send_list_page(struct run *r, struct slot *s) {
  char path[BENCH_BUCKET_MAX + 2], query[URL_MAX / 2];
  char prefix[3 * BENCH_PREFIX_MAX + 1], token[3 * TOKEN_MAX + 1];
  sigv4_uri_encode(r->o->prefix, strlen(r->o->prefix), 0, prefix,
                   sizeof prefix);
  int n = snprintf(query, sizeof query, "list-type=2&max-keys=%d&prefix=%s",
                   LIST_PAGE_KEYS, prefix);
  if (s->list_token[0] && n > 0 && (size_t)n < sizeof query) {
    sigv4_uri_encode(s->list_token, strlen(s->list_token), 0, token,
                     sizeof token);
    snprintf(query + n, sizeof query - (size_t)n, "&continuation-token=%s",
             token);
  }
  s->kind = REQUEST_LIST;
  s->response_limit = XML_BODY_MAX;
  object_path(r, NULL, path, sizeof path);
  return send_request(r, s, "GET", path, query);
}

static int send_upload_request(struct run *r, struct slot *s, struct upload *u,
                               enum request_kind kind) {
  char path[URL_MAX / 2], query[3 * UPLOAD_ID_MAX + 64];
  char id[3 * UPLOAD_ID_MAX + 1];
  const char *method = "POST";
  s->kind = kind;
  s->upload = u;
  s->key = u->key;
  s->response_limit = XML_BODY_MAX;
  sigv4_uri_encode(u->upload_id, strlen(u->upload_id), 0, id, sizeof id);
  object_path(r, &u->key, path, sizeof path);
  if (kind == REQUEST_UPLOAD_CREATE) {
    strcpy(query, "uploads");
  } else if (kind == REQUEST_UPLOAD_PART) {
    s->part = ++u->next_part;
    uint64_t offset = (uint64_t)(s->part - 1) * r->o->part_size;
    s->body_len =
        u->size - offset < r->o->part_size ? u->size - offset : r->o->part_size;
    s->body_start = rng_next(r) % r->body_len;
    snprintf(query, sizeof query, "partNumber=%u&uploadId=%s", s->part, id);
    method = "PUT";
    u->in_flight++;
    s->response_limit = ERROR_BODY_MAX;
  } else {
    snprintf(query, sizeof query, "uploadId=%s", id);
    size_t cap = 128 + (size_t)u->parts * (ETAG_MAX + 64);
    if (!(s->post_body = malloc(cap)))
      return CAIRN_ENOMEM;
    size_t n = (size_t)snprintf(s->post_body, cap, "<CompleteMultipartUpload>");
    for (unsigned i = 0; i < u->parts; i++)
      n += (size_t)snprintf(s->post_body + n, cap - n,
                            "<Part><PartNumber>%u</PartNumber><ETag>%s"
                            "</ETag></Part>",
                            i + 1, u->etags[i]);
    snprintf(s->post_body + n, cap - n, "</CompleteMultipartUpload>");
    u->completing = 1;
  }
  return send_request(r, s, method, path, query);
}

/* --- choosing the work --------------------------------------------------- */

/* A send's result as next_request() answers it: 1 sent, or the error. */
static int sent(int rc) {
  return rc ? rc : 1;
}

static int stopping(const struct run *r) {
  return (r->ops_limit && r->started >= r->ops_limit) ||
         (r->deadline_us && now_us() >= r->deadline_us);
}

/* A key among the prefill objects. */
static uint64_t existing_key(struct run *r) {
  if (r->o->keys == BENCH_KEYS_RANDOM)
    return rng_next(r) % r->o->prefill;
  return r->started % r->o->prefill;
}

/* Next request of a started upload (a part or the completion), else a new
 * upload while there is room and time. 1 sent, 0 nothing to do, < 0 error. */
static int next_upload_request(struct run *r, struct slot *s) {
  struct upload *free_upload = NULL;
  for (unsigned i = 0; i < r->o->concurrency; i++) {
    struct upload *u = &r->uploads[i];
    if (!u->active) {
      free_upload = free_upload ? free_upload : u;
      continue;
    }
    if (!u->created || u->failed || u->completing)
      continue;
    if (u->next_part < u->parts)
      return sent(send_upload_request(r, s, u, REQUEST_UPLOAD_PART));
    if (u->parts_done == u->parts)
      return sent(send_upload_request(r, s, u, REQUEST_UPLOAD_COMPLETE));
  }
  if (!free_upload || stopping(r))
    return 0;
  struct upload *u = free_upload;
  memset(u, 0, sizeof *u);
  u->active = 1;
  u->size = object_size(r);
  u->parts = (unsigned)((u->size + r->o->part_size - 1) / r->o->part_size);
  u->key = r->o->keys == BENCH_KEYS_RANDOM ? rng_next(r) >> 32 : r->started;
  if (!(u->etags = calloc(u->parts, sizeof *u->etags)))
    return CAIRN_ENOMEM;
  u->started_us = now_us();
  r->started++;
  return sent(send_upload_request(r, s, u, REQUEST_UPLOAD_CREATE));
}

static int next_measured_request(struct run *r, struct slot *s) {
  const struct bench_options *o = r->o;
  if (o->scenario == BENCH_MULTIPART)
    return next_upload_request(r, s);
  if (stopping(r))
    return 0;
  int rc = 0;
  switch (o->scenario) {
  case BENCH_PUT: {
    uint64_t key =
        o->keys == BENCH_KEYS_RANDOM ? rng_next(r) >> 32 : r->started;
    rc = send_object_request(r, s, REQUEST_PUT, key);
    break;
  }
  case BENCH_GET:
    rc = send_object_request(r, s, REQUEST_GET, existing_key(r));
    break;
  case BENCH_MIXED:
    rc = send_object_request(
        r, s, rng_unit(r) < o->get_ratio ? REQUEST_GET : REQUEST_PUT,
        existing_key(r));
    break;
  case BENCH_DELETE:
    rc = send_object_request(r, s, REQUEST_DELETE,
                             r->delete_order ? r->delete_order[r->started]
                                             : r->started);
    break;
  case BENCH_LIST: rc = send_list_page(r, s); break;
  case BENCH_MULTIPART: break; /* above */
  }
  r->started++;
  return rc ? rc : 1;
}

static int next_request(struct run *r, struct slot *s) {
  switch (r->phase) {
  case PHASE_BUCKET:
    if (r->started++)
      return 0;
    s->kind = REQUEST_BUCKET;
    s->response_limit = ERROR_BODY_MAX;
    char path[BENCH_BUCKET_MAX + 2];
    object_path(r, NULL, path, sizeof path);
    return sent(send_request(r, s, "PUT", path, NULL));
  case PHASE_PREFILL:
    if (r->started >= r->o->prefill)
      return 0;
    return sent(send_object_request(r, s, REQUEST_PUT, r->started++));
  case PHASE_MEASURE: return next_measured_request(r, s);
  }
  return 0;
}

/* --- accounting a completed request -------------------------------------- */

static void count_op(struct run *r, uint64_t started_us, int ok,
                     uint64_t bytes) {
  struct bench_stats *st = r->stats;
  st->ops++;
  if (ok) {
    bench_histogram_record(&st->latency_us, now_us() - started_us);
    st->bytes += bytes;
  }
}

static void finish_upload(struct run *r, struct slot *s, struct upload *u,
                          int ok) {
  if (!ok)
    u->failed = 1;
  if (u->in_flight || (!u->failed && s->kind != REQUEST_UPLOAD_COMPLETE))
    return;
  count_op(r, u->started_us, !u->failed, u->size);
  free(u->etags);
  memset(u, 0, sizeof *u);
}

/* 200 answers to CompleteMultipartUpload may still carry an <Error>. */
static int body_is_error(const struct slot *s) {
  return s->response_len &&
         bench_xml_count(s->response, s->response_len, "Error") > 0;
}

static void finish_request(struct run *r, struct slot *s, CURLcode result) {
  long status = 0;
  curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
  char code[BENCH_ERROR_CODE_LEN] = "";
  int ok = result == CURLE_OK && status >= 200 && status < 300;
  if (ok && s->kind == REQUEST_UPLOAD_COMPLETE && body_is_error(s))
    ok = 0;
  if (!ok && s->response_len)
    bench_xml_text(s->response, s->response_len, "Code", code, sizeof code);
  if (s->kind == REQUEST_BUCKET && !ok && status == 409 &&
      strcmp(code, "BucketAlreadyOwnedByYou") == 0)
    ok = 1;
  if (!ok)
    bench_errors_record(&r->stats->errors, result == CURLE_OK ? status : 0,
                        code, curl_easy_strerror(result));
  switch (s->kind) {
  case REQUEST_BUCKET: r->bucket_ready = ok; break;
  case REQUEST_PUT: count_op(r, s->started_us, ok, s->body_len); break;
  case REQUEST_GET: count_op(r, s->started_us, ok, s->received); break;
  case REQUEST_DELETE: count_op(r, s->started_us, ok, 0); break;
  case REQUEST_LIST: {
    char text[TOKEN_MAX];
    if (ok && bench_xml_text(s->response, s->response_len, "KeyCount", text,
                             sizeof text) == 0)
      r->stats->keys += strtoull(text, NULL, 10);
    else if (ok)
      r->stats->keys +=
          bench_xml_count(s->response, s->response_len, "Contents");
    int more = ok &&
               bench_xml_text(s->response, s->response_len, "IsTruncated", text,
                              sizeof text) == 0 &&
               strcmp(text, "true") == 0;
    if (!more ||
        bench_xml_text(s->response, s->response_len, "NextContinuationToken",
                       s->list_token, sizeof s->list_token))
      s->list_token[0] = '\0'; /* the walk starts over */
    count_op(r, s->started_us, ok, 0);
    break;
  }
  case REQUEST_UPLOAD_CREATE:
    if (ok &&
        bench_xml_text(s->response, s->response_len, "UploadId",
                       s->upload->upload_id, sizeof s->upload->upload_id) == 0)
      s->upload->created = 1;
    else if (ok)
      bench_errors_record(&r->stats->errors, status, "(no UploadId)", NULL);
    if (!s->upload->created)
      finish_upload(r, s, s->upload, 0);
    break;
  case REQUEST_UPLOAD_PART:
    s->upload->in_flight--;
    if (ok) {
      snprintf(s->upload->etags[s->part - 1], ETAG_MAX, "%s", s->etag);
      s->upload->parts_done++;
    }
    finish_upload(r, s, s->upload, ok);
    break;
  case REQUEST_UPLOAD_COMPLETE: finish_upload(r, s, s->upload, ok); break;
  }
}

static void release_request(struct run *r, struct slot *s) {
  curl_multi_remove_handle(r->multi, s->easy);
  curl_slist_free_all(s->headers);
  s->headers = NULL;
  free(s->post_body);
  s->post_body = NULL;
  s->upload = NULL;
  s->busy = 0;
  r->busy--;
}

/* --- the loop ------------------------------------------------------------ */

static void print_progress(struct run *r, int final) {
  uint64_t now = now_us();
  int tty = isatty(STDERR_FILENO);
  if (!final && now < r->next_progress_us)
    return;
  r->next_progress_us = now + (tty ? PROGRESS_TTY_US : PROGRESS_LOG_US);
  if (final && !tty)
    return;
  const struct bench_stats *st = r->stats;
  double secs = (double)(now - r->phase_start_us) / 1e6;
  const char *what = r->phase == PHASE_PREFILL
                         ? "prefill"
                         : bench_scenario_name(r->o->scenario);
  fprintf(stderr,
          "%s%s: %" PRIu64 " ops, %.0f ops/s, %.1f MiB/s, %" PRIu64 " errors%s",
          tty ? "\r\033[K" : "", what, st->ops,
          secs > 0 ? (double)st->ops / secs : 0.0,
          secs > 0 ? (double)st->bytes / secs / 1048576.0 : 0.0,
          st->errors.total, tty && !final ? "" : "\n");
}

static int fill_slots(struct run *r) {
  for (unsigned i = 0; i < r->o->concurrency; i++) {
    struct slot *s = &r->slots[i];
    if (s->busy)
      continue;
    int rc = next_request(r, s);
    if (rc < 0) {
      curl_slist_free_all(s->headers);
      s->headers = NULL;
      free(s->post_body);
      s->post_body = NULL;
      return rc;
    }
  }
  return 0;
}

/* Runs the current phase until no slot has work; 0 or CAIRN_E*. */
static int run_phase(struct run *r, struct bench_stats *stats) {
  r->stats = stats;
  r->started = 0;
  r->phase_start_us = r->next_progress_us = now_us();
  r->next_progress_us +=
      isatty(STDERR_FILENO) ? PROGRESS_TTY_US : PROGRESS_LOG_US;
  int rc = fill_slots(r);
  while (!rc && r->busy) {
    int running;
    curl_multi_perform(r->multi, &running);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(r->multi, &left))) {
      if (msg->msg != CURLMSG_DONE)
        continue;
      char *private = NULL;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &private);
      struct slot *s = (struct slot *)private;
      CURLcode result = msg->data.result;
      finish_request(r, s, result);
      release_request(r, s);
    }
    if ((rc = fill_slots(r)) || !r->busy)
      break;
    curl_multi_poll(r->multi, NULL, 0, POLL_TIMEOUT_MS, NULL);
    if (r->phase != PHASE_BUCKET)
      print_progress(r, 0);
  }
  stats->seconds = (double)(now_us() - r->phase_start_us) / 1e6;
  if (r->phase != PHASE_BUCKET && stats->seconds >= 1.0)
    print_progress(r, 1);
  return rc;
}

static void print_failures(const char *what, const struct bench_stats *st) {
  const struct bench_errors *e = &st->errors;
  fprintf(stderr, "cairn-bench: %s: %" PRIu64 " requests failed", what,
          e->total);
  for (int i = 0; i <= BENCH_HTTP_STATUS_MAX; i++)
    if (e->by_status[i])
      fprintf(stderr, ", HTTP %d x%" PRIu64, i, e->by_status[i]);
  for (size_t i = 0; i < e->code_count; i++)
    fprintf(stderr, ", %s x%" PRIu64, e->codes[i], e->code_totals[i]);
  if (e->transport)
    fprintf(stderr, ", no answer x%" PRIu64 " (%s)", e->transport,
            e->transport_last);
  fputc('\n', stderr);
}

static int setup(struct run *r, const struct bench_options *o) {
  r->o = o;
  r->credentials =
      (struct sigv4_credentials){o->access_key, o->secret_key, o->region, "s3"};
  r->rng = (uint64_t)now_us() | 1u;
  uint64_t largest = o->size.max;
  if (o->scenario == BENCH_MULTIPART && o->part_size < largest)
    largest = o->part_size;
  r->body_len = largest > BODY_BUFFER_MAX ? BODY_BUFFER_MAX
                : largest                 ? (size_t)largest
                                          : 1;
  if (!(r->body = malloc(r->body_len)) || crypto_random(r->body, r->body_len) ||
      !(r->slots = calloc(o->concurrency, sizeof *r->slots)) ||
      !(r->uploads = calloc(o->concurrency, sizeof *r->uploads)) ||
      !(r->multi = curl_multi_init()))
    return CAIRN_ENOMEM;
  curl_multi_setopt(r->multi, CURLMOPT_MAXCONNECTS, (long)o->concurrency);
  for (unsigned i = 0; i < o->concurrency; i++) {
    r->slots[i].run = r;
    if (!(r->slots[i].easy = curl_easy_init()))
      return CAIRN_ENOMEM;
  }
  if (o->scenario == BENCH_DELETE && o->keys == BENCH_KEYS_RANDOM) {
    if (!(r->delete_order = malloc(o->prefill * sizeof *r->delete_order)))
      return CAIRN_ENOMEM;
    for (uint64_t i = 0; i < o->prefill; i++)
      r->delete_order[i] = (uint32_t)i;
    for (uint64_t i = o->prefill - 1; i > 0; i--) { /* Fisher-Yates */
      uint64_t j = rng_next(r) % (i + 1);
      uint32_t t = r->delete_order[i];
      r->delete_order[i] = r->delete_order[j];
      r->delete_order[j] = t;
    }
  }
  return 0;
}

static void teardown(struct run *r) {
  for (unsigned i = 0; r->slots && i < r->o->concurrency; i++) {
    struct slot *s = &r->slots[i];
    if (s->busy)
      release_request(r, s);
    if (s->easy)
      curl_easy_cleanup(s->easy);
    free(s->response);
  }
  for (unsigned i = 0; r->uploads && i < r->o->concurrency; i++)
    free(r->uploads[i].etags);
  if (r->multi)
    curl_multi_cleanup(r->multi);
  free(r->slots);
  free(r->uploads);
  free(r->body);
  free(r->delete_order);
}

int bench_run(const struct bench_options *o, struct bench_stats *out) {
  struct run run = {0};
  struct bench_stats *setup_stats = calloc(1, sizeof *setup_stats);
  memset(out, 0, sizeof *out);
  int rc = setup_stats ? setup(&run, o) : CAIRN_ENOMEM;
  if (rc)
    goto done;
  if (!o->anonymous) {
    run.phase = PHASE_BUCKET;
    if ((rc = run_phase(&run, setup_stats)))
      goto done;
    if (!run.bucket_ready) {
      print_failures("creating the bucket", setup_stats);
      rc = CAIRN_EIO;
      goto done;
    }
  }
  int reads = o->scenario != BENCH_PUT && o->scenario != BENCH_MULTIPART;
  if (reads && !o->existing) {
    memset(setup_stats, 0, sizeof *setup_stats);
    run.phase = PHASE_PREFILL;
    if ((rc = run_phase(&run, setup_stats)))
      goto done;
    if (setup_stats->errors.total) {
      print_failures("prefill", setup_stats);
      rc = CAIRN_EIO;
      goto done;
    }
  }
  run.phase = PHASE_MEASURE;
  run.ops_limit = o->ops;
  if (o->scenario == BENCH_DELETE &&
      (!run.ops_limit || run.ops_limit > o->prefill))
    run.ops_limit = o->prefill; /* each object once */
  if (!o->ops)
    run.deadline_us = now_us() + (uint64_t)(o->duration_seconds * 1e6);
  rc = run_phase(&run, out);
done:
  if (rc == CAIRN_ENOMEM)
    fprintf(stderr, "cairn-bench: out of memory\n");
  teardown(&run);
  free(setup_stats);
  return rc;
}

/*
 * s3_multipart.c - CreateMultipartUpload, UploadPart, CompleteMultipartUpload,
 * AbortMultipartUpload, ListParts and ListMultipartUploads.
 *
 * A part streams to the nodes exactly like a PutObject (s3_put_stream) and
 * is recorded with its chunks; completion stitches the parts' chunks into
 * one object in a single metadata batch, so the object appears whole or not
 * at all, and unused parts become garbage.
 */
#include "checksum.h"
#include "coordinator.h"
#include "error.h"
#include "http_server.h"
#include "meta.h"
#include "s3_ops.h"
#include "s3_sse.h"
#include "s3_xml_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIN_PART_SIZE (5ULL << 20)   /* AWS: 5 MiB, except the last part */
#define MAX_PARTS 10000              /* AWS: part numbers 1..10,000 */
#define COMPLETE_BODY_MAX (4u << 20) /* 10,000 parts with their ETags */
#define LIST_MAX 1000

static int parse_number(const char *text, long min, long max, long *out) {
  if (!text || !*text)
    return -1;
  char *end;
  long v = strtol(text, &end, 10);
  if (*end || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

/* The upload named by ?uploadId= for this bucket/key; answers NoSuchUpload
 * (or NoSuchBucket) itself and returns non-zero when there is none. */
static int find_upload(struct s3_request *r, struct meta_upload *u) {
  const char *id = s3_query(r, "uploadId");
  int rc = id && strlen(id) <= META_UPLOAD_ID_LEN
               ? meta_upload_get(r->c->meta, r->bucket, r->key, id, u)
               : CAIRN_ENOENT;
  if (rc == 0)
    return 0;
  struct meta_bucket b;
  if (rc == CAIRN_ENOENT)
    s3_send_error(r,
                  meta_bucket_get(r->c->meta, r->bucket, &b) == CAIRN_ENOENT
                      ? "NoSuchBucket"
                      : "NoSuchUpload",
                  NULL);
  else
    s3_send_cairn_error(r, rc);
  return -1;
}

void s3_create_multipart_upload(struct s3_request *r) {
  struct meta_upload u;
  memset(&u, 0, sizeof u);
  snprintf(u.bucket, sizeof u.bucket, "%s", r->bucket);
  snprintf(u.key, sizeof u.key, "%s", r->key);
  static const char *const stored[] = {
      "content-type",     "content-encoding", "content-disposition",
      "content-language", "cache-control",    "expires"};
  const char **fields[] = {
      &u.attrs.content_type,        &u.attrs.content_encoding,
      &u.attrs.content_disposition, &u.attrs.content_language,
      &u.attrs.cache_control,       &u.attrs.expires};
  for (size_t i = 0; i < 6; i++)
    *fields[i] = s3_header(r, stored[i]);
  const struct http_header *h;
  size_t n = http_request_headers(r->http, &h), count = 0;
  struct meta_header user[64];
  for (size_t i = 0; i < n && count < 64; i++)
    if (strncmp(h[i].name, "x-amz-meta-", 11) == 0)
      user[count++] = (struct meta_header){h[i].name, h[i].value};
  u.attrs.user_meta = user;
  u.attrs.n_user_meta = (uint32_t)count;
  const char *algorithm = s3_header(r, "x-amz-checksum-algorithm");
  if (algorithm) {
    enum checksum_algorithm a = checksum_parse(algorithm);
    if (a == CHECKSUM_NONE) {
      s3_send_error(r, "InvalidArgument", "Unsupported checksum algorithm");
      return;
    }
    u.attrs.checksum_algorithm = checksum_name(a);
  }
  u.attrs.layout = (struct meta_layout){META_LAYOUT_REPLICA,
                                        (uint8_t)r->c->config.replicas, 0};
  u.initiated_ms = coord_now_ms();
  /* One data key for the whole upload: every part is sealed with it, and
   * the completed object inherits it with the upload's attrs. */
  struct s3_sse_key sse;
  int rc = s3_sse_new(r, &sse);
  if (rc != 0) {
    s3_send_cairn_error(r, rc);
    return;
  }
  s3_sse_attach(&sse, &u.attrs);
  rc = meta_upload_create(r->c->meta, &u);
  s3_sse_wipe(&sse);
  if (rc != 0) {
    if (rc == CAIRN_ENOENT)
      s3_send_error(r, "NoSuchBucket", NULL);
    else
      s3_send_cairn_error(r, rc);
    return;
  }
  struct s3_xml x;
  s3_xml_init(&x, "InitiateMultipartUploadResult");
  s3_xml_text(&x, "Bucket", r->bucket);
  s3_xml_text(&x, "Key", r->key);
  s3_xml_text(&x, "UploadId", u.upload_id);
  s3_xml_close(&x, "InitiateMultipartUploadResult");
  s3_send_xml_sse(r, &x, 1);
}

void s3_upload_part(struct s3_request *r) {
  long part;
  if (parse_number(s3_query(r, "partNumber"), 1, MAX_PARTS, &part) != 0) {
    s3_send_error(r, "InvalidArgument",
                  "Part number must be an integer between 1 and 10000, "
                  "inclusive");
    return;
  }
  struct meta_upload u;
  if (find_upload(r, &u) != 0)
    return;
  s3_put_stream(r, (uint32_t)part, s3_query(r, "uploadId"), &u);
  meta_upload_free(&u);
}

/* ---- CompleteMultipartUpload --------------------------------------------- */

struct complete_doc {
  struct meta_complete_part *parts;
  char (*etags)[META_ETAG_MAX + 3];
  uint32_t count;
  long number; /* of the Part being read, -1 if none */
  int bad;
};

static int complete_cb(const char *path, const char *text, void *arg) {
  struct complete_doc *d = arg;
  if (strcmp(path, "CompleteMultipartUpload/Part/PartNumber") == 0) {
    if (parse_number(text, 1, MAX_PARTS, &d->number) != 0)
      d->bad = 1;
  } else if (strcmp(path, "CompleteMultipartUpload/Part/ETag") == 0) {
    if (d->count == MAX_PARTS || strlen(text) > META_ETAG_MAX + 2)
      return d->bad = 1, 1;
    strcpy(d->etags[d->count], text);
  } else if (strcmp(path, "CompleteMultipartUpload/Part") == 0) {
    if (d->number < 1 || !d->etags[d->count][0])
      return d->bad = 1, 1;
    d->parts[d->count].part_number = (uint32_t)d->number;
    d->parts[d->count].etag = d->etags[d->count];
    d->count++;
    d->number = -1;
  }
  return 0;
}

static void complete_body_done(struct s3_request *r) {
  struct complete_doc d = {0};
  d.number = -1;
  d.parts = calloc(MAX_PARTS, sizeof *d.parts);
  d.etags = calloc(MAX_PARTS, sizeof *d.etags);
  if (!d.parts || !d.etags) {
    free(d.parts);
    free(d.etags);
    s3_send_error(r, "InternalError", NULL);
    return;
  }
  int rc = s3_xml_parse(r->collected, r->collected_len, complete_cb, &d);
  if (rc != 0 || d.bad || d.count == 0) {
    s3_send_error(r, "MalformedXML", NULL);
    goto done;
  }
  for (uint32_t i = 1; i < d.count; i++)
    if (d.parts[i].part_number <= d.parts[i - 1].part_number) {
      s3_send_error(r, "InvalidPartOrder", NULL); /* checked before sizes */
      goto done;
    }
  struct meta_object obj;
  memset(&obj, 0, sizeof obj);
  uint32_t bad_part = 0;
  rc = meta_upload_complete(r->c->meta, r->bucket, r->key,
                            s3_query(r, "uploadId"), d.parts, d.count,
                            MIN_PART_SIZE, coord_now_ms(), &obj, &bad_part);
  switch (rc) {
  case 0: {
    struct s3_xml x;
    char location[S3_KEY_MAX + 128];
    snprintf(location, sizeof location, "/%s/%s", r->bucket, r->key);
    s3_xml_init(&x, "CompleteMultipartUploadResult");
    s3_xml_text(&x, "Location", location);
    s3_xml_text(&x, "Bucket", r->bucket);
    s3_xml_text(&x, "Key", r->key);
    s3_xml_textf(&x, "ETag", "\"%s\"", obj.etag);
    s3_xml_close(&x, "CompleteMultipartUploadResult");
    int encrypted = obj.attrs.sealed_key != NULL;
    meta_object_free(&obj);
    s3_send_xml_sse(r, &x, encrypted);
    break;
  }
  case CAIRN_ENOENT: s3_send_error(r, "NoSuchUpload", NULL); break;
  case CAIRN_EINVAL: s3_send_error(r, "InvalidPart", NULL); break;
  case CAIRN_EPROTO: s3_send_error(r, "InvalidPartOrder", NULL); break;
  case CAIRN_ERANGE: s3_send_error(r, "EntityTooSmall", NULL); break;
  default: s3_send_cairn_error(r, rc);
  }
done:
  free(d.parts);
  free(d.etags);
}

void s3_complete_multipart_upload(struct s3_request *r) {
  struct meta_upload u;
  if (find_upload(r, &u) != 0)
    return;
  meta_upload_free(&u);
  s3_collect_body(r, COMPLETE_BODY_MAX, "MalformedXML", complete_body_done);
}

void s3_abort_multipart_upload(struct s3_request *r) {
  struct meta_upload u;
  if (find_upload(r, &u) != 0)
    return;
  meta_upload_free(&u);
  int rc =
      meta_upload_abort(r->c->meta, r->bucket, r->key, s3_query(r, "uploadId"));
  if (rc != 0 && rc != CAIRN_ENOENT) {
    s3_send_cairn_error(r, rc);
    return;
  }
  s3_send(r, 204, NULL, 0, NULL, NULL, 0);
}

/* ---- ListParts ------------------------------------------------------------
 */

struct parts_page {
  struct s3_xml *x;
  uint32_t last;
};

static int part_cb(const struct meta_part *p, void *arg) {
  struct parts_page *page = arg;
  char date[40];
  s3_format_iso8601(p->last_modified_ms, date, sizeof date);
  s3_xml_open(page->x, "Part");
  s3_xml_textf(page->x, "PartNumber", "%u", p->part_number);
  s3_xml_text(page->x, "LastModified", date);
  s3_xml_textf(page->x, "ETag", "\"%s\"", p->etag);
  s3_xml_textf(page->x, "Size", "%llu", (unsigned long long)p->size);
  s3_xml_close(page->x, "Part");
  page->last = p->part_number;
  return 0;
}

void s3_list_parts(struct s3_request *r) {
  long marker = 0, max = LIST_MAX;
  if ((s3_query(r, "part-number-marker") &&
       parse_number(s3_query(r, "part-number-marker"), 0, MAX_PARTS, &marker) !=
           0) ||
      (s3_query(r, "max-parts") &&
       parse_number(s3_query(r, "max-parts"), 0, 1 << 30, &max) != 0)) {
    s3_send_error(r, "InvalidArgument", NULL);
    return;
  }
  if (max > LIST_MAX)
    max = LIST_MAX;
  struct meta_upload u;
  if (find_upload(r, &u) != 0)
    return;
  struct s3_xml x, body = {0};
  struct parts_page page = {&body, (uint32_t)marker};
  bool truncated = false;
  int rc = meta_part_list(r->c->meta, u.upload_id, (uint32_t)marker,
                          (uint32_t)max, part_cb, &page, &truncated);
  if (rc != 0) {
    meta_upload_free(&u);
    s3_xml_release(&body);
    s3_send_cairn_error(r, rc);
    return;
  }
  s3_xml_init(&x, "ListPartsResult");
  s3_xml_text(&x, "Bucket", r->bucket);
  s3_xml_text(&x, "Key", r->key);
  s3_xml_text(&x, "UploadId", u.upload_id);
  s3_xml_textf(&x, "PartNumberMarker", "%ld", marker);
  s3_xml_textf(&x, "NextPartNumberMarker", "%u", page.last);
  s3_xml_textf(&x, "MaxParts", "%ld", max);
  s3_xml_text(&x, "IsTruncated", truncated ? "true" : "false");
  s3_xml_text(&x, "StorageClass", "STANDARD");
  if (u.attrs.checksum_algorithm)
    s3_xml_text(&x, "ChecksumAlgorithm", u.attrs.checksum_algorithm);
  if (body.len)
    s3_xml_chars_raw(&x, body.buf, body.len);
  s3_xml_close(&x, "ListPartsResult");
  s3_xml_release(&body);
  meta_upload_free(&u);
  s3_send_xml(r, &x);
}

/* ---- ListMultipartUploads --------------------------------------------------
 */

struct uploads_page {
  struct s3_xml *x;
  char last_key[S3_KEY_MAX + 1];
  char last_id[META_UPLOAD_ID_LEN + 1];
};

static int upload_cb(const struct meta_upload *u, void *arg) {
  struct uploads_page *page = arg;
  char date[40];
  s3_format_iso8601(u->initiated_ms, date, sizeof date);
  s3_xml_open(page->x, "Upload");
  s3_xml_text(page->x, "Key", u->key);
  s3_xml_text(page->x, "UploadId", u->upload_id);
  s3_xml_text(page->x, "Initiated", date);
  s3_xml_text(page->x, "StorageClass", "STANDARD");
  s3_xml_close(page->x, "Upload");
  snprintf(page->last_key, sizeof page->last_key, "%s", u->key);
  snprintf(page->last_id, sizeof page->last_id, "%s", u->upload_id);
  return 0;
}

void s3_list_multipart_uploads(struct s3_request *r) {
  long max = LIST_MAX;
  if (s3_query(r, "max-uploads") &&
      parse_number(s3_query(r, "max-uploads"), 0, 1 << 30, &max) != 0) {
    s3_send_error(r, "InvalidArgument", NULL);
    return;
  }
  if (max > LIST_MAX)
    max = LIST_MAX;
  struct meta_bucket b;
  if (s3_bucket_find(r, &b) != 0)
    return;
  const char *prefix = s3_query(r, "prefix");
  const char *key_marker = s3_query(r, "key-marker");
  const char *id_marker = s3_query(r, "upload-id-marker");
  struct s3_xml x, body = {0};
  struct uploads_page page = {.x = &body};
  bool truncated = false;
  int rc =
      meta_upload_list(r->c->meta, r->bucket, prefix, key_marker, id_marker,
                       (uint32_t)max, upload_cb, &page, &truncated);
  if (rc != 0) {
    s3_xml_release(&body);
    s3_send_cairn_error(r, rc);
    return;
  }
  s3_xml_init(&x, "ListMultipartUploadsResult");
  s3_xml_text(&x, "Bucket", r->bucket);
  s3_xml_text(&x, "KeyMarker", key_marker ? key_marker : "");
  s3_xml_text(&x, "UploadIdMarker", id_marker ? id_marker : "");
  s3_xml_text(&x, "NextKeyMarker", page.last_key);
  s3_xml_text(&x, "NextUploadIdMarker", page.last_id);
  s3_xml_text(&x, "Prefix", prefix ? prefix : "");
  s3_xml_textf(&x, "MaxUploads", "%ld", max);
  s3_xml_text(&x, "IsTruncated", truncated ? "true" : "false");
  if (body.len)
    s3_xml_chars_raw(&x, body.buf, body.len);
  s3_xml_close(&x, "ListMultipartUploadsResult");
  s3_xml_release(&body);
  s3_send_xml(r, &x);
}

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
#include "xml_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIN_PART_SIZE (5ULL << 20) /* AWS: 5 MiB, except the last part */
#define MAX_PARTS 10000            /* AWS: part numbers 1..10,000 */
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

const char *s3_checksum_type_name(uint8_t type) {
  /* An upload recorded before checksum types is completed as COMPOSITE. */
  return type == META_CHECKSUM_FULL_OBJECT ? "FULL_OBJECT" : "COMPOSITE";
}

/* x-amz-checksum-algorithm and x-amz-checksum-type of a new upload, with
 * AWS's rules: CRC64NVME is only FULL_OBJECT, SHA only COMPOSITE, and the
 * default type is FULL_OBJECT for CRC64NVME, COMPOSITE otherwise. Answers
 * the error itself and returns non-zero when they are not acceptable. */
static int parse_checksum_choice(struct s3_request *r,
                                 enum checksum_algorithm *algorithm,
                                 uint8_t *type) {
  const char *name = s3_header(r, "x-amz-checksum-algorithm");
  const char *type_name = s3_header(r, "x-amz-checksum-type");
  *algorithm = CHECKSUM_NONE;
  *type = META_CHECKSUM_TYPE_NONE;
  if (!name) {
    if (!type_name)
      return 0;
    s3_send_error(r, "InvalidRequest",
                  "x-amz-checksum-type requires x-amz-checksum-algorithm");
    return -1;
  }
  *algorithm = checksum_parse(name);
  if (*algorithm == CHECKSUM_NONE) {
    s3_send_error(r, "InvalidArgument", "Unsupported checksum algorithm");
    return -1;
  }
  int is_sha = *algorithm == CHECKSUM_SHA1 || *algorithm == CHECKSUM_SHA256;
  if (!type_name)
    *type = *algorithm == CHECKSUM_CRC64NVME ? META_CHECKSUM_FULL_OBJECT
                                             : META_CHECKSUM_COMPOSITE;
  else if (strcasecmp(type_name, "COMPOSITE") == 0)
    *type = META_CHECKSUM_COMPOSITE;
  else if (strcasecmp(type_name, "FULL_OBJECT") == 0)
    *type = META_CHECKSUM_FULL_OBJECT;
  else {
    s3_send_error(r, "InvalidRequest", "Unknown x-amz-checksum-type");
    return -1;
  }
  if ((is_sha && *type == META_CHECKSUM_FULL_OBJECT) ||
      (*algorithm == CHECKSUM_CRC64NVME && *type == META_CHECKSUM_COMPOSITE)) {
    s3_send_error(r, "InvalidRequest",
                  "The checksum type is not supported with this checksum "
                  "algorithm");
    return -1;
  }
  return 0;
}

void s3_create_multipart_upload(struct s3_request *r) {
  char msg[ACL_MSG_MAX];
  const char *acl_error = s3_acl_new_object(r, msg, sizeof msg);
  if (acl_error) {
    s3_send_error(r, acl_error, msg[0] ? msg : NULL);
    return;
  }
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
  u.attrs.acl = r->new_acl; /* the completed object's */
  enum checksum_algorithm algorithm = CHECKSUM_NONE;
  if (parse_checksum_choice(r, &algorithm, &u.attrs.checksum_type) != 0)
    return;
  if (algorithm != CHECKSUM_NONE)
    u.attrs.checksum_algorithm = checksum_name(algorithm);
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
  struct http_header hdr[3] = {{"x-amz-server-side-encryption", "AES256"}};
  size_t nh = 1;
  if (algorithm != CHECKSUM_NONE) {
    hdr[nh++] = (struct http_header){"x-amz-checksum-algorithm",
                                     checksum_name(algorithm)};
    hdr[nh++] = (struct http_header){
        "x-amz-checksum-type", s3_checksum_type_name(u.attrs.checksum_type)};
  }
  s3_send_xml_headers(r, &x, hdr, nh);
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

static void send_complete_result(struct s3_request *r,
                                 const struct meta_object *obj) {
  struct s3_xml x;
  char location[S3_KEY_MAX + 128];
  snprintf(location, sizeof location, "/%s/%s", r->bucket, r->key);
  s3_xml_init(&x, "CompleteMultipartUploadResult");
  s3_xml_text(&x, "Location", location);
  s3_xml_text(&x, "Bucket", r->bucket);
  s3_xml_text(&x, "Key", r->key);
  s3_xml_textf(&x, "ETag", "\"%s\"", obj->etag);
  if (obj->attrs.checksum_value) {
    char element[32];
    snprintf(element, sizeof element, "Checksum%s",
             obj->attrs.checksum_algorithm);
    s3_xml_text(&x, element, obj->attrs.checksum_value);
    s3_xml_text(&x, "ChecksumType",
                s3_checksum_type_name(obj->attrs.checksum_type));
  }
  s3_xml_close(&x, "CompleteMultipartUploadResult");
  s3_send_xml_sse(r, &x, obj->attrs.sealed_key != NULL);
}

/* A retried completion of an upload that already became the current
 * object answers what the first one did (AWS does too). */
static void complete_again_body_done(struct s3_request *r) {
  struct meta_object obj;
  int rc = meta_object_get_latest(r->c->meta, r->bucket, r->key, &obj);
  if (rc == 0 && strcmp(obj.upload_id, s3_query(r, "uploadId")) == 0)
    send_complete_result(r, &obj);
  else
    s3_send_error(r, "NoSuchUpload", NULL);
  if (rc == 0)
    meta_object_free(&obj);
}

static void complete_body_done(struct s3_request *r) {
  struct s3_complete_upload doc = {0};
  struct meta_complete_part *listed = NULL;
  enum s3_error_code e = xml_parse_document(&xml_doc_complete_upload, &doc,
                                            r->collected, r->collected_len);
  if (e == S3_ERR_MissingRequestBodyError)
    e = S3_ERR_MalformedXML; /* AWS: a completion without parts */
  if (e != S3_OK) {
    s3_send_error(r, s3_error_name(e), NULL);
    goto done;
  }
  listed = calloc(doc.count, sizeof *listed);
  if (!listed) {
    s3_send_error(r, "InternalError", NULL);
    goto done;
  }
  for (size_t i = 0; i < doc.count; i++) {
    listed[i].part_number = doc.parts[i].part_number;
    listed[i].etag = doc.parts[i].etag;
    for (int a = CHECKSUM_CRC32; a <= CHECKSUM_SHA256; a++)
      if (doc.parts[i].checksum[a])
        listed[i].checksum = doc.parts[i].checksum[a];
  }
  struct meta_object obj;
  memset(&obj, 0, sizeof obj);
  uint32_t bad_part = 0;
  /* The client's own value of the object's checksum, if it sent one. */
  const char *expected = NULL;
  for (int a = CHECKSUM_CRC32; a <= CHECKSUM_SHA256 && !expected; a++)
    expected = s3_header(r, checksum_header((enum checksum_algorithm)a));
  int rc = meta_upload_complete(r->c->meta, r->bucket, r->key,
                                s3_query(r, "uploadId"), listed,
                                (uint32_t)doc.count, expected, MIN_PART_SIZE,
                                coord_now_ms(), &obj, &bad_part);
  switch (rc) {
  case 0:
    send_complete_result(r, &obj);
    meta_object_free(&obj);
    break;
  case CAIRN_ENOENT: s3_send_error(r, "NoSuchUpload", NULL); break;
  case CAIRN_EINVAL: s3_send_error(r, "InvalidPart", NULL); break;
  case CAIRN_EPROTO: s3_send_error(r, "InvalidPartOrder", NULL); break;
  case CAIRN_ERANGE: s3_send_error(r, "EntityTooSmall", NULL); break;
  case CAIRN_ECORRUPT: s3_send_error(r, "BadDigest", NULL); break;
  default: s3_send_cairn_error(r, rc);
  }
done:
  free(listed);
  s3_complete_upload_release(&doc);
}

void s3_complete_multipart_upload(struct s3_request *r) {
  const char *id = s3_query(r, "uploadId");
  struct meta_object current;
  if (id && strlen(id) == META_UPLOAD_ID_LEN &&
      meta_object_get_latest(r->c->meta, r->bucket, r->key, &current) == 0) {
    int again = strcmp(current.upload_id, id) == 0;
    meta_object_free(&current);
    if (again) {
      s3_collect_body(r, S3_XML_COMPLETE_MAX_BYTES, "MaxMessageLengthExceeded",
                      complete_again_body_done);
      return;
    }
  }
  struct meta_upload u;
  if (find_upload(r, &u) != 0)
    return;
  meta_upload_free(&u);
  if (s3_check_write_conditions(r) != 0)
    return;
  s3_collect_body(r, S3_XML_COMPLETE_MAX_BYTES, "MaxMessageLengthExceeded",
                  complete_body_done);
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
  char checksum_element[32]; /* "ChecksumCRC32", or "" */
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
  if (page->checksum_element[0] && p->checksum_value)
    s3_xml_text(page->x, page->checksum_element, p->checksum_value);
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
  struct parts_page page = {&body, (uint32_t)marker, ""};
  if (u.attrs.checksum_algorithm)
    snprintf(page.checksum_element, sizeof page.checksum_element, "Checksum%s",
             u.attrs.checksum_algorithm);
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
  if (u.attrs.checksum_algorithm) {
    s3_xml_text(&x, "ChecksumAlgorithm", u.attrs.checksum_algorithm);
    s3_xml_text(&x, "ChecksumType",
                s3_checksum_type_name(u.attrs.checksum_type));
  }
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

/* s3_bucket.c - CreateBucket, HeadBucket, DeleteBucket, ListBuckets,
 * GetBucketLocation over the metadata store. */
#include "coordinator.h"
#include "crypto.h"
#include "error.h"
#include "http_server.h"
#include "meta.h"
#include "layout.h"
#include "s3_auth.h"
#include "s3_ops.h"
#include "xml_parse.h"

#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

int s3_bucket_name_valid(const char *name) {
  size_t n = strlen(name);
  if (n < 3 || n > 63)
    return 0;
  if (!(islower((unsigned char)name[0]) || isdigit((unsigned char)name[0])) ||
      !(islower((unsigned char)name[n - 1]) ||
        isdigit((unsigned char)name[n - 1])))
    return 0;
  int dots = 0, all_digits_or_dots = 1;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '.' ||
          c == '-'))
      return 0;
    if (c == '.' && i > 0 && name[i - 1] == '.')
      return 0;
    dots += c == '.';
    if (!(isdigit((unsigned char)c) || c == '.'))
      all_digits_or_dots = 0;
  }
  if (dots == 3 && all_digits_or_dots)
    return 0; /* formatted as an IP address */
  if (strncmp(name, "xn--", 4) == 0 || strncmp(name, "sthree-", 7) == 0 ||
      (n > 8 && strcmp(name + n - 8, "-s3alias") == 0) ||
      (n > 7 && strcmp(name + n - 7, "--ol-s3") == 0))
    return 0;
  return 1;
}

/* ---- ListBuckets -------------------------------------------------------- */

/* ListBuckets pages (max-buckets, continuation-token, prefix). Buckets
 * per account are few (AWS: 10,000 at most), so a page walks them from the
 * start; the token is the base64 of the last name returned. */
#define LIST_BUCKETS_MAX 10000

struct buckets_page {
  struct s3_xml *x;
  const char *prefix, *after; /* NULL: none */
  long max, shown;
  int truncated;
  char last[S3_BUCKET_MAX + 1];
};

static int list_one(const struct meta_bucket *b, void *arg) {
  struct buckets_page *p = arg;
  if ((p->prefix && strncmp(b->name, p->prefix, strlen(p->prefix)) != 0) ||
      (p->after && strcmp(b->name, p->after) <= 0))
    return 0;
  if (p->shown == p->max) {
    p->truncated = 1;
    return 1; /* one more exists: stop */
  }
  char date[40];
  s3_format_iso8601(b->created_ms, date, sizeof date);
  s3_xml_open(p->x, "Bucket");
  s3_xml_text(p->x, "Name", b->name);
  s3_xml_text(p->x, "CreationDate", date);
  s3_xml_close(p->x, "Bucket");
  snprintf(p->last, sizeof p->last, "%s", b->name);
  p->shown++;
  return 0;
}

void s3_list_buckets(struct s3_request *r) {
  struct buckets_page page = {.prefix = s3_query(r, "prefix"),
                              .max = LIST_BUCKETS_MAX};
  const char *max = s3_query(r, "max-buckets");
  if (max) {
    char *end;
    page.max = strtol(max, &end, 10);
    if (!*max || *end || page.max < 1 || page.max > LIST_BUCKETS_MAX) {
      s3_send_error(r, "InvalidArgument",
                    "max-buckets must be an integer from 1 to 10000");
      return;
    }
  }
  char after[S3_BUCKET_MAX + 1];
  const char *token = s3_query(r, "continuation-token");
  if (token && *token) {
    uint8_t raw[S3_BUCKET_MAX + 1];
    long n = crypto_unbase64(token, strlen(token), raw, S3_BUCKET_MAX);
    if (n <= 0 || memchr(raw, 0, (size_t)n)) {
      s3_send_error(r, "InvalidArgument",
                    "The continuation token provided is incorrect");
      return;
    }
    memcpy(after, raw, (size_t)n);
    after[n] = '\0';
    page.after = after;
  }
  struct s3_xml x, body = {0};
  page.x = &body;
  int rc = meta_bucket_list(r->c->meta, list_one, &page);
  if (rc != 0 && rc != 1) {
    s3_xml_release(&body);
    s3_send_cairn_error(r, rc);
    return;
  }
  s3_xml_init(&x, "ListAllMyBucketsResult");
  struct acl_owner me;
  s3_caller_owner(r, &me);
  s3_xml_open(&x, "Owner");
  s3_xml_text(&x, "ID", me.id);
  s3_xml_text(&x, "DisplayName", me.name);
  s3_xml_close(&x, "Owner");
  s3_xml_open(&x, "Buckets");
  if (body.len)
    s3_xml_chars_raw(&x, body.buf, body.len);
  s3_xml_release(&body);
  s3_xml_close(&x, "Buckets");
  if (page.truncated) {
    char next[4 * ((S3_BUCKET_MAX + 2) / 3) + 1];
    crypto_base64((const uint8_t *)page.last, strlen(page.last), next);
    s3_xml_text(&x, "ContinuationToken", next);
  }
  if (page.prefix)
    s3_xml_text(&x, "Prefix", page.prefix);
  s3_xml_close(&x, "ListAllMyBucketsResult");
  s3_send_xml(r, &x);
}

/* ---- CreateBucket ------------------------------------------------------- */

/* The bucket's layout: x-cairn-layout, else the cluster default; a layout
 * the nodes that are up now cannot place is refused (answered here). */
static int s3_layout_from_request(struct s3_request *r,
                                  struct meta_layout *out) {
  const char *text = s3_header(r, "x-cairn-layout");
  *out = r->c->default_layout;
  if (text && layout_parse(text, out) != 0) {
    s3_send_error(r, "InvalidArgument",
                  "x-cairn-layout must be replica:N, raid5:K, raid6:K, "
                  "archive:K or qrain:K (K 1..16).");
    return -1;
  }
  uint32_t need = layout_fragments(*out);
  size_t up = s3_nodes_up(r);
  if (up < need) {
    char message[160], name[LAYOUT_TEXT_MAX];
    layout_format(*out, name, sizeof name);
    snprintf(message, sizeof message,
             "Layout %s needs %u storage nodes (one per fragment); %zu are "
             "up.",
             name, need, up);
    s3_send_error(r, "InvalidArgument", message);
    return -1;
  }
  return 0;
}

static void create_bucket_body_done(struct s3_request *r) {
  struct s3_create_bucket_config doc = {0};
  enum s3_error_code e =
      r->collected_len == 0 /* no body: the default location */
          ? S3_OK
          : xml_parse_document(&xml_doc_create_bucket, &doc, r->collected,
                               r->collected_len);
  if (e != S3_OK) {
    s3_send_error(r, s3_error_name(e), NULL);
    return;
  }
  const char *region = r->c->config.region;
  if (doc.location[0] && strcmp(doc.location, region) != 0) {
    s3_send_error(r, "InvalidLocationConstraint",
                  "The specified location-constraint is not valid for this "
                  "endpoint.");
    return;
  }
  char msg[ACL_MSG_MAX];
  const char *error = s3_acl_new_bucket(r, msg, sizeof msg);
  if (error) {
    s3_send_error(r, error, msg[0] ? msg : NULL);
    return;
  }
  struct meta_bucket b;
  memset(&b, 0, sizeof b);
  snprintf(b.name, sizeof b.name, "%s", r->bucket);
  const char *ownership = s3_header(r, "x-amz-object-ownership");
  if (ownership) {
    for (int i = 1; i <= 3 && !b.ownership; i++)
      if (strcmp(ownership, s3_ownership_name(i)) == 0)
        b.ownership = (uint8_t)i;
    if (!b.ownership) {
      s3_send_error(r, "InvalidArgument", "Invalid x-amz-object-ownership.");
      return;
    }
  }
  b.created_ms = coord_now_ms();
  memcpy(b.owner, r->access_key, sizeof b.owner - 1); /* both 128 max */
  snprintf(b.location, sizeof b.location, "%.*s", (int)sizeof b.location - 1,
           doc.location); /* equals the region, or is empty */
  if (s3_layout_from_request(r, &b.default_layout) != 0)
    return;
  int rc = meta_bucket_create(r->c->meta, &b);
  if (rc == CAIRN_EEXIST) {
    s3_send_error(r, "BucketAlreadyOwnedByYou", NULL);
    return;
  }
  /* The ACL row follows in its own batch: a crash in between leaves the
   * bucket without one, which reads as private to root (s3_auth.c). */
  if (rc == 0)
    rc = meta_bucket_config_set(r->c->meta, r->bucket, "acl", r->new_acl,
                                strlen(r->new_acl));
  if (rc != 0) {
    s3_send_cairn_error(r, rc);
    return;
  }
  char location[80];
  snprintf(location, sizeof location, "/%s", r->bucket);
  struct http_header h[] = {{"Location", location}};
  s3_send(r, 200, h, 1, NULL, NULL, 0);
}

void s3_create_bucket(struct s3_request *r) {
  s3_collect_body(r, S3_XML_CREATE_BUCKET_MAX_BYTES, "MaxMessageLengthExceeded",
                  create_bucket_body_done);
}

/* ---- HeadBucket, DeleteBucket, GetBucketLocation ------------------------ */

void s3_send_bucket_write(struct s3_request *r, int rc, int status) {
  if (rc == CAIRN_ENOENT)
    s3_send_error(r, "NoSuchBucket", NULL);
  else if (rc != 0)
    s3_send_cairn_error(r, rc);
  else
    s3_send(r, status, NULL, 0, NULL, NULL, 0);
}

int s3_bucket_find(struct s3_request *r, struct meta_bucket *b) {
  /* The request's bucket access (cached across requests until any bucket
   * configuration changes): the record comes with it. */
  const struct s3_bucket_access *a = s3_bucket_access_existing(r);
  if (!a)
    return CAIRN_ENOENT;
  *b = a->bucket;
  return 0;
}

void s3_head_bucket(struct s3_request *r) {
  struct meta_bucket b;
  if (s3_bucket_find(r, &b) != 0)
    return;
  struct http_header h[] = {{"x-amz-bucket-region",
                             b.location[0] ? b.location : r->c->config.region}};
  s3_send(r, 200, h, 1, NULL, NULL, 0);
}

struct upload_ids {
  char (*keys)[S3_KEY_MAX + 1];
  char (*ids)[META_UPLOAD_ID_LEN + 1];
  uint32_t n;
};

static int collect_upload(const struct meta_upload *u, void *arg) {
  struct upload_ids *l = arg;
  memcpy(l->keys[l->n], u->key, sizeof l->keys[0]);
  memcpy(l->ids[l->n], u->upload_id, sizeof l->ids[0]);
  l->n++;
  return 0;
}

static int count_entry(const struct meta_object_summary *e, const char *p,
                       void *arg) {
  (void)e;
  (void)p;
  (*(int *)arg)++;
  return 0;
}

/* As in S3, unfinished multipart uploads do not keep a bucket alive: when
 * it holds no object they are aborted (their parts become garbage). */
static int abort_uploads_if_empty(struct s3_request *r) {
  int objects = 0;
  struct meta_list_params p = {.max_keys = 1};
  struct meta_list_result res;
  int rc =
      meta_list_objects(r->c->meta, r->bucket, &p, count_entry, &objects, &res);
  if (rc != 0 || objects > 0)
    return rc;
  struct upload_ids l = {0};
  l.keys = malloc(1000 * sizeof *l.keys);
  l.ids = malloc(1000 * sizeof *l.ids);
  bool truncated = true;
  while (rc == 0 && truncated && l.keys && l.ids) {
    l.n = 0;
    rc = meta_upload_list(r->c->meta, r->bucket, NULL, NULL, NULL, 1000,
                          collect_upload, &l, &truncated);
    for (uint32_t i = 0; rc == 0 && i < l.n; i++)
      rc = meta_upload_abort(r->c->meta, r->bucket, l.keys[i], l.ids[i]);
    if (l.n == 0)
      break;
  }
  free(l.keys);
  free(l.ids);
  return rc;
}

void s3_delete_bucket(struct s3_request *r) {
  int rc = abort_uploads_if_empty(r);
  if (rc == 0)
    rc = meta_bucket_delete(r->c->meta, r->bucket);
  if (rc == CAIRN_ENOENT)
    s3_send_error(r, "NoSuchBucket", NULL);
  else if (rc == CAIRN_EBUSY)
    s3_send_error(r, "BucketNotEmpty", NULL);
  else if (rc != 0)
    s3_send_cairn_error(r, rc);
  else
    s3_send(r, 204, NULL, 0, NULL, NULL, 0);
}

void s3_get_bucket_location(struct s3_request *r) {
  struct meta_bucket b;
  if (s3_bucket_find(r, &b) != 0)
    return;
  struct s3_xml x;
  /* us-east-1 is the empty constraint, as AWS answers. */
  s3_xml_init(&x, "LocationConstraint");
  s3_xml_chars(&x, strcmp(b.location, "us-east-1") == 0 ? "" : b.location);
  s3_xml_close(&x, "LocationConstraint");
  s3_send_xml(r, &x);
}

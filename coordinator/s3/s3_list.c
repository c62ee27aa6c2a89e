/*
 * s3_list.c - ListObjects (v1) and ListObjectsV2, one page per request,
 * read from the metadata store's listing (which costs O(page)).
 */
#include "coordinator.h"
#include "crypto.h"
#include "error.h"
#include "meta.h"
#include "s3_auth.h"
#include "s3_ops.h"
#include "s3_uri.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEYS_DEFAULT 1000 /* AWS: at most 1,000 keys per page */

struct list_page {
  struct s3_request *r;
  struct s3_xml *x;
  int url_encode, fetch_owner;
};

static void key_element(struct list_page *p, const char *name,
                        const char *value) {
  if (!p->url_encode) {
    s3_xml_text(p->x, name, value);
    return;
  }
  /* encoding-type=url: every byte but unreserved ones and '/' escaped. */
  char *encoded = s3_uri_encode(value, strlen(value), 1);
  if (!encoded) {
    p->x->failed = 1;
    return;
  }
  s3_xml_text(p->x, name, encoded);
  free(encoded);
}

static int list_entry(const struct meta_object_summary *e,
                      const char *common_prefix, void *arg) {
  struct list_page *p = arg;
  if (common_prefix) {
    s3_xml_open(p->x, "CommonPrefixes");
    key_element(p, "Prefix", common_prefix);
    s3_xml_close(p->x, "CommonPrefixes");
    return 0;
  }
  char date[40];
  s3_format_iso8601(e->last_modified_ms, date, sizeof date);
  s3_xml_open(p->x, "Contents");
  key_element(p, "Key", e->key);
  s3_xml_text(p->x, "LastModified", date);
  s3_xml_textf(p->x, "ETag", "\"%s\"", e->etag);
  s3_xml_textf(p->x, "Size", "%llu", (unsigned long long)e->size);
  s3_xml_text(p->x, "StorageClass", "STANDARD");
  const struct s3_bucket_access *a;
  if (p->fetch_owner && (a = s3_bucket_access(p->r)) != NULL) {
    /* The bucket owner: a listing reads only 'L', which does not carry
     * each object's ACL (an object written by a grantee of the bucket's
     * WRITE shows its own owner in GetObjectAcl). */
    s3_xml_open(p->x, "Owner");
    s3_xml_text(p->x, "ID", a->acl.owner.id);
    s3_xml_text(p->x, "DisplayName", a->acl.owner.name);
    s3_xml_close(p->x, "Owner");
  }
  s3_xml_close(p->x, "Contents");
  return 0;
}

/* The continuation token is the base64 of the last key or prefix returned:
 * opaque to clients, exact for us. */
static int decode_token(const char *token, char *out, size_t cap) {
  long n = crypto_unbase64(token, strlen(token), (uint8_t *)out, cap - 1);
  if (n <= 0)
    return -1;
  out[n] = '\0';
  return memchr(out, '\0', (size_t)n) ? -1 : 0;
}

void s3_list_objects(struct s3_request *r) {
  const char *list_type = s3_query(r, "list-type");
  int v2 = list_type != NULL;
  if (v2 && strcmp(list_type, "2") != 0) {
    s3_send_error(r, "InvalidArgument", "Invalid list-type");
    return;
  }
  const char *prefix = s3_query(r, "prefix");
  const char *delimiter = s3_query(r, "delimiter");
  const char *encoding = s3_query(r, "encoding-type");
  const char *max_keys_text = s3_query(r, "max-keys");
  const char *token = v2 ? s3_query(r, "continuation-token") : NULL;
  const char *start_after =
      v2 ? s3_query(r, "start-after") : s3_query(r, "marker");
  if (encoding && strcmp(encoding, "url") != 0) {
    s3_send_error(r, "InvalidArgument", "Invalid Encoding Method specified");
    return;
  }
  long max_keys = MAX_KEYS_DEFAULT;
  if (max_keys_text) {
    char *end;
    max_keys = strtol(max_keys_text, &end, 10);
    if (*end || end == max_keys_text || max_keys < 0) {
      s3_send_error(r, "InvalidArgument", "Invalid max-keys");
      return;
    }
    if (max_keys > MAX_KEYS_DEFAULT)
      max_keys = MAX_KEYS_DEFAULT;
  }
  char token_key[S3_KEY_MAX + 1];
  /* An empty token is no token (it is still echoed back). */
  int resume = token && *token;
  if (resume && decode_token(token, token_key, sizeof token_key) != 0) {
    s3_send_error(r, "InvalidArgument",
                  "The continuation token provided is incorrect");
    return;
  }
  struct meta_bucket bucket;
  if (s3_bucket_find(r, &bucket) != 0)
    return;

  struct s3_xml x;
  s3_xml_init(&x, "ListBucketResult");
  struct list_page page = {
      r, &x, encoding != NULL,
      v2 ? s3_query(r, "fetch-owner") &&
               strcmp(s3_query(r, "fetch-owner"), "true") == 0
         : 1};
  s3_xml_text(&x, "Name", r->bucket);
  /* ListObjects v1 returns its Prefix as given even with encoding-type=url
   * (SDKs decode Marker, NextMarker, Delimiter and keys there, not the
   * Prefix); v2 encodes it with the rest. */
  if (v2)
    key_element(&page, "Prefix", prefix ? prefix : "");
  else
    s3_xml_text(&x, "Prefix", prefix ? prefix : "");
  if (v2 && start_after)
    key_element(&page, "StartAfter", start_after);
  if (v2 && token)
    s3_xml_text(&x, "ContinuationToken", token);
  if (!v2)
    key_element(&page, "Marker", start_after ? start_after : "");
  s3_xml_textf(&x, "MaxKeys", "%ld", max_keys);
  if (delimiter && *delimiter)
    key_element(&page, "Delimiter", delimiter);
  if (encoding)
    s3_xml_text(&x, "EncodingType", "url");

  /* The page goes into a separate document so the counts can precede it. */
  struct s3_xml body = {0};
  page.x = &body;
  struct meta_list_params params = {
      .prefix = prefix,
      .delimiter = delimiter,
      .start_after = resume ? token_key : start_after,
      .max_keys = (uint32_t)max_keys,
  };
  struct meta_list_result res;
  memset(&res, 0, sizeof res);
  int rc = meta_list_objects(r->c->meta, r->bucket, &params, list_entry, &page,
                             &res);
  if (rc != 0) {
    s3_xml_release(&body);
    s3_xml_release(&x);
    s3_send_cairn_error(r, rc);
    return;
  }
  page.x = &x;
  if (max_keys == 0)
    res.truncated = false; /* as AWS: an empty page is not "truncated" */
  s3_xml_text(&x, "IsTruncated", res.truncated ? "true" : "false");
  if (v2) {
    s3_xml_textf(&x, "KeyCount", "%u", res.count);
    if (res.truncated) {
      char next[4 * ((S3_KEY_MAX + 2) / 3) + 1];
      crypto_base64((const uint8_t *)res.next_marker, strlen(res.next_marker),
                    next);
      s3_xml_text(&x, "NextContinuationToken", next);
    }
  } else if (res.truncated && delimiter) {
    key_element(&page, "NextMarker", res.next_marker);
  }
  if (body.len)
    s3_xml_chars_raw(&x, body.buf, body.len);
  s3_xml_release(&body);
  s3_xml_close(&x, "ListBucketResult");
  s3_send_xml(r, &x);
}

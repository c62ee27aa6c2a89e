/*
 * s3_attributes.c - GetObjectAttributes: what a client may ask about an
 * object without reading it (ETag, checksum, parts, storage class, size),
 * all from the object's metadata record.
 */
#include "checksum.h"
#include "coordinator.h"
#include "error.h"
#include "http_server.h"
#include "meta.h"
#include "s3_ops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PARTS_PAGE 1000

enum wanted {
  WANT_ETAG = 1,
  WANT_CHECKSUM = 2,
  WANT_PARTS = 4,
  WANT_STORAGE_CLASS = 8,
  WANT_SIZE = 16
};

/* "ETag, ObjectSize" -> flags; -1 for an unknown name (AWS: InvalidArgument).
 */
static int parse_wanted(const char *list) {
  static const struct {
    const char *name;
    int flag;
  } names[] = {{"ETag", WANT_ETAG},
               {"Checksum", WANT_CHECKSUM},
               {"ObjectParts", WANT_PARTS},
               {"StorageClass", WANT_STORAGE_CLASS},
               {"ObjectSize", WANT_SIZE}};
  int flags = 0;
  for (const char *p = list; *p;) {
    while (*p == ' ' || *p == ',')
      p++;
    size_t len = strcspn(p, ", ");
    if (len == 0)
      break;
    int found = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
      if (strlen(names[i].name) == len &&
          strncasecmp(p, names[i].name, len) == 0)
        flags |= names[i].flag, found = 1;
    if (!found)
      return -1;
    p += len;
  }
  return flags;
}

static int parse_count(const char *text, long max, long *out) {
  if (!text)
    return 0;
  char *end;
  long v = strtol(text, &end, 10);
  if (!*text || *end || v < 0 || v > max)
    return -1;
  *out = v;
  return 0;
}

static void write_parts(struct s3_xml *x, const struct meta_object *o,
                        long marker, long max, const char *checksum_element) {
  s3_xml_open(x, "ObjectParts");
  uint32_t shown = 0, last = 0;
  int truncated = 0;
  struct s3_xml parts = {0};
  for (uint32_t i = 0; i < o->n_parts; i++) {
    const struct meta_part_boundary *p = &o->parts[i];
    if (p->part_number <= (uint32_t)marker)
      continue;
    if (shown == (uint32_t)max) {
      truncated = 1;
      break;
    }
    s3_xml_open(&parts, "Part");
    if (checksum_element && p->checksum[0])
      s3_xml_text(&parts, checksum_element, p->checksum);
    s3_xml_textf(&parts, "PartNumber", "%u", p->part_number);
    s3_xml_textf(&parts, "Size", "%llu", (unsigned long long)p->size);
    s3_xml_close(&parts, "Part");
    last = p->part_number;
    shown++;
  }
  s3_xml_text(x, "IsTruncated", truncated ? "true" : "false");
  s3_xml_textf(x, "MaxParts", "%ld", max);
  s3_xml_textf(x, "NextPartNumberMarker", "%u", last);
  s3_xml_textf(x, "PartNumberMarker", "%ld", marker);
  if (parts.len)
    s3_xml_chars_raw(x, parts.buf, parts.len);
  s3_xml_release(&parts);
  s3_xml_textf(x, "PartsCount", "%u", o->n_parts);
  s3_xml_close(x, "ObjectParts");
}

void s3_get_object_attributes(struct s3_request *r) {
  const char *list = s3_header(r, "x-amz-object-attributes");
  int wanted = list ? parse_wanted(list) : 0;
  if (wanted <= 0) {
    s3_send_error(r, "InvalidArgument",
                  list ? "Invalid attribute name in x-amz-object-attributes"
                       : "Missing required header for this request: "
                         "x-amz-object-attributes");
    return;
  }
  long max = MAX_PARTS_PAGE, marker = 0;
  if (parse_count(s3_header(r, "x-amz-max-parts"), MAX_PARTS_PAGE, &max) ||
      parse_count(s3_header(r, "x-amz-part-number-marker"),
                  META_PART_NUMBER_MAX, &marker)) {
    s3_send_error(r, "InvalidArgument", "Invalid part count or marker");
    return;
  }
  struct meta_object o;
  int rc = meta_object_get_latest(r->c->meta, r->bucket, r->key, &o);
  if (rc == CAIRN_ENOENT) {
    struct meta_bucket b;
    if (s3_bucket_find(r, &b) == 0)
      s3_send_error(r, "NoSuchKey", NULL);
    return;
  }
  if (rc != 0) {
    s3_send_cairn_error(r, rc);
    return;
  }
  char element[32] = "";
  if (o.attrs.checksum_algorithm)
    snprintf(element, sizeof element, "Checksum%s", o.attrs.checksum_algorithm);
  struct s3_xml x;
  s3_xml_init(&x, "GetObjectAttributesResponse");
  if (wanted & WANT_ETAG)
    s3_xml_text(&x, "ETag", o.etag); /* unquoted, as AWS answers here */
  if ((wanted & WANT_CHECKSUM) && o.attrs.checksum_value && element[0]) {
    s3_xml_open(&x, "Checksum");
    s3_xml_text(&x, element, o.attrs.checksum_value);
    s3_xml_text(&x, "ChecksumType",
                s3_checksum_type_name(o.attrs.checksum_type));
    s3_xml_close(&x, "Checksum");
  }
  if ((wanted & WANT_PARTS) && o.n_parts)
    write_parts(&x, &o, marker, max, element[0] ? element : NULL);
  if (wanted & WANT_STORAGE_CLASS)
    s3_xml_text(&x, "StorageClass", "STANDARD");
  if (wanted & WANT_SIZE)
    s3_xml_textf(&x, "ObjectSize", "%llu", (unsigned long long)o.size);
  s3_xml_close(&x, "GetObjectAttributesResponse");
  char modified[64];
  s3_format_http_date(o.last_modified_ms, modified, sizeof modified);
  struct http_header h[] = {{"Last-Modified", modified}};
  meta_object_free(&o);
  s3_send_xml_headers(r, &x, h, 1);
}

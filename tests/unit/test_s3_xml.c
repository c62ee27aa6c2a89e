/* test_s3_xml.c - the XML writer (escaping, well-formedness, bounds), the
 * date formats, and the request-body parsers on valid, hostile, truncated
 * and split input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "error.h"
#include "xml_parse.h"
#include "xml_writer.h"

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the writer ------------------------------------------------------------
 */

/* Parses doc and returns the concatenated text of every <T> element. */
struct texts {
  char *out;
  size_t len, cap;
  int in_t;
};
static void t_start(void *d, const XML_Char *name, const XML_Char **atts) {
  struct texts *t = d;
  (void)atts;
  t->in_t = strcmp(name, "T") == 0 ||
            strcmp(name, "http://s3.amazonaws.com/doc/2006-03-01/|T") == 0;
}
static void t_end(void *d, const XML_Char *name) {
  (void)name;
  ((struct texts *)d)->in_t = 0;
}
static void t_text(void *d, const XML_Char *s, int len) {
  struct texts *t = d;
  if (!t->in_t)
    return;
  if (t->len + (size_t)len + 1 > t->cap) {
    t->cap = (t->len + (size_t)len + 1) * 2;
    t->out = realloc(t->out, t->cap);
  }
  memcpy(t->out + t->len, s, (size_t)len);
  t->len += (size_t)len;
  t->out[t->len] = '\0';
}
static int well_formed(const char *doc, size_t len, struct texts *t) {
  memset(t, 0, sizeof *t);
  XML_Parser p = XML_ParserCreateNS(NULL, '|');
  XML_SetUserData(p, t);
  XML_SetElementHandler(p, t_start, t_end);
  XML_SetCharacterDataHandler(p, t_text);
  int ok = XML_Parse(p, doc, (int)len, XML_TRUE) == XML_STATUS_OK;
  XML_ParserFree(p);
  return ok;
}

static void roundtrip(const char *text, size_t n, const char *expect,
                      size_t expect_len, size_t replaced) {
  struct xml_writer w;
  xml_writer_init(&w, 1 << 20);
  xml_writer_prolog(&w);
  xml_writer_open_s3(&w, "Doc");
  xml_writer_element_n(&w, "T", text, n);
  xml_writer_close(&w, "Doc");
  assert_int_equal(xml_writer_error(&w), 0);
  assert_int_equal(w.replaced, replaced);
  size_t len;
  char *doc = xml_writer_take(&w, &len);
  assert_non_null(doc);
  struct texts t;
  assert_true(well_formed(doc, len, &t));
  assert_int_equal(t.len, expect_len);
  if (expect_len)
    assert_memory_equal(t.out, expect, expect_len);
  free(t.out);
  free(doc);
}

static void test_writer_escaping(void **state) {
  (void)state;
  const char s1[] = "a&b<c>d\"e'f";
  roundtrip(s1, strlen(s1), s1, strlen(s1), 0);
  const char s2[] = "tab\tnl\ncr\rend";
  roundtrip(s2, strlen(s2), s2, strlen(s2), 0);
  const char s3[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"; /* é € 😀 */
  roundtrip(s3, strlen(s3), s3, strlen(s3), 0);
  /* C0 controls, invalid UTF-8, surrogates, U+FFFE become U+FFFD */
  roundtrip("a\x01"
            "b",
            3,
            "a\xef\xbf\xbd"
            "b",
            5, 1);
  roundtrip("\x1f\x7f", 2, "\xef\xbf\xbd\x7f", 4, 1);
  roundtrip("x\xff", 2, "x\xef\xbf\xbd", 4, 1);
  roundtrip("\xc3", 1, "\xef\xbf\xbd", 3, 1); /* truncated sequence */
  roundtrip("\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 9, 3);
  roundtrip("\xef\xbf\xbe", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 9, 3);
  roundtrip("\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd", 6, 2); /* overlong */
  roundtrip("", 0, "", 0, 0);
  /* NUL is not representable either */
  roundtrip("a\0b", 3,
            "a\xef\xbf\xbd"
            "b",
            5, 1);
  assert_true(xml_text_representable("ok \xc3\xa9\t", 6));
  assert_false(xml_text_representable("\x01", 1));
  assert_false(xml_text_representable("\xc3", 1));

  /* every byte value, one at a time, stays well-formed */
  for (int c = 0; c < 256; c++) {
    char b = (char)c;
    struct xml_writer w;
    xml_writer_init(&w, 4096);
    xml_writer_open(&w, "T");
    xml_writer_text(&w, &b, 1);
    xml_writer_close(&w, "T");
    struct texts t;
    assert_true(well_formed(w.buf, w.len, &t));
    free(t.out);
    xml_writer_release(&w);
  }
}

static void test_writer_document(void **state) {
  (void)state;
  struct xml_writer w;
  xml_writer_init(&w, 1 << 20);
  xml_writer_prolog(&w);
  xml_writer_open_s3(&w, "ListAllMyBucketsResult");
  xml_writer_element_u64(&w, "Size", UINT64_MAX);
  xml_writer_element_bool(&w, "IsTruncated", 1);
  xml_writer_element_time(&w, "LastModified", 1795502400123LL);
  xml_writer_element(&w, "Skipped", NULL);
  xml_writer_close(&w, "ListAllMyBucketsResult");
  assert_int_equal(xml_writer_error(&w), 0);
  assert_string_equal(
      w.buf, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<ListAllMyBucketsResult "
             "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
             "<Size>18446744073709551615</Size><IsTruncated>true</IsTruncated>"
             "<LastModified>2026-11-24T06:40:00.123Z</LastModified>"
             "</ListAllMyBucketsResult>");
  xml_writer_release(&w);
}

static void test_writer_bounds(void **state) {
  (void)state;
  /* growth across many reallocations */
  struct xml_writer w;
  xml_writer_init(&w, 8 << 20);
  xml_writer_open(&w, "R");
  for (int i = 0; i < 20000; i++)
    xml_writer_element(&w, "K", "some/key&name");
  xml_writer_close(&w, "R");
  assert_int_equal(xml_writer_error(&w), 0);
  struct texts t;
  assert_true(well_formed(w.buf, w.len, &t));
  free(t.out);
  xml_writer_release(&w);

  /* the maximum is hard and errors are sticky */
  xml_writer_init(&w, 100);
  for (int i = 0; i < 20; i++)
    xml_writer_element(&w, "K", "value");
  assert_int_equal(xml_writer_error(&w), CAIRN_ETOOBIG);
  assert_true(w.len < 100);
  assert_null(xml_writer_take(&w, NULL));

  /* fixed buffers never overflow */
  char buf[32];
  xml_writer_init_fixed(&w, buf, sizeof buf);
  xml_writer_element(&w, "A", "0123456789");
  assert_int_equal(xml_writer_error(&w), 0);
  assert_string_equal(buf, "<A>0123456789</A>");
  xml_writer_element(&w, "A", "0123456789");
  assert_int_equal(xml_writer_error(&w), CAIRN_ETOOBIG);
  xml_writer_release(&w);

  /* take on an empty writer gives "" */
  xml_writer_init(&w, 10);
  size_t len = 99;
  char *s = xml_writer_take(&w, &len);
  assert_non_null(s);
  assert_string_equal(s, "");
  assert_int_equal(len, 0);
  free(s);
}

/* ---- dates ------------------------------------------------------------------
 */

static void test_dates(void **state) {
  (void)state;
  char iso[ISO8601_MS_LEN], http[HTTP_DATE_LEN];
  time_format_iso8601_ms(0, iso);
  assert_string_equal(iso, "1970-01-01T00:00:00.000Z");
  time_format_iso8601_ms(1795502400123LL, iso);
  assert_string_equal(iso, "2026-11-24T06:40:00.123Z");
  time_format_iso8601_ms(951868799999LL, iso);
  assert_string_equal(iso, "2000-02-29T23:59:59.999Z");
  time_format_http_date(1795502400, http);
  assert_string_equal(http, "Tue, 24 Nov 2026 06:40:00 GMT");
  time_format_http_date(784111777, http);
  assert_string_equal(http, "Sun, 06 Nov 1994 08:49:37 GMT");
  time_format_http_date(253402300799LL, http);
  assert_string_equal(http, "Fri, 31 Dec 9999 23:59:59 GMT");

  int64_t t = 0;
  assert_int_equal(time_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", &t),
                   0);
  assert_int_equal(t, 784111777);
  t = 0;
  assert_int_equal(time_parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", &t),
                   0);
  assert_int_equal(t, 784111777);
  t = 0;
  assert_int_equal(time_parse_http_date("Sun Nov  6 08:49:37 1994", &t), 0);
  assert_int_equal(t, 784111777);
  assert_int_equal(time_parse_http_date("Sun Nov 16 08:49:37 1994", &t), 0);
  assert_int_equal(t, 784111777 + 10 * 86400);
  assert_int_equal(time_parse_http_date("Tue, 29 Feb 2000 23:59:59 GMT", &t),
                   0);
  assert_int_equal(t, 951868799);
  assert_int_equal(time_parse_http_date("Thursday, 01-Jan-70 00:00:00 GMT", &t),
                   0);
  assert_int_equal(t, 0);

  const char *bad[] = {
      "",
      "garbage",
      "Sun, 06 Nov 1994 08:49:37",      /* no GMT */
      "Sun, 06 Nov 1994 08:49:37 GMTx", /* trailing junk */
      "Sun, 06 Nov 1994 08:49:37 UTC",
      "Sun, 32 Nov 1994 08:49:37 GMT",
      "Sun, 31 Nov 1994 08:49:37 GMT",
      "Sun, 29 Feb 1900 08:49:37 GMT",
      "Sun, 06 Nob 1994 08:49:37 GMT",
      "Sun, 06 Nov 1994 24:00:00 GMT",
      "Sun, 6 Nov 1994 08:49:37 GMT",
      "Sun, 06 Nov 94 08:49:37 GMT",
      "Sunday,",
      "Sunday, 06-Nov-1994 08:49:37 GMT",
      "Sun Nov  6 08:49:37",
      "2026-11-24T06:40:00Z",
      "Sun, 00 Nov 1994 08:49:37 GMT",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(time_parse_http_date(bad[i], &t), CAIRN_EINVAL);

  /* format then parse over many instants, cross-checked with gmtime_r */
  for (int64_t s = 0; s < 253402300799LL; s += 86399LL * 37 + 12345) {
    time_format_http_date(s, http);
    int64_t back = -1;
    assert_int_equal(time_parse_http_date(http, &back), 0);
    assert_int_equal(back, s);
    time_t tt = (time_t)s;
    struct tm tm;
    char ref[64];
    gmtime_r(&tt, &tm);
    strftime(ref, sizeof ref, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
    time_format_iso8601_ms(s * 1000, iso);
    assert_string_equal(iso, ref);
  }
}

/* ---- body parsers
 * ------------------------------------------------------------ */

static enum s3_error_code parse_split(const struct xml_doc_type *type,
                                      void *result, const char *doc, size_t len,
                                      size_t split) {
  struct xml_parser *p = xml_parser_new(type, result);
  assert_non_null(p);
  enum s3_error_code rc = xml_parser_feed(p, doc, split);
  if (!rc)
    rc = xml_parser_feed(p, doc + split, len - split);
  if (!rc)
    rc = xml_parser_finish(p);
  xml_parser_free(p);
  return rc;
}

static enum s3_error_code parse_bytewise(const struct xml_doc_type *type,
                                         void *result, const char *doc,
                                         size_t len) {
  struct xml_parser *p = xml_parser_new(type, result);
  assert_non_null(p);
  enum s3_error_code rc = S3_OK;
  for (size_t i = 0; i < len && !rc; i++)
    rc = xml_parser_feed(p, doc + i, 1);
  if (!rc)
    rc = xml_parser_finish(p);
  xml_parser_free(p);
  return rc;
}

static const char create_doc[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<CreateBucketConfiguration "
    "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
    "  <LocationConstraint> eu-west-1 </LocationConstraint>\n"
    "</CreateBucketConfiguration>\n";

static void test_create_bucket(void **state) {
  (void)state;
  struct s3_create_bucket_config c;
  size_t n = strlen(create_doc);
  for (size_t k = 0; k <= n; k++) {
    assert_int_equal(parse_split(&xml_doc_create_bucket, &c, create_doc, n, k),
                     S3_OK);
    assert_true(c.has_location);
    assert_string_equal(c.location, "eu-west-1");
  }
  assert_int_equal(parse_bytewise(&xml_doc_create_bucket, &c, create_doc, n),
                   S3_OK);
  /* every truncation fails */
  for (size_t k = 0; k < n - 1; k++)
    assert_int_not_equal(
        xml_parse_document(&xml_doc_create_bucket, &c, create_doc, k), S3_OK);
  assert_int_equal(xml_parse_document(&xml_doc_create_bucket, &c, "", 0),
                   S3_ERR_MissingRequestBodyError);
  const char *ok_plain = "<CreateBucketConfiguration/>";
  assert_int_equal(xml_parse_document(&xml_doc_create_bucket, &c, ok_plain,
                                      strlen(ok_plain)),
                   S3_OK);
  assert_false(c.has_location);
  const char *wrong_root = "<Delete><Object><Key>a</Key></Object></Delete>";
  assert_int_equal(xml_parse_document(&xml_doc_create_bucket, &c, wrong_root,
                                      strlen(wrong_root)),
                   S3_ERR_MalformedXML);
  char big[S3_XML_CREATE_BUCKET_MAX_BYTES + 100];
  memset(big, ' ', sizeof big);
  memcpy(big, "<CreateBucketConfiguration>", 27);
  assert_int_equal(
      xml_parse_document(&xml_doc_create_bucket, &c, big, sizeof big),
      S3_ERR_MaxMessageLengthExceeded);
  char longloc[300];
  snprintf(longloc, sizeof longloc,
           "<CreateBucketConfiguration><LocationConstraint>%0100d"
           "</LocationConstraint></CreateBucketConfiguration>",
           7);
  assert_int_equal(
      xml_parse_document(&xml_doc_create_bucket, &c, longloc, strlen(longloc)),
      S3_ERR_InvalidLocationConstraint);
}

static void test_hostile(void **state) {
  (void)state;
  struct s3_delete_objects d;
  const char *docs[] = {
      /* billion laughs */
      "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
      "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">]>"
      "<Delete><Object><Key>&lol2;</Key></Object></Delete>",
      /* external entity */
      "<!DOCTYPE d [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>"
      "<Delete><Object><Key>&xxe;</Key></Object></Delete>",
      /* any DOCTYPE at all */
      "<!DOCTYPE Delete><Delete><Object><Key>a</Key></Object></Delete>",
      /* undefined entity */
      "<Delete><Object><Key>&foo;</Key></Object></Delete>",
      /* not XML */
      "{\"Delete\": []}",
      /* two roots */
      "<Delete><Object><Key>a</Key></Object></Delete><Delete/>",
      /* mismatched tags */
      "<Delete><Object><Key>a</Object></Key></Delete>",
      /* no objects */
      "<Delete><Quiet>true</Quiet></Delete>",
      /* object without key */
      "<Delete><Object><VersionId>v</VersionId></Object></Delete>",
      /* bad Quiet */
      "<Delete><Quiet>yes</Quiet><Object><Key>a</Key></Object></Delete>",
      /* two keys in one object */
      "<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>",
  };
  for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
    assert_int_equal(xml_parse_document(&xml_doc_delete_objects, &d, docs[i],
                                        strlen(docs[i])),
                     S3_ERR_MalformedXML);
    s3_delete_objects_release(&d);
  }
  /* deep nesting */
  size_t depth = 10000, n = 0;
  char *deep = malloc(depth * 7 + 32);
  n += (size_t)sprintf(deep, "<Delete>");
  for (size_t i = 0; i < depth; i++)
    n += (size_t)sprintf(deep + n, "<a>");
  assert_int_equal(xml_parse_document(&xml_doc_delete_objects, &d, deep, n),
                   S3_ERR_MalformedXML);
  s3_delete_objects_release(&d);
  free(deep);
  /* many small elements */
  size_t count = 20000;
  char *wide = malloc(count * 4 + 64);
  n = (size_t)sprintf(wide, "<Delete>");
  for (size_t i = 0; i < count; i++)
    n += (size_t)sprintf(wide + n, "<a/>");
  n += (size_t)sprintf(wide + n, "</Delete>");
  assert_int_equal(xml_parse_document(&xml_doc_delete_objects, &d, wide, n),
                   S3_ERR_MalformedXML);
  s3_delete_objects_release(&d);
  free(wide);
  /* a DOCTYPE split across pieces is refused too */
  const char *split = "<!DOCTYPE Delete><Delete/>";
  for (size_t k = 0; k <= strlen(split); k++) {
    assert_int_equal(
        parse_split(&xml_doc_delete_objects, &d, split, strlen(split), k),
        S3_ERR_MalformedXML);
    s3_delete_objects_release(&d);
  }
}

static void test_delete(void **state) {
  (void)state;
  struct s3_delete_objects d;
  const char doc[] =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
      " <Quiet>true</Quiet>\n"
      " <Object><Key>a&amp;b &lt;c&gt; d</Key></Object>\n"
      " <Object><Key> spaced/ key </Key><VersionId>v1</VersionId>"
      "<ETag>\"x\"</ETag></Object>\n"
      " <Object><Key>caf\xc3\xa9/&#x1F600;</Key></Object>\n"
      " <Object><Key></Key></Object>\n"
      "</Delete>";
  size_t n = strlen(doc);
  for (size_t k = 0; k <= n; k++) {
    assert_int_equal(parse_split(&xml_doc_delete_objects, &d, doc, n, k),
                     S3_OK);
    assert_true(d.quiet);
    assert_int_equal(d.count, 4);
    assert_string_equal(d.entries[0].key, "a&b <c> d");
    assert_null(d.entries[0].version_id);
    assert_string_equal(d.entries[1].key, " spaced/ key ");
    assert_string_equal(d.entries[1].version_id, "v1");
    assert_string_equal(d.entries[2].key, "caf\xc3\xa9/\xf0\x9f\x98\x80");
    assert_int_equal(d.entries[3].key_len, 0);
    s3_delete_objects_release(&d);
  }
  assert_int_equal(parse_bytewise(&xml_doc_delete_objects, &d, doc, n), S3_OK);
  assert_int_equal(d.count, 4);
  s3_delete_objects_release(&d);
  for (size_t k = 0; k < n - 1; k++) {
    assert_int_not_equal(
        xml_parse_document(&xml_doc_delete_objects, &d, doc, k), S3_OK);
    s3_delete_objects_release(&d);
  }

  /* 1000 keys of 1024 bytes pass; a 1001st or a 1025-byte key does not */
  size_t cap = 1100 * 1100, len;
  char *big = malloc(cap);
  char key[1026];
  memset(key, 'k', sizeof key);
  for (int variant = 0; variant < 3; variant++) {
    len = (size_t)sprintf(big, "<Delete>");
    size_t objects = variant == 1 ? 1001 : 1000;
    for (size_t i = 0; i < objects; i++) {
      size_t klen = variant == 2 && i == 500 ? 1025 : 1024;
      len += (size_t)sprintf(big + len, "<Object><Key>%.*s</Key></Object>",
                             (int)klen, key);
    }
    len += (size_t)sprintf(big + len, "</Delete>");
    enum s3_error_code rc =
        xml_parse_document(&xml_doc_delete_objects, &d, big, len);
    if (variant == 0) {
      assert_int_equal(rc, S3_OK);
      assert_int_equal(d.count, 1000);
      assert_int_equal(d.entries[999].key_len, 1024);
      assert_false(d.quiet);
    } else {
      assert_int_equal(rc, variant == 1 ? S3_ERR_MalformedXML
                                        : S3_ERR_KeyTooLongError);
    }
    s3_delete_objects_release(&d);
  }
  /* a key far beyond the limit, split across pieces */
  len = (size_t)sprintf(big, "<Delete><Object><Key>");
  memset(big + len, 'x', 5000);
  len += 5000;
  len += (size_t)sprintf(big + len, "</Key></Object></Delete>");
  assert_int_equal(parse_split(&xml_doc_delete_objects, &d, big, len, 2000),
                   S3_ERR_KeyTooLongError);
  s3_delete_objects_release(&d);
  /* oversize body */
  struct xml_parser *p = xml_parser_new(&xml_doc_delete_objects, &d);
  memset(big, ' ', cap);
  memcpy(big, "<Delete>", 8);
  assert_int_equal(xml_parser_feed(p, big, cap), S3_OK);
  assert_int_equal(xml_parser_feed(p, big + 8, cap - 8),
                   S3_ERR_MaxMessageLengthExceeded);
  assert_int_equal(xml_parser_finish(p), S3_ERR_MaxMessageLengthExceeded);
  xml_parser_free(p);
  s3_delete_objects_release(&d);
  free(big);
}

static void test_complete(void **state) {
  (void)state;
  struct s3_complete_upload c;
  const char doc[] =
      "<CompleteMultipartUpload "
      "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
      "  <Part>\n    <PartNumber> 1 </PartNumber>\n"
      "    <ETag>\"0123456789abcdef0123456789abcdef\"</ETag>\n"
      "    <ChecksumCRC32>AAAAAA==</ChecksumCRC32>\n  </Part>\n"
      "  <Part><ETag>&quot;fedcba&quot;</ETag><PartNumber>2</PartNumber>"
      "<ChecksumSHA256>47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=</"
      "ChecksumSHA256><ChecksumType>COMPOSITE</ChecksumType></Part>\n"
      "  <Part><PartNumber>10000</PartNumber><ETag>plain</ETag></Part>\n"
      "</CompleteMultipartUpload>";
  size_t n = strlen(doc);
  for (size_t k = 0; k <= n; k++) {
    assert_int_equal(parse_split(&xml_doc_complete_upload, &c, doc, n, k),
                     S3_OK);
    assert_int_equal(c.count, 3);
    assert_int_equal(c.parts[0].part_number, 1);
    assert_string_equal(c.parts[0].etag, "0123456789abcdef0123456789abcdef");
    assert_string_equal(c.parts[0].checksum[1], "AAAAAA=="); /* CRC32 */
    assert_null(c.parts[0].checksum[5]);
    assert_int_equal(c.parts[1].part_number, 2);
    assert_string_equal(c.parts[1].etag, "fedcba");
    assert_string_equal(c.parts[1].checksum[5],
                        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    assert_int_equal(c.parts[2].part_number, 10000);
    assert_string_equal(c.parts[2].etag, "plain");
    s3_complete_upload_release(&c);
  }
  assert_int_equal(parse_bytewise(&xml_doc_complete_upload, &c, doc, n), S3_OK);
  s3_complete_upload_release(&c);
  for (size_t k = 0; k < n - 1; k++) {
    assert_int_not_equal(
        xml_parse_document(&xml_doc_complete_upload, &c, doc, k), S3_OK);
    s3_complete_upload_release(&c);
  }

  struct {
    const char *doc;
    enum s3_error_code rc;
  } cases[] = {
      {"<CompleteMultipartUpload><Part><PartNumber>2</PartNumber><ETag>a</"
       "ETag></Part><Part><PartNumber>1</PartNumber><ETag>b</ETag></Part></"
       "CompleteMultipartUpload>",
       S3_ERR_InvalidPartOrder},
      {"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>a</"
       "ETag></Part><Part><PartNumber>1</PartNumber><ETag>b</ETag></Part></"
       "CompleteMultipartUpload>",
       S3_ERR_InvalidPartOrder},
      {"<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>a</"
       "ETag></Part></CompleteMultipartUpload>",
       S3_ERR_InvalidArgument},
      {"<CompleteMultipartUpload><Part><PartNumber>10001</PartNumber><ETag>a</"
       "ETag></Part></CompleteMultipartUpload>",
       S3_ERR_InvalidArgument},
      {"<CompleteMultipartUpload><Part><PartNumber>99999999999999999999</"
       "PartNumber><ETag>a</ETag></Part></CompleteMultipartUpload>",
       S3_ERR_InvalidArgument},
      {"<CompleteMultipartUpload><Part><PartNumber>1x</PartNumber><ETag>a</"
       "ETag></Part></CompleteMultipartUpload>",
       S3_ERR_MalformedXML},
      {"<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber><ETag>a</"
       "ETag></Part></CompleteMultipartUpload>",
       S3_ERR_MalformedXML},
      {"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></"
       "CompleteMultipartUpload>",
       S3_ERR_MalformedXML},
      {"<CompleteMultipartUpload><Part><ETag>a</ETag></Part></"
       "CompleteMultipartUpload>",
       S3_ERR_MalformedXML},
      {"<CompleteMultipartUpload></CompleteMultipartUpload>",
       S3_ERR_MalformedXML},
      {"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>a</"
       "ETag><ETag>b</ETag></Part></CompleteMultipartUpload>",
       S3_ERR_MalformedXML},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_int_equal(xml_parse_document(&xml_doc_complete_upload, &c,
                                        cases[i].doc, strlen(cases[i].doc)),
                     cases[i].rc);
    s3_complete_upload_release(&c);
  }

  /* 10000 parts pass; a 10001st is refused */
  size_t cap = 10002 * 96, len;
  char *big = malloc(cap);
  for (int extra = 0; extra < 2; extra++) {
    len = (size_t)sprintf(big, "<CompleteMultipartUpload>");
    for (int i = 1; i <= 10000 + extra; i++)
      len += (size_t)sprintf(big + len,
                             "<Part><PartNumber>%d</PartNumber><ETag>\"%032d\""
                             "</ETag></Part>",
                             i, i);
    len += (size_t)sprintf(big + len, "</CompleteMultipartUpload>");
    enum s3_error_code rc =
        xml_parse_document(&xml_doc_complete_upload, &c, big, len);
    if (!extra) {
      assert_int_equal(rc, S3_OK);
      assert_int_equal(c.count, 10000);
      assert_int_equal(c.parts[9999].part_number, 10000);
      assert_int_equal(strlen(c.parts[9999].etag), 32);
    } else {
      assert_int_equal(rc, S3_ERR_InvalidArgument);
    }
    s3_complete_upload_release(&c);
  }
  free(big);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_writer_escaping),
      cmocka_unit_test(test_writer_document),
      cmocka_unit_test(test_writer_bounds),
      cmocka_unit_test(test_dates),
      cmocka_unit_test(test_create_bucket),
      cmocka_unit_test(test_hostile),
      cmocka_unit_test(test_delete),
      cmocka_unit_test(test_complete),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

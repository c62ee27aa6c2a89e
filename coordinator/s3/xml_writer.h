/*
 * xml_writer.h - a small streaming XML builder for S3 responses, and the
 * date formats S3 speaks (ISO 8601 in XML, RFC 1123 in HTTP headers).
 *
 * The writer appends to one buffer: either growable (malloc'd, doubling, up
 * to a hard maximum) or fixed (the caller's memory). Errors are sticky, as
 * in git's strbuf or curl's dynbuf: after the first failure (out of memory,
 * over the maximum) every call is a no-op, and the caller checks
 * xml_writer_error() once at the end. The writer never checks that opens
 * and closes match: that is the caller's document.
 *
 * Text escaping. & < > " ' become entity references. XML 1.0 forbids most
 * C0 control characters even as character references (&#x1; is not
 * well-formed), yet AWS S3 emits them in listings, which breaks every XML
 * parser (aws-sdk-go #1914, aws-sdk-php #169); that is why SDKs ask for
 * encoding-type=url. Cairn keeps its output well-formed: TAB, LF and CR
 * become &#x9; &#xA; &#xD; (so a parser hands them back unchanged), while
 * bytes XML 1.0 cannot carry (other C0 controls, invalid UTF-8, U+FFFE,
 * U+FFFF) become U+FFFD and count in w->replaced, so a handler can tell
 * that a key was not representable and should have been URL-encoded.
 *
 * Lifecycle: xml_writer_init / xml_writer_init_fixed, appends,
 * xml_writer_take (ownership passes to the caller) or xml_writer_release.
 */
#ifndef CAIRN_XML_WRITER_H
#define CAIRN_XML_WRITER_H

#include <stddef.h>
#include <stdint.h>

#define XML_PROLOG "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define S3_XML_NAMESPACE "http://s3.amazonaws.com/doc/2006-03-01/"

struct xml_writer {
  char *buf;       /* NUL-terminated while error == 0 */
  size_t len;      /* bytes written, excluding the NUL */
  size_t cap;      /* bytes allocated (or given) */
  size_t max;      /* hard limit on cap */
  int fixed;       /* buf belongs to the caller */
  int error;       /* 0, CAIRN_ENOMEM or CAIRN_ETOOBIG; sticky */
  size_t replaced; /* characters replaced by U+FFFD (see above) */
};

/* A growable writer that will never hold more than max bytes. */
void xml_writer_init(struct xml_writer *w, size_t max);
/* A writer over the caller's buf[cap] (cap >= 1); never allocates. */
void xml_writer_init_fixed(struct xml_writer *w, char *buf, size_t cap);
/* Frees a growable writer's buffer; the writer may be initialised again. */
void xml_writer_release(struct xml_writer *w);
/* The malloc'd document (caller frees) and its length; NULL on error or
 * for a fixed writer. The writer is then empty (released). */
char *xml_writer_take(struct xml_writer *w, size_t *len);
/* 0 or the first error (CAIRN_ENOMEM, CAIRN_ETOOBIG). */
int xml_writer_error(const struct xml_writer *w);

/* The <?xml ...?> line. */
void xml_writer_prolog(struct xml_writer *w);
/* <name> ; <name xmlns="http://s3.amazonaws.com/doc/2006-03-01/"> */
void xml_writer_open(struct xml_writer *w, const char *name);
void xml_writer_open_s3(struct xml_writer *w, const char *name);
/* </name> */
void xml_writer_close(struct xml_writer *w, const char *name);
/* Escaped character data (n bytes of UTF-8). */
void xml_writer_text(struct xml_writer *w, const char *text, size_t n);
/* Markup appended verbatim (the caller vouches for it). */
void xml_writer_raw(struct xml_writer *w, const char *xml, size_t n);
/* <name>escaped text</name>; a NULL text writes nothing at all. */
void xml_writer_element(struct xml_writer *w, const char *name,
                        const char *text);
void xml_writer_element_n(struct xml_writer *w, const char *name,
                          const char *text, size_t n);
void xml_writer_element_u64(struct xml_writer *w, const char *name,
                            uint64_t value);
void xml_writer_element_bool(struct xml_writer *w, const char *name, int value);
/* <name>2026-11-24T06:40:00.123Z</name> from milliseconds since the epoch */
void xml_writer_element_time(struct xml_writer *w, const char *name,
                             int64_t unix_ms);

/* 1 when n bytes of text go into XML 1.0 unchanged (valid UTF-8, no
 * character outside the Char production); 0 otherwise. */
int xml_text_representable(const char *text, size_t n);

/* Dates. All UTC; out must hold at least the size named. */
#define ISO8601_MS_LEN 25 /* "2026-11-24T06:40:00.123Z" + NUL */
#define HTTP_DATE_LEN 30  /* "Tue, 24 Nov 2026 06:40:00 GMT" + NUL */
/* Milliseconds since the epoch (>= 0, year <= 9999) to ISO 8601 with
 * milliseconds, as S3 writes LastModified in XML. */
void time_format_iso8601_ms(int64_t unix_ms, char out[ISO8601_MS_LEN]);
/* Seconds since the epoch to an RFC 1123 date (Last-Modified, Date). */
void time_format_http_date(int64_t unix_s, char out[HTTP_DATE_LEN]);
/* Parses an HTTP date in any of the three forms RFC 9110 section 5.6.7
 * requires a recipient to accept: IMF-fixdate / RFC 1123
 * ("Sun, 06 Nov 1994 08:49:37 GMT"), RFC 850 ("Sunday, 06-Nov-94 08:49:37
 * GMT"; a two-digit year 70-99 is 19xx, 00-69 is 20xx, a fixed pivot
 * rather than RFC 9110's "50 years from now", so that parsing is pure) and
 * asctime ("Sun Nov  6 08:49:37 1994"). Locale-free. 0 and *unix_s set, or
 * CAIRN_EINVAL (callers ignore an unparsable If-Modified-Since, as RFC 9110
 * says). */
int time_parse_http_date(const char *text, int64_t *unix_s);

#endif

/*
 * s3_response.c - what every S3 answer shares: the error table and XML
 * errors, common headers, XML documents, dates, and collected bodies.
 */
#include "s3_request.h"

#include "s3_error.h"

#include "coordinator.h"
#include "error.h"
#include "http_server.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- XML ---------------------------------------------------------------- */

static void xml_reserve(struct s3_xml *x, size_t more) {
  if (x->failed || x->len + more + 1 <= x->cap)
    return;
  size_t cap = x->cap ? x->cap : 1024;
  while (cap < x->len + more + 1)
    cap *= 2;
  char *grown = realloc(x->buf, cap);
  if (!grown) {
    x->failed = 1;
    return;
  }
  x->buf = grown;
  x->cap = cap;
}

static void xml_raw(struct s3_xml *x, const char *s, size_t n) {
  xml_reserve(x, n);
  if (x->failed)
    return;
  memcpy(x->buf + x->len, s, n);
  x->len += n;
  x->buf[x->len] = '\0';
}

/* Escapes the five XML specials; other control characters cannot appear in
 * XML 1.0 at all, so they are written as character references of XML 1.1
 * form, as AWS does (clients ask for encoding-type=url to avoid them). */
static void xml_escaped(struct s3_xml *x, const char *s) {
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    switch (ch) {
    case '&': xml_raw(x, "&amp;", 5); break;
    case '<': xml_raw(x, "&lt;", 4); break;
    case '>': xml_raw(x, "&gt;", 4); break;
    case '"': xml_raw(x, "&quot;", 6); break;
    case '\'': xml_raw(x, "&apos;", 6); break;
    default:
      if (ch < 0x20 && ch != '\t' && ch != '\n') {
        char ref[8];
        int n = snprintf(ref, sizeof ref, "&#x%X;", ch);
        xml_raw(x, ref, (size_t)n);
      } else {
        xml_raw(x, (const char *)&ch, 1);
      }
    }
  }
}

void s3_xml_init(struct s3_xml *x, const char *root) {
  memset(x, 0, sizeof *x);
  static const char prolog[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml_raw(x, prolog, sizeof prolog - 1);
  if (root) {
    xml_raw(x, "<", 1);
    xml_raw(x, root, strlen(root));
    static const char ns[] =
        " xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
    xml_raw(x, ns, sizeof ns - 1);
  }
}

void s3_xml_open(struct s3_xml *x, const char *name) {
  xml_raw(x, "<", 1);
  xml_raw(x, name, strlen(name));
  xml_raw(x, ">", 1);
}

void s3_xml_close(struct s3_xml *x, const char *name) {
  xml_raw(x, "</", 2);
  xml_raw(x, name, strlen(name));
  xml_raw(x, ">", 1);
}

void s3_xml_chars_raw(struct s3_xml *x, const char *xml, size_t len) {
  xml_raw(x, xml, len);
}

void s3_xml_chars(struct s3_xml *x, const char *text) {
  xml_escaped(x, text ? text : "");
}

void s3_xml_text(struct s3_xml *x, const char *name, const char *text) {
  s3_xml_open(x, name);
  xml_escaped(x, text ? text : "");
  s3_xml_close(x, name);
}

void s3_xml_textf(struct s3_xml *x, const char *name, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  s3_xml_text(x, name, buf);
}

void s3_xml_release(struct s3_xml *x) {
  free(x->buf);
  memset(x, 0, sizeof *x);
}

/* ---- dates -------------------------------------------------------------- */

void s3_format_iso8601(int64_t ms, char *out, size_t cap) {
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           (int)(ms % 1000));
}

void s3_format_http_date(int64_t ms, char *out, size_t cap) {
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

int64_t s3_parse_http_date(const char *text) {
  static const char *const formats[] = {
      "%a, %d %b %Y %H:%M:%S GMT", /* RFC 1123 */
      "%A, %d-%b-%y %H:%M:%S GMT", /* RFC 850 */
      "%a %b %e %H:%M:%S %Y",      /* asctime */
      "%Y-%m-%dT%H:%M:%S",         /* ISO 8601, as some clients send */
  };
  for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(text, formats[i], &tm);
    if (end && (*end == '\0' || *end == 'Z' || *end == '.'))
      return (int64_t)timegm(&tm) * 1000;
  }
  return -1;
}

/* ---- responses ---------------------------------------------------------- */

static size_t common_headers(struct s3_request *r, struct http_header *h) {
  h[0] = (struct http_header){"x-amz-request-id", http_request_id(r->http)};
  h[1] = (struct http_header){"x-amz-id-2", http_request_id(r->http)};
  return 2;
}

#define MAX_HEADERS 48

void s3_send(struct s3_request *r, int status, const struct http_header *extra,
             size_t n_extra, const char *content_type, const void *body,
             size_t len) {
  struct http_header h[MAX_HEADERS];
  size_t n = common_headers(r, h);
  if (content_type)
    h[n++] = (struct http_header){"Content-Type", content_type};
  for (size_t i = 0; i < n_extra && n < MAX_HEADERS; i++)
    h[n++] = extra[i];
  r->responded = 1;
  http_respond(r->http, status, h, n, body, len);
  r->http = NULL; /* http_respond ended it */
  s3_request_end(r);
}

int s3_start_response(struct s3_request *r, int status,
                      const struct http_header *extra, size_t n_extra,
                      int64_t content_length) {
  struct http_header h[MAX_HEADERS];
  size_t n = common_headers(r, h);
  for (size_t i = 0; i < n_extra && n < MAX_HEADERS; i++)
    h[n++] = extra[i];
  r->responded = 1;
  return http_response_start(r->http, status, h, n, content_length);
}

void s3_send_error(struct s3_request *r, const char *code,
                   const char *message) {
  enum s3_error_code e = s3_error_from_name(code);
  if (e == S3_OK) {
    log_error("s3", "no error row for %s", code);
    e = S3_ERR_InternalError;
    message = NULL;
  }
  struct s3_error_field extra[2];
  size_t n = 0;
  if (r->bucket[0])
    extra[n++] = (struct s3_error_field){"BucketName", r->bucket};
  if (r->key)
    extra[n++] = (struct s3_error_field){"Key", r->key};
  char body[8192];
  long len = s3_error_render_xml(
      e, message && *message ? message : NULL, r->path ? r->path : "/",
      http_request_id(r->http), extra, n, body, sizeof body);
  log_debug("s3", "%s %s -> %d %s", r->method, r->path ? r->path : "/",
            s3_error_status(e), s3_error_name(e));
  if (len < 0) /* a key too long to echo: answer without the extras */
    len = s3_error_render_xml(e, NULL, "/", http_request_id(r->http), NULL, 0,
                              body, sizeof body);
  s3_send(r, s3_error_status(e), NULL, 0, "application/xml", body,
          len < 0 ? 0 : (size_t)len);
}

void s3_send_cairn_error(struct s3_request *r, int err) {
  switch (err) {
  case CAIRN_EUNAVAIL:
    s3_send_error(r, "ServiceUnavailable",
                  "Not enough storage nodes are available to store the "
                  "object with its redundancy.");
    break;
  case CAIRN_ENOSPC:
    s3_send_error(r, "ServiceUnavailable",
                  "The storage nodes are out of space.");
    break;
  case CAIRN_ETIMEDOUT: s3_send_error(r, "RequestTimeout", NULL); break;
  case CAIRN_ETOOBIG: s3_send_error(r, "EntityTooLarge", NULL); break;
  default:
    log_error("s3", "[req=%s] internal error: %s", http_request_id(r->http),
              cairn_strerror(err));
    s3_send_error(r, "InternalError", NULL);
  }
}

void s3_send_xml_headers(struct s3_request *r, struct s3_xml *x,
                         const struct http_header *h, size_t n) {
  if (x->failed)
    s3_send_error(r, "InternalError", NULL);
  else
    s3_send(r, 200, h, n, "application/xml", x->buf, x->len);
  s3_xml_release(x);
}

void s3_send_xml(struct s3_request *r, struct s3_xml *x) {
  s3_send_xml_headers(r, x, NULL, 0);
}

void s3_send_xml_sse(struct s3_request *r, struct s3_xml *x, int encrypted) {
  static const struct http_header sse = {"x-amz-server-side-encryption",
                                         "AES256"};
  s3_send_xml_headers(r, x, encrypted ? &sse : NULL, encrypted ? 1 : 0);
}

const char *s3_query(const struct s3_request *r, const char *name) {
  return s3_route_param(&r->route, name);
}

int s3_has_query(const struct s3_request *r, const char *name) {
  return s3_query(r, name) != NULL;
}

const char *s3_header(const struct s3_request *r, const char *lower_name) {
  return http_request_header(r->http, lower_name);
}

/* ---- collected bodies --------------------------------------------------- */

static void collect_data(struct s3_request *r, const char *data, size_t len) {
  if (r->collected_len + len > r->collect_max) {
    r->sink.data = NULL;
    r->sink.end = NULL;
    s3_send_error(r, r->collect_too_large, NULL);
    return;
  }
  memcpy(r->collected + r->collected_len, data, len);
  r->collected_len += len;
  r->collected[r->collected_len] = '\0';
}

static void collect_end(struct s3_request *r) {
  r->collected_done(r);
}

static void collect_abort(struct s3_request *r, const char *code) {
  if (code)
    s3_send_error(r, code, NULL);
  else
    s3_request_end(r);
}

void s3_collect_body(struct s3_request *r, size_t max, const char *too_large,
                     void (*done)(struct s3_request *r)) {
  int64_t declared = http_request_content_length(r->http);
  if (declared > (int64_t)max) {
    s3_send_error(r, too_large, NULL);
    return;
  }
  /* A declared length bounds the body (the HTTP layer refuses more), so a
   * small document costs its own size, not the limit: thousands of open
   * CompleteMultipartUploads must not hold 4 MiB each. aws-chunked framing
   * only makes the declared length larger than the decoded body. */
  size_t cap = declared >= 0 ? (size_t)declared : max;
  r->collected = malloc(cap + 1);
  if (!r->collected) {
    s3_send_error(r, "InternalError", NULL);
    return;
  }
  r->collected[0] = '\0';
  r->collect_max = cap;
  r->collect_too_large = too_large;
  r->collected_done = done;
  r->sink.data = collect_data;
  r->sink.end = collect_end;
  r->sink.abort = collect_abort;
}

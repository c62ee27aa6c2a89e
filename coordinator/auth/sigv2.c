/*
 * sigv2.c - AWS Signature Version 2 (see sigv2.h).
 *
 * The StringToSign is rebuilt from the request as received; nothing the
 * client says about it is trusted. Its size is bounded by the request's
 * own (the HTTP layer bounds the header block and the target), and it is
 * built in one allocation sized up front.
 */
#include "sigv2.h"

#include "auth_internal.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The query parameters that are part of the resource: AWS's list, plus
 * what botocore's HmacV1Auth and s3cmd sign for newer sub-resources. */
static const char *const subresources[] = {
    "accelerate",
    "acl",
    "analytics",
    "cors",
    "delete",
    "encryption",
    "intelligent-tiering",
    "inventory",
    "legal-hold",
    "lifecycle",
    "location",
    "logging",
    "metrics",
    "notification",
    "object-lock",
    "ownershipControls",
    "partNumber",
    "policy",
    "policyStatus",
    "publicAccessBlock",
    "replication",
    "requestPayment",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "retention",
    "select",
    "select-type",
    "tagging",
    "torrent",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
};

int sigv2_is_subresource(const char *name, size_t len) {
  for (size_t i = 0; i < sizeof subresources / sizeof subresources[0]; i++)
    if (strlen(subresources[i]) == len &&
        memcmp(subresources[i], name, len) == 0)
      return 1;
  return 0;
}

/* A bounded string builder: the capacity is computed before, so an
 * overflow is a bug, caught rather than written. */
struct builder {
  char *buf;
  size_t len, cap;
  int overflow;
};

static void put(struct builder *b, const char *s, size_t n) {
  if (b->overflow || b->len + n >= b->cap) {
    b->overflow = 1;
    return;
  }
  memcpy(b->buf + b->len, s, n);
  b->len += n;
  b->buf[b->len] = '\0';
}

static void puts_(struct builder *b, const char *s) {
  put(b, s, strlen(s));
}

/* The value trimmed of surrounding blanks (botocore strips them). */
static void put_trimmed(struct builder *b, const char *v) {
  if (!v)
    return;
  size_t n = strlen(v);
  while (n && (*v == ' ' || *v == '\t')) {
    v++;
    n--;
  }
  while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
    n--;
  put(b, v, n);
}

static const char *first_header(const struct sigv2_request *r,
                                const char *name) {
  for (size_t i = 0; i < r->header_count; i++)
    if (r->headers[i].name && strcasecmp(r->headers[i].name, name) == 0)
      return r->headers[i].value ? r->headers[i].value : "";
  return NULL;
}

static int is_amz(const char *name) {
  return name && strncasecmp(name, "x-amz-", 6) == 0;
}

/* x-amz-* headers sorted by lower-case name (stable: repeated headers
 * keep their order), each "name:v1,v2\n". */
static void put_amz_headers(struct builder *b, const struct sigv2_request *r,
                            size_t *order) {
  size_t n = 0;
  for (size_t i = 0; i < r->header_count; i++) {
    if (!is_amz(r->headers[i].name))
      continue;
    size_t j = n++;
    while (j > 0 &&
           strcasecmp(r->headers[order[j - 1]].name, r->headers[i].name) > 0) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = i;
  }
  for (size_t k = 0; k < n; k++) {
    const struct sigv4_header *h = &r->headers[order[k]];
    if (k > 0 && strcasecmp(r->headers[order[k - 1]].name, h->name) == 0) {
      put(b, ",", 1);
    } else {
      if (k > 0)
        put(b, "\n", 1);
      for (const char *c = h->name; *c; c++) {
        char lower = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
        put(b, &lower, 1);
      }
      put(b, ":", 1);
    }
    put_trimmed(b, h->value);
  }
  if (n)
    put(b, "\n", 1);
}

struct param {
  const char *name, *value; /* raw, in the query */
  size_t name_len, value_len;
  int has_value;
};

/* "?a&b=v..." of the sub-resources, sorted by name, values decoded. */
static int put_subresources(struct builder *b, const char *query) {
  struct param p[SIGV2_SUBRESOURCES_MAX];
  size_t n = 0;
  for (const char *s = query; s && *s;) {
    const char *amp = strchr(s, '&');
    size_t len = amp ? (size_t)(amp - s) : strlen(s);
    const char *eq = memchr(s, '=', len);
    size_t name_len = eq ? (size_t)(eq - s) : len;
    if (sigv2_is_subresource(s, name_len)) {
      if (n == SIGV2_SUBRESOURCES_MAX)
        return CAIRN_EINVAL;
      struct param cur = {s, eq ? eq + 1 : NULL, name_len,
                          eq ? len - name_len - 1 : 0, eq != NULL};
      size_t j = n++;
      while (j > 0) {
        const struct param *prev = &p[j - 1];
        size_t m = prev->name_len < name_len ? prev->name_len : name_len;
        int c = memcmp(prev->name, s, m);
        if (c < 0 || (c == 0 && prev->name_len <= name_len))
          break;
        p[j] = p[j - 1];
        j--;
      }
      p[j] = cur;
    }
    s = amp ? amp + 1 : NULL;
  }
  for (size_t i = 0; i < n; i++) {
    put(b, i ? "&" : "?", 1);
    put(b, p[i].name, p[i].name_len);
    if (!p[i].has_value)
      continue;
    put(b, "=", 1);
    /* Decoding never lengthens: decode in place at the end of the buffer. */
    if (b->overflow || b->len + p[i].value_len >= b->cap) {
      b->overflow = 1;
      break;
    }
    size_t d = sigv4_uri_decode(p[i].value, p[i].value_len, b->buf + b->len);
    b->len += d;
    b->buf[b->len] = '\0';
  }
  return 0;
}

int sigv2_string_to_sign(const struct sigv2_request *r, char **out,
                         size_t *len) {
  *out = NULL;
  *len = 0;
  size_t cap = 64 + strlen(r->method) + strlen(r->path) +
               (r->query ? strlen(r->query) : 0) +
               (r->virtual_bucket ? strlen(r->virtual_bucket) : 0) +
               (r->expires ? strlen(r->expires) : 0);
  for (size_t i = 0; i < r->header_count; i++)
    cap += (r->headers[i].name ? strlen(r->headers[i].name) : 0) +
           (r->headers[i].value ? strlen(r->headers[i].value) : 0) + 2;
  struct builder b = {.buf = malloc(cap), .cap = cap};
  size_t *order = malloc((r->header_count + 1) * sizeof *order);
  int rc = CAIRN_ENOMEM;
  if (!b.buf || !order)
    goto fail;
  b.buf[0] = '\0';
  puts_(&b, r->method);
  put(&b, "\n", 1);
  put_trimmed(&b, first_header(r, "content-md5"));
  put(&b, "\n", 1);
  put_trimmed(&b, first_header(r, "content-type"));
  put(&b, "\n", 1);
  /* With x-amz-date the Date line stays empty: the date is signed among
   * the x-amz-* headers instead (proxies may rewrite Date). */
  if (r->expires)
    puts_(&b, r->expires);
  else if (!first_header(r, "x-amz-date"))
    put_trimmed(&b, first_header(r, "date"));
  put(&b, "\n", 1);
  put_amz_headers(&b, r, order);
  if (r->virtual_bucket) {
    put(&b, "/", 1);
    puts_(&b, r->virtual_bucket);
  }
  puts_(&b, r->path);
  if ((rc = put_subresources(&b, r->query)) != 0)
    goto fail;
  if (b.overflow) {
    rc = CAIRN_EINVAL;
    goto fail;
  }
  free(order);
  *out = b.buf;
  *len = b.len;
  return 0;
fail:
  free(order);
  free(b.buf);
  return rc;
}

void sigv2_signature(const char *secret, const char *sts, size_t len,
                     char out[SIGV2_SIGNATURE_B64 + 1]) {
  uint8_t mac[SHA1_LEN];
  crypto_hmac_sha1(secret, strlen(secret), sts, len, mac);
  crypto_base64(mac, sizeof mac, out);
}

/* ---- verification -------------------------------------------------------- */

/* "Tue, 27 Mar 2007 19:36:42 +0000" (AWS's examples, s3cmd), the RFC 1123
 * "... GMT" form, or an ISO 8601 basic x-amz-date. */
static int parse_v2_date(const char *text, int64_t *when) {
  char buf[32];
  size_t n = strlen(text);
  if (n == 31 && strcmp(text + 25, " +0000") == 0) {
    memcpy(buf, text, 25);
    memcpy(buf + 25, " GMT", 5);
    text = buf;
  }
  if (sigv4_parse_http_date(text, when) == 0)
    return 0;
  return sigv4_parse_amz_date(text, when) == 0 ? 0 : -1;
}

/* The signature as sent, if it has the length of one: compared as text,
 * so that a base64 variant with other padding bits is not accepted. */
static int copy_signature(const char *s, size_t n,
                          char out[SIGV2_SIGNATURE_B64 + 1]) {
  if (n != SIGV2_SIGNATURE_B64)
    return 0;
  memcpy(out, s, n);
  out[n] = '\0';
  return 1;
}

/* "AWS AKID:base64" -> key and the signature text. */
static enum auth_status parse_header(const char *h, char *access_key,
                                     char sig[SIGV2_SIGNATURE_B64 + 1],
                                     int *sig_ok) {
  const char *id = h + 4;
  const char *colon = strchr(id, ':');
  if (!colon || colon == id || (size_t)(colon - id) > AUTH_ACCESS_KEY_MAX)
    return AUTH_HEADER_MALFORMED;
  for (const char *c = id; c < colon; c++)
    if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
      return AUTH_HEADER_MALFORMED;
  memcpy(access_key, id, (size_t)(colon - id));
  access_key[colon - id] = '\0';
  const char *s = colon + 1;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
    n--;
  *sig_ok = copy_signature(s, n, sig);
  return AUTH_OK;
}

static int all_digits(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > SIGV2_EXPIRES_DIGITS_MAX)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9')
      return 0;
  return 1;
}

enum auth_status sigv2_verify(const struct auth_verifier *v,
                              const struct auth_request *r,
                              const char *authorization, int query,
                              struct auth_result *out) {
  char access_key[AUTH_ACCESS_KEY_MAX + 1];
  char expires[SIGV2_EXPIRES_DIGITS_MAX + 2];
  char secret[SIGV4_SECRET_MAX + 1];
  char given[SIGV2_SIGNATURE_B64 + 1], expected[SIGV2_SIGNATURE_B64 + 1];
  int sig_ok = 0;
  char *sts = NULL;
  size_t sts_len = 0;
  enum auth_status st;
  memset(secret, 0, sizeof secret);

  if (query) {
    char sig[96];
    if (auth_query_param(r->query, "AWSAccessKeyId", access_key,
                         sizeof access_key) != 0 ||
        !access_key[0] ||
        auth_query_param(r->query, "Signature", sig, sizeof sig) != 0 ||
        auth_query_param(r->query, "Expires", expires, sizeof expires) != 0 ||
        !all_digits(expires))
      return AUTH_QUERY_V2_MALFORMED;
    sig_ok = copy_signature(sig, strlen(sig), given);
    if (r->now > strtoll(expires, NULL, 10))
      return AUTH_EXPIRED;
  } else {
    if ((st = parse_header(authorization, access_key, given, &sig_ok)) != 0)
      return st;
    int count;
    int64_t when;
    const char *date = auth_header_value(r, "x-amz-date", &count);
    if (!date)
      date = auth_header_value(r, "date", &count);
    if (!date || count != 1 || parse_v2_date(date, &when) != 0)
      return AUTH_MISSING_DATE;
    if (when - r->now > AUTH_MAX_SKEW_SECONDS ||
        r->now - when > AUTH_MAX_SKEW_SECONDS)
      return AUTH_TIME_SKEWED;
  }
  /* V2 does not sign the body; a hash sent along is still checked, and
   * aws-chunked framing (SigV4's) makes no sense here. */
  out->payload = AUTH_PAYLOAD_UNSIGNED;
  int count;
  const char *payload = auth_header_value(r, "x-amz-content-sha256", &count);
  if (payload) {
    if (count != 1)
      return AUTH_BAD_CONTENT_SHA256;
    if (strcmp(payload, SIGV4_UNSIGNED_PAYLOAD) != 0) {
      if ((st = auth_classify_payload(payload, out)) != AUTH_OK)
        return st;
      if (auth_payload_is_streaming(out->payload))
        return AUTH_STREAMING_NOT_ALLOWED;
    }
  }

  if ((st = auth_lookup_secret(v, access_key, secret, sizeof secret)) !=
      AUTH_OK)
    goto done;
  struct sigv2_request sr = {
      .method = r->method,
      .path = r->path,
      .query = r->query,
      .headers = r->headers,
      .header_count = r->header_count,
      .virtual_bucket = r->virtual_bucket,
      .expires = query ? expires : NULL,
  };
  int rc = sigv2_string_to_sign(&sr, &sts, &sts_len);
  if (rc) {
    st = rc == CAIRN_ENOMEM ? AUTH_INTERNAL : AUTH_INVALID_ARGUMENT;
    goto done;
  }
  sigv2_signature(secret, sts, sts_len, expected);
  if (!sig_ok || !crypto_equal(expected, given, SIGV2_SIGNATURE_B64)) {
    st = AUTH_SIGNATURE_MISMATCH;
    goto done;
  }
  snprintf(out->access_key, sizeof out->access_key, "%s", access_key);
  st = AUTH_OK;
done:
  free(sts);
  memset(secret, 0, sizeof secret);
  memset(expected, 0, sizeof expected);
  return st;
}

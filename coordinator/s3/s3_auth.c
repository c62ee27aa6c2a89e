/*
 * s3_auth.c - AWS Signature V4 verification (header and presigned).
 *
 * The canonical request is rebuilt from what we parsed, never trusted from
 * the client: the path is re-encoded from its decoded form (S3 encodes each
 * byte but unreserved ones and '/', and never double-encodes), the query
 * from its decoded pairs, sorted; the signed headers from the request.
 */
#include "s3_auth.h"

#include "coordinator.h"
#include "http_server.h"
#include "log.h"
#include "s3_request.h"
#include "s3_uri.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CANONICAL_MAX (256u << 10)
#define SIGNED_HEADERS_MAX 64
static const char EMPTY_SHA256[] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct strbuf {
  char *buf;
  size_t len, cap;
  int failed;
};

static void sb_add(struct strbuf *s, const char *data, size_t n) {
  if (s->failed)
    return;
  if (s->len + n + 1 > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 1024;
    while (cap < s->len + n + 1)
      cap *= 2;
    char *grown = cap <= CANONICAL_MAX ? realloc(s->buf, cap) : NULL;
    if (!grown) {
      s->failed = 1;
      return;
    }
    s->buf = grown;
    s->cap = cap;
  }
  memcpy(s->buf + s->len, data, n);
  s->len += n;
  s->buf[s->len] = '\0';
}

static void sb_str(struct strbuf *s, const char *str) {
  sb_add(s, str, strlen(str));
}

/* AWS URI encoding (s3_uri.h), appended to s. */
static void sb_uri_encode(struct strbuf *s, const char *in, size_t n,
                          int keep_slash) {
  char *encoded = s3_uri_encode(in, n, keep_slash);
  if (!encoded) {
    s->failed = 1;
    return;
  }
  sb_str(s, encoded);
  free(encoded);
}

struct qpair {
  char *name, *value; /* encoded */
};

static int qpair_cmp(const void *a, const void *b) {
  const struct qpair *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : strcmp(x->value, y->value);
}

/* Canonical query string from the raw target, without X-Amz-Signature. */
static int canonical_query(const char *target, struct strbuf *out) {
  const char *q = strchr(target, '?');
  struct qpair pairs[S3_MAX_QUERY + 1] = {{0}};
  size_t n = 0;
  int rc = 0;
  for (const char *p = q ? q + 1 : NULL; p && *p;) {
    const char *amp = strchr(p, '&');
    size_t len = amp ? (size_t)(amp - p) : strlen(p);
    if (len > 0) {
      if (n > S3_MAX_QUERY) {
        rc = -1;
        break;
      }
      const char *eq = memchr(p, '=', len);
      size_t nlen = eq ? (size_t)(eq - p) : len;
      size_t vlen = eq ? len - nlen - 1 : 0;
      /* SigV4 clients encode a space as %20, never '+'. */
      char *name = s3_uri_decode(p, nlen, 0, 0);
      char *value = s3_uri_decode(eq ? eq + 1 : "", vlen, 0, 0);
      struct strbuf en = {0}, ev = {0};
      if (name && value) {
        sb_uri_encode(&en, name, strlen(name), 0);
        sb_uri_encode(&ev, value, strlen(value), 0);
        sb_add(&en, "", 0);
        sb_add(&ev, "", 0);
      }
      free(name);
      free(value);
      if (!en.buf || !ev.buf || en.failed || ev.failed) {
        free(en.buf);
        free(ev.buf);
        rc = -1;
        break;
      }
      if (strcmp(en.buf, "X-Amz-Signature") == 0) {
        free(en.buf);
        free(ev.buf);
      } else {
        pairs[n].name = en.buf;
        pairs[n].value = ev.buf;
        n++;
      }
    }
    p = amp ? amp + 1 : NULL;
  }
  if (rc == 0) {
    qsort(pairs, n, sizeof pairs[0], qpair_cmp);
    for (size_t i = 0; i < n; i++) {
      if (i)
        sb_add(out, "&", 1);
      sb_str(out, pairs[i].name);
      sb_add(out, "=", 1);
      sb_str(out, pairs[i].value);
    }
  }
  for (size_t i = 0; i < n; i++) {
    free(pairs[i].name);
    free(pairs[i].value);
  }
  return rc;
}

/* name:value for one signed header: every occurrence joined by ',', each
 * value trimmed with inner runs of spaces collapsed. */
static void canonical_header(struct s3_request *r, const char *name,
                             struct strbuf *out) {
  const struct http_header *h;
  size_t n = http_request_headers(r->http, &h);
  int first = 1;
  sb_str(out, name);
  sb_add(out, ":", 1);
  for (size_t i = 0; i < n; i++) {
    if (strcmp(h[i].name, name) != 0)
      continue;
    if (!first)
      sb_add(out, ",", 1);
    first = 0;
    const char *v = h[i].value;
    while (*v == ' ' || *v == '\t')
      v++;
    size_t len = strlen(v);
    while (len && (v[len - 1] == ' ' || v[len - 1] == '\t'))
      len--;
    for (size_t j = 0; j < len; j++) {
      if ((v[j] == ' ' || v[j] == '\t') && j > 0 &&
          (v[j - 1] == ' ' || v[j - 1] == '\t'))
        continue;
      sb_add(out, v[j] == '\t' ? " " : &v[j], 1);
    }
  }
  sb_add(out, "\n", 1);
}

static void derive_key(const char *secret, const char *date, const char *region,
                       const char *service, uint8_t key[SHA256_LEN]) {
  char k0[160];
  int n = snprintf(k0, sizeof k0, "AWS4%s", secret);
  crypto_hmac_sha256(k0, (size_t)n, date, strlen(date), key);
  crypto_hmac_sha256(key, SHA256_LEN, region, strlen(region), key);
  crypto_hmac_sha256(key, SHA256_LEN, service, strlen(service), key);
  crypto_hmac_sha256(key, SHA256_LEN, "aws4_request", 12, key);
  memset(k0, 0, sizeof k0);
}

/* Secret of an access key; 0, or -1 when unknown. */
static int lookup_secret(struct s3_request *r, const char *access_key,
                         char *secret, size_t cap) {
  const struct coord_secrets *s = &r->c->secrets;
  if (strcmp(access_key, s->root_access_key) != 0)
    return -1;
  snprintf(secret, cap, "%s", s->root_secret_key);
  return 0;
}

static int64_t parse_amz_date(const char *text) {
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  if (!text || strlen(text) != 16)
    return -1;
  const char *end = strptime(text, "%Y%m%dT%H%M%SZ", &tm);
  if (!end || *end)
    return -1;
  return (int64_t)timegm(&tm) * 1000;
}

struct sig_input {
  char access_key[129];
  char date[9], region[64], service[16];
  char signed_headers[1024];
  char signature[65];
  const char *amz_date;
  const char *payload_hash;
};

/* Parses "Credential=AK/date/region/s3/aws4_request". */
static int parse_credential(const char *cred, size_t len,
                            struct sig_input *in) {
  char buf[512];
  if (len >= sizeof buf)
    return -1;
  memcpy(buf, cred, len);
  buf[len] = '\0';
  char *parts[5], *save = NULL;
  int n = 0;
  /* The access key cannot hold '/', so splitting on it is exact. */
  for (char *t = strtok_r(buf, "/", &save); t && n < 5;
       t = strtok_r(NULL, "/", &save))
    parts[n++] = t;
  if (n != 5 || strcmp(parts[4], "aws4_request") != 0 ||
      strlen(parts[0]) >= sizeof in->access_key || strlen(parts[1]) != 8 ||
      strlen(parts[2]) >= sizeof in->region ||
      strlen(parts[3]) >= sizeof in->service)
    return -1;
  strcpy(in->access_key, parts[0]);
  strcpy(in->date, parts[1]);
  strcpy(in->region, parts[2]);
  strcpy(in->service, parts[3]);
  return 0;
}

/* Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
 * Signature=... (order and spacing free). */
static const char *parse_authorization(const char *h, struct sig_input *in) {
  static const char scheme[] = "AWS4-HMAC-SHA256";
  if (strncmp(h, scheme, sizeof scheme - 1) != 0 ||
      (h[sizeof scheme - 1] != ' '))
    return "AuthorizationHeaderMalformed";
  int have = 0;
  for (const char *p = h + sizeof scheme - 1; *p;) {
    while (*p == ' ' || *p == ',')
      p++;
    const char *end = p + strcspn(p, ",");
    const char *eq = memchr(p, '=', (size_t)(end - p));
    if (!eq)
      break;
    size_t klen = (size_t)(eq - p), vlen = (size_t)(end - eq - 1);
    const char *v = eq + 1;
    while (vlen && v[vlen - 1] == ' ')
      vlen--;
    if (klen == 10 && strncmp(p, "Credential", 10) == 0) {
      if (parse_credential(v, vlen, in) != 0)
        return "AuthorizationHeaderMalformed";
      have |= 1;
    } else if (klen == 13 && strncmp(p, "SignedHeaders", 13) == 0) {
      if (vlen >= sizeof in->signed_headers)
        return "AuthorizationHeaderMalformed";
      memcpy(in->signed_headers, v, vlen);
      in->signed_headers[vlen] = '\0';
      have |= 2;
    } else if (klen == 9 && strncmp(p, "Signature", 9) == 0) {
      if (vlen != 64)
        return "SignatureDoesNotMatch";
      memcpy(in->signature, v, 64);
      in->signature[64] = '\0';
      have |= 4;
    }
    p = end;
  }
  return have == 7 ? NULL : "AuthorizationHeaderMalformed";
}

/* Builds the canonical request and checks the signature. */
static const char *verify(struct s3_request *r, struct sig_input *in,
                          uint8_t signing_key_out[SHA256_LEN]) {
  char secret[160];
  if (lookup_secret(r, in->access_key, secret, sizeof secret) != 0)
    return "InvalidAccessKeyId";
  if (strncmp(in->amz_date, in->date, 8) != 0 ||
      strcmp(in->service, "s3") != 0) {
    memset(secret, 0, sizeof secret);
    return "AuthorizationHeaderMalformed";
  }
  struct strbuf cr = {0};
  sb_str(&cr, r->method);
  sb_add(&cr, "\n", 1);
  sb_uri_encode(&cr, r->path, strlen(r->path), 1);
  sb_add(&cr, "\n", 1);
  if (canonical_query(http_request_target(r->http), &cr) != 0) {
    free(cr.buf);
    memset(secret, 0, sizeof secret);
    return "InvalidArgument";
  }
  sb_add(&cr, "\n", 1);
  int has_host = 0, count = 0;
  char names[sizeof in->signed_headers];
  strcpy(names, in->signed_headers);
  char *save = NULL;
  for (char *t = strtok_r(names, ";", &save); t;
       t = strtok_r(NULL, ";", &save)) {
    if (++count > SIGNED_HEADERS_MAX)
      break;
    for (char *c = t; *c; c++)
      *c = (char)tolower((unsigned char)*c);
    has_host |= strcmp(t, "host") == 0;
    canonical_header(r, t, &cr);
  }
  sb_add(&cr, "\n", 1);
  sb_str(&cr, in->signed_headers);
  sb_add(&cr, "\n", 1);
  sb_str(&cr, in->payload_hash);
  if (cr.failed || !has_host || count > SIGNED_HEADERS_MAX) {
    free(cr.buf);
    memset(secret, 0, sizeof secret);
    return cr.failed ? "InternalError" : "AuthorizationHeaderMalformed";
  }
  uint8_t digest[SHA256_LEN];
  char digest_hex[65], sts[512], expected[65];
  crypto_sha256(cr.buf, cr.len, digest);
  crypto_hex(digest, SHA256_LEN, digest_hex);
  log_debug("auth", "[req=%s] canonical request: %s", http_request_id(r->http),
            cr.buf);
  free(cr.buf);
  int sts_len = snprintf(
      sts, sizeof sts, "AWS4-HMAC-SHA256\n%s\n%s/%s/%s/aws4_request\n%s",
      in->amz_date, in->date, in->region, in->service, digest_hex);
  uint8_t key[SHA256_LEN], sig[SHA256_LEN];
  derive_key(secret, in->date, in->region, in->service, key);
  memset(secret, 0, sizeof secret);
  crypto_hmac_sha256(key, SHA256_LEN, sts, (size_t)sts_len, sig);
  crypto_hex(sig, SHA256_LEN, expected);
  for (char *c = in->signature; *c; c++)
    *c = (char)tolower((unsigned char)*c);
  if (!crypto_equal(expected, in->signature, 64))
    return "SignatureDoesNotMatch";
  if (signing_key_out)
    memcpy(signing_key_out, key, SHA256_LEN);
  return NULL;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *authenticate_header(struct s3_request *r,
                                       const char *authorization) {
  struct sig_input in;
  memset(&in, 0, sizeof in);
  const char *error = parse_authorization(authorization, &in);
  if (error)
    return error;
  in.amz_date = s3_header(r, "x-amz-date");
  if (!in.amz_date)
    return "AccessDenied"; /* AWS: x-amz-date (or Date) is required */
  int64_t when = parse_amz_date(in.amz_date);
  if (when < 0)
    return "AccessDenied";
  int64_t skew = now_ms() - when;
  if (skew > SIGV4_MAX_SKEW_MS || skew < -SIGV4_MAX_SKEW_MS)
    return "RequestTimeTooSkewed";
  in.payload_hash = s3_header(r, "x-amz-content-sha256");
  if (!in.payload_hash)
    return "InvalidRequest"; /* S3 requires it with SigV4 headers */
  uint8_t key[SHA256_LEN];
  if ((error = verify(r, &in, key)) != NULL)
    return error;
  snprintf(r->access_key, sizeof r->access_key, "%s", in.access_key);
  if (strncmp(in.payload_hash, "STREAMING-AWS4-HMAC-SHA256", 26) == 0) {
    struct s3_auth_stream *s = calloc(1, sizeof *s);
    if (!s)
      return "InternalError";
    memcpy(s->signing_key, key, SHA256_LEN);
    memcpy(s->seed_signature, in.signature, 65);
    snprintf(s->amz_date, sizeof s->amz_date, "%s", in.amz_date);
    snprintf(s->scope, sizeof s->scope, "%s/%s/%s/aws4_request", in.date,
             in.region, in.service);
    r->auth_stream = s;
  }
  return NULL;
}

static const char *authenticate_presigned(struct s3_request *r) {
  struct sig_input in;
  memset(&in, 0, sizeof in);
  const char *alg = s3_query(r, "X-Amz-Algorithm");
  const char *cred = s3_query(r, "X-Amz-Credential");
  const char *date = s3_query(r, "X-Amz-Date");
  const char *expires = s3_query(r, "X-Amz-Expires");
  const char *headers = s3_query(r, "X-Amz-SignedHeaders");
  const char *sig = s3_query(r, "X-Amz-Signature");
  if (!alg || strcmp(alg, "AWS4-HMAC-SHA256") != 0 || !cred || !date ||
      !expires || !headers || !sig || strlen(sig) != 64 ||
      strlen(headers) >= sizeof in.signed_headers ||
      parse_credential(cred, strlen(cred), &in) != 0)
    return "AuthorizationQueryParametersError";
  char *end;
  long exp = strtol(expires, &end, 10);
  if (*end || exp < 1 || exp > SIGV4_MAX_EXPIRES)
    return "AuthorizationQueryParametersError";
  int64_t when = parse_amz_date(date);
  if (when < 0)
    return "AuthorizationQueryParametersError";
  int64_t now = now_ms();
  if (when - now > SIGV4_MAX_SKEW_MS)
    return "RequestTimeTooSkewed";
  if (now > when + exp * 1000)
    return "AccessDenied"; /* "Request has expired" */
  strcpy(in.signed_headers, headers);
  memcpy(in.signature, sig, 65);
  in.amz_date = date;
  const char *hash = s3_header(r, "x-amz-content-sha256");
  in.payload_hash = hash ? hash : "UNSIGNED-PAYLOAD";
  const char *error = verify(r, &in, NULL);
  if (error)
    return error;
  snprintf(r->access_key, sizeof r->access_key, "%s", in.access_key);
  return NULL;
}

const char *s3_authenticate(struct s3_request *r) {
  const char *authorization = s3_header(r, "authorization");
  if (authorization)
    return authenticate_header(r, authorization);
  if (s3_has_query(r, "X-Amz-Algorithm") || s3_has_query(r, "X-Amz-Signature"))
    return authenticate_presigned(r);
  /* Anonymous: nothing is public until ACLs and bucket policies exist. */
  return "AccessDenied";
}

const struct s3_auth_stream *s3_auth_stream_of(const struct s3_request *r) {
  return r->auth_stream;
}

static void chained_signature(const struct s3_auth_stream *s,
                              const char *algorithm, const char *previous,
                              const char *empty_or_null,
                              const uint8_t digest[SHA256_LEN], char out[65]) {
  char hex[65], sts[512];
  crypto_hex(digest, SHA256_LEN, hex);
  int n = empty_or_null
              ? snprintf(sts, sizeof sts, "%s\n%s\n%s\n%s\n%s\n%s", algorithm,
                         s->amz_date, s->scope, previous, empty_or_null, hex)
              : snprintf(sts, sizeof sts, "%s\n%s\n%s\n%s\n%s", algorithm,
                         s->amz_date, s->scope, previous, hex);
  uint8_t sig[SHA256_LEN];
  crypto_hmac_sha256(s->signing_key, SHA256_LEN, sts, (size_t)n, sig);
  crypto_hex(sig, SHA256_LEN, out);
}

void sigv4_chunk_signature(const struct s3_auth_stream *s,
                           const char *previous_signature,
                           const uint8_t chunk_sha256[SHA256_LEN],
                           char out[65]) {
  chained_signature(s, "AWS4-HMAC-SHA256-PAYLOAD", previous_signature,
                    EMPTY_SHA256, chunk_sha256, out);
}

void sigv4_trailer_signature(const struct s3_auth_stream *s,
                             const char *previous_signature,
                             const uint8_t trailer_sha256[SHA256_LEN],
                             char out[65]) {
  chained_signature(s, "AWS4-HMAC-SHA256-TRAILER", previous_signature, NULL,
                    trailer_sha256, out);
}

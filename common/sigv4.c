/*
 * sigv4.c - AWS Signature Version 4 signing primitives (see sigv4.h).
 *
 * Every buffer is bounded: the canonical request grows in a string buffer
 * capped at SIGV4_CANONICAL_MAX, query pairs are capped at
 * SIGV4_QUERY_PARAMS_MAX, signed headers at SIGV4_SIGNED_HEADERS_MAX.
 */
#include "sigv4.h"

#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- bounded string buffer ---------------------------------------------- */

struct sbuf {
  char *data;
  size_t len, cap, max;
  int err; /* first error; further appends are ignored */
};

static void sb_init(struct sbuf *s, size_t max) {
  memset(s, 0, sizeof *s);
  s->max = max;
}

static void sb_add(struct sbuf *s, const char *p, size_t n) {
  if (s->err)
    return;
  if (s->len + n + 1 > s->max) {
    s->err = CAIRN_ETOOBIG;
    return;
  }
  if (s->len + n + 1 > s->cap) {
    size_t cap = s->cap ? s->cap : 512;
    while (cap < s->len + n + 1)
      cap *= 2;
    if (cap > s->max)
      cap = s->max;
    char *grown = realloc(s->data, cap);
    if (!grown) {
      s->err = CAIRN_ENOMEM;
      return;
    }
    s->data = grown;
    s->cap = cap;
  }
  memcpy(s->data + s->len, p, n);
  s->len += n;
  s->data[s->len] = '\0';
}

static void sb_str(struct sbuf *s, const char *str) {
  sb_add(s, str, strlen(str));
}
static void sb_chr(struct sbuf *s, char c) {
  sb_add(s, &c, 1);
}

static void sb_encode(struct sbuf *s, const char *in, size_t n,
                      int keep_slash) {
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < n && !s->err; i++) {
    unsigned char c = (unsigned char)in[i];
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
        (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
        c == '~' || (c == '/' && keep_slash)) {
      sb_chr(s, (char)c);
    } else {
      char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
      sb_add(s, esc, 3);
    }
  }
}

/* ---- URI encoding ----------------------------------------------------------
 */

static int is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
}

size_t sigv4_uri_encode(const char *in, size_t len, int keep_slash, char *out,
                        size_t cap) {
  static const char hex[] = "0123456789ABCDEF";
  size_t need = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)in[i];
    char tmp[3];
    size_t k;
    if (is_unreserved(c) || (c == '/' && keep_slash)) {
      tmp[0] = (char)c;
      k = 1;
    } else {
      tmp[0] = '%';
      tmp[1] = hex[c >> 4];
      tmp[2] = hex[c & 15];
      k = 3;
    }
    for (size_t j = 0; j < k; j++, need++)
      if (need + 1 < cap)
        out[need] = tmp[j];
  }
  if (cap)
    out[need < cap ? need : cap - 1] = '\0';
  return need;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

size_t sigv4_uri_decode(const char *in, size_t len, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    if (in[i] == '%' && i + 2 < len && hexval(in[i + 1]) >= 0 &&
        hexval(in[i + 2]) >= 0) {
      out[o++] = (char)(hexval(in[i + 1]) << 4 | hexval(in[i + 2]));
      i += 2;
    } else {
      out[o++] = in[i];
    }
  }
  out[o] = '\0';
  return o;
}

/* ---- canonical request ------------------------------------------------------
 */

/* Path: each raw segment decoded then encoded, '/' separators kept. */
static void canonical_uri(struct sbuf *s, const char *path) {
  if (!path || !*path) {
    sb_chr(s, '/');
    return;
  }
  size_t len = strlen(path);
  char *seg = malloc(len + 1);
  if (!seg) {
    s->err = CAIRN_ENOMEM;
    return;
  }
  const char *p = path;
  for (;;) {
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    size_t dn = sigv4_uri_decode(p, n, seg);
    sb_encode(s, seg, dn, 0);
    if (!slash)
      break;
    sb_chr(s, '/');
    p = slash + 1;
  }
  free(seg);
}

struct qpair {
  const char *name, *value; /* encoded, inside one arena */
};

static int qpair_cmp(const void *a, const void *b) {
  const struct qpair *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : strcmp(x->value, y->value);
}

/* Query: decoded and re-encoded pairs, sorted. The arena holds every
 * encoded string: at most 3 bytes per input byte plus 2 NULs per pair. */
static void canonical_query(struct sbuf *s, const char *query,
                            int exclude_signature) {
  if (!query || !*query)
    return;
  size_t qlen = strlen(query), count = 1;
  for (size_t i = 0; i < qlen; i++)
    count += query[i] == '&';
  if (count > SIGV4_QUERY_PARAMS_MAX) {
    s->err = CAIRN_EINVAL;
    return;
  }
  size_t arena_len = 3 * qlen + 2 * count + 2;
  char *arena = malloc(arena_len), *tmp = malloc(qlen + 1);
  struct qpair *pairs = malloc(count * sizeof *pairs);
  size_t n = 0, used = 0;
  if (!arena || !tmp || !pairs) {
    s->err = CAIRN_ENOMEM;
    goto done;
  }
  for (const char *p = query; p;) {
    const char *amp = strchr(p, '&');
    size_t len = amp ? (size_t)(amp - p) : strlen(p);
    if (len > 0) {
      const char *eq = memchr(p, '=', len);
      size_t nlen = eq ? (size_t)(eq - p) : len;
      size_t dn = sigv4_uri_decode(p, nlen, tmp);
      char *name = arena + used;
      used += sigv4_uri_encode(tmp, dn, 0, name, arena_len - used) + 1;
      size_t dv = eq ? sigv4_uri_decode(eq + 1, len - nlen - 1, tmp) : 0;
      char *value = arena + used;
      used += sigv4_uri_encode(tmp, dv, 0, value, arena_len - used) + 1;
      if (!(exclude_signature && strcmp(name, "X-Amz-Signature") == 0)) {
        pairs[n].name = name;
        pairs[n].value = value;
        n++;
      }
    }
    p = amp ? amp + 1 : NULL;
  }
  qsort(pairs, n, sizeof pairs[0], qpair_cmp);
  for (size_t i = 0; i < n; i++) {
    if (i)
      sb_chr(s, '&');
    sb_str(s, pairs[i].name);
    sb_chr(s, '=');
    sb_str(s, pairs[i].value);
  }
done:
  free(arena);
  free(tmp);
  free(pairs);
}

static int is_space(char c) {
  return c == ' ' || c == '\t';
}

/* "name:v1,v2\n": every occurrence, trimmed, inner white space collapsed. */
static void canonical_header(struct sbuf *s, const char *name, size_t nlen,
                             const struct sigv4_header *h, size_t count) {
  sb_add(s, name, nlen);
  sb_chr(s, ':');
  int first = 1;
  for (size_t i = 0; i < count; i++) {
    if (!h[i].name || strlen(h[i].name) != nlen ||
        strncasecmp(h[i].name, name, nlen) != 0)
      continue;
    if (!first)
      sb_chr(s, ',');
    first = 0;
    const char *v = h[i].value ? h[i].value : "";
    int pending_space = 0, started = 0;
    for (; *v; v++) {
      if (is_space(*v)) {
        pending_space = started;
        continue;
      }
      if (pending_space)
        sb_chr(s, ' ');
      pending_space = 0;
      started = 1;
      sb_chr(s, *v);
    }
  }
  sb_chr(s, '\n');
}

int sigv4_canonical_request(const struct sigv4_request *r, char **out,
                            size_t *out_len) {
  struct sbuf s;
  int count = 0;
  *out = NULL;
  if (!r->method || !*r->method || !r->signed_headers || !*r->signed_headers ||
      !r->payload_hash || strlen(r->signed_headers) > SIGV4_SIGNED_HEADERS_LEN)
    return CAIRN_EINVAL;
  sb_init(&s, SIGV4_CANONICAL_MAX);
  sb_str(&s, r->method);
  sb_chr(&s, '\n');
  canonical_uri(&s, r->path);
  sb_chr(&s, '\n');
  canonical_query(&s, r->query, r->exclude_signature_param);
  sb_chr(&s, '\n');
  for (const char *p = r->signed_headers; p && !s.err;) {
    const char *semi = strchr(p, ';');
    size_t n = semi ? (size_t)(semi - p) : strlen(p);
    if (n == 0 || ++count > SIGV4_SIGNED_HEADERS_MAX) {
      s.err = CAIRN_EINVAL;
      break;
    }
    canonical_header(&s, p, n, r->headers, r->header_count);
    p = semi ? semi + 1 : NULL;
  }
  sb_chr(&s, '\n');
  sb_str(&s, r->signed_headers);
  sb_chr(&s, '\n');
  sb_str(&s, r->payload_hash);
  if (s.err) {
    free(s.data);
    return s.err;
  }
  *out = s.data;
  if (out_len)
    *out_len = s.len;
  return 0;
}

/* ---- keys and signatures --------------------------------------------------
 */

int sigv4_scope(const char *date, const char *region, const char *service,
                char out[SIGV4_SCOPE_MAX]) {
  int n = snprintf(out, SIGV4_SCOPE_MAX, "%s/%s/%s/aws4_request", date, region,
                   service);
  return n < 0 || n >= SIGV4_SCOPE_MAX ? CAIRN_EINVAL : 0;
}

int sigv4_signing_key(const char *secret, const char *date, const char *region,
                      const char *service, uint8_t key[SHA256_LEN]) {
  char k0[4 + SIGV4_SECRET_MAX + 1];
  size_t slen = strlen(secret);
  if (slen > SIGV4_SECRET_MAX)
    return CAIRN_EINVAL;
  memcpy(k0, "AWS4", 4);
  memcpy(k0 + 4, secret, slen);
  crypto_hmac_sha256(k0, 4 + slen, date, strlen(date), key);
  crypto_hmac_sha256(key, SHA256_LEN, region, strlen(region), key);
  crypto_hmac_sha256(key, SHA256_LEN, service, strlen(service), key);
  crypto_hmac_sha256(key, SHA256_LEN, "aws4_request", 12, key);
  memset(k0, 0, sizeof k0);
  return 0;
}

int sigv4_signing_key_cached(struct sigv4_key_cache *cache, const char *secret,
                             const char *date, const char *region,
                             const char *service, uint8_t key[SHA256_LEN]) {
  if (!cache || strlen(date) >= sizeof cache->slot[0].date ||
      strlen(region) > SIGV4_REGION_MAX || strlen(service) > SIGV4_SERVICE_MAX)
    return sigv4_signing_key(secret, date, region, service, key);
  for (unsigned i = 0; i < SIGV4_KEY_CACHE_SLOTS; i++) {
    const struct sigv4_key_cache_slot *e = &cache->slot[i];
    if (e->used && strcmp(e->date, date) == 0 &&
        strcmp(e->region, region) == 0 && strcmp(e->service, service) == 0 &&
        strcmp(e->secret, secret) == 0) {
      memcpy(key, e->key, SHA256_LEN);
      cache->hits++;
      return 0;
    }
  }
  int rc = sigv4_signing_key(secret, date, region, service, key);
  if (rc != 0)
    return rc;
  cache->misses++;
  struct sigv4_key_cache_slot *e =
      &cache->slot[cache->next++ % SIGV4_KEY_CACHE_SLOTS];
  snprintf(e->secret, sizeof e->secret, "%s", secret);
  snprintf(e->date, sizeof e->date, "%s", date);
  snprintf(e->region, sizeof e->region, "%s", region);
  snprintf(e->service, sizeof e->service, "%s", service);
  memcpy(e->key, key, SHA256_LEN);
  e->used = 1;
  return 0;
}

void sigv4_key_cache_clear(struct sigv4_key_cache *cache) {
  if (cache)
    explicit_bzero(cache, sizeof *cache);
}

static void hmac_hex(const uint8_t key[SHA256_LEN], const char *msg, size_t len,
                     char out[SIGV4_SIGNATURE_HEX + 1]) {
  uint8_t mac[SHA256_LEN];
  crypto_hmac_sha256(key, SHA256_LEN, msg, len, mac);
  crypto_hex(mac, SHA256_LEN, out);
}

void sigv4_signature(const uint8_t key[SHA256_LEN], const char *amz_date,
                     const char *scope, const char *canonical,
                     size_t canonical_len, char out[SIGV4_SIGNATURE_HEX + 1]) {
  uint8_t digest[SHA256_LEN];
  char hex[2 * SHA256_LEN + 1];
  char sts[64 + SIGV4_AMZ_DATE_LEN + SIGV4_SCOPE_MAX + 2 * SHA256_LEN];
  crypto_sha256(canonical, canonical_len, digest);
  crypto_hex(digest, SHA256_LEN, hex);
  int n = snprintf(sts, sizeof sts, SIGV4_ALGORITHM "\n%.16s\n%.159s\n%s",
                   amz_date, scope, hex);
  hmac_hex(key, sts, (size_t)n, out);
}

int sigv4_sign_canonical(const struct sigv4_request *r,
                         const uint8_t key[SHA256_LEN], const char *amz_date,
                         const char *scope, char out[SIGV4_SIGNATURE_HEX + 1]) {
  char *canonical;
  size_t len;
  int rc = sigv4_canonical_request(r, &canonical, &len);
  if (rc)
    return rc;
  sigv4_signature(key, amz_date, scope, canonical, len, out);
  free(canonical);
  return 0;
}

static void chained(const struct sigv4_stream *s, const char *algorithm,
                    const char *previous, int with_empty,
                    const uint8_t digest[SHA256_LEN],
                    char out[SIGV4_SIGNATURE_HEX + 1]) {
  char hex[2 * SHA256_LEN + 1];
  char sts[64 + SIGV4_AMZ_DATE_LEN + SIGV4_SCOPE_MAX + 3 * 65];
  crypto_hex(digest, SHA256_LEN, hex);
  int n = snprintf(sts, sizeof sts, "%s\n%.16s\n%.159s\n%.64s\n%s%s%s",
                   algorithm, s->amz_date, s->scope, previous,
                   with_empty ? SIGV4_EMPTY_SHA256 : "", with_empty ? "\n" : "",
                   hex);
  hmac_hex(s->signing_key, sts, (size_t)n, out);
}

void sigv4_sign_chunk(const struct sigv4_stream *s, const char *previous,
                      const uint8_t chunk_sha256[SHA256_LEN],
                      char out[SIGV4_SIGNATURE_HEX + 1]) {
  chained(s, "AWS4-HMAC-SHA256-PAYLOAD", previous, 1, chunk_sha256, out);
}

void sigv4_sign_trailer(const struct sigv4_stream *s, const char *previous,
                        const uint8_t trailer_sha256[SHA256_LEN],
                        char out[SIGV4_SIGNATURE_HEX + 1]) {
  chained(s, "AWS4-HMAC-SHA256-TRAILER", previous, 0, trailer_sha256, out);
}

/* ---- dates ------------------------------------------------------------------
 */

static int digits(const char *p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9')
      return -1;
    v = v * 10 + (p[i] - '0');
  }
  *out = v;
  return 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), no libc time zone. */
static int64_t days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static int valid_fields(int y, int mo, int d, int h, int mi, int s) {
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return y >= 1970 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 &&
         d <= mdays[mo - 1] && h <= 23 && mi <= 59 && s <= 60;
}

int sigv4_parse_amz_date(const char *t, int64_t *unix_seconds) {
  int y, mo, d, h, mi, s;
  if (!t || strlen(t) != SIGV4_AMZ_DATE_LEN || t[8] != 'T' || t[15] != 'Z' ||
      digits(t, 4, &y) || digits(t + 4, 2, &mo) || digits(t + 6, 2, &d) ||
      digits(t + 9, 2, &h) || digits(t + 11, 2, &mi) || digits(t + 13, 2, &s) ||
      !valid_fields(y, mo, d, h, mi, s))
    return CAIRN_EINVAL;
  *unix_seconds = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
  return 0;
}

int sigv4_parse_http_date(const char *t, int64_t *unix_seconds) {
  static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  int y, mo = 0, d, h, mi, s;
  /* "Fri, 24 May 2013 00:00:00 GMT" */
  if (!t || strlen(t) != 29 || t[3] != ',' || t[4] != ' ' || t[7] != ' ' ||
      t[11] != ' ' || t[16] != ' ' || t[19] != ':' || t[22] != ':' ||
      strcmp(t + 25, " GMT") != 0 || digits(t + 5, 2, &d) ||
      digits(t + 12, 4, &y) || digits(t + 17, 2, &h) ||
      digits(t + 20, 2, &mi) || digits(t + 23, 2, &s))
    return CAIRN_EINVAL;
  for (int i = 0; i < 12; i++)
    if (strncmp(t + 8, months + 3 * i, 3) == 0)
      mo = i + 1;
  if (!mo || !valid_fields(y, mo, d, h, mi, s))
    return CAIRN_EINVAL;
  *unix_seconds = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
  return 0;
}

void sigv4_format_amz_date(int64_t unix_seconds,
                           char out[SIGV4_AMZ_DATE_LEN + 1]) {
  time_t t = (time_t)unix_seconds;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, SIGV4_AMZ_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm);
}

/* ---- client side
 * ------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int sigv4_signed_headers_of(const struct sigv4_header *headers, size_t n,
                            char *out, size_t cap) {
  char *names[SIGV4_SIGNED_HEADERS_MAX];
  size_t count = 0, used = 0;
  int rc = 0;
  if (n > SIGV4_SIGNED_HEADERS_MAX)
    return CAIRN_EINVAL;
  for (size_t i = 0; i < n; i++) {
    char *lower = strdup(headers[i].name);
    if (!lower) {
      rc = CAIRN_ENOMEM;
      goto done;
    }
    for (char *c = lower; *c; c++)
      if (*c >= 'A' && *c <= 'Z')
        *c = (char)(*c - 'A' + 'a');
    names[count++] = lower;
  }
  qsort(names, count, sizeof names[0], cmp_str);
  if (cap)
    out[0] = '\0';
  for (size_t i = 0; i < count; i++) {
    if (i && strcmp(names[i], names[i - 1]) == 0)
      continue;
    size_t len = strlen(names[i]);
    if (used + len + 2 > cap) {
      rc = CAIRN_ETOOBIG;
      goto done;
    }
    if (used)
      out[used++] = ';';
    memcpy(out + used, names[i], len + 1);
    used += len;
  }
done:
  for (size_t i = 0; i < count; i++)
    free(names[i]);
  return rc;
}

/* Key, scope and the effective signed headers for a client signature. */
static int client_prepare(const struct sigv4_credentials *c,
                          const struct sigv4_request *r, const char *amz_date,
                          uint8_t key[SHA256_LEN], char scope[SIGV4_SCOPE_MAX],
                          char signed_headers[SIGV4_SIGNED_HEADERS_LEN + 1]) {
  char date[9];
  int rc;
  if (!c || !c->access_key || !c->secret_key || !c->region || !c->service ||
      !amz_date || strlen(amz_date) != SIGV4_AMZ_DATE_LEN)
    return CAIRN_EINVAL;
  memcpy(date, amz_date, 8);
  date[8] = '\0';
  if ((rc = sigv4_scope(date, c->region, c->service, scope)) != 0)
    return rc;
  if (r->signed_headers) {
    if (strlen(r->signed_headers) > SIGV4_SIGNED_HEADERS_LEN)
      return CAIRN_EINVAL;
    strcpy(signed_headers, r->signed_headers);
  } else if ((rc = sigv4_signed_headers_of(
                  r->headers, r->header_count, signed_headers,
                  SIGV4_SIGNED_HEADERS_LEN + 1)) != 0) {
    return rc;
  }
  return sigv4_signing_key(c->secret_key, date, c->region, c->service, key);
}

int sigv4_sign_request(const struct sigv4_credentials *c,
                       const struct sigv4_request *r, const char *amz_date,
                       char *authorization, size_t cap,
                       char signature_out[SIGV4_SIGNATURE_HEX + 1]) {
  uint8_t key[SHA256_LEN];
  char scope[SIGV4_SCOPE_MAX], names[SIGV4_SIGNED_HEADERS_LEN + 1];
  char signature[SIGV4_SIGNATURE_HEX + 1];
  int rc = client_prepare(c, r, amz_date, key, scope, names);
  if (rc)
    goto done;
  struct sigv4_request copy = *r;
  copy.signed_headers = names;
  if ((rc = sigv4_sign_canonical(&copy, key, amz_date, scope, signature)))
    goto done;
  int n = snprintf(authorization, cap,
                   SIGV4_ALGORITHM " Credential=%s/%s, SignedHeaders=%s, "
                                   "Signature=%s",
                   c->access_key, scope, names, signature);
  if (n < 0 || (size_t)n >= cap) {
    rc = CAIRN_ETOOBIG;
    goto done;
  }
  if (signature_out)
    memcpy(signature_out, signature, sizeof signature);
done:
  memset(key, 0, sizeof key);
  return rc;
}

int sigv4_presign(const struct sigv4_credentials *c,
                  const struct sigv4_request *r, const char *amz_date,
                  unsigned expires, char **query_out) {
  uint8_t key[SHA256_LEN];
  char scope[SIGV4_SCOPE_MAX], names[SIGV4_SIGNED_HEADERS_LEN + 1];
  char signature[SIGV4_SIGNATURE_HEX + 1], num[16];
  struct sbuf q;
  int rc;
  *query_out = NULL;
  sb_init(&q, SIGV4_CANONICAL_MAX);
  if (expires < 1 || expires > 604800) {
    rc = CAIRN_EINVAL;
    goto done;
  }
  if ((rc = client_prepare(c, r, amz_date, key, scope, names)))
    goto done;
  if (r->query && *r->query) {
    sb_str(&q, r->query);
    sb_chr(&q, '&');
  }
  sb_str(&q, "X-Amz-Algorithm=" SIGV4_ALGORITHM "&X-Amz-Credential=");
  sb_encode(&q, c->access_key, strlen(c->access_key), 0);
  sb_str(&q, "%2F");
  sb_encode(&q, scope, strlen(scope), 0);
  sb_str(&q, "&X-Amz-Date=");
  sb_str(&q, amz_date);
  snprintf(num, sizeof num, "%u", expires);
  sb_str(&q, "&X-Amz-Expires=");
  sb_str(&q, num);
  sb_str(&q, "&X-Amz-SignedHeaders=");
  sb_encode(&q, names, strlen(names), 0);
  if (q.err) {
    rc = q.err;
    goto done;
  }
  struct sigv4_request copy = *r;
  copy.query = q.data;
  copy.signed_headers = names;
  copy.payload_hash =
      r->payload_hash ? r->payload_hash : SIGV4_UNSIGNED_PAYLOAD;
  copy.exclude_signature_param = 1;
  if ((rc = sigv4_sign_canonical(&copy, key, amz_date, scope, signature)))
    goto done;
  sb_str(&q, "&X-Amz-Signature=");
  sb_str(&q, signature);
  if ((rc = q.err))
    goto done;
  *query_out = q.data;
  q.data = NULL;
done:
  free(q.data);
  memset(key, 0, sizeof key);
  return rc;
}

/*
 * auth.c - AWS Signature V4 verification (see auth.h).
 *
 * The canonical request is rebuilt from the request as received, with the
 * same function the signers use (common/sigv4.c); nothing the client claims
 * about canonical forms is trusted. Every field parsed from the network is
 * copied into a fixed-size buffer after its length is checked.
 */
#include "auth.h"

#include "auth_internal.h"
#include "sigv2.h"

#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
  const char *code;
  int http;
  const char *message;
} statuses[] = {
#define XX(name, code, http, msg) {code, http, msg},
    AUTH_STATUS_MAP(XX)
#undef XX
};

#define STATUS_COUNT (sizeof statuses / sizeof statuses[0])

const char *auth_status_s3_code(enum auth_status s) {
  return (size_t)s < STATUS_COUNT ? statuses[s].code : "InternalError";
}

int auth_status_http(enum auth_status s) {
  return (size_t)s < STATUS_COUNT ? statuses[s].http : 500;
}

const char *auth_status_message(enum auth_status s) {
  return (size_t)s < STATUS_COUNT ? statuses[s].message
                                  : statuses[AUTH_INTERNAL].message;
}

/* ---- helpers ------------------------------------------------------------- */

struct parsed {
  char access_key[AUTH_ACCESS_KEY_MAX + 1];
  char date[9];
  char region[SIGV4_REGION_MAX + 1];
  char service[SIGV4_SERVICE_MAX + 1];
  char signed_headers[SIGV4_SIGNED_HEADERS_LEN + 1];
  char signature[SIGV4_SIGNATURE_HEX + 1];
  char amz_date[SIGV4_AMZ_DATE_LEN + 1];
};

const char *auth_header_value(const struct auth_request *r, const char *name,
                              int *count) {
  const char *found = NULL;
  int n = 0;
  for (size_t i = 0; i < r->header_count; i++)
    if (r->headers[i].name && strcasecmp(r->headers[i].name, name) == 0) {
      if (!found)
        found = r->headers[i].value ? r->headers[i].value : "";
      n++;
    }
  if (count)
    *count = n;
  return found;
}

static int copy_field(char *dst, size_t cap, const char *src, size_t len) {
  if (len == 0 || len >= cap)
    return -1;
  memcpy(dst, src, len);
  dst[len] = '\0';
  return 0;
}

static int is_digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] < '0' || s[i] > '9')
      return 0;
  return n > 0;
}

/* "AK/20130524/us-east-1/s3/aws4_request" */
static int parse_credential(const char *v, size_t len, struct parsed *p) {
  const char *part[5];
  size_t plen[5];
  int n = 0;
  const char *s = v, *end = v + len;
  while (n < 5) {
    const char *slash = memchr(s, '/', (size_t)(end - s));
    part[n] = s;
    plen[n] = slash ? (size_t)(slash - s) : (size_t)(end - s);
    n++;
    if (!slash)
      break;
    s = slash + 1;
  }
  if (n != 5 || part[4] + plen[4] != end || plen[4] != 12 ||
      memcmp(part[4], "aws4_request", 12) != 0 || plen[1] != 8 ||
      !is_digits(part[1], 8) ||
      copy_field(p->access_key, sizeof p->access_key, part[0], plen[0]) ||
      copy_field(p->date, sizeof p->date, part[1], plen[1]) ||
      copy_field(p->region, sizeof p->region, part[2], plen[2]) ||
      copy_field(p->service, sizeof p->service, part[3], plen[3]))
    return -1;
  for (const char *c = p->access_key; *c; c++)
    if ((unsigned char)*c <= ' ' || (unsigned char)*c >= 0x7f)
      return -1;
  return 0;
}

/* Lower-case names of [a-z0-9-], separated by single ';'. */
static int valid_signed_headers(const char *s) {
  size_t len = strlen(s);
  if (len == 0 || len > SIGV4_SIGNED_HEADERS_LEN || s[0] == ';' ||
      s[len - 1] == ';')
    return 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == ';' ? s[i + 1] == ';'
                 : !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '_' || c == '.'))
      return 0;
  }
  return 1;
}

static int signs(const char *signed_headers, const char *name) {
  size_t n = strlen(name);
  for (const char *p = signed_headers; p;) {
    const char *semi = strchr(p, ';');
    size_t len = semi ? (size_t)(semi - p) : strlen(p);
    if (len == n && strncmp(p, name, n) == 0)
      return 1;
    p = semi ? semi + 1 : NULL;
  }
  return 0;
}

static int parse_signature(const char *v, size_t len, struct parsed *p) {
  if (len != SIGV4_SIGNATURE_HEX)
    return -1;
  for (size_t i = 0; i < len; i++) {
    char c = v[i];
    if (c >= 'A' && c <= 'F')
      c = (char)(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return -1;
    p->signature[i] = c;
  }
  p->signature[len] = '\0';
  return 0;
}

/* Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
 * Signature=... (any order, spaces around ',' tolerated, each once). */
static enum auth_status parse_authorization(const char *h, struct parsed *p) {
  static const char scheme[] = SIGV4_ALGORITHM;
  size_t slen = sizeof scheme - 1;
  if (strncmp(h, "AWS4-ECDSA-P256-SHA256", 22) == 0)
    return AUTH_NOT_IMPLEMENTED; /* SigV4a */
  if (strncmp(h, scheme, slen) != 0 || (h[slen] != ' ' && h[slen] != '\t'))
    return AUTH_HEADER_MALFORMED;
  if (strlen(h) > 8192)
    return AUTH_HEADER_MALFORMED;
  int have = 0;
  const char *s = h + slen;
  for (;;) {
    while (*s == ' ' || *s == '\t')
      s++;
    if (!*s)
      break;
    const char *end = s + strcspn(s, ",");
    const char *eq = memchr(s, '=', (size_t)(end - s));
    if (!eq)
      return AUTH_HEADER_MALFORMED;
    size_t klen = (size_t)(eq - s);
    const char *v = eq + 1;
    size_t vlen = (size_t)(end - v);
    while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
      vlen--;
    int bit;
    if (klen == 10 && memcmp(s, "Credential", 10) == 0) {
      bit = 1;
      if (parse_credential(v, vlen, p))
        return AUTH_HEADER_MALFORMED;
    } else if (klen == 13 && memcmp(s, "SignedHeaders", 13) == 0) {
      bit = 2;
      if (copy_field(p->signed_headers, sizeof p->signed_headers, v, vlen) ||
          !valid_signed_headers(p->signed_headers))
        return AUTH_HEADER_MALFORMED;
    } else if (klen == 9 && memcmp(s, "Signature", 9) == 0) {
      bit = 4;
      if (parse_signature(v, vlen, p))
        return AUTH_HEADER_MALFORMED;
    } else {
      return AUTH_HEADER_MALFORMED;
    }
    if (have & bit)
      return AUTH_HEADER_MALFORMED;
    have |= bit;
    s = *end ? end + 1 : end;
  }
  return have == 7 ? AUTH_OK : AUTH_HEADER_MALFORMED;
}

int auth_query_param(const char *query, const char *name, char *out,
                     size_t cap) {
  char key[64];
  int found = 0;
  size_t nlen_want = strlen(name);
  for (const char *p = query; p && *p;) {
    const char *amp = strchr(p, '&');
    size_t len = amp ? (size_t)(amp - p) : strlen(p);
    const char *eq = memchr(p, '=', len);
    size_t nlen = eq ? (size_t)(eq - p) : len;
    if (nlen < sizeof key) {
      size_t dn = sigv4_uri_decode(p, nlen, key);
      if (dn == nlen_want && memcmp(key, name, dn) == 0) {
        size_t vlen = eq ? len - nlen - 1 : 0;
        if (found || vlen >= cap)
          return -2;
        sigv4_uri_decode(eq ? eq + 1 : "", vlen, out);
        found = 1;
      }
    }
    p = amp ? amp + 1 : NULL;
  }
  return found ? 0 : -1;
}

static int is_hex64(const char *s) {
  if (strlen(s) != 64)
    return 0;
  for (int i = 0; i < 64; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
          (s[i] >= 'A' && s[i] <= 'F')))
      return 0;
  return 1;
}

enum auth_status auth_classify_payload(const char *v, struct auth_result *out) {
  if (strcmp(v, SIGV4_UNSIGNED_PAYLOAD) == 0)
    out->payload = AUTH_PAYLOAD_UNSIGNED;
  else if (strcmp(v, SIGV4_STREAMING_PAYLOAD) == 0)
    out->payload = AUTH_PAYLOAD_STREAMING_SIGNED;
  else if (strcmp(v, SIGV4_STREAMING_PAYLOAD_TRAILER) == 0)
    out->payload = AUTH_PAYLOAD_STREAMING_SIGNED_TRAILER;
  else if (strcmp(v, SIGV4_STREAMING_UNSIGNED_TRAILER) == 0)
    out->payload = AUTH_PAYLOAD_STREAMING_UNSIGNED_TRAILER;
  else if (strncmp(v, "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", 40) == 0)
    return AUTH_NOT_IMPLEMENTED;
  else if (is_hex64(v)) {
    out->payload = AUTH_PAYLOAD_SHA256;
    if (crypto_unhex(v, 64, out->payload_sha256, SHA256_LEN) != 0)
      return AUTH_BAD_CONTENT_SHA256;
  } else {
    return AUTH_BAD_CONTENT_SHA256;
  }
  return AUTH_OK;
}

int auth_payload_is_streaming(enum auth_payload p) {
  return p == AUTH_PAYLOAD_STREAMING_SIGNED ||
         p == AUTH_PAYLOAD_STREAMING_SIGNED_TRAILER ||
         p == AUTH_PAYLOAD_STREAMING_UNSIGNED_TRAILER;
}

enum auth_status auth_lookup_secret(const struct auth_verifier *v,
                                    const char *access_key, char *secret,
                                    size_t cap) {
  int rc = v->lookup_secret(access_key, secret, cap, v->arg);
  if (rc == CAIRN_ENOENT)
    return AUTH_INVALID_ACCESS_KEY;
  if (rc != 0 || memchr(secret, '\0', cap) == NULL)
    return AUTH_INTERNAL;
  return AUTH_OK;
}

/* Looks the key up, rebuilds the canonical request and compares. */
static enum auth_status check_signature(const struct auth_verifier *v,
                                        const struct auth_request *r,
                                        const struct parsed *p,
                                        const char *payload_hash, int presigned,
                                        struct auth_result *out) {
  char secret[SIGV4_SECRET_MAX + 1], scope[SIGV4_SCOPE_MAX];
  char expected[SIGV4_SIGNATURE_HEX + 1];
  uint8_t key[SHA256_LEN];
  enum auth_status st = AUTH_OK;
  memset(secret, 0, sizeof secret);
  if (strcmp(p->service, "s3") != 0) {
    st = presigned ? AUTH_QUERY_MALFORMED : AUTH_HEADER_MALFORMED;
    goto done;
  }
  if (v->region && strcmp(v->region, p->region) != 0) {
    st = AUTH_WRONG_REGION;
    goto done;
  }
  if (sigv4_scope(p->date, p->region, p->service, scope) != 0) {
    st = presigned ? AUTH_QUERY_MALFORMED : AUTH_HEADER_MALFORMED;
    goto done;
  }
  if ((st = auth_lookup_secret(v, p->access_key, secret, sizeof secret)) !=
      AUTH_OK)
    goto done;
  if (sigv4_signing_key_cached(v->key_cache, secret, p->date, p->region,
                               p->service, key) != 0) {
    st = AUTH_INTERNAL;
    goto done;
  }
  struct sigv4_request sr = {
      .method = r->method,
      .path = r->path,
      .query = r->query,
      .headers = r->headers,
      .header_count = r->header_count,
      .signed_headers = p->signed_headers,
      .payload_hash = payload_hash,
      .exclude_signature_param = presigned,
  };
  int rc = sigv4_sign_canonical(&sr, key, p->amz_date, scope, expected);
  if (rc) {
    st = rc == CAIRN_ENOMEM ? AUTH_INTERNAL : AUTH_INVALID_ARGUMENT;
    goto done;
  }
  if (!crypto_equal(expected, p->signature, SIGV4_SIGNATURE_HEX)) {
    st = AUTH_SIGNATURE_MISMATCH;
    goto done;
  }
  snprintf(out->access_key, sizeof out->access_key, "%s", p->access_key);
  snprintf(out->region, sizeof out->region, "%s", p->region);
  if (out->payload == AUTH_PAYLOAD_STREAMING_SIGNED ||
      out->payload == AUTH_PAYLOAD_STREAMING_SIGNED_TRAILER) {
    memcpy(out->stream.signing_key, key, SHA256_LEN);
    memcpy(out->stream.amz_date, p->amz_date, sizeof out->stream.amz_date);
    memcpy(out->stream.scope, scope, sizeof out->stream.scope);
    memcpy(out->stream.seed_signature, p->signature,
           sizeof out->stream.seed_signature);
  }
done:
  memset(secret, 0, sizeof secret);
  memset(key, 0, sizeof key);
  return st;
}

/* ---- header signing ------------------------------------------------------ */

static enum auth_status verify_header(const struct auth_verifier *v,
                                      const struct auth_request *r,
                                      const char *authorization,
                                      struct auth_result *out) {
  struct parsed p;
  int64_t when;
  memset(&p, 0, sizeof p);
  enum auth_status st = parse_authorization(authorization, &p);
  if (st)
    return st;
  if (!signs(p.signed_headers, "host"))
    return AUTH_HEADER_MALFORMED;
  /* The date: x-amz-date, else Date; whichever is used must be signed. */
  int count;
  const char *amz_date = auth_header_value(r, "x-amz-date", &count);
  if (amz_date) {
    if (count != 1 || sigv4_parse_amz_date(amz_date, &when) != 0)
      return AUTH_MISSING_DATE;
    if (!signs(p.signed_headers, "x-amz-date"))
      return AUTH_HEADER_MALFORMED;
    memcpy(p.amz_date, amz_date, SIGV4_AMZ_DATE_LEN + 1);
  } else {
    const char *date = auth_header_value(r, "date", &count);
    if (!date || count != 1 || sigv4_parse_http_date(date, &when) != 0)
      return AUTH_MISSING_DATE;
    if (!signs(p.signed_headers, "date"))
      return AUTH_HEADER_MALFORMED;
    sigv4_format_amz_date(when, p.amz_date);
  }
  if (memcmp(p.amz_date, p.date, 8) != 0)
    return AUTH_HEADER_MALFORMED; /* credential date != request date */
  if (when - r->now > AUTH_MAX_SKEW_SECONDS ||
      r->now - when > AUTH_MAX_SKEW_SECONDS)
    return AUTH_TIME_SKEWED;
  /* The payload claim is required, and signed. */
  const char *payload = auth_header_value(r, "x-amz-content-sha256", &count);
  if (!payload)
    return AUTH_MISSING_CONTENT_SHA256;
  if (count != 1)
    return AUTH_BAD_CONTENT_SHA256;
  if ((st = auth_classify_payload(payload, out)) != AUTH_OK)
    return st;
  if (!signs(p.signed_headers, "x-amz-content-sha256"))
    return AUTH_HEADER_MALFORMED;
  if (auth_payload_is_streaming(out->payload) &&
      !auth_header_value(r, "x-amz-decoded-content-length", NULL))
    return AUTH_MISSING_SECURITY_HEADER;
  if ((st = check_signature(v, r, &p, payload, 0, out)) != AUTH_OK)
    return st;
  if (!v->allow_unsigned_amz_headers)
    for (size_t i = 0; i < r->header_count; i++) {
      const char *name = r->headers[i].name;
      char lower[128];
      size_t n = name ? strlen(name) : 0;
      if (n < 6 || strncasecmp(name, "x-amz-", 6) != 0)
        continue;
      if (n >= sizeof lower)
        return AUTH_UNSIGNED_HEADERS;
      for (size_t k = 0; k <= n; k++)
        lower[k] = (char)(name[k] >= 'A' && name[k] <= 'Z' ? name[k] - 'A' + 'a'
                                                           : name[k]);
      if (!signs(p.signed_headers, lower))
        return AUTH_UNSIGNED_HEADERS;
    }
  return AUTH_OK;
}

/* ---- presigned URLs --------------------------------------------------------
 */

static enum auth_status verify_presigned(const struct auth_verifier *v,
                                         const struct auth_request *r,
                                         struct auth_result *out) {
  struct parsed p;
  char algorithm[32], credential[512], expires[16];
  int64_t when;
  memset(&p, 0, sizeof p);
  const char *q = r->query;
  if (auth_query_param(q, "X-Amz-Algorithm", algorithm, sizeof algorithm) != 0)
    return AUTH_QUERY_MALFORMED;
  if (strcmp(algorithm, "AWS4-ECDSA-P256-SHA256") == 0)
    return AUTH_NOT_IMPLEMENTED;
  if (strcmp(algorithm, SIGV4_ALGORITHM) != 0 ||
      auth_query_param(q, "X-Amz-Credential", credential, sizeof credential) !=
          0 ||
      parse_credential(credential, strlen(credential), &p) != 0 ||
      auth_query_param(q, "X-Amz-Date", p.amz_date, sizeof p.amz_date) != 0 ||
      sigv4_parse_amz_date(p.amz_date, &when) != 0 ||
      memcmp(p.amz_date, p.date, 8) != 0 ||
      auth_query_param(q, "X-Amz-SignedHeaders", p.signed_headers,
                       sizeof p.signed_headers) != 0 ||
      !valid_signed_headers(p.signed_headers) ||
      !signs(p.signed_headers, "host"))
    return AUTH_QUERY_MALFORMED;
  int rc = auth_query_param(q, "X-Amz-Expires", expires, sizeof expires);
  if (rc == -1)
    return AUTH_QUERY_MALFORMED;
  /* A lifetime of zero or less is a URL whose window has closed: 403
   * "Request has expired", as S3 answers such URLs (s3-tests agree); a
   * lifetime over a week is a malformed request (400). */
  if (rc == 0 && strlen(expires) <= 7 &&
      ((expires[0] == '-' && expires[1] &&
        is_digits(expires + 1, strlen(expires) - 1)) ||
       strcmp(expires, "0") == 0))
    return AUTH_EXPIRED;
  if (rc != 0 || strlen(expires) > 6 || !is_digits(expires, strlen(expires)))
    return AUTH_EXPIRES_RANGE;
  long lifetime = strtol(expires, NULL, 10);
  if (lifetime < 1 || lifetime > AUTH_MAX_EXPIRES)
    return AUTH_EXPIRES_RANGE;
  {
    char sig[SIGV4_SIGNATURE_HEX + 2];
    if (auth_query_param(q, "X-Amz-Signature", sig, sizeof sig) != 0 ||
        parse_signature(sig, strlen(sig), &p) != 0)
      return AUTH_QUERY_MALFORMED;
  }
  if (when - r->now > AUTH_MAX_SKEW_SECONDS)
    return AUTH_TIME_SKEWED; /* dated in the future */
  if (r->now > when + lifetime)
    return AUTH_EXPIRED;
  int count;
  const char *payload = auth_header_value(r, "x-amz-content-sha256", &count);
  if (payload && count != 1)
    return AUTH_BAD_CONTENT_SHA256;
  if (!payload)
    payload = SIGV4_UNSIGNED_PAYLOAD;
  enum auth_status st = auth_classify_payload(payload, out);
  if (st)
    return st;
  if (auth_payload_is_streaming(out->payload))
    return AUTH_STREAMING_NOT_ALLOWED;
  return check_signature(v, r, &p, payload, 1, out);
}

enum auth_status auth_verify(const struct auth_verifier *v,
                             const struct auth_request *r,
                             struct auth_result *out) {
  int count;
  memset(out, 0, sizeof *out);
  if (!v || !v->lookup_secret || !r || !r->method)
    return AUTH_INTERNAL;
  const char *authorization = auth_header_value(r, "authorization", &count);
  char probe[2];
  int presigned =
      r->query &&
      (auth_query_param(r->query, "X-Amz-Algorithm", probe, 0) != -1 ||
       auth_query_param(r->query, "X-Amz-Signature", probe, 0) != -1);
  /* SigV2's query form: AWSAccessKeyId (Signature alone is V2 too: V4
   * names it X-Amz-Signature). */
  int v2_query =
      r->query && !presigned &&
      (auth_query_param(r->query, "AWSAccessKeyId", probe, 0) != -1 ||
       auth_query_param(r->query, "Signature", probe, 0) != -1);
  int v2_header = authorization && strncmp(authorization, "AWS ", 4) == 0;
  enum auth_status st;
  if (authorization && (presigned || v2_query))
    return AUTH_INVALID_ARGUMENT; /* AWS: only one auth mechanism allowed */
  if ((v2_header || v2_query) && v->sigv2_disabled)
    return AUTH_SIGV2_DISABLED;
  if (authorization && count != 1)
    return AUTH_HEADER_MALFORMED;
  if (v2_header || v2_query) {
    out->method = v2_header ? AUTH_METHOD_V2_HEADER : AUTH_METHOD_V2_QUERY;
    st = sigv2_verify(v, r, authorization, v2_query, out);
  } else if (authorization) {
    out->method = AUTH_METHOD_HEADER;
    st = verify_header(v, r, authorization, out);
  } else if (presigned) {
    out->method = AUTH_METHOD_PRESIGNED;
    st = verify_presigned(v, r, out);
  } else {
    return AUTH_NO_CREDENTIALS;
  }
  if (st != AUTH_OK)
    memset(out, 0, sizeof *out);
  return st;
}

/* ---- payload hash -----------------------------------------------------------
 */

enum auth_status auth_payload_begin(struct auth_payload_check *p,
                                    const uint8_t expected[SHA256_LEN]) {
  memcpy(p->expected, expected, SHA256_LEN);
  p->hash = crypto_hash_new(CRYPTO_HASH_SHA256);
  return p->hash ? AUTH_OK : AUTH_INTERNAL;
}

void auth_payload_update(struct auth_payload_check *p, const void *data,
                         size_t len) {
  if (p->hash && len)
    crypto_hash_update(p->hash, data, len);
}

enum auth_status auth_payload_finish(struct auth_payload_check *p) {
  uint8_t got[SHA256_LEN];
  if (!p->hash)
    return AUTH_INTERNAL;
  crypto_hash_final(p->hash, got);
  auth_payload_release(p);
  return crypto_equal(got, p->expected, SHA256_LEN)
             ? AUTH_OK
             : AUTH_CONTENT_SHA256_MISMATCH;
}

void auth_payload_release(struct auth_payload_check *p) {
  crypto_hash_free(p->hash);
  p->hash = NULL;
}

/*
 * s3_route.c - request-target + Host -> S3 operation (see s3_route.h).
 */
#include "s3_route.h"

#include "crypto.h"
#include "error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the operation table ------------------------------------------------- */

#define S3_TARGET_OF_SERVICE S3_TARGET_SERVICE
#define S3_TARGET_OF_BUCKET S3_TARGET_BUCKET
#define S3_TARGET_OF_OBJECT S3_TARGET_OBJECT

static const struct s3_op_info op_rows[S3_OP_COUNT] = {
    [S3_OP_UNKNOWN] = {"Unknown", "", "", S3_TARGET_SERVICE, NULL, 0, 0},
#define XX(id, name, action, method, target, sub, copy, impl)                  \
  [S3_OP_##id] = {name, action, method, S3_TARGET_OF_##target, sub, copy, impl},
    S3_OP_MAP(XX)
#undef XX
};

static const struct s3_op_info *op_row(enum s3_operation op) {
  return (int)op > 0 && op < S3_OP_COUNT ? &op_rows[op] : &op_rows[0];
}

const struct s3_op_info *s3_op_info(enum s3_operation op) {
  return op_row(op);
}

const char *s3_op_name(enum s3_operation op) {
  return op_row(op)->name;
}
const char *s3_op_action(enum s3_operation op) {
  return op_row(op)->action;
}
int s3_op_implemented(enum s3_operation op) {
  return op_row(op)->implemented;
}

enum s3_operation s3_op_from_name(const char *name) {
  for (int i = 1; i < S3_OP_COUNT; i++)
    if (strcmp(op_rows[i].name, name) == 0)
      return (enum s3_operation)i;
  return S3_OP_UNKNOWN;
}

/* ---- names and keys -------------------------------------------------------
 */

static int ends_with(const char *s, size_t n, const char *suffix) {
  size_t m = strlen(suffix);
  return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* "192.168.5.4": four dot-separated runs of 1-3 digits. */
static int looks_like_ipv4(const char *s) {
  int parts = 0;
  while (*s) {
    int digits = 0;
    while (*s >= '0' && *s <= '9') {
      s++;
      digits++;
    }
    if (digits < 1 || digits > 3)
      return 0;
    parts++;
    if (*s == '.')
      s++;
    else if (*s)
      return 0;
  }
  return parts == 4;
}

enum s3_error_code s3_bucket_name_check(const char *name) {
  static const char *const prefixes[] = {"xn--", "sthree-", "amzn-s3-demo-"};
  static const char *const suffixes[] = {"-s3alias", "--ol-s3", ".mrap",
                                         "--x-s3", "--table-s3"};
  size_t n = strlen(name);
  if (n < 3 || n > 63)
    return S3_ERR_InvalidBucketName;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && c != '.' && c != '-')
      return S3_ERR_InvalidBucketName;
    if ((i == 0 || i == n - 1) && !alnum)
      return S3_ERR_InvalidBucketName;
    if (c == '.' && name[i + 1] == '.')
      return S3_ERR_InvalidBucketName;
  }
  if (looks_like_ipv4(name))
    return S3_ERR_InvalidBucketName;
  for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
    if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
      return S3_ERR_InvalidBucketName;
  for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
    if (ends_with(name, n, suffixes[i]))
      return S3_ERR_InvalidBucketName;
  return S3_OK;
}

/* 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF)
 * without NUL. */
static int utf8_valid_no_nul(const unsigned char *s, size_t n) {
  for (size_t i = 0; i < n;) {
    unsigned c = s[i];
    if (c == 0)
      return 0;
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t len;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0)
      len = 2, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
      len = 3, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
      len = 4, cp = c & 0x07, min = 0x10000;
    else
      return 0;
    if (len > n - i)
      return 0;
    for (size_t j = 1; j < len; j++) {
      if ((s[i + j] & 0xC0) != 0x80)
        return 0;
      cp = cp << 6 | (s[i + j] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
    i += len;
  }
  return 1;
}

enum s3_error_code s3_object_key_check(const char *key, size_t len) {
  if (len == 0)
    return S3_ERR_InvalidArgument;
  if (len > 1024) /* AWS: keys are at most 1024 bytes of UTF-8 */
    return S3_ERR_KeyTooLongError;
  if (!utf8_valid_no_nul((const unsigned char *)key, len))
    return S3_ERR_InvalidURI;
  return S3_OK;
}

enum s3_error_code s3_percent_decode(const char *in, size_t n,
                                     int plus_is_space, char *out,
                                     size_t *out_len) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char c = in[i];
    if (c == '%') {
      int hi = i + 2 < n ? crypto_hex_digit(in[i + 1]) : -1;
      int lo = hi >= 0 ? crypto_hex_digit(in[i + 2]) : -1;
      if (lo < 0)
        return S3_ERR_InvalidURI;
      out[o++] = (char)(hi << 4 | lo);
      i += 2;
    } else {
      out[o++] = c == '+' && plus_is_space ? ' ' : c;
    }
  }
  *out_len = o;
  return S3_OK;
}

/* ---- routing --------------------------------------------------------------
 */

/* Bump allocator over rt->storage (sized in s3_route_parse so that it
 * cannot run out: every string is at most as long as its source). */
struct arena {
  char *p;
  size_t used;
};

static char *arena_copy(struct arena *a, const char *s, size_t n) {
  char *out = a->p + a->used;
  memcpy(out, s, n);
  out[n] = '\0';
  a->used += n + 1;
  return out;
}

/* Decodes in[0..n) into the arena; NULL on a malformed escape. */
static char *arena_decode(struct arena *a, const char *in, size_t n,
                          int plus_is_space, size_t *len) {
  char *out = a->p + a->used;
  size_t m;
  if (s3_percent_decode(in, n, plus_is_space, out, &m))
    return NULL;
  out[m] = '\0';
  a->used += m + 1;
  if (len)
    *len = m;
  return out;
}

/* The bucket named by a virtual-hosted Host, or NULL. host[0..n) without
 * the port; domain compared case-insensitively. */
static const char *virtual_bucket(struct arena *a, const char *host, size_t n,
                                  const char *domain) {
  size_t d = domain ? strlen(domain) : 0;
  if (!d || n <= d + 1 || host[n - d - 1] != '.' ||
      strncasecmp(host + n - d, domain, d) != 0)
    return NULL;
  char *bucket = arena_copy(a, host, n - d - 1);
  for (char *c = bucket; *c; c++)
    if (*c >= 'A' && *c <= 'Z')
      *c = (char)(*c - 'A' + 'a');
  return bucket;
}

/* The host part of a Host value (no port, IPv6 brackets kept). */
static size_t host_without_port(const char *host, size_t n) {
  if (n && host[0] == '[') {
    const char *close = memchr(host, ']', n);
    return close ? (size_t)(close - host) + 1 : n;
  }
  const char *colon = memchr(host, ':', n);
  return colon ? (size_t)(colon - host) : n;
}

static int parse_query(struct s3_route *rt, struct arena *a, const char *q,
                       size_t n) {
  size_t i = 0;
  while (i < n) {
    const char *amp = memchr(q + i, '&', n - i);
    size_t end = amp ? (size_t)(amp - q) : n;
    if (end > i) {
      if (rt->param_count == S3_ROUTE_PARAMS_MAX)
        return -1;
      const char *eq = memchr(q + i, '=', end - i);
      size_t name_end = eq ? (size_t)(eq - q) : end;
      struct s3_route_param *p = &rt->params[rt->param_count];
      size_t name_len = 0, value_len = 0;
      p->name = arena_decode(a, q + i, name_end - i, 1, &name_len);
      p->has_value = eq != NULL;
      p->value = eq ? arena_decode(a, eq + 1, end - name_end - 1, 1, &value_len)
                    : arena_copy(a, "", 0);
      /* NUL would silently cut a name or value short */
      if (!p->name || !p->value || strlen(p->name) != name_len ||
          strlen(p->value) != value_len)
        return -1;
      rt->param_count++;
    }
    i = end + 1;
  }
  return 0;
}

const char *s3_route_param(const struct s3_route *rt, const char *name) {
  for (size_t i = 0; i < rt->param_count; i++)
    if (strcmp(rt->params[i].name, name) == 0)
      return rt->params[i].value;
  return NULL;
}

/* The sub-resource column of a row matches rt: "name" present, or
 * "name=value" present with that value. */
static int sub_matches(const struct s3_route *rt, const char *sub) {
  const char *eq = strchr(sub, '=');
  if (!eq)
    return s3_route_param(rt, sub) != NULL;
  size_t n = (size_t)(eq - sub);
  for (size_t i = 0; i < rt->param_count; i++)
    if (strlen(rt->params[i].name) == n &&
        memcmp(rt->params[i].name, sub, n) == 0)
      return strcmp(rt->params[i].value, eq + 1) == 0;
  return 0;
}

/* 1 when name appears as a plain sub-resource in the table. */
static int is_subresource(const char *name) {
  for (int i = 1; i < S3_OP_COUNT; i++)
    if (op_rows[i].sub && !strchr(op_rows[i].sub, '=') &&
        strcmp(op_rows[i].sub, name) == 0)
      return 1;
  return 0;
}

static void resolve_operation(struct s3_route *rt, const char *method,
                              unsigned flags) {
  int any_sub = 0;
  for (size_t i = 0; i < rt->param_count && !any_sub; i++)
    any_sub = is_subresource(rt->params[i].name);
  int other_method = 0; /* a row serves this target/sub with another method */
  for (int i = 1; i < S3_OP_COUNT; i++) {
    const struct s3_op_info *row = &op_rows[i];
    if (row->target != rt->target)
      continue;
    if (row->sub ? !sub_matches(rt, row->sub) : any_sub)
      continue;
    if (row->copy && !(flags & S3_ROUTE_COPY_SOURCE))
      continue;
    if (strcmp(row->method, method) != 0) {
      other_method = 1;
      continue;
    }
    rt->op = (enum s3_operation)i;
    if (!row->implemented)
      rt->error = S3_ERR_NotImplemented;
    return;
  }
  rt->error = other_method || !any_sub ? S3_ERR_MethodNotAllowed
                                       : S3_ERR_NotImplemented;
}

static int scheme_prefix(const char *t, size_t n) {
  if (n >= 7 && strncasecmp(t, "http://", 7) == 0)
    return 7;
  if (n >= 8 && strncasecmp(t, "https://", 8) == 0)
    return 8;
  return 0;
}

int s3_route_parse(struct s3_route *rt, const char *method, const char *target,
                   size_t target_len, const char *host, const char *domain,
                   unsigned flags) {
  memset(rt, 0, sizeof *rt);
  size_t host_len = host ? strlen(host) : 0;
  if (host_len > 1024)
    host_len = 0, host = NULL; /* absurd: treat as absent (path-style) */
  if (target_len > S3_ROUTE_TARGET_MAX) {
    rt->error = S3_ERR_InvalidURI;
    target_len = 0; /* keep storage small: nothing below runs */
  }
  /* raw copy + decoded copy (<= raw) + one NUL per piece + host bucket */
  size_t cap = 2 * target_len + host_len + 2 * S3_ROUTE_PARAMS_MAX + 16;
  rt->storage = malloc(cap);
  if (!rt->storage)
    return CAIRN_ENOMEM;
  struct arena a = {rt->storage, 0};
  rt->raw_path = rt->raw_query = arena_copy(&a, "", 0);
  if (rt->error)
    return 0;

  /* absolute-form: the authority replaces Host */
  size_t skip = scheme_prefix(target, target_len);
  if (skip) {
    const char *slash = memchr(target + skip, '/', target_len - skip);
    size_t end = slash ? (size_t)(slash - target) : target_len;
    host = target + skip;
    host_len = end - skip;
    target += end;
    target_len -= end;
    if (!target_len)
      target = "/", target_len = 1;
  }
  const char *qmark = memchr(target, '?', target_len);
  size_t path_len = qmark ? (size_t)(qmark - target) : target_len;
  rt->raw_path = arena_copy(&a, target, path_len);
  if (qmark)
    rt->raw_query = arena_copy(&a, qmark + 1, target_len - path_len - 1);
  if (path_len == 0 || target[0] != '/' || memchr(target, '#', target_len) ||
      memchr(target, '\0', target_len) ||
      parse_query(rt, &a, rt->raw_query,
                  qmark ? target_len - path_len - 1 : 0)) {
    rt->error = S3_ERR_InvalidURI;
    return 0;
  }

  const char *vbucket =
      host ? virtual_bucket(&a, host, host_without_port(host, host_len), domain)
           : NULL;
  const char *rest = target + 1; /* after the leading '/' */
  size_t rest_len = path_len - 1;
  if (vbucket) {
    rt->addressing = S3_ADDRESSING_VIRTUAL;
    rt->bucket = vbucket;
  } else {
    rt->addressing = S3_ADDRESSING_PATH;
    if (rest_len) {
      const char *slash = memchr(rest, '/', rest_len);
      size_t blen = slash ? (size_t)(slash - rest) : rest_len;
      size_t decoded_len = 0;
      if (!(rt->bucket = arena_decode(&a, rest, blen, 0, &decoded_len))) {
        rt->error = S3_ERR_InvalidURI;
        return 0;
      }
      if (strlen(rt->bucket) != decoded_len) { /* "%00" */
        rt->error = S3_ERR_InvalidBucketName;
        return 0;
      }
      rest += slash ? blen + 1 : blen;
      rest_len -= slash ? blen + 1 : blen;
    }
  }
  rt->target = !rt->bucket ? S3_TARGET_SERVICE
               : rest_len  ? S3_TARGET_OBJECT
                           : S3_TARGET_BUCKET;
  if (rt->target == S3_TARGET_OBJECT &&
      !(rt->key = arena_decode(&a, rest, rest_len, 0, &rt->key_len))) {
    rt->error = S3_ERR_InvalidURI;
    return 0;
  }
  if (rt->bucket && (rt->error = s3_bucket_name_check(rt->bucket)))
    return 0;
  if (rt->key && (rt->error = s3_object_key_check(rt->key, rt->key_len)))
    return 0;
  resolve_operation(rt, method, flags);
  return 0;
}

void s3_route_release(struct s3_route *rt) {
  free(rt->storage);
  memset(rt, 0, sizeof *rt);
}

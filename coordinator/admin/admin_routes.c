/* admin_routes.c - the admin route table (ADMIN_ROUTE_MAP) and matching a
 * request path against it. */
#include "admin_internal.h"

#include "sigv4.h"

#include <string.h>

static const struct admin_route routes[] = {
#define XX(id, method, pattern, action, body, handler)                         \
  {method, pattern, action, body, handler},
    ADMIN_ROUTE_MAP(XX)
#undef XX
};

const struct admin_route *admin_route_table(size_t *count) {
  *count = sizeof routes / sizeof routes[0];
  return routes;
}

#define SEGMENTS_MAX 8

/* Splits path at '/' into at most SEGMENTS_MAX segments; -1 when there
 * are more, or an empty one ("a//b", a trailing '/'). */
static int split(const char *path, const char *seg[], size_t len[]) {
  int n = 0;
  for (const char *p = path;;) {
    const char *slash = strchr(p, '/');
    size_t l = slash ? (size_t)(slash - p) : strlen(p);
    if (l == 0 || n == SEGMENTS_MAX)
      return -1;
    seg[n] = p;
    len[n++] = l;
    if (!slash)
      return n;
    p = slash + 1;
  }
}

/* Decodes a captured segment into out: printable ASCII only (IAM names
 * and key ids are a subset; the handlers check the exact rules). */
static int capture(const char *seg, size_t len, char *out) {
  if (len > 3 * ADMIN_NAME_MAX)
    return -1;
  char buf[3 * ADMIN_NAME_MAX + 1];
  size_t n = sigv4_uri_decode(seg, len, buf);
  if (n == 0 || n > ADMIN_NAME_MAX)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (buf[i] <= ' ' || buf[i] > '~' || buf[i] == '/')
      return -1;
  memcpy(out, buf, n + 1);
  return 0;
}

/* 1 when the path matches pattern (captures filled), else 0. */
static int match(struct admin_request *a, const char *pattern,
                 const char *seg[], const size_t len[], int n) {
  const char *pseg[SEGMENTS_MAX];
  size_t plen[SEGMENTS_MAX];
  if (split(pattern, pseg, plen) != n)
    return 0;
  for (int i = 0; i < n; i++) {
    if (pseg[i][0] != '{') {
      if (plen[i] != len[i] || memcmp(pseg[i], seg[i], len[i]) != 0)
        return 0;
      continue;
    }
    char *out = strncmp(pseg[i], "{user}", 6) == 0     ? a->user
                : strncmp(pseg[i], "{group}", 7) == 0  ? a->group
                : strncmp(pseg[i], "{bucket}", 8) == 0 ? a->bucket
                : strncmp(pseg[i], "{node}", 6) == 0   ? a->node
                                                       : a->key;
    if (capture(seg[i], len[i], out) != 0)
      return 0;
  }
  return 1;
}

const struct admin_route *admin_route_find(struct admin_request *a,
                                           const char *method, const char *path,
                                           int *status) {
  const char *seg[SEGMENTS_MAX];
  size_t len[SEGMENTS_MAX];
  int n = split(path, seg, len);
  *status = 404;
  if (n < 0)
    return NULL;
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    if (!match(a, routes[i].pattern, seg, len, n))
      continue;
    if (strcmp(routes[i].method, method) == 0)
      return &routes[i];
    *status = 405;
  }
  return NULL;
}

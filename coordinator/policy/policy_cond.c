/*
 * policy_cond.c - Condition operators: one table of (name, value type,
 * comparison, negated), checked at parse time against the values given
 * and evaluated against the request's context.
 */
#include "policy_internal.h"

#include "error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum cond_type { T_STRING, T_NUMERIC, T_DATE, T_BOOL, T_IP, T_NULL };
enum cond_cmp { C_EQ, C_EQ_NOCASE, C_LIKE, C_LT, C_LE, C_GT, C_GE };

struct cond_op {
  const char *name;
  enum cond_type type;
  enum cond_cmp cmp;
  int negated; /* holds when no value matches (and when the key is absent) */
};

static const struct cond_op ops[] = {
    {"StringEquals", T_STRING, C_EQ, 0},
    {"StringNotEquals", T_STRING, C_EQ, 1},
    {"StringEqualsIgnoreCase", T_STRING, C_EQ_NOCASE, 0},
    {"StringNotEqualsIgnoreCase", T_STRING, C_EQ_NOCASE, 1},
    {"StringLike", T_STRING, C_LIKE, 0},
    {"StringNotLike", T_STRING, C_LIKE, 1},
    {"ArnEquals", T_STRING, C_LIKE, 0},
    {"ArnLike", T_STRING, C_LIKE, 0},
    {"ArnNotEquals", T_STRING, C_LIKE, 1},
    {"ArnNotLike", T_STRING, C_LIKE, 1},
    {"NumericEquals", T_NUMERIC, C_EQ, 0},
    {"NumericNotEquals", T_NUMERIC, C_EQ, 1},
    {"NumericLessThan", T_NUMERIC, C_LT, 0},
    {"NumericLessThanEquals", T_NUMERIC, C_LE, 0},
    {"NumericGreaterThan", T_NUMERIC, C_GT, 0},
    {"NumericGreaterThanEquals", T_NUMERIC, C_GE, 0},
    {"DateEquals", T_DATE, C_EQ, 0},
    {"DateNotEquals", T_DATE, C_EQ, 1},
    {"DateLessThan", T_DATE, C_LT, 0},
    {"DateLessThanEquals", T_DATE, C_LE, 0},
    {"DateGreaterThan", T_DATE, C_GT, 0},
    {"DateGreaterThanEquals", T_DATE, C_GE, 0},
    {"Bool", T_BOOL, C_EQ_NOCASE, 0},
    {"IpAddress", T_IP, C_EQ, 0},
    {"NotIpAddress", T_IP, C_EQ, 1},
    {"Null", T_NULL, C_EQ, 0},
};

/* The operator for name, with *if_exists set for the ...IfExists form. */
static const struct cond_op *find_op(const char *name, int *if_exists) {
  static const char suffix[] = "IfExists";
  size_t n = strlen(name), sl = sizeof suffix - 1;
  *if_exists = n > sl && strcmp(name + n - sl, suffix) == 0;
  if (*if_exists)
    n -= sl;
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (strlen(ops[i].name) == n && strncmp(ops[i].name, name, n) == 0)
      return *if_exists && ops[i].type == T_NULL ? NULL : &ops[i];
  return NULL;
}

/* ---- value parsing ----------------------------------------------------- */

static int parse_number(const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end || errno || !isfinite(v))
    return -1;
  *out = v;
  return 0;
}

static int two_digits(const char *s, int *out) {
  if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
    return -1;
  *out = (s[0] - '0') * 10 + (s[1] - '0');
  return 0;
}

/* ISO 8601 ("2026-12-01", "2026-12-01T10:00:00Z", with fractions or a
 * +hh:mm offset) or epoch seconds, to Unix milliseconds. */
static int parse_date(const char *s, int64_t *out_ms) {
  size_t n = strlen(s);
  if (n > 0 && n <= 12 && strspn(s, "0123456789") == n) {
    *out_ms = (int64_t)strtoll(s, NULL, 10) * 1000;
    return 0;
  }
  int year = 0, mon, day, hh = 0, mm = 0, ss = 0;
  if (n < 10 || strspn(s, "0123456789") != 4 || s[4] != '-' || s[7] != '-' ||
      two_digits(s + 5, &mon) || two_digits(s + 8, &day))
    return -1;
  for (int i = 0; i < 4; i++)
    year = year * 10 + (s[i] - '0');
  const char *p = s + 10;
  int64_t frac_ms = 0, offset_s = 0;
  if (*p == 'T') {
    if (two_digits(p + 1, &hh) || p[3] != ':' || two_digits(p + 4, &mm) ||
        p[6] != ':' || two_digits(p + 7, &ss))
      return -1;
    p += 9;
    if (*p == '.') {
      int digits = 0;
      for (p++; *p >= '0' && *p <= '9'; p++, digits++)
        if (digits < 3)
          frac_ms = frac_ms * 10 + (*p - '0');
      if (digits == 0)
        return -1;
      for (; digits < 3; digits++)
        frac_ms *= 10;
    }
    if (*p == 'Z') {
      p++;
    } else if (*p == '+' || *p == '-') {
      int oh, om;
      if (two_digits(p + 1, &oh) || p[3] != ':' || two_digits(p + 4, &om))
        return -1;
      offset_s = (oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
      p += 6;
    }
  }
  if (*p || mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 ||
      ss > 60)
    return -1;
  struct tm tm = {.tm_year = year - 1900,
                  .tm_mon = mon - 1,
                  .tm_mday = day,
                  .tm_hour = hh,
                  .tm_min = mm,
                  .tm_sec = ss};
  *out_ms = ((int64_t)timegm(&tm) - offset_s) * 1000 + frac_ms;
  return 0;
}

struct ip_net {
  int v6; /* 0: IPv4 in addr[0..4) */
  unsigned char addr[16];
  int bits;
};

/* "a.b.c.d", "a.b.c.d/n", "x::y", "x::/n"; an IPv4-mapped IPv6 address is
 * read as IPv4 (a dual-stack listener reports peers that way). */
static int parse_ip(const char *s, int allow_prefix, struct ip_net *out) {
  char buf[64];
  const char *slash = strchr(s, '/');
  size_t n = slash ? (size_t)(slash - s) : strlen(s);
  if (n == 0 || n >= sizeof buf || (slash && !allow_prefix))
    return -1;
  memcpy(buf, s, n);
  buf[n] = '\0';
  memset(out, 0, sizeof *out);
  if (inet_pton(AF_INET, buf, out->addr) == 1) {
    out->bits = 32;
  } else if (inet_pton(AF_INET6, buf, out->addr) == 1) {
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0,    0,
                                             0, 0, 0, 0, 0xff, 0xff};
    if (!slash && memcmp(out->addr, mapped, 12) == 0) {
      memmove(out->addr, out->addr + 12, 4);
      memset(out->addr + 4, 0, 12);
      out->bits = 32;
    } else {
      out->v6 = 1;
      out->bits = 128;
    }
  } else {
    return -1;
  }
  if (slash) {
    const char *d = slash + 1;
    size_t dl = strlen(d);
    if (dl == 0 || dl > 3 || strspn(d, "0123456789") != dl)
      return -1;
    int bits = atoi(d);
    if (bits > out->bits)
      return -1;
    out->bits = bits;
  }
  return 0;
}

static int ip_in(const struct ip_net *ip, const struct ip_net *net) {
  if (ip->v6 != net->v6)
    return 0;
  int full = net->bits / 8, rest = net->bits % 8;
  if (memcmp(ip->addr, net->addr, (size_t)full) != 0)
    return 0;
  if (rest == 0)
    return 1;
  unsigned char mask = (unsigned char)(0xff << (8 - rest));
  return (ip->addr[full] & mask) == (net->addr[full] & mask);
}

/* Is one policy value well-formed for the type? */
static int value_ok(enum cond_type type, const char *v) {
  double d;
  int64_t ms;
  struct ip_net net;
  switch (type) {
  case T_NUMERIC: return parse_number(v, &d) == 0;
  case T_DATE: return parse_date(v, &ms) == 0;
  case T_BOOL:
  case T_NULL: return strcasecmp(v, "true") == 0 || strcasecmp(v, "false") == 0;
  case T_IP: return parse_ip(v, 1, &net) == 0;
  case T_STRING: break;
  }
  return 1;
}

int policy_condition_check(const char *op_name, json_t *values, char *err,
                           size_t err_len) {
  int if_exists;
  const struct cond_op *op = find_op(op_name, &if_exists);
  if (!op) {
    snprintf(err, err_len, "unknown Condition operator \"%.64s\"", op_name);
    return CAIRN_EINVAL;
  }
  size_t n = json_is_array(values) ? json_array_size(values) : 1;
  if (n == 0 || n > POLICY_VALUES_MAX) {
    snprintf(err, err_len, "Condition %.64s needs 1 to %d values", op_name,
             POLICY_VALUES_MAX);
    return CAIRN_EINVAL;
  }
  for (size_t i = 0; i < n; i++) {
    json_t *v = json_is_array(values) ? json_array_get(values, i) : values;
    char buf[64];
    const char *text = policy_scalar_text(v, buf, sizeof buf);
    if (!text || !value_ok(op->type, text)) {
      snprintf(err, err_len, "Condition %.64s: invalid value", op_name);
      return CAIRN_EINVAL;
    }
  }
  return 0;
}

/* ---- evaluation -------------------------------------------------------- */

static const char *context_value(const struct policy_request *req,
                                 const char *key) {
  for (size_t i = 0; i < req->n_context; i++)
    if (strcasecmp(req->context[i].key, key) == 0)
      return req->context[i].value;
  return NULL;
}

static int compare(int c, enum cond_cmp cmp) {
  switch (cmp) {
  case C_LT: return c < 0;
  case C_LE: return c <= 0;
  case C_GT: return c > 0;
  case C_GE: return c >= 0;
  default: return c == 0;
  }
}

/* Does the context value match one policy value (positive sense)? */
static int value_matches(const struct cond_op *op, const char *ctx,
                         const char *want) {
  switch (op->type) {
  case T_STRING:
    if (op->cmp == C_LIKE)
      return policy_wildcard_match(want, ctx, 0);
    return op->cmp == C_EQ_NOCASE ? strcasecmp(ctx, want) == 0
                                  : strcmp(ctx, want) == 0;
  case T_BOOL: return strcasecmp(ctx, want) == 0;
  case T_NUMERIC: {
    double a, b;
    if (parse_number(ctx, &a) || parse_number(want, &b))
      return 0;
    return compare(a < b ? -1 : a > b, op->cmp);
  }
  case T_DATE: {
    int64_t a, b;
    if (parse_date(ctx, &a) || parse_date(want, &b))
      return 0;
    return compare(a < b ? -1 : a > b, op->cmp);
  }
  case T_IP: {
    struct ip_net ip, net;
    return parse_ip(ctx, 0, &ip) == 0 && parse_ip(want, 1, &net) == 0 &&
           ip_in(&ip, &net);
  }
  case T_NULL: break;
  }
  return 0;
}

static int key_holds(const struct cond_op *op, int if_exists, json_t *values,
                     const char *ctx) {
  size_t n = json_is_array(values) ? json_array_size(values) : 1;
  if (op->type == T_NULL) {
    char buf[8];
    const char *want = policy_scalar_text(
        json_is_array(values) ? json_array_get(values, 0) : values, buf,
        sizeof buf);
    return (strcasecmp(want, "true") == 0) == (ctx == NULL);
  }
  if (!ctx)
    return if_exists || op->negated;
  int any = 0;
  for (size_t i = 0; i < n && !any; i++) {
    json_t *v = json_is_array(values) ? json_array_get(values, i) : values;
    char buf[64];
    const char *want = policy_scalar_text(v, buf, sizeof buf);
    any = want && value_matches(op, ctx, want);
  }
  return op->negated ? !any : any;
}

int policy_condition_holds(const char *op_name, json_t *block,
                           const struct policy_request *req) {
  int if_exists;
  const struct cond_op *op = find_op(op_name, &if_exists);
  if (!op)
    return 0; /* cannot happen: checked at parse time */
  const char *key;
  json_t *values;
  json_object_foreach(block, key, values) {
    if (!key_holds(op, if_exists, values, context_value(req, key)))
      return 0;
  }
  return 1;
}

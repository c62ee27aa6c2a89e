/*
 * token.c - scoped tokens: encoding, verification, scope (see token.h).
 *
 * Decoding reads only within the decoded bytes (every length is checked
 * against what is left) and copies into fixed-size fields; the MAC is
 * checked over exactly the bytes parsed, so a token with trailing bytes or
 * a changed field fails one way or the other, never silently.
 */
#include "token.h"

#include "crypto.h"
#include "error.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char mac_label[] =
    "cairn-token"; /* + its NUL: domain separation */

#define PAYLOAD_MAX                                                            \
  (1 + TOKEN_ID_LEN + 8 * 3 + 2 + 1 + TOKEN_BUCKET_MAX + 2 + TOKEN_PATH_MAX +  \
   1 + TOKEN_OWNER_MAX + 1 + TOKEN_CIDRS_MAX * 18)

static void mac_of(const uint8_t key[TOKEN_KEY_LEN], const uint8_t *payload,
                   size_t len, uint8_t out[TOKEN_MAC_LEN]) {
  uint8_t buf[sizeof mac_label + PAYLOAD_MAX];
  memcpy(buf, mac_label, sizeof mac_label);
  memcpy(buf + sizeof mac_label, payload, len);
  crypto_hmac_sha256(key, TOKEN_KEY_LEN, buf, sizeof mac_label + len, out);
}

/* ---- base64url without padding ------------------------------------------ */

static size_t b64url_encode(const uint8_t *in, size_t len, char *out) {
  crypto_base64(in, len, out);
  size_t n = strlen(out);
  while (n && out[n - 1] == '=')
    n--;
  out[n] = '\0';
  for (size_t i = 0; i < n; i++)
    out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
  return n;
}

static long b64url_decode(const char *in, size_t len, uint8_t *out,
                          size_t cap) {
  char buf[TOKEN_TEXT_MAX + 4];
  if (len > TOKEN_TEXT_MAX || len % 4 == 1)
    return -1;
  for (size_t i = 0; i < len; i++) {
    char c = in[i];
    if (c == '+' || c == '/' || c == '=')
      return -1; /* only the URL-safe alphabet, unpadded */
    buf[i] = c == '-' ? '+' : c == '_' ? '/' : c;
  }
  size_t n = len;
  while (n % 4)
    buf[n++] = '=';
  return crypto_unbase64(buf, n, out, cap);
}

/* ---- payload ------------------------------------------------------------- */

struct writer {
  uint8_t *p;
  size_t len, cap;
  int overflow;
};

static void w_bytes(struct writer *w, const void *d, size_t n) {
  if (w->overflow || w->len + n > w->cap) {
    w->overflow = 1;
    return;
  }
  memcpy(w->p + w->len, d, n);
  w->len += n;
}

static void w_uint(struct writer *w, uint64_t v, int bytes) {
  uint8_t b[8];
  for (int i = 0; i < bytes; i++)
    b[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
  w_bytes(w, b, (size_t)bytes);
}

struct reader {
  const uint8_t *p;
  size_t len, pos;
  int bad;
};

static uint64_t r_uint(struct reader *r, int bytes) {
  uint64_t v = 0;
  if (r->bad || r->len - r->pos < (size_t)bytes) {
    r->bad = 1;
    return 0;
  }
  for (int i = 0; i < bytes; i++)
    v = v << 8 | r->p[r->pos++];
  return v;
}

/* A length-prefixed string into out[cap]: printable, no NUL. */
static void r_string(struct reader *r, int len_bytes, char *out, size_t cap) {
  size_t n = (size_t)r_uint(r, len_bytes);
  if (r->bad || n >= cap || r->len - r->pos < n) {
    r->bad = 1;
    return;
  }
  memcpy(out, r->p + r->pos, n);
  out[n] = '\0';
  r->pos += n;
  if (memchr(out, '\0', n))
    r->bad = 1;
}

static int cidr_valid(const struct token_cidr *c) {
  if (c->family != 4 && c->family != 6)
    return 0;
  unsigned width = c->family == 4 ? 32 : 128;
  if (c->bits > width)
    return 0;
  for (unsigned bit = c->bits; bit < width; bit++)
    if (c->addr[bit / 8] & (0x80 >> (bit % 8)))
      return 0; /* host bits set: a typo, refuse it */
  return 1;
}

static int token_valid(const struct token *t) {
  size_t blen = strlen(t->bucket), plen = strlen(t->path);
  if (blen == 0 || blen > TOKEN_BUCKET_MAX || plen > TOKEN_PATH_MAX ||
      strlen(t->owner) > TOKEN_OWNER_MAX || t->perms == 0 ||
      (t->perms & ~TOKEN_PERMS_ALL) || t->n_cidrs > TOKEN_CIDRS_MAX ||
      t->scope > TOKEN_SCOPE_KEY ||
      (t->scope == TOKEN_SCOPE_BUCKET) != (plen == 0) ||
      t->expires <= t->issued)
    return 0;
  for (size_t i = 0; i < t->n_cidrs; i++)
    if (!cidr_valid(&t->cidrs[i]))
      return 0;
  return 1;
}

int token_encode(const struct token *t, const uint8_t key[TOKEN_KEY_LEN],
                 char *out, size_t cap) {
  uint8_t buf[PAYLOAD_MAX + TOKEN_MAC_LEN];
  if (!token_valid(t))
    return CAIRN_EINVAL;
  struct writer w = {.p = buf, .cap = PAYLOAD_MAX};
  w_uint(&w, 1, 1);
  w_bytes(&w, t->id, TOKEN_ID_LEN);
  w_uint(&w, t->generation, 8);
  w_uint(&w, (uint64_t)t->issued, 8);
  w_uint(&w, (uint64_t)t->expires, 8);
  w_uint(&w, t->perms, 1);
  w_uint(&w, (uint64_t)t->scope, 1);
  w_uint(&w, strlen(t->bucket), 1);
  w_bytes(&w, t->bucket, strlen(t->bucket));
  w_uint(&w, strlen(t->path), 2);
  w_bytes(&w, t->path, strlen(t->path));
  w_uint(&w, strlen(t->owner), 1);
  w_bytes(&w, t->owner, strlen(t->owner));
  w_uint(&w, t->n_cidrs, 1);
  for (size_t i = 0; i < t->n_cidrs; i++) {
    w_uint(&w, t->cidrs[i].family, 1);
    w_uint(&w, t->cidrs[i].bits, 1);
    w_bytes(&w, t->cidrs[i].addr, t->cidrs[i].family == 4 ? 4 : 16);
  }
  if (w.overflow)
    return CAIRN_EINVAL;
  mac_of(key, buf, w.len, buf + w.len);
  size_t raw = w.len + TOKEN_MAC_LEN;
  size_t need = sizeof TOKEN_PREFIX - 1 + 4 * ((raw + 2) / 3) + 1;
  if (need > cap)
    return CAIRN_ETOOBIG;
  memcpy(out, TOKEN_PREFIX, sizeof TOKEN_PREFIX - 1);
  b64url_encode(buf, raw, out + sizeof TOKEN_PREFIX - 1);
  return 0;
}

enum auth_status token_decode(const char *text, size_t len,
                              const uint8_t key[TOKEN_KEY_LEN],
                              struct token *out) {
  uint8_t buf[TOKEN_TEXT_MAX];
  uint8_t mac[TOKEN_MAC_LEN];
  size_t plen = sizeof TOKEN_PREFIX - 1;
  memset(out, 0, sizeof *out);
  if (len > TOKEN_TEXT_MAX || len <= plen || memcmp(text, TOKEN_PREFIX, plen))
    return AUTH_TOKEN_MALFORMED;
  long n = b64url_decode(text + plen, len - plen, buf, sizeof buf);
  if (n < TOKEN_MAC_LEN + 1)
    return AUTH_TOKEN_MALFORMED;
  struct reader r = {.p = buf, .len = (size_t)n - TOKEN_MAC_LEN};
  if (r.len > PAYLOAD_MAX)
    return AUTH_TOKEN_MALFORMED; /* longer than any field set can be */
  if (r_uint(&r, 1) != 1)
    return AUTH_TOKEN_MALFORMED; /* unknown version */
  if (r.len - r.pos < TOKEN_ID_LEN)
    return AUTH_TOKEN_MALFORMED;
  memcpy(out->id, buf + r.pos, TOKEN_ID_LEN);
  r.pos += TOKEN_ID_LEN;
  out->generation = r_uint(&r, 8);
  out->issued = (int64_t)r_uint(&r, 8);
  out->expires = (int64_t)r_uint(&r, 8);
  out->perms = (unsigned)r_uint(&r, 1);
  out->scope = (enum token_scope)r_uint(&r, 1);
  r_string(&r, 1, out->bucket, sizeof out->bucket);
  r_string(&r, 2, out->path, sizeof out->path);
  r_string(&r, 1, out->owner, sizeof out->owner);
  out->n_cidrs = (size_t)r_uint(&r, 1);
  if (out->n_cidrs > TOKEN_CIDRS_MAX)
    return AUTH_TOKEN_MALFORMED;
  for (size_t i = 0; i < out->n_cidrs && !r.bad; i++) {
    struct token_cidr *c = &out->cidrs[i];
    c->family = (uint8_t)r_uint(&r, 1);
    c->bits = (uint8_t)r_uint(&r, 1);
    size_t alen = c->family == 4 ? 4 : 16;
    if (r.bad || r.len - r.pos < alen) {
      r.bad = 1;
      break;
    }
    memcpy(c->addr, buf + r.pos, alen);
    r.pos += alen;
  }
  if (r.bad || r.pos != r.len || !token_valid(out))
    return AUTH_TOKEN_MALFORMED;
  mac_of(key, buf, r.len, mac);
  int ok = crypto_equal(mac, buf + r.len, TOKEN_MAC_LEN);
  OPENSSL_cleanse(mac, sizeof mac);
  return ok ? AUTH_OK : AUTH_TOKEN_SIGNATURE;
}

/* ---- checks at the moment of use ---------------------------------------- */

static int cidr_contains(const struct token_cidr *c, int family,
                         const uint8_t *addr) {
  if (c->family != family)
    return 0;
  for (unsigned bit = 0; bit < c->bits; bit++) {
    uint8_t m = (uint8_t)(0x80 >> (bit % 8));
    if ((c->addr[bit / 8] & m) != (addr[bit / 8] & m))
      return 0;
  }
  return 1;
}

static int origin_allowed(const struct token *t, const char *peer) {
  uint8_t addr[16];
  int family;
  if (t->n_cidrs == 0)
    return 1;
  if (!peer)
    return 0;
  if (inet_pton(AF_INET, peer, addr) == 1) {
    family = 4;
  } else if (inet_pton(AF_INET6, peer, addr) == 1) {
    family = 6;
    /* An IPv4 client on a dual-stack socket ("::ffff:a.b.c.d"). */
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
                                       0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(addr, mapped, 12) == 0) {
      memmove(addr, addr + 12, 4);
      family = 4;
    }
  } else {
    return 0;
  }
  for (size_t i = 0; i < t->n_cidrs; i++)
    if (cidr_contains(&t->cidrs[i], family, addr))
      return 1;
  return 0;
}

enum auth_status token_check(const struct token *t, int64_t now,
                             uint64_t cluster_generation, const char *peer) {
  if (t->generation < cluster_generation)
    return AUTH_TOKEN_REVOKED;
  if (now >= t->expires || t->expires - t->issued > TOKEN_MAX_LIFETIME)
    return AUTH_TOKEN_EXPIRED;
  if (!origin_allowed(t, peer))
    return AUTH_TOKEN_ORIGIN;
  return AUTH_OK;
}

/* ---- scope --------------------------------------------------------------- */

static unsigned perm_of(const char *action, int *is_list) {
  static const struct {
    const char *action;
    unsigned perm;
    int list;
  } map[] = {
      {"s3:GetObject", TOKEN_PERM_READ, 0},
      {"s3:GetObjectAttributes", TOKEN_PERM_READ, 0},
      {"s3:PutObject", TOKEN_PERM_WRITE, 0},
      {"s3:AbortMultipartUpload", TOKEN_PERM_WRITE, 0},
      {"s3:ListMultipartUploadParts", TOKEN_PERM_WRITE, 0},
      {"s3:DeleteObject", TOKEN_PERM_DELETE, 0},
      {"s3:ListBucket", TOKEN_PERM_LIST, 1},
      {"s3:ListBucketMultipartUploads", TOKEN_PERM_LIST, 1},
      {"s3:ListBucketVersions", TOKEN_PERM_LIST, 1},
      {"s3:GetBucketLocation", TOKEN_PERMS_ALL, 1},
  };
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcmp(map[i].action, action) == 0) {
      *is_list = map[i].list;
      return map[i].perm;
    }
  return 0;
}

enum auth_status token_allows(const struct token *t, const char *action,
                              const char *bucket, const char *key,
                              size_t key_len, const char *list_prefix) {
  int is_list = 0;
  unsigned need = action ? perm_of(action, &is_list) : 0;
  if (!need || !(t->perms & need) || !bucket || strcmp(bucket, t->bucket) != 0)
    return AUTH_TOKEN_SCOPE;
  size_t plen = strlen(t->path);
  if (is_list) {
    if (key)
      return AUTH_TOKEN_SCOPE;
    if (strcmp(action, "s3:GetBucketLocation") == 0 ||
        t->scope == TOKEN_SCOPE_BUCKET)
      return AUTH_OK;
    if (t->scope == TOKEN_SCOPE_KEY)
      return AUTH_TOKEN_SCOPE;
    return list_prefix && strncmp(list_prefix, t->path, plen) == 0
               ? AUTH_OK
               : AUTH_TOKEN_SCOPE;
  }
  if (!key)
    return AUTH_TOKEN_SCOPE;
  switch (t->scope) {
  case TOKEN_SCOPE_BUCKET: return AUTH_OK;
  case TOKEN_SCOPE_PREFIX:
    return key_len >= plen && memcmp(key, t->path, plen) == 0
               ? AUTH_OK
               : AUTH_TOKEN_SCOPE;
  case TOKEN_SCOPE_KEY:
    return key_len == plen && memcmp(key, t->path, plen) == 0
               ? AUTH_OK
               : AUTH_TOKEN_SCOPE;
  }
  return AUTH_TOKEN_SCOPE;
}

/* ---- text helpers ---------------------------------------------------------
 */

static const char *const perm_names[] = {"read", "write", "delete", "list"};

int token_parse_perms(const char *text, unsigned *perms) {
  *perms = 0;
  for (const char *p = text; p && *p;) {
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    unsigned bit = 0;
    for (unsigned i = 0; i < 4; i++)
      if (strlen(perm_names[i]) == n && memcmp(perm_names[i], p, n) == 0)
        bit = 1u << i;
    if (!bit)
      return CAIRN_EINVAL;
    *perms |= bit;
    p = comma ? comma + 1 : NULL;
  }
  return *perms ? 0 : CAIRN_EINVAL;
}

void token_format_perms(unsigned perms, char *out, size_t cap) {
  size_t n = 0;
  out[0] = '\0';
  for (unsigned i = 0; i < 4; i++)
    if (perms & (1u << i))
      n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s",
                            n ? "," : "", perm_names[i]);
}

int token_parse_cidr(const char *text, struct token_cidr *out) {
  char addr[64];
  memset(out, 0, sizeof *out);
  const char *slash = strchr(text, '/');
  size_t n = slash ? (size_t)(slash - text) : strlen(text);
  if (n == 0 || n >= sizeof addr)
    return CAIRN_EINVAL;
  memcpy(addr, text, n);
  addr[n] = '\0';
  if (inet_pton(AF_INET, addr, out->addr) == 1)
    out->family = 4;
  else if (inet_pton(AF_INET6, addr, out->addr) == 1)
    out->family = 6;
  else
    return CAIRN_EINVAL;
  unsigned width = out->family == 4 ? 32 : 128, bits = width;
  if (slash) {
    const char *b = slash + 1;
    size_t bl = strlen(b);
    if (bl == 0 || bl > 3 || strspn(b, "0123456789") != bl)
      return CAIRN_EINVAL;
    bits = (unsigned)atoi(b);
  }
  if (bits > width)
    return CAIRN_EINVAL;
  out->bits = (uint8_t)bits;
  return cidr_valid(out) ? 0 : CAIRN_EINVAL;
}

void token_format_cidr(const struct token_cidr *c, char *out, size_t cap) {
  char addr[INET6_ADDRSTRLEN] = "?";
  inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, addr, sizeof addr);
  snprintf(out, cap, "%s/%u", addr, c->bits);
}

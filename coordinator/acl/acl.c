/* acl.c - the ACL model, canned ACLs, grant headers, stored form and
 * permission checks (see acl.h). */
#include "acl.h"

#include "crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void acl_owner_of(const char *arn, const char *name, struct acl_owner *out) {
  uint8_t digest[SHA256_LEN];
  crypto_sha256(arn, strlen(arn), digest);
  crypto_hex(digest, sizeof digest, out->id);
  snprintf(out->name, sizeof out->name, "%s", name && name[0] ? name : "root");
}

static const char *const permission_names[] = {"READ", "WRITE", "READ_ACP",
                                               "WRITE_ACP", "FULL_CONTROL"};

unsigned acl_permission_parse(const char *s, size_t len) {
  for (unsigned i = 0; i < 5; i++)
    if (strlen(permission_names[i]) == len &&
        memcmp(permission_names[i], s, len) == 0)
      return 1u << i;
  return 0;
}

const char *acl_permission_name(enum acl_permission p) {
  for (unsigned i = 0; i < 5; i++)
    if (p == 1u << i)
      return permission_names[i];
  return "";
}

int acl_id_valid(const char *id, size_t len) {
  if (len != ACL_ID_LEN)
    return 0;
  for (size_t i = 0; i < len; i++)
    if (crypto_hex_digit(id[i]) < 0)
      return 0;
  return 1;
}

const char *acl_add(struct acl *a, enum acl_grantee_kind kind,
                    enum acl_permission perm, const char *id) {
  for (size_t i = 0; i < a->n; i++) {
    const struct acl_grant *g = &a->grants[i];
    if (g->kind == kind && g->permission == perm &&
        (kind != ACL_GRANTEE_USER || strcasecmp(g->id, id) == 0))
      return NULL;
  }
  if (a->n >= ACL_GRANTS_MAX)
    return "MalformedACLError";
  struct acl_grant *g = &a->grants[a->n++];
  memset(g, 0, sizeof *g);
  g->kind = kind;
  g->permission = perm;
  if (kind == ACL_GRANTEE_USER) {
    /* ids compare as lower-case hex: that is how acl_owner_of writes them */
    for (size_t i = 0; i < ACL_ID_LEN && id[i]; i++)
      g->id[i] = (char)(id[i] >= 'A' && id[i] <= 'F' ? id[i] + 32 : id[i]);
  }
  return NULL;
}

void acl_private(const struct acl_owner *owner, struct acl *out) {
  memset(out, 0, sizeof *out);
  out->owner = *owner;
  acl_add(out, ACL_GRANTEE_USER, ACL_FULL_CONTROL, owner->id);
}

int acl_is_private(const struct acl *a) {
  return a->n == 1 && a->grants[0].kind == ACL_GRANTEE_USER &&
         a->grants[0].permission == ACL_FULL_CONTROL &&
         strcmp(a->grants[0].id, a->owner.id) == 0;
}

const char *const acl_grant_header_names[ACL_GRANT_HEADERS] = {
    "x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp",
    "x-amz-grant-write-acp", "x-amz-grant-full-control"};

int acl_headers_present(const char *canned,
                        const char *const grants[ACL_GRANT_HEADERS]) {
  if (canned)
    return 1;
  for (int i = 0; i < ACL_GRANT_HEADERS; i++)
    if (grants[i])
      return 1;
  return 0;
}

static const char *canned_acl(const char *name, const struct acl_owner *owner,
                              const struct acl_owner *bucket_owner,
                              struct acl *out, char *msg, size_t cap) {
  acl_private(owner, out);
  if (strcmp(name, "private") == 0)
    return NULL;
  if (strcmp(name, "public-read") == 0)
    return acl_add(out, ACL_GRANTEE_ALL_USERS, ACL_READ, NULL);
  if (strcmp(name, "public-read-write") == 0) {
    acl_add(out, ACL_GRANTEE_ALL_USERS, ACL_READ, NULL);
    return acl_add(out, ACL_GRANTEE_ALL_USERS, ACL_WRITE, NULL);
  }
  if (strcmp(name, "authenticated-read") == 0)
    return acl_add(out, ACL_GRANTEE_AUTHENTICATED, ACL_READ, NULL);
  /* On a bucket these two are private (AWS ignores them there). */
  if (strcmp(name, "bucket-owner-read") == 0)
    return acl_add(out, ACL_GRANTEE_USER, ACL_READ, bucket_owner->id);
  if (strcmp(name, "bucket-owner-full-control") == 0)
    return acl_add(out, ACL_GRANTEE_USER, ACL_FULL_CONTROL, bucket_owner->id);
  snprintf(msg, cap, "unknown canned ACL '%.64s'", name);
  return "InvalidArgument";
}

/* One x-amz-grant-* value: `id="..."`, `uri="..."` or `emailAddress="..."`,
 * comma-separated, quotes optional. */
static const char *grant_list(struct acl *out, enum acl_permission perm,
                              const char *v, char *msg, size_t cap) {
  while (*v) {
    v += strspn(v, " \t,");
    if (!*v)
      break;
    const char *key = v, *eq = strchr(v, '=');
    if (!eq) {
      snprintf(msg, cap, "grantee '%.64s' is not type=\"value\"", v);
      return "InvalidArgument";
    }
    size_t klen = (size_t)(eq - key);
    while (klen && (key[klen - 1] == ' ' || key[klen - 1] == '\t'))
      klen--;
    const char *val = eq + 1 + strspn(eq + 1, " \t");
    size_t vlen;
    if (*val == '"') {
      const char *close = strchr(++val, '"');
      if (!close) {
        snprintf(msg, cap, "unterminated quote in a grant header");
        return "InvalidArgument";
      }
      vlen = (size_t)(close - val);
      v = close + 1;
    } else {
      vlen = strcspn(val, ",");
      v = val + vlen;
      while (vlen && (val[vlen - 1] == ' ' || val[vlen - 1] == '\t'))
        vlen--;
    }
    const char *err = NULL;
    if (klen == 2 && strncasecmp(key, "id", 2) == 0) {
      if (!acl_id_valid(val, vlen)) {
        snprintf(msg, cap, "invalid canonical user id '%.*s'",
                 (int)(vlen > 64 ? 64 : vlen), val);
        return "InvalidArgument";
      }
      char id[ACL_ID_LEN + 1];
      memcpy(id, val, ACL_ID_LEN);
      id[ACL_ID_LEN] = '\0';
      err = acl_add(out, ACL_GRANTEE_USER, perm, id);
    } else if (klen == 3 && strncasecmp(key, "uri", 3) == 0) {
      if (vlen == strlen(ACL_URI_ALL_USERS) &&
          memcmp(val, ACL_URI_ALL_USERS, vlen) == 0)
        err = acl_add(out, ACL_GRANTEE_ALL_USERS, perm, NULL);
      else if (vlen == strlen(ACL_URI_AUTHENTICATED) &&
               memcmp(val, ACL_URI_AUTHENTICATED, vlen) == 0)
        err = acl_add(out, ACL_GRANTEE_AUTHENTICATED, perm, NULL);
      else {
        snprintf(msg, cap, "unsupported group '%.*s'",
                 (int)(vlen > 96 ? 96 : vlen), val);
        return "InvalidArgument";
      }
    } else if (klen == 12 && strncasecmp(key, "emailAddress", 12) == 0) {
      snprintf(msg, cap, "grants by e-mail address are not supported");
      return "UnresolvableGrantByEmailAddress";
    } else {
      snprintf(msg, cap, "unknown grantee type in a grant header");
      return "InvalidArgument";
    }
    if (err)
      return err;
  }
  return NULL;
}

const char *acl_from_headers(const char *canned,
                             const char *const grants[ACL_GRANT_HEADERS],
                             const struct acl_owner *owner,
                             const struct acl_owner *bucket_owner,
                             struct acl *out, char *msg, size_t msg_cap) {
  int any_grant = 0;
  for (int i = 0; i < ACL_GRANT_HEADERS; i++)
    any_grant |= grants[i] != NULL;
  if (canned && any_grant) {
    snprintf(msg, msg_cap,
             "Specifying both Canned ACLs and Header Grants is not allowed");
    return "InvalidRequest";
  }
  if (canned)
    return canned_acl(canned, owner, bucket_owner, out, msg, msg_cap);
  acl_private(owner, out);
  if (!any_grant)
    return NULL;
  out->n = 0; /* header grants replace the default, as in AWS */
  for (int i = 0; i < ACL_GRANT_HEADERS; i++) {
    const char *err =
        grants[i] ? grant_list(out, 1u << i, grants[i], msg, msg_cap) : NULL;
    if (err)
      return err;
  }
  return NULL;
}

/* ---- stored form ---------------------------------------------------------
 */

char *acl_encode(const struct acl *a) {
  size_t cap = 32 + ACL_ID_LEN + ACL_NAME_MAX + a->n * (ACL_ID_LEN + 40);
  char *out = malloc(cap);
  if (!out)
    return NULL;
  size_t n = (size_t)snprintf(out, cap, "cairn-acl 1\nowner %s %s\n",
                              a->owner.id, a->owner.name);
  for (size_t i = 0; i < a->n && n < cap; i++) {
    const struct acl_grant *g = &a->grants[i];
    const char *perm = acl_permission_name(g->permission);
    if (g->kind == ACL_GRANTEE_USER)
      n += (size_t)snprintf(out + n, cap - n, "%s user %s\n", perm, g->id);
    else
      n += (size_t)snprintf(
          out + n, cap - n, "%s group %s\n", perm,
          g->kind == ACL_GRANTEE_ALL_USERS ? "AllUsers" : "AuthenticatedUsers");
  }
  return out;
}

int acl_decode(const char *text, size_t len, struct acl *out) {
  memset(out, 0, sizeof *out);
  if (len > ACL_TEXT_MAX)
    return -1;
  char buf[256];
  size_t off = 0, line_no = 0;
  while (off < len) {
    const char *nl = memchr(text + off, '\n', len - off);
    size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
    if (n >= sizeof buf)
      return -1;
    memcpy(buf, text + off, n);
    buf[n] = '\0';
    off += n + 1;
    char w1[32], w2[ACL_ID_LEN + 8], w3[ACL_NAME_MAX + 1];
    int got = sscanf(buf, "%31s %71s %64s", w1, w2, w3);
    if (line_no++ == 0) {
      if (strcmp(buf, "cairn-acl 1") != 0)
        return -1;
    } else if (got == 3 && strcmp(w1, "owner") == 0) {
      if (!acl_id_valid(w2, strlen(w2)))
        return -1;
      memcpy(out->owner.id, w2, ACL_ID_LEN + 1);
      snprintf(out->owner.name, sizeof out->owner.name, "%s", w3);
    } else if (got == 3) {
      unsigned perm = acl_permission_parse(w1, strlen(w1));
      const char *err = "corrupt";
      if (perm && strcmp(w2, "user") == 0 && acl_id_valid(w3, strlen(w3)))
        err = acl_add(out, ACL_GRANTEE_USER, perm, w3);
      else if (perm && strcmp(w2, "group") == 0 && strcmp(w3, "AllUsers") == 0)
        err = acl_add(out, ACL_GRANTEE_ALL_USERS, perm, NULL);
      else if (perm && strcmp(w2, "group") == 0 &&
               strcmp(w3, "AuthenticatedUsers") == 0)
        err = acl_add(out, ACL_GRANTEE_AUTHENTICATED, perm, NULL);
      if (err)
        return -1;
    } else if (n != 0) {
      return -1;
    }
  }
  return out->owner.id[0] ? 0 : -1;
}

/* ---- evaluation ----------------------------------------------------------
 */

unsigned acl_bucket_permission(const char *action) {
  static const struct {
    const char *action;
    unsigned perm;
  } map[] = {
      {"s3:ListBucket", ACL_READ},
      {"s3:ListBucketMultipartUploads", ACL_READ},
      {"s3:ListBucketVersions", ACL_READ},
      {"s3:PutObject", ACL_WRITE},
      {"s3:DeleteObject", ACL_WRITE},
      {"s3:AbortMultipartUpload", ACL_WRITE},
      {"s3:GetBucketAcl", ACL_READ_ACP},
      {"s3:PutBucketAcl", ACL_WRITE_ACP},
  };
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcasecmp(map[i].action, action) == 0)
      return map[i].perm;
  return 0;
}

unsigned acl_object_permission(const char *action) {
  if (strcasecmp(action, "s3:GetObject") == 0 ||
      strcasecmp(action, "s3:GetObjectAttributes") == 0)
    return ACL_READ;
  if (strcasecmp(action, "s3:GetObjectAcl") == 0)
    return ACL_READ_ACP;
  if (strcasecmp(action, "s3:PutObjectAcl") == 0)
    return ACL_WRITE_ACP;
  return 0;
}

int acl_allows(const struct acl *a, const char *caller_id, unsigned perm) {
  if (!perm)
    return 0;
  for (size_t i = 0; i < a->n; i++) {
    const struct acl_grant *g = &a->grants[i];
    if (!(g->permission & (perm | ACL_FULL_CONTROL)))
      continue;
    if (g->kind == ACL_GRANTEE_ALL_USERS ||
        (caller_id && g->kind == ACL_GRANTEE_AUTHENTICATED) ||
        (caller_id && g->kind == ACL_GRANTEE_USER &&
         strcasecmp(g->id, caller_id) == 0))
      return 1;
  }
  return 0;
}

/*
 * token.h - Cairn scoped tokens (after CERN EOS's tokens): a capability a
 * user issues for one bucket, a key prefix or one key, with some of the
 * permissions read, write, delete and list, an expiry, optional client
 * address ranges and a generation number. Whoever holds the token may act
 * within that scope as the token's owner (its issuer), and never beyond
 * what the owner's own policies allow: the coordinator authorizes both.
 *
 * Text form (URL-safe, at most TOKEN_TEXT_MAX characters):
 *
 *   "cairn1." base64url-without-padding( payload | HMAC-SHA256 (32) )
 *
 * payload, integers big-endian:
 *   version (1) = 1 | id (8, random) | generation (8) | issued (8, Unix s)
 *   | expires (8) | perms (1: read 1, write 2, delete 4, list 8)
 *   | scope (1: bucket 0, prefix 1, key 2) | bucket length (1) + bytes
 *   | path length (2) + bytes (the prefix or key) | owner length (1) + bytes
 *   ("" is root) | cidr count (1) + per range: family (1: 4 or 6),
 *   bits (1), address (4 or 16)
 *
 * The MAC covers "cairn-token\0" + payload under the cluster's token key
 * (32 bytes, kept sealed by coordinator/kms). Nothing here knows HTTP,
 * IAM or storage: pure functions, tested in tests/unit/test_token.c.
 */
#ifndef CAIRN_TOKEN_H
#define CAIRN_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"

#define TOKEN_PREFIX "cairn1."
#define TOKEN_KEY_LEN 32
#define TOKEN_MAC_LEN 32
#define TOKEN_ID_LEN 8
#define TOKEN_BUCKET_MAX 63 /* S3 bucket names */
#define TOKEN_PATH_MAX 1024 /* S3 keys */
#define TOKEN_OWNER_MAX 64  /* IAM user names */
#define TOKEN_CIDRS_MAX 8
#define TOKEN_TEXT_MAX 2048 /* the longest payload encodes in ~1850 */
#define TOKEN_MAX_LIFETIME (7 * 24 * 3600) /* as SigV4 presigned URLs */

enum token_perm {
  TOKEN_PERM_READ = 1,
  TOKEN_PERM_WRITE = 2,
  TOKEN_PERM_DELETE = 4,
  TOKEN_PERM_LIST = 8,
};
#define TOKEN_PERMS_ALL 15u

enum token_scope {
  TOKEN_SCOPE_BUCKET = 0,
  TOKEN_SCOPE_PREFIX = 1,
  TOKEN_SCOPE_KEY = 2,
};

struct token_cidr {
  uint8_t family; /* 4 or 6 */
  uint8_t bits;   /* 0..32 or 0..128 */
  uint8_t addr[16];
};

/* A decoded token: plain data, copy freely. */
struct token {
  uint8_t id[TOKEN_ID_LEN];
  uint64_t generation;
  int64_t issued, expires; /* Unix seconds */
  unsigned perms;          /* enum token_perm bits, not 0 */
  enum token_scope scope;
  char bucket[TOKEN_BUCKET_MAX + 1];
  char path[TOKEN_PATH_MAX + 1];   /* "" for TOKEN_SCOPE_BUCKET */
  char owner[TOKEN_OWNER_MAX + 1]; /* "" : root */
  size_t n_cidrs;
  struct token_cidr cidrs[TOKEN_CIDRS_MAX];
};

/* Writes t's text form (NUL-terminated) into out. CAIRN_EINVAL when a
 * field is out of its bounds (empty bucket, no perms, too many ranges,
 * a path on a bucket scope...), CAIRN_ETOOBIG when cap is too small. */
int token_encode(const struct token *t, const uint8_t key[TOKEN_KEY_LEN],
                 char *out, size_t cap);

/* Parses text[0..len) and checks its MAC. AUTH_OK; AUTH_TOKEN_MALFORMED
 * (out undefined); AUTH_TOKEN_SIGNATURE: the fields parsed into out (for
 * inspection only, never to grant anything) but the MAC is wrong. The MAC
 * is compared in constant time. */
enum auth_status token_decode(const char *text, size_t len,
                              const uint8_t key[TOKEN_KEY_LEN],
                              struct token *out);

/* The checks of a verified token against the moment of use:
 * AUTH_TOKEN_REVOKED (generation below the cluster's), AUTH_TOKEN_EXPIRED
 * (now past expires, or a lifetime beyond TOKEN_MAX_LIFETIME),
 * AUTH_TOKEN_ORIGIN (client address outside every range; peer is the
 * textual IPv4 or IPv6 address, NULL counts as outside). */
enum auth_status token_check(const struct token *t, int64_t now,
                             uint64_t cluster_generation, const char *peer);

/* Whether the token's scope covers action on bucket/key (key NULL for a
 * bucket-level request). list_prefix is the listing's prefix parameter
 * (NULL: none). AUTH_OK or AUTH_TOKEN_SCOPE. Mapping: read = s3:GetObject,
 * s3:GetObjectAttributes; write = s3:PutObject, s3:AbortMultipartUpload,
 * s3:ListMultipartUploadParts; delete = s3:DeleteObject; list =
 * s3:ListBucket, s3:ListBucketMultipartUploads, s3:ListBucketVersions with
 * a prefix inside the scope (not for a key scope); s3:GetBucketLocation
 * with any permission. Everything else is outside. */
enum auth_status token_allows(const struct token *t, const char *action,
                              const char *bucket, const char *key,
                              size_t key_len, const char *list_prefix);

/* "read,list" -> bits; 0 or CAIRN_EINVAL. */
int token_parse_perms(const char *text, unsigned *perms);
/* perms -> "read,write,delete,list" (cap >= 24). */
void token_format_perms(unsigned perms, char *out, size_t cap);
/* "10.0.0.0/8", "::1/128", or an address alone (all bits). The host bits
 * beyond the prefix must be zero. 0 or CAIRN_EINVAL. */
int token_parse_cidr(const char *text, struct token_cidr *out);
/* The range back as text (cap >= 64). */
void token_format_cidr(const struct token_cidr *c, char *out, size_t cap);

#endif

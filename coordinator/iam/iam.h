/*
 * iam.h - identities: IAM users, their access keys and groups (stored by
 * coordinator/meta, secrets sealed by coordinator/kms), the root user of
 * coordinator/credentials.c, and the authorization of a request by
 * coordinator/policy with every policy that applies to the caller.
 *
 * No HTTP here: coordinator/access glues this to requests. Every function
 * runs on the loop thread (meta's synchronous calls). Secrets are returned
 * only to the caller's buffers and never logged.
 *
 * Errors: 0 or CAIRN_E*: EINVAL a bad name (err says why), ENOENT no such
 * user/key/group, EEXIST already exists, ERANGE a limit (10 groups per
 * user, 2 keys per user, as AWS), and for policies the codes of
 * policy_parse (EINVAL / ETOOBIG: MalformedPolicy) with the reason in err.
 */
#ifndef CAIRN_IAM_H
#define CAIRN_IAM_H

#include "meta.h"
#include "policy.h"
#include "policy_cache.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IAM_ACCESS_KEY_LEN 20 /* "CK" + 18 upper-case alphanumerics */
#define IAM_SECRET_KEY_LEN 40
#define IAM_KEYS_PER_USER 2 /* AWS: two access keys per user */
#define IAM_ARN_MAX 128
#define IAM_ERR_MAX 256

struct kms;

/* The identity context: borrowed pointers, alive as long as the
 * coordinator. */
struct iam {
  struct meta *meta;
  const struct kms *kms;
  const char *root_access_key;
  const char *root_secret_key;
  int64_t rotation_grace_ms; /* a rotated key stays valid this long */
  /* Parsed identity policies by text (owned by whoever set it up; NULL:
   * every request parses its policies). */
  struct policy_cache *policies;
  /* Opened access keys (iam_key_cache_new; NULL: every request reads and
   * opens its key). */
  struct iam_key_cache *keys;
};

/* What iam_lookup_key found for an IAM user's key, kept while no IAM row
 * was written since (meta_config_generation): a key deleted, deactivated,
 * rotated or moved, a user disabled or deleted, reloads on the next
 * request. Expiry (a rotated key's grace) is checked on every use. The
 * secrets are wiped when an entry goes. Loop thread only. */
#define IAM_KEY_CACHE_SLOTS 32
struct iam_key_cache *iam_key_cache_new(void);
void iam_key_cache_free(struct iam_key_cache *c);

/* Who signed a request. */
struct iam_principal {
  bool root;
  bool disabled; /* the user is disabled: authenticate, then refuse */
  char user[META_IAM_NAME_MAX + 1]; /* "" for root */
  char arn[IAM_ARN_MAX];            /* "arn:aws:iam::000000000000:..." */
  char access_key[META_ACCESS_KEY_ID_MAX + 1];
};

/* The secret of access_key_id (NUL-terminated into secret[cap]) and who it
 * belongs to. CAIRN_ENOENT: unknown, inactive or expired (rotated out)
 * key: the caller answers InvalidAccessKeyId. */
int iam_lookup_key(const struct iam *iam, const char *access_key_id,
                   int64_t now_ms, char *secret, size_t cap,
                   struct iam_principal *who);

/* The principal of user name (root when name is ""), for requests that
 * act as that user without its keys (scoped tokens). CAIRN_ENOENT: no
 * such user. */
int iam_principal_of_user(const struct iam *iam, const char *name,
                          struct iam_principal *who);

/* The one decision for a request: root is allowed everything; a user gets
 * policy_evaluate over its inline policy and its groups' policies plus
 * what `resource` brings (its bucket policy and ACL check; its identity
 * fields are ignored; NULL: nothing); who NULL is anonymous (only the
 * resource's policies apply). req->principal is filled from who. Storage
 * errors deny (fail closed). */
enum policy_decision iam_authorize(const struct iam *iam,
                                   const struct iam_principal *who,
                                   struct policy_request *req,
                                   const struct policy_set *resource);

/* "arn:aws:iam::000000000000:user/NAME" (kind "user" or "group"). */
void iam_arn(const char *kind, const char *name, char *out, size_t cap);
/* AWS's name rules: 1..64 of [A-Za-z0-9+=,.@_-]. */
bool iam_name_valid(const char *name);

/* ---- administration ---------------------------------------------------- */

int iam_user_create(const struct iam *iam, const char *name, char *err,
                    size_t err_len);
int iam_user_delete(const struct iam *iam, const char *name);
int iam_user_set_disabled(const struct iam *iam, const char *name,
                          bool disabled);
/* text NULL or "" removes the policy. */
int iam_user_set_policy(const struct iam *iam, const char *name,
                        const char *text, size_t len, char *err,
                        size_t err_len);
int iam_group_create(const struct iam *iam, const char *name, char *err,
                     size_t err_len);
int iam_group_set_policy(const struct iam *iam, const char *name,
                         const char *text, size_t len, char *err,
                         size_t err_len);
/* add: put user in group (idempotent); else take it out. */
int iam_group_member(const struct iam *iam, const char *group, const char *user,
                     bool add);

/* A fresh key for user: id and secret written into the out buffers
 * (IAM_ACCESS_KEY_LEN + 1 and IAM_SECRET_KEY_LEN + 1 bytes). The secret
 * exists in plaintext only there: show it once. On error the buffers hold
 * nothing usable (the secret buffer is wiped). */
int iam_key_create(const struct iam *iam, const char *user, int64_t now_ms,
                   char *id_out, char *secret_out);
/* Rotation: a new key for the key's user, and the old key expires
 * rotation_grace_ms from now. The old key must belong to user. */
int iam_key_rotate(const struct iam *iam, const char *user, const char *old_id,
                   int64_t now_ms, char *id_out, char *secret_out);
int iam_key_set_active(const struct iam *iam, const char *user, const char *id,
                       bool active);
int iam_key_delete(const struct iam *iam, const char *user, const char *id);

#endif

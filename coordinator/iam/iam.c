/* iam.c - users, keys, groups and the authorization of a caller (see
 * iam.h). The only place that seals and opens IAM secrets. */
#include "iam.h"

#include "error.h"
#include "kms.h"
#include "log.h"
#include "secret_file.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEAL_CONTEXT_MAX (16 + META_ACCESS_KEY_ID_MAX)

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void iam_arn(const char *kind, const char *name, char *out, size_t cap) {
  snprintf(out, cap, "arn:aws:iam::%s:%s/%s", POLICY_ACCOUNT_ID, kind, name);
}

bool iam_name_valid(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > META_IAM_NAME_MAX)
    return false;
  return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                      "0123456789+=,.@_-") == n;
}

static int name_check(const char *what, const char *name, char *err,
                      size_t err_len) {
  if (iam_name_valid(name))
    return 0;
  snprintf(err, err_len,
           "%s names are 1 to %d characters of A-Z a-z 0-9 + = , . @ _ -", what,
           META_IAM_NAME_MAX);
  return CAIRN_EINVAL;
}

/* ---- the one seal / open pair for secrets ------------------------------ */

static void seal_context(const char *id, char out[SEAL_CONTEXT_MAX]) {
  snprintf(out, SEAL_CONTEXT_MAX, "iam-secret:%s", id);
}

static int secret_seal(const struct iam *iam, const char *id,
                       const char *secret, struct meta_access_key *k) {
  char ctx[SEAL_CONTEXT_MAX];
  seal_context(id, ctx);
  size_t n = 0;
  int r = kms_seal(iam->kms, ctx, secret, strlen(secret), k->sealed,
                   sizeof k->sealed, &n);
  k->sealed_len = (uint32_t)n;
  return r;
}

static int secret_open(const struct iam *iam, const struct meta_access_key *k,
                       char *secret, size_t cap) {
  char ctx[SEAL_CONTEXT_MAX];
  seal_context(k->access_key_id, ctx);
  size_t n = 0;
  if (cap == 0)
    return CAIRN_EINVAL;
  int r = kms_unseal(iam->kms, ctx, k->sealed, k->sealed_len, (uint8_t *)secret,
                     cap - 1, &n);
  secret[r ? 0 : n] = '\0';
  return r;
}

/* ---- authentication ---------------------------------------------------- */

struct iam_key_entry {
  bool used;
  uint64_t generation; /* meta_config_generation before the rows were read */
  int64_t expires_ms;
  struct iam_principal who;
  char secret[IAM_SECRET_KEY_LEN + 1];
};

struct iam_key_cache {
  struct iam_key_entry slot[IAM_KEY_CACHE_SLOTS];
};

struct iam_key_cache *iam_key_cache_new(void) {
  return calloc(1, sizeof(struct iam_key_cache));
}

void iam_key_cache_free(struct iam_key_cache *c) {
  if (!c)
    return;
  OPENSSL_cleanse(c, sizeof *c);
  free(c);
}

static struct iam_key_entry *key_slot(struct iam_key_cache *c, const char *id) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)id; *p; p++)
    h = (h ^ *p) * 16777619u;
  return &c->slot[h % IAM_KEY_CACHE_SLOTS];
}

/* The key read and opened from the store (the uncached path). */
static int lookup_stored_key(const struct iam *iam, const char *access_key_id,
                             int64_t now_ms, char *secret, size_t cap,
                             struct iam_principal *who, int64_t *expires_ms) {
  struct meta_access_key k;
  int r = meta_access_key_get(iam->meta, access_key_id, &k);
  if (r == CAIRN_EINVAL)
    r = CAIRN_ENOENT;
  if (r)
    return r;
  if (k.status != META_KEY_ACTIVE || (k.expires_ms && now_ms >= k.expires_ms))
    return CAIRN_ENOENT;
  *expires_ms = k.expires_ms;
  struct meta_iam_user u;
  r = meta_iam_user_get(iam->meta, k.user, &u);
  if (r)
    return r == CAIRN_EINVAL ? CAIRN_ENOENT : r;
  who->disabled = u.disabled;
  meta_iam_user_release(&u);
  snprintf(who->user, sizeof who->user, "%s", k.user);
  iam_arn("user", k.user, who->arn, sizeof who->arn);
  r = secret_open(iam, &k, secret, cap);
  if (r)
    log_error("coord.iam", "access key %s: its secret does not open (%s)",
              access_key_id, cairn_strerror(r));
  OPENSSL_cleanse(&k, sizeof k);
  return r;
}

int iam_lookup_key(const struct iam *iam, const char *access_key_id,
                   int64_t now_ms, char *secret, size_t cap,
                   struct iam_principal *who) {
  memset(who, 0, sizeof *who);
  snprintf(who->access_key, sizeof who->access_key, "%s", access_key_id);
  if (iam->root_access_key &&
      strcmp(access_key_id, iam->root_access_key) == 0) {
    who->root = true;
    snprintf(who->arn, sizeof who->arn, "arn:aws:iam::%s:root",
             POLICY_ACCOUNT_ID);
    snprintf(secret, cap, "%s", iam->root_secret_key);
    return 0;
  }
  uint64_t generation = meta_config_generation(iam->meta);
  struct iam_key_entry *e =
      iam->keys ? key_slot(iam->keys, access_key_id) : NULL;
  if (e && e->used && e->generation == generation &&
      strcmp(e->who.access_key, access_key_id) == 0) {
    if (e->expires_ms && now_ms >= e->expires_ms)
      return CAIRN_ENOENT; /* rotated out: its grace is over */
    *who = e->who;
    snprintf(secret, cap, "%s", e->secret);
    return 0;
  }
  int64_t expires_ms = 0;
  int r = lookup_stored_key(iam, access_key_id, now_ms, secret, cap, who,
                            &expires_ms);
  if (r == 0 && e && strlen(secret) < sizeof e->secret) {
    OPENSSL_cleanse(e, sizeof *e);
    e->used = true;
    e->generation = generation;
    e->expires_ms = expires_ms;
    e->who = *who;
    memcpy(e->secret, secret, strlen(secret) + 1);
  }
  return r;
}

int iam_principal_of_user(const struct iam *iam, const char *name,
                          struct iam_principal *who) {
  memset(who, 0, sizeof *who);
  if (!name[0]) {
    who->root = true;
    snprintf(who->arn, sizeof who->arn, "arn:aws:iam::%s:root",
             POLICY_ACCOUNT_ID);
    return 0;
  }
  struct meta_iam_user u;
  int r = meta_iam_user_get(iam->meta, name, &u);
  if (r)
    return r == CAIRN_EINVAL ? CAIRN_ENOENT : r;
  who->disabled = u.disabled;
  meta_iam_user_release(&u);
  snprintf(who->user, sizeof who->user, "%s", name);
  iam_arn("user", name, who->arn, sizeof who->arn);
  return 0;
}

/* ---- authorization ----------------------------------------------------- */

/* Parses a stored policy (or finds it parsed: iam->policies, keyed by the
 * text, so a changed policy is parsed anew); a stored policy that no
 * longer parses denies (logged), it never silently allows. */
static int load_policy(const struct iam *iam, const char *owner,
                       const char *text, struct policy_cache_entry **ref,
                       const struct policy **out) {
  char err[POLICY_ERR_MAX];
  *out = NULL;
  *ref = NULL;
  if (!text)
    return 0;
  int r = policy_cache_get(iam->policies, text, strlen(text), POLICY_IDENTITY,
                           ref, out, err, sizeof err);
  if (r)
    log_error("coord.iam", "stored policy of %s does not parse: %s", owner,
              err);
  return r;
}

enum policy_decision iam_authorize(const struct iam *iam,
                                   const struct iam_principal *who,
                                   struct policy_request *req,
                                   const struct policy_set *resource) {
  req->principal = who ? who->arn : NULL;
  if (who && who->root)
    return POLICY_ALLOW;
  const struct policy *loaded[1 + META_IAM_GROUPS_MAX] = {0};
  struct policy_cache_entry *refs[1 + META_IAM_GROUPS_MAX] = {0};
  size_t n = 0;
  int r = 0;
  if (who) {
    struct meta_iam_user u;
    r = meta_iam_user_get(iam->meta, who->user, &u);
    if (!r && u.disabled)
      r = CAIRN_EPERM;
    if (!r &&
        (r = load_policy(iam, u.name, u.policy, &refs[n], &loaded[n])) == 0 &&
        loaded[n])
      n++;
    for (uint32_t i = 0; !r && i < u.n_groups; i++) {
      struct meta_iam_group g;
      r = meta_iam_group_get(iam->meta, u.groups[i], &g);
      if (r == CAIRN_ENOENT) {
        r = 0; /* deleted meanwhile: it grants nothing */
        continue;
      }
      if (!r &&
          (r = load_policy(iam, g.name, g.policy, &refs[n], &loaded[n])) == 0 &&
          loaded[n])
        n++;
      meta_iam_group_release(&g);
    }
    meta_iam_user_release(&u);
  }
  enum policy_decision d = POLICY_IMPLICIT_DENY;
  if (!r) {
    struct policy_set set = {0};
    if (resource)
      set = *resource;
    set.identity = loaded;
    set.n_identity = n;
    d = policy_evaluate(req, &set);
  }
  for (size_t i = 0; i < n; i++)
    policy_cache_release(refs[i]);
  return d;
}

/* ---- users and groups -------------------------------------------------- */

int iam_user_create(const struct iam *iam, const char *name, char *err,
                    size_t err_len) {
  int r = name_check("user", name, err, err_len);
  if (r)
    return r;
  struct meta_iam_user u = {.created_ms = wall_ms()};
  snprintf(u.name, sizeof u.name, "%s", name);
  return meta_iam_user_put(iam->meta, &u, true);
}

int iam_user_delete(const struct iam *iam, const char *name) {
  return iam_name_valid(name) ? meta_iam_user_delete(iam->meta, name)
                              : CAIRN_ENOENT;
}

/* Read-modify-write of one user; the loop thread is the only IAM writer,
 * so nothing interleaves between the get and the put. */
typedef int (*user_edit_fn)(struct meta_iam_user *u, const void *arg);
static int user_edit(const struct iam *iam, const char *name, user_edit_fn edit,
                     const void *arg) {
  if (!iam_name_valid(name))
    return CAIRN_ENOENT;
  struct meta_iam_user u;
  int r = meta_iam_user_get(iam->meta, name, &u);
  if (r)
    return r;
  r = edit(&u, arg);
  if (r == 0)
    r = meta_iam_user_put(iam->meta, &u, false);
  meta_iam_user_release(&u);
  return r > 0 ? 0 : r; /* > 0: nothing to change */
}

static int edit_disabled(struct meta_iam_user *u, const void *arg) {
  u->disabled = *(const bool *)arg;
  return 0;
}

int iam_user_set_disabled(const struct iam *iam, const char *name,
                          bool disabled) {
  return user_edit(iam, name, edit_disabled, &disabled);
}

/* Validates text as an identity policy; NULL/"" is "no policy". The
 * text is kept as given, so `policy get` returns what was set. */
static int policy_copy(const char *text, size_t len, char **out, char *err,
                       size_t err_len) {
  *out = NULL;
  if (!text || len == 0)
    return 0;
  struct policy *p = NULL;
  int r = policy_parse(text, len, POLICY_IDENTITY, &p, err, err_len);
  policy_free(p);
  if (r)
    return r;
  if (memchr(text, '\0', len)) {
    snprintf(err, err_len, "the policy holds a NUL byte");
    return CAIRN_EINVAL;
  }
  *out = strndup(text, len);
  return *out ? 0 : CAIRN_ENOMEM;
}

int iam_user_set_policy(const struct iam *iam, const char *name,
                        const char *text, size_t len, char *err,
                        size_t err_len) {
  char *copy;
  int r = policy_copy(text, len, &copy, err, err_len);
  if (r)
    return r;
  if (!iam_name_valid(name)) {
    free(copy);
    return CAIRN_ENOENT;
  }
  struct meta_iam_user u;
  r = meta_iam_user_get(iam->meta, name, &u);
  if (r) {
    free(copy);
    return r;
  }
  free(u.policy);
  u.policy = copy; /* released with u */
  r = meta_iam_user_put(iam->meta, &u, false);
  meta_iam_user_release(&u);
  return r;
}

int iam_group_create(const struct iam *iam, const char *name, char *err,
                     size_t err_len) {
  int r = name_check("group", name, err, err_len);
  if (r)
    return r;
  struct meta_iam_group g = {.created_ms = wall_ms()};
  snprintf(g.name, sizeof g.name, "%s", name);
  return meta_iam_group_put(iam->meta, &g, true);
}

int iam_group_set_policy(const struct iam *iam, const char *name,
                         const char *text, size_t len, char *err,
                         size_t err_len) {
  if (!iam_name_valid(name))
    return CAIRN_ENOENT;
  char *copy;
  int r = policy_copy(text, len, &copy, err, err_len);
  if (r)
    return r;
  struct meta_iam_group g;
  r = meta_iam_group_get(iam->meta, name, &g);
  if (!r) {
    free(g.policy);
    g.policy = copy;
    copy = NULL;
    r = meta_iam_group_put(iam->meta, &g, false);
    meta_iam_group_release(&g);
  }
  free(copy);
  return r;
}

struct member_edit {
  const char *group;
  bool add;
};

static int edit_member(struct meta_iam_user *u, const void *arg) {
  const struct member_edit *e = arg;
  for (uint32_t i = 0; i < u->n_groups; i++) {
    if (strcmp(u->groups[i], e->group) != 0)
      continue;
    if (e->add)
      return 1; /* already a member */
    memmove(u->groups[i], u->groups[i + 1],
            (u->n_groups - i - 1) * sizeof u->groups[0]);
    u->n_groups--;
    return 0;
  }
  if (!e->add)
    return 1;
  if (u->n_groups == META_IAM_GROUPS_MAX)
    return CAIRN_ERANGE;
  snprintf(u->groups[u->n_groups++], sizeof u->groups[0], "%s", e->group);
  return 0;
}

int iam_group_member(const struct iam *iam, const char *group, const char *user,
                     bool add) {
  if (!iam_name_valid(group))
    return CAIRN_ENOENT;
  struct meta_iam_group g;
  int r = meta_iam_group_get(iam->meta, group, &g);
  if (r)
    return r;
  meta_iam_group_release(&g);
  struct member_edit e = {.group = group, .add = add};
  return user_edit(iam, user, edit_member, &e);
}

/* ---- access keys ------------------------------------------------------- */

struct key_count {
  const char *except;
  int n;
};

static int count_live_keys(const struct meta_access_key *k, void *arg) {
  struct key_count *c = arg;
  if (!k->expires_ms && (!c->except || strcmp(k->access_key_id, c->except)))
    c->n++;
  return 0;
}

/* A new key for user; except: a key being rotated out (not counted). */
static int key_new(const struct iam *iam, const char *user, int64_t now_ms,
                   const char *except, char *id_out, char *secret_out) {
  if (!iam_name_valid(user))
    return CAIRN_ENOENT;
  struct key_count c = {.except = except};
  int r = meta_access_key_list(iam->meta, user, count_live_keys, &c);
  if (r)
    return r;
  if (c.n >= IAM_KEYS_PER_USER)
    return CAIRN_ERANGE;
  struct meta_access_key k = {.status = META_KEY_ACTIVE, .created_ms = now_ms};
  snprintf(k.user, sizeof k.user, "%s", user);
  for (int attempt = 0; attempt < 3; attempt++) {
    id_out[0] = 'C';
    id_out[1] = 'K';
    r = secret_random_text(id_out + 2, IAM_ACCESS_KEY_LEN - 2, 1);
    if (!r)
      r = secret_random_text(secret_out, IAM_SECRET_KEY_LEN, 0);
    if (!r)
      r = strcmp(id_out, iam->root_access_key ? iam->root_access_key : "")
              ? 0
              : CAIRN_EEXIST;
    if (!r) {
      snprintf(k.access_key_id, sizeof k.access_key_id, "%s", id_out);
      r = secret_seal(iam, id_out, secret_out, &k);
    }
    if (!r)
      r = meta_access_key_put(iam->meta, &k, true);
    if (r != CAIRN_EEXIST)
      break;
  }
  OPENSSL_cleanse(&k, sizeof k);
  if (r)
    OPENSSL_cleanse(secret_out, IAM_SECRET_KEY_LEN + 1);
  return r;
}

int iam_key_create(const struct iam *iam, const char *user, int64_t now_ms,
                   char *id_out, char *secret_out) {
  return key_new(iam, user, now_ms, NULL, id_out, secret_out);
}

/* The key id of user, or ENOENT (also for another user's key). */
static int key_of_user(const struct iam *iam, const char *user, const char *id,
                       struct meta_access_key *k) {
  int r = meta_access_key_get(iam->meta, id, k);
  if (r == CAIRN_EINVAL)
    r = CAIRN_ENOENT;
  if (!r && strcmp(k->user, user) != 0)
    r = CAIRN_ENOENT;
  return r;
}

int iam_key_rotate(const struct iam *iam, const char *user, const char *old_id,
                   int64_t now_ms, char *id_out, char *secret_out) {
  struct meta_access_key old;
  int r = key_of_user(iam, user, old_id, &old);
  if (!r)
    r = key_new(iam, user, now_ms, old_id, id_out, secret_out);
  if (!r) {
    int64_t due = now_ms + iam->rotation_grace_ms;
    if (!old.expires_ms || old.expires_ms > due)
      old.expires_ms = due;
    r = meta_access_key_put(iam->meta, &old, false);
  }
  OPENSSL_cleanse(&old, sizeof old);
  return r;
}

int iam_key_set_active(const struct iam *iam, const char *user, const char *id,
                       bool active) {
  struct meta_access_key k;
  int r = key_of_user(iam, user, id, &k);
  if (!r) {
    k.status = active ? META_KEY_ACTIVE : META_KEY_INACTIVE;
    r = meta_access_key_put(iam->meta, &k, false);
  }
  OPENSSL_cleanse(&k, sizeof k);
  return r;
}

int iam_key_delete(const struct iam *iam, const char *user, const char *id) {
  struct meta_access_key k;
  int r = key_of_user(iam, user, id, &k);
  OPENSSL_cleanse(&k, sizeof k);
  return r ? r : meta_access_key_delete(iam->meta, id);
}

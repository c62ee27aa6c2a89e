/* meta_iam.c - the IAM tables: users 'I', access keys 'A', groups 'R'.
 *
 *   I|1|user          -> u8 1, u64 created_ms, u8 disabled, str policy,
 *                        u32 n_groups, str group...
 *   A|1|access_key_id -> u8 1, str user, u8 status, u64 created_ms,
 *                        u64 expires_ms, bytes sealed secret
 *   R|1|group         -> u8 1, u64 created_ms, str policy
 *
 * An empty policy string means "none". Deleting a user takes its keys
 * with it and deleting a group takes it out of every user, each in one
 * batch, so no key ever points at a missing user and no user at a missing
 * group. */
#include "meta_internal.h"

#include "codec.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IAM_VALUE_V1 1

static int iam_key(char table, const char *name, size_t max,
                   struct meta_key *k) {
  if (!name || !name[0] || strnlen(name, max + 1) > max)
    return CAIRN_EINVAL;
  key_init(k, table);
  key_str(k, name);
  return 0;
}

static char *dup_policy(const char *s, size_t n) {
  if (n == 0)
    return NULL;
  char *p = malloc(n + 1);
  if (p) {
    memcpy(p, s, n);
    p[n] = '\0';
  }
  return p;
}

/* ---- users ------------------------------------------------------------- */

static int user_decode(const char *name, const void *v, size_t len,
                       struct meta_iam_user *u) {
  memset(u, 0, sizeof *u);
  snprintf(u->name, sizeof u->name, "%s", name);
  struct codec_in in;
  codec_in_init(&in, v, len);
  if (codec_get_u8(&in) != IAM_VALUE_V1)
    return CAIRN_ECORRUPT;
  u->created_ms = (int64_t)codec_get_u64(&in);
  u->disabled = codec_get_u8(&in) != 0;
  size_t plen;
  const char *policy = codec_get_str(&in, &plen);
  u->n_groups = codec_get_u32(&in);
  if (u->n_groups > META_IAM_GROUPS_MAX)
    return CAIRN_ECORRUPT;
  for (uint32_t i = 0; i < u->n_groups; i++)
    codec_get_str_into(&in, u->groups[i], sizeof u->groups[i]);
  if (in.err)
    return in.err;
  u->policy = dup_policy(policy, plen);
  return plen && !u->policy ? CAIRN_ENOMEM : 0;
}

static void user_encode(const struct meta_iam_user *u, struct codec_out *o) {
  codec_out_init(o);
  codec_put_u8(o, IAM_VALUE_V1);
  codec_put_u64(o, (uint64_t)u->created_ms);
  codec_put_u8(o, u->disabled ? 1 : 0);
  codec_put_str(o, u->policy);
  codec_put_u32(o, u->n_groups);
  for (uint32_t i = 0; i < u->n_groups; i++)
    codec_put_str(o, u->groups[i]);
}

void meta_iam_user_release(struct meta_iam_user *u) {
  free(u->policy);
  u->policy = NULL;
}

struct put_arg {
  struct meta_key k;
  struct codec_out val;
  bool create;
  const char *user; /* access keys: the user that must exist */
};

/* Insert (create) or replace (must exist) one row. */
static int apply_put(struct meta_tx *tx, void *arg) {
  struct put_arg *a = arg;
  char *v = NULL;
  size_t n = 0;
  int r;
  if (a->user) {
    struct meta_key uk;
    iam_key(TBL_IAM_USER, a->user, META_IAM_NAME_MAX, &uk);
    if ((r = tx_get(tx, &uk, &v, &n)) != 0)
      return r;
    val_free(v);
    v = NULL;
  }
  r = tx_get(tx, &a->k, &v, &n);
  val_free(v);
  if (r != 0 && r != CAIRN_ENOENT)
    return r;
  if (a->create && r == 0)
    return CAIRN_EEXIST;
  if (!a->create && r == CAIRN_ENOENT)
    return CAIRN_ENOENT;
  tx_put(tx, &a->k, a->val.buf, a->val.len);
  return 0;
}

static int run_put(struct meta *m, struct put_arg *a) {
  int r = a->val.err;
  if (!r)
    r = meta_run(m, apply_put, a);
  codec_out_release(&a->val);
  return r;
}

int meta_iam_user_put(struct meta *m, const struct meta_iam_user *u,
                      bool create) {
  struct put_arg a = {.create = create};
  if (iam_key(TBL_IAM_USER, u->name, META_IAM_NAME_MAX, &a.k) ||
      u->n_groups > META_IAM_GROUPS_MAX)
    return CAIRN_EINVAL;
  user_encode(u, &a.val);
  return run_put(m, &a);
}

/* Point read of one row of table into a decoder. */
static int get_row(struct meta *m, char table, const char *name, size_t max,
                   meta_row_fn decode, void *out) {
  struct meta_key k;
  if (iam_key(table, name, max, &k))
    return CAIRN_EINVAL;
  char *v = NULL;
  size_t n = 0;
  int r = db_get(m, &k, &v, &n);
  if (r)
    return r;
  r = decode(name, (const uint8_t *)v, n, out);
  val_free(v);
  return r;
}

static int user_row(const char *name, const uint8_t *v, size_t len, void *out) {
  return user_decode(name, v, len, out);
}

int meta_iam_user_get(struct meta *m, const char *name,
                      struct meta_iam_user *out) {
  memset(out, 0, sizeof *out);
  return get_row(m, TBL_IAM_USER, name, META_IAM_NAME_MAX, user_row, out);
}

struct list_arg {
  meta_iam_user_cb user_cb;
  meta_access_key_cb key_cb;
  meta_iam_group_cb group_cb;
  void *arg;
  const char *user; /* key listing filter */
};

static int user_list_row(const char *name, const uint8_t *v, size_t len,
                         void *arg) {
  struct list_arg *l = arg;
  struct meta_iam_user u;
  int r = user_decode(name, v, len, &u);
  if (!r)
    r = l->user_cb(&u, l->arg);
  meta_iam_user_release(&u);
  return r;
}

int meta_iam_user_list(struct meta *m, meta_iam_user_cb cb, void *arg) {
  struct list_arg l = {.user_cb = cb, .arg = arg};
  return meta_table_scan(m, NULL, TBL_IAM_USER, user_list_row, &l);
}

/* ---- access keys ------------------------------------------------------- */

static int access_key_decode(const char *id, const void *v, size_t len,
                             struct meta_access_key *k) {
  memset(k, 0, sizeof *k);
  snprintf(k->access_key_id, sizeof k->access_key_id, "%s", id);
  struct codec_in in;
  codec_in_init(&in, v, len);
  if (codec_get_u8(&in) != IAM_VALUE_V1)
    return CAIRN_ECORRUPT;
  codec_get_str_into(&in, k->user, sizeof k->user);
  k->status = codec_get_u8(&in);
  k->created_ms = (int64_t)codec_get_u64(&in);
  k->expires_ms = (int64_t)codec_get_u64(&in);
  size_t n;
  const char *sealed = codec_get_str(&in, &n);
  if (in.err || n > sizeof k->sealed)
    return CAIRN_ECORRUPT;
  memcpy(k->sealed, sealed, n);
  k->sealed_len = (uint32_t)n;
  return 0;
}

int meta_access_key_put(struct meta *m, const struct meta_access_key *k,
                        bool create) {
  struct put_arg a = {.create = create, .user = k->user};
  if (iam_key(TBL_ACCESS_KEY, k->access_key_id, META_ACCESS_KEY_ID_MAX, &a.k) ||
      !memchr(k->user, 0, sizeof k->user) || !k->user[0] ||
      k->sealed_len > sizeof k->sealed)
    return CAIRN_EINVAL;
  codec_out_init(&a.val);
  codec_put_u8(&a.val, IAM_VALUE_V1);
  codec_put_str(&a.val, k->user);
  codec_put_u8(&a.val, k->status);
  codec_put_u64(&a.val, (uint64_t)k->created_ms);
  codec_put_u64(&a.val, (uint64_t)k->expires_ms);
  codec_put_bytes(&a.val, k->sealed, k->sealed_len);
  return run_put(m, &a);
}

static int access_key_row(const char *id, const uint8_t *v, size_t len,
                          void *out) {
  return access_key_decode(id, v, len, out);
}

int meta_access_key_get(struct meta *m, const char *access_key_id,
                        struct meta_access_key *out) {
  return get_row(m, TBL_ACCESS_KEY, access_key_id, META_ACCESS_KEY_ID_MAX,
                 access_key_row, out);
}

static int apply_delete(struct meta_tx *tx, void *arg) {
  const struct meta_key *k = arg;
  char *v = NULL;
  size_t n = 0;
  int r = tx_get(tx, k, &v, &n);
  val_free(v);
  if (!r)
    tx_del(tx, k);
  return r;
}

int meta_access_key_delete(struct meta *m, const char *access_key_id) {
  struct meta_key k;
  if (iam_key(TBL_ACCESS_KEY, access_key_id, META_ACCESS_KEY_ID_MAX, &k))
    return CAIRN_EINVAL;
  return meta_run(m, apply_delete, &k);
}

static int key_list_row(const char *id, const uint8_t *v, size_t len,
                        void *arg) {
  struct list_arg *l = arg;
  struct meta_access_key k;
  int r = access_key_decode(id, v, len, &k);
  if (!r && (!l->user || strcmp(l->user, k.user) == 0))
    r = l->key_cb(&k, l->arg);
  memset(&k, 0, sizeof k);
  return r;
}

int meta_access_key_list(struct meta *m, const char *user,
                         meta_access_key_cb cb, void *arg) {
  struct list_arg l = {.key_cb = cb, .arg = arg, .user = user};
  return meta_table_scan(m, NULL, TBL_ACCESS_KEY, key_list_row, &l);
}

/* Writes decided while scanning a table inside a transaction; applied
 * after the iterator is closed (a WriteBatchWithIndex must not change under
 * its own iterator). val.buf NULL: a delete. */
struct pending {
  struct meta_key k;
  struct codec_out val;
};
struct pending_list {
  struct pending *items;
  size_t n, cap;
  const char *name; /* the user or group being deleted */
};

static struct pending *pending_add(struct pending_list *l) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 8;
    struct pending *grown = realloc(l->items, cap * sizeof *grown);
    if (!grown)
      return NULL;
    l->items = grown;
    l->cap = cap;
  }
  struct pending *p = &l->items[l->n++];
  memset(p, 0, sizeof *p);
  return p;
}

/* Applies (when r is 0) and frees the pending writes; returns r. */
static int pending_finish(struct meta_tx *tx, struct pending_list *l, int r) {
  for (size_t i = 0; i < l->n; i++) {
    struct pending *p = &l->items[i];
    if (!r && p->val.buf)
      tx_put(tx, &p->k, p->val.buf, p->val.len);
    else if (!r)
      tx_del(tx, &p->k);
    codec_out_release(&p->val);
  }
  free(l->items);
  return r;
}

static int drop_user_key(const struct meta_access_key *k, void *arg) {
  struct pending *p = pending_add(arg);
  if (!p)
    return CAIRN_ENOMEM;
  iam_key(TBL_ACCESS_KEY, k->access_key_id, META_ACCESS_KEY_ID_MAX, &p->k);
  return 0;
}

static int apply_user_delete(struct meta_tx *tx, void *arg) {
  const char *name = arg;
  struct meta_key k;
  iam_key(TBL_IAM_USER, name, META_IAM_NAME_MAX, &k);
  int r = apply_delete(tx, &k);
  if (r)
    return r;
  struct pending_list drops = {0};
  struct list_arg l = {.key_cb = drop_user_key, .arg = &drops, .user = name};
  r = meta_table_scan(tx->m, tx, TBL_ACCESS_KEY, key_list_row, &l);
  return pending_finish(tx, &drops, r);
}

int meta_iam_user_delete(struct meta *m, const char *name) {
  struct meta_key k;
  if (iam_key(TBL_IAM_USER, name, META_IAM_NAME_MAX, &k))
    return CAIRN_EINVAL;
  return meta_run(m, apply_user_delete, (void *)name);
}

/* ---- groups ------------------------------------------------------------ */

static int group_decode(const char *name, const uint8_t *v, size_t len,
                        void *out) {
  struct meta_iam_group *g = out;
  memset(g, 0, sizeof *g);
  snprintf(g->name, sizeof g->name, "%s", name);
  struct codec_in in;
  codec_in_init(&in, v, len);
  if (codec_get_u8(&in) != IAM_VALUE_V1)
    return CAIRN_ECORRUPT;
  g->created_ms = (int64_t)codec_get_u64(&in);
  size_t plen;
  const char *policy = codec_get_str(&in, &plen);
  if (in.err)
    return in.err;
  g->policy = dup_policy(policy, plen);
  return plen && !g->policy ? CAIRN_ENOMEM : 0;
}

void meta_iam_group_release(struct meta_iam_group *g) {
  free(g->policy);
  g->policy = NULL;
}

int meta_iam_group_put(struct meta *m, const struct meta_iam_group *g,
                       bool create) {
  struct put_arg a = {.create = create};
  if (iam_key(TBL_IAM_GROUP, g->name, META_IAM_NAME_MAX, &a.k))
    return CAIRN_EINVAL;
  codec_out_init(&a.val);
  codec_put_u8(&a.val, IAM_VALUE_V1);
  codec_put_u64(&a.val, (uint64_t)g->created_ms);
  codec_put_str(&a.val, g->policy);
  return run_put(m, &a);
}

int meta_iam_group_get(struct meta *m, const char *name,
                       struct meta_iam_group *out) {
  memset(out, 0, sizeof *out);
  return get_row(m, TBL_IAM_GROUP, name, META_IAM_NAME_MAX, group_decode, out);
}

/* Inside a group delete: rewrite every user that lists the group. */
static int ungroup_user(const char *name, const uint8_t *v, size_t len,
                        void *arg) {
  struct pending_list *l = arg;
  struct meta_iam_user u;
  int r = user_decode(name, v, len, &u);
  uint32_t kept = 0;
  for (uint32_t i = 0; !r && i < u.n_groups; i++)
    if (strcmp(u.groups[i], l->name) != 0)
      memmove(u.groups[kept++], u.groups[i], sizeof u.groups[i]);
  if (!r && kept != u.n_groups) {
    struct pending *p = pending_add(l);
    if (!p) {
      r = CAIRN_ENOMEM;
    } else {
      u.n_groups = kept;
      iam_key(TBL_IAM_USER, name, META_IAM_NAME_MAX, &p->k);
      user_encode(&u, &p->val);
      r = p->val.err;
    }
  }
  meta_iam_user_release(&u);
  return r;
}

static int apply_group_delete(struct meta_tx *tx, void *arg) {
  const char *name = arg;
  struct meta_key k;
  iam_key(TBL_IAM_GROUP, name, META_IAM_NAME_MAX, &k);
  int r = apply_delete(tx, &k);
  if (r)
    return r;
  struct pending_list users = {.name = name};
  r = meta_table_scan(tx->m, tx, TBL_IAM_USER, ungroup_user, &users);
  return pending_finish(tx, &users, r);
}

int meta_iam_group_delete(struct meta *m, const char *name) {
  struct meta_key k;
  if (iam_key(TBL_IAM_GROUP, name, META_IAM_NAME_MAX, &k))
    return CAIRN_EINVAL;
  return meta_run(m, apply_group_delete, (void *)name);
}

static int group_list_row(const char *name, const uint8_t *v, size_t len,
                          void *arg) {
  struct list_arg *l = arg;
  struct meta_iam_group g;
  int r = group_decode(name, v, len, &g);
  if (!r)
    r = l->group_cb(&g, l->arg);
  meta_iam_group_release(&g);
  return r;
}

int meta_iam_group_list(struct meta *m, meta_iam_group_cb cb, void *arg) {
  struct list_arg l = {.group_cb = cb, .arg = arg};
  return meta_table_scan(m, NULL, TBL_IAM_GROUP, group_list_row, &l);
}

/* admin_handlers.c - one function per admin route (ADMIN_ROUTE_MAP): read
 * the captures and the body, call coordinator/iam or read coordinator/meta,
 * answer JSON. Secrets appear only in the answers of key creation and
 * rotation, and are wiped from memory after. */
#include "admin_internal.h"
#include "s3_route.h"

#include "coordinator.h"
#include "error.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static json_t *iso_time(int64_t ms) {
  if (ms <= 0)
    return json_null();
  char buf[32];
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return json_string(buf);
}

static const struct iam *iam_of(struct admin_request *a) {
  return &a->c->iam;
}

static void send_ok(struct admin_request *a, int r) {
  if (r)
    admin_send_cairn_error(a, r, NULL);
  else
    admin_send_json(a, 200, json_pack("{s:b}", "ok", 1));
}

/* The stored policy text as JSON (it parsed when it was set). */
static json_t *policy_json(const char *text) {
  return text ? json_loads(text, 0, NULL) : json_null();
}

void admin_list_routes(struct admin_request *a) {
  size_t n;
  const struct admin_route *r = admin_route_table(&n);
  json_t *list = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(list,
                          json_pack("{s:s, s:s, s:s?, s:b}", "method",
                                    r[i].method, "path", r[i].pattern, "action",
                                    r[i].action, "body", r[i].body));
  /* The S3 operations too: every route of both tables in one answer. */
  static const char *const targets[] = {"service", "bucket", "object"};
  json_t *s3 = json_array();
  for (int op = 1; op < S3_OP_COUNT; op++) {
    const struct s3_op_info *o = s3_op_info((enum s3_operation)op);
    json_array_append_new(
        s3, json_pack("{s:s, s:s, s:s, s:s, s:s?, s:b, s:b}", "name", o->name,
                      "method", o->method, "action", o->action, "target",
                      targets[o->target], "subresource", o->sub, "copy",
                      o->copy, "implemented", o->implemented));
  }
  admin_send_json(a, 200,
                  json_pack("{s:s, s:o, s:o}", "prefix", ADMIN_PREFIX, "routes",
                            list, "s3", s3));
}

/* ---- users --------------------------------------------------------------- */

static json_t *user_json(const struct meta_iam_user *u) {
  char arn[IAM_ARN_MAX];
  iam_arn("user", u->name, arn, sizeof arn);
  json_t *groups = json_array();
  for (uint32_t i = 0; i < u->n_groups; i++)
    json_array_append_new(groups, json_string(u->groups[i]));
  return json_pack("{s:s, s:s, s:b, s:o, s:b, s:o}", "name", u->name, "arn",
                   arn, "disabled", u->disabled, "groups", groups, "has_policy",
                   u->policy != NULL, "created", iso_time(u->created_ms));
}

static int add_user(const struct meta_iam_user *u, void *arg) {
  return json_array_append_new(arg, user_json(u)) ? CAIRN_ENOMEM : 0;
}

void admin_list_users(struct admin_request *a) {
  json_t *list = json_array();
  int r = list ? meta_iam_user_list(a->c->meta, add_user, list) : CAIRN_ENOMEM;
  if (r) {
    json_decref(list);
    admin_send_cairn_error(a, r, NULL);
    return;
  }
  admin_send_json(a, 200, json_pack("{s:o}", "users", list));
}

static void send_user(struct admin_request *a, int status) {
  struct meta_iam_user u;
  int r = meta_iam_user_get(a->c->meta, a->user, &u);
  if (r) {
    admin_send_cairn_error(a, r == CAIRN_EINVAL ? CAIRN_ENOENT : r, NULL);
    return;
  }
  json_t *doc = json_pack("{s:o}", "user", user_json(&u));
  meta_iam_user_release(&u);
  admin_send_json(a, status, doc);
}

void admin_create_user(struct admin_request *a) {
  char err[IAM_ERR_MAX] = "";
  int r = iam_user_create(iam_of(a), a->user, err, sizeof err);
  if (r)
    admin_send_cairn_error(a, r, err[0] ? err : NULL);
  else
    send_user(a, 201);
}

void admin_get_user(struct admin_request *a) {
  send_user(a, 200);
}

void admin_delete_user(struct admin_request *a) {
  send_ok(a, iam_user_delete(iam_of(a), a->user));
}

void admin_disable_user(struct admin_request *a) {
  send_ok(a, iam_user_set_disabled(iam_of(a), a->user, true));
}

void admin_enable_user(struct admin_request *a) {
  send_ok(a, iam_user_set_disabled(iam_of(a), a->user, false));
}

void admin_get_user_policy(struct admin_request *a) {
  struct meta_iam_user u;
  int r = meta_iam_user_get(a->c->meta, a->user, &u);
  if (r) {
    admin_send_cairn_error(a, r == CAIRN_EINVAL ? CAIRN_ENOENT : r, NULL);
    return;
  }
  json_t *doc =
      json_pack("{s:s, s:o}", "user", u.name, "policy", policy_json(u.policy));
  meta_iam_user_release(&u);
  admin_send_json(a, 200, doc);
}

void admin_put_user_policy(struct admin_request *a) {
  char err[IAM_ERR_MAX] = "";
  int r = iam_user_set_policy(iam_of(a), a->user, a->body ? a->body : "",
                              a->body_len, err, sizeof err);
  if (r)
    admin_send_cairn_error(a, r, err[0] ? err : NULL);
  else
    send_ok(a, 0);
}

void admin_delete_user_policy(struct admin_request *a) {
  send_ok(a, iam_user_set_policy(iam_of(a), a->user, NULL, 0, NULL, 0));
}

/* ---- access keys ----------------------------------------------------------
 */

static int add_key(const struct meta_access_key *k, void *arg) {
  json_t *o = json_pack(
      "{s:s, s:s, s:s, s:o, s:o}", "access_key_id", k->access_key_id, "user",
      k->user, "status", k->status == META_KEY_ACTIVE ? "active" : "inactive",
      "created", iso_time(k->created_ms), "expires", iso_time(k->expires_ms));
  return json_array_append_new(arg, o) ? CAIRN_ENOMEM : 0;
}

void admin_list_keys(struct admin_request *a) {
  struct meta_iam_user u;
  int r = meta_iam_user_get(a->c->meta, a->user, &u);
  if (!r)
    meta_iam_user_release(&u);
  json_t *list = json_array();
  if (!r)
    r = list ? meta_access_key_list(a->c->meta, a->user, add_key, list)
             : CAIRN_ENOMEM;
  if (r) {
    json_decref(list);
    admin_send_cairn_error(a, r == CAIRN_EINVAL ? CAIRN_ENOENT : r, NULL);
    return;
  }
  admin_send_json(a, 200, json_pack("{s:o}", "keys", list));
}

/* The one answer that carries a secret. */
static void send_new_key(struct admin_request *a, int r, const char *id,
                         char *secret, int64_t now) {
  if (r) {
    admin_send_cairn_error(a, r, NULL);
    return;
  }
  json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:o}", "access_key_id", id,
                          "secret_access_key", secret, "user", a->user,
                          "status", "active", "created", iso_time(now));
  OPENSSL_cleanse(secret, IAM_SECRET_KEY_LEN + 1);
  admin_send_json(a, 201, doc);
}

void admin_create_key(struct admin_request *a) {
  char id[IAM_ACCESS_KEY_LEN + 1], secret[IAM_SECRET_KEY_LEN + 1];
  int64_t now = coord_now_ms();
  int r = iam_key_create(iam_of(a), a->user, now, id, secret);
  send_new_key(a, r, id, secret, now);
}

void admin_rotate_key(struct admin_request *a) {
  char id[IAM_ACCESS_KEY_LEN + 1], secret[IAM_SECRET_KEY_LEN + 1];
  int64_t now = coord_now_ms();
  int r = iam_key_rotate(iam_of(a), a->user, a->key, now, id, secret);
  send_new_key(a, r, id, secret, now);
}

void admin_disable_key(struct admin_request *a) {
  send_ok(a, iam_key_set_active(iam_of(a), a->user, a->key, false));
}

void admin_enable_key(struct admin_request *a) {
  send_ok(a, iam_key_set_active(iam_of(a), a->user, a->key, true));
}

void admin_delete_key(struct admin_request *a) {
  send_ok(a, iam_key_delete(iam_of(a), a->user, a->key));
}

/* ---- groups -------------------------------------------------------------- */

struct members {
  const char *group; /* NULL: every group, keyed by name in by_group */
  json_t *list;
  json_t *by_group;
};

static int add_member(const struct meta_iam_user *u, void *arg) {
  struct members *m = arg;
  for (uint32_t i = 0; i < u->n_groups; i++) {
    if (m->group && strcmp(m->group, u->groups[i]) == 0)
      json_array_append_new(m->list, json_string(u->name));
    json_t *l = m->by_group ? json_object_get(m->by_group, u->groups[i]) : NULL;
    if (l)
      json_array_append_new(l, json_string(u->name));
  }
  return 0;
}

static int add_group(const struct meta_iam_group *g, void *arg) {
  struct members *m = arg;
  json_t *members = json_array();
  char arn[IAM_ARN_MAX];
  iam_arn("group", g->name, arn, sizeof arn);
  json_object_set(m->by_group, g->name, members);
  return json_array_append_new(m->list,
                               json_pack("{s:s, s:s, s:b, s:o, s:o}", "name",
                                         g->name, "arn", arn, "has_policy",
                                         g->policy != NULL, "members", members,
                                         "created", iso_time(g->created_ms)))
             ? CAIRN_ENOMEM
             : 0;
}

void admin_list_groups(struct admin_request *a) {
  struct members m = {.list = json_array(), .by_group = json_object()};
  int r = m.list && m.by_group ? 0 : CAIRN_ENOMEM;
  if (!r)
    r = meta_iam_group_list(a->c->meta, add_group, &m);
  if (!r)
    r = meta_iam_user_list(a->c->meta, add_member, &m);
  json_decref(m.by_group);
  if (r) {
    json_decref(m.list);
    admin_send_cairn_error(a, r, NULL);
    return;
  }
  admin_send_json(a, 200, json_pack("{s:o}", "groups", m.list));
}

void admin_create_group(struct admin_request *a) {
  char err[IAM_ERR_MAX] = "";
  int r = iam_group_create(iam_of(a), a->group, err, sizeof err);
  if (r)
    admin_send_cairn_error(a, r, err[0] ? err : NULL);
  else
    admin_send_json(a, 201, json_pack("{s:{s:s}}", "group", "name", a->group));
}

void admin_delete_group(struct admin_request *a) {
  int r = iam_name_valid(a->group) ? meta_iam_group_delete(a->c->meta, a->group)
                                   : CAIRN_ENOENT;
  send_ok(a, r);
}

void admin_list_members(struct admin_request *a) {
  struct meta_iam_group g;
  int r = meta_iam_group_get(a->c->meta, a->group, &g);
  if (!r)
    meta_iam_group_release(&g);
  struct members m = {.group = a->group, .list = json_array()};
  if (!r)
    r = m.list ? meta_iam_user_list(a->c->meta, add_member, &m) : CAIRN_ENOMEM;
  if (r) {
    json_decref(m.list);
    admin_send_cairn_error(a, r == CAIRN_EINVAL ? CAIRN_ENOENT : r, NULL);
    return;
  }
  admin_send_json(
      a, 200, json_pack("{s:s, s:o}", "group", a->group, "members", m.list));
}

void admin_add_member(struct admin_request *a) {
  send_ok(a, iam_group_member(iam_of(a), a->group, a->user, true));
}

void admin_remove_member(struct admin_request *a) {
  send_ok(a, iam_group_member(iam_of(a), a->group, a->user, false));
}

void admin_get_group_policy(struct admin_request *a) {
  struct meta_iam_group g;
  int r = meta_iam_group_get(a->c->meta, a->group, &g);
  if (r) {
    admin_send_cairn_error(a, r == CAIRN_EINVAL ? CAIRN_ENOENT : r, NULL);
    return;
  }
  json_t *doc =
      json_pack("{s:s, s:o}", "group", g.name, "policy", policy_json(g.policy));
  meta_iam_group_release(&g);
  admin_send_json(a, 200, doc);
}

void admin_put_group_policy(struct admin_request *a) {
  char err[IAM_ERR_MAX] = "";
  int r = iam_group_set_policy(iam_of(a), a->group, a->body ? a->body : "",
                               a->body_len, err, sizeof err);
  if (r)
    admin_send_cairn_error(a, r, err[0] ? err : NULL);
  else
    send_ok(a, 0);
}

void admin_delete_group_policy(struct admin_request *a) {
  send_ok(a, iam_group_set_policy(iam_of(a), a->group, NULL, 0, NULL, 0));
}

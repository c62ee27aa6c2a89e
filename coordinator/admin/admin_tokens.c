/*
 * admin_tokens.c - the token routes of the admin API (ADMIN_ROUTE_MAP):
 * issue, inspect, revoke-all. Issuing checks that the owner's own policies
 * allow every permission on the scope, so a token never starts out wider
 * than its issuer; every use is authorized again (coordinator/s3), so a
 * right withdrawn later is withdrawn from the token too. Token texts are
 * answered, never logged.
 */
#include "admin_internal.h"

#include "access.h"
#include "coordinator.h"
#include "error.h"
#include "http_server.h"
#include "log.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static json_t *iso(int64_t secs) {
  char buf[32];
  time_t t = (time_t)secs;
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return json_string(buf);
}

static void bad_input(struct admin_request *a, const char *message) {
  admin_send_error(a, 400, "InvalidInput", message);
}

/* S3's bucket name characters and length; the bucket need not exist yet. */
static int bucket_name_ok(const char *b) {
  size_t n = strlen(b);
  if (n < 3 || n > TOKEN_BUCKET_MAX)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!((b[i] >= 'a' && b[i] <= 'z') || (b[i] >= '0' && b[i] <= '9') ||
          b[i] == '-' || b[i] == '.'))
      return 0;
  return 1;
}

static const char *scope_name(enum token_scope s) {
  return s == TOKEN_SCOPE_PREFIX ? "prefix"
         : s == TOKEN_SCOPE_KEY  ? "key"
                                 : "bucket";
}

/* Fills t's scope, perms, lifetime and ranges from the request document;
 * NULL or the message to answer. */
static const char *parse_request(json_t *doc, int64_t now, struct token *t) {
  const char *bucket = json_string_value(json_object_get(doc, "bucket"));
  const char *prefix = json_string_value(json_object_get(doc, "prefix"));
  const char *key = json_string_value(json_object_get(doc, "key"));
  const char *perms = json_string_value(json_object_get(doc, "permissions"));
  json_t *expires_in = json_object_get(doc, "expires_in");
  json_t *cidrs = json_object_get(doc, "cidrs");
  if (!bucket || !bucket_name_ok(bucket))
    return "\"bucket\" must be a bucket name";
  snprintf(t->bucket, sizeof t->bucket, "%s", bucket);
  if (prefix && key)
    return "give \"prefix\" or \"key\", not both";
  const char *path = prefix ? prefix : key;
  if (path && (!path[0] || strlen(path) > TOKEN_PATH_MAX))
    return "the prefix or key must be 1 to 1024 bytes";
  t->scope = prefix ? TOKEN_SCOPE_PREFIX
             : key  ? TOKEN_SCOPE_KEY
                    : TOKEN_SCOPE_BUCKET;
  snprintf(t->path, sizeof t->path, "%s", path ? path : "");
  if (!perms || token_parse_perms(perms, &t->perms) != 0)
    return "\"permissions\" must list some of read, write, delete, list";
  if (!json_is_integer(expires_in) || json_integer_value(expires_in) < 1 ||
      json_integer_value(expires_in) > TOKEN_MAX_LIFETIME)
    return "\"expires_in\" must be 1 to 604800 seconds (7 days)";
  t->issued = now;
  t->expires = now + (int64_t)json_integer_value(expires_in);
  if (cidrs && !json_is_array(cidrs))
    return "\"cidrs\" must be an array of address ranges";
  if (json_array_size(cidrs) > TOKEN_CIDRS_MAX)
    return "at most 8 address ranges";
  size_t i;
  json_t *c;
  json_array_foreach(cidrs, i, c) {
    const char *text = json_string_value(c);
    if (!text || token_parse_cidr(text, &t->cidrs[i]) != 0)
      return "a range must be ADDRESS or ADDRESS/BITS with zero host bits";
  }
  t->n_cidrs = json_array_size(cidrs);
  return NULL;
}

/* Whether owner's own policies allow every permission of t on its scope:
 * read/write/delete on "bucket/prefix*" (the key itself for a key scope,
 * "bucket/ *" for the whole bucket), list on the bucket with s3:prefix. */
static int owner_may_grant(struct admin_request *a,
                           const struct iam_principal *owner,
                           const struct token *t, const char **denied) {
  static const struct {
    unsigned perm;
    const char *action;
  } checks[] = {{TOKEN_PERM_READ, "s3:GetObject"},
                {TOKEN_PERM_WRITE, "s3:PutObject"},
                {TOKEN_PERM_DELETE, "s3:DeleteObject"},
                {TOKEN_PERM_LIST, "s3:ListBucket"}};
  size_t cap = 32 + strlen(t->bucket) + strlen(t->path);
  char *arn = malloc(cap);
  if (!arn)
    return -1;
  int ok = 1;
  for (size_t i = 0; ok && i < sizeof checks / sizeof checks[0]; i++) {
    if (!(t->perms & checks[i].perm))
      continue;
    struct access_context ctx;
    access_context_init(&ctx, a->http, owner, coord_now_ms());
    if (checks[i].perm == TOKEN_PERM_LIST) {
      snprintf(arn, cap, "arn:aws:s3:::%s", t->bucket);
      if (t->scope != TOKEN_SCOPE_BUCKET)
        access_context_add(&ctx, "s3:prefix", t->path);
    } else {
      snprintf(arn, cap, "arn:aws:s3:::%s/%s%s", t->bucket, t->path,
               t->scope == TOKEN_SCOPE_KEY ? "" : "*");
    }
    if (access_authorize(&a->c->iam, owner, checks[i].action, arn, &ctx,
                         NULL) != POLICY_ALLOW) {
      ok = 0;
      *denied = checks[i].action;
    }
  }
  free(arn);
  return ok;
}

static json_t *token_json(const struct token *t) {
  char perms[32], id[2 * TOKEN_ID_LEN + 1], range[64];
  token_format_perms(t->perms, perms, sizeof perms);
  crypto_hex(t->id, TOKEN_ID_LEN, id);
  json_t *cidrs = json_array();
  for (size_t i = 0; i < t->n_cidrs; i++) {
    token_format_cidr(&t->cidrs[i], range, sizeof range);
    json_array_append_new(cidrs, json_string(range));
  }
  json_t *doc =
      json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:o}", "id", id,
                "owner", t->owner[0] ? t->owner : "root", "bucket", t->bucket,
                "scope", scope_name(t->scope), "permissions", perms, "issued",
                iso(t->issued), "expires", iso(t->expires), "generation",
                (json_int_t)t->generation, "cidrs", cidrs);
  if (doc && t->scope != TOKEN_SCOPE_BUCKET)
    json_object_set_new(doc, scope_name(t->scope), json_string(t->path));
  return doc;
}

void admin_issue_token(struct admin_request *a) {
  struct access *acc = &a->c->access;
  json_error_t jerr;
  json_t *doc = a->body ? json_loadb(a->body, a->body_len, 0, &jerr) : NULL;
  if (!json_is_object(doc)) {
    json_decref(doc);
    bad_input(a, "the body must be a JSON object");
    return;
  }
  struct token t;
  memset(&t, 0, sizeof t);
  const char *problem = parse_request(doc, coord_now_ms() / 1000, &t);
  /* The owner is the issuer; only root may issue for another user. */
  const char *owner = json_string_value(json_object_get(doc, "owner"));
  const char *self = a->who.root ? "" : a->who.user;
  if (!problem && owner && strcmp(owner, "root") == 0)
    owner = "";
  if (!problem && owner && strlen(owner) > TOKEN_OWNER_MAX)
    problem = "\"owner\" must be a user name (at most 64 characters)";
  if (!problem && owner && strcmp(owner, self) != 0 && !a->who.root) {
    json_decref(doc);
    admin_send_error(a, 403, "AccessDenied",
                     "Only root may issue tokens owned by another user.");
    return;
  }
  const char *name = owner ? owner : self;
  size_t name_len = strlen(name);
  if (name_len > TOKEN_OWNER_MAX) { /* never root by accident */
    problem = "\"owner\" must be a user name (at most 64 characters)";
    name_len = 0;
  }
  memcpy(t.owner, name, name_len);
  t.owner[name_len] = '\0';
  json_decref(doc);
  if (problem) {
    bad_input(a, problem);
    return;
  }
  struct iam_principal who;
  int r = iam_principal_of_user(&a->c->iam, t.owner, &who);
  if (r) {
    admin_send_cairn_error(a, r, r == CAIRN_ENOENT ? "No such owner." : NULL);
    return;
  }
  const char *denied = NULL;
  int may = owner_may_grant(a, &who, &t, &denied);
  if (may <= 0) {
    char msg[160];
    snprintf(msg, sizeof msg,
             "The owner's own policies do not allow %s on this scope: a "
             "token cannot grant more than its owner holds.",
             denied ? denied : "it");
    if (may < 0)
      admin_send_cairn_error(a, CAIRN_ENOMEM, NULL);
    else
      admin_send_error(a, 403, "AccessDenied", msg);
    return;
  }
  t.generation = acc->token_generation;
  char text[TOKEN_TEXT_MAX + 1];
  if ((r = crypto_random(t.id, TOKEN_ID_LEN)) != 0 ||
      (r = token_encode(&t, acc->token_key, text, sizeof text)) != 0) {
    admin_send_cairn_error(a, r == CAIRN_EINVAL ? CAIRN_EIO : r, NULL);
    return;
  }
  json_t *out = token_json(&t);
  char id[2 * TOKEN_ID_LEN + 1];
  crypto_hex(t.id, TOKEN_ID_LEN, id);
  log_info("admin", "[req=%s] token %s issued for %s by %s",
           http_request_id(a->http), id, t.bucket,
           a->who.root ? "root" : a->who.user);
  json_object_set_new(out, "token", json_string(text));
  OPENSSL_cleanse(text, sizeof text);
  admin_send_json(a, 201, out);
}

void admin_inspect_token(struct admin_request *a) {
  struct access *acc = &a->c->access;
  json_error_t jerr;
  json_t *doc = a->body ? json_loadb(a->body, a->body_len, 0, &jerr) : NULL;
  const char *text = json_string_value(json_object_get(doc, "token"));
  if (!text) {
    json_decref(doc);
    bad_input(a, "the body must be {\"token\": \"cairn1....\"}");
    return;
  }
  struct token t;
  enum auth_status st = token_decode(text, strlen(text), acc->token_key, &t);
  json_decref(doc);
  if (st == AUTH_TOKEN_MALFORMED) {
    admin_send_json(
        a, 200,
        json_pack("{s:b, s:s}", "valid", 0, "state", auth_status_message(st)));
    return;
  }
  /* The origin is the holder's, not the inspector's: not checked here. */
  if (st == AUTH_OK)
    st = token_check(&t, coord_now_ms() / 1000, acc->token_generation, NULL);
  if (st == AUTH_TOKEN_ORIGIN)
    st = AUTH_OK;
  json_t *out = token_json(&t);
  json_object_set_new(out, "valid", json_boolean(st == AUTH_OK));
  json_object_set_new(
      out, "state",
      json_string(st == AUTH_OK ? "valid" : auth_status_message(st)));
  admin_send_json(a, 200, out);
}

void admin_revoke_tokens(struct admin_request *a) {
  uint64_t generation = 0;
  int r = access_tokens_revoke_all(&a->c->access, &generation);
  if (r) {
    admin_send_cairn_error(a, r, NULL);
    return;
  }
  admin_send_json(
      a, 200,
      json_pack("{s:b, s:I}", "ok", 1, "generation", (json_int_t)generation));
}

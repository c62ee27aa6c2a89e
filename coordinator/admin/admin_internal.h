/*
 * admin_internal.h - what the files of coordinator/admin share: the
 * request in flight, the route table and the response helpers.
 */
#ifndef CAIRN_ADMIN_INTERNAL_H
#define CAIRN_ADMIN_INTERNAL_H

#include "admin.h"
#include "auth.h"
#include "iam.h"

#include <jansson.h>

#define ADMIN_NAME_MAX META_ACCESS_KEY_ID_MAX

struct admin_request;
typedef void (*admin_handler)(struct admin_request *a);

/* XX(ID, "METHOD", "pattern under ADMIN_PREFIX", "iam:Action", body,
 *    handler). Action NULL: any authenticated caller, the handler decides. */
#define ADMIN_ROUTE_MAP(XX)                                                    \
  XX(LIST_ROUTES, "GET", "routes", "iam:ListRoutes", 0, admin_list_routes)     \
  XX(LIST_USERS, "GET", "users", "iam:ListUsers", 0, admin_list_users)         \
  XX(CREATE_USER, "PUT", "users/{user}", "iam:CreateUser", 0,                  \
     admin_create_user)                                                        \
  XX(GET_USER, "GET", "users/{user}", "iam:GetUser", 0, admin_get_user)        \
  XX(DELETE_USER, "DELETE", "users/{user}", "iam:DeleteUser", 0,               \
     admin_delete_user)                                                        \
  XX(DISABLE_USER, "POST", "users/{user}/disable", "iam:UpdateUser", 0,        \
     admin_disable_user)                                                       \
  XX(ENABLE_USER, "POST", "users/{user}/enable", "iam:UpdateUser", 0,          \
     admin_enable_user)                                                        \
  XX(GET_USER_POLICY, "GET", "users/{user}/policy", "iam:GetUserPolicy", 0,    \
     admin_get_user_policy)                                                    \
  XX(PUT_USER_POLICY, "PUT", "users/{user}/policy", "iam:PutUserPolicy", 1,    \
     admin_put_user_policy)                                                    \
  XX(DELETE_USER_POLICY, "DELETE", "users/{user}/policy",                      \
     "iam:DeleteUserPolicy", 0, admin_delete_user_policy)                      \
  XX(LIST_KEYS, "GET", "users/{user}/keys", "iam:ListAccessKeys", 0,           \
     admin_list_keys)                                                          \
  XX(CREATE_KEY, "POST", "users/{user}/keys", "iam:CreateAccessKey", 0,        \
     admin_create_key)                                                         \
  XX(DELETE_KEY, "DELETE", "users/{user}/keys/{key}", "iam:DeleteAccessKey",   \
     0, admin_delete_key)                                                      \
  XX(ROTATE_KEY, "POST", "users/{user}/keys/{key}/rotate",                     \
     "iam:CreateAccessKey", 0, admin_rotate_key)                               \
  XX(DISABLE_KEY, "POST", "users/{user}/keys/{key}/disable",                   \
     "iam:UpdateAccessKey", 0, admin_disable_key)                              \
  XX(ENABLE_KEY, "POST", "users/{user}/keys/{key}/enable",                     \
     "iam:UpdateAccessKey", 0, admin_enable_key)                               \
  XX(LIST_GROUPS, "GET", "groups", "iam:ListGroups", 0, admin_list_groups)     \
  XX(CREATE_GROUP, "PUT", "groups/{group}", "iam:CreateGroup", 0,              \
     admin_create_group)                                                       \
  XX(DELETE_GROUP, "DELETE", "groups/{group}", "iam:DeleteGroup", 0,           \
     admin_delete_group)                                                       \
  XX(LIST_MEMBERS, "GET", "groups/{group}/members", "iam:GetGroup", 0,         \
     admin_list_members)                                                       \
  XX(ADD_MEMBER, "PUT", "groups/{group}/members/{user}", "iam:AddUserToGroup", \
     0, admin_add_member)                                                      \
  XX(REMOVE_MEMBER, "DELETE", "groups/{group}/members/{user}",                 \
     "iam:RemoveUserFromGroup", 0, admin_remove_member)                        \
  XX(GET_GROUP_POLICY, "GET", "groups/{group}/policy", "iam:GetGroupPolicy",   \
     0, admin_get_group_policy)                                                \
  XX(PUT_GROUP_POLICY, "PUT", "groups/{group}/policy", "iam:PutGroupPolicy",   \
     1, admin_put_group_policy)                                                \
  XX(DELETE_GROUP_POLICY, "DELETE", "groups/{group}/policy",                   \
     "iam:DeleteGroupPolicy", 0, admin_delete_group_policy)                    \
  XX(CLUSTER_STATUS, "GET", "cluster", "cairn:GetClusterStatus", 0,            \
     admin_cluster_status)                                                     \
  XX(LIST_NODES, "GET", "nodes", "cairn:ListNodes", 0, admin_list_nodes)       \
  XX(GET_NODE, "GET", "nodes/{node}", "cairn:GetNode", 0, admin_get_node)      \
  XX(DRAIN_NODE, "POST", "nodes/{node}/drain", "cairn:DrainNode", 0,           \
     admin_drain_node)                                                         \
  XX(REMOVE_NODE, "DELETE", "nodes/{node}", "cairn:RemoveNode", 0,             \
     admin_remove_node)                                                        \
  /* Tokens: any signed-in caller may issue within its own rights (action      \
   * NULL: the handler checks them) and inspect; revoking is admin's. */       \
  XX(ISSUE_TOKEN, "POST", "tokens", NULL, 1, admin_issue_token)                \
  XX(INSPECT_TOKEN, "POST", "tokens/inspect", NULL, 1, admin_inspect_token)    \
  XX(REVOKE_TOKENS, "POST", "tokens/revoke-all", "iam:RevokeAllTokens", 0,     \
     admin_revoke_tokens)                                                      \
  XX(GET_BUCKET_POLICY, "GET", "buckets/{bucket}/policy",                      \
     "s3:GetBucketPolicy", 0, admin_get_bucket_policy)                         \
  XX(PUT_BUCKET_POLICY, "PUT", "buckets/{bucket}/policy",                      \
     "s3:PutBucketPolicy", 1, admin_put_bucket_policy)                         \
  XX(DELETE_BUCKET_POLICY, "DELETE", "buckets/{bucket}/policy",                \
     "s3:DeleteBucketPolicy", 0, admin_delete_bucket_policy)

#define XX(id, method, pattern, action, body, handler)                         \
  void handler(struct admin_request *a);
ADMIN_ROUTE_MAP(XX)
#undef XX

struct admin_route {
  const char *method;
  const char *pattern;
  const char *action;
  int body;
  admin_handler handler;
};

/* The table, for the listing route. */
const struct admin_route *admin_route_table(size_t *count);

struct admin_request {
  struct coordinator *c;
  struct http_request *http;
  const struct admin_route *route;
  /* Captured segments, decoded; "" when the pattern has none. */
  char user[ADMIN_NAME_MAX + 1];
  char group[ADMIN_NAME_MAX + 1];
  char key[ADMIN_NAME_MAX + 1];
  char node[ADMIN_NAME_MAX + 1];
  char bucket[ADMIN_NAME_MAX + 1]; /* bucket routes: arn:aws:s3:::bucket */
  struct iam_principal who;
  struct auth_payload_check check; /* AUTH_PAYLOAD_SHA256 bodies */
  int checking;
  char *body; /* collected, NUL-terminated; bounded by POLICY_DOC_MAX */
  size_t body_len;
  int too_large;
};

/* Finds the route for method + path (after ADMIN_PREFIX, without the
 * query) and fills a->user/group/key. Returns NULL and sets *status to 404
 * (no such path) or 405 (path known, other method). */
const struct admin_route *admin_route_find(struct admin_request *a,
                                           const char *method, const char *path,
                                           int *status);

/* Responses: each one ends the request and frees a. */
void admin_send_json(struct admin_request *a, int status, json_t *doc);
void admin_send_error(struct admin_request *a, int status, const char *code,
                      const char *message);
/* Maps a CAIRN_E* of an IAM call to its JSON error. */
void admin_send_cairn_error(struct admin_request *a, int err,
                            const char *detail);

#endif

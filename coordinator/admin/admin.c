/*
 * admin.c - an admin request from head to answer:
 *
 *   head --route--> route --authenticate--> caller --authorize--> handler
 *          |                  |                       |      (no body)
 *     NoSuchRoute,       AccessDenied,           AccessDenied
 *     MethodNotAllowed   SignatureDoesNotMatch, ...
 *                                                 body --collect, hash-->
 * handler
 *
 * Handlers are synchronous (IAM writes are administration-rate synced
 * RocksDB writes), so a request has no work in flight once it answers: an
 * abort simply frees it.
 */
#include "admin_internal.h"

#include "access.h"
#include "coordinator.h"
#include "error.h"
#include "http_server.h"
#include "log.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

bool admin_owns_target(const char *target) {
  return strncmp(target, ADMIN_RESERVED_PREFIX,
                 sizeof ADMIN_RESERVED_PREFIX - 1) == 0;
}

static void request_free(struct admin_request *a) {
  if (a->checking)
    auth_payload_release(&a->check);
  free(a->body);
  OPENSSL_cleanse(a, sizeof *a);
  free(a);
}

static void finish(struct admin_request *a, int status, const char *text) {
  struct http_header h[] = {{"content-type", "application/json"},
                            {"cache-control", "no-store"},
                            {"x-amz-request-id", http_request_id(a->http)}};
  struct http_request *req = a->http;
  http_request_set_data(req, NULL);
  request_free(a);
  if (text)
    http_respond(req, status, h, 3, text, strlen(text));
  else
    http_respond(req, 500, h, 3, "{}", 2);
}

void admin_send_json(struct admin_request *a, int status, json_t *doc) {
  char *text =
      doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
  json_decref(doc);
  finish(a, text ? status : 500, text);
  free(text);
}

void admin_send_error(struct admin_request *a, int status, const char *code,
                      const char *message) {
  json_t *doc =
      json_pack("{s:{s:s, s:s, s:s}}", "error", "code", code, "message",
                message, "request_id", http_request_id(a->http));
  admin_send_json(a, status, doc);
}

void admin_send_cairn_error(struct admin_request *a, int err,
                            const char *detail) {
  int policy_route = a->route && a->route->body;
  switch (err) {
  case CAIRN_ENOENT:
    admin_send_error(a, 404, "NoSuchEntity",
                     detail ? detail : "The entity does not exist.");
    break;
  case CAIRN_EEXIST:
    admin_send_error(a, 409, "EntityAlreadyExists",
                     detail ? detail : "The entity already exists.");
    break;
  case CAIRN_ERANGE:
    admin_send_error(a, 409, "LimitExceeded",
                     detail ? detail
                            : "A limit was reached (2 access keys per user, "
                              "10 groups per user).");
    break;
  case CAIRN_EINVAL:
  case CAIRN_ETOOBIG:
    admin_send_error(a, 400, policy_route ? "MalformedPolicy" : "InvalidInput",
                     detail && *detail ? detail : "Invalid input.");
    break;
  default:
    log_error("admin", "[req=%s] %s", http_request_id(a->http),
              cairn_strerror(err));
    admin_send_error(a, 500, "InternalError",
                     "We encountered an internal error. Please try again.");
  }
}

/* The resource a route acts on: the bucket, else the group, else the
 * user, else "*". */
static void route_resource(const struct admin_request *a, char *out,
                           size_t cap) {
  if (a->bucket[0])
    snprintf(out, cap, "arn:aws:s3:::%.63s", a->bucket); /* names: 63 max */
  else if (a->group[0])
    iam_arn("group", a->group, out, cap);
  else if (a->user[0])
    iam_arn("user", a->user, out, cap);
  else
    snprintf(out, cap, "*");
}

static void run_handler(struct admin_request *a) {
  log_info("admin", "[req=%s] %s %s by %s", http_request_id(a->http),
           a->route->method, a->route->pattern,
           a->who.root ? "root" : a->who.user);
  a->route->handler(a);
}

void admin_dispatch_request(struct coordinator *c, struct http_request *req) {
  struct admin_request *a = calloc(1, sizeof *a);
  if (!a) {
    http_respond(req, 500, NULL, 0, NULL, 0);
    return;
  }
  a->c = c;
  a->http = req;
  http_request_set_data(req, a);

  const char *target = http_request_target(req);
  int status = 404;
  if (strncmp(target, ADMIN_PREFIX, sizeof ADMIN_PREFIX - 1) == 0) {
    const char *path = target + sizeof ADMIN_PREFIX - 1;
    char buf[512];
    size_t n = strcspn(path, "?");
    if (n < sizeof buf) {
      memcpy(buf, path, n);
      buf[n] = '\0';
      a->route = admin_route_find(a, http_request_method(req), buf, &status);
    }
  }
  if (!a->route) {
    if (status == 405)
      admin_send_error(a, 405, "MethodNotAllowed",
                       "The method is not allowed on this admin path.");
    else
      admin_send_error(a, 404, "NoSuchRoute", "No admin API route here.");
    return;
  }

  struct access_caller caller;
  int64_t now = coord_now_ms();
  enum auth_status st =
      access_authenticate(&c->access, req, NULL, now, &caller);
  if (st == AUTH_OK && caller.has_token)
    st = AUTH_TOKEN_NOT_HERE; /* a token is a data capability only */
  if (st == AUTH_OK && caller.auth.payload != AUTH_PAYLOAD_UNSIGNED &&
      caller.auth.payload != AUTH_PAYLOAD_SHA256)
    st = AUTH_STREAMING_NOT_ALLOWED;
  if (st == AUTH_OK && caller.auth.payload == AUTH_PAYLOAD_SHA256) {
    st = auth_payload_begin(&a->check, caller.auth.payload_sha256);
    a->checking = st == AUTH_OK;
  }
  a->who = caller.who;
  OPENSSL_cleanse(&caller, sizeof caller);
  if (st != AUTH_OK) {
    admin_send_error(a, auth_status_http(st), auth_status_s3_code(st),
                     auth_status_message(st));
    return;
  }

  char resource[IAM_ARN_MAX];
  route_resource(a, resource, sizeof resource);
  struct access_context ctx;
  access_context_init(&ctx, req, &a->who, now);
  if (a->route->action &&
      access_authorize(&c->iam, &a->who, a->route->action, resource, &ctx,
                       NULL) != POLICY_ALLOW) {
    admin_send_error(a, 403, "AccessDenied",
                     "You are not allowed to perform this admin action.");
    return;
  }
  if (!a->route->body) {
    run_handler(a);
    return;
  }
  int64_t length = http_request_content_length(req);
  if (length > POLICY_DOC_MAX) {
    admin_send_error(a, 413, "EntityTooLarge",
                     "A request body is at most 20 KiB.");
    return;
  }
  /* The body arrives through admin_dispatch_body / _body_end. */
}

void admin_dispatch_body(struct http_request *req, const char *data,
                         size_t len) {
  struct admin_request *a = http_request_data(req);
  if (!a || !a->route || !a->route->body)
    return;
  if (a->checking)
    auth_payload_update(&a->check, data, len);
  if (a->too_large || a->body_len + len > POLICY_DOC_MAX) {
    a->too_large = 1;
    return;
  }
  char *grown = realloc(a->body, a->body_len + len + 1);
  if (!grown) {
    a->too_large = 1;
    return;
  }
  memcpy(grown + a->body_len, data, len);
  a->body = grown;
  a->body_len += len;
  a->body[a->body_len] = '\0';
}

void admin_dispatch_body_end(struct http_request *req) {
  struct admin_request *a = http_request_data(req);
  if (!a || !a->route || !a->route->body)
    return;
  if (a->checking) {
    a->checking = 0;
    enum auth_status st = auth_payload_finish(&a->check);
    if (st != AUTH_OK) {
      admin_send_error(a, auth_status_http(st), auth_status_s3_code(st),
                       auth_status_message(st));
      return;
    }
  }
  if (a->too_large) {
    admin_send_error(a, 413, "EntityTooLarge",
                     "A policy document is at most 20 KiB.");
    return;
  }
  run_handler(a);
}

void admin_dispatch_abort(struct http_request *req) {
  struct admin_request *a = http_request_data(req);
  http_request_set_data(req, NULL);
  if (a)
    request_free(a);
  http_response_end(req);
}

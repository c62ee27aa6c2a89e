/* frontend.c - /healthz here, /_cairn/ to the admin API, everything else to
 * the S3 layer. */
#include "frontend.h"

#include "admin.h"
#include "coordinator.h"
#include "healthz.h"
#include "http_server.h"
#include "s3_dispatch.h"

#include <stdlib.h>
#include <string.h>

static int is_healthz(const char *target) {
  return strcmp(target, "/healthz") == 0 ||
         strncmp(target, "/healthz?", 9) == 0;
}

static void on_request(struct http_request *req, void *arg) {
  struct coordinator *c = arg;
  const char *method = http_request_method(req);
  if (is_healthz(http_request_target(req)) &&
      (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)) {
    char *doc = healthz_render(c);
    struct http_header headers[] = {
        {"content-type", "application/json"},
        {"cache-control", "no-store"},
        {"x-amz-request-id", http_request_id(req)},
    };
    if (!doc) {
      s3_dispatch_internal_error(req);
      return;
    }
    http_respond(req, 200, headers, 3, doc, strlen(doc));
    free(doc);
    return;
  }
  if (admin_owns_target(http_request_target(req)))
    admin_dispatch_request(c, req);
  else
    s3_dispatch_request(c, req);
}

/* The body callbacks follow the request to whichever layer took it. */
static void on_body(struct http_request *req, const char *data, size_t len,
                    void *arg) {
  if (admin_owns_target(http_request_target(req)))
    admin_dispatch_body(req, data, len);
  else
    s3_dispatch_body(req, data, len, arg);
}

static char *body_buffer(struct http_request *req, size_t *len, void *arg) {
  if (admin_owns_target(http_request_target(req)))
    return NULL;
  return s3_dispatch_body_buffer(req, len, arg);
}

static void on_body_end(struct http_request *req, void *arg) {
  if (admin_owns_target(http_request_target(req)))
    admin_dispatch_body_end(req);
  else
    s3_dispatch_body_end(req, arg);
}

static void on_abort(struct http_request *req, void *arg) {
  if (admin_owns_target(http_request_target(req)))
    admin_dispatch_abort(req);
  else
    s3_dispatch_abort(req, arg);
}

void frontend_handler(struct coordinator *c, struct http_handler *out) {
  memset(out, 0, sizeof *out);
  out->on_request = on_request;
  out->on_body = on_body;
  out->body_buffer = body_buffer;
  out->on_body_end = on_body_end;
  out->on_abort = on_abort;
  out->render_error = s3_dispatch_render_error;
  out->arg = c;
  out->request_id_header = "x-amz-request-id";
}

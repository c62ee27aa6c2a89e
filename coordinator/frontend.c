/* frontend.c - /healthz here, everything else to the S3 layer. */
#include "frontend.h"

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
  s3_dispatch_request(c, req);
}

void frontend_handler(struct coordinator *c, struct http_handler *out) {
  memset(out, 0, sizeof *out);
  out->on_request = on_request;
  out->on_body = s3_dispatch_body;
  out->on_body_end = s3_dispatch_body_end;
  out->on_abort = s3_dispatch_abort;
  out->render_error = s3_dispatch_render_error;
  out->arg = c;
  out->request_id_header = "x-amz-request-id";
}

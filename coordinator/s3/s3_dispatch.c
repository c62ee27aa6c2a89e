/*
 * s3_dispatch.c - from an HTTP request to an S3 operation.
 *
 *   head --route (S3_OP_MAP)--> authenticate --> handler for the op
 *     |         |                      |
 *     |   InvalidURI,             AccessDenied,     then NotImplemented,
 *     |   InvalidBucketName       SignatureDoes...  MethodNotAllowed
 *     v
 *   body bytes --s3_body (hash, aws-chunked)--> op sink --end--> answer
 *
 * The dispatcher owns the s3_request; operations answer through
 * s3_response.c, which ends it.
 */
#include "s3_dispatch.h"

#include "s3_error.h"

#include "coordinator.h"
#include "http_server.h"
#include "log.h"
#include "s3_auth.h"
#include "s3_body.h"
#include "s3_ops.h"
#include "s3_sse.h"
#include "s3_request.h"
#include "s3_uri.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void request_free(struct s3_request *r) {
  if (r->op && r->op_free)
    r->op_free(r->op);
  s3_body_free(r->body);
  s3_route_release(&r->route);
  free(r->auth_stream);
  s3_bucket_access_free(r->access);
  free(r->new_acl);
  free(r->path);
  free(r->collected);
  free(r);
}

void s3_request_end(struct s3_request *r) {
  if (r->http) {
    http_request_set_data(r->http, NULL);
    http_response_end(r->http);
  }
  request_free(r);
}

/* Routes the request (s3_route.c): operation, bucket, key, parameters.
 * Returns the S3 error to answer, or S3_OK. */
static enum s3_error_code route_request(struct s3_request *r) {
  const char *target = http_request_target(r->http);
  unsigned flags = http_request_header(r->http, "x-amz-copy-source")
                       ? S3_ROUTE_COPY_SOURCE
                       : 0;
  if (s3_route_parse(&r->route, r->method, target, strlen(target),
                     http_request_header(r->http, "host"), r->c->config.domain,
                     flags) != 0)
    return S3_ERR_InternalError;
  const struct s3_route *rt = &r->route;
  if (rt->bucket)
    snprintf(r->bucket, sizeof r->bucket, "%s", rt->bucket);
  r->key = rt->key;
  size_t n = 2 + strlen(r->bucket) + (r->key ? rt->key_len + 1 : 0);
  if ((r->path = malloc(n)) == NULL)
    return S3_ERR_InternalError;
  snprintf(r->path, n, "/%s%s%s", r->bucket, r->key ? "/" : "",
           r->key ? r->key : "");
  /* Versions come with the versioning API: until then only the null
   * version (every object's) can be named. */
  const char *version = s3_route_param(rt, "versionId");
  if (rt->error == S3_OK && version && strcmp(version, "null") != 0)
    return S3_ERR_NotImplemented;
  return rt->error;
}

/* Errors that depend on who asks are answered only after authentication:
 * an anonymous prober learns nothing but AccessDenied. */
static int answer_before_auth(enum s3_error_code e) {
  return e != S3_OK && e != S3_ERR_NotImplemented &&
         e != S3_ERR_MethodNotAllowed;
}

void s3_dispatch_request(struct coordinator *c, struct http_request *req) {
  struct s3_request *r = calloc(1, sizeof *r);
  if (!r) {
    s3_dispatch_internal_error(req);
    return;
  }
  r->c = c;
  r->http = req;
  r->method = http_request_method(req);
  http_request_set_data(req, r);

  enum s3_error_code route_error = route_request(r);
  if (answer_before_auth(route_error)) {
    s3_send_error(r, s3_error_name(route_error), NULL);
    return;
  }
  /* Nothing touches data before the caller is proven. */
  const char *error = NULL, *message = NULL;
  if ((error = s3_authenticate(r, &message)) != NULL) {
    s3_send_error(r, error, message);
    return;
  }
  /* An operation Cairn knows is authorized before anything else is said
   * about it, NotImplemented included: a caller without the right learns
   * nothing but AccessDenied. */
  r->operation = r->route.op;
  if (r->operation != S3_OP_UNKNOWN &&
      (error = s3_authorize(r, &message)) != NULL) {
    s3_send_error(r, error, message);
    return;
  }
  const struct s3_handler *h = s3_handler_for(r->route.op);
  if (route_error != S3_OK || !h) {
    s3_send_error(r,
                  s3_error_name(route_error != S3_OK ? route_error
                                                     : S3_ERR_NotImplemented),
                  NULL);
    return;
  }
  /* SSE-C / SSE-KMS / odd SSE values are refused before any work. */
  if (r->route.target == S3_TARGET_OBJECT &&
      (error = s3_sse_check(
           r, strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0,
           &message)) != NULL) {
    s3_send_error(r, error, message);
    return;
  }
  if (h->needs_body) {
    r->body = s3_body_new(r, &error);
    if (error) {
      s3_send_error(r, error, NULL);
      return;
    }
  }
  log_debug("s3", "[req=%s] %s %s/%s by %s", http_request_id(req),
            s3_op_name(r->operation), r->bucket, r->key ? r->key : "",
            r->access_key);
  h->run(r);
}

static void emit(struct s3_request *r, const char *data, size_t len) {
  if (r->sink.data)
    r->sink.data(r, data, len);
}

static void fail_body(struct s3_request *r, const char *code) {
  struct s3_sink sink = r->sink;
  memset(&r->sink, 0, sizeof r->sink); /* nothing more reaches the op */
  if (sink.abort)
    sink.abort(r, code);
  else
    s3_send_error(r, code, NULL);
}

char *s3_dispatch_body_buffer(struct http_request *req, size_t *len,
                              void *arg) {
  (void)arg;
  struct s3_request *r = http_request_data(req);
  if (!r || r->responded || !r->sink.data || !r->sink.buffer ||
      !s3_body_passes_through(r->body))
    return NULL;
  return r->sink.buffer(r, len);
}

void s3_dispatch_body(struct http_request *req, const char *data, size_t len,
                      void *arg) {
  (void)arg;
  struct s3_request *r = http_request_data(req);
  if (!r || r->responded || !r->sink.data)
    return; /* answered already: the HTTP layer drains or closes */
  if (!r->body) {
    r->sink.data(r, data, len);
    return;
  }
  const char *error = s3_body_feed(r->body, data, len, emit);
  if (error)
    fail_body(r, error);
}

void s3_dispatch_body_end(struct http_request *req, void *arg) {
  (void)arg;
  struct s3_request *r = http_request_data(req);
  if (!r || r->responded || !r->sink.end)
    return;
  const char *error = r->body ? s3_body_finish(r->body) : NULL;
  if (error) {
    fail_body(r, error);
    return;
  }
  r->sink.end(r);
}

void s3_dispatch_abort(struct http_request *req, void *arg) {
  (void)arg;
  struct s3_request *r = http_request_data(req);
  if (!r) {
    http_response_end(req);
    return;
  }
  r->client_gone = 1;
  struct s3_sink sink = r->sink;
  memset(&r->sink, 0, sizeof r->sink);
  if (sink.abort && !r->responded)
    sink.abort(r, NULL); /* the op ends r when its work has wound down */
  else if (!r->responded)
    s3_request_end(r);
  /* else: a response is streaming; its writer sees the failed write. */
}

size_t s3_dispatch_render_error(int status, const char *reason,
                                const char *request_id, char *buf, size_t cap,
                                const char **content_type, void *arg) {
  (void)arg;
  (void)reason;
  enum s3_error_code code = status == 408   ? S3_ERR_RequestTimeout
                            : status == 413 ? S3_ERR_EntityTooLarge
                            : status == 431
                                ? S3_ERR_RequestHeaderSectionTooLarge
                            : status == 414 ? S3_ERR_InvalidURI
                            : status == 501 ? S3_ERR_NotImplemented
                            : status == 500 ? S3_ERR_InternalError
                                            : S3_ERR_BadRequest;
  *content_type = "application/xml";
  long n = s3_error_render_xml(code, NULL, "/", request_id, NULL, 0, buf, cap);
  return n < 0 ? 0 : (size_t)n;
}

void s3_dispatch_internal_error(struct http_request *req) {
  static const char body[] =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError"
      "</Code><Message>We encountered an internal error. Please try again."
      "</Message></Error>";
  struct http_header h[] = {{"Content-Type", "application/xml"},
                            {"x-amz-request-id", http_request_id(req)}};
  http_respond(req, 500, h, 2, body, sizeof body - 1);
}

/*
 * s3_dispatch.c - from an HTTP request to an S3 operation.
 *
 *   head --parse target--> route --authenticate--> find op --> handler
 *     |         |                 |                  |
 *     |   InvalidURI,        AccessDenied,     NotImplemented,
 *     |   InvalidBucketName  SignatureDoes...  MethodNotAllowed
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
  for (size_t i = 0; i < r->query_count; i++) {
    free(r->query[i].name);
    free(r->query[i].value);
  }
  free(r->auth_stream);
  free(r->key);
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

/* Splits the request target into bucket, key and query (path style, or
 * virtual-hosted when the Host is BUCKET.<domain>). */
static const char *parse_target(struct s3_request *r) {
  const char *target = http_request_target(r->http);
  const char *q = strchr(target, '?');
  size_t path_len = q ? (size_t)(q - target) : strlen(target);
  if (path_len == 0 || target[0] != '/')
    return "InvalidURI";
  r->path = s3_uri_decode(target, path_len, 0, 1);
  if (!r->path)
    return "InvalidURI";

  const char *rest = r->path + 1; /* after the leading '/' */
  const char *domain = r->c->config.domain;
  const char *host = http_request_header(r->http, "host");
  int virtual_hosted = 0;
  if (domain && *domain && host) {
    size_t host_len = strcspn(host, ":"), dlen = strlen(domain);
    if (host_len > dlen + 1 && host[host_len - dlen - 1] == '.' &&
        strncasecmp(host + host_len - dlen, domain, dlen) == 0) {
      size_t blen = host_len - dlen - 1;
      if (blen > S3_BUCKET_MAX)
        return "InvalidBucketName";
      memcpy(r->bucket, host, blen);
      r->bucket[blen] = '\0';
      virtual_hosted = 1;
      if (*rest)
        r->key = strdup(rest);
    }
  }
  if (!virtual_hosted && *rest) {
    const char *slash = strchr(rest, '/');
    size_t blen = slash ? (size_t)(slash - rest) : strlen(rest);
    if (blen > S3_BUCKET_MAX)
      return "InvalidBucketName";
    memcpy(r->bucket, rest, blen);
    r->bucket[blen] = '\0';
    if (slash && slash[1])
      r->key = strdup(slash + 1);
  }
  if (r->key && strlen(r->key) > S3_KEY_MAX)
    return "KeyTooLongError";
  if (r->bucket[0] && !s3_bucket_name_valid(r->bucket))
    return "InvalidBucketName";

  for (const char *p = q ? q + 1 : NULL; p && *p;) {
    const char *amp = strchr(p, '&');
    size_t len = amp ? (size_t)(amp - p) : strlen(p);
    if (len > 0) {
      if (r->query_count == S3_MAX_QUERY)
        return "InvalidArgument";
      const char *eq = memchr(p, '=', len);
      size_t nlen = eq ? (size_t)(eq - p) : len;
      struct s3_query_param *qp = &r->query[r->query_count];
      qp->name = s3_uri_decode(p, nlen, 1, 1);
      qp->value = eq ? s3_uri_decode(eq + 1, len - nlen - 1, 1, 1) : strdup("");
      if (!qp->name || !qp->value) {
        free(qp->name);
        free(qp->value);
        return "InvalidURI";
      }
      r->query_count++;
    }
    p = amp ? amp + 1 : NULL;
  }
  return NULL;
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

  const char *error = parse_target(r);
  if (error) {
    s3_send_error(r, error, NULL);
    return;
  }
  /* Nothing touches data before the caller is proven. */
  const char *message = NULL;
  if ((error = s3_authenticate(r, &message)) != NULL) {
    s3_send_error(r, error, message);
    return;
  }
  int not_implemented = 0;
  const struct s3_op *op = s3_op_find(r, &not_implemented);
  if (!op) {
    s3_send_error(r, not_implemented ? "NotImplemented" : "MethodNotAllowed",
                  NULL);
    return;
  }
  if ((error = s3_authorize(r, op)) != NULL) {
    s3_send_error(r, error, NULL);
    return;
  }
  if (op->needs_body) {
    r->body = s3_body_new(r, &error);
    if (error) {
      s3_send_error(r, error, NULL);
      return;
    }
  }
  log_debug("s3", "[req=%s] %s %s/%s by %s", http_request_id(req), op->name,
            r->bucket, r->key ? r->key : "", r->access_key);
  op->handler(r);
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

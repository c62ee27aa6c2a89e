/* s3_dispatch.c - FIRST CUT: every S3 request is answered NotImplemented
 * until the S3 operations land; errors are S3 XML. */
#include "s3_dispatch.h"

#include "http_server.h"

#include <stdio.h>
#include <string.h>

static size_t render(const char *code, const char *message,
                     const char *resource, const char *request_id, char *buf,
                     size_t cap) {
  int n = snprintf(buf, cap,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<Error><Code>%s</Code><Message>%s</Message>"
                   "<Resource>%s</Resource><RequestId>%s</RequestId></Error>",
                   code, message, resource, request_id);
  return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

static void send_error(struct http_request *req, int status, const char *code,
                       const char *message) {
  char body[1024];
  size_t len = render(code, message, "/", http_request_id(req), body,
                      sizeof body);
  struct http_header headers[] = {
      {"Content-Type", "application/xml"},
      {"x-amz-request-id", http_request_id(req)},
  };
  http_respond(req, status, headers, 2, body, len);
}

void s3_dispatch_request(struct coordinator *c, struct http_request *req) {
  (void)c;
  send_error(req, 501, "NotImplemented",
             "A header you provided implies functionality that is not "
             "implemented.");
}

void s3_dispatch_body(struct http_request *req, const char *data, size_t len,
                      void *arg) {
  (void)req;
  (void)data;
  (void)len;
  (void)arg;
}

void s3_dispatch_body_end(struct http_request *req, void *arg) {
  (void)req;
  (void)arg;
}

void s3_dispatch_abort(struct http_request *req, void *arg) {
  (void)arg;
  http_response_end(req);
}

size_t s3_dispatch_render_error(int status, const char *reason,
                                const char *request_id, char *buf, size_t cap,
                                const char **content_type, void *arg) {
  (void)arg;
  (void)reason;
  const char *code = status == 408   ? "RequestTimeout"
                     : status == 413 ? "EntityTooLarge"
                     : status == 431 ? "RequestHeaderSectionTooLarge"
                     : status == 414 ? "InvalidURI"
                     : status == 501 ? "NotImplemented"
                                     : "BadRequest";
  *content_type = "application/xml";
  return render(code, "The request could not be understood.", "/",
                request_id, buf, cap);
}

void s3_dispatch_internal_error(struct http_request *req) {
  send_error(req, 500, "InternalError",
             "We encountered an internal error. Please try again.");
}

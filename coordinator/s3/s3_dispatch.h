/*
 * s3_dispatch.h - the S3 layer's entry points, called by the coordinator's
 * HTTP handler (frontend.c) for every request that is not /healthz.
 */
#ifndef CAIRN_S3_DISPATCH_H
#define CAIRN_S3_DISPATCH_H

#include <stddef.h>

struct coordinator;
struct http_request;

void s3_dispatch_request(struct coordinator *c, struct http_request *req);
/* http_handler.body_buffer: the operation's buffer when the body's bytes
 * pass through unchanged, else NULL. */
char *s3_dispatch_body_buffer(struct http_request *req, size_t *len, void *arg);
void s3_dispatch_body(struct http_request *req, const char *data, size_t len,
                      void *arg);
void s3_dispatch_body_end(struct http_request *req, void *arg);
void s3_dispatch_abort(struct http_request *req, void *arg);
/* Renders the S3 XML body of an error the HTTP server answers itself. */
size_t s3_dispatch_render_error(int status, const char *reason,
                                const char *request_id, char *buf, size_t cap,
                                const char **content_type, void *arg);
/* Answers 500 InternalError for a request the S3 layer never saw. */
void s3_dispatch_internal_error(struct http_request *req);

#endif

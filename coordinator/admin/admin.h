/*
 * admin.h - the admin API: JSON over HTTP on the S3 listener, under
 * /_cairn/admin/v1/ (bucket names cannot start with '_', so the prefix
 * never collides with path-style S3). Every request is SigV4-signed like
 * an S3 request and authorized by the same policy evaluation with the
 * route's IAM action: root may do everything, a user what its policies
 * allow (e.g. "iam:*").
 *
 * Every route is declared once, in ADMIN_ROUTE_MAP (admin_routes.c):
 * method, path pattern ({user}, {group}, {key} capture one segment), IAM
 * action, whether it takes a body (a policy document, at most
 * POLICY_DOC_MAX bytes) and its handler. GET /_cairn/admin/v1/routes
 * lists the table.
 *
 * Errors are JSON {"error": {"code": ..., "message": ...}} with the HTTP
 * status: 400 InvalidInput / MalformedPolicy, 403 AccessDenied /
 * SignatureDoesNotMatch / InvalidAccessKeyId, 404 NoSuchEntity /
 * NoSuchRoute, 405 MethodNotAllowed, 409 EntityAlreadyExists /
 * LimitExceeded, 413 EntityTooLarge, 500 InternalError.
 */
#ifndef CAIRN_ADMIN_H
#define CAIRN_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

struct coordinator;
struct http_request;

#define ADMIN_RESERVED_PREFIX "/_cairn/"
#define ADMIN_PREFIX "/_cairn/admin/v1/"

/* True when the request-target belongs to the admin API (the whole
 * /_cairn/ prefix is reserved: unknown paths there answer NoSuchRoute). */
bool admin_owns_target(const char *target);

/* http_handler callbacks for admin requests (frontend.c routes them). */
void admin_dispatch_request(struct coordinator *c, struct http_request *req);
void admin_dispatch_body(struct http_request *req, const char *data,
                         size_t len);
void admin_dispatch_body_end(struct http_request *req);
void admin_dispatch_abort(struct http_request *req);

#endif

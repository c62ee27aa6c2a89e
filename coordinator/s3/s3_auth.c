/*
 * s3_auth.c - authenticates an S3 request with coordinator/auth: the raw
 * request as it came off the wire goes in, an access key (and for streaming
 * uploads the signing state) comes out.
 */
#include "s3_auth.h"

#include "auth.h"
#include "coordinator.h"
#include "error.h"
#include "http_server.h"
#include "s3_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AUTH_HEADERS_MAX 128 /* the HTTP layer admits at most 100 */

/* Root only, for now. */
static int lookup_secret(const char *access_key, char *secret_out, size_t cap,
                         void *arg) {
  const struct coord_secrets *s = arg;
  if (strcmp(access_key, s->root_access_key) != 0)
    return CAIRN_ENOENT;
  snprintf(secret_out, cap, "%s", s->root_secret_key);
  return 0;
}

const char *s3_authenticate(struct s3_request *r, const char **message) {
  const struct http_header *h;
  size_t n = http_request_headers(r->http, &h);
  struct sigv4_header headers[AUTH_HEADERS_MAX];
  if (n > AUTH_HEADERS_MAX)
    n = AUTH_HEADERS_MAX;
  for (size_t i = 0; i < n; i++)
    headers[i] = (struct sigv4_header){h[i].name, h[i].value};

  const char *target = http_request_target(r->http);
  const char *q = strchr(target, '?');
  size_t path_len = q ? (size_t)(q - target) : strlen(target);
  char *path = strndup(target, path_len);
  if (!path) {
    *message = NULL;
    return "InternalError";
  }
  struct auth_request req = {
      .method = r->method,
      .path = path,
      .query = q ? q + 1 : NULL,
      .headers = headers,
      .header_count = n,
      .now = (int64_t)time(NULL),
  };
  struct auth_verifier v = {.lookup_secret = lookup_secret,
                            .arg = &r->c->secrets};
  struct auth_result res;
  enum auth_status status = auth_verify(&v, &req, &res);
  free(path);
  if (status == AUTH_NO_CREDENTIALS) {
    /* Anonymous: nothing is public until ACLs and bucket policies exist. */
    *message = NULL;
    return "AccessDenied";
  }
  if (status != AUTH_OK) {
    *message = auth_status_message(status);
    return auth_status_s3_code(status);
  }
  snprintf(r->access_key, sizeof r->access_key, "%s", res.access_key);
  r->auth_payload = (int)res.payload;
  memcpy(r->auth_payload_sha256, res.payload_sha256,
         sizeof r->auth_payload_sha256);
  if (res.payload == AUTH_PAYLOAD_STREAMING_SIGNED ||
      res.payload == AUTH_PAYLOAD_STREAMING_SIGNED_TRAILER) {
    r->auth_stream = malloc(sizeof *r->auth_stream);
    if (!r->auth_stream) {
      *message = NULL;
      return "InternalError";
    }
    *r->auth_stream = res.stream;
  }
  return NULL;
}

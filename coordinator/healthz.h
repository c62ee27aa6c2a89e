/*
 * healthz.h - GET /healthz: liveness and the node table as JSON, without
 * authentication (it holds no secret and no object data).
 */
#ifndef CAIRN_HEALTHZ_H
#define CAIRN_HEALTHZ_H

#include <stddef.h>

struct coordinator;

/* Renders the document; returns a malloc'd NUL-terminated string the caller
 * frees, or NULL when out of memory. */
char *healthz_render(const struct coordinator *c);

#endif

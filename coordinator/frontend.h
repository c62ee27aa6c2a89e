/*
 * frontend.h - the coordinator's HTTP handler: sends /healthz to the health
 * document and every other request to the S3 layer (coordinator/s3/).
 */
#ifndef CAIRN_FRONTEND_H
#define CAIRN_FRONTEND_H

struct coordinator;
struct http_handler;

/* Fills *out with the callbacks the HTTP server calls for c. */
void frontend_handler(struct coordinator *c, struct http_handler *out);

#endif

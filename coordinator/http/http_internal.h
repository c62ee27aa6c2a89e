/*
 * http_internal.h - what the two halves of the HTTP server share: the
 * connection state machine (http_server.c) and response writing
 * (http_response.c). Private to coordinator/http; callers use
 * http_server.h.
 */
#ifndef CAIRN_HTTP_INTERNAL_H
#define CAIRN_HTTP_INTERNAL_H

#include "http_server.h"

#include <llhttp.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Unread body drained (not a reason to close) after an early answer. */
#define DRAIN_LIMIT (64u << 10)
#define HEAD_BUFFER_START 1024
#define ERROR_BODY_MAX 2048
/* Write ops of this size are recycled per connection. */
#define OP_INLINE 1024
#define OP_FREELIST_MAX 4
#define DEFAULT_WRITE_QUEUE (4u << 20)
#define LINGER_MS 2000
/* Read buffers kept idle by the server's pool (the rest are unmapped). */
#define READ_BUFFERS_IDLE 32

enum conn_phase { PHASE_IDLE, PHASE_HEAD, PHASE_HANDLER };
enum conn_state { CONN_OPEN = 0, CONN_CLOSE_AFTER_FLUSH = 1, CONN_CLOSED = 2 };

struct http_server {
  uv_loop_t *loop;
  uv_tcp_t listener;
  uv_timer_t grace_timer;
  struct http_limits limits;
  struct http_handler handler;
  llhttp_settings_t settings;
  struct buf_pool *read_buffers; /* HTTP_READ_BUFFER each, mapped */
  struct http_conn *conns;       /* open connections, doubly linked */
  size_t conn_count;             /* open connections */
  size_t conn_handles; /* connections whose handles are not yet closed */
  int shutting_down, listener_closed, finishing;
  int start_failed_handles; /* handles still closing after a failed start */
  void (*done_cb)(void *);
  void *done_arg;
  uint64_t id_prefix, id_counter;
  int port;
  time_t date_second;
  char date[40];
};

struct http_request {
  struct http_conn *conn;
  int refs; /* the handler's (until ended) + one per write in flight */
  /* The head, in one growable buffer: target\0 then name\0value\0 pairs.
   * Kept (with the header index) when the request becomes the spare. */
  char *head;
  size_t head_len, head_cap;
  struct http_header *headers;
  size_t header_count, headers_cap;
  size_t url_len;
  const char *method; /* static string from llhttp */
  int64_t content_length;
  uint64_t body_received;
  int64_t response_length; /* announced Content-Length, -1 if none */
  uint64_t response_sent;  /* body bytes queued so far */
  /* The head of a response with a body, held back to go out in one write
   * with the first body bytes (one segment, one wakeup of the client). */
  struct write_op *held_head;
  size_t held_len;
  unsigned in_field : 1, head_ready : 1, has_body : 1, chunked : 1,
      keep_alive : 1, http10 : 1, is_head_method : 1, expect_continue : 1,
      dispatched : 1, message_complete : 1, body_end_sent : 1, ended : 1,
      aborted : 1, response_started : 1, response_chunked : 1,
      continue_sent : 1, body_paused : 1, close_after : 1;
  char id[17];
  void *data;
};

struct write_op {
  uv_write_t w;
  struct http_request *req;
  http_write_cb cb;
  void *arg;
  struct write_op *next_free;
  size_t cap;
  char data[]; /* a response head, a chunk size line, a small body */
};

struct http_conn {
  struct http_server *srv;
  struct http_conn *prev, *next;
  uv_tcp_t tcp;
  uv_timer_t timer;
  llhttp_t parser;
  enum conn_phase phase;
  struct http_request *req;   /* the live request, or NULL */
  struct http_request *spare; /* a released request kept for reuse */
  struct write_op *free_ops;
  unsigned free_op_count;
  size_t pending_off, pending_len; /* unparsed bytes in read_buf */
  int reading, closing, in_advance, in_parser, peer_eof;
  /* Lingering close: after an answer given while the client may still be
   * sending, shut down our side and read-and-drop for up to LINGER_MS, so
   * the kernel does not answer its bytes with a reset that destroys the
   * response before the client reads it (as nginx's lingering_close). */
  int linger, lingering;
  uv_shutdown_t shutdown_req;
  int limit_status; /* 413/414/431 set by a parser callback */
  int refs;         /* handles open (1) + requests alive */
  uint64_t phase_start_ms, last_progress_ms, idle_limit_ms;
  size_t writes_queued;
  char peer[64];
  char *read_buf; /* HTTP_READ_BUFFER bytes from srv->read_buffers, or NULL */
};

/* http_server.c: the connection driver. */
void http_conn_advance(struct http_conn *conn);
void http_conn_close(struct http_conn *conn);
/* Drops one reference of req (ended, or a write done); the last one
 * makes it the connection's spare. */
void http_request_release(struct http_request *req);

/* http_response.c: the write queue (the server's 100 Continue goes
 * through it too) and the error answer the server gives by itself. */
void http_op_put(struct http_conn *conn, struct write_op *op);
int http_queue_write(struct http_request *req, struct write_op *op,
                     uv_buf_t *bufs, unsigned nbufs, http_write_cb cb,
                     void *arg);
void http_send_error_response(struct http_request *req, int status,
                              const char *reason);

#endif

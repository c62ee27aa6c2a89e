/*
 * test_http_server.c - the HTTP/1.1 server driven by a plain blocking
 * client socket in a second thread, against a small echo handler on the
 * test's own libuv loop. The client thread only records failures; the main
 * thread asserts them after joining (cmocka is not thread-safe).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "error.h"
#include "http_server.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* ---- test state (loop thread) ------------------------------------------ */

struct echo_req { /* per-request handler state */
  char *body;
  size_t len, cap;
  int pause_mode, paused, calls, offers;
};

struct tstate {
  uv_loop_t loop;
  uv_async_t async;
  uv_timer_t delay_timer, resume_timer;
  struct http_server *srv;
  struct http_limits limits;
  int port;
  volatile int client_done;
  int done_called, shutdown_started;
  int requests, aborts, expect_aborts, live_reqs, body_while_paused;
  int write_busy_seen;
  size_t direct_bytes; /* body bytes read straight into h_body_buffer's */
  struct http_request *delayed, *paused_req;
  void (*client)(struct tstate *);
  char fail[512];
};
static struct tstate T;

static void server_done(void *arg) {
  ((struct tstate *)arg)->done_called = 1;
}

static void start_shutdown(void) {
  if (!T.shutdown_started) {
    T.shutdown_started = 1;
    http_server_shutdown(T.srv, server_done, &T);
  }
}

static void finish(struct http_request *req, int status, const char *body,
                   size_t len) {
  struct echo_req *e = http_request_data(req);
  struct http_header h[] = {{"Content-Type", "text/plain"}};
  int rc = http_respond(req, status, h, 1, body, len);
  (void)rc;
  if (e) {
    free(e->body);
    free(e);
    T.live_reqs--;
  }
}

static void on_delay(uv_timer_t *t) {
  (void)t;
  struct http_request *req = T.delayed;
  T.delayed = NULL;
  if (req)
    finish(req, 200, http_request_target(req),
           strlen(http_request_target(req)));
}

static void on_resume(uv_timer_t *t) {
  (void)t;
  struct http_request *req = T.paused_req;
  T.paused_req = NULL;
  if (!req)
    return;
  struct echo_req *e = http_request_data(req);
  e->paused = 0;
  http_request_resume_body(req);
}

static void on_written(struct http_request *req, int status, void *arg) {
  if (status != 0 || arg != &T)
    snprintf(T.fail, sizeof T.fail, "write callback status %d", status);
  http_response_end(req);
}

static void h_request(struct http_request *req, void *arg) {
  (void)arg;
  const char *target = http_request_target(req);
  struct echo_req *e = calloc(1, sizeof *e);
  T.requests++;
  T.live_reqs++;
  http_request_set_data(req, e);
  if (strcmp(target, "/reject") == 0) {
    finish(req, 403, "no", 2);
  } else if (strcmp(target, "/chunked") == 0) {
    http_response_start(req, 200, NULL, 0, -1);
    http_response_write(req, "hello ", 6, NULL, NULL);
    http_response_write(req, "world", 5, NULL, NULL);
    free(e);
    T.live_reqs--;
    http_response_end(req);
  } else if (strcmp(target, "/cbwrite") == 0) {
    /* Ends from the flush callback (HEAD: a write of nothing). */
    free(e);
    T.live_reqs--;
    http_response_start(req, 200, NULL, 0, 5);
    if (http_response_write(req, "hello", 5, on_written, &T) != 0)
      snprintf(T.fail, sizeof T.fail, "write failed");
  } else if (strcmp(target, "/cut") == 0) {
    free(e);
    T.live_reqs--;
    http_response_start(req, 200, NULL, 0, 100);
    http_response_write(req, "short", 5, NULL, NULL);
    http_response_abort(req);
    if (http_response_write(req, "more", 4, NULL, NULL) != CAIRN_ECLOSED)
      snprintf(T.fail, sizeof T.fail, "write after cut did not fail");
    http_response_end(req);
  } else if (strcmp(target, "/short") == 0) {
    free(e);
    T.live_reqs--;
    http_response_start(req, 200, NULL, 0, 10);
    http_response_write(req, "12345", 5, NULL, NULL);
    if (http_response_write(req, "678901", 6, NULL, NULL) != CAIRN_EINVAL)
      snprintf(T.fail, sizeof T.fail, "write past Content-Length accepted");
    http_response_end(req); /* 5 short: the connection must close */
  } else if (strcmp(target, "/len") == 0) {
    finish(req, 200, "hello world", 11);
  } else if (strcmp(target, "/busy") == 0) {
    /* Writes without waiting for callbacks until the queue bound bites. */
    static char big[256 << 10];
    http_response_start(req, 200, NULL, 0, -1);
    for (int i = 0; i < 64; i++)
      if (http_response_write(req, big, sizeof big, NULL, NULL) ==
          CAIRN_EBUSY) {
        T.write_busy_seen = 1;
        break;
      }
    free(e);
    T.live_reqs--;
    http_response_end(req);
  } else if (strcmp(target, "/hdr") == 0) {
    char body[256];
    const char *a = http_request_header(req, "x-a");
    const char *em = http_request_header(req, "x-empty");
    const char *sp = http_request_header(req, "x-split-name");
    const struct http_header *all;
    size_t n = http_request_headers(req, &all);
    int len = snprintf(body, sizeof body, "a=%s;empty=%s;split=%s;n=%zu;id=%s",
                       a ? a : "-", em ? em : "-", sp ? sp : "-", n,
                       http_request_id(req));
    finish(req, 200, body, (size_t)len);
  } else if (strncmp(target, "/slow", 5) == 0 ||
             strncmp(target, "/delay", 6) == 0) {
    T.delayed = req;
    uv_timer_start(&T.delay_timer, on_delay, 100, 0);
    if (strcmp(target, "/slow-shutdown") == 0)
      start_shutdown();
  } else if (strcmp(target, "/hang") == 0) {
    start_shutdown(); /* never answers: the grace period aborts it */
  } else if (strcmp(target, "/pause") == 0) {
    e->pause_mode = 1;
  } else if (!http_request_has_body(req)) {
    finish(req, 200, target, strlen(target));
  }
}

static void h_body(struct http_request *req, const char *data, size_t len,
                   void *arg) {
  (void)arg;
  struct echo_req *e = http_request_data(req);
  if (e->paused)
    T.body_while_paused++;
  if (e->body && data == e->body + e->len) {
    T.direct_bytes += len; /* read in place: no copy */
  } else {
    if (e->len + len > e->cap) {
      e->cap = (e->len + len) * 2;
      e->body = realloc(e->body, e->cap);
    }
    memcpy(e->body + e->len, data, len);
  }
  e->len += len;
  if (e->pause_mode && ++e->calls % 4 == 0) {
    e->paused = 1;
    http_request_pause_body(req);
    T.paused_req = req;
    uv_timer_start(&T.resume_timer, on_resume, 2, 0);
  }
}

/* Offers the echo buffer's free end for the next read (as the PUT path
 * offers its piece), every other time only, so both paths interleave. */
static char *h_body_buffer(struct http_request *req, size_t *len, void *arg) {
  (void)arg;
  struct echo_req *e = http_request_data(req);
  if (!e || (++e->offers & 1))
    return NULL;
  if (e->len + *len > e->cap) {
    e->cap = e->len + *len + (64u << 10);
    e->body = realloc(e->body, e->cap);
  }
  return e->body + e->len;
}

static void h_body_end(struct http_request *req, void *arg) {
  (void)arg;
  struct echo_req *e = http_request_data(req);
  if (T.delayed == req) /* /delay with a body: answered by the timer */
    return;
  if (!http_request_has_body(req))
    return; /* answered in on_request */
  char *copy = malloc(e->len + 1);
  memcpy(copy, e->body ? e->body : "", e->len);
  size_t len = e->len;
  finish(req, 200, copy, len);
  free(copy);
}

static void h_abort(struct http_request *req, void *arg) {
  (void)arg;
  struct echo_req *e = http_request_data(req);
  T.aborts++;
  if (T.delayed == req)
    T.delayed = NULL;
  if (T.paused_req == req)
    T.paused_req = NULL;
  /* Writes fail now; end anyway (the contract). */
  if (http_respond(req, 200, NULL, 0, "x", 1) != CAIRN_ECLOSED)
    snprintf(T.fail, sizeof T.fail, "respond after abort did not fail");
  if (e) {
    free(e->body);
    free(e);
    T.live_reqs--;
  }
}

static size_t h_render_error(int status, const char *reason,
                             const char *request_id, char *buf, size_t cap,
                             const char **content_type, void *arg) {
  (void)arg;
  (void)reason;
  *content_type = "application/xml";
  return (size_t)snprintf(buf, cap, "<E>%d %s</E>", status, request_id);
}

static const struct http_handler HANDLER = {
    h_request,      h_body, h_body_end,     h_abort,
    h_render_error, NULL,   "x-request-id", h_body_buffer};

/* ---- the blocking client (client thread) -------------------------------- */

#define CHECK(t, cond)                                                         \
  do {                                                                         \
    if (!(cond) && !(t)->fail[0])                                              \
      snprintf((t)->fail, sizeof(t)->fail, "line %d: %s", __LINE__, #cond);    \
  } while (0)

struct cl {
  int fd;
  size_t len;
  char buf[20 << 20];
};

struct resp {
  int status;
  char head[8192];
  char *body;
  size_t body_len;
};

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct cl *cl_connect(int port) {
  struct cl *c = malloc(sizeof *c);
  c->len = 0;
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  struct timeval tv = {5, 0};
  setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(c->fd);
    c->fd = -1;
  }
  return c;
}

static void cl_close(struct cl *c) {
  if (c->fd >= 0)
    close(c->fd);
  free(c);
}

static int cl_send(struct cl *c, const void *data, size_t len) {
  const char *p = data;
  while (len) {
    ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
    if (n <= 0)
      return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}
static int cl_sends(struct cl *c, const char *s) {
  return cl_send(c, s, strlen(s));
}

static int cl_fill(struct cl *c) {
  if (c->len == sizeof c->buf)
    return -1;
  ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
  if (n > 0)
    c->len += (size_t)n;
  return (int)n;
}

static void cl_consume(struct cl *c, size_t n) {
  memmove(c->buf, c->buf + n, c->len - n);
  c->len -= n;
}

static void resp_free(struct resp *r) {
  free(r->body);
  r->body = NULL;
}

/* Reads one response; no_body for answers to HEAD. 0 or -1. */
static int cl_response(struct cl *c, struct resp *r, int no_body) {
  memset(r, 0, sizeof *r);
  char *end;
  while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4)))
    if (cl_fill(c) <= 0)
      return -1;
  size_t head_len = (size_t)(end - c->buf) + 4;
  if (head_len >= sizeof r->head)
    return -1;
  memcpy(r->head, c->buf, head_len);
  r->head[head_len] = '\0';
  cl_consume(c, head_len);
  if (sscanf(r->head, "HTTP/1.1 %d", &r->status) != 1)
    return -1;
  if (no_body || r->status < 200 || r->status == 204 || r->status == 304)
    return 0;
  char *cl = strcasestr(r->head, "\r\nContent-Length:");
  if (cl) {
    size_t want = strtoul(cl + 17, NULL, 10);
    while (c->len < want)
      if (cl_fill(c) <= 0)
        return -1;
    r->body = malloc(want + 1);
    memcpy(r->body, c->buf, want);
    r->body[want] = '\0';
    r->body_len = want;
    cl_consume(c, want);
    return 0;
  }
  if (!strcasestr(r->head, "\r\nTransfer-Encoding: chunked"))
    return -1;
  r->body = malloc(1);
  for (;;) {
    char *eol;
    while (!(eol = memmem(c->buf, c->len, "\r\n", 2)))
      if (cl_fill(c) <= 0)
        return -1;
    size_t size = strtoul(c->buf, NULL, 16);
    size_t line = (size_t)(eol - c->buf) + 2;
    while (c->len < line + size + 2)
      if (cl_fill(c) <= 0)
        return -1;
    r->body = realloc(r->body, r->body_len + size + 1);
    memcpy(r->body + r->body_len, c->buf + line, size);
    r->body_len += size;
    r->body[r->body_len] = '\0';
    cl_consume(c, line + size + 2);
    if (size == 0)
      return 0;
  }
}

/* 1 when the server closed the connection (no more bytes), else 0. */
static int cl_closed(struct cl *c) {
  size_t before = c->len;
  int n = cl_fill(c);
  return (n == 0 || (n < 0 && errno == ECONNRESET)) && c->len == before;
}

static int has_header(const struct resp *r, const char *line) {
  return strcasestr(r->head, line) != NULL;
}

/* ---- harness (main thread) ---------------------------------------------- */

static void *client_main(void *arg) {
  struct tstate *t = arg;
  t->client(t);
  t->client_done = 1;
  uv_async_send(&t->async);
  return NULL;
}

static void on_async(uv_async_t *a) {
  (void)a;
}

static void run_with(const struct http_limits *limits,
                     void (*client)(struct tstate *)) {
  memset(&T, 0, sizeof T);
  assert_int_equal(uv_loop_init(&T.loop), 0);
  if (limits)
    T.limits = *limits;
  else
    http_limits_default(&T.limits);
  char err[128];
  assert_int_equal(http_server_start(&T.loop, "127.0.0.1", 0, &T.limits,
                                     &HANDLER, &T.srv, err, sizeof err),
                   0);
  T.port = http_server_port(T.srv);
  uv_async_init(&T.loop, &T.async, on_async);
  uv_timer_init(&T.loop, &T.delay_timer);
  uv_timer_init(&T.loop, &T.resume_timer);
  T.client = client;
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, client_main, &T), 0);
  while (!T.client_done)
    uv_run(&T.loop, UV_RUN_ONCE);
  pthread_join(th, NULL);
  /* Let the server notice what the client did last (a close, say). */
  uint64_t until = now_ms() + 2000;
  while (T.aborts < T.expect_aborts && now_ms() < until) {
    uv_run(&T.loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
  start_shutdown();
  while (!T.done_called)
    uv_run(&T.loop, UV_RUN_ONCE);
  http_server_free(T.srv);
  uv_close((uv_handle_t *)&T.async, NULL);
  uv_close((uv_handle_t *)&T.delay_timer, NULL);
  uv_close((uv_handle_t *)&T.resume_timer, NULL);
  uv_run(&T.loop, UV_RUN_DEFAULT);
  assert_int_equal(uv_loop_close(&T.loop), 0);
  if (T.fail[0])
    fail_msg("%s", T.fail);
  assert_int_equal(T.aborts, T.expect_aborts);
  assert_int_equal(T.live_reqs, 0);
  assert_int_equal(T.body_while_paused, 0);
}

/* ---- scenarios ------------------------------------------------------------
 */

static void c_keepalive(struct tstate *t) {
  struct cl *c = cl_connect(t->port);
  struct resp r, r2;
  CHECK(t, cl_sends(c, "GET /a?x=1 HTTP/1.1\r\nHost: h\r\n\r\n") == 0);
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, r.status == 200 && r.body && strcmp(r.body, "/a?x=1") == 0);
  CHECK(t, has_header(&r, "\r\nServer: Cairn\r\n"));
  CHECK(t, has_header(&r, "\r\nDate: "));
  CHECK(t, !has_header(&r, "Connection: close"));
  resp_free(&r);
  CHECK(t, cl_sends(c, "GET /hdr HTTP/1.1\r\nHost: h\r\nX-A: b c\r\n"
                       "X-Empty:\r\nX-Split-") == 0);
  usleep(20000); /* the name arrives in two reads */
  CHECK(t, cl_sends(c, "Name: v1\r\n\r\n") == 0);
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, r.body && strncmp(r.body, "a=b c;empty=;split=v1;n=4;id=", 29) == 0);
  CHECK(t, cl_sends(c, "GET /hdr HTTP/1.1\r\n\r\n") == 0);
  CHECK(t, cl_response(c, &r2, 0) == 0);
  /* request ids: 16 upper-hex characters, different per request */
  CHECK(t, r.body && r2.body && strlen(strstr(r.body, "id=") + 3) == 16 &&
               strcmp(strstr(r.body, "id="), strstr(r2.body, "id=")) != 0);
  resp_free(&r);
  resp_free(&r2);
  CHECK(t, cl_sends(c, "HEAD /len HTTP/1.1\r\n\r\n") == 0);
  CHECK(t, cl_response(c, &r, 1) == 0);
  CHECK(t, has_header(&r, "\r\nContent-Length: 11\r\n"));
  CHECK(t, cl_sends(c, "GET /chunked HTTP/1.1\r\n\r\n") == 0);
  CHECK(t, cl_response(c, &r, 0) == 0); /* a HEAD body would break this */
  CHECK(t, r.body && strcmp(r.body, "hello world") == 0);
  resp_free(&r);
  CHECK(t, cl_sends(c, "HEAD /cbwrite HTTP/1.1\r\n\r\n"
                       "GET /cbwrite HTTP/1.1\r\n\r\n") == 0);
  CHECK(t, cl_response(c, &r, 1) == 0);
  CHECK(t, r.status == 200 && has_header(&r, "\r\nContent-Length: 5\r\n"));
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, r.status == 200 && r.body && strcmp(r.body, "hello") == 0);
  resp_free(&r);
  cl_close(c);
}
static void test_keepalive(void **s) {
  (void)s;
  run_with(NULL, c_keepalive);
  assert_int_equal(T.requests, 7);
}

static void c_http10(struct tstate *t) {
  struct cl *c = cl_connect(t->port);
  struct resp r;
  CHECK(t,
        cl_sends(c, "GET /x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n") == 0);
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, has_header(&r, "Connection: keep-alive"));
  resp_free(&r);
  CHECK(t, cl_sends(c, "GET /y HTTP/1.0\r\n\r\n") == 0);
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, has_header(&r, "Connection: close"));
  resp_free(&r);
  CHECK(t, cl_closed(c));
  cl_close(c);
}
static void c_cut(struct tstate *t) {
  struct cl *c = cl_connect(t->port);
  struct resp r;
  CHECK(t, cl_sends(c, "GET /cut HTTP/1.1\r\n\r\n") == 0);
  CHECK(t, cl_response(c, &r, 0) != 0); /* 100 bytes promised, 5 sent */
  CHECK(t, r.status == 200 && c->len == 5 && memcmp(c->buf, "short", 5) == 0);
  CHECK(t, cl_closed(c));
  cl_close(c);
  c = cl_connect(t->port);
  CHECK(t, cl_sends(c, "GET /short HTTP/1.1\r\n\r\n") == 0);
  CHECK(t, cl_response(c, &r, 0) != 0);
  CHECK(t, r.status == 200 && c->len == 5 && memcmp(c->buf, "12345", 5) == 0);
  CHECK(t, cl_closed(c));
  cl_close(c);
}
static void test_response_abort(void **s) {
  (void)s;
  run_with(NULL, c_cut);
}

static void test_http10(void **s) {
  (void)s;
  run_with(NULL, c_http10);
}

static void c_pipelined(struct tstate *t) {
  struct cl *c = cl_connect(t->port);
  struct resp r;
  /* The first is answered 100 ms late: the second must still come after. */
  CHECK(t, cl_sends(c, "GET /delay1 HTTP/1.1\r\n\r\n"
                       "POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                       "GET /third HTTP/1.1\r\n\r\n") == 0);
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, r.body && strcmp(r.body, "/delay1") == 0);
  resp_free(&r);
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, r.body && strcmp(r.body, "abc") == 0);
  resp_free(&r);
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, r.body && strcmp(r.body, "/third") == 0);
  resp_free(&r);
  /* The next ones arrive while the handler holds the first (reading goes
   * on meanwhile): they wait, and are answered after it, in order. */
  CHECK(t, cl_sends(c, "GET /delay2 HTTP/1.1\r\n\r\n") == 0);
  usleep(30000);
  CHECK(t, cl_sends(c, "POST /echo HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyz"
                       "GET /fourth HTTP/1.1\r\n\r\n") == 0);
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, r.body && strcmp(r.body, "/delay2") == 0);
  resp_free(&r);
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, r.body && strcmp(r.body, "xyz") == 0);
  resp_free(&r);
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, r.body && strcmp(r.body, "/fourth") == 0);
  resp_free(&r);
  cl_close(c);
}
/* A body read (partly) straight into the handler's buffer, then a
 * pipelined request in the same bytes: the body is exact, the next
 * request's bytes never land in the handler's buffer. */
static void c_direct_pipelined(struct tstate *t) {
  struct cl *c = cl_connect(t->port);
  struct resp r;
  size_t n = 300000;
  char *msg = malloc(n + 256), head[96];
  int hl = snprintf(head, sizeof head,
                    "PUT /echo HTTP/1.1\r\nContent-Length: %zu\r\n\r\n", n);
  memcpy(msg, head, (size_t)hl);
  for (size_t i = 0; i < n; i++)
    msg[hl + i] = (char)('A' + i % 26);
  const char *next = "GET /next HTTP/1.1\r\n\r\n";
  memcpy(msg + hl + n, next, strlen(next));
  CHECK(t, cl_send(c, msg, (size_t)hl + n + strlen(next)) == 0);
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, r.status == 200 && r.body_len == n && r.body &&
               memcmp(r.body, msg + hl, n) == 0);
  resp_free(&r);
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, r.body && strcmp(r.body, "/next") == 0);
  resp_free(&r);
  free(msg);
  cl_close(c);
}
static void test_direct_read_pipelined(void **s) {
  (void)s;
  T.direct_bytes = 0;
  run_with(NULL, c_direct_pipelined);
  assert_int_equal(T.requests, 2);
  assert_true(T.direct_bytes > 0);
}

static void test_pipelined(void **s) {
  (void)s;
  run_with(NULL, c_pipelined);
  assert_int_equal(T.requests, 6);
}

static void c_continue(struct tstate *t) {
  struct cl *c = cl_connect(t->port);
  struct resp r;
  CHECK(t, cl_sends(c, "PUT /k HTTP/1.1\r\nContent-Length: 5\r\n"
                       "Expect: 100-continue\r\n\r\n") == 0);
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, r.status == 100);
  CHECK(t, cl_sends(c, "hello") == 0);
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, r.status == 200 && r.body && strcmp(r.body, "hello") == 0);
  resp_free(&r);
  /* A client that did not wait sent the body with the head: no 100 ahead
   * of the answer (botocore would take a late 100 for the answer). */
  CHECK(t, cl_sends(c, "PUT /k HTTP/1.1\r\nContent-Length: 5\r\n"
                       "Expect: 100-continue\r\n\r\nworld") == 0);
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, r.status == 200 && r.body && strcmp(r.body, "world") == 0);
  resp_free(&r);
  /* Answered before the body: no 100, and the connection closes. */
  CHECK(t, cl_sends(c, "PUT /reject HTTP/1.1\r\nContent-Length: 5\r\n"
                       "Expect: 100-continue\r\n\r\n") == 0);
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, r.status == 403 && has_header(&r, "Connection: close"));
  resp_free(&r);
  CHECK(t, cl_closed(c));
  cl_close(c);
  /* Answered early without Expect, small body: drained, kept alive. */
  c = cl_connect(t->port);
  CHECK(t,
        cl_sends(c, "PUT /reject HTTP/1.1\r\nContent-Length: 5\r\n\r\n") == 0);
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, r.status == 403 && !has_header(&r, "Connection: close"));
  resp_free(&r);
  CHECK(t, cl_sends(c, "12345GET /after HTTP/1.1\r\n\r\n") == 0);
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, r.status == 200 && r.body && strcmp(r.body, "/after") == 0);
  resp_free(&r);
  cl_close(c);
  /* Answered early, large body still coming, no Expect: the answer must
   * survive the body we never read (lingering close, no reset). */
  c = cl_connect(t->port);
  size_t n = 4u << 20;
  char *body = calloc(1, n);
  CHECK(t,
        cl_sends(
            c, "PUT /reject HTTP/1.1\r\nContent-Length: 4194304\r\n\r\n") == 0);
  cl_send(c, body, n);
  shutdown(c->fd, SHUT_WR);
  free(body);
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, r.status == 403 && has_header(&r, "Connection: close"));
  resp_free(&r);
  CHECK(t, cl_closed(c));
  cl_close(c);
}
static void test_continue(void **s) {
  (void)s;
  run_with(NULL, c_continue);
}

static void c_chunked(struct tstate *t) {
  struct cl *c = cl_connect(t->port);
  struct resp r;
  CHECK(t, cl_sends(c, "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "5\r\nhello\r\n") == 0);
  usleep(20000);
  CHECK(t, cl_sends(c, "1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\n\r\n") == 0);
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, r.status == 200 && r.body && strcmp(r.body, "hello world!") == 0);
  resp_free(&r);
  cl_close(c);
}
static void test_chunked_body(void **s) {
  (void)s;
  run_with(NULL, c_chunked);
}

#define BIG_BODY (2u << 20)
static void c_backpressure(struct tstate *t) {
  struct cl *c = cl_connect(t->port);
  struct resp r;
  char *body = malloc(BIG_BODY);
  for (size_t i = 0; i < BIG_BODY; i++)
    body[i] = (char)('a' + i % 23);
  char head[128];
  snprintf(head, sizeof head,
           "PUT /pause HTTP/1.1\r\nContent-Length: %u\r\n\r\n", BIG_BODY);
  CHECK(t, cl_sends(c, head) == 0);
  CHECK(t, cl_send(c, body, BIG_BODY) == 0);
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, r.status == 200 && r.body_len == BIG_BODY && r.body &&
               memcmp(r.body, body, BIG_BODY) == 0);
  resp_free(&r);
  free(body);
  cl_close(c);
}
static void test_backpressure(void **s) {
  (void)s;
  run_with(NULL, c_backpressure);
}

/* A pause on the very last body byte: the resume alone must complete the
 * message (llhttp has no more bytes to run on). */
static void c_pause_last(struct tstate *t) {
  struct cl *c = cl_connect(t->port);
  struct resp r;
  CHECK(t,
        cl_sends(c, "PUT /pause HTTP/1.1\r\nContent-Length: 4\r\n\r\n") == 0);
  for (int i = 0; i < 4; i++) {
    usleep(20000);
    CHECK(t, cl_send(c, "wxyz" + i, 1) == 0);
  }
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, r.status == 200 && r.body && strcmp(r.body, "wxyz") == 0);
  resp_free(&r);
  cl_close(c);
}
static void test_pause_on_last_byte(void **s) {
  (void)s;
  run_with(NULL, c_pause_last);
}

static void expect_error_close(struct tstate *t, struct cl *c, int status) {
  struct resp r;
  CHECK(t, cl_response(c, &r, 0) == 0);
  if (r.status != status && !t->fail[0])
    snprintf(t->fail, sizeof t->fail, "expected %d, got %d", status, r.status);
  CHECK(t, has_header(&r, "Connection: close"));
  CHECK(t, has_header(&r, "Content-Type: application/xml"));
  CHECK(t, has_header(&r, "\r\nx-request-id: "));
  CHECK(t,
        r.body && strncmp(r.body, "<E>", 3) == 0 && atoi(r.body + 3) == status);
  resp_free(&r);
  CHECK(t, cl_closed(c));
}

static void c_limits(struct tstate *t) {
  struct cl *c = cl_connect(t->port);
  CHECK(t, cl_sends(c, "HELLO WORLD\r\n\r\n") == 0);
  expect_error_close(t, c, 400);
  cl_close(c);

  c = cl_connect(t->port);
  size_t n = 1u << 20;
  char *big = malloc(n + 64);
  memcpy(big, "GET / HTTP/1.1\r\nX-Big: ", 23);
  memset(big + 23, 'x', n);
  memcpy(big + 23 + n, "\r\n\r\n", 5);
  cl_send(c, big, n + 27); /* may fail half-way: the server closes */
  expect_error_close(t, c, 431);
  cl_close(c);

  c = cl_connect(t->port);
  n = 20u << 10;
  memcpy(big, "GET /", 5);
  memset(big + 5, 'u', n);
  memcpy(big + 5 + n, " HTTP/1.1\r\n\r\n", 14);
  cl_send(c, big, n + 18);
  expect_error_close(t, c, 414);
  cl_close(c);

  c = cl_connect(t->port); /* too many headers */
  size_t off = (size_t)sprintf(big, "GET / HTTP/1.1\r\n");
  for (int i = 0; i < 120; i++)
    off += (size_t)sprintf(big + off, "X-H%d: v\r\n", i);
  off += (size_t)sprintf(big + off, "\r\n");
  cl_send(c, big, off);
  expect_error_close(t, c, 431);
  cl_close(c);
  free(big);

  c = cl_connect(t->port);
  CHECK(t,
        cl_sends(c, "PUT /x HTTP/1.1\r\nContent-Length: 100000\r\n\r\n") == 0);
  expect_error_close(t, c, 413);
  cl_close(c);

  c = cl_connect(t->port);
  CHECK(t,
        cl_sends(c, "PUT /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n") == 0);
  expect_error_close(t, c, 501);
  cl_close(c);

  c = cl_connect(t->port); /* both framings: request smuggling */
  CHECK(t, cl_sends(c, "PUT /x HTTP/1.1\r\nContent-Length: 3\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 0);
  expect_error_close(t, c, 400);
  cl_close(c);

  c = cl_connect(t->port); /* bad chunk framing after on_request */
  CHECK(t, cl_sends(c, "PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "zz\r\n") == 0);
  expect_error_close(t, c, 400);
  cl_close(c);
  t->expect_aborts = 1;
}
static void test_limits(void **s) {
  (void)s;
  struct http_limits l;
  http_limits_default(&l);
  l.max_body = 1000;
  run_with(&l, c_limits);
}

static void c_slow_header(struct tstate *t) {
  struct cl *c = cl_connect(t->port);
  const char *req =
      "GET / HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  uint64_t start = now_ms();
  int sent_all = 1;
  for (const char *p = req; *p; p++) { /* a byte every 20 ms: slowloris */
    if (cl_send(c, p, 1) != 0) {
      sent_all = 0;
      break;
    }
    usleep(20000);
    if (now_ms() - start > 2000)
      break;
  }
  CHECK(t, !sent_all || now_ms() - start < 2000);
  expect_error_close(t, c, 408);
  CHECK(t, now_ms() - start < 1500);
  cl_close(c);

  /* Idle keep-alive: closed silently. */
  c = cl_connect(t->port);
  struct resp r;
  CHECK(t, cl_sends(c, "GET /a HTTP/1.1\r\n\r\n") == 0);
  CHECK(t, cl_response(c, &r, 0) == 0);
  resp_free(&r);
  start = now_ms();
  CHECK(t, cl_closed(c));
  CHECK(t, now_ms() - start >= 250 && now_ms() - start < 2000);
  cl_close(c);

  /* A stalled body: 408, the handler's request aborted. */
  c = cl_connect(t->port);
  CHECK(t,
        cl_sends(c, "PUT /k HTTP/1.1\r\nContent-Length: 100\r\n\r\n0123") == 0);
  expect_error_close(t, c, 408);
  cl_close(c);
  t->expect_aborts = 1;
}
static void test_timeouts(void **s) {
  (void)s;
  struct http_limits l;
  http_limits_default(&l);
  l.header_timeout_ms = 300;
  l.idle_timeout_ms = 300;
  l.body_timeout_ms = 300;
  run_with(&l, c_slow_header);
}

static void c_disconnect(struct tstate *t) {
  struct cl *c = cl_connect(t->port);
  CHECK(t, cl_sends(c, "PUT /k HTTP/1.1\r\nContent-Length: 100000\r\n\r\n"
                       "partial body") == 0);
  usleep(50000);
  cl_close(c); /* mid-body */
  c = cl_connect(t->port);
  CHECK(t, cl_sends(c, "PUT /pause HTTP/1.1\r\nContent-Length: 100000\r\n\r\n"
                       "partial body") == 0);
  usleep(50000);
  cl_close(c);             /* mid-body, while paused */
  c = cl_connect(t->port); /* and mid-head: nothing to abort */
  CHECK(t, cl_sends(c, "GET / HTTP/1.1\r\nHost:") == 0);
  usleep(20000);
  cl_close(c);
  t->expect_aborts = 2;
}
static void test_disconnect_mid_body(void **s) {
  (void)s;
  run_with(NULL, c_disconnect);
}

static void c_shutdown(struct tstate *t) {
  struct cl *idle = cl_connect(t->port);
  struct cl *c = cl_connect(t->port);
  struct resp r;
  CHECK(t, cl_sends(idle, "GET /a HTTP/1.1\r\n\r\n") == 0);
  CHECK(t, cl_response(idle, &r, 0) == 0);
  resp_free(&r);
  CHECK(t, cl_sends(c, "GET /slow-shutdown HTTP/1.1\r\n\r\n") == 0);
  /* The in-flight request still gets its whole answer, then a close. */
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, r.status == 200 && r.body && strcmp(r.body, "/slow-shutdown") == 0);
  CHECK(t, has_header(&r, "Connection: close"));
  resp_free(&r);
  CHECK(t, cl_closed(c));
  CHECK(t, cl_closed(idle)); /* idle connections close at once */
  cl_close(c);
  cl_close(idle);
  c = cl_connect(t->port); /* no longer accepting */
  CHECK(t, c->fd < 0);
  cl_close(c);
}
static void test_graceful_shutdown(void **s) {
  (void)s;
  run_with(NULL, c_shutdown);
  assert_int_equal(T.done_called, 1);
}

static void c_grace_expiry(struct tstate *t) {
  struct cl *c = cl_connect(t->port);
  CHECK(t, cl_sends(c, "GET /hang HTTP/1.1\r\n\r\n") == 0);
  CHECK(t, cl_closed(c)); /* force-closed after the grace period */
  cl_close(c);
  t->expect_aborts = 1;
}
static void test_shutdown_grace_expiry(void **s) {
  (void)s;
  struct http_limits l;
  http_limits_default(&l);
  l.shutdown_grace_ms = 100;
  run_with(&l, c_grace_expiry);
}

static void c_write_busy(struct tstate *t) {
  struct cl *c = cl_connect(t->port);
  struct resp r;
  CHECK(t, cl_sends(c, "GET /busy HTTP/1.1\r\n\r\n") == 0);
  CHECK(t, cl_response(c, &r, 0) == 0);
  CHECK(t, r.status == 200 && r.body_len > 0 && r.body_len < (16u << 20));
  resp_free(&r);
  cl_close(c);
}
static void test_write_queue_bound(void **s) {
  (void)s;
  struct http_limits l;
  http_limits_default(&l);
  l.max_write_queue = 512u << 10;
  run_with(&l, c_write_busy);
  assert_int_equal(T.write_busy_seen, 1);
}

static void test_addr_in_use(void **s) {
  (void)s;
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct http_server *a, *b;
  char err[128];
  assert_int_equal(http_server_start(&loop, "127.0.0.1", 0, NULL, &HANDLER, &a,
                                     err, sizeof err),
                   0);
  assert_int_equal(http_server_start(&loop, "127.0.0.1", http_server_port(a),
                                     NULL, &HANDLER, &b, err, sizeof err),
                   CAIRN_EADDRINUSE);
  memset(&T, 0, sizeof T);
  http_server_shutdown(a, server_done, &T);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(T.done_called, 1);
  http_server_free(a);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  if (getenv("HTTP_TEST_DEBUG"))
    log_set_level(LOG_DEBUG);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_keepalive),
      cmocka_unit_test(test_http10),
      cmocka_unit_test(test_response_abort),
      cmocka_unit_test(test_pipelined),
      cmocka_unit_test(test_direct_read_pipelined),
      cmocka_unit_test(test_continue),
      cmocka_unit_test(test_chunked_body),
      cmocka_unit_test(test_backpressure),
      cmocka_unit_test(test_pause_on_last_byte),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_timeouts),
      cmocka_unit_test(test_disconnect_mid_body),
      cmocka_unit_test(test_graceful_shutdown),
      cmocka_unit_test(test_shutdown_grace_expiry),
      cmocka_unit_test(test_write_queue_bound),
      cmocka_unit_test(test_addr_in_use),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * fuzz_http_head.c - libFuzzer target for the HTTP server's request parsing
 * and connection state machine (coordinator/http). Each input is sent, as
 * is, on a fresh loopback connection to a server running on this process's
 * loop, followed by a half-close; the run ends when the server closes the
 * connection. A small echo handler answers every request, reads bodies and
 * ends aborted ones, so leaks, double frees and stalls all show up.
 *
 * Build (clang only): cmake -DCMAKE_C_COMPILER=clang -DCAIRN_FUZZ=ON
 *   -DCMAKE_BUILD_TYPE=Sanitize, target fuzz_http_head; run with
 *   ./fuzz_http_head -max_total_time=60 -max_len=8192
 */
#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uv_loop_t loop;
static struct http_server *server;
static int port;

static void on_request(struct http_request *r, void *arg) {
  (void)arg;
  if (!http_request_has_body(r))
    http_respond(r, 200, NULL, 0, http_request_target(r),
                 strlen(http_request_target(r)));
}
static void on_body(struct http_request *r, const char *d, size_t n,
                    void *arg) {
  (void)r, (void)d, (void)n, (void)arg;
}
static void on_body_end(struct http_request *r, void *arg) {
  (void)arg;
  if (http_request_has_body(r))
    http_respond(r, 201, NULL, 0, "ok", 2);
}
static void on_abort(struct http_request *r, void *arg) {
  (void)arg;
  http_response_end(r);
}

static void setup(void) {
  static const struct http_handler h = {on_request, on_body, on_body_end,
                                        on_abort,   NULL,    NULL};
  struct http_limits l;
  char err[128];
  http_limits_default(&l);
  l.max_request_line = 512;
  l.max_header_bytes = 2048;
  l.max_headers = 16;
  l.max_body = 4096;
  l.header_timeout_ms = l.body_timeout_ms = l.idle_timeout_ms = 200;
  uv_loop_init(&loop);
  if (http_server_start(&loop, "127.0.0.1", 0, &l, &h, &server, err,
                        sizeof err) != 0)
    abort();
  port = http_server_port(server);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!server)
    setup();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
    abort();
  size_t off = 0;
  fcntl(fd, F_SETFL, O_NONBLOCK);
  int eof = 0, shut = 0;
  for (int spins = 0; !eof && spins < 100000; spins++) {
    while (off < size) { /* the server may answer (and close) early */
      ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);
      if (n <= 0)
        break;
      off += (size_t)n;
    }
    if ((off == size || errno == EPIPE) && !shut) {
      shutdown(fd, SHUT_WR);
      shut = 1;
    }
    uv_run(&loop, UV_RUN_NOWAIT);
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN))
      eof = 1;
    else if (n < 0) {
      struct pollfd p = {fd, POLLIN, 0};
      poll(&p, 1, 1);
    }
  }
  close(fd);
  if (!eof)
    abort(); /* the server kept a half-closed connection for too long */
  /* Let the server see the close and free the connection. */
  for (int i = 0; i < 10 && http_server_connections(server) > 0; i++)
    uv_run(&loop, UV_RUN_NOWAIT);
  return 0;
}

/*
 * control.c - the node's side of the control channel.
 *
 *   HELLO_SENT --valid ack, accepted--> REGISTERED --timer--> heartbeat
 *      ^  |                                 |
 *      |  +--no answer: resend every 2 s    | ack "say hello" (coordinator
 *      |     (warn every 10 s)              |  restarted or forgot us)
 *      +------------------------------------+
 *   HELLO_SENT --unauthenticated refusal echoing our nonce--> on_refused
 *
 * A refusal cannot carry a valid MAC (the coordinator does not share our
 * wrong secret), so we accept it unauthenticated but only when it echoes the
 * nonce of our latest hello: at worst a forger makes us stop, which anyone
 * on the path could do anyway.
 */
#include "node.h"

#include "cairn.pb-c.h"
#include "control_envelope.h"
#include "crypto.h"
#include "error.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define HELLO_RETRY_MS 2000
#define HELLO_WARN_MS 10000
#define MAX_LABELS 16

struct node_control {
  struct node_control_config cfg;
  uv_loop_t *loop;
  void *zctx, *dealer;
  uv_poll_t poll;
  uv_timer_t timer;
  uint8_t nonce[16];
  int registered;
  int interval_ms;
  uint64_t seq;
  uint64_t hello_since; /* loop time of the first unanswered hello */
  uint64_t last_warn;
  int closing;
  char labels_buf[256];
  char *labels[MAX_LABELS];
  size_t n_labels;
};

static uint64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void send_sealed(struct node_control *nc, Cairn__ControlKind kind,
                        const ProtobufCMessage *msg) {
  size_t len;
  uint8_t *buf = control_seal(kind, msg, nc->cfg.secret, nc->cfg.secret_len,
                              &len);
  if (!buf)
    return;
  zmq_send(nc->dealer, buf, len, ZMQ_DONTWAIT);
  free(buf);
}

static void send_hello(struct node_control *nc) {
  Cairn__NodeHello hello = CAIRN__NODE_HELLO__INIT;
  crypto_random(nc->nonce, sizeof nc->nonce);
  uint64_t capacity, free_bytes;
  node_capacity(nc->cfg.data_dirs, nc->cfg.data_dir_count, &capacity,
                &free_bytes);
  hello.node_id = (char *)nc->cfg.node_id;
  hello.data_addr = (char *)nc->cfg.data_addr;
  hello.capacity_bytes = capacity;
  hello.free_bytes = free_bytes;
  hello.timestamp_ms = wall_ms();
  hello.nonce.data = nc->nonce;
  hello.nonce.len = sizeof nc->nonce;
  hello.version = CAIRN_VERSION;
  hello.n_labels = nc->n_labels;
  hello.labels = nc->labels;
  send_sealed(nc, CAIRN__CONTROL_KIND__CONTROL_HELLO,
              (const ProtobufCMessage *)&hello);
  if (!nc->hello_since)
    nc->hello_since = uv_now(nc->loop);
}

static void send_heartbeat(struct node_control *nc) {
  Cairn__Heartbeat hb = CAIRN__HEARTBEAT__INIT;
  uint64_t capacity, free_bytes;
  node_capacity(nc->cfg.data_dirs, nc->cfg.data_dir_count, &capacity,
                &free_bytes);
  hb.node_id = (char *)nc->cfg.node_id;
  hb.capacity_bytes = capacity;
  hb.free_bytes = free_bytes;
  hb.timestamp_ms = wall_ms();
  hb.seq = ++nc->seq;
  send_sealed(nc, CAIRN__CONTROL_KIND__CONTROL_HEARTBEAT,
              (const ProtobufCMessage *)&hb);
}

static void on_timer(uv_timer_t *t);

static void schedule(struct node_control *nc, uint64_t ms) {
  uv_timer_start(&nc->timer, on_timer, ms, 0);
}

static int nonce_matches(struct node_control *nc, const Cairn__HelloAck *ack) {
  return ack->nonce.len == sizeof nc->nonce &&
         memcmp(ack->nonce.data, nc->nonce, sizeof nc->nonce) == 0;
}

static void handle(struct node_control *nc, const uint8_t *data, size_t len) {
  Cairn__ControlEnvelope *env;
  int rc = control_open(data, len, nc->cfg.secret, nc->cfg.secret_len, &env);
  if (rc == CAIRN_EAUTH && !nc->registered) {
    /* Possibly the coordinator's unauthenticated refusal. */
    Cairn__ControlEnvelope *raw =
        cairn__control_envelope__unpack(NULL, len, data);
    Cairn__HelloAck *ack =
        raw && raw->kind == CAIRN__CONTROL_KIND__CONTROL_HELLO_ACK
            ? cairn__hello_ack__unpack(NULL, raw->body.len, raw->body.data)
            : NULL;
    if (ack && !ack->accepted && nonce_matches(nc, ack) && nc->cfg.on_refused)
      nc->cfg.on_refused(ack->reason && *ack->reason ? ack->reason
                                                      : "refused",
                         nc->cfg.arg);
    if (ack)
      cairn__hello_ack__free_unpacked(ack, NULL);
    if (raw)
      cairn__control_envelope__free_unpacked(raw, NULL);
    return;
  }
  if (rc != 0) {
    log_warn("control", "dropped a control message that does not verify");
    return;
  }
  if (env->kind == CAIRN__CONTROL_KIND__CONTROL_HELLO_ACK) {
    Cairn__HelloAck *ack =
        cairn__hello_ack__unpack(NULL, env->body.len, env->body.data);
    if (ack && ack->accepted && nonce_matches(nc, ack)) {
      if (!nc->registered)
        log_info("control", "registered with the coordinator at %s",
                 nc->cfg.endpoint);
      nc->registered = 1;
      nc->hello_since = 0;
      if (ack->heartbeat_interval_ms >= 100 &&
          ack->heartbeat_interval_ms <= 60000)
        nc->interval_ms = (int)ack->heartbeat_interval_ms;
      schedule(nc, (uint64_t)nc->interval_ms);
    } else if (ack && !ack->accepted && (nc->registered ||
                                         nonce_matches(nc, ack))) {
      log_info("control", "coordinator asks us to register again (%s)",
               ack->reason ? ack->reason : "");
      nc->registered = 0;
      if (ack->reason && strcmp(ack->reason, "unknown node: say hello") != 0 &&
          nc->cfg.on_refused) {
        nc->cfg.on_refused(ack->reason, nc->cfg.arg);
      } else {
        send_hello(nc);
        schedule(nc, HELLO_RETRY_MS);
      }
    }
    if (ack)
      cairn__hello_ack__free_unpacked(ack, NULL);
  }
  cairn__control_envelope__free_unpacked(env, NULL);
}

static void drain(struct node_control *nc) {
  while (!nc->closing) {
    int events = 0;
    size_t size = sizeof events;
    if (zmq_getsockopt(nc->dealer, ZMQ_EVENTS, &events, &size) != 0 ||
        !(events & ZMQ_POLLIN))
      return;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, nc->dealer, ZMQ_DONTWAIT) < 0) {
      zmq_msg_close(&msg);
      return;
    }
    handle(nc, zmq_msg_data(&msg), zmq_msg_size(&msg));
    zmq_msg_close(&msg);
  }
}

static void on_poll(uv_poll_t *p, int status, int events) {
  (void)status;
  (void)events;
  drain(p->data);
}

static void on_timer(uv_timer_t *t) {
  struct node_control *nc = t->data;
  if (nc->registered) {
    send_heartbeat(nc);
    schedule(nc, (uint64_t)nc->interval_ms);
  } else {
    uint64_t now = uv_now(nc->loop);
    if (nc->hello_since && now - nc->hello_since >= HELLO_WARN_MS &&
        now - nc->last_warn >= HELLO_WARN_MS) {
      nc->last_warn = now;
      log_warn("control", "no answer from the coordinator at %s for %llu s; "
               "still trying", nc->cfg.endpoint,
               (unsigned long long)((now - nc->hello_since) / 1000));
    }
    send_hello(nc);
    schedule(nc, HELLO_RETRY_MS);
  }
  drain(nc);
}

int node_control_start(uv_loop_t *loop, const struct node_control_config *cfg,
                       struct node_control **out, char *err, size_t err_len) {
  struct node_control *nc = calloc(1, sizeof *nc);
  if (!nc)
    return CAIRN_ENOMEM;
  nc->cfg = *cfg;
  nc->loop = loop;
  nc->interval_ms = cfg->heartbeat_interval_ms;
  snprintf(nc->labels_buf, sizeof nc->labels_buf, "%s",
           cfg->labels ? cfg->labels : "");
  for (char *save = NULL, *tok = strtok_r(nc->labels_buf, ",", &save);
       tok && nc->n_labels < MAX_LABELS; tok = strtok_r(NULL, ",", &save))
    nc->labels[nc->n_labels++] = tok;
  nc->zctx = zmq_ctx_new();
  nc->dealer = nc->zctx ? zmq_socket(nc->zctx, ZMQ_DEALER) : NULL;
  if (!nc->dealer) {
    snprintf(err, err_len, "cannot create a ZeroMQ socket");
    if (nc->zctx)
      zmq_ctx_term(nc->zctx);
    free(nc);
    return CAIRN_ENOMEM;
  }
  int zero = 0, hwm = 16;
  int64_t max_msg = CONTROL_MESSAGE_MAX;
  zmq_setsockopt(nc->dealer, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(nc->dealer, ZMQ_SNDHWM, &hwm, sizeof hwm);
  zmq_setsockopt(nc->dealer, ZMQ_MAXMSGSIZE, &max_msg, sizeof max_msg);
  if (zmq_connect(nc->dealer, cfg->endpoint) != 0) {
    snprintf(err, err_len, "bad coordinator endpoint %s: %s", cfg->endpoint,
             zmq_strerror(zmq_errno()));
    zmq_close(nc->dealer);
    zmq_ctx_term(nc->zctx);
    free(nc);
    return CAIRN_EINVAL;
  }
  int fd;
  size_t fd_size = sizeof fd;
  zmq_getsockopt(nc->dealer, ZMQ_FD, &fd, &fd_size);
  uv_poll_init(loop, &nc->poll, fd);
  uv_timer_init(loop, &nc->timer);
  nc->poll.data = nc->timer.data = nc;
  uv_poll_start(&nc->poll, UV_READABLE, on_poll);
  send_hello(nc);
  schedule(nc, HELLO_RETRY_MS);
  *out = nc;
  return 0;
}

static void on_closed(uv_handle_t *h) {
  struct node_control *nc = h->data;
  if (++nc->closing < 3)
    return;
  zmq_close(nc->dealer);
  zmq_ctx_term(nc->zctx);
  free(nc);
}

void node_control_stop(struct node_control *nc) {
  if (!nc || nc->closing)
    return;
  nc->closing = 1;
  uv_close((uv_handle_t *)&nc->poll, on_closed);
  uv_close((uv_handle_t *)&nc->timer, on_closed);
}

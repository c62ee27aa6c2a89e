/*
 * control.c - the node's side of the control channel (see control.h).
 *
 *                 send ok (a live connection: ZMQ_IMMEDIATE)
 *   CONNECTING ------------------------------------------> HELLO_SENT
 *     ^  | hello every retry_ms; send EAGAIN                 |  |
 *     |  | (no connection): stay, warn every 10 s            |  | valid ack,
 *     |  +---------------------------------------------------+  | accepted,
 *     |     connection lost (send EAGAIN)                       | our nonce
 *     |                                                         v
 *     +---- heartbeat send EAGAIN ------------------------- REGISTERED
 *           ack say_hello: new nonce, -> HELLO_SENT <------ (heartbeat every
 *                                                            interval_ms)
 *   HELLO_SENT --MAC'd say_hello echoing our nonce (coordinator cannot store
 *                us yet)--> HELLO_SENT, refusal count restarts
 *   HELLO_SENT --no valid ack for refuse_after_ms and at least
 *                HELLO_MIN_TRIES hellos--> REFUSED (on_refused, once)
 *   HELLO_SENT --MAC'd ack, accepted=false, our nonce--> REFUSED
 *   any --node_control_stop--> handles closing, freed in on_closed
 *
 * Invariants:
 *  1. The nonce changes only when a new hello episode starts (start, lost
 *     connection, say_hello); retries of one episode reuse it, so a slow ack
 *     to an earlier retry still matches.
 *  2. ZMQ_FD is edge-triggered: after every poll event and after every send
 *     we drain while ZMQ_EVENTS has POLLIN (drain() is not re-entered).
 *  3. Nothing is sent once REFUSED or closing.
 */
#include "control.h"

#include "capacity.h"
#include "cairn.pb-c.h"
#include "control_envelope.h"
#include "crypto.h"
#include "error.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define HELLO_RETRY_MS 1000
#define REFUSE_AFTER_MS 5000
#define HELLO_MIN_TRIES 4
#define WARN_EVERY_MS 10000
#define MAX_LABELS 16
#define NONCE_LEN 16
/* Bounds on the interval a HelloAck may set (tests use tens of ms). */
#define HEARTBEAT_MIN_MS 10
#define HEARTBEAT_MAX_MS 60000

enum control_state { CONNECTING, HELLO_SENT, REGISTERED, REFUSED };

struct node_control {
  uv_loop_t *loop;
  void *zctx, *dealer;
  uv_poll_t poll;
  uv_timer_t timer;
  int handles_open;
  int closing;
  int draining;
  enum control_state state;

  char endpoint[256];
  char node_id[33];
  char data_addr[128];
  uint8_t *secret;
  size_t secret_len;
  char *const *data_dirs;
  size_t data_dir_count;
  char labels_buf[256];
  char *labels[MAX_LABELS];
  size_t n_labels;
  int retry_ms, refuse_after_ms, interval_ms;
  void (*on_refused)(const char *reason, void *arg);
  void *arg;

  uint8_t nonce[NONCE_LEN];
  uint64_t episode_start; /* loop ms of the first delivered hello */
  int hellos_delivered;   /* in this episode */
  uint64_t connecting_since, last_warn, last_bad_mac_log;
  uint64_t seq; /* heartbeat sequence, strictly increasing */
  void (*cfg_extend)(void *hb, void *arg); /* node_control_config */
  void (*cfg_done)(void *hb, void *arg);
  void *report_arg;
};

static uint64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void drain(struct node_control *nc);

/* Returns 0 when ZeroMQ took the message, CAIRN_ECLOSED when there is no
 * connection to give it to (ZMQ_IMMEDIATE), another CAIRN_E* otherwise. */
static int send_sealed(struct node_control *nc, Cairn__ControlKind kind,
                       const ProtobufCMessage *msg) {
  uint8_t *buf;
  size_t len;
  int rc = control_seal(kind, msg, nc->secret, nc->secret_len, &buf, &len);
  if (rc != 0)
    return rc;
  if (zmq_send(nc->dealer, buf, len, ZMQ_DONTWAIT) < 0)
    rc = zmq_errno() == EAGAIN ? CAIRN_ECLOSED : CAIRN_EIO;
  free(buf);
  drain(nc); /* invariant 2 */
  return rc;
}

static void new_episode(struct node_control *nc, enum control_state state) {
  crypto_random(nc->nonce, sizeof nc->nonce);
  nc->state = state;
  nc->hellos_delivered = 0;
  nc->episode_start = 0;
  if (state == CONNECTING)
    nc->connecting_since = uv_now(nc->loop);
}

static void send_hello(struct node_control *nc) {
  Cairn__NodeHello hello = CAIRN__NODE_HELLO__INIT;
  uint64_t capacity, free_bytes;
  node_capacity(nc->data_dirs, nc->data_dir_count, &capacity, &free_bytes);
  hello.node_id = nc->node_id;
  hello.data_addr = nc->data_addr;
  hello.capacity_bytes = capacity;
  hello.free_bytes = free_bytes;
  hello.timestamp_ms = wall_ms();
  hello.nonce.data = nc->nonce;
  hello.nonce.len = sizeof nc->nonce;
  hello.version = CAIRN_VERSION;
  hello.n_labels = nc->n_labels;
  hello.labels = nc->labels;
  int rc = send_sealed(nc, CAIRN__CONTROL_KIND__CONTROL_HELLO,
                       (const ProtobufCMessage *)&hello);
  if (nc->state == REFUSED || nc->state == REGISTERED || nc->closing)
    return; /* the drain after the send already moved us on */
  if (rc == 0) {
    if (nc->state == CONNECTING) {
      nc->state = HELLO_SENT;
      log_debug("control", "connected to %s; hello sent", nc->endpoint);
    }
    if (nc->hellos_delivered++ == 0)
      nc->episode_start = uv_now(nc->loop);
  } else if (nc->state == HELLO_SENT) {
    log_info("control", "lost the connection to the coordinator at %s",
             nc->endpoint);
    new_episode(nc, CONNECTING);
  }
}

static void send_heartbeat(struct node_control *nc) {
  Cairn__Heartbeat hb = CAIRN__HEARTBEAT__INIT;
  uint64_t capacity, free_bytes;
  node_capacity(nc->data_dirs, nc->data_dir_count, &capacity, &free_bytes);
  hb.node_id = nc->node_id;
  hb.capacity_bytes = capacity;
  hb.free_bytes = free_bytes;
  hb.timestamp_ms = wall_ms();
  hb.seq = ++nc->seq;
  if (nc->cfg_extend)
    nc->cfg_extend(&hb, nc->report_arg);
  int rc = send_sealed(nc, CAIRN__CONTROL_KIND__CONTROL_HEARTBEAT,
                       (const ProtobufCMessage *)&hb);
  if (nc->cfg_done)
    nc->cfg_done(&hb, nc->report_arg);
  if (rc == CAIRN_ECLOSED && nc->state == REGISTERED) {
    log_warn("control",
             "lost the connection to the coordinator at %s; "
             "will say hello again",
             nc->endpoint);
    new_episode(nc, CONNECTING);
  }
}

static void refused(struct node_control *nc, const char *reason) {
  nc->state = REFUSED;
  uv_timer_stop(&nc->timer);
  if (nc->on_refused)
    nc->on_refused(reason, nc->arg);
}

static void on_timer(uv_timer_t *t);

static void schedule(struct node_control *nc, int ms) {
  if (!nc->closing && nc->state != REFUSED)
    uv_timer_start(&nc->timer, on_timer, (uint64_t)ms, 0);
}

static int nonce_matches(const struct node_control *nc,
                         const Cairn__HelloAck *ack) {
  return ack->nonce.len == NONCE_LEN &&
         crypto_equal(ack->nonce.data, nc->nonce, NONCE_LEN);
}

static void handle_ack(struct node_control *nc, const Cairn__HelloAck *ack) {
  if (ack->accepted) {
    if (nc->state != HELLO_SENT && nc->state != CONNECTING)
      return; /* a duplicate ack to a retried hello */
    if (!nonce_matches(nc, ack)) {
      log_debug("control", "ignored an ack to an older hello");
      return;
    }
    if (ack->heartbeat_interval_ms >= HEARTBEAT_MIN_MS &&
        ack->heartbeat_interval_ms <= HEARTBEAT_MAX_MS)
      nc->interval_ms = (int)ack->heartbeat_interval_ms;
    nc->state = REGISTERED;
    log_info("control",
             "registered with the coordinator at %s (heartbeat "
             "every %d ms)",
             nc->endpoint, nc->interval_ms);
    schedule(nc, nc->interval_ms);
    return;
  }
  if (ack->say_hello) {
    if (nc->state == HELLO_SENT && nonce_matches(nc, ack)) {
      /* The coordinator holds our secret but cannot register us yet (its
       * store failed): be patient, it is not a refusal. */
      log_warn("control", "the coordinator at %s asks us to retry: %s",
               nc->endpoint, ack->reason ? ack->reason : "");
      nc->hellos_delivered = 0;
      return;
    }
    if (nc->state != REGISTERED)
      return; /* already saying hello */
    log_info("control",
             "the coordinator at %s does not know this node "
             "(restarted?): saying hello again",
             nc->endpoint);
    new_episode(nc, HELLO_SENT);
    send_hello(nc);
    schedule(nc, nc->retry_ms);
    return;
  }
  if ((nc->state == HELLO_SENT || nc->state == CONNECTING) &&
      nonce_matches(nc, ack)) {
    char reason[600];
    snprintf(reason, sizeof reason,
             "the coordinator at %s refused this "
             "node: %s",
             nc->endpoint,
             ack->reason && *ack->reason ? ack->reason : "no reason given");
    refused(nc, reason);
  }
}

static void handle(struct node_control *nc, const uint8_t *data, size_t len) {
  Cairn__ControlEnvelope *env = NULL;
  Cairn__HelloAck *ack = NULL;
  int rc = control_open(data, len, nc->secret, nc->secret_len, &env);
  if (rc != 0) {
    uint64_t now = uv_now(nc->loop);
    if (!nc->last_bad_mac_log || now - nc->last_bad_mac_log >= WARN_EVERY_MS) {
      nc->last_bad_mac_log = now;
      log_warn("control",
               "dropped a control message from %s that does not "
               "verify (%s)",
               nc->endpoint, cairn_strerror(rc));
    }
    return;
  }
  if (env->kind != CAIRN__CONTROL_KIND__CONTROL_HELLO_ACK)
    goto done; /* nothing else flows to nodes yet */
  ack = cairn__hello_ack__unpack(NULL, env->body.len, env->body.data);
  if (!ack)
    goto done;
  handle_ack(nc, ack);
done:
  if (ack)
    cairn__hello_ack__free_unpacked(ack, NULL);
  cairn__control_envelope__free_unpacked(env, NULL);
}

static void drain(struct node_control *nc) {
  if (nc->draining)
    return; /* the outer drain re-reads ZMQ_EVENTS after each message */
  nc->draining = 1;
  while (!nc->closing && nc->state != REFUSED) {
    int events = 0;
    size_t size = sizeof events;
    if (zmq_getsockopt(nc->dealer, ZMQ_EVENTS, &events, &size) != 0 ||
        !(events & ZMQ_POLLIN))
      break;
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, nc->dealer, ZMQ_DONTWAIT) < 0) {
      zmq_msg_close(&msg);
      break;
    }
    handle(nc, zmq_msg_data(&msg), zmq_msg_size(&msg));
    zmq_msg_close(&msg);
  }
  nc->draining = 0;
}

static void on_poll(uv_poll_t *p, int status, int events) {
  (void)events;
  struct node_control *nc = p->data;
  if (status < 0)
    log_warn("control", "poll on the control socket: %s", uv_strerror(status));
  drain(nc);
}

static void on_timer(uv_timer_t *t) {
  struct node_control *nc = t->data;
  uint64_t now = uv_now(nc->loop);
  switch (nc->state) {
  case REGISTERED:
    send_heartbeat(nc);
    schedule(nc, nc->state == REGISTERED ? nc->interval_ms : nc->retry_ms);
    return;
  case HELLO_SENT:
    if (nc->hellos_delivered >= HELLO_MIN_TRIES &&
        now - nc->episode_start >= (uint64_t)nc->refuse_after_ms) {
      char reason[400];
      snprintf(reason, sizeof reason,
               "the coordinator at %s did not accept "
               "this node (no valid answer to %d hellos in %llu ms): check "
               "the cluster secret",
               nc->endpoint, nc->hellos_delivered,
               (unsigned long long)(now - nc->episode_start));
      refused(nc, reason);
      return;
    }
    break;
  case CONNECTING:
    if (now - nc->connecting_since >= WARN_EVERY_MS &&
        now - nc->last_warn >= WARN_EVERY_MS) {
      nc->last_warn = now;
      log_warn("control",
               "no connection to the coordinator at %s for %llu "
               "s; still trying",
               nc->endpoint,
               (unsigned long long)((now - nc->connecting_since) / 1000));
    }
    break;
  case REFUSED: return;
  }
  send_hello(nc);
  schedule(nc, nc->state == REGISTERED ? nc->interval_ms : nc->retry_ms);
}

static void free_control(struct node_control *nc) {
  if (nc->dealer)
    zmq_close(nc->dealer);
  if (nc->zctx)
    zmq_ctx_term(nc->zctx);
  if (nc->secret) {
    memset(nc->secret, 0, nc->secret_len);
    free(nc->secret);
  }
  free(nc);
}

int node_control_start(uv_loop_t *loop, const struct node_control_config *cfg,
                       struct node_control **out, char *err, size_t err_len) {
  int rc = CAIRN_ENOMEM;
  struct node_control *nc = calloc(1, sizeof *nc);
  *out = NULL;
  if (!nc)
    goto fail_msg;
  nc->loop = loop;
  if (snprintf(nc->endpoint, sizeof nc->endpoint, "%s", cfg->endpoint) >=
          (int)sizeof nc->endpoint ||
      snprintf(nc->data_addr, sizeof nc->data_addr, "%s", cfg->data_addr) >=
          (int)sizeof nc->data_addr ||
      snprintf(nc->labels_buf, sizeof nc->labels_buf, "%s",
               cfg->labels ? cfg->labels : "") >= (int)sizeof nc->labels_buf) {
    snprintf(err, err_len,
             "coordinator endpoint, data address or labels "
             "too long");
    rc = CAIRN_EINVAL;
    goto fail;
  }
  snprintf(nc->node_id, sizeof nc->node_id, "%s", cfg->node_id);
  nc->secret = malloc(cfg->secret_len ? cfg->secret_len : 1);
  if (!nc->secret)
    goto fail_msg;
  memcpy(nc->secret, cfg->secret, cfg->secret_len);
  nc->secret_len = cfg->secret_len;
  nc->data_dirs = cfg->data_dirs;
  nc->data_dir_count = cfg->data_dir_count;
  nc->interval_ms =
      cfg->heartbeat_interval_ms > 0 ? cfg->heartbeat_interval_ms : 2000;
  nc->retry_ms = cfg->hello_retry_ms > 0 ? cfg->hello_retry_ms : HELLO_RETRY_MS;
  nc->refuse_after_ms =
      cfg->refuse_after_ms > 0 ? cfg->refuse_after_ms : REFUSE_AFTER_MS;
  nc->on_refused = cfg->on_refused;
  nc->cfg_extend = cfg->heartbeat_extend;
  nc->cfg_done = cfg->heartbeat_done;
  nc->report_arg = cfg->report_arg;
  nc->arg = cfg->arg;
  for (char *save = NULL, *tok = strtok_r(nc->labels_buf, ",", &save);
       tok && nc->n_labels < MAX_LABELS; tok = strtok_r(NULL, ",", &save))
    if (*tok)
      nc->labels[nc->n_labels++] = tok;

  nc->zctx = zmq_ctx_new();
  nc->dealer = nc->zctx ? zmq_socket(nc->zctx, ZMQ_DEALER) : NULL;
  if (!nc->dealer) {
    snprintf(err, err_len, "cannot create a ZeroMQ socket: %s",
             zmq_strerror(zmq_errno()));
    goto fail;
  }
  int zero = 0, one = 1, hwm = 16;
  int64_t max_msg = CONTROL_MESSAGE_MAX;
  /* IMMEDIATE: queue only to a completed connection, so a send that fails
   * with EAGAIN tells us there is none (and no stale hellos pile up). */
  if (zmq_setsockopt(nc->dealer, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
      zmq_setsockopt(nc->dealer, ZMQ_IMMEDIATE, &one, sizeof one) != 0 ||
      zmq_setsockopt(nc->dealer, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
      zmq_setsockopt(nc->dealer, ZMQ_MAXMSGSIZE, &max_msg, sizeof max_msg)) {
    snprintf(err, err_len, "cannot configure the ZeroMQ socket: %s",
             zmq_strerror(zmq_errno()));
    rc = CAIRN_EIO;
    goto fail;
  }
  if (zmq_connect(nc->dealer, nc->endpoint) != 0) {
    snprintf(err, err_len, "bad coordinator endpoint %s: %s", nc->endpoint,
             zmq_strerror(zmq_errno()));
    rc = CAIRN_EINVAL;
    goto fail;
  }
  int fd;
  size_t fd_size = sizeof fd;
  if (zmq_getsockopt(nc->dealer, ZMQ_FD, &fd, &fd_size) != 0 ||
      uv_poll_init(loop, &nc->poll, fd) != 0) {
    snprintf(err, err_len, "cannot poll the ZeroMQ socket");
    rc = CAIRN_EIO;
    goto fail;
  }
  uv_timer_init(loop, &nc->timer);
  nc->poll.data = nc->timer.data = nc;
  nc->handles_open = 2;
  uv_poll_start(&nc->poll, UV_READABLE, on_poll);
  new_episode(nc, CONNECTING);
  nc->last_warn = nc->connecting_since;
  /* The connection completes asynchronously: the first hello goes out on
   * the first tick, soon after. */
  uv_timer_start(&nc->timer, on_timer, 10, 0);
  *out = nc;
  return 0;
fail_msg:
  snprintf(err, err_len, "out of memory starting the control channel");
fail:
  if (nc)
    free_control(nc);
  return rc;
}

static void on_closed(uv_handle_t *h) {
  struct node_control *nc = h->data;
  if (--nc->handles_open > 0)
    return;
  free_control(nc); /* zmq_close after the poll handle let go of its fd */
}

void node_control_stop(struct node_control *nc) {
  if (!nc || nc->closing)
    return;
  nc->closing = 1;
  uv_close((uv_handle_t *)&nc->poll, on_closed);
  uv_close((uv_handle_t *)&nc->timer, on_closed);
}

int node_control_registered(const struct node_control *nc) {
  return nc && nc->state == REGISTERED;
}

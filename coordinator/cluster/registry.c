/*
 * registry.c - the coordinator's node table, fed by the control channel.
 *
 *   unknown --hello (MAC ok)--> UP --no heartbeat for misses*interval--> DOWN
 *                                ^                                       |
 *                                +------- heartbeat or hello ------------+
 *
 * Nodes persisted by an earlier run start as DOWN and not `registered`: a
 * heartbeat from them is answered "say hello" (HelloAck accepted=false),
 * so every node proves itself with a fresh hello to each coordinator run.
 *
 * The ROUTER socket's file descriptor is edge-triggered: after every poll
 * event and every send we drain while ZMQ_EVENTS says POLLIN.
 */
#include "registry.h"

#include "cairn.pb-c.h"
#include "control_envelope.h"
#include "error.h"
#include "log.h"
#include "meta.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define MAX_NODES 1024
#define CLOCK_SKEW_MS (5 * 60 * 1000)
#define REFUSAL_LOG_EVERY_MS 1000

struct node_entry {
  struct cluster_node_view view;
  char labels[256];
  int registered;     /* said hello to this coordinator run */
  uint64_t last_seq;
  uint64_t last_seen_mono; /* loop time of the last valid message */
  int64_t first_seen_ms;
};

struct cluster {
  uv_loop_t *loop;
  void *zctx, *router;
  uv_poll_t poll;
  uv_timer_t timer;
  uint8_t *secret;
  size_t secret_len;
  int interval_ms, misses;
  struct meta *meta;
  struct node_entry *nodes; /* sorted by id */
  size_t count;
  uint64_t last_refusal_log;
  int closing;
};

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int valid_node_id(const char *id) {
  if (strlen(id) != 32)
    return 0;
  for (int i = 0; i < 32; i++)
    if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
      return 0;
  return 1;
}

static struct node_entry *find_node(struct cluster *c, const char *id) {
  for (size_t i = 0; i < c->count; i++)
    if (strcmp(c->nodes[i].view.node_id, id) == 0)
      return &c->nodes[i];
  return NULL;
}

static struct node_entry *add_node(struct cluster *c, const char *id) {
  if (c->count == MAX_NODES)
    return NULL;
  size_t pos = 0;
  while (pos < c->count && strcmp(c->nodes[pos].view.node_id, id) < 0)
    pos++;
  memmove(&c->nodes[pos + 1], &c->nodes[pos],
          (c->count - pos) * sizeof *c->nodes);
  memset(&c->nodes[pos], 0, sizeof *c->nodes);
  snprintf(c->nodes[pos].view.node_id, sizeof c->nodes[pos].view.node_id,
           "%s", id);
  c->count++;
  return &c->nodes[pos];
}

static int load_node(const struct meta_node_record *rec, void *arg) {
  struct cluster *c = arg;
  struct node_entry *n = add_node(c, rec->node_id);
  if (!n)
    return 0;
  snprintf(n->view.data_addr, sizeof n->view.data_addr, "%s", rec->data_addr);
  n->view.capacity_bytes = rec->capacity_bytes;
  n->view.free_bytes = rec->free_bytes;
  n->first_seen_ms = rec->first_seen_ms;
  snprintf(n->labels, sizeof n->labels, "%s", rec->labels);
  return 0;
}

static void drain(struct cluster *c);

static void send_reply(struct cluster *c, zmq_msg_t *identity,
                       const Cairn__HelloAck *ack, int authenticated) {
  size_t len;
  uint8_t *buf =
      control_seal(CAIRN__CONTROL_KIND__CONTROL_HELLO_ACK,
                   (const ProtobufCMessage *)ack,
                   authenticated ? c->secret : (const uint8_t *)"", 
                   authenticated ? c->secret_len : 0, &len);
  if (!buf)
    return;
  zmq_send(c->router, zmq_msg_data(identity), zmq_msg_size(identity),
           ZMQ_SNDMORE | ZMQ_DONTWAIT);
  zmq_send(c->router, buf, len, ZMQ_DONTWAIT);
  free(buf);
}

static void mark_up(struct cluster *c, struct node_entry *n) {
  n->last_seen_mono = uv_now(c->loop);
  n->view.last_heartbeat_ms = wall_ms();
  if (!n->view.up) {
    n->view.up = 1;
    log_info("cluster", "node %s up (%s)", n->view.node_id,
             n->view.data_addr);
  }
}

static void handle_hello(struct cluster *c, zmq_msg_t *identity,
                         const ProtobufCBinaryData *body) {
  Cairn__NodeHello *hello =
      cairn__node_hello__unpack(NULL, body->len, body->data);
  Cairn__HelloAck ack = CAIRN__HELLO_ACK__INIT;
  if (!hello || !valid_node_id(hello->node_id) || !hello->data_addr ||
      strlen(hello->data_addr) == 0 || strlen(hello->data_addr) >= 128) {
    log_warn("cluster", "malformed hello refused");
    goto done;
  }
  ack.nonce = hello->nonce;
  int64_t now = wall_ms();
  int64_t skew = now - (int64_t)hello->timestamp_ms;
  if (skew > CLOCK_SKEW_MS || skew < -CLOCK_SKEW_MS) {
    log_warn("cluster", "node %s refused: clock off by %lld ms",
             hello->node_id, (long long)skew);
    ack.accepted = 0;
    ack.reason = "clock skew over 5 minutes";
    send_reply(c, identity, &ack, 1);
    goto done;
  }
  struct node_entry *n = find_node(c, hello->node_id);
  if (!n)
    n = add_node(c, hello->node_id);
  if (!n) {
    ack.reason = "too many nodes";
    send_reply(c, identity, &ack, 1);
    goto done;
  }
  if (!n->first_seen_ms)
    n->first_seen_ms = now;
  snprintf(n->view.data_addr, sizeof n->view.data_addr, "%s",
           hello->data_addr);
  n->view.capacity_bytes = hello->capacity_bytes;
  n->view.free_bytes = hello->free_bytes;
  n->labels[0] = '\0';
  for (size_t i = 0; i < hello->n_labels; i++) {
    size_t used = strlen(n->labels);
    snprintf(n->labels + used, sizeof n->labels - used, "%s%s",
             used ? "," : "", hello->labels[i]);
  }
  struct meta_node_record rec = {0};
  memcpy(rec.node_id, n->view.node_id, sizeof rec.node_id);
  memcpy(rec.data_addr, n->view.data_addr, sizeof rec.data_addr);
  rec.capacity_bytes = n->view.capacity_bytes;
  rec.free_bytes = n->view.free_bytes;
  rec.first_seen_ms = n->first_seen_ms;
  rec.last_seen_ms = now;
  memcpy(rec.labels, n->labels, sizeof rec.labels);
  int rc = meta_node_put(c->meta, &rec);
  if (rc != 0) {
    log_error("cluster", "cannot persist node %s: %s", rec.node_id,
              cairn_strerror(rc));
    ack.reason = "coordinator cannot store the registration";
    send_reply(c, identity, &ack, 1);
    goto done;
  }
  n->registered = 1;
  n->last_seq = 0;
  log_info("cluster", "node %s registered from %s (capacity %llu, free %llu)",
           rec.node_id, rec.data_addr,
           (unsigned long long)rec.capacity_bytes,
           (unsigned long long)rec.free_bytes);
  mark_up(c, n);
  ack.accepted = 1;
  ack.heartbeat_interval_ms = (uint32_t)c->interval_ms;
  send_reply(c, identity, &ack, 1);
done:
  if (hello)
    cairn__node_hello__free_unpacked(hello, NULL);
}

static void handle_heartbeat(struct cluster *c, zmq_msg_t *identity,
                             const ProtobufCBinaryData *body) {
  Cairn__Heartbeat *hb = cairn__heartbeat__unpack(NULL, body->len, body->data);
  if (!hb)
    return;
  struct node_entry *n = valid_node_id(hb->node_id) ? find_node(c, hb->node_id)
                                                     : NULL;
  if (!n || !n->registered) {
    Cairn__HelloAck ack = CAIRN__HELLO_ACK__INIT;
    ack.reason = "unknown node: say hello";
    send_reply(c, identity, &ack, 1);
  } else if (hb->seq > n->last_seq) {
    n->last_seq = hb->seq;
    n->view.capacity_bytes = hb->capacity_bytes;
    n->view.free_bytes = hb->free_bytes;
    mark_up(c, n);
  }
  cairn__heartbeat__free_unpacked(hb, NULL);
}

/* A message whose MAC does not verify: log (rate-limited) who claimed what,
 * and tell a hello's sender it was refused, unauthenticated, so that it can
 * stop and say why instead of retrying forever. */
static void refuse(struct cluster *c, zmq_msg_t *identity,
                   const uint8_t *data, size_t len) {
  Cairn__ControlEnvelope *env = cairn__control_envelope__unpack(NULL, len,
                                                                data);
  char claimed[40] = "?";
  Cairn__HelloAck ack = CAIRN__HELLO_ACK__INIT;
  Cairn__NodeHello *hello = NULL;
  if (env && env->kind == CAIRN__CONTROL_KIND__CONTROL_HELLO)
    hello = cairn__node_hello__unpack(NULL, env->body.len, env->body.data);
  if (hello && valid_node_id(hello->node_id))
    snprintf(claimed, sizeof claimed, "%s", hello->node_id);
  uint64_t now = uv_now(c->loop);
  if (now - c->last_refusal_log >= REFUSAL_LOG_EVERY_MS ||
      c->last_refusal_log == 0) {
    c->last_refusal_log = now;
    log_warn("cluster", "refused node %s: bad cluster secret", claimed);
  }
  if (hello) {
    ack.nonce = hello->nonce;
    ack.reason = "bad cluster secret";
    send_reply(c, identity, &ack, 0);
    cairn__node_hello__free_unpacked(hello, NULL);
  }
  if (env)
    cairn__control_envelope__free_unpacked(env, NULL);
}

static void handle_message(struct cluster *c, zmq_msg_t *identity,
                           zmq_msg_t *payload) {
  Cairn__ControlEnvelope *env;
  const uint8_t *data = zmq_msg_data(payload);
  size_t len = zmq_msg_size(payload);
  int rc = control_open(data, len, c->secret, c->secret_len, &env);
  if (rc == CAIRN_EAUTH) {
    refuse(c, identity, data, len);
    return;
  }
  if (rc != 0)
    return;
  if (env->kind == CAIRN__CONTROL_KIND__CONTROL_HELLO)
    handle_hello(c, identity, &env->body);
  else if (env->kind == CAIRN__CONTROL_KIND__CONTROL_HEARTBEAT)
    handle_heartbeat(c, identity, &env->body);
  cairn__control_envelope__free_unpacked(env, NULL);
}

static void drain(struct cluster *c) {
  for (;;) {
    int events = 0;
    size_t size = sizeof events;
    if (zmq_getsockopt(c->router, ZMQ_EVENTS, &events, &size) != 0 ||
        !(events & ZMQ_POLLIN))
      return;
    zmq_msg_t identity, payload;
    zmq_msg_init(&identity);
    zmq_msg_init(&payload);
    if (zmq_msg_recv(&identity, c->router, ZMQ_DONTWAIT) < 0) {
      zmq_msg_close(&identity);
      zmq_msg_close(&payload);
      return;
    }
    int more = zmq_msg_more(&identity);
    if (more && zmq_msg_recv(&payload, c->router, ZMQ_DONTWAIT) >= 0) {
      /* DEALERs send one frame; anything longer is dropped whole. */
      if (!zmq_msg_more(&payload))
        handle_message(c, &identity, &payload);
      else
        while (zmq_msg_more(&payload) &&
               zmq_msg_recv(&payload, c->router, ZMQ_DONTWAIT) >= 0)
          ;
    }
    zmq_msg_close(&identity);
    zmq_msg_close(&payload);
  }
}

static void on_poll(uv_poll_t *p, int status, int events) {
  (void)status;
  (void)events;
  drain(p->data);
}

static void on_timer(uv_timer_t *t) {
  struct cluster *c = t->data;
  uint64_t now = uv_now(c->loop);
  uint64_t limit = (uint64_t)c->interval_ms * (uint64_t)c->misses;
  for (size_t i = 0; i < c->count; i++) {
    struct node_entry *n = &c->nodes[i];
    if (n->view.up && now - n->last_seen_mono > limit) {
      n->view.up = 0;
      log_info("cluster", "node %s down (no heartbeat for %llu ms)",
               n->view.node_id, (unsigned long long)(now - n->last_seen_mono));
    }
  }
  drain(c); /* edge-triggered fd: never trust that we saw every event */
}

int cluster_start(uv_loop_t *loop, const struct cluster_config *cfg,
                  struct cluster **out, char *err, size_t err_len) {
  struct cluster *c = calloc(1, sizeof *c);
  if (!c)
    return CAIRN_ENOMEM;
  c->loop = loop;
  c->interval_ms = cfg->heartbeat_interval_ms;
  c->misses = cfg->heartbeat_misses;
  c->meta = cfg->meta;
  c->secret = malloc(cfg->secret_len);
  c->nodes = calloc(MAX_NODES, sizeof *c->nodes);
  c->zctx = zmq_ctx_new();
  if (!c->secret || !c->nodes || !c->zctx) {
    snprintf(err, err_len, "out of memory starting the node registry");
    goto fail;
  }
  memcpy(c->secret, cfg->secret, cfg->secret_len);
  c->secret_len = cfg->secret_len;
  int rc = meta_node_list(c->meta, load_node, c);
  if (rc != 0) {
    snprintf(err, err_len, "cannot load nodes: %s", cairn_strerror(rc));
    goto fail;
  }
  c->router = zmq_socket(c->zctx, ZMQ_ROUTER);
  int zero = 0, max_msg = CONTROL_MESSAGE_MAX;
  int64_t max_msg64 = max_msg;
  zmq_setsockopt(c->router, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(c->router, ZMQ_MAXMSGSIZE, &max_msg64, sizeof max_msg64);
  if (zmq_bind(c->router, cfg->endpoint) != 0) {
    int e = zmq_errno();
    snprintf(err, err_len, "cannot bind the node endpoint %s: %s%s",
             cfg->endpoint, zmq_strerror(e),
             e == EADDRINUSE ? " (address already in use)" : "");
    zmq_close(c->router);
    c->router = NULL;
    rc = e == EADDRINUSE ? CAIRN_EADDRINUSE : CAIRN_EINVAL;
    goto fail_rc;
  }
  int fd;
  size_t fd_size = sizeof fd;
  zmq_getsockopt(c->router, ZMQ_FD, &fd, &fd_size);
  uv_poll_init(loop, &c->poll, fd);
  uv_timer_init(loop, &c->timer);
  c->poll.data = c->timer.data = c;
  uv_poll_start(&c->poll, UV_READABLE, on_poll);
  uint64_t tick = (uint64_t)c->interval_ms / 4;
  uv_timer_start(&c->timer, on_timer, tick ? tick : 1, tick ? tick : 1);
  log_info("cluster", "listening for nodes on %s (%zu known)", cfg->endpoint,
           c->count);
  *out = c;
  return 0;
fail:
  rc = CAIRN_ENOMEM;
fail_rc:
  if (c->zctx)
    zmq_ctx_term(c->zctx);
  free(c->secret);
  free(c->nodes);
  free(c);
  return rc;
}

static void on_closed(uv_handle_t *h) {
  struct cluster *c = h->data;
  if (++c->closing < 3)
    return; /* wait for both handles */
  zmq_close(c->router);
  zmq_ctx_term(c->zctx);
  memset(c->secret, 0, c->secret_len);
  free(c->secret);
  free(c->nodes);
  free(c);
}

void cluster_stop(struct cluster *c) {
  if (!c)
    return;
  c->closing = 1;
  uv_close((uv_handle_t *)&c->poll, on_closed);
  uv_close((uv_handle_t *)&c->timer, on_closed);
}

size_t cluster_nodes_snapshot(struct cluster *c, struct cluster_node_view *out,
                              size_t cap) {
  for (size_t i = 0; i < c->count && i < cap; i++)
    out[i] = c->nodes[i].view;
  return c->count;
}

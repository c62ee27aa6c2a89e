/*
 * registry.c - the coordinator's node table, fed by the control channel.
 *
 *   (persisted, loaded at start)
 *        |
 *        v
 *      DOWN, not registered --hello (MAC ok)--> UP, registered
 *                                                 |     ^
 *              no heartbeat for misses * interval |     | heartbeat or hello
 *                                                 v     |
 *                                          DOWN, registered
 *
 * Messages and answers:
 *   hello, MAC ok, clock within 5 min  -> persist (meta_node_put, first_seen
 *                                         kept), UP, HelloAck accepted
 *   hello repeating the accepted nonce -> HelloAck accepted again, nothing
 *                                         persisted (a retry or a replay)
 *   hello, clock skew / table full     -> HelloAck accepted=false + reason
 *   hello, meta_node_put fails         -> HelloAck accepted=false,
 *                                         say_hello=true (node retries)
 *   heartbeat from a registered node   -> if seq > last seq: UP, free space
 *                                         in memory (not persisted); else
 *                                         ignored (replay); no answer
 *   heartbeat from a node that has not -> HelloAck accepted=false,
 *     said hello to this run              say_hello=true ("say hello")
 *   bad MAC (wrong cluster secret)     -> one WARN line (rate-limited), no
 *                                         answer: we could not MAC one the
 *                                         node would trust
 *
 * Invariants:
 *  1. nodes[] is sorted by node id (snapshot order; binary search).
 *  2. Only a registered node's heartbeats count; registration needs a hello
 *     from this coordinator run, so every node proves itself after a
 *     restart.
 *  3. The ROUTER's ZMQ_FD is edge-triggered: after every poll event, every
 *     timer tick and every send we drain while ZMQ_EVENTS has POLLIN; sends
 *     happen inside drain(), whose loop re-reads ZMQ_EVENTS.
 *
 * meta_node_put is a synchronous synced write on the loop thread: only a
 * hello (rare) pays it; heartbeats touch memory only.
 */
#include "registry.h"

#include "placement.h"

#include "cairn.pb-c.h"
#include "config.h"
#include "control_envelope.h"
#include "crypto.h"
#include "error.h"
#include "log.h"
#include "meta.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define MAX_NODES 4096
#define CLOCK_SKEW_MS (5 * 60 * 1000)
#define REFUSAL_LOG_SAME_MS 10000 /* same claimed node: one line per 10 s */
#define REFUSAL_LOG_ANY_MS 200    /* any refusal: at most 5 lines per s */
#define NONCE_LEN 16
#define DATA_ADDR_MAX 128 /* cluster_node_view and meta_node_record */

struct node_entry {
  struct cluster_node_view view; /* view.labels: the node's labels */
  int registered;                /* said hello to this coordinator run */
  uint8_t nonce[NONCE_LEN];      /* of the accepted hello */
  uint64_t last_seq;
  uint64_t last_seen_mono; /* loop ms of the last valid hello/heartbeat */
  int64_t first_seen_ms;
};

struct cluster {
  uv_loop_t *loop;
  void *zctx, *router;
  uv_poll_t poll;
  uv_timer_t timer;
  int handles_open;
  int closing;
  uint8_t *secret;
  size_t secret_len;
  int interval_ms, misses;
  struct meta *meta;
  struct node_entry *nodes; /* sorted by id; cap entries allocated */
  size_t count, cap;
  char endpoint[256]; /* as bound (port resolved) */
  /* refusal log rate limit */
  uint64_t refusal_log_at;
  char refusal_last_id[40];
  uint64_t refusals_suppressed;
  cluster_corrupt_hook corrupt_hook;
  void *corrupt_arg;
};

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int valid_node_id(const char *id) {
  size_t i;
  for (i = 0; id && id[i]; i++)
    if (i >= 32 ||
        !((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
      return 0;
  return i == 32;
}

/* Index of id, or of where it would go (*found says which). */
static size_t node_position(const struct cluster *c, const char *id,
                            int *found) {
  size_t lo = 0, hi = c->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int cmp = strcmp(c->nodes[mid].view.node_id, id);
    if (cmp == 0) {
      *found = 1;
      return mid;
    }
    if (cmp < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = 0;
  return lo;
}

static struct node_entry *find_node(struct cluster *c, const char *id) {
  int found;
  size_t pos = node_position(c, id, &found);
  return found ? &c->nodes[pos] : NULL;
}

/* Finds or inserts id (invariant 1). NULL when the table is full or out of
 * memory. */
static struct node_entry *get_node(struct cluster *c, const char *id) {
  int found;
  size_t pos = node_position(c, id, &found);
  if (found)
    return &c->nodes[pos];
  if (c->count == MAX_NODES)
    return NULL;
  if (c->count == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 16;
    struct node_entry *grown = realloc(c->nodes, cap * sizeof *grown);
    if (!grown)
      return NULL;
    c->nodes = grown;
    c->cap = cap;
  }
  memmove(&c->nodes[pos + 1], &c->nodes[pos],
          (c->count - pos) * sizeof *c->nodes);
  memset(&c->nodes[pos], 0, sizeof *c->nodes);
  snprintf(c->nodes[pos].view.node_id, sizeof c->nodes[pos].view.node_id, "%s",
           id);
  c->count++;
  return &c->nodes[pos];
}

static void drain_key(const char *id, char *out, size_t cap) {
  snprintf(out, cap, "node-drain:%s", id);
}

static int load_drain_state(struct cluster *c, const char *id) {
  char name[64];
  void *v = NULL;
  size_t len = 0;
  drain_key(id, name, sizeof name);
  int state = CLUSTER_DRAIN_NONE;
  if (meta_config_get(c->meta, name, &v, &len) == 0 && len == 1)
    state = *(uint8_t *)v;
  free(v);
  return state;
}

static int load_node(const struct meta_node_record *rec, void *arg) {
  struct cluster *c = arg;
  if (!valid_node_id(rec->node_id))
    return 0;
  struct node_entry *n = get_node(c, rec->node_id);
  if (!n)
    return CAIRN_ENOMEM;
  snprintf(n->view.data_addr, sizeof n->view.data_addr, "%s", rec->data_addr);
  n->view.capacity_bytes = rec->capacity_bytes;
  n->view.free_bytes = rec->free_bytes;
  n->first_seen_ms = rec->first_seen_ms;
  snprintf(n->view.labels, sizeof n->view.labels, "%s", rec->labels);
  n->view.drain_state = load_drain_state(c, rec->node_id);
  return 0;
}

/* Sends a MAC'd HelloAck to the peer named by identity (best effort: a
 * full or vanished peer loses it and retries). */
static void send_ack(struct cluster *c, zmq_msg_t *identity,
                     const Cairn__HelloAck *ack) {
  uint8_t *buf;
  size_t len;
  if (control_seal(CAIRN__CONTROL_KIND__CONTROL_HELLO_ACK,
                   (const ProtobufCMessage *)ack, c->secret, c->secret_len,
                   &buf, &len) != 0)
    return;
  if (zmq_send(c->router, zmq_msg_data(identity), zmq_msg_size(identity),
               ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
    zmq_send(c->router, buf, len, ZMQ_DONTWAIT);
  free(buf);
}

static void mark_up(struct cluster *c, struct node_entry *n) {
  n->last_seen_mono = uv_now(c->loop);
  n->view.last_heartbeat_ms = wall_ms();
  if (!n->view.up) {
    n->view.up = 1;
    log_info("cluster", "node %s up", n->view.node_id);
  }
}

static void refuse_hello(struct cluster *c, zmq_msg_t *identity,
                         const Cairn__NodeHello *hello, const char *reason) {
  Cairn__HelloAck ack = CAIRN__HELLO_ACK__INIT;
  ack.accepted = 0;
  ack.reason = (char *)reason;
  ack.nonce = hello->nonce;
  send_ack(c, identity, &ack);
}

static void join_labels(const Cairn__NodeHello *hello, char *out, size_t cap) {
  size_t used = 0;
  out[0] = '\0';
  for (size_t i = 0; i < hello->n_labels && used < cap; i++) {
    int w = snprintf(out + used, cap - used, "%s%s", used ? "," : "",
                     hello->labels[i]);
    if (w < 0)
      break;
    used += (size_t)w;
  }
}

static void handle_hello(struct cluster *c, zmq_msg_t *identity,
                         const ProtobufCBinaryData *body) {
  char host[128];
  int port;
  Cairn__NodeHello *hello =
      cairn__node_hello__unpack(NULL, body->len, body->data);
  if (!hello || !valid_node_id(hello->node_id) || !hello->data_addr ||
      strlen(hello->data_addr) >= DATA_ADDR_MAX ||
      config_parse_hostport(hello->data_addr, host, sizeof host, &port) != 0 ||
      hello->nonce.len != NONCE_LEN) {
    log_warn("cluster", "malformed hello (MAC ok) ignored");
    goto done;
  }
  int64_t now = wall_ms();
  int64_t skew = now - (int64_t)hello->timestamp_ms;
  if (skew > CLOCK_SKEW_MS || skew < -CLOCK_SKEW_MS) {
    log_warn("cluster", "refused node %s: its clock is off by %lld ms",
             hello->node_id, (long long)skew);
    refuse_hello(c, identity, hello, "clock off by more than 5 minutes");
    goto done;
  }
  struct node_entry *n = get_node(c, hello->node_id);
  if (!n) {
    log_warn("cluster", "refused node %s: node table full (%d)", hello->node_id,
             MAX_NODES);
    refuse_hello(c, identity, hello, "too many nodes");
    goto done;
  }
  Cairn__HelloAck ack = CAIRN__HELLO_ACK__INIT;
  ack.accepted = 1;
  ack.nonce = hello->nonce;
  ack.heartbeat_interval_ms = (uint32_t)c->interval_ms;
  if (n->registered && memcmp(n->nonce, hello->nonce.data, NONCE_LEN) == 0) {
    mark_up(c, n); /* a retry of the accepted hello: answer again */
    send_ack(c, identity, &ack);
    goto done;
  }
  struct meta_node_record rec;
  memset(&rec, 0, sizeof rec);
  memcpy(rec.node_id, hello->node_id, sizeof rec.node_id);
  snprintf(rec.data_addr, sizeof rec.data_addr, "%s", hello->data_addr);
  rec.capacity_bytes = hello->capacity_bytes;
  rec.free_bytes = hello->free_bytes;
  rec.first_seen_ms = n->first_seen_ms ? n->first_seen_ms : now;
  rec.last_seen_ms = now;
  join_labels(hello, rec.labels, sizeof rec.labels);
  int rc = meta_node_put(c->meta, &rec);
  if (rc != 0) {
    log_error("cluster", "cannot persist node %s: %s", rec.node_id,
              cairn_strerror(rc));
    /* Authenticated "try again": the node keeps saying hello. */
    Cairn__HelloAck retry = CAIRN__HELLO_ACK__INIT;
    retry.say_hello = 1;
    retry.reason = "the coordinator cannot store the registration yet";
    retry.nonce = hello->nonce;
    send_ack(c, identity, &retry);
    goto done;
  }
  n->first_seen_ms = rec.first_seen_ms;
  snprintf(n->view.data_addr, sizeof n->view.data_addr, "%s", rec.data_addr);
  memcpy(n->view.labels, rec.labels, sizeof n->view.labels);
  n->view.capacity_bytes = rec.capacity_bytes;
  n->view.free_bytes = rec.free_bytes;
  memcpy(n->nonce, hello->nonce.data, NONCE_LEN);
  n->registered = 1;
  n->last_seq = 0; /* a new node process counts from 1 */
  log_info("cluster",
           "node %s registered: data %s, capacity %llu, free "
           "%llu, version %s%s%s",
           rec.node_id, rec.data_addr, (unsigned long long)rec.capacity_bytes,
           (unsigned long long)rec.free_bytes,
           hello->version && *hello->version ? hello->version : "?",
           rec.labels[0] ? ", labels " : "", rec.labels);
  mark_up(c, n);
  send_ack(c, identity, &ack);
done:
  if (hello)
    cairn__node_hello__free_unpacked(hello, NULL);
}

/* Per-dir state and corruption reports riding on a heartbeat. */
static void heartbeat_extras(struct cluster *c, struct node_entry *n,
                             const Cairn__Heartbeat *hb) {
  uint32_t writable = 0;
  for (size_t i = 0; i < hb->n_dirs; i++)
    writable += hb->dirs[i]->writable ? 1 : 0;
  n->view.dirs_total = (uint32_t)hb->n_dirs;
  n->view.dirs_writable = writable;
  for (size_t i = 0; i < hb->n_corrupt; i++) {
    const Cairn__CorruptFragment *f = hb->corrupt[i];
    if (f->chunk_id.len != 16)
      continue;
    log_warn("cluster", "node %s reports fragment %u of a chunk corrupt",
             n->view.node_id, f->fragment);
    cluster_report_corrupt(c, n->view.node_id, f->chunk_id.data, f->fragment);
  }
}

static void handle_heartbeat(struct cluster *c, zmq_msg_t *identity,
                             const ProtobufCBinaryData *body) {
  Cairn__Heartbeat *hb = cairn__heartbeat__unpack(NULL, body->len, body->data);
  if (!hb)
    return;
  struct node_entry *n =
      valid_node_id(hb->node_id) ? find_node(c, hb->node_id) : NULL;
  if (!n || !n->registered) {
    Cairn__HelloAck ack = CAIRN__HELLO_ACK__INIT;
    ack.say_hello = 1;
    ack.reason = "unknown node, say hello";
    log_debug("cluster",
              "heartbeat from unregistered node %s: asked for a "
              "hello",
              valid_node_id(hb->node_id) ? hb->node_id : "?");
    send_ack(c, identity, &ack);
  } else if (hb->seq > n->last_seq) {
    n->last_seq = hb->seq;
    n->view.capacity_bytes = hb->capacity_bytes;
    n->view.free_bytes = hb->free_bytes;
    heartbeat_extras(c, n, hb);
    mark_up(c, n);
  } else {
    log_debug("cluster",
              "node %s: heartbeat seq %llu not after %llu "
              "ignored",
              n->view.node_id, (unsigned long long)hb->seq,
              (unsigned long long)n->last_seq);
  }
  cairn__heartbeat__free_unpacked(hb, NULL);
}

/* A message whose MAC does not verify. Log who claimed to be who (the id is
 * unauthenticated: printed only when it has the shape of an id), at most one
 * line per claimed id per 10 s and 5 lines per second overall. */
static void log_refusal(struct cluster *c, zmq_msg_t *payload,
                        const uint8_t *data, size_t len) {
  char claimed[40] = "?";
  Cairn__ControlEnvelope *env =
      cairn__control_envelope__unpack(NULL, len, data);
  if (env && env->kind == CAIRN__CONTROL_KIND__CONTROL_HELLO) {
    Cairn__NodeHello *h =
        cairn__node_hello__unpack(NULL, env->body.len, env->body.data);
    if (h && valid_node_id(h->node_id))
      snprintf(claimed, sizeof claimed, "%s", h->node_id);
    if (h)
      cairn__node_hello__free_unpacked(h, NULL);
  } else if (env && env->kind == CAIRN__CONTROL_KIND__CONTROL_HEARTBEAT) {
    Cairn__Heartbeat *h =
        cairn__heartbeat__unpack(NULL, env->body.len, env->body.data);
    if (h && valid_node_id(h->node_id))
      snprintf(claimed, sizeof claimed, "%s", h->node_id);
    if (h)
      cairn__heartbeat__free_unpacked(h, NULL);
  }
  if (env)
    cairn__control_envelope__free_unpacked(env, NULL);

  uint64_t now = uv_now(c->loop);
  uint64_t since = now - c->refusal_log_at;
  int same = strcmp(claimed, c->refusal_last_id) == 0;
  if (c->refusal_log_at != 0 &&
      (since < REFUSAL_LOG_ANY_MS || (same && since < REFUSAL_LOG_SAME_MS))) {
    c->refusals_suppressed++;
    return;
  }
  const char *peer = zmq_msg_gets(payload, "Peer-Address");
  char more[64] = "";
  if (c->refusals_suppressed)
    snprintf(more, sizeof more, " (%llu similar suppressed)",
             (unsigned long long)c->refusals_suppressed);
  log_warn("cluster", "refused node %s from %s: bad cluster secret%s", claimed,
           peer && *peer ? peer : "?", more);
  c->refusal_log_at = now ? now : 1;
  memcpy(c->refusal_last_id, claimed, sizeof claimed);
  c->refusals_suppressed = 0;
}

static void handle_message(struct cluster *c, zmq_msg_t *identity,
                           zmq_msg_t *payload) {
  Cairn__ControlEnvelope *env;
  const uint8_t *data = zmq_msg_data(payload);
  size_t len = zmq_msg_size(payload);
  int rc = control_open(data, len, c->secret, c->secret_len, &env);
  if (rc == CAIRN_EAUTH) {
    log_refusal(c, payload, data, len);
    return;
  }
  if (rc != 0) {
    log_debug("cluster", "dropped a control message: %s", cairn_strerror(rc));
    return;
  }
  if (env->kind == CAIRN__CONTROL_KIND__CONTROL_HELLO)
    handle_hello(c, identity, &env->body);
  else if (env->kind == CAIRN__CONTROL_KIND__CONTROL_HEARTBEAT)
    handle_heartbeat(c, identity, &env->body);
  cairn__control_envelope__free_unpacked(env, NULL);
}

static void drain(struct cluster *c) {
  while (!c->closing) {
    int events = 0;
    size_t size = sizeof events;
    if (zmq_getsockopt(c->router, ZMQ_EVENTS, &events, &size) != 0 ||
        !(events & ZMQ_POLLIN))
      return;
    zmq_msg_t identity, payload;
    zmq_msg_init(&identity);
    zmq_msg_init(&payload);
    if (zmq_msg_recv(&identity, c->router, ZMQ_DONTWAIT) < 0)
      goto next;
    if (!zmq_msg_more(&identity) ||
        zmq_msg_recv(&payload, c->router, ZMQ_DONTWAIT) < 0)
      goto next;
    if (!zmq_msg_more(&payload)) {
      handle_message(c, &identity, &payload);
    } else {
      /* DEALERs send one frame; anything longer is dropped whole. */
      while (zmq_msg_more(&payload) &&
             zmq_msg_recv(&payload, c->router, ZMQ_DONTWAIT) >= 0)
        ;
    }
  next:
    zmq_msg_close(&identity);
    zmq_msg_close(&payload);
  }
}

static void on_poll(uv_poll_t *p, int status, int events) {
  (void)events;
  struct cluster *c = p->data;
  if (status < 0)
    log_warn("cluster", "poll on the node socket: %s", uv_strerror(status));
  drain(c);
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
  drain(c); /* invariant 3: never trust that we saw every edge */
}

static void free_cluster(struct cluster *c) {
  if (c->router)
    zmq_close(c->router);
  if (c->zctx)
    zmq_ctx_term(c->zctx);
  if (c->secret) {
    memset(c->secret, 0, c->secret_len);
    free(c->secret);
  }
  free(c->nodes);
  free(c);
}

int cluster_start(uv_loop_t *loop, const struct cluster_config *cfg,
                  struct cluster **out, char *err, size_t err_len) {
  int rc = CAIRN_ENOMEM;
  struct cluster *c = calloc(1, sizeof *c);
  *out = NULL;
  if (!c)
    goto fail_nomem;
  if (cfg->heartbeat_interval_ms <= 0 || cfg->heartbeat_misses <= 0 ||
      !cfg->secret || cfg->secret_len == 0) {
    snprintf(err, err_len,
             "node registry: bad heartbeat settings or no "
             "cluster secret");
    rc = CAIRN_EINVAL;
    goto fail;
  }
  c->loop = loop;
  c->interval_ms = cfg->heartbeat_interval_ms;
  c->misses = cfg->heartbeat_misses;
  c->meta = cfg->meta;
  c->secret = malloc(cfg->secret_len);
  if (!c->secret)
    goto fail_nomem;
  memcpy(c->secret, cfg->secret, cfg->secret_len);
  c->secret_len = cfg->secret_len;
  rc = meta_node_list(c->meta, load_node, c);
  if (rc != 0) {
    snprintf(err, err_len, "cannot load the known nodes: %s",
             cairn_strerror(rc));
    goto fail;
  }
  c->zctx = zmq_ctx_new();
  c->router = c->zctx ? zmq_socket(c->zctx, ZMQ_ROUTER) : NULL;
  if (!c->router) {
    snprintf(err, err_len, "cannot create a ZeroMQ socket: %s",
             zmq_strerror(zmq_errno()));
    rc = CAIRN_EIO;
    goto fail;
  }
  int zero = 0;
  int64_t max_msg = CONTROL_MESSAGE_MAX;
  zmq_setsockopt(c->router, ZMQ_LINGER, &zero, sizeof zero);
  zmq_setsockopt(c->router, ZMQ_MAXMSGSIZE, &max_msg, sizeof max_msg);
  if (zmq_bind(c->router, cfg->endpoint) != 0) {
    int e = zmq_errno();
    snprintf(err, err_len, "cannot bind the node endpoint %s: %s",
             cfg->endpoint, zmq_strerror(e));
    rc = e == EADDRINUSE ? CAIRN_EADDRINUSE : CAIRN_EINVAL;
    goto fail;
  }
  size_t ep_len = sizeof c->endpoint;
  if (zmq_getsockopt(c->router, ZMQ_LAST_ENDPOINT, c->endpoint, &ep_len) != 0)
    snprintf(c->endpoint, sizeof c->endpoint, "%s", cfg->endpoint);
  int fd;
  size_t fd_size = sizeof fd;
  if (zmq_getsockopt(c->router, ZMQ_FD, &fd, &fd_size) != 0 ||
      uv_poll_init(loop, &c->poll, fd) != 0) {
    snprintf(err, err_len, "cannot poll the node socket");
    rc = CAIRN_EIO;
    goto fail;
  }
  uv_timer_init(loop, &c->timer);
  c->poll.data = c->timer.data = c;
  c->handles_open = 2;
  uv_poll_start(&c->poll, UV_READABLE, on_poll);
  uint64_t tick = (uint64_t)c->interval_ms / 4;
  if (tick == 0)
    tick = 1;
  uv_timer_start(&c->timer, on_timer, tick, tick);
  log_info("cluster",
           "listening for nodes on %s (%zu known, down until "
           "they speak)",
           c->endpoint, c->count);
  *out = c;
  return 0;
fail_nomem:
  snprintf(err, err_len, "out of memory starting the node registry");
fail:
  if (c)
    free_cluster(c);
  return rc;
}

static void on_closed(uv_handle_t *h) {
  struct cluster *c = h->data;
  if (--c->handles_open > 0)
    return; /* wait for both handles: the poll handle uses ZeroMQ's fd */
  free_cluster(c);
}

void cluster_stop(struct cluster *c) {
  if (!c || c->closing)
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

const char *cluster_endpoint(const struct cluster *c) {
  return c->endpoint;
}

int cluster_node_find(struct cluster *c, const char *node_id,
                      struct cluster_node_view *out) {
  struct node_entry *n = find_node(c, node_id);
  if (!n)
    return CAIRN_ENOENT;
  *out = n->view;
  return 0;
}

int cluster_node_set_drain(struct cluster *c, const char *node_id, int state) {
  struct node_entry *n = find_node(c, node_id);
  if (!n)
    return CAIRN_ENOENT;
  char name[64];
  uint8_t v = (uint8_t)state;
  drain_key(node_id, name, sizeof name);
  int rc = meta_config_put(c->meta, name, &v, 1);
  if (rc == 0)
    n->view.drain_state = state;
  return rc;
}

int cluster_node_remove(struct cluster *c, const char *node_id) {
  int found;
  size_t pos = node_position(c, node_id, &found);
  if (!found)
    return CAIRN_ENOENT;
  int rc = meta_node_delete(c->meta, node_id);
  if (rc != 0 && rc != CAIRN_ENOENT)
    return rc;
  cluster_node_set_drain(c, node_id, CLUSTER_DRAIN_NONE);
  memmove(&c->nodes[pos], &c->nodes[pos + 1],
          (c->count - pos - 1) * sizeof *c->nodes);
  c->count--;
  log_info("cluster", "node %s removed", node_id);
  return 0;
}

void cluster_set_corrupt_hook(struct cluster *c, cluster_corrupt_hook hook,
                              void *arg) {
  c->corrupt_hook = hook;
  c->corrupt_arg = arg;
}

void cluster_report_corrupt(struct cluster *c, const char *node_id,
                            const uint8_t chunk_id[16], uint32_t index) {
  if (c->corrupt_hook)
    c->corrupt_hook(c->corrupt_arg, node_id, chunk_id, index);
}

void cluster_capacity_totals(const struct cluster_node_view *views, size_t n,
                             uint64_t *capacity, uint64_t *free_bytes) {
  *capacity = *free_bytes = 0;
  for (size_t i = 0; i < n; i++) {
    struct place_domains d, o;
    place_domains_from_labels(views[i].labels, views[i].node_id, &d);
    int counted = 0;
    for (size_t j = 0; j < i && !counted && strncmp(d.host, "fs:", 3) == 0;
         j++) {
      place_domains_from_labels(views[j].labels, views[j].node_id, &o);
      counted = strcmp(d.host, o.host) == 0;
    }
    if (!counted) {
      *capacity += views[i].capacity_bytes;
      *free_bytes += views[i].free_bytes;
    }
  }
}

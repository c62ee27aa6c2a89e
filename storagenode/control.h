/*
 * control.h - the node's side of the control channel: a ZeroMQ DEALER
 * connected to the coordinator's ROUTER, driven by the libuv loop.
 *
 * The node says hello (NodeHello: id, data address, capacity, timestamp,
 * a nonce), waits for a HelloAck that carries a valid MAC and echoes the
 * nonce (that authenticates the coordinator), then heartbeats. Every message
 * is a ControlEnvelope sealed with the cluster secret (control_envelope.h).
 *
 * A coordinator that does not share our secret cannot answer (it replies
 * nothing it could not MAC): so when hellos have been delivered over a live
 * connection for refuse_after_ms without a valid answer, the node gives up
 * and calls on_refused. While there is no connection at all (coordinator
 * not started yet) it keeps trying, warning every 10 s.
 */
#ifndef CAIRN_NODE_CONTROL_H
#define CAIRN_NODE_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct node_control;

struct node_control_config {
  const char *endpoint;  /* "tcp://127.0.0.1:9100"; copied */
  const char *node_id;   /* 32 hex; copied */
  const char *data_addr; /* host:port told to the coordinator; copied */
  const uint8_t *secret; /* cluster secret; copied, wiped at stop */
  size_t secret_len;
  int heartbeat_interval_ms; /* until the HelloAck says otherwise */
  char *const *data_dirs;    /* borrowed: must outlive the control */
  size_t data_dir_count;
  const char *labels;  /* "k=v,k=v" or NULL; copied */
  int hello_retry_ms;  /* 0: 1000 */
  int refuse_after_ms; /* 0: 5000 (and at least 4 hellos) */
  /* Called at most once, on the loop thread, when the coordinator did not
   * accept us for good (bad cluster secret, or an authenticated refusal);
   * reason is valid during the call. The callee usually stops everything;
   * it may call node_control_stop. NULL: keep trying. */
  void (*on_refused)(const char *reason, void *arg);
  void *arg;
  /* Optional, loop thread: called before each heartbeat is packed to add
   * what other parts of the node report (per-dir state, corrupt
   * fragments; hb is a Cairn__Heartbeat). What it attaches must stay valid
   * until heartbeat_done(hb, report_arg), called right after the send. */
  void (*heartbeat_extend)(void *hb, void *report_arg);
  void (*heartbeat_done)(void *hb, void *report_arg);
  void *report_arg;
};

/* Connects (asynchronously) and sends the first hello. Returns 0, or
 * CAIRN_EINVAL (bad endpoint) / CAIRN_ENOMEM with a one-line reason in err;
 * then nothing was started. */
int node_control_start(uv_loop_t *loop, const struct node_control_config *cfg,
                       struct node_control **out, char *err, size_t err_len);

/* Closes the handles (the memory goes when libuv has closed them) and the
 * socket with linger 0. NULL and repeated calls are no-ops. */
void node_control_stop(struct node_control *nc);

/* 1 while registered with the coordinator (for tests and status). */
int node_control_registered(const struct node_control *nc);

#endif

/*
 * node_link.h - the coordinator's connections to the nodes' data ports, and
 * the fragment operations over them (proto/cairn.proto, common/frame.h).
 *
 * Connections are pooled per node address and reused: one operation at a
 * time per connection, authenticated once (challenge/response on the
 * cluster secret). A connection that fails, times out (NODE_LINK_TIMEOUT_MS
 * without progress) or is cancelled mid-operation is closed, never reused.
 *
 * Addresses are IPv4 "a.b.c.d:port" (the data_addr nodes register).
 * Failures: CAIRN_ECLOSED (cannot connect, connection lost, malformed
 * answer: the link is dropped), CAIRN_ETIMEDOUT (no progress for
 * NODE_LINK_TIMEOUT_MS), or the node's own CAIRN_E* status (ENOENT,
 * ECORRUPT, ENOSPC, ...: the link stays usable when the stream allows).
 *
 * Callback contract: every operation's done callback fires exactly once,
 * unless the operation was cancelled (then never). Every accepted
 * node_put_write's written callback fires exactly once, also on failure
 * or cancellation, so the caller can always release its buffer there.
 * Callbacks never run inside the call that started the operation.
 */
#ifndef CAIRN_NODE_LINK_H
#define CAIRN_NODE_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define NODE_LINK_TIMEOUT_MS 30000
/* Idle connections kept per pool (all nodes together). Enough for a busy
 * coordinator's requests to find one: with 16, 32 GETs in flight over 3
 * nodes reconnected (TCP, AUTH, a 128 KiB buffer) on 12% of GETs. A node
 * takes 1,024 connections (DATA_CONN_MAX). */
#define NODE_LINK_IDLE_MAX 128

struct node_link_pool;
struct node_put;
struct node_get;

int node_link_pool_new(uv_loop_t *loop, const uint8_t *secret,
                       size_t secret_len, struct node_link_pool **out);
/* Closes every connection; operations in flight fail first. */
void node_link_pool_free(struct node_link_pool *p);

/* ---- put: begin, write*, finish ----------------------------------------- */
typedef void (*node_put_done_cb)(struct node_put *op, int status, void *arg);
int node_put_begin(struct node_link_pool *p, const char *addr,
                   const uint8_t chunk_id[16], uint32_t fragment,
                   uint64_t length, node_put_done_cb done, void *arg,
                   struct node_put **out);
/* Sends the next piece (len <= FRAME_PAYLOAD_MAX; pieces add up to exactly
 * `length`); data stays referenced until written(arg), which is the
 * caller's back-pressure signal. CAIRN_ETOOBIG past `length`. */
int node_put_write(struct node_put *op, const void *data, size_t len,
                   void (*written)(void *arg), void *arg);
/* After exactly `length` bytes: the node verifies crc32c, fsyncs, answers. */
int node_put_finish(struct node_put *op, uint32_t crc32c);
void node_put_cancel(struct node_put *op);
/* begin + one write + finish of a fragment of len bytes (1..
 * FRAME_PAYLOAD_MAX) as ONE socket write: a small fragment then costs the
 * coordinator one syscall and the node one wakeup instead of three. The
 * same contract: written(written_arg) once (if this returns 0), then
 * done; cancel with node_put_cancel. */
int node_put_whole(struct node_link_pool *p, const char *addr,
                   const uint8_t chunk_id[16], uint32_t fragment,
                   const void *data, size_t len, uint32_t crc32c,
                   node_put_done_cb done, void *arg, void (*written)(void *arg),
                   void *written_arg, struct node_put **out);

/* ---- get ------------------------------------------------------------------
 */
/* Reads [offset, offset + length) of a fragment. on_data gets the bytes in
 * order (valid during the call); it returns non-zero to pause delivery (the
 * socket stops being read) until node_get_resume. done(0) follows the last
 * byte; on an error some bytes may have been delivered already: discard
 * them. length <= 64 MiB. flags: NODE_GET_AUTHENTICATED when the caller
 * authenticates every byte itself (sealed blocks): the node skips its CRC
 * check (a quarter of its CPU in a GET). */
#define NODE_GET_AUTHENTICATED 1u
typedef int (*node_get_data_cb)(const void *data, size_t len, void *arg);
typedef void (*node_get_done_cb)(struct node_get *op, int status, void *arg);
int node_get(struct node_link_pool *p, const char *addr,
             const uint8_t chunk_id[16], uint32_t fragment, uint64_t offset,
             uint64_t length, unsigned flags, node_get_data_cb on_data,
             node_get_done_cb done, void *arg, struct node_get **out);
void node_get_resume(struct node_get *op);
void node_get_cancel(struct node_get *op);

/* ---- delete, stat, ping ---------------------------------------------------
 * Each done callback fires exactly once (no cancel: these are short). */
int node_delete(struct node_link_pool *p, const char *addr,
                const uint8_t chunk_id[16], uint32_t fragment,
                void (*done)(int status, void *arg), void *arg);
/* status 0 and the fragment's length, or CAIRN_ENOENT / CAIRN_ECORRUPT /
 * a link error. */
typedef void (*node_stat_done_cb)(int status, uint64_t length, void *arg);
int node_stat(struct node_link_pool *p, const char *addr,
              const uint8_t chunk_id[16], uint32_t fragment,
              node_stat_done_cb done, void *arg);
/* Links holding an input buffer now (tests: an idle link holds none). */
size_t node_link_pool_inbufs_held(const struct node_link_pool *p);

/* Round trip on an authenticated link (health checks, tests). */
int node_ping(struct node_link_pool *p, const char *addr,
              void (*done)(int status, void *arg), void *arg);

#endif

/*
 * object_reader.h - streams a byte range of an object back from the nodes.
 *
 * For each chunk the range touches, the reader asks one replica for exactly
 * the bytes needed; if that node fails before or during the transfer it
 * continues from the same offset on the next replica, so a GET survives a
 * node going down as long as one copy is reachable. Erasure-coded chunks
 * are read as whole stripes from any k of their fragments (up to m nodes
 * may be down), rebuilt on the fly.
 *
 * Encryption: with a data key, the chunks are stored as sealed 64 KiB
 * blocks (chunk_cipher.h). The reader asks a node for the stored blocks
 * that cover the range, opens each one as it completes and hands out only
 * the wanted plaintext; a block that fails authentication is treated like
 * a bad copy (the read goes on from that block on the next replica), so no
 * unauthenticated byte ever reaches on_data.
 *
 * CPU work: with cfg.cpu, a range of more than OBJECT_READER_INLINE_MAX
 * bytes of a replicated, encrypted object is opened on the pool's worker
 * threads (cpu_pool.h), in one ordered lane per reader: the loop only
 * copies stored bytes into staging buffers (OBJECT_READER_STAGE_BLOCKS
 * whole blocks each, from cfg.staging) and hands full ones to the lane;
 * on_data then gets plaintext from those buffers (block_buffer is not
 * used), or on_buffer takes the buffers over. At most cfg.staged_max buffers
 * wait for or in their job (plus the one being filled); beyond that the node is
 * asked for no more. Without cfg.cpu, for a small range and for erasure-coded
 * chunks, blocks are opened inline.
 *
 * Back-pressure: the reader delivers bytes through on_data (valid during
 * the call). When on_data returns non-zero the reader delivers nothing
 * more until object_reader_resume() is called. Inline, it asks the node
 * for no more and blocks already received in the same network piece (at
 * most 256 KiB) are still delivered; offloaded, the bytes of one job (at
 * most OBJECT_READER_STAGE_BLOCKS blocks) come in one call and staging
 * goes on up to its bound.
 *
 * Lifecycle: object_reader_start -> on_data* -> done(status) exactly once
 * -> object_reader_free. object_reader_cancel stops it (done then fires
 * with CAIRN_ECANCELED once nothing is in flight: no node operation and
 * no worker job; at once when none was, else from the last job's
 * completion).
 */
#ifndef CAIRN_OBJECT_READER_H
#define CAIRN_OBJECT_READER_H

#include <stddef.h>
#include <stdint.h>

#include "meta.h"

struct buf_pool;
struct cluster;
struct cpu_pool;
struct node_link_pool;
struct object_reader;

/* Ranges up to this many bytes are opened on the loop even with cfg.cpu:
 * one or two blocks cost less to open (~16 us each) than a hand-off to a
 * worker and back, and are then opened straight into block_buffer. */
#define OBJECT_READER_INLINE_MAX (128u << 10)
/* Sealed blocks per staging buffer, i.e. per worker job. */
#define OBJECT_READER_STAGE_BLOCKS 4
/* Staging buffers a reader keeps waiting for or in their job by default. */
#define OBJECT_READER_STAGED_MAX 2

struct object_reader_config {
  struct cluster *cluster;
  struct node_link_pool *links;
  const struct meta_chunk *chunks; /* borrowed; must outlive the reader */
  uint32_t n_chunks;
  uint64_t offset, length; /* the byte range of the object */
  const uint8_t *data_key; /* 32 bytes (copied), or NULL: plaintext */
  int (*on_data)(const void *data, size_t len, void *arg);
  /* Optional (NULL: none). With a data key, each block is opened straight
   * into a buffer of len bytes from here, and on_data's data then points
   * into it: the caller keeps (and frees) it instead of copying. A NULL
   * answer falls back to the reader's own buffer for that block. */
  void *(*block_buffer)(size_t len, void *arg);
  void (*done)(struct object_reader *r, int status, void *arg);
  void *arg;
  /* Optional: the worker threads that open sealed blocks (NULL: inline),
   * a pool of object_reader_stage_bytes() buffers to stage them in (NULL:
   * malloc), and how many staged buffers may wait for the workers (0:
   * OBJECT_READER_STAGED_MAX). */
  struct cpu_pool *cpu;
  struct buf_pool *staging;
  uint32_t staged_max;
  /* Optional (NULL: on_data). Offloaded blocks only: their plaintext
   * (data, len) lies in the staging buffer buf, which the callee takes
   * over (no copy) and gives back with object_reader_buffer_put(cfg.staging,
   * buf) once done, even after the reader is freed. Returns as on_data. */
  int (*on_buffer)(void *buf, const void *data, size_t len, void *arg);
};

/* The size of a staging buffer (for cfg.staging's pool). */
size_t object_reader_stage_bytes(void);
/* Gives back a buffer on_buffer took over (staging: cfg.staging). */
void object_reader_buffer_put(struct buf_pool *staging, void *buf);

int object_reader_start(const struct object_reader_config *cfg,
                        struct object_reader **out);
void object_reader_resume(struct object_reader *r);
void object_reader_cancel(struct object_reader *r);
void object_reader_free(struct object_reader *r);

#endif

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
 * Back-pressure: the reader delivers bytes through on_data (valid during
 * the call). When on_data returns non-zero the reader asks the node for no
 * more until object_reader_resume() is called; blocks already received in
 * the same network piece (at most 256 KiB) are still delivered.
 *
 * Lifecycle: object_reader_start -> on_data* -> done(status) exactly once
 * -> object_reader_free. object_reader_cancel stops it (done then fires
 * with CAIRN_ECANCELED once nothing is in flight).
 */
#ifndef CAIRN_OBJECT_READER_H
#define CAIRN_OBJECT_READER_H

#include <stddef.h>
#include <stdint.h>

#include "meta.h"

struct cluster;
struct node_link_pool;
struct object_reader;

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
};

int object_reader_start(const struct object_reader_config *cfg,
                        struct object_reader **out);
void object_reader_resume(struct object_reader *r);
void object_reader_cancel(struct object_reader *r);
void object_reader_free(struct object_reader *r);

#endif

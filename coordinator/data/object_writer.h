/*
 * object_writer.h - streams an object's bytes to the storage nodes.
 *
 * The writer cuts the byte stream into chunks of chunk_size and places
 * each chunk's fragments on distinct up nodes (placement.h). Replicated
 * chunks stream every byte to all copies as it arrives; erasure-coded
 * chunks are collected one stripe at a time (bounded: chunk size plus
 * parity), encoded and sent as k + m fragments. Nothing is buffered beyond
 * a bounded window. Write quorum: replicas, every copy; EC k+m, at least
 * k + 1 fragments durable (object_writer_quorum); the missing ones are
 * marked `missing` in the chunk records for repair. It knows neither S3 nor
 * RocksDB: the caller turns the finished chunk list into metadata.
 *
 * Back-pressure: when more than OBJECT_WRITER_WINDOW bytes are in flight the
 * writer calls pause(arg); it calls resume(arg) once they drain below half.
 *
 * The caller stops feeding between the two (uv_read_stop on the client).
 *
 * Encryption: with a data key, each 64 KiB block of a chunk is sealed in
 * the piece buffer itself, so nodes only ever receive ciphertext and the
 * bytes are copied at most once (from the caller into a piece; not at all
 * when the caller reads them into object_writer_buffer's space).
 *
 * CPU work: the per-byte work of a stream - the caller's digest (ETag,
 * checksums) of the plaintext, sealing, the CRC32C the nodes check, EC
 * encoding - runs on cfg.cpu's worker threads, in one ordered lane per
 * writer (cpu_pool.h): object_writer_write only copies bytes into pieces
 * and hands full ones to the lane; a piece goes to the nodes when its job
 * is done. Pieces waiting for or in their job count toward the window, so
 * memory stays bounded. Without cfg.cpu, or for an object of at most
 * OBJECT_WRITER_INLINE_MAX bytes, the same work runs inline.
 *
 * Lifecycle: object_writer_new -> object_writer_write* -> object_writer_finish
 * -> done(status) exactly once -> object_writer_free. object_writer_abort may
 * be called at any time before done; done then still fires (with
 * CAIRN_ECANCELED) once every in-flight operation has wound down.
 */
#ifndef CAIRN_OBJECT_WRITER_H
#define CAIRN_OBJECT_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "meta.h"

struct buf_pool;
struct cluster;
struct cpu_pool;
struct node_link_pool;
struct object_writer;

/* Plaintext bytes per piece (one worker job, one network write per copy)
 * with a full window. A body of at most one piece goes as one: at 16
 * uploads of 1 MiB, four 256 KiB jobs in a row each waited for a worker
 * to be scheduled (~27 ms of a ~50 ms PUT). */
#define OBJECT_WRITER_PIECE (1u << 20)
/* The smallest full piece, taken when many uploads share the budget (two
 * fit in an upload's window). With 128 KiB ones 256 uploads held ~96 MiB
 * of pieces (make bench, PUT at 256 connections). */
#define OBJECT_WRITER_PIECE_MIN (64u << 10)
/* Full pieces are powers of two from _MIN to OBJECT_WRITER_PIECE, and
 * each size has its pool (cfg.pieces[i]: OBJECT_WRITER_PIECE_MIN << i). */
#define OBJECT_WRITER_POOLS 5
#define OBJECT_WRITER_WINDOW (4u << 20) /* in-flight bytes before pause */
/* Objects up to this size do their per-byte work inline even with
 * cfg.cpu: hashing and sealing 16 KiB costs ~25 us, less than handing a
 * job to a worker and back (two futex wakeups, an eventfd write, two
 * context switches: a 4 KiB PUT spent ~30 us less coordinator CPU). */
#define OBJECT_WRITER_INLINE_MAX (16u << 10)

struct object_writer_config {
  struct cluster *cluster;      /* where the nodes are */
  struct node_link_pool *links; /* how to reach them */
  uint32_t replicas;            /* used when layout.kind is 0 */
  struct meta_layout layout;    /* replica:N or EC k+m; kind 0: replicas */
  uint64_t chunk_size;
  uint64_t size; /* exact number of bytes the caller will write */
  /* The object's data key (CHUNK_CIPHER_KEY_LEN bytes, copied), or NULL to
   * store plaintext: every chunk is then sealed block by block
   * (chunk_cipher.h) before a byte leaves the coordinator. */
  const uint8_t *data_key;
  /* Ids for the chunks, in order (ceil(size / chunk_size) of them), chosen
   * by the caller so it can record write intents first; borrowed. */
  const uint8_t (*chunk_ids)[16];
  /* Replicated layouts: in-flight bytes before pause (0: the default,
   * OBJECT_WRITER_WINDOW). A coordinator with many uploads at once gives
   * each a smaller share to bound its memory; pieces then shrink (down to
   * OBJECT_WRITER_PIECE_MIN) so that two fit in it. */
  uint64_t window;
  /* Where the per-byte work runs; NULL: on the caller's thread. */
  struct cpu_pool *cpu;
  /* pieces[i]: buffers of object_writer_piece_bytes(i) for full replica
   * pieces of OBJECT_WRITER_PIECE_MIN << i bytes, shared by the uploads of
   * one thread; NULL: malloc and free those. A pooled piece goes back to
   * its pool as soon as it is sent, so an upload holds no idle piece of
   * its own. */
  struct buf_pool *pieces[OBJECT_WRITER_POOLS];
  /* Sees every plaintext byte once, in order, before it is sealed (the
   * ETag and checksums); may be NULL. Runs on a worker thread when cpu is
   * set: what it touches must not be used elsewhere until done() fired. */
  void (*digest)(void *arg, const void *plain, size_t len);
  void (*pause)(void *arg);
  void (*resume)(void *arg);
  /* status 0: every chunk is fsync'd on all its nodes (and digest has seen
   * every byte). */
  void (*done)(struct object_writer *w, int status, void *arg);
  void *arg;
};

/* The buffer a full sealed replica piece of OBJECT_WRITER_PIECE_MIN << i
 * plaintext bytes takes (cfg.pieces[i]'s size). */
size_t object_writer_piece_bytes(unsigned i);

/* How an upload of `size` bytes given a window share (cfg.window; 0: the
 * default) cuts its body: the plaintext bytes of a full replica piece, the
 * in-flight bytes before it pauses, and the most bytes of pieces it can
 * hold at once (the window, the piece that crossed it and a spare; for a
 * body of one piece, that piece). A pure function. */
struct object_writer_plan {
  size_t piece;
  uint64_t window;
  uint64_t held_max;
};
struct object_writer_plan object_writer_plan(uint64_t window, uint64_t size,
                                             int encrypt);
/* The plan of an upload that starts while `active` uploads (itself
 * included) run and those already running may hold `held` bytes (the sum
 * of their plans' held_max) of a budget shared by all: budget / active,
 * at most what the budget has left and the body's `size` (plus a small piece),
 * at least the floor of two smallest pieces. Windows are fixed when an
 * upload starts, so a share of budget / active alone let the first of 256
 * uploads arriving together take 4 MiB each (~190 MiB in all); with the
 * cap they hold at most budget + active * object_writer_plan(1, size,
 * encrypt).held_max. */
struct object_writer_plan object_writer_plan_share(uint64_t budget,
                                                   uint64_t held,
                                                   uint32_t active,
                                                   uint64_t size, int encrypt);

/* What an erasure-coded upload of `size` bytes holds at most: one stripe,
 * or two (one sent while the next fills) when it has several chunks. It
 * cannot shrink them as a replicated upload shrinks its pieces. */
uint64_t object_writer_ec_held(struct meta_layout layout, uint64_t chunk_size,
                               uint64_t size, int encrypt);

int object_writer_new(const struct object_writer_config *cfg,
                      struct object_writer **out);
/* Copies data; never more than cfg->size bytes in total (CAIRN_ETOOBIG).
 * data may also be (a prefix of) the space object_writer_buffer returned,
 * filled since: then nothing is copied. */
int object_writer_write(struct object_writer *w, const void *data, size_t len);
/* Where the next bytes will be stored, for a caller that can read them
 * there itself (a socket read), saving the copy: at most *len bytes
 * (lowered to fit the current piece, chunk and cipher block). Valid until
 * the next call on w. NULL when the writer takes no more bytes (failed,
 * or all cfg->size received). */
void *object_writer_buffer(struct object_writer *w, size_t *len);
/* No more data. CAIRN_EINVAL if fewer than cfg->size bytes were written
 * (the writer is then aborted and done still fires). */
int object_writer_finish(struct object_writer *w);
void object_writer_abort(struct object_writer *w);

/* After done(0): the chunks, as metadata records owned by the writer (valid
 * until object_writer_free). Also valid after a failure: every chunk that
 * may have reached a node, for the garbage table. */
const struct meta_chunk *object_writer_chunks(const struct object_writer *w,
                                              uint32_t *count);
void object_writer_free(struct object_writer *w);
/* The layout the chunks were written with. */
struct meta_layout object_writer_layout(const struct object_writer *w);

/* Fragments that must be durable before a chunk of this layout counts as
 * written: every copy of a replica layout; k + 1 (at most k + m) of EC. */
uint32_t object_writer_quorum(struct meta_layout layout);

#endif

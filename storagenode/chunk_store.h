/*
 * chunk_store.h - fragments on a node's local disks (docs/chunk-format.md).
 *
 *   <data_dir>/chunks/<h0h1>/<h2h3>/<chunk id hex>.<fragment>
 *
 * A fragment file is a 64-byte header then the data in 64 KiB blocks, each
 * followed by its CRC32C. A fragment is written to a temporary file, fsync'd,
 * renamed into place and its directory fsync'd before a put reports
 * success. Every read verifies the CRC of each block it touches and fails
 * with CAIRN_ECORRUPT rather than return a bad byte.
 *
 * All functions block (disk I/O): call them from a worker thread, never
 * from an event loop. A store and a writer are used by one thread at a time.
 */
#ifndef CAIRN_CHUNK_STORE_H
#define CAIRN_CHUNK_STORE_H

#include <stddef.h>
#include <stdint.h>

#define CHUNK_BLOCK_SIZE (64u << 10)
#define CHUNK_HEADER_SIZE 64
#define CHUNK_MAGIC "CAIRNFR1"
#define CHUNK_FORMAT_VERSION 1
#define CHUNK_MAX_FRAGMENT (64u << 20)

struct chunk_store;
struct chunk_writer;

int chunk_store_open(char *const *dirs, size_t n, struct chunk_store **out);
void chunk_store_close(struct chunk_store *s);

/* Starts a fragment of `length` bytes on the data dir with most free space
 * (CAIRN_ENOSPC when none can take it). */
int chunk_writer_open(struct chunk_store *s, const uint8_t id[16],
                      uint32_t fragment, uint64_t length,
                      struct chunk_writer **out);
/* Appends data (never more than the declared length in total). */
int chunk_writer_append(struct chunk_writer *w, const void *data, size_t len);
/* Checks the length and the CRC32C of the whole fragment, makes it durable
 * and visible, and frees w. On error the temporary file is removed. */
int chunk_writer_commit(struct chunk_writer *w, uint32_t crc32c);
/* Removes the temporary file and frees w. */
void chunk_writer_abort(struct chunk_writer *w);

/* Reads len bytes at offset of a fragment into buf, verifying block CRCs.
 * CAIRN_ENOENT, CAIRN_ERANGE (beyond the end) or CAIRN_ECORRUPT. */
int chunk_read(struct chunk_store *s, const uint8_t id[16], uint32_t fragment,
               uint64_t offset, size_t len, uint8_t *buf);
/* The fragment's data length, or CAIRN_ENOENT. */
int chunk_stat(struct chunk_store *s, const uint8_t id[16], uint32_t fragment,
               uint64_t *length);
int chunk_delete(struct chunk_store *s, const uint8_t id[16],
                 uint32_t fragment);

#endif

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
 * A fragment of at most CHUNK_SEGMENT_MAX bytes (objects up to 1 MiB)
 * gets no file: its same image is appended to a segment file of the first
 * data dir and synced together with the other small puts in flight
 * (segment_log.h, group commit); commit still returns only once it is
 * durable. Reads and stats look in the segment index first, deletes
 * remove both. While dir 0 is out of service (disks.h) small fragments go
 * to files in the other dirs; a fragment committed in one place drops any
 * older copy in the other (a repair in place).
 *
 * All functions but the header codec block (disk I/O): call them from the
 * node's I/O threads (data_io.h), never from an event loop. A store is
 * safe to use from several threads at once (its dir list is constant, the
 * segment log locks itself); a writer belongs to one thread at a time.
 */
#ifndef CAIRN_CHUNK_STORE_H
#define CAIRN_CHUNK_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define CHUNK_BLOCK_SIZE (64u << 10)
#define CHUNK_HEADER_SIZE 64
#define CHUNK_MAGIC "CAIRNFR1"
#define CHUNK_FORMAT_VERSION 1
#define CHUNK_MAX_FRAGMENT (64u << 20)
#define CHUNK_CHECKSUM_CRC32C 1
#define CHUNK_CRC_SIZE 4
/* Space a data dir keeps free: a new fragment must leave this much. */
#define CHUNK_RESERVE_BYTES (16u << 20)
/* Fragments up to this many bytes go to segment files (segment_log.h):
 * every object up to 1 MiB, sealed (16 bytes more per 64 KiB block). */
#define CHUNK_SEGMENT_MAX ((1u << 20) + (64u << 10))
/* Blocks a range of at most CHUNK_SEGMENT_MAX bytes touches, at most (one
 * more than CHUNK_SEGMENT_MAX / CHUNK_BLOCK_SIZE: a range need not start
 * on a block): the iovecs of a span read. */
#define CHUNK_SPAN_IOV_MAX (CHUNK_SEGMENT_MAX / CHUNK_BLOCK_SIZE + 1)

/* Bytes of a fragment of `length` data bytes as stored, a file or a
 * segment image: the header, then each block followed by its CRC. */
static inline uint64_t chunk_stored_length(uint64_t length) {
  return CHUNK_HEADER_SIZE + length +
         CHUNK_CRC_SIZE * ((length + CHUNK_BLOCK_SIZE - 1) / CHUNK_BLOCK_SIZE);
}

/* The fixed header at offset 0 of every fragment file (docs/chunk-format.md).
 * Kept in one struct so that the format's fields round-trip in tests and so
 * that later formats (erasure-coded, encrypted) add fields here. */
struct chunk_header {
  uint32_t version; /* CHUNK_FORMAT_VERSION */
  uint8_t chunk_id[16];
  uint32_t fragment;      /* fragment index */
  uint64_t length;        /* data bytes (not counting block CRCs) */
  uint32_t block_size;    /* CHUNK_BLOCK_SIZE */
  uint32_t checksum_type; /* CHUNK_CHECKSUM_CRC32C */
};

/* The header of a fragment written now: this format's version, block size
 * and checksum type. */
struct chunk_header chunk_header_of(const uint8_t id[16], uint32_t fragment,
                                    uint64_t length);
/* Pure: as chunk_header_encode, with byte 48 (reserved in fragment files)
 * set to flags: segment images use bit 0 for a tombstone (segment_log.h). */
void chunk_header_encode_flags(const struct chunk_header *h, uint8_t flags,
                               uint8_t out[CHUNK_HEADER_SIZE]);
/* Pure: the 64 bytes for h, ending with their own CRC32C. */
void chunk_header_encode(const struct chunk_header *h,
                         uint8_t out[CHUNK_HEADER_SIZE]);
/* Pure: 0, or CAIRN_ECORRUPT (bad magic, header CRC, unknown version, block
 * size or checksum type). */
int chunk_header_decode(const uint8_t in[CHUNK_HEADER_SIZE],
                        struct chunk_header *h);

struct chunk_store;
struct chunk_writer;

/* dirs (1..32 data dirs, one per disk) are copied. */
int chunk_store_open(char *const *dirs, size_t n, struct chunk_store **out);
void chunk_store_close(struct chunk_store *s);
/* Optional: the per-dir service state (disks.h) the store consults and
 * updates: writes skip dirs out of service, and an EIO or ENOSPC takes a
 * dir out. d is borrowed and must outlive s. */
struct node_disks;
void chunk_store_set_disks(struct chunk_store *s, struct node_disks *d);
/* 1 if the store has a segment log (fragments up to CHUNK_SEGMENT_MAX go
 * there while its dir is in service). */
int chunk_store_has_segments(const struct chunk_store *s);
/* The store's segment log (for the scrubber), or NULL; owned by s. */
struct segment_log;
struct segment_log *chunk_store_segments(struct chunk_store *s);

/* Starts a fragment of `length` bytes on the data dir with most free space
 * (CAIRN_ENOSPC when none can take it). */
int chunk_writer_open(struct chunk_store *s, const uint8_t id[16],
                      uint32_t fragment, uint64_t length,
                      struct chunk_writer **out);
/* chunk_writer_open for a fragment that goes to the segment log now:
 * CAIRN_EBUSY (and nothing opened) when it would go to a file instead (no
 * log, too large, the log's dir out of service or without room). Such a
 * writer's open and appends do no disk I/O but a statvfs (an image in
 * memory): an event loop may call them; only chunk_writer_commit (the
 * group commit's wait) must run on an I/O thread, or use
 * chunk_writer_commit_async. */
int chunk_writer_open_segment(struct chunk_store *s, const uint8_t id[16],
                              uint32_t fragment, uint64_t length,
                              struct chunk_writer **out);
/* Appends data (never more than the declared length in total). */
int chunk_writer_append(struct chunk_writer *w, const void *data, size_t len);
/* Checks the length and the CRC32C of the whole fragment, makes it durable
 * and visible, and frees w. On error the temporary file is removed. */
int chunk_writer_commit(struct chunk_writer *w, uint32_t crc32c);
/* chunk_writer_commit of a segment writer without blocking (callable from
 * a loop): checks length and CRC now, then done(status, arg) runs once, on
 * the segment log's thread, when the fragment is durable (status 0) or its
 * group failed. 0, or an error (then done never runs). Frees w either way.
 * chunk_store_flush returns once every such done has run. */
int chunk_writer_commit_async(struct chunk_writer *w, uint32_t crc32c,
                              void (*done)(int status, void *arg), void *arg);
void chunk_store_flush(struct chunk_store *s);
/* Removes the temporary file and frees w. */
void chunk_writer_abort(struct chunk_writer *w);

/* chunk_read of a small fragment (in a segment), with the fragment's
 * length in *length (if not NULL): one read where chunk_stat + chunk_read
 * take two. CAIRN_ENOENT when it is not a small fragment here (it may be a
 * file: use chunk_read). With nowait it never blocks and answers
 * CAIRN_EBUSY instead (not in the page cache, index busy): then the only
 * chunk-store call fit for an event loop. */
int chunk_read_small(struct chunk_store *s, const uint8_t id[16],
                     uint32_t fragment, uint64_t offset, size_t len,
                     uint8_t *buf, uint64_t *length, int nowait);
/* Stored bytes (blocks and their CRCs) that hold [offset, offset + len):
 * the span chunk_read_small_iov needs (0 for an empty range, or one that
 * no fragment can hold: beyond CHUNK_MAX_FRAGMENT). Pure. */
size_t chunk_span_bytes(uint64_t offset, size_t len);
/* chunk_read_small without a copy: the blocks that hold the range, with
 * their CRCs, are read with one pread into span (span_cap at least
 * chunk_span_bytes(offset, len); len at most CHUNK_SEGMENT_MAX),
 * every CRC is checked there (unless !verify: a reader that authenticates
 * the bytes itself), and iov[0..*iov_count) (room for
 * CHUNK_SPAN_IOV_MAX) then point into span at the range's bytes, in
 * order, skipping the CRCs: a writev sends them as they are. Same errors
 * as chunk_read_small (and CAIRN_EINVAL for a too small span); *iov_count
 * is 0 unless it returns 0. */
int chunk_read_small_iov(struct chunk_store *s, const uint8_t id[16],
                         uint32_t fragment, uint64_t offset, size_t len,
                         int verify, uint8_t *span, size_t span_cap,
                         struct iovec *iov, size_t *iov_count, uint64_t *length,
                         int nowait);
/* A fragment file opened once for the pieces of one GET (a span read per
 * piece, no open or header read each time). ENOENT when there is no file
 * (it may be a segment image), else as chunk_read; the data length in
 * *length. Blocks (disk I/O); close with chunk_file_close (NULL: no-op). */
struct chunk_file;
int chunk_file_open(struct chunk_store *s, const uint8_t id[16],
                    uint32_t fragment, struct chunk_file **out,
                    uint64_t *length);
/* chunk_read_small_iov for a file: one pread of the blocks with their
 * CRCs into span, CRCs checked in place (unless !verify), iov pointing at
 * the range's bytes. Blocks. */
int chunk_file_read_iov(struct chunk_file *f, uint64_t offset, size_t len,
                        int verify, uint8_t *span, size_t span_cap,
                        struct iovec *iov, size_t *iov_count);
void chunk_file_close(struct chunk_file *f);
/* Reads len bytes at offset of a fragment into buf, verifying block CRCs.
 * CAIRN_ENOENT, CAIRN_ERANGE (beyond the end) or CAIRN_ECORRUPT. */
int chunk_read(struct chunk_store *s, const uint8_t id[16], uint32_t fragment,
               uint64_t offset, size_t len, uint8_t *buf);
/* The fragment's data length, or CAIRN_ENOENT / CAIRN_ECORRUPT (header). */
int chunk_stat(struct chunk_store *s, const uint8_t id[16], uint32_t fragment,
               uint64_t *length);
/* The fragment's decoded file header (CAIRN_ENOENT / CAIRN_ECORRUPT). */
int chunk_read_header(struct chunk_store *s, const uint8_t id[16],
                      uint32_t fragment, struct chunk_header *out);
/* Removes the fragment: its segment image and its file(s) in any dir
 * (CAIRN_ENOENT if there was none). */
int chunk_delete(struct chunk_store *s, const uint8_t id[16],
                 uint32_t fragment);

#endif

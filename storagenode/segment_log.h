/*
 * segment_log.h - append-only segment files for small fragments, with
 * group commit (docs/chunk-format.md, "Small fragments").
 *
 * A fragment of at most CHUNK_SEGMENT_MAX bytes is not given a file of its
 * own: its complete image (the same 64-byte header, then the 64 KiB blocks
 * each followed by its CRC32C) is appended to the active segment file
 *
 *   <data_dir>/segments/<number, 16 hex digits>.seg
 *
 * by one syncer thread, which writes every image queued meanwhile with one
 * pwritev and makes them durable with ONE fdatasync: N concurrent puts cost
 * one disk flush instead of N file creates, N fsyncs and N directory
 * fsyncs. segment_log_append returns only after the fdatasync covering its
 * image succeeded, so an acknowledged fragment survives a power cut.
 *
 * A delete appends a tombstone (a header with length 0 and the tombstone
 * flag in byte 48) and drops the entry from the in-memory index; like a
 * file unlink it is not waited for. The index (chunk id, fragment) ->
 * (segment, offset) lives in memory and is rebuilt at open by scanning the
 * segments in order; a scan stops at the first header that does not decode
 * (the torn tail of a group that was never acknowledged). Each open starts
 * a new segment, so a torn tail is never appended to.
 *
 * Space: a segment is removed once it holds no live fragment AND every
 * older segment is gone (so no tombstone that a later scan needs is lost);
 * the active one is first closed by the next group once it holds
 * SEGMENT_DEAD_ROTATE_SIZE bytes and nothing live. Compacting partly-dead
 * segments is not done yet.
 *
 * Threads: every function may be called from any thread; append blocks for
 * one group commit (call it from the node's I/O threads, never a loop);
 * segment_log_read with nowait alone is fit for a loop.
 */
#ifndef CAIRN_SEGMENT_LOG_H
#define CAIRN_SEGMENT_LOG_H

#include <stddef.h>
#include <stdint.h>

#define SEGMENT_TARGET_SIZE (64u << 20) /* a new segment after this many */
/* ... or after this many when nothing in it is live any more. */
#define SEGMENT_DEAD_ROTATE_SIZE (1u << 20)
#define SEGMENT_TOMBSTONE_FLAG_OFFSET 48 /* a reserved header byte */

struct segment_log;

/* Opens (creating dir if needed) and scans the segments of dir, starts the
 * syncer thread. 0 or CAIRN_E*. */
int segment_log_open(const char *dir, struct segment_log **out);
/* Syncs what is queued, stops the thread, frees l. NULL is a no-op. */
void segment_log_close(struct segment_log *l);

/* Appends a fragment image (header, blocks each followed by its CRC; len
 * bytes, for at most CHUNK_SEGMENT_MAX data bytes) and blocks until
 * it is durable and readable. 0, or the write/sync error (the fragment is
 * then not stored). */
int segment_log_append(struct segment_log *l, const uint8_t id[16],
                       uint32_t fragment, const uint8_t *image, size_t len);
/* As segment_log_append, without waiting: done(status, arg) runs once, on
 * the syncer thread, after the image's group was synced (or failed); the
 * image must stay valid until then, and must come from
 * segment_log_image_alloc: a large one is written from where it is, its
 * padding zeroed in place. 0, or an error and done never runs. */
int segment_log_append_async(struct segment_log *l, const uint8_t id[16],
                             uint32_t fragment, const uint8_t *image,
                             size_t len, void (*done)(int status, void *arg),
                             void *arg);
/* A buffer for an image of len (<= the largest image) bytes that the
 * syncer can write with O_DIRECT as it is: aligned, with room for the
 * zeros up to the next alignment boundary. Large ones are kept for reuse
 * (a fresh 1 MiB buffer is ~260 page faults). NULL: out of memory. Any
 * thread; free with segment_log_image_free(l, image, len) before
 * segment_log_close. */
uint8_t *segment_log_image_alloc(struct segment_log *l, size_t len);
void segment_log_image_free(struct segment_log *l, uint8_t *image, size_t len);
/* Returns once every async append's done has run. */
void segment_log_flush(struct segment_log *l);
/* Copies len bytes at offset `at` of the stored image of (id, fragment)
 * into buf, the image's length in *image_len. CAIRN_ENOENT when not here,
 * CAIRN_ERANGE beyond the image. The caller checks header and CRCs: the
 * bytes are as read from disk. With nowait it never blocks: CAIRN_EBUSY
 * when the index is being written or the bytes are not all in the page
 * cache (preadv2 RWF_NOWAIT), for an event loop that serves cached reads
 * itself. */
int segment_log_read(struct segment_log *l, const uint8_t id[16],
                     uint32_t fragment, uint64_t at, uint8_t *buf, size_t len,
                     size_t *image_len, int nowait);
/* Forgets (id, fragment) and queues its tombstone. CAIRN_ENOENT if absent. */
int segment_log_delete(struct segment_log *l, const uint8_t id[16],
                       uint32_t fragment);
/* As segment_log_delete, and blocks until the tombstone is durable (for a
 * fragment rewritten elsewhere: its acknowledgement then implies that the
 * older image cannot come back). 0, CAIRN_ENOENT, or the group's error
 * (the image is forgotten either way). */
int segment_log_delete_durable(struct segment_log *l, const uint8_t id[16],
                               uint32_t fragment);

/* A live image, as segment_log_list reports it. */
struct segment_image {
  uint8_t id[16];
  uint32_t fragment;
  uint64_t segment; /* the segment's number (its file name) */
  uint64_t offset;  /* of the image in the segment */
  uint32_t len;     /* image bytes */
};

/* A position in the log: (segment number, offset). {0, 0} is the start. */
struct segment_cursor {
  uint64_t segment, offset;
};

/* The scrubber's iterator over live images, in log order: fills out with
 * up to cap images at or after *cursor and moves the cursor past them;
 * returns how many (0: none left). Images indexed meanwhile behind the
 * cursor are reported by a later walk; one deleted after it is listed is
 * then CAIRN_ENOENT to segment_log_read. Takes the index lock only while
 * it copies (no disk I/O). */
size_t segment_log_list(struct segment_log *l, struct segment_cursor *cursor,
                        struct segment_image *out, size_t cap);
/* The position after the last image synced so far (a walk that stops there
 * ends even while puts go on). */
void segment_log_end(struct segment_log *l, struct segment_cursor *out);
/* The segments' directory (for log messages); owned by l. */
const char *segment_log_dir(const struct segment_log *l);

/* Tests: group commits done, images appended, images waiting now. */
void segment_log_stats(struct segment_log *l, uint64_t *groups,
                       uint64_t *images, uint64_t *waiting);
/* Tests: while held, the syncer takes no new group (appends wait). */
void segment_log_hold(struct segment_log *l, int hold);

#endif

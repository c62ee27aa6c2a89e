/*
 * buf_pool.h - a free list of equal-sized buffers, for the large buffers a
 * stream takes and gives back many times a second (GET response pieces).
 *
 * Why: a 64-256 KiB malloc/free pair per piece makes glibc grow and trim
 * the heap (or map and unmap) over and over, and every page of a fresh
 * buffer is then a page fault and a zeroed page: on the GET path that was
 * ~7% of the coordinator's CPU. A buffer given back is kept for the next
 * user instead, up to keep_max idle buffers (the rest are freed), so the
 * idle memory is bounded by size * keep_max.
 *
 * buf_pool_new's pools are not thread-safe: one per thread (the
 * coordinator's loop). buf_pool_new_shared's take a lock and hand out
 * aligned buffers (a node's O_DIRECT writes, filled and freed on several
 * threads). Buffers are uninitialized. Lifecycle: buf_pool_new -> (get, put)*
 * -> buf_pool_free, after every buffer taken was put back or freed with free()
 * (a buffer is an ordinary malloc block; the pool never tracks buffers in use).
 */
#ifndef CAIRN_BUF_POOL_H
#define CAIRN_BUF_POOL_H

#include <stddef.h>

struct buf_pool;

/* size >= sizeof(void *). NULL: out of memory. */
struct buf_pool *buf_pool_new(size_t size, size_t keep_max);
/* The same, but each buffer is its own anonymous mapping, whatever its
 * size: for buffers under malloc's mmap threshold that many streams hold
 * at once (64 KiB upload pieces), which in the heap were interleaved with
 * long-lived blocks and kept it fragmented after a burst. A buffer of such
 * a pool goes back through buf_pool_put only (never free()); what the
 * pool does not keep is unmapped at once. */
struct buf_pool *buf_pool_new_mapped(size_t size, size_t keep_max);
/* Thread-safe, buffers aligned to `align` (a power of two, a multiple of
 * sizeof(void *)); they are free()d like any. */
struct buf_pool *buf_pool_new_shared(size_t size, size_t align,
                                     size_t keep_max);
size_t buf_pool_size(const struct buf_pool *p);
/* A buffer of buf_pool_size bytes, or NULL (out of memory). */
void *buf_pool_get(struct buf_pool *p);
/* Gives buf (from buf_pool_get of this pool, or NULL) back. */
void buf_pool_put(struct buf_pool *p, void *buf);
/* Frees idle buffers until at most keep are left (a quiet moment: the
 * memory a burst needed goes back to the system). */
void buf_pool_trim(struct buf_pool *p, size_t keep);
/* Idle buffers held now (tests). */
size_t buf_pool_idle(const struct buf_pool *p);
/* Frees the pool and its idle buffers; NULL is a no-op. */
void buf_pool_free(struct buf_pool *p);

#endif

/*
 * segment_log.c - small fragments appended to segment files, synced in
 * groups (see segment_log.h).
 *
 *   I/O threads                          syncer thread
 *   -----------                          -------------
 *   append(image) -> pending queue
 *   wait on done_cond                    take ALL pending images
 *                                        rotate the segment if it is full
 *                                        copy them into the staging buffer,
 *                                        O_DIRECT write(s) at the segment's end
 *                                        ONE fdatasync
 *                                        index every image (index_lock)
 *   <- status, done = 1, broadcast      -
 *
 * Invariants:
 *  1. Only the syncer writes segment files; it alone moves active_size.
 *  2. An image is in the index only after the fdatasync that covers it
 *     returned 0, so a reader never sees a fragment that is not durable.
 *  3. An appender returns only after its image's group was synced (or
 *     failed): acknowledgement implies durability.
 *  4. A failed write or sync abandons the segment (the next group starts a
 *     new one), so unacknowledged bytes are never followed by good ones.
 */
#include "segment_log.h"

#include "buf_pool.h"
#include "chunk_store.h"
#include "error.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define IMAGE_MAX                                                              \
  (CHUNK_HEADER_SIZE + CHUNK_SEGMENT_MAX +                                     \
   CHUNK_CRC_SIZE * (CHUNK_SEGMENT_MAX / CHUNK_BLOCK_SIZE + 1))
/* Groups are written with O_DIRECT from one staging buffer, in writes of
 * up to STAGE_SIZE, each starting and ending on a DIRECT_ALIGN boundary
 * (the gaps before and after a write's images read as zeros, which the
 * scan skips).
 * Writes under DIRECT_MIN (a few small images, tombstones) stay buffered
 * and unpadded: a 4 KiB gap per 64-byte tombstone group would cost more
 * space than the copy it saves.
 * Measured here: a buffered 1 GiB write + fdatasync cost 3.45 s of kernel
 * CPU (copies into fresh page-cache pages), O_DIRECT 0.13 s; a memcpy
 * into the warm staging buffer costs a tenth of a millisecond per MiB. */
#define DIRECT_ALIGN 4096
#define STAGE_SIZE (8u << 20)
#define DIRECT_MIN (32u << 10)
/* In a direct write, async images of at least IN_PLACE_MIN go from their
 * own buffers (segment_log_image_alloc), not through the staging buffer:
 * the copy was a third of a node's user CPU at 16 PUTs of 1 MiB. Smaller
 * ones are copied, since each in-place image costs up to DIRECT_ALIGN of
 * zeros before and after it. */
#define IN_PLACE_MIN (64u << 10)
#define WRITE_IOV_MAX 64 /* iovecs per write */
/* Image buffers of IMAGE_ROOM bytes kept idle for reuse, and the smallest
 * image that takes one. */
#define IMAGE_ROOM                                                             \
  ((IMAGE_MAX + DIRECT_ALIGN - 1) / DIRECT_ALIGN * DIRECT_ALIGN)
#define IMAGE_POOL_KEEP 16
#define IMAGE_POOL_MIN (256u << 10)
/* Buffered groups are written into space already zero-filled (and made
 * durable by an earlier group's fdatasync), ZERO_AHEAD at a time: an
 * fdatasync of an overwrite within the file's size writes only the data,
 * while one of an append also writes the inode and the block bitmap
 * (ext4 without a journal: three I/Os more). Measured here, one 16 KiB
 * group + fdatasync: 127 us of CPU appended, 60 us zero-filled ahead;
 * a 4 KiB one 70 / 50 us. The zeros read as gaps to a scan (a zero tail
 * ends it). Only where O_DIRECT works (a real disk: tmpfs has no sync
 * to save and its space is memory). */
#define ZERO_AHEAD (256u << 10)

struct entry;

struct segment {
  uint64_t number;
  int fd;        /* -1 once removed */
  uint64_t live; /* indexed fragments in it */
  /* Its live entries in offset order (images are indexed as appended):
   * the scrubber's walk, segment_log_list. */
  struct entry *first, *last;
};

struct entry {
  struct entry *next;
  struct entry *seg_prev, *seg_next; /* in segments[segment]'s list */
  uint8_t id[16];
  uint32_t fragment;
  uint32_t segment; /* index into segments[] */
  uint32_t len;
  uint64_t offset;
};

struct pending {
  struct pending *next;
  uint8_t id[16];
  uint32_t fragment;
  const uint8_t *image;
  size_t len;
  uint8_t tombstone[CHUNK_HEADER_SIZE]; /* owned copy when a tombstone */
  int is_tombstone;
  int in_place; /* image from segment_log_image_alloc (async appends) */
  int waited;   /* a tombstone whose deleter waits for its sync */
  /* segment_log_append_async: called by the syncer instead of a waiter. */
  void (*async_done)(int status, void *arg);
  void *async_arg;
  int status, done;
  uint64_t offset; /* set by the syncer */
};

struct segment_log {
  char *dir;
  int dir_fd;
  /* index_lock: segments[], the index, live counts. */
  pthread_rwlock_t index_lock;
  struct segment *segments;
  uint32_t n_segments, cap_segments;
  uint32_t first_kept; /* segments below this index are all removed */
  int scanning;        /* open: nothing is removed before the scan ends */
  /* segment_log_list: the entry it listed last (moved back to its list
   * predecessor when it leaves the list), where the next call starts
   * instead of the segment's head. walk_lock (under the read lock) orders
   * listers; writers change it under the write lock. */
  struct entry *walk_hint;
  pthread_mutex_t walk_lock;
  struct entry **buckets;
  size_t n_buckets, n_entries;
  /* q_lock: the queue, the counters, hold, stopping. */
  pthread_mutex_t q_lock;
  pthread_cond_t q_cond, done_cond;
  struct pending *head, *tail;
  uint64_t waiting, groups, images;
  uint64_t async_inflight; /* async appends whose callback has not run */
  int hold, stopping, thread_started;
  pthread_t thread;
  /* Syncer only. */
  uint32_t active;             /* index of the segment being appended to */
  int active_broken;           /* a write or sync failed: start a new one */
  uint64_t active_size;        /* bytes in it */
  int active_direct_fd;        /* O_DIRECT writer of it, -1 where unsupported */
  uint64_t active_zeroed;      /* its bytes written so far, zeros or images */
  uint8_t *stage;              /* STAGE_SIZE, DIRECT_ALIGN-aligned */
  uint8_t *zeros;              /* ZERO_AHEAD zero bytes */
  struct buf_pool *image_pool; /* of IMAGE_ROOM bytes, aligned, shared */
};

/* ---- the index ----------------------------------------------------------- */

static size_t hash_of(const uint8_t id[16], uint32_t fragment) {
  uint64_t h;
  memcpy(&h, id, sizeof h); /* chunk ids are random */
  return (size_t)(h ^ ((uint64_t)fragment * 0x9e3779b97f4a7c15ULL));
}

static struct entry **find_slot(struct segment_log *l, const uint8_t id[16],
                                uint32_t fragment) {
  struct entry **p = &l->buckets[hash_of(id, fragment) & (l->n_buckets - 1)];
  while (*p && ((*p)->fragment != fragment || memcmp((*p)->id, id, 16) != 0))
    p = &(*p)->next;
  return p;
}

static int grow_index(struct segment_log *l) {
  size_t n = l->n_buckets ? l->n_buckets * 2 : 1024;
  struct entry **b = calloc(n, sizeof *b);
  if (!b)
    return CAIRN_ENOMEM;
  for (size_t i = 0; i < l->n_buckets; i++) {
    struct entry *e = l->buckets[i];
    while (e) {
      struct entry *next = e->next;
      size_t at = hash_of(e->id, e->fragment) & (n - 1);
      e->next = b[at];
      b[at] = e;
      e = next;
    }
  }
  free(l->buckets);
  l->buckets = b;
  l->n_buckets = n;
  return 0;
}

static void segment_release(struct segment_log *l, uint32_t seg);

static void list_unlink(struct segment_log *l, struct entry *e) {
  struct segment *s = &l->segments[e->segment];
  if (l->walk_hint == e)
    l->walk_hint = e->seg_prev;
  if (e->seg_prev)
    e->seg_prev->seg_next = e->seg_next;
  else
    s->first = e->seg_next;
  if (e->seg_next)
    e->seg_next->seg_prev = e->seg_prev;
  else
    s->last = e->seg_prev;
  e->seg_prev = e->seg_next = NULL;
}

/* Appends e to its segment's list: offsets only grow within a segment. */
static void list_append(struct segment_log *l, struct entry *e) {
  struct segment *s = &l->segments[e->segment];
  e->seg_prev = s->last;
  e->seg_next = NULL;
  if (s->last)
    s->last->seg_next = e;
  else
    s->first = e;
  s->last = e;
}

/* Index (write-locked): (id, fragment) now lives at (seg, offset, len). */
static int index_put(struct segment_log *l, const uint8_t id[16],
                     uint32_t fragment, uint32_t seg, uint64_t offset,
                     uint32_t len) {
  if (l->n_entries >= l->n_buckets && grow_index(l) != 0)
    return CAIRN_ENOMEM;
  struct entry **p = find_slot(l, id, fragment);
  struct entry *e = *p;
  if (e) { /* written again: the newer image wins */
    uint32_t old = e->segment;
    list_unlink(l, e);
    l->segments[old].live--;
    segment_release(l, old);
  } else {
    e = calloc(1, sizeof *e);
    if (!e)
      return CAIRN_ENOMEM;
    memcpy(e->id, id, 16);
    e->fragment = fragment;
    *p = e;
    l->n_entries++;
  }
  e->segment = seg;
  e->offset = offset;
  e->len = len;
  list_append(l, e);
  l->segments[seg].live++;
  return 0;
}

/* Index (write-locked): forgets (id, fragment). 0 or CAIRN_ENOENT. */
static int index_remove(struct segment_log *l, const uint8_t id[16],
                        uint32_t fragment) {
  struct entry **p = find_slot(l, id, fragment);
  struct entry *e = *p;
  if (!e)
    return CAIRN_ENOENT;
  *p = e->next;
  l->n_entries--;
  uint32_t seg = e->segment;
  list_unlink(l, e);
  free(e);
  l->segments[seg].live--;
  segment_release(l, seg);
  return 0;
}

/* ---- segments ------------------------------------------------------------ */

static void segment_name(const struct segment_log *l, uint64_t number,
                         char *out, size_t len) {
  snprintf(out, len, "%s/%016" PRIx64 ".seg", l->dir, number);
}

/* Removes, oldest first, the segments that hold nothing live (write-locked;
 * never the active one). A tombstone only ever names an image in its own
 * or an older segment, so removing from the oldest loses none that a later
 * scan needs. */
static void segment_release(struct segment_log *l, uint32_t seg) {
  (void)seg;
  if (l->scanning)
    return;
  while (l->first_kept < l->n_segments && l->first_kept != l->active &&
         l->segments[l->first_kept].live == 0) {
    struct segment *s = &l->segments[l->first_kept];
    char path[PATH_MAX];
    segment_name(l, s->number, path, sizeof path);
    if (s->fd >= 0)
      close(s->fd);
    s->fd = -1;
    if (unlink(path) != 0 && errno != ENOENT)
      log_warn("segment", "cannot remove %s: %s", path, strerror(errno));
    l->first_kept++;
  }
}

static int add_segment(struct segment_log *l, uint64_t number, int fd,
                       uint32_t *index) {
  if (l->n_segments == l->cap_segments) {
    uint32_t cap = l->cap_segments ? l->cap_segments * 2 : 16;
    struct segment *s = realloc(l->segments, cap * sizeof *s);
    if (!s)
      return CAIRN_ENOMEM;
    l->segments = s;
    l->cap_segments = cap;
  }
  l->segments[l->n_segments] = (struct segment){number, fd, 0, NULL, NULL};
  *index = l->n_segments++;
  return 0;
}

/* Syncer (or open): a new empty active segment, its name durable. */
static int open_active(struct segment_log *l) {
  uint64_t number =
      l->n_segments ? l->segments[l->n_segments - 1].number + 1 : 1;
  char path[PATH_MAX];
  segment_name(l, number, path, sizeof path);
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return cairn_err_from_errno(errno);
  if (fsync(l->dir_fd) != 0) {
    int rc = cairn_err_from_errno(errno);
    close(fd);
    unlink(path);
    return rc;
  }
  pthread_rwlock_wrlock(&l->index_lock);
  uint32_t index;
  int rc = add_segment(l, number, fd, &index);
  if (rc == 0) {
    uint32_t previous = l->active;
    l->active = index;
    l->active_size = 0;
    l->active_zeroed = 0;
    l->active_broken = 0;
    segment_release(l, previous); /* it may hold nothing live */
  }
  pthread_rwlock_unlock(&l->index_lock);
  if (rc == 0) {
    if (l->active_direct_fd >= 0)
      close(l->active_direct_fd);
    /* tmpfs and some others refuse O_DIRECT: buffered writes there. */
    l->active_direct_fd = open(path, O_WRONLY | O_DIRECT | O_CLOEXEC);
  }
  if (rc != 0) {
    close(fd);
    unlink(path);
  }
  return rc;
}

/* Decodes the header at `at` of a segment of `size` bytes: 0 and the
 * image's length if a whole image starts there, else CAIRN_ECORRUPT. */
static int header_at(int fd, uint64_t at, uint64_t size, uint8_t *raw,
                     struct chunk_header *h, uint64_t *len) {
  if (at + CHUNK_HEADER_SIZE > size ||
      pread(fd, raw, CHUNK_HEADER_SIZE, (off_t)at) != CHUNK_HEADER_SIZE ||
      chunk_header_decode(raw, h) != 0)
    return CAIRN_ECORRUPT;
  *len = chunk_stored_length(h->length);
  return *len <= IMAGE_MAX && at + *len <= size ? 0 : CAIRN_ECORRUPT;
}

/* The offset of the next whole image after `from` (its magic, then a
 * header that decodes, CRC and all), or size if there is none. */
static uint64_t next_header(int fd, uint64_t from, uint64_t size) {
  enum { WINDOW = 1 << 20 };
  uint8_t *buf = malloc(WINDOW);
  if (!buf)
    return size;
  uint64_t found = size;
  for (uint64_t at = from; found == size && at + CHUNK_HEADER_SIZE <= size;) {
    size_t want = size - at < WINDOW ? (size_t)(size - at) : WINDOW;
    ssize_t got = pread(fd, buf, want, (off_t)at);
    if (got < 8)
      break;
    for (size_t i = 0; i + 8 <= (size_t)got; i++) {
      uint8_t raw[CHUNK_HEADER_SIZE];
      struct chunk_header h;
      uint64_t len;
      if (buf[i] == CHUNK_MAGIC[0] && memcmp(buf + i, CHUNK_MAGIC, 8) == 0 &&
          header_at(fd, at + i, size, raw, &h, &len) == 0) {
        found = at + i;
        break;
      }
    }
    at += (uint64_t)got - 7; /* a magic across the window's end */
  }
  free(buf);
  return found;
}

static uint64_t align_up(uint64_t n) {
  return (n + DIRECT_ALIGN - 1) / DIRECT_ALIGN * DIRECT_ALIGN;
}

/* Whether the n (< DIRECT_ALIGN) bytes at `at` are all zero. */
static int zeros_at(int fd, uint64_t at, uint64_t n) {
  uint8_t buf[DIRECT_ALIGN];
  if (n > sizeof buf || pread(fd, buf, (size_t)n, (off_t)at) != (ssize_t)n)
    return 0;
  for (uint64_t i = 0; i < n; i++)
    if (buf[i])
      return 0;
  return 1;
}

/* Whether [at, size) of fd is all zero bytes (a zero-filled tail). */
static int zeros_to_end(int fd, uint64_t at, uint64_t size) {
  uint8_t buf[DIRECT_ALIGN];
  while (at < size) {
    size_t want = size - at < sizeof buf ? (size_t)(size - at) : sizeof buf;
    if (pread(fd, buf, want, (off_t)at) != (ssize_t)want)
      return 0;
    for (size_t i = 0; i < want; i++)
      if (buf[i])
        return 0;
    at += want;
  }
  return 1;
}

/* Open: indexes one segment's images. A header that does not decode is
 * the torn tail of a group cut by a crash (never acknowledged), or a
 * header rotted in place: the scan goes on at the next header that
 * decodes, so one bad header does not hide the acknowledged images after
 * it (only its own image is lost; the images of a torn group that did
 * reach the disk whole are indexed: they were never acknowledged, and are
 * collected like any orphan). */
static int scan_segment(struct segment_log *l, uint32_t seg) {
  int fd = l->segments[seg].fd;
  struct stat st;
  if (fstat(fd, &st) != 0)
    return cairn_err_from_errno(errno);
  uint64_t at = 0, size = (uint64_t)st.st_size;
  while (at + CHUNK_HEADER_SIZE <= size) {
    uint8_t raw[CHUNK_HEADER_SIZE];
    struct chunk_header h;
    uint64_t len;
    if (header_at(fd, at, size, raw, &h, &len) != 0) {
      uint64_t pad_end = align_up(at);
      if (pad_end > size)
        pad_end = size;
      if (pad_end > at && zeros_at(fd, at, pad_end - at)) {
        at = pad_end; /* the gap after an aligned write's last image */
        continue;
      }
      if (zeros_to_end(fd, at, size)) {
        at = size; /* the zero-filled space after the last group */
        break;
      }
      uint64_t next = next_header(fd, at + 1, size);
      log_warn("segment",
               "segment %016" PRIx64 ": %" PRIu64 " bytes at offset %" PRIu64
               " hold no whole image (a torn tail or a bad header), skipped",
               l->segments[seg].number, next - at, at);
      at = next;
      continue;
    }
    int rc = 0;
    if (raw[SEGMENT_TOMBSTONE_FLAG_OFFSET] & 1)
      index_remove(l, h.chunk_id, h.fragment);
    else
      rc = index_put(l, h.chunk_id, h.fragment, seg, at, (uint32_t)len);
    if (rc != 0)
      return rc;
    at += len;
  }
  if (at < size)
    log_warn("segment",
             "segment %016" PRIx64 ": %" PRIu64 " bytes after offset %" PRIu64
             " are a torn tail, ignored",
             l->segments[seg].number, size - at, at);
  return 0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static int scan_all(struct segment_log *l) {
  DIR *d = opendir(l->dir);
  if (!d)
    return cairn_err_from_errno(errno);
  uint64_t *numbers = NULL;
  size_t n = 0, cap = 0;
  int rc = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    char *end;
    uint64_t number = strtoull(e->d_name, &end, 16);
    if (end == e->d_name + 16 && strcmp(end, ".seg") == 0) {
      if (n == cap) {
        cap = cap ? cap * 2 : 16;
        uint64_t *grown = realloc(numbers, cap * sizeof *numbers);
        if (!grown) {
          rc = CAIRN_ENOMEM;
          break;
        }
        numbers = grown;
      }
      numbers[n++] = number;
    }
  }
  closedir(d);
  if (n)
    qsort(numbers, n, sizeof *numbers, cmp_u64);
  for (size_t i = 0; i < n && rc == 0; i++) {
    char path[PATH_MAX];
    segment_name(l, numbers[i], path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    uint32_t index;
    if (fd < 0)
      rc = cairn_err_from_errno(errno);
    else if ((rc = add_segment(l, numbers[i], fd, &index)) != 0)
      close(fd);
    else
      rc = scan_segment(l, index);
  }
  free(numbers);
  return rc;
}

/* ---- the syncer ---------------------------------------------------------- */

/* Writes the n iovecs at `at`; with O_DIRECT (every iovec then a
 * DIRECT_ALIGN multiple, at an aligned address) if `direct` and the file
 * system takes it. */
static int write_iov(struct segment_log *l, int fd, struct iovec *iov, int n,
                     uint64_t at, int direct) {
  while (n > 0) {
    int wfd = direct && l->active_direct_fd >= 0 ? l->active_direct_fd : fd;
    ssize_t w = pwritev(wfd, iov, n, (off_t)at);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0 && errno == EINVAL && wfd != fd) {
      close(l->active_direct_fd); /* refused at write time: buffered */
      l->active_direct_fd = -1;
      continue;
    }
    if (w < 0)
      return cairn_err_from_errno(errno);
    at += (uint64_t)w;
    size_t left = (size_t)w; /* past the iovecs written whole */
    for (; n > 0 && left >= iov->iov_len; n--, iov++)
      left -= iov->iov_len;
    if (n > 0) {
      iov->iov_base = (uint8_t *)iov->iov_base + left;
      iov->iov_len -= left;
    }
  }
  return 0;
}

/* Before a buffered write ending at `end`: the file is zero-filled up to
 * ZERO_AHEAD past it, so this write (and the next ones) overwrite space
 * the file already has (see ZERO_AHEAD). The group's fdatasync makes the
 * zeros durable with it. Best effort: where the zeros do not fit (a full
 * disk) the write appends as before and reports its own error. */
static void zero_ahead(struct segment_log *l, int fd, uint64_t end) {
  if (end <= l->active_zeroed || l->active_direct_fd < 0)
    return;
  uint64_t until = align_up(end) + ZERO_AHEAD;
  while (l->active_zeroed < until) {
    uint64_t left = until - l->active_zeroed;
    size_t n = left < ZERO_AHEAD ? (size_t)left : ZERO_AHEAD;
    ssize_t w = pwrite(fd, l->zeros, n, (off_t)l->active_zeroed);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return;
    l->active_zeroed += (uint64_t)w;
  }
}

/* One write of a group: the images from p up to the returned end, small
 * ones copied into the staging buffer, large async ones (direct writes
 * only) from their own buffers. Sets each image's offset; *at moves past
 * the write. */
static struct pending *write_some(struct segment_log *l, int fd,
                                  struct pending *p, uint64_t *at, int *rc) {
  /* How far this write goes: the staging buffer's room (with a boundary's
   * slack per in-place image) and WRITE_IOV_MAX. */
  size_t bytes = 0, staged = DIRECT_ALIGN; /* the last run's padding */
  int iovs = 1;
  struct pending *end = p;
  for (; end; end = end->next) {
    int own = end->in_place && end->len >= IN_PLACE_MIN;
    size_t need = own ? DIRECT_ALIGN : end->len;
    if (staged + need > STAGE_SIZE || iovs + 2 * own > WRITE_IOV_MAX)
      break;
    staged += need;
    iovs += 2 * own;
    bytes += end->len;
  }
  if (end == p) /* one image always fits (IMAGE_MAX < STAGE_SIZE) */
    end = p->next;
  int direct = l->active_direct_fd >= 0 && bytes >= DIRECT_MIN;
  /* A direct write starts on a boundary: after earlier buffered bytes the
   * file keeps a hole up to it (read as zeros), and each of its runs of
   * staged bytes or in-place images ends with zeros up to the next one. */
  uint64_t start = direct ? align_up(*at) : *at;
  uint64_t off = start;
  struct iovec iov[WRITE_IOV_MAX];
  int n = 0;
  size_t fill = 0, run = 0; /* staged bytes; where the open run began */
  for (; p != end; p = p->next) {
    if (direct && p->in_place && p->len >= IN_PLACE_MIN) {
      if (fill > run) { /* close the run of staged images before it */
        size_t padded = (size_t)align_up(fill);
        memset(l->stage + fill, 0, padded - fill);
        iov[n++] = (struct iovec){l->stage + run, padded - run};
        off += padded - fill;
        fill = run = padded;
      }
      size_t padded = (size_t)align_up(p->len);
      uint8_t *image = (uint8_t *)p->image; /* ours till done: the room */
      memset(image + p->len, 0, padded - p->len);
      iov[n++] = (struct iovec){image, padded};
      p->offset = off;
      off += padded;
      continue;
    }
    memcpy(l->stage + fill, p->is_tombstone ? p->tombstone : p->image, p->len);
    p->offset = off;
    fill += p->len;
    off += p->len;
  }
  if (fill > run) {
    size_t padded = direct ? (size_t)align_up(fill) : fill;
    memset(l->stage + fill, 0, padded - fill);
    iov[n++] = (struct iovec){l->stage + run, padded - run};
    off += padded - fill;
  }
  if (!direct)
    zero_ahead(l, fd, off);
  *rc = write_iov(l, fd, iov, n, start, direct);
  *at = off;
  if (off > l->active_zeroed)
    l->active_zeroed = off;
  return end;
}

static int write_group(struct segment_log *l, struct pending *group) {
  int rc = 0;
  /* An active segment whose images are all dead goes like a full one, so
   * that its space comes back (segment_release) without waiting for 64 MiB
   * of appends: a small or nearly full dir would else never reclaim it. */
  pthread_rwlock_rdlock(&l->index_lock);
  int dead = l->segments[l->active].live == 0 &&
             l->active_size >= SEGMENT_DEAD_ROTATE_SIZE;
  pthread_rwlock_unlock(&l->index_lock);
  if (l->active_broken || l->active_size >= SEGMENT_TARGET_SIZE || dead)
    rc = open_active(l);
  if (rc != 0)
    return rc;
  int fd = l->segments[l->active].fd;
  uint64_t at = l->active_size;
  for (struct pending *p = group; p && rc == 0;)
    p = write_some(l, fd, p, &at, &rc);
  if (rc == 0 && fdatasync(fd) != 0)
    rc = cairn_err_from_errno(errno);
  if (rc != 0) {
    log_error("segment", "append to segment %016" PRIx64 " failed: %s",
              l->segments[l->active].number, cairn_strerror(rc));
    l->active_broken = 1;
    return rc;
  }
  pthread_rwlock_wrlock(&l->index_lock);
  for (struct pending *p = group; p; p = p->next) {
    if (p->is_tombstone)
      continue;
    p->status = index_put(l, p->id, p->fragment, l->active, p->offset,
                          (uint32_t)p->len);
  }
  l->active_size = at;
  pthread_rwlock_unlock(&l->index_lock);
  return 0;
}

static void *syncer_main(void *arg) {
  struct segment_log *l = arg;
  pthread_mutex_lock(&l->q_lock);
  for (;;) {
    while ((!l->head || l->hold) && !l->stopping)
      pthread_cond_wait(&l->q_cond, &l->q_lock);
    if (!l->head)
      break; /* stopping and drained */
    struct pending *group = l->head;
    l->head = l->tail = NULL;
    pthread_mutex_unlock(&l->q_lock);

    int rc = write_group(l, group);

    /* Async appends first, outside the lock (their callbacks hand the
     * result to another thread); their count drops after the call. */
    uint64_t async_done = 0;
    for (struct pending *p = group; p; p = p->next)
      if (p->async_done) {
        p->async_done(rc != 0 ? rc : p->status, p->async_arg);
        async_done++;
      }
    pthread_mutex_lock(&l->q_lock);
    l->groups++;
    l->async_inflight -= async_done;
    struct pending *p = group;
    while (p) {
      struct pending *next = p->next;
      l->images++;
      if ((p->is_tombstone && !p->waited) || p->async_done) {
        free(p); /* nobody waits for it */
      } else {
        if (rc != 0)
          p->status = rc;
        p->done = 1;
        if (!p->is_tombstone)
          l->waiting--;
      }
      p = next;
    }
    pthread_cond_broadcast(&l->done_cond);
  }
  pthread_mutex_unlock(&l->q_lock);
  return NULL;
}

static void enqueue(struct segment_log *l, struct pending *p) {
  p->next = NULL;
  if (l->tail)
    l->tail->next = p;
  else
    l->head = p;
  l->tail = p;
  pthread_cond_signal(&l->q_cond);
}

/* ---- the API ------------------------------------------------------------- */

int segment_log_open(const char *dir, struct segment_log **out) {
  struct segment_log *l = calloc(1, sizeof *l);
  if (!l)
    return CAIRN_ENOMEM;
  l->dir_fd = -1;
  l->active_direct_fd = -1;
  pthread_rwlock_init(&l->index_lock, NULL);
  pthread_mutex_init(&l->walk_lock, NULL);
  pthread_mutex_init(&l->q_lock, NULL);
  pthread_cond_init(&l->q_cond, NULL);
  pthread_cond_init(&l->done_cond, NULL);
  int rc = 0;
  l->dir = strdup(dir);
  if (!l->dir)
    rc = CAIRN_ENOMEM;
  if (rc == 0 && mkdir(dir, 0700) != 0 && errno != EEXIST)
    rc = cairn_err_from_errno(errno);
  if (rc == 0) {
    l->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (l->dir_fd < 0)
      rc = cairn_err_from_errno(errno);
  }
  if (rc == 0)
    rc = grow_index(l);
  if (rc == 0 && !(l->image_pool = buf_pool_new_shared(IMAGE_ROOM, DIRECT_ALIGN,
                                                       IMAGE_POOL_KEEP)))
    rc = CAIRN_ENOMEM;
  if (rc == 0 &&
      posix_memalign((void **)&l->stage, DIRECT_ALIGN, STAGE_SIZE) != 0)
    rc = CAIRN_ENOMEM;
  if (rc == 0 && !(l->zeros = calloc(1, ZERO_AHEAD)))
    rc = CAIRN_ENOMEM;
  l->active = UINT32_MAX; /* none yet */
  l->scanning = 1;
  if (rc == 0)
    rc = scan_all(l);
  l->scanning = 0;
  if (rc == 0)
    rc = open_active(l);
  if (rc == 0) {
    if (pthread_create(&l->thread, NULL, syncer_main, l) != 0)
      rc = CAIRN_ENOMEM;
    else
      l->thread_started = 1;
  }
  if (rc != 0) {
    segment_log_close(l);
    return rc;
  }
  *out = l;
  return 0;
}

void segment_log_close(struct segment_log *l) {
  if (!l)
    return;
  if (l->thread_started) {
    pthread_mutex_lock(&l->q_lock);
    l->stopping = 1;
    l->hold = 0;
    pthread_cond_signal(&l->q_cond);
    pthread_mutex_unlock(&l->q_lock);
    pthread_join(l->thread, NULL);
  }
  for (size_t i = 0; i < l->n_buckets; i++) {
    struct entry *e = l->buckets[i];
    while (e) {
      struct entry *next = e->next;
      free(e);
      e = next;
    }
  }
  free(l->buckets);
  for (uint32_t i = 0; i < l->n_segments; i++)
    if (l->segments[i].fd >= 0)
      close(l->segments[i].fd);
  free(l->segments);
  if (l->active_direct_fd >= 0)
    close(l->active_direct_fd);
  free(l->stage);
  buf_pool_free(l->image_pool);
  free(l->zeros);
  if (l->dir_fd >= 0)
    close(l->dir_fd);
  free(l->dir);
  pthread_cond_destroy(&l->done_cond);
  pthread_cond_destroy(&l->q_cond);
  pthread_mutex_destroy(&l->q_lock);
  pthread_rwlock_destroy(&l->index_lock);
  pthread_mutex_destroy(&l->walk_lock);
  free(l);
}

int segment_log_append(struct segment_log *l, const uint8_t id[16],
                       uint32_t fragment, const uint8_t *image, size_t len) {
  if (len < CHUNK_HEADER_SIZE || len > IMAGE_MAX)
    return CAIRN_EINVAL;
  struct pending p;
  memset(&p, 0, sizeof p);
  memcpy(p.id, id, 16);
  p.fragment = fragment;
  p.image = image;
  p.len = len;
  pthread_mutex_lock(&l->q_lock);
  if (l->stopping) {
    pthread_mutex_unlock(&l->q_lock);
    return CAIRN_ECANCELED;
  }
  l->waiting++;
  enqueue(l, &p);
  while (!p.done)
    pthread_cond_wait(&l->done_cond, &l->q_lock);
  pthread_mutex_unlock(&l->q_lock);
  return p.status;
}

int segment_log_append_async(struct segment_log *l, const uint8_t id[16],
                             uint32_t fragment, const uint8_t *image,
                             size_t len, void (*done)(int status, void *arg),
                             void *arg) {
  if (len < CHUNK_HEADER_SIZE || len > IMAGE_MAX || !done)
    return CAIRN_EINVAL;
  struct pending *p = calloc(1, sizeof *p);
  if (!p)
    return CAIRN_ENOMEM;
  memcpy(p->id, id, 16);
  p->fragment = fragment;
  p->image = image;
  p->len = len;
  p->in_place = 1;
  p->async_done = done;
  p->async_arg = arg;
  pthread_mutex_lock(&l->q_lock);
  if (l->stopping) {
    pthread_mutex_unlock(&l->q_lock);
    free(p);
    return CAIRN_ECANCELED;
  }
  l->async_inflight++;
  enqueue(l, p);
  pthread_mutex_unlock(&l->q_lock);
  return 0;
}

uint8_t *segment_log_image_alloc(struct segment_log *l, size_t len) {
  if (len > IMAGE_MAX)
    return NULL;
  if (len >= IMAGE_POOL_MIN)
    return buf_pool_get(l->image_pool);
  void *image;
  if (posix_memalign(&image, DIRECT_ALIGN, (size_t)align_up(len ? len : 1)))
    return NULL;
  return image;
}

void segment_log_image_free(struct segment_log *l, uint8_t *image, size_t len) {
  if (len >= IMAGE_POOL_MIN)
    buf_pool_put(l->image_pool, image);
  else
    free(image);
}

void segment_log_flush(struct segment_log *l) {
  pthread_mutex_lock(&l->q_lock);
  l->hold = 0;
  pthread_cond_signal(&l->q_cond);
  while (l->async_inflight > 0)
    pthread_cond_wait(&l->done_cond, &l->q_lock);
  pthread_mutex_unlock(&l->q_lock);
}

int segment_log_read(struct segment_log *l, const uint8_t id[16],
                     uint32_t fragment, uint64_t at, uint8_t *buf, size_t len,
                     size_t *image_len, int nowait) {
  if (nowait) {
    if (pthread_rwlock_tryrdlock(&l->index_lock) != 0)
      return CAIRN_EBUSY;
  } else {
    pthread_rwlock_rdlock(&l->index_lock);
  }
  struct entry *e = *find_slot(l, id, fragment);
  int rc = 0;
  if (!e)
    rc = CAIRN_ENOENT;
  else if (at > e->len || len > e->len - at)
    rc = CAIRN_ERANGE;
  else {
    int fd = l->segments[e->segment].fd;
    size_t got = 0;
    while (got < len && rc == 0) {
      struct iovec v = {buf + got, len - got};
      ssize_t n = preadv2(fd, &v, 1, (off_t)(e->offset + at + got),
                          nowait ? RWF_NOWAIT : 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && nowait)
        rc = CAIRN_EBUSY; /* not cached (EAGAIN) or not supported */
      else if (n < 0)
        rc = cairn_err_from_errno(errno);
      else if (n == 0)
        rc = CAIRN_ECORRUPT; /* the segment shrank under us */
      else if (nowait && (size_t)n < len - got)
        rc = CAIRN_EBUSY; /* part of it is not in the page cache */
      else
        got += (size_t)n;
    }
    *image_len = e->len;
  }
  pthread_rwlock_unlock(&l->index_lock);
  return rc;
}

static int delete_image(struct segment_log *l, const uint8_t id[16],
                        uint32_t fragment, int wait) {
  struct pending *t = calloc(1, sizeof *t);
  if (!t)
    return CAIRN_ENOMEM;
  pthread_rwlock_wrlock(&l->index_lock);
  int rc = index_remove(l, id, fragment);
  pthread_rwlock_unlock(&l->index_lock);
  if (rc != 0) {
    free(t);
    return rc;
  }
  struct chunk_header h = chunk_header_of(id, fragment, 0);
  chunk_header_encode_flags(&h, 1, t->tombstone);
  t->is_tombstone = 1;
  t->waited = wait;
  t->len = CHUNK_HEADER_SIZE;
  pthread_mutex_lock(&l->q_lock);
  if (l->stopping) {
    free(t); /* shut down: like an unsynced unlink, may come back */
    rc = wait ? CAIRN_ECANCELED : 0;
  } else {
    enqueue(l, t);
    while (wait && !t->done)
      pthread_cond_wait(&l->done_cond, &l->q_lock);
    if (wait) {
      rc = t->status;
      free(t);
    }
  }
  pthread_mutex_unlock(&l->q_lock);
  return rc;
}

int segment_log_delete(struct segment_log *l, const uint8_t id[16],
                       uint32_t fragment) {
  return delete_image(l, id, fragment, 0);
}

int segment_log_delete_durable(struct segment_log *l, const uint8_t id[16],
                               uint32_t fragment) {
  return delete_image(l, id, fragment, 1);
}

size_t segment_log_list(struct segment_log *l, struct segment_cursor *cursor,
                        struct segment_image *out, size_t cap) {
  size_t n = 0;
  pthread_rwlock_rdlock(&l->index_lock);
  pthread_mutex_lock(&l->walk_lock);
  for (uint32_t i = l->first_kept; i < l->n_segments && n < cap; i++) {
    const struct segment *seg = &l->segments[i];
    if (seg->fd < 0 || seg->number < cursor->segment)
      continue;
    struct entry *e = seg->first, *hint = l->walk_hint;
    if (seg->number == cursor->segment && hint &&
        l->segments[hint->segment].number == seg->number &&
        hint->offset < cursor->offset)
      e = hint; /* a walk that goes on: no rescan from the head */
    for (; e && n < cap; e = e->seg_next) {
      if (seg->number == cursor->segment && e->offset < cursor->offset)
        continue;
      l->walk_hint = e;
      memcpy(out[n].id, e->id, 16);
      out[n].fragment = e->fragment;
      out[n].segment = seg->number;
      out[n].offset = e->offset;
      out[n].len = e->len;
      n++;
      cursor->segment = seg->number;
      cursor->offset = e->offset + 1;
    }
  }
  pthread_mutex_unlock(&l->walk_lock);
  pthread_rwlock_unlock(&l->index_lock);
  return n;
}

void segment_log_end(struct segment_log *l, struct segment_cursor *out) {
  pthread_rwlock_rdlock(&l->index_lock);
  out->segment = l->active < l->n_segments ? l->segments[l->active].number : 0;
  out->offset = l->active_size;
  pthread_rwlock_unlock(&l->index_lock);
}

const char *segment_log_dir(const struct segment_log *l) {
  return l->dir;
}

void segment_log_stats(struct segment_log *l, uint64_t *groups,
                       uint64_t *images, uint64_t *waiting) {
  pthread_mutex_lock(&l->q_lock);
  *groups = l->groups;
  *images = l->images;
  *waiting = l->waiting;
  pthread_mutex_unlock(&l->q_lock);
}

void segment_log_hold(struct segment_log *l, int hold) {
  pthread_mutex_lock(&l->q_lock);
  l->hold = hold;
  pthread_cond_signal(&l->q_cond);
  pthread_mutex_unlock(&l->q_lock);
}

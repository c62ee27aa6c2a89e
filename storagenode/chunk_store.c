/* chunk_store.c - fragment files with per-block CRC32C (see the header). */
#include "chunk_store.h"

#include "buf_pool.h"
#include "crypto.h"
#include "disks.h"
#include "error.h"
#include "log.h"
#include "secret_file.h"
#include "segment_log.h"

#include <errno.h>
#include <fcntl.h>
#include <isa-l.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define MAX_DIRS 32
#define PATH_MAX_LEN 4096
#define FRAGMENT_PATH_MAX (PATH_MAX_LEN + 64) /* dir + chunk file name */

#define STRIDE (CHUNK_BLOCK_SIZE + CHUNK_CRC_SIZE) /* a block and its CRC */
#define SEGMENT_DIR 0 /* the data dir that holds the segment log */
/* A fragment file is written with O_DIRECT from an aligned buffer of
 * FILE_OUT bytes (16 blocks with their CRCs, and the < 4 KiB carried over
 * from the last write), in DIRECT_ALIGN multiples; only the file's last
 * partial 4 KiB is written buffered. Why: buffered writes cost a node
 * ~2.6 ms of kernel CPU per MiB (copies into fresh page-cache pages),
 * O_DIRECT ~0.1 (docs/chunk-format.md). FILE_BUFFERS_IDLE are kept. */
#define DIRECT_ALIGN 4096u
#define FILE_OUT                                                               \
  ((16 * STRIDE + 2 * DIRECT_ALIGN - 1) / DIRECT_ALIGN * DIRECT_ALIGN)
#define FILE_BUFFERS_IDLE 8
/* dir_room reuses a dir's statvfs answer for ROOM_REUSE_MS, less what it
 * granted since, while that stays ROOM_REUSE_MARGIN above the reserve: a
 * statvfs (and its path walk) per fragment was ~2 us on the loop thread
 * of every small PUT. Near the reserve every fragment asks the kernel. */
#define ROOM_REUSE_MS 100
#define ROOM_REUSE_MARGIN (256ull << 20)

struct dir_free {
  uint64_t bytes; /* free at the last statvfs, less what was granted */
  uint64_t at_ms; /* CLOCK_MONOTONIC of that statvfs */
  int known;
};

struct chunk_store {
  char *dirs[MAX_DIRS];
  size_t n;
  pthread_mutex_t free_lock; /* dir_room: the loop and the I/O threads */
  struct dir_free free[MAX_DIRS];
  struct node_disks *disks;      /* service state per dir, or NULL */
  struct segment_log *small;     /* fragments <= CHUNK_SEGMENT_MAX: segments */
  struct buf_pool *file_buffers; /* FILE_OUT, aligned: file writers' out */
};

/* A small writer (length <= CHUNK_SEGMENT_MAX) has no file: the fragment's
 * whole image (header, blocks and their CRCs) is built in `image` and
 * appended to the segment log at commit. A file writer fills blocks in
 * `out` and writes its aligned part when it is full. */
struct chunk_writer {
  struct chunk_store *store;
  int fd;
  int direct_fd;   /* the same file with O_DIRECT, or -1 (unsupported) */
  uint8_t *out;    /* file: FILE_OUT bytes, DIRECT_ALIGN-aligned */
  size_t out_len;  /* bytes in out (the block being filled after them) */
  uint64_t out_at; /* file offset of out[0], a DIRECT_ALIGN multiple */
  int small;
  uint8_t id[16];
  uint32_t fragment;
  char tmp_path[FRAGMENT_PATH_MAX + 32], path[FRAGMENT_PATH_MAX];
  char dir[PATH_MAX_LEN];
  uint64_t length, written;
  uint32_t crc;   /* of the whole fragment */
  uint8_t *image; /* small: chunk_stored_length(length) bytes */
  uint8_t *block; /* the block being filled */
  size_t block_len;
  size_t dir_index; /* into store->dirs */
};

void chunk_store_set_disks(struct chunk_store *s, struct node_disks *d) {
  s->disks = d;
}

/* An EIO or ENOSPC takes the writer's dir out of service for writes. */
static int dir_failed(struct chunk_writer *w, int rc) {
  if (rc != 0 && w->store->disks)
    node_disks_fail(w->store->disks, w->dir_index, rc);
  return rc;
}

/* Header: magic(8) version(4) fragment(4) length(8) block size(4)
 * checksum type(4: 1 = CRC32C) chunk id(16) reserved(12) header crc(4),
 * integers big-endian. */
static void put_u32(uint8_t *p, uint32_t v) {
  for (int b = 0; b < 4; b++)
    p[b] = (uint8_t)(v >> (24 - 8 * b));
}

static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

struct chunk_header chunk_header_of(const uint8_t id[16], uint32_t fragment,
                                    uint64_t length) {
  struct chunk_header h = {.version = CHUNK_FORMAT_VERSION,
                           .fragment = fragment,
                           .length = length,
                           .block_size = CHUNK_BLOCK_SIZE,
                           .checksum_type = CHUNK_CHECKSUM_CRC32C};
  memcpy(h.chunk_id, id, 16);
  return h;
}

void chunk_header_encode(const struct chunk_header *h,
                         uint8_t out[CHUNK_HEADER_SIZE]) {
  chunk_header_encode_flags(h, 0, out);
}

void chunk_header_encode_flags(const struct chunk_header *h, uint8_t flags,
                               uint8_t out[CHUNK_HEADER_SIZE]) {
  memset(out, 0, CHUNK_HEADER_SIZE);
  out[48] = flags;
  memcpy(out, CHUNK_MAGIC, 8);
  put_u32(out + 8, h->version);
  put_u32(out + 12, h->fragment);
  put_u32(out + 16, (uint32_t)(h->length >> 32));
  put_u32(out + 20, (uint32_t)h->length);
  put_u32(out + 24, h->block_size);
  put_u32(out + 28, h->checksum_type);
  memcpy(out + 32, h->chunk_id, 16);
  put_u32(out + 60, crc32_iscsi(out, CHUNK_HEADER_SIZE - CHUNK_CRC_SIZE, 0));
}

int chunk_header_decode(const uint8_t in[CHUNK_HEADER_SIZE],
                        struct chunk_header *h) {
  uint32_t crc =
      crc32_iscsi((unsigned char *)in, CHUNK_HEADER_SIZE - CHUNK_CRC_SIZE, 0);
  if (memcmp(in, CHUNK_MAGIC, 8) != 0 || crc != get_u32(in + 60))
    return CAIRN_ECORRUPT;
  h->version = get_u32(in + 8);
  h->fragment = get_u32(in + 12);
  h->length = (uint64_t)get_u32(in + 16) << 32 | get_u32(in + 20);
  h->block_size = get_u32(in + 24);
  h->checksum_type = get_u32(in + 28);
  memcpy(h->chunk_id, in + 32, 16);
  if (h->version != CHUNK_FORMAT_VERSION || h->block_size != CHUNK_BLOCK_SIZE ||
      h->checksum_type != CHUNK_CHECKSUM_CRC32C ||
      h->length > CHUNK_MAX_FRAGMENT)
    return CAIRN_ECORRUPT;
  return 0;
}

static void fragment_path(const char *dir, const uint8_t id[16],
                          uint32_t fragment, char *subdir, char *path) {
  char hex[33];
  crypto_hex(id, 16, hex);
  snprintf(subdir, PATH_MAX_LEN, "%s/chunks/%.2s/%.2s", dir, hex, hex + 2);
  snprintf(path, FRAGMENT_PATH_MAX, "%s/%s.%u", subdir, hex, fragment);
}

static int mkdir_p(const char *path) {
  char buf[PATH_MAX_LEN];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        return cairn_err_from_errno(errno);
      *p = '/';
    }
  if (mkdir(buf, 0700) != 0 && errno != EEXIST)
    return cairn_err_from_errno(errno);
  return 0;
}

int chunk_store_open(char *const *dirs, size_t n, struct chunk_store **out) {
  if (n == 0 || n > MAX_DIRS)
    return CAIRN_EINVAL;
  struct chunk_store *s = calloc(1, sizeof *s);
  if (!s)
    return CAIRN_ENOMEM;
  pthread_mutex_init(&s->free_lock, NULL);
  for (size_t i = 0; i < n; i++) {
    s->dirs[i] = strdup(dirs[i]);
    if (!s->dirs[i]) {
      chunk_store_close(s);
      return CAIRN_ENOMEM;
    }
    s->n++;
  }
  s->file_buffers =
      buf_pool_new_shared(FILE_OUT, DIRECT_ALIGN, FILE_BUFFERS_IDLE);
  if (!s->file_buffers) {
    chunk_store_close(s);
    return CAIRN_ENOMEM;
  }
  char seg_dir[PATH_MAX_LEN];
  snprintf(seg_dir, sizeof seg_dir, "%s/segments", dirs[0]);
  int rc = segment_log_open(seg_dir, &s->small);
  if (rc != 0) /* a dir that cannot be written: puts fail as they did */
    log_warn("chunk",
             "no segment log in %s (%s): small fragments go to "
             "files",
             seg_dir, cairn_strerror(rc));
  *out = s;
  return 0;
}

int chunk_store_has_segments(const struct chunk_store *s) {
  return s->small != NULL;
}

void chunk_store_close(struct chunk_store *s) {
  if (!s)
    return;
  segment_log_close(s->small);
  buf_pool_free(s->file_buffers);
  for (size_t i = 0; i < s->n; i++)
    free(s->dirs[i]);
  pthread_mutex_destroy(&s->free_lock);
  free(s);
}

/* The file on disk: the first dir that has it. */
static int find_fragment(struct chunk_store *s, const uint8_t id[16],
                         uint32_t fragment, char *path) {
  char subdir[PATH_MAX_LEN];
  for (size_t i = 0; i < s->n; i++) {
    fragment_path(s->dirs[i], id, fragment, subdir, path);
    if (access(path, F_OK) == 0)
      return 0;
  }
  return CAIRN_ENOENT;
}

static int pwrite_all(int fd, const uint8_t *data, size_t len, uint64_t at) {
  while (len > 0) {
    ssize_t n = pwrite(fd, data, len, (off_t)at);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return cairn_err_from_errno(errno);
    }
    data += n;
    len -= (size_t)n;
    at += (uint64_t)n;
  }
  return 0;
}

/* Free bytes of dir i if a new fragment needing `need` bytes may go there
 * (in service, room beyond the reserve), else 0. */
static uint64_t dir_room(struct chunk_store *s, size_t i, uint64_t need) {
  if (s->disks && !node_disks_writable(s->disks, i))
    return 0;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  uint64_t now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
  struct dir_free *f = &s->free[i];
  pthread_mutex_lock(&s->free_lock);
  if (f->known && now_ms - f->at_ms < ROOM_REUSE_MS &&
      f->bytes > need + CHUNK_RESERVE_BYTES + ROOM_REUSE_MARGIN) {
    f->bytes -= need;
    uint64_t room = f->bytes;
    pthread_mutex_unlock(&s->free_lock);
    return room;
  }
  pthread_mutex_unlock(&s->free_lock);
  struct statvfs st;
  if (statvfs(s->dirs[i], &st) != 0)
    return 0;
  uint64_t free_bytes = (uint64_t)st.f_bavail * st.f_frsize;
  pthread_mutex_lock(&s->free_lock);
  f->bytes = free_bytes;
  f->at_ms = now_ms;
  f->known = 1;
  pthread_mutex_unlock(&s->free_lock);
  return free_bytes > need + CHUNK_RESERVE_BYTES ? free_bytes : 0;
}

/* Does a fragment of `length` bytes go to the segment log now? Only while
 * the log's dir (dir 0) is in service and has room: else it goes to a file
 * in another dir, as any fragment would. */
static int segment_takes(struct chunk_store *s, uint64_t length) {
  return s->small && length <= CHUNK_SEGMENT_MAX &&
         dir_room(s, SEGMENT_DIR, chunk_stored_length(length)) != 0;
}

static int writer_open(struct chunk_store *s, const uint8_t id[16],
                       uint32_t fragment, uint64_t length, int segment_only,
                       struct chunk_writer **out) {
  if (length > CHUNK_MAX_FRAGMENT)
    return CAIRN_ETOOBIG;
  int small = segment_takes(s, length);
  if (segment_only && !small)
    return CAIRN_EBUSY;
  /* A segment writer: dir 0. A file: the dir with the most free space that
   * can hold it. */
  uint64_t need = chunk_stored_length(length);
  size_t best = small ? SEGMENT_DIR : s->n;
  uint64_t best_free = 0;
  for (size_t i = 0; !small && i < s->n; i++) {
    uint64_t room = dir_room(s, i, need);
    if (room > best_free) {
      best = i;
      best_free = room;
    }
  }
  if (best == s->n)
    return CAIRN_ENOSPC;
  struct chunk_writer *w = calloc(1, sizeof *w);
  if (!w)
    return CAIRN_ENOMEM;
  w->store = s;
  w->dir_index = best;
  w->fd = w->direct_fd = -1;
  w->length = length;
  memcpy(w->id, id, 16);
  w->fragment = fragment;
  if (small) {
    w->small = 1;
    w->image =
        segment_log_image_alloc(s->small, (size_t)chunk_stored_length(length));
    if (!w->image) {
      free(w);
      return CAIRN_ENOMEM;
    }
    w->block = w->image + CHUNK_HEADER_SIZE;
    *out = w;
    return 0;
  }
  fragment_path(s->dirs[best], id, fragment, w->dir, w->path);
  uint8_t nonce[8];
  char nonce_hex[17];
  crypto_random(nonce, sizeof nonce);
  crypto_hex(nonce, sizeof nonce, nonce_hex);
  snprintf(w->tmp_path, sizeof w->tmp_path, "%s.tmp-%s", w->path, nonce_hex);
  int rc = mkdir_p(w->dir);
  if (rc == 0 && !(w->out = buf_pool_get(s->file_buffers)))
    rc = CAIRN_ENOMEM;
  if (rc == 0) {
    w->fd = open(w->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (w->fd < 0)
      rc = cairn_err_from_errno(errno);
  }
  if (rc != 0) {
    dir_failed(w, rc);
    buf_pool_put(s->file_buffers, w->out);
    free(w);
    return rc;
  }
  /* EINVAL: the file system takes no O_DIRECT (tmpfs): all buffered. */
  w->direct_fd = open(w->tmp_path, O_WRONLY | O_DIRECT | O_CLOEXEC);
  struct chunk_header h = chunk_header_of(id, fragment, length);
  chunk_header_encode(&h, w->out);
  w->out_len = CHUNK_HEADER_SIZE;
  w->block = w->out + w->out_len;
  *out = w;
  return 0;
}

int chunk_writer_open(struct chunk_store *s, const uint8_t id[16],
                      uint32_t fragment, uint64_t length,
                      struct chunk_writer **out) {
  return writer_open(s, id, fragment, length, 0, out);
}

int chunk_writer_open_segment(struct chunk_store *s, const uint8_t id[16],
                              uint32_t fragment, uint64_t length,
                              struct chunk_writer **out) {
  return writer_open(s, id, fragment, length, 1, out);
}

/* Writes out's whole DIRECT_ALIGN units (O_DIRECT where it works) and
 * keeps the rest at its start; `last`: the rest too, buffered (the file's
 * tail). */
static int write_out(struct chunk_writer *w, int last) {
  size_t aligned = w->out_len / DIRECT_ALIGN * DIRECT_ALIGN;
  int rc = 0;
  if (aligned > 0 && w->direct_fd >= 0) {
    rc = pwrite_all(w->direct_fd, w->out, aligned, w->out_at);
    if (rc == CAIRN_EINVAL) { /* refused at write time: buffered */
      close(w->direct_fd);
      w->direct_fd = -1;
    }
  }
  if (aligned > 0 && w->direct_fd < 0)
    rc = pwrite_all(w->fd, w->out, aligned, w->out_at);
  if (rc == 0 && last)
    rc = pwrite_all(w->fd, w->out + aligned, w->out_len - aligned,
                    w->out_at + aligned);
  if (rc != 0)
    return rc;
  memmove(w->out, w->out + aligned, w->out_len - aligned);
  w->out_len -= aligned;
  w->out_at += aligned;
  return 0;
}

/* The block being filled gets its CRC and joins out, written when out
 * cannot take another block. */
static int flush_block(struct chunk_writer *w) {
  if (w->block_len == 0)
    return 0;
  uint32_t crc = crc32_iscsi(w->block, (int)w->block_len, 0);
  for (int b = 0; b < 4; b++)
    w->block[w->block_len + (size_t)b] = (uint8_t)(crc >> (24 - 8 * b));
  int rc = 0;
  if (w->store->disks)
    rc = node_disks_charge(w->store->disks, w->dir_index,
                           w->block_len + CHUNK_CRC_SIZE);
  w->out_len += w->block_len + CHUNK_CRC_SIZE;
  w->block_len = 0;
  if (rc == 0 && w->out_len + STRIDE > FILE_OUT)
    rc = write_out(w, 0);
  w->block = w->out + w->out_len;
  return dir_failed(w, rc);
}

int chunk_writer_append(struct chunk_writer *w, const void *data, size_t len) {
  const uint8_t *p = data;
  if (len > w->length - w->written)
    return CAIRN_ETOOBIG;
  w->crc = crc32_iscsi((unsigned char *)p, (int)len, w->crc);
  w->written += len;
  while (len > 0) {
    size_t take = CHUNK_BLOCK_SIZE - w->block_len;
    if (take > len)
      take = len;
    memcpy(w->block + w->block_len, p, take);
    w->block_len += take;
    p += take;
    len -= take;
    if (w->block_len == CHUNK_BLOCK_SIZE && w->small) {
      /* In the image: its CRC right behind it, the next block after. */
      put_u32(w->block + CHUNK_BLOCK_SIZE,
              crc32_iscsi(w->block, CHUNK_BLOCK_SIZE, 0));
      w->block += STRIDE;
      w->block_len = 0;
    } else if (w->block_len == CHUNK_BLOCK_SIZE) {
      int rc = flush_block(w);
      if (rc != 0)
        return rc;
    }
  }
  return 0;
}

/* A fragment rewritten (a repair in place) may have landed on another dir
 * than an older copy; reads take the first dir that has one, so the old
 * copy must go. */
static void drop_other_files(struct chunk_store *s, const uint8_t id[16],
                             uint32_t fragment, size_t keep) {
  char subdir[PATH_MAX_LEN], path[FRAGMENT_PATH_MAX];
  for (size_t i = 0; i < s->n; i++) {
    if (i == keep)
      continue;
    fragment_path(s->dirs[i], id, fragment, subdir, path);
    if (unlink(path) == 0)
      log_info("chunk", "removed an older copy %s", path);
  }
}

/* A file just committed: an older image of the same fragment in the
 * segment log (read first) must go too, durably before the put is
 * answered (else a crash could bring the older image back in front of
 * the file). 0, or the tombstone's sync error. */
static int drop_other_copies(struct chunk_writer *w) {
  drop_other_files(w->store, w->id, w->fragment, w->dir_index);
  if (!w->store->small)
    return 0;
  int rc = segment_log_delete_durable(w->store->small, w->id, w->fragment);
  if (rc == 0)
    log_info("chunk", "removed an older segment image of fragment %u",
             w->fragment);
  else if (rc != CAIRN_ENOENT)
    log_error("chunk", "removing an older segment image of fragment %u: %s",
              w->fragment, cairn_strerror(rc));
  return rc == CAIRN_ENOENT ? 0 : rc;
}

/* Gives a small fragment's image buffer back to the segment log. */
static void release_image(struct chunk_writer *w) {
  segment_log_image_free(w->store->small, w->image,
                         (size_t)chunk_stored_length(w->length));
}

/* Completes a small fragment's image (its header, the last block's CRC)
 * and charges its bytes to the segment log's dir; *len is its length. */
static int finish_image(struct chunk_writer *w, size_t *len) {
  struct chunk_header h = chunk_header_of(w->id, w->fragment, w->length);
  chunk_header_encode(&h, w->image);
  if (w->block_len)
    put_u32(w->block + w->block_len,
            crc32_iscsi(w->block, (int)w->block_len, 0));
  *len = (size_t)chunk_stored_length(w->length);
  return w->store->disks ? node_disks_charge(w->store->disks, SEGMENT_DIR, *len)
                         : 0;
}

/* The image of a small fragment into the segment log: durable on return. */
static int commit_small(struct chunk_writer *w) {
  size_t len;
  int rc = finish_image(w, &len);
  if (rc == 0)
    rc = segment_log_append(w->store->small, w->id, w->fragment, w->image, len);
  if (rc == 0)
    drop_other_files(w->store, w->id, w->fragment, w->store->n);
  return dir_failed(w, rc);
}

struct async_commit {
  struct chunk_writer *w;
  void (*done)(int status, void *arg);
  void *arg;
};

/* The syncer thread: the group is synced (or failed). The put is answered
 * first; then older file copies of the fragment (a repair in place of a
 * fragment once written to a file) are removed: the image, read first,
 * is durable by now. */
static void async_committed(int status, void *arg) {
  struct async_commit *a = arg;
  struct chunk_writer *w = a->w;
  void (*done)(int, void *) = a->done;
  void *done_arg = a->arg;
  struct chunk_store *s = w->store;
  uint8_t id[16];
  uint32_t fragment = w->fragment;
  memcpy(id, w->id, 16);
  dir_failed(w, status);
  release_image(w);
  free(w);
  free(a);
  done(status, done_arg);
  if (status == 0)
    drop_other_files(s, id, fragment, s->n);
}

int chunk_writer_commit_async(struct chunk_writer *w, uint32_t crc32c,
                              void (*done)(int status, void *arg), void *arg) {
  int rc = 0;
  struct async_commit *a = NULL;
  if (!w->small)
    rc = CAIRN_EINVAL;
  else if (w->written != w->length)
    rc = CAIRN_EINVAL;
  else if (w->crc != crc32c)
    rc = CAIRN_ECORRUPT;
  else if (!(a = malloc(sizeof *a)))
    rc = CAIRN_ENOMEM;
  if (rc == 0) {
    *a = (struct async_commit){w, done, arg};
    size_t len;
    rc = finish_image(w, &len);
    if (rc == 0)
      rc = segment_log_append_async(w->store->small, w->id, w->fragment,
                                    w->image, len, async_committed, a);
    if (rc == 0)
      return 0; /* w is freed by async_committed */
    dir_failed(w, rc);
  }
  free(a);
  chunk_writer_abort(w);
  return rc;
}

void chunk_store_flush(struct chunk_store *s) {
  if (s->small)
    segment_log_flush(s->small);
}

int chunk_writer_commit(struct chunk_writer *w, uint32_t crc32c) {
  int rc = 0;
  if (w->written != w->length)
    rc = CAIRN_EINVAL;
  else if (w->crc != crc32c)
    rc = CAIRN_ECORRUPT;
  if (w->small) {
    if (rc == 0)
      rc = commit_small(w);
    release_image(w);
    free(w);
    return rc;
  }
  if (rc == 0)
    rc = flush_block(w);
  if (rc == 0)
    rc = write_out(w, 1); /* dir_failed below */
  if (rc == 0 && fsync(w->fd) != 0)
    rc = cairn_err_from_errno(errno);
  if (w->direct_fd >= 0)
    close(w->direct_fd);
  buf_pool_put(w->store->file_buffers, w->out);
  if (close(w->fd) != 0 && rc == 0)
    rc = cairn_err_from_errno(errno);
  if (rc == 0 && rename(w->tmp_path, w->path) != 0)
    rc = cairn_err_from_errno(errno);
  if (rc == 0)
    rc = fsync_dir(w->dir);
  if (rc != 0)
    unlink(w->tmp_path);
  dir_failed(w, rc);
  if (rc == 0 && (rc = drop_other_copies(w)) != 0 && w->store->disks)
    node_disks_fail(w->store->disks, SEGMENT_DIR, rc); /* the log's dir */
  free(w);
  return rc;
}

void chunk_writer_abort(struct chunk_writer *w) {
  if (!w)
    return;
  if (!w->small) {
    if (w->direct_fd >= 0)
      close(w->direct_fd);
    buf_pool_put(w->store->file_buffers, w->out);
    close(w->fd);
    unlink(w->tmp_path);
  } else {
    release_image(w);
  }
  free(w);
}

static int read_exact(int fd, uint8_t *buf, size_t len, off_t at) {
  while (len > 0) {
    ssize_t n = pread(fd, buf, len, at);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return cairn_err_from_errno(errno);
    }
    if (n == 0)
      return CAIRN_ECORRUPT; /* truncated file */
    buf += n;
    len -= (size_t)n;
    at += n;
  }
  return 0;
}

/* Opens a fragment and checks its header against (id, fragment); returns
 * the fd (>= 0) or CAIRN_E*. */
static int open_fragment(struct chunk_store *s, const uint8_t id[16],
                         uint32_t fragment, struct chunk_header *h,
                         char *path) {
  int rc = find_fragment(s, id, fragment, path);
  if (rc != 0)
    return rc;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return cairn_err_from_errno(errno);
  uint8_t header[CHUNK_HEADER_SIZE];
  rc = read_exact(fd, header, sizeof header, 0);
  if (rc == 0)
    rc = chunk_header_decode(header, h);
  if (rc == 0 && (memcmp(h->chunk_id, id, 16) != 0 || h->fragment != fragment))
    rc = CAIRN_ECORRUPT; /* a file under another fragment's name */
  if (rc != 0) {
    close(fd);
    if (rc == CAIRN_ECORRUPT)
      log_error("chunk", "corrupt header in %s", path);
    return rc;
  }
  return fd;
}

/* The header of a small fragment in the segment log, checked as
 * open_fragment checks a file's (and its image's length). 0, CAIRN_ENOENT
 * (not a small one), CAIRN_EBUSY (nowait, and it would block) or
 * CAIRN_E*. */
static int read_small_header(struct chunk_store *s, const uint8_t id[16],
                             uint32_t fragment, struct chunk_header *h,
                             int nowait) {
  if (!s->small)
    return CAIRN_ENOENT;
  uint8_t raw[CHUNK_HEADER_SIZE];
  size_t image_len;
  int rc = segment_log_read(s->small, id, fragment, 0, raw, sizeof raw,
                            &image_len, nowait);
  if (rc == CAIRN_ERANGE)
    rc = CAIRN_ECORRUPT; /* shorter than a header */
  if (rc == 0)
    rc = chunk_header_decode(raw, h);
  if (rc == 0 && (memcmp(h->chunk_id, id, 16) != 0 || h->fragment != fragment))
    rc = CAIRN_ECORRUPT;
  if (rc == 0 && image_len != chunk_stored_length(h->length))
    rc = CAIRN_ECORRUPT;
  if (rc == CAIRN_ECORRUPT)
    log_error("chunk", "corrupt segment image of a fragment %u", fragment);
  return rc;
}

size_t chunk_span_bytes(uint64_t offset, size_t len) {
  if (len == 0 || offset > CHUNK_MAX_FRAGMENT || len > CHUNK_MAX_FRAGMENT)
    return 0; /* no fragment holds such a range (and offset + len wraps) */
  uint64_t first = offset / CHUNK_BLOCK_SIZE;
  uint64_t last = (offset + len - 1) / CHUNK_BLOCK_SIZE;
  return (size_t)((last - first + 1) * STRIDE);
}

/* Where the stored blocks that hold [offset, offset + len) of a fragment
 * of `length` data bytes start (counted from its header), and how many
 * stored bytes they take, the last block cut at the end. len > 0. */
static void span_of(uint64_t length, uint64_t offset, size_t len, uint64_t *at,
                    size_t *span_len) {
  uint64_t first = offset / CHUNK_BLOCK_SIZE;
  uint64_t last = (offset + len - 1) / CHUNK_BLOCK_SIZE;
  uint64_t end = (last + 1) * CHUNK_BLOCK_SIZE;
  if (end > length)
    end = length;
  *at = CHUNK_HEADER_SIZE + first * STRIDE;
  *span_len = (size_t)(end - first * CHUNK_BLOCK_SIZE +
                       (last - first + 1) * CHUNK_CRC_SIZE);
}

/* Checks every block's CRC in a span read by span_of (unless !verify)
 * and points iov at the range's bytes in it (the CRCs skipped). 0 or
 * CAIRN_ECORRUPT (logged, naming `what`). */
static int check_span(uint8_t *span, uint64_t length, uint64_t offset,
                      size_t len, int verify, struct iovec *iov,
                      size_t *iov_count, const char *what) {
  uint64_t first = offset / CHUNK_BLOCK_SIZE;
  uint64_t last = (offset + len - 1) / CHUNK_BLOCK_SIZE;
  size_t n = 0;
  for (uint64_t b = first; b <= last; b++) {
    uint8_t *block = span + (b - first) * STRIDE;
    uint64_t block_start = b * CHUNK_BLOCK_SIZE;
    size_t block_len = length - block_start < CHUNK_BLOCK_SIZE
                           ? (size_t)(length - block_start)
                           : CHUNK_BLOCK_SIZE;
    if (verify &&
        crc32_iscsi(block, (int)block_len, 0) != get_u32(block + block_len)) {
      log_error("chunk", "CRC mismatch in block %llu of %s",
                (unsigned long long)b, what);
      return CAIRN_ECORRUPT;
    }
    uint64_t from = offset > block_start ? offset - block_start : 0;
    uint64_t to = offset + len - block_start;
    if (to > block_len)
      to = block_len;
    iov[n].iov_base = block + from;
    iov[n].iov_len = (size_t)(to - from);
    n++;
  }
  *iov_count = n;
  return 0;
}

int chunk_read_small_iov(struct chunk_store *s, const uint8_t id[16],
                         uint32_t fragment, uint64_t offset, size_t len,
                         int verify, uint8_t *span, size_t span_cap,
                         struct iovec *iov, size_t *iov_count, uint64_t *length,
                         int nowait) {
  struct chunk_header h;
  *iov_count = 0;
  if (offset > CHUNK_MAX_FRAGMENT) /* beyond any fragment; never wraps */
    return CAIRN_ERANGE;
  if (len > CHUNK_SEGMENT_MAX || span_cap < chunk_span_bytes(offset, len))
    return CAIRN_EINVAL;
  int rc = read_small_header(s, id, fragment, &h, nowait);
  if (rc != 0)
    return rc;
  if (offset > h.length || len > h.length - offset)
    return CAIRN_ERANGE;
  if (length)
    *length = h.length;
  if (len == 0)
    return 0;
  /* The blocks that hold the range, with their CRCs, in one read. */
  uint64_t at;
  size_t span_len, image_len;
  span_of(h.length, offset, len, &at, &span_len);
  rc = segment_log_read(s->small, id, fragment, at, span, span_len, &image_len,
                        nowait);
  if (rc == CAIRN_ERANGE)
    rc = CAIRN_ECORRUPT;
  char what[48];
  snprintf(what, sizeof what, "a segment image (fragment %u)", fragment);
  return rc ? rc
            : check_span(span, h.length, offset, len, verify, iov, iov_count,
                         what);
}

int chunk_read_small(struct chunk_store *s, const uint8_t id[16],
                     uint32_t fragment, uint64_t offset, size_t len,
                     uint8_t *buf, uint64_t *length, int nowait) {
  if (len > CHUNK_SEGMENT_MAX) { /* never a small fragment's range */
    int rc =
        read_small_header(s, id, fragment, &(struct chunk_header){0}, nowait);
    return rc == 0 ? CAIRN_ERANGE : rc;
  }
  size_t cap = chunk_span_bytes(offset, len);
  uint8_t *span = malloc(cap ? cap : 1);
  if (!span)
    return CAIRN_ENOMEM;
  struct iovec iov[CHUNK_SPAN_IOV_MAX];
  size_t n;
  int rc = chunk_read_small_iov(s, id, fragment, offset, len, 1, span, cap, iov,
                                &n, length, nowait);
  for (size_t i = 0; i < n; i++) {
    memcpy(buf, iov[i].iov_base, iov[i].iov_len);
    buf += iov[i].iov_len;
  }
  free(span);
  return rc;
}

int chunk_read(struct chunk_store *s, const uint8_t id[16], uint32_t fragment,
               uint64_t offset, size_t len, uint8_t *buf) {
  int small = chunk_read_small(s, id, fragment, offset, len, buf, NULL, 0);
  if (small != CAIRN_ENOENT)
    return small;
  char path[FRAGMENT_PATH_MAX];
  struct chunk_header h;
  int fd = open_fragment(s, id, fragment, &h, path);
  if (fd < 0)
    return fd;
  uint64_t length = h.length;
  int rc = 0;
  if (offset > length || len > length - offset) {
    close(fd);
    return CAIRN_ERANGE;
  }
  uint8_t *block = malloc(CHUNK_BLOCK_SIZE + CHUNK_CRC_SIZE);
  if (!block) {
    close(fd);
    return CAIRN_ENOMEM;
  }
  while (len > 0 && rc == 0) {
    uint64_t index = offset / CHUNK_BLOCK_SIZE;
    uint64_t block_start = index * CHUNK_BLOCK_SIZE;
    size_t block_len = length - block_start < CHUNK_BLOCK_SIZE
                           ? (size_t)(length - block_start)
                           : CHUNK_BLOCK_SIZE;
    off_t at = (off_t)(CHUNK_HEADER_SIZE +
                       index * (CHUNK_BLOCK_SIZE + CHUNK_CRC_SIZE));
    rc = read_exact(fd, block, block_len + CHUNK_CRC_SIZE, at);
    if (rc == CAIRN_ECORRUPT)
      log_error("chunk", "%s is truncated (block %llu)", path,
                (unsigned long long)index);
    if (rc != 0)
      break;
    uint32_t crc = crc32_iscsi(block, (int)block_len, 0);
    uint32_t stored = (uint32_t)block[block_len] << 24 |
                      (uint32_t)block[block_len + 1] << 16 |
                      (uint32_t)block[block_len + 2] << 8 |
                      block[block_len + 3];
    if (crc != stored) {
      log_error("chunk", "CRC mismatch in block %llu of %s",
                (unsigned long long)index, path);
      rc = CAIRN_ECORRUPT;
      break;
    }
    size_t from = (size_t)(offset - block_start);
    size_t take = block_len - from < len ? block_len - from : len;
    memcpy(buf, block + from, take);
    buf += take;
    offset += take;
    len -= take;
  }
  free(block);
  close(fd);
  return rc;
}

struct chunk_file {
  int fd;
  uint64_t length;
  char path[FRAGMENT_PATH_MAX];
};

int chunk_file_open(struct chunk_store *s, const uint8_t id[16],
                    uint32_t fragment, struct chunk_file **out,
                    uint64_t *length) {
  struct chunk_file *f = malloc(sizeof *f);
  if (!f)
    return CAIRN_ENOMEM;
  struct chunk_header h;
  f->fd = open_fragment(s, id, fragment, &h, f->path);
  if (f->fd < 0) {
    int rc = f->fd;
    free(f);
    return rc;
  }
  f->length = h.length;
  *length = h.length;
  *out = f;
  return 0;
}

int chunk_file_read_iov(struct chunk_file *f, uint64_t offset, size_t len,
                        int verify, uint8_t *span, size_t span_cap,
                        struct iovec *iov, size_t *iov_count) {
  *iov_count = 0;
  if (offset > CHUNK_MAX_FRAGMENT) /* beyond any fragment; never wraps */
    return CAIRN_ERANGE;
  if (len > CHUNK_SEGMENT_MAX || span_cap < chunk_span_bytes(offset, len))
    return CAIRN_EINVAL;
  if (offset > f->length || len > f->length - offset)
    return CAIRN_ERANGE;
  if (len == 0)
    return 0;
  uint64_t at;
  size_t span_len;
  span_of(f->length, offset, len, &at, &span_len);
  int rc = read_exact(f->fd, span, span_len, (off_t)at);
  if (rc == CAIRN_ECORRUPT)
    log_error("chunk", "%s is truncated (at %llu)", f->path,
              (unsigned long long)at);
  return rc ? rc
            : check_span(span, f->length, offset, len, verify, iov, iov_count,
                         f->path);
}

void chunk_file_close(struct chunk_file *f) {
  if (!f)
    return;
  close(f->fd);
  free(f);
}

int chunk_stat(struct chunk_store *s, const uint8_t id[16], uint32_t fragment,
               uint64_t *length) {
  struct chunk_header h;
  int rc = chunk_read_header(s, id, fragment, &h);
  if (rc == 0)
    *length = h.length;
  return rc;
}

int chunk_read_header(struct chunk_store *s, const uint8_t id[16],
                      uint32_t fragment, struct chunk_header *out) {
  int small = read_small_header(s, id, fragment, out, 0);
  if (small != CAIRN_ENOENT)
    return small;
  char path[FRAGMENT_PATH_MAX];
  int fd = open_fragment(s, id, fragment, out, path);
  if (fd < 0)
    return fd;
  close(fd);
  return 0;
}

int chunk_delete(struct chunk_store *s, const uint8_t id[16],
                 uint32_t fragment) {
  /* Every copy: the segment image and any file (a crash between a
   * rewrite and the removal of its older copy can leave both). */
  int rc = s->small ? segment_log_delete(s->small, id, fragment) : CAIRN_ENOENT;
  if (rc != 0 && rc != CAIRN_ENOENT)
    return rc;
  char subdir[PATH_MAX_LEN], path[FRAGMENT_PATH_MAX];
  for (size_t i = 0; i < s->n; i++) {
    fragment_path(s->dirs[i], id, fragment, subdir, path);
    if (unlink(path) == 0)
      rc = 0;
    else if (errno != ENOENT)
      return cairn_err_from_errno(errno);
  }
  return rc;
}

struct segment_log *chunk_store_segments(struct chunk_store *s) {
  return s->small;
}

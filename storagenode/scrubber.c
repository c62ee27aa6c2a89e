/*
 * scrubber.c - verify every fragment's blocks at a bounded rate (see
 * scrubber.h). One pass walks <dir>/chunks/<h0h1>/<h2h3>/ of each data
 * dir, then the live images of the segment log (segment_log_list, in log
 * order, up to the end the log had when the walk began); between blocks
 * the token bucket (common/rate_limit.h) makes the thread wait on a
 * condition variable, so a stop is answered at once.
 */
#include "scrubber.h"

#include "chunk_store.h"
#include "crypto.h"
#include "disks.h"
#include "error.h"
#include "log.h"
#include "rate_limit.h"
#include "segment_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <isa-l.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PATH_LEN 4200
#define IMAGES_PER_LIST 64 /* images copied out of the index at a time */

struct scrubber {
  struct scrubber_config cfg;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  int stopping;
  struct rate_limit rate;
  struct scrub_report reports[SCRUB_REPORTS_MAX];
  size_t n_reports;
  struct scrub_stats stats;
  uint8_t block[CHUNK_BLOCK_SIZE + CHUNK_CRC_SIZE];
};

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The CLOCK_REALTIME deadline ms from now, for pthread_cond_timedwait. */
static struct timespec deadline_in(uint64_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += (time_t)(ms / 1000);
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  return ts;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

int scrub_parse_name(const char *name, uint8_t chunk_id[16],
                     uint32_t *fragment) {
  if (strlen(name) < 34 || name[32] != '.')
    return CAIRN_EINVAL;
  for (int i = 0; i < 16; i++) {
    int hi = hexval(name[2 * i]), lo = hexval(name[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return CAIRN_EINVAL;
    chunk_id[i] = (uint8_t)(hi << 4 | lo);
  }
  uint64_t v = 0;
  for (const char *p = name + 33; *p; p++) {
    if (*p < '0' || *p > '9' || v > UINT32_MAX / 10)
      return CAIRN_EINVAL;
    v = v * 10 + (uint64_t)(*p - '0');
  }
  if (v > UINT32_MAX)
    return CAIRN_EINVAL;
  *fragment = (uint32_t)v;
  return 0;
}

/* Waits until `bytes` may be read; 1 when stopping. Called unlocked. */
static int pace(struct scrubber *s, uint64_t bytes) {
  pthread_mutex_lock(&s->lock);
  uint64_t wait;
  while (!s->stopping &&
         (wait = rate_limit_take(&s->rate, bytes, mono_ms())) != 0) {
    struct timespec ts = deadline_in(wait);
    pthread_cond_timedwait(&s->wake, &s->lock, &ts);
  }
  int stop = s->stopping;
  pthread_mutex_unlock(&s->lock);
  return stop;
}

static int read_at(int fd, uint8_t *buf, size_t len, off_t at) {
  while (len > 0) {
    ssize_t n = pread(fd, buf, len, at);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return cairn_err_from_errno(errno);
    if (n == 0)
      return CAIRN_ECORRUPT; /* truncated */
    buf += n;
    len -= (size_t)n;
    at += n;
  }
  return 0;
}

/* Reads len bytes at offset `at` of one fragment as stored (a file or a
 * segment image): 0 or an error. */
typedef int (*stored_read_fn)(void *ctx, uint64_t at, uint8_t *buf, size_t len);

/* Every block of a fragment of `length` data bytes against the CRC behind
 * it, paced: 0 good, CAIRN_ECORRUPT bad, 1 stopping, or the read's error. */
static int verify_blocks(struct scrubber *s, uint64_t length,
                         stored_read_fn read, void *ctx) {
  int rc = 0;
  for (uint64_t at = 0; rc == 0 && at < length; at += CHUNK_BLOCK_SIZE) {
    size_t len = length - at < CHUNK_BLOCK_SIZE ? (size_t)(length - at)
                                                : CHUNK_BLOCK_SIZE;
    if (pace(s, len + CHUNK_CRC_SIZE))
      return 1;
    uint64_t off = CHUNK_HEADER_SIZE +
                   at / CHUNK_BLOCK_SIZE * (CHUNK_BLOCK_SIZE + CHUNK_CRC_SIZE);
    rc = read(ctx, off, s->block, len + CHUNK_CRC_SIZE);
    if (rc == 0) {
      const uint8_t *c = s->block + len;
      uint32_t stored = (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 |
                        (uint32_t)c[2] << 8 | c[3];
      if (crc32_iscsi(s->block, (int)len, 0) != stored)
        rc = CAIRN_ECORRUPT;
    }
    pthread_mutex_lock(&s->lock);
    s->stats.bytes += len + CHUNK_CRC_SIZE;
    pthread_mutex_unlock(&s->lock);
  }
  return rc;
}

static int read_file(void *ctx, uint64_t at, uint8_t *buf, size_t len) {
  return read_at(*(int *)ctx, buf, len, (off_t)at);
}

/* 0 good, CAIRN_ECORRUPT bad, 1 stopping, or an I/O error. */
static int verify(struct scrubber *s, const char *path, const uint8_t id[16],
                  uint32_t fragment) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : cairn_err_from_errno(errno);
  uint8_t header[CHUNK_HEADER_SIZE];
  struct chunk_header h = {0};
  int rc = read_at(fd, header, sizeof header, 0);
  if (rc == 0)
    rc = chunk_header_decode(header, &h);
  if (rc == 0 && (memcmp(h.chunk_id, id, 16) != 0 || h.fragment != fragment))
    rc = CAIRN_ECORRUPT;
  if (rc == 0)
    rc = verify_blocks(s, h.length, read_file, &fd);
  close(fd);
  return rc;
}

static void queue_report(struct scrubber *s, const uint8_t id[16],
                         uint32_t fragment) {
  pthread_mutex_lock(&s->lock);
  s->stats.corrupt++;
  if (s->n_reports < SCRUB_REPORTS_MAX) {
    memcpy(s->reports[s->n_reports].chunk_id, id, 16);
    s->reports[s->n_reports++].fragment = fragment;
  }
  pthread_mutex_unlock(&s->lock);
}

static void report(struct scrubber *s, const char *path, const uint8_t id[16],
                   uint32_t fragment) {
  log_error("scrub", "fragment %s failed verification; reporting it", path);
  queue_report(s, id, fragment);
}

static void count_fragment(struct scrubber *s, int *stop) {
  pthread_mutex_lock(&s->lock);
  s->stats.files++;
  *stop = s->stopping;
  pthread_mutex_unlock(&s->lock);
}

/* Calls fn on each entry name of dir (not . and ..); 1 when stopping. */
static int scan_level(struct scrubber *s, size_t dir_index, const char *dir,
                      int depth) {
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  int stop = 0;
  struct dirent *e;
  while (!stop && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.')
      continue;
    char path[PATH_LEN];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (depth < 2) {
      stop = scan_level(s, dir_index, path, depth + 1);
      continue;
    }
    uint8_t id[16];
    uint32_t fragment;
    if (scrub_parse_name(e->d_name, id, &fragment) != 0)
      continue; /* temporary files and strangers */
    int rc = verify(s, path, id, fragment);
    count_fragment(s, &stop);
    if (rc == 1)
      stop = 1;
    else if (rc == CAIRN_ECORRUPT)
      report(s, path, id, fragment);
    else if (rc == CAIRN_EIO)
      node_disks_fail(s->cfg.disks, dir_index, rc);
  }
  closedir(d);
  return stop;
}

/* Reads len bytes at `at` of the image of (id, fragment): 0, CAIRN_ENOENT
 * (deleted or rewritten with another length since it was listed: nothing
 * to verify), or the read's error. */
static int read_image(struct scrubber *s, const uint8_t id[16],
                      uint32_t fragment, uint64_t at, uint8_t *buf, size_t len,
                      size_t expect_len) {
  size_t image_len;
  int rc = segment_log_read(s->cfg.segments, id, fragment, at, buf, len,
                            &image_len, 0);
  if (rc == CAIRN_ERANGE || (rc == 0 && image_len != expect_len))
    rc = CAIRN_ENOENT;
  return rc;
}

struct image_ref {
  struct scrubber *s;
  const struct segment_image *img;
};

static int read_image_at(void *ctx, uint64_t at, uint8_t *buf, size_t len) {
  const struct image_ref *r = ctx;
  return read_image(r->s, r->img->id, r->img->fragment, at, buf, len,
                    r->img->len);
}

/* verify() for a segment image: the header (its id, fragment and length
 * against the index's), then every block's CRC. 0 good (or gone),
 * CAIRN_ECORRUPT bad, 1 stopping, or an I/O error. */
static int verify_image(struct scrubber *s, const struct segment_image *img) {
  uint8_t header[CHUNK_HEADER_SIZE];
  struct chunk_header h = {0};
  int rc =
      read_image(s, img->id, img->fragment, 0, header, sizeof header, img->len);
  if (rc == 0)
    rc = chunk_header_decode(header, &h);
  if (rc == 0 &&
      (memcmp(h.chunk_id, img->id, 16) != 0 || h.fragment != img->fragment ||
       chunk_stored_length(h.length) != img->len))
    rc = CAIRN_ECORRUPT;
  struct image_ref ref = {s, img};
  if (rc == 0)
    rc = verify_blocks(s, h.length, read_image_at, &ref);
  return rc == CAIRN_ENOENT ? 0 : rc;
}

/* One walk over the segment log's live images; 1 when stopping. */
static int scan_segments(struct scrubber *s) {
  struct segment_log *l = s->cfg.segments;
  if (!l)
    return 0;
  struct segment_cursor cursor = {0, 0}, end;
  segment_log_end(l, &end);
  struct segment_image imgs[IMAGES_PER_LIST];
  int stop = 0;
  size_t n;
  while (!stop && (n = segment_log_list(l, &cursor, imgs, IMAGES_PER_LIST))) {
    for (size_t i = 0; i < n && !stop; i++) {
      const struct segment_image *img = &imgs[i];
      if (img->segment > end.segment ||
          (img->segment == end.segment && img->offset >= end.offset))
        return 0; /* appended since the walk began: the next pass */
      int rc = verify_image(s, img);
      count_fragment(s, &stop);
      if (rc == 1) {
        stop = 1;
      } else if (rc == CAIRN_ECORRUPT) {
        char hex[33];
        crypto_hex(img->id, 16, hex);
        log_error("scrub",
                  "fragment %s.%u (segment image at %s/%016llx.seg offset "
                  "%llu) failed verification; reporting it",
                  hex, img->fragment, segment_log_dir(l),
                  (unsigned long long)img->segment,
                  (unsigned long long)img->offset);
        queue_report(s, img->id, img->fragment);
      } else if (rc == CAIRN_EIO) {
        node_disks_fail(s->cfg.disks, s->cfg.segment_dir, rc);
      }
    }
  }
  return stop;
}

static void *run(void *arg) {
  struct scrubber *s = arg;
  for (;;) {
    for (size_t i = 0; i < s->cfg.n; i++) {
      char top[PATH_LEN];
      snprintf(top, sizeof top, "%s/chunks", s->cfg.dirs[i]);
      if (scan_level(s, i, top, 0))
        return NULL;
    }
    if (scan_segments(s))
      return NULL;
    pthread_mutex_lock(&s->lock);
    s->stats.passes++;
    struct timespec ts = deadline_in(s->cfg.interval_ms);
    if (!s->stopping)
      pthread_cond_timedwait(&s->wake, &s->lock, &ts);
    int stop = s->stopping;
    pthread_mutex_unlock(&s->lock);
    if (stop)
      return NULL;
  }
}

int scrubber_start(const struct scrubber_config *cfg, struct scrubber **out) {
  *out = NULL;
  if (cfg->bytes_per_sec == 0)
    return 0;
  struct scrubber *s = calloc(1, sizeof *s);
  if (!s)
    return CAIRN_ENOMEM;
  s->cfg = *cfg;
  pthread_mutex_init(&s->lock, NULL);
  pthread_cond_init(&s->wake, NULL);
  rate_limit_init(&s->rate, cfg->bytes_per_sec, mono_ms());
  if (pthread_create(&s->thread, NULL, run, s) != 0) {
    pthread_cond_destroy(&s->wake);
    pthread_mutex_destroy(&s->lock);
    free(s);
    return CAIRN_ENOMEM;
  }
  *out = s;
  return 0;
}

void scrubber_stop(struct scrubber *s) {
  if (!s)
    return;
  pthread_mutex_lock(&s->lock);
  s->stopping = 1;
  pthread_cond_signal(&s->wake);
  pthread_mutex_unlock(&s->lock);
  pthread_join(s->thread, NULL);
  pthread_cond_destroy(&s->wake);
  pthread_mutex_destroy(&s->lock);
  free(s);
}

size_t scrubber_take_reports(struct scrubber *s, struct scrub_report *out,
                             size_t cap) {
  if (!s)
    return 0;
  pthread_mutex_lock(&s->lock);
  size_t n = s->n_reports < cap ? s->n_reports : cap;
  memcpy(out, s->reports, n * sizeof *out);
  memmove(s->reports, s->reports + n, (s->n_reports - n) * sizeof *out);
  s->n_reports -= n;
  pthread_mutex_unlock(&s->lock);
  return n;
}

void scrubber_get_stats(struct scrubber *s, struct scrub_stats *out) {
  memset(out, 0, sizeof *out);
  if (!s)
    return;
  pthread_mutex_lock(&s->lock);
  *out = s->stats;
  pthread_mutex_unlock(&s->lock);
}

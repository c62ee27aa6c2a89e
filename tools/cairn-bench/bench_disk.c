/* bench_disk.c - durable write bandwidth and sync latency of a directory's
 * file system (see bench_disk.h). */
#include "bench_disk.h"

#include "bench_report.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BIG_WRITE (1u << 20)
#define SMALL_WRITE 4096u
#define SYNC_SAMPLES_MAX 100000

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A writer's file: DIR/cairn-bench-disk.PID.N, created empty in *fd.
 * 0 or CAIRN_E*. */
static int open_scratch(const char *dir, int n, char *path, size_t cap,
                        int *fd) {
  int len =
      snprintf(path, cap, "%s/cairn-bench-disk.%ld.%d", dir, (long)getpid(), n);
  if (len < 0 || (size_t)len >= cap)
    return CAIRN_EINVAL;
  *fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  return *fd < 0 ? cairn_err_from_errno(errno) : 0;
}

static int write_all(int fd, const uint8_t *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return n < 0 ? cairn_err_from_errno(errno) : CAIRN_EIO;
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

struct writer {
  pthread_t thread;
  const char *dir;
  int index;
  double seconds;
  const uint8_t *buf;
  uint64_t bytes;
  int status;
};

/* Appends BIG_WRITE and fdatasyncs until `seconds` have passed. */
static void *writer_main(void *arg) {
  struct writer *w = arg;
  char path[4096];
  int fd;
  w->status = open_scratch(w->dir, w->index, path, sizeof path, &fd);
  if (w->status)
    return NULL;
  double start = now_seconds();
  while (now_seconds() - start < w->seconds) {
    w->status = write_all(fd, w->buf, BIG_WRITE);
    if (w->status == 0 && fdatasync(fd) != 0)
      w->status = cairn_err_from_errno(errno);
    if (w->status)
      break;
    w->bytes += BIG_WRITE;
  }
  close(fd);
  unlink(path);
  return NULL;
}

static int measure_bandwidth(const char *dir, double seconds, double *mbps) {
  uint8_t *buf = malloc(BIG_WRITE);
  if (!buf)
    return CAIRN_ENOMEM;
  memset(buf, 0xa5, BIG_WRITE); /* no file system gets to skip zeros */
  struct writer w[BENCH_DISK_WRITERS];
  int started = 0, rc = 0;
  double start = now_seconds();
  for (int i = 0; i < BENCH_DISK_WRITERS; i++) {
    w[i] =
        (struct writer){.dir = dir, .index = i, .seconds = seconds, .buf = buf};
    if (pthread_create(&w[i].thread, NULL, writer_main, &w[i]) != 0) {
      rc = CAIRN_ENOMEM;
      break;
    }
    started++;
  }
  uint64_t total = 0;
  for (int i = 0; i < started; i++) {
    pthread_join(w[i].thread, NULL);
    total += w[i].bytes;
    if (!rc)
      rc = w[i].status;
  }
  double elapsed = now_seconds() - start;
  free(buf);
  if (!rc)
    *mbps = (double)total / elapsed / 1e6;
  return rc;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static int measure_sync(const char *dir, double seconds, double *median_us) {
  char path[4096];
  uint8_t buf[SMALL_WRITE];
  memset(buf, 0x5a, sizeof buf);
  double *samples = malloc(SYNC_SAMPLES_MAX * sizeof *samples);
  if (!samples)
    return CAIRN_ENOMEM;
  int fd;
  int rc = open_scratch(dir, BENCH_DISK_WRITERS, path, sizeof path, &fd);
  if (rc) {
    free(samples);
    return rc;
  }
  size_t n = 0;
  double start = now_seconds();
  while (n < SYNC_SAMPLES_MAX && (n == 0 || now_seconds() - start < seconds)) {
    double t0 = now_seconds();
    rc = write_all(fd, buf, sizeof buf);
    if (rc == 0 && fdatasync(fd) != 0)
      rc = cairn_err_from_errno(errno);
    if (rc)
      break;
    samples[n++] = (now_seconds() - t0) * 1e6;
  }
  close(fd);
  unlink(path);
  if (!rc) {
    qsort(samples, n, sizeof *samples, cmp_double);
    *median_us = samples[n / 2];
  }
  free(samples);
  return rc;
}

int bench_disk_measure(const char *dir, double seconds,
                       struct bench_disk_result *out) {
  memset(out, 0, sizeof *out);
  int rc = measure_bandwidth(dir, seconds, &out->durable_mbps);
  if (!rc)
    rc = measure_sync(dir, seconds, &out->append_sync_us);
  return rc;
}

int bench_disk(const char *dir, int json) {
  struct bench_disk_result r;
  int rc = bench_disk_measure(dir, BENCH_DISK_SECONDS, &r);
  if (rc) {
    fprintf(stderr, "cairn-bench disk: %s: %s\n", dir, cairn_strerror(rc));
    return rc;
  }
  if (json)
    return bench_report_print_json(json_pack(
        "{s:s, s:f, s:i, s:f}", "scenario", "disk", "durable_write_mbps",
        r.durable_mbps, "writers", BENCH_DISK_WRITERS, "append_4k_fdatasync_us",
        r.append_sync_us));
  printf("file system under %s\n", dir);
  printf("  1 MiB appends + fdatasync, %d writers   %8.0f MB/s\n",
         BENCH_DISK_WRITERS, r.durable_mbps);
  printf("  4 KiB append + fdatasync, median       %8.0f us\n",
         r.append_sync_us);
  return 0;
}

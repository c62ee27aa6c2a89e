/* disks.c - per-dir service state (see disks.h). */
#include "disks.h"

#include "chunk_store.h"

#include "error.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#define MAX_DIRS 32

struct disk {
  char *const *path;
  int failed; /* 0 ok, CAIRN_EIO, CAIRN_ENOSPC */
  uint64_t failed_at_ms;
  uint64_t used;
};

struct node_disks {
  pthread_mutex_t lock;
  size_t n;
  uint64_t max_bytes;
  struct disk disk[MAX_DIRS];
};

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int node_disks_new(char *const *dirs, size_t n, uint64_t max_bytes,
                   struct node_disks **out) {
  if (n == 0 || n > MAX_DIRS)
    return CAIRN_EINVAL;
  struct node_disks *d = calloc(1, sizeof *d);
  if (!d)
    return CAIRN_ENOMEM;
  pthread_mutex_init(&d->lock, NULL);
  d->n = n;
  d->max_bytes = max_bytes;
  for (size_t i = 0; i < n; i++)
    d->disk[i].path = &dirs[i];
  *out = d;
  return 0;
}

void node_disks_free(struct node_disks *d) {
  if (!d)
    return;
  pthread_mutex_destroy(&d->lock);
  free(d);
}

size_t node_disks_count(const struct node_disks *d) {
  return d->n;
}

/* Under the lock: is dir i in service now? */
static int in_service(struct node_disks *d, size_t i) {
  struct disk *k = &d->disk[i];
  if (k->failed == CAIRN_ENOSPC &&
      mono_ms() - k->failed_at_ms >= DISKS_NOSPC_RETRY_MS &&
      (!d->max_bytes || k->used < d->max_bytes))
    k->failed = 0;
  return k->failed == 0;
}

int node_disks_writable(struct node_disks *d, size_t i) {
  if (i >= d->n)
    return 0;
  pthread_mutex_lock(&d->lock);
  int ok = in_service(d, i);
  pthread_mutex_unlock(&d->lock);
  return ok;
}

static void fail_locked(struct node_disks *d, size_t i, int err) {
  struct disk *k = &d->disk[i];
  if (k->failed == 0 || k->failed == CAIRN_ENOSPC)
    log_error("disk", "data dir %s out of service for writes: %s", *k->path,
              cairn_strerror(err));
  if (k->failed != CAIRN_EIO) /* EIO stays until restart */
    k->failed = err;
  k->failed_at_ms = mono_ms();
}

int node_disks_charge(struct node_disks *d, size_t i, uint64_t bytes) {
  if (i >= d->n)
    return CAIRN_EINVAL;
  int rc = 0;
  pthread_mutex_lock(&d->lock);
  if (d->max_bytes && d->disk[i].used + bytes > d->max_bytes) {
    rc = CAIRN_ENOSPC;
    fail_locked(d, i, rc);
  } else {
    d->disk[i].used += bytes;
  }
  pthread_mutex_unlock(&d->lock);
  return rc;
}

void node_disks_fail(struct node_disks *d, size_t i, int err) {
  if (!d || i >= d->n || (err != CAIRN_EIO && err != CAIRN_ENOSPC))
    return;
  pthread_mutex_lock(&d->lock);
  fail_locked(d, i, err);
  pthread_mutex_unlock(&d->lock);
}

void node_disks_view(struct node_disks *d, size_t i,
                     struct node_disk_view *out) {
  memset(out, 0, sizeof *out);
  if (i >= d->n)
    return;
  pthread_mutex_lock(&d->lock);
  out->path = *d->disk[i].path;
  out->writable = in_service(d, i);
  out->used_bytes = d->disk[i].used;
  if (!out->writable)
    snprintf(out->reason, sizeof out->reason, "%s",
             d->disk[i].failed == CAIRN_EIO ? "I/O error" : "full");
  pthread_mutex_unlock(&d->lock);
}

uint64_t node_disks_free_bytes(struct node_disks *d) {
  uint64_t total = 0;
  for (size_t i = 0; i < d->n; i++) {
    struct node_disk_view v;
    node_disks_view(d, i, &v);
    struct statvfs st;
    if (!v.writable || statvfs(v.path, &st) != 0)
      continue;
    uint64_t free_bytes = (uint64_t)st.f_bavail * st.f_frsize;
    /* What chunk_writer_open leaves free is not ours to offer. */
    free_bytes =
        free_bytes > CHUNK_RESERVE_BYTES ? free_bytes - CHUNK_RESERVE_BYTES : 0;
    total += free_bytes; /* dirs sharing a file system count twice: rare */
  }
  return total;
}

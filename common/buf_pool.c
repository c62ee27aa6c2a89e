/* buf_pool.c - a bounded free list of equal-sized buffers (buf_pool.h). */
#include "buf_pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

struct buf_pool {
  size_t size, keep_max, idle;
  void *free_list; /* each idle buffer's first word links to the next */
  int mapped;      /* buffers are mmap'd (buf_pool_new_mapped) */
  size_t align;    /* 0: malloc */
  int shared;      /* mu guards free_list and idle */
  pthread_mutex_t mu;
};

static struct buf_pool *pool_new(size_t size, size_t keep_max) {
  if (size < sizeof(void *))
    return NULL;
  struct buf_pool *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->size = size;
  p->keep_max = keep_max;
  return p;
}

struct buf_pool *buf_pool_new(size_t size, size_t keep_max) {
  return pool_new(size, keep_max);
}

struct buf_pool *buf_pool_new_mapped(size_t size, size_t keep_max) {
  struct buf_pool *p = pool_new(size, keep_max);
  if (p)
    p->mapped = 1;
  return p;
}

struct buf_pool *buf_pool_new_shared(size_t size, size_t align,
                                     size_t keep_max) {
  if (align < sizeof(void *) || (align & (align - 1)) != 0)
    return NULL;
  struct buf_pool *p = pool_new(size, keep_max);
  if (!p)
    return NULL;
  p->align = align;
  p->shared = 1;
  if (pthread_mutex_init(&p->mu, NULL) != 0) {
    free(p);
    return NULL;
  }
  return p;
}

size_t buf_pool_size(const struct buf_pool *p) {
  return p->size;
}

static void lock(struct buf_pool *p) {
  if (p->shared)
    pthread_mutex_lock(&p->mu);
}

static void unlock(struct buf_pool *p) {
  if (p->shared)
    pthread_mutex_unlock(&p->mu);
}

static void *buf_new(const struct buf_pool *p) {
  void *buf;
  if (p->mapped) {
    buf = mmap(NULL, p->size, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return buf == MAP_FAILED ? NULL : buf;
  }
  if (!p->align)
    return malloc(p->size);
  return posix_memalign(&buf, p->align, p->size) == 0 ? buf : NULL;
}

static void buf_release(const struct buf_pool *p, void *buf) {
  if (p->mapped)
    munmap(buf, p->size);
  else
    free(buf);
}

void *buf_pool_get(struct buf_pool *p) {
  lock(p);
  void *buf = p->free_list;
  if (buf) {
    p->free_list = *(void **)buf;
    p->idle--;
  }
  unlock(p);
  return buf ? buf : buf_new(p);
}

void buf_pool_put(struct buf_pool *p, void *buf) {
  if (!buf)
    return;
  lock(p);
  int kept = p->idle < p->keep_max;
  if (kept) {
    *(void **)buf = p->free_list;
    p->free_list = buf;
    p->idle++;
  }
  unlock(p);
  if (!kept)
    buf_release(p, buf);
}

void buf_pool_trim(struct buf_pool *p, size_t keep) {
  for (;;) {
    lock(p);
    void *buf = p->idle > keep ? p->free_list : NULL;
    if (buf) {
      p->free_list = *(void **)buf;
      p->idle--;
    }
    unlock(p);
    if (!buf)
      return;
    buf_release(p, buf);
  }
}

size_t buf_pool_idle(const struct buf_pool *p) {
  return p->idle;
}

void buf_pool_free(struct buf_pool *p) {
  if (!p)
    return;
  buf_pool_trim(p, 0);
  if (p->shared)
    pthread_mutex_destroy(&p->mu);
  free(p);
}

/* buf_pool.c - a bounded free list of equal-sized buffers (buf_pool.h). */
#include "buf_pool.h"

#include <stdlib.h>
#include <sys/mman.h>

struct buf_pool {
  size_t size, keep_max, idle;
  int mapped;      /* buffers are mmap'd (buf_pool_new_mapped) */
  void *free_list; /* each idle buffer's first word links to the next */
};

static struct buf_pool *pool_new(size_t size, size_t keep_max, int mapped) {
  if (size < sizeof(void *))
    return NULL;
  struct buf_pool *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->size = size;
  p->keep_max = keep_max;
  p->mapped = mapped;
  return p;
}

struct buf_pool *buf_pool_new(size_t size, size_t keep_max) {
  return pool_new(size, keep_max, 0);
}

struct buf_pool *buf_pool_new_mapped(size_t size, size_t keep_max) {
  return pool_new(size, keep_max, 1);
}

static void *buf_new(const struct buf_pool *p) {
  if (!p->mapped)
    return malloc(p->size);
  void *buf = mmap(NULL, p->size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return buf == MAP_FAILED ? NULL : buf;
}

static void buf_release(const struct buf_pool *p, void *buf) {
  if (p->mapped)
    munmap(buf, p->size);
  else
    free(buf);
}

size_t buf_pool_size(const struct buf_pool *p) {
  return p->size;
}

void *buf_pool_get(struct buf_pool *p) {
  void *buf = p->free_list;
  if (!buf)
    return buf_new(p);
  p->free_list = *(void **)buf;
  p->idle--;
  return buf;
}

void buf_pool_put(struct buf_pool *p, void *buf) {
  if (!buf)
    return;
  if (p->idle >= p->keep_max) {
    buf_release(p, buf);
    return;
  }
  *(void **)buf = p->free_list;
  p->free_list = buf;
  p->idle++;
}

void buf_pool_trim(struct buf_pool *p, size_t keep) {
  while (p->idle > keep) {
    void *buf = p->free_list;
    p->free_list = *(void **)buf;
    p->idle--;
    buf_release(p, buf);
  }
}

size_t buf_pool_idle(const struct buf_pool *p) {
  return p->idle;
}

void buf_pool_free(struct buf_pool *p) {
  if (!p)
    return;
  while (p->free_list) {
    void *next = *(void **)p->free_list;
    buf_release(p, p->free_list);
    p->free_list = next;
  }
  free(p);
}

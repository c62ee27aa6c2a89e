/* buf_pool.c - a bounded free list of equal-sized buffers (buf_pool.h). */
#include "buf_pool.h"

#include <stdlib.h>

struct buf_pool {
  size_t size, keep_max, idle;
  void *free_list; /* each idle buffer's first word links to the next */
};

struct buf_pool *buf_pool_new(size_t size, size_t keep_max) {
  if (size < sizeof(void *))
    return NULL;
  struct buf_pool *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->size = size;
  p->keep_max = keep_max;
  return p;
}

size_t buf_pool_size(const struct buf_pool *p) {
  return p->size;
}

void *buf_pool_get(struct buf_pool *p) {
  void *buf = p->free_list;
  if (!buf)
    return malloc(p->size);
  p->free_list = *(void **)buf;
  p->idle--;
  return buf;
}

void buf_pool_put(struct buf_pool *p, void *buf) {
  if (!buf)
    return;
  if (p->idle >= p->keep_max) {
    free(buf);
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
    free(buf);
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
    free(p->free_list);
    p->free_list = next;
  }
  free(p);
}

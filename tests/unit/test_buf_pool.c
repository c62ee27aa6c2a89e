/* test_buf_pool.c - the bounded free list of buffers: reuse, the bound on
 * idle buffers, and no leak (ASan) whatever is left in it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "buf_pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_reuse_and_bound(void **state) {
  (void)state;
  assert_null(buf_pool_new(1, 4)); /* smaller than a link */
  struct buf_pool *p = buf_pool_new(4096, 2);
  assert_non_null(p);
  assert_int_equal(buf_pool_size(p), 4096);
  void *a = buf_pool_get(p), *b = buf_pool_get(p), *c = buf_pool_get(p);
  assert_non_null(a);
  assert_non_null(b);
  assert_non_null(c);
  memset(a, 1, 4096); /* the whole size is usable */
  memset(b, 2, 4096);
  memset(c, 3, 4096);
  buf_pool_put(p, a);
  buf_pool_put(p, b);
  assert_int_equal(buf_pool_idle(p), 2);
  buf_pool_put(p, c); /* over keep_max: freed, not kept */
  assert_int_equal(buf_pool_idle(p), 2);
  buf_pool_put(p, NULL);
  assert_int_equal(buf_pool_idle(p), 2);
  /* Last in, first out: the buffers given back come back. */
  void *x = buf_pool_get(p), *y = buf_pool_get(p);
  assert_ptr_equal(x, b);
  assert_ptr_equal(y, a);
  assert_int_equal(buf_pool_idle(p), 0);
  void *z = buf_pool_get(p); /* empty: a fresh one */
  assert_non_null(z);
  buf_pool_put(p, x);
  free(y); /* a taken buffer may also just be freed */
  buf_pool_put(p, z);
  assert_int_equal(buf_pool_idle(p), 2);
  buf_pool_trim(p, 5); /* fewer than keep: nothing to do */
  assert_int_equal(buf_pool_idle(p), 2);
  buf_pool_trim(p, 1);
  assert_int_equal(buf_pool_idle(p), 1);
  assert_ptr_equal(buf_pool_get(p), x); /* the one given back first stays */
  buf_pool_put(p, x);
  buf_pool_trim(p, 0);
  assert_int_equal(buf_pool_idle(p), 0);
  buf_pool_put(p, buf_pool_get(p));
  buf_pool_free(p); /* frees the idle ones */
  buf_pool_free(NULL);
}

static void test_keep_none(void **state) {
  (void)state;
  struct buf_pool *p = buf_pool_new(64, 0);
  void *a = buf_pool_get(p);
  buf_pool_put(p, a);
  assert_int_equal(buf_pool_idle(p), 0);
  buf_pool_free(p);
}

enum { ROUNDS = 2000, THREADS = 4 };

/* Takes and gives back buffers, checking nobody else wrote into one
 * while it was ours. */
static void *churn(void *arg) {
  struct buf_pool *p = arg;
  uint8_t mark = (uint8_t)(uintptr_t)pthread_self();
  uint8_t other = (uint8_t)~mark;
  for (int i = 0; i < ROUNDS; i++) {
    uint8_t *a = buf_pool_get(p), *b = buf_pool_get(p);
    if (!a || !b || ((uintptr_t)a | (uintptr_t)b) % 4096 != 0)
      return "not a fresh aligned buffer";
    memset(a, mark, 8192);
    memset(b, other, 8192);
    if (a[8191] != mark || b[0] != other)
      return "buffer shared";
    buf_pool_put(p, b);
    buf_pool_put(p, a);
  }
  return NULL;
}

/* A shared pool: aligned buffers, handed out and taken back by several
 * threads at once (TSan/ASan see any race or double use), bounded. */
static void test_shared_aligned(void **state) {
  (void)state;
  assert_null(buf_pool_new_shared(8192, 3000, 4)); /* not a power of two */
  struct buf_pool *p = buf_pool_new_shared(8192, 4096, 3);
  assert_non_null(p);
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, churn, p), 0);
  for (int i = 0; i < THREADS; i++) {
    void *result;
    assert_int_equal(pthread_join(t[i], &result), 0);
    assert_null(result);
  }
  assert_true(buf_pool_idle(p) <= 3);
  buf_pool_free(p);
}

/* A mapped pool: each buffer its own page-aligned mapping (never in the
 * heap), reused last in first out, the idle ones bounded, and what is not
 * kept unmapped (its pages are gone: the RSS falls). */
static long rss_pages(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, resident = -1;
  if (f) {
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
      resident = -1;
    fclose(f);
  }
  return resident;
}

static void test_mapped(void **state) {
  (void)state;
  enum { N = 64, SIZE = 64 << 10 };
  struct buf_pool *p = buf_pool_new_mapped(SIZE, 2);
  assert_non_null(p);
  assert_int_equal(buf_pool_size(p), SIZE);
  void *bufs[N];
  long before = rss_pages();
  for (int i = 0; i < N; i++) {
    bufs[i] = buf_pool_get(p);
    assert_non_null(bufs[i]);
    assert_int_equal((uintptr_t)bufs[i] % 4096, 0); /* a mapping's start */
    memset(bufs[i], i, SIZE);                       /* all of it usable */
  }
  long filled = rss_pages();
  for (int i = 0; i < N; i++)
    buf_pool_put(p, bufs[i]);
  assert_int_equal(buf_pool_idle(p), 2);
  /* 62 of 64 buffers (4 MiB) unmapped: most of what filling them took. */
  assert_true(before >= 0 && filled - before >= N * (SIZE / 4096) * 3 / 4);
  assert_true(filled - rss_pages() >= (N - 2) * (SIZE / 4096) * 3 / 4);
  void *again = buf_pool_get(p);
  assert_ptr_equal(again, bufs[1]); /* the last kept comes back first */
  assert_int_equal(((unsigned char *)again)[SIZE - 1], 1); /* not cleared */
  buf_pool_put(p, again);
  buf_pool_trim(p, 0);
  assert_int_equal(buf_pool_idle(p), 0);
  buf_pool_put(p, buf_pool_get(p));
  buf_pool_free(p); /* unmaps the idle one */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reuse_and_bound),
      cmocka_unit_test(test_keep_none),
      cmocka_unit_test(test_shared_aligned),
      cmocka_unit_test(test_mapped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

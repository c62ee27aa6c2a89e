/* test_frame_reader.c - data-channel frames split at every byte, bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "frame.h"

struct seen {
  int headers, ends;
  uint64_t payload;
  uint32_t crc_field;
  uint8_t last_byte;
};

static int on_header(const Cairn__DataHeader *h, void *arg) {
  struct seen *s = arg;
  s->headers++;
  s->crc_field = h->crc32c;
  return 0;
}

static int on_payload(const uint8_t *d, size_t n, void *arg) {
  struct seen *s = arg;
  s->payload += n;
  s->last_byte = d[n - 1];
  return 0;
}

static int on_end(void *arg) {
  ((struct seen *)arg)->ends++;
  return 0;
}

static const struct frame_reader_ops ops = {on_header, on_payload, on_end};

/* Two frames (one with a 1000-byte payload, one without) fed in two pieces
 * split at every possible byte give the same callbacks. */
static void test_split_everywhere(void **state) {
  (void)state;
  uint8_t buf[4096];
  size_t len = 0;
  Cairn__DataHeader h = CAIRN__DATA_HEADER__INIT;
  uint8_t id[16] = {1, 2, 3};
  h.op = CAIRN__DATA_OP__DATA_PUT;
  h.chunk_id.data = id;
  h.chunk_id.len = 16;
  h.payload_len = 1000;
  len += frame_encode(&h, buf, sizeof buf);
  for (int i = 0; i < 1000; i++)
    buf[len++] = (uint8_t)i;
  Cairn__DataHeader end = CAIRN__DATA_HEADER__INIT;
  end.op = CAIRN__DATA_OP__DATA_PUT_END;
  end.crc32c = 0xdeadbeef;
  size_t n = frame_encode(&end, buf + len, sizeof buf - len);
  assert_true(n > 0);
  len += n;
  for (size_t cut = 0; cut <= len; cut++) {
    struct seen s = {0};
    struct frame_reader *r = frame_reader_new(&ops, &s);
    assert_int_equal(frame_reader_feed(r, buf, cut), (long)cut);
    assert_int_equal(frame_reader_feed(r, buf + cut, len - cut),
                     (long)(len - cut));
    assert_int_equal(s.headers, 2);
    assert_int_equal(s.ends, 2);
    assert_int_equal(s.payload, 1000);
    assert_int_equal(s.last_byte, (uint8_t)999);
    assert_int_equal(s.crc_field, 0xdeadbeef);
    frame_reader_free(r);
  }
}

static void test_hostile_lengths(void **state) {
  (void)state;
  struct seen s = {0};
  struct frame_reader *r = frame_reader_new(&ops, &s);
  uint8_t huge[4] = {0, 1, 0, 0}; /* a 64 KiB header */
  assert_int_equal(frame_reader_feed(r, huge, 4), -1);
  frame_reader_free(r);
  r = frame_reader_new(&ops, &s);
  uint8_t zero[4] = {0};
  assert_int_equal(frame_reader_feed(r, zero, 4), -1);
  frame_reader_free(r);
  r = frame_reader_new(&ops, &s);
  uint8_t garbage[12] = {0,    0,    0,    8,    0xff, 0xff,
                         0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  assert_int_equal(frame_reader_feed(r, garbage, sizeof garbage), -1);
  frame_reader_free(r);
  /* A payload over the fragment limit is refused at the header. */
  Cairn__DataHeader h = CAIRN__DATA_HEADER__INIT;
  h.op = CAIRN__DATA_OP__DATA_PUT;
  h.payload_len = (uint64_t)FRAME_PAYLOAD_MAX + 1;
  uint8_t buf[256];
  size_t n = frame_encode(&h, buf, sizeof buf);
  r = frame_reader_new(&ops, &s);
  assert_int_equal(frame_reader_feed(r, buf, n), -1);
  frame_reader_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_split_everywhere),
      cmocka_unit_test(test_hostile_lengths),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

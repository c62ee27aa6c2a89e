/* test_frame.c - data-channel frames: field round trip, a conversation split
 * at every byte, hostile lengths, stopping the reader, the uv writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "error.h"
#include "frame.h"

/* Every event the reader reports, as text, so that two runs compare. */
struct trace {
  char log[8192];
  size_t len;
  int stop_every; /* >0: stop the reader on every n-th callback */
  int calls;
};

static int note(struct trace *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(t->log + t->len, sizeof t->log - t->len, fmt, ap);
  va_end(ap);
  assert_true(n > 0 && (size_t)n < sizeof t->log - t->len);
  t->len += (size_t)n;
  t->calls++;
  return t->stop_every && t->calls % t->stop_every == 0 ? 1 : 0;
}

static int on_header(const Cairn__DataHeader *h, void *arg) {
  unsigned id0 = h->chunk_id.len ? h->chunk_id.data[0] : 0;
  unsigned auth0 = h->auth.len ? h->auth.data[0] : 0;
  return note(arg,
              "H(op=%d id=%zu/%u frag=%u off=%llu len=%llu pl=%llu "
              "crc=%x st=%d msg=%s auth=%zu/%u)",
              (int)h->op, h->chunk_id.len, id0, h->fragment,
              (unsigned long long)h->offset, (unsigned long long)h->length,
              (unsigned long long)h->payload_len, h->crc32c, h->status,
              h->message ? h->message : "", h->auth.len, auth0);
}

/* Payload pieces are summed so that any split gives the same trace. */
static uint64_t payload_sum;
static int on_payload(const uint8_t *d, size_t n, void *arg) {
  (void)arg;
  for (size_t i = 0; i < n; i++)
    payload_sum = payload_sum * 31 + d[i];
  return 0;
}

static int on_end(void *arg) {
  return note(arg, "E(%llu)", (unsigned long long)payload_sum);
}

static const struct frame_reader_ops ops = {on_header, on_payload, on_end};

static size_t add_frame(uint8_t *buf, size_t len, size_t cap,
                        Cairn__DataHeader *h, const uint8_t *payload,
                        size_t plen) {
  h->payload_len = plen;
  size_t n = frame_encode(h, buf + len, cap - len);
  assert_true(n > 0);
  if (plen)
    memcpy(buf + len + n, payload, plen);
  return len + n + plen;
}

/* A whole conversation: challenge, response, put, pieces, end, result,
 * get, data, result, ping. */
static size_t conversation(uint8_t *buf, size_t cap) {
  static uint8_t id[16] = {0xc4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
  static uint8_t nonce[32] = {0x5a}, data[1500];
  for (size_t i = 0; i < sizeof data; i++)
    data[i] = (uint8_t)(i * 7);
  size_t len = 0;
  Cairn__DataHeader h = CAIRN__DATA_HEADER__INIT;
  h.op = CAIRN__DATA_OP__DATA_AUTH_CHALLENGE;
  h.auth.data = nonce;
  h.auth.len = 32;
  len = add_frame(buf, len, cap, &h, NULL, 0);
  cairn__data_header__init(&h);
  h.op = CAIRN__DATA_OP__DATA_PUT;
  h.chunk_id.data = id;
  h.chunk_id.len = 16;
  h.fragment = 2;
  h.length = 1500;
  len = add_frame(buf, len, cap, &h, NULL, 0);
  cairn__data_header__init(&h);
  h.op = CAIRN__DATA_OP__DATA_PUT_PIECE;
  len = add_frame(buf, len, cap, &h, data, 1000);
  cairn__data_header__init(&h);
  h.op = CAIRN__DATA_OP__DATA_PUT_END;
  h.crc32c = 0xdeadbeef;
  len = add_frame(buf, len, cap, &h, data + 1000, 500);
  cairn__data_header__init(&h);
  h.op = CAIRN__DATA_OP__DATA_RESULT;
  h.status = CAIRN_ECORRUPT;
  h.message = "data corrupted";
  len = add_frame(buf, len, cap, &h, NULL, 0);
  cairn__data_header__init(&h);
  h.op = CAIRN__DATA_OP__DATA_GET;
  h.chunk_id.data = id;
  h.chunk_id.len = 16;
  h.offset = 1ull << 40;
  h.length = 7;
  len = add_frame(buf, len, cap, &h, NULL, 0);
  cairn__data_header__init(&h);
  h.op = CAIRN__DATA_OP__DATA_DATA;
  len = add_frame(buf, len, cap, &h, data + 3, 7);
  cairn__data_header__init(&h);
  h.op = CAIRN__DATA_OP__DATA_PING;
  len = add_frame(buf, len, cap, &h, NULL, 0);
  return len;
}

static void run(struct trace *t, const uint8_t *buf, size_t len, size_t step) {
  payload_sum = 0;
  struct frame_reader *r = frame_reader_new(&ops, t);
  assert_non_null(r);
  size_t off = 0;
  while (off < len) {
    size_t n = len - off < step ? len - off : step;
    long used = frame_reader_feed(r, buf + off, n);
    assert_true(used >= 0);
    off += (size_t)used;
  }
  assert_int_equal(frame_reader_feed(r, buf, 0), 0); /* nothing pending */
  frame_reader_free(r);
}

static void test_round_trip_fields(void **state) {
  (void)state;
  uint8_t buf[8192];
  size_t len = conversation(buf, sizeof buf);
  struct trace t = {0};
  run(&t, buf, len, len);
  /* Every field of every header, and each payload end, in order. */
  assert_non_null(strstr(t.log, "H(op=6 id=0/0 frag=0 off=0 len=0 pl=0 crc=0 "
                                "st=0 msg= auth=32/90)E("));
  assert_non_null(strstr(t.log, "H(op=1 id=16/196 frag=2 off=0 len=1500 pl=0"));
  assert_non_null(strstr(t.log, "H(op=8 id=0/0 frag=0 off=0 len=0 pl=1000"));
  assert_non_null(strstr(t.log, "H(op=2 id=0/0 frag=0 off=0 len=0 pl=500 "
                                "crc=deadbeef"));
  assert_non_null(strstr(t.log, "st=-13 msg=data corrupted"));
  assert_non_null(strstr(t.log, "off=1099511627776 len=7 pl=0"));
  assert_non_null(strstr(t.log, "H(op=11 id=0/0 frag=0 off=0 len=0 pl=7"));
  assert_non_null(strstr(t.log, "H(op=10 "));
  int headers = 0, ends = 0;
  for (const char *p = t.log; *p; p++) {
    headers += *p == 'H';
    ends += *p == 'E';
  }
  assert_int_equal(headers, 8);
  assert_int_equal(ends, 8);
}

/* Any split (two pieces cut at every byte; byte by byte; stopping after
 * every callback) gives the same events. */
static void test_split_everywhere(void **state) {
  (void)state;
  uint8_t buf[8192];
  size_t len = conversation(buf, sizeof buf);
  struct trace want = {0};
  run(&want, buf, len, len);
  for (size_t cut = 0; cut <= len; cut++) {
    struct trace t = {0};
    payload_sum = 0;
    struct frame_reader *r = frame_reader_new(&ops, &t);
    assert_int_equal(frame_reader_feed(r, buf, cut), (long)cut);
    assert_int_equal(frame_reader_feed(r, buf + cut, len - cut),
                     (long)(len - cut));
    frame_reader_free(r);
    assert_string_equal(t.log, want.log);
  }
  struct trace bytes = {0};
  run(&bytes, buf, len, 1);
  assert_string_equal(bytes.log, want.log);
  for (int every = 1; every <= 3; every++) {
    struct trace stopping = {.stop_every = every};
    run(&stopping, buf, len, len);
    assert_string_equal(stopping.log, want.log);
  }
}

static long feed_once(const uint8_t *buf, size_t len) {
  struct trace t = {0};
  struct frame_reader *r = frame_reader_new(&ops, &t);
  long used = frame_reader_feed(r, buf, len);
  frame_reader_free(r);
  return used;
}

static void test_hostile_lengths(void **state) {
  (void)state;
  uint8_t over[4] = {0, 0, (FRAME_HEADER_MAX + 1) >> 8,
                     (FRAME_HEADER_MAX + 1) & 0xff};
  assert_int_equal(feed_once(over, 4), -1); /* oversize header */
  uint8_t huge[4] = {0xff, 0xff, 0xff, 0xff};
  assert_int_equal(feed_once(huge, 4), -1);
  uint8_t zero[4] = {0};
  assert_int_equal(feed_once(zero, 4), -1);
  uint8_t garbage[12] = {0,    0,    0,    8,    0xff, 0xff,
                         0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  assert_int_equal(feed_once(garbage, sizeof garbage), -1);

  uint8_t buf[8192];
  Cairn__DataHeader h = CAIRN__DATA_HEADER__INIT;
  h.op = CAIRN__DATA_OP__DATA_PUT_PIECE;
  h.payload_len = (uint64_t)FRAME_PAYLOAD_MAX + 1; /* payload too large */
  size_t n = frame_encode(&h, buf, sizeof buf);
  assert_true(n > 0);
  assert_int_equal(feed_once(buf, n), -1);
  h.payload_len = FRAME_PAYLOAD_MAX; /* the limit itself is fine */
  n = frame_encode(&h, buf, sizeof buf);
  assert_int_equal(feed_once(buf, n), (long)n);

  uint8_t short_id[5] = {1, 2, 3, 4, 5};
  cairn__data_header__init(&h);
  h.op = CAIRN__DATA_OP__DATA_GET;
  h.chunk_id.data = short_id;
  h.chunk_id.len = 5;
  n = frame_encode(&h, buf, sizeof buf);
  assert_int_equal(feed_once(buf, n), -1); /* a chunk id is 16 bytes */

  /* The encoder refuses what the reader would refuse. */
  char *msg = malloc(FRAME_HEADER_MAX + 1);
  memset(msg, 'x', FRAME_HEADER_MAX);
  msg[FRAME_HEADER_MAX] = '\0';
  cairn__data_header__init(&h);
  h.op = CAIRN__DATA_OP__DATA_RESULT;
  h.message = msg;
  assert_int_equal(frame_encode(&h, buf, sizeof buf), 0);
  free(msg);
  cairn__data_header__init(&h);
  h.op = CAIRN__DATA_OP__DATA_PING;
  assert_int_equal(frame_encode(&h, buf, 3), 0); /* does not fit */
}

/* A callback's -1 fails the feed. */
static int refuse(const Cairn__DataHeader *h, void *arg) {
  (void)h;
  (void)arg;
  return -1;
}

static void test_callback_refuses(void **state) {
  (void)state;
  static const struct frame_reader_ops refusing = {refuse, on_payload, on_end};
  uint8_t buf[64];
  Cairn__DataHeader h = CAIRN__DATA_HEADER__INIT;
  h.op = CAIRN__DATA_OP__DATA_PING;
  size_t n = frame_encode(&h, buf, sizeof buf);
  struct frame_reader *r = frame_reader_new(&refusing, NULL);
  assert_int_equal(frame_reader_feed(r, buf, n), -1);
  frame_reader_free(r);
}

/* frame_write(v) over a socket pair: header copied, payload borrowed. */
struct pipe_test {
  uv_pipe_t a, b;
  struct frame_reader *reader;
  struct trace t;
  int written;
};

static void on_written(int status, void *arg) {
  struct pipe_test *p = arg;
  assert_int_equal(status, 0);
  p->written++;
}

static void alloc_cb(uv_handle_t *h, size_t sz, uv_buf_t *b) {
  (void)h;
  b->base = malloc(sz);
  b->len = sz;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  struct pipe_test *p = s->data;
  if (n > 0)
    assert_int_equal(
        frame_reader_feed(p->reader, (uint8_t *)b->base, (size_t)n), n);
  free(b->base);
  if (p->t.calls == 4) { /* two headers, two ends */
    uv_close((uv_handle_t *)&p->a, NULL);
    uv_close((uv_handle_t *)&p->b, NULL);
  }
}

static void test_writer(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct pipe_test p = {0};
  payload_sum = 0;
  p.reader = frame_reader_new(&ops, &p.t);
  uv_pipe_init(&loop, &p.a, 0);
  uv_pipe_init(&loop, &p.b, 0);
  uv_pipe_open(&p.a, fds[0]);
  uv_pipe_open(&p.b, fds[1]);
  p.b.data = &p;
  uv_read_start((uv_stream_t *)&p.b, alloc_cb, read_cb);
  uint8_t *payload = malloc(300000);
  for (size_t i = 0; i < 300000; i++)
    payload[i] = (uint8_t)(i >> 3);
  Cairn__DataHeader h = CAIRN__DATA_HEADER__INIT;
  h.op = CAIRN__DATA_OP__DATA_DATA;
  /* Gathered from slices (one empty): one frame, the bytes in order, and
   * its RESULT behind it in the same write (one done for both). */
  uv_buf_t slices[4] = {uv_buf_init((char *)payload, 1000),
                        uv_buf_init((char *)payload + 1000, 0),
                        uv_buf_init((char *)payload + 1000, 199000),
                        uv_buf_init((char *)payload + 200000, 100000)};
  Cairn__DataHeader result = CAIRN__DATA_HEADER__INIT;
  result.op = CAIRN__DATA_OP__DATA_RESULT;
  result.length = 300000;
  assert_int_equal(frame_writev_then((uv_stream_t *)&p.a, &h, slices, 4,
                                     &result, on_written, &p),
                   0);
  assert_int_equal(p.written, 0); /* never inside the call */
  uv_buf_t many[FRAME_WRITEV_MAX + 1];
  for (size_t i = 0; i <= FRAME_WRITEV_MAX; i++)
    many[i] = uv_buf_init((char *)payload, 1);
  assert_int_equal(frame_writev((uv_stream_t *)&p.a, &h, many,
                                FRAME_WRITEV_MAX + 1, on_written, &p),
                   CAIRN_ETOOBIG);
  assert_int_equal(frame_write((uv_stream_t *)&p.a, &h, payload,
                               (size_t)FRAME_PAYLOAD_MAX + 1, on_written, &p),
                   CAIRN_ETOOBIG);
  uv_run(&loop, UV_RUN_DEFAULT);
  assert_int_equal(p.written, 1);
  uint64_t want = 0;
  for (size_t i = 0; i < 300000; i++)
    want = want * 31 + payload[i];
  char expect[64];
  snprintf(expect, sizeof expect, "E(%llu)", (unsigned long long)want);
  assert_non_null(strstr(p.t.log, expect));
  assert_non_null(strstr(p.t.log, "H(op=5 id=0/0 frag=0 off=0 len=300000"));
  free(payload);
  frame_reader_free(p.reader);
  assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_fields),
      cmocka_unit_test(test_split_everywhere),
      cmocka_unit_test(test_hostile_lengths),
      cmocka_unit_test(test_callback_refuses),
      cmocka_unit_test(test_writer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

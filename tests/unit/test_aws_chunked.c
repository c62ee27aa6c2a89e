/* test_aws_chunked.c - the aws-chunked decoder: AWS's sigv4-streaming and
 * sigv4-streaming-trailers examples under every kind of split, tampering,
 * framing errors, limits and trailing checksums. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_chunked.h"
#include "error.h"

#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

struct sink {
  size_t bytes;
  int all_a;       /* every byte seen was 'a' */
  int abort_after; /* > 0: fail the callback once this many bytes passed */
};

static int on_data(void *arg, const void *data, size_t len) {
  struct sink *s = arg;
  const char *p = data;
  for (size_t i = 0; i < len; i++)
    if (p[i] != 'a')
      s->all_a = 0;
  s->bytes += len;
  return s->abort_after && s->bytes >= (size_t)s->abort_after;
}

static struct sigv4_stream stream_with_seed(const char *seed) {
  struct sigv4_stream s;
  memset(&s, 0, sizeof s);
  sigv4_signing_key(SK, "20130524", "us-east-1", "s3", s.signing_key);
  strcpy(s.amz_date, "20130524T000000Z");
  strcpy(s.scope, "20130524/us-east-1/s3/aws4_request");
  strcpy(s.seed_signature, seed);
  return s;
}

/* Appends "<hex>;chunk-signature=<sig>\r\n<n a>\r\n" (sig NULL: unsigned). */
static size_t put_chunk(char *buf, size_t at, size_t n, const char *sig) {
  at += sig ? (size_t)sprintf(buf + at, "%zx;chunk-signature=%s\r\n", n, sig)
            : (size_t)sprintf(buf + at, "%zx\r\n", n);
  memset(buf + at, 'a', n);
  at += n;
  if (n)
    at += (size_t)sprintf(buf + at, "\r\n");
  return at;
}

/* The sigv4-streaming example body: 66824 bytes. */
static char *example_body(size_t *len) {
  char *b = malloc(70000);
  size_t n = put_chunk(
      b, 0, 65536,
      "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648");
  n = put_chunk(
      b, n, 1024,
      "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497");
  n = put_chunk(
      b, n, 0,
      "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9");
  n += (size_t)sprintf(b + n, "\r\n");
  *len = n;
  return b;
}

/* Feeds body cut at the given offsets; returns the final status. */
static enum auth_status run(const struct aws_chunked_config *cfg,
                            const char *body, size_t len, const size_t *cuts,
                            size_t ncuts, struct sink *sink, char *checksum) {
  enum auth_status st;
  struct aws_chunked *d = aws_chunked_new(cfg, on_data, sink, &st);
  assert_non_null(d);
  size_t at = 0;
  for (size_t i = 0; i <= ncuts && st == AUTH_OK; i++) {
    size_t end = i < ncuts ? cuts[i] : len;
    st = aws_chunked_feed(d, body + at, end - at);
    at = end;
  }
  if (st == AUTH_OK)
    st = aws_chunked_finish(d);
  if (st == AUTH_OK && checksum)
    aws_chunked_checksum(d, checksum);
  aws_chunked_free(d);
  return st;
}

static struct aws_chunked_config signed_cfg(const struct sigv4_stream *s) {
  return (struct aws_chunked_config){.payload = AUTH_PAYLOAD_STREAMING_SIGNED,
                                     .stream = s,
                                     .decoded_length = 66560};
}

static void test_example_whole_and_split(void **state) {
  (void)state;
  struct sigv4_stream s = stream_with_seed(
      "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
  struct aws_chunked_config cfg = signed_cfg(&s);
  size_t len;
  char *body = example_body(&len);
  assert_int_equal(len, 66824); /* the documented Content-Length */
  struct sink sink = {0, 1, 0};
  assert_int_equal(run(&cfg, body, len, NULL, 0, &sink, NULL), AUTH_OK);
  assert_int_equal(sink.bytes, 66560);
  assert_true(sink.all_a);
  /* One byte at a time. */
  size_t *cuts = calloc(len, sizeof *cuts);
  for (size_t i = 0; i < len - 1; i++)
    cuts[i] = i + 1;
  sink = (struct sink){0, 1, 0};
  assert_int_equal(run(&cfg, body, len, cuts, len - 1, &sink, NULL), AUTH_OK);
  assert_int_equal(sink.bytes, 66560);
  /* Two pieces, cut at every byte of the framing (first and last 300
   * bytes, and around the second chunk's header). */
  for (size_t c = 1; c < len; c++) {
    if (!(c < 300 || c > len - 300 || (c > 65600 && c < 65800)))
      continue;
    sink = (struct sink){0, 1, 0};
    if (run(&cfg, body, len, &c, 1, &sink, NULL) != AUTH_OK ||
        sink.bytes != 66560)
      fail_msg("split at %zu", c);
  }
  /* Random splits. */
  srand(42);
  for (int round = 0; round < 50; round++) {
    size_t n = 0, at = 0;
    while (n < 64) {
      at += 1 + (size_t)rand() % 4000;
      if (at >= len)
        break;
      cuts[n++] = at;
    }
    sink = (struct sink){0, 1, 0};
    assert_int_equal(run(&cfg, body, len, cuts, n, &sink, NULL), AUTH_OK);
  }
  free(cuts);
  free(body);
}

static void test_tampering(void **state) {
  (void)state;
  struct sigv4_stream s = stream_with_seed(
      "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
  struct aws_chunked_config cfg = signed_cfg(&s);
  size_t len;
  char *body = example_body(&len);
  struct sink sink = {0, 1, 0};
  /* A flipped data byte in each chunk. */
  body[100] = 'b';
  assert_int_equal(run(&cfg, body, len, NULL, 0, &sink, NULL),
                   AUTH_SIGNATURE_MISMATCH);
  body[100] = 'a';
  body[len - 200] = 'b';
  assert_int_equal(run(&cfg, body, len, NULL, 0, &sink, NULL),
                   AUTH_SIGNATURE_MISMATCH);
  body[len - 200] = 'a';
  /* Another seed: the chain breaks at the first chunk. */
  struct sigv4_stream other = stream_with_seed(
      "5f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
  cfg.stream = &other;
  assert_int_equal(run(&cfg, body, len, NULL, 0, &sink, NULL),
                   AUTH_SIGNATURE_MISMATCH);
  cfg.stream = &s;
  /* A tampered final-chunk signature. */
  char *z = strstr(body + 66000, "0;chunk-signature=b6c6");
  assert_non_null(z);
  z[20] = 'd';
  assert_int_equal(run(&cfg, body, len, NULL, 0, &sink, NULL),
                   AUTH_SIGNATURE_MISMATCH);
  z[20] = 'c';
  /* Stopping before the final chunk: the cut chain is incomplete. */
  assert_int_equal(run(&cfg, body, (size_t)(z - body), NULL, 0, &sink, NULL),
                   AUTH_INCOMPLETE_BODY);
  /* Trailing garbage after the end. */
  char *longer = malloc(len + 1);
  memcpy(longer, body, len);
  longer[len] = 'x';
  assert_int_equal(run(&cfg, longer, len + 1, NULL, 0, &sink, NULL),
                   AUTH_CHUNK_MALFORMED);
  free(longer);
  /* Declared length: one less (exceeded, caught at the size line before
   * any byte of the chunk is emitted) or one more (incomplete). */
  cfg.decoded_length = 66559;
  sink = (struct sink){0, 1, 0};
  assert_int_equal(run(&cfg, body, len, NULL, 0, &sink, NULL),
                   AUTH_LENGTH_EXCEEDED);
  assert_int_equal(sink.bytes, 65536);
  cfg.decoded_length = 66561;
  assert_int_equal(run(&cfg, body, len, NULL, 0, &sink, NULL),
                   AUTH_INCOMPLETE_BODY);
  cfg.decoded_length = -1;
  assert_int_equal(run(&cfg, body, len, NULL, 0, &sink, NULL), AUTH_OK);
  /* The consumer can stop the decoder. */
  sink = (struct sink){0, 1, 1000};
  assert_int_equal(run(&cfg, body, len, NULL, 0, &sink, NULL), AUTH_ABORTED);
  free(body);
}

static void test_framing_errors(void **state) {
  (void)state;
  struct aws_chunked_config cfg = {
      .payload = AUTH_PAYLOAD_STREAMING_UNSIGNED_TRAILER, .decoded_length = -1};
  struct sigv4_stream s = stream_with_seed(
      "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
  struct aws_chunked_config scfg = signed_cfg(&s);
  static const struct {
    int signed_mode;
    const char *body;
    enum auth_status want;
  } cases[] = {
      {0, "zz\r\n", AUTH_CHUNK_MALFORMED},
      {0, "\r\n", AUTH_CHUNK_MALFORMED},
      {0, "3\nabc\r\n0\r\n\r\n", AUTH_CHUNK_MALFORMED}, /* bare LF */
      {0, "3\r\nabcX\r\n0\r\n\r\n",
       AUTH_CHUNK_MALFORMED}, /* no CRLF after data */
      {0, "3 \r\nabc\r\n0\r\n\r\n", AUTH_CHUNK_MALFORMED},
      {0, "10000000000000000\r\n", AUTH_CHUNK_MALFORMED}, /* 17 digits */
      {0, "1000001\r\n", AUTH_CHUNK_TOO_LARGE},           /* 16 MiB + 1 */
      {0, "ffffffffffffffff\r\n", AUTH_CHUNK_TOO_LARGE},
      {0, "3;ext=1\r\nabc\r\n0\r\n\r\n", AUTH_OK}, /* extensions ignored */
      {0, "3\r\nabc\r\n0\r\nbad trailer\r\n\r\n", AUTH_TRAILER_MALFORMED},
      {0, "3\r\nabc\r\n0\r\n:v\r\n\r\n", AUTH_TRAILER_MALFORMED},
      {0, "3\r\nabc\r\n0\r\nx-other:v\r\n\r\n",
       AUTH_OK}, /* unknown trailer ignored */
      {0, "3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n",
       AUTH_TRAILER_MALFORMED}, /* undeclared */
      {0, "3\r\nabc\r\n0\r\nx-amz-trailer-signature:00\r\n\r\n",
       AUTH_TRAILER_MALFORMED},
      {0, "3\r\nabc\r\n0\r\n", AUTH_INCOMPLETE_BODY},
      {0, "3\r\nab", AUTH_INCOMPLETE_BODY},
      {0, "", AUTH_INCOMPLETE_BODY},
      {1, "3\r\nabc\r\n", AUTH_CHUNK_MALFORMED}, /* signature required */
      {1, "3;chunk-signature=abc\r\n", AUTH_CHUNK_MALFORMED},
      {1,
       "3;chunk-signature="
       "zz0c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n",
       AUTH_CHUNK_MALFORMED},
      {1,
       "3;chunk-signaturX="
       "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n",
       AUTH_CHUNK_MALFORMED},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct sink sink = {0, 1, 0};
    enum auth_status got =
        run(cases[i].signed_mode ? &scfg : &cfg, cases[i].body,
            strlen(cases[i].body), NULL, 0, &sink, NULL);
    if (got != cases[i].want)
      fail_msg("case %zu: got %d want %d", i, got, cases[i].want);
  }
  /* A size line longer than the bound, and a trailer section over its
   * bound. */
  char line[600];
  memset(line, '0', sizeof line);
  struct sink sink = {0, 1, 0};
  assert_int_equal(run(&cfg, line, sizeof line, NULL, 0, &sink, NULL),
                   AUTH_CHUNK_MALFORMED);
  char *t = malloc(AWS_CHUNKED_TRAILER_MAX + 512);
  size_t n = (size_t)sprintf(t, "0\r\n");
  while (n < AWS_CHUNKED_TRAILER_MAX + 200)
    n += (size_t)sprintf(t + n, "x-pad:%0100d\r\n", 0);
  n += (size_t)sprintf(t + n, "\r\n");
  assert_int_equal(run(&cfg, t, n, NULL, 0, &sink, NULL),
                   AUTH_TRAILER_MALFORMED);
  free(t);
  /* Construction errors: the callback never runs. */
  enum auth_status st;
  struct aws_chunked_config bad = {.payload = AUTH_PAYLOAD_SHA256};
  assert_null(aws_chunked_new(&bad, on_data, &sink, &st));
  assert_int_equal(st, AUTH_INVALID_ARGUMENT);
  bad.payload = AUTH_PAYLOAD_STREAMING_SIGNED; /* no stream */
  assert_null(aws_chunked_new(&bad, on_data, &sink, &st));
  assert_int_equal(st, AUTH_INVALID_ARGUMENT);
  bad.payload = AUTH_PAYLOAD_STREAMING_UNSIGNED_TRAILER;
  bad.declared_trailer = "x-amz-meta-foo";
  assert_null(aws_chunked_new(&bad, on_data, &sink, &st));
  assert_int_equal(st, AUTH_TRAILER_MALFORMED);
  /* A smaller per-chunk limit. */
  cfg.max_chunk = 2;
  assert_int_equal(run(&cfg, "3\r\nabc\r\n0\r\n\r\n", 14, NULL, 0, &sink, NULL),
                   AUTH_CHUNK_TOO_LARGE);
}

/* STREAMING-UNSIGNED-PAYLOAD-TRAILER with each checksum: the value of
 * "abc" in each algorithm, matching and not. */
static void test_unsigned_trailer_checksums(void **state) {
  (void)state;
  static const struct {
    const char *header, *value;
  } sums[] = {
      {"x-amz-checksum-crc32", "NSRBwg=="},
      {"x-amz-checksum-crc32c", NULL},
      {"x-amz-checksum-crc64nvme", NULL},
      {"x-amz-checksum-sha1", "qZk+NkcGgWq6PiVxeFDCbJzQ2J0="},
      {"x-amz-checksum-sha256", "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="},
  };
  for (size_t i = 0; i < sizeof sums / sizeof sums[0]; i++) {
    char want[CHECKSUM_B64_MAX], got[CHECKSUM_B64_MAX] = "", body[256];
    enum checksum_algorithm a = checksum_from_header(sums[i].header);
    assert_int_equal(checksum_of(a, "abc", 3, want), 0);
    if (sums[i].value)
      assert_string_equal(want, sums[i].value);
    struct aws_chunked_config cfg = {
        .payload = AUTH_PAYLOAD_STREAMING_UNSIGNED_TRAILER,
        .decoded_length = 3,
        .declared_trailer = sums[i].header};
    struct sink sink = {0, 1, 0};
    /* Upper-case name and padding around the value are tolerated. */
    size_t n =
        (size_t)sprintf(body, "2\r\nab\r\n1\r\nc\r\n0\r\n%s: %s \r\n\r\n",
                        sums[i].header, want);
    body[16] = 'X';
    assert_int_equal(run(&cfg, body, n, NULL, 0, &sink, got), AUTH_OK);
    assert_string_equal(got, want);
    /* Wrong value of the right length. */
    char wrong[CHECKSUM_B64_MAX];
    checksum_of(a, "abd", 3, wrong);
    n = (size_t)sprintf(body, "3\r\nabc\r\n0\r\n%s:%s\r\n\r\n", sums[i].header,
                        wrong);
    assert_int_equal(run(&cfg, body, n, NULL, 0, &sink, NULL), AUTH_BAD_DIGEST);
    /* Not base64 of the right length. */
    n = (size_t)sprintf(body, "3\r\nabc\r\n0\r\n%s:AAAA\r\n\r\n",
                        sums[i].header);
    assert_int_equal(run(&cfg, body, n, NULL, 0, &sink, NULL),
                     AUTH_TRAILER_MALFORMED);
    /* Declared but never sent. */
    n = (size_t)sprintf(body, "3\r\nabc\r\n0\r\n\r\n");
    assert_int_equal(run(&cfg, body, n, NULL, 0, &sink, NULL),
                     AUTH_TRAILER_MALFORMED);
    /* Twice. */
    n = (size_t)sprintf(body, "3\r\nabc\r\n0\r\n%s:%s\r\n%s:%s\r\n\r\n",
                        sums[i].header, want, sums[i].header, want);
    assert_int_equal(run(&cfg, body, n, NULL, 0, &sink, NULL),
                     AUTH_TRAILER_MALFORMED);
  }
}

/* sigv4-streaming-trailers: signed chunks, then a signed CRC32C trailer. */
static void test_signed_trailer_example(void **state) {
  (void)state;
  struct sigv4_stream s = stream_with_seed(
      "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e");
  struct aws_chunked_config cfg = {.payload =
                                       AUTH_PAYLOAD_STREAMING_SIGNED_TRAILER,
                                   .stream = &s,
                                   .decoded_length = 66560,
                                   .declared_trailer = "x-amz-checksum-crc32c"};
  char *b = malloc(70000);
  size_t n = put_chunk(
      b, 0, 65536,
      "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2");
  n = put_chunk(
      b, n, 1024,
      "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7");
  n = put_chunk(
      b, n, 0,
      "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992");
  size_t trailer_at = n;
  n += (size_t)sprintf(b + n, "x-amz-checksum-crc32c:sOO8/Q==\r\n"
                              "x-amz-trailer-signature:"
                              "d81f82fc3505edab99d459891051a732e8730629a2e4a596"
                              "89829ca17fe2e435\r\n\r\n");
  struct sink sink = {0, 1, 0};
  char sum[CHECKSUM_B64_MAX];
  assert_int_equal(run(&cfg, b, n, NULL, 0, &sink, sum), AUTH_OK);
  assert_int_equal(sink.bytes, 66560);
  assert_string_equal(sum, "sOO8/Q==");
  /* Byte by byte through the trailers. */
  size_t cuts[400], nc = 0;
  for (size_t c = trailer_at - 100; c < n && nc < 400; c++)
    cuts[nc++] = c;
  assert_int_equal(run(&cfg, b, n, cuts, nc, &sink, NULL), AUTH_OK);
  /* A tampered trailer signature, or a trailer line after it. */
  char *sig = strstr(b + trailer_at, "d81f82");
  sig[0] = 'e';
  assert_int_equal(run(&cfg, b, n, NULL, 0, &sink, NULL),
                   AUTH_SIGNATURE_MISMATCH);
  sig[0] = 'd';
  n = trailer_at +
      (size_t)sprintf(
          b + trailer_at,
          "x-amz-checksum-crc32c:sOO8/Q==\r\n"
          "x-amz-trailer-signature:"
          "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n"
          "x-late:1\r\n\r\n");
  assert_int_equal(run(&cfg, b, n, NULL, 0, &sink, NULL),
                   AUTH_TRAILER_MALFORMED);
  /* No trailer signature at all. */
  n = trailer_at +
      (size_t)sprintf(b + trailer_at, "x-amz-checksum-crc32c:sOO8/Q==\r\n\r\n");
  assert_int_equal(run(&cfg, b, n, NULL, 0, &sink, NULL),
                   AUTH_TRAILER_MALFORMED);
  /* A different (validly signed?) checksum value: the signature fails
   * first, since the trailer text is signed. */
  n = trailer_at + (size_t)sprintf(b + trailer_at,
                                   "x-amz-checksum-crc32c:AAAAAA==\r\n"
                                   "x-amz-trailer-signature:"
                                   "d81f82fc3505edab99d459891051a732e8730629a2e"
                                   "4a59689829ca17fe2e435\r\n\r\n");
  assert_int_equal(run(&cfg, b, n, NULL, 0, &sink, NULL),
                   AUTH_SIGNATURE_MISMATCH);
  free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_example_whole_and_split),
      cmocka_unit_test(test_tampering),
      cmocka_unit_test(test_framing_errors),
      cmocka_unit_test(test_unsigned_trailer_checksums),
      cmocka_unit_test(test_signed_trailer_example),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

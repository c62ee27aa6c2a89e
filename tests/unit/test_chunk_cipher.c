/* test_chunk_cipher.c - per-block AES-256-GCM of chunks: round trips of
 * every shape, the plaintext-to-stored range map at each block boundary,
 * and tampering, swapping, truncation and wrong keys all detected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "chunk_cipher.h"
#include "crypto.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

#define B CHUNK_CIPHER_BLOCK
#define S CHUNK_CIPHER_STRIDE

static const uint8_t data_key[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
static const uint8_t id_a[16] = {0xa};
static const uint8_t id_b[16] = {0xb};

/* Seals a whole chunk of `len` pattern bytes; returns the stored bytes. */
static uint8_t *seal_chunk(const uint8_t id[16], uint64_t len,
                           uint8_t **plain) {
  struct chunk_cipher c;
  chunk_cipher_init(&c, data_key, id, len);
  *plain = malloc(len ? len : 1);
  for (uint64_t i = 0; i < len; i++)
    (*plain)[i] = (uint8_t)(i * 7 + i / 251);
  uint8_t *stored = malloc(chunk_cipher_stored_length(len) + 1);
  uint64_t blocks = (len + B - 1) / B;
  for (uint32_t b = 0; b < blocks; b++)
    assert_int_equal(
        chunk_cipher_seal(&c, b, *plain + (uint64_t)b * B, stored + b * S), 0);
  chunk_cipher_wipe(&c);
  return stored;
}

/* Opens plaintext [from, from + len) the way the reader does. */
static int read_range(const uint8_t id[16], const uint8_t *stored,
                      uint64_t chunk_len, uint64_t from, uint64_t len,
                      uint8_t *out) {
  struct chunk_cipher c;
  struct chunk_cipher_range r;
  chunk_cipher_init(&c, data_key, id, chunk_len);
  chunk_cipher_map(chunk_len, from, len, &r);
  uint8_t *block = malloc(S);
  uint64_t at = r.stored_offset, done = 0;
  uint32_t skip = r.skip;
  int rc = 0;
  for (uint32_t b = r.first_block; done < len && rc == 0; b++) {
    size_t blen = chunk_cipher_block_length(&c, b);
    assert_true(at + blen + CHUNK_CIPHER_TAG <=
                r.stored_offset + r.stored_length);
    rc = chunk_cipher_open(&c, b, stored + at, blen + CHUNK_CIPHER_TAG, block);
    size_t take = blen - skip;
    if (take > len - done)
      take = (size_t)(len - done);
    memcpy(out + done, block + skip, take);
    done += take;
    skip = 0;
    at += blen + CHUNK_CIPHER_TAG;
  }
  if (rc == 0)
    assert_int_equal(at, r.stored_offset + r.stored_length);
  free(block);
  chunk_cipher_wipe(&c);
  return rc;
}

static void test_stored_length(void **state) {
  (void)state;
  assert_int_equal(chunk_cipher_stored_length(0), 0);
  assert_int_equal(chunk_cipher_stored_length(1), 17);
  assert_int_equal(chunk_cipher_stored_length(B), S);
  assert_int_equal(chunk_cipher_stored_length(B + 1), S + 17);
  assert_int_equal(chunk_cipher_stored_length(4u << 20), (4u << 20) + 64 * 16);
}

static void test_round_trip_sizes(void **state) {
  (void)state;
  const uint64_t sizes[] = {1, 15, 16, 17, B - 1, B, B + 1, 3 * B + 5, 4 * B};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    uint8_t *plain, *out = malloc(sizes[s]);
    uint8_t *stored = seal_chunk(id_a, sizes[s], &plain);
    assert_int_equal(read_range(id_a, stored, sizes[s], 0, sizes[s], out), 0);
    assert_memory_equal(out, plain, sizes[s]);
    /* Ciphertext is not the plaintext. */
    assert_true(sizes[s] < 16 || memcmp(stored, plain, 16) != 0);
    free(plain);
    free(out);
    free(stored);
  }
}

/* Every range whose ends sit at or next to a block boundary. */
static void test_range_boundaries(void **state) {
  (void)state;
  const uint64_t len = 3 * B + 100;
  uint8_t *plain, *out = malloc(len);
  uint8_t *stored = seal_chunk(id_a, len, &plain);
  uint64_t points[32];
  size_t n = 0;
  for (uint64_t b = 0; b <= 3; b++)
    for (int d = -1; d <= 1; d++) {
      int64_t p = (int64_t)(b * B) + d;
      if (p >= 0 && (uint64_t)p <= len)
        points[n++] = (uint64_t)p;
    }
  points[n++] = len - 1;
  points[n++] = len;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) {
      if (points[j] <= points[i])
        continue;
      uint64_t from = points[i], count = points[j] - points[i];
      struct chunk_cipher_range r;
      chunk_cipher_map(len, from, count, &r);
      assert_int_equal(r.first_block, from / B);
      assert_int_equal(r.skip, from % B);
      assert_int_equal(r.stored_offset, (from / B) * S);
      assert_int_equal(read_range(id_a, stored, len, from, count, out), 0);
      assert_memory_equal(out, plain + from, count);
    }
  free(plain);
  free(out);
  free(stored);
}

static void test_tamper_swap_truncate(void **state) {
  (void)state;
  const uint64_t len = 2 * B;
  uint8_t *plain, *out = malloc(len);
  uint8_t *stored = seal_chunk(id_a, len, &plain);
  /* A flipped ciphertext byte, and a flipped tag byte. */
  stored[100] ^= 0x40;
  assert_int_equal(read_range(id_a, stored, len, 0, len, out), CAIRN_EAUTH);
  stored[100] ^= 0x40;
  stored[S - 1] ^= 1;
  assert_int_equal(read_range(id_a, stored, len, 0, 10, out), CAIRN_EAUTH);
  stored[S - 1] ^= 1;
  assert_int_equal(read_range(id_a, stored, len, 0, len, out), 0);
  /* Blocks swapped. */
  uint8_t *swapped = malloc(2 * S);
  memcpy(swapped, stored + S, S);
  memcpy(swapped + S, stored, S);
  assert_int_equal(read_range(id_a, swapped, len, 0, 10, out), CAIRN_EAUTH);
  assert_int_equal(read_range(id_a, swapped, len, B, 10, out), CAIRN_EAUTH);
  /* The same bytes presented as another chunk, or as a shorter chunk. */
  assert_int_equal(read_range(id_b, stored, len, 0, 10, out), CAIRN_EAUTH);
  assert_int_equal(read_range(id_a, stored, B, 0, 10, out), CAIRN_EAUTH);
  /* Wrong stored length. */
  struct chunk_cipher c;
  chunk_cipher_init(&c, data_key, id_a, len);
  assert_int_equal(chunk_cipher_open(&c, 0, stored, S - 1, out), CAIRN_EINVAL);
  assert_int_equal(chunk_cipher_open(&c, 2, stored, S, out), CAIRN_EINVAL);
  chunk_cipher_wipe(&c);
  free(swapped);
  free(plain);
  free(out);
  free(stored);
}

/* Two chunks under one data key never share a keystream. */
static void test_subkeys_differ(void **state) {
  (void)state;
  uint8_t *pa, *pb;
  uint8_t *sa = seal_chunk(id_a, 64, &pa);
  uint8_t *sb = seal_chunk(id_b, 64, &pb);
  assert_memory_equal(pa, pb, 64);
  assert_memory_not_equal(sa, sb, 64);
  free(pa);
  free(pb);
  free(sa);
  free(sb);
}

/* One context bound chunk after chunk, as the reader uses it: every block
 * opens to the same bytes as with the one-shot open, seal_on agrees with
 * seal, a tampered block fails without spoiling the next, and a block of
 * another chunk fails after a rebind. */
static void test_context_reuse_across_blocks(void **state) {
  (void)state;
  uint64_t len = 3 * B + 100;
  uint8_t *plain_a, *plain_b;
  uint8_t *stored_a = seal_chunk(id_a, len, &plain_a);
  uint8_t *stored_b = seal_chunk(id_b, len, &plain_b);
  struct crypto_gcm *g = crypto_gcm_new();
  assert_non_null(g);
  uint8_t *block = malloc(S), *resealed = malloc(S);
  struct chunk_cipher ca, cb;
  chunk_cipher_init(&ca, data_key, id_a, len);
  chunk_cipher_init(&cb, data_key, id_b, len);
  for (int round = 0; round < 2; round++) {
    const struct chunk_cipher *c = round ? &cb : &ca;
    const uint8_t *stored = round ? stored_b : stored_a;
    const uint8_t *plain = round ? plain_b : plain_a;
    chunk_cipher_bind(c, g);
    for (uint32_t b = 0; b < 4; b++) {
      size_t blen = chunk_cipher_block_length(c, b);
      assert_int_equal(chunk_cipher_open_on(c, g, b, stored + b * S,
                                            blen + CHUNK_CIPHER_TAG, block),
                       0);
      assert_memory_equal(block, plain + (uint64_t)b * B, blen);
      /* Tag apart, opened in place: the same plaintext. */
      memcpy(resealed, stored + b * S, blen);
      assert_int_equal(chunk_cipher_open_detached_on(
                           c, g, b, resealed, stored + b * S + blen, resealed),
                       0);
      assert_memory_equal(resealed, plain + (uint64_t)b * B, blen);
      assert_int_equal(
          chunk_cipher_seal_on(c, g, b, plain + (uint64_t)b * B, resealed), 0);
      assert_memory_equal(resealed, stored + b * S, blen + CHUNK_CIPHER_TAG);
    }
    /* Block 1 changed: fails; block 2 after it still opens. */
    memcpy(resealed, stored + S, S);
    resealed[5] ^= 0x40;
    assert_int_equal(chunk_cipher_open_on(c, g, 1, resealed, S, block),
                     CAIRN_EAUTH);
    assert_int_equal(
        chunk_cipher_open_detached_on(c, g, 1, resealed, resealed + B, block),
        CAIRN_EAUTH);
    assert_int_equal(chunk_cipher_open_on(c, g, 2, stored + 2 * S, S, block),
                     0);
    assert_memory_equal(block, plain + 2 * B, B);
    assert_int_equal(chunk_cipher_open_on(c, g, 4, stored, S, block),
                     CAIRN_EINVAL);
  }
  /* Bound to chunk b: chunk a's block 0 does not open. */
  assert_int_equal(chunk_cipher_open_on(&cb, g, 0, stored_a, S, block),
                   CAIRN_EAUTH);
  chunk_cipher_wipe(&ca);
  chunk_cipher_wipe(&cb);
  crypto_gcm_free(g);
  free(block);
  free(resealed);
  free(stored_a);
  free(stored_b);
  free(plain_a);
  free(plain_b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stored_length),
      cmocka_unit_test(test_round_trip_sizes),
      cmocka_unit_test(test_range_boundaries),
      cmocka_unit_test(test_tamper_swap_truncate),
      cmocka_unit_test(test_subkeys_differ),
      cmocka_unit_test(test_context_reuse_across_blocks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

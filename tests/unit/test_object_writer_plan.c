/* test_object_writer_plan.c - the memory an upload may hold (its plan) and
 * the share of a budget many uploads split: the bound on the pieces 256
 * uploads arriving together hold, whatever order they end in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "chunk_cipher.h"
#include "object_writer.h"

#define BUDGET (48ull << 20)
#define UPLOADS 256
/* A body longer than any piece: the streaming plan. */
#define LONG (64ull << 20)

static uint64_t sealed(uint64_t plain, int encrypt) {
  return encrypt ? chunk_cipher_stored_length(plain) : plain;
}

static void test_plan_floor_and_default(void **state) {
  (void)state;
  for (int encrypt = 0; encrypt < 2; encrypt++) {
    uint64_t small = encrypt
                         ? chunk_cipher_stored_length(OBJECT_WRITER_PIECE_MIN)
                         : OBJECT_WRITER_PIECE_MIN;
    struct object_writer_plan d = object_writer_plan(0, LONG, encrypt);
    assert_int_equal(d.piece, OBJECT_WRITER_PIECE);
    assert_int_equal(d.window, OBJECT_WRITER_WINDOW);
    /* The floor: two smallest pieces, whatever less was asked. */
    struct object_writer_plan f = object_writer_plan(1, LONG, encrypt);
    assert_int_equal(f.piece, OBJECT_WRITER_PIECE_MIN);
    assert_int_equal(f.window, 2 * small);
    assert_int_equal(f.held_max, 4 * small);
    /* Every window holds two of its pieces (streaming never stalls) and
     * the plan never holds more than window + two pieces. */
    for (uint64_t w = 1; w <= OBJECT_WRITER_WINDOW; w += 4093) {
      struct object_writer_plan p = object_writer_plan(w, LONG, encrypt);
      uint64_t sealed = encrypt ? chunk_cipher_stored_length(p.piece) : p.piece;
      assert_true(p.window >= w);
      assert_true(p.window >= 2 * sealed);
      assert_true(p.piece >= OBJECT_WRITER_PIECE_MIN);
      assert_true(p.piece <= OBJECT_WRITER_PIECE);
      assert_int_equal(p.held_max, p.window + 2 * sealed);
      /* Over the floor, no more than asked. */
      if (w >= 2 * small)
        assert_true(p.window == w || p.piece == OBJECT_WRITER_PIECE_MIN);
    }
  }
}

/* UPLOADS start one after the other (none ends): the sum of what they
 * may hold stays within the budget plus a floor each. A share of budget /
 * active alone gave the first ones 4 MiB each, ~190 MiB in all. */
static void test_share_bounded_when_all_arrive(void **state) {
  (void)state;
  for (int encrypt = 0; encrypt < 2; encrypt++) {
    uint64_t floor_held = object_writer_plan(1, LONG, encrypt).held_max;
    uint64_t held = 0;
    for (uint32_t active = 1; active <= UPLOADS; active++) {
      struct object_writer_plan p =
          object_writer_plan_share(BUDGET, held, active, 1 << 20, encrypt);
      assert_true(p.window <= OBJECT_WRITER_WINDOW);
      held += p.held_max;
      assert_true(held <= BUDGET + (uint64_t)active * floor_held);
    }
    /* 48 MiB + 256 floors: under 120 MiB of pieces at 256 uploads. */
    assert_true(held <= BUDGET + UPLOADS * floor_held);
    assert_true(held < (120ull << 20));
  }
}

/* Uploads end and others take their place (the bench's steady state): the
 * bound holds at every step, and an upload alone gets the full window. */
static void test_share_bounded_with_turnover(void **state) {
  (void)state;
  uint64_t floor_held = object_writer_plan(1, LONG, 1).held_max;
  uint64_t held_of[UPLOADS] = {0};
  uint64_t held = 0;
  uint32_t active = 0;
  uint32_t rng = 12345;
  for (int step = 0; step < 20000; step++) {
    rng = rng * 1103515245u + 12345u;
    uint32_t slot = (rng >> 8) % UPLOADS;
    if (held_of[slot]) { /* it ends */
      held -= held_of[slot];
      held_of[slot] = 0;
      active--;
    } else {
      active++;
      held_of[slot] =
          object_writer_plan_share(BUDGET, held, active, 64 << 20, 1).held_max;
      held += held_of[slot];
    }
    assert_true(held <= BUDGET + (uint64_t)active * floor_held);
  }
  assert_int_equal(object_writer_plan_share(BUDGET, 0, 1, 64 << 20, 0).window,
                   OBJECT_WRITER_WINDOW);
  /* The budget spent: the floor, never 0 (the default window). */
  struct object_writer_plan spent =
      object_writer_plan_share(BUDGET, BUDGET, 2, 64 << 20, 0);
  assert_int_equal(spent.window, object_writer_plan(1, LONG, 0).window);
}

/* Sixteen uploads of 1 MiB arriving together (the bench's PUT at 16
 * connections): windows sized to the body, so every one gets a window
 * over its whole body, none the floor, and all fit in the budget. With
 * 4 MiB windows the first ten had taken it all. */
static void test_share_sized_to_the_body(void **state) {
  (void)state;
  uint64_t held = 0;
  uint64_t body = 1 << 20;
  for (uint32_t active = 1; active <= 16; active++) {
    struct object_writer_plan p =
        object_writer_plan_share(BUDGET, held, active, body, 1);
    assert_true(p.window >= chunk_cipher_stored_length(body));
    assert_true(p.window <= body + OBJECT_WRITER_PIECE);
    held += p.held_max;
  }
  assert_true(held <= BUDGET);
  /* A large body still gets the full window while the budget lasts. */
  assert_int_equal(object_writer_plan_share(BUDGET, 0, 1, 5ull << 30, 1).window,
                   OBJECT_WRITER_WINDOW);
  /* An empty one takes a small piece's window. */
  assert_int_equal(object_writer_plan_share(BUDGET, 0, 1, 0, 0).window,
                   OBJECT_WRITER_PIECE_MIN);
}

/* A body of at most one piece goes as one piece when its window holds it:
 * one worker job and one write per copy, never paused, holding no more
 * than its window (plus the block a pooled buffer may add). */
static void test_one_piece_bodies(void **state) {
  (void)state;
  for (int encrypt = 0; encrypt < 2; encrypt++) {
    for (uint64_t size = 1; size <= OBJECT_WRITER_PIECE; size += 8191) {
      struct object_writer_plan p = object_writer_plan(0, size, encrypt);
      assert_true(p.piece >= size);
      assert_true(p.window >= sealed(size, encrypt));
      assert_true(p.held_max <= p.window + sealed(CHUNK_CIPHER_BLOCK, encrypt));
    }
    /* 1 MiB with the share 16 uploads get (the body plus a small piece). */
    uint64_t mib = 1 << 20;
    struct object_writer_plan p =
        object_writer_plan_share(BUDGET, 0, 16, mib, encrypt);
    assert_int_equal(p.piece, mib);
    assert_true(p.held_max < 2 * mib);
    /* A window under the body: streamed in pieces, two in the window. */
    p = object_writer_plan(mib / 2, mib, encrypt);
    assert_true(p.piece < mib);
    assert_true(p.window >= 2 * sealed(p.piece, encrypt));
    /* One byte over a piece: streamed as well. */
    p = object_writer_plan(0, OBJECT_WRITER_PIECE + 1, encrypt);
    assert_int_equal(p.held_max, p.window + 2 * sealed(p.piece, encrypt));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plan_floor_and_default),
      cmocka_unit_test(test_share_bounded_when_all_arrive),
      cmocka_unit_test(test_share_bounded_with_turnover),
      cmocka_unit_test(test_share_sized_to_the_body),
      cmocka_unit_test(test_one_piece_bodies),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

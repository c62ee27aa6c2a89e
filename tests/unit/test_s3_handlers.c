/* test_s3_handlers.c - walks S3_OP_MAP: every operation it marks
 * implemented has a handler, and none it marks unimplemented has one (the
 * router would answer NotImplemented for it while code exists). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "s3_ops.h"

/* The coordinator's clock lives in its main program; the handlers are only
 * looked at here, never run. */
int64_t coord_now_ms(void);
int64_t coord_now_ms(void) {
  return 0;
}

static void test_every_implemented_op_has_a_handler(void **state) {
  (void)state;
  int handled = 0;
  for (int i = 1; i < S3_OP_COUNT; i++) {
    enum s3_operation op = (enum s3_operation)i;
    const struct s3_handler *h = s3_handler_for(op);
    if (s3_op_implemented(op) != (h != NULL))
      fail_msg("%s: implemented=%d but handler %s", s3_op_name(op),
               s3_op_implemented(op), h ? "present" : "missing");
    handled += h != NULL;
  }
  assert_true(handled > 0);
  assert_null(s3_handler_for(S3_OP_UNKNOWN));
  assert_null(s3_handler_for((enum s3_operation)S3_OP_COUNT));
  /* Operations that read a body say so. */
  assert_true(s3_handler_for(S3_OP_PUT_OBJECT)->needs_body);
  assert_true(s3_handler_for(S3_OP_UPLOAD_PART)->needs_body);
  assert_false(s3_handler_for(S3_OP_GET_OBJECT)->needs_body);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_implemented_op_has_a_handler),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

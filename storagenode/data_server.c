/* data_server.c - STUB, replaced by the data-plane implementation. */
#include "data_server.h"

#include <stdlib.h>

struct data_server {
  int unused;
};

int data_server_start(uv_loop_t *loop, const struct data_server_config *cfg,
                      struct data_server **out, char *err, size_t err_len) {
  (void)loop;
  (void)cfg;
  (void)err;
  (void)err_len;
  *out = calloc(1, sizeof **out);
  return 0;
}

void data_server_stop(struct data_server *srv) { free(srv); }

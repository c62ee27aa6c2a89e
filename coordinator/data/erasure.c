/* erasure.c - Reed-Solomon stripes on ISA-L (see erasure.h). */
#include "erasure.h"

#include "error.h"

#include <isa-l.h>
#include <stdlib.h>
#include <string.h>

int erasure_init(struct erasure *e, int k, int m) {
  memset(e, 0, sizeof *e);
  if (k < 1 || k > ERASURE_MAX_DATA || m < 1 || m > ERASURE_MAX_PARITY)
    return CAIRN_EINVAL;
  e->k = k;
  e->m = m;
  gf_gen_cauchy1_matrix(e->matrix, k + m, k); /* rows 0..k-1: identity */
  e->encode_tables = malloc((size_t)32 * k * m);
  if (!e->encode_tables)
    return CAIRN_ENOMEM;
  ec_init_tables(k, m, e->matrix + k * k, e->encode_tables);
  return 0;
}

void erasure_release(struct erasure *e) {
  free(e->encode_tables);
  e->encode_tables = NULL;
}

uint64_t erasure_fragment_length(uint64_t stored_len, int k) {
  uint64_t f = (stored_len + (uint64_t)k - 1) / (uint64_t)k;
  return (f + ERASURE_ALIGN - 1) / ERASURE_ALIGN * ERASURE_ALIGN;
}

void erasure_encode(const struct erasure *e, size_t len, uint8_t *const *data,
                    uint8_t *const *parity) {
  ec_encode_data((int)len, e->k, e->m, e->encode_tables, (uint8_t **)data,
                 (uint8_t **)parity);
}

int erasure_decode(const struct erasure *e, size_t len, const uint32_t *have,
                   uint8_t *const *frags, uint8_t *const *out) {
  int k = e->k;
  uint8_t sub[ERASURE_MAX_DATA * ERASURE_MAX_DATA];
  uint8_t inv[ERASURE_MAX_DATA * ERASURE_MAX_DATA];
  uint32_t seen = 0;
  for (int i = 0; i < k; i++) {
    if (have[i] >= (uint32_t)(k + e->m) || (seen >> have[i] & 1u))
      return CAIRN_EINVAL;
    seen |= 1u << have[i];
    memcpy(sub + i * k, e->matrix + have[i] * (uint32_t)k, (size_t)k);
  }
  /* Any k rows of a Cauchy-extended identity are invertible; a failure
   * here means a broken matrix, not bad luck. */
  if (gf_invert_matrix(sub, inv, k) != 0)
    return CAIRN_EINVAL;
  /* Only the rows of the wanted fragments. */
  uint8_t rows[ERASURE_MAX_DATA * ERASURE_MAX_DATA];
  uint8_t *targets[ERASURE_MAX_DATA];
  int wanted = 0;
  for (int j = 0; j < k; j++)
    if (out[j]) {
      memcpy(rows + wanted * k, inv + j * k, (size_t)k);
      targets[wanted++] = out[j];
    }
  if (wanted == 0)
    return 0;
  uint8_t *tables = malloc((size_t)32 * k * wanted);
  if (!tables)
    return CAIRN_ENOMEM;
  ec_init_tables(k, wanted, rows, tables);
  ec_encode_data((int)len, k, wanted, tables, (uint8_t **)frags, targets);
  free(tables);
  return 0;
}

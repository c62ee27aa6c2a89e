/*
 * erasure.h - Reed-Solomon erasure coding of one chunk's stripe, on ISA-L.
 *
 * A stripe is k data fragments of equal length (the chunk's stored bytes
 * cut in k, the last one zero-padded) and m parity fragments computed from
 * them with a Cauchy generator matrix (gf_gen_cauchy1_matrix: any k of the
 * k+m rows form an invertible matrix, so ANY k fragments rebuild the data).
 * Decoding inverts the k x k submatrix of the surviving rows
 * (gf_invert_matrix) and multiplies it with the survivors (ec_encode_data).
 *
 * Pure computation: no I/O. An erasure context is read-only after
 * erasure_init and may be shared.
 */
#ifndef CAIRN_ERASURE_H
#define CAIRN_ERASURE_H

#include <stddef.h>
#include <stdint.h>

#define ERASURE_MAX_DATA 16
#define ERASURE_MAX_PARITY 4
#define ERASURE_MAX_FRAGMENTS (ERASURE_MAX_DATA + ERASURE_MAX_PARITY)
#define ERASURE_ALIGN 64 /* fragment lengths are multiples of this */

struct erasure {
  int k, m;
  uint8_t matrix[ERASURE_MAX_FRAGMENTS * ERASURE_MAX_DATA]; /* (k+m) x k */
  uint8_t *encode_tables;                                   /* 32 * k * m */
};

/* 1 <= k <= ERASURE_MAX_DATA, 1 <= m <= ERASURE_MAX_PARITY. 0, CAIRN_EINVAL
 * or CAIRN_ENOMEM. Release with erasure_release. */
int erasure_init(struct erasure *e, int k, int m);
void erasure_release(struct erasure *e);

/* Bytes of each fragment for a chunk of stored_len bytes:
 * ceil(stored_len / k) rounded up to ERASURE_ALIGN. */
uint64_t erasure_fragment_length(uint64_t stored_len, int k);

/* parity[0..m) = code(data[0..k)), each len bytes. */
void erasure_encode(const struct erasure *e, size_t len, uint8_t *const *data,
                    uint8_t *const *parity);

/* Rebuilds data fragments from any k fragments: have[i] (distinct, < k+m)
 * is the index of the fragment in frags[i]. out[j] receives data fragment
 * j (len bytes; must not alias frags), or is NULL when j is not wanted (a
 * fragment that survived: only the lost ones cost work). 0, CAIRN_EINVAL
 * (bad indexes) or CAIRN_ENOMEM. */
int erasure_decode(const struct erasure *e, size_t len, const uint32_t *have,
                   uint8_t *const *frags, uint8_t *const *out);

#endif

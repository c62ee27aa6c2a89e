/*
 * layout.h - storage layouts by name: how many fragments a chunk is cut
 * into and how many may be lost.
 *
 *   replica:N    N full copies (N = 1..16)
 *   raid5:K      K data + 1 parity      (EOS RAIN family names)
 *   raid6:K      K data + 2 parity
 *   archive:K    K data + 3 parity
 *   qrain:K      K data + 4 parity
 * K is 1..16 (erasure.h). Pure.
 */
#ifndef CAIRN_LAYOUT_H
#define CAIRN_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "meta.h"

#define LAYOUT_TEXT_MAX 24

/* 0 or CAIRN_EINVAL. */
int layout_parse(const char *text, struct meta_layout *out);
/* "raid6:4"; "replica:2". */
void layout_format(struct meta_layout l, char *out, size_t cap);
/* Fragments per chunk (copies, or k + m); 0 for an invalid layout. */
uint32_t layout_fragments(struct meta_layout l);

#endif

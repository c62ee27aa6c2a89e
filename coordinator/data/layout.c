/* layout.c - layout names (see layout.h). */
#include "layout.h"

#include "erasure.h"
#include "error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
  const char *name;
  uint8_t parity;
} families[] = {{"raid5", 1}, {"raid6", 2}, {"archive", 3}, {"qrain", 4}};

int layout_parse(const char *text, struct meta_layout *out) {
  const char *colon = text ? strchr(text, ':') : NULL;
  if (!colon || !colon[1])
    return CAIRN_EINVAL;
  char *end;
  long n = strtol(colon + 1, &end, 10);
  if (*end || n < 1)
    return CAIRN_EINVAL;
  size_t len = (size_t)(colon - text);
  if (len == 7 && strncmp(text, "replica", 7) == 0) {
    if (n > 16)
      return CAIRN_EINVAL;
    *out = (struct meta_layout){META_LAYOUT_REPLICA, (uint8_t)n, 0};
    return 0;
  }
  for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
    if (strlen(families[i].name) == len &&
        strncmp(text, families[i].name, len) == 0) {
      if (n > ERASURE_MAX_DATA)
        return CAIRN_EINVAL;
      *out =
          (struct meta_layout){META_LAYOUT_EC, (uint8_t)n, families[i].parity};
      return 0;
    }
  return CAIRN_EINVAL;
}

void layout_format(struct meta_layout l, char *out, size_t cap) {
  if (l.kind == META_LAYOUT_REPLICA) {
    snprintf(out, cap, "replica:%u", l.data);
    return;
  }
  for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
    if (l.kind == META_LAYOUT_EC && families[i].parity == l.parity) {
      snprintf(out, cap, "%s:%u", families[i].name, l.data);
      return;
    }
  snprintf(out, cap, "invalid");
}

uint32_t layout_fragments(struct meta_layout l) {
  if (l.kind == META_LAYOUT_REPLICA)
    return l.data;
  if (l.kind == META_LAYOUT_EC && l.parity >= 1 &&
      l.parity <= ERASURE_MAX_PARITY && l.data >= 1 &&
      l.data <= ERASURE_MAX_DATA)
    return (uint32_t)l.data + l.parity;
  return 0;
}

/* bench_xml.c - fields of S3 responses by substring (see bench_xml.h). */
#include "bench_xml.h"

#include "error.h"

#include <stdio.h>
#include <string.h>

#define TAG_MAX 64

/* "<tag>" into out; 0 or CAIRN_EINVAL when the tag is too long. */
static int open_tag(const char *tag, char out[TAG_MAX + 3]) {
  size_t n = strlen(tag);
  if (n == 0 || n > TAG_MAX)
    return CAIRN_EINVAL;
  snprintf(out, TAG_MAX + 3, "<%s>", tag);
  return 0;
}

static const struct {
  const char *entity;
  char c;
} entities[] = {{"&amp;", '&'},
                {"&lt;", '<'},
                {"&gt;", '>'},
                {"&quot;", '"'},
                {"&apos;", '\''}};

int bench_xml_text(const char *body, size_t len, const char *tag, char *out,
                   size_t cap) {
  char open[TAG_MAX + 3];
  if (cap == 0 || open_tag(tag, open))
    return CAIRN_EINVAL;
  size_t open_len = strlen(open);
  const char *start = memmem(body, len, open, open_len);
  if (!start)
    return CAIRN_ENOENT;
  start += open_len;
  const char *end = memchr(start, '<', len - (size_t)(start - body));
  if (!end)
    return CAIRN_ENOENT;
  size_t n = 0;
  for (const char *p = start; p < end; n++) {
    if (n + 1 >= cap)
      return CAIRN_ETOOBIG;
    out[n] = *p;
    size_t used = 1;
    for (size_t i = 0; *p == '&' && i < sizeof entities / sizeof *entities;
         i++) {
      size_t elen = strlen(entities[i].entity);
      if ((size_t)(end - p) >= elen &&
          memcmp(p, entities[i].entity, elen) == 0) {
        out[n] = entities[i].c;
        used = elen;
        break;
      }
    }
    p += used;
  }
  out[n] = '\0';
  return 0;
}

size_t bench_xml_count(const char *body, size_t len, const char *tag) {
  char open[TAG_MAX + 3];
  if (open_tag(tag, open))
    return 0;
  size_t open_len = strlen(open), count = 0;
  const char *p = body, *end = body + len;
  while ((p = memmem(p, (size_t)(end - p), open, open_len))) {
    count++;
    p += open_len;
  }
  return count;
}

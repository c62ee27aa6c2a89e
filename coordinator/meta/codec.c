/* codec.c - the versioned binary value encoding (see codec.h). */
#include "codec.h"

#include "error.h"

#include <stdlib.h>
#include <string.h>

void codec_out_init(struct codec_out *o) {
  memset(o, 0, sizeof *o);
}

void codec_out_release(struct codec_out *o) {
  free(o->buf);
  memset(o, 0, sizeof *o);
}

static int reserve(struct codec_out *o, size_t n) {
  if (o->err)
    return -1;
  if (o->len + n <= o->cap)
    return 0;
  size_t cap = o->cap ? o->cap : 128;
  while (cap < o->len + n)
    cap *= 2;
  uint8_t *b = realloc(o->buf, cap);
  if (!b) {
    o->err = CAIRN_ENOMEM;
    return -1;
  }
  o->buf = b;
  o->cap = cap;
  return 0;
}

void codec_put_raw(struct codec_out *o, const void *p, size_t n) {
  if (n == 0 || reserve(o, n))
    return;
  memcpy(o->buf + o->len, p, n);
  o->len += n;
}

void codec_put_u8(struct codec_out *o, uint8_t v) {
  codec_put_raw(o, &v, 1);
}

void codec_put_u32(struct codec_out *o, uint32_t v) {
  uint8_t b[4];
  codec_be32(b, v);
  codec_put_raw(o, b, 4);
}

void codec_put_u64(struct codec_out *o, uint64_t v) {
  uint8_t b[8];
  codec_be64(b, v);
  codec_put_raw(o, b, 8);
}

void codec_put_bytes(struct codec_out *o, const void *p, size_t n) {
  if (n > UINT32_MAX) {
    o->err = CAIRN_ETOOBIG;
    return;
  }
  codec_put_u32(o, (uint32_t)n);
  codec_put_raw(o, p, n);
  codec_put_u8(o, 0);
}

void codec_put_str(struct codec_out *o, const char *s) {
  codec_put_bytes(o, s ? s : "", s ? strlen(s) : 0);
}

void codec_in_init(struct codec_in *in, const void *p, size_t len) {
  in->p = p;
  in->len = len;
  in->off = 0;
  in->err = 0;
}

static const uint8_t *take(struct codec_in *in, size_t n) {
  if (in->err || in->len - in->off < n) {
    in->err = CAIRN_ECORRUPT;
    return NULL;
  }
  const uint8_t *p = in->p + in->off;
  in->off += n;
  return p;
}

uint8_t codec_get_u8(struct codec_in *in) {
  const uint8_t *p = take(in, 1);
  return p ? p[0] : 0;
}

uint32_t codec_get_u32(struct codec_in *in) {
  const uint8_t *p = take(in, 4);
  return p ? codec_rd32(p) : 0;
}

uint64_t codec_get_u64(struct codec_in *in) {
  const uint8_t *p = take(in, 8);
  return p ? codec_rd64(p) : 0;
}

void codec_get_raw(struct codec_in *in, void *dst, size_t n) {
  const uint8_t *p = take(in, n);
  if (p)
    memcpy(dst, p, n);
  else
    memset(dst, 0, n);
}

const char *codec_get_str(struct codec_in *in, size_t *len_out) {
  uint32_t n = codec_get_u32(in);
  const uint8_t *p = in->err ? NULL : take(in, (size_t)n + 1);
  if (!p || p[n] != 0) {
    in->err = CAIRN_ECORRUPT;
    if (len_out)
      *len_out = 0;
    return "";
  }
  if (len_out)
    *len_out = n;
  return (const char *)p;
}

void codec_get_str_into(struct codec_in *in, char *dst, size_t cap) {
  size_t n;
  const char *s = codec_get_str(in, &n);
  if (n + 1 > cap) {
    in->err = CAIRN_ECORRUPT;
    n = 0;
  }
  memcpy(dst, s, n);
  dst[n] = 0;
}

void codec_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

void codec_be64(uint8_t *p, uint64_t v) {
  codec_be32(p, (uint32_t)(v >> 32));
  codec_be32(p + 4, (uint32_t)v);
}

uint32_t codec_rd32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
         ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

uint64_t codec_rd64(const uint8_t *p) {
  return ((uint64_t)codec_rd32(p) << 32) | codec_rd32(p + 4);
}

/*
 * codec.h - the tiny versioned binary encoding of metadata values.
 *
 * A value is a version byte followed by fields in a fixed order: integers
 * big-endian and fixed-width, strings as a u32 length, the bytes, and a
 * trailing 0x00 (so a decoded string can be used in place as a C string).
 * The writer grows a heap buffer (owned by the codec_out, released with
 * codec_out_release); any failure is sticky in ->err and checked once at the
 * end, so encoders read as straight-line code. The reader never allocates:
 * strings it returns point into the input buffer.
 */
#ifndef CAIRN_META_CODEC_H
#define CAIRN_META_CODEC_H

#include <stddef.h>
#include <stdint.h>

struct codec_out {
  uint8_t *buf;
  size_t len, cap;
  int err; /* 0 or CAIRN_ENOMEM */
};

void codec_out_init(struct codec_out *o);
void codec_out_release(struct codec_out *o);
void codec_put_u8(struct codec_out *o, uint8_t v);
void codec_put_u32(struct codec_out *o, uint32_t v);
void codec_put_u64(struct codec_out *o, uint64_t v);
void codec_put_raw(struct codec_out *o, const void *p, size_t n);
/* s may be NULL (encoded as the empty string). */
void codec_put_str(struct codec_out *o, const char *s);
void codec_put_bytes(struct codec_out *o, const void *p, size_t n);

struct codec_in {
  const uint8_t *p;
  size_t len, off;
  int err; /* 0 or CAIRN_ECORRUPT, sticky */
};

void codec_in_init(struct codec_in *in, const void *p, size_t len);
uint8_t codec_get_u8(struct codec_in *in);
uint32_t codec_get_u32(struct codec_in *in);
uint64_t codec_get_u64(struct codec_in *in);
/* Copies n raw bytes into dst. */
void codec_get_raw(struct codec_in *in, void *dst, size_t n);
/* Returns a NUL-terminated string inside the input ("" on error). */
const char *codec_get_str(struct codec_in *in, size_t *len_out);
/* Copies a string into dst[cap]; CORRUPT if it does not fit. */
void codec_get_str_into(struct codec_in *in, char *dst, size_t cap);

/* Big-endian helpers for keys. */
void codec_be32(uint8_t *p, uint32_t v);
void codec_be64(uint8_t *p, uint64_t v);
uint32_t codec_rd32(const uint8_t *p);
uint64_t codec_rd64(const uint8_t *p);

#endif

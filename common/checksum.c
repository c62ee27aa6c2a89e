/* checksum.c - S3's additional checksums (see checksum.h). */
#include "checksum.h"

#include "crypto.h"
#include "error.h"

#include <isa-l.h>
#include <pthread.h>
#include <strings.h>
#include <stdio.h>
#include <string.h>

static const struct {
  enum checksum_algorithm a;
  const char *name, *header;
} algorithms[] = {
    {CHECKSUM_CRC32, "CRC32", "x-amz-checksum-crc32"},
    {CHECKSUM_CRC32C, "CRC32C", "x-amz-checksum-crc32c"},
    {CHECKSUM_CRC64NVME, "CRC64NVME", "x-amz-checksum-crc64nvme"},
    {CHECKSUM_SHA1, "SHA1", "x-amz-checksum-sha1"},
    {CHECKSUM_SHA256, "SHA256", "x-amz-checksum-sha256"},
};

enum checksum_algorithm checksum_parse(const char *name) {
  for (size_t i = 0; name && i < sizeof algorithms / sizeof algorithms[0]; i++)
    if (strcasecmp(name, algorithms[i].name) == 0)
      return algorithms[i].a;
  return CHECKSUM_NONE;
}

const char *checksum_name(enum checksum_algorithm a) {
  for (size_t i = 0; i < sizeof algorithms / sizeof algorithms[0]; i++)
    if (algorithms[i].a == a)
      return algorithms[i].name;
  return "NONE";
}

const char *checksum_header(enum checksum_algorithm a) {
  for (size_t i = 0; i < sizeof algorithms / sizeof algorithms[0]; i++)
    if (algorithms[i].a == a)
      return algorithms[i].header;
  return NULL;
}

/* CRC-64/NVME: reflected polynomial 0x9A6C9329AC4BC9B5, init and xorout
 * all ones; check("123456789") = 0xAE8B14860A799888. Slicing-by-8: eight
 * tables of 256 entries, built once. */
static uint64_t crc64_table[8][256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void crc64_build(void) {
  for (int i = 0; i < 256; i++) {
    uint64_t c = (uint64_t)i;
    for (int k = 0; k < 8; k++)
      c = c & 1 ? (c >> 1) ^ 0x9A6C9329AC4BC9B5ULL : c >> 1;
    crc64_table[0][i] = c;
  }
  for (int i = 0; i < 256; i++)
    for (int t = 1; t < 8; t++)
      crc64_table[t][i] = crc64_table[0][crc64_table[t - 1][i] & 0xff] ^
                          (crc64_table[t - 1][i] >> 8);
}

uint64_t crc64_nvme(uint64_t crc, const void *data, size_t len) {
  pthread_once(&crc64_once, crc64_build);
  const uint8_t *p = data;
  crc = ~crc;
  while (len >= 8) {
    uint64_t x = crc ^ ((uint64_t)p[0] | (uint64_t)p[1] << 8 |
                        (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
                        (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
                        (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56);
    crc = crc64_table[7][x & 0xff] ^ crc64_table[6][(x >> 8) & 0xff] ^
          crc64_table[5][(x >> 16) & 0xff] ^ crc64_table[4][(x >> 24) & 0xff] ^
          crc64_table[3][(x >> 32) & 0xff] ^ crc64_table[2][(x >> 40) & 0xff] ^
          crc64_table[1][(x >> 48) & 0xff] ^ crc64_table[0][x >> 56];
    p += 8;
    len -= 8;
  }
  while (len--)
    crc = crc64_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
}

enum checksum_algorithm checksum_from_header(const char *name) {
  for (size_t i = 0; name && i < sizeof algorithms / sizeof algorithms[0]; i++)
    if (strcasecmp(name, algorithms[i].header) == 0)
      return algorithms[i].a;
  return CHECKSUM_NONE;
}

size_t checksum_length(enum checksum_algorithm a) {
  switch (a) {
  case CHECKSUM_CRC32:
  case CHECKSUM_CRC32C: return 4;
  case CHECKSUM_CRC64NVME: return 8;
  case CHECKSUM_SHA1: return 20;
  case CHECKSUM_SHA256: return 32;
  default: return 0;
  }
}

int checksum_decode(enum checksum_algorithm a, const char *b64,
                    uint8_t raw[CHECKSUM_MAX_LEN]) {
  uint8_t tmp[CHECKSUM_MAX_LEN];
  size_t want = checksum_length(a);
  if (!want || !b64 || strlen(b64) != 4 * ((want + 2) / 3))
    return CAIRN_EINVAL;
  long n = crypto_unbase64(b64, strlen(b64), tmp, sizeof tmp);
  if (n < 0 || (size_t)n != want)
    return CAIRN_EINVAL;
  if (raw)
    memcpy(raw, tmp, want);
  return 0;
}

int checksum_init(struct checksum *c, enum checksum_algorithm a) {
  memset(c, 0, sizeof *c);
  c->algorithm = a;
  if (a == CHECKSUM_CRC32C)
    c->crc = 0xFFFFFFFFu; /* ISA-L's crc32_iscsi neither seeds nor inverts */
  if (a == CHECKSUM_SHA1 || a == CHECKSUM_SHA256) {
    c->hash = crypto_hash_new(a == CHECKSUM_SHA1 ? CRYPTO_HASH_SHA1
                                                 : CRYPTO_HASH_SHA256);
    if (!c->hash)
      return CAIRN_ENOMEM;
  }
  return 0;
}

void checksum_update(struct checksum *c, const void *data, size_t len) {
  switch (c->algorithm) {
  case CHECKSUM_CRC32:
    c->crc = crc32_gzip_refl((uint32_t)c->crc, data, len);
    break;
  case CHECKSUM_CRC32C: {
    /* crc32_iscsi takes an int length: feed at most 1 GiB at a time. */
    const unsigned char *p = data;
    while (len > 0) {
      size_t n = len > (1u << 30) ? (1u << 30) : len;
      c->crc = crc32_iscsi((unsigned char *)p, (int)n, (uint32_t)c->crc);
      p += n;
      len -= n;
    }
    break;
  }
  case CHECKSUM_CRC64NVME: c->crc = crc64_nvme(c->crc, data, len); break;
  case CHECKSUM_SHA1:
  case CHECKSUM_SHA256: crypto_hash_update(c->hash, data, len); break;
  default: break;
  }
}

size_t checksum_final_raw(struct checksum *c, uint8_t raw[CHECKSUM_MAX_LEN]) {
  size_t n = 0;
  switch (c->algorithm) {
  case CHECKSUM_CRC32C:
    c->crc = ~c->crc & 0xFFFFFFFFu;
    /* fall through */
  case CHECKSUM_CRC32:
    for (int i = 3; i >= 0; i--)
      raw[n++] = (uint8_t)(c->crc >> (8 * i)); /* big-endian, as S3 */
    break;
  case CHECKSUM_CRC64NVME:
    for (int i = 7; i >= 0; i--)
      raw[n++] = (uint8_t)(c->crc >> (8 * i));
    break;
  case CHECKSUM_SHA1:
  case CHECKSUM_SHA256: n = crypto_hash_final(c->hash, raw); break;
  default: break;
  }
  checksum_release(c);
  return n;
}

void checksum_final_base64(struct checksum *c, char out[CHECKSUM_B64_MAX]) {
  uint8_t raw[CHECKSUM_MAX_LEN];
  size_t n = checksum_final_raw(c, raw);
  crypto_base64(raw, n, out);
}

void checksum_release(struct checksum *c) {
  crypto_hash_free(c->hash);
  c->hash = NULL;
}

int checksum_of(enum checksum_algorithm a, const void *data, size_t len,
                char out[CHECKSUM_B64_MAX]) {
  struct checksum c;
  int rc = checksum_init(&c, a);
  if (rc)
    return rc;
  checksum_update(&c, data, len);
  checksum_final_base64(&c, out);
  return 0;
}

int checksum_composite_init(struct checksum_composite *c,
                            enum checksum_algorithm a) {
  c->parts = 0;
  return checksum_init(&c->sum, a);
}

int checksum_composite_add(struct checksum_composite *c, const char *part_b64) {
  uint8_t raw[CHECKSUM_MAX_LEN];
  int rc = checksum_decode(c->sum.algorithm, part_b64, raw);
  if (rc)
    return rc;
  checksum_update(&c->sum, raw, checksum_length(c->sum.algorithm));
  c->parts++;
  return 0;
}

void checksum_composite_final(struct checksum_composite *c,
                              char out[CHECKSUM_COMPOSITE_MAX]) {
  char b64[CHECKSUM_B64_MAX];
  checksum_final_base64(&c->sum, b64);
  snprintf(out, CHECKSUM_COMPOSITE_MAX, "%s-%u", b64, c->parts);
}

void checksum_composite_release(struct checksum_composite *c) {
  checksum_release(&c->sum);
}

/* ---- full-object CRCs ---------------------------------------------------- */

static uint64_t gf2_times(const uint64_t *mat, uint64_t vec) {
  uint64_t sum = 0;
  for (int i = 0; vec; vec >>= 1, i++)
    if (vec & 1)
      sum ^= mat[i];
  return sum;
}

static void gf2_square(uint64_t *square, const uint64_t *mat, int width) {
  for (int n = 0; n < width; n++)
    square[n] = gf2_times(mat, mat[n]);
}

/* CRC of A || B from crc_a, crc_b and |B| for a reflected CRC of the given
 * width and reflected polynomial, with all-ones init and xorout (CRC32,
 * CRC32C and CRC64NVME all are): O(log len_b) matrix squarings. */
static uint64_t crc_combine(uint64_t crc_a, uint64_t crc_b, uint64_t len_b,
                            uint64_t poly, int width) {
  if (len_b == 0)
    return crc_a;
  uint64_t even[64], odd[64]; /* operators for 2^k zero bits */
  odd[0] = poly;              /* one zero bit */
  for (int n = 1; n < width; n++)
    odd[n] = 1ULL << (n - 1);
  gf2_square(even, odd, width); /* two zero bits */
  gf2_square(odd, even, width); /* four */
  do {                          /* one zero byte, then 2, 4, ... */
    gf2_square(even, odd, width);
    if (len_b & 1)
      crc_a = gf2_times(even, crc_a);
    len_b >>= 1;
    if (!len_b)
      break;
    gf2_square(odd, even, width);
    if (len_b & 1)
      crc_a = gf2_times(odd, crc_a);
    len_b >>= 1;
  } while (len_b);
  return crc_a ^ crc_b;
}

int checksum_full_init(struct checksum_full *f, enum checksum_algorithm a) {
  if (a != CHECKSUM_CRC32 && a != CHECKSUM_CRC32C && a != CHECKSUM_CRC64NVME)
    return CAIRN_EINVAL;
  f->algorithm = a;
  f->crc = 0;
  f->parts = 0;
  return 0;
}

int checksum_full_add(struct checksum_full *f, const char *part_b64,
                      uint64_t part_size) {
  uint8_t raw[CHECKSUM_MAX_LEN];
  if (checksum_decode(f->algorithm, part_b64, raw) != 0)
    return CAIRN_EINVAL;
  size_t len = checksum_length(f->algorithm);
  uint64_t crc = 0;
  for (size_t i = 0; i < len; i++) /* the raw digest is big-endian */
    crc = crc << 8 | raw[i];
  static const uint64_t polys[] = {
      [CHECKSUM_CRC32] = 0xEDB88320u,
      [CHECKSUM_CRC32C] = 0x82F63B78u,
      [CHECKSUM_CRC64NVME] = 0x9A6C9329AC4BC9B5ULL,
  };
  f->crc = f->parts == 0 ? crc
                         : crc_combine(f->crc, crc, part_size,
                                       polys[f->algorithm], (int)len * 8);
  f->parts++;
  return 0;
}

void checksum_full_final(const struct checksum_full *f,
                         char out[CHECKSUM_B64_MAX]) {
  size_t len = checksum_length(f->algorithm);
  uint8_t raw[8];
  for (size_t i = 0; i < len; i++)
    raw[i] = (uint8_t)(f->crc >> (8 * (len - 1 - i)));
  crypto_base64(raw, len, out);
}

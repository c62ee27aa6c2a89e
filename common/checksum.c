/* checksum.c - S3's additional checksums (see checksum.h). */
#include "checksum.h"

#include "crypto.h"
#include "error.h"

#include <isa-l.h>
#include <pthread.h>
#include <strings.h>
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
 * all ones; check("123456789") = 0xAE8B14860A799888. */
static uint64_t crc64_table[256];
static pthread_once_t crc64_once = PTHREAD_ONCE_INIT;

static void crc64_build(void) {
  for (int i = 0; i < 256; i++) {
    uint64_t c = (uint64_t)i;
    for (int k = 0; k < 8; k++)
      c = c & 1 ? (c >> 1) ^ 0x9A6C9329AC4BC9B5ULL : c >> 1;
    crc64_table[i] = c;
  }
}

uint64_t crc64_nvme(uint64_t crc, const void *data, size_t len) {
  pthread_once(&crc64_once, crc64_build);
  const uint8_t *p = data;
  crc = ~crc;
  while (len--)
    crc = crc64_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return ~crc;
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
  case CHECKSUM_CRC32C:
    c->crc = crc32_iscsi((unsigned char *)data, (int)len, (uint32_t)c->crc);
    break;
  case CHECKSUM_CRC64NVME: c->crc = crc64_nvme(c->crc, data, len); break;
  case CHECKSUM_SHA1:
  case CHECKSUM_SHA256: crypto_hash_update(c->hash, data, len); break;
  default: break;
  }
}

void checksum_final_base64(struct checksum *c, char out[CHECKSUM_B64_MAX]) {
  uint8_t raw[CHECKSUM_MAX_LEN];
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
  crypto_base64(raw, n, out);
  checksum_release(c);
}

void checksum_release(struct checksum *c) {
  crypto_hash_free(c->hash);
  c->hash = NULL;
}

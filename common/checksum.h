/*
 * checksum.h - the additional checksums S3 clients send and ask for
 * (x-amz-checksum-crc32, -crc32c, -crc64nvme, -sha1, -sha256), computed
 * incrementally over object bytes as they stream past.
 *
 * CRC32 and CRC32C come from ISA-L; ISA-L 2.30 (Debian 12) has no CRC64 in
 * the NVMe ("Rocksoft") polynomial, so that one is a table-driven loop here.
 */
#ifndef CAIRN_CHECKSUM_H
#define CAIRN_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

enum checksum_algorithm {
  CHECKSUM_NONE = 0,
  CHECKSUM_CRC32,
  CHECKSUM_CRC32C,
  CHECKSUM_CRC64NVME,
  CHECKSUM_SHA1,
  CHECKSUM_SHA256,
};

#define CHECKSUM_MAX_LEN 32 /* raw bytes (SHA-256) */
#define CHECKSUM_B64_MAX 48 /* base64 text with NUL */

/* "CRC32" (any case) -> algorithm; CHECKSUM_NONE when unknown. */
enum checksum_algorithm checksum_parse(const char *name);
/* Canonical name ("CRC64NVME") and header ("x-amz-checksum-crc64nvme"). */
const char *checksum_name(enum checksum_algorithm a);
const char *checksum_header(enum checksum_algorithm a);

struct checksum {
  enum checksum_algorithm algorithm;
  uint64_t crc;
  struct crypto_hash *hash; /* SHA1/SHA256 */
};

int checksum_init(struct checksum *c, enum checksum_algorithm a);
void checksum_update(struct checksum *c, const void *data, size_t len);
/* Writes the base64 digest (as S3 shows it) and releases c. */
void checksum_final_base64(struct checksum *c, char out[CHECKSUM_B64_MAX]);
void checksum_release(struct checksum *c);

uint64_t crc64_nvme(uint64_t crc, const void *data, size_t len);

#endif

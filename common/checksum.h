/*
 * checksum.h - the additional checksums S3 clients send and ask for
 * (x-amz-checksum-crc32, -crc32c, -crc64nvme, -sha1, -sha256), computed
 * incrementally over object bytes as they stream past.
 *
 * CRC32 (crc32_gzip_refl) and CRC32C (crc32_iscsi) come from ISA-L. ISA-L
 * 2.30 as packaged by Debian 12 has no CRC64 in the NVMe ("Rocksoft")
 * polynomial (no crc64_rocksoft_refl in /usr/include/isa-l/crc64.h), so that
 * one is a slicing-by-8 table loop here; check("123456789") is
 * 0xAE8B14860A799888 (tested).
 *
 * Every value is formatted as S3 returns it: the big-endian raw digest in
 * standard base64. A multipart object's checksum is the "checksum of
 * checksums": the algorithm over the concatenated raw part checksums,
 * formatted "base64-N" with N the number of parts (checksum_composite_*).
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

#define CHECKSUM_MAX_LEN 32                           /* raw bytes (SHA-256) */
#define CHECKSUM_B64_MAX 48                           /* base64 text with NUL */
#define CHECKSUM_COMPOSITE_MAX (CHECKSUM_B64_MAX + 8) /* "...=-10000" */

/* "CRC32" (any case) -> algorithm; CHECKSUM_NONE when unknown. */
enum checksum_algorithm checksum_parse(const char *name);
/* Canonical name ("CRC64NVME") and header ("x-amz-checksum-crc64nvme"). */
const char *checksum_name(enum checksum_algorithm a);
const char *checksum_header(enum checksum_algorithm a);
/* "x-amz-checksum-crc32c" (any case) -> algorithm; CHECKSUM_NONE when the
 * name is not one of the five checksum headers. */
enum checksum_algorithm checksum_from_header(const char *name);
/* Raw digest length: 4, 4, 8, 20, 32; 0 for CHECKSUM_NONE. */
size_t checksum_length(enum checksum_algorithm a);
/* Decodes a base64 value the client sent; returns 0 when it is well formed
 * and exactly checksum_length(a) bytes (written to raw if not NULL), else
 * CAIRN_EINVAL (S3: InvalidRequest "Value for x-amz-checksum-... header is
 * invalid."). */
int checksum_decode(enum checksum_algorithm a, const char *b64,
                    uint8_t raw[CHECKSUM_MAX_LEN]);

struct checksum {
  enum checksum_algorithm algorithm;
  uint64_t crc;
  struct crypto_hash *hash; /* SHA1/SHA256 */
};

int checksum_init(struct checksum *c, enum checksum_algorithm a);
void checksum_update(struct checksum *c, const void *data, size_t len);
/* Writes the base64 digest (as S3 shows it) and releases c. */
void checksum_final_base64(struct checksum *c, char out[CHECKSUM_B64_MAX]);
/* Writes the raw big-endian digest (checksum_length() bytes), returns its
 * length and releases c. */
size_t checksum_final_raw(struct checksum *c, uint8_t out[CHECKSUM_MAX_LEN]);
/* Frees what checksum_init allocated; safe twice, safe after a final. */
void checksum_release(struct checksum *c);

/* One-shot: base64 checksum of a buffer; 0 or CAIRN_ENOMEM. */
int checksum_of(enum checksum_algorithm a, const void *data, size_t len,
                char out[CHECKSUM_B64_MAX]);

/* Checksum of checksums for CompleteMultipartUpload: feed each part's
 * base64 checksum in part order, then format "base64-N". */
struct checksum_composite {
  struct checksum sum;
  unsigned parts;
};
int checksum_composite_init(struct checksum_composite *c,
                            enum checksum_algorithm a);
/* 0, or CAIRN_EINVAL when part_b64 is not a valid value of the algorithm
 * (the composite is then unusable: release it). */
int checksum_composite_add(struct checksum_composite *c, const char *part_b64);
/* Writes "base64-N" and releases c. */
void checksum_composite_final(struct checksum_composite *c,
                              char out[CHECKSUM_COMPOSITE_MAX]);
void checksum_composite_release(struct checksum_composite *c);

/* Full-object CRC of a multipart object (x-amz-checksum-type FULL_OBJECT)
 * from its parts' CRCs and sizes, in part order, without reading a byte:
 * CRC(A || B) = shift(CRC(A), |B|) ^ CRC(B) in GF(2) (zlib's
 * crc32_combine, generalised to the three reflected CRCs S3 offers).
 * CRC32, CRC32C and CRC64NVME only: init returns CAIRN_EINVAL otherwise. */
struct checksum_full {
  enum checksum_algorithm algorithm;
  uint64_t crc;
  unsigned parts;
};
int checksum_full_init(struct checksum_full *f, enum checksum_algorithm a);
/* 0, or CAIRN_EINVAL when part_b64 is not a valid value of the algorithm. */
int checksum_full_add(struct checksum_full *f, const char *part_b64,
                      uint64_t part_size);
void checksum_full_final(const struct checksum_full *f,
                         char out[CHECKSUM_B64_MAX]);

uint64_t crc64_nvme(uint64_t crc, const void *data, size_t len);

#endif

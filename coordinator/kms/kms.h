/*
 * kms.h - the coordinator's key wrapping: the one place that holds the
 * master key and seals small secrets under it (per-object data keys, IAM
 * secret keys). Everything else only ever stores sealed blobs.
 *
 * The master key is 32 random bytes, created on first start in
 * DATA_DIR/master.key (hex, mode 0600, written durably) and never logged.
 * A sealed blob is
 *   version (1) | key-id length (1) | key id | nonce (12) | ciphertext | tag
 * with AES-256-GCM, the header and the caller's context string as
 * associated data: a blob moved to another use (a data key presented as an
 * IAM secret, the key of another object) fails to open. The key id lets a
 * later built-in KMS with named, rotatable keys find the key that sealed a
 * blob; today there is one key, "master".
 *
 * Thread-safe after kms_open: the key is read-only.
 */
#ifndef CAIRN_KMS_H
#define CAIRN_KMS_H

#include <stddef.h>
#include <stdint.h>

struct kms;

#define KMS_KEY_ID_MAX 64
/* Bytes a sealed blob adds to its plaintext, at most. */
#define KMS_SEAL_OVERHEAD (2 + KMS_KEY_ID_MAX + 12 + 16)

/* Loads DATA_DIR/master.key, creating it when absent. On failure returns a
 * negative CAIRN_E* and a one-line reason (CAIRN_EPERM: the file is
 * readable by others; CAIRN_ECORRUPT: it does not hold a key). */
int kms_open(const char *data_dir, struct kms **out, char *err, size_t err_len);
void kms_close(struct kms *k); /* wipes the key */

/* Seals len bytes; *out_len gets the blob's size (at most len +
 * KMS_SEAL_OVERHEAD; CAIRN_ETOOBIG if cap is smaller). context names what
 * the blob is ("object-key", "iam-secret:AKID..."). */
int kms_seal(const struct kms *k, const char *context, const void *plain,
             size_t len, uint8_t *out, size_t cap, size_t *out_len);
/* Opens a blob sealed with the same context; CAIRN_EAUTH when it was
 * tampered with or sealed for another context, CAIRN_ENOENT when its key
 * id is unknown, CAIRN_EINVAL when it is malformed. */
int kms_unseal(const struct kms *k, const char *context, const uint8_t *blob,
               size_t len, uint8_t *out, size_t cap, size_t *out_len);

#endif

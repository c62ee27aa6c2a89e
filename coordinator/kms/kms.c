/* kms.c - master key and sealed blobs (see kms.h). */
#include "kms.h"

#include "crypto.h"
#include "error.h"
#include "secret_file.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEAL_VERSION 1
#define MASTER_KEY_ID "master"

struct kms {
  uint8_t key[AES_GCM_KEY_LEN];
};

static int load_or_create(const char *path, uint8_t key[AES_GCM_KEY_LEN],
                          char *err, size_t err_len) {
  char hex[2 * AES_GCM_KEY_LEN + 2];
  long n = secret_file_read(path, hex, sizeof hex);
  if (n == CAIRN_ENOENT) {
    int rc = crypto_random(key, AES_GCM_KEY_LEN);
    if (rc == 0) {
      crypto_hex(key, AES_GCM_KEY_LEN, hex);
      rc = secret_file_write(path, hex, 2 * AES_GCM_KEY_LEN);
    }
    OPENSSL_cleanse(hex, sizeof hex);
    if (rc != 0)
      snprintf(err, err_len, "cannot create master key %s: %s", path,
               cairn_strerror(rc));
    return rc;
  }
  if (n < 0) {
    snprintf(err, err_len, "cannot read master key %s: %s%s", path,
             cairn_strerror((int)n),
             n == CAIRN_EPERM ? " (it must be mode 0600)" : "");
    return (int)n;
  }
  int rc = crypto_unhex(hex, (size_t)n, key, AES_GCM_KEY_LEN);
  OPENSSL_cleanse(hex, sizeof hex);
  if (rc != 0) {
    snprintf(err, err_len, "master key %s does not hold 64 hex digits", path);
    return CAIRN_ECORRUPT;
  }
  return 0;
}

int kms_open(const char *data_dir, struct kms **out, char *err,
             size_t err_len) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s/master.key", data_dir) >=
      (int)sizeof path) {
    snprintf(err, err_len, "data dir path too long");
    return CAIRN_EINVAL;
  }
  struct kms *k = calloc(1, sizeof *k);
  if (!k) {
    snprintf(err, err_len, "out of memory");
    return CAIRN_ENOMEM;
  }
  int rc = load_or_create(path, k->key, err, err_len);
  if (rc != 0) {
    kms_close(k);
    return rc;
  }
  *out = k;
  return 0;
}

void kms_close(struct kms *k) {
  if (!k)
    return;
  OPENSSL_cleanse(k->key, sizeof k->key);
  free(k);
}

/* Associated data: the blob's header, then the context. */
static size_t seal_aad(const uint8_t *header, size_t header_len,
                       const char *context, uint8_t *aad, size_t cap) {
  size_t ctx_len = strlen(context);
  if (header_len + ctx_len > cap)
    return 0;
  memcpy(aad, header, header_len);
  memcpy(aad + header_len, context, ctx_len);
  return header_len + ctx_len;
}

int kms_seal(const struct kms *k, const char *context, const void *plain,
             size_t len, uint8_t *out, size_t cap, size_t *out_len) {
  const size_t id_len = sizeof MASTER_KEY_ID - 1;
  const size_t header_len = 2 + id_len;
  const size_t total = header_len + AES_GCM_NONCE_LEN + len + AES_GCM_TAG_LEN;
  if (total > cap)
    return CAIRN_ETOOBIG;
  out[0] = SEAL_VERSION;
  out[1] = (uint8_t)id_len;
  memcpy(out + 2, MASTER_KEY_ID, id_len);
  uint8_t *nonce = out + header_len;
  int rc = crypto_random(nonce, AES_GCM_NONCE_LEN);
  if (rc != 0)
    return rc;
  uint8_t aad[2 + KMS_KEY_ID_MAX + 256];
  size_t aad_len = seal_aad(out, header_len, context, aad, sizeof aad);
  if (aad_len == 0)
    return CAIRN_EINVAL;
  uint8_t *ct = nonce + AES_GCM_NONCE_LEN;
  rc = crypto_aes_gcm_encrypt(k->key, nonce, aad, aad_len, plain, len, ct,
                              ct + len);
  if (rc == 0)
    *out_len = total;
  return rc;
}

int kms_unseal(const struct kms *k, const char *context, const uint8_t *blob,
               size_t len, uint8_t *out, size_t cap, size_t *out_len) {
  if (len < 2 || blob[0] != SEAL_VERSION)
    return CAIRN_EINVAL;
  size_t id_len = blob[1], header_len = 2 + id_len;
  if (id_len > KMS_KEY_ID_MAX ||
      len < header_len + AES_GCM_NONCE_LEN + AES_GCM_TAG_LEN)
    return CAIRN_EINVAL;
  if (id_len != sizeof MASTER_KEY_ID - 1 ||
      memcmp(blob + 2, MASTER_KEY_ID, id_len) != 0)
    return CAIRN_ENOENT;
  size_t ct_len = len - header_len - AES_GCM_NONCE_LEN - AES_GCM_TAG_LEN;
  if (ct_len > cap)
    return CAIRN_ETOOBIG;
  uint8_t aad[2 + KMS_KEY_ID_MAX + 256];
  size_t aad_len = seal_aad(blob, header_len, context, aad, sizeof aad);
  if (aad_len == 0)
    return CAIRN_EINVAL;
  const uint8_t *nonce = blob + header_len, *ct = nonce + AES_GCM_NONCE_LEN;
  int rc = crypto_aes_gcm_decrypt(k->key, nonce, aad, aad_len, ct, ct_len, out,
                                  ct + ct_len);
  if (rc != 0) {
    OPENSSL_cleanse(out, ct_len); /* never hand out unauthenticated bytes */
    return rc;
  }
  *out_len = ct_len;
  return 0;
}

/* chunk_cipher.c - per-block AES-256-GCM of chunk bytes (chunk_cipher.h). */
#include "chunk_cipher.h"

#include "crypto.h"
#include "error.h"

#include <openssl/crypto.h>
#include <string.h>

static const char subkey_label[] = "cairn-chunk-key-v1";

void chunk_cipher_init(struct chunk_cipher *c,
                       const uint8_t data_key[CHUNK_CIPHER_KEY_LEN],
                       const uint8_t chunk_id[16], uint64_t length) {
  uint8_t info[sizeof subkey_label - 1 + 16];
  memcpy(info, subkey_label, sizeof subkey_label - 1);
  memcpy(info + sizeof subkey_label - 1, chunk_id, 16);
  crypto_hmac_sha256(data_key, CHUNK_CIPHER_KEY_LEN, info, sizeof info, c->key);
  memcpy(c->chunk_id, chunk_id, 16);
  c->length = length;
}

void chunk_cipher_wipe(struct chunk_cipher *c) {
  OPENSSL_cleanse(c->key, sizeof c->key);
}

uint64_t chunk_cipher_stored_length(uint64_t length) {
  uint64_t blocks = (length + CHUNK_CIPHER_BLOCK - 1) / CHUNK_CIPHER_BLOCK;
  return length + blocks * CHUNK_CIPHER_TAG;
}

size_t chunk_cipher_block_length(const struct chunk_cipher *c, uint32_t index) {
  uint64_t start = (uint64_t)index * CHUNK_CIPHER_BLOCK;
  if (start >= c->length)
    return 0;
  uint64_t left = c->length - start;
  return left < CHUNK_CIPHER_BLOCK ? (size_t)left : CHUNK_CIPHER_BLOCK;
}

static void nonce_and_aad(const struct chunk_cipher *c, uint32_t index,
                          uint8_t nonce[AES_GCM_NONCE_LEN], uint8_t aad[28]) {
  memset(nonce, 0, AES_GCM_NONCE_LEN);
  for (int i = 0; i < 4; i++)
    nonce[8 + i] = (uint8_t)(index >> (24 - 8 * i));
  memcpy(aad, c->chunk_id, 16);
  memcpy(aad + 16, nonce + 8, 4);
  for (int i = 0; i < 8; i++)
    aad[20 + i] = (uint8_t)(c->length >> (56 - 8 * i));
}

int chunk_cipher_seal(const struct chunk_cipher *c, uint32_t index,
                      const void *plain, void *out) {
  size_t len = chunk_cipher_block_length(c, index);
  if (len == 0)
    return CAIRN_EINVAL;
  uint8_t nonce[AES_GCM_NONCE_LEN], aad[28];
  nonce_and_aad(c, index, nonce, aad);
  return crypto_aes_gcm_encrypt(c->key, nonce, aad, sizeof aad, plain, len, out,
                                (uint8_t *)out + len);
}

int chunk_cipher_open(const struct chunk_cipher *c, uint32_t index,
                      const void *stored, size_t stored_len, void *out) {
  size_t len = chunk_cipher_block_length(c, index);
  if (len == 0 || stored_len != len + CHUNK_CIPHER_TAG)
    return CAIRN_EINVAL;
  uint8_t nonce[AES_GCM_NONCE_LEN], aad[28];
  nonce_and_aad(c, index, nonce, aad);
  return crypto_aes_gcm_decrypt(c->key, nonce, aad, sizeof aad, stored, len,
                                out, (const uint8_t *)stored + len);
}

void chunk_cipher_bind(const struct chunk_cipher *c, struct crypto_gcm *g) {
  crypto_gcm_set_key(g, c->key);
}

int chunk_cipher_seal_on(const struct chunk_cipher *c, struct crypto_gcm *g,
                         uint32_t index, const void *plain, void *out) {
  size_t len = chunk_cipher_block_length(c, index);
  if (len == 0)
    return CAIRN_EINVAL;
  uint8_t nonce[AES_GCM_NONCE_LEN], aad[28];
  nonce_and_aad(c, index, nonce, aad);
  return crypto_gcm_encrypt(g, nonce, aad, sizeof aad, plain, len, out,
                            (uint8_t *)out + len);
}

int chunk_cipher_open_on(const struct chunk_cipher *c, struct crypto_gcm *g,
                         uint32_t index, const void *stored, size_t stored_len,
                         void *out) {
  size_t len = chunk_cipher_block_length(c, index);
  if (len == 0 || stored_len != len + CHUNK_CIPHER_TAG)
    return CAIRN_EINVAL;
  uint8_t nonce[AES_GCM_NONCE_LEN], aad[28];
  nonce_and_aad(c, index, nonce, aad);
  return crypto_gcm_decrypt(g, nonce, aad, sizeof aad, stored, len, out,
                            (const uint8_t *)stored + len);
}

int chunk_cipher_open_detached_on(const struct chunk_cipher *c,
                                  struct crypto_gcm *g, uint32_t index,
                                  const void *ct,
                                  const uint8_t tag[CHUNK_CIPHER_TAG],
                                  void *out) {
  size_t len = chunk_cipher_block_length(c, index);
  if (len == 0)
    return CAIRN_EINVAL;
  uint8_t nonce[AES_GCM_NONCE_LEN], aad[28];
  nonce_and_aad(c, index, nonce, aad);
  return crypto_gcm_decrypt(g, nonce, aad, sizeof aad, ct, len, out, tag);
}

void chunk_cipher_map(uint64_t length, uint64_t from, uint64_t len,
                      struct chunk_cipher_range *out) {
  uint64_t first = from / CHUNK_CIPHER_BLOCK;
  uint64_t last = (from + len - 1) / CHUNK_CIPHER_BLOCK; /* inclusive */
  uint64_t end_plain = (last + 1) * CHUNK_CIPHER_BLOCK;
  if (end_plain > length)
    end_plain = length;
  out->first_block = (uint32_t)first;
  out->stored_offset = first * CHUNK_CIPHER_STRIDE;
  out->stored_length = chunk_cipher_stored_length(end_plain) -
                       out->stored_offset; /* blocks first..last */
  out->skip = (uint32_t)(from - first * CHUNK_CIPHER_BLOCK);
}

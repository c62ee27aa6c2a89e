/*
 * crypto.h - the hashes, MACs and randomness every Cairn process uses, on
 * OpenSSL 3 EVP. The EVP_MD and EVP_MAC objects are fetched once by
 * crypto_init() (call it first in main) and reused: a SigV4 check then costs
 * about 1 microsecond instead of a provider lookup per call.
 */
#ifndef CAIRN_CRYPTO_H
#define CAIRN_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
#define MD5_LEN 16
#define SHA1_LEN 20

int crypto_init(void); /* 0 or CAIRN_E*; idempotent, not thread-safe */
void crypto_shutdown(void);

void crypto_sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);
void crypto_md5(const void *data, size_t len, uint8_t out[MD5_LEN]);
void crypto_hmac_sha256(const void *key, size_t key_len, const void *data,
                        size_t data_len, uint8_t out[SHA256_LEN]);
/* AWS Signature Version 2 only: SHA-1 is what that protocol fixed. */
void crypto_hmac_sha1(const void *key, size_t key_len, const void *data,
                      size_t data_len, uint8_t out[SHA1_LEN]);

/* Streaming digests for object bytes: hash each buffer once, as it passes. */
struct crypto_hash; /* opaque; owned by the caller */
enum crypto_hash_kind { CRYPTO_HASH_SHA256, CRYPTO_HASH_MD5, CRYPTO_HASH_SHA1 };
struct crypto_hash *crypto_hash_new(enum crypto_hash_kind kind);
void crypto_hash_update(struct crypto_hash *h, const void *data, size_t len);
/* Writes the digest (32, 16 or 20 bytes) and returns its length. */
size_t crypto_hash_final(struct crypto_hash *h, uint8_t *out);
void crypto_hash_free(struct crypto_hash *h);

/* Fills buf from the OS CSPRNG; 0 or CAIRN_EIO. */
int crypto_random(void *buf, size_t len);

/* Lower-case hex; out holds 2*len+1 bytes. */
void crypto_hex(const uint8_t *in, size_t len, char *out);
/* Value of one hex digit (either case), or -1. */
int crypto_hex_digit(char c);
/* Decodes exactly out_len bytes of hex; 0 or CAIRN_EINVAL. */
int crypto_unhex(const char *hex, size_t hex_len, uint8_t *out, size_t out_len);

/* Standard base64 with padding; out holds 4*((len+2)/3)+1 bytes. */
void crypto_base64(const uint8_t *in, size_t len, char *out);
/* Returns decoded length, or -1 if malformed or longer than out_cap. */
long crypto_unbase64(const char *in, size_t in_len, uint8_t *out,
                     size_t out_cap);

/* AES-256-GCM, one message at a time (a block of object data, a wrapped
 * key). The 16-byte tag authenticates the ciphertext and the aad; decrypt
 * returns CAIRN_EAUTH (and leaves garbage in out) when either was changed.
 * in and out may be the same buffer. 0 or CAIRN_E*. */
#define AES_GCM_KEY_LEN 32
#define AES_GCM_NONCE_LEN 12
#define AES_GCM_TAG_LEN 16
int crypto_aes_gcm_encrypt(const uint8_t key[AES_GCM_KEY_LEN],
                           const uint8_t nonce[AES_GCM_NONCE_LEN],
                           const void *aad, size_t aad_len, const void *in,
                           size_t len, void *out, uint8_t tag[AES_GCM_TAG_LEN]);
int crypto_aes_gcm_decrypt(const uint8_t key[AES_GCM_KEY_LEN],
                           const uint8_t nonce[AES_GCM_NONCE_LEN],
                           const void *aad, size_t aad_len, const void *in,
                           size_t len, void *out,
                           const uint8_t tag[AES_GCM_TAG_LEN]);

/* A reusable AES-256-GCM context for a stream of messages under one key
 * (the sealed blocks of one chunk): the OpenSSL context and the key
 * schedule are set up once per key, each message then only sets its
 * nonce. crypto_aes_gcm_* above cost a context allocation and a key
 * expansion per message. Owned by the caller, one thread at a time; it
 * keeps a copy of the key until the next set_key or free (which wipes
 * it). The same results and errors as the one-shot functions. */
struct crypto_gcm;
struct crypto_gcm *crypto_gcm_new(void); /* NULL: out of memory */
void crypto_gcm_set_key(struct crypto_gcm *g,
                        const uint8_t key[AES_GCM_KEY_LEN]);
int crypto_gcm_encrypt(struct crypto_gcm *g,
                       const uint8_t nonce[AES_GCM_NONCE_LEN], const void *aad,
                       size_t aad_len, const void *in, size_t len, void *out,
                       uint8_t tag[AES_GCM_TAG_LEN]);
int crypto_gcm_decrypt(struct crypto_gcm *g,
                       const uint8_t nonce[AES_GCM_NONCE_LEN], const void *aad,
                       size_t aad_len, const void *in, size_t len, void *out,
                       const uint8_t tag[AES_GCM_TAG_LEN]);
void crypto_gcm_free(struct crypto_gcm *g);

/* Constant-time equality, for MACs and signatures. */
int crypto_equal(const void *a, const void *b, size_t len);

#endif

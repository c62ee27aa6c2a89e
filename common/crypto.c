/* crypto.c - OpenSSL 3 EVP wrappers (see crypto.h). */
#include "crypto.h"

#include "error.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static EVP_MD *md_sha256, *md_md5, *md_sha1;
static EVP_MAC *mac_hmac; /* HMAC-SHA1 (SigV2); HMAC-SHA256 is hand-rolled */
static EVP_CIPHER *cipher_aes_gcm;

int crypto_init(void) {
  if (md_sha256)
    return 0;
  md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  md_md5 = EVP_MD_fetch(NULL, "MD5", NULL);
  md_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
  mac_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  cipher_aes_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
  if (!md_sha256 || !md_md5 || !md_sha1 || !mac_hmac || !cipher_aes_gcm) {
    crypto_shutdown();
    return CAIRN_EIO;
  }
  return 0;
}

void crypto_shutdown(void) {
  EVP_MD_free(md_sha256);
  EVP_MD_free(md_md5);
  EVP_MD_free(md_sha1);
  EVP_MAC_free(mac_hmac);
  EVP_CIPHER_free(cipher_aes_gcm);
  md_sha256 = md_md5 = md_sha1 = NULL;
  mac_hmac = NULL;
  cipher_aes_gcm = NULL;
}

static void digest(const EVP_MD *md, const void *data, size_t len,
                   uint8_t *out) {
  unsigned int out_len = 0;
  if (!md) /* crypto_init() not called: fetch implicitly (tests, tools) */
    crypto_init();
  EVP_Digest(data, len, out, &out_len, md ? md : md_sha256, NULL);
}

void crypto_sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]) {
  if (!md_sha256)
    crypto_init();
  digest(md_sha256, data, len, out);
}

void crypto_md5(const void *data, size_t len, uint8_t out[MD5_LEN]) {
  if (!md_md5)
    crypto_init();
  digest(md_md5, data, len, out);
}

/* One HMAC with the named digest; a failure leaves zeros, which never
 * match a real MAC by chance. */
static void hmac(const char *digest_name, const void *key, size_t key_len,
                 const void *data, size_t data_len, uint8_t *out,
                 size_t out_cap) {
  if (!mac_hmac)
    crypto_init();
  EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac_hmac);
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(
                             OSSL_MAC_PARAM_DIGEST, (char *)digest_name, 0),
                         OSSL_PARAM_construct_end()};
  size_t out_len = 0;
  if (!ctx || !EVP_MAC_init(ctx, key, key_len, params) ||
      !EVP_MAC_update(ctx, data, data_len) ||
      !EVP_MAC_final(ctx, out, &out_len, out_cap))
    memset(out, 0, out_cap);
  EVP_MAC_CTX_free(ctx);
}

/* HMAC (RFC 2104) on one SHA-256 digest context, reused for the inner and
 * the outer hash. EVP_MAC costs ~18,600 instructions a call here (a MAC
 * context, the digest fetched again by name, parameter parsing); this
 * costs about a third of that (callgrind), and SigV4 does 5 per request.
 * Checked against RFC 4231 in test_crypto. */
void crypto_hmac_sha256(const void *key, size_t key_len, const void *data,
                        size_t data_len, uint8_t out[SHA256_LEN]) {
  if (!md_sha256)
    crypto_init();
  enum { BLOCK = 64 };
  uint8_t k[BLOCK], pad[BLOCK], inner[SHA256_LEN];
  memset(k, 0, sizeof k);
  if (key_len > BLOCK)
    digest(md_sha256, key, key_len, k);
  else if (key_len)
    memcpy(k, key, key_len);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  unsigned int n = 0;
  for (int i = 0; i < BLOCK; i++)
    pad[i] = k[i] ^ 0x36;
  int ok = ctx && EVP_DigestInit_ex(ctx, md_sha256, NULL) &&
           EVP_DigestUpdate(ctx, pad, BLOCK) &&
           EVP_DigestUpdate(ctx, data, data_len) &&
           EVP_DigestFinal_ex(ctx, inner, &n);
  for (int i = 0; i < BLOCK; i++)
    pad[i] = k[i] ^ 0x5c;
  ok = ok && EVP_DigestInit_ex(ctx, md_sha256, NULL) &&
       EVP_DigestUpdate(ctx, pad, BLOCK) &&
       EVP_DigestUpdate(ctx, inner, SHA256_LEN) &&
       EVP_DigestFinal_ex(ctx, out, &n);
  if (!ok)
    memset(out, 0, SHA256_LEN); /* never matches a real MAC by chance */
  EVP_MD_CTX_free(ctx);
  OPENSSL_cleanse(k, sizeof k);
  OPENSSL_cleanse(pad, sizeof pad);
  OPENSSL_cleanse(inner, sizeof inner);
}

void crypto_hmac_sha1(const void *key, size_t key_len, const void *data,
                      size_t data_len, uint8_t out[SHA1_LEN]) {
  hmac("SHA1", key, key_len, data, data_len, out, SHA1_LEN);
}

struct crypto_hash {
  EVP_MD_CTX *ctx;
};

struct crypto_hash *crypto_hash_new(enum crypto_hash_kind kind) {
  if (!md_sha256 && crypto_init() != 0)
    return NULL;
  const EVP_MD *md = kind == CRYPTO_HASH_MD5    ? md_md5
                     : kind == CRYPTO_HASH_SHA1 ? md_sha1
                                                : md_sha256;
  struct crypto_hash *h = malloc(sizeof *h);
  if (!h)
    return NULL;
  h->ctx = EVP_MD_CTX_new();
  if (!h->ctx || !EVP_DigestInit_ex(h->ctx, md, NULL)) {
    crypto_hash_free(h);
    return NULL;
  }
  return h;
}

void crypto_hash_update(struct crypto_hash *h, const void *data, size_t len) {
  EVP_DigestUpdate(h->ctx, data, len);
}

size_t crypto_hash_final(struct crypto_hash *h, uint8_t *out) {
  unsigned int len = 0;
  EVP_DigestFinal_ex(h->ctx, out, &len);
  return len;
}

void crypto_hash_free(struct crypto_hash *h) {
  if (!h)
    return;
  EVP_MD_CTX_free(h->ctx);
  free(h);
}

int crypto_random(void *buf, size_t len) {
  return RAND_bytes(buf, (int)len) == 1 ? 0 : CAIRN_EIO;
}

void crypto_hex(const uint8_t *in, size_t len, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * len] = '\0';
}

int crypto_hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int crypto_unhex(const char *hex, size_t hex_len, uint8_t *out,
                 size_t out_len) {
  if (hex_len != 2 * out_len)
    return CAIRN_EINVAL;
  for (size_t i = 0; i < out_len; i++) {
    int hi = crypto_hex_digit(hex[2 * i]),
        lo = crypto_hex_digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return CAIRN_EINVAL;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return 0;
}

void crypto_base64(const uint8_t *in, size_t len, char *out) {
  EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

long crypto_unbase64(const char *in, size_t in_len, uint8_t *out,
                     size_t out_cap) {
  if (in_len % 4 != 0 || in_len / 4 * 3 > out_cap + 2 || in_len > 4096)
    return -1;
  uint8_t tmp[in_len / 4 * 3 + 1];
  int n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)in_len);
  if (n < 0)
    return -1;
  /* EVP_DecodeBlock counts the padding as zero bytes: take them off. */
  if (in_len >= 1 && in[in_len - 1] == '=')
    n--;
  if (in_len >= 2 && in[in_len - 2] == '=')
    n--;
  if ((size_t)n > out_cap)
    return -1;
  memcpy(out, tmp, (size_t)n);
  return n;
}

/* One message on a context already keyed (or to be keyed now, when key
 * is not NULL) for direction enc: only the nonce is set per message, so
 * the AES key schedule and the GHASH tables are not rebuilt. */
static int gcm_message(EVP_CIPHER_CTX *ctx, int enc, const uint8_t *key,
                       const uint8_t *nonce, const void *aad, size_t aad_len,
                       const void *in, size_t len, void *out, uint8_t *tag) {
  if (len > INT_MAX || aad_len > INT_MAX)
    return CAIRN_EINVAL;
  int n = 0;
  if (!EVP_CipherInit_ex(ctx, key ? cipher_aes_gcm : NULL, NULL, key, nonce,
                         enc))
    return CAIRN_EIO;
  if (aad_len && !EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_len))
    return CAIRN_EIO;
  if (len && !EVP_CipherUpdate(ctx, out, &n, in, (int)len))
    return CAIRN_EIO;
  if (!enc &&
      !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, AES_GCM_TAG_LEN, tag))
    return CAIRN_EIO;
  if (!EVP_CipherFinal_ex(ctx, (uint8_t *)out + n, &n))
    return enc ? CAIRN_EIO : CAIRN_EAUTH; /* decrypt: the tag did not match */
  if (enc &&
      !EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, AES_GCM_TAG_LEN, tag))
    return CAIRN_EIO;
  return 0;
}

/* One-shot messages (wrapped keys, tests): a context per call. Streams of
 * blocks use struct crypto_gcm below instead. */
static int aes_gcm(int enc, const uint8_t *key, const uint8_t *nonce,
                   const void *aad, size_t aad_len, const void *in, size_t len,
                   void *out, uint8_t *tag) {
  if (!cipher_aes_gcm && crypto_init() != 0)
    return CAIRN_EIO;
  EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
  if (!ctx)
    return CAIRN_ENOMEM;
  int rc = gcm_message(ctx, enc, key, nonce, aad, aad_len, in, len, out, tag);
  EVP_CIPHER_CTX_free(ctx);
  return rc;
}

int crypto_aes_gcm_encrypt(const uint8_t key[AES_GCM_KEY_LEN],
                           const uint8_t nonce[AES_GCM_NONCE_LEN],
                           const void *aad, size_t aad_len, const void *in,
                           size_t len, void *out,
                           uint8_t tag[AES_GCM_TAG_LEN]) {
  return aes_gcm(1, key, nonce, aad, aad_len, in, len, out, tag);
}

int crypto_aes_gcm_decrypt(const uint8_t key[AES_GCM_KEY_LEN],
                           const uint8_t nonce[AES_GCM_NONCE_LEN],
                           const void *aad, size_t aad_len, const void *in,
                           size_t len, void *out,
                           const uint8_t tag[AES_GCM_TAG_LEN]) {
  return aes_gcm(0, key, nonce, aad, aad_len, in, len, out, (uint8_t *)tag);
}

struct crypto_gcm {
  EVP_CIPHER_CTX *ctx;
  uint8_t key[AES_GCM_KEY_LEN];
  int keyed; /* 0: no key yet; else the direction the ctx is keyed for + 1 */
};

struct crypto_gcm *crypto_gcm_new(void) {
  if (!cipher_aes_gcm && crypto_init() != 0)
    return NULL;
  struct crypto_gcm *g = calloc(1, sizeof *g);
  if (!g)
    return NULL;
  g->ctx = EVP_CIPHER_CTX_new();
  if (!g->ctx) {
    free(g);
    return NULL;
  }
  return g;
}

void crypto_gcm_set_key(struct crypto_gcm *g,
                        const uint8_t key[AES_GCM_KEY_LEN]) {
  memcpy(g->key, key, AES_GCM_KEY_LEN);
  g->keyed = 0; /* the schedule is built by the next message */
}

/* The first message after set_key, or after a change of direction, keys
 * the context; the others only set their nonce. A failed message leaves
 * the context to be keyed again. */
static int gcm_stream(struct crypto_gcm *g, int enc, const uint8_t *nonce,
                      const void *aad, size_t aad_len, const void *in,
                      size_t len, void *out, uint8_t *tag) {
  const uint8_t *key = g->keyed == enc + 1 ? NULL : g->key;
  g->keyed = enc + 1;
  int rc =
      gcm_message(g->ctx, enc, key, nonce, aad, aad_len, in, len, out, tag);
  if (rc != 0)
    g->keyed = 0;
  return rc;
}

int crypto_gcm_encrypt(struct crypto_gcm *g,
                       const uint8_t nonce[AES_GCM_NONCE_LEN], const void *aad,
                       size_t aad_len, const void *in, size_t len, void *out,
                       uint8_t tag[AES_GCM_TAG_LEN]) {
  return gcm_stream(g, 1, nonce, aad, aad_len, in, len, out, tag);
}

int crypto_gcm_decrypt(struct crypto_gcm *g,
                       const uint8_t nonce[AES_GCM_NONCE_LEN], const void *aad,
                       size_t aad_len, const void *in, size_t len, void *out,
                       const uint8_t tag[AES_GCM_TAG_LEN]) {
  return gcm_stream(g, 0, nonce, aad, aad_len, in, len, out, (uint8_t *)tag);
}

void crypto_gcm_free(struct crypto_gcm *g) {
  if (!g)
    return;
  EVP_CIPHER_CTX_free(g->ctx); /* cleanses the key schedule */
  OPENSSL_cleanse(g->key, sizeof g->key);
  free(g);
}

int crypto_equal(const void *a, const void *b, size_t len) {
  return CRYPTO_memcmp(a, b, len) == 0;
}

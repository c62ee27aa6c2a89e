/*
 * chunk_cipher.h - encryption at rest of one chunk's bytes (SSE-S3).
 *
 * A chunk's plaintext is cut into blocks of CHUNK_CIPHER_BLOCK bytes (the
 * last one shorter); each is sealed on its own with AES-256-GCM and stored
 * as ciphertext followed by its 16-byte tag, so a range read fetches and
 * opens only the blocks it touches, and a changed byte fails the tag
 * instead of reaching a client.
 *
 * Keys and nonces. Each object (or multipart upload) has a random 32-byte
 * data key. Each chunk gets its own subkey,
 *   chunk key = HMAC-SHA256(data key, "cairn-chunk-key-v1" || chunk id)
 * (HKDF-Expand with one output block; the extract step is not needed since
 * the data key is already uniformly random), and block i is sealed with
 * nonce = 0^8 || i (32-bit big-endian). A nonce is therefore never reused
 * under one key as long as a chunk id is written once: chunk ids are 16
 * fresh random bytes per upload and a chunk's bytes are sealed once, then
 * sent unchanged to every replica (or split into EC fragments). Deriving a
 * subkey, rather than building nonces from the chunk id, also keeps the
 * number of GCM messages per key tiny (at most 2^32 blocks per chunk).
 *
 * AAD = chunk id (16) || block index (4 BE) || chunk plaintext length
 * (8 BE): a block moved to another position or chunk, or a chunk cut short
 * or extended, fails authentication.
 *
 * Pure: no I/O. chunk_cipher_seal/open allocate an OpenSSL context and
 * expand the key per block; a stream of blocks uses the _on variants with
 * one crypto_gcm context (crypto.h) keyed once per chunk instead.
 */
#ifndef CAIRN_CHUNK_CIPHER_H
#define CAIRN_CHUNK_CIPHER_H

#include <stddef.h>
#include <stdint.h>

struct crypto_gcm;

#define CHUNK_CIPHER_KEY_LEN 32
#define CHUNK_CIPHER_BLOCK (64u << 10) /* plaintext bytes per sealed block */
#define CHUNK_CIPHER_TAG 16
#define CHUNK_CIPHER_STRIDE (CHUNK_CIPHER_BLOCK + CHUNK_CIPHER_TAG)

struct chunk_cipher {
  uint8_t key[CHUNK_CIPHER_KEY_LEN]; /* the chunk's subkey */
  uint8_t chunk_id[16];
  uint64_t length; /* plaintext bytes of the chunk */
};

/* Derives the subkey of one chunk. Wipe with chunk_cipher_wipe. */
void chunk_cipher_init(struct chunk_cipher *c,
                       const uint8_t data_key[CHUNK_CIPHER_KEY_LEN],
                       const uint8_t chunk_id[16], uint64_t length);
void chunk_cipher_wipe(struct chunk_cipher *c);

/* Stored bytes of a chunk of `length` plaintext bytes. */
uint64_t chunk_cipher_stored_length(uint64_t length);
/* Plaintext bytes of block `index` (CHUNK_CIPHER_BLOCK except the last). */
size_t chunk_cipher_block_length(const struct chunk_cipher *c, uint32_t index);

/* Seals block `index`: plain (exactly chunk_cipher_block_length bytes) ->
 * out (that length + CHUNK_CIPHER_TAG). plain and out may be the same
 * buffer. 0 or CAIRN_E*. */
int chunk_cipher_seal(const struct chunk_cipher *c, uint32_t index,
                      const void *plain, void *out);
/* Opens a stored block (stored_len = block length + tag) into out (block
 * length bytes; may be the same buffer). CAIRN_EAUTH when the block was
 * changed, moved or cut; CAIRN_EINVAL when stored_len is wrong. */
int chunk_cipher_open(const struct chunk_cipher *c, uint32_t index,
                      const void *stored, size_t stored_len, void *out);

/* The same on a caller's context: chunk_cipher_bind keys g for chunk c
 * (once per chunk; c's subkey is copied into g, wiped by the next bind or
 * crypto_gcm_free), then every block of c is sealed or opened on g
 * without an allocation or a key expansion. Same results and errors. */
void chunk_cipher_bind(const struct chunk_cipher *c, struct crypto_gcm *g);
int chunk_cipher_seal_on(const struct chunk_cipher *c, struct crypto_gcm *g,
                         uint32_t index, const void *plain, void *out);
int chunk_cipher_open_on(const struct chunk_cipher *c, struct crypto_gcm *g,
                         uint32_t index, const void *stored, size_t stored_len,
                         void *out);
/* The same with the block's tag kept apart from its ciphertext (ct:
 * chunk_cipher_block_length bytes), so that the plaintext of consecutive
 * blocks opened in place ends up contiguous. */
int chunk_cipher_open_detached_on(const struct chunk_cipher *c,
                                  struct crypto_gcm *g, uint32_t index,
                                  const void *ct,
                                  const uint8_t tag[CHUNK_CIPHER_TAG],
                                  void *out);

/* Which stored bytes serve plaintext [from, from + len) of a chunk. */
struct chunk_cipher_range {
  uint32_t first_block;   /* index of the first block to open */
  uint64_t stored_offset; /* = first_block * CHUNK_CIPHER_STRIDE */
  uint64_t stored_length; /* whole blocks, up to the chunk's end */
  uint32_t skip;          /* plaintext bytes to drop from the first block */
};
/* Requires len > 0 and from + len <= length. */
void chunk_cipher_map(uint64_t length, uint64_t from, uint64_t len,
                      struct chunk_cipher_range *out);

#endif

/* bench_speed.c - single-core speed of the data path's primitives (see
 * bench_speed.h). Each test runs its kernel over an in-cache buffer until
 * BENCH_SPEED_SECONDS have passed and reports bytes processed per second. */
#include "bench_speed.h"

#include "bench_report.h"
#include "crypto.h"
#include "error.h"

#include <isa-l/erasure_code.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AES_MESSAGE (16u << 10) /* as the chunk blocks sealed at rest */
#define MD5_BUFFER (1u << 20)
#define RS_DATA 4
#define RS_PARITY 2
#define RS_FRAGMENT (256u << 10)

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One unit of work of `bytes` bytes; returns 0 or CAIRN_E*. */
typedef int (*speed_kernel_fn)(void *state, size_t *bytes);

static int measure(speed_kernel_fn kernel, void *state, double *gbps) {
  double start = now_seconds(), elapsed;
  uint64_t total = 0;
  do {
    size_t bytes = 0;
    int rc = kernel(state, &bytes);
    if (rc)
      return rc;
    total += bytes;
    elapsed = now_seconds() - start;
  } while (elapsed < BENCH_SPEED_SECONDS);
  *gbps = (double)total / elapsed / 1e9;
  return 0;
}

struct aes_state {
  EVP_CIPHER_CTX *ctx;
  EVP_CIPHER *cipher;
  uint8_t key[32], iv[12], tag[16];
  uint8_t *in, *out;
};

/* One GCM message: init with a fresh IV, encrypt, finish, take the tag. */
static int aes_kernel(void *arg, size_t *bytes) {
  struct aes_state *a = arg;
  int n = 0;
  a->iv[0]++;
  if (!EVP_EncryptInit_ex2(a->ctx, a->cipher, a->key, a->iv, NULL) ||
      !EVP_EncryptUpdate(a->ctx, a->out, &n, a->in, AES_MESSAGE) ||
      !EVP_EncryptFinal_ex(a->ctx, a->out + n, &n) ||
      !EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_GCM_GET_TAG, 16, a->tag))
    return CAIRN_EIO;
  *bytes = AES_MESSAGE;
  return 0;
}

static int speed_aes(double *gbps) {
  struct aes_state a = {0};
  int rc = CAIRN_ENOMEM;
  a.ctx = EVP_CIPHER_CTX_new();
  a.cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
  a.in = calloc(1, AES_MESSAGE);
  a.out = malloc(AES_MESSAGE + 16);
  if (a.ctx && a.cipher && a.in && a.out)
    rc = measure(aes_kernel, &a, gbps);
  EVP_CIPHER_CTX_free(a.ctx);
  EVP_CIPHER_free(a.cipher);
  free(a.in);
  free(a.out);
  return rc;
}

struct md5_state {
  struct crypto_hash *hash;
  uint8_t *buffer;
};

static int md5_kernel(void *arg, size_t *bytes) {
  struct md5_state *m = arg;
  crypto_hash_update(m->hash, m->buffer, MD5_BUFFER);
  *bytes = MD5_BUFFER;
  return 0;
}

static int speed_md5(double *gbps) {
  struct md5_state m = {crypto_hash_new(CRYPTO_HASH_MD5),
                        calloc(1, MD5_BUFFER)};
  int rc = m.hash && m.buffer ? measure(md5_kernel, &m, gbps) : CAIRN_ENOMEM;
  if (m.hash) {
    uint8_t digest[MD5_LEN];
    crypto_hash_final(m.hash, digest);
    crypto_hash_free(m.hash);
  }
  free(m.buffer);
  return rc;
}

struct rs_state {
  uint8_t tables[RS_DATA * RS_PARITY * 32];
  uint8_t *fragments[RS_DATA + RS_PARITY];
};

static int rs_kernel(void *arg, size_t *bytes) {
  struct rs_state *s = arg;
  ec_encode_data(RS_FRAGMENT, RS_DATA, RS_PARITY, s->tables, s->fragments,
                 s->fragments + RS_DATA);
  *bytes = (size_t)RS_DATA * RS_FRAGMENT; /* data bytes protected */
  return 0;
}

static int speed_rs(double *gbps) {
  struct rs_state s = {0};
  uint8_t matrix[(RS_DATA + RS_PARITY) * RS_DATA];
  int rc = 0;
  gf_gen_cauchy1_matrix(matrix, RS_DATA + RS_PARITY, RS_DATA);
  ec_init_tables(RS_DATA, RS_PARITY, matrix + RS_DATA * RS_DATA, s.tables);
  for (int i = 0; i < RS_DATA + RS_PARITY; i++)
    if (!(s.fragments[i] = malloc(RS_FRAGMENT)))
      rc = CAIRN_ENOMEM;
  for (int i = 0; !rc && i < RS_DATA; i++)
    rc = crypto_random(s.fragments[i], RS_FRAGMENT);
  if (!rc)
    rc = measure(rs_kernel, &s, gbps);
  for (int i = 0; i < RS_DATA + RS_PARITY; i++)
    free(s.fragments[i]);
  return rc;
}

int bench_speed(int json) {
  double aes = 0, md5 = 0, rs = 0;
  int rc = speed_aes(&aes);
  if (!rc)
    rc = speed_md5(&md5);
  if (!rc)
    rc = speed_rs(&rs);
  if (rc) {
    fprintf(stderr, "cairn-bench speed: %s\n", cairn_strerror(rc));
    return rc;
  }
  if (json)
    return bench_report_print_json(json_pack(
        "{s:s, s:f, s:f, s:f}", "scenario", "speed", "aes_256_gcm_gbps", aes,
        "md5_gbps", md5, "rs_4_2_encode_gbps", rs));
  printf("single core, GB/s (10^9 bytes)\n");
  printf("  AES-256-GCM, 16 KiB messages   %6.2f\n", aes);
  printf("  MD5                            %6.2f\n", md5);
  printf("  ISA-L RS(4,2) encode           %6.2f\n", rs);
  return 0;
}

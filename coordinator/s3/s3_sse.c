/* s3_sse.c - SSE-S3 headers and data keys (see s3_sse.h). */
#include "s3_sse.h"

#include "coordinator.h"
#include "crypto.h"
#include "error.h"
#include "meta.h"
#include "s3_request.h"

#include <openssl/crypto.h>
#include <string.h>

/* kms_seal context of an object's data key: a blob sealed for another use
 * (an IAM secret) cannot be presented as one. */
#define DATA_KEY_CONTEXT "object-data-key"

const char *s3_sse_check(const struct s3_request *r, int writes_object,
                         const char **message) {
  *message = NULL;
  static const char *const sse_c[] = {
      "x-amz-server-side-encryption-customer-algorithm",
      "x-amz-server-side-encryption-customer-key",
      "x-amz-server-side-encryption-customer-key-md5",
      "x-amz-copy-source-server-side-encryption-customer-algorithm",
      "x-amz-copy-source-server-side-encryption-customer-key",
      "x-amz-copy-source-server-side-encryption-customer-key-md5"};
  for (size_t i = 0; i < sizeof sse_c / sizeof sse_c[0]; i++)
    if (s3_header(r, sse_c[i])) {
      *message = "Server-side encryption with customer-provided keys "
                 "(SSE-C) is not supported; objects are encrypted with "
                 "SSE-S3 (AES256).";
      return "NotImplemented";
    }
  if (s3_header(r, "x-amz-server-side-encryption-aws-kms-key-id") ||
      s3_header(r, "x-amz-server-side-encryption-context")) {
    *message = "SSE-KMS is not supported; use AES256.";
    return "NotImplemented";
  }
  const char *sse = s3_header(r, S3_SSE_HEADER);
  if (!sse)
    return NULL;
  if (!writes_object) {
    *message = "x-amz-server-side-encryption is only valid on requests "
               "that write an object.";
    return "InvalidArgument";
  }
  if (strcmp(sse, "aws:kms") == 0 || strcmp(sse, "aws:kms:dsse") == 0) {
    *message = "SSE-KMS is not supported; use AES256.";
    return "NotImplemented";
  }
  if (strcmp(sse, S3_SSE_AES256) != 0) {
    *message = "The encryption method specified is not supported.";
    return "InvalidArgument";
  }
  return NULL;
}

int s3_sse_new(struct s3_request *r, struct s3_sse_key *k) {
  memset(k, 0, sizeof *k);
  int rc = crypto_random(k->key, sizeof k->key);
  size_t sealed_len = 0;
  if (rc == 0)
    rc = kms_seal(r->c->kms, DATA_KEY_CONTEXT, k->key, sizeof k->key, k->sealed,
                  sizeof k->sealed, &sealed_len);
  if (rc != 0) {
    s3_sse_wipe(k);
    return rc;
  }
  k->sealed_len = (uint32_t)sealed_len;
  k->enabled = 1;
  return 0;
}

int s3_sse_open(struct s3_request *r, const struct meta_object_attrs *a,
                struct s3_sse_key *k) {
  memset(k, 0, sizeof *k);
  if (!a->sealed_key)
    return 0;
  if (a->sealed_key_len > sizeof k->sealed)
    return CAIRN_ECORRUPT;
  size_t len = 0;
  int rc = kms_unseal(r->c->kms, DATA_KEY_CONTEXT, a->sealed_key,
                      a->sealed_key_len, k->key, sizeof k->key, &len);
  if (rc == 0 && len != sizeof k->key)
    rc = CAIRN_ECORRUPT;
  if (rc != 0) {
    s3_sse_wipe(k);
    return rc;
  }
  memcpy(k->sealed, a->sealed_key, a->sealed_key_len);
  k->sealed_len = a->sealed_key_len;
  k->enabled = 1;
  return 0;
}

void s3_sse_attach(const struct s3_sse_key *k, struct meta_object_attrs *a) {
  a->sealed_key = k->enabled ? k->sealed : NULL;
  a->sealed_key_len = k->enabled ? k->sealed_len : 0;
}

const uint8_t *s3_sse_data_key(const struct s3_sse_key *k) {
  return k->enabled ? k->key : NULL;
}

void s3_sse_wipe(struct s3_sse_key *k) {
  OPENSSL_cleanse(k, sizeof *k);
}

/*
 * s3_bucket_encryption.c - PutBucketEncryption, GetBucketEncryption and
 * DeleteBucketEncryption.
 *
 * Every object Cairn stores is encrypted with SSE-S3 whatever the bucket
 * says (as AWS does since January 2023), so the configuration only records
 * what the owner asked for: AES256 and the BucketKeyEnabled flag. A bucket
 * without one answers the default SSE-S3 rule, as AWS now does; deleting
 * the configuration returns the bucket to that default. SSE-KMS is not
 * supported and is refused, never stored.
 */
#include "coordinator.h"
#include "error.h"
#include "meta.h"
#include "s3_ops.h"
#include "xml_parse.h"

#include <string.h>
#include <strings.h>

static void put_body_done(struct s3_request *r) {
  struct s3_bucket_encryption_config d = {0};
  enum s3_error_code e = xml_parse_document(&xml_doc_bucket_encryption, &d,
                                            r->collected, r->collected_len);
  if (e != S3_OK) {
    s3_send_error(r, s3_error_name(e), NULL);
    return;
  }
  if (strncmp(d.algorithm, "aws:kms", 7) == 0) {
    s3_send_error(r, "NotImplemented", "SSE-KMS is not supported; use AES256.");
    return;
  }
  if (strcmp(d.algorithm, "AES256") != 0) {
    s3_send_error(r, "MalformedXML", NULL);
    return;
  }
  if (d.has_kms_key) {
    s3_send_error(r, "InvalidArgument",
                  "a KMSMasterKeyID is not applicable if the default "
                  "sse algorithm is not aws:kms or aws:kms:dsse");
    return;
  }
  int rc = meta_bucket_set_encryption(r->c->meta, r->bucket, META_SSE_AES256,
                                      (uint8_t)d.bucket_key);
  s3_send_bucket_write(r, rc, 200);
}

void s3_put_bucket_encryption(struct s3_request *r) {
  struct meta_bucket b;
  if (s3_bucket_find(r, &b) != 0)
    return;
  s3_collect_body(r, S3_XML_ENCRYPTION_MAX_BYTES, "MaxMessageLengthExceeded",
                  put_body_done);
}

void s3_get_bucket_encryption(struct s3_request *r) {
  struct meta_bucket b;
  if (s3_bucket_find(r, &b) != 0)
    return;
  struct s3_xml x;
  s3_xml_init(&x, "ServerSideEncryptionConfiguration");
  s3_xml_open(&x, "Rule");
  s3_xml_open(&x, "ApplyServerSideEncryptionByDefault");
  s3_xml_text(&x, "SSEAlgorithm", "AES256");
  s3_xml_close(&x, "ApplyServerSideEncryptionByDefault");
  s3_xml_text(&x, "BucketKeyEnabled", b.bucket_key_enabled ? "true" : "false");
  s3_xml_close(&x, "Rule");
  s3_xml_close(&x, "ServerSideEncryptionConfiguration");
  s3_send_xml(r, &x);
}

void s3_delete_bucket_encryption(struct s3_request *r) {
  int rc = meta_bucket_set_encryption(r->c->meta, r->bucket, META_SSE_NONE, 0);
  s3_send_bucket_write(r, rc, 204);
}

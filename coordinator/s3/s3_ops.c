/*
 * s3_ops.c - the operation table: every S3 request Cairn recognises, how it
 * is told apart, its IAM action and its handler. Sub-resources that later
 * issues implement are listed so they answer NotImplemented, never a 200.
 */
#include "s3_ops.h"

#include <string.h>

/* More specific rows (with a sub-resource) come before the plain ones. */
static const struct s3_op ops[] = {
    {"ListBuckets", "s3:ListAllMyBuckets", "GET", S3_SERVICE, NULL, 0,
     s3_list_buckets},
    {"GetBucketLocation", "s3:GetBucketLocation", "GET", S3_BUCKET, "location",
     0, s3_get_bucket_location},
    {"GetBucketEncryption", "s3:GetEncryptionConfiguration", "GET", S3_BUCKET,
     "encryption", 0, s3_get_bucket_encryption},
    {"PutBucketEncryption", "s3:PutEncryptionConfiguration", "PUT", S3_BUCKET,
     "encryption", 1, s3_put_bucket_encryption},
    {"DeleteBucketEncryption", "s3:PutEncryptionConfiguration", "DELETE",
     S3_BUCKET, "encryption", 0, s3_delete_bucket_encryption},
    {"DeleteObjects", "s3:DeleteObject", "POST", S3_BUCKET, "delete", 1,
     s3_delete_objects},
    {"ListMultipartUploads", "s3:ListBucketMultipartUploads", "GET", S3_BUCKET,
     "uploads", 0, s3_list_multipart_uploads},
    {"CreateMultipartUpload", "s3:PutObject", "POST", S3_OBJECT, "uploads", 0,
     s3_create_multipart_upload},
    {"UploadPart", "s3:PutObject", "PUT", S3_OBJECT, "uploadId", 1,
     s3_upload_part},
    {"CompleteMultipartUpload", "s3:PutObject", "POST", S3_OBJECT, "uploadId",
     1, s3_complete_multipart_upload},
    {"AbortMultipartUpload", "s3:AbortMultipartUpload", "DELETE", S3_OBJECT,
     "uploadId", 0, s3_abort_multipart_upload},
    {"ListParts", "s3:ListMultipartUploadParts", "GET", S3_OBJECT, "uploadId",
     0, s3_list_parts},
    {"ListObjectsV2", "s3:ListBucket", "GET", S3_BUCKET, "list-type", 0,
     s3_list_objects},
    {"ListObjects", "s3:ListBucket", "GET", S3_BUCKET, NULL, 0,
     s3_list_objects},
    {"CreateBucket", "s3:CreateBucket", "PUT", S3_BUCKET, NULL, 1,
     s3_create_bucket},
    {"HeadBucket", "s3:ListBucket", "HEAD", S3_BUCKET, NULL, 0, s3_head_bucket},
    {"DeleteBucket", "s3:DeleteBucket", "DELETE", S3_BUCKET, NULL, 0,
     s3_delete_bucket},
    {"PutObject", "s3:PutObject", "PUT", S3_OBJECT, NULL, 1, s3_put_object},
    {"GetObject", "s3:GetObject", "GET", S3_OBJECT, NULL, 0, s3_get_object},
    {"HeadObject", "s3:GetObject", "HEAD", S3_OBJECT, NULL, 0, s3_get_object},
    {"DeleteObject", "s3:DeleteObject", "DELETE", S3_OBJECT, NULL, 0,
     s3_delete_object},
};

/* PUT with x-amz-copy-source: the copy flavours of PutObject/UploadPart. */
static const struct s3_op copy_ops[] = {
    {"CopyObject", "s3:PutObject", "PUT", S3_OBJECT, NULL, 0, s3_copy_object},
    {"UploadPartCopy", "s3:PutObject", "PUT", S3_OBJECT, "uploadId", 0,
     s3_upload_part_copy},
};

/* Sub-resources of later issues (versioning, ACLs, policies, ...). */
static const char *const later[] = {"accelerate",
                                    "acl",
                                    "analytics",
                                    "attributes",
                                    "cors",
                                    "intelligent-tiering",
                                    "inventory",
                                    "legal-hold",
                                    "lifecycle",
                                    "logging",
                                    "metrics",
                                    "notification",
                                    "object-lock",
                                    "ownershipControls",
                                    "policy",
                                    "policyStatus",
                                    "publicAccessBlock",
                                    "replication",
                                    "requestPayment",
                                    "restore",
                                    "retention",
                                    "select",
                                    "tagging",
                                    "torrent",
                                    "versioning",
                                    "versions",
                                    "website",
                                    "versionId"};

static enum s3_target target_of(const struct s3_request *r) {
  if (!r->bucket[0])
    return S3_SERVICE;
  return r->key ? S3_OBJECT : S3_BUCKET;
}

const struct s3_op *s3_op_find(const struct s3_request *r,
                               int *not_implemented) {
  *not_implemented = 0;
  for (size_t i = 0; i < sizeof later / sizeof later[0]; i++)
    if (s3_has_query(r, later[i])) {
      *not_implemented = 1;
      return NULL;
    }
  enum s3_target target = target_of(r);
  if (s3_header(r, "x-amz-copy-source") && target == S3_OBJECT &&
      strcmp(r->method, "PUT") == 0)
    return s3_has_query(r, "uploadId") ? &copy_ops[1] : &copy_ops[0];
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
    const struct s3_op *op = &ops[i];
    if (op->target != target || strcmp(op->method, r->method) != 0)
      continue;
    if (op->subresource && !s3_has_query(r, op->subresource))
      continue;
    return op;
  }
  return NULL;
}

const struct s3_op *s3_op_table(size_t *count) {
  *count = sizeof ops / sizeof ops[0];
  return ops;
}

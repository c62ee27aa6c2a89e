/*
 * s3_ops.c - operation -> handler. Recognising the operation is the
 * router's job (S3_OP_MAP in s3_route.h, the one table of operations and
 * their IAM actions); this table only binds the implemented ones to code.
 */
#include "s3_ops.h"

static const struct s3_handler handlers[S3_OP_COUNT] = {
    [S3_OP_LIST_BUCKETS] = {s3_list_buckets, 0},
    [S3_OP_GET_BUCKET_LOCATION] = {s3_get_bucket_location, 0},
    [S3_OP_GET_BUCKET_ENCRYPTION] = {s3_get_bucket_encryption, 0},
    [S3_OP_PUT_BUCKET_ENCRYPTION] = {s3_put_bucket_encryption, 1},
    [S3_OP_DELETE_BUCKET_ENCRYPTION] = {s3_delete_bucket_encryption, 0},
    [S3_OP_GET_BUCKET_ACL] = {s3_get_bucket_acl, 0},
    [S3_OP_PUT_BUCKET_ACL] = {s3_put_bucket_acl, 1},
    [S3_OP_GET_BUCKET_POLICY] = {s3_get_bucket_policy, 0},
    [S3_OP_PUT_BUCKET_POLICY] = {s3_put_bucket_policy, 1},
    [S3_OP_DELETE_BUCKET_POLICY] = {s3_delete_bucket_policy, 0},
    [S3_OP_GET_BUCKET_POLICY_STATUS] = {s3_get_bucket_policy_status, 0},
    [S3_OP_GET_BUCKET_OWNERSHIP_CONTROLS] = {s3_get_bucket_ownership_controls,
                                             0},
    [S3_OP_PUT_BUCKET_OWNERSHIP_CONTROLS] = {s3_put_bucket_ownership_controls,
                                             1},
    [S3_OP_DELETE_BUCKET_OWNERSHIP_CONTROLS] =
        {s3_delete_bucket_ownership_controls, 0},
    [S3_OP_GET_OBJECT_ACL] = {s3_get_object_acl, 0},
    [S3_OP_PUT_OBJECT_ACL] = {s3_put_object_acl, 1},
    [S3_OP_DELETE_OBJECTS] = {s3_delete_objects, 1},
    [S3_OP_LIST_MULTIPART_UPLOADS] = {s3_list_multipart_uploads, 0},
    [S3_OP_LIST_OBJECTS_V2] = {s3_list_objects, 0},
    [S3_OP_LIST_OBJECTS] = {s3_list_objects, 0},
    [S3_OP_CREATE_BUCKET] = {s3_create_bucket, 1},
    [S3_OP_HEAD_BUCKET] = {s3_head_bucket, 0},
    [S3_OP_DELETE_BUCKET] = {s3_delete_bucket, 0},
    [S3_OP_CREATE_MULTIPART_UPLOAD] = {s3_create_multipart_upload, 0},
    [S3_OP_UPLOAD_PART_COPY] = {s3_upload_part_copy, 0},
    [S3_OP_UPLOAD_PART] = {s3_upload_part, 1},
    [S3_OP_COMPLETE_MULTIPART_UPLOAD] = {s3_complete_multipart_upload, 1},
    [S3_OP_ABORT_MULTIPART_UPLOAD] = {s3_abort_multipart_upload, 0},
    [S3_OP_LIST_PARTS] = {s3_list_parts, 0},
    [S3_OP_GET_OBJECT_ATTRIBUTES] = {s3_get_object_attributes, 0},
    [S3_OP_COPY_OBJECT] = {s3_copy_object, 0},
    [S3_OP_PUT_OBJECT] = {s3_put_object, 1},
    [S3_OP_GET_OBJECT] = {s3_get_object, 0},
    [S3_OP_HEAD_OBJECT] = {s3_get_object, 0},
    [S3_OP_DELETE_OBJECT] = {s3_delete_object, 0},
};

const struct s3_handler *s3_handler_for(enum s3_operation op) {
  if ((int)op <= S3_OP_UNKNOWN || (int)op >= S3_OP_COUNT || !handlers[op].run)
    return NULL;
  return &handlers[op];
}

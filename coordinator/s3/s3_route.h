/*
 * s3_route.h - from an HTTP request line and Host header to an S3
 * operation: addressing style, bucket, key, query parameters. Pure: no
 * I/O, no globals; the route owns one allocation.
 *
 * The operation table (S3_OP_MAP) is the one list of every S3 operation
 * Cairn knows: its AWS name, its IAM action (for policies), how a request
 * is recognised (method, target, sub-resource, x-amz-copy-source) and
 * whether Cairn implements it yet. The router, s3_op_name/s3_op_action
 * and any later dispatch or policy table are generated from it.
 *
 * Recognition. Rows are tried in table order; a row matches when the
 * method and target (service, bucket, object) match, its sub-resource is
 * present in the query (with the given value for "name=value" rows), its
 * copy requirement holds, and, for a row without a sub-resource, no
 * sub-resource at all is present. Sub-resources are the query names that
 * appear in the table's sub-resource column ("acl", "uploads",
 * "uploadId", ...); every other parameter (prefix, partNumber, versionId,
 * x-id, X-Amz-*) is an ordinary parameter. When no row matches: a
 * sub-resource (or plain target) that some other method serves ->
 * MethodNotAllowed; a sub-resource no row serves on this target ->
 * NotImplemented. A matched row that is not implemented yet ->
 * NotImplemented, with op set (never a silent 200).
 *
 * Decoding. The path is split at '/' BEFORE percent-decoding, so %2F in a
 * key is a '/' of the key and %2F in a bucket name is an invalid bucket.
 * In the path '+' is a literal plus. In the query string '+' means a
 * space (form encoding, as AWS S3 reads e.g. prefix=a+b); SDKs encode a
 * plus as %2B and a space as %20, so they are read exactly either way.
 * A malformed escape ('%' not followed by two hex digits) -> InvalidURI.
 * Keys: 1..1024 bytes of valid UTF-8 without NUL (KeyTooLongError, else
 * InvalidURI: AWS cannot parse such a URI either). Buckets: AWS naming
 * rules (s3_bucket_name_check) -> InvalidBucketName.
 *
 * Addressing. With a configured domain ("s3.example.com"), a Host of
 * "<bucket>.s3.example.com[:port]" is virtual-hosted (bucket from the Host,
 * lower-cased as DNS names are; the whole path is the key); any other Host
 * (the domain itself, an IP address, localhost) is path-style. An
 * absolute-form target ("http://host/path") uses its authority as the Host
 * (RFC 9112 section 3.2.2).
 */
#ifndef CAIRN_S3_ROUTE_H
#define CAIRN_S3_ROUTE_H

#include "s3_error.h"

#include <stddef.h>

/* XX(ID, "AwsOperation", "s3:Action", "METHOD", TARGET, "subresource" or
 *    NULL, needs_copy_source, implemented)
 * TARGET: SERVICE, BUCKET, OBJECT. Order matters: rows are tried top down
 * (copy rows before their plain twins, list-type=2 before ListObjects). */
#define S3_OP_MAP(XX)                                                          \
  XX(LIST_BUCKETS, "ListBuckets", "s3:ListAllMyBuckets", "GET", SERVICE, NULL, \
     0, 1)                                                                     \
  /* bucket */                                                                 \
  XX(GET_BUCKET_LOCATION, "GetBucketLocation", "s3:GetBucketLocation", "GET",  \
     BUCKET, "location", 0, 1)                                                 \
  XX(DELETE_OBJECTS, "DeleteObjects", "s3:DeleteObject", "POST", BUCKET,       \
     "delete", 0, 1)                                                           \
  XX(LIST_MULTIPART_UPLOADS, "ListMultipartUploads",                           \
     "s3:ListBucketMultipartUploads", "GET", BUCKET, "uploads", 0, 1)          \
  XX(LIST_OBJECT_VERSIONS, "ListObjectVersions", "s3:ListBucketVersions",      \
     "GET", BUCKET, "versions", 0, 0)                                          \
  XX(GET_BUCKET_VERSIONING, "GetBucketVersioning", "s3:GetBucketVersioning",   \
     "GET", BUCKET, "versioning", 0, 0)                                        \
  XX(PUT_BUCKET_VERSIONING, "PutBucketVersioning", "s3:PutBucketVersioning",   \
     "PUT", BUCKET, "versioning", 0, 0)                                        \
  XX(GET_BUCKET_ACL, "GetBucketAcl", "s3:GetBucketAcl", "GET", BUCKET, "acl",  \
     0, 1)                                                                     \
  XX(PUT_BUCKET_ACL, "PutBucketAcl", "s3:PutBucketAcl", "PUT", BUCKET, "acl",  \
     0, 1)                                                                     \
  XX(GET_BUCKET_POLICY, "GetBucketPolicy", "s3:GetBucketPolicy", "GET",        \
     BUCKET, "policy", 0, 1)                                                   \
  XX(PUT_BUCKET_POLICY, "PutBucketPolicy", "s3:PutBucketPolicy", "PUT",        \
     BUCKET, "policy", 0, 1)                                                   \
  XX(DELETE_BUCKET_POLICY, "DeleteBucketPolicy", "s3:DeleteBucketPolicy",      \
     "DELETE", BUCKET, "policy", 0, 1)                                         \
  XX(GET_BUCKET_POLICY_STATUS, "GetBucketPolicyStatus",                        \
     "s3:GetBucketPolicyStatus", "GET", BUCKET, "policyStatus", 0, 1)          \
  XX(GET_BUCKET_TAGGING, "GetBucketTagging", "s3:GetBucketTagging", "GET",     \
     BUCKET, "tagging", 0, 0)                                                  \
  XX(PUT_BUCKET_TAGGING, "PutBucketTagging", "s3:PutBucketTagging", "PUT",     \
     BUCKET, "tagging", 0, 0)                                                  \
  XX(DELETE_BUCKET_TAGGING, "DeleteBucketTagging", "s3:PutBucketTagging",      \
     "DELETE", BUCKET, "tagging", 0, 0)                                        \
  XX(GET_BUCKET_CORS, "GetBucketCors", "s3:GetBucketCORS", "GET", BUCKET,      \
     "cors", 0, 0)                                                             \
  XX(PUT_BUCKET_CORS, "PutBucketCors", "s3:PutBucketCORS", "PUT", BUCKET,      \
     "cors", 0, 0)                                                             \
  XX(DELETE_BUCKET_CORS, "DeleteBucketCors", "s3:PutBucketCORS", "DELETE",     \
     BUCKET, "cors", 0, 0)                                                     \
  XX(GET_BUCKET_LIFECYCLE, "GetBucketLifecycleConfiguration",                  \
     "s3:GetLifecycleConfiguration", "GET", BUCKET, "lifecycle", 0, 0)         \
  XX(PUT_BUCKET_LIFECYCLE, "PutBucketLifecycleConfiguration",                  \
     "s3:PutLifecycleConfiguration", "PUT", BUCKET, "lifecycle", 0, 0)         \
  XX(DELETE_BUCKET_LIFECYCLE, "DeleteBucketLifecycle",                         \
     "s3:PutLifecycleConfiguration", "DELETE", BUCKET, "lifecycle", 0, 0)      \
  XX(GET_BUCKET_ENCRYPTION, "GetBucketEncryption",                             \
     "s3:GetEncryptionConfiguration", "GET", BUCKET, "encryption", 0, 1)       \
  XX(PUT_BUCKET_ENCRYPTION, "PutBucketEncryption",                             \
     "s3:PutEncryptionConfiguration", "PUT", BUCKET, "encryption", 0, 1)       \
  XX(DELETE_BUCKET_ENCRYPTION, "DeleteBucketEncryption",                       \
     "s3:PutEncryptionConfiguration", "DELETE", BUCKET, "encryption", 0, 1)    \
  XX(GET_BUCKET_REPLICATION, "GetBucketReplication",                           \
     "s3:GetReplicationConfiguration", "GET", BUCKET, "replication", 0, 0)     \
  XX(PUT_BUCKET_REPLICATION, "PutBucketReplication",                           \
     "s3:PutReplicationConfiguration", "PUT", BUCKET, "replication", 0, 0)     \
  XX(DELETE_BUCKET_REPLICATION, "DeleteBucketReplication",                     \
     "s3:PutReplicationConfiguration", "DELETE", BUCKET, "replication", 0, 0)  \
  XX(GET_BUCKET_WEBSITE, "GetBucketWebsite", "s3:GetBucketWebsite", "GET",     \
     BUCKET, "website", 0, 0)                                                  \
  XX(PUT_BUCKET_WEBSITE, "PutBucketWebsite", "s3:PutBucketWebsite", "PUT",     \
     BUCKET, "website", 0, 0)                                                  \
  XX(DELETE_BUCKET_WEBSITE, "DeleteBucketWebsite", "s3:DeleteBucketWebsite",   \
     "DELETE", BUCKET, "website", 0, 0)                                        \
  XX(GET_BUCKET_LOGGING, "GetBucketLogging", "s3:GetBucketLogging", "GET",     \
     BUCKET, "logging", 0, 0)                                                  \
  XX(PUT_BUCKET_LOGGING, "PutBucketLogging", "s3:PutBucketLogging", "PUT",     \
     BUCKET, "logging", 0, 0)                                                  \
  XX(GET_BUCKET_NOTIFICATION, "GetBucketNotificationConfiguration",            \
     "s3:GetBucketNotification", "GET", BUCKET, "notification", 0, 0)          \
  XX(PUT_BUCKET_NOTIFICATION, "PutBucketNotificationConfiguration",            \
     "s3:PutBucketNotification", "PUT", BUCKET, "notification", 0, 0)          \
  XX(GET_OBJECT_LOCK_CONFIGURATION, "GetObjectLockConfiguration",              \
     "s3:GetBucketObjectLockConfiguration", "GET", BUCKET, "object-lock", 0,   \
     0)                                                                        \
  XX(PUT_OBJECT_LOCK_CONFIGURATION, "PutObjectLockConfiguration",              \
     "s3:PutBucketObjectLockConfiguration", "PUT", BUCKET, "object-lock", 0,   \
     0)                                                                        \
  XX(GET_BUCKET_OWNERSHIP_CONTROLS, "GetBucketOwnershipControls",              \
     "s3:GetBucketOwnershipControls", "GET", BUCKET, "ownershipControls", 0,   \
     1)                                                                        \
  XX(PUT_BUCKET_OWNERSHIP_CONTROLS, "PutBucketOwnershipControls",              \
     "s3:PutBucketOwnershipControls", "PUT", BUCKET, "ownershipControls", 0,   \
     1)                                                                        \
  XX(DELETE_BUCKET_OWNERSHIP_CONTROLS, "DeleteBucketOwnershipControls",        \
     "s3:PutBucketOwnershipControls", "DELETE", BUCKET, "ownershipControls",   \
     0, 1)                                                                     \
  XX(GET_PUBLIC_ACCESS_BLOCK, "GetPublicAccessBlock",                          \
     "s3:GetBucketPublicAccessBlock", "GET", BUCKET, "publicAccessBlock", 0,   \
     0)                                                                        \
  XX(PUT_PUBLIC_ACCESS_BLOCK, "PutPublicAccessBlock",                          \
     "s3:PutBucketPublicAccessBlock", "PUT", BUCKET, "publicAccessBlock", 0,   \
     0)                                                                        \
  XX(DELETE_PUBLIC_ACCESS_BLOCK, "DeletePublicAccessBlock",                    \
     "s3:PutBucketPublicAccessBlock", "DELETE", BUCKET, "publicAccessBlock",   \
     0, 0)                                                                     \
  XX(GET_BUCKET_ACCELERATE, "GetBucketAccelerateConfiguration",                \
     "s3:GetAccelerateConfiguration", "GET", BUCKET, "accelerate", 0, 0)       \
  XX(PUT_BUCKET_ACCELERATE, "PutBucketAccelerateConfiguration",                \
     "s3:PutAccelerateConfiguration", "PUT", BUCKET, "accelerate", 0, 0)       \
  XX(GET_BUCKET_REQUEST_PAYMENT, "GetBucketRequestPayment",                    \
     "s3:GetBucketRequestPayment", "GET", BUCKET, "requestPayment", 0, 0)      \
  XX(PUT_BUCKET_REQUEST_PAYMENT, "PutBucketRequestPayment",                    \
     "s3:PutBucketRequestPayment", "PUT", BUCKET, "requestPayment", 0, 0)      \
  XX(GET_BUCKET_ANALYTICS, "GetBucketAnalyticsConfiguration",                  \
     "s3:GetAnalyticsConfiguration", "GET", BUCKET, "analytics", 0, 0)         \
  XX(PUT_BUCKET_ANALYTICS, "PutBucketAnalyticsConfiguration",                  \
     "s3:PutAnalyticsConfiguration", "PUT", BUCKET, "analytics", 0, 0)         \
  XX(DELETE_BUCKET_ANALYTICS, "DeleteBucketAnalyticsConfiguration",            \
     "s3:PutAnalyticsConfiguration", "DELETE", BUCKET, "analytics", 0, 0)      \
  XX(GET_BUCKET_INVENTORY, "GetBucketInventoryConfiguration",                  \
     "s3:GetInventoryConfiguration", "GET", BUCKET, "inventory", 0, 0)         \
  XX(PUT_BUCKET_INVENTORY, "PutBucketInventoryConfiguration",                  \
     "s3:PutInventoryConfiguration", "PUT", BUCKET, "inventory", 0, 0)         \
  XX(DELETE_BUCKET_INVENTORY, "DeleteBucketInventoryConfiguration",            \
     "s3:PutInventoryConfiguration", "DELETE", BUCKET, "inventory", 0, 0)      \
  XX(GET_BUCKET_METRICS, "GetBucketMetricsConfiguration",                      \
     "s3:GetMetricsConfiguration", "GET", BUCKET, "metrics", 0, 0)             \
  XX(PUT_BUCKET_METRICS, "PutBucketMetricsConfiguration",                      \
     "s3:PutMetricsConfiguration", "PUT", BUCKET, "metrics", 0, 0)             \
  XX(DELETE_BUCKET_METRICS, "DeleteBucketMetricsConfiguration",                \
     "s3:PutMetricsConfiguration", "DELETE", BUCKET, "metrics", 0, 0)          \
  XX(GET_BUCKET_INTELLIGENT_TIERING,                                           \
     "GetBucketIntelligentTieringConfiguration",                               \
     "s3:GetIntelligentTieringConfiguration", "GET", BUCKET,                   \
     "intelligent-tiering", 0, 0)                                              \
  XX(PUT_BUCKET_INTELLIGENT_TIERING,                                           \
     "PutBucketIntelligentTieringConfiguration",                               \
     "s3:PutIntelligentTieringConfiguration", "PUT", BUCKET,                   \
     "intelligent-tiering", 0, 0)                                              \
  XX(DELETE_BUCKET_INTELLIGENT_TIERING,                                        \
     "DeleteBucketIntelligentTieringConfiguration",                            \
     "s3:PutIntelligentTieringConfiguration", "DELETE", BUCKET,                \
     "intelligent-tiering", 0, 0)                                              \
  XX(LIST_OBJECTS_V2, "ListObjectsV2", "s3:ListBucket", "GET", BUCKET,         \
     "list-type=2", 0, 1)                                                      \
  XX(LIST_OBJECTS, "ListObjects", "s3:ListBucket", "GET", BUCKET, NULL, 0, 1)  \
  XX(CREATE_BUCKET, "CreateBucket", "s3:CreateBucket", "PUT", BUCKET, NULL, 0, \
     1)                                                                        \
  XX(HEAD_BUCKET, "HeadBucket", "s3:ListBucket", "HEAD", BUCKET, NULL, 0, 1)   \
  XX(DELETE_BUCKET, "DeleteBucket", "s3:DeleteBucket", "DELETE", BUCKET, NULL, \
     0, 1)                                                                     \
  XX(POST_OBJECT, "PostObject", "s3:PutObject", "POST", BUCKET, NULL, 0, 0)    \
  /* object */                                                                 \
  XX(CREATE_MULTIPART_UPLOAD, "CreateMultipartUpload", "s3:PutObject", "POST", \
     OBJECT, "uploads", 0, 1)                                                  \
  XX(UPLOAD_PART_COPY, "UploadPartCopy", "s3:PutObject", "PUT", OBJECT,        \
     "uploadId", 1, 1)                                                         \
  XX(UPLOAD_PART, "UploadPart", "s3:PutObject", "PUT", OBJECT, "uploadId", 0,  \
     1)                                                                        \
  XX(COMPLETE_MULTIPART_UPLOAD, "CompleteMultipartUpload", "s3:PutObject",     \
     "POST", OBJECT, "uploadId", 0, 1)                                         \
  XX(ABORT_MULTIPART_UPLOAD, "AbortMultipartUpload",                           \
     "s3:AbortMultipartUpload", "DELETE", OBJECT, "uploadId", 0, 1)            \
  XX(LIST_PARTS, "ListParts", "s3:ListMultipartUploadParts", "GET", OBJECT,    \
     "uploadId", 0, 1)                                                         \
  XX(GET_OBJECT_ACL, "GetObjectAcl", "s3:GetObjectAcl", "GET", OBJECT, "acl",  \
     0, 1)                                                                     \
  XX(PUT_OBJECT_ACL, "PutObjectAcl", "s3:PutObjectAcl", "PUT", OBJECT, "acl",  \
     0, 1)                                                                     \
  XX(GET_OBJECT_TAGGING, "GetObjectTagging", "s3:GetObjectTagging", "GET",     \
     OBJECT, "tagging", 0, 0)                                                  \
  XX(PUT_OBJECT_TAGGING, "PutObjectTagging", "s3:PutObjectTagging", "PUT",     \
     OBJECT, "tagging", 0, 0)                                                  \
  XX(DELETE_OBJECT_TAGGING, "DeleteObjectTagging", "s3:DeleteObjectTagging",   \
     "DELETE", OBJECT, "tagging", 0, 0)                                        \
  XX(GET_OBJECT_RETENTION, "GetObjectRetention", "s3:GetObjectRetention",      \
     "GET", OBJECT, "retention", 0, 0)                                         \
  XX(PUT_OBJECT_RETENTION, "PutObjectRetention", "s3:PutObjectRetention",      \
     "PUT", OBJECT, "retention", 0, 0)                                         \
  XX(GET_OBJECT_LEGAL_HOLD, "GetObjectLegalHold", "s3:GetObjectLegalHold",     \
     "GET", OBJECT, "legal-hold", 0, 0)                                        \
  XX(PUT_OBJECT_LEGAL_HOLD, "PutObjectLegalHold", "s3:PutObjectLegalHold",     \
     "PUT", OBJECT, "legal-hold", 0, 0)                                        \
  XX(GET_OBJECT_ATTRIBUTES, "GetObjectAttributes", "s3:GetObjectAttributes",   \
     "GET", OBJECT, "attributes", 0, 1)                                        \
  XX(RESTORE_OBJECT, "RestoreObject", "s3:RestoreObject", "POST", OBJECT,      \
     "restore", 0, 0)                                                          \
  XX(SELECT_OBJECT_CONTENT, "SelectObjectContent", "s3:GetObject", "POST",     \
     OBJECT, "select", 0, 0)                                                   \
  XX(GET_OBJECT_TORRENT, "GetObjectTorrent", "s3:GetObjectTorrent", "GET",     \
     OBJECT, "torrent", 0, 0)                                                  \
  XX(COPY_OBJECT, "CopyObject", "s3:PutObject", "PUT", OBJECT, NULL, 1, 1)     \
  XX(PUT_OBJECT, "PutObject", "s3:PutObject", "PUT", OBJECT, NULL, 0, 1)       \
  XX(GET_OBJECT, "GetObject", "s3:GetObject", "GET", OBJECT, NULL, 0, 1)       \
  XX(HEAD_OBJECT, "HeadObject", "s3:GetObject", "HEAD", OBJECT, NULL, 0, 1)    \
  XX(DELETE_OBJECT, "DeleteObject", "s3:DeleteObject", "DELETE", OBJECT, NULL, \
     0, 1)

enum s3_operation {
  S3_OP_UNKNOWN = 0, /* no row matched (route.error says why) */
#define XX(id, name, action, method, target, sub, copy, impl) S3_OP_##id,
  S3_OP_MAP(XX)
#undef XX
      S3_OP_COUNT /* not an operation */
};

enum s3_route_target {
  S3_TARGET_SERVICE, /* "/" path-style: ListBuckets */
  S3_TARGET_BUCKET,
  S3_TARGET_OBJECT
};

enum s3_addressing { S3_ADDRESSING_PATH, S3_ADDRESSING_VIRTUAL };

/* One row of S3_OP_MAP, for code that walks the whole table (the admin
 * API lists it so a test can prove every route refuses intruders). */
struct s3_op_info {
  const char *name, *action, *method;
  enum s3_route_target target;
  const char *sub; /* "name" or "name=value" or NULL */
  int copy, implemented;
};
/* The row of op (the "Unknown" row for S3_OP_UNKNOWN or out of range). */
const struct s3_op_info *s3_op_info(enum s3_operation op);

/* "PutObject"; "Unknown" for S3_OP_UNKNOWN or out of range. Static. */
const char *s3_op_name(enum s3_operation op);
/* "s3:PutObject"; "" for S3_OP_UNKNOWN. Static. */
const char *s3_op_action(enum s3_operation op);
/* 1 when Cairn serves op. */
int s3_op_implemented(enum s3_operation op);
/* The operation whose AWS name is `name`, or S3_OP_UNKNOWN. */
enum s3_operation s3_op_from_name(const char *name);

#define S3_ROUTE_PARAMS_MAX 64          /* query parameters kept */
#define S3_ROUTE_TARGET_MAX (16 * 1024) /* request-target bytes */
#define S3_ROUTE_COPY_SOURCE 1u         /* flag: x-amz-copy-source present */

struct s3_route_param {
  const char *name;  /* decoded */
  const char *value; /* decoded; "" when the parameter had no '=' */
  int has_value;
};

/* Every string points into rt->storage (one allocation) and lives until
 * s3_route_release. Fields are filled as far as parsing got, even when
 * error != S3_OK (so an error can name its bucket and key). */
struct s3_route {
  enum s3_operation op;     /* S3_OP_UNKNOWN unless a row matched */
  enum s3_error_code error; /* S3_OK: go on with op */
  enum s3_addressing addressing;
  enum s3_route_target target;
  const char *bucket; /* NULL for the service target */
  const char *key;    /* NULL unless target is S3_TARGET_OBJECT */
  size_t key_len;
  const char *raw_path;  /* as received, undecoded (SigV4 canonical URI) */
  const char *raw_query; /* after '?', undecoded; "" when none */
  size_t param_count;
  struct s3_route_param params[S3_ROUTE_PARAMS_MAX];
  char *storage;
};

/*
 * Routes one request. method is the HTTP method ("GET"); target is the
 * request-target (target_len bytes, origin-form "/b/k?q" or absolute-form);
 * host is the Host header value or NULL; domain is the configured base
 * domain for virtual-hosted addressing, or NULL for path-style only;
 * flags is S3_ROUTE_COPY_SOURCE or 0.
 * Returns 0 (the verdict, S3_OK or an S3 code, is in rt->error) or
 * CAIRN_ENOMEM (rt is then empty). Always call s3_route_release.
 */
int s3_route_parse(struct s3_route *rt, const char *method, const char *target,
                   size_t target_len, const char *host, const char *domain,
                   unsigned flags);
void s3_route_release(struct s3_route *rt);
/* The value of the first parameter called name ("" when it had no value),
 * or NULL when absent. Names are case-sensitive, as in S3. */
const char *s3_route_param(const struct s3_route *rt, const char *name);

/* AWS bucket naming rules (general purpose buckets): 3..63 bytes of a-z
 * 0-9 . -, starting and ending with a letter or digit, no "..", not an
 * IPv4 address, none of the reserved prefixes (xn--, sthree-,
 * amzn-s3-demo-) or suffixes (-s3alias, --ol-s3, .mrap, --x-s3,
 * --table-s3). S3_OK or S3_ERR_InvalidBucketName. */
enum s3_error_code s3_bucket_name_check(const char *name);
/* An object key: 1..1024 bytes (else KeyTooLongError; empty is
 * InvalidArgument), valid UTF-8 without NUL (else InvalidURI). */
enum s3_error_code s3_object_key_check(const char *key, size_t len);
/* Strict percent-decoding of in[0..n) into out (room for n bytes; out may
 * equal in). plus_is_space: '+' becomes ' '. Sets *out_len. S3_OK or
 * S3_ERR_InvalidURI for a '%' not followed by two hex digits. */
enum s3_error_code s3_percent_decode(const char *in, size_t n,
                                     int plus_is_space, char *out,
                                     size_t *out_len);

#endif

/*
 * s3_error.h - every S3 error code Cairn may answer, from one X-macro table
 * (as common/error.h and libuv's UV_ERRNO_MAP): the AWS code name, its HTTP
 * status and AWS's default message (AWS S3 API reference, "Error
 * responses", "List of error codes"). Messages are never empty: the AWS CLI
 * fails on an empty <Message>.
 *
 * This file is also the ONE place where internal CAIRN_E* codes become S3
 * codes (s3_error_from_cairn). Never renumber: append new rows anywhere,
 * the enum is only used inside one build.
 *
 * Pure code: no allocation, no global mutable state, thread-safe.
 */
#ifndef CAIRN_S3_ERROR_H
#define CAIRN_S3_ERROR_H

#include <stddef.h>

/* XX(Code, http_status, "default message") */
#define S3_ERROR_MAP(XX)                                                       \
  XX(AccessControlListNotSupported, 400, "The bucket does not allow ACLs.")    \
  XX(AccessDenied, 403, "Access Denied")                                       \
  XX(AccountProblem, 403,                                                      \
     "There is a problem with your account that prevents the action from "     \
     "completing successfully.")                                               \
  XX(AuthorizationHeaderMalformed, 400,                                        \
     "The authorization header you provided is invalid.")                      \
  XX(AuthorizationQueryParametersError, 400,                                   \
     "The authorization query parameters you provided are invalid.")           \
  XX(BadDigest, 400,                                                           \
     "The Content-MD5 or checksum value that you specified did not match "     \
     "what the server received.")                                              \
  XX(BadRequest, 400, "The request could not be understood.")                  \
  XX(BucketAlreadyExists, 409,                                                 \
     "The requested bucket name is not available. The bucket namespace is "    \
     "shared by all users of the system. Select a different name and try "     \
     "again.")                                                                 \
  XX(BucketAlreadyOwnedByYou, 409,                                             \
     "Your previous request to create the named bucket succeeded and you "     \
     "already own it.")                                                        \
  XX(BucketNotEmpty, 409, "The bucket you tried to delete is not empty.")      \
  XX(ConditionalRequestConflict, 409,                                          \
     "A conflicting operation occurred. Retry the request.")                   \
  XX(EntityTooLarge, 400,                                                      \
     "Your proposed upload exceeds the maximum allowed object size.")          \
  XX(EntityTooSmall, 400,                                                      \
     "Your proposed upload is smaller than the minimum allowed object size.")  \
  XX(ExpiredToken, 400, "The provided token has expired.")                     \
  XX(IllegalLocationConstraintException, 400,                                  \
     "The location constraint is incompatible with the region of this "        \
     "endpoint.")                                                              \
  XX(IncompleteBody, 400,                                                      \
     "You did not provide the number of bytes specified by the "               \
     "Content-Length HTTP header.")                                            \
  XX(InternalError, 500,                                                       \
     "We encountered an internal error. Please try again.")                    \
  XX(InvalidAccessKeyId, 403,                                                  \
     "The AWS access key ID you provided does not exist in our records.")      \
  XX(InvalidArgument, 400, "Invalid Argument")                                 \
  XX(InvalidBucketName, 400, "The specified bucket is not valid.")             \
  XX(InvalidBucketState, 409,                                                  \
     "The request is not valid for the current state of the bucket.")          \
  XX(InvalidDigest, 400,                                                       \
     "The Content-MD5 or checksum value that you specified is not valid.")     \
  XX(InvalidEncryptionAlgorithmError, 400,                                     \
     "The encryption request that you specified is not valid. The valid "      \
     "value is AES256.")                                                       \
  XX(InvalidLocationConstraint, 400,                                           \
     "The specified location constraint is not valid.")                        \
  XX(InvalidObjectState, 403,                                                  \
     "The operation is not valid for the current state of the object.")        \
  XX(InvalidPart, 400,                                                         \
     "One or more of the specified parts could not be found. The part might "  \
     "not have been uploaded, or the specified ETag might not have matched "   \
     "the part's ETag.")                                                       \
  XX(InvalidPartNumber, 416, "The requested partnumber is not satisfiable.")   \
  XX(InvalidPartOrder, 400,                                                    \
     "The list of parts was not in ascending order. The parts list must be "   \
     "specified in order by part number.")                                     \
  XX(InvalidRange, 416, "The requested range is not satisfiable.")             \
  XX(InvalidRequest, 400, "Invalid Request")                                   \
  XX(InvalidStorageClass, 400,                                                 \
     "The storage class you specified is not valid.")                          \
  XX(InvalidTag, 400, "The tag provided was not a valid tag.")                 \
  XX(InvalidToken, 400,                                                        \
     "The provided token is malformed or otherwise invalid.")                  \
  XX(InvalidURI, 400, "Couldn't parse the specified URI.")                     \
  XX(KeyTooLongError, 400, "Your key is too long.")                            \
  XX(MalformedACLError, 400,                                                   \
     "The XML you provided was not well-formed or did not validate against "   \
     "our published schema.")                                                  \
  XX(MalformedPolicy, 400, "The policy document is not valid.")                \
  XX(MalformedXML, 400,                                                        \
     "The XML you provided was not well-formed or did not validate against "   \
     "our published schema.")                                                  \
  XX(MaxMessageLengthExceeded, 400, "Your request was too big.")               \
  XX(MetadataTooLarge, 400,                                                    \
     "Your metadata headers exceed the maximum allowed metadata size.")        \
  XX(MethodNotAllowed, 405,                                                    \
     "The specified method is not allowed against this resource.")             \
  XX(MissingContentLength, 411,                                                \
     "You must provide the Content-Length HTTP header.")                       \
  XX(MissingRequestBodyError, 400, "Request Body is empty.")                   \
  XX(MissingSecurityHeader, 400, "Your request is missing a required header.") \
  XX(NoSuchBucket, 404, "The specified bucket does not exist.")                \
  XX(NoSuchBucketPolicy, 404, "The bucket policy does not exist.")             \
  XX(NoSuchCORSConfiguration, 404, "The CORS configuration does not exist.")   \
  XX(NoSuchKey, 404, "The specified key does not exist.")                      \
  XX(NoSuchLifecycleConfiguration, 404,                                        \
     "The lifecycle configuration does not exist.")                            \
  XX(NoSuchPublicAccessBlockConfiguration, 404,                                \
     "The public access block configuration was not found.")                   \
  XX(NoSuchTagSet, 404, "The TagSet does not exist.")                          \
  XX(NoSuchUpload, 404,                                                        \
     "The specified multipart upload does not exist. The upload ID might not " \
     "be valid, or the multipart upload might have been aborted or "           \
     "completed.")                                                             \
  XX(NoSuchVersion, 404,                                                       \
     "The version ID specified in the request does not match an existing "     \
     "version.")                                                               \
  XX(NoSuchWebsiteConfiguration, 404,                                          \
     "The specified bucket does not have a website configuration.")            \
  XX(NotImplemented, 501,                                                      \
     "A header you provided implies functionality that is not implemented.")   \
  XX(NotModified, 304, "Not Modified")                                         \
  XX(ObjectLockConfigurationNotFoundError, 404,                                \
     "Object Lock configuration does not exist for this bucket.")              \
  XX(OperationAborted, 409,                                                    \
     "A conflicting conditional operation is currently in progress against "   \
     "this resource. Try again.")                                              \
  XX(OwnershipControlsNotFoundError, 404,                                      \
     "The bucket ownership controls were not found.")                          \
  XX(PreconditionFailed, 412,                                                  \
     "At least one of the preconditions you specified did not hold.")          \
  XX(ReplicationConfigurationNotFoundError, 404,                               \
     "The replication configuration was not found.")                           \
  XX(RequestHeaderSectionTooLarge, 400,                                        \
     "Your request header section exceeds the maximum allowed size.")          \
  XX(RequestTimeTooSkewed, 403,                                                \
     "The difference between the request time and the server's time is too "   \
     "large.")                                                                 \
  XX(RequestTimeout, 400,                                                      \
     "Your socket connection to the server was not read from or written to "   \
     "within the timeout period.")                                             \
  XX(ServerSideEncryptionConfigurationNotFoundError, 404,                      \
     "The server side encryption configuration was not found.")                \
  XX(ServiceUnavailable, 503, "Please reduce your request rate.")              \
  XX(SignatureDoesNotMatch, 403,                                               \
     "The request signature we calculated does not match the signature you "   \
     "provided. Check your key and signing method.")                           \
  XX(SlowDown, 503, "Please reduce your request rate.")                        \
  XX(TooManyBuckets, 400,                                                      \
     "You have attempted to create more buckets than allowed.")                \
  XX(UnexpectedContent, 400, "This request does not support content.")         \
  XX(UnresolvableGrantByEmailAddress, 400,                                     \
     "The email address you provided does not match any account on record.")   \
  XX(XAmzContentSHA256Mismatch, 400,                                           \
     "The provided 'x-amz-content-sha256' header does not match what was "     \
     "computed.")

/* S3_OK (0) means "no error"; every other value names a row above. */
enum s3_error_code {
  S3_OK = 0,
#define XX(code, status, message) S3_ERR_##code,
  S3_ERROR_MAP(XX)
#undef XX
      S3_ERROR_COUNT /* not a code: one past the last */
};

/* HTTP status (304..503). S3_OK gives 200; an out-of-range value is
 * treated as InternalError (500) by all three accessors. */
int s3_error_status(enum s3_error_code code);
/* "NoSuchKey"; static storage, never NULL. S3_OK gives "OK". */
const char *s3_error_name(enum s3_error_code code);
/* AWS's default message; static storage, never NULL, never empty. */
const char *s3_error_message(enum s3_error_code code);
/* The code whose name is exactly `name` (case-sensitive, as AWS), or S3_OK
 * when there is none. */
enum s3_error_code s3_error_from_name(const char *name);

/* The S3 code for an internal CAIRN_E* code (0 gives S3_OK). Only the
 * context-free cases are decided here; CAIRN_ENOENT and CAIRN_EEXIST mean
 * NoSuchKey/NoSuchBucket/NoSuchUpload or BucketAlreadyExists/... depending
 * on what was looked up, so handlers must map those themselves; reaching
 * this function with them gives InternalError (a handler bug shows as a
 * 500, never as a wrong 404). */
enum s3_error_code s3_error_from_cairn(int cairn_err);
/* A message better than the S3 default for cairn_err (for example "the
 * cluster is out of disk space" for CAIRN_ENOSPC, whose S3 code
 * ServiceUnavailable would otherwise say "reduce your request rate"), or
 * NULL to use s3_error_message(). Static storage. */
const char *s3_error_message_for_cairn(int cairn_err);

/* One extra child of <Error>, e.g. {"BucketName", "photos"},
 * {"ArgumentName", "partNumber"}, {"StringToSign", ...}. The name must be
 * a valid XML name (a literal in the caller); the value is escaped. */
struct s3_error_field {
  const char *name;
  const char *value;
};

/* Renders the REST error document
 *   <?xml version="1.0" encoding="UTF-8"?>\n
 *   <Error><Code>..</Code><Message>..</Message>[extra fields]
 *   <Resource>..</Resource><RequestId>..</RequestId></Error>
 * into buf (cap bytes, NUL-terminated). message NULL or "" uses the
 * default; resource and request_id may be NULL (element omitted). Every
 * text is XML-escaped. Returns the length written (excluding the NUL), or
 * CAIRN_ETOOBIG when it does not fit (buf then holds a truncated, not
 * well-formed document: size buffers generously, 4 KiB plus the extras). */
long s3_error_render_xml(enum s3_error_code code, const char *message,
                         const char *resource, const char *request_id,
                         const struct s3_error_field *extra, size_t n_extra,
                         char *buf, size_t cap);

#endif

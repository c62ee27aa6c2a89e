/*
 * xml_parse.h - reading the XML bodies of S3 requests with expat, fed
 * incrementally as body pieces arrive, under hard bounds.
 *
 * One generic parser drives one small table per document type (struct
 * xml_doc_type): its root element, its limits and three callbacks that
 * fill a typed result. Adding a document = one result struct, three
 * callbacks and one table (see xml_parse.c, "Documents").
 *
 * Hostile input. Every document type bounds the body size, the nesting
 * depth, the element count and the text of one element. A DOCTYPE is
 * refused outright (no DTD, hence no entity definitions: no billion laughs,
 * no external entities); an undefined entity is an expat error. Every
 * failure is an S3 code: MalformedXML, MaxMessageLengthExceeded (body over
 * the limit), MissingRequestBodyError (empty body), or a document-specific
 * one (KeyTooLongError, InvalidPartOrder, InvalidArgument).
 *
 * Namespaces: element names are compared by local name; S3 documents come
 * with or without xmlns="http://s3.amazonaws.com/doc/2006-03-01/" and both
 * are accepted. Unknown child elements are ignored (AWS adds fields).
 *
 * Lifecycle: xml_parser_new(type, result) zeroes *result; feed pieces;
 * xml_parser_finish; xml_parser_free. The result owns its memory and is
 * released with its type's release function (also after a failure).
 */
#ifndef CAIRN_XML_PARSE_H
#define CAIRN_XML_PARSE_H

#include "acl.h"
#include "s3_error.h"

#include <stddef.h>
#include <stdint.h>

/* ---- the generic parser -------------------------------------------------- */

struct xml_doc_type {
  const char *root;    /* local name of the root element */
  size_t result_size;  /* sizeof the result struct (zeroed at start) */
  size_t max_bytes;    /* body bytes; beyond: MaxMessageLengthExceeded */
  unsigned max_depth;  /* root is depth 1; beyond: MalformedXML */
  size_t max_elements; /* beyond: MalformedXML */
  size_t max_text;     /* bytes of one leaf element's text */
  /* An element opens; path is "Root/Child" (local names). */
  enum s3_error_code (*on_start)(void *result, const char *path);
  /* An element closes; text is its own character data (NUL-terminated,
   * len bytes, not trimmed), valid during the call. */
  enum s3_error_code (*on_end)(void *result, const char *path, const char *text,
                               size_t len);
  /* The document ended well-formed: final checks. May be NULL. */
  enum s3_error_code (*on_finish)(void *result);
  /* The error for a leaf whose text exceeds max_text (NULL: MalformedXML);
   * e.g. KeyTooLongError for Delete/Object/Key. */
  enum s3_error_code (*on_text_too_long)(const char *path);
};

struct xml_parser;

/* NULL when out of memory. result must point to type->result_size bytes;
 * it is zeroed here. */
struct xml_parser *xml_parser_new(const struct xml_doc_type *type,
                                  void *result);
/* Feeds the next body piece. S3_OK, or the first error (sticky: later
 * calls return it again without parsing). */
enum s3_error_code xml_parser_feed(struct xml_parser *p, const void *data,
                                   size_t len);
/* The body ended: S3_OK when the document is complete and valid. */
enum s3_error_code xml_parser_finish(struct xml_parser *p);
void xml_parser_free(struct xml_parser *p);
/* new + feed + finish + free for a body already in memory. S3_OK, an S3
 * code, or InternalError when out of memory. */
enum s3_error_code xml_parse_document(const struct xml_doc_type *type,
                                      void *result, const void *doc,
                                      size_t len);

/* Strings copied out of the document, freed together. */
struct xml_strings {
  struct xml_strings_block *head;
};
void xml_strings_release(struct xml_strings *s);

/* ---- documents -------------------------------------------------------- */

/* Limits (AWS numbers in comments). */
#define S3_DELETE_OBJECTS_MAX 1000    /* DeleteObjects: up to 1000 keys */
#define S3_OBJECT_KEY_MAX_BYTES 1024  /* object keys: 1024 bytes UTF-8 */
#define S3_COMPLETE_PARTS_MAX 10000   /* part numbers 1..10000 */
#define S3_LOCATION_CONSTRAINT_MAX 64 /* region names are far shorter */
#define S3_XML_CREATE_BUCKET_MAX_BYTES (64u * 1024)
/* 1000 keys of 1024 bytes with their markup exceed 1 MiB. */
#define S3_XML_DELETE_MAX_BYTES (2u * 1024 * 1024)
/* 10000 parts, each with an ETag and a checksum, about 300 bytes. */
#define S3_XML_COMPLETE_MAX_BYTES (4u * 1024 * 1024)

/* PUT Bucket body: <CreateBucketConfiguration><LocationConstraint>. An
 * empty body is not a document: callers skip the parser then. */
struct s3_create_bucket_config {
  int has_location;
  char location[S3_LOCATION_CONSTRAINT_MAX + 1];
};
extern const struct xml_doc_type xml_doc_create_bucket;

/* POST ?delete body. 1..1000 Object entries, each with a Key (may be
 * empty: the handler answers that entry's error) and an optional
 * VersionId. More than 1000 -> MalformedXML (as AWS); a key over 1024
 * bytes -> KeyTooLongError. Keys are UTF-8 without NUL (XML cannot carry
 * NUL or most control characters). */
struct s3_delete_entry {
  const char *key; /* in strings */
  size_t key_len;
  const char *version_id; /* NULL when absent */
};
struct s3_delete_objects {
  int quiet;
  size_t count;
  struct s3_delete_entry *entries; /* malloc'd */
  size_t capacity;
  struct xml_strings strings;
};
extern const struct xml_doc_type xml_doc_delete_objects;
void s3_delete_objects_release(struct s3_delete_objects *d);

/* POST ?uploadId body. 1..10000 Part entries with PartNumber (1..10000,
 * else InvalidArgument) and ETag (surrounding quotes removed), strictly
 * ascending by PartNumber (else InvalidPartOrder, as AWS), and optional
 * ChecksumCRC32 / CRC32C / CRC64NVME / SHA1 / SHA256 (base64 text, not
 * checked here). */
#define S3_COMPLETE_CHECKSUM_KINDS 6 /* index: enum checksum_algorithm */
struct s3_complete_part {
  uint32_t part_number;
  const char *etag;                                 /* without quotes */
  const char *checksum[S3_COMPLETE_CHECKSUM_KINDS]; /* NULL when absent */
};
struct s3_complete_upload {
  size_t count;
  struct s3_complete_part *parts; /* malloc'd */
  size_t capacity;
  struct xml_strings strings;
};
extern const struct xml_doc_type xml_doc_complete_upload;
void s3_complete_upload_release(struct s3_complete_upload *c);

/* PUT ?encryption body: <ServerSideEncryptionConfiguration> with exactly
 * one Rule (else MalformedXML) holding ApplyServerSideEncryptionByDefault
 * (SSEAlgorithm, optional KMSMasterKeyID) and an optional BucketKeyEnabled
 * ("true"/"false", else MalformedXML). What the values mean is the
 * handler's business. */
#define S3_XML_ENCRYPTION_MAX_BYTES (16u * 1024)
struct s3_bucket_encryption_config {
  char algorithm[32]; /* "" when absent */
  int has_kms_key, bucket_key;
  unsigned rules;
};
extern const struct xml_doc_type xml_doc_bucket_encryption;

/* PUT ?acl body: <AccessControlPolicy> with an optional Owner (ID,
 * DisplayName) and AccessControlList/Grant entries, each a Grantee and a
 * Permission (READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL, else
 * MalformedACLError). The grantee's kind is read from its child element
 * (xsi:type must agree with it in a valid document, and the driver does not
 * hand out attributes): ID a CanonicalUser (64 hex, else InvalidArgument),
 * URI a Group (AllUsers or AuthenticatedUsers, else InvalidArgument),
 * EmailAddress is UnresolvableGrantByEmailAddress. At most 100 grants
 * (MalformedACLError). The result's acl.owner holds the document's Owner
 * ID ("" when absent); the handler decides what it means. */
#define S3_XML_ACL_MAX_BYTES (64u * 1024)
struct s3_access_control_policy {
  struct acl acl;
  /* the grant being read */
  int grantee; /* 0 none yet, else 1 + enum acl_grantee_kind */
  char id[ACL_ID_LEN + 1];
  unsigned permission;
};
extern const struct xml_doc_type xml_doc_access_control_policy;

/* PUT ?ownershipControls body: <OwnershipControls> with exactly one
 * Rule/ObjectOwnership of BucketOwnerEnforced, BucketOwnerPreferred or
 * ObjectWriter (else MalformedXML). ownership is META_OWNERSHIP_*'s value:
 * 1, 2, 3. */
#define S3_XML_OWNERSHIP_MAX_BYTES (4u * 1024)
struct s3_ownership_controls {
  unsigned rules;
  int ownership;
};
extern const struct xml_doc_type xml_doc_ownership_controls;
/* "BucketOwnerEnforced" for 1 ... "ObjectWriter" for 3; "" otherwise. */
const char *s3_ownership_name(int ownership);

#endif

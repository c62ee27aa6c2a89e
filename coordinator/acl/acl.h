/*
 * acl.h - S3 access control lists: the model (an owner and up to 100
 * grants), the canned ACLs and x-amz-grant-* headers that build one, the
 * stored text form, and the question "does this ACL grant the caller the
 * permission an action needs". Pure: no I/O, no globals; links
 * cairn_common (SHA-256) only.
 *
 * Identities. AWS gives each account a 64-hex canonical user id; Cairn has
 * one account with many IAM users, so every identity gets its own: the
 * lower-case hex SHA-256 of its ARN ("arn:aws:iam::000000000000:root" for
 * root, "arn:aws:iam::000000000000:user/alice"). It is stable (a user
 * deleted and re-created under the same name gets the same id, as its ARN
 * is the same) and needs no table. The display name is the user name
 * ("root" for root).
 *
 * What a grant allows (acl_bucket_permission / acl_object_permission):
 *   bucket READ       s3:ListBucket, s3:ListBucketMultipartUploads
 *   bucket WRITE      s3:PutObject, s3:DeleteObject, s3:AbortMultipartUpload
 *                     on the bucket's objects
 *   bucket READ_ACP   s3:GetBucketAcl     WRITE_ACP  s3:PutBucketAcl
 *   object READ       s3:GetObject, s3:GetObjectAttributes
 *   object READ_ACP   s3:GetObjectAcl     WRITE_ACP  s3:PutObjectAcl
 *   FULL_CONTROL      all of its resource's permissions
 * The owner of a resource may always read and write its ACL (as in AWS),
 * whatever the grants say.
 *
 * Errors are S3 code names (the ACL is an S3 notion): NULL for success,
 * else "InvalidArgument", "InvalidRequest", "UnresolvableGrantByEmailAddress"
 * or "MalformedACLError", with a message in msg.
 */
#ifndef CAIRN_ACL_H
#define CAIRN_ACL_H

#include <stddef.h>

#define ACL_ID_LEN 64      /* hex SHA-256 */
#define ACL_NAME_MAX 64    /* IAM user names: 1..64 */
#define ACL_GRANTS_MAX 100 /* AWS: at most 100 grants per ACL */
#define ACL_MSG_MAX 160
#define ACL_TEXT_MAX (32 * 1024) /* stored form of a full ACL, bounded */

#define ACL_URI_ALL_USERS "http://acs.amazonaws.com/groups/global/AllUsers"
#define ACL_URI_AUTHENTICATED                                                  \
  "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"

enum acl_permission {
  ACL_READ = 1u,
  ACL_WRITE = 2u,
  ACL_READ_ACP = 4u,
  ACL_WRITE_ACP = 8u,
  ACL_FULL_CONTROL = 16u
};

enum acl_grantee_kind {
  ACL_GRANTEE_USER = 0,      /* CanonicalUser by ID */
  ACL_GRANTEE_ALL_USERS,     /* Group AllUsers: everyone, also anonymous */
  ACL_GRANTEE_AUTHENTICATED, /* Group AuthenticatedUsers: any signed caller */
};

struct acl_owner {
  char id[ACL_ID_LEN + 1];
  char name[ACL_NAME_MAX + 1];
};

struct acl_grant {
  enum acl_grantee_kind kind;
  enum acl_permission permission; /* exactly one bit */
  char id[ACL_ID_LEN + 1];        /* ACL_GRANTEE_USER only */
};

/* About 8 KiB: callers keep it on the heap or on the loop's stack. */
struct acl {
  struct acl_owner owner;
  size_t n;
  struct acl_grant grants[ACL_GRANTS_MAX];
};

/* The canonical id and display name of an identity (arn as above; name ""
 * for root). */
void acl_owner_of(const char *arn, const char *name, struct acl_owner *out);

/* "READ" -> ACL_READ; 0 when unknown. And back (static strings). */
unsigned acl_permission_parse(const char *s, size_t len);
const char *acl_permission_name(enum acl_permission p);
/* 1 when id is 64 lower- or upper-case hex digits. */
int acl_id_valid(const char *id, size_t len);

/* owner with FULL_CONTROL: the default of every new bucket and object. */
void acl_private(const struct acl_owner *owner, struct acl *out);

/* The ACL a request asks for, from x-amz-acl (canned, may be NULL) and the
 * five x-amz-grant-* values (index: 0 read, 1 write, 2 read-acp, 3
 * write-acp, 4 full-control; entries may be NULL). owner is the new
 * resource's owner; bucket_owner the bucket's (bucket-owner-read and
 * bucket-owner-full-control grant to it; for a bucket pass owner).
 * Neither given: private. Both given: InvalidRequest, as AWS. */
#define ACL_GRANT_HEADERS 5
extern const char *const acl_grant_header_names[ACL_GRANT_HEADERS];
const char *acl_from_headers(const char *canned,
                             const char *const grants[ACL_GRANT_HEADERS],
                             const struct acl_owner *owner,
                             const struct acl_owner *bucket_owner,
                             struct acl *out, char *msg, size_t msg_cap);
/* 1 when any of the header values is set (caller's array). */
int acl_headers_present(const char *canned,
                        const char *const grants[ACL_GRANT_HEADERS]);

/* Appends a grant (deduplicated); "MalformedACLError" over the limit. */
const char *acl_add(struct acl *a, enum acl_grantee_kind kind,
                    enum acl_permission perm, const char *id);

/* 1 when the ACL is exactly the owner's FULL_CONTROL (private), as
 * BucketOwnerEnforced accepts. */
int acl_is_private(const struct acl *a);

/* Stored form: "cairn-acl 1\nowner ID NAME\n" then one line per grant
 * "PERM user ID" | "PERM group AllUsers" | "PERM group AuthenticatedUsers".
 * acl_encode returns a malloc'd NUL-terminated string (NULL: no memory);
 * acl_decode returns 0 or -1 (corrupt). */
char *acl_encode(const struct acl *a);
int acl_decode(const char *text, size_t len, struct acl *out);

/* The permission bit an action needs on a bucket's ACL (also for actions
 * on its objects that the bucket grants: WRITE), or on an object's ACL;
 * 0 when ACLs never allow the action. */
unsigned acl_bucket_permission(const char *action);
unsigned acl_object_permission(const char *action);

/* Does a grant the caller perm? caller_id NULL is anonymous (only
 * AllUsers grants apply); a signed caller also gets AuthenticatedUsers and
 * grants to its id. FULL_CONTROL implies every permission. */
int acl_allows(const struct acl *a, const char *caller_id, unsigned perm);

#endif

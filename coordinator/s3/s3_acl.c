/*
 * s3_acl.c - GetBucketAcl, PutBucketAcl, GetObjectAcl, PutObjectAcl,
 * Get/Put/DeleteBucketOwnershipControls, and the ACL a new bucket or
 * object gets from x-amz-acl / x-amz-grant-* (PUT Bucket, PUT Object,
 * CreateMultipartUpload, CopyObject).
 *
 * The model and the checks are coordinator/acl's; this file only reads
 * requests, writes AccessControlPolicy documents and stores ACLs (a
 * bucket's in table 'C' as "acl", an object's in its version record).
 *
 * Object ownership (PutBucketOwnershipControls), as AWS defines it:
 *   ObjectWriter          the writer owns a new object (Cairn's default:
 *                         S3_DEFAULT_OWNERSHIP, see README)
 *   BucketOwnerPreferred  the bucket owner owns it when it is written with
 *                         x-amz-acl: bucket-owner-full-control
 *   BucketOwnerEnforced   the bucket owner owns everything and ACLs are
 *                         off: an ACL other than private (or
 *                         bucket-owner-full-control) is refused with
 *                         AccessControlListNotSupported, and grants allow
 *                         nothing (s3_auth.c).
 */
#include "coordinator.h"
#include "error.h"
#include "http_server.h"
#include "meta.h"
#include "s3_auth.h"
#include "s3_ops.h"
#include "xml_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the ACL a request asks for ------------------------------------------ */

/* From x-amz-acl / x-amz-grant-*: NULL and *out filled, or the S3 code
 * (message in msg). */
static const char *acl_from_request(struct s3_request *r,
                                    const struct acl_owner *owner,
                                    const struct acl_owner *bucket_owner,
                                    struct acl *out, char *msg, size_t cap) {
  const char *grants[ACL_GRANT_HEADERS];
  for (int i = 0; i < ACL_GRANT_HEADERS; i++)
    grants[i] = s3_header(r, acl_grant_header_names[i]);
  return acl_from_headers(s3_header(r, "x-amz-acl"), grants, owner,
                          bucket_owner, out, msg, cap);
}

static int acl_headers_in(struct s3_request *r) {
  const char *grants[ACL_GRANT_HEADERS];
  for (int i = 0; i < ACL_GRANT_HEADERS; i++)
    grants[i] = s3_header(r, acl_grant_header_names[i]);
  return acl_headers_present(s3_header(r, "x-amz-acl"), grants);
}

/* Keeps a's stored form as r->new_acl: NULL or "InternalError". */
static const char *keep_new_acl(struct s3_request *r, const struct acl *a) {
  free(r->new_acl);
  r->new_acl = acl_encode(a);
  return r->new_acl ? NULL : "InternalError";
}

/* Under BucketOwnerEnforced only the owner's FULL_CONTROL may be set. */
static const char *enforced_check(const struct s3_bucket_access *b,
                                  const struct acl *a) {
  return s3_bucket_ownership(b) == META_OWNERSHIP_BUCKET_OWNER_ENFORCED &&
                 !acl_is_private(a)
             ? "AccessControlListNotSupported"
             : NULL;
}

const char *s3_acl_new_object(struct s3_request *r, char *msg, size_t cap) {
  const struct s3_bucket_access *b = s3_bucket_access(r);
  if (!b)
    return "InternalError";
  if (!b->exists)
    return "NoSuchBucket";
  int ownership = s3_bucket_ownership(b);
  const char *canned = s3_header(r, "x-amz-acl");
  struct acl_owner owner;
  /* An anonymous writer cannot own anything: the bucket owner does. */
  if (r->anonymous || ownership == META_OWNERSHIP_BUCKET_OWNER_ENFORCED ||
      (ownership == META_OWNERSHIP_BUCKET_OWNER_PREFERRED && canned &&
       strcmp(canned, "bucket-owner-full-control") == 0))
    owner = b->acl.owner;
  else
    s3_caller_owner(r, &owner);
  struct acl *a = malloc(sizeof *a);
  if (!a)
    return "InternalError";
  msg[0] = '\0';
  const char *error = acl_from_request(r, &owner, &b->acl.owner, a, msg, cap);
  if (!error)
    error = enforced_check(b, a);
  if (!error)
    error = keep_new_acl(r, a);
  free(a);
  return error;
}

const char *s3_acl_new_bucket(struct s3_request *r, char *msg, size_t cap) {
  struct acl_owner owner;
  s3_caller_owner(r, &owner);
  struct acl *a = malloc(sizeof *a);
  if (!a)
    return "InternalError";
  msg[0] = '\0';
  const char *error = acl_from_request(r, &owner, &owner, a, msg, cap);
  if (!error)
    error = keep_new_acl(r, a);
  free(a);
  return error;
}

/* ---- AccessControlPolicy documents ----------------------------------------
 */

static void send_acl(struct s3_request *r, const struct acl *a) {
  struct s3_xml x;
  s3_xml_init(&x, "AccessControlPolicy");
  s3_xml_open(&x, "Owner");
  s3_xml_text(&x, "ID", a->owner.id);
  s3_xml_text(&x, "DisplayName", a->owner.name);
  s3_xml_close(&x, "Owner");
  s3_xml_open(&x, "AccessControlList");
  static const char xsi[] =
      "<Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
      "xsi:type=\"";
  for (size_t i = 0; i < a->n; i++) {
    const struct acl_grant *g = &a->grants[i];
    s3_xml_open(&x, "Grant");
    s3_xml_chars_raw(&x, xsi, sizeof xsi - 1);
    if (g->kind == ACL_GRANTEE_USER) {
      s3_xml_chars_raw(&x, "CanonicalUser\">", 15);
      s3_xml_text(&x, "ID", g->id);
      if (strcmp(g->id, a->owner.id) == 0)
        s3_xml_text(&x, "DisplayName", a->owner.name);
    } else {
      s3_xml_chars_raw(&x, "Group\">", 7);
      s3_xml_text(&x, "URI",
                  g->kind == ACL_GRANTEE_ALL_USERS ? ACL_URI_ALL_USERS
                                                   : ACL_URI_AUTHENTICATED);
    }
    s3_xml_close(&x, "Grantee");
    s3_xml_text(&x, "Permission", acl_permission_name(g->permission));
    s3_xml_close(&x, "Grant");
  }
  s3_xml_close(&x, "AccessControlList");
  s3_xml_close(&x, "AccessControlPolicy");
  s3_send_xml(r, &x);
}

/* The ACL of r's object into *a (its stored one, or private to the bucket
 * owner for records from before ACLs). 0, else the error was answered. */
static int object_acl(struct s3_request *r, const struct s3_bucket_access *b,
                      struct acl *a) {
  struct meta_object o;
  int rc = meta_object_get_latest(r->c->meta, r->bucket, r->key, &o);
  if (rc == 0 && !o.attrs.acl)
    acl_private(&b->acl.owner, a);
  else if (rc == 0 && acl_decode(o.attrs.acl, strlen(o.attrs.acl), a) != 0)
    rc = CAIRN_ECORRUPT;
  meta_object_free(&o);
  if (rc == CAIRN_ENOENT)
    s3_send_error(r, "NoSuchKey", NULL);
  else if (rc)
    s3_send_cairn_error(r, rc);
  return rc;
}

void s3_get_bucket_acl(struct s3_request *r) {
  const struct s3_bucket_access *b = s3_bucket_access_existing(r);
  if (b)
    send_acl(r, &b->acl);
}

void s3_get_object_acl(struct s3_request *r) {
  const struct s3_bucket_access *b = s3_bucket_access_existing(r);
  struct acl *a = b ? malloc(sizeof *a) : NULL;
  if (b && !a)
    s3_send_error(r, "InternalError", NULL);
  if (a && object_acl(r, b, a) == 0)
    send_acl(r, a);
  free(a);
}

/* PutBucketAcl / PutObjectAcl once the body (possibly empty) is in: the
 * new ACL from the headers or from the AccessControlPolicy document, the
 * owner kept as it is. */
static void put_acl_body_done(struct s3_request *r) {
  const struct s3_bucket_access *b = s3_bucket_access_existing(r);
  if (!b)
    return;
  struct acl *cur = malloc(sizeof *cur);
  struct s3_access_control_policy *doc = malloc(sizeof *doc);
  char msg[ACL_MSG_MAX] = "";
  const char *error = cur && doc ? NULL : "InternalError";
  if (!error && r->key && object_acl(r, b, cur) != 0)
    goto done; /* answered */
  if (!error && !r->key)
    *cur = b->acl;
  if (!error && acl_headers_in(r)) {
    if (r->collected_len)
      error = "UnexpectedContent";
    else
      error = acl_from_request(r, &cur->owner, &b->acl.owner, &doc->acl, msg,
                               sizeof msg);
  } else if (!error) {
    enum s3_error_code e = xml_parse_document(
        &xml_doc_access_control_policy, doc, r->collected, r->collected_len);
    error = e == S3_OK ? NULL : s3_error_name(e);
  }
  if (!error) {
    doc->acl.owner = cur->owner; /* the owner does not change */
    error = enforced_check(b, &doc->acl);
  }
  if (!error) {
    char *text = acl_encode(&doc->acl);
    int rc = !text    ? CAIRN_ENOMEM
             : r->key ? meta_object_set_acl(r->c->meta, r->bucket, r->key, text)
                      : meta_bucket_config_set(r->c->meta, r->bucket, "acl",
                                               text, strlen(text));
    free(text);
    if (rc == CAIRN_ENOENT)
      error = r->key ? "NoSuchKey" : "NoSuchBucket";
    else if (rc) {
      s3_send_cairn_error(r, rc);
      goto done;
    }
  }
  if (error)
    s3_send_error(r, error, msg[0] ? msg : NULL);
  else
    s3_send(r, 200, NULL, 0, NULL, NULL, 0);
done:
  free(cur);
  free(doc);
}

void s3_put_bucket_acl(struct s3_request *r) {
  if (s3_bucket_access_existing(r))
    s3_collect_body(r, S3_XML_ACL_MAX_BYTES, "MaxMessageLengthExceeded",
                    put_acl_body_done);
}

void s3_put_object_acl(struct s3_request *r) {
  s3_put_bucket_acl(r); /* the same, r->key says which */
}

/* ---- OwnershipControls ------------------------------------------------------
 */

static void put_ownership_body_done(struct s3_request *r) {
  struct s3_ownership_controls d;
  enum s3_error_code e = xml_parse_document(&xml_doc_ownership_controls, &d,
                                            r->collected, r->collected_len);
  if (e != S3_OK) {
    s3_send_error(r, s3_error_name(e), NULL);
    return;
  }
  int rc =
      meta_bucket_set_ownership(r->c->meta, r->bucket, (uint8_t)d.ownership);
  s3_send_bucket_write(r, rc, 200);
}

void s3_put_bucket_ownership_controls(struct s3_request *r) {
  if (s3_bucket_access_existing(r))
    s3_collect_body(r, S3_XML_OWNERSHIP_MAX_BYTES, "MaxMessageLengthExceeded",
                    put_ownership_body_done);
}

void s3_get_bucket_ownership_controls(struct s3_request *r) {
  const struct s3_bucket_access *b = s3_bucket_access_existing(r);
  if (!b)
    return;
  if (b->bucket.ownership == META_OWNERSHIP_NONE) {
    s3_send_error(r, "OwnershipControlsNotFoundError", NULL);
    return;
  }
  struct s3_xml x;
  s3_xml_init(&x, "OwnershipControls");
  s3_xml_open(&x, "Rule");
  s3_xml_text(&x, "ObjectOwnership", s3_ownership_name(b->bucket.ownership));
  s3_xml_close(&x, "Rule");
  s3_xml_close(&x, "OwnershipControls");
  s3_send_xml(r, &x);
}

void s3_delete_bucket_ownership_controls(struct s3_request *r) {
  int rc =
      meta_bucket_set_ownership(r->c->meta, r->bucket, META_OWNERSHIP_NONE);
  s3_send_bucket_write(r, rc, 204);
}

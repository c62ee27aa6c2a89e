/* test_acl.c - the ACL model: canonical ids, canned ACL expansion, grant
 * headers (valid and hostile), the stored form, the permission checks, and
 * the AccessControlPolicy / OwnershipControls XML bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "acl.h"
#include "crypto.h"
#include "xml_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct acl_owner alice, bob;
static const char *const no_grants[ACL_GRANT_HEADERS] = {0};

static int setup(void **state) {
  (void)state;
  if (crypto_init() != 0)
    return -1;
  acl_owner_of("arn:aws:iam::000000000000:user/alice", "alice", &alice);
  acl_owner_of("arn:aws:iam::000000000000:user/bob", "bob", &bob);
  return 0;
}

static void test_canonical_id(void **state) {
  (void)state;
  /* sha256("arn:aws:iam::000000000000:root"), as tests/integration
   * computes it with hashlib */
  struct acl_owner root;
  acl_owner_of("arn:aws:iam::000000000000:root", "", &root);
  assert_int_equal(strlen(root.id), ACL_ID_LEN);
  assert_true(acl_id_valid(root.id, ACL_ID_LEN));
  assert_string_equal(root.name, "root");
  assert_string_equal(alice.name, "alice");
  assert_string_not_equal(alice.id, bob.id);
  struct acl_owner again;
  acl_owner_of("arn:aws:iam::000000000000:user/alice", "alice", &again);
  assert_string_equal(again.id, alice.id); /* stable */
}

static struct acl *canned(const char *name, const char **err) {
  static struct acl a;
  char msg[ACL_MSG_MAX] = "";
  *err = acl_from_headers(name, no_grants, &alice, &bob, &a, msg, sizeof msg);
  return &a;
}

static void test_canned_expansion(void **state) {
  (void)state;
  const char *err;
  struct acl *a = canned("private", &err);
  assert_null(err);
  assert_true(acl_is_private(a));
  assert_true(acl_allows(a, alice.id, ACL_WRITE_ACP));
  assert_false(acl_allows(a, NULL, ACL_READ));

  a = canned("public-read", &err);
  assert_null(err);
  assert_int_equal(a->n, 2);
  assert_true(acl_allows(a, NULL, ACL_READ));
  assert_false(acl_allows(a, NULL, ACL_WRITE));
  assert_false(acl_is_private(a));

  a = canned("public-read-write", &err);
  assert_true(acl_allows(a, NULL, ACL_WRITE));
  assert_false(acl_allows(a, NULL, ACL_READ_ACP));

  a = canned("authenticated-read", &err);
  assert_false(acl_allows(a, NULL, ACL_READ));
  assert_true(acl_allows(a, bob.id, ACL_READ));

  a = canned("bucket-owner-read", &err);
  assert_true(acl_allows(a, bob.id, ACL_READ));
  assert_false(acl_allows(a, bob.id, ACL_WRITE));

  a = canned("bucket-owner-full-control", &err);
  assert_true(acl_allows(a, bob.id, ACL_WRITE_ACP));
  assert_string_equal(a->owner.id, alice.id);

  a = canned("everyone-everything", &err);
  assert_string_equal(err, "InvalidArgument");

  /* bucket-owner-full-control by the bucket owner itself is private. */
  char msg[ACL_MSG_MAX];
  assert_null(acl_from_headers("bucket-owner-full-control", no_grants, &alice,
                               &alice, a, msg, sizeof msg));
  assert_true(acl_is_private(a));
}

static void test_grant_headers(void **state) {
  (void)state;
  struct acl a;
  char msg[ACL_MSG_MAX];
  char read[256];
  snprintf(read, sizeof read, "id=\"%s\", uri=\"%s\"", bob.id,
           ACL_URI_ALL_USERS);
  const char *grants[ACL_GRANT_HEADERS] = {read, NULL, NULL, NULL, NULL};
  assert_null(
      acl_from_headers(NULL, grants, &alice, &alice, &a, msg, sizeof msg));
  assert_int_equal(a.n, 2); /* header grants replace the owner's default */
  assert_true(acl_allows(&a, bob.id, ACL_READ));
  assert_true(acl_allows(&a, NULL, ACL_READ));
  assert_false(acl_allows(&a, alice.id, ACL_WRITE));

  char full[128];
  snprintf(full, sizeof full, "id=%s", alice.id); /* unquoted */
  const char *g2[ACL_GRANT_HEADERS] = {NULL, NULL, NULL, NULL, full};
  assert_null(acl_from_headers(NULL, g2, &alice, &alice, &a, msg, sizeof msg));
  assert_true(acl_is_private(&a));

  static const char *const bad[] = {
      "id=\"1234\"", "uri=\"http://acs.amazonaws.com/groups/s3/LogDelivery\"",
      "nonsense", "id=\"unterminated", "colour=\"blue\""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const char *g[ACL_GRANT_HEADERS] = {bad[i], NULL, NULL, NULL, NULL};
    assert_string_equal(
        acl_from_headers(NULL, g, &alice, &alice, &a, msg, sizeof msg),
        "InvalidArgument");
    assert_true(msg[0] != '\0');
  }
  const char *email[ACL_GRANT_HEADERS] = {"emailAddress=\"a@b.c\"", NULL, NULL,
                                          NULL, NULL};
  assert_string_equal(
      acl_from_headers(NULL, email, &alice, &alice, &a, msg, sizeof msg),
      "UnresolvableGrantByEmailAddress");
  assert_string_equal(
      acl_from_headers("private", grants, &alice, &alice, &a, msg, sizeof msg),
      "InvalidRequest");
  assert_true(acl_headers_present(NULL, grants));
  assert_false(acl_headers_present(NULL, no_grants));
}

static void test_stored_form(void **state) {
  (void)state;
  struct acl a, b;
  const char *err;
  a = *canned("public-read-write", &err);
  acl_add(&a, ACL_GRANTEE_AUTHENTICATED, ACL_READ_ACP, NULL);
  acl_add(&a, ACL_GRANTEE_USER, ACL_WRITE, bob.id);
  char *text = acl_encode(&a);
  assert_non_null(text);
  assert_int_equal(acl_decode(text, strlen(text), &b), 0);
  assert_string_equal(b.owner.id, a.owner.id);
  assert_string_equal(b.owner.name, "alice");
  assert_int_equal(b.n, a.n);
  for (size_t i = 0; i < a.n; i++) {
    assert_int_equal(b.grants[i].kind, a.grants[i].kind);
    assert_int_equal(b.grants[i].permission, a.grants[i].permission);
    assert_string_equal(b.grants[i].id, a.grants[i].id);
  }
  free(text);
  static const char *const corrupt[] = {
      "", "cairn-acl 2\n", "cairn-acl 1\nREAD group AllUsers\n",
      "cairn-acl 1\nowner xyz alice\n",
      "cairn-acl 1\nowner "
      "0000000000000000000000000000000000000000000000000000000000000000 a\n"
      "EVERYTHING group AllUsers\n"};
  for (size_t i = 0; i < sizeof corrupt / sizeof corrupt[0]; i++)
    assert_int_equal(acl_decode(corrupt[i], strlen(corrupt[i]), &b), -1);
}

static void test_limits_and_mapping(void **state) {
  (void)state;
  struct acl a;
  acl_private(&alice, &a);
  char id[ACL_ID_LEN + 1];
  for (int i = 1; i < ACL_GRANTS_MAX; i++) {
    snprintf(id, sizeof id, "%064d", i);
    assert_null(acl_add(&a, ACL_GRANTEE_USER, ACL_READ, id));
  }
  assert_null(acl_add(&a, ACL_GRANTEE_USER, ACL_READ, id)); /* duplicate */
  assert_string_equal(acl_add(&a, ACL_GRANTEE_ALL_USERS, ACL_READ, NULL),
                      "MalformedACLError");
  assert_int_equal(acl_bucket_permission("s3:ListBucket"), ACL_READ);
  assert_int_equal(acl_bucket_permission("s3:PutObject"), ACL_WRITE);
  assert_int_equal(acl_bucket_permission("s3:DeleteObject"), ACL_WRITE);
  assert_int_equal(acl_bucket_permission("s3:GetBucketAcl"), ACL_READ_ACP);
  assert_int_equal(acl_bucket_permission("s3:PutBucketPolicy"), 0);
  assert_int_equal(acl_object_permission("s3:GetObject"), ACL_READ);
  assert_int_equal(acl_object_permission("s3:PutObjectAcl"), ACL_WRITE_ACP);
  assert_int_equal(acl_object_permission("s3:DeleteObject"), 0);
  assert_int_equal(acl_permission_parse("READ_ACP", 8), ACL_READ_ACP);
  assert_int_equal(acl_permission_parse("READ_AC", 7), 0);
}

/* ---- XML bodies ------------------------------------------------------------
 */

static enum s3_error_code parse_acp(const char *doc,
                                    struct s3_access_control_policy *out) {
  return xml_parse_document(&xml_doc_access_control_policy, out, doc,
                            strlen(doc));
}

static void test_acl_xml(void **state) {
  (void)state;
  struct s3_access_control_policy *p = malloc(sizeof *p);
  char doc[2048];
  snprintf(doc, sizeof doc,
           "<?xml version=\"1.0\"?>"
           "<AccessControlPolicy "
           "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
           "<Owner><ID>%s</ID><DisplayName>alice</DisplayName></Owner>"
           "<AccessControlList>"
           "<Grant><Grantee "
           "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
           "xsi:type=\"CanonicalUser\"><ID>%s</ID></Grantee>"
           "<Permission>FULL_CONTROL</Permission></Grant>"
           "<Grant><Grantee "
           "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
           "xsi:type=\"Group\"><URI> %s </URI></Grantee>"
           "<Permission>READ</Permission></Grant>"
           "</AccessControlList></AccessControlPolicy>",
           alice.id, bob.id, ACL_URI_ALL_USERS);
  assert_int_equal(parse_acp(doc, p), S3_OK);
  assert_string_equal(p->acl.owner.id, alice.id);
  assert_int_equal(p->acl.n, 2);
  assert_true(acl_allows(&p->acl, bob.id, ACL_WRITE_ACP));
  assert_true(acl_allows(&p->acl, NULL, ACL_READ));
  assert_false(acl_allows(&p->acl, NULL, ACL_WRITE));

  /* An empty list is a valid ACL (nobody but the owner by ownership). */
  assert_int_equal(parse_acp("<AccessControlPolicy><AccessControlList/>"
                             "</AccessControlPolicy>",
                             p),
                   S3_OK);
  assert_int_equal(p->acl.n, 0);

  static const struct {
    const char *doc;
    enum s3_error_code want;
  } bad[] = {
      {"<AccessControlPolicy><AccessControlList><Grant><Grantee><ID>abc</ID>"
       "</Grantee><Permission>READ</Permission></Grant></AccessControlList>"
       "</AccessControlPolicy>",
       S3_ERR_InvalidArgument},
      {"<AccessControlPolicy><AccessControlList><Grant><Grantee><URI>x</URI>"
       "</Grantee><Permission>READ</Permission></Grant></AccessControlList>"
       "</AccessControlPolicy>",
       S3_ERR_InvalidArgument},
      {"<AccessControlPolicy><AccessControlList><Grant><Grantee>"
       "<EmailAddress>a@b</EmailAddress></Grantee><Permission>READ"
       "</Permission></Grant></AccessControlList></AccessControlPolicy>",
       S3_ERR_UnresolvableGrantByEmailAddress},
      {"<AccessControlPolicy><AccessControlList><Grant><Grantee><"
       "URI>" ACL_URI_ALL_USERS "</URI></Grantee><Permission>ALL</Permission>"
       "</Grant></AccessControlList></AccessControlPolicy>",
       S3_ERR_MalformedACLError},
      {"<AccessControlPolicy><AccessControlList><Grant><Permission>READ"
       "</Permission></Grant></AccessControlList></AccessControlPolicy>",
       S3_ERR_MalformedACLError},
      {"<AccessControlPolicy><AccessControlList><Grant>", S3_ERR_MalformedXML},
      {"<Other/>", S3_ERR_MalformedXML},
      {"<!DOCTYPE x [<!ENTITY a \"b\">]><AccessControlPolicy/>",
       S3_ERR_MalformedXML},
      {"", S3_ERR_MissingRequestBodyError},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    enum s3_error_code e = parse_acp(bad[i].doc, p);
    if (e != bad[i].want)
      fail_msg("case %zu: got %s", i, s3_error_name(e));
  }

  /* 101 grants: over AWS's limit of 100. */
  size_t cap = 101 * 200 + 256, n = 0;
  char *big = malloc(cap);
  n += (size_t)snprintf(big + n, cap - n,
                        "<AccessControlPolicy><AccessControlList>");
  for (int i = 0; i < 101; i++)
    n += (size_t)snprintf(big + n, cap - n,
                          "<Grant><Grantee><ID>%064d</ID></Grantee>"
                          "<Permission>READ</Permission></Grant>",
                          i);
  snprintf(big + n, cap - n, "</AccessControlList></AccessControlPolicy>");
  assert_int_equal(parse_acp(big, p), S3_ERR_MalformedACLError);
  free(big);
  free(p);
}

static void test_ownership_xml(void **state) {
  (void)state;
  struct s3_ownership_controls c;
  const char *ok = "<OwnershipControls><Rule><ObjectOwnership>"
                   "BucketOwnerEnforced</ObjectOwnership></Rule>"
                   "</OwnershipControls>";
  assert_int_equal(
      xml_parse_document(&xml_doc_ownership_controls, &c, ok, strlen(ok)),
      S3_OK);
  assert_int_equal(c.ownership, 1);
  assert_string_equal(s3_ownership_name(c.ownership), "BucketOwnerEnforced");
  assert_string_equal(s3_ownership_name(3), "ObjectWriter");
  static const char *const bad[] = {
      "<OwnershipControls><Rule><ObjectOwnership>Mine</ObjectOwnership>"
      "</Rule></OwnershipControls>",
      "<OwnershipControls></OwnershipControls>",
      "<OwnershipControls><Rule><ObjectOwnership>ObjectWriter"
      "</ObjectOwnership></Rule><Rule><ObjectOwnership>ObjectWriter"
      "</ObjectOwnership></Rule></OwnershipControls>"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(xml_parse_document(&xml_doc_ownership_controls, &c, bad[i],
                                        strlen(bad[i])),
                     S3_ERR_MalformedXML);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_canonical_id),
      cmocka_unit_test(test_canned_expansion),
      cmocka_unit_test(test_grant_headers),
      cmocka_unit_test(test_stored_form),
      cmocka_unit_test(test_limits_and_mapping),
      cmocka_unit_test(test_acl_xml),
      cmocka_unit_test(test_ownership_xml),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}

/*
 * xml_parse.c - the bounded, incremental expat driver and the S3 request
 * documents it reads (see xml_parse.h for the rules).
 *
 * Parser states:
 *
 *   new --feed--> parsing --feed--> parsing --finish--> done (S3_OK)
 *                    |                 |
 *                    +-- any error ----+--> failed (sticky S3 code)
 *
 * Invariants: (1) p->error, once set, never changes and no callback runs
 * after it; (2) p->depth <= type->max_depth; (3) p->text_len <=
 * type->max_text, the text buffer always has room for the NUL.
 */
#include "xml_parse.h"

#include "checksum.h"

#include <expat.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define XML_NS_SEPARATOR '\x01'
#define XML_PATH_MAX 512 /* "Root/Child/..." of local names */

/* ---- strings ------------------------------------------------------------- */

#define XML_STRINGS_BLOCK 16384

struct xml_strings_block {
  struct xml_strings_block *next;
  size_t used, cap;
  char data[];
};

/* A NUL-terminated copy of s[0..n) that lives until xml_strings_release. */
static const char *strings_add(struct xml_strings *st, const char *s,
                               size_t n) {
  struct xml_strings_block *b = st->head;
  if (!b || b->cap - b->used < n + 1) {
    size_t cap = n + 1 > XML_STRINGS_BLOCK ? n + 1 : XML_STRINGS_BLOCK;
    b = malloc(sizeof *b + cap);
    if (!b)
      return NULL;
    b->next = st->head;
    b->used = 0;
    b->cap = cap;
    st->head = b;
  }
  char *out = b->data + b->used;
  memcpy(out, s, n);
  out[n] = '\0';
  b->used += n + 1;
  return out;
}

void xml_strings_release(struct xml_strings *st) {
  while (st->head) {
    struct xml_strings_block *next = st->head->next;
    free(st->head);
    st->head = next;
  }
}

/* ---- the driver ---------------------------------------------------------- */

struct xml_parser {
  XML_Parser expat;
  const struct xml_doc_type *type;
  void *result;
  enum s3_error_code error;
  size_t bytes, elements;
  unsigned depth;
  size_t path_len[XML_PATH_MAX / 2]; /* path length at each depth */
  unsigned char has_child[XML_PATH_MAX / 2];
  char path[XML_PATH_MAX];
  int text_overflow;
  size_t text_len;
  char text[]; /* type->max_text + 1 */
};

static void fail(struct xml_parser *p, enum s3_error_code error) {
  if (!p->error)
    p->error = error;
  XML_StopParser(p->expat, XML_FALSE);
}

static void on_start(void *data, const XML_Char *name, const XML_Char **atts) {
  struct xml_parser *p = data;
  (void)atts;
  if (p->error)
    return;
  const char *local = strrchr(name, XML_NS_SEPARATOR);
  local = local ? local + 1 : name;
  size_t n = strlen(local), at = p->path_len[p->depth];
  if (++p->elements > p->type->max_elements || p->depth >= p->type->max_depth ||
      p->depth + 1 >= sizeof p->path_len / sizeof p->path_len[0] ||
      at + n + 2 > sizeof p->path) {
    fail(p, S3_ERR_MalformedXML);
    return;
  }
  if (p->depth == 0 && strcmp(local, p->type->root) != 0) {
    fail(p, S3_ERR_MalformedXML);
    return;
  }
  if (at)
    p->path[at++] = '/';
  memcpy(p->path + at, local, n + 1);
  p->has_child[p->depth] = 1;
  p->depth++;
  p->path_len[p->depth] = at + n;
  p->has_child[p->depth] = 0;
  p->text_len = 0;
  p->text_overflow = 0;
  enum s3_error_code rc =
      p->type->on_start ? p->type->on_start(p->result, p->path) : S3_OK;
  if (rc)
    fail(p, rc);
}

static void on_end(void *data, const XML_Char *name) {
  struct xml_parser *p = data;
  (void)name;
  if (p->error)
    return;
  enum s3_error_code rc = S3_OK;
  if (p->text_overflow && !p->has_child[p->depth])
    rc = p->type->on_text_too_long ? p->type->on_text_too_long(p->path)
                                   : S3_ERR_MalformedXML;
  if (!rc) {
    p->text[p->text_len] = '\0';
    rc = p->type->on_end(p->result, p->path, p->text, p->text_len);
  }
  if (rc) {
    fail(p, rc);
    return;
  }
  p->depth--;
  p->path[p->path_len[p->depth]] = '\0';
  p->text_len = 0;
  p->text_overflow = 0;
}

static void on_text(void *data, const XML_Char *text, int len) {
  struct xml_parser *p = data;
  if (p->error || p->text_overflow)
    return;
  /* Overflow is judged at the end of the element: a container's
   * whitespace between children may be long and is harmless. */
  if ((size_t)len > p->type->max_text - p->text_len) {
    p->text_overflow = 1;
    return;
  }
  memcpy(p->text + p->text_len, text, (size_t)len);
  p->text_len += (size_t)len;
}

static void on_doctype(void *data, const XML_Char *name, const XML_Char *sysid,
                       const XML_Char *pubid, int has_internal_subset) {
  (void)name, (void)sysid, (void)pubid, (void)has_internal_subset;
  fail(data, S3_ERR_MalformedXML); /* no DTDs: no entity definitions */
}

static void on_entity_decl(void *data, const XML_Char *name, int is_param,
                           const XML_Char *value, int value_len,
                           const XML_Char *base, const XML_Char *sysid,
                           const XML_Char *pubid, const XML_Char *notation) {
  (void)name, (void)is_param, (void)value, (void)value_len, (void)base;
  (void)sysid, (void)pubid, (void)notation;
  fail(data, S3_ERR_MalformedXML); /* unreachable without a DOCTYPE */
}

struct xml_parser *xml_parser_new(const struct xml_doc_type *type,
                                  void *result) {
  struct xml_parser *p = calloc(1, sizeof *p + type->max_text + 1);
  if (!p)
    return NULL;
  p->type = type;
  p->result = result;
  memset(result, 0, type->result_size);
  p->expat = XML_ParserCreateNS("UTF-8", XML_NS_SEPARATOR);
  if (!p->expat) {
    free(p);
    return NULL;
  }
  XML_SetUserData(p->expat, p);
  XML_SetElementHandler(p->expat, on_start, on_end);
  XML_SetCharacterDataHandler(p->expat, on_text);
  XML_SetStartDoctypeDeclHandler(p->expat, on_doctype);
  XML_SetEntityDeclHandler(p->expat, on_entity_decl);
  XML_SetParamEntityParsing(p->expat, XML_PARAM_ENTITY_PARSING_NEVER);
  return p;
}

enum s3_error_code xml_parser_feed(struct xml_parser *p, const void *data,
                                   size_t len) {
  if (p->error)
    return p->error;
  if (len > p->type->max_bytes - p->bytes) {
    p->error = S3_ERR_MaxMessageLengthExceeded;
    return p->error;
  }
  p->bytes += len;
  /* len <= max_bytes, a few MiB: it fits XML_Parse's int. */
  if (len && XML_Parse(p->expat, data, (int)len, XML_FALSE) != XML_STATUS_OK &&
      !p->error)
    p->error = S3_ERR_MalformedXML;
  return p->error;
}

enum s3_error_code xml_parser_finish(struct xml_parser *p) {
  if (p->error)
    return p->error;
  if (p->bytes == 0)
    return p->error = S3_ERR_MissingRequestBodyError;
  if (XML_Parse(p->expat, "", 0, XML_TRUE) != XML_STATUS_OK) {
    if (!p->error)
      p->error = S3_ERR_MalformedXML;
    return p->error;
  }
  if (p->type->on_finish)
    p->error = p->type->on_finish(p->result);
  return p->error;
}

void xml_parser_free(struct xml_parser *p) {
  if (!p)
    return;
  XML_ParserFree(p->expat);
  free(p);
}

enum s3_error_code xml_parse_document(const struct xml_doc_type *type,
                                      void *result, const void *doc,
                                      size_t len) {
  struct xml_parser *p = xml_parser_new(type, result);
  if (!p)
    return S3_ERR_InternalError;
  enum s3_error_code rc = xml_parser_feed(p, doc, len);
  if (!rc)
    rc = xml_parser_finish(p);
  xml_parser_free(p);
  return rc;
}

/* ---- helpers for documents ------------------------------------------------
 */

/* text without surrounding XML whitespace */
static void trim(const char **text, size_t *len) {
  while (*len && strchr(" \t\r\n", (*text)[0])) {
    (*text)++;
    (*len)--;
  }
  while (*len && strchr(" \t\r\n", (*text)[*len - 1]))
    (*len)--;
}

/* Grows *array (of elem bytes each) to hold one more; 0 or -1. */
static int grow(void **array, size_t *capacity, size_t count, size_t elem,
                size_t max) {
  if (count < *capacity)
    return 0;
  size_t cap = *capacity ? *capacity * 2 : 16;
  if (cap > max)
    cap = max;
  void *a = realloc(*array, cap * elem);
  if (!a)
    return -1;
  *array = a;
  *capacity = cap;
  return 0;
}

/* ---- documents: CreateBucketConfiguration ---------------------------------
 */

static enum s3_error_code create_bucket_end(void *result, const char *path,
                                            const char *text, size_t len) {
  struct s3_create_bucket_config *c = result;
  if (strcmp(path, "CreateBucketConfiguration/LocationConstraint") != 0)
    return S3_OK;
  trim(&text, &len);
  if (len > S3_LOCATION_CONSTRAINT_MAX)
    return S3_ERR_InvalidLocationConstraint;
  memcpy(c->location, text, len);
  c->location[len] = '\0';
  c->has_location = 1;
  return S3_OK;
}

const struct xml_doc_type xml_doc_create_bucket = {
    .root = "CreateBucketConfiguration",
    .result_size = sizeof(struct s3_create_bucket_config),
    .max_bytes = S3_XML_CREATE_BUCKET_MAX_BYTES,
    .max_depth = 8,
    .max_elements = 256,
    .max_text = 1024,
    .on_end = create_bucket_end,
};

/* ---- documents: ServerSideEncryptionConfiguration -------------------------
 */

#define SSE_RULE "ServerSideEncryptionConfiguration/Rule"
#define SSE_DEFAULT SSE_RULE "/ApplyServerSideEncryptionByDefault"

static enum s3_error_code encryption_end(void *result, const char *path,
                                         const char *text, size_t len) {
  struct s3_bucket_encryption_config *c = result;
  trim(&text, &len);
  if (strcmp(path, SSE_RULE) == 0) {
    c->rules++;
  } else if (strcmp(path, SSE_DEFAULT "/SSEAlgorithm") == 0) {
    if (len >= sizeof c->algorithm)
      return S3_ERR_MalformedXML;
    memcpy(c->algorithm, text, len);
    c->algorithm[len] = '\0';
  } else if (strcmp(path, SSE_DEFAULT "/KMSMasterKeyID") == 0) {
    c->has_kms_key = 1;
  } else if (strcmp(path, SSE_RULE "/BucketKeyEnabled") == 0) {
    if (len == 4 && strncasecmp(text, "true", 4) == 0)
      c->bucket_key = 1;
    else if (!(len == 5 && strncasecmp(text, "false", 5) == 0))
      return S3_ERR_MalformedXML;
  }
  return S3_OK;
}

static enum s3_error_code encryption_finish(void *result) {
  const struct s3_bucket_encryption_config *c = result;
  return c->rules == 1 && c->algorithm[0] ? S3_OK : S3_ERR_MalformedXML;
}

const struct xml_doc_type xml_doc_bucket_encryption = {
    .root = "ServerSideEncryptionConfiguration",
    .result_size = sizeof(struct s3_bucket_encryption_config),
    .max_bytes = S3_XML_ENCRYPTION_MAX_BYTES,
    .max_depth = 8,
    .max_elements = 64,
    .max_text = 2048,
    .on_end = encryption_end,
    .on_finish = encryption_finish,
};

/* ---- documents: Delete (DeleteObjects) ------------------------------------
 */

/* The entry being read is entries[count] (count is bumped at </Object>). */
static enum s3_error_code delete_start(void *result, const char *path) {
  struct s3_delete_objects *d = result;
  if (strcmp(path, "Delete/Object") != 0)
    return S3_OK;
  if (d->count >= S3_DELETE_OBJECTS_MAX)
    return S3_ERR_MalformedXML; /* AWS: at most 1000 keys per request */
  if (grow((void **)&d->entries, &d->capacity, d->count, sizeof *d->entries,
           S3_DELETE_OBJECTS_MAX))
    return S3_ERR_InternalError;
  memset(&d->entries[d->count], 0, sizeof d->entries[0]);
  return S3_OK;
}

static enum s3_error_code delete_end(void *result, const char *path,
                                     const char *text, size_t len) {
  struct s3_delete_objects *d = result;
  if (strcmp(path, "Delete/Quiet") == 0) {
    trim(&text, &len);
    if (len == 4 && strncasecmp(text, "true", 4) == 0)
      d->quiet = 1;
    else if (len == 5 && strncasecmp(text, "false", 5) == 0)
      d->quiet = 0;
    else
      return S3_ERR_MalformedXML;
    return S3_OK;
  }
  if (strncmp(path, "Delete/Object", 13) != 0 ||
      (path[13] != '\0' && path[13] != '/'))
    return S3_OK;
  struct s3_delete_entry *e = &d->entries[d->count];
  if (path[13] == '\0') {
    if (!e->key)
      return S3_ERR_MalformedXML; /* Key is required */
    d->count++;
  } else if (strcmp(path + 13, "/Key") == 0) {
    if (e->key)
      return S3_ERR_MalformedXML;
    if (len > S3_OBJECT_KEY_MAX_BYTES)
      return S3_ERR_KeyTooLongError;
    if (!(e->key = strings_add(&d->strings, text, len)))
      return S3_ERR_InternalError;
    e->key_len = len;
  } else if (strcmp(path + 13, "/VersionId") == 0) {
    trim(&text, &len);
    if (e->version_id)
      return S3_ERR_MalformedXML;
    if (!(e->version_id = strings_add(&d->strings, text, len)))
      return S3_ERR_InternalError;
  }
  return S3_OK;
}

static enum s3_error_code delete_finish(void *result) {
  struct s3_delete_objects *d = result;
  return d->count ? S3_OK : S3_ERR_MalformedXML;
}

static enum s3_error_code delete_text_too_long(const char *path) {
  return strcmp(path, "Delete/Object/Key") == 0 ? S3_ERR_KeyTooLongError
                                                : S3_ERR_MalformedXML;
}

const struct xml_doc_type xml_doc_delete_objects = {
    .root = "Delete",
    .result_size = sizeof(struct s3_delete_objects),
    .max_bytes = S3_XML_DELETE_MAX_BYTES,
    .max_depth = 8,
    /* root, Quiet, and per object Key, VersionId and a few newer fields */
    .max_elements = 8 * S3_DELETE_OBJECTS_MAX + 16,
    .max_text = S3_OBJECT_KEY_MAX_BYTES,
    .on_start = delete_start,
    .on_end = delete_end,
    .on_finish = delete_finish,
    .on_text_too_long = delete_text_too_long,
};

void s3_delete_objects_release(struct s3_delete_objects *d) {
  free(d->entries);
  xml_strings_release(&d->strings);
  memset(d, 0, sizeof *d);
}

/* ---- documents: CompleteMultipartUpload -----------------------------------
 */

#define COMPLETE_PART "CompleteMultipartUpload/Part"

static enum s3_error_code complete_start(void *result, const char *path) {
  struct s3_complete_upload *c = result;
  if (strcmp(path, COMPLETE_PART) != 0)
    return S3_OK;
  if (c->count >= S3_COMPLETE_PARTS_MAX)
    return S3_ERR_InvalidArgument; /* part numbers stop at 10000 */
  if (grow((void **)&c->parts, &c->capacity, c->count, sizeof *c->parts,
           S3_COMPLETE_PARTS_MAX))
    return S3_ERR_InternalError;
  memset(&c->parts[c->count], 0, sizeof c->parts[0]);
  return S3_OK;
}

static enum s3_error_code complete_end(void *result, const char *path,
                                       const char *text, size_t len) {
  struct s3_complete_upload *c = result;
  const size_t plen = sizeof COMPLETE_PART - 1;
  if (strncmp(path, COMPLETE_PART, plen) != 0 ||
      (path[plen] != '\0' && path[plen] != '/'))
    return S3_OK;
  struct s3_complete_part *part = &c->parts[c->count];
  const char *field = path + plen;
  trim(&text, &len);
  if (*field == '\0') {
    if (!part->part_number || !part->etag)
      return S3_ERR_MalformedXML; /* both are required */
    if (c->count && part->part_number <= c->parts[c->count - 1].part_number)
      return S3_ERR_InvalidPartOrder;
    c->count++;
  } else if (strcmp(field, "/PartNumber") == 0) {
    uint32_t n = 0;
    if (len == 0 || part->part_number)
      return S3_ERR_MalformedXML;
    for (size_t i = 0; i < len; i++) {
      if (text[i] < '0' || text[i] > '9')
        return S3_ERR_MalformedXML;
      if (n > S3_COMPLETE_PARTS_MAX)
        break; /* out of range already; stop before overflow */
      n = n * 10 + (uint32_t)(text[i] - '0');
    }
    if (n < 1 || n > S3_COMPLETE_PARTS_MAX)
      return S3_ERR_InvalidArgument;
    part->part_number = n;
  } else if (strcmp(field, "/ETag") == 0) {
    if (part->etag)
      return S3_ERR_MalformedXML;
    if (len >= 2 && text[0] == '"' && text[len - 1] == '"') {
      text++;
      len -= 2;
    }
    if (!(part->etag = strings_add(&c->strings, text, len)))
      return S3_ERR_InternalError;
  } else if (strncmp(field, "/Checksum", 9) == 0) {
    enum checksum_algorithm a = checksum_parse(field + 9);
    if (a == CHECKSUM_NONE || (size_t)a >= S3_COMPLETE_CHECKSUM_KINDS)
      return S3_OK; /* ChecksumType and future fields */
    if (part->checksum[a])
      return S3_ERR_MalformedXML;
    if (!(part->checksum[a] = strings_add(&c->strings, text, len)))
      return S3_ERR_InternalError;
  }
  return S3_OK;
}

static enum s3_error_code complete_finish(void *result) {
  struct s3_complete_upload *c = result;
  return c->count ? S3_OK : S3_ERR_MalformedXML;
}

const struct xml_doc_type xml_doc_complete_upload = {
    .root = "CompleteMultipartUpload",
    .result_size = sizeof(struct s3_complete_upload),
    .max_bytes = S3_XML_COMPLETE_MAX_BYTES,
    .max_depth = 8,
    /* root, and per part PartNumber, ETag and up to five checksums */
    .max_elements = 8 * S3_COMPLETE_PARTS_MAX + 16,
    .max_text = 256,
    .on_start = complete_start,
    .on_end = complete_end,
    .on_finish = complete_finish,
};

void s3_complete_upload_release(struct s3_complete_upload *c) {
  free(c->parts);
  xml_strings_release(&c->strings);
  memset(c, 0, sizeof *c);
}

/* ---- documents: AccessControlPolicy --------------------------------------
 */

#define ACP_GRANT "AccessControlPolicy/AccessControlList/Grant"

static enum s3_error_code acp_start(void *result, const char *path) {
  struct s3_access_control_policy *a = result;
  if (strcmp(path, ACP_GRANT) == 0) {
    a->grantee = 0;
    a->id[0] = '\0';
    a->permission = 0;
  }
  return S3_OK;
}

/* Sets the grant's grantee once; a second one is MalformedACLError. */
static enum s3_error_code acp_grantee(struct s3_access_control_policy *a,
                                      enum acl_grantee_kind kind) {
  if (a->grantee)
    return S3_ERR_MalformedACLError;
  a->grantee = 1 + (int)kind;
  return S3_OK;
}

static enum s3_error_code acp_end(void *result, const char *path,
                                  const char *text, size_t len) {
  struct s3_access_control_policy *a = result;
  trim(&text, &len);
  if (strcmp(path, "AccessControlPolicy/Owner/ID") == 0) {
    if (!acl_id_valid(text, len))
      return S3_ERR_InvalidArgument;
    memcpy(a->acl.owner.id, text, len);
    a->acl.owner.id[len] = '\0';
    return S3_OK;
  }
  const size_t plen = sizeof ACP_GRANT - 1;
  if (strncmp(path, ACP_GRANT, plen) != 0)
    return S3_OK;
  const char *field = path + plen;
  if (strcmp(field, "/Grantee/ID") == 0) {
    if (!acl_id_valid(text, len))
      return S3_ERR_InvalidArgument;
    memcpy(a->id, text, len);
    a->id[len] = '\0';
    return acp_grantee(a, ACL_GRANTEE_USER);
  }
  if (strcmp(field, "/Grantee/URI") == 0) {
    if (len == sizeof ACL_URI_ALL_USERS - 1 &&
        memcmp(text, ACL_URI_ALL_USERS, len) == 0)
      return acp_grantee(a, ACL_GRANTEE_ALL_USERS);
    if (len == sizeof ACL_URI_AUTHENTICATED - 1 &&
        memcmp(text, ACL_URI_AUTHENTICATED, len) == 0)
      return acp_grantee(a, ACL_GRANTEE_AUTHENTICATED);
    return S3_ERR_InvalidArgument; /* LogDelivery and unknown groups */
  }
  if (strcmp(field, "/Grantee/EmailAddress") == 0)
    return S3_ERR_UnresolvableGrantByEmailAddress;
  if (strcmp(field, "/Permission") == 0) {
    if (!(a->permission = acl_permission_parse(text, len)))
      return S3_ERR_MalformedACLError;
    return S3_OK;
  }
  if (*field == '\0') {
    if (!a->grantee || !a->permission)
      return S3_ERR_MalformedACLError;
    if (acl_add(&a->acl, (enum acl_grantee_kind)(a->grantee - 1),
                (enum acl_permission)a->permission, a->id))
      return S3_ERR_MalformedACLError; /* over 100 grants */
  }
  return S3_OK;
}

const struct xml_doc_type xml_doc_access_control_policy = {
    .root = "AccessControlPolicy",
    .result_size = sizeof(struct s3_access_control_policy),
    .max_bytes = S3_XML_ACL_MAX_BYTES,
    .max_depth = 8,
    /* per grant: Grant, Grantee, ID/URI, DisplayName, Permission */
    .max_elements = 8 * ACL_GRANTS_MAX + 16,
    .max_text = 1024,
    .on_start = acp_start,
    .on_end = acp_end,
};

/* ---- documents: OwnershipControls ----------------------------------------
 */

static const char *const ownership_names[] = {
    "", "BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"};

const char *s3_ownership_name(int ownership) {
  return ownership >= 1 && ownership <= 3 ? ownership_names[ownership] : "";
}

static enum s3_error_code ownership_end(void *result, const char *path,
                                        const char *text, size_t len) {
  struct s3_ownership_controls *c = result;
  trim(&text, &len);
  if (strcmp(path, "OwnershipControls/Rule") == 0) {
    c->rules++;
  } else if (strcmp(path, "OwnershipControls/Rule/ObjectOwnership") == 0) {
    c->ownership = 0;
    for (int i = 1; i <= 3; i++)
      if (strlen(ownership_names[i]) == len &&
          memcmp(ownership_names[i], text, len) == 0)
        c->ownership = i;
    if (!c->ownership)
      return S3_ERR_MalformedXML;
  }
  return S3_OK;
}

static enum s3_error_code ownership_finish(void *result) {
  const struct s3_ownership_controls *c = result;
  return c->rules == 1 && c->ownership ? S3_OK : S3_ERR_MalformedXML;
}

const struct xml_doc_type xml_doc_ownership_controls = {
    .root = "OwnershipControls",
    .result_size = sizeof(struct s3_ownership_controls),
    .max_bytes = S3_XML_OWNERSHIP_MAX_BYTES,
    .max_depth = 4,
    .max_elements = 16,
    .max_text = 64,
    .on_end = ownership_end,
    .on_finish = ownership_finish,
};

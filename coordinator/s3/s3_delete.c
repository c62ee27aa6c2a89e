/* s3_delete.c - DeleteObject and DeleteObjects. */
#include "coordinator.h"
#include "crypto.h"
#include "error.h"
#include "meta.h"
#include "s3_auth.h"
#include "s3_body.h"
#include "s3_ops.h"
#include "xml_parse.h"

#include <stdlib.h>
#include <string.h>

/* ---- DeleteObject / DeleteObjects --------------------------------------- */

/* DeleteObject commits through the group-commit writer, like PutObject:
 * its synced write is shared with the other requests of the group and the
 * loop does not wait for it. A client gone meanwhile only marks the op;
 * the callback ends the request. */
struct delete_op {
  struct s3_request *r;
  int abandoned;
};

static void delete_free(void *p) {
  free(p);
}

static void delete_abort(struct s3_request *r, const char *code) {
  struct delete_op *op = r->op;
  (void)code; /* no body: only the client can go away */
  op->abandoned = 1;
}

static void delete_answer(struct s3_request *r, int rc) {
  if (rc == CAIRN_ENOENT) {
    struct meta_bucket b;
    if (meta_bucket_get(r->c->meta, r->bucket, &b) == CAIRN_ENOENT) {
      s3_send_error(r, "NoSuchBucket", NULL);
      return;
    }
    rc = 0; /* deleting a missing key succeeds, as in S3 */
  }
  if (rc != 0) {
    s3_send_cairn_error(r, rc);
    return;
  }
  s3_send(r, 204, NULL, 0, NULL, NULL, 0);
}

static void delete_done(int status, void *arg) {
  struct delete_op *op = arg;
  if (op->abandoned)
    s3_request_end(op->r);
  else
    delete_answer(op->r, status);
}

void s3_delete_object(struct s3_request *r) {
  struct delete_op *op = calloc(1, sizeof *op);
  struct meta_batch *b = op ? meta_batch_new() : NULL;
  int rc = b ? meta_batch_object_delete(b, r->bucket, r->key) : CAIRN_ENOMEM;
  if (rc != 0) {
    meta_batch_free(b);
    free(op);
    delete_answer(r, rc);
    return;
  }
  op->r = r;
  r->op = op;
  r->op_free = delete_free;
  r->sink.abort = delete_abort;
  rc = meta_write_async(r->c->meta, b, delete_done, op);
  if (rc != 0) {
    r->sink.abort = NULL;
    delete_answer(r, rc);
  }
}

/* DeleteObjects: each key is its own batch in the group-commit writer (a
 * missing or refused key must not undo the others), so up to 1000
 * deletions share a few synced writes and the loop never waits for one.
 * The answer goes out when the last one is done. */
struct delete_objects_op;
struct delete_key {
  struct delete_objects_op *op;
  const char *denied; /* the S3 code the key was refused with, or NULL */
  int status;         /* the deletion's result */
};
struct delete_objects_op {
  struct s3_request *r;
  struct s3_delete_objects doc;
  struct delete_key *keys; /* one per doc entry */
  size_t pending;          /* deletions still in the writer */
  int abandoned;           /* client gone: answer nothing */
};

static void delete_objects_free(void *p) {
  struct delete_objects_op *op = p;
  s3_delete_objects_release(&op->doc);
  free(op->keys);
  free(op);
}

static void delete_objects_abort(struct s3_request *r, const char *code) {
  struct delete_objects_op *op = r->op;
  (void)code; /* the body is in: only the client can go away */
  op->abandoned = 1;
}

static void delete_result_error(struct s3_xml *x, const char *key,
                                const char *code, const char *message) {
  s3_xml_open(x, "Error");
  s3_xml_text(x, "Key", key);
  s3_xml_text(x, "Code", code);
  s3_xml_text(x, "Message", message);
  s3_xml_close(x, "Error");
}

/* Every deletion is done: the DeleteResult, key by key in request order. */
static void delete_objects_answer(struct delete_objects_op *op) {
  struct s3_request *r = op->r;
  if (op->abandoned) {
    s3_request_end(r);
    return;
  }
  struct s3_xml x;
  s3_xml_init(&x, "DeleteResult");
  for (size_t i = 0; i < op->doc.count; i++) {
    const char *key = op->doc.entries[i].key;
    const struct delete_key *k = &op->keys[i];
    if (k->denied) {
      delete_result_error(&x, key, k->denied,
                          s3_error_message(s3_error_from_name(k->denied)));
    } else if (k->status == 0 || k->status == CAIRN_ENOENT) {
      if (!op->doc.quiet) {
        s3_xml_open(&x, "Deleted");
        s3_xml_text(&x, "Key", key);
        s3_xml_close(&x, "Deleted");
      }
    } else {
      delete_result_error(&x, key,
                          k->status == CAIRN_EINVAL ? "InvalidArgument"
                                                    : "InternalError",
                          cairn_strerror(k->status));
    }
  }
  s3_xml_close(&x, "DeleteResult");
  s3_send_xml(r, &x);
}

static void delete_key_done(int status, void *arg) {
  struct delete_key *k = arg;
  struct delete_objects_op *op = k->op;
  k->status = status;
  if (--op->pending == 0)
    delete_objects_answer(op); /* may free op: nothing after this */
}

static void delete_objects_body_done(struct s3_request *r) {
  uint8_t want[MD5_LEN], got[MD5_LEN];
  int has_md5 = s3_body_content_md5(r, want);
  if (has_md5 < 0) {
    s3_send_error(r, "InvalidDigest", NULL);
    return;
  }
  if (has_md5) {
    crypto_md5(r->collected, r->collected_len, got);
    if (memcmp(want, got, MD5_LEN) != 0) {
      s3_send_error(r, "BadDigest", NULL);
      return;
    }
  }
  struct delete_objects_op *op = calloc(1, sizeof *op);
  if (!op) {
    s3_send_error(r, "InternalError", NULL);
    return;
  }
  op->r = r;
  r->op = op;
  r->op_free = delete_objects_free;
  enum s3_error_code e = xml_parse_document(&xml_doc_delete_objects, &op->doc,
                                            r->collected, r->collected_len);
  for (size_t i = 0; e == S3_OK && i < op->doc.count; i++)
    if (op->doc.entries[i].key_len == 0)
      e = S3_ERR_MalformedXML; /* an object needs a name */
  struct meta_bucket b;
  if (e != S3_OK) {
    s3_send_error(r, s3_error_name(e), NULL);
    return;
  }
  if (meta_bucket_get(r->c->meta, r->bucket, &b) == CAIRN_ENOENT) {
    s3_send_error(r, "NoSuchBucket", NULL);
    return;
  }
  size_t n = op->doc.count;
  op->keys = calloc(n, sizeof *op->keys);
  if (!op->keys) {
    s3_send_error(r, "InternalError", NULL);
    return;
  }
  memset(&r->sink, 0, sizeof r->sink); /* the body is in */
  r->sink.abort = delete_objects_abort;
  for (size_t i = 0; i < n; i++) {
    struct delete_key *k = &op->keys[i];
    k->op = op;
    /* Each key is its own s3:DeleteObject on bucket/key. */
    k->denied = s3_authorize_key(r, "s3:DeleteObject", op->doc.entries[i].key,
                                 op->doc.entries[i].key_len);
    if (k->denied)
      continue;
    struct meta_batch *batch = meta_batch_new();
    k->status = batch ? meta_batch_object_delete(batch, r->bucket,
                                                 op->doc.entries[i].key)
                      : CAIRN_ENOMEM;
    if (k->status != 0) {
      meta_batch_free(batch);
      continue;
    }
    op->pending++;
    k->status = meta_write_async(r->c->meta, batch, delete_key_done, k);
    if (k->status != 0)
      op->pending--;
  }
  if (op->pending == 0)
    delete_objects_answer(op);
}

void s3_delete_objects(struct s3_request *r) {
  s3_collect_body(r, S3_XML_DELETE_MAX_BYTES, "MaxMessageLengthExceeded",
                  delete_objects_body_done);
}

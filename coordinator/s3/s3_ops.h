/*
 * s3_ops.h - the handlers of the S3 operations Cairn serves. Which request
 * is which operation, and its IAM action, is decided by the one operation
 * table, S3_OP_MAP in s3_route.h; this file only says, for each operation
 * that table marks implemented, which function runs it and whether it
 * reads the request body.
 */
#ifndef CAIRN_S3_OPS_H
#define CAIRN_S3_OPS_H

#include "acl.h"
#include "s3_request.h"
#include "s3_route.h"

/* GET responses go out in batches from two pools the coordinator keeps
 * (struct coordinator's get_buffers; s3_get.c): batches of 256 KiB
 * while GET windows are large, of one 64 KiB block when many GETs share
 * the budget (their windows are then 256 KiB). A buffer holds a batch
 * and its small header. While GETs run, each pool keeps up to 16 MiB
 * (full-size) or 4 MiB (one-block) idle: fewer, and at 16 GETs of 1 MiB
 * the buffers in use swing past the idle ones, each a fresh mapping
 * (every page a fault: 120 faults per GET measured with 4 MiB); when
 * the last GET ends both are trimmed to S3_GET_BUFFERS_QUIET. */
#define S3_GET_BATCH (256u << 10)
#define S3_GET_SMALL_BATCH (64u << 10)
#define S3_GET_BUFFER_HEADER 64
#define S3_GET_BUFFERS_IDLE 64
#define S3_GET_SMALL_BUFFERS_IDLE 64
#define S3_GET_BUFFERS_QUIET 4
/* Staging buffers of GETs whose blocks the workers open
 * (object_reader_stage_bytes, four 64 KiB blocks: ~256 KiB), kept idle
 * while GETs run (16 MiB: 16 GETs of 1 MiB hold up to 48) and trimmed as
 * the batches are. */
#define S3_GET_STAGING_IDLE 64
/* Upload pieces (object_writer_piece_bytes) each of the coordinator's
 * put_pieces pools keeps idle while PUTs run: 16 MiB of them (16 uploads
 * of 1 MiB hold 16 in flight, and with fewer the ones in use swing past
 * the idle ones, each new one a mapping faulted in page by page); once
 * no PUT runs, S3_PUT_PIECES_QUIET each. */
#define S3_PUT_PIECES_IDLE_BYTES (16u << 20)
#define S3_PUT_PIECES_QUIET 4

struct s3_handler {
  void (*run)(struct s3_request *r);
  int needs_body; /* the dispatcher sets up body decoding and checks */
};

/* The handler of op, or NULL when Cairn does not implement it. Every
 * operation S3_OP_MAP marks implemented has one (a unit test walks it). */
const struct s3_handler *s3_handler_for(enum s3_operation op);

/* Handlers (s3_bucket.c, s3_object.c, s3_get.c, s3_delete.c, s3_list.c,
 * s3_multipart.c). */
void s3_list_buckets(struct s3_request *r);
void s3_create_bucket(struct s3_request *r);
void s3_head_bucket(struct s3_request *r);
void s3_delete_bucket(struct s3_request *r);
void s3_get_bucket_location(struct s3_request *r);
void s3_list_objects(struct s3_request *r);
void s3_put_object(struct s3_request *r);
void s3_get_object(struct s3_request *r);
void s3_get_object_attributes(struct s3_request *r);
void s3_delete_object(struct s3_request *r);
void s3_delete_objects(struct s3_request *r);
void s3_create_multipart_upload(struct s3_request *r);
void s3_upload_part(struct s3_request *r);
void s3_complete_multipart_upload(struct s3_request *r);
void s3_abort_multipart_upload(struct s3_request *r);
void s3_list_parts(struct s3_request *r);
void s3_list_multipart_uploads(struct s3_request *r);
void s3_get_bucket_encryption(struct s3_request *r);
void s3_put_bucket_encryption(struct s3_request *r);
void s3_delete_bucket_encryption(struct s3_request *r);
/* s3_bucket_policy.c */
void s3_put_bucket_policy(struct s3_request *r);
void s3_get_bucket_policy(struct s3_request *r);
void s3_delete_bucket_policy(struct s3_request *r);
void s3_get_bucket_policy_status(struct s3_request *r);
/* s3_acl.c */
void s3_get_bucket_acl(struct s3_request *r);
void s3_put_bucket_acl(struct s3_request *r);
void s3_get_object_acl(struct s3_request *r);
void s3_put_object_acl(struct s3_request *r);
void s3_get_bucket_ownership_controls(struct s3_request *r);
void s3_put_bucket_ownership_controls(struct s3_request *r);
void s3_delete_bucket_ownership_controls(struct s3_request *r);
/* The stored ACL a new object (PutObject, CreateMultipartUpload,
 * CopyObject) or bucket gets from x-amz-acl / x-amz-grant-*, the bucket's
 * ownership and the caller, into r->new_acl. NULL, or the S3 error code
 * (a message, if any, in msg[cap]). */
const char *s3_acl_new_object(struct s3_request *r, char *msg, size_t cap);
const char *s3_acl_new_bucket(struct s3_request *r, char *msg, size_t cap);

/* Streams the body to the nodes as an object (under a fresh data key), or
 * as part `part_number` (> 0) of upload_id, whose record `upload` gives the
 * data key and the checksum algorithm every part carries (s3_object.c). */
struct meta_upload;
void s3_put_stream(struct s3_request *r, uint32_t part_number,
                   const char *upload_id, const struct meta_upload *upload);
/* If-Match / If-None-Match on a write (PutObject, CompleteMultipartUpload)
 * against the current object: 0 to go on, else the error was answered. */
int s3_check_write_conditions(struct s3_request *r);

void s3_copy_object(struct s3_request *r);
void s3_upload_part_copy(struct s3_request *r);

/* Shared by the object handlers (s3_object.c). */

/* The writer of a size-byte upload, in two steps. s3_writer_plan chooses
 * its layout and chunk ids (*ids malloc'd, NULL for 0 bytes). Then, once
 * the PUT budget admits it (s3_put_budget.h), s3_writer_begin records
 * their write intents, due --write-intent-grace-ms from now (an upload may
 * be slow, not dead), before any byte goes to a node (synchronously: a
 * synced write on the caller's thread; PutObject and UploadPart record
 * them through the group-commit writer instead, see s3_object.c), and
 * opens the writer. cb gives window/pause/resume/done/arg and data_key;
 * the rest comes from the configuration. 0 or CAIRN_E*. */
struct object_writer;
struct object_writer_config;
int s3_writer_plan(struct s3_request *r, uint64_t size,
                   struct meta_layout *layout, uint8_t (**ids)[16]);
int s3_writer_begin(struct s3_request *r, uint64_t size,
                    struct meta_layout layout, const uint8_t (*ids)[16],
                    int64_t *intent_ms, const struct object_writer_config *cb,
                    struct object_writer **out);
struct meta_object;
struct meta_object_attrs;
/* The headers an object keeps (PutObject stores them, GetObject and
 * HeadObject return them, a GET's query may override them): the request
 * header, the response header, the override parameter and where the value
 * lives in meta_object_attrs (s3_stored_field). */
#define S3_N_STORED 6
struct s3_stored_header {
  const char *header, *response, *override;
  size_t offset;
};
extern const struct s3_stored_header s3_stored_headers[S3_N_STORED];
const char **s3_stored_field(struct meta_object_attrs *a, size_t i);
/* The stored headers of a new object from the request (pointers into the
 * request; user_meta is malloc'd). NULL, or the S3 error code. */
const char *s3_attrs_from_request(struct s3_request *r,
                                  struct meta_object_attrs *a);
/* When no object stream (PUT or GET) runs, at most once a second: the
 * idle upload pieces are trimmed and the heap's free pages go back to the
 * system (s3_object.c). */
struct coordinator;
void s3_trim_when_quiet(struct coordinator *c);
/* If-Match & co. (prefix "" or "x-amz-copy-source-") against o: 0 to go
 * on, 304 or 412. */
int s3_check_conditions(struct s3_request *r, const struct meta_object *o,
                        const char *prefix);

/* The request's bucket into *b; when there is none (or the store fails)
 * answers NoSuchBucket (or the error) itself and returns non-zero. */
struct meta_bucket;
int s3_bucket_find(struct s3_request *r, struct meta_bucket *b);

/* The answer to a write of r's bucket configuration that returned rc:
 * NoSuchBucket for CAIRN_ENOENT, the mapped error, or `status` (200/204)
 * with no body (s3_bucket.c). */
void s3_send_bucket_write(struct s3_request *r, int rc, int status);

/* "COMPOSITE" or "FULL_OBJECT" for an enum meta_checksum_type: how an
 * object's (or an upload's) checksum is computed from its parts'. */
const char *s3_checksum_type_name(uint8_t type);

/* Storage nodes up now (for layouts that need one node per fragment). */
size_t s3_nodes_up(struct s3_request *r);

/* Bucket-name rules (AWS "Bucket naming rules"); 1 when valid. */
int s3_bucket_name_valid(const char *name);

#endif

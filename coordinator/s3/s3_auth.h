/*
 * s3_auth.h - who is calling and may they: the S3 layer's use of
 * coordinator/access (AWS Signature V4 in the Authorization header or a
 * presigned URL, against root's and the IAM users' keys; then the one
 * policy evaluation).
 *
 * On success of s3_authenticate r->access_key and r->principal are set
 * and, for signed streaming (aws-chunked) uploads, the chunk-signature
 * state is kept in r->auth_stream.
 */
#ifndef CAIRN_S3_AUTH_H
#define CAIRN_S3_AUTH_H

struct s3_request;

/* NULL when authenticated, else the S3 error code to answer and, in
 * *message, AWS's message for it. */
const char *s3_authenticate(struct s3_request *r, const char **message);

/* NULL when the caller may run r->operation (its IAM action in S3_OP_MAP)
 * on r's bucket/key (and, for copies, read the source), else the S3 error
 * code ("AccessDenied") and in *message a specific message or NULL. With
 * a scoped token the token's scope is checked too ("outside the token's
 * scope"), and the owner's policies still apply. DeleteObjects is
 * checked as s3:DeleteObject on "arn:aws:s3:::bucket/ *" here: a Deny on
 * some keys only is not seen per key yet. */
const char *s3_authorize(struct s3_request *r, const char **message);

#endif

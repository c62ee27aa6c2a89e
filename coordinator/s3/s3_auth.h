/*
 * s3_auth.h - who is calling: the S3 layer's use of coordinator/auth
 * (AWS Signature V4 in the Authorization header or a presigned URL),
 * checked against the root credentials for now (IAM users come with their
 * own issue: the secret lookup is the one place that will change).
 *
 * On success r->access_key is set and, for signed streaming (aws-chunked)
 * uploads, the chunk-signature state is kept in r->auth_stream.
 */
#ifndef CAIRN_S3_AUTH_H
#define CAIRN_S3_AUTH_H

struct s3_request;

/* NULL when authenticated, else the S3 error code to answer and, in
 * *message, AWS's message for it. */
const char *s3_authenticate(struct s3_request *r, const char **message);

#endif

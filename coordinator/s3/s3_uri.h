/*
 * s3_uri.h - percent-encoding as S3 and SigV4 use it: one decoder and one
 * encoder for routing, signing, copy sources and listings.
 */
#ifndef CAIRN_S3_URI_H
#define CAIRN_S3_URI_H

#include <stddef.h>

/* Decodes n bytes into a new string (caller frees). plus_is_space: '+'
 * becomes ' ' (form-style query strings). strict: a malformed escape or one
 * that decodes to NUL fails (NULL); otherwise it is kept as written, as
 * SigV4 canonicalisation wants. NULL also when out of memory. */
char *s3_uri_decode(const char *in, size_t n, int plus_is_space, int strict);

/* AWS URI encoding (sigv4_uri_encode): unreserved bytes (A-Z a-z 0-9 - _
 * . ~) as they are, '/' too when keep_slash, every other byte as %XX. Returns
 * a new string (caller frees), or NULL when out of memory. */
char *s3_uri_encode(const char *in, size_t n, int keep_slash);

#endif

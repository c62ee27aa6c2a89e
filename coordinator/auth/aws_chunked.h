/*
 * aws_chunked.h - incremental decoder of aws-chunked request bodies
 * (Content-Encoding: aws-chunked; x-amz-content-sha256 STREAMING-*), with
 * the chunk-signature chain, the trailer signature and the trailing
 * checksum checked as the bytes pass.
 *
 * Feed it arbitrary pieces of the body; it hands decoded data on through a
 * callback as soon as it arrives and never buffers a chunk. Memory is
 * constant: one size/trailer line buffer and the running hashes.
 *
 * CONTRACT: a chunk's signature can only be checked after its last byte, so
 * the data of a chunk is emitted before its signature is known to be good.
 * The caller must not commit anything (acknowledge a PUT, make an object
 * version visible) unless aws_chunked_finish() returns AUTH_OK.
 */
#ifndef CAIRN_AWS_CHUNKED_H
#define CAIRN_AWS_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "checksum.h"
#include "sigv4.h"

#define AWS_CHUNKED_MAX_CHUNK                                                  \
  (16u << 20)                    /* per chunk; SDKs send 64 KiB..8 MiB */
#define AWS_CHUNKED_LINE_MAX 256 /* "<hex>;chunk-signature=<64 hex>" is ~90 */
#define AWS_CHUNKED_TRAILER_MAX 4096 /* all trailer lines together */

/* Receives each piece of decoded data, in order. Returns 0 to go on; any
 * other value stops the decoder with AUTH_ABORTED. */
typedef int (*aws_chunked_data_fn)(void *arg, const void *data, size_t len);

struct aws_chunked_config {
  /* The payload mode from auth_verify(): one of the STREAMING ones. */
  enum auth_payload payload;
  /* For the signed modes: the chain's key, date, scope and seed. Copied. */
  const struct sigv4_stream *stream;
  /* x-amz-decoded-content-length, or -1 if the request had none. */
  int64_t decoded_length;
  /* x-amz-trailer (e.g. "x-amz-checksum-crc32c"), or NULL. A checksum
   * trailer declared here is computed over the data and compared. */
  const char *declared_trailer;
  /* 0 means AWS_CHUNKED_MAX_CHUNK. */
  size_t max_chunk;
};

struct aws_chunked; /* opaque; one per request body */

/* Returns a decoder, or NULL with *status set: AUTH_INTERNAL (no memory),
 * AUTH_TRAILER_MALFORMED (x-amz-trailer names something other than one
 * x-amz-checksum-* header), AUTH_INVALID_ARGUMENT (non-streaming mode, or a
 * signed mode without stream). The callback is never called then. */
struct aws_chunked *aws_chunked_new(const struct aws_chunked_config *cfg,
                                    aws_chunked_data_fn on_data, void *arg,
                                    enum auth_status *status);

/* Consumes len bytes. Returns AUTH_OK to continue, or the first error
 * (sticky: later calls return it again without reading). Bytes after the
 * end of the body are AUTH_CHUNK_MALFORMED. */
enum auth_status aws_chunked_feed(struct aws_chunked *d, const void *data,
                                  size_t len);

/* Call at the end of the request body: AUTH_OK only if the body was
 * complete (final chunk and trailers read), every signature matched, the
 * decoded length matched x-amz-decoded-content-length and the trailing
 * checksum matched the data; AUTH_INCOMPLETE_BODY if it stopped short. */
enum auth_status aws_chunked_finish(struct aws_chunked *d);

/* After a successful finish: the trailing checksum (algorithm and base64
 * value as S3 shows it), or CHECKSUM_NONE. value holds CHECKSUM_B64_MAX. */
enum checksum_algorithm aws_chunked_checksum(const struct aws_chunked *d,
                                             char *value);

/* Decoded bytes so far. */
uint64_t aws_chunked_decoded_bytes(const struct aws_chunked *d);

/* Frees d (wipes its copy of the signing key). NULL is fine. */
void aws_chunked_free(struct aws_chunked *d);

#endif

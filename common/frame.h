/*
 * frame.h - the data channel's framing: a u32 big-endian header length, a
 * protobuf DataHeader (proto/cairn.proto), then header->payload_len raw
 * bytes. The reader is incremental: it never buffers a payload, handing its
 * bytes on as they arrive.
 */
#ifndef CAIRN_FRAME_H
#define CAIRN_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "cairn.pb-c.h"

#define FRAME_HEADER_MAX 4096         /* a DataHeader is a few dozen bytes */
#define FRAME_PAYLOAD_MAX (64u << 20) /* one fragment */
#define DATA_AUTH_NONCE 32
#define DATA_AUTH_DOMAIN "cairn-data-v1"

/* Encodes h into buf (4 + packed size bytes); returns the length, or 0 if
 * it does not fit. */
size_t frame_encode(const Cairn__DataHeader *h, uint8_t *buf, size_t cap);

struct frame_reader;
struct frame_reader_ops {
  /* Every callback returns 0 to go on, 1 to stop the reader (feed the rest
   * later), or -1 to fail the stream. */
  /* A header arrived (valid during the call). */
  int (*on_header)(const Cairn__DataHeader *h, void *arg);
  /* Payload bytes of the last header. */
  int (*on_payload)(const uint8_t *data, size_t len, void *arg);
  /* The last byte of the payload (called also for empty payloads). */
  int (*on_payload_end)(void *arg);
};

struct frame_reader *frame_reader_new(const struct frame_reader_ops *ops,
                                      void *arg);
void frame_reader_free(struct frame_reader *r);
/* Feeds bytes; returns how many were consumed (less than len when a
 * callback stopped the reader: feed the rest later), or -1 on a malformed
 * or oversized frame. */
long frame_reader_feed(struct frame_reader *r, const uint8_t *data, size_t len);

/* The proof a coordinator sends for a node's nonce. */
void frame_auth_mac(const uint8_t *secret, size_t secret_len,
                    const uint8_t nonce[DATA_AUTH_NONCE], uint8_t mac[32]);

#endif

/*
 * frame.h - the data channel's framing (proto/cairn.proto, "data plane").
 *
 *   +----------------+----------------------+-------------------------+
 *   | u32 BE hlen    | DataHeader (hlen B)  | payload (payload_len B) |
 *   +----------------+----------------------+-------------------------+
 *
 * hlen is 1..FRAME_HEADER_MAX and payload_len at most FRAME_PAYLOAD_MAX;
 * anything else is a protocol error and the connection is dropped.
 *
 * The reader is incremental: fed any split of the byte stream, it hands on
 * each header (decoded, valid during the callback) and then the payload's
 * bytes as they arrive, never buffering a payload. Its memory is fixed
 * (FRAME_HEADER_MAX bytes).
 *
 * The writer (frame_write) sends one frame on a uv_stream: the header is
 * copied, the payload referenced until the done callback.
 */
#ifndef CAIRN_FRAME_H
#define CAIRN_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "cairn.pb-c.h"

#define FRAME_HEADER_MAX 4096         /* a DataHeader is a few dozen bytes */
#define FRAME_PAYLOAD_MAX (64u << 20) /* one whole fragment, at most */
#define FRAME_PREFIX 4                /* the u32 header length */
#define DATA_FRAGMENT_MAX (64u << 20) /* a fragment's size (PUT length) */
#define DATA_AUTH_NONCE 32
#define DATA_AUTH_MAC 32
#define DATA_AUTH_DOMAIN "cairn-data-v1"

/* Encodes the prefix and h into buf; returns the length (FRAME_PREFIX +
 * packed size), or 0 if it does not fit in cap or exceeds FRAME_HEADER_MAX.
 * h->payload_len must already be set. */
size_t frame_encode(const Cairn__DataHeader *h, uint8_t *buf, size_t cap);

/* ---- reader ------------------------------------------------------------- */

struct frame_reader;
struct frame_reader_ops {
  /* Every callback returns 0 to go on, 1 to stop the reader (feed the rest
   * later: the bytes up to and including this event count as consumed), or
   * -1 to fail the stream. */
  /* A header arrived (h is valid during the call only). */
  int (*on_header)(const Cairn__DataHeader *h, void *arg);
  /* Payload bytes of the last header (never called with len 0). */
  int (*on_payload)(const uint8_t *data, size_t len, void *arg);
  /* The payload of the last header is complete (called for empty payloads
   * too, right after on_header). */
  int (*on_payload_end)(void *arg);
};

/* ops is copied; arg is handed to every callback. NULL on out of memory. */
struct frame_reader *frame_reader_new(const struct frame_reader_ops *ops,
                                      void *arg);
void frame_reader_free(struct frame_reader *r);
/* Feeds bytes; returns how many were consumed (less than len when a
 * callback stopped the reader: feed the rest later), or -1 on a malformed
 * or oversized frame or a callback's -1. After -1 the reader is unusable. */
long frame_reader_feed(struct frame_reader *r, const uint8_t *data, size_t len);

/* ---- writer ------------------------------------------------------------- */

/* Called once when the frame has been written (status 0) or failed (a
 * CAIRN_E* code); the payload may be released then. */
typedef void (*frame_write_cb)(int status, void *arg);

/* Writes h (payload_len is set to payload_len here) followed by payload on
 * stream. The header is copied; payload stays borrowed until done. Returns
 * 0 (done will run exactly once, never inside this call) or CAIRN_E* (done
 * never runs). done may be NULL. */
int frame_write(uv_stream_t *stream, Cairn__DataHeader *h, const void *payload,
                size_t payload_len, frame_write_cb done, void *arg);

/* frame_write with the payload gathered from count buffers (each borrowed
 * until done), sent as one frame with one write: a node sends the blocks
 * of a stored span straight from its read buffer, skipping their CRCs.
 * count at most FRAME_WRITEV_MAX. */
#define FRAME_WRITEV_MAX 64
#define FRAME_WRITEV_SMALL 19 /* gathered without a malloc */
int frame_writev(uv_stream_t *stream, Cairn__DataHeader *h,
                 const uv_buf_t *payload, unsigned count, frame_write_cb done,
                 void *arg);
/* frame_writev, then (if not NULL) the payload-less frame `next` in the
 * same write: a GET's RESULT right behind its data costs no syscall and
 * no wakeup of its own. done runs once, after both. */
int frame_writev_then(uv_stream_t *stream, Cairn__DataHeader *h,
                      const uv_buf_t *payload, unsigned count,
                      Cairn__DataHeader *next, frame_write_cb done, void *arg);

/* ---- authentication ----------------------------------------------------- */

/* The proof a coordinator sends for a node's nonce:
 * HMAC-SHA256(secret, "cairn-data-v1" || nonce). */
void frame_auth_mac(const uint8_t *secret, size_t secret_len,
                    const uint8_t nonce[DATA_AUTH_NONCE],
                    uint8_t mac[DATA_AUTH_MAC]);

#endif

/*
 * frame.c - data-channel frames (see frame.h).
 *
 * Reader states:
 *
 *   READ_LENGTH --4 bytes--> READ_HEADER --hlen bytes--> READ_PAYLOAD
 *        ^                                                   |
 *        +----- payload_len bytes handed on, payload_end ----+
 *
 * Invariants: buf holds at most FRAME_HEADER_MAX bytes (the only buffering);
 * on_payload_end runs exactly once per header, after all its payload, even
 * when a callback stopped the reader in between (payload_end_pending).
 */
#include "frame.h"

#include "crypto.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

enum reader_state { READ_LENGTH, READ_HEADER, READ_PAYLOAD };

struct frame_reader {
  struct frame_reader_ops ops;
  void *arg;
  enum reader_state state;
  uint8_t buf[FRAME_HEADER_MAX];
  size_t have, need;
  uint64_t payload_left;
  int payload_end_pending;
};

size_t frame_encode(const Cairn__DataHeader *h, uint8_t *buf, size_t cap) {
  size_t len = cairn__data_header__get_packed_size(h);
  if (len == 0 || len > FRAME_HEADER_MAX || len + FRAME_PREFIX > cap)
    return 0;
  buf[0] = (uint8_t)(len >> 24);
  buf[1] = (uint8_t)(len >> 16);
  buf[2] = (uint8_t)(len >> 8);
  buf[3] = (uint8_t)len;
  cairn__data_header__pack(h, buf + FRAME_PREFIX);
  return len + FRAME_PREFIX;
}

struct frame_reader *frame_reader_new(const struct frame_reader_ops *ops,
                                      void *arg) {
  struct frame_reader *r = calloc(1, sizeof *r);
  if (!r)
    return NULL;
  r->ops = *ops;
  r->arg = arg;
  r->state = READ_LENGTH;
  r->need = FRAME_PREFIX;
  return r;
}

void frame_reader_free(struct frame_reader *r) {
  free(r);
}

/* A decoded header the protocol can never accept, whatever the state. */
static int header_malformed(const Cairn__DataHeader *h) {
  return h->payload_len > FRAME_PAYLOAD_MAX ||
         (h->chunk_id.len != 0 && h->chunk_id.len != 16) || h->auth.len > 64;
}

long frame_reader_feed(struct frame_reader *r, const uint8_t *data,
                       size_t len) {
  size_t used = 0;
  for (;;) {
    if (r->payload_end_pending) {
      r->payload_end_pending = 0;
      r->state = READ_LENGTH;
      r->need = FRAME_PREFIX;
      r->have = 0;
      int stop = r->ops.on_payload_end(r->arg);
      if (stop < 0)
        return -1;
      if (stop)
        return (long)used;
    }
    if (used == len)
      return (long)used;
    switch (r->state) {
    case READ_LENGTH:
    case READ_HEADER: {
      size_t take = r->need - r->have;
      if (take > len - used)
        take = len - used;
      memcpy(r->buf + r->have, data + used, take);
      r->have += take;
      used += take;
      if (r->have < r->need)
        return (long)used;
      if (r->state == READ_LENGTH) {
        uint32_t n = (uint32_t)r->buf[0] << 24 | (uint32_t)r->buf[1] << 16 |
                     (uint32_t)r->buf[2] << 8 | r->buf[3];
        if (n == 0 || n > FRAME_HEADER_MAX)
          return -1;
        r->state = READ_HEADER;
        r->need = n;
        r->have = 0;
        continue;
      }
      Cairn__DataHeader *h = cairn__data_header__unpack(NULL, r->have, r->buf);
      if (!h || header_malformed(h)) {
        if (h)
          cairn__data_header__free_unpacked(h, NULL);
        return -1;
      }
      r->payload_left = h->payload_len;
      r->state = READ_PAYLOAD;
      if (r->payload_left == 0)
        r->payload_end_pending = 1;
      int stop = r->ops.on_header(h, r->arg);
      cairn__data_header__free_unpacked(h, NULL);
      if (stop < 0)
        return -1;
      if (stop)
        return (long)used;
      continue;
    }
    case READ_PAYLOAD: {
      size_t take = len - used;
      if (take > r->payload_left)
        take = (size_t)r->payload_left;
      r->payload_left -= take;
      if (r->payload_left == 0)
        r->payload_end_pending = 1;
      const uint8_t *p = data + used;
      used += take;
      int stop = take ? r->ops.on_payload(p, take, r->arg) : 0;
      if (stop < 0)
        return -1;
      if (stop)
        return (long)used;
      continue;
    }
    }
  }
}

/* ---- writer ------------------------------------------------------------- */

struct frame_write_req {
  uv_write_t req;
  frame_write_cb done;
  void *arg;
  uint8_t header[]; /* the encoded prefix + header */
};

static void on_frame_written(uv_write_t *w, int status) {
  struct frame_write_req *fw = (struct frame_write_req *)w;
  frame_write_cb done = fw->done;
  void *arg = fw->arg;
  free(fw);
  if (done)
    done(status < 0 ? CAIRN_ECLOSED : 0, arg);
}

int frame_writev_then(uv_stream_t *stream, Cairn__DataHeader *h,
                      const uv_buf_t *payload, unsigned count,
                      Cairn__DataHeader *next, frame_write_cb done, void *arg) {
  uv_buf_t small[FRAME_WRITEV_SMALL + 2], *bufs = small;
  uint64_t payload_len = 0;
  int rc = CAIRN_ENOMEM;
  for (unsigned i = 0; i < count; i++)
    payload_len += payload[i].len;
  if (payload_len > FRAME_PAYLOAD_MAX || count > FRAME_WRITEV_MAX)
    return CAIRN_ETOOBIG;
  h->payload_len = payload_len;
  size_t cap = cairn__data_header__get_packed_size(h) + FRAME_PREFIX;
  size_t next_cap = 0;
  if (next) {
    next->payload_len = 0;
    next_cap = cairn__data_header__get_packed_size(next) + FRAME_PREFIX;
  }
  struct frame_write_req *fw = malloc(sizeof *fw + cap + next_cap);
  if (count > FRAME_WRITEV_SMALL)
    bufs = malloc((count + 2) * sizeof *bufs);
  if (!fw || !bufs)
    goto fail;
  size_t n = frame_encode(h, fw->header, cap);
  size_t next_n = next ? frame_encode(next, fw->header + n, next_cap) : 0;
  rc = CAIRN_ETOOBIG;
  if (n == 0 || (next && next_n == 0))
    goto fail;
  fw->done = done;
  fw->arg = arg;
  bufs[0] = uv_buf_init((char *)fw->header, (unsigned)n);
  unsigned nbufs = 1;
  for (unsigned i = 0; i < count; i++)
    if (payload[i].len > 0)
      bufs[nbufs++] = payload[i];
  if (next)
    bufs[nbufs++] = uv_buf_init((char *)fw->header + n, (unsigned)next_n);
  /* uv_write copies the buffer list, not the bytes. */
  rc = uv_write(&fw->req, stream, bufs, nbufs, on_frame_written) ? CAIRN_ECLOSED
                                                                 : 0;
  if (rc != 0)
    goto fail;
  if (bufs != small)
    free(bufs);
  return 0;
fail:
  if (bufs != small)
    free(bufs);
  free(fw);
  return rc;
}

int frame_writev(uv_stream_t *stream, Cairn__DataHeader *h,
                 const uv_buf_t *payload, unsigned count, frame_write_cb done,
                 void *arg) {
  return frame_writev_then(stream, h, payload, count, NULL, done, arg);
}

int frame_write(uv_stream_t *stream, Cairn__DataHeader *h, const void *payload,
                size_t payload_len, frame_write_cb done, void *arg) {
  if (payload_len > FRAME_PAYLOAD_MAX)
    return CAIRN_ETOOBIG;
  uv_buf_t b = uv_buf_init((char *)payload, (unsigned)payload_len);
  return frame_writev(stream, h, &b, payload_len ? 1 : 0, done, arg);
}

void frame_auth_mac(const uint8_t *secret, size_t secret_len,
                    const uint8_t nonce[DATA_AUTH_NONCE],
                    uint8_t mac[DATA_AUTH_MAC]) {
  uint8_t input[sizeof DATA_AUTH_DOMAIN - 1 + DATA_AUTH_NONCE];
  memcpy(input, DATA_AUTH_DOMAIN, sizeof DATA_AUTH_DOMAIN - 1);
  memcpy(input + sizeof DATA_AUTH_DOMAIN - 1, nonce, DATA_AUTH_NONCE);
  crypto_hmac_sha256(secret, secret_len, input, sizeof input, mac);
}

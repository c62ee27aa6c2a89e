/*
 * control_envelope.h - sealing and opening ControlEnvelope messages of the
 * node <-> coordinator control channel (proto/cairn.proto).
 *
 * mac = HMAC-SHA256(secret, "cairn-ctl-v1" || kind (1 byte) || body). Both
 * sides seal every message and refuse any whose MAC does not verify.
 */
#ifndef CAIRN_CONTROL_ENVELOPE_H
#define CAIRN_CONTROL_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "cairn.pb-c.h"

#define CONTROL_MESSAGE_MAX (64u << 10)

/* Packs msg (a NodeHello, HelloAck or Heartbeat) into a sealed envelope.
 * Returns a malloc'd buffer (caller frees) and its length, or NULL. */
uint8_t *control_seal(Cairn__ControlKind kind, const ProtobufCMessage *msg,
                      const uint8_t *secret, size_t secret_len,
                      size_t *out_len);

/* Verifies and unpacks an envelope. On success returns 0, sets *kind and
 * *body / *body_len (pointing into *envelope, which the caller frees with
 * cairn__control_envelope__free_unpacked). CAIRN_EPROTO: not an envelope;
 * CAIRN_EAUTH: the MAC does not verify. */
int control_open(const uint8_t *data, size_t len, const uint8_t *secret,
                 size_t secret_len, Cairn__ControlEnvelope **envelope);

#endif

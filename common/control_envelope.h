/*
 * control_envelope.h - sealing and opening the ControlEnvelope messages of
 * the node <-> coordinator control channel (proto/cairn.proto). Used by both
 * sides: storagenode/control.c and coordinator/cluster/registry.c.
 *
 *   mac = HMAC-SHA256(cluster secret, "cairn-ctl-v1" || kind (1 byte) || body)
 *
 * The domain string keeps these MACs apart from any other use of the cluster
 * secret (the data port's challenge, for one). Both sides seal every message
 * and drop any whose MAC does not verify (compared in constant time).
 */
#ifndef CAIRN_CONTROL_ENVELOPE_H
#define CAIRN_CONTROL_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "cairn.pb-c.h"

/* Largest envelope either side accepts (also the sockets' ZMQ_MAXMSGSIZE). */
#define CONTROL_MESSAGE_MAX (64u << 10)
#define CONTROL_MAC_DOMAIN "cairn-ctl-v1"

/* Computes the MAC of (kind, body). 0 or CAIRN_ENOMEM. */
int control_mac(Cairn__ControlKind kind, const uint8_t *body, size_t body_len,
                const uint8_t *secret, size_t secret_len, uint8_t mac[32]);

/* Packs msg (a NodeHello, HelloAck or Heartbeat) into a sealed envelope.
 * On success returns 0 and a malloc'd buffer in *out (the caller frees it)
 * of *out_len bytes. CAIRN_ENOMEM; CAIRN_ETOOBIG over CONTROL_MESSAGE_MAX. */
int control_seal(Cairn__ControlKind kind, const ProtobufCMessage *msg,
                 const uint8_t *secret, size_t secret_len, uint8_t **out,
                 size_t *out_len);

/* Verifies and unpacks an envelope. On success returns 0 and *envelope (its
 * kind and body are then authenticated); the caller frees it with
 * cairn__control_envelope__free_unpacked. On failure *envelope is NULL:
 * CAIRN_EPROTO not an envelope (empty, truncated, too big, garbage);
 * CAIRN_EAUTH the MAC does not verify (wrong secret, altered bytes);
 * CAIRN_ENOMEM. */
int control_open(const uint8_t *data, size_t len, const uint8_t *secret,
                 size_t secret_len, Cairn__ControlEnvelope **envelope);

#endif

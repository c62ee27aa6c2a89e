/* control_envelope.c - HMAC-sealed control messages (see the header). */
#include "control_envelope.h"

#include "crypto.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

int control_mac(Cairn__ControlKind kind, const uint8_t *body, size_t body_len,
                const uint8_t *secret, size_t secret_len, uint8_t mac[32]) {
  size_t domain_len = sizeof CONTROL_MAC_DOMAIN - 1;
  /* crypto.h has one-shot HMAC only: assemble the input (bounded by
   * CONTROL_MESSAGE_MAX, so at most 64 KiB). */
  uint8_t *input = malloc(domain_len + 1 + body_len);
  if (!input)
    return CAIRN_ENOMEM;
  memcpy(input, CONTROL_MAC_DOMAIN, domain_len);
  input[domain_len] = (uint8_t)kind;
  if (body_len)
    memcpy(input + domain_len + 1, body, body_len);
  crypto_hmac_sha256(secret, secret_len, input, domain_len + 1 + body_len, mac);
  free(input);
  return 0;
}

int control_seal(Cairn__ControlKind kind, const ProtobufCMessage *msg,
                 const uint8_t *secret, size_t secret_len, uint8_t **out,
                 size_t *out_len) {
  uint8_t mac[SHA256_LEN];
  uint8_t *body = NULL, *buf = NULL;
  int rc;
  *out = NULL;
  *out_len = 0;
  size_t body_len = protobuf_c_message_get_packed_size(msg);
  if (body_len > CONTROL_MESSAGE_MAX - 64)
    return CAIRN_ETOOBIG;
  body = malloc(body_len ? body_len : 1);
  if (!body) {
    rc = CAIRN_ENOMEM;
    goto fail;
  }
  protobuf_c_message_pack(msg, body);
  rc = control_mac(kind, body, body_len, secret, secret_len, mac);
  if (rc != 0)
    goto fail;
  Cairn__ControlEnvelope env = CAIRN__CONTROL_ENVELOPE__INIT;
  env.kind = kind;
  env.body.data = body;
  env.body.len = body_len;
  env.mac.data = mac;
  env.mac.len = sizeof mac;
  size_t len = cairn__control_envelope__get_packed_size(&env);
  buf = malloc(len);
  if (!buf) {
    rc = CAIRN_ENOMEM;
    goto fail;
  }
  cairn__control_envelope__pack(&env, buf);
  *out = buf;
  *out_len = len;
  rc = 0;
fail:
  free(body);
  return rc;
}

int control_open(const uint8_t *data, size_t len, const uint8_t *secret,
                 size_t secret_len, Cairn__ControlEnvelope **envelope) {
  uint8_t mac[SHA256_LEN];
  Cairn__ControlEnvelope *env = NULL;
  int rc;
  *envelope = NULL;
  if (len == 0 || len > CONTROL_MESSAGE_MAX)
    return CAIRN_EPROTO;
  env = cairn__control_envelope__unpack(NULL, len, data);
  if (!env)
    return CAIRN_EPROTO;
  if ((int)env->kind <= 0 || (int)env->kind > 255) {
    /* The MAC covers one byte of kind: refuse values it cannot tell apart. */
    rc = CAIRN_EPROTO;
    goto fail;
  }
  rc = control_mac(env->kind, env->body.data, env->body.len, secret, secret_len,
                   mac);
  if (rc != 0)
    goto fail;
  if (env->mac.len != SHA256_LEN ||
      !crypto_equal(mac, env->mac.data, SHA256_LEN)) {
    rc = CAIRN_EAUTH;
    goto fail;
  }
  *envelope = env;
  return 0;
fail:
  cairn__control_envelope__free_unpacked(env, NULL);
  return rc;
}

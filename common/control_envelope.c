/* control_envelope.c - HMAC-sealed control messages (see the header). */
#include "control_envelope.h"

#include "crypto.h"
#include "error.h"

#include <stdlib.h>
#include <string.h>

#define CONTROL_DOMAIN "cairn-ctl-v1"

static void control_mac(Cairn__ControlKind kind, const uint8_t *body,
                        size_t body_len, const uint8_t *secret,
                        size_t secret_len, uint8_t mac[SHA256_LEN]) {
  size_t domain_len = sizeof CONTROL_DOMAIN - 1;
  uint8_t *input = malloc(domain_len + 1 + body_len);
  if (!input) {
    memset(mac, 0, SHA256_LEN);
    return;
  }
  memcpy(input, CONTROL_DOMAIN, domain_len);
  input[domain_len] = (uint8_t)kind;
  if (body_len)
    memcpy(input + domain_len + 1, body, body_len);
  crypto_hmac_sha256(secret, secret_len, input, domain_len + 1 + body_len,
                     mac);
  free(input);
}

uint8_t *control_seal(Cairn__ControlKind kind, const ProtobufCMessage *msg,
                      const uint8_t *secret, size_t secret_len,
                      size_t *out_len) {
  size_t body_len = protobuf_c_message_get_packed_size(msg);
  uint8_t *body = malloc(body_len ? body_len : 1);
  if (!body)
    return NULL;
  protobuf_c_message_pack(msg, body);
  uint8_t mac[SHA256_LEN];
  control_mac(kind, body, body_len, secret, secret_len, mac);
  Cairn__ControlEnvelope env = CAIRN__CONTROL_ENVELOPE__INIT;
  env.kind = kind;
  env.body.data = body;
  env.body.len = body_len;
  env.mac.data = mac;
  env.mac.len = sizeof mac;
  size_t len = cairn__control_envelope__get_packed_size(&env);
  uint8_t *out = malloc(len);
  if (out) {
    cairn__control_envelope__pack(&env, out);
    *out_len = len;
  }
  free(body);
  return out;
}

int control_open(const uint8_t *data, size_t len, const uint8_t *secret,
                 size_t secret_len, Cairn__ControlEnvelope **envelope) {
  *envelope = NULL;
  if (len == 0 || len > CONTROL_MESSAGE_MAX)
    return CAIRN_EPROTO;
  Cairn__ControlEnvelope *env =
      cairn__control_envelope__unpack(NULL, len, data);
  if (!env)
    return CAIRN_EPROTO;
  uint8_t mac[SHA256_LEN];
  control_mac(env->kind, env->body.data, env->body.len, secret, secret_len,
              mac);
  if (env->mac.len != SHA256_LEN || !crypto_equal(mac, env->mac.data,
                                                  SHA256_LEN)) {
    cairn__control_envelope__free_unpacked(env, NULL);
    return CAIRN_EAUTH;
  }
  *envelope = env;
  return 0;
}

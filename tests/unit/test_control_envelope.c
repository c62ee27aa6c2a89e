/* test_control_envelope.c - sealing and opening control messages
 * (common/control_envelope.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cairn.pb-c.h"
#include "control_envelope.h"
#include "crypto.h"
#include "error.h"

static const char SECRET[] = "0123456789abcdef-cluster";
static const char OTHER[] = "0123456789abcdef-clusteR";

/* A sealed heartbeat; *len receives its length; caller frees. */
static uint8_t *sealed_heartbeat(const char *secret, size_t *len) {
  Cairn__Heartbeat hb = CAIRN__HEARTBEAT__INIT;
  hb.node_id = "00112233445566778899aabbccddeeff";
  hb.capacity_bytes = 1000;
  hb.free_bytes = 500;
  hb.timestamp_ms = 1700000000000ull;
  hb.seq = 7;
  uint8_t *buf = NULL;
  assert_int_equal(control_seal(CAIRN__CONTROL_KIND__CONTROL_HEARTBEAT,
                                (const ProtobufCMessage *)&hb,
                                (const uint8_t *)secret, strlen(secret), &buf,
                                len),
                   0);
  assert_non_null(buf);
  return buf;
}

static int open_with(const uint8_t *buf, size_t len, const char *secret) {
  Cairn__ControlEnvelope *env = NULL;
  int rc =
      control_open(buf, len, (const uint8_t *)secret, strlen(secret), &env);
  if (rc == 0) {
    assert_non_null(env);
    cairn__control_envelope__free_unpacked(env, NULL);
  } else {
    assert_null(env);
  }
  return rc;
}

static void test_good_mac(void **state) {
  (void)state;
  size_t len;
  uint8_t *buf = sealed_heartbeat(SECRET, &len);
  Cairn__ControlEnvelope *env = NULL;
  assert_int_equal(
      control_open(buf, len, (const uint8_t *)SECRET, strlen(SECRET), &env), 0);
  assert_int_equal(env->kind, CAIRN__CONTROL_KIND__CONTROL_HEARTBEAT);
  assert_int_equal(env->mac.len, 32);
  Cairn__Heartbeat *hb =
      cairn__heartbeat__unpack(NULL, env->body.len, env->body.data);
  assert_non_null(hb);
  assert_string_equal(hb->node_id, "00112233445566778899aabbccddeeff");
  assert_int_equal(hb->seq, 7);

  /* The MAC is HMAC(secret, "cairn-ctl-v1" || kind byte || body). */
  size_t dlen = strlen(CONTROL_MAC_DOMAIN);
  uint8_t *input = malloc(dlen + 1 + env->body.len);
  memcpy(input, CONTROL_MAC_DOMAIN, dlen);
  input[dlen] = CAIRN__CONTROL_KIND__CONTROL_HEARTBEAT;
  memcpy(input + dlen + 1, env->body.data, env->body.len);
  uint8_t mac[32];
  crypto_hmac_sha256(SECRET, strlen(SECRET), input, dlen + 1 + env->body.len,
                     mac);
  assert_memory_equal(mac, env->mac.data, 32);
  free(input);
  cairn__heartbeat__free_unpacked(hb, NULL);
  cairn__control_envelope__free_unpacked(env, NULL);
  free(buf);
}

/* Every single-bit flip anywhere in the envelope is refused (as a bad MAC or
 * as a malformed envelope), never accepted. */
static void test_flipped_bits(void **state) {
  (void)state;
  size_t len;
  uint8_t *buf = sealed_heartbeat(SECRET, &len);
  for (size_t i = 0; i < len; i++) {
    for (int bit = 0; bit < 8; bit++) {
      buf[i] ^= (uint8_t)(1u << bit);
      int rc = open_with(buf, len, SECRET);
      if (rc == 0)
        fail_msg("flip of byte %zu bit %d accepted", i, bit);
      assert_true(rc == CAIRN_EAUTH || rc == CAIRN_EPROTO);
      buf[i] ^= (uint8_t)(1u << bit);
    }
  }
  assert_int_equal(open_with(buf, len, SECRET), 0);
  free(buf);
}

static void test_kind_is_covered(void **state) {
  (void)state;
  size_t len;
  uint8_t *buf = sealed_heartbeat(SECRET, &len);
  Cairn__ControlEnvelope *env = cairn__control_envelope__unpack(NULL, len, buf);
  assert_non_null(env);
  /* Same body and MAC, another kind: refused. */
  env->kind = CAIRN__CONTROL_KIND__CONTROL_HELLO;
  size_t len2 = cairn__control_envelope__get_packed_size(env);
  uint8_t *buf2 = malloc(len2);
  cairn__control_envelope__pack(env, buf2);
  assert_int_equal(open_with(buf2, len2, SECRET), CAIRN_EAUTH);
  /* A kind the 1-byte MAC input could not tell from 3 (259): refused. */
  env->kind =
      (Cairn__ControlKind)(256 + CAIRN__CONTROL_KIND__CONTROL_HEARTBEAT);
  free(buf2);
  len2 = cairn__control_envelope__get_packed_size(env);
  buf2 = malloc(len2);
  cairn__control_envelope__pack(env, buf2);
  assert_int_equal(open_with(buf2, len2, SECRET), CAIRN_EPROTO);
  free(buf2);
  cairn__control_envelope__free_unpacked(env, NULL);
  free(buf);
}

static void test_wrong_secret(void **state) {
  (void)state;
  size_t len;
  uint8_t *buf = sealed_heartbeat(OTHER, &len);
  assert_int_equal(open_with(buf, len, SECRET), CAIRN_EAUTH);
  assert_int_equal(open_with(buf, len, OTHER), 0);
  free(buf);
}

static void test_truncated_and_garbage(void **state) {
  (void)state;
  size_t len;
  uint8_t *buf = sealed_heartbeat(SECRET, &len);
  for (size_t cut = 0; cut < len; cut++) {
    int rc = open_with(buf, cut, SECRET);
    if (rc == 0)
      fail_msg("truncation to %zu bytes accepted", cut);
    assert_true(rc == CAIRN_EAUTH || rc == CAIRN_EPROTO);
  }
  assert_int_equal(open_with(buf, 0, SECRET), CAIRN_EPROTO);
  uint8_t junk[64];
  memset(junk, 0xff, sizeof junk);
  assert_int_equal(open_with(junk, sizeof junk, SECRET), CAIRN_EPROTO);
  /* Oversized input is refused before parsing. */
  uint8_t *big = calloc(1, CONTROL_MESSAGE_MAX + 1);
  assert_int_equal(open_with(big, CONTROL_MESSAGE_MAX + 1, SECRET),
                   CAIRN_EPROTO);
  free(big);
  free(buf);
}

static void test_empty_body(void **state) {
  (void)state;
  /* A HelloAck with every field default packs to an empty body. */
  Cairn__HelloAck ack = CAIRN__HELLO_ACK__INIT;
  uint8_t *buf;
  size_t len;
  assert_int_equal(control_seal(CAIRN__CONTROL_KIND__CONTROL_HELLO_ACK,
                                (const ProtobufCMessage *)&ack,
                                (const uint8_t *)SECRET, strlen(SECRET), &buf,
                                &len),
                   0);
  assert_int_equal(open_with(buf, len, SECRET), 0);
  assert_int_equal(open_with(buf, len, OTHER), CAIRN_EAUTH);
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_good_mac),
      cmocka_unit_test(test_flipped_bits),
      cmocka_unit_test(test_kind_is_covered),
      cmocka_unit_test(test_wrong_secret),
      cmocka_unit_test(test_truncated_and_garbage),
      cmocka_unit_test(test_empty_body),
  };
  if (crypto_init() != 0)
    return 1;
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  crypto_shutdown();
  return rc;
}

/* HMAC-SHA256 of the pair's messages, from libcrypto (pair_mac.h). */
#include "pair/pair_mac.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

int pair_hmac(const void *key, size_t key_len, const void *data, size_t len,
              unsigned char out[PAIR_MAC_BYTES]) {
  unsigned int out_len = 0;
  if (key_len > INT_MAX ||
      HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) == NULL ||
      out_len != PAIR_MAC_BYTES)
    return -1;
  return 0;
}

/* The tag n and payload should carry, in hex. */
static int expected_tag(const void *key, size_t key_len,
                        const notification_t *n, const char *payload,
                        char tag[PAIR_TAG_HEX + 1]) {
  unsigned char input[PAIR_MAC_INPUT_MAX], mac[PAIR_MAC_BYTES];
  size_t len = pair_mac_input(n, payload, input);
  if (pair_hmac(key, key_len, input, len, mac) != 0)
    return -1;
  pair_tag_hex(mac, tag);
  return 0;
}

int pair_sign(const void *key, size_t key_len, notification_t *n,
              const char *payload) {
  char tag[PAIR_TAG_HEX + 1];
  if (strlen(payload) > PAIR_PAYLOAD_MAX ||
      expected_tag(key, key_len, n, payload, tag) != 0)
    return -1;
  return pair_join_message(n->message, tag, payload);
}

const char *pair_verify(const void *key, size_t key_len,
                        const notification_t *n) {
  char tag[PAIR_TAG_HEX + 1];
  const char *payload = pair_split_message(n->message);
  if (payload == NULL || expected_tag(key, key_len, n, payload, tag) != 0)
    return NULL;
  /* In constant time: how much of a forged tag is right must not show. */
  return CRYPTO_memcmp(tag, n->message, PAIR_TAG_HEX) == 0 ? payload : NULL;
}

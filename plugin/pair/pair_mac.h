/* The MAC of the pair's messages: HMAC-SHA256 from OpenSSL's libcrypto,
 * which the OpenSSL build of libcurl already brings into collectd's process
 * (README, "Security", says why this library). The key is PairSecretFile's
 * first line; it is never copied here. */
#ifndef ANTICAPTCHA_PAIR_MAC_H
#define ANTICAPTCHA_PAIR_MAC_H

#include "pair/pair_auth.h"

#define PAIR_MAC_BYTES 32

/* HMAC-SHA256 of data under key. Returns 0, or -1 when libcrypto fails. */
int pair_hmac(const void *key, size_t key_len, const void *data, size_t len,
              unsigned char out[PAIR_MAC_BYTES]);

/* Signs n: sets n->message to the tag and payload (pair_auth.h) over n's
 * other fields, which must be set. Returns 0, or -1 when the payload is too
 * long or libcrypto fails. */
int pair_sign(const void *key, size_t key_len, notification_t *n,
              const char *payload);
/* The payload of n (a pointer into n->message) when its tag is right for
 * key and n's fields, compared in constant time; NULL otherwise. */
const char *pair_verify(const void *key, size_t key_len,
                        const notification_t *n);

#endif

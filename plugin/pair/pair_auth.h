/* Signed pair messages, the pure part: the hubs of a pair sign every message
 * they send each other with the secret both hold (PairSecretFile), so that a
 * host that merely calls itself the peer is ignored, and take each message
 * at most once. Here: a message's text, the bytes its MAC covers and the
 * replay window. No collectd calls; plugin/pair/pair_mac.c computes the
 * MAC. */
#ifndef ANTICAPTCHA_PAIR_AUTH_H
#define ANTICAPTCHA_PAIR_AUTH_H

#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_time.h"

/* A message's text is its tag, one blank, then the payload (task ids, or a
 * heartbeat's words). The tag is HMAC-SHA256 truncated to its first 16
 * bytes (as RFC 4868 does for IPsec), in 32 lowercase hex digits. */
#define PAIR_TAG_BYTES 16
#define PAIR_TAG_HEX (2 * PAIR_TAG_BYTES)
/* The longest payload a notification's message holds after the tag. */
#define PAIR_PAYLOAD_MAX (NOTIF_MAX_MSG_LEN - PAIR_TAG_HEX - 2)

/* The bytes the MAC covers: a label naming the format and its version, the
 * notification's time (8 bytes) and severity (4 bytes), big-endian, then
 * host, plugin, plugin_instance, type, type_instance and the payload, each
 * as a 2-byte big-endian length and its bytes. No two messages that differ
 * in any of these give the same bytes. */
#define PAIR_MAC_LABEL "collectd-anticaptcha pair message 1"
#define PAIR_MAC_INPUT_MAX                                                     \
  (sizeof(PAIR_MAC_LABEL) + 12 + 5 * (2 + DATA_MAX_NAME_LEN) + 2 +             \
   NOTIF_MAX_MSG_LEN)
/* Writes them into buf (PAIR_MAC_INPUT_MAX bytes) and returns how many;
 * n->message is not read. */
size_t pair_mac_input(const notification_t *n, const char *payload,
                      unsigned char buf[PAIR_MAC_INPUT_MAX]);

/* The tag of a MAC (its first PAIR_TAG_BYTES) in hex, NUL-terminated. */
void pair_tag_hex(const unsigned char *mac, char hex[PAIR_TAG_HEX + 1]);
/* Writes tag, a blank and payload into message (NOTIF_MAX_MSG_LEN bytes).
 * Returns 0, or -1 when the payload is longer than PAIR_PAYLOAD_MAX. */
int pair_join_message(char message[NOTIF_MAX_MSG_LEN],
                      const char tag[PAIR_TAG_HEX + 1], const char *payload);
/* The payload of a received message (a pointer into it), or NULL when it
 * does not start with PAIR_TAG_HEX lowercase hex digits and a blank. The
 * tag is then the message's first PAIR_TAG_HEX characters. */
const char *pair_split_message(const char *message);

/* The time a message sent now carries (its notification's time): strictly
 * later than the last one sent, so the peer can take each message once.
 * After a restart the clock has moved on, so no boot id is needed. */
cdtime_t pair_send_time(cdtime_t *last_sent, cdtime_t now);

/* What the receiver knows of the times it took: every message is taken at
 * most once while this hub runs. Out of order delivery is accepted up to
 * PAIR_RECENT messages late. (A message in flight when this hub starts is
 * taken: so may be, once, a message of the peer's last max_skew that
 * someone captured; it only tells what the peer did or said then.) */
#define PAIR_RECENT 64
typedef struct {
  cdtime_t floor; /* nothing sent at or before it is taken */
  cdtime_t recent[PAIR_RECENT];
  size_t count;
} pair_replay_t;

typedef enum {
  PAIR_FRESH,    /* taken: remembered from now on */
  PAIR_REPLAYED, /* taken before, or older than every time kept */
  PAIR_OFF_CLOCK /* more than max_skew away from this hub's clock */
} pair_fresh_t;

void pair_replay_init(pair_replay_t *r);
/* Decides on the time of a message whose MAC was right; only PAIR_FRESH
 * changes r. */
pair_fresh_t pair_replay_check(pair_replay_t *r, cdtime_t sent, cdtime_t now,
                               cdtime_t max_skew);

#endif

/* Which pair messages to believe: every message this hub sends its peer is
 * signed with PairSecretFile's secret and carries a time later than the last
 * (pair_auth.h); every message from the peer is believed only when its MAC
 * is right and it is new. What fails changes nothing: it is counted
 * (pair-forged) and logged once while it lasts. The glue of pair_auth.c and
 * pair_mac.c to collectd's logging; plugin/pair/pair_link.c calls it. */
#ifndef ANTICAPTCHA_PAIR_TRUST_H
#define ANTICAPTCHA_PAIR_TRUST_H

#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_time.h"

typedef struct pair_trust_s pair_trust_t;

/* secret (NUL-terminated, the caller's: it must outlive the result), peer:
 * the peer's Hostname, max_skew: how far a message's time may be from this
 * hub's clock. Returns NULL when out of memory. */
pair_trust_t *pair_trust_create(const char *secret, const char *peer,
                                cdtime_t max_skew);
void pair_trust_destroy(pair_trust_t *t);

/* Sets n's time and its message: the tag and payload (which must not point
 * into n). Called from one thread at a time. Returns 0, or -1 when the
 * payload is too long or libcrypto failed (nothing to send then). */
int pair_trust_seal(pair_trust_t *t, notification_t *n, const char *payload,
                    cdtime_t now);
/* A pair message that claims to come from the peer: its payload (a pointer
 * into n->message) when it is signed with the secret and new; NULL when it
 * is not (counted and logged). A message of another host: NULL, and one
 * warning. Thread-safe. */
const char *pair_trust_open(pair_trust_t *t, const notification_t *n,
                            cdtime_t now);
/* Says once that the forged messages stopped, after a quiet minute. */
void pair_trust_tick(pair_trust_t *t, cdtime_t now);
/* Messages that claimed to be the peer's and were not believed. */
uint64_t pair_trust_forged(pair_trust_t *t);

#endif

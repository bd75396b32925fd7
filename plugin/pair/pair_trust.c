/* Which pair messages to believe: signed, new, from the peer (pair_trust.h). */
#include "pair/pair_trust.h"

#include "collectd/core/daemon/utils_complain.h"
#include "collectd/core/utils/common/common.h"

#include <pthread.h>

#include "api/response.h"
#include "pair/pair_mac.h"

/* Forged messages count as stopped after this long without one. */
#define QUIET TIME_T_TO_CDTIME_T(60)
/* A field of a notification, escaped for a log line. */
#define FIELD_TEXT (4 * DATA_MAX_NAME_LEN)

struct pair_trust_s {
  const char *secret;
  size_t secret_len;
  char peer[DATA_MAX_NAME_LEN];
  cdtime_t max_skew;
  cdtime_t last_sent; /* the sending thread's */

  pthread_mutex_t lock; /* guards the fields below */
  pair_replay_t replay;
  uint64_t forged;
  cdtime_t last_forged;
  c_complain_t stranger, unsigned_msg, replayed;
};

pair_trust_t *pair_trust_create(const char *secret, const char *peer,
                                cdtime_t max_skew) {
  pair_trust_t *t = calloc(1, sizeof(*t));
  if (t == NULL)
    return NULL;
  t->secret = secret;
  t->secret_len = strlen(secret);
  sstrncpy(t->peer, peer, sizeof(t->peer));
  t->max_skew = max_skew;
  pthread_mutex_init(&t->lock, NULL);
  pair_replay_init(&t->replay);
  C_COMPLAIN_INIT(&t->stranger);
  C_COMPLAIN_INIT(&t->unsigned_msg);
  C_COMPLAIN_INIT(&t->replayed);
  return t;
}

void pair_trust_destroy(pair_trust_t *t) {
  if (t == NULL)
    return;
  pthread_mutex_destroy(&t->lock);
  free(t);
}

int pair_trust_seal(pair_trust_t *t, notification_t *n, const char *payload,
                    cdtime_t now) {
  n->time = pair_send_time(&t->last_sent, now);
  return pair_sign(t->secret, t->secret_len, n, payload);
}

static void escape_field(char dst[FIELD_TEXT], const char *field) {
  response_escape(dst, FIELD_TEXT, field, strnlen(field, DATA_MAX_NAME_LEN));
}

/* With the lock held. */
static void complain_stranger(pair_trust_t *t, const notification_t *n) {
  char host[FIELD_TEXT];
  escape_field(host, n->host);
  c_complain_once(LOG_WARNING, &t->stranger,
                  "anticaptcha plugin: hub pair: ignoring pair messages from "
                  "\"%s\": PairPeer is \"%s\". Give each pair its own network "
                  "port.",
                  host, t->peer);
}

/* With the lock held: the peer's name on a message without the secret's
 * MAC. Counted, and said once while such messages keep coming. */
static void complain_unsigned(pair_trust_t *t, const notification_t *n,
                              cdtime_t now) {
  char type[FIELD_TEXT];
  escape_field(type, n->type);
  t->forged++;
  t->last_forged = now;
  c_complain_once(LOG_WARNING, &t->unsigned_msg,
                  "anticaptcha plugin: hub pair: ignoring a forged pair "
                  "message (type \"%s\") in the name of \"%s\": it is not "
                  "signed with PairSecretFile's secret. Give both hubs the "
                  "same secret file and plugin version; if they have, another "
                  "host sends in the peer's name. Counted as pair-forged.",
                  type, t->peer);
}

/* With the lock held: a message signed by the peer, but not new. */
static void complain_replayed(pair_trust_t *t, const notification_t *n,
                              pair_fresh_t why, cdtime_t now) {
  char type[FIELD_TEXT];
  escape_field(type, n->type);
  t->forged++;
  t->last_forged = now;
  c_complain_once(
      LOG_WARNING, &t->replayed,
      "anticaptcha plugin: hub pair: ignoring a replayed or delayed pair "
      "message (type \"%s\") from \"%s\": %s. Counted as pair-forged.",
      type, t->peer,
      why == PAIR_REPLAYED
          ? "it was taken before"
          : "it was sent more than Window away from this hub's clock; "
            "unless someone replays the peer's messages, the hubs' clocks "
            "differ: keep them in sync (NTP)");
}

const char *pair_trust_open(pair_trust_t *t, const notification_t *n,
                            cdtime_t now) {
  bool peer = strcmp(n->host, t->peer) == 0;
  /* Checked before the lock: the MAC costs about 2 us. */
  const char *payload = peer ? pair_verify(t->secret, t->secret_len, n) : NULL;
  pthread_mutex_lock(&t->lock);
  if (!peer)
    complain_stranger(t, n);
  else if (payload == NULL)
    complain_unsigned(t, n, now);
  else {
    pair_fresh_t fresh =
        pair_replay_check(&t->replay, n->time, now, t->max_skew);
    if (fresh != PAIR_FRESH) {
      complain_replayed(t, n, fresh, now);
      payload = NULL;
    }
  }
  pthread_mutex_unlock(&t->lock);
  return payload;
}

void pair_trust_tick(pair_trust_t *t, cdtime_t now) {
  pthread_mutex_lock(&t->lock);
  if (t->forged > 0 && now > t->last_forged + QUIET) {
    c_release(LOG_INFO, &t->unsigned_msg,
              "anticaptcha plugin: hub pair: no forged pair message for a "
              "minute (%" PRIu64 " in all).",
              t->forged);
    c_release(LOG_INFO, &t->replayed,
              "anticaptcha plugin: hub pair: no replayed pair message for a "
              "minute (%" PRIu64 " forged in all).",
              t->forged);
  }
  pthread_mutex_unlock(&t->lock);
}

uint64_t pair_trust_forged(pair_trust_t *t) {
  pthread_mutex_lock(&t->lock);
  uint64_t forged = t->forged;
  pthread_mutex_unlock(&t->lock);
  return forged;
}

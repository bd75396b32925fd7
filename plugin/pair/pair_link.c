/* The hub pair's glue: the hold, confirmations and heartbeats over collectd. */
#include "pair/pair_link.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_complain.h"
#include "collectd/core/utils/common/common.h"

#include <pthread.h>

#include "api/response.h"
#include "pair/hub_pair.h"
#include "pair/pair_auth.h"
#include "pair/pair_trust.h"
#include "util/dispatch.h"

/* How often the thread looks for held reports that are due. */
#define TICK MS_TO_CDTIME_T(100)
/* Confirmations wait up to CONFIRM_DELAY, or until CONFIRM_FULL are
 * waiting, so that one notification carries many: one per report cost 660
 * packets/s (and log lines) per hub at 2,000 reports/s in bench/udp_loss
 * --pair. The delay is also how long a killed hub may leave a report
 * unconfirmed. */
#define CONFIRM_DELAY MS_TO_CDTIME_T(20)
#define CONFIRM_FULL 16
/* Reports released, or confirmations sent, per turn of the lock. */
#define TURN_MAX 256
/* Accepted reports waiting for their confirmation to be sent; beyond this
 * they go unconfirmed (the peer then takes them over: errorId 16, counted
 * as pair-peer-refused, never as a refusal). */
#define PENDING_MAX 65536
/* The read callback of the pair's counters. */
#define PAIR_READ_NAME "anticaptcha/pair"

typedef struct {
  uint32_t account;
  task_id_t task_id;
} confirm_t;

struct pair_link_s {
  const plugin_config_t *cfg;
  report_sender_t *sender;
  char self[DATA_MAX_NAME_LEN], peer[DATA_MAX_NAME_LEN];
  cdtime_t heartbeat_every;
  pair_trust_t *trust; /* signs and checks the messages; locks on its own */

  pthread_mutex_t lock; /* guards the fields up to `thread` */
  pthread_cond_t wake;
  hub_pair_t hp;
  confirm_t *pending;
  size_t num_pending;
  cdtime_t pending_since; /* when the first of them was accepted */
  uint64_t unconfirmed;   /* confirmations not sent: PENDING_MAX was reached */
  bool heartbeat_now, stopping;
  c_complain_t bad_message;

  pthread_t thread; /* the thread's own from here (and stop's, after it) */
  bool started, registered, was_up;
  c_complain_t cannot_sign;
};

static bool on_outcome(void *ud, const report_request_t *req, bool accepted,
                       bool gone);

int pair_link_create(const plugin_config_t *cfg, report_sender_t *sender,
                     pair_link_t **out) {
  *out = NULL;
  if (cfg->pair_peer == NULL)
    return 0;
  cdtime_t hold = cfg->pair_hold_back, timeout = cfg->pair_timeout;
  int self = pair_self_index(hostname_g, cfg->pair_peer);
  if (cfg->pair_peer[0] == 0 || self < 0) {
    ERROR("anticaptcha plugin: Plugin anticaptcha: option \"PairPeer\": give "
          "the other hub's Hostname (this hub is \"%s\").",
          hostname_g);
    return -1;
  }
  pair_link_t *pl = calloc(1, sizeof(*pl));
  if (pl == NULL) {
    ERROR("anticaptcha plugin: hub pair: cannot set up (out of memory).");
    return -1;
  }
  pl->cfg = cfg;
  pl->sender = sender;
  sstrncpy(pl->self, hostname_g, sizeof(pl->self));
  sstrncpy(pl->peer, cfg->pair_peer, sizeof(pl->peer));
  pl->heartbeat_every = timeout / 3;
  pl->heartbeat_now = true;
  pl->was_up = true;
  pthread_mutex_init(&pl->lock, NULL);
  pthread_cond_init(&pl->wake, NULL);
  C_COMPLAIN_INIT(&pl->bad_message);
  C_COMPLAIN_INIT(&pl->cannot_sign);
  cdtime_t margin = cfg->window / 10 < TIME_T_TO_CDTIME_T(1)
                        ? cfg->window / 10
                        : TIME_T_TO_CDTIME_T(1);
  pair_params_t p = {.self = (unsigned)self,
                     .hold_back = hold,
                     .peer_timeout = timeout,
                     .window = cfg->window,
                     .margin = margin,
                     .max_held = cfg->queue_limit};
  pl->pending = calloc(PENDING_MAX, sizeof(*pl->pending));
  /* config_finish() refused a PairPeer without PairSecretFile. A message
   * further from this hub's clock than Window concerns no task that can
   * still be reported; the edges' clocks must be as close already. */
  pl->trust = pair_trust_create(cfg->pair_secret, cfg->pair_peer, cfg->window);
  if (pl->pending == NULL || pl->trust == NULL ||
      pair_init(&pl->hp, &p, cfg->num_accounts, cdtime()) != 0) {
    ERROR("anticaptcha plugin: hub pair: cannot set up (out of memory).");
    pair_link_destroy(pl);
    return -1;
  }
  /* Before the sender starts: reports may be queued before init. */
  sender_on_outcome(sender, on_outcome, pl);
  *out = pl;
  return 0;
}

void pair_link_destroy(pair_link_t *pl) {
  if (pl == NULL)
    return;
  pair_link_stop(pl);
  pair_destroy(&pl->hp);
  pair_trust_destroy(pl->trust);
  free(pl->pending);
  pthread_cond_destroy(&pl->wake);
  pthread_mutex_destroy(&pl->lock);
  free(pl);
}

/* ---- From the sender's worker: confirmations, and the peer's refusals ---- */

static bool on_outcome(void *ud, const report_request_t *req, bool accepted,
                       bool gone) {
  pair_link_t *pl = ud;
  bool taken = false;
  pthread_mutex_lock(&pl->lock);
  if (accepted) {
    /* A confirmation still waiting when this hub dies is a report the
     * peer sends again: the thread sends them within CONFIRM_DELAY. */
    if (pl->num_pending == 0) {
      pl->pending_since = cdtime();
      pthread_cond_signal(&pl->wake);
    } else if (pl->num_pending + 1 == CONFIRM_FULL)
      pthread_cond_signal(&pl->wake);
    if (pl->num_pending < PENDING_MAX)
      pl->pending[pl->num_pending++] =
          (confirm_t){(uint32_t)req->account, req->task_id};
    else
      pl->unconfirmed++;
  } else if (req->takeover && gone) {
    /* "Already reported": the peer's report went, its confirmation did not
     * reach us in time. Not a refusal. */
    pl->hp.counters[req->account].peer_refused++;
    taken = true;
  }
  pthread_mutex_unlock(&pl->lock);
  return taken;
}

/* ---- From the notification callback ---- */

static size_t account_index(const pair_link_t *pl, const char *name) {
  for (size_t i = 0; i < pl->cfg->num_accounts; i++)
    if (strcmp(pl->cfg->names[i], name) == 0)
      return i;
  return SIZE_MAX;
}

/* A confirmation the peer signed: its payload lists task ids. */
static void take_confirmation(pair_link_t *pl, const notification_t *n,
                              const char *payload, cdtime_t now) {
  task_id_t ids[NOTIF_MAX_MSG_LEN / 2];
  size_t account = account_index(pl, n->plugin_instance);
  int count = pair_parse_ids(payload, ids, STATIC_ARRAY_SIZE(ids));
  pthread_mutex_lock(&pl->lock);
  if (account == SIZE_MAX || count < 0) {
    char name[4 * DATA_MAX_NAME_LEN];
    response_escape(name, sizeof(name), n->plugin_instance,
                    strnlen(n->plugin_instance, DATA_MAX_NAME_LEN));
    c_complain(LOG_WARNING, &pl->bad_message,
               "anticaptcha plugin: hub pair: ignoring a confirmation from "
               "\"%s\" for account \"%s\": %s. Both hubs need the same "
               "<Account> names and plugin version.",
               pl->peer, name,
               account == SIZE_MAX ? "no such account here"
                                   : "its message is not a list of task ids");
  } else
    for (int i = 0; i < count; i++)
      pair_confirm(&pl->hp, account, ids[i], now);
  pthread_mutex_unlock(&pl->lock);
}

bool pair_link_intercept(pair_link_t *pl, const notification_t *n) {
  pair_msg_t kind = pair_message_kind(n);
  if (kind == PAIR_MSG_NONE)
    return false;
  /* Our own messages come back through the local dispatch. */
  if (pl == NULL || strcmp(n->host, pl->self) == 0)
    return true;
  /* Another host's, or not signed by the peer, or not new: ignored. */
  cdtime_t now = cdtime();
  const char *payload = pair_trust_open(pl->trust, n, now);
  if (payload == NULL)
    return true;
  if (kind == PAIR_MSG_REPORTED) {
    take_confirmation(pl, n, payload, now);
    return true;
  }
  pthread_mutex_lock(&pl->lock);
  /* "down": its share goes at once, with no PairTimeout wait. */
  if (pair_heartbeat(&pl->hp, n->type_instance, now)) {
    pl->heartbeat_now = true; /* answer at once: the handshake is quick */
    pthread_cond_signal(&pl->wake);
  }
  pthread_mutex_unlock(&pl->lock);
  return true;
}

bool pair_link_route(pair_link_t *pl, report_request_t *req) {
  if (pl == NULL)
    return false;
  const char *account = pl->cfg->names[req->account];
  pthread_mutex_lock(&pl->lock);
  pair_route_t r = pair_route(&pl->hp, req, account, cdtime());
  pthread_mutex_unlock(&pl->lock);
  return r == PAIR_HELD;
}

/* ---- The thread ---- */

/* From the pair's thread, or once it has stopped. */
static void send_message(pair_link_t *pl, const char *account, const char *type,
                         const char *type_instance, const char *payload) {
  notification_t n = {.severity = NOTIF_OKAY};
  sstrncpy(n.host, pl->self, sizeof(n.host));
  sstrncpy(n.plugin, PAIR_PLUGIN, sizeof(n.plugin));
  sstrncpy(n.plugin_instance, account, sizeof(n.plugin_instance));
  sstrncpy(n.type, type, sizeof(n.type));
  sstrncpy(n.type_instance, type_instance, sizeof(n.type_instance));
  if (pair_trust_seal(pl->trust, &n, payload, cdtime()) != 0) {
    c_complain(LOG_ERR, &pl->cannot_sign,
               "anticaptcha plugin: hub pair: cannot sign a message to the "
               "peer (libcrypto failed); it is not sent.");
    return;
  }
  plugin_dispatch_notification(&n);
}

/* One notification carries as many ids as its message holds after the tag
 * (11 to 22 numbers, 6 UUIDs): the logfile plugin writes a line per
 * notification. */
static void send_confirmations(pair_link_t *pl, const confirm_t *c, size_t n) {
  task_id_t ids[TURN_MAX];
  char text[PAIR_PAYLOAD_MAX + 1]; /* the message also holds the tag */
  for (size_t a = 0; a < pl->cfg->num_accounts; a++) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
      if (c[i].account == a)
        ids[k++] = c[i].task_id;
    for (size_t done = 0; done < k;) {
      done += pair_format_ids(ids + done, k - done, text, sizeof(text));
      send_message(pl, pl->cfg->names[a], PAIR_TYPE_REPORTED, "", text);
    }
  }
}

static void log_peer_state(pair_link_t *pl, bool up) {
  if (up == pl->was_up)
    return;
  pl->was_up = up;
  if (up)
    INFO("anticaptcha plugin: hub pair: peer \"%s\" is back; the hubs share "
         "the reports again.",
         pl->peer);
  else
    WARNING("anticaptcha plugin: hub pair: peer \"%s\" is down (it said "
            "so, or was silent for PairTimeout); this hub reports every task "
            "until it is back.",
            pl->peer);
}

/* One turn, lock held on entry and on return: takes what is due, then
 * submits and sends without the lock. Returns true when it did something. */
static bool release_due_and_confirm(pair_link_t *pl, cdtime_t *next_heartbeat) {
  report_request_t due[TURN_MAX];
  confirm_t confirms[TURN_MAX];
  size_t num_due = 0, num_confirms = 0;
  cdtime_t now = cdtime();
  while (num_due < TURN_MAX && pair_next(&pl->hp, now, &due[num_due]))
    num_due++;
  if (pl->num_pending >= CONFIRM_FULL || pl->stopping ||
      now >= pl->pending_since + CONFIRM_DELAY)
    num_confirms = pl->num_pending < TURN_MAX ? pl->num_pending : TURN_MAX;
  memcpy(confirms, pl->pending + pl->num_pending - num_confirms,
         num_confirms * sizeof(*confirms));
  pl->num_pending -= num_confirms;
  if (num_confirms > 0 && pl->num_pending > 0) /* the rest: next turn */
    pl->pending_since = 0;
  bool up = pair_peer_up(&pl->hp, now);
  const char *word = pair_heartbeat_word(&pl->hp, now);
  bool urgent = pl->heartbeat_now;
  pl->heartbeat_now = false;
  pthread_mutex_unlock(&pl->lock);

  log_peer_state(pl, up);
  pair_trust_tick(pl->trust, now);
  for (size_t i = 0; i < num_due; i++)
    sender_submit(pl->sender, &due[i]); /* counted there if late or full */
  send_confirmations(pl, confirms, num_confirms);
  /* Confirmations tell the peer we are up: a heartbeat goes after a quiet
   * spell, or at once when our view changed. (The logfile plugin writes
   * every notification, whatever its LogLevel.) "holding" or "paired": we
   * hold the peer's share, so it may send its own at once. */
  bool heartbeat = urgent || (num_confirms == 0 && now >= *next_heartbeat);
  if (heartbeat)
    send_message(pl, "", PAIR_TYPE_HEARTBEAT, word,
                 up ? "hub pair: holding the peer's share"
                    : "hub pair: reporting every task");
  if (heartbeat || num_confirms > 0)
    *next_heartbeat = now + pl->heartbeat_every;
  pthread_mutex_lock(&pl->lock);
  return num_due == TURN_MAX || num_confirms == TURN_MAX;
}

static void *pair_thread(void *arg) {
  pair_link_t *pl = arg;
  cdtime_t next_heartbeat = 0;
  pthread_mutex_lock(&pl->lock);
  while (!pl->stopping) {
    if (release_due_and_confirm(pl, &next_heartbeat) || pl->stopping ||
        pl->heartbeat_now)
      continue;
    cdtime_t until = cdtime() + TICK;
    if (pl->num_pending > 0 && pl->pending_since + CONFIRM_DELAY < until)
      until = pl->pending_since + CONFIRM_DELAY;
    struct timespec ts = CDTIME_T_TO_TIMESPEC(until);
    pthread_cond_timedwait(&pl->wake, &pl->lock, &ts);
  }
  pthread_mutex_unlock(&pl->lock);
  return NULL;
}

static int read_counters(user_data_t *ud) {
  pair_link_t *pl = ud->data;
  for (size_t i = 0; i < pl->cfg->num_accounts; i++) {
    pthread_mutex_lock(&pl->lock);
    pair_counters_t k = pl->hp.counters[i];
    pthread_mutex_unlock(&pl->lock);
    dispatch_derive(pl->cfg->names[i], "pair-peer-reported", k.peer_reported);
    dispatch_derive(pl->cfg->names[i], "pair-taken-over", k.taken_over);
    dispatch_derive(pl->cfg->names[i], "pair-peer-refused", k.peer_refused);
  }
  pthread_mutex_lock(&pl->lock);
  bool up = pair_peer_up(&pl->hp, cdtime());
  double held = (double)pl->hp.count;
  uint64_t unconfirmed = pl->unconfirmed;
  pthread_mutex_unlock(&pl->lock);
  dispatch_gauge("", "gauge", "pair-peer-up", up ? 1 : 0, 0, 0);
  dispatch_gauge("", "gauge", "pair-held", held, 0, 0);
  dispatch_derive("", "pair-unconfirmed", unconfirmed);
  dispatch_derive("", "pair-forged", pair_trust_forged(pl->trust));
  return 0;
}

int pair_link_start(pair_link_t *pl) {
  if (pl == NULL)
    return 0;
  /* All or nothing, as the plugin's init. The data stays ours: no
   * free_func; pair_link_stop() unregisters it. */
  if (plugin_register_complex_read(NULL, PAIR_READ_NAME, read_counters, 0,
                                   &(user_data_t){.data = pl}) != 0) {
    ERROR("anticaptcha plugin: hub pair: cannot register its counters; the "
          "plugin is disabled.");
    return -1;
  }
  pl->registered = true;
  int status =
      plugin_thread_create(&pl->thread, pair_thread, pl, "anticaptcha pair");
  if (status != 0) {
    ERROR("anticaptcha plugin: hub pair: cannot start its thread: %s; the "
          "plugin is disabled.",
          STRERROR(status));
    plugin_unregister_read(PAIR_READ_NAME);
    pl->registered = false;
    return -1;
  }
  pl->started = true;
  INFO("anticaptcha plugin: hub pair: \"%s\" with peer \"%s\", this hub "
       "owns share %d.",
       pl->self, pl->peer, (int)pl->hp.p.self);
  return 0;
}

void pair_link_stop(pair_link_t *pl) {
  if (pl == NULL || !pl->started)
    return;
  pthread_mutex_lock(&pl->lock);
  pl->stopping = true;
  pthread_cond_signal(&pl->wake);
  pthread_mutex_unlock(&pl->lock);
  /* At shutdown collectd has dropped its read callbacks already (this then
   * does nothing); after a failed init it has not. */
  if (pl->registered)
    plugin_unregister_read(PAIR_READ_NAME);
  pl->registered = false;
  pthread_join(pl->thread, NULL);
  pl->started = false;
  /* The network plugin shuts down after us (it registers its shutdown in
   * its init): what the sender finished is confirmed, and the peer told to
   * take over at once. */
  confirm_t confirms[TURN_MAX];
  for (;;) {
    pthread_mutex_lock(&pl->lock);
    size_t n = pl->num_pending < TURN_MAX ? pl->num_pending : TURN_MAX;
    memcpy(confirms, pl->pending + pl->num_pending - n, n * sizeof(*confirms));
    pl->num_pending -= n;
    pthread_mutex_unlock(&pl->lock);
    if (n == 0)
      break;
    send_confirmations(pl, confirms, n);
  }
  send_message(pl, "", PAIR_TYPE_HEARTBEAT, PAIR_HEARTBEAT_DOWN,
               "hub pair: stopping; the peer reports every task");
  if (pl->hp.count > 0)
    INFO("anticaptcha plugin: hub pair: stopping with %zu report(s) held; "
         "the peer sends them.",
         pl->hp.count);
}

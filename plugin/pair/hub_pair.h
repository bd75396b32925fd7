/* The hub pair's pure decisions: which hub owns a task, how long the other
 * holds it back, what the peer has confirmed, and the text of the pair's
 * messages. No collectd calls, no locking: plugin/pair_link.c holds a lock
 * around these and carries the messages over collectd's network plugin. */
#ifndef ANTICAPTCHA_HUB_PAIR_H
#define ANTICAPTCHA_HUB_PAIR_H

#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_time.h"

#include "model/report_match.h"
#include "reports/report_queue.h"

/* The pair's messages are notifications of plugin "anticaptcha": type
 * PAIR_TYPE_REPORTED lists task ids of one account (plugin_instance) that the
 * sender's hub had accepted by the API; type PAIR_TYPE_HEARTBEAT says the
 * sender's hub is up, and whether it hears its own peer. */
#define PAIR_PLUGIN "anticaptcha"
#define PAIR_TYPE_REPORTED "reported"
#define PAIR_TYPE_HEARTBEAT "pair"
/* A heartbeat's type instance: what its sender does with our share. */
#define PAIR_HEARTBEAT_ALONE "alone"     /* sends it: does not hear us */
#define PAIR_HEARTBEAT_HOLDING "holding" /* holds it back */
#define PAIR_HEARTBEAT_PAIRED "paired"   /* holds it, and knows we hold its */
#define PAIR_HEARTBEAT_DOWN "down"       /* is stopping */

typedef enum {
  PAIR_MSG_NONE,      /* not a pair message */
  PAIR_MSG_REPORTED,  /* a confirmation */
  PAIR_MSG_HEARTBEAT, /* a heartbeat */
} pair_msg_t;

/* Which kind of pair message n is. Pair messages are never report requests,
 * whether or not a pair is configured. */
pair_msg_t pair_message_kind(const notification_t *n);

/* Which hub owns (account, task): 0 is the hub whose name sorts first. The
 * same on both hubs, about half the tasks each. */
unsigned pair_owner(const char *account, task_id_t task_id);

/* 0 or 1: this hub's place in the pair; -1 when the names are equal. */
int pair_self_index(const char *self, const char *peer);

typedef struct {
  unsigned self;         /* pair_self_index() */
  cdtime_t hold_back;    /* how long the peer's share is held */
  cdtime_t peer_timeout; /* silence after which the peer is down */
  cdtime_t window;       /* Window: nothing is sent later */
  cdtime_t margin;       /* a held report leaves this long before Window */
  size_t max_held;       /* reports held at once */
} pair_params_t;

typedef struct {
  uint64_t peer_reported; /* held, confirmed by the peer: not sent here */
  uint64_t taken_over;    /* the peer's share, sent here */
  uint64_t peer_refused;  /* taken over, then refused as already reported */
} pair_counters_t;

typedef struct {
  report_request_t req;
  cdtime_t release;
} held_report_t;

typedef struct {
  pair_params_t p;
  cdtime_t last_heard; /* the peer's last message */
  bool peer_sees_me;   /* its last heartbeat said "paired" */
  held_report_t *heap; /* min-heap on release */
  size_t count;
  seen_set_t confirmed;      /* (account, task) the peer reported */
  pair_counters_t *counters; /* per account */
  size_t num_accounts;
} hub_pair_t;

/* The peer counts as up from now on for peer_timeout, so a restarted hub
 * holds back rather than reports twice. Returns 0 or -1 (ENOMEM). */
int pair_init(hub_pair_t *hp, const pair_params_t *p, size_t num_accounts,
              cdtime_t now);
void pair_destroy(hub_pair_t *hp);

bool pair_peer_up(const hub_pair_t *hp, cdtime_t now);
/* Both hubs hear each other: each sends its own share at once. */
bool pair_paired(const hub_pair_t *hp, cdtime_t now);

/* A heartbeat from the peer. Returns true when this hub's view changed (the
 * peer was down, or now hears us), so it should answer at once. */
bool pair_heard(hub_pair_t *hp, bool peer_sees_me, cdtime_t now);
/* A heartbeat from the peer whose type instance is `word`. Returns true
 * when this hub should answer at once: its view changed, or the peer does
 * not know yet that this hub holds its share (a peer restarted within
 * peer_timeout learns it so). */
bool pair_heartbeat(hub_pair_t *hp, const char *word, cdtime_t now);
/* What this hub's heartbeat says now. */
const char *pair_heartbeat_word(const hub_pair_t *hp, cdtime_t now);

/* The peer said it is stopping: it is down from now on. */
void pair_gone(hub_pair_t *hp);
/* A confirmation from the peer for (account, task). */
void pair_confirm(hub_pair_t *hp, size_t account, task_id_t task_id,
                  cdtime_t now);

typedef enum {
  PAIR_SEND, /* send now (req->takeover says whether it is the peer's) */
  PAIR_HELD, /* held: pair_next() gives it back when due */
} pair_route_t;

/* Decides what to do with a report request of account `account_name`. Own
 * share: at once when paired or when the peer is down, else held for half
 * hold_back (the peer may have reported it while it thought us down). The
 * peer's share: at once when the peer is down, else held for hold_back. A
 * hold always ends `margin` before the window closes; a request with less
 * time left, or one that finds the hold full, is sent at once. */
pair_route_t pair_route(hub_pair_t *hp, report_request_t *req,
                        const char *account_name, cdtime_t now);

/* The next held request that is due (all of them once the peer is down),
 * skipping those the peer confirmed. Returns false when none is due. */
bool pair_next(hub_pair_t *hp, cdtime_t now, report_request_t *out);

/* ---- Confirmation messages: task ids as text (task_id.h), separated by
 * spaces. ---- */
/* Writes ids[0..] into buf (size bytes, NUL-terminated) as long as they fit;
 * returns how many were written. */
size_t pair_format_ids(const task_id_t *ids, size_t n, char *buf, size_t size);
/* Parses a message; returns the number of ids stored (at most max), or -1
 * when the text is not a list of task ids. */
int pair_parse_ids(const char *text, task_id_t *ids, size_t max);

#endif

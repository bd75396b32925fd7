/* How hard the report sender may press one account and one host: a window of
 * requests in flight that grows while they succeed (slow start), one probe at
 * a time with a growing, jittered delay after transient failures, pauses for
 * Retry-After and for account-level API errors; and the per-host gate that
 * opens new connections a few at a time, up to a cap.
 * Pure: no collectd or curl calls; the sender's worker owns every one. */
#ifndef ANTICAPTCHA_SEND_PACING_H
#define ANTICAPTCHA_SEND_PACING_H

#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/utils_time.h"

/* The account's sender state, dispatched as a gauge (doc/values.tsv). */
typedef enum {
  PACE_OPEN = 0,        /* fanning out; the window grows while answers come */
  PACE_BACKING_OFF = 1, /* transient failures: one probe at a time */
  PACE_WAITING = 2,     /* the server asked to wait (Retry-After) */
  PACE_PAUSED = 3,      /* an account-level API error: reports not sent */
} pace_state_t;

typedef enum {
  PACE_ANSWERED,      /* an answer about the task: errorId 0, 16, ... */
  PACE_TRANSIENT,     /* transport failure, HTTP 5xx/429, unusable body */
  PACE_RETRY_AFTER,   /* HTTP 429/503 with a valid Retry-After */
  PACE_ACCOUNT_ERROR, /* service_error_concerns_account(), or an HTTP 4xx */
} pace_event_t;

/* Requests in flight at first and after an idle second (the first answer
 * after that gives back the window the account had). */
#define PACE_INITIAL_WINDOW 4
#define PACE_IDLE_RESET TIME_T_TO_CDTIME_T(1)
/* Probe delays: 250 ms doubling to 1 s for the first PACE_FAST_PROBES
 * failures (a short outage is noticed within a second of its end), then
 * doubling on to PACE_PROBE_MAX. Each is jittered to between half and all
 * of it, so that a fleet does not probe in step. */
#define PACE_PROBE_FIRST MS_TO_CDTIME_T(250)
#define PACE_PROBE_FAST_MAX TIME_T_TO_CDTIME_T(1)
#define PACE_FAST_PROBES 16
#define PACE_PROBE_MAX TIME_T_TO_CDTIME_T(16)
/* Retry-After beyond this is taken as this. */
#define PACE_RETRY_AFTER_MAX TIME_T_TO_CDTIME_T(600)
/* Account-level errors: 5 minutes, doubling up to an hour (jittered). */
#define PACE_PAUSE_FIRST TIME_T_TO_CDTIME_T(300)
#define PACE_PAUSE_MAX TIME_T_TO_CDTIME_T(3600)

typedef struct {
  pace_state_t state;
  unsigned window, max_window, in_flight;
  unsigned resume_window; /* the window before an idle reset, or 0 */
  unsigned failures;      /* consecutive transient failures */
  unsigned pauses;        /* consecutive account-level pauses */
  cdtime_t pause_min;     /* the least a pause lasts: the vendor's own block */
  cdtime_t not_before;
  cdtime_t last_done;
  uint64_t rng;
} pace_t;

void pace_init(pace_t *p, unsigned max_window, uint64_t seed);
/* Whether one more request of the account may start now. */
bool pace_may_send(pace_t *p, cdtime_t now);
void pace_sent(pace_t *p);
/* One request ended. retry_at: for PACE_RETRY_AFTER, when the server lets
 * us back. Returns true when the state changed (log it once). */
bool pace_done(pace_t *p, pace_event_t ev, cdtime_t retry_at, cdtime_t now);
/* The delay before probe number `failures` (before jitter). */
cdtime_t pace_probe_delay(unsigned failures);
/* The pause after `pauses` consecutive account-level errors (before
 * jitter). */
cdtime_t pace_pause_delay(unsigned pauses);

/* Parses a Retry-After value, delta-seconds or HTTP-date (RFC 9110: IMF
 * date, RFC 850 date or asctime), as a delay from now, the wall clock's time
 * (a date past is 0; one past cdtime_t's range, the year 2514, a delay as
 * long as it goes). Every pace_* function but this one takes the monotonic
 * clock's time. Returns 0, or -1 when it is neither. */
int pace_parse_retry_after(const char *value, cdtime_t now, cdtime_t *delay);

/* ---- One host's connections ----
 * A transfer that finds no idle connection opens one. Those are limited to
 * GATE_OPENING_MAX at once (released when the transfer ends, that is once
 * the server has accepted and answered): a burst never sends more SYNs than
 * a small accept queue holds (listen backlog 5), so none waits for the
 * kernel's 1 s and 3 s retransmits. Connections grow by that many per round
 * trip while answers come, up to cap. Over HTTP/2 transfers share one. */
#define GATE_OPENING_MAX 4

typedef struct {
  unsigned cap;     /* MaxConnectionsPerHost */
  unsigned open;    /* sockets open to the host */
  unsigned busy;    /* transfers in flight */
  unsigned opening; /* of those, the ones that needed a new connection */
  bool multiplexed; /* the host answered over HTTP/2 */
} conn_gate_t;

bool gate_may_start(const conn_gate_t *g);
/* Counts a transfer starting; returns true when it opens a connection. */
bool gate_start(conn_gate_t *g);
void gate_done(conn_gate_t *g, bool opening);

#endif

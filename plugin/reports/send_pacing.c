/* The sender's pacing per account and connection gate per host (see
 * send_pacing.h). */
#include "reports/send_pacing.h"

#include "api/http_date.h"
#include "util/mono_time.h"
#include "util/wraps_on_purpose.h"

void pace_init(pace_t *p, unsigned max_window, uint64_t seed) {
  *p = (pace_t){.state = PACE_OPEN,
                .max_window = max_window > 0 ? max_window : 1,
                .rng = seed != 0 ? seed : 0x9E3779B97F4A7C15ULL};
  p->window =
      PACE_INITIAL_WINDOW < p->max_window ? PACE_INITIAL_WINDOW : p->max_window;
}

/* xorshift64: jitter needs no more. */
WRAPS_ON_PURPOSE
static uint64_t next_random(pace_t *p) {
  p->rng ^= p->rng << 13;
  p->rng ^= p->rng >> 7;
  p->rng ^= p->rng << 17;
  return p->rng;
}

/* Between half and all of d. */
static cdtime_t jitter(pace_t *p, cdtime_t d) {
  return d / 2 + (d > 1 ? next_random(p) % (d / 2 + 1) : 0);
}

static unsigned initial_window(const pace_t *p) {
  return PACE_INITIAL_WINDOW < p->max_window ? PACE_INITIAL_WINDOW
                                             : p->max_window;
}

bool pace_may_send(pace_t *p, cdtime_t now) {
  if (now < p->not_before)
    return false;
  /* An account idle for a while starts small again: the API may have gone
   * meanwhile, and a full window would then hit it all at once. Once it
   * answers, the window it had is given back (pace_done), rather than grown
   * again over several round trips while the reports of a burst wait. */
  if (p->state == PACE_OPEN && p->in_flight == 0 &&
      now - p->last_done > PACE_IDLE_RESET && p->window > initial_window(p)) {
    p->resume_window = p->window;
    p->window = initial_window(p);
  }
  unsigned window = p->state == PACE_OPEN ? p->window : 1; /* a probe */
  return p->in_flight < window;
}

void pace_sent(pace_t *p) { p->in_flight++; }

cdtime_t pace_probe_delay(unsigned failures) {
  cdtime_t d = PACE_PROBE_FIRST;
  for (unsigned i = 1; i < failures && d < PACE_PROBE_MAX; i++)
    d *= 2;
  if (failures <= PACE_FAST_PROBES && d > PACE_PROBE_FAST_MAX)
    d = PACE_PROBE_FAST_MAX;
  if (failures > PACE_FAST_PROBES) {
    d = PACE_PROBE_FAST_MAX;
    for (unsigned i = PACE_FAST_PROBES; i < failures && d < PACE_PROBE_MAX; i++)
      d *= 2;
  }
  return d < PACE_PROBE_MAX ? d : PACE_PROBE_MAX;
}

cdtime_t pace_pause_delay(unsigned pauses) {
  cdtime_t d = PACE_PAUSE_FIRST;
  for (unsigned i = 1; i < pauses && d < PACE_PAUSE_MAX; i++)
    d *= 2;
  return d < PACE_PAUSE_MAX ? d : PACE_PAUSE_MAX;
}

/* Never shortens a wait already decided. */
static void hold_until(pace_t *p, cdtime_t t) {
  if (t > p->not_before)
    p->not_before = t;
}

bool pace_done(pace_t *p, pace_event_t ev, cdtime_t retry_at, cdtime_t now) {
  pace_state_t before = p->state;
  if (p->in_flight > 0)
    p->in_flight--;
  p->last_done = now;
  switch (ev) {
  case PACE_ANSWERED:
    /* An answer sent before a pause began does not end it. */
    if (now < p->not_before)
      break;
    if (p->state != PACE_OPEN)
      p->window = initial_window(p); /* ramp up again */
    else if (p->resume_window > p->window)
      p->window = p->resume_window; /* back after an idle reset */
    else if (p->window < p->max_window)
      p->window++; /* one more per answer: doubles per round trip */
    p->resume_window = 0;
    p->state = PACE_OPEN;
    p->failures = p->pauses = 0;
    break;
  case PACE_TRANSIENT:
    p->failures++;
    /* A wait the server asked for, or a pause, still running stays what
     * it is; once over, the probe's failure is an ordinary back-off. */
    if (p->state == PACE_OPEN || now >= p->not_before)
      p->state = PACE_BACKING_OFF;
    hold_until(p, now + jitter(p, pace_probe_delay(p->failures)));
    break;
  case PACE_RETRY_AFTER:
    p->failures++;
    if (retry_at > now + PACE_RETRY_AFTER_MAX)
      retry_at = now + PACE_RETRY_AFTER_MAX;
    hold_until(p, retry_at);
    if (p->state != PACE_PAUSED)
      p->state = PACE_WAITING;
    break;
  case PACE_ACCOUNT_ERROR:
    /* Requests already in flight may bring the same error: one pause. */
    if (p->state == PACE_PAUSED && now < p->not_before)
      break;
    p->pauses++;
    cdtime_t pause = jitter(p, pace_pause_delay(p->pauses));
    hold_until(p, now + (pause > p->pause_min ? pause : p->pause_min));
    p->state = PACE_PAUSED;
    break;
  }
  return p->state != before;
}

int pace_parse_retry_after(const char *value, cdtime_t now, cdtime_t *delay) {
  while (*value == ' ' || *value == '\t')
    value++;
  if (*value >= '0' && *value <= '9') {
    uint64_t secs = 0;
    for (; *value >= '0' && *value <= '9'; value++)
      if (secs < 1000000000)
        secs = secs * 10 + (uint64_t)(*value - '0');
    while (*value == ' ' || *value == '\t' || *value == '\r' || *value == '\n')
      value++;
    if (*value != 0)
      return -1;
    *delay = TIME_T_TO_CDTIME_T(secs);
    return 0;
  }
  int64_t at;
  if (http_date_parse(value, &at) != 0)
    return -1;
  /* A date past cdtime_t's range (the year 2514) is as far as it goes. */
  cdtime_t when = cdtime_from_seconds(at);
  *delay = when > now ? when - now : 0;
  return 0;
}

bool gate_may_start(const conn_gate_t *g) {
  if (g->multiplexed && g->open > 0)
    return true;
  if (g->open > g->busy)
    return true; /* an idle connection: libcurl reuses it first */
  return g->opening < GATE_OPENING_MAX && g->busy < g->cap;
}

bool gate_start(conn_gate_t *g) {
  bool opening = !(g->multiplexed && g->open > 0) && g->open <= g->busy;
  g->busy++;
  if (opening)
    g->opening++;
  return opening;
}

void gate_done(conn_gate_t *g, bool opening) {
  if (g->busy > 0)
    g->busy--;
  if (opening && g->opening > 0)
    g->opening--;
}

/* The clock the hourly records follow: the API's, as the Date header of its
 * answers tells it, carried on between answers by the monotonic clock, so
 * that neither a step of this host's wall clock nor its being off moves an
 * hour's end. And the steps themselves, noticed from one poll to the next,
 * to be said once in the log.
 * Pure: no collectd or curl calls. */
#ifndef ANTICAPTCHA_API_CLOCK_H
#define ANTICAPTCHA_API_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/utils_time.h"

typedef struct {
  int64_t date;   /* the last answer's Date, seconds since the epoch; 0: none */
  cdtime_t heard; /* when it came, on the monotonic clock */
  bool answered;  /* an answer came, with a Date or without */
} api_clock_t;

/* An answer came at mono with this Date (0: it had none). */
void api_clock_heard(api_clock_t *c, int64_t date, cdtime_t mono);
/* Whether the API has answered: until then api_clock_now() is this host's
 * wall clock even when the API would send Date. */
static inline bool api_clock_ready(const api_clock_t *c) { return c->answered; }
/* The API's time now, in seconds since the epoch: its last Date plus the
 * time elapsed since; this host's wall clock (wall) until one came. */
int64_t api_clock_now(const api_clock_t *c, cdtime_t wall, cdtime_t mono);

/* A step of the wall clock bigger than this is said in the log (NTP slews
 * smaller offsets; a step of a few seconds changes nothing here). */
#define CLOCK_STEP_MIN 60

/* How far the wall clock stepped, in seconds (forward > 0), since the last
 * call, read as the change of wall - mono; 0 when less than CLOCK_STEP_MIN.
 * *offset is shared by every caller (atomic): one step is found once. */
int64_t clock_stepped(int64_t *offset, cdtime_t wall, cdtime_t mono);

/* What the log says of a step (clock_stepped's); false for 0. */
bool clock_step_text(int64_t step, char *buf, size_t size);

#endif

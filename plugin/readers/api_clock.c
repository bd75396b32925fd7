/* The API's clock and this host's clock steps (see api_clock.h). */
#include "readers/api_clock.h"

#include <stdio.h>

void api_clock_heard(api_clock_t *c, int64_t date, cdtime_t mono) {
  c->answered = true;
  if (date <= 0)
    return;
  c->date = date;
  c->heard = mono;
}

int64_t api_clock_now(const api_clock_t *c, cdtime_t wall, cdtime_t mono) {
  if (c->date <= 0)
    return (int64_t)CDTIME_T_TO_TIME_T(wall);
  cdtime_t since = mono > c->heard ? mono - c->heard : 0;
  return c->date + (int64_t)CDTIME_T_TO_TIME_T(since);
}

int64_t clock_stepped(int64_t *offset, cdtime_t wall, cdtime_t mono) {
  int64_t now =
      (int64_t)CDTIME_T_TO_TIME_T(wall) - (int64_t)CDTIME_T_TO_TIME_T(mono);
  int64_t before = __atomic_exchange_n(offset, now, __ATOMIC_RELAXED);
  if (before == 0)
    return 0; /* the first call: nothing to compare with */
  int64_t step = now - before;
  return step >= CLOCK_STEP_MIN || step <= -CLOCK_STEP_MIN ? step : 0;
}

/* "400 days", "3.5 hours", "90 seconds". */
static void duration(int64_t seconds, char *buf, size_t size) {
  double s = (double)(seconds < 0 ? -seconds : seconds);
  if (s >= 2 * 86400)
    snprintf(buf, size, "%.0f days", s / 86400);
  else if (s >= 2 * 3600)
    snprintf(buf, size, "%.1f hours", s / 3600);
  else if (s >= 120)
    snprintf(buf, size, "%.0f minutes", s / 60);
  else
    snprintf(buf, size, "%.0f seconds", s);
}

bool clock_step_text(int64_t step, char *buf, size_t size) {
  char d[32];
  if (step == 0)
    return false;
  duration(step, d, sizeof(d));
  snprintf(buf, size,
           "the system clock stepped %s by %s. Report windows run on the "
           "monotonic clock and the hourly records follow the API's clock "
           "(its Date header): none is lost or sent twice.%s",
           step > 0 ? "forward" : "back", d,
           step > 0 ? ""
                    : " collectd itself holds its reads back by the step and "
                      "refuses values stamped before its cache's last ones "
                      "(\"value too old\") until the clock has caught up.");
  return true;
}

/* The report-rate guard's pure parts: families, 24-hour window, decision. */
#include "reports/report_guard.h"

#include <string.h>

int guard_family(report_method_t m) {
  switch (m) {
  case REPORT_INCORRECT_RECAPTCHA:
    return GUARD_RECAPTCHA;
  case REPORT_INCORRECT_IMAGE:
    return GUARD_IMAGE;
  case REPORT_INCORRECT_HCAPTCHA:
    return GUARD_HCAPTCHA;
  default:
    return -1;
  }
}

int guard_family_of_slug(const char *slug) {
  if (strstr(slug, "hcaptcha") != NULL)
    return GUARD_HCAPTCHA;
  if (strstr(slug, "recaptcha") != NULL)
    return GUARD_RECAPTCHA;
  if (strstr(slug, "image") != NULL)
    return GUARD_IMAGE;
  return -1;
}

void guard_window_init(guard_window_t *w) {
  memset(w, 0, sizeof(*w));
  for (int f = 0; f < GUARD_FAMILIES; f++) {
    w->tasks[f] = -1;
    for (int h = 0; h < GUARD_HOURS; h++)
      w->hour[f][h] = -1;
  }
}

void guard_update_tasks(guard_window_t *w, const char *const *slugs,
                        const double *volumes, const bool *ok, size_t n,
                        long total_index) {
  for (int f = 0; f < GUARD_FAMILIES; f++) {
    double sum = 0;
    bool polled = false, all_ok = true;
    for (size_t i = 0; i < n; i++) {
      if ((long)i == total_index || guard_family_of_slug(slugs[i]) != f)
        continue;
      polled = true;
      all_ok = all_ok && ok[i];
      sum += volumes[i];
    }
    if (polled && all_ok)
      w->tasks[f] = sum;
    else if (!polled && total_index >= 0 && ok[total_index])
      w->tasks[f] = volumes[total_index];
  }
}

static size_t bucket(int64_t hour) {
  return (size_t)(((hour % GUARD_HOURS) + GUARD_HOURS) % GUARD_HOURS);
}

uint64_t guard_recent(const guard_window_t *w, int family, int64_t now) {
  int64_t hour = now / 3600;
  uint64_t sum = 0;
  for (int h = 0; h < GUARD_HOURS; h++)
    if (w->hour[family][h] > hour - GUARD_HOURS && w->hour[family][h] <= hour)
      sum += w->count[family][h];
  return sum;
}

bool guard_allows(const guard_window_t *w, int family, double share_percent,
                  int64_t now) {
  double tasks = w->tasks[family];
  if (tasks < 0)
    return true;
  double after = (double)guard_recent(w, family, now) + 1;
  return after * 100.0 <= share_percent * tasks;
}

void guard_record(guard_window_t *w, int family, int64_t now, int delta) {
  int64_t hour = now / 3600;
  size_t b = bucket(hour);
  if (w->hour[family][b] != hour) {
    if (delta < 0)
      return; /* that hour is gone already */
    w->hour[family][b] = hour;
    w->count[family][b] = 0;
  }
  if (delta > 0)
    w->count[family][b] += (uint64_t)delta;
  else if (w->count[family][b] > 0)
    w->count[family][b]--;
}

/* The report-rate guard's pure parts: which tasks a report method is
 * measured against, the incorrect reports of the last 24 hours, and whether
 * one more stays within the account's IncorrectReportShare.
 * Pure: no collectd or curl calls, no locking (the caller locks). */
#ifndef ANTICAPTCHA_REPORT_GUARD_H
#define ANTICAPTCHA_REPORT_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/report_match.h"

/* The kinds of task an incorrect report can be about. */
typedef enum {
  GUARD_RECAPTCHA,
  GUARD_IMAGE,
  GUARD_HCAPTCHA,
  GUARD_FAMILIES
} guard_family_t;

#define GUARD_HOURS 24

typedef struct {
  int64_t hour[GUARD_FAMILIES][GUARD_HOURS]; /* hour of each bucket */
  uint64_t count[GUARD_FAMILIES][GUARD_HOURS];
  double tasks[GUARD_FAMILIES]; /* tasks of the last 24 h; < 0: unknown */
} guard_window_t;

/* The family an incorrect report counts in; -1 for reportCorrectRecaptcha,
 * which the guard never holds back. */
int guard_family(report_method_t m);
/* The family of a queue, by its slug ("recaptcha_proxyless"); -1: none. */
int guard_family_of_slug(const char *slug);

void guard_window_init(guard_window_t *w);

/* The tasks of the last 24 hours per family, from one poll's series: the
 * queues of that family when the account polls any (all of them answered),
 * else the total (total_index; -1 when not polled). A family whose figure
 * this poll cannot give keeps the one it had. */
void guard_update_tasks(guard_window_t *w, const char *const *slugs,
                        const double *volumes, const bool *ok, size_t n,
                        long total_index);

/* Incorrect reports of the family admitted in the last 24 hours (whole
 * hours: the current one and the 23 before it). */
uint64_t guard_recent(const guard_window_t *w, int family, int64_t now);

/* Whether one more report keeps the family within share_percent of its
 * tasks. Unknown tasks (no poll has answered yet) hold nothing back: the
 * guard acts on figures, never on guesses. */
bool guard_allows(const guard_window_t *w, int family, double share_percent,
                  int64_t now);

/* Counts one admitted report (delta 1) or takes it back (-1). */
void guard_record(guard_window_t *w, int family, int64_t now, int delta);

#endif

/* The report-rate guard as the notification callback and the reader use it:
 * one per account with IncorrectReportShare, locked, logging once while it
 * withholds reports. */
#ifndef ANTICAPTCHA_REPORT_LIMIT_H
#define ANTICAPTCHA_REPORT_LIMIT_H

#include "config/configuration.h"
#include "model/report_match.h"

typedef struct report_limit_s report_limit_t;

/* NULL when out of memory. The account must outlive it. */
report_limit_t *limit_create(const account_t *a);
void limit_destroy(report_limit_t *l);

/* Called before a report is queued: true lets it through (and counts it in
 * the window), false withholds it (logged once; the caller counts it as the
 * sender's "withheld"). Thread-safe. */
bool limit_admit(report_limit_t *l, const report_request_t *req);
/* The admitted report was not queued after all (duplicate, late, full). */
void limit_undo(report_limit_t *l, const report_request_t *req);

/* From the reader, after each poll: the series' slugs, 24-hour volumes and
 * whether each answered; total_index: the total's series or -1. */
void limit_tasks(report_limit_t *l, const char *const *slugs,
                 const double *volumes, const bool *ok, size_t n,
                 long total_index);

#endif

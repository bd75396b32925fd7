/* What the spending reader makes of a getSpendingStats answer: queue slugs,
 * the 24-hour sums, and which hourly records are new since the last poll.
 * Pure: no collectd or curl calls. */
#ifndef ANTICAPTCHA_SPENDING_H
#define ANTICAPTCHA_SPENDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/response.h"

/* Longest slug accepted, so "<slug>-volume_24h" fits collectd's 128-byte
 * type instance. */
#define SPENDING_SLUG_MAX 100

/* Lowercases queue and turns every run of characters other than a-z0-9 into
 * one '_'; NULL (the total over all queues) becomes "all". Returns 0, or -1
 * when the slug is empty or longer than SPENDING_SLUG_MAX. */
int spending_slug(const char *queue, char *buf, size_t size);

typedef struct {
  double volume;
  double money;
} spending_sum_t;

spending_sum_t spending_sum(const spending_record_t *recs, size_t n);

/* Sorts recs by dateFrom and keeps, in place and oldest first, the records
 * that are finished (dateTill <= now) and end after last_till, each ending
 * strictly after the one before, so no timestamp is dispatched twice.
 * Returns how many were kept. */
size_t spending_new_records(spending_record_t *recs, size_t n,
                            int64_t last_till, int64_t now);

/* Catch-up after a gap longer than an answer covers (downtime, outage).
 * last_till: the newest hourly record dispatched (0: none, nothing to catch
 * up); cursor: the hour the previous catch-up request started at (0: none);
 * days: how far back to go. Returns the `date` to ask for next (the hour
 * after what is known, at most `days` back, never one asked before), or 0
 * when a plain request (the last 24 hours) covers the gap. */
int64_t spending_catch_up_date(int64_t last_till, int64_t cursor, int64_t now,
                               int days);

/* As a catch-up begins (or a plain request follows a gap): the hours after
 * last_till that lie more than `days` back from now's hour and are not
 * fetched, as [*from, *till) (hour starts). Returns false when none is left
 * out (or last_till is 0: nothing known). */
bool spending_left_out(int64_t last_till, int64_t now, int days, int64_t *from,
                       int64_t *till);

#endif

/* Queue slugs, 24-hour sums, new hourly records and catch-up dates. */
#include "model/spending.h"

#include <stdbool.h>
#include <stdlib.h>

int spending_slug(const char *queue, char *buf, size_t size) {
  static const char all[] = "all";
  size_t n = 0;
  bool in_run = false;

  if (size == 0)
    return -1;
  if (queue == NULL)
    queue = all;
  for (const char *p = queue; *p != 0; p++) {
    char c = *p;
    if (c >= 'A' && c <= 'Z')
      c = (char)(c - 'A' + 'a');
    bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!keep && in_run)
      continue;
    in_run = !keep;
    if (n + 1 >= size || n >= SPENDING_SLUG_MAX)
      return -1;
    buf[n++] = keep ? c : '_';
  }
  buf[n] = 0;
  return n == 0 ? -1 : 0;
}

spending_sum_t spending_sum(const spending_record_t *recs, size_t n) {
  spending_sum_t sum = {0, 0};
  for (size_t i = 0; i < n; i++) {
    sum.volume += recs[i].volume;
    sum.money += recs[i].money;
  }
  return sum;
}

static int by_date_from(const void *a, const void *b) {
  const spending_record_t *x = a, *y = b;
  return (x->date_from > y->date_from) - (x->date_from < y->date_from);
}

size_t spending_new_records(spending_record_t *recs, size_t n,
                            int64_t last_till, int64_t now) {
  size_t kept = 0;
  qsort(recs, n, sizeof(*recs), by_date_from);
  for (size_t i = 0; i < n; i++) {
    /* An hour still running would be dispatched half-counted and its final
     * figure then refused as "too old": wait until it has ended. */
    if (recs[i].date_till > now || recs[i].date_till <= last_till)
      continue;
    last_till = recs[i].date_till;
    recs[kept++] = recs[i];
  }
  return kept;
}

#define HOUR_SECONDS 3600
#define DAY_SECONDS (24 * HOUR_SECONDS)

static int64_t hour_of(int64_t t) { return t - t % HOUR_SECONDS; }

int64_t spending_catch_up_date(int64_t last_till, int64_t cursor, int64_t now,
                               int days) {
  if (last_till <= 0 || days <= 0 || now <= 0)
    return 0;
  /* A plain answer covers the 24 clock hours before this one. */
  int64_t covered = hour_of(now) - DAY_SECONDS;
  int64_t from = hour_of(last_till + 1);
  if (cursor > 0 && from < cursor + DAY_SECONDS)
    from = cursor + DAY_SECONDS; /* the previous page held nothing newer */
  if (from < hour_of(now) - (int64_t)days * DAY_SECONDS)
    from = hour_of(now) - (int64_t)days * DAY_SECONDS;
  return from < covered ? from : 0;
}

bool spending_left_out(int64_t last_till, int64_t now, int days, int64_t *from,
                       int64_t *till) {
  if (last_till <= 0 || now <= 0 || days < 0)
    return false;
  /* CatchUpDays 0 still has the plain answer's 24 hours. */
  *from = hour_of(last_till + 1);
  *till = hour_of(now) - (int64_t)(days > 1 ? days : 1) * DAY_SECONDS;
  return *from < *till;
}

/* The balance forecast: how many hours the balance lasts at the spending
 * rate of the last 24 hours, from the spending statistics or, for services
 * without them, from the balance's own fall. Pure: no collectd or curl
 * calls. */
#ifndef ANTICAPTCHA_FORECAST_H
#define ANTICAPTCHA_FORECAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The money spent in the last 24 hours from one poll's series: the total
 * (total_index) when polled and answered; else, when the account polls no
 * total, the sum over its queues if every one answered. Returns 0 and sets
 * *money, or -1 when this poll cannot tell. */
int forecast_money(const double *money, const bool *ok, size_t n,
                   long total_index, double *out);

/* balance / (money_24h / 24). Returns 0 and sets *hours, or -1 when nothing
 * was spent (the balance lasts for ever: no figure is true) or an input is
 * not a finite amount of 0 or more. */
int forecast_hours(double balance, double money_24h, double *hours);

/* The balance's falls between consecutive polls, summed per 5 minutes over
 * the last 24 hours: the money spent where no spending statistics exist. A
 * rise is a top-up and counts as no spending. */
#define TREND_BUCKET_SECONDS 300
#define TREND_BUCKETS (86400 / TREND_BUCKET_SECONDS + 1)
/* Less than this much seen, the rate is not told. */
#define TREND_MIN_SPAN 3600

typedef struct {
  int64_t start[TREND_BUCKETS]; /* a bucket's first second */
  double spent[TREND_BUCKETS];
  size_t newest, count;
  int64_t first; /* when the first balance was seen; 0: none yet */
  double last;   /* the balance seen last */
} balance_trend_t;

/* A balance seen at now (Unix seconds); not finite or negative is ignored. */
void trend_add(balance_trend_t *t, int64_t now, double balance);
/* The money spent in 24 hours at the rate the falls of the last 24 hours
 * show (scaled up when less is known). Returns 0 and sets *money_24h, or -1
 * while less than TREND_MIN_SPAN is known. */
int trend_money_24h(const balance_trend_t *t, int64_t now, double *money_24h);

#endif

/* The balance forecast: hours left at the last 24 hours' spending rate. */
#include "readers/forecast.h"

#include <math.h>

int forecast_money(const double *money, const bool *ok, size_t n,
                   long total_index, double *out) {
  if (total_index >= 0) {
    if (!ok[total_index])
      return -1;
    *out = money[total_index];
    return 0;
  }
  double sum = 0;
  for (size_t i = 0; i < n; i++) {
    if (!ok[i])
      return -1;
    sum += money[i];
  }
  if (n == 0)
    return -1;
  *out = sum;
  return 0;
}

int forecast_hours(double balance, double money_24h, double *hours) {
  if (!isfinite(balance) || !isfinite(money_24h) || balance < 0 ||
      !(money_24h > 0))
    return -1;
  *hours = balance / (money_24h / 24.0);
  return 0;
}

void trend_add(balance_trend_t *t, int64_t now, double balance) {
  if (!isfinite(balance) || balance < 0)
    return;
  if (t->first == 0) {
    t->first = now;
    t->last = balance;
    return;
  }
  double fall = t->last > balance ? t->last - balance : 0;
  t->last = balance;
  int64_t bucket = now - now % TREND_BUCKET_SECONDS;
  if (t->count == 0 || t->start[t->newest] != bucket) {
    t->newest = t->count == 0 ? 0 : (t->newest + 1) % TREND_BUCKETS;
    t->start[t->newest] = bucket;
    t->spent[t->newest] = 0;
    if (t->count < TREND_BUCKETS)
      t->count++;
  }
  t->spent[t->newest] += fall;
}

int trend_money_24h(const balance_trend_t *t, int64_t now, double *money_24h) {
  if (t->first == 0 || now - t->first < TREND_MIN_SPAN)
    return -1;
  int64_t span = now - t->first < 86400 ? now - t->first : 86400;
  double spent = 0;
  for (size_t i = 0; i < t->count; i++)
    if (t->start[i] >= now - 86400)
      spent += t->spent[i];
  *money_24h = spent * 86400.0 / (double)span;
  return 0;
}

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

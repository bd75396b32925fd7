/* The balance forecast: how many hours the balance lasts at the spending
 * rate of the last 24 hours. Pure: no collectd or curl calls. */
#ifndef ANTICAPTCHA_FORECAST_H
#define ANTICAPTCHA_FORECAST_H

#include <stdbool.h>
#include <stddef.h>

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

#endif

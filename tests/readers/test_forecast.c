/* Unit tests for plugin/readers/forecast.c: the balance forecast's
 * arithmetic, from spending and from the balance's fall. */
#include "readers/forecast.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static void test_hours(void **state) {
  (void)state;
  double h = -1;
  /* 24 USD a day is 1 USD an hour: 48 USD last 48 hours. */
  assert_int_equal(forecast_hours(48, 24, &h), 0);
  assert_true(h == 48);
  assert_int_equal(forecast_hours(12.345678, 7.4, &h), 0);
  /* 7.4 USD a day: 12.345678 USD last 12.345678 * 24 / 7.4 hours. */
  assert_true(fabs(h - 40.04003675675676) < 1e-9);
  assert_int_equal(forecast_hours(0, 3, &h), 0); /* nothing left */
  assert_true(h == 0);
}

/* Nothing spent, or figures that are not amounts: no forecast. */
static void test_no_forecast(void **state) {
  (void)state;
  double h = 4242;
  assert_int_equal(forecast_hours(10, 0, &h), -1);
  assert_int_equal(forecast_hours(10, -1, &h), -1);
  assert_int_equal(forecast_hours(-1, 5, &h), -1);
  assert_int_equal(forecast_hours(NAN, 5, &h), -1);
  assert_int_equal(forecast_hours(10, NAN, &h), -1);
  assert_int_equal(forecast_hours(INFINITY, 5, &h), -1);
  assert_true(h == 4242);
}

static void test_money_total_first(void **state) {
  (void)state;
  const double money[] = {1.5, 2.25, 10.0};
  bool ok[] = {true, false, true};
  double m = -1;
  /* The total (index 2) answered: it alone counts. */
  assert_int_equal(forecast_money(money, ok, 3, 2, &m), 0);
  assert_true(m == 10.0);
  ok[2] = false; /* the total failed: this poll cannot tell */
  assert_int_equal(forecast_money(money, ok, 3, 2, &m), -1);
}

static void test_money_queues_without_total(void **state) {
  (void)state;
  const double money[] = {1.5, 2.25};
  bool ok[] = {true, true};
  double m = -1;
  assert_int_equal(forecast_money(money, ok, 2, -1, &m), 0);
  assert_true(m == 3.75);
  ok[1] = false; /* a queue missing would understate the spending */
  assert_int_equal(forecast_money(money, ok, 2, -1, &m), -1);
  assert_int_equal(forecast_money(money, ok, 0, -1, &m), -1);
}

/* ---- the balance's own fall (services without spending statistics) ---- */

#define T0 1796000000 /* a multiple of 300 s */

static void test_trend_needs_an_hour(void **state) {
  (void)state;
  static balance_trend_t t; /* zeroed: nothing seen */
  double m = -1;
  assert_int_equal(trend_money_24h(&t, T0, &m), -1);
  trend_add(&t, T0, 10.0);
  trend_add(&t, T0 + 1800, 9.0);
  assert_int_equal(trend_money_24h(&t, T0 + 3599, &m), -1);
  assert_true(m == -1);
  /* An hour seen, 1 USD spent: 24 USD a day. */
  assert_int_equal(trend_money_24h(&t, T0 + 3600, &m), 0);
  assert_true(fabs(m - 24.0) < 1e-9);
}

static void test_trend_top_ups_and_bad_values(void **state) {
  (void)state;
  static balance_trend_t t;
  double m = -1;
  trend_add(&t, T0, 5.0);
  trend_add(&t, T0 + 600, 4.0);    /* 1 spent */
  trend_add(&t, T0 + 1200, 104.0); /* a top-up: no spending */
  trend_add(&t, T0 + 1800, NAN);   /* ignored */
  trend_add(&t, T0 + 2400, -3.0);  /* ignored */
  trend_add(&t, T0 + 3000, 103.5); /* 0.5 spent */
  assert_int_equal(trend_money_24h(&t, T0 + 7200, &m), 0);
  assert_true(fabs(m - 1.5 * 12) < 1e-9); /* 1.5 USD in 2 hours */
  /* Nothing spent: no forecast (forecast_hours refuses 0). */
  static balance_trend_t flat;
  trend_add(&flat, T0, 7.0);
  trend_add(&flat, T0 + 4000, 7.0);
  assert_int_equal(trend_money_24h(&flat, T0 + 4000, &m), 0);
  assert_true(m == 0);
  double h = 4242;
  assert_int_equal(forecast_hours(7.0, m, &h), -1);
}

static void test_trend_keeps_24_hours(void **state) {
  (void)state;
  static balance_trend_t t;
  double m = -1, balance = 1000;
  /* A poll a minute for two days, 0.01 USD each: 14.40 USD a day. */
  for (int64_t s = 0; s <= 2 * 86400; s += 60) {
    trend_add(&t, T0 + s, balance);
    balance -= 0.01;
  }
  assert_true(t.count == TREND_BUCKETS);
  assert_int_equal(trend_money_24h(&t, T0 + 2 * 86400, &m), 0);
  assert_true(fabs(m - 14.40) < 0.05);
  /* A day later with no poll in between: what is left of the window. */
  assert_int_equal(trend_money_24h(&t, T0 + 3 * 86400, &m), 0);
  assert_true(m < 0.1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hours),
      cmocka_unit_test(test_no_forecast),
      cmocka_unit_test(test_money_total_first),
      cmocka_unit_test(test_money_queues_without_total),
      cmocka_unit_test(test_trend_needs_an_hour),
      cmocka_unit_test(test_trend_top_ups_and_bad_values),
      cmocka_unit_test(test_trend_keeps_24_hours),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

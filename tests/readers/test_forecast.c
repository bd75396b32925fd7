/* Unit tests for plugin/forecast.c: the balance forecast's arithmetic. */
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hours),
      cmocka_unit_test(test_no_forecast),
      cmocka_unit_test(test_money_total_first),
      cmocka_unit_test(test_money_queues_without_total),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for plugin/readers/api_clock.c: the API's clock from its Date
 * headers, and steps of this host's wall clock. */
#include "readers/api_clock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#define S(x) TIME_T_TO_CDTIME_T(x)
#define WALL 1700000000

static void wall_clock_until_the_api_answers(void **state) {
  (void)state;
  api_clock_t c = {0};
  assert_false(api_clock_ready(&c));
  assert_int_equal(api_clock_now(&c, S(WALL), S(100)), WALL);
  api_clock_heard(&c, 0, S(100)); /* an answer without Date */
  assert_true(api_clock_ready(&c));
  assert_int_equal(api_clock_now(&c, S(WALL), S(100)), WALL);
}

/* Once heard, the API's time runs on with the monotonic clock, whatever the
 * wall clock says: off by two hours, or stepped 400 days ahead. */
static void the_api_time_runs_on_the_monotonic_clock(void **state) {
  (void)state;
  api_clock_t c = {0};
  api_clock_heard(&c, WALL, S(100));
  assert_int_equal(api_clock_now(&c, S(WALL - 7200), S(100)), WALL);
  assert_int_equal(api_clock_now(&c, S(WALL + 400 * 86400), S(130)), WALL + 30);
  /* The next answer's Date wins. */
  api_clock_heard(&c, WALL + 3600, S(140));
  assert_int_equal(api_clock_now(&c, S(WALL), S(141)), WALL + 3601);
}

static void a_step_is_found_once(void **state) {
  (void)state;
  int64_t offset = 0;
  assert_int_equal(clock_stepped(&offset, S(WALL), S(100)), 0);
  /* A poll later, slewed by a second: no step. */
  assert_int_equal(clock_stepped(&offset, S(WALL + 61), S(160)), 0);
  /* Back an hour. */
  assert_int_equal(clock_stepped(&offset, S(WALL + 121 - 3600), S(220)), -3600);
  assert_int_equal(clock_stepped(&offset, S(WALL + 181 - 3600), S(280)), 0);
  /* Forward 400 days. */
  assert_int_equal(
      clock_stepped(&offset, S(WALL + 241 - 3600 + 400 * 86400), S(340)),
      400 * 86400);
}

static void steps_read_well(void **state) {
  (void)state;
  char buf[512];
  assert_false(clock_step_text(0, buf, sizeof(buf)));
  assert_true(clock_step_text(400 * 86400, buf, sizeof(buf)));
  assert_non_null(strstr(buf, "stepped forward by 400 days."));
  assert_null(strstr(buf, "too old"));
  assert_true(clock_step_text(-86400, buf, sizeof(buf)));
  assert_non_null(strstr(buf, "stepped back by 24.0 hours."));
  /* After a step back collectd itself refuses values for a while. */
  assert_non_null(strstr(buf, "too old"));
  assert_true(clock_step_text(-3600, buf, sizeof(buf)));
  assert_non_null(strstr(buf, "by 60 minutes."));
  assert_true(clock_step_text(90, buf, sizeof(buf)));
  assert_non_null(strstr(buf, "by 90 seconds."));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(wall_clock_until_the_api_answers),
      cmocka_unit_test(the_api_time_runs_on_the_monotonic_clock),
      cmocka_unit_test(a_step_is_found_once),
      cmocka_unit_test(steps_read_well),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

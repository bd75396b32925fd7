/* Unit tests for plugin/util/mono_time.c: the monotonic clock and time
 * conversions that saturate instead of wrapping. */
#include "util/mono_time.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#define S(x) TIME_T_TO_CDTIME_T(x)
/* 2^34 s: one past what cdtime_t holds, in the year 2514. */
#define Y2514 17179869184LL

static void mono_now_moves_forward(void **state) {
  (void)state;
  cdtime_t a = mono_now();
  nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
  cdtime_t b = mono_now();
  assert_true(b > a);
  assert_true(b - a >= MS_TO_CDTIME_T(20));
  assert_true(b - a < S(5));
}

static void wall_times_move_to_the_monotonic_clock_and_back(void **state) {
  (void)state;
  cdtime_t wall = S(1700000000), mono = S(1000);
  assert_int_equal(mono_from_wall(wall + S(60), wall, mono), mono + S(60));
  assert_int_equal(mono_from_wall(wall - S(60), wall, mono), mono - S(60));
  assert_int_equal(wall_from_mono(mono + S(60), wall, mono), wall + S(60));
  assert_int_equal(wall_from_mono(mono - S(60), wall, mono), wall - S(60));
  /* Before the monotonic clock's start, and past cdtime_t's end. */
  assert_int_equal(mono_from_wall(S(1), wall, mono), 0);
  assert_int_equal(mono_from_wall(UINT64_MAX, wall, mono),
                   mono + (UINT64_MAX - wall));
  assert_int_equal(mono_from_wall(UINT64_MAX, S(10), S(20)), UINT64_MAX);
  assert_int_equal(wall_from_mono(UINT64_MAX, wall, mono), UINT64_MAX);
  assert_int_equal(wall_from_mono(0, S(10), S(20)), 0);
}

static void seconds_saturate(void **state) {
  (void)state;
  assert_int_equal(cdtime_from_seconds(0), 0);
  assert_int_equal(cdtime_from_seconds(-5), 0);
  assert_int_equal(cdtime_from_seconds(INT64_MIN), 0);
  assert_int_equal(cdtime_from_seconds(1700000000), S(1700000000));
  assert_int_equal(cdtime_from_seconds(Y2514 - 1), S(Y2514 - 1));
  assert_int_equal(cdtime_from_seconds(Y2514), UINT64_MAX);
  assert_int_equal(cdtime_from_seconds(INT64_MAX), UINT64_MAX);
}

static void milliseconds_saturate(void **state) {
  (void)state;
  assert_int_equal(cdtime_from_ms(0), 0);
  assert_int_equal(cdtime_from_ms(-1), 0);
  assert_int_equal(cdtime_from_ms(1500), S(1) + S(1) / 2);
  assert_int_equal(cdtime_from_ms(1700000000123LL),
                   MS_TO_CDTIME_T(1700000000123LL));
  assert_int_equal(cdtime_from_ms((Y2514 - 1) * 1000 + 999),
                   MS_TO_CDTIME_T((Y2514 - 1) * 1000 + 999));
  assert_int_equal(cdtime_from_ms(Y2514 * 1000), UINT64_MAX);
  assert_int_equal(cdtime_from_ms(INT64_MAX), UINT64_MAX);
}

static void add_and_sub_saturate(void **state) {
  (void)state;
  assert_int_equal(cdtime_add(S(1), S(2)), S(3));
  assert_int_equal(cdtime_add(UINT64_MAX - 1, 2), UINT64_MAX);
  assert_int_equal(cdtime_add(UINT64_MAX, UINT64_MAX), UINT64_MAX);
  assert_int_equal(cdtime_sub(S(3), S(2)), S(1));
  assert_int_equal(cdtime_sub(S(2), S(3)), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(mono_now_moves_forward),
      cmocka_unit_test(wall_times_move_to_the_monotonic_clock_and_back),
      cmocka_unit_test(seconds_saturate),
      cmocka_unit_test(milliseconds_saturate),
      cmocka_unit_test(add_and_sub_saturate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

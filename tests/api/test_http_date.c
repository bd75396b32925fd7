/* Unit tests for plugin/api/http_date.c: the three HTTP-date forms. */
#include "api/http_date.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

static void the_three_forms(void **state) {
  (void)state;
  int64_t t = 0;
  assert_int_equal(http_date_parse("Wed, 21 Oct 2015 07:28:05 GMT", &t), 0);
  assert_int_equal(t, 1445412485);
  assert_int_equal(http_date_parse("Wednesday, 21-Oct-15 07:28:05 GMT", &t), 0);
  assert_int_equal(t, 1445412485);
  assert_int_equal(http_date_parse("Wed Oct 21 07:28:05 2015", &t), 0);
  assert_int_equal(t, 1445412485);
  /* As a header's value comes: blanks before, a line end after. */
  assert_int_equal(http_date_parse(" Wed, 21 Oct 2015 07:28:05 GMT\r\n", &t),
                   0);
  assert_int_equal(t, 1445412485);
}

static void years_past_cdtime_range_are_kept(void **state) {
  (void)state;
  int64_t t = 0;
  assert_int_equal(http_date_parse("Fri, 31 Dec 9999 23:59:59 GMT", &t), 0);
  assert_int_equal(t, 253402300799LL);
  assert_int_equal(http_date_parse("Thu, 01 Jan 1970 00:00:00 GMT", &t), 0);
  assert_int_equal(t, 0);
}

static void anything_else_is_refused(void **state) {
  (void)state;
  int64_t t = 7;
  assert_int_equal(http_date_parse("", &t), -1);
  assert_int_equal(http_date_parse("120", &t), -1);
  assert_int_equal(http_date_parse("Wed, 21 Oct 2015 07:28", &t), -1);
  assert_int_equal(http_date_parse("Wed, 21 Oct 2015 07:28:05 GMT x", &t), -1);
  assert_int_equal(http_date_parse("yesterday", &t), -1);
  assert_int_equal(t, 7);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(the_three_forms),
      cmocka_unit_test(years_past_cdtime_range_are_kept),
      cmocka_unit_test(anything_else_is_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for plugin/util/grow.c: room made by doubling, within bounds. */
#include "util/grow.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void test_doubles_from_min(void **state) {
  (void)state;
  int *a = NULL;
  size_t cap = 0;
  assert_int_equal(grow_array((void **)&a, &cap, 1, sizeof(*a), 8, 0), 0);
  assert_int_equal(cap, 8);
  a[7] = 7;
  assert_int_equal(grow_array((void **)&a, &cap, 8, sizeof(*a), 8, 0), 0);
  assert_int_equal(cap, 8); /* enough already: untouched */
  assert_int_equal(grow_array((void **)&a, &cap, 9, sizeof(*a), 8, 0), 0);
  assert_int_equal(cap, 16);
  assert_int_equal(a[7], 7); /* kept */
  assert_int_equal(grow_array((void **)&a, &cap, 100, sizeof(*a), 8, 0), 0);
  assert_int_equal(cap, 128);
  free(a);
}

static void test_bounded_by_max(void **state) {
  (void)state;
  int *a = NULL;
  size_t cap = 0;
  assert_int_equal(grow_array((void **)&a, &cap, 5, sizeof(*a), 4, 6), 0);
  assert_int_equal(cap, 6); /* 8 would pass max */
  int *before = a;
  assert_int_equal(grow_array((void **)&a, &cap, 7, sizeof(*a), 4, 6), -1);
  assert_ptr_equal(a, before);
  assert_int_equal(cap, 6);
  free(a);
}

static void test_overflow_refused(void **state) {
  (void)state;
  char *a = NULL;
  size_t cap = 0;
  assert_int_equal(grow_array((void **)&a, &cap, SIZE_MAX / 2 + 1, 4, 8, 0),
                   -1);
  assert_null(a);
  assert_int_equal(cap, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_doubles_from_min),
      cmocka_unit_test(test_bounded_by_max),
      cmocka_unit_test(test_overflow_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

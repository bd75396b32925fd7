/* Unit tests for plugin/state/state_fields.c: a record's fields read as the
 * writer writes them, and the first reason a file is refused kept. */
#include "state/state_parse_internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static field_t num(long long i) { return (field_t){.type = F_INT, .i = i}; }

static field_t str(const char *s) {
  field_t f = {.type = F_STR};
  strncpy(f.s, s, sizeof(f.s) - 1);
  return f;
}

static void test_ints_in_range_only(void **state) {
  (void)state;
  long long v = 42;
  field_t f = num(7);
  assert_true(state_get_int(&f, 0, 10, &v));
  assert_int_equal(v, 7);
  assert_false(state_get_int(&f, 8, 10, &v));
  f = str("7");
  assert_false(state_get_int(&f, 0, 10, &v));
  assert_int_equal(v, 7); /* untouched */
}

/* Numbers as numbers, UUIDs as strings: digits in a string are refused. */
static void test_task_ids_as_written(void **state) {
  (void)state;
  task_id_t id;
  field_t f = num(74455221488);
  assert_true(state_get_task(&f, &id));
  assert_true(task_id_equal(id, TASK_ID_NUMBER(74455221488ULL)));
  f = str("4f0bc8a1-9e3d-4c62-8b1a-2d7e5f609a3c");
  assert_true(state_get_task(&f, &id));
  assert_true(id.hi == 0x4f0bc8a19e3d4c62ULL);
  f = str("12");
  assert_false(state_get_task(&f, &id));
  f = num(0);
  assert_false(state_get_task(&f, &id));
}

/* Times past 2^34 s (year 2514) are no file's. */
static void test_times_bounded(void **state) {
  (void)state;
  int64_t t;
  field_t f = num(STATE_MAX_SECONDS * 1000);
  assert_true(state_get_time(&f, &t));
  f = num(STATE_MAX_SECONDS * 1000 + 1);
  assert_false(state_get_time(&f, &t));
  f = num(-1);
  assert_false(state_get_time(&f, &t));
}

static void test_report_fields(void **state) {
  (void)state;
  field_t f[4] = {num(1001), str("reportIncorrectImageCaptcha"),
                  num(1700000000123), num(2)};
  state_report_t r;
  assert_true(state_get_report(f, &r));
  assert_true(task_id_equal(r.task_id, TASK_ID_NUMBER(1001)));
  assert_int_equal(r.method, REPORT_INCORRECT_IMAGE);
  assert_int_equal(r.completed_ms, 1700000000123);
  assert_int_equal(r.attempts, 2);
  f[3] = num(STATE_MAX_ATTEMPTS + 1);
  assert_false(state_get_report(f, &r));
  f[3] = num(2);
  f[1] = str("reportSomething");
  assert_false(state_get_report(f, &r));
}

/* The first reason stays; a failure stops yajl (0). Damage before the
 * snapshot is never a torn write. */
static void test_first_reason_kept(void **state) {
  (void)state;
  state_parser_t p;
  memset(&p, 0, sizeof(p));
  p.version = 2;
  assert_int_equal(state_fail(&p, "record %d is not a record", 3), 0);
  assert_true(p.failed);
  assert_false(p.torn);
  assert_int_equal(state_fail_at(&p, true, false, "later"), 0);
  assert_string_equal(p.why, "record 3 is not a record");
  assert_int_equal(state_replayed(&p, 0, "fine"), 1);
}

/* After the snapshot, a file that ends inside a record is a torn write. */
static void test_torn_after_the_snapshot(void **state) {
  (void)state;
  state_parser_t p;
  memset(&p, 0, sizeof(p));
  p.version = 2;
  p.snapshot_done = true;
  p.size = 1000;
  p.frame_start = 900;
  assert_int_equal(state_fail_at(&p, true, false, "cut"), 0);
  assert_true(p.torn);
  assert_non_null(strstr(p.why, "the last 100 bytes"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ints_in_range_only),
      cmocka_unit_test(test_task_ids_as_written),
      cmocka_unit_test(test_times_bounded),
      cmocka_unit_test(test_report_fields),
      cmocka_unit_test(test_first_reason_kept),
      cmocka_unit_test(test_torn_after_the_snapshot),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

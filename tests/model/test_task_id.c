/* Unit tests for plugin/model/task_id.c: the task ids a notification may
 * carry (decimal numbers, UUIDs) and their text. */
#include "model/task_id.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

/* ---- numbers ---- */

static void test_parse_task_id_good(void **state) {
  (void)state;
  static const struct {
    const char *s;
    uint64_t want;
  } good[] = {
      {"1", 1},
      {"7", 7},
      {"123456789", 123456789},
      {"74455221488", 74455221488ULL}, /* 2captcha: above 2^32 */
      {"9223372036854775807", 9223372036854775807ULL},
      {"0000000000000000042", 42},
  };
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    task_id_t v = {0, 0};
    if (task_id_parse(good[i].s, &v) != 0)
      fail_msg("\"%s\" refused", good[i].s);
    assert_true(v.hi == 0 && v.lo == good[i].want);
    assert_false(task_id_is_uuid(v));
  }
}

static void test_parse_task_id_refused(void **state) {
  (void)state;
  static const char *const bad[] = {
      "",
      "0",
      "00",
      "-1",
      "+1",
      " 1",
      "1 ",
      "1\n",
      "1e3",
      "0x10",
      "1.0",
      "1,000",
      "12345678901234567890", /* 20 digits */
      "00000000000000000001", /* 20 characters */
      "9223372036854775808",  /* INT64_MAX + 1 */
      "9999999999999999999",
      "18446744073709551615", /* UINT64_MAX */
      "18446744073709551616", /* would wrap to 0 */
      "1\",\"taskId\":2",
      "1\"",
      "abc",
      "\xef\xbc\x91", /* fullwidth digit one */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    task_id_t v = TASK_ID_NUMBER(4242);
    if (task_id_parse(bad[i], &v) == 0)
      fail_msg("\"%s\" accepted as %llu", bad[i], (unsigned long long)v.lo);
    assert_true(task_id_equal(v, TASK_ID_NUMBER(4242))); /* untouched */
  }
  task_id_t v = TASK_ID_NUMBER(4242);
  assert_int_equal(task_id_parse(NULL, &v), -1);
}

/* Leading zeros are kept (log lines may pad ids) and name the same task:
 * "0012" is task 12, so it is deduplicated against "12" and sent as 12
 * (README, Reports). At most 19 characters, zeros included. */
static void test_task_id_leading_zeros_same_task(void **state) {
  (void)state;
  task_id_t plain, padded, more;
  assert_int_equal(task_id_parse("12", &plain), 0);
  assert_int_equal(task_id_parse("0012", &padded), 0);
  assert_int_equal(task_id_parse("000000000000000012", &more), 0);
  assert_true(task_id_equal(plain, TASK_ID_NUMBER(12)) &&
              task_id_equal(padded, plain) && task_id_equal(more, plain));
  assert_int_equal(task_id_parse("00000000000000000012", &more), -1);
}

/* ---- UUIDs (CapSolver) ---- */

static void test_uuid_parsed_and_canonical(void **state) {
  (void)state;
  task_id_t id, upper;
  char text[TASK_ID_TEXT_MAX];
  assert_int_equal(task_id_parse("4f0bc8a1-9e3d-4c62-8b1a-2d7e5f609a3c", &id),
                   0);
  assert_true(task_id_is_uuid(id));
  assert_true(id.hi == 0x4f0bc8a19e3d4c62ULL);
  assert_true(id.lo == 0x8b1a2d7e5f609a3cULL);
  assert_string_equal(task_id_format(id, text),
                      "4f0bc8a1-9e3d-4c62-8b1a-2d7e5f609a3c");
  /* Either case names the same task; the text is lower case. */
  assert_int_equal(
      task_id_parse("4F0BC8A1-9E3D-4C62-8B1A-2D7E5F609A3C", &upper), 0);
  assert_true(task_id_equal(id, upper));
  assert_string_equal(task_id_format(upper, text),
                      "4f0bc8a1-9e3d-4c62-8b1a-2d7e5f609a3c");
  /* Leading zeros inside the groups are kept in the text. */
  assert_int_equal(task_id_parse("00000001-0002-0003-0004-000000000005", &id),
                   0);
  assert_string_equal(task_id_format(id, text),
                      "00000001-0002-0003-0004-000000000005");
  assert_true(id.hi == 0x0000000100020003ULL && id.lo == 0x0004000000000005ULL);
}

static void test_uuid_refused(void **state) {
  (void)state;
  static const char *const bad[] = {
      "00000000-0000-0000-0000-000000000000", /* nil */
      "00000000-0000-0000-8b1a-2d7e5f609a3c", /* no version: hi == 0 */
      "4f0bc8a19e3d-4c62-8b1a-2d7e5f609a3c-", /* dashes misplaced */
      "4f0bc8a1-9e3d-4c62-8b1a-2d7e5f609a3",  /* 35 characters */
      "4f0bc8a1-9e3d-4c62-8b1a-2d7e5f609a3c0",
      "{f0bc8a1-9e3d-4c62-8b1a-2d7e5f609a3c}",
      "4f0bc8a1-9e3d-4c62-8b1a-2d7e5f609a3g",
      "4f0bc8a1 9e3d 4c62 8b1a 2d7e5f609a3c",
      "4f0bc8a1-9e3d-4c62-8b1a-2d7e5f609a\"c",
      "4f0bc8a19e3d4c628b1a2d7e5f609a3c", /* no dashes */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    task_id_t v = TASK_ID_NUMBER(4242);
    if (task_id_parse(bad[i], &v) == 0)
      fail_msg("\"%s\" accepted", bad[i]);
    assert_true(task_id_equal(v, TASK_ID_NUMBER(4242)));
  }
}

/* ---- text, equality and the fold ---- */

static void test_format_numbers(void **state) {
  (void)state;
  char text[TASK_ID_TEXT_MAX];
  assert_string_equal(task_id_format(TASK_ID_NUMBER(1), text), "1");
  assert_string_equal(
      task_id_format(TASK_ID_NUMBER(9223372036854775807ULL), text),
      "9223372036854775807");
}

/* The fold of a number is the number: the seen set and the hub pair split
 * numbers as they did before UUIDs (a hub pair keeps its split across an
 * upgrade). A UUID folds both halves in. */
static void test_fold(void **state) {
  (void)state;
  assert_true(task_id_fold(TASK_ID_NUMBER(12345)) == 12345);
  task_id_t a = {.hi = 1, .lo = 7}, b = {.hi = 2, .lo = 7};
  assert_true(task_id_fold(a) != task_id_fold(b));
  assert_true(task_id_fold(a) == (0x9E3779B97F4A7C15ULL ^ 7));
  assert_false(task_id_equal(a, b));
  assert_false(task_id_equal(TASK_ID_NUMBER(7), a));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_task_id_good),
      cmocka_unit_test(test_parse_task_id_refused),
      cmocka_unit_test(test_task_id_leading_zeros_same_task),
      cmocka_unit_test(test_uuid_parsed_and_canonical),
      cmocka_unit_test(test_uuid_refused),
      cmocka_unit_test(test_format_numbers),
      cmocka_unit_test(test_fold),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

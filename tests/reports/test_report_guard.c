/* Unit tests for plugin/report_guard.c: families, the 24-hour window and the
 * IncorrectReportShare decision. */
#include "reports/report_guard.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define T0 1699999200 /* a whole hour */

static void test_families(void **state) {
  (void)state;
  assert_int_equal(guard_family(REPORT_INCORRECT_RECAPTCHA), GUARD_RECAPTCHA);
  assert_int_equal(guard_family(REPORT_INCORRECT_IMAGE), GUARD_IMAGE);
  assert_int_equal(guard_family(REPORT_INCORRECT_HCAPTCHA), GUARD_HCAPTCHA);
  assert_int_equal(guard_family(REPORT_CORRECT_RECAPTCHA), -1);
  assert_int_equal(guard_family_of_slug("recaptcha_proxyless"),
                   GUARD_RECAPTCHA);
  assert_int_equal(guard_family_of_slug("recaptcha_v3"), GUARD_RECAPTCHA);
  assert_int_equal(guard_family_of_slug("english_imagetotext"), GUARD_IMAGE);
  assert_int_equal(guard_family_of_slug("hcaptcha_proxyless"), GUARD_HCAPTCHA);
  assert_int_equal(guard_family_of_slug("funcaptcha"), -1);
  assert_int_equal(guard_family_of_slug("all"), -1);
}

/* Unknown tasks (no poll answered yet) hold nothing back. */
static void test_unknown_tasks_allow(void **state) {
  (void)state;
  guard_window_t w;
  guard_window_init(&w);
  for (int i = 0; i < 1000; i++) {
    assert_true(guard_allows(&w, GUARD_RECAPTCHA, 0.1, T0));
    guard_record(&w, GUARD_RECAPTCHA, T0, 1);
  }
  assert_int_equal(guard_recent(&w, GUARD_RECAPTCHA, T0), 1000);
}

/* 2 % of 200 tasks: 4 reports go, the 5th is held back; other families
 * are counted apart. */
static void test_threshold(void **state) {
  (void)state;
  guard_window_t w;
  guard_window_init(&w);
  const char *slugs[] = {"recaptcha_proxyless", "english_imagetotext", "all"};
  const double volumes[] = {200, 50, 1000};
  const bool ok[] = {true, true, true};
  guard_update_tasks(&w, slugs, volumes, ok, 3, 2);
  assert_true(w.tasks[GUARD_RECAPTCHA] == 200);
  assert_true(w.tasks[GUARD_IMAGE] == 50);
  assert_true(w.tasks[GUARD_HCAPTCHA] == 1000); /* not polled: the total */
  for (int i = 0; i < 4; i++) {
    assert_true(guard_allows(&w, GUARD_RECAPTCHA, 2.0, T0 + i));
    guard_record(&w, GUARD_RECAPTCHA, T0 + i, 1);
  }
  assert_false(guard_allows(&w, GUARD_RECAPTCHA, 2.0, T0 + 5));
  assert_true(guard_allows(&w, GUARD_RECAPTCHA, 2.5, T0 + 5)); /* 5 of 200 */
  assert_true(guard_allows(&w, GUARD_IMAGE, 2.0, T0 + 5));     /* 1 of 50 */
  guard_record(&w, GUARD_IMAGE, T0, 1);
  assert_false(guard_allows(&w, GUARD_IMAGE, 2.0, T0 + 5)); /* 2 of 50 */
  /* Taken back (not queued after all): room again. */
  guard_record(&w, GUARD_RECAPTCHA, T0 + 6, -1);
  assert_true(guard_allows(&w, GUARD_RECAPTCHA, 2.0, T0 + 6));
}

/* Reports older than 24 hours no longer count. */
static void test_window_slides(void **state) {
  (void)state;
  guard_window_t w;
  guard_window_init(&w);
  const char *slugs[] = {"all"};
  const double volumes[] = {100};
  const bool ok[] = {true};
  guard_update_tasks(&w, slugs, volumes, ok, 1, 0);
  guard_record(&w, GUARD_HCAPTCHA, T0, 1);
  assert_false(guard_allows(&w, GUARD_HCAPTCHA, 1.0, T0 + 3600));
  assert_int_equal(guard_recent(&w, GUARD_HCAPTCHA, T0 + 23 * 3600), 1);
  assert_int_equal(guard_recent(&w, GUARD_HCAPTCHA, T0 + 25 * 3600), 0);
  assert_true(guard_allows(&w, GUARD_HCAPTCHA, 1.0, T0 + 25 * 3600));
  /* A bucket reused a day later starts from 0. */
  guard_record(&w, GUARD_HCAPTCHA, T0 + 24 * 3600, 1);
  assert_int_equal(guard_recent(&w, GUARD_HCAPTCHA, T0 + 24 * 3600), 1);
}

/* A failed poll keeps the last figure; a family's queues must all answer. */
static void test_tasks_kept_on_failure(void **state) {
  (void)state;
  guard_window_t w;
  guard_window_init(&w);
  const char *slugs[] = {"recaptcha_proxyless", "recaptcha_v3", "all"};
  double volumes[] = {100, 300, 900};
  bool ok[] = {true, true, true};
  guard_update_tasks(&w, slugs, volumes, ok, 3, 2);
  assert_true(w.tasks[GUARD_RECAPTCHA] == 400);
  volumes[0] = 1;
  ok[1] = false;
  ok[2] = false;
  guard_update_tasks(&w, slugs, volumes, ok, 3, 2);
  assert_true(w.tasks[GUARD_RECAPTCHA] == 400);
  assert_true(w.tasks[GUARD_IMAGE] == 900);
  /* No total polled and no image queue: unknown stays unknown. */
  guard_window_init(&w);
  guard_update_tasks(&w, slugs, volumes, (bool[]){true, true, true}, 2, -1);
  assert_true(w.tasks[GUARD_IMAGE] < 0);
  assert_true(w.tasks[GUARD_RECAPTCHA] == 301);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_families),
      cmocka_unit_test(test_unknown_tasks_allow),
      cmocka_unit_test(test_threshold),
      cmocka_unit_test(test_window_slides),
      cmocka_unit_test(test_tasks_kept_on_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for plugin/reports/sender_changes.c: the log keeps changes in
 * order up to its maximum, past which it says it lost them and holds no
 * memory; moves keep the order and the loss. */
#include "reports/sender_changes.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

static sender_change_t change(uint64_t task) {
  report_job_t job = {.req = {.account = 3,
                              .method = REPORT_INCORRECT_IMAGE,
                              .task_id = TASK_ID_NUMBER(task),
                              .completed = 77},
                      .attempts = 100000};
  return sender_change_of(&job, CHANGE_ATTEMPT);
}

static void test_in_order_then_lost(void **unused) {
  (void)unused;
  sender_changes_t c = {0};
  sender_change_t ch = change(1);
  assert_int_equal(ch.account, 3);
  assert_int_equal(ch.method, REPORT_INCORRECT_IMAGE);
  assert_int_equal(ch.completed, 77);
  assert_int_equal(ch.attempts, UINT16_MAX);
  assert_int_equal(ch.kind, CHANGE_ATTEMPT);
  for (uint64_t i = 0; i < SENDER_CHANGES_MAX; i++) {
    ch = change(i);
    sender_changes_add(&c, &ch);
  }
  assert_int_equal(c.count, SENDER_CHANGES_MAX);
  assert_false(c.lost);
  assert_int_equal(c.items[1234].task_id.lo, 1234);
  sender_changes_add(&c, &ch);
  assert_true(c.lost);
  assert_null(c.items);
  assert_int_equal(c.count, 0);
  sender_changes_add(&c, &ch); /* nothing more until cleared */
  assert_int_equal(c.count, 0);
  sender_changes_clear(&c);
  assert_false(c.lost);
  sender_changes_free(&c);
}

static void test_move(void **unused) {
  (void)unused;
  sender_changes_t a = {0}, b = {0};
  sender_change_t ch = change(1);
  sender_changes_add(&a, &ch);
  ch = change(2);
  sender_changes_add(&b, &ch);
  ch = change(3);
  sender_changes_add(&b, &ch);
  sender_changes_move(&a, &b);
  assert_int_equal(a.count, 3);
  assert_int_equal(a.items[2].task_id.lo, 3);
  assert_int_equal(b.count, 0);
  b.lost = true;
  sender_changes_move(&a, &b);
  assert_true(a.lost);
  assert_false(b.lost);
  sender_changes_free(&a);
  sender_changes_free(&b);
}

static void test_snapshot_jobs(void **unused) {
  (void)unused;
  sender_snapshot_t s = {0};
  report_job_t job = {.attempts = 1};
  for (int i = 0; i < 1000; i++) {
    job.req.task_id = TASK_ID_NUMBER((uint64_t)i + 1);
    assert_int_equal(sender_snapshot_add_job(&s, &job), 0);
  }
  assert_int_equal(s.num_jobs, 1000);
  assert_int_equal(s.jobs[999].req.task_id.lo, 1000);
  sender_snapshot_free(&s);
  assert_int_equal(s.num_jobs, 0);
  assert_null(s.jobs);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_in_order_then_lost),
      cmocka_unit_test(test_move),
      cmocka_unit_test(test_snapshot_jobs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for plugin/state/state_pending.c: the pending reports follow
 * the changes (a report is its task id and completion time), stay in the
 * order queued, and what goes does not make memory grow. */
#include "state/state_pending.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#define SEC(s) TIME_T_TO_CDTIME_T(s)

static report_job_t job(uint64_t task, uint32_t account, cdtime_t completed) {
  return (report_job_t){.req = {.account = account,
                                .method = REPORT_INCORRECT_IMAGE,
                                .task_id = TASK_ID_NUMBER(task),
                                .completed = completed},
                        .deadline = completed + SEC(60),
                        .attempts = 1};
}

static int apply(state_pending_t *p, report_job_t j, change_kind_t kind,
                 unsigned attempts) {
  j.attempts = attempts;
  sender_change_t c = sender_change_of(&j, kind);
  c.expires = j.req.completed + SEC(61);
  return state_pending_apply(p, &c);
}

typedef struct {
  uint64_t task[16];
  unsigned attempts[16];
  int64_t expires[16];
  int n;
} seen_t;

static void collect(uint32_t account, const state_report_t *r,
                    int64_t expires_ms, void *ud) {
  seen_t *s = ud;
  (void)account;
  assert_int_equal(r->method, REPORT_INCORRECT_IMAGE);
  s->task[s->n] = r->task_id.lo;
  s->attempts[s->n] = r->attempts;
  s->expires[s->n++] = expires_ms;
}

static void test_follows_the_changes(void **unused) {
  (void)unused;
  state_pending_t *p = state_pending_new();
  sender_snapshot_t snap = {0};
  report_job_t j1 = job(1, 0, SEC(100)), j2 = job(2, 0, SEC(101));
  sender_snapshot_add_job(&snap, &j1);
  sender_snapshot_add_job(&snap, &j2);
  assert_int_equal(state_pending_reset(p, &snap), 0);
  assert_int_equal(apply(p, job(3, 0, SEC(102)), CHANGE_QUEUED, 0), 0);
  assert_int_equal(apply(p, j1, CHANGE_ATTEMPT, 4), 0);
  /* Another report of id 2 (another completion): not this one. */
  assert_int_equal(apply(p, job(2, 0, SEC(5)), CHANGE_GONE, 0), 0);
  /* Id 3 in another account: not this one either. */
  assert_int_equal(apply(p, job(3, 1, SEC(102)), CHANGE_GONE, 0), 0);
  assert_int_equal(apply(p, j2, CHANGE_GONE, 0), 0);
  /* Id 1 queued again (its window closed): it goes last. */
  assert_int_equal(apply(p, job(1, 0, SEC(200)), CHANGE_QUEUED, 0), 0);
  assert_true(state_pending_has(p, 0, TASK_ID_NUMBER(3), 999000));
  assert_false(state_pending_has(p, 0, TASK_ID_NUMBER(2), 999000));
  seen_t s = {.n = 0};
  state_pending_each(p, collect, &s);
  assert_int_equal(s.n, 2);
  assert_int_equal(s.task[0], 3);
  assert_int_equal(s.expires[0], 999000); /* raised by has() */
  assert_int_equal(s.task[1], 1);
  assert_int_equal(s.attempts[1], 0);
  assert_int_equal(s.expires[1], 261000);
  assert_int_equal(state_pending_count(p), 2);
  /* Reset forgets them all. */
  assert_int_equal(state_pending_reset(p, &snap), 0);
  s.n = 0;
  state_pending_each(p, collect, &s);
  assert_int_equal(s.n, 2);
  assert_int_equal(s.task[0], 1);
  assert_int_equal(s.attempts[0], 1);
  sender_snapshot_free(&snap);
  state_pending_free(p);
}

static void in_order(uint32_t account, const state_report_t *r,
                     int64_t expires_ms, void *ud) {
  uint64_t *last = ud;
  (void)account;
  (void)expires_ms;
  assert_true(r->task_id.lo > *last);
  *last = r->task_id.lo;
}

/* A million reports queued and settled, a few at a time: the gone ones are
 * compacted away (bounded memory, checked by ASan's and valgrind's runs
 * against its time), the pending ones kept in order. */
static void test_churn_stays_small(void **unused) {
  (void)unused;
  state_pending_t *p = state_pending_new();
  for (uint64_t i = 1; i <= 1000000; i++) {
    assert_int_equal(apply(p, job(i, 0, SEC(i)), CHANGE_QUEUED, 0), 0);
    if (i > 50)
      assert_int_equal(apply(p, job(i - 50, 0, SEC(i - 50)), CHANGE_GONE, 0),
                       0);
  }
  assert_int_equal(state_pending_count(p), 50);
  uint64_t last = 1000000 - 50;
  state_pending_each(p, in_order, &last);
  assert_int_equal(last, 1000000);
  state_pending_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_follows_the_changes),
      cmocka_unit_test(test_churn_stays_small),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

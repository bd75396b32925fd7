/* Unit tests for plugin/state/state_replay.c: records applied in order give
 * the state they describe (reports in queue order, a report settled only by
 * its own completion time), and the caps hold whatever the records: dead
 * entries make room, live ones past a cap refuse the file. */
#include "state/state_replay.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define T0 1700000000000
#define REP(task, completed)                                                   \
  (&(state_report_t){TASK_ID_NUMBER(task), REPORT_INCORRECT_RECAPTCHA,         \
                     completed, 0})

static char why[256];
#define OK(call) assert_int_equal(call, 0)
#define SEEN(task, expires) (&(state_seen_t){TASK_ID_NUMBER(task), expires})

static void test_order_and_settling(void **unused) {
  (void)unused;
  state_caps_t caps = {.reports = 10, .seen = 10};
  state_replay_t *r = state_replay_new(&caps);
  state_t st;
  OK(state_replay_account(r, 5, "main", why, sizeof(why)));
  OK(state_replay_seen(r, 5, SEEN(9, T0 + 100), why, sizeof(why)));
  OK(state_replay_report(r, 5, REP(2, T0), T0 + 60000, why, sizeof(why)));
  OK(state_replay_report(r, 5, REP(9, T0 + 1), 0, why, sizeof(why)));
  OK(state_replay_report(r, 5, REP(3, T0 + 2), T0 + 60002, why, sizeof(why)));
  /* Queued again: it goes behind the others. */
  OK(state_replay_report(r, 5, REP(2, T0 + 3), T0 + 60003, why, sizeof(why)));
  OK(state_replay_tries(r, 5, TASK_ID_NUMBER(3), T0 + 2, 4, why, sizeof(why)));
  /* Another completion time: another report, left alone. */
  OK(state_replay_done(r, 5, TASK_ID_NUMBER(9), T0 + 99, why, sizeof(why)));
  OK(state_replay_tries(r, 5, TASK_ID_NUMBER(9), T0 + 99, 7, why, sizeof(why)));
  OK(state_replay_done(r, 5, TASK_ID_NUMBER(77), T0, why, sizeof(why)));
  OK(state_replay_series(r, 5, "all", 100, false, why, sizeof(why)));
  OK(state_replay_series(r, 5, "all", 50, false, why, sizeof(why)));
  OK(state_replay_finish(r, &st));
  state_replay_free(r);
  const state_account_t *a = &st.accounts[0];
  assert_string_equal(a->name, "main");
  assert_int_equal(a->num_reports, 3);
  assert_int_equal(a->reports[0].task_id.lo, 9);
  assert_int_equal(a->reports[0].attempts, 0);
  assert_int_equal(a->reports[1].task_id.lo, 3);
  assert_int_equal(a->reports[1].attempts, 4);
  assert_int_equal(a->reports[2].task_id.lo, 2);
  assert_int_equal(a->reports[2].completed_ms, T0 + 3);
  /* Every id with its latest expiry, in the order first seen. */
  assert_int_equal(a->num_seen, 3);
  assert_int_equal(a->seen[0].task_id.lo, 9);
  assert_int_equal(a->seen[0].expires_ms, T0 + 100);
  assert_int_equal(a->seen[1].task_id.lo, 2);
  assert_int_equal(a->seen[1].expires_ms, T0 + 60003);
  assert_int_equal(state_series_last(a, "all"), 100);
  state_free(&st);
}

static void test_accounts(void **unused) {
  (void)unused;
  state_caps_t caps = {.reports = 10, .seen = 10};
  state_replay_t *r = state_replay_new(&caps);
  OK(state_replay_account(r, 0, "a", why, sizeof(why)));
  assert_int_equal(state_replay_account(r, 0, "b", why, sizeof(why)), -1);
  assert_int_equal(state_replay_account(r, 1, "a", why, sizeof(why)), -1);
  assert_non_null(strstr(why, "appears twice"));
  assert_int_equal(
      state_replay_account(r, STATE_ACCOUNTS_MAX, "c", why, sizeof(why)), -1);
  assert_int_equal(state_replay_account(r, 2, "", why, sizeof(why)), -1);
  assert_int_equal(state_replay_seen(r, 3, SEEN(1, 5), why, sizeof(why)), -1);
  assert_non_null(strstr(why, "not declared"));
  assert_int_equal(state_replay_series(r, 0, "x", 5, false, why, sizeof(why)),
                   0);
  assert_int_equal(state_replay_series(r, 0, "x", 6, true, why, sizeof(why)),
                   -1);
  state_replay_free(r);
}

/* At a cap, entries past their time give way; live ones refuse the file. */
static void test_caps(void **unused) {
  (void)unused;
  state_caps_t caps = {
      .reports = 2, .seen = 3, .now_ms = T0 + 1000, .window_ms = 60000};
  state_replay_t *r = state_replay_new(&caps);
  state_t st;
  OK(state_replay_account(r, 0, "a", why, sizeof(why)));
  /* Forgotten already: not even kept. */
  OK(state_replay_seen(r, 0, SEEN(1, T0), why, sizeof(why)));
  OK(state_replay_seen(r, 0, SEEN(2, T0 + 5000), why, sizeof(why)));
  OK(state_replay_seen(r, 0, SEEN(3, T0 + 5000), why, sizeof(why)));
  /* A report whose window closed: dead, and its id forgotten. */
  OK(state_replay_report(r, 0, REP(4, T0 - 70000), T0 - 10000, why,
                         sizeof(why)));
  OK(state_replay_report(r, 0, REP(5, T0), T0 + 60000, why, sizeof(why)));
  assert_int_equal(
      state_replay_seen(r, 0, SEEN(6, T0 + 5000), why, sizeof(why)), -1);
  assert_non_null(strstr(why, "more than 3 task ids"));
  state_replay_free(r);
  r = state_replay_new(&caps);
  OK(state_replay_account(r, 0, "a", why, sizeof(why)));
  OK(state_replay_report(r, 0, REP(1, T0), T0 + 60000, why, sizeof(why)));
  OK(state_replay_report(r, 0, REP(2, T0), T0 + 60000, why, sizeof(why)));
  OK(state_replay_report(r, 0, REP(1, T0 + 1), T0 + 60001, why, sizeof(why)));
  assert_int_equal(
      state_replay_report(r, 0, REP(3, T0), T0 + 60000, why, sizeof(why)), -1);
  assert_non_null(strstr(why, "more than 2 pending reports"));
  /* A settled one makes room. */
  OK(state_replay_done(r, 0, TASK_ID_NUMBER(2), T0, why, sizeof(why)));
  OK(state_replay_report(r, 0, REP(3, T0), T0 + 60000, why, sizeof(why)));
  OK(state_replay_finish(r, &st));
  assert_int_equal(st.accounts[0].num_reports, 2);
  state_free(&st);
  state_replay_free(r);
}

/* A million ids, within caps: read without a cap reached, in bounded time
 * (the index grows with them). */
static void test_many(void **unused) {
  (void)unused;
  state_caps_t caps = {.reports = 1000, .seen = 1 << 20};
  state_replay_t *r = state_replay_new(&caps);
  state_t st;
  OK(state_replay_account(r, 0, "a", why, sizeof(why)));
  for (uint64_t i = 1; i <= caps.seen; i++)
    OK(state_replay_seen(r, 0, SEEN(i, T0), why, sizeof(why)));
  assert_int_equal(
      state_replay_seen(r, 0, SEEN(0x7fffffff, T0), why, sizeof(why)), -1);
  OK(state_replay_finish(r, &st));
  assert_int_equal(st.accounts[0].num_seen, caps.seen);
  state_free(&st);
  state_replay_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_order_and_settling),
      cmocka_unit_test(test_accounts),
      cmocka_unit_test(test_caps),
      cmocka_unit_test(test_many),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

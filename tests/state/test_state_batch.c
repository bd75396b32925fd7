/* Unit tests for plugin/state/state_batch.c: the changes between two writes
 * come down to a line per report (two when an older report of its task id
 * ended meanwhile), and a snapshot reads back as the sender's jobs and ids;
 * both through the reader. */
#include "state/state_batch.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "state/state_parse.h"

#define SEC(s) TIME_T_TO_CDTIME_T(s)
#define T0 1700000000

static const char *const names[] = {"main", "other"};
static const state_names_t accounts = {names, 2};
static const state_caps_t caps = {.reports = 100, .seen = 100};

static report_job_t job(uint64_t task, cdtime_t completed, unsigned attempts) {
  return (report_job_t){.req = {.account = 0,
                                .method = REPORT_INCORRECT_RECAPTCHA,
                                .task_id = TASK_ID_NUMBER(task),
                                .completed = completed},
                        .deadline = completed + SEC(60),
                        .attempts = attempts};
}

static void change(sender_changes_t *c, report_job_t j, change_kind_t kind) {
  sender_change_t ch = sender_change_of(&j, kind);
  ch.expires = j.req.completed + SEC(61);
  sender_changes_add(c, &ch);
}

static const char *text_of(state_writer_t *w) {
  static char buf[4096];
  size_t len;
  const char *t = state_writer_text(w, &len);
  assert_true(len < sizeof(buf));
  memcpy(buf, t, len);
  buf[len] = 0;
  return buf;
}

static void test_changes_coalesced(void **unused) {
  (void)unused;
  sender_changes_t c = {0};
  state_batch_t *b = state_batch_new();
  state_writer_t *w = state_writer_new(NULL, NULL);
  state_t series;
  state_init(&series);
  state_set_series(state_account(&series, "other"), "all", T0);
  state_set_series(state_account(&series, "gone"), "all", T0);
  /* 1: queued, sent, answered: only its id is remembered. */
  change(&c, job(1, SEC(T0), 0), CHANGE_QUEUED);
  change(&c, job(1, SEC(T0), 1), CHANGE_ATTEMPT);
  /* 2: queued and sent twice, still pending. */
  change(&c, job(2, SEC(T0 + 1), 0), CHANGE_QUEUED);
  change(&c, job(1, SEC(T0), 1), CHANGE_GONE);
  change(&c, job(2, SEC(T0 + 1), 1), CHANGE_ATTEMPT);
  change(&c, job(2, SEC(T0 + 1), 2), CHANGE_ATTEMPT);
  /* 3 and 4: queued before this write; 3 sent again, 4 settled. */
  change(&c, job(3, SEC(T0 - 5), 2), CHANGE_ATTEMPT);
  change(&c, job(4, SEC(T0 - 5), 1), CHANGE_GONE);
  /* 5: an old report settled after a new one of the same id was queued. */
  change(&c, job(5, SEC(T0 + 2), 0), CHANGE_QUEUED);
  change(&c, job(5, SEC(T0 - 70), 1), CHANGE_GONE);
  assert_int_equal(state_batch_changes(b, w, accounts, &series, &c), 0);
  assert_string_equal(
      text_of(w),
      "[\"seen\",0,1,1700000061000]\n"
      "[\"report\",0,2,\"reportIncorrectRecaptcha\",1700000001000,2,"
      "1700000062000]\n"
      "[\"tries\",0,3,1699999995000,2]\n"
      "[\"done\",0,4,1699999995000]\n"
      "[\"done\",0,5,1699999930000]\n"
      "[\"report\",0,5,\"reportIncorrectRecaptcha\",1700000002000,0,"
      "1700000063000]\n"
      "[\"series\",1,\"all\",1700000000]\n");
  /* Nothing changed: nothing written. */
  state_writer_clear(w);
  sender_changes_clear(&c);
  assert_int_equal(state_batch_changes(b, w, accounts, NULL, &c), 0);
  assert_string_equal(text_of(w), "");
  /* Lost changes cannot be written as changes. */
  c.lost = true;
  assert_int_equal(state_batch_changes(b, w, accounts, NULL, &c), -1);
  sender_changes_free(&c);
  state_free(&series);
  state_writer_free(w);
  state_batch_free(b);
}

/* The whole state: the pending reports the batch keeps (the sender's jobs,
 * then the changes written since), the ids remembered given in batches. */
static void test_snapshot_reads_back(void **unused) {
  (void)unused;
  sender_snapshot_t snap = {0};
  sender_changes_t c = {0};
  state_batch_t *b = state_batch_new();
  state_writer_t *w = state_writer_new(NULL, NULL);
  report_job_t j1 = job(11, SEC(T0), 2), j2 = job(12, SEC(T0 + 1), 0);
  j2.req.account = 1;
  assert_int_equal(sender_snapshot_add_job(&snap, &j1), 0);
  assert_int_equal(sender_snapshot_add_job(&snap, &j2), 0);
  assert_int_equal(state_batch_set_pending(b, &snap), 0);
  /* Since: 15 queued, 12 answered (a change only applied, not written). */
  change(&c, job(15, SEC(T0 + 2), 0), CHANGE_QUEUED);
  change(&c, j2, CHANGE_GONE);
  assert_int_equal(state_batch_changes(b, NULL, accounts, NULL, &c), 0);
  const seen_entry_t seen[] = {
      {TASK_ID_NUMBER(11), 0, SEC(T0 + 70)},
      {TASK_ID_NUMBER(13), 0, SEC(T0 + 65)},
      {TASK_ID_NUMBER(14), 0, SEC(T0 - 1)},
      {TASK_ID_NUMBER(12), 1, SEC(T0 + 61)},
  };
  assert_int_equal(state_batch_snapshot_begin(b, w, accounts, NULL), 0);
  /* In two batches, as the sender hands them over. */
  assert_int_equal(state_batch_snapshot_seen(b, w, accounts, seen, 1, SEC(T0)),
                   0);
  assert_int_equal(
      state_batch_snapshot_seen(b, w, accounts, seen + 1, 3, SEC(T0)), 0);
  assert_int_equal(state_batch_snapshot_end(b, w, accounts), 0);
  const char *text = text_of(w);
  assert_string_equal(
      text, "[\"anticaptcha-state\",2]\n[\"account\",0,\"main\"]\n"
            "[\"account\",1,\"other\"]\n[\"seen\",0,13,1700000065000]\n"
            "[\"seen\",1,12,1700000061000]\n"
            "[\"report\",0,11,\"reportIncorrectRecaptcha\",1700000000000,2,"
            "1700000070000]\n"
            "[\"report\",0,15,\"reportIncorrectRecaptcha\",1700000002000,0,"
            "1700000063000]\n[\"snapshot\",7]\n");
  state_t st;
  char why[256];
  assert_int_equal(
      state_parse(text, strlen(text), &caps, &st, why, sizeof(why)),
      STATE_READ_OK);
  assert_int_equal(st.accounts[0].num_reports, 2);
  assert_int_equal(st.accounts[0].reports[0].attempts, 2);
  assert_int_equal(st.accounts[1].num_reports, 0);
  state_free(&st);
  sender_snapshot_free(&snap);
  sender_changes_free(&c);
  state_writer_free(w);
  state_batch_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_changes_coalesced),
      cmocka_unit_test(test_snapshot_reads_back),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

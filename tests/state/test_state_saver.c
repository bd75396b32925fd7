/* Unit tests for plugin/state/state_saver.c, its thread writing into a
 * temporary directory, the report sender played by the fakes below: the
 * first write is the whole state from the sender's jobs; then what changed
 * is appended; the whole state is written again once the appended part
 * outweighs it, or from the sender's jobs when its log was dropped; a
 * failed write is logged once and mended by the next; stopping writes what
 * is left. Each time, the file reads back as the sender's state. */
#include "state/state_saver.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_complain.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "state/state_journal.h"
#include "stubs.h"

#define SEC(s) TIME_T_TO_CDTIME_T(s)
#define T0 1700000000

/* ---- The sender, faked: its log, its jobs, its ids ---- */

static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static sender_changes_t fake_log;
static sender_snapshot_t fake_jobs;
static seen_entry_t fake_seen[64];
static size_t num_fake_seen;
static int snapshots_taken;

void sender_take_changes(report_sender_t *s, sender_changes_t *out) {
  (void)s;
  pthread_mutex_lock(&fake_lock);
  sender_changes_t mine = fake_log;
  fake_log = *out;
  *out = mine;
  pthread_mutex_unlock(&fake_lock);
}

int sender_take_snapshot(report_sender_t *s, sender_snapshot_t *out) {
  (void)s;
  pthread_mutex_lock(&fake_lock);
  out->num_jobs = 0;
  for (size_t i = 0; i < fake_jobs.num_jobs; i++)
    sender_snapshot_add_job(out, &fake_jobs.jobs[i]);
  sender_changes_clear(&fake_log);
  snapshots_taken++;
  pthread_mutex_unlock(&fake_lock);
  return 0;
}

int sender_each_seen(report_sender_t *s,
                     void (*fn)(const seen_entry_t *e, size_t n, void *ud),
                     void *ud) {
  (void)s;
  fn(fake_seen, num_fake_seen, ud);
  return 0;
}

/* ---- collectd, faked ---- */

cdtime_t cdtime(void) { return SEC(T0); }

int plugin_thread_create(pthread_t *thread, void *(*fn)(void *), void *arg,
                         char const *name) {
  (void)name;
  return pthread_create(thread, NULL, fn, arg);
}

/* ---- Helpers ---- */

static char dir[64], path[128];
static const char *const names[] = {"main"};
static const state_names_t accounts = {names, 1};
static const state_caps_t caps = {.reports = 100, .seen = 1000000};

static report_job_t job(uint64_t task) {
  return (report_job_t){.req = {.method = REPORT_INCORRECT_RECAPTCHA,
                                .task_id = TASK_ID_NUMBER(task),
                                .completed = SEC(T0)},
                        .deadline = SEC(T0 + 60)};
}

static void logged(report_job_t j, change_kind_t kind) {
  sender_change_t c = sender_change_of(&j, kind);
  c.expires = SEC(T0 + 61);
  pthread_mutex_lock(&fake_lock);
  sender_changes_add(&fake_log, &c);
  pthread_mutex_unlock(&fake_lock);
}

/* The file as read back, once pred holds of it: the saver is asked to
 * write (checkpoints) until then, for 30 s at most (valgrind is slow). */
static state_t write_until(state_saver_t *sv, bool (*pred)(const state_t *st)) {
  state_t st;
  bool missing;
  char why[256] = "";
  for (int i = 0; i < 3000; i++) {
    state_saver_checkpoint(sv);
    if (state_journal_read(path, &caps, &st, &missing, why, sizeof(why)) !=
            STATE_READ_DAMAGED &&
        pred(&st))
      return st;
    state_free(&st);
    usleep(10000);
  }
  fail_msg("the file never came to hold what it should (%s)", why);
  return st;
}

static size_t reports(const state_t *st) {
  return st->num_accounts ? st->accounts[0].num_reports : 0;
}
static size_t seen(const state_t *st) {
  return st->num_accounts ? st->accounts[0].num_seen : 0;
}
static bool has_job_1(const state_t *st) { return reports(st) == 1; }
static bool has_pending(const state_t *st) { return reports(st) > 0; }
static bool job_1_done_2_queued(const state_t *st) {
  return reports(st) == 1 && st->accounts[0].reports[0].task_id.lo == 2;
}
static bool nothing_pending(const state_t *st) {
  return st->num_accounts == 1 && reports(st) == 0;
}

static int setup(void **unused) {
  (void)unused;
  snprintf(dir, sizeof(dir), "/tmp/test-saver-XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/ac.state", dir);
  stub_log_reset();
  sender_changes_free(&fake_log);
  sender_snapshot_free(&fake_jobs);
  num_fake_seen = 0;
  snapshots_taken = 0;
  return 0;
}

static int teardown(void **unused) {
  (void)unused;
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  return system(cmd);
}

static off_t size_of(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 ? st.st_size : -1;
}

/* ---- Tests ---- */

static void test_whole_then_changes_then_stop(void **unused) {
  (void)unused;
  report_job_t j1 = job(1);
  sender_snapshot_add_job(&fake_jobs, &j1);
  fake_seen[num_fake_seen++] =
      (seen_entry_t){TASK_ID_NUMBER(9), 0, SEC(T0 + 30)};
  state_saver_t *sv = state_saver_new(path, accounts, NULL);
  assert_int_equal(state_saver_start(sv), 0);
  state_t st = write_until(sv, has_job_1);
  assert_int_equal(snapshots_taken, 1);
  assert_int_equal(seen(&st), 2); /* 9, and 1 with its report */
  state_free(&st);
  off_t whole = size_of(path);
  /* Report 1 answered, report 2 queued: appended, not rewritten. */
  logged(j1, CHANGE_GONE);
  logged(job(2), CHANGE_QUEUED);
  st = write_until(sv, job_1_done_2_queued);
  state_free(&st);
  assert_true(size_of(path) > whole);
  assert_int_equal(snapshots_taken, 1);
  /* A series, and 2 answered: written when it stops. */
  state_saver_series_set(sv, "main", "all", T0 - 3600);
  assert_int_equal(state_saver_series_last(sv, "main", "all"), T0 - 3600);
  logged(job(2), CHANGE_GONE);
  state_saver_stop(sv);
  st = write_until(sv, nothing_pending);
  assert_int_equal(state_series_last(&st.accounts[0], "all"), T0 - 3600);
  state_free(&st);
  state_saver_free(sv);
  assert_int_equal(stub_log_count_level(LOG_ERR), 0);
}

/* Changes dropped (too many, or memory): the next write is whole, from the
 * sender's jobs. */
static void test_lost_log_starts_fresh(void **unused) {
  (void)unused;
  state_saver_t *sv = state_saver_new(path, accounts, NULL);
  assert_int_equal(state_saver_start(sv), 0);
  state_t st = write_until(sv, nothing_pending);
  state_free(&st);
  assert_int_equal(snapshots_taken, 1);
  report_job_t j1 = job(1);
  pthread_mutex_lock(&fake_lock);
  sender_snapshot_add_job(&fake_jobs, &j1);
  fake_log.lost = true;
  pthread_mutex_unlock(&fake_lock);
  st = write_until(sv, has_job_1);
  state_free(&st);
  assert_int_equal(snapshots_taken, 2);
  state_saver_free(sv);
}

/* Past twice the whole state and STATE_APPEND_FLOOR appended, the whole
 * state again (the fake remembers no ids: the file shrinks to nothing), from
 * the pending reports the saver keeps, not from the sender's jobs. */
static void test_whole_again_past_the_floor(void **unused) {
  (void)unused;
  state_saver_t *sv = state_saver_new(path, accounts, NULL);
  assert_int_equal(state_saver_start(sv), 0);
  state_t st = write_until(sv, nothing_pending);
  state_free(&st);
  off_t last = size_of(path), largest = last;
  uint64_t task = 1;
  for (int round = 0; round < 40 && size_of(path) >= last; round++) {
    for (int i = 0; i < 20000; i++, task++) {
      logged(job(task), CHANGE_QUEUED);
      logged(job(task), CHANGE_GONE);
    }
    logged(job(task), CHANGE_QUEUED); /* pending: in the whole state */
    last = size_of(path);
    for (int i = 0; i < 3000 && size_of(path) == last; i++) {
      state_saver_checkpoint(sv);
      usleep(10000);
    }
    off_t now = size_of(path);
    while (usleep(50000) == 0 && size_of(path) != now)
      now = size_of(path); /* the write seen whole, not half way */
    largest = now > largest ? now : largest;
  }
  assert_true(size_of(path) < last);
  assert_true((uint64_t)largest > STATE_APPEND_FLOOR);
  st = write_until(sv, has_pending);
  state_free(&st);
  assert_true(size_of(path) < 4096);
  assert_int_equal(snapshots_taken, 1);
  state_saver_free(sv);
}

/* A write that fails is logged once; the next write is whole and mends
 * it, and says so. */
static void test_failed_write_logged_and_mended(void **unused) {
  (void)unused;
  char gone[160];
  snprintf(gone, sizeof(gone), "%s/sub/ac.state", dir);
  state_saver_t *sv = state_saver_new(gone, accounts, NULL);
  assert_int_equal(state_saver_start(sv), 0);
  state_saver_checkpoint(sv);
  for (int i = 0; i < 3000 && stub_log_count_level(LOG_ERR) == 0; i++)
    usleep(10000);
  state_saver_checkpoint(sv);
  usleep(100000);
  assert_int_equal(stub_log_count_level(LOG_ERR), 1);
  assert_true(stub_log_contains("cannot write the state file"));
  char sub[160];
  snprintf(sub, sizeof(sub), "%s/sub", dir);
  assert_int_equal(mkdir(sub, 0700), 0);
  state_saver_checkpoint(sv);
  for (int i = 0; i < 3000 && size_of(gone) < 0; i++)
    usleep(10000);
  state_saver_stop(sv);
  assert_true(size_of(gone) > 0);
  assert_true(stub_log_contains("is written again"));
  state_saver_free(sv);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_whole_then_changes_then_stop, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_lost_log_starts_fresh, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_whole_again_past_the_floor, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_failed_write_logged_and_mended,
                                      setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

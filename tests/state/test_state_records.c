/* Unit tests for plugin/state/state_records.c: a snapshot and the frames
 * appended after it read back as the state they describe; a file cut
 * anywhere after its snapshot reads as far as it goes (a crash's torn last
 * write), cut inside its snapshot or damaged before its last frame it is
 * refused; records out of place are refused. */
#include "state/state_parse.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const state_caps_t caps = {.reports = 100, .seen = 100};

#define T0 1700000000000
#define REP(task, completed, attempts)                                         \
  (&(state_report_t){TASK_ID_NUMBER(task), REPORT_INCORRECT_RECAPTCHA,         \
                     completed, attempts})

typedef struct {
  char text[8192];
  size_t len;
  size_t frame_at[4]; /* where each frame begins */
  int frames;
} file_t;

static void add(file_t *f, state_writer_t *w) {
  size_t len;
  const char *text = state_writer_text(w, &len);
  assert_true(f->len + len < sizeof(f->text));
  memcpy(f->text + f->len, text, len);
  f->len += len;
  state_writer_clear(w);
}

/* The snapshot: reports 1 (tried once) and 2, task 3 remembered. */
static void snapshot(file_t *f) {
  state_writer_t *w = state_writer_new(NULL, NULL);
  memset(f, 0, sizeof(*f));
  state_write_header(w);
  state_write_account(w, 0, "main");
  state_write_seen(w, 0, &(state_seen_t){TASK_ID_NUMBER(3), T0 + 60000});
  state_write_report(w, 0, REP(1, T0, 1), T0 + 60000);
  state_write_report(w, 0, REP(2, T0 + 5, 0), T0 + 60005);
  assert_int_equal(state_write_snapshot_end(w, state_writer_records(w)), 0);
  add(f, w);
  state_writer_free(w);
}

/* A frame of the records `body` wrote. */
static void frame(file_t *f, void (*body)(state_writer_t *)) {
  state_writer_t *w = state_writer_new(NULL, NULL), *head;
  size_t len;
  body(w);
  state_writer_text(w, &len);
  head = state_writer_new(NULL, NULL);
  assert_int_equal(state_write_frame(head, len), 0);
  f->frame_at[f->frames++] = f->len;
  add(f, head);
  add(f, w);
  state_writer_free(head);
  state_writer_free(w);
}

/* Report 1 settled, report 2 tried; report 4 queued, task 5 came and went. */
static void first(state_writer_t *w) {
  state_write_done(w, 0, TASK_ID_NUMBER(1), T0);
  state_write_tries(w, 0, TASK_ID_NUMBER(2), T0 + 5, 3);
  state_write_report(w, 0, REP(4, T0 + 9, 0), T0 + 60009);
  state_write_seen(w, 0, &(state_seen_t){TASK_ID_NUMBER(5), T0 + 60010});
}

/* Report 2 settled; an old report 4 (another completion) settled: the new
 * one stays; a series. */
static void second(state_writer_t *w) {
  state_write_done(w, 0, TASK_ID_NUMBER(2), T0 + 5);
  state_write_done(w, 0, TASK_ID_NUMBER(4), T0 - 70000);
  state_write_series(w, 0, "all", 1700000000);
}

static state_read_t read_back(const file_t *f, size_t len, state_t *st,
                              char *why) {
  return state_parse(f->text, len, &caps, st, why, 256);
}

static void test_frames_applied(void **unused) {
  (void)unused;
  file_t f;
  state_t st;
  char why[256];
  snapshot(&f);
  frame(&f, first);
  frame(&f, second);
  assert_int_equal(read_back(&f, f.len, &st, why), STATE_READ_OK);
  const state_account_t *a = &st.accounts[0];
  assert_int_equal(a->num_reports, 1);
  assert_int_equal(a->reports[0].task_id.lo, 4);
  assert_int_equal(a->num_seen, 5); /* 3, 1, 2, 4, 5: all remembered */
  assert_int_equal(state_series_last(a, "all"), 1700000000);
  state_free(&st);
  /* After the first frame only: report 2 carries its attempts. */
  assert_int_equal(read_back(&f, f.frame_at[1], &st, why), STATE_READ_OK);
  a = &st.accounts[0];
  assert_int_equal(a->num_reports, 2);
  assert_int_equal(a->reports[0].task_id.lo, 2);
  assert_int_equal(a->reports[0].attempts, 3);
  assert_int_equal(a->reports[1].task_id.lo, 4);
  state_free(&st);
}

/* A crash may cut the last write anywhere: what is before it is read, and
 * of the last frame the records that are whole. Cut inside the snapshot
 * (written whole, then renamed), the file is damaged. */
static void test_every_cut(void **unused) {
  (void)unused;
  file_t f;
  snapshot(&f);
  size_t snap_end = f.len;
  frame(&f, first);
  frame(&f, second);
  for (size_t cut = 0; cut < f.len; cut++) {
    state_t st;
    char why[256] = "";
    state_read_t r = read_back(&f, cut, &st, why);
    /* The snapshot's last line without its newline is whole. */
    if (cut + 1 < snap_end) {
      assert_int_equal(r, STATE_READ_DAMAGED);
      continue;
    }
    bool whole = cut == snap_end || cut == f.frame_at[1];
    if (cut + 1 == snap_end)
      whole = false;
    if (r != (whole ? STATE_READ_OK : STATE_READ_TORN))
      fail_msg("cut at %zu of %zu: %d (%s)", cut, f.len, r, why);
    /* The snapshot's reports, less those settled in whole records. */
    size_t n = st.accounts[0].num_reports;
    assert_true(n >= 1 && n <= 3);
    if (!whole)
      assert_non_null(strstr(why, "cut short"));
    state_free(&st);
  }
}

/* Blocks never written read as NULs: the last frame is torn, not the file
 * damaged. Anything else after the last frame is damage. */
static void test_tail_of_nuls_and_garbage(void **unused) {
  (void)unused;
  file_t f;
  state_t st;
  char why[256];
  snapshot(&f);
  frame(&f, first);
  size_t whole = f.len;
  frame(&f, second);
  memset(f.text + whole + 3, 0, f.len - whole - 3);
  assert_int_equal(read_back(&f, f.len, &st, why), STATE_READ_TORN);
  assert_int_equal(st.accounts[0].num_reports, 2);
  state_free(&st);
  memcpy(f.text + whole, "garbage\n", 8);
  assert_int_equal(read_back(&f, whole + 8, &st, why), STATE_READ_DAMAGED);
  /* A frame damaged before the last: refused. */
  snapshot(&f);
  frame(&f, first);
  frame(&f, second);
  f.text[f.frame_at[0] + 20] = '}';
  assert_int_equal(read_back(&f, f.len, &st, why), STATE_READ_DAMAGED);
}

static void damaged(const char *text, const char *reason) {
  state_t st;
  char why[256] = "";
  if (state_parse(text, strlen(text), &caps, &st, why, sizeof(why)) !=
      STATE_READ_DAMAGED)
    fail_msg("\"%s\" was read (%s)", text, why);
  if (strstr(why, reason) == NULL)
    fail_msg("\"%s\": reason \"%s\" lacks \"%s\"", text, why, reason);
}

#define HEAD "[\"anticaptcha-state\",2]\n[\"account\",0,\"a\"]\n"

static void test_records_out_of_place(void **unused) {
  (void)unused;
  damaged(HEAD "[\"tries\",0,1,5,1]\n[\"snapshot\",3]\n", "out of place");
  damaged(HEAD "[\"snapshot\",5]\n", "records it says");
  damaged(HEAD "[\"seen\",1,5,6]\n[\"snapshot\",3]\n", "not declared");
  damaged(HEAD "[\"account\",0,\"b\"]\n[\"snapshot\",3]\n", "twice");
  damaged(HEAD "[\"account\",1,\"a\"]\n[\"snapshot\",3]\n", "twice");
  damaged(HEAD "[\"seen\",0,5]\n[\"snapshot\",3]\n", "out of place");
  damaged(HEAD "[\"seen\",0,5,-6]\n[\"snapshot\",3]\n", "out of range");
  damaged(HEAD "[\"report\",0,5,\"x\",1,0,2]\n[\"snapshot\",3]\n",
          "out of range");
  damaged(HEAD "[\"weird\",0]\n[\"snapshot\",3]\n", "no kind");
  damaged(HEAD, "before its snapshot");
  damaged(HEAD "[\"snapshot\",2]\n[\"seen\",0,5,6]\n", "not where a write");
  damaged(HEAD "[\"snapshot\",2]\n[\"frame\",18]\n[\"account\",1,\"b\"]\n",
          "out of place");
  damaged(HEAD "[\"snapshot\",2]\n[\"frame\",4]\n[\"seen\",0,5,6]\n"
               "[\"frame\",0]\n",
          "crosses the end");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_frames_applied),
      cmocka_unit_test(test_every_cut),
      cmocka_unit_test(test_tail_of_nuls_and_garbage),
      cmocka_unit_test(test_records_out_of_place),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

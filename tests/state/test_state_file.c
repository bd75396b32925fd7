/* Unit tests for plugin/state/state_file.c: the state's entries stay in
 * range, each record's text is what doc/state-file.md says, and a whole
 * state formats to a text that reads back to the same state and text. */
#include "state/state_file.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "state/state_parse.h"

static const state_caps_t caps = {.reports = 100, .seen = 100};

static void fill(state_t *st) {
  state_init(st);
  assert_non_null(state_account(st, "main"));
  /* Adding an account may move the others: look them up afterwards. */
  state_account_t *b = state_account(st, "eu \"shop\"");
  state_account_t *a = state_account(st, "main");
  assert_non_null(b);
  assert_ptr_equal(a, &st->accounts[0]);
  assert_int_equal(
      state_add_report(a, &(state_report_t){TASK_ID_NUMBER(1001),
                                            REPORT_INCORRECT_RECAPTCHA,
                                            1700000000123, 2}),
      0);
  assert_int_equal(
      state_add_report(a, &(state_report_t){TASK_ID_NUMBER(INT64_MAX),
                                            REPORT_INCORRECT_IMAGE,
                                            1700000001000, 0}),
      0);
  assert_int_equal(
      state_add_seen(a, &(state_seen_t){TASK_ID_NUMBER(1001), 1700000060123}),
      0);
  assert_int_equal(
      state_add_seen(a, &(state_seen_t){TASK_ID_NUMBER(7), 1700000061000}), 0);
  assert_int_equal(state_set_series(a, "all", 1699999199), 0);
  assert_int_equal(state_set_series(a, "recaptcha_proxyless", 1699995599), 0);
  assert_int_equal(
      state_add_report(b, &(state_report_t){TASK_ID_NUMBER(42),
                                            REPORT_CORRECT_RECAPTCHA,
                                            1700000002000, 1}),
      0);
}

/* fill()'s state as the file holds it (doc/state-file.md), written out by
 * hand: the format is what an older or newer collectd reads, so a change
 * of it fails here, not only in a round trip through the same code. */
static const char FILLED[] =
    "[\"anticaptcha-state\",2]\n"
    "[\"account\",0,\"main\"]\n"
    "[\"series\",0,\"all\",1699999199]\n"
    "[\"series\",0,\"recaptcha_proxyless\",1699995599]\n"
    "[\"seen\",0,1001,1700000060123]\n"
    "[\"seen\",0,7,1700000061000]\n"
    "[\"report\",0,1001,\"reportIncorrectRecaptcha\",1700000000123,2,0]\n"
    "[\"report\",0,9223372036854775807,\"reportIncorrectImageCaptcha\","
    "1700000001000,0,0]\n"
    "[\"account\",1,\"eu \\\"shop\\\"\"]\n"
    "[\"report\",1,42,\"reportCorrectRecaptcha\",1700000002000,1,0]\n"
    "[\"snapshot\",10]\n";

static void test_round_trip(void **unused) {
  (void)unused;
  state_t st, back;
  char why[256] = "";
  size_t len = 0;
  fill(&st);
  char *text = state_format(&st, &len);
  assert_non_null(text);
  assert_string_equal(text, FILLED);
  assert_int_equal(strlen(text), len);
  assert_int_equal(text[len - 1], '\n');
  assert_int_equal(state_parse(text, len, &caps, &back, why, sizeof(why)),
                   STATE_READ_OK);
  assert_int_equal(back.num_accounts, 2);
  const state_account_t *a = state_find(&back, "main");
  assert_non_null(a);
  assert_int_equal(a->num_reports, 2);
  assert_int_equal(a->reports[0].task_id.lo, 1001);
  assert_int_equal(a->reports[0].method, REPORT_INCORRECT_RECAPTCHA);
  assert_int_equal(a->reports[0].completed_ms, 1700000000123);
  assert_int_equal(a->reports[0].attempts, 2);
  assert_int_equal(a->reports[1].task_id.lo, INT64_MAX);
  assert_int_equal(a->reports[1].method, REPORT_INCORRECT_IMAGE);
  assert_int_equal(a->num_seen, 2);
  assert_int_equal(a->seen[1].task_id.lo, 7);
  assert_int_equal(a->seen[1].expires_ms, 1700000061000);
  assert_int_equal(state_series_last(a, "all"), 1699999199);
  assert_int_equal(state_series_last(a, "recaptcha_proxyless"), 1699995599);
  assert_int_equal(state_series_last(a, "other"), 0);
  const state_account_t *b = state_find(&back, "eu \"shop\"");
  assert_non_null(b);
  assert_int_equal(b->reports[0].method, REPORT_CORRECT_RECAPTCHA);
  /* Formatting what was read gives the same text. */
  size_t len2 = 0;
  char *text2 = state_format(&back, &len2);
  assert_string_equal(text2, FILLED);
  free(text);
  free(text2);
  state_free(&st);
  state_free(&back);
  assert_int_equal(back.num_accounts, 0);
}

static void test_empty_state(void **unused) {
  (void)unused;
  state_t st, back;
  char why[128];
  size_t len;
  state_init(&st);
  char *text = state_format(&st, &len);
  assert_string_equal(text, "[\"anticaptcha-state\",2]\n[\"snapshot\",1]\n");
  assert_int_equal(state_parse(text, len, &caps, &back, why, sizeof(why)),
                   STATE_READ_OK);
  assert_int_equal(back.num_accounts, 0);
  free(text);
}

static void test_series_keeps_the_later(void **unused) {
  (void)unused;
  state_t st;
  state_init(&st);
  state_account_t *a = state_account(&st, "a");
  assert_int_equal(state_set_series(a, "all", 100), 0);
  assert_int_equal(state_set_series(a, "all", 50), 0);
  assert_int_equal(state_series_last(a, "all"), 100);
  assert_int_equal(state_set_series(a, "all", 200), 0);
  assert_int_equal(state_series_last(a, "all"), 200);
  assert_int_equal(a->num_series, 1);
  assert_int_equal(state_set_series(a, "", 5), -1);
  assert_int_equal(state_set_series(a, "x", -1), -1);
  assert_int_equal(state_set_series(a, "x", STATE_MAX_SECONDS + 1), -1);
  state_free(&st);
}

static void test_entries_out_of_range_refused(void **unused) {
  (void)unused;
  state_t st;
  state_init(&st);
  char long_name[STATE_NAME_MAX + 1];
  memset(long_name, 'x', sizeof(long_name) - 1);
  long_name[STATE_NAME_MAX] = 0;
  assert_null(state_account(&st, ""));
  assert_null(state_account(&st, long_name));
  state_account_t *a = state_account(&st, "a");
  const state_report_t bad[] = {
      {TASK_ID_NUMBER(0), 0, 1, 0},
      {TASK_ID_NUMBER((uint64_t)INT64_MAX + 1), 0, 1, 0},
      {TASK_ID_NUMBER(1), REPORT_METHOD_COUNT, 1, 0},
      {TASK_ID_NUMBER(1), 0, 1, STATE_MAX_ATTEMPTS + 1},
      {TASK_ID_NUMBER(1), 0, -1, 0},
      {TASK_ID_NUMBER(1), 0, STATE_MAX_SECONDS * 1000 + 1, 0},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
    assert_int_equal(state_add_report(a, &bad[i]), -1);
  assert_int_equal(state_add_seen(a, &(state_seen_t){TASK_ID_NUMBER(0), 1}),
                   -1);
  assert_int_equal(state_add_seen(a, &(state_seen_t){TASK_ID_NUMBER(1), -1}),
                   -1);
  assert_int_equal(a->num_reports + a->num_seen, 0);
  state_free(&st);
}

/* Each record's line, as doc/state-file.md shows it. */
static void test_records_text(void **unused) {
  (void)unused;
  task_id_t uuid;
  size_t len;
  assert_int_equal(task_id_parse("4f0bc8a1-9e3d-4c62-8b1a-2d7e5f609a3c", &uuid),
                   0);
  state_writer_t *w = state_writer_new(NULL, NULL);
  assert_int_equal(state_write_header(w), 0);
  assert_int_equal(state_write_account(w, 3, "main"), 0);
  assert_int_equal(state_write_series(w, 3, "all", 1700000000), 0);
  assert_int_equal(
      state_write_seen(w, 3,
                       &(state_seen_t){TASK_ID_NUMBER(12), 1700000060000}),
      0);
  assert_int_equal(
      state_write_report(
          w, 3,
          &(state_report_t){uuid, REPORT_INCORRECT_IMAGE, 1700000000000, 1},
          1700000060000),
      0);
  assert_int_equal(state_write_snapshot_end(w, 5), 0);
  assert_int_equal(state_write_frame(w, 99), 0);
  assert_int_equal(
      state_write_tries(w, 3, TASK_ID_NUMBER(12), 1700000000000, 2), 0);
  assert_int_equal(state_write_done(w, 3, TASK_ID_NUMBER(12), 1700000000000),
                   0);
  const char *text = state_writer_text(w, &len);
  const char *want =
      "[\"anticaptcha-state\",2]\n"
      "[\"account\",3,\"main\"]\n"
      "[\"series\",3,\"all\",1700000000]\n"
      "[\"seen\",3,12,1700000060000]\n"
      "[\"report\",3,\"4f0bc8a1-9e3d-4c62-8b1a-2d7e5f609a3c\","
      "\"reportIncorrectImageCaptcha\",1700000000000,1,1700000060000]\n"
      "[\"snapshot\",5]\n"
      "[\"frame\",99]\n"
      "[\"tries\",3,12,1700000000000,2]\n"
      "[\"done\",3,12,1700000000000]\n";
  assert_int_equal(len, strlen(want));
  assert_memory_equal(text, want, len);
  assert_int_equal(state_writer_records(w), 9);
  state_writer_clear(w);
  assert_int_equal(state_writer_records(w), 0);
  state_writer_text(w, &len);
  assert_int_equal(len, 0);
  state_writer_free(w);
}

/* A value the reader would refuse is never written, nor anything after it. */
static void test_writer_refuses_out_of_range(void **unused) {
  (void)unused;
  size_t len;
  state_writer_t *w = state_writer_new(NULL, NULL);
  assert_int_equal(state_write_account(w, STATE_ACCOUNTS_MAX, "a"), -1);
  state_writer_free(w);
  w = state_writer_new(NULL, NULL);
  assert_int_equal(
      state_write_seen(w, 0, &(state_seen_t){TASK_ID_NUMBER(0), 1}), -1);
  assert_int_equal(state_write_header(w), -1);
  state_writer_free(w);
  w = state_writer_new(NULL, NULL);
  assert_int_equal(state_write_account(w, 0, ""), -1);
  state_writer_free(w);
  w = state_writer_new(NULL, NULL);
  assert_int_equal(state_write_report(w, 0,
                                      &(state_report_t){TASK_ID_NUMBER(1), 0, 1,
                                                        STATE_MAX_ATTEMPTS + 1},
                                      0),
                   -1);
  state_writer_text(w, &len);
  assert_int_equal(len, 0); /* nothing of the refused record */
  state_writer_free(w);
}

/* Handed to out() a record at a time, the same text. */
typedef struct {
  char buf[4096];
  size_t len, calls;
} sink_t;

static void to_sink(void *ctx, const char *text, size_t len) {
  sink_t *k = ctx;
  assert_true(k->len + len < sizeof(k->buf));
  memcpy(k->buf + k->len, text, len);
  k->len += len;
  k->calls++;
}

static void test_writer_streams_the_same_text(void **unused) {
  (void)unused;
  sink_t sink = {.len = 0};
  size_t len;
  state_writer_t *kept = state_writer_new(NULL, NULL);
  state_writer_t *streamed = state_writer_new(to_sink, &sink);
  for (int i = 0; i < 50; i++) {
    state_seen_t s = {TASK_ID_NUMBER(1000 + (uint64_t)i), 1700000000000 + i};
    assert_int_equal(state_write_seen(kept, 0, &s), 0);
    assert_int_equal(state_write_seen(streamed, 0, &s), 0);
  }
  const char *text = state_writer_text(kept, &len);
  assert_int_equal(sink.len, len);
  assert_memory_equal(sink.buf, text, len);
  assert_true(sink.calls >= 50); /* handed over as it was made */
  state_writer_free(kept);
  state_writer_free(streamed);
}

/* CapSolver's UUIDs are written as strings and read back as UUIDs. */
static void test_uuid_task_ids_round_trip(void **unused) {
  (void)unused;
  state_t st, back;
  char why[256] = "";
  size_t len = 0;
  task_id_t uuid;
  assert_int_equal(task_id_parse("4f0bc8a1-9e3d-4c62-8b1a-2d7e5f609a3c", &uuid),
                   0);
  state_init(&st);
  state_account_t *a = state_account(&st, "solver");
  assert_int_equal(
      state_add_report(
          a, &(state_report_t){uuid, REPORT_INCORRECT_IMAGE, 1700000000123, 1}),
      0);
  assert_int_equal(state_add_seen(a, &(state_seen_t){uuid, 1700000060123}), 0);
  char *text = state_format(&st, &len);
  assert_non_null(text);
  assert_non_null(strstr(text, "\"4f0bc8a1-9e3d-4c62-8b1a-2d7e5f609a3c\","));
  assert_int_equal(state_parse(text, len, &caps, &back, why, sizeof(why)),
                   STATE_READ_OK);
  const state_account_t *b = state_find(&back, "solver");
  assert_non_null(b);
  assert_true(task_id_equal(b->reports[0].task_id, uuid));
  assert_true(task_id_equal(b->seen[0].task_id, uuid));
  free(text);
  state_free(&st);
  state_free(&back);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_empty_state),
      cmocka_unit_test(test_series_keeps_the_later),
      cmocka_unit_test(test_entries_out_of_range_refused),
      cmocka_unit_test(test_records_text),
      cmocka_unit_test(test_writer_refuses_out_of_range),
      cmocka_unit_test(test_writer_streams_the_same_text),
      cmocka_unit_test(test_uuid_task_ids_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

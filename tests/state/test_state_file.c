/* Unit tests for plugin/state_file.c: the state file's text round-trips, and
 * every kind of damaged file is refused whole, with a reason. */
#include "state/state_file.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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
    "{\"version\":1,\"accounts\":["
    "{\"name\":\"main\","
    "\"reports\":[[1001,\"reportIncorrectRecaptcha\",1700000000123,2],"
    "[9223372036854775807,\"reportIncorrectImageCaptcha\",1700000001000,0]],"
    "\"seen\":[[1001,1700000060123],[7,1700000061000]],"
    "\"series\":{\"all\":1699999199,\"recaptcha_proxyless\":1699995599}},"
    "{\"name\":\"eu \\\"shop\\\"\","
    "\"reports\":[[42,\"reportCorrectRecaptcha\",1700000002000,1]],"
    "\"seen\":[],\"series\":{}}]}\n";

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
  assert_int_equal(state_parse(text, len, &back, why, sizeof(why)), 0);
  assert_int_equal(back.num_accounts, 2);
  const state_account_t *a = state_find(&back, "main");
  assert_non_null(a);
  assert_int_equal(a->num_reports, 2);
  assert_true(task_id_equal(a->reports[0].task_id, TASK_ID_NUMBER(1001)));
  assert_int_equal(a->reports[0].method, REPORT_INCORRECT_RECAPTCHA);
  assert_int_equal(a->reports[0].completed_ms, 1700000000123);
  assert_int_equal(a->reports[0].attempts, 2);
  assert_true(task_id_equal(a->reports[1].task_id, TASK_ID_NUMBER(INT64_MAX)));
  assert_int_equal(a->reports[1].method, REPORT_INCORRECT_IMAGE);
  assert_int_equal(a->num_seen, 2);
  assert_true(task_id_equal(a->seen[1].task_id, TASK_ID_NUMBER(7)));
  assert_int_equal(a->seen[1].expires_ms, 1700000061000);
  assert_int_equal(state_series_last(a, "all"), 1699999199);
  assert_int_equal(state_series_last(a, "recaptcha_proxyless"), 1699995599);
  assert_int_equal(state_series_last(a, "other"), 0);
  const state_account_t *b = state_find(&back, "eu \"shop\"");
  assert_non_null(b);
  assert_int_equal(b->reports[0].method, REPORT_CORRECT_RECAPTCHA);
  /* Formatting what was parsed gives the same text. */
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
  assert_string_equal(text, "{\"version\":1,\"accounts\":[]}\n");
  assert_int_equal(state_parse(text, len, &back, why, sizeof(why)), 0);
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
  assert_int_equal(
      state_add_report(a, &(state_report_t){TASK_ID_NUMBER(0), 0, 1, 0}), -1);
  assert_int_equal(
      state_add_report(
          a,
          &(state_report_t){TASK_ID_NUMBER((uint64_t)INT64_MAX + 1), 0, 1, 0}),
      -1);
  assert_int_equal(
      state_add_report(
          a, &(state_report_t){TASK_ID_NUMBER(1), REPORT_METHOD_COUNT, 1, 0}),
      -1);
  assert_int_equal(
      state_add_report(a, &(state_report_t){TASK_ID_NUMBER(1), 0, 1,
                                            STATE_MAX_ATTEMPTS + 1}),
      -1);
  assert_int_equal(state_add_seen(a, &(state_seen_t){TASK_ID_NUMBER(0), 1}),
                   -1);
  assert_int_equal(a->num_reports + a->num_seen, 0);
  state_free(&st);
}

/* Refused whole, with a reason that names what is wrong. */
static void refused(const char *text, size_t len, const char *reason) {
  state_t st;
  char why[256] = "";
  assert_int_equal(state_parse(text, len, &st, why, sizeof(why)), -1);
  assert_int_equal(st.num_accounts, 0);
  assert_null(st.accounts);
  if (strstr(why, reason) == NULL)
    fail_msg("\"%.60s\": reason \"%s\" lacks \"%s\"", text, why, reason);
}

#define REFUSED(text, reason) refused(text, strlen(text), reason)

static void test_damaged_files_refused(void **unused) {
  (void)unused;
  REFUSED("", "empty");
  REFUSED("{\"version\":1,\"accounts\":[{\"name\":\"main\",\"rep",
          "not valid JSON");
  REFUSED("garbage\n", "not valid JSON");
  REFUSED("[]", "not a state file");
  REFUSED("{\"accounts\":[]}", "not a state file");
  REFUSED("{\"version\":\"1\",\"accounts\":[]}", "not a state file");
  REFUSED("{\"version\":2,\"accounts\":[]}", "another version");
  REFUSED("{\"version\":0,\"accounts\":[]}", "another version");
  REFUSED("{\"version\":1}", "no list of accounts");
  REFUSED("{\"version\":1,\"accounts\":{}}", "no list of accounts");
  REFUSED("{\"version\":1,\"accounts\":[5]}", "not an object");
  REFUSED("{\"version\":1,\"accounts\":[{\"name\":\"\"}]}",
          "empty or too long");
  REFUSED("{\"version\":1,\"accounts\":[{\"name\":\"a\"},{\"name\":\"a\"}]}",
          "appears twice");
  REFUSED("{\"version\":1,\"accounts\":[{\"name\":\"a\",\"reports\":{}}]}",
          "not an object");
  /* Reports: tuple shape, task id, method, time, attempts. */
  const char *bad_reports[] = {
      "[1,\"reportIncorrectRecaptcha\",5]",
      "[0,\"reportIncorrectRecaptcha\",5,1]",
      "[-3,\"reportIncorrectRecaptcha\",5,1]",
      "[9223372036854775808,\"reportIncorrectRecaptcha\",5,1]",
      "[1.5,\"reportIncorrectRecaptcha\",5,1]",
      "[\"1\",\"reportIncorrectRecaptcha\",5,1]",
      "[1,\"reportSomething\",5,1]",
      "[1,3,5,1]",
      "[1,\"reportIncorrectRecaptcha\",-5,1]",
      "[1,\"reportIncorrectRecaptcha\",17179869184001,1]",
      "[1,\"reportIncorrectRecaptcha\",5,1001]",
      "[1,\"reportIncorrectRecaptcha\",5,1,0]",
      "{}",
  };
  for (size_t i = 0; i < sizeof(bad_reports) / sizeof(*bad_reports); i++) {
    char text[256];
    snprintf(text, sizeof(text),
             "{\"version\":1,\"accounts\":[{\"name\":\"a\",\"reports\":[%s]}]}",
             bad_reports[i]);
    REFUSED(text, "report 1 is not");
  }
  REFUSED("{\"version\":1,\"accounts\":[{\"name\":\"a\",\"seen\":[[1]]}]}",
          "remembered task 1 is not");
  REFUSED("{\"version\":1,\"accounts\":[{\"name\":\"a\",\"seen\":[[1,-1]]}]}",
          "remembered task 1 is not");
  REFUSED("{\"version\":1,\"accounts\":[{\"name\":\"a\",\"series\":"
          "{\"all\":\"5\"}}]}",
          "series 1 is not");
  REFUSED("{\"version\":1,\"accounts\":[{\"name\":\"a\",\"series\":"
          "{\"all\":5,\"all\":6}}]}",
          "series 2 is not");
  /* Deep nesting is refused before a tree is built. */
  char deep[4096];
  memset(deep, '[', sizeof(deep) - 1);
  deep[sizeof(deep) - 1] = 0;
  REFUSED(deep, "nested deeper");
  /* A NUL byte inside. */
  refused("{\"version\":1,\0\"accounts\":[]}", 26, "NUL");
}

/* A valid file cut anywhere is refused, never half read. */
static void test_every_truncation_refused(void **unused) {
  (void)unused;
  state_t st;
  size_t len;
  fill(&st);
  char *text = state_format(&st, &len);
  /* Up to the closing brace: only the newline may go. */
  for (size_t cut = 0; cut + 1 < len; cut++) {
    state_t back;
    char why[256];
    if (state_parse(text, cut, &back, why, sizeof(why)) == 0)
      fail_msg("a file cut at %zu of %zu bytes was accepted", cut, len);
    assert_int_equal(back.num_accounts, 0);
  }
  free(text);
  state_free(&st);
}

/* CapSolver's UUIDs are written as strings and read back as UUIDs; a
 * number is written as a number only, so a string holding digits is
 * refused. */
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
  assert_non_null(strstr(text, "[\"4f0bc8a1-9e3d-4c62-8b1a-2d7e5f609a3c\","));
  assert_int_equal(state_parse(text, len, &back, why, sizeof(why)), 0);
  const state_account_t *b = state_find(&back, "solver");
  assert_non_null(b);
  assert_true(task_id_equal(b->reports[0].task_id, uuid));
  assert_true(task_id_equal(b->seen[0].task_id, uuid));
  free(text);
  state_free(&st);
  state_free(&back);
  REFUSED("{\"version\":1,\"accounts\":[{\"name\":\"a\",\"seen\":"
          "[[\"12\",5]]}]}",
          "remembered task 1 is not");
  REFUSED("{\"version\":1,\"accounts\":[{\"name\":\"a\",\"seen\":"
          "[[\"00000000-0000-0000-0000-000000000000\",5]]}]}",
          "remembered task 1 is not");
}

/* Unknown members are ignored: a later minor change may add some. */
static void test_unknown_members_ignored(void **unused) {
  (void)unused;
  const char *text = "{\"version\":1,\"written\":5,\"accounts\":[{\"name\":"
                     "\"a\",\"extra\":[1,2],\"seen\":[[3,4]]}]}";
  state_t st;
  char why[128];
  assert_int_equal(state_parse(text, strlen(text), &st, why, sizeof(why)), 0);
  assert_int_equal(st.accounts[0].num_seen, 1);
  state_free(&st);
}

/* The streaming writer makes the same text, piece by piece. */
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
  state_t st;
  sink_t sink = {.len = 0};
  fill(&st);
  state_writer_t *w = state_writer_new(to_sink, &sink);
  for (size_t i = 0; i < st.num_accounts; i++) {
    const state_account_t *a = &st.accounts[i];
    assert_int_equal(state_writer_account(w, a->name), 0);
    for (size_t k = 0; k < a->num_reports; k++)
      assert_int_equal(state_writer_report(w, &a->reports[k]), 0);
    for (size_t k = 0; k < a->num_seen; k++)
      assert_int_equal(state_writer_seen(w, &a->seen[k]), 0);
    for (size_t k = 0; k < a->num_series; k++)
      assert_int_equal(
          state_writer_series(w, a->series[k].slug, a->series[k].last_till), 0);
  }
  assert_int_equal(state_writer_finish(w), 0);
  state_writer_free(w);
  /* Not compared with state_format's text: that is this writer's too. */
  assert_int_equal(sink.len, strlen(FILLED));
  assert_memory_equal(sink.buf, FILLED, sink.len);
  assert_true(sink.calls > 1); /* handed over as it was made */
  state_free(&st);
}

static void test_writer_order_enforced(void **unused) {
  (void)unused;
  sink_t sink = {.len = 0};
  state_writer_t *w = state_writer_new(to_sink, &sink);
  /* Nothing before an account. */
  assert_int_equal(state_writer_seen(w, &(state_seen_t){TASK_ID_NUMBER(1), 2}),
                   -1);
  state_writer_free(w);
  w = state_writer_new(to_sink, &sink);
  assert_int_equal(state_writer_account(w, "a"), 0);
  assert_int_equal(state_writer_seen(w, &(state_seen_t){TASK_ID_NUMBER(1), 2}),
                   0);
  /* A report after the seen list: refused, and so is all that follows. */
  assert_int_equal(
      state_writer_report(w, &(state_report_t){TASK_ID_NUMBER(1), 0, 1, 0}),
      -1);
  assert_int_equal(state_writer_account(w, "b"), -1);
  assert_int_equal(state_writer_finish(w), -1);
  state_writer_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_empty_state),
      cmocka_unit_test(test_series_keeps_the_later),
      cmocka_unit_test(test_entries_out_of_range_refused),
      cmocka_unit_test(test_damaged_files_refused),
      cmocka_unit_test(test_every_truncation_refused),
      cmocka_unit_test(test_uuid_task_ids_round_trip),
      cmocka_unit_test(test_unknown_members_ignored),
      cmocka_unit_test(test_writer_streams_the_same_text),
      cmocka_unit_test(test_writer_order_enforced),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

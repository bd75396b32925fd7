/* Unit tests for plugin/state/state_v1.c: files as 0.3 wrote them (one
 * object) are read, task ids as numbers or UUID strings; every kind of
 * damage is refused whole, with a reason in which a name from the file is
 * escaped. */
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

static const char v1_text[] =
    "{\"version\":1,\"accounts\":[{\"name\":\"main\",\"reports\":["
    "[1001,\"reportIncorrectRecaptcha\",1700000000123,2],"
    "[9223372036854775807,\"reportIncorrectImageCaptcha\",1700000001000,0]],"
    "\"seen\":[[1001,1700000060123],[7,1700000061000]],"
    "\"series\":{\"all\":1699999199,\"recaptcha_proxyless\":1699995599}},"
    "{\"name\":\"eu \\\"shop\\\"\",\"reports\":[[42,"
    "\"reportCorrectRecaptcha\",1700000002000,1]],\"seen\":[],\"series\":{}}]}"
    "\n";

static void test_reads_what_0_3_wrote(void **unused) {
  (void)unused;
  state_t st;
  char why[256] = "";
  assert_int_equal(
      state_parse(v1_text, strlen(v1_text), &caps, &st, why, sizeof(why)),
      STATE_READ_OK);
  assert_int_equal(st.num_accounts, 2);
  const state_account_t *a = state_find(&st, "main");
  assert_non_null(a);
  assert_int_equal(a->num_reports, 2);
  assert_int_equal(a->reports[0].task_id.lo, 1001);
  assert_int_equal(a->reports[0].attempts, 2);
  assert_int_equal(a->reports[1].task_id.lo, INT64_MAX);
  assert_int_equal(a->reports[1].method, REPORT_INCORRECT_IMAGE);
  assert_int_equal(a->num_seen, 2);
  assert_int_equal(a->seen[0].task_id.lo, 1001);
  assert_int_equal(a->seen[0].expires_ms, 1700000060123);
  assert_int_equal(a->seen[1].expires_ms, 1700000061000);
  assert_int_equal(state_series_last(a, "recaptcha_proxyless"), 1699995599);
  const state_account_t *b = state_find(&st, "eu \"shop\"");
  assert_non_null(b);
  assert_int_equal(b->reports[0].method, REPORT_CORRECT_RECAPTCHA);
  state_free(&st);
}

/* Refused whole, with a reason that names what is wrong. */
static void refused(const char *text, size_t len, const char *reason) {
  state_t st;
  char why[256] = "";
  assert_int_equal(state_parse(text, len, &caps, &st, why, sizeof(why)),
                   STATE_READ_DAMAGED);
  assert_int_equal(st.num_accounts, 0);
  assert_null(st.accounts);
  if (strstr(why, reason) == NULL)
    fail_msg("\"%.60s\": reason \"%s\" lacks \"%s\"", text, why, reason);
}

#define REFUSED(text, reason) refused(text, strlen(text), reason)
#define ACCOUNT(body) "{\"version\":1,\"accounts\":[{\"name\":\"a\"," body "}]}"

static void test_damaged_files_refused(void **unused) {
  (void)unused;
  REFUSED("", "empty");
  REFUSED("{\"version\":1,\"accounts\":[{\"name\":\"main\",\"rep",
          "not valid JSON");
  REFUSED("garbage\n", "not valid JSON");
  REFUSED("{\"accounts\":[]}", "not a state file");
  REFUSED("{\"version\":\"1\",\"accounts\":[]}", "not a state file");
  REFUSED("{\"version\":2,\"accounts\":[]}", "another version");
  REFUSED("{\"version\":0,\"accounts\":[]}", "another version");
  REFUSED("{\"version\":1}", "no list of accounts");
  REFUSED("{\"version\":1,\"accounts\":{}}", "no list of accounts");
  REFUSED("{\"version\":1,\"accounts\":[5]}", "not an object");
  REFUSED("{\"version\":1,\"accounts\":[{\"reports\":[]}]}", "not an object");
  REFUSED("{\"version\":1,\"accounts\":[{\"name\":\"\"}]}",
          "empty or too long");
  REFUSED("{\"version\":1,\"accounts\":[{\"name\":\"a\"},{\"name\":\"a\"}]}",
          "appears twice");
  REFUSED(ACCOUNT("\"reports\":{}"), "not an object");
  REFUSED("{\"version\":1,\"accounts\":[]}{\"version\":1,\"accounts\":[]}",
          "not a state file");
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
      "[1,\"reportIncorrectRecaptcha\",5,null]",
      "{}",
  };
  for (size_t i = 0; i < sizeof(bad_reports) / sizeof(*bad_reports); i++) {
    char text[256];
    snprintf(text, sizeof(text), ACCOUNT("\"reports\":[%s]"), bad_reports[i]);
    REFUSED(text, "report 1 is not");
  }
  REFUSED(ACCOUNT("\"seen\":[[1]]"), "remembered task 1 is not");
  REFUSED(ACCOUNT("\"seen\":[[1,-1]]"), "remembered task 1 is not");
  REFUSED(ACCOUNT("\"seen\":[[\"12\",5]]"), "remembered task 1 is not");
  REFUSED(ACCOUNT("\"seen\":[[\"00000000-0000-0000-0000-000000000000\",5]]"),
          "remembered task 1 is not");
  REFUSED(ACCOUNT("\"series\":{\"all\":\"5\"}"), "series 1 is not");
  REFUSED(ACCOUNT("\"series\":{\"all\":5,\"all\":6}"), "series 2 is not");
  REFUSED(ACCOUNT("\"series\":{\"all\":[5]}"), "series 1 is not");
}

/* A valid file cut anywhere is refused, never half read. */
static void test_every_truncation_refused(void **unused) {
  (void)unused;
  size_t len = strlen(v1_text);
  /* Up to the closing brace: only the newline may go. */
  for (size_t cut = 0; cut + 1 < len; cut++) {
    state_t back;
    char why[256];
    if (state_parse(v1_text, cut, &caps, &back, why, sizeof(why)) !=
        STATE_READ_DAMAGED)
      fail_msg("a file cut at %zu of %zu bytes was accepted", cut, len);
    assert_int_equal(back.num_accounts, 0);
  }
}

/* Unknown members are skipped, whatever they hold: a later minor change
 * may add some. */
static void test_unknown_members_ignored(void **unused) {
  (void)unused;
  const char *text =
      "{\"version\":1,\"written\":5,\"accounts\":[{\"name\":\"a\","
      "\"extra\":[1,{\"x\":[2]}],\"seen\":[[3,4]]}],\"more\":{\"y\":null}}";
  state_t st;
  char why[128];
  assert_int_equal(
      state_parse(text, strlen(text), &caps, &st, why, sizeof(why)),
      STATE_READ_OK);
  assert_int_equal(st.accounts[0].num_seen, 1);
  state_free(&st);
}

static void test_uuid_task_ids(void **unused) {
  (void)unused;
  const char *text = ACCOUNT("\"reports\":[[\"4F0BC8A1-9e3d-4c62-8b1a-"
                             "2d7e5f609a3c\",\"reportIncorrectImageCaptcha\","
                             "5,1]]");
  state_t st;
  char why[128];
  task_id_t uuid;
  assert_int_equal(task_id_parse("4f0bc8a1-9e3d-4c62-8b1a-2d7e5f609a3c", &uuid),
                   0);
  assert_int_equal(
      state_parse(text, strlen(text), &caps, &st, why, sizeof(why)),
      STATE_READ_OK);
  assert_true(task_id_equal(st.accounts[0].reports[0].task_id, uuid));
  state_free(&st);
}

/* A name from the file reaches the reason (and so the log) escaped: a
 * newline cannot forge a log line, nor an escape sequence colour one. */
static void test_names_escaped(void **unused) {
  (void)unused;
  const char *names[] = {"x\\n[error] forged", "x\\u001b[31mred"};
  for (size_t i = 0; i < 2; i++) {
    char text[256], why[256] = "";
    state_t st;
    snprintf(text, sizeof(text),
             "{\"version\":1,\"accounts\":[{\"name\":\"%s\"},"
             "{\"name\":\"%s\",\"reports\":[5]}]}",
             names[i], names[i]);
    assert_int_equal(
        state_parse(text, strlen(text), &caps, &st, why, sizeof(why)),
        STATE_READ_DAMAGED);
    assert_non_null(strstr(why, "appears twice"));
    for (const char *c = why; *c; c++)
      assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
    assert_non_null(strstr(why, i == 0 ? "x\\x0a[error]" : "x\\x1b[31m"));
    snprintf(text, sizeof(text),
             "{\"version\":1,\"accounts\":[{\"name\":\"%s\",\"reports\":[5]}]}",
             names[i]);
    assert_int_equal(
        state_parse(text, strlen(text), &caps, &st, why, sizeof(why)),
        STATE_READ_DAMAGED);
    assert_non_null(strstr(why, "report 1 is not"));
    for (const char *c = why; *c; c++)
      assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reads_what_0_3_wrote),
      cmocka_unit_test(test_damaged_files_refused),
      cmocka_unit_test(test_every_truncation_refused),
      cmocka_unit_test(test_unknown_members_ignored),
      cmocka_unit_test(test_uuid_task_ids),
      cmocka_unit_test(test_names_escaped),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for plugin/state/state_parse.c: whatever the bytes, the reader
 * keeps to its bounds (comments refused, nesting, the length of a string or
 * a number, the caps) and reads the same however the file comes in
 * pieces. */
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

static state_read_t parse(const char *text, size_t len, char *why) {
  state_t st;
  state_read_t r = state_parse(text, len, &caps, &st, why, 256);
  if (r == STATE_READ_DAMAGED) {
    assert_int_equal(st.num_accounts, 0);
    assert_null(st.accounts);
  }
  state_free(&st);
  return r;
}

static void damaged(const char *text, size_t len, const char *reason) {
  char why[256] = "";
  assert_int_equal(parse(text, len, why), STATE_READ_DAMAGED);
  if (strstr(why, reason) == NULL)
    fail_msg("\"%.40s\": reason \"%s\" lacks \"%s\"", text, why, reason);
}

#define DAMAGED(text, reason) damaged(text, strlen(text), reason)

/* Issue 22: comments hid 400,000 levels of nesting from 0.3's depth check,
 * and yajl's tree parser took them: a crash at every start. Comments are
 * refused wherever they are. */
static void test_comments_refused(void **unused) {
  (void)unused;
  size_t n = 400000;
  char *text = malloc(2 * n + 64);
  strcpy(text, "{\"version\":1,\"accounts\":[],\"x\":/*\"*/");
  size_t k = strlen(text);
  memset(text + k, '[', n);
  memset(text + k + n, ']', n);
  strcpy(text + k + 2 * n, "/*\"*/}");
  DAMAGED(text, "comment");
  free(text);
  DAMAGED("{\"version\":1,/* c */\"accounts\":[]}", "comment");
  DAMAGED("// c\n{\"version\":1,\"accounts\":[]}", "comment");
  DAMAGED("[\"anticaptcha-state\",2]/* c */\n[\"snapshot\",1]\n", "comment");
}

/* Deep nesting is refused at the first level too deep: nothing is built of
 * it, so nothing is freed recursively. */
static void test_depth_refused(void **unused) {
  (void)unused;
  size_t n = 1 << 20;
  char *text = malloc(n);
  memset(text, '[', n);
  damaged(text, n, "nested deeper");
  memset(text, '{', n);
  damaged(text, n, "");
  free(text);
  DAMAGED("{\"version\":1,\"accounts\":[{\"name\":\"a\",\"seen\":[[[1]]]}]}",
          "");
  DAMAGED("[\"anticaptcha-state\",[2]]", "nested deeper");
}

/* A string or number longer than any the writer makes stops the reading
 * there: yajl never holds more of it. */
static void test_long_tokens_refused(void **unused) {
  (void)unused;
  size_t n = 64 << 20; /* a 64 MiB string */
  char *text = malloc(n);
  memset(text, 'x', n);
  memcpy(text, "{\"version\":1,\"x\":\"", 18);
  state_caps_t c = caps;
  state_parser_t *p = state_parser_new(n, &c);
  size_t fed = 0;
  while (fed < n && state_parser_feed(p, text + fed, 4096) == 0)
    fed += 4096;
  assert_true(fed < 4096); /* stopped in the first piece */
  state_t st;
  char why[256];
  assert_int_equal(state_parser_finish(p, &st, why, sizeof(why)),
                   STATE_READ_DAMAGED);
  assert_non_null(strstr(why, "longer than any"));
  state_parser_free(p);
  memset(text, '1', 1024);
  damaged(text, n, "longer than any");
  free(text);
}

/* 0.3's reader took a 64 MiB [0,0,...] whole, then built a tree of it. */
static void test_array_of_zeros_refused_at_once(void **unused) {
  (void)unused;
  size_t n = 16 << 20;
  char *text = malloc(n);
  text[0] = '[';
  for (size_t i = 1; i + 2 <= n; i += 2)
    memcpy(text + i, "0,", 2);
  state_parser_t *p = state_parser_new(n, &caps);
  assert_int_equal(state_parser_feed(p, text, 4096), -1);
  state_t st;
  char why[256];
  assert_int_equal(state_parser_finish(p, &st, why, sizeof(why)),
                   STATE_READ_DAMAGED);
  assert_non_null(strstr(why, "not a state file"));
  state_parser_free(p);
  free(text);
}

static void test_not_state_files(void **unused) {
  (void)unused;
  DAMAGED("", "empty");
  DAMAGED("5", "not a state file");
  DAMAGED("\"x\"", "not a state file");
  DAMAGED("[\"anticaptcha-state\"]", "not a state file");
  DAMAGED("[\"something\",2]", "not a state file");
  DAMAGED("[\"anticaptcha-state\",3]\n", "another version");
  DAMAGED("[\"anticaptcha-state\",1]\n", "another version");
  DAMAGED("[\"anticaptcha-state\",2]\n{\"version\":1,\"accounts\":[]}",
          "not a state file");
  DAMAGED("{\"version\":1,\"accounts\":[]}[\"anticaptcha-state\",2]",
          "not a state file");
  damaged("[\"anticaptcha-state\",2]\n\0[\"snapshot\",1]\n", 40, "NUL");
}

/* The same file, cut into pieces of every size from 1 byte on: tokens and
 * records cross the pieces; the frames' offsets stay right. */
static void test_pieces_of_any_size(void **unused) {
  (void)unused;
  const char *text =
      "[\"anticaptcha-state\",2]\n[\"account\",0,\"main\"]\n"
      "[\"seen\",0,5,1700000060000]\n"
      "[\"report\",0,6,\"reportIncorrectRecaptcha\",1700000000000,0,"
      "1700000060000]\n[\"snapshot\",4]\n"
      "[\"frame\",54]\n[\"done\",0,6,1700000000000]\n"
      "[\"seen\",0,7,1700000061000]\n";
  size_t len = strlen(text);
  for (size_t piece = 1; piece <= len; piece++) {
    state_parser_t *p = state_parser_new(len, &caps);
    for (size_t at = 0; at < len; at += piece)
      assert_int_equal(
          state_parser_feed(p, text + at, len - at < piece ? len - at : piece),
          0);
    state_t st;
    char why[256];
    state_read_t r = state_parser_finish(p, &st, why, sizeof(why));
    if (r != STATE_READ_OK)
      fail_msg("pieces of %zu: %d (%s)", piece, r, why);
    assert_int_equal(st.accounts[0].num_reports, 0);
    assert_int_equal(st.accounts[0].num_seen, 3);
    state_free(&st);
    state_parser_free(p);
  }
}

static void test_more_than_the_file(void **unused) {
  (void)unused;
  const char *text = "[\"anticaptcha-state\",2]\n[\"snapshot\",1]\n";
  state_parser_t *p = state_parser_new(10, &caps);
  assert_int_equal(state_parser_feed(p, text, strlen(text)), -1);
  state_t st;
  char why[256];
  assert_int_equal(state_parser_finish(p, &st, why, sizeof(why)),
                   STATE_READ_DAMAGED);
  assert_non_null(strstr(why, "grew"));
  state_parser_free(p);
}

/* What the writer makes for the largest state within caps fits the size
 * the reader takes. */
static void test_max_bytes_holds_the_largest_state(void **unused) {
  (void)unused;
  state_caps_t c = {.reports = 1001024, .seen = 1048576};
  uint64_t max = state_file_max_bytes(&c);
  /* 1,000,000 reports of UUIDs with the longest method, the rest of the
   * remembered ids as seen records: three times that, and a frame. */
  uint64_t report = strlen("[\"report\",4095,\"4f0bc8a1-9e3d-4c62-8b1a-"
                           "2d7e5f609a3c\",\"reportIncorrectImageCaptcha\","
                           "17179869184000,1000,17179869184000]\n");
  uint64_t seen = strlen("[\"seen\",4095,\"4f0bc8a1-9e3d-4c62-8b1a-"
                         "2d7e5f609a3c\",17179869184000]\n");
  uint64_t snapshot = c.reports * report + c.seen * seen;
  assert_true(report <= 128 && seen <= 80);
  assert_true(3 * snapshot + STATE_APPEND_FLOOR + (64 << 20) <= max);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_comments_refused),
      cmocka_unit_test(test_depth_refused),
      cmocka_unit_test(test_long_tokens_refused),
      cmocka_unit_test(test_array_of_zeros_refused_at_once),
      cmocka_unit_test(test_not_state_files),
      cmocka_unit_test(test_pieces_of_any_size),
      cmocka_unit_test(test_more_than_the_file),
      cmocka_unit_test(test_max_bytes_holds_the_largest_state),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

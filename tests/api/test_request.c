/* Unit tests for plugin/request.c: the JSON bodies sent to the API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <yajl/yajl_tree.h>

#include "api/request.h"
#include "util/secret.h"

/* ---- helpers ---- */

/* Checks the body is NUL-terminated, that *len matches, and returns it. */
/* Takes a pointer: the length is read after the call that sets it. */
static char *check_len(char *body, const size_t *len) {
  assert_non_null(body);
  assert_int_equal(strlen(body), *len);
  return body;
}

static void assert_body(char *body, const size_t *len, const char *want) {
  check_len(body, len);
  assert_string_equal(body, want);
  secret_free(body);
}

/* Parses a body back; the caller frees the tree. */
static yajl_val parse(const char *body) {
  char err[256] = "";
  yajl_val v = yajl_tree_parse(body, err, sizeof(err));
  if (v == NULL)
    fail_msg("body does not parse back: %s (%s)", err, body);
  assert_true(YAJL_IS_OBJECT(v));
  return v;
}

/* Asserts the object has exactly the given keys, in this order. */
static void assert_keys(yajl_val obj, const char *const *keys, size_t n) {
  assert_int_equal(YAJL_GET_OBJECT(obj)->len, n);
  for (size_t i = 0; i < n; i++)
    assert_string_equal(YAJL_GET_OBJECT(obj)->keys[i], keys[i]);
}

static yajl_val member(yajl_val obj, const char *key) {
  const char *path[] = {key, NULL};
  yajl_val v = yajl_tree_get(obj, path, yajl_t_any);
  if (v == NULL)
    fail_msg("no member \"%s\"", key);
  return v;
}

static void assert_member_string(yajl_val obj, const char *key,
                                 const char *want) {
  yajl_val v = member(obj, key);
  assert_true(YAJL_IS_STRING(v));
  assert_string_equal(YAJL_GET_STRING(v), want);
}

static void assert_member_integer(yajl_val obj, const char *key,
                                  long long want) {
  yajl_val v = member(obj, key);
  assert_false(YAJL_IS_STRING(v));
  assert_true(YAJL_IS_INTEGER(v));
  assert_true(YAJL_GET_INTEGER(v) == want);
}

/* ---- getBalance ---- */

static void test_balance_exact_bytes(void **state) {
  (void)state;
  size_t len = 0;
  assert_body(request_balance("KEY123", &len), &len,
              "{\"clientKey\":\"KEY123\"}");
}

static void test_balance_null_key_refused(void **state) {
  (void)state;
  size_t len = 0;
  assert_null(request_balance(NULL, &len));
}

/* ---- getSpendingStats ---- */

static void test_spending_minimal_exact_bytes(void **state) {
  (void)state;
  size_t len = 0;
  spending_request_t req = {.client_key = "k"};
  assert_body(request_spending(&req, &len), &len, "{\"clientKey\":\"k\"}");
}

static void test_spending_full_exact_bytes(void **state) {
  (void)state;
  size_t len = 0;
  spending_request_t req = {.client_key = "abc",
                            .queue = "Recaptcha Proxyless",
                            .soft_id = 1234,
                            .ip = "192.0.2.7"};
  assert_body(request_spending(&req, &len), &len,
              "{\"clientKey\":\"abc\",\"queue\":\"Recaptcha Proxyless\","
              "\"softId\":1234,\"ip\":\"192.0.2.7\"}");
}

/* date (catch-up after downtime) is a JSON integer, sent only when set. */
static void test_spending_date_exact_bytes(void **state) {
  (void)state;
  size_t len = 0;
  spending_request_t req = {
      .client_key = "k", .queue = "Q", .date = 1700000000};
  assert_body(request_spending(&req, &len), &len,
              "{\"clientKey\":\"k\",\"date\":1700000000,\"queue\":\"Q\"}");
  req.date = -5;
  assert_body(request_spending(&req, &len), &len,
              "{\"clientKey\":\"k\",\"queue\":\"Q\"}");
}

/* Each optional field appears only when set, on its own. */
static void test_spending_optional_fields_alone(void **state) {
  (void)state;
  size_t len = 0;
  spending_request_t q = {.client_key = "k", .queue = "English ImageToText"};
  assert_body(request_spending(&q, &len), &len,
              "{\"clientKey\":\"k\",\"queue\":\"English ImageToText\"}");
  spending_request_t s = {.client_key = "k", .soft_id = 7};
  assert_body(request_spending(&s, &len), &len,
              "{\"clientKey\":\"k\",\"softId\":7}");
  spending_request_t i = {.client_key = "k", .ip = "::1"};
  assert_body(request_spending(&i, &len), &len,
              "{\"clientKey\":\"k\",\"ip\":\"::1\"}");
}

/* soft_id <= 0 means "not sent". */
static void test_spending_soft_id_not_positive_omitted(void **state) {
  (void)state;
  size_t len = 0;
  int64_t ids[] = {0, -1, INT64_MIN};
  for (size_t n = 0; n < sizeof(ids) / sizeof(ids[0]); n++) {
    spending_request_t req = {.client_key = "k", .soft_id = ids[n]};
    assert_body(request_spending(&req, &len), &len, "{\"clientKey\":\"k\"}");
  }
}

/* An empty queue is still a queue: sent, not dropped. */
static void test_spending_empty_strings_sent(void **state) {
  (void)state;
  size_t len = 0;
  spending_request_t req = {.client_key = "k", .queue = "", .ip = ""};
  assert_body(request_spending(&req, &len), &len,
              "{\"clientKey\":\"k\",\"queue\":\"\",\"ip\":\"\"}");
}

static void test_spending_soft_id_is_json_integer(void **state) {
  (void)state;
  size_t len = 0;
  spending_request_t req = {.client_key = "k", .soft_id = INT64_MAX};
  char *body = check_len(request_spending(&req, &len), &len);
  assert_string_equal(body,
                      "{\"clientKey\":\"k\",\"softId\":9223372036854775807}");
  yajl_val v = parse(body);
  assert_member_integer(v, "softId", INT64_MAX);
  yajl_tree_free(v);
  secret_free(body);
}

static void test_spending_null_key_refused(void **state) {
  (void)state;
  size_t len = 0;
  spending_request_t req = {.client_key = NULL, .queue = "q"};
  assert_null(request_spending(&req, &len));
}

/* ---- report* ---- */

static void test_report_exact_bytes(void **state) {
  (void)state;
  size_t len = 0;
  assert_body(request_report("KEY", 123456789, &len), &len,
              "{\"clientKey\":\"KEY\",\"taskId\":123456789}");
  assert_body(request_report("KEY", 1, &len), &len,
              "{\"clientKey\":\"KEY\",\"taskId\":1}");
}

static void test_report_task_id_is_json_integer(void **state) {
  (void)state;
  size_t len = 0;
  char *body = check_len(request_report("k", (uint64_t)INT64_MAX, &len), &len);
  assert_string_equal(body,
                      "{\"clientKey\":\"k\",\"taskId\":9223372036854775807}");
  /* Never quoted: the API documents an integer. */
  assert_null(strstr(body, "\"taskId\":\""));
  yajl_val v = parse(body);
  static const char *const keys[] = {"clientKey", "taskId"};
  assert_keys(v, keys, 2);
  assert_member_integer(v, "taskId", INT64_MAX);
  yajl_tree_free(v);
  secret_free(body);
}

static void test_report_task_id_out_of_range_refused(void **state) {
  (void)state;
  size_t len = 4242;
  assert_null(request_report("k", 0, &len));
  assert_null(request_report("k", (uint64_t)INT64_MAX + 1, &len));
  assert_null(request_report("k", UINT64_MAX, &len));
}

static void test_report_null_key_refused(void **state) {
  (void)state;
  size_t len = 0;
  assert_null(request_report(NULL, 5, &len));
}

/* ---- feedbackTask (CapSolver) ---- */

static void test_feedback_exact_bytes(void **state) {
  (void)state;
  size_t len = 0;
  assert_body(request_feedback("CAP-K", "37223a89-06ed-442c-a0b8-22067b79c5b4",
                               true, &len),
              &len,
              "{\"clientKey\":\"CAP-K\",\"taskId\":"
              "\"37223a89-06ed-442c-a0b8-22067b79c5b4\","
              "\"result\":{\"invalid\":true}}");
  assert_body(request_feedback("CAP-K", "x", false, &len), &len,
              "{\"clientKey\":\"CAP-K\",\"taskId\":\"x\","
              "\"result\":{\"invalid\":false}}");
}

static void test_feedback_refused(void **state) {
  (void)state;
  size_t len = 0;
  assert_null(request_feedback(NULL, "x", true, &len));
  assert_null(request_feedback("k", NULL, true, &len));
  assert_null(request_feedback("k", "", true, &len));
  /* A task id that would break out of its string is only a string. */
  char *body =
      check_len(request_feedback("k", "a\",\"result\":{", true, &len), &len);
  yajl_val v = parse(body);
  assert_member_string(v, "taskId", "a\",\"result\":{");
  yajl_tree_free(v);
  secret_free(body);
}

/* ---- escaping and injection ---- */

static void test_escaping_exact_bytes(void **state) {
  (void)state;
  size_t len = 0;
  spending_request_t req = {.client_key = "k\"e\\y",
                            .queue = "a\"b\\c\nd\te/f"};
  assert_body(request_spending(&req, &len), &len,
              "{\"clientKey\":\"k\\\"e\\\\y\","
              "\"queue\":\"a\\\"b\\\\c\\nd\\te/f\"}");
}

/* Strings crafted to close the string and add members: the parsed body
 * must keep exactly the expected keys, holding the strings unchanged. */
static const char *const injections[] = {
    "\",\"taskId\":1",
    "x\",\"taskId\":1,\"y\":\"",
    "\",\"clientKey\":\"other",
    "\\\",\"taskId\":1}",
    "\"}",
    "\\",
    "\"",
    "}{\"a\":1",
    "a\\\"b",
    "\\u0022,\"taskId\":1",
    "\x01\x02\x1f\x7f",
    "</script>",
};

static void test_injection_in_queue_and_ip(void **state) {
  (void)state;
  static const char *const keys[] = {"clientKey", "queue", "softId", "ip"};
  for (size_t n = 0; n < sizeof(injections) / sizeof(injections[0]); n++) {
    size_t len = 0;
    spending_request_t req = {.client_key = injections[n],
                              .queue = injections[n],
                              .soft_id = 9,
                              .ip = injections[n]};
    char *body = check_len(request_spending(&req, &len), &len);
    yajl_val v = parse(body);
    assert_keys(v, keys, 4);
    assert_member_string(v, "clientKey", injections[n]);
    assert_member_string(v, "queue", injections[n]);
    assert_member_string(v, "ip", injections[n]);
    assert_member_integer(v, "softId", 9);
    yajl_tree_free(v);
    secret_free(body);
  }
}

static void test_injection_in_report_key(void **state) {
  (void)state;
  static const char *const keys[] = {"clientKey", "taskId"};
  for (size_t n = 0; n < sizeof(injections) / sizeof(injections[0]); n++) {
    size_t len = 0;
    char *body = check_len(request_report(injections[n], 77, &len), &len);
    yajl_val v = parse(body);
    assert_keys(v, keys, 2);
    assert_member_string(v, "clientKey", injections[n]);
    assert_member_integer(v, "taskId", 77);
    yajl_tree_free(v);
    secret_free(body);

    body = check_len(request_balance(injections[n], &len), &len);
    v = parse(body);
    assert_keys(v, keys, 1);
    assert_member_string(v, "clientKey", injections[n]);
    yajl_tree_free(v);
    secret_free(body);
  }
}

/* Every ASCII byte survives a round trip. */
static void test_all_ascii_round_trip(void **state) {
  (void)state;
  char s[128];
  for (int c = 1; c < 128; c++)
    s[c - 1] = (char)c;
  s[127] = 0;
  size_t len = 0;
  spending_request_t req = {.client_key = s, .queue = s};
  char *body = check_len(request_spending(&req, &len), &len);
  for (size_t i = 0; i < len; i++) /* raw control bytes are escaped */
    assert_true((unsigned char)body[i] >= 0x20);
  yajl_val v = parse(body);
  static const char *const keys[] = {"clientKey", "queue"};
  assert_keys(v, keys, 2);
  assert_member_string(v, "clientKey", s);
  assert_member_string(v, "queue", s);
  yajl_tree_free(v);
  secret_free(body);
}

/* ---- UTF-8 ---- */

static void test_valid_utf8_accepted(void **state) {
  (void)state;
  const char *q = "T\xc3\xbcrk\xc3\xa7"
                  "e \xe2\x9c\x93 \xf0\x9f\x98\x80";
  size_t len = 0;
  spending_request_t req = {.client_key = "k", .queue = q};
  char *body = check_len(request_spending(&req, &len), &len);
  yajl_val v = parse(body);
  assert_member_string(v, "queue", q);
  yajl_tree_free(v);
  secret_free(body);
}

static const char *const bad_utf8[] = {
    "\xff",                 /* never valid */
    "abc\xc3",              /* truncated at the end */
    "\xc3(",                /* lead byte without continuation */
    "\x80",                 /* lone continuation byte */
    "ok\xe2\x82",           /* truncated three-byte sequence */
    "\xf8\x88\x80\x80\x80", /* five-byte form */
};

static void test_invalid_utf8_refused(void **state) {
  (void)state;
  for (size_t n = 0; n < sizeof(bad_utf8) / sizeof(bad_utf8[0]); n++) {
    size_t len = 0;
    spending_request_t in_queue = {.client_key = "k", .queue = bad_utf8[n]};
    spending_request_t in_ip = {.client_key = "k", .ip = bad_utf8[n]};
    spending_request_t in_key = {.client_key = bad_utf8[n]};
    assert_null(request_spending(&in_queue, &len));
    assert_null(request_spending(&in_ip, &len));
    assert_null(request_spending(&in_key, &len));
    assert_null(request_balance(bad_utf8[n], &len));
    assert_null(request_report(bad_utf8[n], 1, &len));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_balance_exact_bytes),
      cmocka_unit_test(test_balance_null_key_refused),
      cmocka_unit_test(test_spending_minimal_exact_bytes),
      cmocka_unit_test(test_spending_full_exact_bytes),
      cmocka_unit_test(test_spending_optional_fields_alone),
      cmocka_unit_test(test_spending_date_exact_bytes),
      cmocka_unit_test(test_spending_soft_id_not_positive_omitted),
      cmocka_unit_test(test_spending_empty_strings_sent),
      cmocka_unit_test(test_spending_soft_id_is_json_integer),
      cmocka_unit_test(test_spending_null_key_refused),
      cmocka_unit_test(test_report_exact_bytes),
      cmocka_unit_test(test_report_task_id_is_json_integer),
      cmocka_unit_test(test_report_task_id_out_of_range_refused),
      cmocka_unit_test(test_report_null_key_refused),
      cmocka_unit_test(test_feedback_exact_bytes),
      cmocka_unit_test(test_feedback_refused),
      cmocka_unit_test(test_escaping_exact_bytes),
      cmocka_unit_test(test_injection_in_queue_and_ip),
      cmocka_unit_test(test_injection_in_report_key),
      cmocka_unit_test(test_all_ascii_round_trip),
      cmocka_unit_test(test_valid_utf8_accepted),
      cmocka_unit_test(test_invalid_utf8_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

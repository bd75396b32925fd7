/* Unit tests for plugin/model/report_match.c: which notifications become
 * reports. Notifications are built by hand; the module calls nothing in the
 * daemon. */
#include "model/report_match.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define TIME_COMPLETED ((cdtime_t)1700000000 << 30)

static const char *const one_name[] = {"main"};
static const account_names_t ONE = {one_name, 1};
static const char *const two_names[] = {"main", "second"};
static const account_names_t TWO = {two_names, 2};

static void set_field(char *dst, const char *src) {
  snprintf(dst, DATA_MAX_NAME_LEN, "%s", src);
}

static notification_t notif(int severity, const char *plugin,
                            const char *plugin_instance, const char *type,
                            const char *type_instance) {
  notification_t n;
  memset(&n, 0, sizeof(n));
  n.severity = severity;
  n.time = TIME_COMPLETED;
  set_field(n.host, "host.example");
  set_field(n.plugin, plugin);
  set_field(n.plugin_instance, plugin_instance);
  set_field(n.type, type);
  set_field(n.type_instance, type_instance);
  snprintf(n.message, sizeof(n.message), "captcha result");
  return n;
}

static void set_meta(notification_meta_t *m, const char *name,
                     const char *value, notification_meta_t *next) {
  memset(m, 0, sizeof(*m));
  set_field(m->name, name);
  m->type = NM_TYPE_STRING;
  m->nm_value.nm_string = value;
  m->next = next;
}

/* Runs report_match and checks the why buffer is filled exactly when the
 * notification is unusable. */
static match_result_t match(const notification_t *n, const report_rule_t *rules,
                            size_t num_rules, account_names_t accounts,
                            report_request_t *out) {
  char why[256];
  memset(why, 'X', sizeof(why));
  match_result_t r =
      report_match(n, rules, num_rules, accounts, out, why, sizeof(why));
  assert_non_null(memchr(why, 0, sizeof(why)));
  if (r == MATCH_INVALID)
    assert_true(why[0] != 0);
  return r;
}

static void assert_report(match_result_t r, const report_request_t *out,
                          size_t account, report_method_t method,
                          uint64_t task_id) {
  assert_int_equal(r, MATCH_REPORT);
  assert_int_equal(out->account, account);
  assert_int_equal(out->method, method);
  assert_true(task_id_equal(out->task_id, TASK_ID_NUMBER(task_id)));
  assert_true(out->completed == TIME_COMPLETED);
}

/* ---- method names ---- */

static void test_method_names(void **state) {
  (void)state;
  assert_string_equal(report_method_name(REPORT_CORRECT_RECAPTCHA),
                      "reportCorrectRecaptcha");
  assert_string_equal(report_method_name(REPORT_INCORRECT_RECAPTCHA),
                      "reportIncorrectRecaptcha");
  assert_string_equal(report_method_name(REPORT_INCORRECT_IMAGE),
                      "reportIncorrectImageCaptcha");
  assert_string_equal(report_method_name(REPORT_INCORRECT_HCAPTCHA),
                      "reportIncorrectHcaptcha");
  assert_string_equal(report_method_name(REPORT_METHOD_COUNT), "?");
  assert_string_equal(report_method_name((report_method_t)1000), "?");
}

static void test_method_parse(void **state) {
  (void)state;
  for (int i = 0; i < REPORT_METHOD_COUNT; i++) {
    report_method_t m = REPORT_METHOD_COUNT;
    assert_int_equal(
        report_method_parse(report_method_name((report_method_t)i), &m), 0);
    assert_int_equal(m, i);
  }
  static const char *const bad[] = {
      "",
      "?",
      "reportCorrectImageCaptcha",
      "reportIncorrectImage",
      "reportCorrectRecaptcha ",
      "getBalance",
      "report",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    report_method_t m = REPORT_METHOD_COUNT;
    assert_int_equal(report_method_parse(bad[i], &m), -1);
    assert_int_equal(m, REPORT_METHOD_COUNT);
  }
}

/* ---- the convention: plugin "anticaptcha", type recaptcha/image ---- */

static void test_convention_failure_recaptcha(void **state) {
  (void)state;
  notification_t n =
      notif(NOTIF_FAILURE, "anticaptcha", "main", "recaptcha", "123456");
  report_request_t out;
  assert_report(match(&n, NULL, 0, ONE, &out), &out, 0,
                REPORT_INCORRECT_RECAPTCHA, 123456);
}

static void test_convention_failure_image(void **state) {
  (void)state;
  notification_t n = notif(NOTIF_FAILURE, "anticaptcha", "main", "image", "77");
  report_request_t out;
  assert_report(match(&n, NULL, 0, ONE, &out), &out, 0, REPORT_INCORRECT_IMAGE,
                77);
}

static void test_convention_okay_recaptcha(void **state) {
  (void)state;
  notification_t n = notif(NOTIF_OKAY, "anticaptcha", "main", "recaptcha",
                           "9223372036854775807");
  report_request_t out;
  assert_report(match(&n, NULL, 0, ONE, &out), &out, 0,
                REPORT_CORRECT_RECAPTCHA, 9223372036854775807ULL);
}

/* A warning, or a solved image (no such report exists), asks for nothing. */
static void test_convention_nothing(void **state) {
  (void)state;
  report_request_t out;
  notification_t n =
      notif(NOTIF_WARNING, "anticaptcha", "main", "recaptcha", "5");
  assert_int_equal(match(&n, NULL, 0, ONE, &out), MATCH_NO_REPORT);
  n = notif(NOTIF_WARNING, "anticaptcha", "main", "image", "5");
  assert_int_equal(match(&n, NULL, 0, ONE, &out), MATCH_NO_REPORT);
  n = notif(NOTIF_OKAY, "anticaptcha", "main", "image", "5");
  assert_int_equal(match(&n, NULL, 0, ONE, &out), MATCH_NO_REPORT);
  n = notif(0, "anticaptcha", "main", "recaptcha", "5");
  assert_int_equal(match(&n, NULL, 0, ONE, &out), MATCH_NO_REPORT);
}

/* hCaptcha: FAILURE is reportIncorrectHcaptcha; there is no correct-hCaptcha
 * method, so OKAY (and WARNING) ask for nothing. */
static void test_convention_hcaptcha(void **state) {
  (void)state;
  report_request_t out;
  notification_t n =
      notif(NOTIF_FAILURE, "anticaptcha", "main", "hcaptcha", "4242");
  assert_report(match(&n, NULL, 0, ONE, &out), &out, 0,
                REPORT_INCORRECT_HCAPTCHA, 4242);
  n = notif(NOTIF_OKAY, "anticaptcha", "main", "hcaptcha", "4242");
  assert_int_equal(match(&n, NULL, 0, ONE, &out), MATCH_NO_REPORT);
  n = notif(NOTIF_WARNING, "anticaptcha", "main", "hcaptcha", "4242");
  assert_int_equal(match(&n, NULL, 0, ONE, &out), MATCH_NO_REPORT);
  n = notif(NOTIF_FAILURE, "anticaptcha", "main", "hcaptcha", "42x");
  assert_int_equal(match(&n, NULL, 0, ONE, &out), MATCH_INVALID);
  n = notif(NOTIF_FAILURE, "anticaptcha", "main", "HCaptcha", "4242");
  assert_int_equal(match(&n, NULL, 0, ONE, &out), MATCH_NOT_OURS);
}

static void test_method_parse_hcaptcha(void **state) {
  (void)state;
  report_method_t m = REPORT_METHOD_COUNT;
  assert_int_equal(report_method_parse("reportIncorrectHcaptcha", &m), 0);
  assert_int_equal(m, REPORT_INCORRECT_HCAPTCHA);
  assert_int_equal(report_method_parse("reportCorrectHcaptcha", &m), -1);
}

/* Our own threshold notifications (type "gauge", ...) are not requests. */
static void test_convention_other_types_ignored(void **state) {
  (void)state;
  report_request_t out;
  static const char *const types[] = {"gauge",     "",       "count",
                                      "Recaptcha", "images", "currency"};
  for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
    notification_t n =
        notif(NOTIF_FAILURE, "anticaptcha", "main", types[i], "5");
    assert_int_equal(match(&n, NULL, 0, ONE, &out), MATCH_NOT_OURS);
    n = notif(NOTIF_OKAY, "anticaptcha", "main", types[i], "5");
    assert_int_equal(match(&n, NULL, 0, ONE, &out), MATCH_NOT_OURS);
  }
  notification_t n =
      notif(NOTIF_FAILURE, "threshold", "main", "recaptcha", "5");
  assert_int_equal(match(&n, NULL, 0, ONE, &out), MATCH_NOT_OURS);
  n = notif(NOTIF_FAILURE, "AntiCaptcha", "main", "recaptcha", "5");
  assert_int_equal(match(&n, NULL, 0, ONE, &out), MATCH_NOT_OURS);
}

static void test_convention_accounts(void **state) {
  (void)state;
  report_request_t out;
  /* Empty plugin_instance: fine with exactly one account. */
  notification_t n = notif(NOTIF_FAILURE, "anticaptcha", "", "recaptcha", "5");
  assert_report(match(&n, NULL, 0, ONE, &out), &out, 0,
                REPORT_INCORRECT_RECAPTCHA, 5);
  /* ... ambiguous with two. */
  assert_int_equal(match(&n, NULL, 0, TWO, &out), MATCH_INVALID);
  /* Named accounts. */
  n = notif(NOTIF_FAILURE, "anticaptcha", "second", "image", "6");
  assert_report(match(&n, NULL, 0, TWO, &out), &out, 1, REPORT_INCORRECT_IMAGE,
                6);
  n = notif(NOTIF_OKAY, "anticaptcha", "main", "recaptcha", "7");
  assert_report(match(&n, NULL, 0, TWO, &out), &out, 0,
                REPORT_CORRECT_RECAPTCHA, 7);
}

static void test_convention_unknown_account(void **state) {
  (void)state;
  report_request_t out;
  notification_t n =
      notif(NOTIF_FAILURE, "anticaptcha", "other", "recaptcha", "5");
  assert_int_equal(match(&n, NULL, 0, ONE, &out), MATCH_INVALID);
  assert_int_equal(match(&n, NULL, 0, TWO, &out), MATCH_INVALID);
  n = notif(NOTIF_FAILURE, "anticaptcha", "Main", "recaptcha", "5");
  assert_int_equal(match(&n, NULL, 0, ONE, &out), MATCH_INVALID);
  n = notif(NOTIF_FAILURE, "anticaptcha", "", "recaptcha", "5");
  account_names_t none = {NULL, 0};
  assert_int_equal(match(&n, NULL, 0, none, &out), MATCH_INVALID);
}

static void test_convention_bad_task_id(void **state) {
  (void)state;
  static const char *const bad[] = {
      "", "0", "-1", "abc", "1e3", " 1", "9223372036854775808"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    report_request_t out;
    notification_t n =
        notif(NOTIF_FAILURE, "anticaptcha", "main", "recaptcha", bad[i]);
    assert_int_equal(match(&n, NULL, 0, ONE, &out), MATCH_INVALID);
  }
}

static void test_convention_time_zero(void **state) {
  (void)state;
  report_request_t out;
  notification_t n =
      notif(NOTIF_FAILURE, "anticaptcha", "main", "recaptcha", "5");
  n.time = 0;
  assert_int_equal(match(&n, NULL, 0, ONE, &out), MATCH_INVALID);
}

/* The completion time is the notification's, to the tick. */
static void test_convention_completed_is_time(void **state) {
  (void)state;
  report_request_t out;
  notification_t n = notif(NOTIF_FAILURE, "anticaptcha", "main", "image", "5");
  n.time = TIME_COMPLETED + 12345;
  assert_int_equal(match(&n, NULL, 0, ONE, &out), MATCH_REPORT);
  assert_true(out.completed == TIME_COMPLETED + 12345);
}

static void test_convention_meta_task_id(void **state) {
  (void)state;
  report_request_t out;
  notification_meta_t m[3];
  set_meta(&m[2], "task_id", "424242", NULL);
  set_meta(&m[1], "other", "1", &m[2]);
  set_meta(&m[0], "task", "2", &m[1]);
  notification_t n =
      notif(NOTIF_FAILURE, "anticaptcha", "main", "recaptcha", "111");
  n.meta = &m[0];
  assert_report(match(&n, NULL, 0, ONE, &out), &out, 0,
                REPORT_INCORRECT_RECAPTCHA, 424242);
  /* The meta wins even over an empty type_instance. */
  set_field(n.type_instance, "");
  assert_report(match(&n, NULL, 0, ONE, &out), &out, 0,
                REPORT_INCORRECT_RECAPTCHA, 424242);
  /* A bad meta is not replaced by a guess from type_instance. */
  set_field(n.type_instance, "111");
  set_meta(&m[2], "task_id", "12ab", NULL);
  assert_int_equal(match(&n, NULL, 0, ONE, &out), MATCH_INVALID);
  set_meta(&m[2], "task_id", "", NULL);
  assert_int_equal(match(&n, NULL, 0, ONE, &out), MATCH_INVALID);
}

/* ---- <Report> rules ---- */

static report_rule_t rule(report_method_t method, size_t account) {
  return (report_rule_t){.name = "r", .account = account, .method = method};
}

static void test_rule_all_conditions_must_equal(void **state) {
  (void)state;
  report_rule_t r = rule(REPORT_INCORRECT_IMAGE, 1);
  r.plugin = "logparser";
  r.plugin_instance = "captcha";
  r.type = "result";
  r.type_instance = "99";
  r.source = TASK_ID_TYPE_INSTANCE;
  report_request_t out;

  notification_t n =
      notif(NOTIF_FAILURE, "logparser", "captcha", "result", "99");
  assert_report(match(&n, &r, 1, TWO, &out), &out, 1, REPORT_INCORRECT_IMAGE,
                99);

  /* Change any one field: no match. */
  notification_t m[] = {
      notif(NOTIF_FAILURE, "logparser2", "captcha", "result", "99"),
      notif(NOTIF_FAILURE, "logparser", "captchas", "result", "99"),
      notif(NOTIF_FAILURE, "logparser", "captcha", "Result", "99"),
      notif(NOTIF_FAILURE, "logparser", "captcha", "result", "98"),
      notif(NOTIF_FAILURE, "", "captcha", "result", "99"),
  };
  for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
    assert_int_equal(match(&m[i], &r, 1, TWO, &out), MATCH_NOT_OURS);
}

/* NULL conditions match anything. */
static void test_rule_null_conditions_match_anything(void **state) {
  (void)state;
  report_rule_t r = rule(REPORT_CORRECT_RECAPTCHA, 0);
  r.plugin = "exec";
  report_request_t out;
  notification_t n = notif(NOTIF_OKAY, "exec", "anything", "whatever", "31");
  assert_report(match(&n, &r, 1, ONE, &out), &out, 0, REPORT_CORRECT_RECAPTCHA,
                31);
  n = notif(NOTIF_WARNING, "exec", "", "", "32");
  assert_report(match(&n, &r, 1, ONE, &out), &out, 0, REPORT_CORRECT_RECAPTCHA,
                32);
}

static void test_rule_severity(void **state) {
  (void)state;
  report_rule_t r = rule(REPORT_INCORRECT_RECAPTCHA, 0);
  r.plugin = "logparser";
  r.severity = NOTIF_FAILURE;
  report_request_t out;
  notification_t n = notif(NOTIF_FAILURE, "logparser", "", "", "8");
  assert_report(match(&n, &r, 1, ONE, &out), &out, 0,
                REPORT_INCORRECT_RECAPTCHA, 8);
  n.severity = NOTIF_OKAY;
  assert_int_equal(match(&n, &r, 1, ONE, &out), MATCH_NOT_OURS);
  n.severity = NOTIF_WARNING;
  assert_int_equal(match(&n, &r, 1, ONE, &out), MATCH_NOT_OURS);

  /* Severity 0 matches every severity. */
  r.severity = 0;
  static const int severities[] = {NOTIF_FAILURE, NOTIF_WARNING, NOTIF_OKAY};
  for (int i = 0; i < 3; i++) {
    n.severity = severities[i];
    assert_report(match(&n, &r, 1, ONE, &out), &out, 0,
                  REPORT_INCORRECT_RECAPTCHA, 8);
  }
}

static void test_rule_first_match_wins(void **state) {
  (void)state;
  report_rule_t rules[3];
  rules[0] = rule(REPORT_INCORRECT_IMAGE, 0);
  rules[0].plugin = "logparser";
  rules[0].type = "image";
  rules[1] = rule(REPORT_CORRECT_RECAPTCHA, 1);
  rules[1].plugin = "logparser";
  rules[2] = rule(REPORT_INCORRECT_RECAPTCHA, 0);
  rules[2].plugin = "logparser";
  report_request_t out;

  notification_t n = notif(NOTIF_OKAY, "logparser", "", "image", "10");
  assert_report(match(&n, rules, 3, TWO, &out), &out, 0, REPORT_INCORRECT_IMAGE,
                10);
  n = notif(NOTIF_OKAY, "logparser", "", "token", "11");
  assert_report(match(&n, rules, 3, TWO, &out), &out, 1,
                REPORT_CORRECT_RECAPTCHA, 11);
  /* The first matching rule decides even when its task id is unusable. */
  n = notif(NOTIF_OKAY, "logparser", "", "image", "not-a-number");
  assert_int_equal(match(&n, rules, 3, TWO, &out), MATCH_INVALID);
  n = notif(NOTIF_OKAY, "syslog", "", "image", "10");
  assert_int_equal(match(&n, rules, 3, TWO, &out), MATCH_NOT_OURS);
}

static void test_rule_task_id_sources(void **state) {
  (void)state;
  report_request_t out;
  report_rule_t r = rule(REPORT_INCORRECT_RECAPTCHA, 0);
  r.plugin = "logparser";

  r.source = TASK_ID_TYPE_INSTANCE;
  notification_t n = notif(NOTIF_FAILURE, "logparser", "555", "x", "444");
  assert_report(match(&n, &r, 1, ONE, &out), &out, 0,
                REPORT_INCORRECT_RECAPTCHA, 444);

  r.source = TASK_ID_PLUGIN_INSTANCE;
  assert_report(match(&n, &r, 1, ONE, &out), &out, 0,
                REPORT_INCORRECT_RECAPTCHA, 555);

  notification_meta_t m[2];
  set_meta(&m[1], "job", "666", NULL);
  set_meta(&m[0], "task_id", "777", &m[1]);
  n.meta = &m[0];
  r.source = TASK_ID_META;
  r.meta_key = "job";
  assert_report(match(&n, &r, 1, ONE, &out), &out, 0,
                REPORT_INCORRECT_RECAPTCHA, 666);

  /* The named meta is missing: invalid, never another field instead. */
  r.meta_key = "ticket";
  assert_int_equal(match(&n, &r, 1, ONE, &out), MATCH_INVALID);
  n.meta = NULL;
  assert_int_equal(match(&n, &r, 1, ONE, &out), MATCH_INVALID);
  /* Present but not a task id. */
  set_meta(&m[1], "ticket", "0x10", NULL);
  n.meta = &m[1];
  assert_int_equal(match(&n, &r, 1, ONE, &out), MATCH_INVALID);
}

static void test_rule_bad_task_id_or_time(void **state) {
  (void)state;
  report_request_t out;
  report_rule_t r = rule(REPORT_INCORRECT_IMAGE, 0);
  r.plugin = "logparser";
  notification_t n =
      notif(NOTIF_FAILURE, "logparser", "", "", "1\",\"taskId\":2");
  assert_int_equal(match(&n, &r, 1, ONE, &out), MATCH_INVALID);
  n = notif(NOTIF_FAILURE, "logparser", "", "", "12");
  n.time = 0;
  assert_int_equal(match(&n, &r, 1, ONE, &out), MATCH_INVALID);
  n.time = TIME_COMPLETED;
  assert_report(match(&n, &r, 1, ONE, &out), &out, 0, REPORT_INCORRECT_IMAGE,
                12);
}

/* Rules are consulted for our plugin's other types as well. */
static void test_rule_for_anticaptcha_other_type(void **state) {
  (void)state;
  report_request_t out;
  report_rule_t r = rule(REPORT_INCORRECT_IMAGE, 0);
  r.plugin = "anticaptcha";
  r.type = "custom";
  notification_t n = notif(NOTIF_FAILURE, "anticaptcha", "main", "custom", "3");
  assert_report(match(&n, &r, 1, ONE, &out), &out, 0, REPORT_INCORRECT_IMAGE,
                3);
  n = notif(NOTIF_FAILURE, "anticaptcha", "main", "gauge", "3");
  assert_int_equal(match(&n, &r, 1, ONE, &out), MATCH_NOT_OURS);
}

/* Each account's service: its task id form, and OKAY only where it has a
 * "correct" method (api/service.h). */
static const char *const svc_names[] = {"ac", "cm", "cs"};
static const account_names_t THREE = {svc_names, 3};

#define A_UUID "37223a89-06ed-442c-a0b8-22067b79c5b4"

/* report_match(), then what the account's service makes of it. */
static match_result_t match_at(const notification_t *n,
                               const report_rule_t *rules, size_t num_rules,
                               report_request_t *out, char *why) {
  const service_t *services[] = {service_get(SERVICE_ANTI_CAPTCHA),
                                 service_get(SERVICE_CAPMONSTER),
                                 service_get(SERVICE_CAPSOLVER)};
  why[0] = 0;
  match_result_t m = report_match(n, rules, num_rules, THREE, out, why, 160);
  return report_fit_service(m, out, services, why, 160);
}

static void test_service_task_id_form(void **state) {
  (void)state;
  report_request_t out;
  char why[160];
  notification_t n =
      notif(NOTIF_FAILURE, "anticaptcha", "cs", "recaptcha", A_UUID);
  assert_int_equal(match_at(&n, NULL, 0, &out, why), MATCH_REPORT);
  assert_true(task_id_is_uuid(out.task_id));
  assert_int_equal(out.account, 2);
  /* A number at CapSolver, a UUID elsewhere: not the service's task. */
  n = notif(NOTIF_FAILURE, "anticaptcha", "cs", "recaptcha", "12345");
  assert_int_equal(match_at(&n, NULL, 0, &out, why), MATCH_INVALID);
  assert_non_null(strstr(why, "CapSolver issues UUIDs"));
  n = notif(NOTIF_FAILURE, "anticaptcha", "ac", "image", A_UUID);
  assert_int_equal(match_at(&n, NULL, 0, &out, why), MATCH_INVALID);
  assert_non_null(strstr(why, "Anti-Captcha issues numeric ids"));
  n = notif(NOTIF_FAILURE, "anticaptcha", "cm", "hcaptcha", "777");
  assert_report(match_at(&n, NULL, 0, &out, why), &out, 1,
                REPORT_INCORRECT_HCAPTCHA, 777);
  /* The same through a rule. */
  report_rule_t r = rule(REPORT_INCORRECT_IMAGE, 2);
  r.plugin = "solver";
  n = notif(NOTIF_FAILURE, "solver", "", "", "42");
  assert_int_equal(match_at(&n, &r, 1, &out, why), MATCH_INVALID);
  /* Other answers pass unchanged. */
  n = notif(NOTIF_FAILURE, "anticaptcha", "nobody", "image", "5");
  assert_int_equal(match_at(&n, NULL, 0, &out, why), MATCH_INVALID);
  n = notif(NOTIF_FAILURE, "other", "", "image", "5");
  assert_int_equal(match_at(&n, NULL, 0, &out, why), MATCH_NOT_OURS);
}

static void test_service_without_correct_method(void **state) {
  (void)state;
  report_request_t out;
  char why[160];
  /* OKAY on recaptcha at CapMonster: there is no such report. */
  notification_t n = notif(NOTIF_OKAY, "anticaptcha", "cm", "recaptcha", "9");
  assert_int_equal(match_at(&n, NULL, 0, &out, why), MATCH_NO_REPORT);
  n = notif(NOTIF_OKAY, "anticaptcha", "cs", "recaptcha", A_UUID);
  assert_int_equal(match_at(&n, NULL, 0, &out, why), MATCH_REPORT);
  assert_int_equal(out.method, REPORT_CORRECT_RECAPTCHA);
  n = notif(NOTIF_OKAY, "anticaptcha", "ac", "recaptcha", "9");
  assert_report(match_at(&n, NULL, 0, &out, why), &out, 0,
                REPORT_CORRECT_RECAPTCHA, 9);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_service_task_id_form),
      cmocka_unit_test(test_service_without_correct_method),
      cmocka_unit_test(test_method_names),
      cmocka_unit_test(test_method_parse),
      cmocka_unit_test(test_convention_failure_recaptcha),
      cmocka_unit_test(test_convention_failure_image),
      cmocka_unit_test(test_convention_okay_recaptcha),
      cmocka_unit_test(test_convention_nothing),
      cmocka_unit_test(test_convention_hcaptcha),
      cmocka_unit_test(test_method_parse_hcaptcha),
      cmocka_unit_test(test_convention_other_types_ignored),
      cmocka_unit_test(test_convention_accounts),
      cmocka_unit_test(test_convention_unknown_account),
      cmocka_unit_test(test_convention_bad_task_id),
      cmocka_unit_test(test_convention_time_zero),
      cmocka_unit_test(test_convention_completed_is_time),
      cmocka_unit_test(test_convention_meta_task_id),
      cmocka_unit_test(test_rule_all_conditions_must_equal),
      cmocka_unit_test(test_rule_null_conditions_match_anything),
      cmocka_unit_test(test_rule_severity),
      cmocka_unit_test(test_rule_first_match_wins),
      cmocka_unit_test(test_rule_task_id_sources),
      cmocka_unit_test(test_rule_bad_task_id_or_time),
      cmocka_unit_test(test_rule_for_anticaptcha_other_type),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

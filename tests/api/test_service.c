/* Unit tests for plugin/api/service.c: the services' table and how each
 * service's error answers are read (doc/services.md). */
#include "api/service.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

enum { CORRECT, INCORRECT, IMAGE, HCAPTCHA }; /* report_method_t's order */

static const service_t *svc(service_id_t id) {
  const service_t *s = service_get(id);
  assert_non_null(s);
  return s;
}

static void test_rows(void **state) {
  (void)state;
  for (service_id_t id = 0; id < SERVICE_COUNT; id++) {
    const service_t *s = svc(id);
    assert_ptr_equal(service_find(s->name), s);
    assert_int_equal(strncmp(s->default_url, "https://", 8), 0);
    /* Every service takes incorrect reports of every kind. */
    for (int k = INCORRECT; k <= HCAPTCHA; k++)
      assert_non_null(s->method[k]);
    assert_true(s->key_max >= 32 && s->key_max <= SERVICE_KEY_MAX);
    /* Never longer than Window's maximum, the vendors' shortest. */
    assert_true(s->window_max > 0 && s->window_max <= 60);
  }
  assert_null(service_get(SERVICE_COUNT));
  /* Anti-Captcha first: what an account without Service is. */
  assert_string_equal(svc(SERVICE_ANTI_CAPTCHA)->name, "anti-captcha");
  assert_true(svc(SERVICE_ANTI_CAPTCHA)->spending);
  assert_string_equal(svc(SERVICE_ANTI_CAPTCHA)->method[CORRECT],
                      "reportCorrectRecaptcha");
}

static void test_what_differs(void **state) {
  (void)state;
  const service_t *cm = svc(SERVICE_CAPMONSTER), *tc = svc(SERVICE_2CAPTCHA),
                  *cs = svc(SERVICE_CAPSOLVER);
  for (const service_t *const *s = (const service_t *const[]){cm, tc, cs, NULL};
       *s != NULL; s++)
    assert_false((*s)->spending);
  /* No "correct" method at CapMonster; token captchas share one method. */
  assert_null(cm->method[CORRECT]);
  assert_string_equal(cm->method[INCORRECT], "reportIncorrectTokenCaptcha");
  assert_string_equal(cm->method[HCAPTCHA], "reportIncorrectTokenCaptcha");
  assert_string_equal(cm->method[IMAGE], "reportIncorrectImageCaptcha");
  assert_int_equal(cm->pause_min, 600);
  assert_string_equal(tc->method[CORRECT], "reportCorrect");
  assert_string_equal(tc->method[IMAGE], "reportIncorrect");
  assert_string_equal(cs->method[CORRECT], "feedbackTask");
  assert_int_equal(cs->report_body, REPORT_BODY_FEEDBACK);
  assert_true(cs->uuid_task_ids && cs->errors_in_4xx);
  assert_false(cm->uuid_task_ids || tc->uuid_task_ids);
  assert_true(cs->key_max >= 68); /* CAP- and 64 hex digits */
}

static void test_find(void **state) {
  (void)state;
  assert_ptr_equal(service_find("CapMonster"), svc(SERVICE_CAPMONSTER));
  assert_ptr_equal(service_find("2CAPTCHA"), svc(SERVICE_2CAPTCHA));
  assert_null(service_find("anticaptcha"));
  assert_null(service_find(""));
  assert_non_null(strstr(service_names(), "capsolver"));
}

static void test_errors_by_id(void **state) {
  (void)state;
  const service_t *ac = svc(SERVICE_ANTI_CAPTCHA);
  static const struct {
    int64_t id;
    service_error_t want;
  } cases[] = {{1, SERVICE_ERROR_KEY},        {10, SERVICE_ERROR_ZERO_BALANCE},
               {11, SERVICE_ERROR_IP},        {14, SERVICE_ERROR_METHOD},
               {16, SERVICE_ERROR_GONE},      {21, SERVICE_ERROR_BLOCKED},
               {55, SERVICE_ERROR_SUSPENDED}, {2, SERVICE_ERROR_TASK},
               {12, SERVICE_ERROR_TASK}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    assert_int_equal(service_error(ac, cases[i].id, "ERROR_ANYTHING"),
                     cases[i].want);
  /* Anti-Captcha's errorId decides, whatever the code says. */
  assert_int_equal(service_error(ac, 1, "ERROR_REPORT_NOT_RECORDED"),
                   SERVICE_ERROR_KEY);
}

/* One answer and what it must read as at a service. */
typedef struct {
  service_id_t service;
  int64_t id;
  const char *code;
  service_error_t want;
} reading_t;

static void check_readings(const reading_t *r, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (service_error(svc(r[i].service), r[i].id, r[i].code) != r[i].want)
      fail_msg("%s: errorId %lld, \"%s\" not read as %d",
               svc(r[i].service)->name, (long long)r[i].id, r[i].code,
               (int)r[i].want);
}

static void test_errors_by_code(void **state) {
  (void)state;
  /* errorId is 1 for everything: only the code tells. */
  static const reading_t r[] = {
      {SERVICE_CAPMONSTER, 1, "ERROR_KEY_DOES_NOT_EXIST", SERVICE_ERROR_KEY},
      {SERVICE_CAPMONSTER, 1, "ERROR_NO_SUCH_CAPCHA_ID", SERVICE_ERROR_GONE},
      {SERVICE_CAPMONSTER, 1, "ERROR_ZERO_BALANCE", SERVICE_ERROR_ZERO_BALANCE},
      {SERVICE_CAPMONSTER, 1, "ERROR_IP_BANNED", SERVICE_ERROR_BLOCKED},
      {SERVICE_CAPMONSTER, 1, "ERROR_SOMETHING_NEW", SERVICE_ERROR_TASK},
      {SERVICE_CAPMONSTER, 1, "", SERVICE_ERROR_TASK},
      {SERVICE_CAPSOLVER, 1, "ERROR_KEY_DENIED_ACCESS", SERVICE_ERROR_KEY},
      {SERVICE_CAPSOLVER, 1, "ERROR_TASKID_INVALID", SERVICE_ERROR_GONE},
      {SERVICE_CAPSOLVER, 1, "ERROR_KEY_TEMP_BLOCKED", SERVICE_ERROR_BLOCKED},
      {SERVICE_CAPSOLVER, 1, "ERROR_INVALID_TASK_DATA", SERVICE_ERROR_TASK},
  };
  check_readings(r, sizeof(r) / sizeof(r[0]));
}

static void test_errors_code_first(void **state) {
  (void)state;
  static const reading_t r[] = {
      /* The report errors' errorId is not documented: 1 must not read as a
       * refused key. */
      {SERVICE_2CAPTCHA, 1, "ERROR_REPORT_NOT_RECORDED", SERVICE_ERROR_TASK},
      {SERVICE_2CAPTCHA, 1, "ERROR_DUPLICATE_REPORT", SERVICE_ERROR_GONE},
      /* An unknown code: the errorId, numbered as Anti-Captcha's. */
      {SERVICE_2CAPTCHA, 21, "ERROR_NEW", SERVICE_ERROR_BLOCKED},
      {SERVICE_2CAPTCHA, 1, "", SERVICE_ERROR_KEY},
      {SERVICE_2CAPTCHA, 110, "ERROR_BAD_PARAMETERS", SERVICE_ERROR_TASK},
  };
  check_readings(r, sizeof(r) / sizeof(r[0]));
}

static void test_concerns_account(void **state) {
  (void)state;
  assert_false(service_error_concerns_account(SERVICE_ERROR_TASK));
  assert_false(service_error_concerns_account(SERVICE_ERROR_GONE));
  assert_false(service_error_concerns_account(SERVICE_ERROR_ZERO_BALANCE));
  for (service_error_t e = SERVICE_ERROR_KEY; e <= SERVICE_ERROR_METHOD; e++)
    assert_true(service_error_concerns_account(e));
}

/* The reader's advice for an error answer: the service's name where the
 * user has to contact it. */
static void test_advice(void **state) {
  (void)state;
  char buf[128];
  const service_t *cm = svc(SERVICE_CAPMONSTER);
  assert_string_equal(
      service_error_advice(cm, SERVICE_ERROR_KEY, buf, sizeof(buf)),
      "check ClientKey or ClientKeyFile");
  const char *a =
      service_error_advice(cm, SERVICE_ERROR_SUSPENDED, buf, sizeof(buf));
  assert_ptr_equal(a, buf);
  assert_non_null(strstr(a, cm->label));
  assert_non_null(
      strstr(service_error_advice(cm, SERVICE_ERROR_TASK, buf, sizeof(buf)),
             "errorCode"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rows),
      cmocka_unit_test(test_what_differs),
      cmocka_unit_test(test_find),
      cmocka_unit_test(test_errors_by_id),
      cmocka_unit_test(test_errors_by_code),
      cmocka_unit_test(test_errors_code_first),
      cmocka_unit_test(test_concerns_account),
      cmocka_unit_test(test_advice),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

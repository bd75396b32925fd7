/* The services' table and the reading of their errors (see service.h). */
#include "api/service.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/api_errors.h"

/* Index by service_id_t. The sources of every value: doc/services.md. */
static const service_t services[SERVICE_COUNT] = {
    [SERVICE_ANTI_CAPTCHA] = {.name = "anti-captcha",
                              .label = "Anti-Captcha",
                              .default_url = "https://api.anti-captcha.com",
                              .spending = true,
                              .method = {"reportCorrectRecaptcha",
                                         "reportIncorrectRecaptcha",
                                         "reportIncorrectImageCaptcha",
                                         "reportIncorrectHcaptcha"},
                              .report_body = REPORT_BODY_TASK,
                              .errors = ERRORS_BY_ID,
                              .window_max = 60,
                              .key_max = 32},
    /* Token captchas, hCaptcha among them, go to reportIncorrectTokenCaptcha;
     * no "correct" method exists. A refused key or zero balance repeated
     * blocks the key for 10 minutes. */
    [SERVICE_CAPMONSTER] = {.name = "capmonster",
                            .label = "CapMonster Cloud",
                            .default_url = "https://api.capmonster.cloud",
                            .method = {NULL, "reportIncorrectTokenCaptcha",
                                       "reportIncorrectImageCaptcha",
                                       "reportIncorrectTokenCaptcha"},
                            .report_body = REPORT_BODY_TASK,
                            .errors = ERRORS_BY_CODE,
                            .zero_balance_pauses = true,
                            .pause_min = 600,
                            .window_max = 60,
                            .key_max = 41 /* 32, or 32 and "__nocache" */},
    /* Its two report errors have no documented errorId: read the code. */
    [SERVICE_2CAPTCHA] = {.name = "2captcha",
                          .label = "2captcha",
                          .default_url = "https://api.2captcha.com",
                          .method = {"reportCorrect", "reportIncorrect",
                                     "reportIncorrect", "reportIncorrect"},
                          .report_body = REPORT_BODY_TASK,
                          .errors = ERRORS_CODE_FIRST,
                          .window_max = 60,
                          .key_max = 32},
    /* One method for every report; errors come with HTTP 400 and 401. */
    [SERVICE_CAPSOLVER] = {.name = "capsolver",
                           .label = "CapSolver",
                           .default_url = "https://api.capsolver.com",
                           .method = {"feedbackTask", "feedbackTask",
                                      "feedbackTask", "feedbackTask"},
                           .report_body = REPORT_BODY_FEEDBACK,
                           .uuid_task_ids = true,
                           .errors = ERRORS_BY_CODE,
                           .errors_in_4xx = true,
                           .zero_balance_pauses = true,
                           .window_max = 60,
                           .key_max = SERVICE_KEY_MAX},
};

const service_t *service_get(service_id_t id) {
  return (unsigned)id < SERVICE_COUNT ? &services[id] : NULL;
}

const service_t *service_find(const char *name) {
  for (size_t i = 0; i < SERVICE_COUNT; i++)
    if (strcasecmp(services[i].name, name) == 0)
      return &services[i];
  return NULL;
}

const char *service_names(void) {
  return "anti-captcha, capmonster, 2captcha or capsolver";
}

/* The errorCodes the services send that the plugin acts on. */
static const struct {
  const char *code;
  service_error_t meaning;
} codes[] = {
    {"ERROR_KEY_DOES_NOT_EXIST", SERVICE_ERROR_KEY},
    {"ERROR_KEY_DENIED_ACCESS", SERVICE_ERROR_KEY}, /* CapSolver */
    {"ERROR_WRONG_USER_KEY", SERVICE_ERROR_KEY},
    {"ERROR_IP_NOT_ALLOWED", SERVICE_ERROR_IP},
    {"ERROR_IP_BANNED", SERVICE_ERROR_BLOCKED},
    {"ERROR_IP_BLOCKED", SERVICE_ERROR_BLOCKED},
    {"ERROR_KEY_TEMP_BLOCKED", SERVICE_ERROR_BLOCKED},
    {"ERROR_ACCOUNT_SUSPENDED", SERVICE_ERROR_SUSPENDED},
    {"ERROR_NO_SUCH_METHOD", SERVICE_ERROR_METHOD},
    {"ERROR_ZERO_BALANCE", SERVICE_ERROR_ZERO_BALANCE},
    {"ERROR_NO_SUCH_CAPCHA_ID", SERVICE_ERROR_GONE},
    {"ERROR_NO_SUCH_CAPTCHA_ID", SERVICE_ERROR_GONE},
    {"WRONG_CAPTCHA_ID", SERVICE_ERROR_GONE},
    {"ERROR_WRONG_CAPTCHA_ID", SERVICE_ERROR_GONE},
    {"ERROR_TASKID_INVALID", SERVICE_ERROR_GONE}, /* CapSolver */
    {"ERROR_TASK_NOT_FOUND", SERVICE_ERROR_GONE},
    {"ERROR_DUPLICATE_REPORT", SERVICE_ERROR_GONE},    /* 2captcha */
    {"ERROR_REPORT_NOT_RECORDED", SERVICE_ERROR_TASK}, /* 2captcha */
};

static bool by_code(const char *code, service_error_t *out) {
  for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
    if (strcmp(codes[i].code, code) == 0) {
      *out = codes[i].meaning;
      return true;
    }
  return false;
}

static service_error_t by_id(int64_t error_id) {
  switch (error_id) {
  case API_ERROR_KEY_DOES_NOT_EXIST:
    return SERVICE_ERROR_KEY;
  case API_ERROR_ZERO_BALANCE:
    return SERVICE_ERROR_ZERO_BALANCE;
  case API_ERROR_IP_NOT_ALLOWED:
    return SERVICE_ERROR_IP;
  case API_ERROR_NO_SUCH_METHOD:
    return SERVICE_ERROR_METHOD;
  case API_ERROR_NO_SUCH_CAPCHA_ID:
    return SERVICE_ERROR_GONE;
  case API_ERROR_IP_BLOCKED:
    return SERVICE_ERROR_BLOCKED;
  case API_ERROR_ACCOUNT_SUSPENDED:
    return SERVICE_ERROR_SUSPENDED;
  default:
    return SERVICE_ERROR_TASK;
  }
}

service_error_t service_error(const service_t *svc, int64_t error_id,
                              const char *code) {
  service_error_t meaning = SERVICE_ERROR_TASK;
  switch (svc->errors) {
  case ERRORS_BY_ID:
    return by_id(error_id);
  case ERRORS_CODE_FIRST:
    return by_code(code, &meaning) ? meaning : by_id(error_id);
  case ERRORS_BY_CODE:
    by_code(code, &meaning);
    break;
  }
  return meaning;
}

const char *service_error_advice(const service_t *svc, service_error_t e,
                                 char *buf, size_t size) {
  switch (e) {
  case SERVICE_ERROR_KEY:
    return "check ClientKey or ClientKeyFile";
  case SERVICE_ERROR_ZERO_BALANCE:
    return "top up the account";
  case SERVICE_ERROR_IP:
    return "allow this host's IP address in the account's API settings";
  case SERVICE_ERROR_METHOD:
    return "check URL and Service";
  case SERVICE_ERROR_BLOCKED:
    return "this IP address or key is blocked; collectd backs off, do not "
           "restart it in a loop";
  case SERVICE_ERROR_SUSPENDED:
    snprintf(buf, size, "the account is suspended; contact %s", svc->label);
    return buf;
  default:
    return "see the errorCode in the API documentation";
  }
}

/* The captcha services the plugin speaks (doc/services.md): one row per
 * service saying which polls and report methods exist, how an error is
 * read, what a task id looks like and the vendor's limits; and the reading
 * of an error answer into what it means for the account.
 * Pure: no collectd or curl calls. */
#ifndef ANTICAPTCHA_SERVICE_H
#define ANTICAPTCHA_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The plugin's report kinds, in model/report_match.h's report_method_t
 * order (correct reCAPTCHA, incorrect reCAPTCHA, image, hCaptcha): the index
 * of service_t.method. report_match.h checks that both agree. */
#define SERVICE_REPORT_KINDS 4

typedef enum {
  ERRORS_BY_ID,      /* errorId numbers the error (api_errors.h) */
  ERRORS_BY_CODE,    /* errorId is 1 for every error: errorCode says which */
  ERRORS_CODE_FIRST, /* errorCode when known, else errorId (2captcha) */
} service_errors_t;

typedef enum {
  REPORT_BODY_TASK,     /* {clientKey, taskId} */
  REPORT_BODY_FEEDBACK, /* {clientKey, taskId, result: {invalid}} */
} service_report_body_t;

typedef struct {
  const char *name;        /* the Service option's value */
  const char *label;       /* for log lines */
  const char *default_url; /* URL when none is given */
  bool spending;           /* getSpendingStats (Queue, Total) exists */
  /* The method serving each report kind; NULL: the service has none. */
  const char *method[SERVICE_REPORT_KINDS];
  service_report_body_t report_body;
  bool uuid_task_ids; /* UUIDs sent as strings; else decimal integers */
  service_errors_t errors;
  bool errors_in_4xx;       /* error answers may come with HTTP 4xx */
  bool zero_balance_pauses; /* a report refused for zero balance pauses */
  unsigned pause_min;       /* seconds an account-level error pauses at least */
  unsigned window_max;      /* seconds a report may follow its task */
  size_t key_max;           /* characters in a client key */
} service_t;

typedef enum {
  SERVICE_ANTI_CAPTCHA, /* the default */
  SERVICE_CAPMONSTER,
  SERVICE_2CAPTCHA,
  SERVICE_CAPSOLVER,
  SERVICE_COUNT
} service_id_t;

/* The longest key any service issues (config reads keys up to this). */
#define SERVICE_KEY_MAX 128

/* The row of a service; NULL for an id out of range. */
const service_t *service_get(service_id_t id);
/* The row named name (the Service option's value, any case); NULL when no
 * service has that name. */
const service_t *service_find(const char *name);
/* The service names, ", "-separated, for an error line. */
const char *service_names(void);

/* What an error answer says. The account-level ones
 * (service_error_concerns_account) every request of the account would get
 * alike: sending more only repeats the refusal, which vendors punish with
 * bans. */
typedef enum {
  SERVICE_ERROR_TASK,         /* about this report only: refused, final */
  SERVICE_ERROR_GONE,         /* no such task, too late, already reported */
  SERVICE_ERROR_ZERO_BALANCE, /* no money left */
  SERVICE_ERROR_KEY,          /* the key is refused */
  SERVICE_ERROR_IP,           /* this host's address is not allowed */
  SERVICE_ERROR_BLOCKED,      /* this address or key is banned for a while */
  SERVICE_ERROR_SUSPENDED,    /* the account is suspended */
  SERVICE_ERROR_METHOD,       /* no such method: a wrong URL */
} service_error_t;

static inline bool service_error_concerns_account(service_error_t e) {
  return e >= SERVICE_ERROR_KEY;
}

/* Reads an answer with errorId error_id (0 when absent) and errorCode code
 * ("" when absent) the way the service tells its errors. Unknown errors
 * concern the task. */
service_error_t service_error(const service_t *svc, int64_t error_id,
                              const char *code);
/* What the user should do about an error answer of svc that means e: a
 * static text, or buf filled in. */
const char *service_error_advice(const service_t *svc, service_error_t e,
                                 char *buf, size_t size);

#endif

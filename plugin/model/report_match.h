/* Which notifications are report requests: the default convention
 * (plugin "anticaptcha", type recaptcha/image/hcaptcha) and the user's
 * <Report> rules.
 * Pure: reads a notification_t, calls nothing in the daemon. */
#ifndef ANTICAPTCHA_REPORT_MATCH_H
#define ANTICAPTCHA_REPORT_MATCH_H

#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/plugin.h"

#include "api/service.h"
#include "model/task_id.h"

/* The report kinds, named by Anti-Captcha's methods whatever the service
 * (a service_t says which of its methods serves each). */
typedef enum {
  REPORT_CORRECT_RECAPTCHA,
  REPORT_INCORRECT_RECAPTCHA,
  REPORT_INCORRECT_IMAGE,
  REPORT_INCORRECT_HCAPTCHA, /* hCaptcha and Enterprise hCaptcha */
  REPORT_METHOD_COUNT
} report_method_t;
_Static_assert(REPORT_METHOD_COUNT == SERVICE_REPORT_KINDS,
               "service_t.method is indexed by report_method_t");

typedef enum {
  TASK_ID_TYPE_INSTANCE, /* the default */
  TASK_ID_PLUGIN_INSTANCE,
  TASK_ID_META, /* a string meta entry named meta_key */
} task_id_source_t;

/* A <Report> block. NULL strings and severity 0 match anything. */
typedef struct {
  char *name;
  char *account_name; /* as configured; NULL: the only account */
  size_t account;     /* index into the accounts, set by config_finish() */
  report_method_t method;
  char *plugin, *plugin_instance, *type, *type_instance;
  int severity; /* NOTIF_FAILURE, NOTIF_WARNING, NOTIF_OKAY or 0 */
  task_id_source_t source;
  char *meta_key;
} report_rule_t;

typedef struct {
  size_t account;
  report_method_t method;
  task_id_t task_id;
  cdtime_t completed; /* the notification's time */
  bool takeover;      /* the hub pair's peer owned it (plugin/hub_pair.h) */
} report_request_t;

typedef enum {
  MATCH_NOT_OURS,  /* not meant for this plugin: ignore quietly */
  MATCH_REPORT,    /* *out holds a report to send */
  MATCH_NO_REPORT, /* meant for us, but its severity asks for no report */
  MATCH_INVALID,   /* meant for us, but unusable: *why says why */
} match_result_t;

/* The configured accounts' names, in config order. */
typedef struct {
  const char *const *names;
  size_t count;
} account_names_t;

const char *report_method_name(report_method_t m);
/* Returns 0 and sets *m for a known API method name. */
int report_method_parse(const char *name, report_method_t *m);

match_result_t report_match(const notification_t *n, const report_rule_t *rules,
                            size_t num_rules, account_names_t accounts,
                            report_request_t *out, char *why, size_t why_size);

/* What report_match()'s answer m becomes at the account's service
 * (services: the accounts' services, in config order): MATCH_NO_REPORT when
 * the service has no method for the kind (OKAY at CapMonster), MATCH_INVALID
 * when the task id is not of the form the service issues (a UUID at
 * CapSolver, decimal elsewhere). Other answers are m. */
match_result_t report_fit_service(match_result_t m, const report_request_t *req,
                                  const service_t *const *services, char *why,
                                  size_t why_size);

#endif

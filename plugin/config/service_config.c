/* What an account's service can serve, checked at load time (see
 * service_config.h). */
#include "config/service_config.h"

#include "collectd/core/daemon/plugin.h"

#include "config/config_option.h"

int service_config_read(account_t *a, const oconfig_item_t *ci,
                        const char *where) {
  a->transport.service = service_get(SERVICE_ANTI_CAPTCHA);
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *o = &ci->children[i];
    /* Total true is refused where there is no spending, but only when
     * written: its default is true. */
    if (strcasecmp(o->key, "Total") == 0)
      a->total_given = true;
    if (strcasecmp(o->key, "Service") != 0)
      continue;
    const service_t *svc =
        o->values_num == 1 && o->values[0].type == OCONFIG_TYPE_STRING
            ? service_find(o->values[0].value.string)
            : NULL;
    if (svc == NULL) {
      CONF_ERROR(where, o->key, "give %s.", service_names());
      return -1;
    }
    a->transport.service = svc; /* a second one replaces the first */
  }
  return 0;
}

/* One line: which option the service cannot serve, and why. */
static int lacks(const account_t *a, const char *where, const char *option,
                 const char *what) {
  const service_t *svc = a->transport.service;
  CONF_ERROR(where, option,
             "Service \"%s\" (%s) has no %s; remove %s from this account.",
             svc->name, svc->label, what, option);
  return -1;
}

int service_config_check_account(account_t *a, const char *where) {
  if (a->transport.service->spending)
    return 0;
  static const char spending[] = "spending statistics (getSpendingStats)";
  if (a->num_queues > 0)
    return lacks(a, where, "Queue", spending);
  if (a->total_given && a->total)
    return lacks(a, where, "Total", spending);
  if (a->soft_id > 0)
    return lacks(a, where, "SoftId", spending);
  if (a->ip != NULL)
    return lacks(a, where, "IP", spending);
  if (a->incorrect_share > 0)
    return lacks(a, where, "IncorrectReportShare",
                 "spending statistics (getSpendingStats), which the "
                 "report-rate guard counts the tasks by");
  a->total = false; /* the default: poll the balance, and report */
  return 0;
}

/* A <Report> rule's Method must be one its account's service serves. */
static int check_rule(const plugin_config_t *cfg, const report_rule_t *r) {
  const account_t *a = &cfg->accounts[r->account];
  const service_t *svc = a->transport.service;
  if (svc->method[r->method] != NULL)
    return 0;
  char where[128];
  snprintf(where, sizeof(where), "Report \"%s\"", r->name);
  CONF_ERROR(where, "Method",
             "Service \"%s\" (%s) of account \"%s\" has no %s: there is no "
             "such report there.",
             svc->name, svc->label, a->name, report_method_name(r->method));
  return -1;
}

int service_config_finish(plugin_config_t *cfg) {
  free(cfg->services);
  cfg->services = calloc(cfg->num_accounts + 1, sizeof(*cfg->services));
  if (cfg->services == NULL)
    return -1;
  for (size_t i = 0; i < cfg->num_accounts; i++) {
    const service_t *svc = cfg->accounts[i].transport.service;
    cfg->services[i] = svc;
    /* Reports later than the vendor's window are refused: never wait so
     * long (every service takes 60 s today, Window's maximum). */
    if (cfg->window > TIME_T_TO_CDTIME_T(svc->window_max)) {
      CONF_ERROR("Plugin anticaptcha", "Window",
                 "%.0f s is longer than the %u s Service \"%s\" (%s) takes "
                 "reports after a task; give at most %u.",
                 CDTIME_T_TO_DOUBLE(cfg->window), svc->window_max, svc->name,
                 svc->label, svc->window_max);
      return -1;
    }
  }
  for (size_t i = 0; i < cfg->num_rules; i++)
    if (cfg->num_accounts > 0 && check_rule(cfg, &cfg->rules[i]) != 0)
      return -1;
  return 0;
}

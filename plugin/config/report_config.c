/* <Report> rules: each option read and checked, then its account resolved. */
#include "config/report_config.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/utils/common/common.h"

#include "config/config_option.h"

static int rule_severity(void *block, const char *s, const char *where) {
  report_rule_t *r = block;
  r->severity = strcasecmp(s, "failure") == 0   ? NOTIF_FAILURE
                : strcasecmp(s, "warning") == 0 ? NOTIF_WARNING
                : strcasecmp(s, "okay") == 0    ? NOTIF_OKAY
                                                : -1;
  if (r->severity < 0) {
    CONF_ERROR(where, "Severity", "give failure, warning or okay.");
    return -1;
  }
  return 0;
}

static int rule_task_id(void *block, const char *s, const char *where) {
  report_rule_t *r = block;
  free(r->meta_key); /* a second TaskId replaces the first */
  r->meta_key = NULL;
  if (strcasecmp(s, "type_instance") == 0)
    r->source = TASK_ID_TYPE_INSTANCE;
  else if (strcasecmp(s, "plugin_instance") == 0)
    r->source = TASK_ID_PLUGIN_INSTANCE;
  else if (strncasecmp(s, "meta:", 5) == 0 && s[5] != 0) {
    r->source = TASK_ID_META;
    r->meta_key = strdup(s + 5);
    return r->meta_key != NULL ? 0 : -1;
  } else {
    CONF_ERROR(where, "TaskId",
               "give type_instance, plugin_instance or meta:<key>.");
    return -1;
  }
  return 0;
}

static int rule_method(void *block, const char *m, const char *where) {
  report_rule_t *r = block;
  int status = report_method_parse(m, &r->method);
  if (status != 0)
    CONF_ERROR(where, "Method",
               "give reportCorrectRecaptcha, "
               "reportIncorrectRecaptcha, reportIncorrectImageCaptcha or "
               "reportIncorrectHcaptcha.");
  return status;
}

static const config_option_t rule_options[] = {
    OPTION("Account", OPT_STRING, report_rule_t, account_name),
    OPTION_TEXT("Method", rule_method),
    OPTION("Plugin", OPT_STRING, report_rule_t, plugin),
    OPTION("PluginInstance", OPT_STRING, report_rule_t, plugin_instance),
    OPTION("Type", OPT_STRING, report_rule_t, type),
    OPTION("TypeInstance", OPT_STRING, report_rule_t, type_instance),
    OPTION_TEXT("Severity", rule_severity),
    OPTION_TEXT("TaskId", rule_task_id),
};

int report_config_resolve(const plugin_config_t *cfg, report_rule_t *r) {
  char where[128];
  const char *account = r->account_name;
  snprintf(where, sizeof(where), "Report \"%s\"", r->name);
  if (account == NULL) {
    if (cfg->num_accounts == 1)
      return 0;
    CONF_ERROR(where, "Account",
               "name the account: %zu accounts are "
               "configured.",
               cfg->num_accounts);
    return -1;
  }
  for (size_t i = 0; i < cfg->num_accounts; i++)
    if (strcmp(cfg->accounts[i].name, account) == 0) {
      r->account = i;
      return 0;
    }
  CONF_ERROR(where, "Account", "\"%s\" is not a configured <Account>.",
             account);
  return -1;
}

int report_config_parse(plugin_config_t *cfg, const oconfig_item_t *ci) {
  char where[128] = "Report";
  report_rule_t *tmp = realloc(cfg->rules, (cfg->num_rules + 1) * sizeof(*tmp));
  if (tmp == NULL)
    return -1;
  cfg->rules = tmp;
  report_rule_t *r = &cfg->rules[cfg->num_rules++];
  *r = (report_rule_t){.method = REPORT_METHOD_COUNT};
  if (config_option_string(ci, where, &r->name) != 0)
    return -1;
  snprintf(where, sizeof(where), "Report \"%s\"", r->name);

  for (int i = 0; i < ci->children_num; i++)
    if (config_option_read(rule_options, STATIC_ARRAY_SIZE(rule_options), r,
                           &ci->children[i], where) != 0)
      return -1;
  if (r->method == REPORT_METHOD_COUNT) {
    CONF_ERROR(where, "Method", "missing; say which report to send.");
    return -1;
  }
  /* A rule matching everything would turn every notification (threshold
   * OKAYs at start-up among them) into a report. */
  if (!r->plugin && !r->plugin_instance && !r->type && !r->type_instance) {
    CONF_ERROR(where, "Plugin",
               "give at least one of Plugin, "
               "PluginInstance, Type or TypeInstance to match.");
    return -1;
  }
  return 0;
}

void report_config_free(report_rule_t *r) {
  free(r->name);
  free(r->meta_key);
  config_option_free(rule_options, STATIC_ARRAY_SIZE(rule_options), r);
}

/* <Report> rules: each option read and checked, then its account resolved. */
#include "report_config.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/utils/common/common.h"

/* A string option; replaces what *out held before. */
static int get_str(const oconfig_item_t *o, const char *where, char **out) {
  if (o->values_num != 1 || o->values[0].type != OCONFIG_TYPE_STRING) {
    CONF_ERROR(where, o->key, "takes exactly one quoted string.");
    return -1;
  }
  free(*out);
  *out = NULL;
  return cf_util_get_string(o, out);
}

static int rule_severity(report_rule_t *r, const oconfig_item_t *o,
                         const char *where) {
  char *s = NULL;
  if (get_str(o, where, &s) != 0)
    return -1;
  r->severity = strcasecmp(s, "failure") == 0   ? NOTIF_FAILURE
                : strcasecmp(s, "warning") == 0 ? NOTIF_WARNING
                : strcasecmp(s, "okay") == 0    ? NOTIF_OKAY
                                                : -1;
  free(s);
  if (r->severity < 0) {
    CONF_ERROR(where, "Severity", "give failure, warning or okay.");
    return -1;
  }
  return 0;
}

static int rule_task_id(report_rule_t *r, const oconfig_item_t *o,
                        const char *where) {
  char *s = NULL;
  int status = 0;
  if (get_str(o, where, &s) != 0)
    return -1;
  if (strcasecmp(s, "type_instance") == 0)
    r->source = TASK_ID_TYPE_INSTANCE;
  else if (strcasecmp(s, "plugin_instance") == 0)
    r->source = TASK_ID_PLUGIN_INSTANCE;
  else if (strncasecmp(s, "meta:", 5) == 0 && s[5] != 0) {
    r->source = TASK_ID_META;
    r->meta_key = strdup(s + 5);
    status = r->meta_key == NULL ? -1 : 0;
  } else {
    CONF_ERROR(where, "TaskId",
               "give type_instance, plugin_instance or "
               "meta:<key>.");
    status = -1;
  }
  free(s);
  return status;
}

static int rule_option(report_rule_t *r, const oconfig_item_t *o,
                       const char *where) {
  if (strcasecmp("Account", o->key) == 0) {
    free(r->account_name);
    r->account_name = NULL;
    return get_str(o, where, &r->account_name);
  }
  if (strcasecmp("Method", o->key) == 0) {
    char *m = NULL;
    if (get_str(o, where, &m) != 0)
      return -1;
    int status = report_method_parse(m, &r->method);
    free(m);
    if (status != 0)
      CONF_ERROR(where, "Method",
                 "give reportCorrectRecaptcha, "
                 "reportIncorrectRecaptcha, reportIncorrectImageCaptcha or "
                 "reportIncorrectHcaptcha.");
    return status;
  }
  if (strcasecmp("Plugin", o->key) == 0)
    return get_str(o, where, &r->plugin);
  if (strcasecmp("PluginInstance", o->key) == 0)
    return get_str(o, where, &r->plugin_instance);
  if (strcasecmp("Type", o->key) == 0)
    return get_str(o, where, &r->type);
  if (strcasecmp("TypeInstance", o->key) == 0)
    return get_str(o, where, &r->type_instance);
  if (strcasecmp("Severity", o->key) == 0)
    return rule_severity(r, o, where);
  if (strcasecmp("TaskId", o->key) == 0)
    return rule_task_id(r, o, where);
  CONF_ERROR(where, o->key, "unknown option; see collectd-anticaptcha(5).");
  return -1;
}

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
  if (get_str(ci, where, &r->name) != 0)
    return -1;
  snprintf(where, sizeof(where), "Report \"%s\"", r->name);

  for (int i = 0; i < ci->children_num; i++)
    if (rule_option(r, &ci->children[i], where) != 0)
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
  free(r->account_name);
  free(r->plugin);
  free(r->plugin_instance);
  free(r->type);
  free(r->type_instance);
  free(r->meta_key);
}

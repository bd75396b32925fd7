/* <Report "name"> blocks: the rules that turn notifications into reports
 * (report_rule_t, report_match.h), read from collectd's configuration. */
#ifndef ANTICAPTCHA_REPORT_CONFIG_H
#define ANTICAPTCHA_REPORT_CONFIG_H

#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/configfile.h"

#include "config/settings.h"

/* Appends the rule of one <Report> block to cfg->rules. Logs one line naming
 * the rule and the option and returns -1 on error; config_free() frees what
 * was read. */
int report_config_parse(plugin_config_t *cfg, const oconfig_item_t *ci);
/* Sets r->account from the account the rule names (or the only one). */
int report_config_resolve(const plugin_config_t *cfg, report_rule_t *r);
void report_config_free(report_rule_t *r);

#endif

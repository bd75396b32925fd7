/* Parsing <Plugin anticaptcha> blocks into the settings (settings.h):
 * accounts, report rules and the report sender's limits, validated once at
 * start-up. */
#ifndef ANTICAPTCHA_CONFIGURATION_H
#define ANTICAPTCHA_CONFIGURATION_H

#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/configfile.h"

#include "config/settings.h"

/* Collectd calls the config callback once per <Plugin anticaptcha> block, and
 * drop-in files may each bring one: config_init() once, config_add_block()
 * for every block, then config_finish() when all are read. Each logs one
 * line naming the account (or rule) and the option and returns -1 on error;
 * the caller then calls config_free(). */
void config_init(plugin_config_t *cfg);
int config_add_block(const oconfig_item_t *ci, plugin_config_t *cfg);
int config_finish(plugin_config_t *cfg);

/* All three for a single block; frees *cfg on error. */
int config_parse(const oconfig_item_t *ci, plugin_config_t *cfg);
void config_free(plugin_config_t *cfg);

#endif

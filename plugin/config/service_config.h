/* The Service option of an <Account>, and what the account's service cannot
 * serve: a poll it lacks (Queue, Total, SoftId, IP, IncorrectReportShare
 * need getSpendingStats), a report kind it lacks (a <Report> rule's Method),
 * a Window longer than its report window. Each refusal is one error line
 * naming the service and the option (doc/services.md). */
#ifndef ANTICAPTCHA_SERVICE_CONFIG_H
#define ANTICAPTCHA_SERVICE_CONFIG_H

#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/configfile.h"

#include "config/settings.h"

/* Reads the Service option of the <Account> block ci before its other
 * options (the key's length and the URL depend on it): sets
 * a->transport.service, Anti-Captcha when the block has none, and notes
 * whether Total is written. Returns 0, or -1 after one error line. */
int service_config_read(account_t *a, const oconfig_item_t *ci,
                        const char *where);

/* Once the account's options are read: refuses what its service lacks, and
 * turns Total's default off where there is no spending to poll. Returns 0,
 * or -1 after one error line. */
int service_config_check_account(account_t *a, const char *where);

/* Once every block is read: cfg->services (the accounts' services, for
 * report_match()), the rules' methods against their accounts' services and
 * Window against the services' report windows. Returns 0, or -1 after one
 * error line. */
int service_config_finish(plugin_config_t *cfg);

#endif

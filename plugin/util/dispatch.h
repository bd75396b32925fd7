/* Dispatching values under plugin "anticaptcha", instance = account. */
#ifndef ANTICAPTCHA_DISPATCH_H
#define ANTICAPTCHA_DISPATCH_H

#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/plugin.h"

/* time 0: now; interval 0: the read callback's. */
void dispatch_gauge(const char *account, const char *type,
                    const char *type_instance, double value, cdtime_t time,
                    cdtime_t interval);
void dispatch_derive(const char *account, const char *type_instance,
                     uint64_t value);

#endif

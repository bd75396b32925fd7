/* Dispatching values and counters to collectd (see dispatch.h). */
#include "util/dispatch.h"

#include "collectd/core/utils/common/common.h"

static void submit(const char *account, const char *type,
                   const char *type_instance, value_t value, cdtime_t time,
                   cdtime_t interval) {
  value_list_t vl = VALUE_LIST_INIT;
  vl.values = &value;
  vl.values_len = 1;
  vl.time = time;
  vl.interval = interval;
  sstrncpy(vl.plugin, "anticaptcha", sizeof(vl.plugin));
  sstrncpy(vl.plugin_instance, account, sizeof(vl.plugin_instance));
  sstrncpy(vl.type, type, sizeof(vl.type));
  sstrncpy(vl.type_instance, type_instance, sizeof(vl.type_instance));
  plugin_dispatch_values(&vl);
}

void dispatch_gauge(const char *account, const char *type,
                    const char *type_instance, double value, cdtime_t time,
                    cdtime_t interval) {
  submit(account, type, type_instance, (value_t){.gauge = value}, time,
         interval);
}

void dispatch_derive(const char *account, const char *type_instance,
                     uint64_t value) {
  submit(account, "derive", type_instance, (value_t){.derive = (derive_t)value},
         0, 0);
}

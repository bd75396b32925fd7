/* The control of test_lifecycle.py: a notification plugin whose callback is
 * reduced to `return 0`, to show collectd's own shutdown race apart from the
 * anticaptcha plugin's. Built by the test with the system's cc. */
#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/plugin.h"

static int noop_notify(const notification_t *n, user_data_t *ud) {
  (void)n;
  (void)ud;
  return 0;
}

void module_register(void) {
  plugin_register_notification(
      "noop_notify", noop_notify,
      &(user_data_t){.data = malloc(64), .free_func = free});
}

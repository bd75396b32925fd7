/* The <QueueStats> block: which queues' load and price to poll with
 * getQueueStats, where, and how often. No key: the method needs none. */
#ifndef ANTICAPTCHA_QUEUE_CONFIG_H
#define ANTICAPTCHA_QUEUE_CONFIG_H

#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/configfile.h"

#include "config/settings.h"
#include "model/spending.h"

/* The plugin instance the queues' values are dispatched under. */
#define QUEUE_STATS_INSTANCE "queues"

typedef struct queue_stats_config_s {
  api_transport_t transport; /* no key is sent */
  cdtime_t interval;
  char **queues; /* each queue as the user wrote it (name or id) */
  size_t num_queues;
  int64_t *ids;     /* the vendor's queue id, per queue */
  char **templates; /* AntiGate's templateName per queue, or NULL */
  char (*slugs)[SPENDING_SLUG_MAX + 1]; /* dispatched as, per queue */
} queue_stats_config_t;

/* Parses one <QueueStats> block into *out (allocated here; a second block is
 * an error). Logs one line naming the option and returns -1 on error. */
int queue_config_parse(const oconfig_item_t *ci, queue_stats_config_t **out);
/* Checks against the accounts once every block is read. */
int queue_config_finish(const queue_stats_config_t *q,
                        const plugin_config_t *cfg);
void queue_config_free(queue_stats_config_t *q);

#endif

/* The queue-statistics reader: one complex read callback polls getQueueStats
 * for every queue of the <QueueStats> block concurrently, at most every
 * 10 seconds, beside (not inside) the accounts' polls. */
#ifndef ANTICAPTCHA_QUEUE_READER_H
#define ANTICAPTCHA_QUEUE_READER_H

#include "config/queue_config.h"

/* Registers "anticaptcha/queues" at the block's Interval. The config must
 * outlive the callback. Returns 0 or -1. */
int queue_reader_register(const queue_stats_config_t *q);

#endif

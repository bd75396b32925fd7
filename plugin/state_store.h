/* The state file on disk (StateFile, default "anticaptcha.state" under
 * collectd's BaseDir): read at init into the report sender (pending reports,
 * remembered task ids) and the readers (the last hourly record dispatched
 * per series); written atomically every few seconds when something changed,
 * and at shutdown. A damaged file gives one warning and a clean start. */
#ifndef ANTICAPTCHA_STATE_STORE_H
#define ANTICAPTCHA_STATE_STORE_H

#include <stdint.h>

#include "configuration.h"
#include "report_sender.h"

/* How often the state file is written while collectd runs, when something
 * changed: a crash loses at most the reports of this last interval. */
#define STATE_WRITE_INTERVAL TIME_T_TO_CDTIME_T(2)

/* Once the sender is created (at init, or at a notification that comes
 * before it), before any report is submitted, before sender_start() and
 * the readers' registration: reads the file and restores what it holds.
 * Never fails: a file that cannot be used is a clean start. */
void state_store_open(const plugin_config_t *cfg, report_sender_t *sender);
/* At shutdown (or a failed init), after sender_stop() and before
 * sender_destroy(): the last write; frees the store. */
void state_store_close(void);

/* The newest hourly record of a series dispatched so far (0: unknown), and
 * its update after a dispatch. Thread-safe. */
int64_t state_store_series_last(const char *account, const char *slug);
void state_store_series_set(const char *account, const char *slug,
                            int64_t last_till);

#endif

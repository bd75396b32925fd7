/* The state file on disk (StateFile, default "anticaptcha.state" under
 * collectd's BaseDir): read at init into the report sender (pending reports,
 * remembered task ids) and the readers (the last hourly record dispatched
 * per series); what changed written every few seconds by a thread of its
 * own (state_saver.h), and at shutdown. A damaged file gives one warning and
 * a clean start; a file or directory another user owns or may write is not
 * used. */
#ifndef ANTICAPTCHA_STATE_STORE_H
#define ANTICAPTCHA_STATE_STORE_H

#include <stdint.h>

#include "config/settings.h"
#include "reports/report_sender.h"

/* How often what changed is written while collectd runs (sooner when much
 * changed): a crash loses at most the reports of this last interval. */
#define STATE_WRITE_INTERVAL TIME_T_TO_CDTIME_T(2)

typedef struct state_store_s state_store_t;

/* Once the sender is created (at init, or at a notification that comes
 * before it), before any report is submitted, before sender_start() and
 * the readers' registration: reads the file and restores what it holds.
 * NULL when no state is kept (StateFile false, the file locked by another
 * collectd, out of memory: each logged); the functions below take NULL as
 * "no state". A file that cannot be used is a clean start. */
state_store_t *state_store_open(const plugin_config_t *cfg,
                                report_sender_t *sender);
/* At shutdown (or a failed init), after sender_stop() and before
 * sender_destroy(): the last write, and the file's lock released. */
void state_store_close(state_store_t *store);
/* Frees the store (closing it first if need be); after the readers. */
void state_store_destroy(state_store_t *store);

/* The newest hourly record of a series written so far (0: unknown), and
 * its update once one is written. Thread-safe; 0 and nothing once closed. */
int64_t state_store_series_last(state_store_t *store, const char *account,
                                const char *slug);
void state_store_series_set(state_store_t *store, const char *account,
                            const char *slug, int64_t last_till);

#endif

/* The state file's writer: a thread of its own that writes what the report
 * sender changed (taken every STATE_WRITE_INTERVAL on the report worker: a
 * swap of logs, so that no one waits for the disk), appended as a frame,
 * and the whole state now and then (state_journal.h, state_batch.h). It
 * keeps the series' last hours too. Uses collectd's log and threads. */
#ifndef ANTICAPTCHA_STATE_SAVER_H
#define ANTICAPTCHA_STATE_SAVER_H

#include "reports/report_sender.h"
#include "state/state_batch.h"

typedef struct state_saver_s state_saver_t;

/* For the file at path (read already), the accounts named, the sender's
 * state; the thread is not started yet. NULL when memory runs out. */
state_saver_t *state_saver_new(const char *path, state_names_t names,
                               report_sender_t *sender);
/* Starts the thread; its first write is the whole state. 0, or the error
 * number (logged). */
int state_saver_start(state_saver_t *sv);
/* On the report worker (the sender's checkpoint): hands what changed to
 * the thread, unless it is still at the last write. */
void state_saver_checkpoint(void *sv);
/* Lets the thread finish, then writes what is left on this thread: after
 * sender_stop(). */
void state_saver_stop(state_saver_t *sv);
/* Stops it if need be, and frees it. */
void state_saver_free(state_saver_t *sv);

/* A series' last hour dispatched (0: unknown), and its update (kept if
 * later). Thread-safe. */
int64_t state_saver_series_last(state_saver_t *sv, const char *account,
                                const char *slug);
void state_saver_series_set(state_saver_t *sv, const char *account,
                            const char *slug, int64_t last_till);

#endif

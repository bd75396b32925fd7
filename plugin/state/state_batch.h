/* What the state file's writer writes: the report sender's snapshot as a
 * whole state, or its changes since the last write, coalesced (a report
 * queued and settled between two writes is one line: its task id
 * remembered). Pure. */
#ifndef ANTICAPTCHA_STATE_BATCH_H
#define ANTICAPTCHA_STATE_BATCH_H

#include "reports/sender_changes.h"
#include "state/state_file.h"

typedef struct state_batch_s state_batch_t;

/* Holds the memory of the last batch for the next. NULL when memory runs
 * out. */
state_batch_t *state_batch_new(void);
void state_batch_free(state_batch_t *b);

/* The accounts as configured: a change's account is an index into names. */
typedef struct {
  const char *const *names;
  size_t count;
} state_names_t;

/* The pending reports the batch keeps (state_pending.h): set from the
 * sender's jobs at the start and whenever changes were lost; every change
 * written (state_batch_changes) updates them. 0, or -1 when memory runs
 * out. */
int state_batch_set_pending(state_batch_t *b, const sender_snapshot_t *snap);

/* A whole state, in three steps: the header, the accounts and the series
 * (those of `series`'s accounts that are configured); then the task ids
 * remembered at now, a batch at a time (an id with a pending report goes
 * into its report's line); then the pending reports and the snapshot's
 * end. The writer must be new or cleared (its count of records is the
 * snapshot's). Each returns 0, or -1 (a record the writer refused). */
int state_batch_snapshot_begin(state_batch_t *b, state_writer_t *w,
                               state_names_t names, const state_t *series);
int state_batch_snapshot_seen(state_batch_t *b, state_writer_t *w,
                              state_names_t names, const seen_entry_t *seen,
                              size_t count, cdtime_t now);
int state_batch_snapshot_end(state_batch_t *b, state_writer_t *w,
                             state_names_t names);

/* The records of what changed: per report one line at most (two when an
 * older report of the same task id ended meanwhile), in the order they
 * first changed, then the series given; nothing when nothing changed. The
 * pending reports follow the changes; with w NULL nothing is written.
 * changes must not be lost (take the sender's snapshot then). 0, or -1
 * (out of memory: set the pending reports again). */
int state_batch_changes(state_batch_t *b, state_writer_t *w,
                        state_names_t names, const state_t *series,
                        const sender_changes_t *changes);

#endif

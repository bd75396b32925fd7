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

/* A whole state: the header, the accounts, the series (those of `series`'s
 * accounts that are configured), the task ids remembered at now, the
 * reports, and the snapshot's end. 0, or -1 (out of memory, or a record
 * the writer refused). */
int state_batch_snapshot(state_batch_t *b, state_writer_t *w,
                         state_names_t names, const state_t *series,
                         const sender_snapshot_t *snap, cdtime_t now);

/* The records of what changed: per report one line at most (two when an
 * older report of the same task id ended meanwhile), in the order they
 * first changed, then the series given. Nothing when nothing changed.
 * changes must not be lost (take a snapshot then). 0 or -1. */
int state_batch_changes(state_batch_t *b, state_writer_t *w,
                        state_names_t names, const state_t *series,
                        const sender_changes_t *changes);

#endif

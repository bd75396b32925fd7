/* The state being read back: a file's records applied one after the other
 * (a snapshot, then what changed since), kept within caps whatever the file
 * holds, and turned into a state_t at the end. Pure. */
#ifndef ANTICAPTCHA_STATE_REPLAY_H
#define ANTICAPTCHA_STATE_REPLAY_H

#include "state/state_file.h"

/* What a file may hold at most: what the options allow the sender to hold.
 * When a cap is reached, entries past their time (at now_ms) are dropped
 * first; a file that still holds more is refused. */
typedef struct {
  size_t reports;    /* pending reports, all accounts together */
  size_t seen;       /* task ids remembered, all accounts together */
  int64_t now_ms;    /* 0: nothing is ever dropped */
  int64_t window_ms; /* a report is dead this long after its completion */
} state_caps_t;

typedef struct state_replay_s state_replay_t;

/* NULL when memory runs out. */
state_replay_t *state_replay_new(const state_caps_t *caps);
void state_replay_free(state_replay_t *r);

/* Each applies one record and returns 0, or -1 with the reason in why
 * (an account number not declared, a cap reached, out of memory). */
int state_replay_account(state_replay_t *r, uint32_t n, const char *name,
                         char *why, size_t why_size);
/* Sets the report (replacing one of the same task id); its task id is
 * remembered until expires_ms at least (0: as the seen records say). */
int state_replay_report(state_replay_t *r, uint32_t n,
                        const state_report_t *rep, int64_t expires_ms,
                        char *why, size_t why_size);
/* Remembers the task id until expires_ms at least. */
int state_replay_seen(state_replay_t *r, uint32_t n, const state_seen_t *s,
                      char *why, size_t why_size);
/* The report of this task id and completion time, if still there: its
 * attempts, or its end. */
int state_replay_tries(state_replay_t *r, uint32_t n, task_id_t task,
                       int64_t completed_ms, unsigned attempts, char *why,
                       size_t why_size);
int state_replay_done(state_replay_t *r, uint32_t n, task_id_t task,
                      int64_t completed_ms, char *why, size_t why_size);
/* The series' last record, the later of two; with once, a series named
 * twice is refused (version 1 lists each once). */
int state_replay_series(state_replay_t *r, uint32_t n, const char *slug,
                        int64_t last_till, bool once, char *why,
                        size_t why_size);

/* Moves what was read into *out (initialised here): per account, in the
 * order declared, its reports in the order they were queued, every task id
 * remembered (those of its reports too) and its series. 0, or -1 when
 * memory runs out. */
int state_replay_finish(state_replay_t *r, state_t *out);

#endif

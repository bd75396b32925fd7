/* The pending reports the state file's writer knows of: set from the
 * sender's jobs once, then kept up to date by each change it writes, so
 * that writing the whole state again needs no copy from the sender. Memory
 * in proportion to the reports pending, kept from one write to the next.
 * Pure. */
#ifndef ANTICAPTCHA_STATE_PENDING_H
#define ANTICAPTCHA_STATE_PENDING_H

#include "reports/sender_changes.h"
#include "state/state_file.h"

typedef struct state_pending_s state_pending_t;

/* NULL when memory runs out. */
state_pending_t *state_pending_new(void);
void state_pending_free(state_pending_t *p);

/* Forgets every report, then takes the sender's jobs (their ids remembered
 * until their deadline at least). 0, or -1 when memory runs out. */
int state_pending_reset(state_pending_t *p, const sender_snapshot_t *snap);
/* One change: a report queued (placed last), sent again, or gone (a report
 * is its task id and completion time). 0, or -1 when memory runs out: what
 * it holds is then wrong until the next reset. */
int state_pending_apply(state_pending_t *p, const sender_change_t *c);
/* Whether the id has a pending report; if so its expiry is raised to
 * expires_ms (the seen set's, later than the report's deadline). */
bool state_pending_has(state_pending_t *p, uint32_t account, task_id_t task,
                       int64_t expires_ms);
/* Calls fn for each pending report, oldest first. */
void state_pending_each(const state_pending_t *p,
                        void (*fn)(uint32_t account, const state_report_t *r,
                                   int64_t expires_ms, void *ud),
                        void *ud);
size_t state_pending_count(const state_pending_t *p);

#endif

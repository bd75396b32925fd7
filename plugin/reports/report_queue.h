/* The report queue's pure parts: the set of task ids already reported, the
 * bounded FIFO of jobs, and the window and retry decisions.
 * No collectd calls, no locking: the sender holds its lock around the shared
 * queue and the seen set; the worker alone uses its accounts' rings. */
#ifndef ANTICAPTCHA_REPORT_QUEUE_H
#define ANTICAPTCHA_REPORT_QUEUE_H

#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/utils_time.h"

#include "model/report_match.h"

/* Every time here but a request's `completed` is the monotonic clock's
 * (util/mono_time.h): a deadline or an expiry keeps its length whatever the
 * wall clock does once the notification has arrived. */

/* ---- Seen task ids: at most one report per task and account. ----
 * Entries are kept in arrival order and forgotten from the oldest on, once
 * expired: O(1) per add. Memory is taken at init and doubled only when more
 * ids than that are live at once, up to max_live. An entry whose expiry is
 * earlier than an older one's waits for it, so ids are forgotten late, never
 * early. */
typedef struct {
  task_id_t task_id;
  uint32_t account;
  cdtime_t expires;
} seen_entry_t;

typedef struct {
  uint32_t *table;    /* open addressing: 1 + index into ring, 0 = empty */
  size_t mask;        /* table size - 1 (a power of two >= 2 * capacity) */
  seen_entry_t *ring; /* entries in arrival order */
  size_t capacity, head, count;
  size_t max_live; /* the capacity it may grow to */
} seen_set_t;

typedef enum { SEEN_NEW, SEEN_DUPLICATE, SEEN_FULL } seen_result_t;

/* Allocates room for `initial` ids, to grow up to max_live; returns 0 or -1
 * (ENOMEM). */
int seen_init(seen_set_t *s, size_t initial, size_t max_live);
void seen_destroy(seen_set_t *s);
/* Records (account, task) until expires unless it is already remembered and
 * not expired at now. SEEN_FULL: max_live unexpired ids are remembered (or
 * growing failed for want of memory). */
seen_result_t seen_add(seen_set_t *s, uint32_t account, task_id_t task_id,
                       cdtime_t now, cdtime_t expires);
/* A task id read back from the state file, to be remembered until
 * `expires` (the wall clock's time): clamped as on arrival, to at most
 * Window from now, and moved to the monotonic clock. 0: it has expired. */
cdtime_t seen_expiry_restored(cdtime_t expires, cdtime_t window,
                              cdtime_t wall_now, cdtime_t mono_now);

/* ---- Jobs ---- */
typedef struct {
  report_request_t req;
  cdtime_t deadline; /* completed + Window, monotonic: never sent after */
  unsigned attempts;
  /* An attempt may have reached the API though its answer was lost (a
   * timeout, a connection cut mid-way, an unreadable 2xx body). */
  bool maybe_delivered;
} report_job_t;

typedef struct {
  report_job_t *items;
  size_t capacity, head, count;
} job_ring_t;

/* Takes the memory for capacity jobs now (pages touched). */
int job_ring_init(job_ring_t *q, size_t capacity);
void job_ring_destroy(job_ring_t *q);
/* Returns 0, or -1 when full. */
int job_ring_push(job_ring_t *q, const report_job_t *job);
/* Returns 0 and fills *job, or -1 when empty. */
int job_ring_pop(job_ring_t *q, report_job_t *job);
/* Puts a job before the others (a retry: older than what is queued).
 * Returns 0, or -1 when full. */
int job_ring_push_front(job_ring_t *q, const report_job_t *job);
/* The next job, or NULL when empty. */
static inline const report_job_t *job_ring_peek(const job_ring_t *q) {
  return q->count > 0 ? &q->items[q->head] : NULL;
}

/* ---- Decisions ---- */
static inline bool report_window_open(const report_job_t *job, cdtime_t now) {
  return now < job->deadline;
}
/* As a notification arrives (or a report is read back from the state file):
 * a completion later than wall_now is clock skew and is taken as wall_now;
 * the deadline is set on the monotonic clock, once. Returns whether the
 * window is still open. */
bool job_arrives(report_job_t *job, cdtime_t window, cdtime_t wall_now,
                 cdtime_t mono_now);
/* The job's completion, as the wall clock reads now: the same as
 * req.completed unless the clock has stepped since the job arrived. */
cdtime_t job_completed_now(const report_job_t *job, cdtime_t window,
                           cdtime_t wall_now, cdtime_t mono_now);

typedef enum {
  OUTCOME_ACCEPTED,  /* errorId 0 */
  OUTCOME_API_ERROR, /* errorId != 0: final, never retried */
  OUTCOME_TRANSIENT, /* transport error, HTTP 5xx/429, unparsable body */
} report_outcome_t;

typedef enum {
  DECISION_ACCEPTED,
  DECISION_REJECTED,
  DECISION_RETRY,   /* back to the front of its account's queue */
  DECISION_EXPIRED, /* the window has closed */
} report_decision_t;

/* When a retry goes is the account's pacing (send_pacing.h): one back-off
 * per account, not one per job. */
report_decision_t report_decide(report_job_t *job, report_outcome_t outcome,
                                cdtime_t now);

#endif

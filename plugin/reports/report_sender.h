/* The report sender: a bounded queue filled by the notification callback and
 * drained by one worker thread that sends reports concurrently over libcurl's
 * multi interface, paced per account and per host (send_pacing.h), retrying
 * transient failures while the window is open. */
#ifndef ANTICAPTCHA_REPORT_SENDER_H
#define ANTICAPTCHA_REPORT_SENDER_H

#include "config/configuration.h"
#include "model/report_match.h"
#include "reports/report_queue.h"
#include "reports/sender_changes.h"

/* Task ids remembered at once, at most (the seen set doubles up to it): 60
 * s of 17,476 reports a second. */
#define REPORT_SEEN_MAX 1048576

/* The report counters, one row each: the name dispatched as
 * derive-reports-<name>, and what it counts. doc/values.tsv's "reports" rows
 * say the same (tests/doc/test_counters_documented.py checks). */
#define REPORT_COUNTERS(X)                                                     \
  X(sent, "report requests made, retries included")                            \
  X(accepted, "answered `errorId` 0")                                          \
  X(rejected,                                                                  \
    "refused by the API (any `errorId` ≠ 0, or an HTTP 4xx); with a "        \
    "hub pair, a taken-over report answered errorId 16 counts as "             \
    "`pair-peer-refused` instead")                                             \
  X(expired, "the window closed before the report could be sent (also: "       \
             "reports of the state file whose window closed while collectd "   \
             "was down)")                                                      \
  X(duplicate, "the task had already been reported")                           \
  X(dropped, "the queue was full (`QueueLimit`), too many task ids arrived "   \
             "within a `Window`, or a request could not be set up; each "      \
             "cause logs its own line")                                        \
  X(retried, "attempts after a transient failure")                             \
  X(abandoned, "arrived while collectd was shutting down, or left unsent at "  \
               "shutdown with `StateFile false` (with the state file they "    \
               "are sent after the restart)")                                  \
  X(throttled, "answers HTTP 429 or 503: the server pushing back")             \
  X(paused, "not sent: the account was paused by an account-level API error "  \
            "(`errorId` 1, 11, 14, 21, 55 or an HTTP 4xx)")                    \
  X(withheld, "held back by the report-rate guard (`IncorrectReportShare`)")   \
  X(unconfirmed, "`errorId` 16 on a retry after an attempt whose answer was "  \
                 "lost (timeout, cut connection): that attempt most likely "   \
                 "got through, so it is not counted as `rejected`")

typedef struct {
#define REPORT_COUNTER_FIELD(name, doc) uint64_t name;
  REPORT_COUNTERS(REPORT_COUNTER_FIELD)
#undef REPORT_COUNTER_FIELD
} report_counters_t;

enum {
#define REPORT_COUNTER_INDEX(name, doc) REPORT_COUNTER_##name,
  REPORT_COUNTERS(REPORT_COUNTER_INDEX)
#undef REPORT_COUNTER_INDEX
      REPORT_COUNTER_COUNT
};

/* The names, in the table's order. */
extern const char *const report_counter_names[REPORT_COUNTER_COUNT];
/* The values of c, in the same order. */
void report_counter_values(const report_counters_t *c,
                           uint64_t out[REPORT_COUNTER_COUNT]);

typedef enum {
  SUBMIT_QUEUED,
  SUBMIT_EXPIRED,
  SUBMIT_DUPLICATE,
  SUBMIT_DROPPED,   /* the queue is full (QueueLimit) */
  SUBMIT_PAUSED,    /* the account is paused: counted, not queued */
  SUBMIT_SEEN_FULL, /* too many task ids remembered at once */
  SUBMIT_STOPPING,  /* collectd is shutting down */
} submit_result_t;

typedef struct report_sender_s report_sender_t;

/* cfg must outlive the sender. Returns NULL when out of memory. */
report_sender_t *sender_create(const plugin_config_t *cfg);
/* Starts the worker thread. Returns 0 or the error number (the caller logs
 * it). */
int sender_start(report_sender_t *s);
/* Called from the notification callback: checks the room left, the window
 * and the seen set, enqueues and returns without any I/O. Thread-safe. */
submit_result_t sender_submit(report_sender_t *s, const report_request_t *req);
/* Stops taking jobs, gives reports in flight up to grace to finish, joins
 * the worker and counts what is left as abandoned (or keeps it, see
 * sender_keep_pending). Submits after this are counted as abandoned. */
void sender_stop(report_sender_t *s, cdtime_t grace);
void sender_destroy(report_sender_t *s);
void sender_counters(report_sender_t *s, size_t account,
                     report_counters_t *out);
/* The same counters, of one report method of the account. */
void sender_method_counters(report_sender_t *s, size_t account,
                            report_method_t method, report_counters_t *out);
/* Counts a report the report-rate guard held back (it was never queued).
 * Thread-safe. */
void sender_count_withheld(report_sender_t *s, const report_request_t *req);
/* The account's sender state, a pace_state_t (send_pacing.h): 0 open,
 * 1 backing off, 2 waiting (Retry-After), 3 paused. Thread-safe. */
int sender_state(report_sender_t *s, size_t account);

/* Called on the worker thread for every final answer of the API: accepted,
 * or refused (gone: "no such task, too late or already reported"). Returns
 * true when it has counted a refusal itself (the sender then neither counts
 * nor logs it). Must not block. */
typedef bool (*sender_outcome_fn)(void *ud, const report_request_t *req,
                                  bool accepted, bool gone);
/* Before sender_start(). */
void sender_on_outcome(report_sender_t *s, sender_outcome_fn fn, void *ud);

/* ---- For the state file (state_store.c; sender_persist.c) ---- */
/* Calls fn(ud) on the worker thread about every `interval` while it runs
 * (it must not block: it takes the changes, another thread writes them);
 * set before sender_start(). From then on the sender logs its changes. */
void sender_set_checkpoint(report_sender_t *s, void (*fn)(void *ud), void *ud,
                           cdtime_t interval);
/* Have sender_stop() keep the reports left unsent (for the state file)
 * instead of counting them as abandoned. */
void sender_keep_pending(report_sender_t *s);
/* What changed since the last take (jobs queued, sent again, settled),
 * swapped with *out, which must be empty: cheap, under the queue's lock. A
 * log that grew past SENDER_CHANGES_MAX comes back lost: take a snapshot.
 * Times in it are the wall clock's (expiries read on it when logged).
 * Only from the checkpoint callback or after sender_stop(). */
void sender_take_changes(report_sender_t *s, sender_changes_t *out);
/* Every pending job (in flight, waiting in an account's ring, or queued,
 * each once), copied into *out (emptied first, its memory reused), its
 * deadline read on the wall clock: the changes logged so far are in it, and
 * dropped. 0, or -1 when memory runs out. Only from the checkpoint callback
 * or after sender_stop(). */
int sender_take_snapshot(report_sender_t *s, sender_snapshot_t *out);
/* Then, from any thread: calls fn with the task ids remembered, a few
 * thousand at a time, each batch copied under the queue's lock and handed
 * over without it (so no notification waits for the whole set, nor for
 * what fn does), expiries read on the wall clock. An id may come twice. 0,
 * or -1 when memory runs out. */
int sender_each_seen(report_sender_t *s,
                     void (*fn)(const seen_entry_t *e, size_t n, void *ud),
                     void *ud);
/* Remembers a task id read from the state file (after its reports) until
 * expires (the wall clock's time), at most a Window from now. */
void sender_restore_seen(report_sender_t *s, size_t account, task_id_t task_id,
                         cdtime_t expires);
/* Queues a report read from the state file, exactly once: its task id is
 * remembered, and a task already remembered (the notification came again
 * first) is a duplicate, not queued twice. Its deadline is set from
 * req.completed (the wall clock's time) as for a notification: a completion
 * in the future is taken as now. A report whose window has closed is
 * counted as expired. Thread-safe. */
submit_result_t sender_restore_job(report_sender_t *s, const report_job_t *job);

#endif

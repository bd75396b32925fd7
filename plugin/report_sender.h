/* The report sender: a bounded queue filled by the notification callback and
 * drained by one worker thread that sends reports concurrently over libcurl's
 * multi interface, retrying transient failures while the window is open. */
#ifndef ANTICAPTCHA_REPORT_SENDER_H
#define ANTICAPTCHA_REPORT_SENDER_H

#include "configuration.h"
#include "report_match.h"
#include "report_queue.h"

typedef struct {
  uint64_t sent;      /* requests made, retries included */
  uint64_t accepted;  /* errorId 0 */
  uint64_t rejected;  /* final API errors, errorId 16 among them */
  uint64_t expired;   /* the window closed before the report could go */
  uint64_t duplicate; /* the task was already reported */
  uint64_t dropped;   /* the queue was full */
  uint64_t retried;   /* attempts after a transient failure */
  uint64_t abandoned; /* left unsent at shutdown */
  uint64_t unconfirmed; /* errorId 16 on a retry after an answer was lost */
} report_counters_t;

typedef enum {
  SUBMIT_QUEUED,
  SUBMIT_EXPIRED,
  SUBMIT_DUPLICATE,
  SUBMIT_DROPPED,  /* the queue is full (QueueLimit) */
  SUBMIT_SEEN_FULL, /* too many task ids remembered at once */
  SUBMIT_STOPPING,  /* collectd is shutting down */
} submit_result_t;

typedef struct report_sender_s report_sender_t;

/* cfg must outlive the sender. Returns NULL when out of memory. */
report_sender_t *sender_create(const plugin_config_t *cfg);
/* Starts the worker thread. */
int sender_start(report_sender_t *s);
/* Called from the notification callback: checks the room left, the window
 * and the seen set, enqueues and returns without any I/O. Thread-safe. */
submit_result_t sender_submit(report_sender_t *s, const report_request_t *req);
/* Stops taking jobs, gives reports in flight up to grace to finish, joins
 * the worker and counts what is left as abandoned. Submits after this are
 * counted as abandoned. */
void sender_stop(report_sender_t *s, cdtime_t grace);
void sender_destroy(report_sender_t *s);
void sender_counters(report_sender_t *s, size_t account,
                     report_counters_t *out);

/* ---- For the state file (state_store.c) ---- */
/* Calls fn(ud) on the worker thread about every `interval` while it runs;
 * set before sender_start(). */
void sender_set_checkpoint(report_sender_t *s, void (*fn)(void *ud), void *ud,
                           cdtime_t interval);
/* Have sender_stop() keep the reports left unsent (for the state file)
 * instead of counting them as abandoned. */
void sender_keep_pending(report_sender_t *s);
/* Grows with every change of the jobs or task ids: the state file is
 * written again only when it moved. */
uint64_t sender_changes(report_sender_t *s);
/* Calls fn for every report not yet answered (queued, backing off or in
 * flight), each once. Only from the checkpoint callback or after
 * sender_stop(): the worker owns the jobs it holds. */
void sender_each_job(report_sender_t *s,
                     void (*fn)(const report_job_t *job, void *ud), void *ud);
/* Calls fn for every task id remembered and not expired at now. */
void sender_each_seen(report_sender_t *s, cdtime_t now,
                      void (*fn)(const seen_entry_t *e, void *ud), void *ud);
/* Remembers a task id read from the state file (after its reports). */
void sender_restore_seen(report_sender_t *s, size_t account, uint64_t task_id,
                         cdtime_t expires);
/* Queues a report read from the state file, exactly once: its task id is
 * remembered, and a task already remembered (the notification came again
 * first) is a duplicate, not queued twice. A report whose window has closed
 * is counted as expired. Thread-safe. */
submit_result_t sender_restore_job(report_sender_t *s, const report_job_t *job);

#endif

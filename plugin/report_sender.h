/* The report sender: a bounded queue filled by the notification callback and
 * drained by one worker thread that sends reports concurrently over libcurl's
 * multi interface, retrying transient failures while the window is open. */
#ifndef ANTICAPTCHA_REPORT_SENDER_H
#define ANTICAPTCHA_REPORT_SENDER_H

#include "configuration.h"
#include "report_match.h"

typedef struct {
  uint64_t sent;      /* requests made, retries included */
  uint64_t accepted;  /* errorId 0 */
  uint64_t rejected;  /* final API errors, errorId 16 among them */
  uint64_t expired;   /* the window closed before the report could go */
  uint64_t duplicate; /* the task was already reported */
  uint64_t dropped;   /* the queue was full */
  uint64_t retried;   /* attempts after a transient failure */
  uint64_t abandoned; /* left unsent at shutdown */
} report_counters_t;

typedef enum {
  SUBMIT_QUEUED,
  SUBMIT_EXPIRED,
  SUBMIT_DUPLICATE,
  SUBMIT_DROPPED,
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
/* The same counters, of one report method of the account. */
void sender_method_counters(report_sender_t *s, size_t account,
                            report_method_t method, report_counters_t *out);

#endif

/* The report sender: a bounded queue filled by the notification callback and
 * drained by one worker thread that sends reports concurrently over libcurl's
 * multi interface, paced per account and per host (send_pacing.h), retrying
 * transient failures while the window is open. */
#ifndef ANTICAPTCHA_REPORT_SENDER_H
#define ANTICAPTCHA_REPORT_SENDER_H

#include "configuration.h"
#include "report_match.h"

/* The report counters, one row each: the name dispatched as
 * derive-reports-<name>, and what it counts. doc/values.tsv's "reports" rows
 * say the same (tests/doc/test_counters_documented.py checks). */
#define REPORT_COUNTERS(X)                                                     \
  X(sent, "report requests made, retries included")                            \
  X(accepted, "answered `errorId` 0")                                          \
  X(rejected, "refused by the API (any `errorId` ≠ 0, or an HTTP 4xx); with a " \
              "hub pair, a taken-over report answered errorId 16 counts as "   \
              "`pair-peer-refused` instead")                                   \
  X(expired, "the window closed before the report could be sent")              \
  X(duplicate, "the task had already been reported")                           \
  X(dropped, "the queue was full")                                             \
  X(retried, "attempts after a transient failure")                             \
  X(abandoned, "left unsent at shutdown")                                      \
  X(throttled, "answers HTTP 429 or 503: the server pushing back")             \
  X(paused, "not sent: the account was paused by an account-level API error "  \
            "(`errorId` 1, 11, 14, 21, 55 or an HTTP 4xx)")                    \
  X(withheld, "held back by the report-rate guard (`IncorrectReportShare`)")

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
  SUBMIT_DROPPED,
  SUBMIT_PAUSED, /* the account is paused: counted, not queued */
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
/* Counts a report the report-rate guard held back (it was never queued).
 * Thread-safe. */
void sender_count_withheld(report_sender_t *s, const report_request_t *req);
/* The account's sender state, a pace_state_t (send_pacing.h): 0 open,
 * 1 backing off, 2 waiting (Retry-After), 3 paused. Thread-safe. */
int sender_state(report_sender_t *s, size_t account);

/* Called on the worker thread for every final answer of the API: accepted,
 * or refused with error_id. Returns true when it has counted a refusal
 * itself (the sender then neither counts nor logs it). Must not block. */
typedef bool (*sender_outcome_fn)(void *ud, const report_request_t *req,
                                  bool accepted, int64_t error_id);
/* Before sender_start(). */
void sender_on_outcome(report_sender_t *s, sender_outcome_fn fn, void *ud);

#endif

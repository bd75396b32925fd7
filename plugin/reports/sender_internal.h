/* The report sender's state, shared by report_sender.c (the queue: submit,
 * counters, start and stop) and sender_worker.c (the worker's loop). Not for
 * other modules. */
#ifndef ANTICAPTCHA_SENDER_INTERNAL_H
#define ANTICAPTCHA_SENDER_INTERNAL_H

#include "reports/report_sender.h"

#include "collectd/core/daemon/utils_complain.h"

#include <pthread.h>

#include "api/api_client.h"
#include "api/multi_driver.h"
#include "reports/report_queue.h"
#include "reports/send_pacing.h"
#include "reports/sender_changes.h"

/* One request in flight (or a free place for one). */
typedef struct {
  api_call_t call; /* call.user points back here */
  report_job_t job;
  bool busy;
  bool opening; /* it found no idle connection: it opens one */
} slot_t;

/* One account: what other threads read (atomically), then the worker's
 * own view. */
typedef struct {
  /* Atomic increments; the account's counters are their sums (one atomic
   * per event: in a flood every notification counts a drop). */
  report_counters_t by_method[REPORT_METHOD_COUNT];
  int state;             /* pace_state_t; atomic */
  cdtime_t paused_until; /* submits before it are counted paused; atomic */

  job_ring_t ready; /* taken from the shared queue, oldest first */
  pace_t pace;
  conn_gate_t *gate;                    /* its host's */
  c_complain_t rejected, failing, held; /* log once per outage */
} account_tx_t;

struct report_sender_s {
  const plugin_config_t *cfg;
  CURLM *multi;
  multi_driver_t driver; /* its wake_fd: a first job was queued, or stop */

  pthread_mutex_t lock; /* guards the fields up to `stopping` */
  job_ring_t queue;
  seen_set_t seen;
  /* Queued (here and in the accounts' rings), what QueueLimit bounds:
   * written under the lock, read without it by sender_submit's fast path. */
  size_t backlog;
  bool stopping;

  /* The worker's own. */
  pthread_t thread;
  bool started;
  slot_t *slots;
  size_t *free_slots, num_free; /* a stack of indices into slots */
  size_t in_flight;
  account_tx_t *tx;    /* per account (+ 1: none may be configured) */
  conn_gate_t *gates;  /* per distinct URL */
  size_t parked;       /* jobs in the accounts' rings */
  size_t next_account; /* round robin */

  /* The state file's (sender_persist.c). */
  void (*checkpoint)(void *ud); /* set before start, then read-only */
  void *checkpoint_ud;
  cdtime_t checkpoint_interval, next_checkpoint; /* the worker's */
  bool keep_pending;
  /* What changed for the file since it last took it (with the lock held),
   * and what the worker changed since its last turn (its own). */
  sender_changes_t changes, worker_changes;
  size_t logged; /* the worker's: changes' count at its last look */

  sender_outcome_fn on_outcome; /* the hub pair's hook; may be NULL */
  void *on_outcome_ud;
};

/* Counters are bumped on many threads and read by the counters' read
 * callback: atomics, so that neither waits for the queue's lock. */
#define COUNT(s, req, field)                                                   \
  do {                                                                         \
    account_tx_t *t_ = &(s)->tx[(req).account];                                \
    __atomic_fetch_add(&t_->by_method[(req).method].field, 1,                  \
                       __ATOMIC_RELAXED);                                      \
  } while (0)

/* A job settled (counted as `field`): the state file forgets it. */
#define COUNT_GONE(s, job, field)                                              \
  do {                                                                         \
    COUNT(s, (job).req, field);                                                \
    sender_note(s, &(job), CHANGE_GONE);                                       \
  } while (0)

/* With the lock held. */
static inline void set_backlog(report_sender_t *s, size_t n) {
  __atomic_store_n(&s->backlog, n, __ATOMIC_RELAXED);
}

/* sender_worker.c */
void *sender_worker(void *arg);
/* Lets what is in flight finish, for up to grace (the worker has ended). */
void sender_drain(report_sender_t *s, cdtime_t grace);
/* Ends what is still in flight and counts it, with the accounts' rings, as
 * abandoned; returns how many (the worker has ended). */
uint64_t sender_abandon_worker_jobs(report_sender_t *s);

/* sender_persist.c: the worker's part of the state file. */
/* Writes the state file when it is due (on the worker, between turns). */
void sender_checkpoint(report_sender_t *s, cdtime_t now);
/* next, or the checkpoint's time when it comes sooner. */
cdtime_t sender_checkpoint_wake(const report_sender_t *s, cdtime_t now,
                                cdtime_t next);
/* What a lost answer means for the slot's job, after report_decide: true
 * when the job is settled as unconfirmed (errorId 16 after an attempt that
 * may have got through); false otherwise, having marked the job when this
 * attempt's answer may have been lost. */
bool sender_settle_unconfirmed(report_sender_t *s, slot_t *slot,
                               report_decision_t d);
/* Notes a change of a job the worker holds, for the state file (nothing
 * without one); sender_note_queued, a job queued (with the lock held), its
 * task id remembered until expires (the wall clock's time). */
void sender_note(report_sender_t *s, const report_job_t *job,
                 change_kind_t kind);
void sender_note_queued(report_sender_t *s, const report_job_t *job,
                        cdtime_t expires);
/* Moves the worker's notes to the shared log (on the worker, lock held). */
void sender_notes_share(report_sender_t *s);
/* Instead of sender_abandon_worker_jobs with the state file: what is in
 * flight goes back to the front of its account's ring, and stays there with
 * the rest for the last write; returns how many (the worker has ended). */
uint64_t sender_keep_worker_jobs(report_sender_t *s);

#endif

/* The report sender's side of the state file: the checkpoint's pace, the
 * pending jobs and task ids read out and restored, and what a lost answer
 * means (see report_sender.h, "For the state file"). */
#include "reports/sender_internal.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/utils/common/common.h"

/* ---- Set up (before sender_start) ---- */

void sender_set_checkpoint(report_sender_t *s, void (*fn)(void *ud), void *ud,
                           cdtime_t interval) {
  s->checkpoint = fn;
  s->checkpoint_ud = ud;
  s->checkpoint_interval = interval;
  s->next_checkpoint = 0; /* the first turn writes what was restored */
}

void sender_keep_pending(report_sender_t *s) { s->keep_pending = true; }

uint64_t sender_changes(report_sender_t *s) {
  return __atomic_load_n(&s->changes, __ATOMIC_RELAXED);
}

/* ---- The worker's ---- */

/* Between turns the jobs the worker holds cannot move, and only the worker
 * moves jobs out of the shared queue: each pending job is in exactly one of
 * the three places sender_each_job walks. */
void sender_checkpoint(report_sender_t *s, cdtime_t now) {
  if (s->checkpoint == NULL || now < s->next_checkpoint)
    return;
  s->next_checkpoint = now + s->checkpoint_interval;
  s->checkpoint(s->checkpoint_ud);
}

cdtime_t sender_checkpoint_wake(const report_sender_t *s, cdtime_t now,
                                cdtime_t next) {
  if (s->checkpoint == NULL || s->next_checkpoint >= next)
    return next;
  return s->next_checkpoint > now ? s->next_checkpoint : now;
}

/* Whether a failed attempt may have reached the API: the request was sent
 * (or may have been) and no answer said otherwise. A refused connection or
 * an HTTP error status means it was not processed. */
static bool answer_maybe_lost(const api_call_t *c) {
  if (c->code == CURLE_COULDNT_CONNECT ||
      c->code == CURLE_COULDNT_RESOLVE_HOST ||
      c->code == CURLE_COULDNT_RESOLVE_PROXY)
    return false;
  return c->http_status == 0 || (c->http_status >= 200 && c->http_status < 300);
}

bool sender_settle_unconfirmed(report_sender_t *s, slot_t *slot,
                               report_decision_t d) {
  if (d == DECISION_REJECTED && slot->job.maybe_delivered &&
      api_call_error(&slot->call) == SERVICE_ERROR_GONE) {
    /* "No such task" after an attempt whose answer was lost: most likely
     * that attempt got through. Not a refusal: counted apart, quietly. */
    COUNT(s, slot->job.req, unconfirmed);
    return true;
  }
  if (api_call_result(&slot->call) == API_TRANSIENT &&
      answer_maybe_lost(&slot->call))
    slot->job.maybe_delivered = true;
  return false;
}

uint64_t sender_keep_worker_jobs(report_sender_t *s) {
  for (size_t i = 0; i < s->cfg->max_in_flight; i++) {
    slot_t *slot = &s->slots[i];
    if (!slot->busy)
      continue;
    curl_multi_remove_handle(s->multi, slot->call.curl);
    slot->busy = false;
    s->free_slots[s->num_free++] = i;
    /* Its answer never came: the request may have got through. */
    slot->job.maybe_delivered = true;
    /* Older than what waits in its ring; the rings have room for it. */
    if (job_ring_push_front(&s->tx[slot->job.req.account].ready, &slot->job) ==
        0)
      s->parked++;
    else
      COUNT(s, slot->job.req, abandoned);
  }
  s->in_flight = 0;
  sender_changed(s);
  return s->parked;
}

/* ---- Reading the jobs and ids out ---- */

static void each_in_ring(const job_ring_t *q,
                         void (*fn)(const report_job_t *, void *), void *ud) {
  for (size_t i = 0; i < q->count; i++)
    fn(&q->items[(q->head + i) % q->capacity], ud);
}

void sender_each_job(report_sender_t *s,
                     void (*fn)(const report_job_t *job, void *ud), void *ud) {
  for (size_t i = 0; i < s->cfg->max_in_flight; i++)
    if (s->slots[i].busy)
      fn(&s->slots[i].job, ud);
  for (size_t a = 0; a < s->cfg->num_accounts; a++)
    each_in_ring(&s->tx[a].ready, fn, ud);
  pthread_mutex_lock(&s->lock);
  each_in_ring(&s->queue, fn, ud);
  pthread_mutex_unlock(&s->lock);
}

void sender_each_seen(report_sender_t *s, cdtime_t now,
                      void (*fn)(const seen_entry_t *e, void *ud), void *ud) {
  pthread_mutex_lock(&s->lock);
  for (size_t i = 0; i < s->seen.count; i++) {
    const seen_entry_t *e =
        &s->seen.ring[(s->seen.head + i) % s->seen.capacity];
    if (e->expires > now)
      fn(e, ud);
  }
  pthread_mutex_unlock(&s->lock);
}

/* ---- Restoring ---- */

void sender_restore_seen(report_sender_t *s, size_t account, task_id_t task_id,
                         cdtime_t expires) {
  pthread_mutex_lock(&s->lock);
  seen_add(&s->seen, (uint32_t)account, task_id, cdtime(), expires);
  pthread_mutex_unlock(&s->lock);
}

submit_result_t sender_restore_job(report_sender_t *s,
                                   const report_job_t *job) {
  cdtime_t now = cdtime();
  submit_result_t result = SUBMIT_QUEUED;
  bool was_empty = false;
  char why[128];
  /* Written while the account had another Service: no report this one can
   * send (its kind or its task id's form). */
  if (report_fit_service(MATCH_REPORT, &job->req, s->cfg->services, why,
                         sizeof(why)) != MATCH_REPORT) {
    COUNT(s, job->req, dropped);
    return SUBMIT_DROPPED;
  }
  if (!report_window_open(job, now)) {
    COUNT(s, job->req, expired);
    return SUBMIT_EXPIRED;
  }
  pthread_mutex_lock(&s->lock);
  /* Already remembered: the same notification came again before the file
   * was read (the queue may take them before init), and its job is queued. */
  if (s->backlog >= s->cfg->queue_limit) {
    COUNT(s, job->req, dropped); /* QueueLimit was lowered meanwhile */
    result = SUBMIT_DROPPED;
  } else if (seen_add(&s->seen, (uint32_t)job->req.account, job->req.task_id,
                      now, job->deadline) != SEEN_NEW) {
    COUNT(s, job->req, duplicate);
    result = SUBMIT_DUPLICATE;
  } else {
    job_ring_push(&s->queue, job); /* room: backlog counts the queue */
    was_empty = s->queue.count == 1;
    set_backlog(s, s->backlog + 1);
    sender_changed(s);
  }
  pthread_mutex_unlock(&s->lock);
  if (was_empty)
    driver_wake(&s->driver); /* in case the worker already runs */
  return result;
}

/* The report sender's side of the state file: the checkpoint's pace, the
 * log of what changed, the snapshot of all it holds, restoring, and what a
 * lost answer means (see report_sender.h, "For the state file"). */
#include "reports/sender_internal.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/utils/common/common.h"

#include "util/mono_time.h"

/* ---- Set up (before sender_start) ---- */

void sender_set_checkpoint(report_sender_t *s, void (*fn)(void *ud), void *ud,
                           cdtime_t interval) {
  s->checkpoint = fn;
  s->checkpoint_ud = ud;
  s->checkpoint_interval = interval;
  s->next_checkpoint = 0; /* the first turn writes what was restored */
  sender_changes_reserve(&s->changes, 2 * SENDER_CHANGES_EAGER);
}

void sender_keep_pending(report_sender_t *s) { s->keep_pending = true; }

/* ---- The log of changes ---- */

void sender_note(report_sender_t *s, const report_job_t *job,
                 change_kind_t kind) {
  if (s->checkpoint != NULL) {
    sender_change_t c = sender_change_of(job, kind);
    sender_changes_add(&s->worker_changes, &c);
  }
}

void sender_note_queued(report_sender_t *s, const report_job_t *job,
                        cdtime_t expires) {
  if (s->checkpoint != NULL) {
    sender_change_t c = sender_change_of(job, CHANGE_QUEUED);
    c.expires = expires;
    sender_changes_add(&s->changes, &c);
  }
}

void sender_notes_share(report_sender_t *s) {
  if (s->worker_changes.count > 0 || s->worker_changes.lost)
    sender_changes_move(&s->changes, &s->worker_changes);
  s->logged = s->changes.count;
}

void sender_take_changes(report_sender_t *s, sender_changes_t *out) {
  pthread_mutex_lock(&s->lock);
  sender_notes_share(s);
  sender_changes_t mine = s->changes;
  s->changes = *out;
  *out = mine;
  pthread_mutex_unlock(&s->lock);
}

/* ---- The worker's ---- */

void sender_checkpoint(report_sender_t *s, cdtime_t now) {
  /* A long log goes at once: the memory it and its write take stays
   * bounded whatever the report rate. */
  if (s->checkpoint == NULL ||
      (now < s->next_checkpoint && s->logged < SENDER_CHANGES_EAGER))
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
      COUNT_GONE(s, slot->job, abandoned);
  }
  s->in_flight = 0;
  return s->parked;
}

/* ---- The snapshot ---- */

/* Entries copied at a time under the queue's lock, which is let go between
 * two: a notification waits for one chunk at most (about 100 us). */
#define CHUNK 8192

/* The state file speaks the wall clock: a job's deadline (monotonic) is read
 * on it as the snapshot is taken. */
typedef struct {
  cdtime_t wall, mono;
} clocks_t;

static int add_job(sender_snapshot_t *out, const report_job_t *job,
                   const clocks_t *c) {
  report_job_t copy = *job;
  copy.deadline = wall_from_mono(job->deadline, c->wall, c->mono);
  return sender_snapshot_add_job(out, &copy);
}

static int copy_ring(const job_ring_t *q, sender_snapshot_t *out,
                     const clocks_t *c) {
  for (size_t i = 0; i < q->count; i++)
    if (add_job(out, &q->items[(q->head + i) % q->capacity], c) != 0)
      return -1;
  return 0;
}

/* The shared queue, with the lock held on entry and exit. Only the worker
 * (the caller) takes jobs out of it: the places of those there at the start
 * hold still while others are added behind them (in the log already). */
static int copy_queue(report_sender_t *s, sender_snapshot_t *out,
                      const clocks_t *c) {
  const job_ring_t *q = &s->queue;
  size_t head = q->head, n = q->count;
  for (size_t done = 0; done < n;) {
    for (size_t end = done + CHUNK < n ? done + CHUNK : n; done < end; done++)
      if (add_job(out, &q->items[(head + done) % q->capacity], c) != 0)
        return -1;
    pthread_mutex_unlock(&s->lock);
    pthread_mutex_lock(&s->lock);
  }
  return 0;
}

/* The ids remembered at the start, CHUNK at a time, each chunk copied under
 * the lock and handed to fn without it. Meanwhile ids are added behind them
 * (in the log already) and expired ones forgotten; when the set grows its
 * entries move, and the walk starts over from the oldest. */
int sender_each_seen(report_sender_t *s,
                     void (*fn)(const seen_entry_t *e, size_t n, void *ud),
                     void *ud) {
  const seen_set_t *seen = &s->seen;
  cdtime_t wall = cdtime(), mono = mono_now();
  seen_entry_t *chunk = malloc(CHUNK * sizeof(*chunk));
  const seen_entry_t *ring = NULL;
  size_t head = 0, n = 0;
  if (chunk == NULL)
    return -1;
  pthread_mutex_lock(&s->lock);
  for (size_t done = 0; ring == NULL || done < n;) {
    if (seen->ring != ring) { /* the first chunk, or the set grew */
      n = ring == NULL || seen->count < n ? seen->count : n;
      ring = seen->ring;
      head = seen->head;
      done = 0;
    }
    size_t k = n - done < CHUNK ? n - done : CHUNK;
    for (size_t i = 0; i < k; i++)
      chunk[i] = ring[(head + done + i) % seen->capacity];
    done += k;
    pthread_mutex_unlock(&s->lock);
    for (size_t i = 0; i < k; i++) /* the file's clock */
      chunk[i].expires = wall_from_mono(chunk[i].expires, wall, mono);
    if (k > 0)
      fn(chunk, k, ud);
    pthread_mutex_lock(&s->lock);
  }
  pthread_mutex_unlock(&s->lock);
  free(chunk);
  return 0;
}

/* Between turns the jobs the worker holds cannot move: each pending job is
 * copied once. The log starts again where the copy begins: what changes
 * while it goes on (or before sender_each_seen) is in both, and reading it
 * twice changes nothing. */
int sender_take_snapshot(report_sender_t *s, sender_snapshot_t *out) {
  int status = 0;
  clocks_t c = {.wall = cdtime(), .mono = mono_now()};
  out->num_jobs = 0; /* its memory is kept for the next */
  for (size_t i = 0; status == 0 && i < s->cfg->max_in_flight; i++)
    if (s->slots[i].busy)
      status = add_job(out, &s->slots[i].job, &c);
  for (size_t a = 0; status == 0 && a < s->cfg->num_accounts; a++)
    status = copy_ring(&s->tx[a].ready, out, &c);
  sender_changes_clear(&s->worker_changes);
  pthread_mutex_lock(&s->lock);
  sender_changes_clear(&s->changes);
  if (status == 0)
    status = copy_queue(s, out, &c);
  pthread_mutex_unlock(&s->lock);
  if (status != 0)
    sender_snapshot_free(out);
  return status;
}

/* ---- Restoring ---- */

/* Times read back are clamped exactly as on arrival: a file written by a
 * clock that was ahead, or forged, cannot keep an id remembered or a report
 * retried longer than a Window from now. */
void sender_restore_seen(report_sender_t *s, size_t account, task_id_t task_id,
                         cdtime_t expires) {
  cdtime_t now = mono_now();
  expires = seen_expiry_restored(expires, s->cfg->window, cdtime(), now);
  if (expires == 0)
    return;
  pthread_mutex_lock(&s->lock);
  seen_add(&s->seen, (uint32_t)account, task_id, now, expires);
  pthread_mutex_unlock(&s->lock);
}

submit_result_t sender_restore_job(report_sender_t *s,
                                   const report_job_t *restored) {
  cdtime_t now = mono_now(), wall = cdtime();
  submit_result_t result = SUBMIT_QUEUED;
  bool was_empty = false;
  char why[128];
  report_job_t copy = *restored, *job = &copy;
  /* Written while the account had another Service: no report this one can
   * send (its kind or its task id's form). */
  if (report_fit_service(MATCH_REPORT, &job->req, s->cfg->services, why,
                         sizeof(why)) != MATCH_REPORT) {
    COUNT(s, job->req, dropped);
    return SUBMIT_DROPPED;
  }
  if (!job_arrives(job, s->cfg->window, wall, now)) {
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
    sender_note_queued(s, job, wall_from_mono(job->deadline, wall, now));
  }
  pthread_mutex_unlock(&s->lock);
  if (was_empty)
    driver_wake(&s->driver); /* in case the worker already runs */
  return result;
}

/* The state file's writes: a snapshot, or the changes coalesced (see
 * state_batch.h). */
#include "state/state_batch.h"

#include <stdlib.h>
#include <string.h>

#include "state/state_index.h"

/* What one task id's changes come to over a batch. */
typedef struct {
  state_key_t key; /* first: see state_index.h */
  /* The report queued in this batch, if any. */
  bool queued, gone;
  uint8_t method;
  uint16_t attempts;
  int64_t completed_ms, expires_ms;
  /* An older report of the task id (queued before this batch). */
  bool old_done, old_tries;
  uint16_t old_attempts;
  int64_t old_completed_ms;
} net_t;

struct state_batch_s {
  net_t *nets;
  size_t count, cap;
  state_index_t ix;
  int64_t *expires; /* snapshot: per job, until when its id is remembered */
  size_t cap_expires;
};

state_batch_t *state_batch_new(void) {
  return calloc(1, sizeof(state_batch_t));
}

void state_batch_free(state_batch_t *b) {
  if (b == NULL)
    return;
  free(b->nets);
  free(b->expires);
  state_index_free(&b->ix);
  free(b);
}

static int64_t ms(cdtime_t t) { return (int64_t)CDTIME_T_TO_MS(t); }

/* Room for n nets, and an empty index for them. */
static int reset(state_batch_t *b, size_t n) {
  if (n > b->cap) {
    net_t *nets = realloc(b->nets, n * sizeof(*nets));
    if (nets == NULL)
      return -1;
    b->nets = nets;
    b->cap = n;
  }
  b->count = 0;
  if (state_index_fits(&b->ix, n) && n * 8 > b->ix.mask) {
    memset(b->ix.slots, 0, (b->ix.mask + 1) * sizeof(*b->ix.slots));
    return 0;
  }
  return state_index_reset(&b->ix, n);
}

static net_t *net_of(state_batch_t *b, uint32_t account, task_id_t task) {
  state_key_t key = {.task = task, .account = account};
  uint32_t *slot = state_index_slot(&b->ix, b->nets, sizeof(*b->nets), key);
  if (*slot == 0) {
    net_t *n = &b->nets[b->count];
    memset(n, 0, sizeof(*n));
    n->key = key;
    *slot = (uint32_t)++b->count;
  }
  return &b->nets[*slot - 1];
}

/* A change to the report queued in this batch, or to an older one. */
static void apply(net_t *n, const sender_change_t *c) {
  bool mine = n->queued && ms(c->completed) == n->completed_ms;
  switch ((change_kind_t)c->kind) {
  case CHANGE_QUEUED:
    /* An older report of this id, queued in this batch and not settled:
     * its window closed before the id could come again. */
    n->queued = true;
    n->gone = false;
    n->method = c->method;
    n->attempts = c->attempts;
    n->completed_ms = ms(c->completed);
    n->expires_ms = ms(c->expires);
    break;
  case CHANGE_ATTEMPT:
    if (mine)
      n->attempts = c->attempts;
    else {
      n->old_tries = true;
      n->old_attempts = c->attempts;
      n->old_completed_ms = ms(c->completed);
    }
    break;
  case CHANGE_GONE:
    if (mine)
      n->gone = true;
    else {
      n->old_done = true;
      n->old_completed_ms = ms(c->completed);
    }
    break;
  }
}

static int write_net(state_writer_t *w, const net_t *n) {
  uint32_t a = n->key.account;
  int status = 0;
  if (n->old_done)
    status = state_write_done(w, a, n->key.task, n->old_completed_ms);
  else if (n->old_tries)
    status = state_write_tries(w, a, n->key.task, n->old_completed_ms,
                               n->old_attempts);
  if (n->queued && n->gone)
    status |=
        state_write_seen(w, a, &(state_seen_t){n->key.task, n->expires_ms});
  else if (n->queued)
    status |= state_write_report(
        w, a,
        &(state_report_t){n->key.task, (report_method_t)n->method,
                          n->completed_ms, n->attempts},
        n->expires_ms);
  return status;
}

/* The series of `series`'s accounts that are configured. */
static int write_series(state_writer_t *w, state_names_t names,
                        const state_t *series) {
  int status = 0;
  for (size_t i = 0; series != NULL && i < names.count; i++) {
    const state_account_t *a = state_find(series, names.names[i]);
    for (size_t k = 0; a != NULL && k < a->num_series; k++)
      status |= state_write_series(w, (uint32_t)i, a->series[k].slug,
                                   a->series[k].last_till);
  }
  return status;
}

int state_batch_changes(state_batch_t *b, state_writer_t *w,
                        state_names_t names, const state_t *series,
                        const sender_changes_t *changes) {
  if (changes->lost || reset(b, changes->count) != 0)
    return -1;
  for (size_t i = 0; i < changes->count; i++) {
    const sender_change_t *c = &changes->items[i];
    if (c->account < names.count)
      apply(net_of(b, c->account, c->task_id), c);
  }
  int status = 0;
  for (size_t i = 0; i < b->count; i++)
    status |= write_net(w, &b->nets[i]);
  return status | write_series(w, names, series);
}

/* Per job, when its task id is forgotten: the seen set's entry, else its
 * deadline. Jobs are indexed as nets (only their keys are used). */
static int join(state_batch_t *b, const sender_snapshot_t *snap) {
  if (snap->num_jobs > b->cap_expires) {
    int64_t *e = realloc(b->expires, snap->num_jobs * sizeof(*e));
    if (e == NULL)
      return -1;
    b->expires = e;
    b->cap_expires = snap->num_jobs;
  }
  if (reset(b, snap->num_jobs) != 0)
    return -1;
  for (size_t i = 0; i < snap->num_jobs; i++) {
    const report_job_t *j = &snap->jobs[i];
    net_of(b, (uint32_t)j->req.account, j->req.task_id);
    b->expires[i] = ms(j->deadline);
  }
  return 0;
}

int state_batch_snapshot(state_batch_t *b, state_writer_t *w,
                         state_names_t names, const state_t *series,
                         const sender_snapshot_t *snap, cdtime_t now) {
  if (join(b, snap) != 0)
    return -1;
  int status = state_write_header(w);
  for (size_t i = 0; i < names.count; i++)
    status |= state_write_account(w, (uint32_t)i, names.names[i]);
  status |= write_series(w, names, series);
  /* Ids with a pending report go with it, in one line; nets[k] is the
   * first job of its key, in the order of the jobs. */
  for (size_t i = 0; i < snap->num_seen; i++) {
    const seen_entry_t *e = &snap->seen[i];
    if (e->expires <= now || e->account >= names.count)
      continue;
    state_key_t key = {.task = e->task_id, .account = e->account};
    uint32_t slot = *state_index_slot(&b->ix, b->nets, sizeof(*b->nets), key);
    if (slot != 0) {
      b->nets[slot - 1].expires_ms = ms(e->expires);
      continue;
    }
    status |= state_write_seen(w, e->account,
                               &(state_seen_t){e->task_id, ms(e->expires)});
  }
  for (size_t i = 0; i < snap->num_jobs; i++) {
    const report_job_t *j = &snap->jobs[i];
    if (j->req.account >= names.count)
      continue;
    state_key_t key = {.task = j->req.task_id,
                       .account = (uint32_t)j->req.account};
    const net_t *n =
        &b->nets[*state_index_slot(&b->ix, b->nets, sizeof(*b->nets), key) - 1];
    int64_t expires =
        n->expires_ms > b->expires[i] ? n->expires_ms : b->expires[i];
    unsigned attempts =
        j->attempts > STATE_MAX_ATTEMPTS ? STATE_MAX_ATTEMPTS : j->attempts;
    status |=
        state_write_report(w, (uint32_t)j->req.account,
                           &(state_report_t){j->req.task_id, j->req.method,
                                             ms(j->req.completed), attempts},
                           expires);
  }
  return status | state_write_snapshot_end(w, state_writer_records(w));
}

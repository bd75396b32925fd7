/* The state file's writes: a snapshot, or the changes coalesced (see
 * state_batch.h). */
#include "state/state_batch.h"

#include <stdlib.h>
#include <string.h>

#include "state/state_index.h"
#include "state/state_pending.h"

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
  net_t *nets; /* the batch's, their memory kept for the next */
  size_t count, cap;
  state_index_t ix;
  state_pending_t *pending;
};

state_batch_t *state_batch_new(void) {
  state_batch_t *b = calloc(1, sizeof(*b));
  if (b != NULL && (b->pending = state_pending_new()) == NULL) {
    free(b);
    return NULL;
  }
  return b;
}

void state_batch_free(state_batch_t *b) {
  if (b == NULL)
    return;
  free(b->nets);
  state_index_free(&b->ix);
  state_pending_free(b->pending);
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
  /* The index keeps its largest size: a batch's memory is the next's. */
  if (state_index_fits(&b->ix, n)) {
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
  int status = 0;
  if (changes->lost || reset(b, changes->count) != 0)
    return -1;
  for (size_t i = 0; i < changes->count; i++) {
    const sender_change_t *c = &changes->items[i];
    status |= state_pending_apply(b->pending, c);
    if (c->account < names.count)
      apply(net_of(b, c->account, c->task_id), c);
  }
  if (w == NULL || status != 0)
    return status;
  for (size_t i = 0; i < b->count; i++)
    status |= write_net(w, &b->nets[i]);
  return status | write_series(w, names, series);
}

int state_batch_set_pending(state_batch_t *b, const sender_snapshot_t *snap) {
  return state_pending_reset(b->pending, snap);
}

int state_batch_snapshot_begin(state_batch_t *b, state_writer_t *w,
                               state_names_t names, const state_t *series) {
  (void)b;
  int status = state_write_header(w);
  for (size_t i = 0; i < names.count; i++)
    status |= state_write_account(w, (uint32_t)i, names.names[i]);
  return status | write_series(w, names, series);
}

int state_batch_snapshot_seen(state_batch_t *b, state_writer_t *w,
                              state_names_t names, const seen_entry_t *seen,
                              size_t count, cdtime_t now) {
  int status = 0;
  for (size_t i = 0; i < count; i++) {
    const seen_entry_t *e = &seen[i];
    /* An id with a pending report goes into its report's line. */
    if (e->expires > now && e->account < names.count &&
        !state_pending_has(b->pending, e->account, e->task_id, ms(e->expires)))
      status |= state_write_seen(w, e->account,
                                 &(state_seen_t){e->task_id, ms(e->expires)});
  }
  return status;
}

typedef struct {
  state_writer_t *w;
  state_names_t names;
  int status;
} reports_t;

static void write_report(uint32_t account, const state_report_t *r,
                         int64_t expires_ms, void *ud) {
  reports_t *c = ud;
  if (account < c->names.count)
    c->status |= state_write_report(c->w, account, r, expires_ms);
}

int state_batch_snapshot_end(state_batch_t *b, state_writer_t *w,
                             state_names_t names) {
  reports_t c = {.w = w, .names = names};
  state_pending_each(b->pending, write_report, &c);
  return c.status | state_write_snapshot_end(w, state_writer_records(w));
}

/* The pending reports the state file's writer knows of (see
 * state_pending.h). */
#include "state/state_pending.h"

#include <stdlib.h>
#include <string.h>

#include "state/state_index.h"
#include "util/grow.h"

typedef struct {
  state_key_t key; /* first: see state_index.h */
  int64_t completed_ms, expires_ms;
  uint16_t attempts;
  uint8_t method;
  bool live; /* false: gone, or queued again further on */
} entry_t;

/* Entries in the order queued; gone ones are skipped until enough of them
 * call for a compaction. */
struct state_pending_s {
  entry_t *entries;
  size_t count, cap, live;
  state_index_t ix;
};

static int64_t ms(cdtime_t t) { return (int64_t)CDTIME_T_TO_MS(t); }

state_pending_t *state_pending_new(void) {
  state_pending_t *p = calloc(1, sizeof(*p));
  if (p != NULL && state_index_reset(&p->ix, 64) != 0) {
    free(p);
    return NULL;
  }
  return p;
}

void state_pending_free(state_pending_t *p) {
  if (p == NULL)
    return;
  free(p->entries);
  state_index_free(&p->ix);
  free(p);
}

/* Keeps the live entries, in order, and room for as many more. */
static int compact(state_pending_t *p) {
  size_t kept = 0;
  for (size_t i = 0; i < p->count; i++)
    if (p->entries[i].live)
      p->entries[kept++] = p->entries[i];
  p->count = kept;
  return state_index_rebuild(&p->ix, p->entries, sizeof(*p->entries), kept,
                             p->cap);
}

/* Room for one more entry. */
static int room(state_pending_t *p) {
  if (p->count - p->live > p->live / 2 + 1024 && compact(p) != 0)
    return -1;
  if (p->count < p->cap)
    return 0;
  if (grow_array((void **)&p->entries, &p->cap, p->count + 1,
                 sizeof(*p->entries), 256, 0) != 0)
    return -1;
  return state_index_rebuild(&p->ix, p->entries, sizeof(*p->entries), p->count,
                             p->cap);
}

static entry_t *find(const state_pending_t *p, uint32_t account,
                     task_id_t task) {
  state_key_t key = {.task = task, .account = account};
  uint32_t slot =
      *state_index_slot(&p->ix, p->entries, sizeof(*p->entries), key);
  return slot != 0 && p->entries[slot - 1].live ? &p->entries[slot - 1] : NULL;
}

/* Places a report last (an earlier one of its id is dead by now). */
static int queued(state_pending_t *p, const entry_t *e) {
  if (room(p) != 0)
    return -1;
  uint32_t *slot =
      state_index_slot(&p->ix, p->entries, sizeof(*p->entries), e->key);
  if (*slot != 0 && p->entries[*slot - 1].live) {
    p->entries[*slot - 1].live = false;
    p->live--;
  }
  p->entries[p->count] = *e;
  *slot = (uint32_t)++p->count;
  p->live++;
  return 0;
}

int state_pending_reset(state_pending_t *p, const sender_snapshot_t *snap) {
  p->count = p->live = 0;
  if (state_index_rebuild(&p->ix, p->entries, sizeof(*p->entries), 0,
                          p->cap > snap->num_jobs ? p->cap : snap->num_jobs) !=
      0)
    return -1;
  for (size_t i = 0; i < snap->num_jobs; i++) {
    const report_job_t *j = &snap->jobs[i];
    entry_t e = {
        .key = {.task = j->req.task_id, .account = (uint32_t)j->req.account},
        .completed_ms = ms(j->req.completed),
        .expires_ms = ms(j->deadline),
        .attempts =
            (uint16_t)(j->attempts > UINT16_MAX ? UINT16_MAX : j->attempts),
        .method = (uint8_t)j->req.method,
        .live = true};
    if (queued(p, &e) != 0)
      return -1;
  }
  return 0;
}

int state_pending_apply(state_pending_t *p, const sender_change_t *c) {
  if (c->kind == CHANGE_QUEUED)
    return queued(p,
                  &(entry_t){.key = {.task = c->task_id, .account = c->account},
                             .completed_ms = ms(c->completed),
                             .expires_ms = ms(c->expires),
                             .attempts = c->attempts,
                             .method = c->method,
                             .live = true});
  entry_t *e = find(p, c->account, c->task_id);
  if (e == NULL || e->completed_ms != ms(c->completed))
    return 0; /* another report of the id, gone already */
  if (c->kind == CHANGE_ATTEMPT)
    e->attempts = c->attempts;
  else {
    e->live = false;
    p->live--;
  }
  return 0;
}

bool state_pending_has(state_pending_t *p, uint32_t account, task_id_t task,
                       int64_t expires_ms) {
  entry_t *e = find(p, account, task);
  if (e != NULL && expires_ms > e->expires_ms)
    e->expires_ms = expires_ms;
  return e != NULL;
}

void state_pending_each(const state_pending_t *p,
                        void (*fn)(uint32_t account, const state_report_t *r,
                                   int64_t expires_ms, void *ud),
                        void *ud) {
  for (size_t i = 0; i < p->count; i++) {
    const entry_t *e = &p->entries[i];
    if (!e->live)
      continue;
    unsigned attempts =
        e->attempts > STATE_MAX_ATTEMPTS ? STATE_MAX_ATTEMPTS : e->attempts;
    fn(e->key.account,
       &(state_report_t){e->key.task, (report_method_t)e->method,
                         e->completed_ms, attempts},
       e->expires_ms, ud);
  }
}

size_t state_pending_count(const state_pending_t *p) { return p->live; }

/* The state being read back, record by record, within caps (see
 * state_replay.h). */
#include "state/state_replay.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/response.h"
#include "state/state_index.h"
#include "util/grow.h"

/* A task id remembered, with its pending report if it has one. */
typedef struct {
  state_key_t key; /* first: see state_index.h */
  int64_t completed_ms;
  int64_t expires_ms; /* remembered until then; 0: not said */
  uint64_t job;       /* 0: no report; else its place in the queue */
  uint16_t attempts;
  uint8_t method;
} entry_t;

struct state_replay_s {
  state_caps_t caps;
  entry_t *entries;
  size_t count, cap, jobs;
  uint64_t next_job;
  state_index_t ix;
  state_t out;       /* the accounts in the order declared, with series */
  int32_t *account;  /* a file's account number -> index in out, or -1 */
  uint32_t accounts; /* numbers declared so far: 0 .. accounts-1 mapped */
};

static int fail(char *why, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, size, fmt, ap);
  va_end(ap);
  return -1;
}

state_replay_t *state_replay_new(const state_caps_t *caps) {
  state_replay_t *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return NULL;
  r->caps = *caps;
  r->account = malloc(STATE_ACCOUNTS_MAX * sizeof(*r->account));
  if (r->account == NULL || state_index_reset(&r->ix, 64) != 0) {
    state_replay_free(r);
    return NULL;
  }
  for (size_t i = 0; i < STATE_ACCOUNTS_MAX; i++)
    r->account[i] = -1;
  state_init(&r->out);
  return r;
}

void state_replay_free(state_replay_t *r) {
  if (r == NULL)
    return;
  free(r->entries);
  state_index_free(&r->ix);
  state_free(&r->out);
  free(r->account);
  free(r);
}

int state_replay_account(state_replay_t *r, uint32_t n, const char *name,
                         char *why, size_t why_size) {
  if (n >= STATE_ACCOUNTS_MAX)
    return fail(why, why_size, "an account number is out of range");
  if (r->account[n] >= 0 || state_find(&r->out, name) != NULL) {
    /* The name comes from the file: escaped before it reaches a log. */
    char text[4 * STATE_NAME_MAX];
    response_escape(text, sizeof(text), name, strnlen(name, STATE_NAME_MAX));
    return fail(why, why_size, "account \"%s\" appears twice", text);
  }
  if (state_account(&r->out, name) == NULL)
    return fail(why, why_size, "an account name is empty or too long");
  r->account[n] = (int32_t)(r->out.num_accounts - 1);
  return 0;
}

static int declared(const state_replay_t *r, uint32_t n, char *why,
                    size_t size) {
  if (n < STATE_ACCOUNTS_MAX && r->account[n] >= 0)
    return 0;
  return fail(why, size, "a record names an account not declared before it");
}

/* Past its time at now: its task id forgotten, its report dead. */
static bool dead(const state_replay_t *r, const entry_t *e) {
  int64_t now = r->caps.now_ms;
  return now > 0 && e->expires_ms <= now &&
         (e->job == 0 || e->completed_ms + r->caps.window_ms <= now);
}

/* Drops the dead entries; 0 when some went. */
static int prune(state_replay_t *r) {
  size_t kept = 0, jobs = 0;
  for (size_t i = 0; i < r->count; i++)
    if (!dead(r, &r->entries[i])) {
      jobs += r->entries[i].job != 0;
      r->entries[kept++] = r->entries[i];
    }
  if (kept == r->count ||
      state_index_rebuild(&r->ix, r->entries, sizeof(*r->entries), kept,
                          r->cap) != 0)
    return -1;
  r->count = kept;
  r->jobs = jobs;
  return 0;
}

static int grow(state_replay_t *r) {
  if (grow_array((void **)&r->entries, &r->cap, r->count + 1,
                 sizeof(*r->entries), 64, r->caps.seen) != 0)
    return -1;
  return state_index_rebuild(&r->ix, r->entries, sizeof(*r->entries), r->count,
                             r->cap);
}

/* The entry of (n, task), added if missing. NULL with why set. */
static entry_t *entry(state_replay_t *r, uint32_t n, task_id_t task, char *why,
                      size_t size) {
  state_key_t key = {.task = task, .account = n};
  uint32_t *slot =
      state_index_slot(&r->ix, r->entries, sizeof(*r->entries), key);
  if (*slot != 0)
    return &r->entries[*slot - 1];
  if (r->count == r->caps.seen && prune(r) != 0) {
    fail(why, size, "it remembers more than %zu task ids", r->caps.seen);
    return NULL;
  }
  if (r->count == r->cap && grow(r) != 0) {
    fail(why, size, "out of memory");
    return NULL;
  }
  /* Pruning or growing moved the slots. */
  slot = state_index_slot(&r->ix, r->entries, sizeof(*r->entries), key);
  entry_t *e = &r->entries[r->count];
  memset(e, 0, sizeof(*e));
  e->key = key;
  *slot = (uint32_t)++r->count;
  return e;
}

int state_replay_report(state_replay_t *r, uint32_t n,
                        const state_report_t *rep, int64_t expires_ms,
                        char *why, size_t why_size) {
  if (declared(r, n, why, why_size) != 0)
    return -1;
  entry_t *e = entry(r, n, rep->task_id, why, why_size);
  if (e == NULL)
    return -1;
  if (e->job == 0 && r->jobs >= r->caps.reports) {
    /* Pruning moves the entries (e among them, if it was dead). */
    if (prune(r) == 0 && (e = entry(r, n, rep->task_id, why, why_size)) == NULL)
      return -1;
    if (e->job == 0 && r->jobs >= r->caps.reports)
      return fail(why, why_size, "it holds more than %zu pending reports",
                  r->caps.reports);
  }
  r->jobs += e->job == 0;
  e->job = ++r->next_job;
  e->completed_ms = rep->completed_ms;
  e->attempts = (uint16_t)rep->attempts;
  e->method = (uint8_t)rep->method;
  if (expires_ms > e->expires_ms)
    e->expires_ms = expires_ms;
  return 0;
}

int state_replay_seen(state_replay_t *r, uint32_t n, const state_seen_t *s,
                      char *why, size_t why_size) {
  if (declared(r, n, why, why_size) != 0)
    return -1;
  if (r->caps.now_ms > 0 && s->expires_ms <= r->caps.now_ms)
    return 0; /* forgotten already */
  entry_t *e = entry(r, n, s->task_id, why, why_size);
  if (e == NULL)
    return -1;
  if (s->expires_ms > e->expires_ms)
    e->expires_ms = s->expires_ms;
  return 0;
}

/* The pending report of (n, task) completed then, or NULL. */
static entry_t *job_of(state_replay_t *r, uint32_t n, task_id_t task,
                       int64_t completed_ms) {
  state_key_t key = {.task = task, .account = n};
  uint32_t slot =
      *state_index_slot(&r->ix, r->entries, sizeof(*r->entries), key);
  entry_t *e = slot != 0 ? &r->entries[slot - 1] : NULL;
  return e != NULL && e->job != 0 && e->completed_ms == completed_ms ? e : NULL;
}

int state_replay_tries(state_replay_t *r, uint32_t n, task_id_t task,
                       int64_t completed_ms, unsigned attempts, char *why,
                       size_t why_size) {
  if (declared(r, n, why, why_size) != 0)
    return -1;
  entry_t *e = job_of(r, n, task, completed_ms);
  if (e != NULL)
    e->attempts = (uint16_t)attempts;
  return 0;
}

int state_replay_done(state_replay_t *r, uint32_t n, task_id_t task,
                      int64_t completed_ms, char *why, size_t why_size) {
  if (declared(r, n, why, why_size) != 0)
    return -1;
  entry_t *e = job_of(r, n, task, completed_ms);
  if (e != NULL) {
    e->job = 0;
    r->jobs--;
  }
  return 0;
}

int state_replay_series(state_replay_t *r, uint32_t n, const char *slug,
                        int64_t last_till, bool once, char *why,
                        size_t why_size) {
  if (declared(r, n, why, why_size) != 0)
    return -1;
  state_account_t *a = &r->out.accounts[r->account[n]];
  if ((once && state_series_last(a, slug) != 0) ||
      state_set_series(a, slug, last_till) != 0)
    return fail(why, why_size, "a series is not a name with a time");
  return 0;
}

static int by_job(const void *a, const void *b) {
  const entry_t *x = *(entry_t *const *)a, *y = *(entry_t *const *)b;
  return (x->job > y->job) - (x->job < y->job);
}

static state_account_t *account_of(state_replay_t *r, const entry_t *e) {
  return &r->out.accounts[r->account[e->key.account]];
}

int state_replay_finish(state_replay_t *r, state_t *out) {
  entry_t **jobs = malloc((r->jobs + 1) * sizeof(*jobs));
  size_t num_jobs = 0;
  int status = jobs == NULL ? -1 : 0;
  for (size_t i = 0; status == 0 && i < r->count; i++) {
    entry_t *e = &r->entries[i];
    if (e->job != 0)
      jobs[num_jobs++] = e;
    if (e->expires_ms > 0)
      status = state_add_seen(account_of(r, e),
                              &(state_seen_t){e->key.task, e->expires_ms});
  }
  if (status == 0)
    qsort(jobs, num_jobs, sizeof(*jobs), by_job);
  for (size_t i = 0; status == 0 && i < num_jobs; i++)
    status = state_add_report(
        account_of(r, jobs[i]),
        &(state_report_t){jobs[i]->key.task, (report_method_t)jobs[i]->method,
                          jobs[i]->completed_ms, jobs[i]->attempts});
  free(jobs);
  *out = r->out;
  state_init(&r->out);
  if (status != 0)
    state_free(out);
  return status;
}

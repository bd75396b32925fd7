/* The report sender's change log and snapshot for the state file (see
 * sender_changes.h). */
#include "reports/sender_changes.h"

#include <stdlib.h>
#include <string.h>

static void drop_all(sender_changes_t *c) {
  free(c->items);
  c->items = NULL;
  c->count = c->cap = 0;
  c->lost = true;
}

static int reserve(sender_changes_t *c, size_t more) {
  if (c->count + more <= c->cap)
    return 0;
  if (c->count + more > SENDER_CHANGES_MAX)
    return -1;
  size_t cap = c->cap < 1024 ? 1024 : c->cap;
  while (cap < c->count + more)
    cap *= 2;
  if (cap > SENDER_CHANGES_MAX)
    cap = SENDER_CHANGES_MAX;
  sender_change_t *items = realloc(c->items, cap * sizeof(*items));
  if (items == NULL)
    return -1;
  c->items = items;
  c->cap = cap;
  return 0;
}

int sender_changes_reserve(sender_changes_t *c, size_t n) {
  return reserve(c, n > c->count ? n - c->count : 0);
}

void sender_changes_add(sender_changes_t *c, const sender_change_t *ch) {
  if (c->lost)
    return; /* a snapshot follows: what changes meanwhile is in it */
  if (reserve(c, 1) != 0) {
    drop_all(c);
    return;
  }
  c->items[c->count++] = *ch;
}

void sender_changes_move(sender_changes_t *c, sender_changes_t *from) {
  if (from->lost || c->lost || reserve(c, from->count) != 0) {
    drop_all(c);
    sender_changes_clear(from);
    from->lost = false;
    return;
  }
  memcpy(c->items + c->count, from->items, from->count * sizeof(*c->items));
  c->count += from->count;
  sender_changes_clear(from);
}

void sender_changes_clear(sender_changes_t *c) {
  if (c->cap > 4 * SENDER_CHANGES_EAGER && c->cap > 4 * c->count) {
    free(c->items);
    c->items = NULL;
    c->cap = 0;
  }
  c->count = 0;
  c->lost = false;
}

void sender_changes_free(sender_changes_t *c) {
  free(c->items);
  memset(c, 0, sizeof(*c));
}

sender_change_t sender_change_of(const report_job_t *job, change_kind_t kind) {
  return (sender_change_t){
      .task_id = job->req.task_id,
      .completed = job->req.completed,
      .account = (uint32_t)job->req.account,
      .attempts =
          (uint16_t)(job->attempts > UINT16_MAX ? UINT16_MAX : job->attempts),
      .kind = (uint8_t)kind,
      .method = (uint8_t)job->req.method,
  };
}

int sender_snapshot_add_job(sender_snapshot_t *snap, const report_job_t *job) {
  if (snap->num_jobs == snap->cap_jobs) {
    size_t cap = snap->cap_jobs < 64 ? 64 : 2 * snap->cap_jobs;
    report_job_t *jobs = realloc(snap->jobs, cap * sizeof(*jobs));
    if (jobs == NULL)
      return -1;
    snap->jobs = jobs;
    snap->cap_jobs = cap;
  }
  snap->jobs[snap->num_jobs++] = *job;
  return 0;
}

void sender_snapshot_free(sender_snapshot_t *snap) {
  free(snap->jobs);
  memset(snap, 0, sizeof(*snap));
}

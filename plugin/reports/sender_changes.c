/* The report sender's change log and snapshot for the state file (see
 * sender_changes.h). */
#include "reports/sender_changes.h"
#include "util/grow.h"

#include <stdlib.h>
#include <string.h>

static void drop_all(sender_changes_t *c) {
  free(c->items);
  c->items = NULL;
  c->count = c->cap = 0;
  c->lost = true;
}

static int reserve(sender_changes_t *c, size_t more) {
  return grow_array((void **)&c->items, &c->cap, c->count + more,
                    sizeof(*c->items), 1024, SENDER_CHANGES_MAX);
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
  if (grow_array((void **)&snap->jobs, &snap->cap_jobs, snap->num_jobs + 1,
                 sizeof(*snap->jobs), 64, 0) != 0)
    return -1;
  snap->jobs[snap->num_jobs++] = *job;
  return 0;
}

void sender_snapshot_free(sender_snapshot_t *snap) {
  free(snap->jobs);
  memset(snap, 0, sizeof(*snap));
}

#include "report_queue.h"

static size_t slot_of(const seen_set_t *s, uint32_t account, uint64_t task) {
  uint64_t h = (task ^ ((uint64_t)account << 56)) * 0x9E3779B97F4A7C15ULL;
  return (size_t)(h >> 17) & s->mask;
}

/* Room for twice max_live keeps probe chains short. */
static int seen_alloc(seen_set_t *s, size_t max_live) {
  size_t n = 16;
  while (n < 2 * max_live)
    n <<= 1;
  s->slots = calloc(n, sizeof(*s->slots));
  if (s->slots == NULL)
    return -1;
  s->mask = n - 1;
  s->used = 0;
  s->max_live = max_live;
  return 0;
}

int seen_init(seen_set_t *s, size_t max_live) {
  memset(s, 0, sizeof(*s));
  return seen_alloc(s, max_live > 0 ? max_live : 1);
}

void seen_destroy(seen_set_t *s) {
  free(s->slots);
  s->slots = NULL;
}

/* Expired entries still lengthen probe chains; rebuilding drops them. */
static size_t seen_rebuild(seen_set_t *s, cdtime_t now) {
  seen_set_t fresh;
  size_t live = 0;
  if (seen_alloc(&fresh, s->max_live) != 0)
    return s->used; /* keep the old table; it still answers correctly */
  for (size_t i = 0; i <= s->mask; i++) {
    const seen_slot_t *old = &s->slots[i];
    if (old->task_id == 0 || old->expires <= now)
      continue;
    size_t j = slot_of(&fresh, old->account, old->task_id);
    while (fresh.slots[j].task_id != 0)
      j = (j + 1) & fresh.mask;
    fresh.slots[j] = *old;
    live++;
  }
  fresh.used = live;
  free(s->slots);
  *s = fresh;
  return live;
}

seen_result_t seen_add(seen_set_t *s, uint32_t account, uint64_t task_id,
                       cdtime_t now, cdtime_t expires) {
  size_t i = slot_of(s, account, task_id);
  seen_slot_t *reuse = NULL;

  for (; s->slots[i].task_id != 0; i = (i + 1) & s->mask) {
    seen_slot_t *slot = &s->slots[i];
    bool expired = slot->expires <= now;
    if (slot->task_id == task_id && slot->account == account) {
      if (!expired)
        return SEEN_DUPLICATE;
      reuse = slot;
      break;
    }
    if (expired && reuse == NULL)
      reuse = slot;
  }
  if (reuse == NULL) {
    if (s->used >= s->max_live) {
      if (seen_rebuild(s, now) >= s->max_live)
        return SEEN_FULL;
      /* The id was not live before, so it is not after: add it afresh. */
      return seen_add(s, account, task_id, now, expires);
    }
    reuse = &s->slots[i]; /* the empty slot that ended the probe */
    s->used++;
  }
  *reuse = (seen_slot_t){.task_id = task_id, .account = account, .expires = expires};
  return SEEN_NEW;
}

int job_ring_init(job_ring_t *q, size_t capacity) {
  memset(q, 0, sizeof(*q));
  q->items = calloc(capacity > 0 ? capacity : 1, sizeof(*q->items));
  if (q->items == NULL)
    return -1;
  q->capacity = capacity > 0 ? capacity : 1;
  return 0;
}

void job_ring_destroy(job_ring_t *q) {
  free(q->items);
  q->items = NULL;
  q->capacity = q->count = 0;
}

int job_ring_push(job_ring_t *q, const report_job_t *job) {
  if (q->count == q->capacity)
    return -1;
  q->items[(q->head + q->count) % q->capacity] = *job;
  q->count++;
  return 0;
}

int job_ring_pop(job_ring_t *q, report_job_t *job) {
  if (q->count == 0)
    return -1;
  *job = q->items[q->head];
  q->head = (q->head + 1) % q->capacity;
  q->count--;
  return 0;
}

cdtime_t report_backoff(unsigned attempts) {
  cdtime_t wait = MS_TO_CDTIME_T(250);
  for (unsigned i = 1; i < attempts && wait < TIME_T_TO_CDTIME_T(8); i++)
    wait *= 2;
  return wait < TIME_T_TO_CDTIME_T(8) ? wait : TIME_T_TO_CDTIME_T(8);
}

report_decision_t report_decide(report_job_t *job, report_outcome_t outcome,
                                cdtime_t now) {
  if (outcome == OUTCOME_ACCEPTED)
    return DECISION_ACCEPTED;
  /* API errors are answers, not failures: errorId 16 above all means "too
   * late or already reported", and repeating a refused call risks a ban. */
  if (outcome == OUTCOME_API_ERROR)
    return DECISION_REJECTED;
  cdtime_t next = now + report_backoff(job->attempts);
  if (!report_window_open(job, next))
    return DECISION_EXPIRED;
  job->not_before = next;
  return DECISION_RETRY;
}

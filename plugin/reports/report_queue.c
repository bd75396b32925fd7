/* The report queue's pure parts (see report_queue.h). */
#include "reports/report_queue.h"

#include "util/mono_time.h"
#include "util/wraps_on_purpose.h"

WRAPS_ON_PURPOSE
static size_t hash_of(const seen_set_t *s, uint32_t account, task_id_t task) {
  /* account << 56 dropped the bits of accounts past 255 (UBSan's
   * unsigned-shift-base): mix the account in by multiplying instead. */
  uint64_t h =
      (task_id_fold(task) ^ ((uint64_t)account * 0xC2B2AE3D27D4EB4FULL)) *
      0x9E3779B97F4A7C15ULL;
  return (size_t)(h >> 17) & s->mask;
}

static size_t home_of(const seen_set_t *s, uint32_t slot_value) {
  const seen_entry_t *e = &s->ring[slot_value - 1];
  return hash_of(s, e->account, e->task_id);
}

/* Touches every page now, so that the set's memory is taken once at start
 * and the daemon's resident size stays flat while it fills. */
static void prefault(void *p, size_t size) {
  for (size_t i = 0; i < size; i += 4096)
    ((volatile char *)p)[i] = 0;
}

/* Room for `capacity` ids, pages touched. */
static int seen_alloc(seen_set_t *s, size_t capacity) {
  size_t n = 16;
  memset(s, 0, sizeof(*s));
  s->capacity = capacity > 0 ? capacity : 1;
  while (n < 2 * s->capacity)
    n <<= 1;
  s->table = calloc(n, sizeof(*s->table));
  s->ring = calloc(s->capacity, sizeof(*s->ring));
  if (s->table == NULL || s->ring == NULL || s->capacity > UINT32_MAX - 1) {
    seen_destroy(s);
    return -1;
  }
  s->mask = n - 1;
  prefault(s->table, n * sizeof(*s->table));
  prefault(s->ring, s->capacity * sizeof(*s->ring));
  return 0;
}

int seen_init(seen_set_t *s, size_t initial, size_t max_live) {
  if (seen_alloc(s, initial < max_live ? initial : max_live) != 0)
    return -1;
  s->max_live = s->capacity > max_live ? s->capacity : max_live;
  return 0;
}

void seen_destroy(seen_set_t *s) {
  free(s->table);
  free(s->ring);
  s->table = NULL;
  s->ring = NULL;
}

/* The table slot holding (account, task), or the empty slot ending its
 * probe. */
static size_t find(const seen_set_t *s, uint32_t account, task_id_t task) {
  size_t i = hash_of(s, account, task);
  for (; s->table[i] != 0; i = (i + 1) & s->mask) {
    const seen_entry_t *e = &s->ring[s->table[i] - 1];
    if (task_id_equal(e->task_id, task) && e->account == account)
      break;
  }
  return i;
}

/* Linear probing without tombstones: later entries of the probe chain move
 * back into the hole so that lookups still find them. */
static void table_remove(seen_set_t *s, size_t hole) {
  for (size_t j = (hole + 1) & s->mask; s->table[j] != 0;
       j = (j + 1) & s->mask) {
    size_t home = home_of(s, s->table[j]);
    /* Entry j may fill the hole unless its home lies in (hole, j]. */
    bool stays =
        (hole <= j) ? (hole < home && home <= j) : (hole < home || home <= j);
    if (!stays) {
      s->table[hole] = s->table[j];
      hole = j;
    }
  }
  s->table[hole] = 0;
}

static void forget_expired(seen_set_t *s, cdtime_t now) {
  while (s->count > 0 && s->ring[s->head].expires <= now) {
    const seen_entry_t *e = &s->ring[s->head];
    table_remove(s, find(s, e->account, e->task_id));
    s->head = (s->head + 1) % s->capacity;
    s->count--;
  }
}

/* Doubles the set, at most to max_live: live entries move oldest first
 * into a new ring and table. O(n), once per doubling. Returns 0 or -1. */
static int grow(seen_set_t *s) {
  size_t capacity =
      s->capacity < s->max_live / 2 ? 2 * s->capacity : s->max_live;
  seen_set_t g;
  if (capacity <= s->capacity || seen_alloc(&g, capacity) != 0)
    return -1;
  for (size_t k = 0; k < s->count; k++) {
    const seen_entry_t *e = &s->ring[(s->head + k) % s->capacity];
    g.ring[k] = *e;
    g.table[find(&g, e->account, e->task_id)] = (uint32_t)(k + 1);
  }
  g.count = s->count;
  g.max_live = s->max_live;
  seen_destroy(s);
  *s = g;
  return 0;
}

seen_result_t seen_add(seen_set_t *s, uint32_t account, task_id_t task_id,
                       cdtime_t now, cdtime_t expires) {
  forget_expired(s, now);
  size_t i = find(s, account, task_id);
  if (s->table[i] != 0) {
    /* Still remembered: a duplicate unless it expired behind an older
     * entry that has not. */
    seen_entry_t *e = &s->ring[s->table[i] - 1];
    if (e->expires > now)
      return SEEN_DUPLICATE;
    e->expires = expires; /* stays where it is in the ring: forgotten late */
    return SEEN_NEW;
  }
  if (s->count == s->capacity) {
    if (grow(s) != 0)
      return SEEN_FULL;
    i = find(s, account, task_id);
  }
  size_t pos = (s->head + s->count) % s->capacity;
  s->ring[pos] = (seen_entry_t){
      .task_id = task_id, .account = account, .expires = expires};
  s->count++;
  s->table[i] = (uint32_t)(pos + 1);
  return SEEN_NEW;
}

cdtime_t seen_expiry_restored(cdtime_t expires, cdtime_t window,
                              cdtime_t wall_now, cdtime_t mono_now) {
  cdtime_t limit = cdtime_add(wall_now, window);
  if (expires <= wall_now)
    return 0;
  return mono_from_wall(expires < limit ? expires : limit, wall_now, mono_now);
}

int job_ring_init(job_ring_t *q, size_t capacity) {
  memset(q, 0, sizeof(*q));
  q->items = calloc(capacity > 0 ? capacity : 1, sizeof(*q->items));
  if (q->items == NULL)
    return -1;
  q->capacity = capacity > 0 ? capacity : 1;
  /* A ring cycles through all its room: taken now, the daemon's resident
   * size stays flat however the queue fills. */
  prefault(q->items, q->capacity * sizeof(*q->items));
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

int job_ring_push_front(job_ring_t *q, const report_job_t *job) {
  if (q->count == q->capacity)
    return -1;
  q->head = (q->head + q->capacity - 1) % q->capacity;
  q->items[q->head] = *job;
  q->count++;
  return 0;
}

bool job_arrives(report_job_t *job, cdtime_t window, cdtime_t wall_now,
                 cdtime_t mono_now) {
  if (job->req.completed > wall_now)
    job->req.completed = wall_now;
  job->deadline = mono_from_wall(cdtime_add(job->req.completed, window),
                                 wall_now, mono_now);
  return report_window_open(job, mono_now);
}

cdtime_t job_completed_now(const report_job_t *job, cdtime_t window,
                           cdtime_t wall_now, cdtime_t mono_now) {
  return wall_from_mono(cdtime_sub(job->deadline, window), wall_now, mono_now);
}

report_decision_t report_decide(report_job_t *job, report_outcome_t outcome,
                                cdtime_t now) {
  if (outcome == OUTCOME_ACCEPTED)
    return DECISION_ACCEPTED;
  /* API errors are answers, not failures: errorId 16 above all means "too
   * late or already reported", and repeating a refused call risks a ban. */
  if (outcome == OUTCOME_API_ERROR)
    return DECISION_REJECTED;
  return report_window_open(job, now) ? DECISION_RETRY : DECISION_EXPIRED;
}

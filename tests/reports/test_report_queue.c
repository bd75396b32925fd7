/* Unit tests for plugin/report_queue.c: the set of reported task ids, the
 * job ring, and the back-off, window and retry decisions. */
#include "reports/report_queue.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define T0 TIME_T_TO_CDTIME_T(1700000000)
#define SEC(s) TIME_T_TO_CDTIME_T(s)
#define MS(ms) MS_TO_CDTIME_T(ms)

/* ---- seen set ---- */

/* The tests speak of numeric task ids. */
static seen_result_t seen_add_n(seen_set_t *s, uint32_t account, uint64_t task,
                                cdtime_t now, cdtime_t expires) {
  return seen_add(s, account, TASK_ID_NUMBER(task), now, expires);
}

static void test_seen_new_then_duplicate(void **state) {
  (void)state;
  seen_set_t s;
  assert_int_equal(seen_init(&s, 100, 100), 0);
  cdtime_t exp = T0 + SEC(60);
  assert_int_equal(seen_add_n(&s, 0, 5, T0, exp), SEEN_NEW);
  assert_int_equal(seen_add_n(&s, 0, 5, T0, exp), SEEN_DUPLICATE);
  assert_int_equal(seen_add_n(&s, 0, 5, T0 + SEC(30), T0 + SEC(90)),
                   SEEN_DUPLICATE);
  assert_int_equal(seen_add_n(&s, 0, 5, exp - 1, exp + SEC(60)),
                   SEEN_DUPLICATE);
  /* Other ids are unaffected. */
  assert_int_equal(seen_add_n(&s, 0, 6, T0, exp), SEEN_NEW);
  assert_int_equal(seen_add_n(&s, 0, 4, T0, exp), SEEN_NEW);
  assert_int_equal(seen_add_n(&s, 0, UINT64_MAX, T0, exp), SEEN_NEW);
  assert_int_equal(seen_add_n(&s, 0, UINT64_MAX, T0, exp), SEEN_DUPLICATE);
  seen_destroy(&s);
  assert_null(s.table);
}

/* A duplicate answer does not extend the first expiry. */
static void test_seen_new_again_after_expiry(void **state) {
  (void)state;
  seen_set_t s;
  assert_int_equal(seen_init(&s, 100, 100), 0);
  cdtime_t exp = T0 + SEC(60);
  assert_int_equal(seen_add_n(&s, 0, 5, T0, exp), SEEN_NEW);
  assert_int_equal(seen_add_n(&s, 0, 5, T0 + SEC(10), T0 + SEC(600)),
                   SEEN_DUPLICATE);
  assert_int_equal(seen_add_n(&s, 0, 5, exp, exp + SEC(60)), SEEN_NEW);
  assert_int_equal(seen_add_n(&s, 0, 5, exp + SEC(1), exp + SEC(60)),
                   SEEN_DUPLICATE);
  assert_int_equal(seen_add_n(&s, 0, 5, exp + SEC(60), exp + SEC(120)),
                   SEEN_NEW);
  seen_destroy(&s);
}

static void test_seen_per_account(void **state) {
  (void)state;
  seen_set_t s;
  assert_int_equal(seen_init(&s, 100, 100), 0);
  cdtime_t exp = T0 + SEC(60);
  static const uint32_t accounts[] = {0, 1, 2, 255, 256, 65536, UINT32_MAX};
  size_t n = sizeof(accounts) / sizeof(accounts[0]);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(seen_add_n(&s, accounts[i], 12345, T0, exp), SEEN_NEW);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(seen_add_n(&s, accounts[i], 12345, T0, exp),
                     SEEN_DUPLICATE);
  assert_int_equal(seen_add_n(&s, 3, 12345, T0, exp), SEEN_NEW);
  seen_destroy(&s);
}

static void test_seen_full(void **state) {
  (void)state;
  seen_set_t s;
  assert_int_equal(seen_init(&s, 4, 4), 0);
  for (uint64_t id = 1; id <= 4; id++)
    assert_int_equal(seen_add_n(&s, 0, id, T0, T0 + SEC(60)), SEEN_NEW);
  assert_int_equal(seen_add_n(&s, 0, 5, T0, T0 + SEC(60)), SEEN_FULL);
  assert_int_equal(seen_add_n(&s, 1, 1, T0 + SEC(1), T0 + SEC(60)), SEEN_FULL);
  /* Known ids are still recognised while full. */
  for (uint64_t id = 1; id <= 4; id++)
    assert_int_equal(seen_add_n(&s, 0, id, T0 + SEC(2), T0 + SEC(60)),
                     SEEN_DUPLICATE);
  /* The refused id was not remembered. */
  assert_int_equal(seen_add_n(&s, 0, 5, T0 + SEC(59), T0 + SEC(120)),
                   SEEN_FULL);
  /* Once they expire there is room again. */
  for (uint64_t id = 5; id <= 8; id++)
    assert_int_equal(seen_add_n(&s, 0, id, T0 + SEC(60), T0 + SEC(120)),
                     SEEN_NEW);
  assert_int_equal(seen_add_n(&s, 0, 9, T0 + SEC(61), T0 + SEC(120)),
                   SEEN_FULL);
  seen_destroy(&s);
}

/* One expired entry makes room for exactly one new id. */
static void test_seen_full_reclaims_expired(void **state) {
  (void)state;
  seen_set_t s;
  assert_int_equal(seen_init(&s, 4, 4), 0);
  assert_int_equal(seen_add_n(&s, 0, 1, T0, T0 + SEC(10)), SEEN_NEW);
  for (uint64_t id = 2; id <= 4; id++)
    assert_int_equal(seen_add_n(&s, 0, id, T0, T0 + SEC(60)), SEEN_NEW);
  assert_int_equal(seen_add_n(&s, 0, 100, T0 + SEC(5), T0 + SEC(60)),
                   SEEN_FULL);
  assert_int_equal(seen_add_n(&s, 0, 100, T0 + SEC(10), T0 + SEC(60)),
                   SEEN_NEW);
  assert_int_equal(seen_add_n(&s, 0, 101, T0 + SEC(10), T0 + SEC(60)),
                   SEEN_FULL);
  /* The live ones survived the reclaiming. */
  for (uint64_t id = 2; id <= 4; id++)
    assert_int_equal(seen_add_n(&s, 0, id, T0 + SEC(11), T0 + SEC(60)),
                     SEEN_DUPLICATE);
  assert_int_equal(seen_add_n(&s, 0, 100, T0 + SEC(11), T0 + SEC(60)),
                   SEEN_DUPLICATE);
  /* Id 1 expired, but four live ids fill the set again. */
  assert_int_equal(seen_add_n(&s, 0, 1, T0 + SEC(11), T0 + SEC(60)), SEEN_FULL);
  seen_destroy(&s);
}

/* A long run of distinct ids over time never fills the set: expired entries
 * are reclaimed. Half the capacity is live at any time. */
static void test_seen_long_run_never_full(void **state) {
  (void)state;
  seen_set_t s;
  const size_t max_live = 1000;
  const cdtime_t step = MS(10), life = 500 * MS(10);
  assert_int_equal(seen_init(&s, max_live, max_live), 0);
  cdtime_t now = T0;
  for (uint64_t id = 1; id <= 1000000; id++) {
    now += step;
    seen_result_t r = seen_add_n(&s, (uint32_t)(id % 3), id, now, now + life);
    if (r != SEEN_NEW)
      fail_msg("id %llu: %d", (unsigned long long)id, (int)r);
    if (id % 9973 == 0) { /* recent ids are still remembered */
      assert_int_equal(seen_add_n(&s, (uint32_t)(id % 3), id, now, now + life),
                       SEEN_DUPLICATE);
      assert_int_equal(
          seen_add_n(&s, (uint32_t)((id - 400) % 3), id - 400, now, now + life),
          SEEN_DUPLICATE);
    }
  }
  seen_destroy(&s);
}

/* Exactly max_live live ids at every moment is allowed. */
static void test_seen_run_at_capacity(void **state) {
  (void)state;
  seen_set_t s;
  const size_t max_live = 64;
  assert_int_equal(seen_init(&s, max_live, max_live), 0);
  cdtime_t now = T0;
  for (uint64_t id = 1; id <= 20000; id++) {
    now += 1;
    /* Each id lives max_live ticks: at most max_live are live at once. */
    assert_int_equal(seen_add_n(&s, 0, id, now, now + max_live), SEEN_NEW);
    if (id > max_live)
      assert_int_equal(seen_add_n(&s, 0, id - max_live + 1, now, now + 5),
                       SEEN_DUPLICATE);
  }
  /* One more at the same instant would make max_live + 1. */
  assert_int_equal(seen_add_n(&s, 0, 999999, now, now + 10), SEEN_FULL);
  seen_destroy(&s);
}

/* More live ids than the initial room: the set doubles (every id still
 * known, in the same expiry order) until max_live, then refuses. */
static void test_seen_grows_to_max(void **state) {
  (void)state;
  seen_set_t s;
  assert_int_equal(seen_init(&s, 4, 20), 0);
  assert_int_equal(s.capacity, 4);
  /* Ids 1..20 at T0 + id s, each remembered for 60 s; the ring wraps
   * before the first doubling so that growing must unwrap it. */
  assert_int_equal(seen_add_n(&s, 0, 100, T0, T0 + 1), SEEN_NEW);
  assert_int_equal(seen_add_n(&s, 0, 101, T0, T0 + 1), SEEN_NEW);
  for (uint64_t id = 1; id <= 20; id++)
    assert_int_equal(seen_add_n(&s, 1, id, T0 + SEC(id), T0 + SEC(id + 60)),
                     SEEN_NEW);
  assert_int_equal(s.capacity, 20); /* 4, 8, 16, then max_live */
  assert_int_equal(s.count, 20);
  assert_int_equal(seen_add_n(&s, 1, 21, T0 + SEC(21), T0 + SEC(81)),
                   SEEN_FULL);
  for (uint64_t id = 1; id <= 20; id++)
    assert_int_equal(seen_add_n(&s, 1, id, T0 + SEC(21), T0 + SEC(90)),
                     SEEN_DUPLICATE);
  /* Oldest first: at T0 + 61 s only id 1 has expired, so one more fits. */
  assert_int_equal(seen_add_n(&s, 1, 21, T0 + SEC(61), T0 + SEC(121)),
                   SEEN_NEW);
  assert_int_equal(seen_add_n(&s, 1, 22, T0 + SEC(61), T0 + SEC(121)),
                   SEEN_FULL);
  assert_int_equal(seen_add_n(&s, 1, 2, T0 + SEC(61), T0 + SEC(121)),
                   SEEN_DUPLICATE);
  assert_int_equal(seen_add_n(&s, 1, 1, T0 + SEC(62), T0 + SEC(122)), SEEN_NEW);
  assert_int_equal(s.capacity, 20);
  seen_destroy(&s);
}

/* A steady rate above the initial room: the set grows once to what is live
 * and then stays that size; nothing is refused or forgotten early. */
static void test_seen_grows_to_the_rate(void **state) {
  (void)state;
  seen_set_t s;
  const cdtime_t life = 3000; /* 3,000 ticks, one id per tick */
  assert_int_equal(seen_init(&s, 1024, 1 << 20), 0);
  cdtime_t now = T0;
  for (uint64_t id = 1; id <= 100000; id++) {
    now += 1;
    if (seen_add_n(&s, 0, id, now, now + life) != SEEN_NEW)
      fail_msg("id %llu refused", (unsigned long long)id);
    if (id > life && id % 997 == 0)
      assert_int_equal(seen_add_n(&s, 0, id - life + 1, now, now + life),
                       SEEN_DUPLICATE);
  }
  assert_int_equal(s.capacity, 4096);
  seen_destroy(&s);
}

/* Ids that land on one hash slot, if the hash is as today; the assertions
 * hold whatever the hash (which wraps on purpose, see report_queue.c). */
#if defined(__clang__)
__attribute__((no_sanitize("unsigned-integer-overflow")))
#endif
static size_t
colliding_ids(uint64_t *ids, size_t want, size_t mask) {
  size_t n = 0, target = 0;
  for (uint64_t id = 1; n < want && id < 50000000; id++) {
    uint64_t h = id * 0x9E3779B97F4A7C15ULL;
    size_t slot = (size_t)(h >> 17) & mask;
    if (id == 1)
      target = slot;
    if (slot == target)
      ids[n++] = id;
  }
  return n;
}

/* The most occupied slots in a row of the set's table (going round). */
static size_t longest_run(const seen_set_t *s) {
  size_t size = s->mask + 1, best = 0, run = 0;
  for (size_t k = 0; k < 2 * size && best < size; k++) {
    run = s->table[k & s->mask] != 0 ? run + 1 : 0;
    best = run > best ? run : best;
  }
  return best;
}

static void test_seen_colliding_ids(void **state) {
  (void)state;
  enum { N = 64 };
  uint64_t ids[N];
  seen_set_t s;
  assert_int_equal(seen_init(&s, 1000, 1000), 0);
  assert_int_equal(colliding_ids(ids, N, s.mask), N);

  /* Even positions expire at +10 s, odd at +60 s. */
  for (size_t i = 0; i < N; i++)
    assert_int_equal(
        seen_add_n(&s, 0, ids[i], T0, T0 + SEC(i % 2 == 0 ? 10 : 60)),
        SEEN_NEW);
  /* They really collide (one probe chain of N slots), so the test still
   * tests something: else colliding_ids has to follow the hash. */
  assert_int_equal(longest_run(&s), N);
  for (size_t i = 0; i < N; i++)
    assert_int_equal(seen_add_n(&s, 0, ids[i], T0 + SEC(1), T0 + SEC(60)),
                     SEEN_DUPLICATE);
  for (size_t i = 0; i < N; i++) /* another account: independent */
    assert_int_equal(seen_add_n(&s, 7, ids[i], T0 + SEC(1), T0 + SEC(60)),
                     SEEN_NEW);

  /* At +10 s the even ones are gone; the odd ones, further along the same
   * probe chain, must still be found. */
  for (size_t i = 1; i < N; i += 2)
    assert_int_equal(seen_add_n(&s, 0, ids[i], T0 + SEC(10), T0 + SEC(60)),
                     SEEN_DUPLICATE);
  for (size_t i = 0; i < N; i += 2)
    assert_int_equal(seen_add_n(&s, 0, ids[i], T0 + SEC(10), T0 + SEC(70)),
                     SEEN_NEW);
  /* Re-adding made no second copies: each is now a single live entry. */
  for (size_t i = 0; i < N; i++)
    assert_int_equal(seen_add_n(&s, 0, ids[i], T0 + SEC(11), T0 + SEC(70)),
                     SEEN_DUPLICATE);
  /* At +60 s the odd ones expire, the re-added even ones do not. */
  for (size_t i = 0; i < N; i += 2)
    assert_int_equal(seen_add_n(&s, 0, ids[i], T0 + SEC(60), T0 + SEC(70)),
                     SEEN_DUPLICATE);
  for (size_t i = 1; i < N; i += 2)
    assert_int_equal(seen_add_n(&s, 0, ids[i], T0 + SEC(60), T0 + SEC(70)),
                     SEEN_NEW);
  seen_destroy(&s);
}

/* ---- job ring ---- */

static report_job_t job(uint64_t task) {
  return (report_job_t){
      .req = {.account = (size_t)(task % 5),
              .method = (report_method_t)(task % REPORT_METHOD_COUNT),
              .task_id = TASK_ID_NUMBER(task),
              .completed = T0 + task},
      .deadline = T0 + SEC(60) + task,
      .attempts = (unsigned)(task % 7)};
}

static void assert_job(const report_job_t *got, uint64_t task) {
  report_job_t want = job(task);
  assert_true(task_id_equal(got->req.task_id, want.req.task_id));
  assert_int_equal(got->req.account, want.req.account);
  assert_int_equal(got->req.method, want.req.method);
  assert_true(got->req.completed == want.req.completed);
  assert_true(got->deadline == want.deadline);
  assert_int_equal(got->attempts, want.attempts);
}

static void test_ring_fifo(void **state) {
  (void)state;
  job_ring_t q;
  assert_int_equal(job_ring_init(&q, 10), 0);
  for (uint64_t t = 1; t <= 6; t++) {
    report_job_t j = job(t);
    assert_int_equal(job_ring_push(&q, &j), 0);
  }
  for (uint64_t t = 1; t <= 6; t++) {
    report_job_t got;
    assert_int_equal(job_ring_pop(&q, &got), 0);
    assert_job(&got, t);
  }
  job_ring_destroy(&q);
}

static void test_ring_full(void **state) {
  (void)state;
  job_ring_t q;
  assert_int_equal(job_ring_init(&q, 3), 0);
  for (uint64_t t = 1; t <= 3; t++) {
    report_job_t j = job(t);
    assert_int_equal(job_ring_push(&q, &j), 0);
  }
  report_job_t extra = job(4);
  assert_int_equal(job_ring_push(&q, &extra), -1);
  report_job_t got;
  assert_int_equal(job_ring_pop(&q, &got), 0);
  assert_job(&got, 1);
  assert_int_equal(job_ring_push(&q, &extra), 0);
  assert_int_equal(job_ring_push(&q, &extra), -1);
  /* The refused push lost nothing and added nothing. */
  for (uint64_t t = 2; t <= 4; t++) {
    assert_int_equal(job_ring_pop(&q, &got), 0);
    assert_job(&got, t);
  }
  assert_int_equal(job_ring_pop(&q, &got), -1);
  job_ring_destroy(&q);
}

static void test_ring_empty(void **state) {
  (void)state;
  job_ring_t q;
  assert_int_equal(job_ring_init(&q, 2), 0);
  report_job_t got = job(9);
  assert_int_equal(job_ring_pop(&q, &got), -1);
  assert_job(&got, 9); /* untouched */
  report_job_t j = job(1);
  assert_int_equal(job_ring_push(&q, &j), 0);
  assert_int_equal(job_ring_pop(&q, &got), 0);
  assert_job(&got, 1);
  assert_int_equal(job_ring_pop(&q, &got), -1);
  job_ring_destroy(&q);
}

static void test_ring_wrap_around(void **state) {
  (void)state;
  job_ring_t q;
  assert_int_equal(job_ring_init(&q, 4), 0);
  uint64_t next_in = 1, next_out = 1;
  /* Fill and drain by varying amounts so head and tail go round many times. */
  for (int round = 0; round < 200; round++) {
    int pushes = 1 + round % 4;
    for (int i = 0; i < pushes; i++) {
      report_job_t j = job(next_in);
      int rc = job_ring_push(&q, &j);
      if (next_in - next_out < 4) {
        assert_int_equal(rc, 0);
        next_in++;
      } else {
        assert_int_equal(rc, -1);
      }
    }
    int pops = 1 + (round * 7) % 4;
    for (int i = 0; i < pops; i++) {
      report_job_t got;
      int rc = job_ring_pop(&q, &got);
      if (next_out < next_in) {
        assert_int_equal(rc, 0);
        assert_job(&got, next_out);
        next_out++;
      } else {
        assert_int_equal(rc, -1);
      }
    }
  }
  assert_true(next_out > 100);
  job_ring_destroy(&q);
  assert_null(q.items);
}

/* ---- back-off, window, decisions ---- */

static void test_window_open(void **state) {
  (void)state;
  report_job_t j = job(1);
  j.deadline = T0 + SEC(60);
  assert_true(report_window_open(&j, T0));
  assert_true(report_window_open(&j, j.deadline - 1));
  assert_false(report_window_open(&j, j.deadline));
  assert_false(report_window_open(&j, j.deadline + SEC(1)));
}

/* The wall clock reads T0 when the monotonic clock reads MONO. */
#define MONO SEC(5000)

/* A notification's time is the wall clock's; its deadline is set once, on
 * the monotonic clock, and stays whatever the wall clock does after. */
static void test_job_arrives(void **state) {
  (void)state;
  report_job_t j = job(1);
  j.req.completed = T0 - SEC(20);
  assert_true(job_arrives(&j, SEC(60), T0, MONO));
  assert_true(j.deadline == MONO + SEC(40));
  assert_true(j.req.completed == T0 - SEC(20));
  /* From the future (clock skew, or a file written by a clock ahead): now. */
  j.req.completed = T0 + SEC(400 * 86400);
  assert_true(job_arrives(&j, SEC(60), T0, MONO));
  assert_true(j.req.completed == T0);
  assert_true(j.deadline == MONO + SEC(60));
  /* Past cdtime_t's range (the year 2514 and beyond): now too, no wrap. */
  j.req.completed = UINT64_MAX;
  assert_true(job_arrives(&j, SEC(60), T0, MONO));
  assert_true(j.deadline == MONO + SEC(60));
  /* Its window closed before it arrived. */
  j.req.completed = T0 - SEC(60);
  assert_false(job_arrives(&j, SEC(60), T0, MONO));
  j.req.completed = SEC(1);
  assert_false(job_arrives(&j, SEC(60), T0, MONO));
}

/* What the state file is given: the completion as the wall clock reads it
 * when the file is written, stepped or not. */
static void test_job_completed_now(void **state) {
  (void)state;
  report_job_t j = job(1);
  j.req.completed = T0 - SEC(20);
  assert_true(job_arrives(&j, SEC(60), T0, MONO));
  /* 5 s later, the wall clock stepped back an hour meanwhile. */
  assert_true(job_completed_now(&j, SEC(60), T0 + SEC(5) - SEC(3600),
                                MONO + SEC(5)) == T0 - SEC(20) - SEC(3600));
  assert_true(job_completed_now(&j, SEC(60), T0 + SEC(5), MONO + SEC(5)) ==
              T0 - SEC(20));
}

/* Task ids read back: remembered for a Window at most, as on arrival. */
static void test_seen_expiry_restored(void **state) {
  (void)state;
  assert_true(seen_expiry_restored(T0 + SEC(30), SEC(60), T0, MONO) ==
              MONO + SEC(30));
  /* The year 2400, or past cdtime_t's range: a Window from now. */
  assert_true(seen_expiry_restored(SEC(13569465600LL), SEC(60), T0, MONO) ==
              MONO + SEC(60));
  assert_true(seen_expiry_restored(UINT64_MAX, SEC(60), T0, MONO) ==
              MONO + SEC(60));
  /* Expired: not remembered at all. */
  assert_true(seen_expiry_restored(T0, SEC(60), T0, MONO) == 0);
  assert_true(seen_expiry_restored(0, SEC(60), T0, MONO) == 0);
}

static report_job_t fresh_job(void) {
  report_job_t j = job(42);
  j.req.completed = T0;
  j.deadline = T0 + SEC(60);
  j.attempts = 1;
  return j;
}

static void test_decide_accepted(void **state) {
  (void)state;
  report_job_t j = fresh_job();
  assert_int_equal(report_decide(&j, OUTCOME_ACCEPTED, T0 + SEC(1)),
                   DECISION_ACCEPTED);
}

/* Any API error (16 "no such captcha" above all) is final: never retried,
 * however much of the window is left or however few the attempts. */
static void test_decide_api_error_final(void **state) {
  (void)state;
  for (unsigned attempts = 0; attempts < 5; attempts++) {
    report_job_t j = fresh_job();
    j.attempts = attempts;
    assert_int_equal(report_decide(&j, OUTCOME_API_ERROR, T0),
                     DECISION_REJECTED);
    assert_int_equal(report_decide(&j, OUTCOME_API_ERROR, T0 + SEC(59)),
                     DECISION_REJECTED);
  }
}

/* A transient failure is retried while the window is open: when is the
 * account's pacing (test_send_pacing.c), whatever the attempts. */
static void test_decide_transient_retry(void **state) {
  (void)state;
  for (unsigned attempts = 1; attempts < 40; attempts += 7) {
    report_job_t j = fresh_job();
    j.attempts = attempts;
    assert_int_equal(report_decide(&j, OUTCOME_TRANSIENT, T0 + SEC(1)),
                     DECISION_RETRY);
    assert_int_equal(report_decide(&j, OUTCOME_TRANSIENT, j.deadline - 1),
                     DECISION_RETRY);
  }
}

/* Never retried once the window has closed. */
static void test_decide_transient_expired(void **state) {
  (void)state;
  report_job_t j = fresh_job();
  assert_int_equal(report_decide(&j, OUTCOME_TRANSIENT, j.deadline),
                   DECISION_EXPIRED);
  assert_int_equal(report_decide(&j, OUTCOME_TRANSIENT, j.deadline + SEC(5)),
                   DECISION_EXPIRED);
}

/* A retry goes before the jobs queued after it, and the ring stays a ring
 * across the wrap. */
static void test_ring_push_front(void **state) {
  (void)state;
  job_ring_t q;
  report_job_t out;
  assert_int_equal(job_ring_init(&q, 3), 0);
  assert_int_equal(
      job_ring_push(&q, &(report_job_t){.req.task_id = TASK_ID_NUMBER(2)}), 0);
  assert_int_equal(job_ring_push_front(
                       &q, &(report_job_t){.req.task_id = TASK_ID_NUMBER(1)}),
                   0);
  assert_int_equal(
      job_ring_push(&q, &(report_job_t){.req.task_id = TASK_ID_NUMBER(3)}), 0);
  assert_int_equal(job_ring_push_front(
                       &q, &(report_job_t){.req.task_id = TASK_ID_NUMBER(9)}),
                   -1);
  assert_true(task_id_equal(job_ring_peek(&q)->req.task_id, TASK_ID_NUMBER(1)));
  for (uint64_t want = 1; want <= 3; want++) {
    assert_int_equal(job_ring_pop(&q, &out), 0);
    assert_true(task_id_equal(out.req.task_id, TASK_ID_NUMBER(want)));
  }
  assert_null(job_ring_peek(&q));
  job_ring_destroy(&q);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_seen_new_then_duplicate),
      cmocka_unit_test(test_seen_new_again_after_expiry),
      cmocka_unit_test(test_seen_per_account),
      cmocka_unit_test(test_seen_full),
      cmocka_unit_test(test_seen_full_reclaims_expired),
      cmocka_unit_test(test_seen_long_run_never_full),
      cmocka_unit_test(test_seen_run_at_capacity),
      cmocka_unit_test(test_seen_colliding_ids),
      cmocka_unit_test(test_seen_grows_to_max),
      cmocka_unit_test(test_seen_grows_to_the_rate),
      cmocka_unit_test(test_ring_fifo),
      cmocka_unit_test(test_ring_full),
      cmocka_unit_test(test_ring_empty),
      cmocka_unit_test(test_ring_wrap_around),
      cmocka_unit_test(test_window_open),
      cmocka_unit_test(test_job_arrives),
      cmocka_unit_test(test_job_completed_now),
      cmocka_unit_test(test_seen_expiry_restored),
      cmocka_unit_test(test_decide_accepted),
      cmocka_unit_test(test_decide_api_error_final),
      cmocka_unit_test(test_decide_transient_retry),
      cmocka_unit_test(test_decide_transient_expired),
      cmocka_unit_test(test_ring_push_front),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

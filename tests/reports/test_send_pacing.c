/* Unit tests for plugin/send_pacing.c: the account's pacing (slow start,
 * probes, Retry-After, account-level pauses), Retry-After parsing, and the
 * host's connection gate. */
#include "reports/send_pacing.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define T0 TIME_T_TO_CDTIME_T(1700000000)
#define SEC(s) TIME_T_TO_CDTIME_T(s)
#define MS(ms) MS_TO_CDTIME_T(ms)

/* How many requests may start at once at now. */
static unsigned burst(pace_t *p, cdtime_t now) {
  unsigned n = 0;
  while (pace_may_send(p, now) && n < 10000) {
    pace_sent(p);
    n++;
  }
  return n;
}

static void answer_all(pace_t *p, pace_event_t ev, cdtime_t now) {
  while (p->in_flight > 0)
    pace_done(p, ev, 0, now);
}

/* A few at first, doubling per round trip while answers come, up to the
 * maximum. */
static void test_slow_start(void **state) {
  (void)state;
  pace_t p;
  pace_init(&p, 128, 1);
  cdtime_t now = T0;
  unsigned want = PACE_INITIAL_WINDOW;
  for (int round = 0; round < 10; round++) {
    assert_int_equal(burst(&p, now), want);
    now += MS(20);
    answer_all(&p, PACE_ANSWERED, now);
    want = want * 2 < 128 ? want * 2 : 128;
  }
  assert_int_equal(p.state, PACE_OPEN);
  assert_int_equal(burst(&p, now), 128);
}

/* An account whose window has grown to 64. */
static cdtime_t grown(pace_t *p) {
  pace_init(p, 64, 1);
  cdtime_t now = T0;
  for (int round = 0; round < 6; round++) {
    burst(p, now);
    answer_all(p, PACE_ANSWERED, now);
  }
  assert_int_equal(burst(p, now), 64);
  answer_all(p, PACE_ANSWERED, now);
  return now;
}

/* After an idle second the window starts small again; the first answer
 * gives back the window the account had, so a burst after a pause waits one
 * round trip, not the several of a slow start. */
static void test_idle_reset(void **state) {
  (void)state;
  pace_t p;
  cdtime_t now = grown(&p) + PACE_IDLE_RESET + 1;
  assert_int_equal(burst(&p, now), PACE_INITIAL_WINDOW);
  now += MS(20);
  pace_done(&p, PACE_ANSWERED, 0, now);
  assert_int_equal(burst(&p, now), 64 - (PACE_INITIAL_WINDOW - 1));
}

/* An API that fails after the idle second gets the slow start again, not
 * the window of before. */
static void test_idle_reset_then_failure(void **state) {
  (void)state;
  pace_t p;
  cdtime_t now = grown(&p) + PACE_IDLE_RESET + 1;
  assert_int_equal(burst(&p, now), PACE_INITIAL_WINDOW);
  answer_all(&p, PACE_TRANSIENT, now);
  now = p.not_before;
  assert_int_equal(burst(&p, now), 1); /* a probe */
  answer_all(&p, PACE_ANSWERED, now);
  assert_int_equal(burst(&p, now), PACE_INITIAL_WINDOW);
}

/* A failure stops the fan-out: one probe at a time, each after a growing,
 * jittered delay; the first answer opens the account again. */
static void test_probes(void **state) {
  (void)state;
  pace_t p;
  pace_init(&p, 128, 7);
  cdtime_t now = T0;
  assert_int_equal(burst(&p, now), PACE_INITIAL_WINDOW);
  assert_true(pace_done(&p, PACE_TRANSIENT, 0, now)); /* state changed */
  assert_int_equal(p.state, PACE_BACKING_OFF);
  answer_all(&p, PACE_TRANSIENT, now); /* the rest of the first wave */
  assert_false(pace_may_send(&p, now));
  for (unsigned k = 0; k < 40; k++) {
    cdtime_t wait = p.not_before - now;
    /* Between half and all of the delay of this failure. */
    assert_true(wait >= pace_probe_delay(p.failures) / 2);
    assert_true(wait <= pace_probe_delay(p.failures));
    assert_false(pace_may_send(&p, p.not_before - 1));
    now = p.not_before;
    assert_int_equal(burst(&p, now), 1); /* one probe */
    assert_false(pace_done(&p, PACE_TRANSIENT, 0, now));
  }
  now = p.not_before;
  assert_int_equal(burst(&p, now), 1);
  assert_true(pace_done(&p, PACE_ANSWERED, 0, now));
  assert_int_equal(p.state, PACE_OPEN);
  assert_int_equal(burst(&p, now), PACE_INITIAL_WINDOW - 0);
}

/* Fast probes first (a short outage is noticed within a second of its
 * end), slower ones in a long outage. */
static void test_probe_delays(void **state) {
  (void)state;
  assert_true(pace_probe_delay(1) == MS(250));
  assert_true(pace_probe_delay(2) == MS(500));
  assert_true(pace_probe_delay(3) == SEC(1));
  assert_true(pace_probe_delay(PACE_FAST_PROBES) == SEC(1));
  assert_true(pace_probe_delay(PACE_FAST_PROBES + 1) == SEC(2));
  assert_true(pace_probe_delay(PACE_FAST_PROBES + 4) == SEC(16));
  assert_true(pace_probe_delay(1000) == PACE_PROBE_MAX);
  assert_true(pace_probe_delay(UINT32_MAX) == PACE_PROBE_MAX);
  /* A 10 s outage costs a handful of requests: the bound of issue 11. */
  cdtime_t t = 0;
  unsigned n = 0;
  while (t < SEC(10))
    t += pace_probe_delay(++n) / 2; /* the shortest jitter */
  assert_true(n + PACE_INITIAL_WINDOW <= 30);
}

/* Retry-After: nothing before it, even for answers in flight; a success
 * sent earlier does not end the wait; then one probe. */
static void test_retry_after(void **state) {
  (void)state;
  pace_t p;
  pace_init(&p, 128, 3);
  cdtime_t now = T0;
  assert_int_equal(burst(&p, now), PACE_INITIAL_WINDOW);
  assert_true(pace_done(&p, PACE_RETRY_AFTER, now + SEC(3), now));
  assert_int_equal(p.state, PACE_WAITING);
  pace_done(&p, PACE_ANSWERED, 0, now + MS(1));
  assert_int_equal(p.state, PACE_WAITING);
  pace_done(&p, PACE_TRANSIENT, 0, now + MS(2)); /* never shortens it */
  answer_all(&p, PACE_ANSWERED, now + MS(3));
  assert_false(pace_may_send(&p, now + SEC(3) - 1));
  assert_int_equal(burst(&p, now + SEC(3)), 1);
  pace_done(&p, PACE_ANSWERED, 0, now + SEC(3));
  assert_int_equal(p.state, PACE_OPEN);
  /* The probe after a wait fails without Retry-After: backing off. */
  burst(&p, now + SEC(4));
  pace_done(&p, PACE_RETRY_AFTER, now + SEC(5), now + SEC(4));
  answer_all(&p, PACE_ANSWERED, now + SEC(4) + MS(1));
  assert_int_equal(p.state, PACE_WAITING);
  assert_int_equal(burst(&p, now + SEC(5)), 1);
  pace_done(&p, PACE_TRANSIENT, 0, now + SEC(5));
  assert_int_equal(p.state, PACE_BACKING_OFF);
  now = p.not_before;
  burst(&p, now);
  pace_done(&p, PACE_ANSWERED, 0, now);
  assert_int_equal(p.state, PACE_OPEN);
  /* A huge Retry-After is capped. */
  burst(&p, now + SEC(4));
  pace_done(&p, PACE_RETRY_AFTER, now + SEC(100000), now + SEC(4));
  assert_true(p.not_before == now + SEC(4) + PACE_RETRY_AFTER_MAX);
}

/* An account-level error pauses the account long; more of the same from
 * requests in flight do not extend it; repeats double it. */
static void test_account_pause(void **state) {
  (void)state;
  pace_t p;
  pace_init(&p, 128, 5);
  cdtime_t now = T0;
  burst(&p, now);
  assert_true(pace_done(&p, PACE_ACCOUNT_ERROR, 0, now));
  assert_int_equal(p.state, PACE_PAUSED);
  cdtime_t until = p.not_before;
  assert_true(until - now >= PACE_PAUSE_FIRST / 2);
  assert_true(until - now <= PACE_PAUSE_FIRST);
  pace_done(&p, PACE_ACCOUNT_ERROR, 0, now + MS(1));
  assert_true(p.not_before == until);
  answer_all(&p, PACE_ACCOUNT_ERROR, now + MS(2));
  assert_false(pace_may_send(&p, until - 1));
  assert_int_equal(burst(&p, until), 1);
  pace_done(&p, PACE_ACCOUNT_ERROR, 0, until);
  assert_int_equal(p.pauses, 2);
  assert_true(p.not_before - until >= pace_pause_delay(2) / 2);
  assert_true(pace_pause_delay(2) == 2 * PACE_PAUSE_FIRST);
  assert_true(pace_pause_delay(100) == PACE_PAUSE_MAX);
}

/* A vendor that blocks a key for a while (CapMonster: 10 minutes): a pause
 * never ends before that, whatever the jitter. */
static void test_pause_min(void **state) {
  (void)state;
  for (uint64_t seed = 1; seed < 50; seed++) {
    pace_t p;
    pace_init(&p, 128, seed);
    p.pause_min = SEC(600);
    burst(&p, T0);
    pace_done(&p, PACE_ACCOUNT_ERROR, 0, T0);
    assert_true(p.not_before >= T0 + SEC(600));
    assert_true(p.not_before <= T0 + SEC(600)); /* 5 min, jittered, < 10 */
  }
  /* Beyond it, the doubling goes on. */
  pace_t p;
  pace_init(&p, 128, 7);
  p.pause_min = SEC(600);
  p.pauses = 4; /* the fifth pause: 80 minutes before jitter, capped at 60 */
  burst(&p, T0);
  pace_done(&p, PACE_ACCOUNT_ERROR, 0, T0);
  assert_true(p.not_before - T0 >= PACE_PAUSE_MAX / 2);
}

static void test_parse_retry_after(void **state) {
  (void)state;
  cdtime_t d = 1;
  cdtime_t now = SEC(1445412480); /* Wed, 21 Oct 2015 07:28:00 GMT */
  assert_int_equal(pace_parse_retry_after(" 3", now, &d), 0);
  assert_true(d == SEC(3));
  assert_int_equal(pace_parse_retry_after("0\r\n", now, &d), 0);
  assert_true(d == 0);
  assert_int_equal(pace_parse_retry_after("120", now, &d), 0);
  assert_true(d == SEC(120));
  assert_int_equal(
      pace_parse_retry_after(" Wed, 21 Oct 2015 07:28:05 GMT\r\n", now, &d), 0);
  assert_true(d == SEC(5));
  assert_int_equal(
      pace_parse_retry_after("Wednesday, 21-Oct-15 07:29:00 GMT", now, &d), 0);
  assert_true(d == SEC(60));
  assert_int_equal(pace_parse_retry_after("Wed Oct 21 07:28:10 2015", now, &d),
                   0);
  assert_true(d == SEC(10));
  /* Measured from now exactly, not from its whole second. */
  assert_int_equal(pace_parse_retry_after("Wed, 21 Oct 2015 07:28:05 GMT",
                                          now + MS(400), &d),
                   0);
  assert_true(d == SEC(5) - MS(400));
  /* A date past means now. */
  assert_int_equal(
      pace_parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now, &d), 0);
  assert_true(d == 0);
  assert_int_equal(pace_parse_retry_after("3 s", now, &d), -1);
  assert_int_equal(pace_parse_retry_after("-3", now, &d), -1);
  assert_int_equal(pace_parse_retry_after("soon", now, &d), -1);
  assert_int_equal(pace_parse_retry_after("", now, &d), -1);
  assert_int_equal(pace_parse_retry_after("Wed, 21 Oct 2015 07:28", now, &d),
                   -1);
  assert_int_equal(pace_parse_retry_after("99999999999999999999", now, &d), 0);
  /* A date past cdtime_t's range (the year 2514): as long as it goes, no
   * wrap into a short or past delay. */
  assert_int_equal(
      pace_parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now, &d), 0);
  assert_true(d == UINT64_MAX - now);
}

/* New connections: at most GATE_OPENING_MAX at once, idle ones reused
 * first, never more than the cap. */
static void test_gate(void **state) {
  (void)state;
  conn_gate_t g = {.cap = 10};
  bool opening[32];
  unsigned n = 0;
  while (gate_may_start(&g))
    opening[n++] = gate_start(&g);
  assert_int_equal(n, GATE_OPENING_MAX);
  for (unsigned i = 0; i < n; i++)
    assert_true(opening[i]);
  g.open = n; /* their sockets opened, the server answered */
  for (unsigned i = 0; i < n; i++)
    gate_done(&g, opening[i]);
  assert_int_equal(g.busy, 0);
  /* The idle ones are reused, then GATE_OPENING_MAX more are opened. */
  n = 0;
  while (gate_may_start(&g) && n < 32)
    opening[n++] = gate_start(&g);
  assert_int_equal(n, 4 + GATE_OPENING_MAX);
  for (unsigned i = 0; i < n; i++)
    assert_int_equal(opening[i], i >= 4);
  /* Up to the cap, never beyond. */
  g.open = 8;
  for (unsigned i = 0; i < n; i++)
    gate_done(&g, opening[i]);
  unsigned started = 0;
  while (gate_may_start(&g) && started < 32) {
    gate_start(&g);
    started++;
  }
  assert_int_equal(started, 10);
  /* Over HTTP/2 one connection carries them all. */
  conn_gate_t h2 = {.cap = 2, .open = 1, .multiplexed = true, .busy = 50};
  assert_true(gate_may_start(&h2));
  assert_false(gate_start(&h2));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_slow_start),
      cmocka_unit_test(test_idle_reset),
      cmocka_unit_test(test_idle_reset_then_failure),
      cmocka_unit_test(test_probes),
      cmocka_unit_test(test_probe_delays),
      cmocka_unit_test(test_retry_after),
      cmocka_unit_test(test_account_pause),
      cmocka_unit_test(test_pause_min),
      cmocka_unit_test(test_parse_retry_after),
      cmocka_unit_test(test_gate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

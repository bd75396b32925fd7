/* Unit tests for plugin/pair/pair_trust.c: what one hub seals its peer
 * believes once; a forged, replayed, stale or stranger's message changes
 * nothing, is counted and said once while it lasts, its fields escaped. */
#include "pair/pair_trust.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stubs.h"

#define T0 TIME_T_TO_CDTIME_T(1700000000)
#define SEC(s) TIME_T_TO_CDTIME_T(s)
#define SECRET "0123456789abcdef0123456789abcdef"
#define SKEW SEC(10)

/* Hub A's side (sealing) and hub B's (opening A's messages). */
typedef struct {
  pair_trust_t *a, *b;
} hubs_t;

static int setup(void **state) {
  static hubs_t h;
  h.a = pair_trust_create(SECRET, "hub-b", SKEW);
  h.b = pair_trust_create(SECRET, "hub-a", SKEW);
  stub_log_reset();
  *state = &h;
  return h.a != NULL && h.b != NULL ? 0 : -1;
}

static int teardown(void **state) {
  hubs_t *h = *state;
  pair_trust_destroy(h->a);
  pair_trust_destroy(h->b);
  return 0;
}

static notification_t from(const char *host, const char *type) {
  notification_t n = {.severity = NOTIF_OKAY};
  snprintf(n.host, sizeof(n.host), "%s", host);
  snprintf(n.plugin, sizeof(n.plugin), "anticaptcha");
  snprintf(n.plugin_instance, sizeof(n.plugin_instance), "main");
  snprintf(n.type, sizeof(n.type), "%s", type);
  return n;
}

static void test_sealed_message_believed_once(void **state) {
  hubs_t *h = *state;
  notification_t n = from("hub-a", "reported");
  assert_int_equal(pair_trust_seal(h->a, &n, "7001 7003", T0 + 1), 0);
  assert_int_equal(n.time, T0 + 1);
  const char *payload = pair_trust_open(h->b, &n, T0 + SEC(1));
  assert_non_null(payload);
  assert_string_equal(payload, "7001 7003");
  assert_int_equal(stub_log_count(), 0);
  /* The same message again: a replay, counted and said once. */
  assert_null(pair_trust_open(h->b, &n, T0 + SEC(2)));
  assert_null(pair_trust_open(h->b, &n, T0 + SEC(3)));
  assert_int_equal(pair_trust_forged(h->b), 2);
  assert_int_equal(stub_log_count(), 1);
  assert_true(stub_log_contains("replayed or delayed pair message"));
  assert_true(stub_log_contains("it was taken before"));
}

/* Two messages sealed in the same instant still carry different times: the
 * peer believes both. */
static void test_each_message_its_own_time(void **state) {
  hubs_t *h = *state;
  notification_t m1 = from("hub-a", "pair"), m2 = from("hub-a", "pair");
  assert_int_equal(pair_trust_seal(h->a, &m1, "up", T0 + 5), 0);
  assert_int_equal(pair_trust_seal(h->a, &m2, "up", T0 + 5), 0);
  assert_true(m2.time > m1.time);
  assert_non_null(pair_trust_open(h->b, &m2, T0 + SEC(1)));
  assert_non_null(pair_trust_open(h->b, &m1, T0 + SEC(1))); /* out of order */
  assert_int_equal(pair_trust_forged(h->b), 0);
}

static void test_wrong_secret_is_forged(void **state) {
  hubs_t *h = *state;
  pair_trust_t *other =
      pair_trust_create("another secret, 32 characters!!", "hub-b", SKEW);
  notification_t n = from("hub-a", "pair");
  assert_int_equal(pair_trust_seal(other, &n, "up", T0 + 1), 0);
  assert_null(pair_trust_open(h->b, &n, T0 + SEC(1)));
  /* Unsigned, as 0.3.1 sent it: forged too. */
  notification_t plain = from("hub-a", "pair");
  plain.time = T0 + 2;
  snprintf(plain.message, sizeof(plain.message), "hub pair: holding");
  assert_null(pair_trust_open(h->b, &plain, T0 + SEC(1)));
  assert_int_equal(pair_trust_forged(h->b), 2);
  assert_int_equal(stub_log_count(), 1);
  const stub_log_line_t *l = stub_log_first(LOG_WARNING);
  assert_non_null(l);
  assert_non_null(strstr(l->text, "forged pair message"));
  assert_non_null(strstr(l->text, "\"hub-a\""));
  assert_null(strstr(l->text, SECRET)); /* the secret is never logged */
  pair_trust_destroy(other);
}

static void test_stale_and_early_messages(void **state) {
  hubs_t *h = *state;
  /* In flight when hub B started: believed. */
  notification_t early = from("hub-a", "pair");
  assert_int_equal(pair_trust_seal(h->a, &early, "up", T0 - SEC(1)), 0);
  assert_non_null(pair_trust_open(h->b, &early, T0 + 1));
  /* Sent longer ago than max_skew, and not seen before: stale. */
  notification_t stale = from("hub-a", "pair");
  assert_int_equal(pair_trust_seal(h->a, &stale, "up", T0 + SEC(1)), 0);
  assert_null(pair_trust_open(h->b, &stale, T0 + SEC(1) + SKEW + 1));
  assert_int_equal(pair_trust_forged(h->b), 1);
  assert_int_equal(stub_log_count(), 1);
  /* A fresh one is still believed. */
  notification_t fresh = from("hub-a", "pair");
  assert_int_equal(pair_trust_seal(h->a, &fresh, "up", T0 + SEC(20)), 0);
  assert_non_null(pair_trust_open(h->b, &fresh, T0 + SEC(20)));
}

static void test_clock_complaint(void **state) {
  hubs_t *h = *state;
  notification_t stale = from("hub-a", "pair");
  assert_int_equal(pair_trust_seal(h->a, &stale, "up", T0 + SEC(1)), 0);
  assert_null(pair_trust_open(h->b, &stale, T0 + SEC(60)));
  assert_true(stub_log_contains("away from this hub's clock"));
}

/* A stranger's host and a forged message's type reach the log escaped. */
static void test_fields_escaped(void **state) {
  hubs_t *h = *state;
  notification_t n = from("hub-z\n[error] fake\x1b[2J", "pair");
  n.time = T0 + 1;
  assert_null(pair_trust_open(h->b, &n, T0 + 1));
  assert_null(pair_trust_open(h->b, &n, T0 + 2));
  assert_int_equal(pair_trust_forged(h->b), 0); /* not the peer's name */
  assert_int_equal(stub_log_count(), 1);
  assert_true(stub_log_contains(
      "ignoring pair messages from \"hub-z\\x0a[error] fake\\x1b[2J\""));
  notification_t f = from("hub-a", "pair\r\nx");
  f.time = T0 + 1;
  assert_null(pair_trust_open(h->b, &f, T0 + 1));
  assert_true(stub_log_contains("(type \"pair\\x0d\\x0ax\")"));
  for (size_t i = 0; i < stub_log_count(); i++)
    assert_null(strpbrk(stub_log_line(i)->text, "\r\n\x1b"));
}

/* Said once while it lasts: again only after a quiet minute, and the end
 * is said once. */
static void test_complaint_released_after_a_quiet_minute(void **state) {
  hubs_t *h = *state;
  notification_t n = from("hub-a", "pair");
  n.time = T0 + 1;
  snprintf(n.message, sizeof(n.message), "forged");
  assert_null(pair_trust_open(h->b, &n, T0 + SEC(1)));
  pair_trust_tick(h->b, T0 + SEC(30));
  assert_null(pair_trust_open(h->b, &n, T0 + SEC(40)));
  pair_trust_tick(h->b, T0 + SEC(90));
  assert_int_equal(stub_log_count(), 1); /* quiet for 50 s only */
  pair_trust_tick(h->b, T0 + SEC(101));
  assert_int_equal(stub_log_count(), 2);
  assert_true(stub_log_contains("no forged pair message for a minute (2 in"));
  pair_trust_tick(h->b, T0 + SEC(200));
  assert_int_equal(stub_log_count(), 2);
  /* A new wave is said again. */
  assert_null(pair_trust_open(h->b, &n, T0 + SEC(201)));
  assert_int_equal(stub_log_count(), 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_sealed_message_believed_once, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_each_message_its_own_time, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_wrong_secret_is_forged, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_stale_and_early_messages, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_clock_complaint, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fields_escaped, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_complaint_released_after_a_quiet_minute, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

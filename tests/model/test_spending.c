/* Unit tests for plugin/spending.c: queue slugs, sums and the choice of new
 * hourly records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "assert_double.h"
#include "model/spending.h"

/* ---- slugs ---- */

static void assert_slug(const char *queue, const char *want) {
  char buf[SPENDING_SLUG_MAX + 1];
  memset(buf, 'X', sizeof(buf));
  if (spending_slug(queue, buf, sizeof(buf)) != 0)
    fail_msg("slug of \"%s\" refused", queue ? queue : "(null)");
  assert_string_equal(buf, want);
}

static void assert_no_slug(const char *queue) {
  char buf[SPENDING_SLUG_MAX + 1];
  if (spending_slug(queue, buf, sizeof(buf)) == 0)
    fail_msg("\"%s\" gave slug \"%s\"", queue, buf);
}

static void test_slug_basic(void **state) {
  (void)state;
  assert_slug("Recaptcha Proxyless", "recaptcha_proxyless");
  assert_slug("English ImageToText", "english_imagetotext");
  assert_slug("abc", "abc");
  assert_slug("ABC123xyz", "abc123xyz");
  assert_slug("0123456789", "0123456789");
  assert_slug("a", "a");
}

static void test_slug_null_is_all(void **state) {
  (void)state;
  assert_slug(NULL, "all");
  char buf[4];
  assert_int_equal(spending_slug(NULL, buf, sizeof(buf)), 0);
  assert_string_equal(buf, "all");
  char small[3];
  assert_int_equal(spending_slug(NULL, small, sizeof(small)), -1);
}

/* Every run of other characters becomes exactly one '_'. */
static void test_slug_runs(void **state) {
  (void)state;
  assert_slug("a  b", "a_b");
  assert_slug("a - b", "a_b");
  assert_slug("a_b", "a_b");
  assert_slug("a__b", "a_b");
  assert_slug("a.b-c/d", "a_b_c_d");
  assert_slug("Funcaptcha (Proxy-on)", "funcaptcha_proxy_on_");
  assert_slug("a\t\r\n\"'\\b", "a_b");
  assert_slug("hCaptcha\x7f\x01x", "hcaptcha_x");
}

static void test_slug_leading_trailing_runs(void **state) {
  (void)state;
  assert_slug("  leading", "_leading");
  assert_slug("trailing!!", "trailing_");
  assert_slug("--both--", "_both_");
  assert_slug(" ", "_");
  assert_slug("!@#$%", "_");
}

/* UTF-8 bytes are not a-z0-9: a multi-byte character is one run. */
static void test_slug_utf8(void **state) {
  (void)state;
  assert_slug("T\xc3\xbcrk\xc3\xa7"
              "e",
              "t_rk_e");
  assert_slug("\xc3\x87"
              "aptcha",
              "_aptcha");
  assert_slug("caf\xc3\xa9", "caf_");
  assert_slug("\xe2\x9c\x93 ok \xf0\x9f\x98\x80", "_ok_");
  assert_slug("\xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a", "_"); /* Arabic */
}

static void test_slug_empty_refused(void **state) {
  (void)state;
  assert_no_slug("");
}

static void test_slug_length_limit(void **state) {
  (void)state;
  char q[SPENDING_SLUG_MAX + 2];
  memset(q, 'a', SPENDING_SLUG_MAX);
  q[SPENDING_SLUG_MAX] = 0;
  assert_slug(q, q); /* exactly the maximum */
  q[SPENDING_SLUG_MAX] = 'b';
  q[SPENDING_SLUG_MAX + 1] = 0;
  assert_no_slug(q); /* one more */

  /* The limit is on the slug: a long name that collapses is fine. */
  char spaced[3 * SPENDING_SLUG_MAX];
  memset(spaced, ' ', sizeof(spaced) - 1);
  spaced[0] = 'x';
  spaced[sizeof(spaced) - 2] = 'y';
  spaced[sizeof(spaced) - 1] = 0;
  assert_slug(spaced, "x_y");

  /* A big buffer does not lift the limit. */
  char big[4 * SPENDING_SLUG_MAX];
  assert_int_equal(spending_slug(q, big, sizeof(big)), -1);
}

static void test_slug_buffer_too_small(void **state) {
  (void)state;
  char buf[8];
  assert_int_equal(spending_slug("abcdefg", buf, 8), 0); /* 7 + NUL fits */
  assert_string_equal(buf, "abcdefg");
  assert_int_equal(spending_slug("abcdefgh", buf, 8), -1);
  assert_int_equal(spending_slug("a b c d e", buf, 8), -1); /* 9 chars */
  assert_int_equal(spending_slug("a", buf, 1), -1);
  assert_int_equal(spending_slug("a", buf, 0), -1);
  assert_int_equal(spending_slug("a", buf, 2), 0);
  assert_string_equal(buf, "a");
}

/* ---- sums ---- */

static void test_sum(void **state) {
  (void)state;
  spending_record_t recs[3] = {
      {.date_from = 0, .date_till = 3599, .volume = 1899, .money = 7.495948},
      {.date_from = 3600, .date_till = 7199, .volume = 2217, .money = 7.861741},
      {.date_from = 7200, .date_till = 10799, .volume = 0, .money = 0},
  };
  spending_sum_t s = spending_sum(recs, 3);
  assert_double_equal(s.volume, 4116, 0);
  assert_double_equal(s.money, 15.357689, 1e-9);
  s = spending_sum(recs, 1);
  assert_double_equal(s.volume, 1899, 0);
  assert_double_equal(s.money, 7.495948, 1e-12);
  s = spending_sum(recs, 0);
  assert_double_equal(s.volume, 0, 0);
  assert_double_equal(s.money, 0, 0);
}

/* ---- new records ---- */

#define HOUR 3600
#define FIRST 1550533500LL /* the vendor's periods start at :45 */

static spending_record_t hour(int i) {
  return (spending_record_t){.date_from = FIRST + (int64_t)i * HOUR,
                             .date_till = FIRST + (int64_t)i * HOUR + HOUR - 1,
                             .volume = 100 + i,
                             .money = 0.5 * i};
}

static void shuffle(spending_record_t *recs, size_t n, unsigned seed) {
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)rand_r(&seed) % i;
    spending_record_t t = recs[i - 1];
    recs[i - 1] = recs[j];
    recs[j] = t;
  }
}

/* kept[k] must be hour(first + k) for k < n. */
static void assert_hours(const spending_record_t *kept, size_t n, int first) {
  for (size_t k = 0; k < n; k++) {
    spending_record_t want = hour(first + (int)k);
    assert_int_equal(kept[k].date_from, want.date_from);
    assert_int_equal(kept[k].date_till, want.date_till);
    assert_double_equal(kept[k].volume, want.volume, 0);
    assert_double_equal(kept[k].money, want.money, 0);
  }
}

static void test_new_records_sorted(void **state) {
  (void)state;
  for (unsigned seed = 1; seed <= 20; seed++) {
    spending_record_t recs[24];
    for (int i = 0; i < 24; i++)
      recs[i] = hour(i);
    shuffle(recs, 24, seed);
    size_t n = spending_new_records(recs, 24, 0, FIRST + 24 * HOUR);
    assert_int_equal(n, 24);
    assert_hours(recs, 24, 0);
  }
}

static void test_new_records_zero(void **state) {
  (void)state;
  spending_record_t none[1];
  assert_int_equal(spending_new_records(none, 0, 0, FIRST), 0);
}

/* An hour still running is left for the next poll. */
static void test_new_records_only_finished(void **state) {
  (void)state;
  spending_record_t recs[24];
  for (int i = 0; i < 24; i++)
    recs[i] = hour(i);
  shuffle(recs, 24, 7);
  /* now is in the middle of the last hour. */
  int64_t now = hour(23).date_from + 100;
  size_t n = spending_new_records(recs, 24, 0, now);
  assert_int_equal(n, 23);
  assert_hours(recs, 23, 0);

  /* dateTill == now is finished. */
  for (int i = 0; i < 24; i++)
    recs[i] = hour(i);
  n = spending_new_records(recs, 24, 0, hour(23).date_till);
  assert_int_equal(n, 24);

  /* Nothing finished yet. */
  for (int i = 0; i < 24; i++)
    recs[i] = hour(i);
  assert_int_equal(spending_new_records(recs, 24, 0, hour(0).date_till - 1), 0);
}

/* Only records ending after last_till. */
static void test_new_records_after_last_till(void **state) {
  (void)state;
  spending_record_t recs[24];
  for (int i = 0; i < 24; i++)
    recs[i] = hour(i);
  shuffle(recs, 24, 3);
  size_t n =
      spending_new_records(recs, 24, hour(9).date_till, FIRST + 24 * HOUR);
  assert_int_equal(n, 14);
  assert_hours(recs, 14, 10);

  /* last_till in the middle of an hour: that hour ends later, so it is new. */
  for (int i = 0; i < 24; i++)
    recs[i] = hour(i);
  n = spending_new_records(recs, 24, hour(9).date_till - 1, FIRST + 24 * HOUR);
  assert_int_equal(n, 15);
  assert_hours(recs, 15, 9);

  /* All already dispatched. */
  for (int i = 0; i < 24; i++)
    recs[i] = hour(i);
  assert_int_equal(
      spending_new_records(recs, 24, hour(23).date_till, FIRST + 48 * HOUR), 0);
}

/* Each kept record ends strictly after the one before. */
static void test_new_records_strictly_increasing(void **state) {
  (void)state;
  spending_record_t recs[5] = {
      {.date_from = 100, .date_till = 200, .volume = 1},
      {.date_from = 150, .date_till = 200, .volume = 2}, /* same end */
      {.date_from = 120, .date_till = 180, .volume = 3}, /* ends earlier */
      {.date_from = 300, .date_till = 400, .volume = 4},
      {.date_from = 50, .date_till = 99, .volume = 5},
  };
  size_t n = spending_new_records(recs, 5, 0, 1000);
  /* Sorted by dateFrom: 50/99, 100/200, 120/180 (not after 200), 150/200
   * (not after 200), 300/400. */
  assert_int_equal(n, 3);
  assert_int_equal(recs[0].date_from, 50);
  assert_int_equal(recs[1].date_from, 100);
  assert_int_equal(recs[2].date_from, 300);
  for (size_t k = 1; k < n; k++)
    assert_true(recs[k].date_till > recs[k - 1].date_till);
}

static void test_new_records_duplicates_dropped(void **state) {
  (void)state;
  spending_record_t recs[6];
  for (int i = 0; i < 3; i++) {
    recs[2 * i] = hour(i);
    recs[2 * i + 1] = hour(i);
  }
  shuffle(recs, 6, 11);
  size_t n = spending_new_records(recs, 6, 0, FIRST + 10 * HOUR);
  assert_int_equal(n, 3);
  assert_hours(recs, 3, 0);
}

/* The first poll back-fills the whole day; the next one, an hour later, adds
 * exactly the hour that finished in between. */
static void test_new_records_two_polls(void **state) {
  (void)state;
  spending_record_t recs[25];
  for (int i = 0; i < 24; i++)
    recs[i] = hour(i);
  shuffle(recs, 24, 5);
  int64_t now = hour(23).date_till + 60;
  size_t n = spending_new_records(recs, 24, 0, now);
  assert_int_equal(n, 24);
  assert_hours(recs, 24, 0);
  int64_t last_till = recs[n - 1].date_till;
  assert_int_equal(last_till, hour(23).date_till);

  /* An hour later the API slides its window: hours 1..24, hour 25 running. */
  for (int i = 0; i < 25; i++)
    recs[i] = hour(i + 1);
  shuffle(recs, 25, 9);
  now += HOUR;
  n = spending_new_records(recs, 25, last_till, now);
  assert_int_equal(n, 1);
  assert_hours(recs, 1, 24);

  /* Polling again at once finds nothing new. */
  for (int i = 0; i < 25; i++)
    recs[i] = hour(i + 1);
  assert_int_equal(spending_new_records(recs, 25, recs[23].date_till, now), 0);
}

/* ---- catch-up dates ---- */
#define H 3600
#define D (24 * H)
#define NOW (1700000000 - 1700000000 % H + 1800) /* half past an hour */

static void test_catch_up_none_without_history(void **state) {
  (void)state;
  assert_int_equal(spending_catch_up_date(0, 0, NOW, 7), 0);
}

static void test_catch_up_none_within_24h(void **state) {
  (void)state;
  int64_t hour = NOW - NOW % H;
  /* The plain answer holds the 24 hours before this one. */
  assert_int_equal(spending_catch_up_date(hour - 1, 0, NOW, 7), 0);
  assert_int_equal(spending_catch_up_date(hour - D - 1, 0, NOW, 7), 0);
  /* A gap of one hour more needs one page, from the missing hour. */
  assert_int_equal(spending_catch_up_date(hour - D - H - 1, 0, NOW, 7),
                   hour - D - H);
}

static void test_catch_up_pages_oldest_first(void **state) {
  (void)state;
  int64_t hour = NOW - NOW % H;
  int64_t last = hour - 3 * D - 1; /* three days down */
  assert_int_equal(spending_catch_up_date(last, 0, NOW, 7), hour - 3 * D);
  /* The first page ends 24 h later: the next starts there. */
  assert_int_equal(
      spending_catch_up_date(hour - 2 * D - 1, hour - 3 * D, NOW, 7),
      hour - 2 * D);
  /* The plain answer covers the rest. */
  assert_int_equal(spending_catch_up_date(hour - D - 1, hour - 2 * D, NOW, 7),
                   0);
}

/* A page with nothing new still moves the cursor on: no request twice. */
static void test_catch_up_empty_page_moves_on(void **state) {
  (void)state;
  int64_t hour = NOW - NOW % H;
  int64_t last = hour - 5 * D - 1;
  assert_int_equal(spending_catch_up_date(last, 0, NOW, 7), hour - 5 * D);
  /* Its page was empty: last unchanged, the cursor at that page. */
  assert_int_equal(spending_catch_up_date(last, hour - 5 * D, NOW, 7),
                   hour - 4 * D);
  assert_int_equal(spending_catch_up_date(last, hour - 4 * D, NOW, 7),
                   hour - 3 * D);
}

static void test_catch_up_bounded_by_days(void **state) {
  (void)state;
  int64_t hour = NOW - NOW % H;
  assert_int_equal(spending_catch_up_date(hour - 30 * D, 0, NOW, 7),
                   hour - 7 * D);
  assert_int_equal(spending_catch_up_date(hour - 30 * D, 0, NOW, 1), 0);
  assert_int_equal(spending_catch_up_date(hour - 30 * D, 0, NOW, 0), 0);
  /* Vendor periods not on the clock hour: from the hour holding the next. */
  assert_int_equal(
      spending_catch_up_date(hour - 2 * D - H - 900 - 1, 0, NOW, 7),
      hour - 2 * D - H - H);
}

/* What a gap longer than CatchUpDays leaves out, to be said in the log. */
static void test_left_out(void **state) {
  (void)state;
  int64_t hour = NOW - NOW % H, from = 0, till = 0;
  assert_true(spending_left_out(hour - 10 * D - 1, NOW, 7, &from, &till));
  assert_int_equal(from, hour - 10 * D);
  assert_int_equal(till, hour - 7 * D);
  /* Within CatchUpDays, or nothing known: nothing left out. */
  assert_false(spending_left_out(hour - 7 * D - 1, NOW, 7, &from, &till));
  assert_false(spending_left_out(hour - 1, NOW, 7, &from, &till));
  assert_false(spending_left_out(0, NOW, 7, &from, &till));
  /* CatchUpDays 0: what the plain answer's 24 hours do not hold. */
  assert_true(spending_left_out(hour - 2 * D - 1, NOW, 0, &from, &till));
  assert_int_equal(from, hour - 2 * D);
  assert_int_equal(till, hour - D);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_slug_basic),
      cmocka_unit_test(test_slug_null_is_all),
      cmocka_unit_test(test_slug_runs),
      cmocka_unit_test(test_slug_leading_trailing_runs),
      cmocka_unit_test(test_slug_utf8),
      cmocka_unit_test(test_slug_empty_refused),
      cmocka_unit_test(test_slug_length_limit),
      cmocka_unit_test(test_slug_buffer_too_small),
      cmocka_unit_test(test_sum),
      cmocka_unit_test(test_new_records_sorted),
      cmocka_unit_test(test_new_records_zero),
      cmocka_unit_test(test_new_records_only_finished),
      cmocka_unit_test(test_new_records_after_last_till),
      cmocka_unit_test(test_new_records_strictly_increasing),
      cmocka_unit_test(test_new_records_duplicates_dropped),
      cmocka_unit_test(test_new_records_two_polls),
      cmocka_unit_test(test_catch_up_none_without_history),
      cmocka_unit_test(test_catch_up_none_within_24h),
      cmocka_unit_test(test_catch_up_pages_oldest_first),
      cmocka_unit_test(test_catch_up_empty_page_moves_on),
      cmocka_unit_test(test_catch_up_bounded_by_days),
      cmocka_unit_test(test_left_out),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

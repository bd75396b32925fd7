/* Unit tests for plugin/hub_pair.c: ownership, the hold and its window
 * bound, confirmations, the peer's liveness and the pair's messages. */
#include "pair/hub_pair.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define T0 TIME_T_TO_CDTIME_T(1700000000)
#define SEC(s) TIME_T_TO_CDTIME_T(s)
#define MS(ms) MS_TO_CDTIME_T(ms)

static const pair_params_t PARAMS = {.self = 0,
                                     .hold_back = SEC(5),
                                     .peer_timeout = SEC(3),
                                     .window = SEC(60),
                                     .margin = SEC(1),
                                     .max_held = 100};

/* The owner of a numeric task id. */
static unsigned owner_of(const char *account, uint64_t task) {
  return pair_owner(account, TASK_ID_NUMBER(task));
}

/* A task id of the given owner for account "main". */
static uint64_t task_of(unsigned owner, uint64_t from) {
  while (owner_of("main", from) != owner)
    from++;
  return from;
}

static report_request_t request(uint64_t task, cdtime_t completed) {
  return (report_request_t){
      .account = 0, .task_id = TASK_ID_NUMBER(task), .completed = completed};
}

/* A pair at T0 that has heard a "paired" heartbeat. */
static void paired(hub_pair_t *hp, const pair_params_t *p) {
  assert_int_equal(pair_init(hp, p, 1, T0), 0);
  pair_heard(hp, true, T0);
  assert_true(pair_paired(hp, T0));
}

static void test_owner_is_balanced(void **state) {
  (void)state;
  unsigned ones = 0;
  for (uint64_t t = 1; t <= 10000; t++) {
    unsigned o = owner_of("main", t);
    assert_true(o <= 1);
    ones += o;
  }
  assert_in_range(ones, 4700, 5300);
  /* The account takes part: some task ids change owner with it. */
  unsigned differ = 0;
  for (uint64_t t = 1; t <= 100; t++)
    differ += owner_of("main", t) != owner_of("other", t);
  assert_true(differ > 20);
  assert_int_equal(pair_self_index("hub-a", "hub-b"), 0);
  assert_int_equal(pair_self_index("hub-b", "hub-a"), 1);
  assert_int_equal(pair_self_index("hub-a", "hub-a"), -1);
}

/* Both hubs, whatever their build or version, must agree: owners computed
 * once from the definition in hub_pair.c (FNV-1a over the name's bytes, the
 * id's low 8 bytes little end first and a UUID's high 8 bytes, then bit 63
 * of h * 0x9E3779B97F4A7C15) by a separate script, and written here. A
 * changed hash fails; a number's owner is what it was before UUIDs. */
static void test_owner_fixed_values(void **state) {
  (void)state;
  /* Bit t-1: the owner of task t, for t = 1..64. */
  const uint64_t main_1_64 = 0xb6edecdb49121224ULL;
  const uint64_t other_1_64 = 0xf4cbcbbf0b343440ULL;
  for (uint64_t t = 1; t <= 64; t++) {
    assert_int_equal(owner_of("main", t), (main_1_64 >> (t - 1)) & 1);
    assert_int_equal(owner_of("other", t), (other_1_64 >> (t - 1)) & 1);
  }
  static const struct {
    const char *account, *task;
    unsigned owner;
  } known[] = {
      {"main", "1000000007", 0},
      {"main", "1000000009", 1},
      {"main", "123456789012", 1},
      {"main", "9223372036854775807", 1},
      {"B\xc3\xbcro", "1000000007", 1}, /* "Büro" in UTF-8 */
      {"B\xc3\xbcro", "1000000009", 0},
      {"B\xc3\xbcro", "9223372036854775807", 0},
      {"main", "f47ac10b-58cc-4372-a567-0e02b2c3d479", 1},
      {"other", "f47ac10b-58cc-4372-a567-0e02b2c3d479", 0},
      {"main", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", 1},
      {"other", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", 0},
      {"main", "123e4567-e89b-12d3-a456-426614174000", 0},
      {"main", "3b241101-e2bb-4255-8caf-4136c566a962", 1},
  };
  for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
    task_id_t id;
    assert_int_equal(task_id_parse(known[i].task, &id), 0);
    if (pair_owner(known[i].account, id) != known[i].owner)
      fail_msg("owner of %s for \"%s\": want %u", known[i].task,
               known[i].account, known[i].owner);
  }
}

static void test_paired_own_share_goes_peer_share_held(void **state) {
  (void)state;
  hub_pair_t hp;
  paired(&hp, &PARAMS);
  report_request_t own = request(task_of(0, 1000), T0);
  report_request_t peers = request(task_of(1, 1000), T0);
  assert_int_equal(pair_route(&hp, &own, "main", T0), PAIR_SEND);
  assert_false(own.takeover);
  assert_int_equal(pair_route(&hp, &peers, "main", T0), PAIR_HELD);

  report_request_t out;
  /* Heartbeats keep the peer up while the hold runs. */
  pair_heard(&hp, true, T0 + SEC(2));
  assert_false(pair_next(&hp, T0 + SEC(4), &out));
  pair_heard(&hp, true, T0 + SEC(4));
  assert_true(pair_next(&hp, T0 + SEC(5), &out));
  assert_true(task_id_equal(out.task_id, peers.task_id));
  assert_true(out.takeover);
  assert_int_equal(hp.counters[0].taken_over, 1);
  assert_false(pair_next(&hp, T0 + SEC(5), &out));
  pair_destroy(&hp);
}

static void test_confirmed_peer_share_is_not_sent(void **state) {
  (void)state;
  hub_pair_t hp;
  paired(&hp, &PARAMS);
  report_request_t a = request(task_of(1, 2000), T0);
  report_request_t b = request(task_of(1, a.task_id.lo + 1), T0);
  assert_int_equal(pair_route(&hp, &a, "main", T0), PAIR_HELD);
  assert_int_equal(pair_route(&hp, &b, "main", T0), PAIR_HELD);
  pair_confirm(&hp, 0, a.task_id, T0 + MS(50));
  /* Another account's confirmation of the same id does not count. */
  pair_confirm(&hp, 1, b.task_id, T0 + MS(50));
  pair_heard(&hp, true, T0 + SEC(4));

  report_request_t out;
  assert_true(pair_next(&hp, T0 + SEC(5), &out));
  assert_true(task_id_equal(out.task_id, b.task_id));
  assert_false(pair_next(&hp, T0 + SEC(5), &out));
  assert_int_equal(hp.counters[0].peer_reported, 1);
  assert_int_equal(hp.counters[0].taken_over, 1);
  pair_destroy(&hp);
}

/* A confirmation that arrives before this hub's copy of the request. */
static void test_confirmation_before_request(void **state) {
  (void)state;
  hub_pair_t hp;
  paired(&hp, &PARAMS);
  report_request_t a = request(task_of(1, 3000), T0);
  pair_confirm(&hp, 0, a.task_id, T0);
  assert_int_equal(pair_route(&hp, &a, "main", T0 + MS(10)), PAIR_HELD);
  report_request_t out;
  pair_heard(&hp, true, T0 + SEC(4));
  assert_false(pair_next(&hp, T0 + SEC(6), &out));
  assert_int_equal(hp.counters[0].peer_reported, 1);
  pair_destroy(&hp);
}

static void test_peer_down_sends_everything_at_once(void **state) {
  (void)state;
  hub_pair_t hp;
  paired(&hp, &PARAMS);
  report_request_t held = request(task_of(1, 4000), T0);
  assert_int_equal(pair_route(&hp, &held, "main", T0 + SEC(1)), PAIR_HELD);
  /* Three seconds of silence: the peer is down. */
  assert_true(pair_peer_up(&hp, T0 + SEC(3) - 1));
  assert_false(pair_peer_up(&hp, T0 + SEC(3)));
  report_request_t out;
  assert_true(pair_next(&hp, T0 + SEC(3), &out)); /* before its hold ends */
  assert_true(task_id_equal(out.task_id, held.task_id));
  assert_true(out.takeover);

  report_request_t peers = request(task_of(1, 5000), T0 + SEC(3));
  report_request_t own = request(task_of(0, 5000), T0 + SEC(3));
  assert_int_equal(pair_route(&hp, &peers, "main", T0 + SEC(3)), PAIR_SEND);
  assert_true(peers.takeover);
  assert_int_equal(hp.counters[0].taken_over, 2);
  assert_int_equal(pair_route(&hp, &own, "main", T0 + SEC(3)), PAIR_SEND);
  assert_false(own.takeover);
  assert_int_equal(hp.counters[0].taken_over, 2);
  pair_destroy(&hp);
}

/* The heartbeat handshake, word by word. */
static void test_heartbeat_words(void **state) {
  (void)state;
  hub_pair_t hp;
  assert_int_equal(pair_init(&hp, &PARAMS, 1, T0), 0);
  /* Started: the peer is assumed up, its share held. */
  assert_string_equal(pair_heartbeat_word(&hp, T0), "holding");
  /* It holds ours but does not know we hold its: answer. */
  assert_true(pair_heartbeat(&hp, "holding", T0 + MS(10)));
  assert_true(pair_paired(&hp, T0 + MS(10)));
  assert_string_equal(pair_heartbeat_word(&hp, T0 + MS(10)), "paired");
  /* Both know: nothing to answer. */
  assert_false(pair_heartbeat(&hp, "paired", T0 + MS(20)));
  /* The peer restarted within peer_timeout: it says "holding" again. */
  assert_true(pair_heartbeat(&hp, "holding", T0 + SEC(1)));
  assert_true(pair_paired(&hp, T0 + SEC(1)));
  /* It stopped hearing us: it sends our share, so we hold our own. */
  assert_true(pair_heartbeat(&hp, "alone", T0 + SEC(2)));
  assert_false(pair_paired(&hp, T0 + SEC(2)));
  report_request_t own = request(task_of(0, 40000), T0 + SEC(2));
  assert_int_equal(pair_route(&hp, &own, "main", T0 + SEC(2)), PAIR_HELD);
  /* An unknown word counts as "alone". */
  assert_true(pair_heartbeat(&hp, "paired", T0 + SEC(3)));
  assert_true(pair_heartbeat(&hp, "bogus", T0 + SEC(3)));
  assert_false(pair_paired(&hp, T0 + SEC(3)));
  /* Silence: alone. */
  assert_string_equal(pair_heartbeat_word(&hp, T0 + SEC(6)), "alone");
  /* "down": gone at once, nothing to answer. */
  assert_true(pair_heartbeat(&hp, "paired", T0 + SEC(7)));
  assert_false(pair_heartbeat(&hp, "down", T0 + SEC(7)));
  assert_false(pair_peer_up(&hp, T0 + SEC(7)));
  assert_string_equal(pair_heartbeat_word(&hp, T0 + SEC(7)), "alone");
  pair_destroy(&hp);
}

/* A peer that says it is stopping is down at once. */
static void test_peer_gone(void **state) {
  (void)state;
  hub_pair_t hp;
  paired(&hp, &PARAMS);
  report_request_t held = request(task_of(1, 30000), T0);
  assert_int_equal(pair_route(&hp, &held, "main", T0), PAIR_HELD);
  pair_gone(&hp);
  assert_false(pair_peer_up(&hp, T0 + MS(1)));
  report_request_t out;
  assert_true(pair_next(&hp, T0 + MS(1), &out));
  assert_true(out.takeover);
  /* Back: a change to answer, and not yet paired. */
  assert_true(pair_heard(&hp, false, T0 + SEC(1)));
  assert_false(pair_paired(&hp, T0 + SEC(1)));
  pair_destroy(&hp);
}

/* A hub that has just started, or whose peer was down, holds its own share
 * for half the hold until the peer says it holds ours ("paired"). */
static void test_handshake(void **state) {
  (void)state;
  hub_pair_t hp;
  assert_int_equal(pair_init(&hp, &PARAMS, 1, T0), 0);
  assert_true(pair_peer_up(&hp, T0)); /* assumed up at start */
  assert_false(pair_paired(&hp, T0));
  report_request_t own = request(task_of(0, 6000), T0);
  assert_int_equal(pair_route(&hp, &own, "main", T0), PAIR_HELD);

  /* The peer answers "up": it still reports everything. */
  assert_true(pair_heard(&hp, false, T0 + MS(100)) == false);
  /* Its confirmation of our task arrives; then it says "paired". */
  pair_confirm(&hp, 0, own.task_id, T0 + MS(200));
  assert_true(pair_heard(&hp, true, T0 + MS(300)));
  assert_false(pair_heard(&hp, true, T0 + MS(400))); /* no change */
  report_request_t out;
  assert_false(pair_next(&hp, T0 + MS(2400), &out));
  assert_false(pair_next(&hp, T0 + MS(2500), &out)); /* confirmed: dropped */
  assert_int_equal(hp.counters[0].peer_reported, 1);

  report_request_t next = request(task_of(0, own.task_id.lo + 1), T0 + SEC(1));
  assert_int_equal(pair_route(&hp, &next, "main", T0 + SEC(1)), PAIR_SEND);

  /* Silence, then the peer is back: that is a change to answer. */
  assert_true(pair_heard(&hp, false, T0 + SEC(10)));
  assert_false(pair_paired(&hp, T0 + SEC(10)));
  pair_destroy(&hp);
}

/* Unconfirmed own share held during the handshake goes at half the hold. */
static void test_own_share_released_at_half_hold(void **state) {
  (void)state;
  hub_pair_t hp;
  assert_int_equal(pair_init(&hp, &PARAMS, 1, T0), 0);
  report_request_t own = request(task_of(0, 7000), T0);
  assert_int_equal(pair_route(&hp, &own, "main", T0), PAIR_HELD);
  pair_heard(&hp, false, T0 + SEC(2));
  report_request_t out;
  assert_false(pair_next(&hp, T0 + MS(2499), &out));
  assert_true(pair_next(&hp, T0 + MS(2500), &out));
  assert_false(out.takeover);
  assert_int_equal(hp.counters[0].taken_over, 0);
  pair_destroy(&hp);
}

/* Never later than Window - margin after the task, whatever the hold. */
static void test_hold_ends_before_window(void **state) {
  (void)state;
  hub_pair_t hp;
  paired(&hp, &PARAMS);
  /* Completed 57 s ago: 2 s left before the margin. */
  report_request_t late = request(task_of(1, 8000), T0 - SEC(57));
  assert_int_equal(pair_route(&hp, &late, "main", T0), PAIR_HELD);
  report_request_t out;
  assert_false(pair_next(&hp, T0 + SEC(2) - 1, &out));
  assert_true(pair_next(&hp, T0 + SEC(2), &out));
  /* With no time left to hold, it goes at once. */
  report_request_t later = request(task_of(1, 9000), T0 - SEC(59));
  assert_int_equal(pair_route(&hp, &later, "main", T0), PAIR_SEND);
  assert_true(later.takeover);
  pair_destroy(&hp);
}

/* Released in order of release time, not of arrival. */
static void test_release_order(void **state) {
  (void)state;
  hub_pair_t hp;
  paired(&hp, &PARAMS);
  uint64_t t = 10000;
  uint64_t ids[20];
  for (int i = 0; i < 20; i++) {
    t = task_of(1, t + 1);
    ids[i] = t;
    /* Older tasks (completed earlier) are bounded by the window sooner. */
    report_request_t r = request(t, T0 - SEC(i % 2 == 0 ? 0 : 57));
    assert_int_equal(pair_route(&hp, &r, "main", T0 + MS(i)), PAIR_HELD);
  }
  pair_heard(&hp, true, T0 + SEC(4));
  cdtime_t last = 0;
  report_request_t out;
  int n = 0;
  for (cdtime_t now = T0; now <= T0 + SEC(6); now += MS(100))
    while (pair_next(&hp, now, &out)) {
      cdtime_t bound = out.completed + SEC(59);
      assert_true(now <= bound + MS(100));
      assert_true(now >= last);
      last = now;
      n++;
    }
  assert_int_equal(n, 20);
  (void)ids;
  pair_destroy(&hp);
}

static void test_hold_full_sends_at_once(void **state) {
  (void)state;
  pair_params_t p = PARAMS;
  p.max_held = 2;
  hub_pair_t hp;
  paired(&hp, &p);
  uint64_t t = 20000;
  for (int i = 0; i < 2; i++) {
    report_request_t r = request(t = task_of(1, t + 1), T0);
    assert_int_equal(pair_route(&hp, &r, "main", T0), PAIR_HELD);
  }
  report_request_t r = request(task_of(1, t + 1), T0);
  assert_int_equal(pair_route(&hp, &r, "main", T0), PAIR_SEND);
  pair_destroy(&hp);
}

static void test_message_kind(void **state) {
  (void)state;
  notification_t n = {.severity = NOTIF_OKAY};
  strcpy(n.plugin, "anticaptcha");
  strcpy(n.type, "reported");
  assert_int_equal(pair_message_kind(&n), PAIR_MSG_REPORTED);
  strcpy(n.type, "pair");
  assert_int_equal(pair_message_kind(&n), PAIR_MSG_HEARTBEAT);
  strcpy(n.type, "recaptcha");
  assert_int_equal(pair_message_kind(&n), PAIR_MSG_NONE);
  strcpy(n.type, "reported");
  strcpy(n.plugin, "exec");
  assert_int_equal(pair_message_kind(&n), PAIR_MSG_NONE);
}

static void test_ids_round_trip_and_fit(void **state) {
  (void)state;
  task_id_t ids[40], back[40];
  char text[NOTIF_MAX_MSG_LEN];
  for (int i = 0; i < 40; i++)
    ids[i] = TASK_ID_NUMBER((uint64_t)INT64_MAX - (uint64_t)i);
  size_t n = pair_format_ids(ids, 40, text, sizeof(text));
  /* 19 digits and a blank each: 12 fit in 255 characters. */
  assert_int_equal(n, 12);
  assert_true(strlen(text) < sizeof(text));
  assert_int_equal(pair_parse_ids(text, back, 40), 12);
  assert_memory_equal(ids, back, 12 * sizeof(*ids));

  task_id_t small[3] = {TASK_ID_NUMBER(1), TASK_ID_NUMBER(22),
                        TASK_ID_NUMBER(333)};
  assert_int_equal(pair_format_ids(small, 3, text, sizeof(text)), 3);
  assert_string_equal(text, "1 22 333");
  assert_int_equal(pair_format_ids(small, 3, text, 5), 2);
  assert_string_equal(text, "1 22");
  assert_int_equal(pair_format_ids(small, 3, text, 1), 0);
  assert_string_equal(text, "");
}

/* CapSolver's UUIDs cross in the same messages: 6 fit. */
static void test_uuid_ids_round_trip(void **state) {
  (void)state;
  task_id_t ids[8], back[8];
  char text[NOTIF_MAX_MSG_LEN];
  for (int i = 0; i < 8; i++)
    ids[i] = (task_id_t){.hi = 0x4f0bc8a19e3d4c62ULL + (uint64_t)i,
                         .lo = 0x8b1a2d7e5f609a3cULL};
  size_t n = pair_format_ids(ids, 8, text, sizeof(text));
  assert_int_equal(n, 6);
  assert_int_equal(pair_parse_ids(text, back, 8), 6);
  assert_memory_equal(ids, back, 6 * sizeof(*ids));
  assert_int_equal(
      pair_parse_ids("4f0bc8a1-9e3d-4c62-8b1a-2d7e5f609a3c 17", back, 8), 2);
  assert_true(task_id_is_uuid(back[0]) &&
              task_id_equal(back[1], TASK_ID_NUMBER(17)));
  assert_int_equal(
      pair_parse_ids("4f0bc8a1-9e3d-4c62-8b1a-2d7e5f609a3", back, 8), -1);
}

static void test_parse_rejects_garbage(void **state) {
  (void)state;
  task_id_t ids[4];
  assert_int_equal(pair_parse_ids("", ids, 4), 0);
  assert_int_equal(pair_parse_ids("12 x", ids, 4), -1);
  assert_int_equal(pair_parse_ids("12  13", ids, 4), -1);
  assert_int_equal(pair_parse_ids("12 ", ids, 4), -1);
  assert_int_equal(pair_parse_ids(" 12", ids, 4), -1);
  assert_int_equal(pair_parse_ids("0", ids, 4), -1);
  assert_int_equal(pair_parse_ids("-5", ids, 4), -1);
  assert_int_equal(pair_parse_ids("99999999999999999999", ids, 4), -1);
  assert_int_equal(pair_parse_ids("1 2 3 4 5", ids, 4), -1);
  assert_int_equal(pair_parse_ids("1 2 3 4", ids, 4), 4);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_owner_is_balanced),
      cmocka_unit_test(test_owner_fixed_values),
      cmocka_unit_test(test_paired_own_share_goes_peer_share_held),
      cmocka_unit_test(test_confirmed_peer_share_is_not_sent),
      cmocka_unit_test(test_confirmation_before_request),
      cmocka_unit_test(test_peer_down_sends_everything_at_once),
      cmocka_unit_test(test_handshake),
      cmocka_unit_test(test_peer_gone),
      cmocka_unit_test(test_heartbeat_words),
      cmocka_unit_test(test_own_share_released_at_half_hold),
      cmocka_unit_test(test_hold_ends_before_window),
      cmocka_unit_test(test_release_order),
      cmocka_unit_test(test_hold_full_sends_at_once),
      cmocka_unit_test(test_message_kind),
      cmocka_unit_test(test_ids_round_trip_and_fit),
      cmocka_unit_test(test_uuid_ids_round_trip),
      cmocka_unit_test(test_parse_rejects_garbage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

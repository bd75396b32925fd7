/* Unit tests for plugin/pair/pair_auth.c: the signed message's text, the
 * bytes its MAC covers, and the replay window. */
#include "pair/pair_auth.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define T0 TIME_T_TO_CDTIME_T(1700000000)
#define SEC(s) TIME_T_TO_CDTIME_T(s)
#define TAG "0123456789abcdef0123456789abcdef"

static notification_t heartbeat(void) {
  notification_t n = {.severity = NOTIF_OKAY, .time = T0};
  strcpy(n.host, "hub-a");
  strcpy(n.plugin, "anticaptcha");
  strcpy(n.type, "pair");
  strcpy(n.type_instance, "paired");
  return n;
}

static void test_mac_input_layout(void **state) {
  (void)state;
  notification_t n = heartbeat();
  unsigned char buf[PAIR_MAC_INPUT_MAX];
  size_t len = pair_mac_input(&n, "up", buf);
  size_t label = sizeof(PAIR_MAC_LABEL);
  assert_memory_equal(buf, PAIR_MAC_LABEL, label);
  /* Time and severity, big-endian. */
  const unsigned char when[8] = {0x19, 0x54, 0xfc, 0x40, 0, 0, 0, 0};
  assert_memory_equal(buf + label, when, 8);
  assert_memory_equal(buf + label + 8, "\0\0\0\4", 4);
  const unsigned char fields[] = "\0\5hub-a\0\13anticaptcha\0\0\0\4pair"
                                 "\0\6paired\0\2up";
  assert_int_equal(len, label + 12 + sizeof(fields) - 1);
  assert_memory_equal(buf + label + 12, fields, sizeof(fields) - 1);
}

/* Moving a character from one field to the next changes the bytes: the
 * lengths keep the fields apart. */
static void test_mac_input_is_unambiguous(void **state) {
  (void)state;
  notification_t a = heartbeat(), b = heartbeat();
  strcpy(b.type, "pai");
  strcpy(b.type_instance, "rpaired");
  unsigned char ba[PAIR_MAC_INPUT_MAX], bb[PAIR_MAC_INPUT_MAX];
  size_t la = pair_mac_input(&a, "up", ba), lb = pair_mac_input(&b, "up", bb);
  assert_int_equal(la, lb);
  assert_memory_not_equal(ba, bb, la);
  /* Every field and the payload count. */
  notification_t c = heartbeat();
  c.time++;
  assert_memory_not_equal(ba, bb, pair_mac_input(&c, "up", bb));
  c = heartbeat();
  c.severity = NOTIF_FAILURE;
  assert_memory_not_equal(ba, bb, pair_mac_input(&c, "up", bb));
  c = heartbeat();
  strcpy(c.plugin_instance, "main");
  assert_int_not_equal(pair_mac_input(&c, "up", bb), la);
  assert_memory_not_equal(ba, bb, pair_mac_input(&a, "uq", bb));
}

/* The longest fields fit the buffer. */
static void test_mac_input_longest(void **state) {
  (void)state;
  notification_t n = {.time = UINT64_MAX, .severity = NOTIF_OKAY};
  char *f[] = {n.host, n.plugin, n.plugin_instance, n.type, n.type_instance};
  for (size_t i = 0; i < 5; i++) {
    memset(f[i], 'x', DATA_MAX_NAME_LEN - 1);
    f[i][DATA_MAX_NAME_LEN - 1] = 0;
  }
  char payload[NOTIF_MAX_MSG_LEN];
  memset(payload, 'y', sizeof(payload) - 1);
  payload[sizeof(payload) - 1] = 0;
  unsigned char buf[PAIR_MAC_INPUT_MAX];
  assert_true(pair_mac_input(&n, payload, buf) <= PAIR_MAC_INPUT_MAX);
}

static void test_join_and_split(void **state) {
  (void)state;
  char message[NOTIF_MAX_MSG_LEN];
  assert_int_equal(pair_join_message(message, TAG, "7001 7003"), 0);
  assert_string_equal(message, TAG " 7001 7003");
  const char *payload = pair_split_message(message);
  assert_non_null(payload);
  assert_string_equal(payload, "7001 7003");
  /* An empty payload is a payload. */
  assert_int_equal(pair_join_message(message, TAG, ""), 0);
  assert_string_equal(pair_split_message(message), "");
  /* The longest payload fits, one more character does not. */
  char payload_max[PAIR_PAYLOAD_MAX + 2];
  memset(payload_max, '1', PAIR_PAYLOAD_MAX);
  payload_max[PAIR_PAYLOAD_MAX] = 0;
  assert_int_equal(pair_join_message(message, TAG, payload_max), 0);
  assert_int_equal(strlen(message), NOTIF_MAX_MSG_LEN - 1);
  payload_max[PAIR_PAYLOAD_MAX] = '1';
  payload_max[PAIR_PAYLOAD_MAX + 1] = 0;
  assert_int_equal(pair_join_message(message, TAG, payload_max), -1);
}

static void test_split_refuses_what_is_not_signed(void **state) {
  (void)state;
  const char *bad[] = {
      "",
      "7001 7003",                           /* a 0.3.1 confirmation */
      "hub pair: holding the peer's share",  /* a 0.3.1 heartbeat */
      "0123456789abcdef0123456789abcde 1",   /* 31 digits */
      "0123456789ABCDEF0123456789abcdef 1",  /* upper case */
      "0123456789abcdef0123456789abcdefa 1", /* 33 digits */
      "0123456789abcdef0123456789abcdef",    /* no blank */
      "0123456789abcdef0123456789abcdef\t1",
      "0123456789abcdeg0123456789abcdef 1",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_null(pair_split_message(bad[i]));
}

static void test_tag_hex(void **state) {
  (void)state;
  unsigned char mac[32];
  for (size_t i = 0; i < sizeof(mac); i++)
    mac[i] = (unsigned char)(i * 17);
  char hex[PAIR_TAG_HEX + 1];
  pair_tag_hex(mac, hex);
  assert_string_equal(hex, "00112233445566778899aabbccddeeff");
}

static void test_send_time_always_moves_on(void **state) {
  (void)state;
  cdtime_t last = 0;
  assert_int_equal(pair_send_time(&last, T0), T0);
  assert_int_equal(pair_send_time(&last, T0), T0 + 1);     /* same instant */
  assert_int_equal(pair_send_time(&last, T0 - 5), T0 + 2); /* clock back */
  assert_int_equal(pair_send_time(&last, T0 + SEC(1)), T0 + SEC(1));
}

static void test_replay_takes_each_time_once(void **state) {
  (void)state;
  pair_replay_t r;
  pair_replay_init(&r);
  cdtime_t skew = SEC(10);
  assert_int_equal(pair_replay_check(&r, T0 + 1, T0 + 2, skew), PAIR_FRESH);
  assert_int_equal(pair_replay_check(&r, T0 + 1, T0 + 3, skew), PAIR_REPLAYED);
  /* Out of order: a later message first, then the earlier one, once. */
  assert_int_equal(pair_replay_check(&r, T0 + 9, T0 + 9, skew), PAIR_FRESH);
  assert_int_equal(pair_replay_check(&r, T0 + 5, T0 + 9, skew), PAIR_FRESH);
  assert_int_equal(pair_replay_check(&r, T0 + 5, T0 + 9, skew), PAIR_REPLAYED);
  assert_int_equal(pair_replay_check(&r, T0 + 9, T0 + 9, skew), PAIR_REPLAYED);
}

/* Nothing is known at the start: a message in flight then is taken, as
 * long as its time is near this hub's clock. */
static void test_replay_takes_what_was_in_flight(void **state) {
  (void)state;
  pair_replay_t r;
  pair_replay_init(&r);
  assert_int_equal(pair_replay_check(&r, T0 - SEC(1), T0, SEC(10)), PAIR_FRESH);
  assert_int_equal(pair_replay_check(&r, T0 - SEC(1), T0, SEC(10)),
                   PAIR_REPLAYED);
  assert_int_equal(r.count, 1);
}

static void test_replay_clock_bounds(void **state) {
  (void)state;
  pair_replay_t r;
  pair_replay_init(&r);
  cdtime_t now = T0, skew = SEC(10);
  assert_int_equal(pair_replay_check(&r, now - skew - 1, now, skew),
                   PAIR_OFF_CLOCK);
  assert_int_equal(pair_replay_check(&r, now + skew + 1, now, skew),
                   PAIR_OFF_CLOCK);
  assert_int_equal(pair_replay_check(&r, UINT64_MAX, now, skew),
                   PAIR_OFF_CLOCK);
  assert_int_equal(pair_replay_check(&r, 1, now, skew), PAIR_OFF_CLOCK);
  assert_int_equal(r.count, 0); /* nothing was taken */
  assert_int_equal(pair_replay_check(&r, now - skew, now, skew), PAIR_FRESH);
  assert_int_equal(pair_replay_check(&r, now + skew, now, skew), PAIR_FRESH);
}

/* Past PAIR_RECENT messages the oldest times are forgotten, and the floor
 * rises with them: a forgotten time is never taken again. */
static void test_replay_forgets_by_raising_the_floor(void **state) {
  (void)state;
  pair_replay_t r;
  pair_replay_init(&r);
  cdtime_t now = T0 + SEC(1), skew = SEC(10);
  for (cdtime_t t = 1; t <= 3 * PAIR_RECENT; t++)
    assert_int_equal(pair_replay_check(&r, T0 + t, now, skew), PAIR_FRESH);
  assert_int_equal(r.count, PAIR_RECENT);
  for (cdtime_t t = 1; t <= 3 * PAIR_RECENT; t++)
    assert_int_equal(pair_replay_check(&r, T0 + t, now, skew), PAIR_REPLAYED);
  assert_int_equal(r.floor, T0 + 2 * PAIR_RECENT);
  /* Late, but not later than the last PAIR_RECENT: still taken once. */
  pair_replay_init(&r);
  for (cdtime_t t = 2; t <= 2 * PAIR_RECENT; t += 2)
    pair_replay_check(&r, T0 + t, now, skew);
  assert_int_equal(pair_replay_check(&r, T0 + 2 * PAIR_RECENT - 1, now, skew),
                   PAIR_FRESH);
  /* Older than every time kept in a full window: refused. */
  assert_int_equal(pair_replay_check(&r, T0 + 1, now, skew), PAIR_REPLAYED);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mac_input_layout),
      cmocka_unit_test(test_mac_input_is_unambiguous),
      cmocka_unit_test(test_mac_input_longest),
      cmocka_unit_test(test_join_and_split),
      cmocka_unit_test(test_split_refuses_what_is_not_signed),
      cmocka_unit_test(test_tag_hex),
      cmocka_unit_test(test_send_time_always_moves_on),
      cmocka_unit_test(test_replay_takes_each_time_once),
      cmocka_unit_test(test_replay_takes_what_was_in_flight),
      cmocka_unit_test(test_replay_clock_bounds),
      cmocka_unit_test(test_replay_forgets_by_raising_the_floor),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

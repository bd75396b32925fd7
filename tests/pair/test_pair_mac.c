/* Unit tests for plugin/pair/pair_mac.c: HMAC-SHA256 as RFC 4231 gives it,
 * and signed pair messages that verify only unchanged, under their key. */
#include "pair/pair_mac.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define T0 TIME_T_TO_CDTIME_T(1700000000)
#define KEY "0123456789abcdef0123456789abcdef-pair"

static void hex(const unsigned char *b, size_t n, char *out) {
  for (size_t i = 0; i < n; i++)
    sprintf(out + 2 * i, "%02x", b[i]);
}

/* RFC 4231, test cases 2 (a short key) and 6 (a key longer than a block). */
static void test_hmac_rfc4231(void **state) {
  (void)state;
  unsigned char mac[PAIR_MAC_BYTES];
  char text[2 * PAIR_MAC_BYTES + 1];
  const char *data = "what do ya want for nothing?";
  assert_int_equal(pair_hmac("Jefe", 4, data, strlen(data), mac), 0);
  hex(mac, sizeof(mac), text);
  assert_string_equal(
      text, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  unsigned char key[131];
  memset(key, 0xaa, sizeof(key));
  data = "Test Using Larger Than Block-Size Key - Hash Key First";
  assert_int_equal(pair_hmac(key, sizeof(key), data, strlen(data), mac), 0);
  hex(mac, sizeof(mac), text);
  assert_string_equal(
      text, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static notification_t confirmation(void) {
  notification_t n = {.severity = NOTIF_OKAY, .time = T0};
  strcpy(n.host, "hub-a");
  strcpy(n.plugin, "anticaptcha");
  strcpy(n.plugin_instance, "main");
  strcpy(n.type, "reported");
  return n;
}

/* The tag as an implementation apart from this one computes it (Python's
 * hmac over the bytes pair_auth.h describes): the format is what the
 * documentation says, and stays so. */
static void test_sign_known_tag(void **state) {
  (void)state;
  notification_t n = confirmation();
  assert_int_equal(pair_sign(KEY, strlen(KEY), &n, "7001 7003"), 0);
  assert_string_equal(n.message, "bac4c19650627aef361ca911d9fa7575 7001 7003");
  const char *payload = pair_verify(KEY, strlen(KEY), &n);
  assert_non_null(payload);
  assert_string_equal(payload, "7001 7003");
}

/* A change to any field, the time or the payload breaks the tag. */
static void test_verify_refuses_any_change(void **state) {
  (void)state;
  notification_t signed_n = confirmation();
  assert_int_equal(pair_sign(KEY, strlen(KEY), &signed_n, "7001 7003"), 0);
  for (int change = 0; change < 9; change++) {
    notification_t n = signed_n;
    switch (change) {
    case 0:
      strcpy(n.host, "hub-b");
      break;
    case 1:
      strcpy(n.plugin, "anticaptchb");
      break;
    case 2:
      strcpy(n.plugin_instance, "other");
      break;
    case 3:
      strcpy(n.type, "pair");
      break;
    case 4:
      strcpy(n.type_instance, "down");
      break;
    case 5:
      n.time++;
      break;
    case 6:
      n.severity = NOTIF_WARNING;
      break;
    case 7:
      n.message[strlen(n.message) - 1] = '4';
      break;
    case 8:
      n.message[0] = n.message[0] == 'b' ? 'c' : 'b';
      break;
    }
    assert_null(pair_verify(KEY, strlen(KEY), &n));
  }
  /* Another key, or the right key one character short. */
  assert_null(pair_verify("another secret of 32 characters!", 32, &signed_n));
  assert_null(pair_verify(KEY, strlen(KEY) - 1, &signed_n));
  assert_non_null(pair_verify(KEY, strlen(KEY), &signed_n));
}

static void test_verify_refuses_unsigned(void **state) {
  (void)state;
  notification_t n = confirmation();
  strcpy(n.message, "7001 7003");
  assert_null(pair_verify(KEY, strlen(KEY), &n));
  n.message[0] = 0;
  assert_null(pair_verify(KEY, strlen(KEY), &n));
}

static void test_sign_refuses_a_long_payload(void **state) {
  (void)state;
  notification_t n = confirmation();
  char payload[PAIR_PAYLOAD_MAX + 2];
  memset(payload, '7', sizeof(payload) - 1);
  payload[sizeof(payload) - 1] = 0;
  assert_int_equal(pair_sign(KEY, strlen(KEY), &n, payload), -1);
  payload[PAIR_PAYLOAD_MAX] = 0;
  assert_int_equal(pair_sign(KEY, strlen(KEY), &n, payload), 0);
  assert_non_null(pair_verify(KEY, strlen(KEY), &n));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hmac_rfc4231),
      cmocka_unit_test(test_sign_known_tag),
      cmocka_unit_test(test_verify_refuses_any_change),
      cmocka_unit_test(test_verify_refuses_unsigned),
      cmocka_unit_test(test_sign_refuses_a_long_payload),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for plugin/queue_stats.c and the getQueueStats answers of
 * plugin/response.c: queue names and ids, the request, the parser. */
#include "model/queue_stats.h"
#include "util/secret.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- names and ids ---- */

static void test_lookup_both_spellings(void **state) {
  (void)state;
  static const struct {
    const char *name;
    int64_t id;
  } known[] = {
      {"English ImageToText", 1},
      {"ImageToText, English", 1},
      {"Russian ImageToText", 2},
      {"Recaptcha", 5},
      {"Recaptcha v2 with proxy", 5},
      {"Recaptcha Proxyless", 6},
      {"recaptcha-proxyless", 6},
      {"RECAPTCHA V2 WITHOUT PROXY", 6},
      {"FunCaptcha", 7},
      {"FunCaptcha Proxyless", 10},
      {"GeeTest with proxy", 12},
      {"Recaptcha V3 s0.9", 20},
      {"hCaptcha without proxy", 22},
      {"AntiGateTask", 25},
      {"Hcaptcha Enterprise", 29},
  };
  for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
    int64_t id = -1;
    if (queue_stats_lookup(known[i].name, &id) != 0 || id != known[i].id)
      fail_msg("\"%s\": got %lld, want %lld", known[i].name, (long long)id,
               (long long)known[i].id);
  }
}

static void test_lookup_unknown(void **state) {
  (void)state;
  static const char *const bad[] = {
      "", "Recaptcha V3", "ImageToText", "Recaptcha Proxyless 2", "6", "___"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int64_t id = 4242;
    assert_int_equal(queue_stats_lookup(bad[i], &id), -1);
    assert_int_equal(id, 4242);
  }
}

static void test_vendor_names_and_slugs(void **state) {
  (void)state;
  char slug[128];
  static const int64_t ids[] = {1,  2,  5,  6,  7,  10, 12, 13, 18, 19,
                                20, 21, 22, 23, 24, 25, 26, 27, 28, 29};
  for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
    const char *name = queue_stats_vendor_name(ids[i]);
    assert_non_null(name);
    int64_t back = 0; /* every vendor name maps back to its id */
    assert_int_equal(queue_stats_lookup(name, &back), 0);
    assert_int_equal(back, ids[i]);
  }
  assert_null(queue_stats_vendor_name(3));
  assert_null(queue_stats_vendor_name(30));
  assert_int_equal(queue_stats_slug(NULL, 18, slug, sizeof(slug)), 0);
  assert_string_equal(slug, "recaptcha_v3_s0_3");
  assert_int_equal(
      queue_stats_slug("Recaptcha Proxyless", 6, slug, sizeof(slug)), 0);
  assert_string_equal(slug, "recaptcha_proxyless");
  assert_int_equal(queue_stats_slug(NULL, 31, slug, sizeof(slug)), 0);
  assert_string_equal(slug, "queue31");
  assert_int_equal(queue_stats_slug(NULL, 123456, slug, 8), -1);
}

static void test_request(void **state) {
  (void)state;
  size_t len = 0;
  char *body = queue_stats_request(6, NULL, &len);
  assert_non_null(body);
  assert_string_equal(body, "{\"queueId\":6}");
  assert_int_equal(len, strlen(body));
  assert_true(secret_owns(body)); /* api_call_complete secret_frees it */
  secret_free(body);
  body = queue_stats_request(1000000, NULL, &len);
  assert_string_equal(body, "{\"queueId\":1000000}");
  secret_free(body);
  /* AntiGate: the template, JSON-escaped. */
  body = queue_stats_request(25, "CloudFlare \"cookies\"", &len);
  assert_string_equal(body, "{\"queueId\":25,\"templateName\":"
                            "\"CloudFlare \\\"cookies\\\"\"}");
  assert_int_equal(len, strlen(body));
  secret_free(body);
  assert_null(queue_stats_request(25, "\xff\xfe", &len)); /* not UTF-8 */
  assert_null(queue_stats_request(0, NULL, &len));
  assert_null(queue_stats_request(-3, NULL, &len));
}

/* ---- answers ---- */

/* Parses body whole, then in 1-byte chunks; both must agree. */
static response_status_t parse(const char *body, response_t *out) {
  response_status_t st[2];
  for (int mode = 0; mode < 2; mode++) {
    response_t r;
    assert_int_equal(response_init(&r, RESPONSE_QUEUE_STATS), 0);
    size_t len = strlen(body), step = mode == 0 ? len : 1;
    for (size_t off = 0; off < len; off += step)
      response_feed(&r, body + off, off + step > len ? len - off : step);
    st[mode] = response_finish(&r);
    response_destroy(&r);
    if (mode == 1) {
      assert_int_equal(st[0], st[1]);
      assert_int_equal(out->queue.present, r.queue.present);
      assert_memory_equal(out->queue.value, r.queue.value,
                          sizeof(r.queue.value));
    }
    *out = r;
  }
  return st[0];
}

#define ALL_FIELDS ((1u << QS_COUNT) - 1)

/* Each field: the stock type of collectd's types.db it is dispatched as, the
 * name in its type instance ("<slug>-<name>": the answer's own key), and
 * that this key of an answer lands in that field's value. */
static void test_fields(void **state) {
  (void)state;
  static const struct {
    int field;
    const char *type, *name;
  } want[] = {
      {QS_WAITING, "count", "waiting"}, {QS_LOAD, "percent", "load"},
      {QS_BID, "gauge", "bid"},         {QS_SPEED, "duration", "speed"},
      {QS_TOTAL, "count", "total"},
  };
  assert_int_equal(sizeof(want) / sizeof(want[0]), QS_COUNT);
  for (size_t i = 0; i < QS_COUNT; i++) {
    int f = want[i].field;
    assert_string_equal(queue_stats_fields[f].type, want[i].type);
    assert_string_equal(queue_stats_fields[f].name, want[i].name);
    char body[64];
    response_t r;
    snprintf(body, sizeof(body), "{\"errorId\":0,\"%s\":%zu}", want[i].name,
             i + 7);
    assert_int_equal(parse(body, &r), RESPONSE_OK);
    assert_int_equal(r.queue.present, 1u << f);
    assert_true(r.queue.value[f] == (double)(i + 7));
  }
}

static void test_vendor_example(void **state) {
  (void)state;
  response_t r;
  /* The vendor's example: no errorId, bid as a string. */
  assert_int_equal(
      parse("{\n\"waiting\":242,\n\"load\":60.33,\n\"bid\":"
            "\"0.0008600982\",\n\"speed\":10.77,\n\"total\": 610\n}",
            &r),
      RESPONSE_OK);
  assert_int_equal(r.queue.present, ALL_FIELDS);
  assert_true(r.queue.value[QS_WAITING] == 242);
  assert_true(r.queue.value[QS_LOAD] == 60.33);
  assert_true(r.queue.value[QS_BID] == 0.0008600982);
  assert_true(r.queue.value[QS_SPEED] == 10.77);
  assert_true(r.queue.value[QS_TOTAL] == 610);
}

static void test_numbers_as_strings_and_numbers(void **state) {
  (void)state;
  response_t r;
  assert_int_equal(parse("{\"errorId\":0,\"waiting\":\"3\",\"load\":\"0\","
                         "\"bid\":0.5,\"speed\":\"1e1\",\"total\":\"7\","
                         "\"extra\":{\"a\":[1,{}]}}",
                         &r),
                   RESPONSE_OK);
  assert_int_equal(r.queue.present, ALL_FIELDS);
  assert_true(r.queue.value[QS_WAITING] == 3);
  assert_true(r.queue.value[QS_LOAD] == 0);
  assert_true(r.queue.value[QS_BID] == 0.5);
  assert_true(r.queue.value[QS_SPEED] == 10);
  assert_true(r.queue.value[QS_TOTAL] == 7);
}

/* A missing (or null) field is not dispatched; none at all is malformed. */
static void test_missing_fields(void **state) {
  (void)state;
  response_t r;
  assert_int_equal(parse("{\"errorId\":0,\"load\":12.5,\"speed\":null}", &r),
                   RESPONSE_OK);
  assert_int_equal(r.queue.present, 1u << QS_LOAD);
  assert_int_equal(parse("{\"errorId\":0}", &r), RESPONSE_MALFORMED);
  assert_int_equal(parse("{\"errorId\":0,\"data\":[],\"balance\":3}", &r),
                   RESPONSE_MALFORMED);
  assert_int_equal(parse("{}", &r), RESPONSE_MALFORMED);
  assert_int_equal(parse("{\"status\":\"success\"}", &r), RESPONSE_MALFORMED);
}

static void test_wrong_values_refused(void **state) {
  (void)state;
  static const char *const bad[] = {
      "{\"errorId\":0,\"waiting\":-1,\"load\":1}",
      "{\"errorId\":0,\"load\":\"high\"}",
      "{\"errorId\":0,\"bid\":true}",
      "{\"errorId\":0,\"speed\":[10]}",
      "{\"errorId\":0,\"total\":{\"n\":1}}",
      "{\"errorId\":0,\"bid\":\"inf\"}",
      "{\"errorId\":0,\"bid\":\"0x10\"}",
      "[{\"waiting\":1}]",
      "{\"waiting\":1",
      "waiting=1",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    response_t r;
    if (parse(bad[i], &r) != RESPONSE_MALFORMED)
      fail_msg("accepted: %s", bad[i]);
    assert_true(r.problem[0] != 0);
  }
}

static void test_api_error(void **state) {
  (void)state;
  response_t r;
  assert_int_equal(parse("{\"errorId\":21,\"errorCode\":\"ERROR_IP_BLOCKED\","
                         "\"errorDescription\":\"blocked\"}",
                         &r),
                   RESPONSE_API_ERROR);
  assert_int_equal(r.error_id, 21);
  assert_string_equal(r.error_code, "ERROR_IP_BLOCKED");
  assert_int_equal(r.queue.present, 0);
}

/* The figures' keys mean nothing to other answers. */
static void test_other_kinds_ignore_fields(void **state) {
  (void)state;
  response_t r;
  assert_int_equal(response_init(&r, RESPONSE_BALANCE), 0);
  const char *body = "{\"errorId\":0,\"balance\":2,\"bid\":\"x\",\"load\":[]}";
  response_feed(&r, body, strlen(body));
  assert_int_equal(response_finish(&r), RESPONSE_OK);
  assert_int_equal(r.queue.present, 0);
  response_destroy(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lookup_both_spellings),
      cmocka_unit_test(test_lookup_unknown),
      cmocka_unit_test(test_vendor_names_and_slugs),
      cmocka_unit_test(test_request),
      cmocka_unit_test(test_fields),
      cmocka_unit_test(test_vendor_example),
      cmocka_unit_test(test_numbers_as_strings_and_numbers),
      cmocka_unit_test(test_missing_fields),
      cmocka_unit_test(test_wrong_values_refused),
      cmocka_unit_test(test_api_error),
      cmocka_unit_test(test_other_kinds_ignore_fields),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for plugin/response.c: the streaming parser of API answers.
 * Every body goes through parse_all_ways(): whole, in random-size chunks and
 * byte by byte, and the three results must agree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/response.h"
#include "assert_double.h"

/* What a parse left behind, copied out before response_destroy(). */
typedef struct {
  response_status_t status;
  response_t r;
} result_t;

/* Feeds body in chunks of the given sizes (0: random from 1 to 64, or
 * len: whole); keeps feeding after a refusal to check later chunks are
 * ignored. */
static void run_once(response_kind_t kind, const char *body, size_t len,
                     int mode, unsigned seed, result_t *out) {
  response_t r;
  assert_int_equal(response_init(&r, kind), 0);
  size_t off = 0;
  bool refused = false;
  while (off < len) {
    size_t n;
    if (mode == 0)
      n = len - off;
    else if (mode == 1)
      n = 1 + (size_t)(rand_r(&seed) % 64);
    else
      n = 1;
    if (n > len - off)
      n = len - off;
    int rc = response_feed(&r, body + off, n);
    if (refused) /* once refused, every later chunk is refused too */
      assert_int_equal(rc, -1);
    if (rc != 0)
      refused = true;
    off += n;
  }
  out->status = response_finish(&r);
  if (refused)
    assert_int_not_equal(out->status, RESPONSE_OK);
  response_destroy(&r);
  assert_null(r.yh);
  out->r = r;
}

static void assert_same(const result_t *a, const result_t *b) {
  assert_int_equal(a->status, b->status);
  assert_int_equal(a->r.error_id, b->r.error_id);
  assert_string_equal(a->r.error_code, b->r.error_code);
  assert_string_equal(a->r.error_description, b->r.error_description);
  assert_int_equal(a->r.num_records, b->r.num_records);
  if (a->status == RESPONSE_OK)
    assert_memory_equal(a->r.records, b->r.records,
                        a->r.num_records * sizeof(spending_record_t));
  assert_true(a->r.balance == b->r.balance);
}

static response_status_t parse_all_ways_n(response_kind_t kind,
                                          const char *body, size_t len,
                                          result_t *out) {
  result_t other;
  run_once(kind, body, len, 0, 0, out);
  for (unsigned seed = 1; seed <= 5; seed++) {
    run_once(kind, body, len, 1, seed, &other);
    assert_same(out, &other);
  }
  run_once(kind, body, len, 2, 0, &other);
  assert_same(out, &other);
  if (out->status != RESPONSE_OK && out->status != RESPONSE_API_ERROR)
    assert_true(out->r.problem[0] != 0); /* says why, for the log */
  return out->status;
}

static response_status_t parse_all_ways(response_kind_t kind, const char *body,
                                        result_t *out) {
  return parse_all_ways_n(kind, body, strlen(body), out);
}

static response_status_t status_of(response_kind_t kind, const char *body) {
  result_t res;
  return parse_all_ways(kind, body, &res);
}

static void assert_malformed(response_kind_t kind, const char *body) {
  response_status_t st = status_of(kind, body);
  if (st != RESPONSE_MALFORMED)
    fail_msg("expected MALFORMED, got %d for: %s", (int)st, body);
}

/* ---- building bodies ---- */

typedef struct {
  char *buf;
  size_t len, size;
} sbuf_t;

static void sb_add(sbuf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  assert_true(n >= 0);
  if (b->len + (size_t)n + 1 > b->size) {
    b->size = (b->len + (size_t)n + 1) * 2;
    b->buf = realloc(b->buf, b->size);
    assert_non_null(b->buf);
  }
  va_start(ap, fmt);
  vsnprintf(b->buf + b->len, b->size - b->len, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* The vendor's example: hourly periods starting at :45, 1550533500 first. */
#define VENDOR_FIRST 1550533500LL
static int64_t vendor_from(size_t i) {
  return VENDOR_FIRST + 3600LL * (long long)i;
}
static double vendor_volume(size_t i) { return (double)(1899 + 37 * i); }
static double vendor_money(size_t i) { return 7.495948 + 0.125 * (double)i; }

/* n records, in the order given by order[] (NULL: ascending), numbers as
 * JSON numbers or as strings. */
static char *vendor_body(size_t n, const size_t *order, bool strings) {
  sbuf_t b = {0};
  const char *q = strings ? "\"" : "";
  sb_add(&b, "{\"errorId\":0,\"data\":[");
  for (size_t k = 0; k < n; k++) {
    size_t i = order ? order[k] : k;
    sb_add(&b,
           "%s{\"dateFrom\":%s%lld%s,\"dateTill\":%s%lld%s,\"volume\":%s%.0f%s,"
           "\"money\":%s%.6f%s}",
           k ? "," : "", q, (long long)vendor_from(i), q, q,
           (long long)vendor_from(i) + 3599, q, q, vendor_volume(i), q, q,
           vendor_money(i), q);
  }
  sb_add(&b, "]}");
  return b.buf;
}

static void assert_vendor_records(const result_t *res, size_t n,
                                  const size_t *order) {
  assert_int_equal(res->status, RESPONSE_OK);
  assert_int_equal(res->r.error_id, 0);
  assert_int_equal(res->r.num_records, n);
  for (size_t k = 0; k < n; k++) {
    size_t i = order ? order[k] : k;
    const spending_record_t *rec = &res->r.records[k];
    assert_int_equal(rec->date_from, vendor_from(i));
    assert_int_equal(rec->date_till, vendor_from(i) + 3599);
    assert_double_equal(rec->volume, vendor_volume(i), 1e-9);
    assert_double_equal(rec->money, vendor_money(i), 1e-9);
  }
}

/* One record with fields given as raw JSON text. */
static char *record_body(const char *from, const char *till, const char *vol,
                         const char *money) {
  sbuf_t b = {0};
  sb_add(&b,
         "{\"errorId\":0,\"data\":[{\"dateFrom\":%s,\"dateTill\":%s,"
         "\"volume\":%s,\"money\":%s}]}",
         from, till, vol, money);
  return b.buf;
}

/* ---- spending: the vendor's example and variants ---- */

static void test_vendor_example_first_records(void **state) {
  (void)state;
  result_t res;
  const char *body =
      "{\"errorId\":0,\"data\":[{\"dateFrom\":1550533500,\"dateTill\":"
      "1550537099,\"volume\":1899,\"money\":7.495948},\n"
      "{\"dateFrom\":1550537100,\"dateTill\":1550540699,\"volume\":2217,"
      "\"money\":7.861741}]}";
  assert_int_equal(parse_all_ways(RESPONSE_SPENDING, body, &res), RESPONSE_OK);
  assert_int_equal(res.r.num_records, 2);
  assert_int_equal(res.r.records[0].date_from, 1550533500);
  assert_int_equal(res.r.records[0].date_till, 1550537099);
  assert_double_equal(res.r.records[0].volume, 1899, 0);
  assert_double_equal(res.r.records[0].money, 7.495948, 1e-12);
  assert_int_equal(res.r.records[1].date_from, 1550537100);
  assert_int_equal(res.r.records[1].date_till, 1550540699);
  assert_double_equal(res.r.records[1].volume, 2217, 0);
  assert_double_equal(res.r.records[1].money, 7.861741, 1e-12);
}

static void test_vendor_23_records(void **state) {
  (void)state;
  result_t res;
  char *body = vendor_body(23, NULL, false);
  parse_all_ways(RESPONSE_SPENDING, body, &res);
  assert_vendor_records(&res, 23, NULL);
  free(body);
}

static void test_vendor_24_records_as_strings(void **state) {
  (void)state;
  result_t res;
  char *body = vendor_body(24, NULL, true);
  assert_non_null(strstr(body, "\"dateFrom\":\"1550533500\""));
  parse_all_ways(RESPONSE_SPENDING, body, &res);
  assert_vendor_records(&res, 24, NULL);
  free(body);
}

/* Records are kept in the order they came; sorting is spending.c's job. */
static void test_records_in_any_order(void **state) {
  (void)state;
  size_t order[24];
  for (size_t i = 0; i < 24; i++)
    order[i] = (i * 7 + 5) % 24; /* a permutation */
  result_t res;
  char *body = vendor_body(24, order, false);
  parse_all_ways(RESPONSE_SPENDING, body, &res);
  assert_vendor_records(&res, 24, order);
  free(body);
}

static void test_zero_records(void **state) {
  (void)state;
  result_t res;
  assert_int_equal(
      parse_all_ways(RESPONSE_SPENDING, "{\"errorId\":0,\"data\":[]}", &res),
      RESPONSE_OK);
  assert_int_equal(res.r.num_records, 0);
  assert_int_equal(parse_all_ways(RESPONSE_SPENDING,
                                  " \n{ \"data\" : [ ] ,\t\"errorId\" : 0 }\n",
                                  &res),
                   RESPONSE_OK);
  assert_int_equal(res.r.num_records, 0);
}

static void test_max_records_accepted(void **state) {
  (void)state;
  result_t res;
  char *body = vendor_body(RESPONSE_MAX_RECORDS, NULL, false);
  parse_all_ways(RESPONSE_SPENDING, body, &res);
  assert_vendor_records(&res, RESPONSE_MAX_RECORDS, NULL);
  free(body);
}

static void test_too_many_records_refused(void **state) {
  (void)state;
  char *body = vendor_body(RESPONSE_MAX_RECORDS + 1, NULL, false);
  assert_malformed(RESPONSE_SPENDING, body);
  free(body);
  body = vendor_body(500, NULL, true);
  assert_malformed(RESPONSE_SPENDING, body);
  free(body);
}

/* Integral values written as fractions or exponents are still integers. */
static void test_numbers_in_other_notations(void **state) {
  (void)state;
  result_t res;
  char *body =
      record_body("1550533500.0", "\"1.5505371e9\"", "\"1e3\"", "\"0.5\"");
  assert_int_equal(parse_all_ways(RESPONSE_SPENDING, body, &res), RESPONSE_OK);
  assert_int_equal(res.r.records[0].date_from, 1550533500);
  assert_int_equal(res.r.records[0].date_till, 1550537100);
  assert_double_equal(res.r.records[0].volume, 1000, 0);
  assert_double_equal(res.r.records[0].money, 0.5, 0);
  free(body);
  /* A zero-length period and zero amounts are facts, not errors. */
  body = record_body("100", "100", "0", "0");
  assert_int_equal(parse_all_ways(RESPONSE_SPENDING, body, &res), RESPONSE_OK);
  assert_int_equal(res.r.num_records, 1);
  free(body);
}

static void test_unknown_keys_skipped(void **state) {
  (void)state;
  result_t res;
  const char *body =
      "{\"extra\":{\"errorId\":5,\"data\":[1,{\"dateFrom\":\"x\"}],"
      "\"n\":[[[[]]],{}]},"
      "\"errorId\":0,"
      "\"list\":[{\"dateFrom\":1},[null,true,\"s\"]],"
      "\"data\":[{\"dateFrom\":10,\"other\":{\"a\":[1,2,{\"b\":null}]},"
      "\"dateTill\":20,\"arr\":[[],{}],\"volume\":3,\"flag\":true,"
      "\"money\":0.25,\"nothing\":null}],"
      "\"balance\":null,\"status\":\"ok\",\"tail\":{\"data\":[\"x\"]}}";
  assert_int_equal(parse_all_ways(RESPONSE_SPENDING, body, &res), RESPONSE_OK);
  assert_int_equal(res.r.error_id, 0);
  assert_int_equal(res.r.num_records, 1);
  assert_int_equal(res.r.records[0].date_from, 10);
  assert_int_equal(res.r.records[0].date_till, 20);
  assert_double_equal(res.r.records[0].volume, 3, 0);
  assert_double_equal(res.r.records[0].money, 0.25, 0);
}

/* ---- API errors ---- */

static void test_api_error_key(void **state) {
  (void)state;
  result_t res;
  const char *body =
      "{\"errorId\":1,\"errorCode\":\"ERROR_KEY_DOES_NOT_EXIST\","
      "\"errorDescription\":\"Account authorization key not found in the "
      "system\"}";
  assert_int_equal(parse_all_ways(RESPONSE_SPENDING, body, &res),
                   RESPONSE_API_ERROR);
  assert_int_equal(res.r.error_id, 1);
  assert_string_equal(res.r.error_code, "ERROR_KEY_DOES_NOT_EXIST");
  assert_string_equal(res.r.error_description,
                      "Account authorization key not found in the system");
  /* The same answer means the same to every kind of call. */
  assert_int_equal(parse_all_ways(RESPONSE_BALANCE, body, &res),
                   RESPONSE_API_ERROR);
  assert_int_equal(parse_all_ways(RESPONSE_REPORT, body, &res),
                   RESPONSE_API_ERROR);
}

static void test_api_error_id_as_string(void **state) {
  (void)state;
  result_t res;
  assert_int_equal(parse_all_ways(RESPONSE_SPENDING,
                                  "{\"errorId\":\"16\",\"errorCode\":"
                                  "\"ERROR_NO_SUCH_CAPCHA_ID\",\"data\":null}",
                                  &res),
                   RESPONSE_API_ERROR);
  assert_int_equal(res.r.error_id, 16);
  assert_string_equal(res.r.error_code, "ERROR_NO_SUCH_CAPCHA_ID");
  /* "0" as a string is success. */
  assert_int_equal(parse_all_ways(RESPONSE_SPENDING,
                                  "{\"errorId\":\"0\",\"data\":[]}", &res),
                   RESPONSE_OK);
}

/* An error answer needs no data array. */
static void test_api_error_without_data(void **state) {
  (void)state;
  result_t res;
  assert_int_equal(parse_all_ways(RESPONSE_SPENDING, "{\"errorId\":21}", &res),
                   RESPONSE_API_ERROR);
  assert_int_equal(res.r.error_id, 21);
  assert_string_equal(res.r.error_code, "");
}

/* Long texts are cut, never overflowing their buffers. */
static void test_api_error_long_texts_truncated(void **state) {
  (void)state;
  sbuf_t b = {0};
  sb_add(&b, "{\"errorId\":55,\"errorCode\":\"");
  for (int i = 0; i < 300; i++)
    sb_add(&b, "C");
  sb_add(&b, "\",\"errorDescription\":\"");
  for (int i = 0; i < 1000; i++)
    sb_add(&b, "d");
  sb_add(&b, "\"}");
  result_t res;
  assert_int_equal(parse_all_ways(RESPONSE_SPENDING, b.buf, &res),
                   RESPONSE_API_ERROR);
  assert_int_equal(res.r.error_id, 55);
  assert_int_equal(strlen(res.r.error_code), sizeof(res.r.error_code) - 1);
  assert_int_equal(strlen(res.r.error_description),
                   sizeof(res.r.error_description) - 1);
  assert_int_equal(res.r.error_code[0], 'C');
  free(b.buf);
}

/* ---- issue 17: strings for the log, duplicate keys, amounts ---- */

/* A newline in errorDescription would forge a line of collectd's log. */
static void test_error_texts_escaped(void **state) {
  (void)state;
  result_t res;
  assert_int_equal(
      parse_all_ways(RESPONSE_REPORT,
                     "{\"errorId\":2,\"errorCode\":\"E\\u001b[31m\","
                     "\"errorDescription\":\"bad\\n[2026-01-01] [error] "
                     "forged\\\\x\\r\\t\\u007f\"}",
                     &res),
      RESPONSE_API_ERROR);
  assert_string_equal(res.r.error_code, "E\\x1b[31m");
  assert_string_equal(
      res.r.error_description,
      "bad\\x0a[2026-01-01] [error] forged\\x5cx\\x0d\\x09\\x7f");
  /* Printable text and UTF-8 are kept as they are. */
  assert_int_equal(parse_all_ways(RESPONSE_REPORT,
                                  "{\"errorId\":2,\"errorDescription\":"
                                  "\"Ошибка: no such task\"}",
                                  &res),
                   RESPONSE_API_ERROR);
  assert_string_equal(res.r.error_description, "Ошибка: no such task");
}

static void test_escape_never_overflows(void **state) {
  (void)state;
  char out[8];
  assert_int_equal(response_escape(out, sizeof(out), "ab\ncd", 5), 7);
  assert_string_equal(out, "ab\\x0ac");
  /* An escape that does not fit whole is left out. */
  assert_int_equal(response_escape(out, sizeof(out), "abcde\n", 6), 5);
  assert_string_equal(out, "abcde");
  assert_int_equal(response_escape(out, 1, "abc", 3), 0);
  assert_string_equal(out, "");
}

/* {"errorId":1,"errorId":0} must not read as success; nor may a record
 * give its money twice. */
static void test_duplicate_keys_refused(void **state) {
  (void)state;
  assert_malformed(RESPONSE_REPORT, "{\"errorId\":1,\"errorId\":0}");
  assert_malformed(RESPONSE_REPORT, "{\"errorId\":0,\"errorId\":0}");
  assert_malformed(RESPONSE_BALANCE,
                   "{\"errorId\":0,\"balance\":1,\"balance\":2}");
  assert_malformed(RESPONSE_SPENDING,
                   "{\"errorId\":0,\"data\":[],\"data\":[]}");
  assert_malformed(RESPONSE_SPENDING,
                   "{\"errorId\":0,\"data\":[{\"dateFrom\":0,\"dateTill\":3599,"
                   "\"volume\":1,\"money\":1,\"money\":1e9}]}");
  /* The same key in two records is fine. */
  assert_int_equal(
      status_of(RESPONSE_SPENDING,
                "{\"errorId\":0,\"data\":[{\"dateFrom\":0,"
                "\"dateTill\":3599,\"volume\":1,\"money\":1},"
                "{\"dateFrom\":3600,\"dateTill\":7199,\"volume\":1,"
                "\"money\":1}]}"),
      RESPONSE_OK);
}

/* Two records of 1.7e308 would sum to inf: amounts past the bound refuse
 * the answer. */
static void test_amounts_out_of_range(void **state) {
  (void)state;
  assert_malformed(RESPONSE_SPENDING,
                   "{\"errorId\":0,\"data\":[{\"dateFrom\":0,\"dateTill\":3599,"
                   "\"volume\":1,\"money\":1.7e308},{\"dateFrom\":3600,"
                   "\"dateTill\":7199,\"volume\":1,\"money\":1.7e308}]}");
  assert_malformed(RESPONSE_SPENDING,
                   "{\"errorId\":0,\"data\":[{\"dateFrom\":0,\"dateTill\":3599,"
                   "\"volume\":1e13,\"money\":1}]}");
  assert_malformed(RESPONSE_BALANCE, "{\"errorId\":0,\"balance\":1e300}");
  assert_malformed(RESPONSE_BALANCE, "{\"errorId\":0,\"balance\":-1e300}");
  assert_int_equal(
      status_of(RESPONSE_BALANCE, "{\"errorId\":0,\"balance\":-12.5}"),
      RESPONSE_OK);
  assert_int_equal(
      status_of(RESPONSE_SPENDING,
                "{\"errorId\":0,\"data\":[{\"dateFrom\":0,"
                "\"dateTill\":3599,\"volume\":1e12,\"money\":1e12}]}"),
      RESPONSE_OK);
}

/* ---- malformed bodies ---- */

static void test_not_json(void **state) {
  (void)state;
  static const char *const bodies[] = {
      "",
      " \n\t",
      "not json",
      "<html><body>502 Bad Gateway</body></html>",
      "{errorId:0,data:[]}",
      "{'errorId':0,'data':[]}",
      "{\"errorId\":0,\"data\":[],}",
      "{\"errorId\":0,\"data\":[]} trailing",
      "{\"errorId\":0,\"data\":[]}{\"errorId\":0,\"data\":[]}",
      "{\"errorId\":0,\"data\":[],\"x\":\"\xff\"}", /* invalid UTF-8 */
  };
  for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
    for (int kind = RESPONSE_SPENDING; kind <= RESPONSE_REPORT; kind++)
      assert_malformed((response_kind_t)kind, bodies[i]);
  /* An embedded NUL byte, counted by length. */
  static const char nul[] = "{\"errorId\":0,\"data\":[]\0}";
  result_t res;
  assert_int_equal(
      parse_all_ways_n(RESPONSE_SPENDING, nul, sizeof(nul) - 1, &res),
      RESPONSE_MALFORMED);
}

static void test_truncated(void **state) {
  (void)state;
  char *full = vendor_body(3, NULL, false);
  size_t len = strlen(full);
  /* Every proper prefix is refused. */
  for (size_t cut = 0; cut < len; cut++) {
    result_t res;
    assert_int_equal(parse_all_ways_n(RESPONSE_SPENDING, full, cut, &res),
                     RESPONSE_MALFORMED);
  }
  result_t res;
  assert_int_equal(parse_all_ways_n(RESPONSE_SPENDING, full, len, &res),
                   RESPONSE_OK);
  free(full);
}

static void test_top_level_not_object(void **state) {
  (void)state;
  static const char *const bodies[] = {
      "[]",   "[{\"errorId\":0,\"data\":[]}]",
      "0",    "\"errorId\"",
      "null", "true",
      "1.5",
  };
  for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
    for (int kind = RESPONSE_SPENDING; kind <= RESPONSE_REPORT; kind++)
      assert_malformed((response_kind_t)kind, bodies[i]);
}

static void test_data_not_array(void **state) {
  (void)state;
  static const char *const bodies[] = {
      "{\"errorId\":0,\"data\":{}}",
      "{\"errorId\":0,\"data\":{\"dateFrom\":1}}",
      "{\"errorId\":0,\"data\":\"[]\"}",
      "{\"errorId\":0,\"data\":5}",
      "{\"errorId\":0,\"data\":true}",
      "{\"errorId\":0,\"data\":null}",           /* no array: nothing to read */
      "{\"errorId\":0,\"data\":[],\"data\":[]}", /* twice */
      "{\"errorId\":0,\"data\":[],\"data\":5}",
  };
  for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
    assert_malformed(RESPONSE_SPENDING, bodies[i]);
}

static void test_record_not_object(void **state) {
  (void)state;
  static const char *const bodies[] = {
      "{\"errorId\":0,\"data\":[1]}",
      "{\"errorId\":0,\"data\":[\"x\"]}",
      "{\"errorId\":0,\"data\":[null]}",
      "{\"errorId\":0,\"data\":[true]}",
      "{\"errorId\":0,\"data\":[[]]}",
      "{\"errorId\":0,\"data\":[[{\"dateFrom\":1,\"dateTill\":2,\"volume\":1,"
      "\"money\":1}]]}",
      "{\"errorId\":0,\"data\":[{\"dateFrom\":1,\"dateTill\":2,\"volume\":1,"
      "\"money\":1},7]}",
  };
  for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
    assert_malformed(RESPONSE_SPENDING, bodies[i]);
}

static void test_missing_fields(void **state) {
  (void)state;
  static const char *const bodies[] = {
      "{\"data\":[]}", /* no errorId */
      "{}",
      "{\"errorId\":0}", /* no data */
      "{\"errorId\":0,\"data\":[{}]}",
      "{\"errorId\":0,\"data\":[{\"dateTill\":2,\"volume\":1,\"money\":1}]}",
      "{\"errorId\":0,\"data\":[{\"dateFrom\":1,\"volume\":1,\"money\":1}]}",
      "{\"errorId\":0,\"data\":[{\"dateFrom\":1,\"dateTill\":2,\"money\":1}]}",
      "{\"errorId\":0,\"data\":[{\"dateFrom\":1,\"dateTill\":2,\"volume\":1}]}",
      /* a later record lacking a field the first had */
      "{\"errorId\":0,\"data\":[{\"dateFrom\":1,\"dateTill\":2,\"volume\":1,"
      "\"money\":1},{\"dateFrom\":3,\"dateTill\":4,\"volume\":1}]}",
      /* field names are case-sensitive */
      "{\"errorId\":0,\"data\":[{\"datefrom\":1,\"dateTill\":2,\"volume\":1,"
      "\"money\":1}]}",
      "{\"ErrorId\":0,\"data\":[]}",
  };
  for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
    assert_malformed(RESPONSE_SPENDING, bodies[i]);
  assert_malformed(RESPONSE_REPORT, "{\"status\":\"success\"}");
  assert_malformed(RESPONSE_BALANCE, "{\"balance\":1}");
}

/* Values that are not numbers, in every record field and in errorId. */
static const char *const bad_values[] = {
    "null",      "true",    "false",     "{}",           "{\"a\":1}",
    "[]",        "[1]",     "\"\"",      "\"abc\"",      "\"inf\"",
    "\"-inf\"",  "\"nan\"", "\"NaN\"",   "\"Infinity\"", "\"0x10\"",
    "\"0x1p3\"", "\" 1\"",  "\"1 \"",    "\"1,5\"",      "\"1-2\"",
    "\"--1\"",   "\"e5\"",  "\"1e999\"", "1e999",        "-1e999",
};

static void test_wrong_types_in_record_fields(void **state) {
  (void)state;
  const char *good[] = {"1000", "4600", "5", "0.5"};
  for (int field = 0; field < 4; field++)
    for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
      const char *v[4] = {good[0], good[1], good[2], good[3]};
      v[field] = bad_values[i];
      char *body = record_body(v[0], v[1], v[2], v[3]);
      assert_malformed(RESPONSE_SPENDING, body);
      free(body);
    }
  /* Sanity: the good values alone are accepted. */
  char *body = record_body(good[0], good[1], good[2], good[3]);
  assert_int_equal(status_of(RESPONSE_SPENDING, body), RESPONSE_OK);
  free(body);
}

static void test_wrong_types_in_error_id(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
    char body[128];
    snprintf(body, sizeof(body), "{\"errorId\":%s,\"data\":[]}", bad_values[i]);
    for (int kind = RESPONSE_SPENDING; kind <= RESPONSE_REPORT; kind++)
      assert_malformed((response_kind_t)kind, body);
  }
  assert_malformed(RESPONSE_SPENDING, "{\"errorId\":1.5,\"data\":[]}");
  assert_malformed(RESPONSE_SPENDING, "{\"errorId\":\"0.5\",\"data\":[]}");
}

/* Integers must be integral and in range. */
static void test_fractional_dates_refused(void **state) {
  (void)state;
  char *body = record_body("1000.5", "4600", "1", "1");
  assert_malformed(RESPONSE_SPENDING, body);
  free(body);
  body = record_body("1000", "99999999999999999999", "1", "1");
  assert_malformed(RESPONSE_SPENDING, body);
  free(body);
}

static void test_negative_amounts_refused(void **state) {
  (void)state;
  char *body = record_body("1000", "4600", "1", "-0.01");
  assert_malformed(RESPONSE_SPENDING, body);
  free(body);
  body = record_body("1000", "4600", "-1", "1");
  assert_malformed(RESPONSE_SPENDING, body);
  free(body);
  body = record_body("1000", "4600", "1", "\"-7.5\"");
  assert_malformed(RESPONSE_SPENDING, body);
  free(body);
}

static void test_period_backwards_refused(void **state) {
  (void)state;
  char *body = record_body("4600", "4599", "1", "1");
  assert_malformed(RESPONSE_SPENDING, body);
  free(body);
}

static void test_duplicate_date_from_refused(void **state) {
  (void)state;
  assert_malformed(
      RESPONSE_SPENDING,
      "{\"errorId\":0,\"data\":["
      "{\"dateFrom\":1000,\"dateTill\":4599,\"volume\":1,\"money\":1},"
      "{\"dateFrom\":4600,\"dateTill\":8199,\"volume\":1,\"money\":1},"
      "{\"dateFrom\":\"1000\",\"dateTill\":4599,\"volume\":2,"
      "\"money\":2}]}");
}

/* ---- size cap ---- */

/* A valid body padded with blanks to exactly len bytes. */
static char *padded_body(size_t len) {
  const char *head = "{\"errorId\":0,\"data\":[]";
  char *b = malloc(len + 1);
  assert_non_null(b);
  size_t h = strlen(head);
  memcpy(b, head, h);
  memset(b + h, ' ', len - h - 1);
  b[len - 1] = '}';
  b[len] = 0;
  return b;
}

static void test_body_at_cap_accepted(void **state) {
  (void)state;
  char *b = padded_body(RESPONSE_MAX_BYTES);
  result_t res;
  assert_int_equal(parse_all_ways(RESPONSE_SPENDING, b, &res), RESPONSE_OK);
  free(b);
}

static void test_body_over_cap_too_large(void **state) {
  (void)state;
  char *b = padded_body(RESPONSE_MAX_BYTES + 1);
  result_t res;
  assert_int_equal(parse_all_ways(RESPONSE_SPENDING, b, &res),
                   RESPONSE_TOO_LARGE);
  free(b);

  /* Refused as soon as the cap is passed: the feed says so at once. */
  response_t r;
  static char chunk[4096];
  memset(chunk, ' ', sizeof(chunk));
  assert_int_equal(response_init(&r, RESPONSE_BALANCE), 0);
  assert_int_equal(response_feed(&r, "{", 1), 0);
  size_t fed = 1;
  int rc = 0;
  while (rc == 0 && fed < 2 * RESPONSE_MAX_BYTES) {
    rc = response_feed(&r, chunk, sizeof(chunk));
    fed += sizeof(chunk);
  }
  assert_int_equal(rc, -1);
  assert_true(fed > RESPONSE_MAX_BYTES);
  assert_true(fed <= RESPONSE_MAX_BYTES + sizeof(chunk));
  /* Even a valid ending does not help. */
  assert_int_equal(response_feed(&r, "\"errorId\":0,\"balance\":1}", 24), -1);
  assert_int_equal(response_finish(&r), RESPONSE_TOO_LARGE);
  response_destroy(&r);
}

/* Once refused, a body stays refused whatever follows. */
static void test_feed_after_failure_ignored(void **state) {
  (void)state;
  response_t r;
  assert_int_equal(response_init(&r, RESPONSE_REPORT), 0);
  assert_int_equal(response_feed(&r, "]", 1), -1);
  assert_int_equal(response_feed(&r, "{\"errorId\":0}", 13), -1);
  assert_int_equal(response_finish(&r), RESPONSE_MALFORMED);
  assert_true(r.problem[0] != 0);
  response_destroy(&r);
}

/* ---- getBalance ---- */

static void test_balance_number(void **state) {
  (void)state;
  result_t res;
  assert_int_equal(parse_all_ways(RESPONSE_BALANCE,
                                  "{\"errorId\":0,\"balance\":3.8765,"
                                  "\"captchaCredits\":12}",
                                  &res),
                   RESPONSE_OK);
  assert_double_equal(res.r.balance, 3.8765, 1e-12);
  assert_int_equal(
      parse_all_ways(RESPONSE_BALANCE, "{\"balance\":0,\"errorId\":0}", &res),
      RESPONSE_OK);
  assert_double_equal(res.r.balance, 0, 0);
}

static void test_balance_string(void **state) {
  (void)state;
  result_t res;
  assert_int_equal(parse_all_ways(RESPONSE_BALANCE,
                                  "{\"errorId\":\"0\",\"balance\":\"12.5\"}",
                                  &res),
                   RESPONSE_OK);
  assert_double_equal(res.r.balance, 12.5, 0);
}

static void test_balance_missing_or_bad(void **state) {
  (void)state;
  assert_malformed(RESPONSE_BALANCE, "{\"errorId\":0}");
  assert_malformed(RESPONSE_BALANCE, "{\"errorId\":0,\"captchaCredits\":5}");
  assert_malformed(RESPONSE_BALANCE, "{\"errorId\":0,\"balance\":null}");
  for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
    char body[128];
    snprintf(body, sizeof(body), "{\"errorId\":0,\"balance\":%s}",
             bad_values[i]);
    assert_malformed(RESPONSE_BALANCE, body);
  }
}

static void test_balance_zero_balance_error(void **state) {
  (void)state;
  result_t res;
  assert_int_equal(parse_all_ways(RESPONSE_BALANCE,
                                  "{\"errorId\":10,\"errorCode\":"
                                  "\"ERROR_ZERO_BALANCE\",\"errorDescription\":"
                                  "\"Account has zero balance\"}",
                                  &res),
                   RESPONSE_API_ERROR);
  assert_int_equal(res.r.error_id, 10);
  assert_string_equal(res.r.error_code, "ERROR_ZERO_BALANCE");
  assert_string_equal(res.r.error_description, "Account has zero balance");
}

/* ---- report* ---- */

static void test_report_success(void **state) {
  (void)state;
  result_t res;
  assert_int_equal(parse_all_ways(RESPONSE_REPORT,
                                  "{\"errorId\":0,\"status\":\"success\"}",
                                  &res),
                   RESPONSE_OK);
  assert_int_equal(res.r.error_id, 0);
}

static void test_report_no_such_captcha_both_spellings(void **state) {
  (void)state;
  static const char *const codes[] = {"ERROR_NO_SUCH_CAPCHA_ID",
                                      "ERROR_NO_SUCH_CAPTCHA_ID"};
  for (int i = 0; i < 2; i++) {
    char body[256];
    snprintf(body, sizeof(body),
             "{\"errorId\":16,\"errorCode\":\"%s\",\"errorDescription\":"
             "\"Captcha you are requesting does not exist\"}",
             codes[i]);
    result_t res;
    assert_int_equal(parse_all_ways(RESPONSE_REPORT, body, &res),
                     RESPONSE_API_ERROR);
    assert_int_equal(res.r.error_id, 16);
    assert_string_equal(res.r.error_code, codes[i]);
  }
}

/* ---- the number parsers ---- */

static void test_parse_double(void **state) {
  (void)state;
  static const struct {
    const char *s;
    double want;
  } good[] = {
      {"0", 0},       {"7.495948", 7.495948},
      {"-1.5", -1.5}, {"+2", 2},
      {"1e3", 1000},  {"1E-2", 0.01},
      {".5", 0.5},    {"5.", 5},
      {"00012", 12},  {"1.7976931348623157e308", 1.7976931348623157e308},
  };
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    double d = -12345;
    if (response_parse_double(good[i].s, strlen(good[i].s), &d) != 0)
      fail_msg("\"%s\" refused", good[i].s);
    assert_double_equal(
        d, good[i].want,
        1e-12 * (1 + (good[i].want < 0 ? -good[i].want : good[i].want)));
  }
  static const char *const bad[] = {
      "",      "inf", "-inf", "INF",   "nan",    "NaN", "Infinity", "0x10",
      "0x1p3", " 1",  "1 ",   "1,5",   "1-2",    "--1", "e5",       "1e",
      ".",     "-",   "+",    "1e999", "-1e999", "abc", "1.2.3",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    double d = 42;
    if (response_parse_double(bad[i], strlen(bad[i]), &d) == 0)
      fail_msg("\"%s\" accepted as %g", bad[i], d);
    assert_double_equal(d, 42, 0); /* untouched */
  }
  /* The length counts, not the NUL: only "12" of "123" is read. */
  double d = 0;
  assert_int_equal(response_parse_double("123", 2, &d), 0);
  assert_double_equal(d, 12, 0);
  assert_int_not_equal(response_parse_double("1\0002", 3, &d), 0);
  /* Longer than any number the API sends. */
  char longnum[100];
  memset(longnum, '1', sizeof(longnum));
  assert_int_not_equal(response_parse_double(longnum, sizeof(longnum), &d), 0);
}

static void test_parse_int(void **state) {
  (void)state;
  static const struct {
    const char *s;
    int64_t want;
  } good[] = {
      {"0", 0},
      {"1550533500", 1550533500},
      {"-5", -5},
      {"+7", 7},
      {"1550533500.0", 1550533500},
      {"1.5505335e9", 1550533500},
      {"1e3", 1000},
      {"9223372036854775807", INT64_MAX},
      {"-9223372036854775808", INT64_MIN},
      {"9007199254740992.0", 9007199254740992LL},
  };
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    int64_t v = -12345;
    if (response_parse_int(good[i].s, strlen(good[i].s), &v) != 0)
      fail_msg("\"%s\" refused", good[i].s);
    assert_true(v == good[i].want);
  }
  static const char *const bad[] = {
      "",
      "1.5",
      "0.1",
      "1e-1",
      "inf",
      "nan",
      "0x10",
      "1 ",
      " 1",
      "abc",
      "-",
      "9223372036854775808",
      "99999999999999999999",
      "1e300",
      "9007199254740994.0",
      "1e999",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int64_t v = 42;
    if (response_parse_int(bad[i], strlen(bad[i]), &v) == 0)
      fail_msg("\"%s\" accepted as %lld", bad[i], (long long)v);
    assert_true(v == 42);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vendor_example_first_records),
      cmocka_unit_test(test_vendor_23_records),
      cmocka_unit_test(test_vendor_24_records_as_strings),
      cmocka_unit_test(test_records_in_any_order),
      cmocka_unit_test(test_zero_records),
      cmocka_unit_test(test_max_records_accepted),
      cmocka_unit_test(test_too_many_records_refused),
      cmocka_unit_test(test_numbers_in_other_notations),
      cmocka_unit_test(test_unknown_keys_skipped),
      cmocka_unit_test(test_api_error_key),
      cmocka_unit_test(test_api_error_id_as_string),
      cmocka_unit_test(test_api_error_without_data),
      cmocka_unit_test(test_api_error_long_texts_truncated),
      cmocka_unit_test(test_error_texts_escaped),
      cmocka_unit_test(test_escape_never_overflows),
      cmocka_unit_test(test_duplicate_keys_refused),
      cmocka_unit_test(test_amounts_out_of_range),
      cmocka_unit_test(test_not_json),
      cmocka_unit_test(test_truncated),
      cmocka_unit_test(test_top_level_not_object),
      cmocka_unit_test(test_data_not_array),
      cmocka_unit_test(test_record_not_object),
      cmocka_unit_test(test_missing_fields),
      cmocka_unit_test(test_wrong_types_in_record_fields),
      cmocka_unit_test(test_wrong_types_in_error_id),
      cmocka_unit_test(test_fractional_dates_refused),
      cmocka_unit_test(test_negative_amounts_refused),
      cmocka_unit_test(test_period_backwards_refused),
      cmocka_unit_test(test_duplicate_date_from_refused),
      cmocka_unit_test(test_body_at_cap_accepted),
      cmocka_unit_test(test_body_over_cap_too_large),
      cmocka_unit_test(test_feed_after_failure_ignored),
      cmocka_unit_test(test_balance_number),
      cmocka_unit_test(test_balance_string),
      cmocka_unit_test(test_balance_missing_or_bad),
      cmocka_unit_test(test_balance_zero_balance_error),
      cmocka_unit_test(test_report_success),
      cmocka_unit_test(test_report_no_such_captcha_both_spellings),
      cmocka_unit_test(test_parse_double),
      cmocka_unit_test(test_parse_int),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

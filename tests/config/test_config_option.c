/* Unit tests for plugin/config_option.c: reading options from a table.
 * tests/stubs.c stands in for cf_util_get_string and captures the log. */
#include "config/config_option.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stubs.h"

typedef struct {
  char *name;
  bool flag;
  cdtime_t wait;
  size_t count;
  int days;
  int64_t id;
  double share;
  char *text_seen;
} block_t;

static int take_text(void *block, const char *value, const char *where) {
  (void)where;
  block_t *b = block;
  free(b->text_seen);
  b->text_seen = strdup(value);
  return 0;
}

static const config_option_t table[] = {
    OPTION("Name", OPT_STRING, block_t, name),
    OPTION("Flag", OPT_BOOL, block_t, flag),
    OPTION_RANGE("Wait", OPT_SECONDS, block_t, wait, 0.5, 60),
    OPTION_RANGE("Count", OPT_SIZE, block_t, count, 1, 1000),
    OPTION_RANGE("Days", OPT_INT, block_t, days, 0, 90),
    OPTION_RANGE("Id", OPT_INT64, block_t, id, 1, INT32_MAX),
    OPTION_RANGE("Share", OPT_PERCENT, block_t, share, 0, 100),
    OPTION_TEXT("Text", take_text),
    OPTION_SKIP("Elsewhere"),
};
#define N (sizeof(table) / sizeof(table[0]))

/* One option with one value; the caller frees it with item_free. */
static oconfig_item_t item(const char *key, oconfig_value_t v) {
  oconfig_item_t o = {.key = (char *)key, .values_num = 1};
  o.values = malloc(sizeof(*o.values));
  assert_non_null(o.values);
  o.values[0] = v;
  return o;
}

static oconfig_value_t num(double d) {
  return (oconfig_value_t){.type = OCONFIG_TYPE_NUMBER, .value.number = d};
}
static oconfig_value_t str(const char *s) {
  return (oconfig_value_t){.type = OCONFIG_TYPE_STRING,
                           .value.string = (char *)s};
}
static oconfig_value_t boolean(bool b) {
  return (oconfig_value_t){.type = OCONFIG_TYPE_BOOLEAN, .value.boolean = b};
}

/* Reads one option; returns what config_option_read returned. */
static int read_one(block_t *b, const char *key, oconfig_value_t v) {
  oconfig_item_t o = item(key, v);
  stub_log_reset();
  int rc = config_option_read(table, N, b, &o, "Test \"t\"");
  free(o.values);
  return rc;
}

/* Refused with one ERROR line naming where, the option and `hint`; the
 * field is left as it was. */
static void refused(block_t *b, const char *key, oconfig_value_t v,
                    const char *hint) {
  block_t before = *b;
  assert_int_equal(read_one(b, key, v), -1);
  assert_int_equal(stub_log_count_level(LOG_ERR), 1);
  const char *line = stub_log_first(LOG_ERR)->text;
  assert_non_null(strstr(line, "anticaptcha plugin: Test \"t\": option"));
  assert_non_null(strstr(line, key));
  if (strstr(line, hint) == NULL)
    fail_msg("\"%s\" not in: %s", hint, line);
  assert_true(b->wait == before.wait && b->count == before.count &&
              b->days == before.days && b->id == before.id &&
              b->share == before.share && b->flag == before.flag &&
              b->name == before.name && b->text_seen == before.text_seen);
}

static void test_each_kind_fills_its_field(void **state) {
  (void)state;
  block_t b = {0};
  assert_int_equal(read_one(&b, "name", str("first")), 0);  /* any case */
  assert_int_equal(read_one(&b, "Name", str("second")), 0); /* replaced */
  assert_string_equal(b.name, "second");
  assert_int_equal(read_one(&b, "Flag", boolean(true)), 0);
  assert_true(b.flag);
  assert_int_equal(read_one(&b, "Wait", num(1.5)), 0);
  assert_true(b.wait == DOUBLE_TO_CDTIME_T(1.5));
  assert_int_equal(read_one(&b, "Count", num(1000)), 0);
  assert_int_equal(b.count, 1000);
  assert_int_equal(read_one(&b, "Days", num(0)), 0);
  assert_int_equal(b.days, 0);
  assert_int_equal(read_one(&b, "Id", num(INT32_MAX)), 0);
  assert_int_equal(b.id, INT32_MAX);
  assert_int_equal(read_one(&b, "Share", num(100)), 0);
  assert_true(b.share == 100);
  assert_int_equal(read_one(&b, "Text", str("as given")), 0);
  assert_string_equal(b.text_seen, "as given");
  assert_int_equal(read_one(&b, "Elsewhere", num(7)), 0);
  assert_int_equal(stub_log_count(), 0);

  config_option_free(table, N, &b);
  assert_null(b.name);
  free(b.text_seen); /* not OPT_STRING: the block's own */
}

static void test_out_of_range_and_wrong_types(void **state) {
  (void)state;
  block_t b = {.count = 5};
  refused(&b, "Count", num(0), "whole number from 1 to 1000");
  refused(&b, "Count", num(1001), "whole number from 1 to 1000");
  refused(&b, "Count", num(2.5), "whole number");
  /* Checked before any conversion: 1e30 or NaN in a size_t is undefined. */
  refused(&b, "Count", num(1e30), "whole number");
  refused(&b, "Count", num(NAN), "whole number");
  refused(&b, "Id", num(-1e300), "whole number from 1 to 2147483647");
  refused(&b, "Wait", num(0.25), "from 0.5 to 60 seconds");
  refused(&b, "Wait", num(INFINITY), "seconds");
  refused(&b, "Share", num(0), "more than 0 and at most 100");
  refused(&b, "Share", num(NAN), "percentage");
  refused(&b, "Count", str("5"), "takes exactly one number");
  refused(&b, "Flag", str("true"), "takes exactly one true or false");
  refused(&b, "Name", num(1), "takes exactly one quoted string");
  refused(&b, "Text", boolean(false), "takes exactly one quoted string");
  refused(&b, "Nonsense", num(1), "unknown option");
  assert_int_equal(b.count, 5);
  assert_null(b.text_seen);
}

static void test_two_values_refused(void **state) {
  (void)state;
  block_t b = {0};
  oconfig_value_t v[2] = {num(1), num(2)};
  oconfig_item_t o = {.key = "Count", .values = v, .values_num = 2};
  stub_log_reset();
  assert_int_equal(config_option_read(table, N, &b, &o, "Test \"t\""), -1);
  assert_true(stub_log_contains("takes exactly one number"));
  assert_int_equal(b.count, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_each_kind_fills_its_field),
      cmocka_unit_test(test_out_of_range_and_wrong_types),
      cmocka_unit_test(test_two_values_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

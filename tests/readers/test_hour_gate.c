/* Unit tests for plugin/readers/hour_gate.c: a series' next hour waits until
 * its last one has been written, as the gate's write callback sees it. */
#include "readers/hour_gate.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_complain.h"
#include "collectd/core/utils/common/common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "util/mono_time.h"

/* ---- Stand-ins for the daemon ---- */

char *hostname_g = "testhost";
static plugin_write_cb write_cb;
static user_data_t write_ud;
static char write_name[64];
static int complained, released;

int plugin_register_write(const char *name, plugin_write_cb callback,
                          user_data_t const *ud) {
  snprintf(write_name, sizeof(write_name), "%s", name);
  write_cb = callback;
  write_ud = *ud;
  return 0;
}

char *sstrncpy(char *dest, const char *src, size_t n) {
  snprintf(dest, n, "%s", src);
  return dest;
}

void plugin_log(int level, const char *format, ...) {
  (void)level;
  (void)format;
}

void c_complain_once(int level, c_complain_t *c, const char *format, ...) {
  (void)level;
  (void)format;
  if (c->interval == 0)
    complained++;
  c->interval = 1;
}

void c_do_release(int level, c_complain_t *c, const char *format, ...) {
  (void)level;
  (void)format;
  c->interval = 0;
  released++;
}

/* ---- Helpers ---- */

#define S(x) TIME_T_TO_CDTIME_T(x)
#define MS(x) MS_TO_CDTIME_T(x)
#define T0 1700003599 /* an hour's dateTill */

static account_t main_account = {.name = "main"};
static struct {
  int calls;
  int64_t last_till;
  char slug[64];
} told;

static void on_written(void *ud, const account_t *a, const char *slug,
                       int64_t last_till) {
  assert_ptr_equal(ud, &told);
  assert_ptr_equal(a, &main_account);
  snprintf(told.slug, sizeof(told.slug), "%s", slug);
  told.last_till = last_till;
  told.calls++;
}

/* The gate's write callback sees one value, as collectd would call it. */
static void written(const char *host, const char *plugin, const char *ti,
                    int64_t till) {
  value_list_t vl = VALUE_LIST_INIT;
  sstrncpy(vl.host, host, sizeof(vl.host));
  sstrncpy(vl.plugin, plugin, sizeof(vl.plugin));
  sstrncpy(vl.plugin_instance, "main", sizeof(vl.plugin_instance));
  sstrncpy(vl.type, "gauge", sizeof(vl.type));
  sstrncpy(vl.type_instance, ti, sizeof(vl.type_instance));
  vl.time = S(till);
  assert_int_equal(write_cb(NULL, &vl, &write_ud), 0);
}

static void hour_written(const char *slug, int64_t till) {
  char ti[128];
  snprintf(ti, sizeof(ti), "%s-volume_1h", slug);
  written("testhost", "anticaptcha", ti, till);
  snprintf(ti, sizeof(ti), "%s-money_1h", slug);
  written("testhost", "anticaptcha", ti, till);
}

static bool ready_within(hour_gate_series_t *g, cdtime_t wait) {
  bool ready = false;
  hour_gate_wait(&g, 1, &ready, mono_now() + wait);
  return ready;
}

static int start(void **state) {
  (void)state;
  memset(&told, 0, sizeof(told));
  complained = released = 0;
  assert_int_equal(hour_gate_start(on_written, &told, MS(150)), 0);
  return 0;
}

static int stop(void **state) {
  (void)state;
  hour_gate_free(NULL);
  return 0;
}

/* ---- Tests ---- */

static void not_started_means_ungated(void **state) {
  (void)state;
  hour_gate_free(NULL);
  assert_null(hour_gate_series(&main_account, "all"));
  hour_gate_series_t *none[2] = {NULL, NULL};
  bool ready[2] = {false, false};
  assert_int_equal(hour_gate_wait(none, 2, ready, mono_now()), 2);
  assert_true(ready[0] && ready[1]);
}

static void registers_a_write_callback(void **state) {
  (void)state;
  assert_string_equal(write_name, "anticaptcha");
  assert_non_null(write_cb);
  assert_ptr_equal(write_ud.free_func, hour_gate_free);
  assert_ptr_equal(hour_gate_series(&main_account, "all"),
                   hour_gate_series(&main_account, "all"));
}

static void next_hour_waits_for_both_values(void **state) {
  (void)state;
  hour_gate_series_t *g = hour_gate_series(&main_account, "all");
  assert_true(ready_within(g, 0)); /* nothing sent yet */
  hour_gate_sent(g, T0);
  cdtime_t before = mono_now();
  assert_false(ready_within(g, MS(40)));
  assert_true(mono_now() - before >= MS(40));
  written("testhost", "anticaptcha", "all-volume_1h", T0);
  assert_false(ready_within(g, 0));
  assert_int_equal(told.calls, 0);
  written("testhost", "anticaptcha", "all-money_1h", T0);
  assert_true(ready_within(g, 0));
  assert_int_equal(told.calls, 1);
  assert_int_equal(told.last_till, T0);
  assert_string_equal(told.slug, "all");
}

static void other_values_do_not_count(void **state) {
  (void)state;
  hour_gate_series_t *g = hour_gate_series(&main_account, "all");
  hour_gate_sent(g, T0);
  hour_written("all_x", T0);                                /* another slug */
  written("otherhost", "anticaptcha", "all-volume_1h", T0); /* a hub's edge */
  written("otherhost", "anticaptcha", "all-money_1h", T0);
  written("testhost", "cpu", "all-volume_1h", T0);
  written("testhost", "anticaptcha", "all-volume_24h", T0);
  written("testhost", "anticaptcha", "all-money_24h", T0);
  assert_false(ready_within(g, 0));
  hour_written("all", T0 - 3600); /* an older hour */
  assert_false(ready_within(g, 0));
  hour_written("all", T0);
  assert_true(ready_within(g, 0));
}

typedef struct {
  const char *slug;
  int64_t till;
} later_t;

static void *write_later(void *arg) {
  const later_t *l = arg;
  nanosleep(&(struct timespec){.tv_nsec = 30 * 1000 * 1000}, NULL);
  hour_written(l->slug, l->till);
  return NULL;
}

/* A write on another thread ends the wait at once, not at its deadline. */
static void a_write_wakes_the_reader(void **state) {
  (void)state;
  hour_gate_series_t *g[2] = {hour_gate_series(&main_account, "all"),
                              hour_gate_series(&main_account, "q")};
  hour_gate_sent(g[0], T0);
  hour_gate_sent(g[1], T0);
  later_t a = {"all", T0}, b = {"q", T0};
  pthread_t ta, tb;
  pthread_create(&ta, NULL, write_later, &a);
  pthread_create(&tb, NULL, write_later, &b);
  bool ready[2];
  cdtime_t before = mono_now();
  assert_int_equal(hour_gate_wait(g, 2, ready, before + S(5)), 2);
  assert_true(mono_now() - before < S(2));
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
}

/* Never written (a filter chain, WriteQueueLimit): let go after give_up,
 * said once; said again to be over once a value is written. */
static void given_up_after_a_while(void **state) {
  (void)state;
  hour_gate_series_t *g = hour_gate_series(&main_account, "all");
  hour_gate_sent(g, T0);
  assert_false(ready_within(g, MS(50)));
  cdtime_t before = mono_now();
  assert_true(ready_within(g, S(5)));
  assert_true(mono_now() - before < S(1));
  assert_int_equal(complained, 1);
  assert_true(ready_within(g, 0)); /* stays let go */
  hour_gate_sent(g, T0 + 3600);
  assert_true(ready_within(g, S(5)));
  assert_int_equal(complained, 1);
  hour_gate_sent(g, T0 + 7200);
  hour_written("all", T0 + 7200);
  assert_true(ready_within(g, 0));
  assert_int_equal(released, 1);
  assert_int_equal(told.last_till, T0 + 7200);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(not_started_means_ungated),
      cmocka_unit_test_setup_teardown(registers_a_write_callback, start, stop),
      cmocka_unit_test_setup_teardown(next_hour_waits_for_both_values, start,
                                      stop),
      cmocka_unit_test_setup_teardown(other_values_do_not_count, start, stop),
      cmocka_unit_test_setup_teardown(a_write_wakes_the_reader, start, stop),
      cmocka_unit_test_setup_teardown(given_up_after_a_while, start, stop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

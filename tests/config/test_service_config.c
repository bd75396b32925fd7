/* Unit tests for plugin/config/service_config.c: the Service option and the
 * options and rules a service cannot serve, each refused with one line
 * naming the service and the option. tests/stubs.c captures the lines. */
#include "config/service_config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "stubs.h"

/* An <Account> block holding the options given as key/value pairs (a NULL
 * value: a boolean option). */
typedef struct {
  oconfig_item_t block;
  oconfig_item_t children[4];
  oconfig_value_t values[4];
} block_t;

static void make_block(block_t *b, const char *const *kv, int n) {
  memset(b, 0, sizeof(*b));
  b->block.key = "Account";
  b->block.children = b->children;
  b->block.children_num = n;
  for (int i = 0; i < n; i++) {
    b->children[i].key = (char *)kv[2 * i];
    b->children[i].values = &b->values[i];
    b->children[i].values_num = 1;
    if (kv[2 * i + 1] != NULL)
      b->values[i] = (oconfig_value_t){.type = OCONFIG_TYPE_STRING,
                                       .value.string = (char *)kv[2 * i + 1]};
    else
      b->values[i] = (oconfig_value_t){.type = OCONFIG_TYPE_BOOLEAN,
                                       .value.boolean = true};
  }
}

static int setup(void **state) {
  (void)state;
  stub_log_reset();
  return 0;
}

/* The one error line logged names the option and the service. */
static void assert_refused(const char *option, const char *service) {
  char want[64];
  assert_int_equal(stub_log_count_level(LOG_ERR), 1);
  const char *line = stub_log_first(LOG_ERR)->text;
  snprintf(want, sizeof(want), "option \"%s\"", option);
  if (strstr(line, want) == NULL || strstr(line, service) == NULL)
    fail_msg("\"%s\" does not name %s and %s", line, want, service);
}

static void test_read_service(void **state) {
  (void)state;
  block_t b;
  account_t a = {0};
  make_block(&b, (const char *[]){"URL", "https://x", "Service", "CapSolver"},
             2);
  assert_int_equal(service_config_read(&a, &b.block, "Account \"a\""), 0);
  assert_ptr_equal(a.transport.service, service_find("capsolver"));
  assert_false(a.total_given);
  /* None: Anti-Captcha, as every configuration before. */
  make_block(&b, (const char *[]){"Total", NULL}, 1);
  assert_int_equal(service_config_read(&a, &b.block, "Account \"a\""), 0);
  assert_ptr_equal(a.transport.service, service_get(SERVICE_ANTI_CAPTCHA));
  assert_true(a.total_given);
  assert_int_equal(stub_log_count(), 0);
}

static void test_unknown_service(void **state) {
  (void)state;
  block_t b;
  account_t a = {0};
  make_block(&b, (const char *[]){"Service", "deathbycaptcha"}, 1);
  assert_int_equal(service_config_read(&a, &b.block, "Account \"a\""), -1);
  assert_refused("Service", "capmonster"); /* the line lists the names */
  stub_log_reset();
  make_block(&b, (const char *[]){"Service", NULL}, 1); /* not a string */
  assert_int_equal(service_config_read(&a, &b.block, "Account \"a\""), -1);
  assert_refused("Service", "2captcha");
}

static account_t balance_only(service_id_t id) {
  return (account_t){
      .transport.service = service_get(id), .total = true, .balance = true};
}

static void test_what_a_service_lacks(void **state) {
  (void)state;
  char *queues[] = {"Recaptcha Proxyless"};
  static const char *const names[] = {"capmonster", "2captcha", "capsolver"};
  for (service_id_t id = SERVICE_CAPMONSTER; id <= SERVICE_CAPSOLVER; id++) {
    const char *name = names[id - SERVICE_CAPMONSTER];
    account_t a = balance_only(id);
    /* The defaults: Total's true turns off, nothing is refused. */
    assert_int_equal(service_config_check_account(&a, "Account \"a\""), 0);
    assert_false(a.total);
    a = balance_only(id);
    a.queues = queues, a.num_queues = 1;
    assert_int_equal(service_config_check_account(&a, "Account \"a\""), -1);
    assert_refused("Queue", name);
    stub_log_reset();
    a = balance_only(id);
    a.total_given = true; /* Total true, written */
    assert_int_equal(service_config_check_account(&a, "Account \"a\""), -1);
    assert_refused("Total", name);
    stub_log_reset();
    a = balance_only(id);
    a.total_given = true, a.total = false; /* Total false: fine */
    assert_int_equal(service_config_check_account(&a, "Account \"a\""), 0);
    a = balance_only(id);
    a.incorrect_share = 10;
    assert_int_equal(service_config_check_account(&a, "Account \"a\""), -1);
    assert_refused("IncorrectReportShare", name);
    stub_log_reset();
    a = balance_only(id);
    a.soft_id = 7;
    assert_int_equal(service_config_check_account(&a, "Account \"a\""), -1);
    assert_refused("SoftId", name);
    stub_log_reset();
    a = balance_only(id);
    a.ip = "192.0.2.1";
    assert_int_equal(service_config_check_account(&a, "Account \"a\""), -1);
    assert_refused("IP", name);
    stub_log_reset();
  }
  /* Anti-Captcha has them all. */
  account_t a = balance_only(SERVICE_ANTI_CAPTCHA);
  a.queues = queues, a.num_queues = 1, a.incorrect_share = 10, a.soft_id = 7;
  assert_int_equal(service_config_check_account(&a, "Account \"a\""), 0);
  assert_true(a.total);
}

static void test_rules_and_window(void **state) {
  (void)state;
  account_t accounts[] = {balance_only(SERVICE_CAPMONSTER),
                          balance_only(SERVICE_2CAPTCHA)};
  strcpy(accounts[0].name, "cm");
  strcpy(accounts[1].name, "tc");
  report_rule_t rules[] = {
      {.name = "bad", .account = 1, .method = REPORT_CORRECT_RECAPTCHA},
      {.name = "ok", .account = 0, .method = REPORT_INCORRECT_HCAPTCHA}};
  plugin_config_t cfg = {.accounts = accounts,
                         .num_accounts = 2,
                         .rules = rules,
                         .num_rules = 2,
                         .window = TIME_T_TO_CDTIME_T(60)};
  /* 2captcha has reportCorrect: both rules stand. */
  assert_int_equal(service_config_finish(&cfg), 0);
  assert_ptr_equal(cfg.services[0], service_get(SERVICE_CAPMONSTER));
  assert_ptr_equal(cfg.services[1], service_get(SERVICE_2CAPTCHA));
  /* CapMonster has no "correct" report. */
  rules[0].account = 0;
  assert_int_equal(service_config_finish(&cfg), -1);
  assert_refused("Method", "capmonster");
  assert_non_null(strstr(stub_log_first(LOG_ERR)->text, "Report \"bad\""));
  stub_log_reset();
  /* Window past a service's report window. */
  rules[0].account = 1;
  cfg.window = TIME_T_TO_CDTIME_T(61);
  assert_int_equal(service_config_finish(&cfg), -1);
  assert_refused("Window", "capmonster");
  free(cfg.services);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_read_service, setup),
      cmocka_unit_test_setup(test_unknown_service, setup),
      cmocka_unit_test_setup(test_what_a_service_lacks, setup),
      cmocka_unit_test_setup(test_rules_and_window, setup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for plugin/configuration.c: <Plugin anticaptcha> parsing.
 * oconfig_item_t trees are built by hand; tests/stubs.c stands in for the
 * daemon's cf_util_* helpers and captures every log line. */
#include "config/config_check.h"
#include "config/configuration.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/queue_config.h"
#include "model/spending.h"
#include "stubs.h"
#include "util/secret.h"

#define KEY "K3y-7f6e5d4c3b2a1908-SECRET"
#define KEY2 "0therK3y-aaaabbbbccccdddd"
#define FILE_KEY "F1leK3y-0123456789abcdef"
#define MAX_CHILDREN 32
#define MAX_FILES 8

/* ---- building oconfig trees ---- */

static void item_init(oconfig_item_t *ci, const char *key,
                      oconfig_item_t *parent) {
  memset(ci, 0, sizeof(*ci));
  ci->key = strdup(key);
  assert_non_null(ci->key);
  ci->children = calloc(MAX_CHILDREN, sizeof(*ci->children));
  assert_non_null(ci->children);
  ci->parent = parent;
}

static void item_clear(oconfig_item_t *ci) {
  for (int i = 0; i < ci->children_num; i++)
    item_clear(&ci->children[i]);
  for (int i = 0; i < ci->values_num; i++)
    if (ci->values[i].type == OCONFIG_TYPE_STRING)
      free(ci->values[i].value.string);
  free(ci->values);
  free(ci->children);
  free(ci->key);
}

static oconfig_item_t *child(oconfig_item_t *parent, const char *key) {
  assert_true(parent->children_num < MAX_CHILDREN);
  oconfig_item_t *c = &parent->children[parent->children_num++];
  item_init(c, key, parent);
  return c;
}

static oconfig_item_t *add_value(oconfig_item_t *ci, oconfig_value_t v) {
  oconfig_value_t *tmp =
      realloc(ci->values, (size_t)(ci->values_num + 1) * sizeof(*tmp));
  assert_non_null(tmp);
  ci->values = tmp;
  ci->values[ci->values_num++] = v;
  return ci;
}

static oconfig_item_t *v_str(oconfig_item_t *ci, const char *s) {
  oconfig_value_t v = {.type = OCONFIG_TYPE_STRING};
  v.value.string = strdup(s);
  assert_non_null(v.value.string);
  return add_value(ci, v);
}

static oconfig_item_t *v_num(oconfig_item_t *ci, double d) {
  oconfig_value_t v = {.type = OCONFIG_TYPE_NUMBER};
  v.value.number = d;
  return add_value(ci, v);
}

static oconfig_item_t *v_bool(oconfig_item_t *ci, bool b) {
  oconfig_value_t v = {.type = OCONFIG_TYPE_BOOLEAN};
  v.value.boolean = b;
  return add_value(ci, v);
}

static oconfig_item_t *opt_str(oconfig_item_t *p, const char *key,
                               const char *s) {
  return v_str(child(p, key), s);
}
static oconfig_item_t *opt_num(oconfig_item_t *p, const char *key, double d) {
  return v_num(child(p, key), d);
}
static oconfig_item_t *opt_bool(oconfig_item_t *p, const char *key, bool b) {
  return v_bool(child(p, key), b);
}

/* ---- fixture: the tree, the parsed config, temporary key files ---- */

typedef struct {
  oconfig_item_t root;  /* <Plugin anticaptcha> */
  oconfig_item_t root2; /* a second block, as from a drop-in file */
  plugin_config_t cfg;
  char dir[64];
  char files[MAX_FILES][128];
  int num_files;
} fixture_t;

/* Replaces the tree with an empty <Plugin anticaptcha>. */
static void reset_root(fixture_t *f) {
  item_clear(&f->root);
  item_init(&f->root, "Plugin", NULL);
  v_str(&f->root, "anticaptcha");
}

static int setup(void **state) {
  fixture_t *f = calloc(1, sizeof(*f));
  if (f == NULL)
    return -1;
  item_init(&f->root, "Plugin", NULL);
  v_str(&f->root, "anticaptcha");
  item_init(&f->root2, "Plugin", NULL);
  v_str(&f->root2, "anticaptcha");
  /* Under TMPDIR: scripts/test checks that the tests leave nothing there. */
  const char *tmp = getenv("TMPDIR");
  if (tmp == NULL || tmp[0] == 0 || strlen(tmp) > 30)
    tmp = "/tmp";
  snprintf(f->dir, sizeof(f->dir), "%s/anticaptcha-test-XXXXXX", tmp);
  if (mkdtemp(f->dir) == NULL)
    return -1;
  stub_log_reset();
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture_t *f = *state;
  config_free(&f->cfg); /* safe on a zeroed or already freed config */
  item_clear(&f->root);
  item_clear(&f->root2);
  for (int i = 0; i < f->num_files; i++)
    unlink(f->files[i]);
  rmdir(f->dir);
  free(f);
  return 0;
}

/* Writes a file in the fixture's directory with the given mode. */
static const char *write_file(fixture_t *f, const char *name,
                              const char *content, mode_t mode) {
  assert_true(f->num_files < MAX_FILES);
  char *path = f->files[f->num_files++];
  snprintf(path, sizeof(f->files[0]), "%s/%s", f->dir, name);
  FILE *fh = fopen(path, "w");
  assert_non_null(fh);
  fputs(content, fh);
  fclose(fh);
  assert_int_equal(chmod(path, mode), 0);
  return path;
}

static oconfig_item_t *account_in(oconfig_item_t *root, const char *name,
                                  const char *key) {
  oconfig_item_t *a = opt_str(root, "Account", name);
  if (key != NULL)
    opt_str(a, "ClientKey", key);
  return a;
}

static oconfig_item_t *account(fixture_t *f, const char *name,
                               const char *key) {
  oconfig_item_t *a = opt_str(&f->root, "Account", name);
  if (key != NULL)
    opt_str(a, "ClientKey", key);
  return a;
}

static oconfig_item_t *report(fixture_t *f, const char *name) {
  return opt_str(&f->root, "Report", name);
}

/* No captured line shows any of the keys. */
static void assert_no_key_logged(void) {
  static const char *const keys[] = {KEY, KEY2, FILE_KEY};
  for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
    for (size_t i = 0; i < stub_log_count(); i++) {
      const stub_log_line_t *l = stub_log_line(i);
      if (l != NULL && strstr(l->text, keys[k]) != NULL)
        fail_msg("the key was logged: %s", l->text);
    }
}

static void dump_log(void) {
  for (size_t i = 0; i < stub_log_count(); i++) {
    const stub_log_line_t *l = stub_log_line(i);
    if (l != NULL)
      print_message("  log[%zu] level %d%s: %s\n", i, l->level,
                    l->daemon ? " (daemon helper)" : "", l->text);
  }
}

static void parse_ok(fixture_t *f) {
  config_free(&f->cfg);
  stub_log_reset();
  int rc = config_parse(&f->root, &f->cfg);
  if (rc != 0 || stub_log_count_level(LOG_ERR) != 0) {
    dump_log();
    fail_msg("config_parse returned %d with %zu ERROR lines", rc,
             stub_log_count_level(LOG_ERR));
  }
  assert_no_key_logged();
}

/* Parses a config that must be refused. True when config_parse returned -1
 * and logged exactly one ERROR line, naming where (account or rule) and the
 * option; otherwise the log is printed. In every case: no key in the log,
 * and after a refusal nothing is left allocated. */
static bool refused_with_one_error(fixture_t *f, const char *where,
                                   const char *option) {
  config_free(&f->cfg);
  stub_log_reset();
  memset(&f->cfg, 0x5a, sizeof(f->cfg));
  int rc = config_parse(&f->root, &f->cfg);
  size_t errors = stub_log_count_level(LOG_ERR);
  const stub_log_line_t *l = stub_log_first(LOG_ERR);
  assert_no_key_logged();
  if (rc == 0)
    print_message("config_parse accepted the config\n");
  else {
    assert_int_equal(rc, -1);
    /* config_free ran: nothing left to free. */
    assert_null(f->cfg.accounts);
    assert_int_equal(f->cfg.num_accounts, 0);
    assert_null(f->cfg.rules);
    assert_int_equal(f->cfg.num_rules, 0);
    assert_null(f->cfg.names);
  }
  if (rc == -1 && errors == 1 && strstr(l->text, where) != NULL &&
      strstr(l->text, option) != NULL)
    return true;
  dump_log();
  print_message("want -1 and one ERROR naming \"%s\" and \"%s\"; got %d and "
                "%zu ERROR lines\n",
                where, option, rc, errors);
  return false;
}

static void expect_error(fixture_t *f, const char *where, const char *option) {
  if (!refused_with_one_error(f, where, option))
    fail_msg("config not refused as expected");
}

/* ---- valid configs ---- */

static void test_minimal_defaults(void **state) {
  fixture_t *f = *state;
  account(f, "acct-main", KEY);
  parse_ok(f);
  assert_int_equal(stub_log_count(), 0);
  const plugin_config_t *c = &f->cfg;
  assert_int_equal(c->num_accounts, 1);
  const account_t *a = &c->accounts[0];
  assert_string_equal(a->name, "acct-main");
  assert_string_equal(a->client_key, KEY);
  assert_string_equal(a->transport.url, "https://api.anti-captcha.com");
  assert_true(a->total);
  assert_true(a->balance);
  assert_true(a->interval == TIME_T_TO_CDTIME_T(300));
  assert_true(a->transport.timeout == TIME_T_TO_CDTIME_T(10));
  assert_true(a->transport.verify_peer);
  assert_true(a->transport.verify_host);
  assert_int_equal(a->num_queues, 0);
  assert_true(a->soft_id == 0);
  assert_null(a->ip);
  assert_null(a->transport.ca_cert);
  assert_int_equal(c->queue_limit, 10000);
  assert_int_equal(c->max_in_flight, 128);
  assert_true(c->window == TIME_T_TO_CDTIME_T(60));
  assert_false(c->dry_run);
  assert_int_equal(c->num_rules, 0);
  assert_non_null(c->names);
  assert_string_equal(c->names[0], "acct-main");
}

static void test_full_config(void **state) {
  fixture_t *f = *state;
  /* A rule naming an account defined further down. */
  oconfig_item_t *r = report(f, "rule-one");
  opt_str(r, "Account", "acct-two");
  opt_str(r, "Method", "reportIncorrectImageCaptcha");
  opt_str(r, "Plugin", "logparser");
  opt_str(r, "PluginInstance", "solver");
  opt_str(r, "Type", "captcha");
  opt_str(r, "TypeInstance", "bad");
  opt_str(r, "Severity", "failure");
  opt_str(r, "TaskId", "meta:first"); /* replaced, not leaked */
  opt_str(r, "TaskId", "meta:job_id");

  oconfig_item_t *a = account(f, "acct-one", KEY);
  opt_str(a, "URL", "https://api.example.net/");
  opt_str(a, "Queue", "Recaptcha Proxyless");
  opt_str(a, "Queue", "English ImageToText");
  opt_bool(a, "Total", false);
  opt_num(a, "SoftId", 1234);
  opt_str(a, "IP", "192.0.2.1");
  opt_bool(a, "Balance", false);
  opt_num(a, "Interval", 60);
  opt_num(a, "Timeout", 2.5);
  opt_str(a, "CACert", "/etc/ssl/certs/ca.pem");
  opt_bool(a, "VerifyPeer", false);
  opt_bool(a, "VerifyHost", false);

  a = account(f, "acct-two", KEY2);
  opt_str(a, "url", "http://127.0.0.1:8080"); /* option names ignore case */

  r = report(f, "rule-two");
  opt_str(r, "Account", "acct-one");
  opt_str(r, "Method", "reportCorrectRecaptcha");
  opt_str(r, "Plugin", "exec");
  opt_str(r, "TaskId", "plugin_instance");

  opt_num(&f->root, "QueueLimit", 500);
  opt_num(&f->root, "MaxInFlight", 8);
  opt_num(&f->root, "Window", 30);
  opt_bool(&f->root, "DryRun", true);

  parse_ok(f);
  const plugin_config_t *c = &f->cfg;
  assert_int_equal(c->num_accounts, 2);
  const account_t *a1 = &c->accounts[0], *a2 = &c->accounts[1];
  assert_string_equal(a1->name, "acct-one");
  assert_string_equal(a1->client_key, KEY);
  assert_string_equal(a1->transport.url, "https://api.example.net");
  assert_int_equal(a1->num_queues, 2);
  assert_string_equal(a1->queues[0], "Recaptcha Proxyless");
  assert_string_equal(a1->queues[1], "English ImageToText");
  assert_false(a1->total);
  assert_true(a1->soft_id == 1234);
  assert_string_equal(a1->ip, "192.0.2.1");
  assert_false(a1->balance);
  assert_true(a1->interval == TIME_T_TO_CDTIME_T(60));
  assert_true(a1->transport.timeout == DOUBLE_TO_CDTIME_T(2.5));
  assert_string_equal(a1->transport.ca_cert, "/etc/ssl/certs/ca.pem");
  assert_false(a1->transport.verify_peer);
  assert_false(a1->transport.verify_host);

  assert_string_equal(a2->name, "acct-two");
  assert_string_equal(a2->client_key, KEY2);
  assert_string_equal(a2->transport.url, "http://127.0.0.1:8080");
  assert_true(a2->total);
  assert_true(a2->balance);

  assert_int_equal(c->queue_limit, 500);
  assert_int_equal(c->max_in_flight, 8);
  assert_true(c->window == TIME_T_TO_CDTIME_T(30));
  assert_true(c->dry_run);
  assert_string_equal(c->names[0], "acct-one");
  assert_string_equal(c->names[1], "acct-two");

  assert_int_equal(c->num_rules, 2);
  const report_rule_t *r1 = &c->rules[0], *r2 = &c->rules[1];
  assert_string_equal(r1->name, "rule-one");
  assert_int_equal(r1->account, 1);
  assert_int_equal(r1->method, REPORT_INCORRECT_IMAGE);
  assert_string_equal(r1->plugin, "logparser");
  assert_string_equal(r1->plugin_instance, "solver");
  assert_string_equal(r1->type, "captcha");
  assert_string_equal(r1->type_instance, "bad");
  assert_int_equal(r1->severity, NOTIF_FAILURE);
  assert_int_equal(r1->source, TASK_ID_META);
  assert_string_equal(r1->meta_key, "job_id");

  assert_string_equal(r2->name, "rule-two");
  assert_int_equal(r2->account, 0);
  assert_int_equal(r2->method, REPORT_CORRECT_RECAPTCHA);
  assert_string_equal(r2->plugin, "exec");
  assert_null(r2->plugin_instance);
  assert_null(r2->type);
  assert_null(r2->type_instance);
  assert_int_equal(r2->severity, 0);
  assert_int_equal(r2->source, TASK_ID_PLUGIN_INSTANCE);
}

/* With one account a rule may leave Account out. */
static void test_report_default_account(void **state) {
  fixture_t *f = *state;
  account(f, "acct-main", KEY);
  oconfig_item_t *r = report(f, "rule-x");
  opt_str(r, "Method", "reportIncorrectRecaptcha");
  opt_str(r, "Type", "token");
  opt_str(r, "Severity", "okay");
  parse_ok(f);
  assert_int_equal(f->cfg.num_rules, 1);
  assert_int_equal(f->cfg.rules[0].account, 0);
  assert_int_equal(f->cfg.rules[0].method, REPORT_INCORRECT_RECAPTCHA);
  assert_int_equal(f->cfg.rules[0].source, TASK_ID_TYPE_INSTANCE);
  assert_int_equal(f->cfg.rules[0].severity, NOTIF_OKAY);
}

/* ---- the client key ---- */

static void test_missing_key(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *a = account(f, "acct-main", NULL);
  opt_str(a, "URL", "https://api.example.net");
  expect_error(f, "acct-main", "ClientKey");
}

static void test_key_and_key_file(void **state) {
  fixture_t *f = *state;
  const char *path = write_file(f, "key", FILE_KEY "\n", 0600);
  oconfig_item_t *a = account(f, "acct-main", KEY);
  opt_str(a, "ClientKeyFile", path);
  expect_error(f, "acct-main", "ClientKey");

  /* The other order, and a key given twice. */
  reset_root(f);
  a = account(f, "acct-main", NULL);
  opt_str(a, "ClientKeyFile", path);
  opt_str(a, "ClientKey", KEY);
  expect_error(f, "acct-main", "ClientKey");

  reset_root(f);
  a = account(f, "acct-main", KEY);
  opt_str(a, "ClientKey", KEY2);
  expect_error(f, "acct-main", "ClientKey");
}

static void test_unreadable_key_file(void **state) {
  fixture_t *f = *state;
  char path[128];
  snprintf(path, sizeof(path), "%s/does-not-exist", f->dir);
  oconfig_item_t *a = account(f, "acct-main", NULL);
  opt_str(a, "ClientKeyFile", path);
  expect_error(f, "acct-main", "ClientKeyFile");
  assert_true(stub_log_contains("does-not-exist"));
}

static void test_empty_key(void **state) {
  fixture_t *f = *state;
  account(f, "acct-main", "");
  expect_error(f, "acct-main", "ClientKey");
}

static void test_blank_key_file(void **state) {
  fixture_t *f = *state;
  static const char *const contents[] = {"", "\n", "   \t \r\n",
                                         "  \n" FILE_KEY "\n"};
  for (size_t i = 0; i < sizeof(contents) / sizeof(contents[0]); i++) {
    char name[16];
    snprintf(name, sizeof(name), "blank%zu", i);
    const char *path = write_file(f, name, contents[i], 0600);
    reset_root(f);
    oconfig_item_t *a = account(f, "acct-main", NULL);
    opt_str(a, "ClientKeyFile", path);
    expect_error(f, "acct-main", "ClientKeyFile");
  }
}

static void test_key_file_read(void **state) {
  fixture_t *f = *state;
  const char *path =
      write_file(f, "key", "  \t" FILE_KEY "  \r\nsecond line\n", 0600);
  oconfig_item_t *a = account(f, "acct-main", NULL);
  opt_str(a, "ClientKeyFile", path);
  parse_ok(f);
  assert_string_equal(f->cfg.accounts[0].client_key, FILE_KEY);
  assert_int_equal(stub_log_count_level(LOG_WARNING), 0);
  assert_int_equal(stub_log_count(), 0);
}

/* A key file others may read is used, with one warning. */
static void test_key_file_loose_mode_warning(void **state) {
  fixture_t *f = *state;
  static const mode_t modes[] = {0644, 0640, 0604, 0660, 0666};
  for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
    char name[16];
    snprintf(name, sizeof(name), "loose%zu", i);
    const char *path = write_file(f, name, FILE_KEY "\n", modes[i]);
    config_free(&f->cfg);
    reset_root(f);
    oconfig_item_t *a = account(f, "acct-main", NULL);
    opt_str(a, "ClientKeyFile", path);
    parse_ok(f);
    assert_string_equal(f->cfg.accounts[0].client_key, FILE_KEY);
    assert_int_equal(stub_log_count_level(LOG_WARNING), 1);
    const stub_log_line_t *w = stub_log_first(LOG_WARNING);
    assert_non_null(strstr(w->text, "acct-main"));
    assert_non_null(strstr(w->text, "ClientKeyFile"));
    assert_non_null(strstr(w->text, name));
  }
}

static void test_read_key_file_direct(void **state) {
  fixture_t *f = *state;
  char why[256];
  bool loose = true;
  const char *path = write_file(f, "k1", FILE_KEY "\n", 0400);
  char *key = config_read_key_file(path, &loose, why, sizeof(why));
  assert_non_null(key);
  assert_string_equal(key, FILE_KEY);
  assert_false(loose);
  secret_free(key);

  path = write_file(f, "k2", "\t" FILE_KEY "\r\n", 0620);
  key = config_read_key_file(path, &loose, why, sizeof(why));
  assert_non_null(key);
  assert_string_equal(key, FILE_KEY);
  assert_true(loose);
  secret_free(key);

  path = write_file(f, "k3", " \n", 0600);
  why[0] = 0;
  assert_null(config_read_key_file(path, &loose, why, sizeof(why)));
  assert_true(why[0] != 0);

  why[0] = 0;
  assert_null(
      config_read_key_file("/nonexistent/dir/key", &loose, why, sizeof(why)));
  assert_non_null(strstr(why, "/nonexistent/dir/key"));
}

/* ---- the hub pair's secret ---- */

#define PAIR_SECRET                                                            \
  "5f1c0e9a7b3d42c6a8e1f07d9b2c4e6a1d3f5b7c9e0a2c4e6f8b0d2f4a6c8e0b"

static void pair_with_secret_file(fixture_t *f, const char *path) {
  reset_root(f);
  account(f, "acct-main", KEY);
  opt_str(&f->root, "PairPeer", "hub-b");
  if (path != NULL)
    opt_str(&f->root, "PairSecretFile", path);
}

static void assert_secret_not_logged(void) {
  for (size_t i = 0; i < stub_log_count(); i++)
    if (strstr(stub_log_line(i)->text, PAIR_SECRET) != NULL)
      fail_msg("the pair's secret was logged: %s", stub_log_line(i)->text);
}

static void test_pair_secret_file(void **state) {
  fixture_t *f = *state;
  const char *path = write_file(f, "pair", "  " PAIR_SECRET "\r\n", 0600);
  pair_with_secret_file(f, path);
  parse_ok(f);
  assert_string_equal(f->cfg.pair_secret, PAIR_SECRET);
  assert_true(secret_owns(f->cfg.pair_secret));
  assert_int_equal(stub_log_count(), 0);

  /* Required with PairPeer: without it any host speaks for the peer. */
  pair_with_secret_file(f, NULL);
  expect_error(f, "Plugin anticaptcha", "PairSecretFile");
  assert_true(stub_log_contains("required with PairPeer"));

  pair_with_secret_file(f, path);
  opt_str(&f->root, "PairSecretFile", path);
  expect_error(f, "Plugin anticaptcha", "PairSecretFile");

  /* Without PairPeer it is unused, and said so. */
  reset_root(f);
  account(f, "acct-main", KEY);
  opt_str(&f->root, "PairSecretFile", path);
  parse_ok(f);
  assert_int_equal(stub_log_count_level(LOG_WARNING), 1);
  assert_true(stub_log_contains("unused without PairPeer"));
  assert_secret_not_logged();
}

static void test_pair_secret_file_refused(void **state) {
  fixture_t *f = *state;
  char secret[PAIR_SECRET_MAX + 3];
  /* 31 and 257 characters; a blank inside; a symbolic link. */
  memset(secret, 'a', sizeof(secret));
  snprintf(secret + PAIR_SECRET_MIN - 1, 2, "\n");
  const char *bad[] = {write_file(f, "short", secret, 0600), NULL, NULL, NULL};
  memset(secret, 'a', sizeof(secret));
  snprintf(secret + PAIR_SECRET_MAX + 1, 2, "\n");
  bad[1] = write_file(f, "long", secret, 0600);
  bad[2] = write_file(f, "blank", "0123456789abcdef 0123456789abcdef\n", 0600);
  char link_path[160];
  snprintf(link_path, sizeof(link_path), "%s/link", f->dir);
  const char *target = write_file(f, "target", PAIR_SECRET "\n", 0600);
  assert_int_equal(symlink(target, link_path), 0);
  bad[3] = link_path;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    pair_with_secret_file(f, bad[i]);
    expect_error(f, "Plugin anticaptcha", "PairSecretFile");
    assert_secret_not_logged();
  }
  assert_true(stub_log_contains("symbolic link"));
  unlink(link_path);

  /* The bounds themselves are accepted. */
  char why[160];
  memset(secret, 'a', sizeof(secret));
  assert_int_equal(
      config_check_pair_secret(secret, PAIR_SECRET_MIN, why, sizeof(why)), 0);
  assert_int_equal(
      config_check_pair_secret(secret, PAIR_SECRET_MAX, why, sizeof(why)), 0);
  assert_int_equal(
      config_check_pair_secret(secret, PAIR_SECRET_MIN - 1, why, sizeof(why)),
      -1);
  assert_non_null(strstr(why, "give 32 to 256"));
}

/* The key shows in no log line, whatever goes wrong after it is read. */
static void test_key_never_logged(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *a = account(f, "acct-main", KEY);
  opt_str(a, "URL", "ftp://api.anti-captcha.com/");
  expect_error(f, "acct-main", "URL");

  const char *path = write_file(f, "k", FILE_KEY, 0644);
  reset_root(f);
  a = account(f, "acct-main", NULL);
  opt_str(a, "ClientKeyFile", path);
  opt_str(a, "Bogus", "x");
  expect_error(f, "acct-main", "Bogus");
}

/* ---- unknown options ---- */

static void test_unknown_option_in_account(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *a = account(f, "acct-main", KEY);
  opt_str(a, "ClientSecret", "x");
  expect_error(f, "acct-main", "ClientSecret");
}

static void test_unknown_option_in_report(void **state) {
  fixture_t *f = *state;
  account(f, "acct-main", KEY);
  oconfig_item_t *r = report(f, "rule-x");
  opt_str(r, "Method", "reportIncorrectRecaptcha");
  opt_str(r, "Plugin", "logparser");
  opt_str(r, "Host", "somewhere");
  expect_error(f, "rule-x", "Host");
}

static void test_unknown_option_top_level(void **state) {
  fixture_t *f = *state;
  account(f, "acct-main", KEY);
  opt_num(&f->root, "Retries", 3);
  expect_error(f, "anticaptcha", "Retries");
}

/* ---- URLs ---- */

static void test_bad_urls(void **state) {
  fixture_t *f = *state;
  static const char *const urls[] = {
      "ftp://api.anti-captcha.com",
      "http://10.0.0.1",
      "http://10.0.0.1:80/",
      "http://example.com",
      "http://api.anti-captcha.com",
      "http://localhost.example.com",
      "http://128.0.0.1",
      "http://[::2]:80",
      "api.anti-captcha.com",
      "https://",
      "https:///path",
      "http://",
      "",
  };
  for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
    reset_root(f);
    oconfig_item_t *a = account(f, "acct-main", KEY);
    opt_str(a, "URL", urls[i]);
    expect_error(f, "acct-main", "URL");
  }
}

/* libcurl reads "user:password@" before the host: in these URLs the host is
 * evil.example and the key would travel in clear to it. */
static void test_http_userinfo_not_loopback(void **state) {
  fixture_t *f = *state;
  static const char *const urls[] = {
      "http://127.0.0.1:80@evil.example/", "http://localhost:@evil.example",
      "http://localhost:x@10.0.0.1",       "http://[::1]@evil.example/",
      "http://localhost@evil.example",
  };
  int failures = 0;
  for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
    char why[256] = "";
    if (config_check_url(urls[i], why, sizeof(why)) == 0) {
      print_message("\"%s\" accepted as loopback\n", urls[i]);
      failures++;
    }
    reset_root(f);
    oconfig_item_t *a = account(f, "acct-main", KEY);
    opt_str(a, "URL", urls[i]);
    if (!refused_with_one_error(f, "acct-main", "URL"))
      failures++;
  }
  assert_int_equal(failures, 0);
}

static void test_good_urls(void **state) {
  fixture_t *f = *state;
  static const struct {
    const char *url, *stored;
  } urls[] = {
      {"https://api.anti-captcha.com", "https://api.anti-captcha.com"},
      {"https://api.anti-captcha.com/", "https://api.anti-captcha.com"},
      {"https://api.example.net:8443//", "https://api.example.net:8443"},
      {"HTTPS://API.EXAMPLE.NET", "HTTPS://API.EXAMPLE.NET"},
      {"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
      {"http://127.0.0.1:8080/", "http://127.0.0.1:8080"},
      {"http://127.1.2.3/api", "http://127.1.2.3/api"},
      {"http://[::1]:80", "http://[::1]:80"},
      {"http://[::1]/", "http://[::1]"},
      {"http://localhost", "http://localhost"},
      {"http://localhost:8080/", "http://localhost:8080"},
      {"http://LOCALHOST", "http://LOCALHOST"},
  };
  for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
    config_free(&f->cfg);
    reset_root(f);
    oconfig_item_t *a = account(f, "acct-main", KEY);
    opt_str(a, "URL", urls[i].url);
    parse_ok(f);
    assert_string_equal(f->cfg.accounts[0].transport.url, urls[i].stored);
  }
}

static void test_check_url_direct(void **state) {
  (void)state;
  char why[256];
  assert_int_equal(
      config_check_url("https://api.anti-captcha.com", why, sizeof(why)), 0);
  assert_int_equal(config_check_url("http://127.0.0.1:8080", why, sizeof(why)),
                   0);
  assert_int_equal(config_check_url("http://[::1]:80", why, sizeof(why)), 0);
  assert_int_equal(config_check_url("http://localhost", why, sizeof(why)), 0);
  why[0] = 0;
  assert_int_equal(config_check_url("http://example.com", why, sizeof(why)),
                   -1);
  assert_true(why[0] != 0);
  why[0] = 0;
  assert_int_equal(config_check_url("ftp://example.com", why, sizeof(why)), -1);
  assert_true(why[0] != 0);
  assert_int_equal(config_check_url("http://10.0.0.1", why, sizeof(why)), -1);
}

/* ---- accounts ---- */

static void test_duplicate_account(void **state) {
  fixture_t *f = *state;
  account(f, "acct-main", KEY);
  account(f, "acct-main", KEY2);
  expect_error(f, "acct-main", "Account");
}

static void test_no_account(void **state) {
  fixture_t *f = *state;
  opt_num(&f->root, "QueueLimit", 10);
  expect_error(f, "anticaptcha", "Account");
}

static void test_bad_account_names(void **state) {
  fixture_t *f = *state;
  char long_name[ACCOUNT_NAME_MAX + 1];
  memset(long_name, 'n', ACCOUNT_NAME_MAX);
  long_name[ACCOUNT_NAME_MAX] = 0;
  const char *names[] = {"", "a/b", long_name};
  for (size_t i = 0; i < 3; i++) {
    reset_root(f);
    account(f, names[i], KEY);
    expect_error(f, "Account", "Account");
  }
  /* One character less fits. */
  long_name[ACCOUNT_NAME_MAX - 1] = 0;
  reset_root(f);
  account(f, long_name, KEY);
  parse_ok(f);
  assert_string_equal(f->cfg.accounts[0].name, long_name);
}

static void test_interval_zero(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *a = account(f, "acct-main", KEY);
  opt_num(a, "Interval", 0);
  expect_error(f, "acct-main", "Interval");
}

/* collectd's cf_util_get_cdtime logs its own ERROR for a negative number;
 * the user must still read exactly one line, and it must name the account. */
static void test_interval_negative(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *a = account(f, "acct-main", KEY);
  opt_num(a, "Interval", -5);
  expect_error(f, "acct-main", "Interval");
}

static void test_timeout_zero(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *a = account(f, "acct-main", KEY);
  opt_num(a, "Timeout", 0);
  expect_error(f, "acct-main", "Timeout");
}

static void test_soft_id_not_positive(void **state) {
  fixture_t *f = *state;
  static const double ids[] = {0, -1};
  for (size_t i = 0; i < 2; i++) {
    reset_root(f);
    oconfig_item_t *a = account(f, "acct-main", KEY);
    opt_num(a, "SoftId", ids[i]);
    expect_error(f, "acct-main", "SoftId");
  }
}

/* A value of the wrong type: the line the user reads must still say which
 * account it is about. */
static void test_wrong_value_type_names_account(void **state) {
  fixture_t *f = *state;
  static const struct {
    const char *option;
    int type;
  } cases[] = {
      {"ClientKey", OCONFIG_TYPE_NUMBER}, {"Interval", OCONFIG_TYPE_STRING},
      {"Total", OCONFIG_TYPE_NUMBER},     {"URL", OCONFIG_TYPE_BOOLEAN},
      {"SoftId", OCONFIG_TYPE_STRING},
  };
  int failures = 0;
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    reset_root(f);
    account(f, "acct-first", KEY2);
    oconfig_item_t *a = account(f, "acct-main", NULL);
    if (strcmp(cases[i].option, "ClientKey") != 0)
      opt_str(a, "ClientKey", KEY);
    oconfig_item_t *o = child(a, cases[i].option);
    if (cases[i].type == OCONFIG_TYPE_NUMBER)
      v_num(o, 42);
    else if (cases[i].type == OCONFIG_TYPE_STRING)
      v_str(o, "ten");
    else
      v_bool(o, true);
    if (!refused_with_one_error(f, "acct-main", cases[i].option))
      failures++;
  }
  assert_int_equal(failures, 0);
}

/* No value, or two values. */
static void test_wrong_value_count(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *a = account(f, "acct-main", KEY);
  oconfig_item_t *q = child(a, "Queue");
  v_str(q, "one");
  v_str(q, "two");
  stub_log_reset();
  assert_int_equal(config_parse(&f->root, &f->cfg), -1);
  assert_true(stub_log_count_level(LOG_ERR) >= 1);
  assert_no_key_logged();

  reset_root(f);
  child(&f->root, "Account"); /* <Account> without a name */
  stub_log_reset();
  assert_int_equal(config_parse(&f->root, &f->cfg), -1);
  assert_int_equal(stub_log_count_level(LOG_ERR), 1);
  assert_non_null(strstr(stub_log_first(LOG_ERR)->text, "Account"));
}

static void test_empty_queue(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *a = account(f, "acct-main", KEY);
  opt_str(a, "Queue", "");
  expect_error(f, "acct-main", "Queue");
}

static void test_nothing_to_poll(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *a = account(f, "acct-main", KEY);
  opt_bool(a, "Total", false);
  opt_bool(a, "Balance", false);
  expect_error(f, "acct-main", "Queue");
}

static void test_same_slug_queues(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *a = account(f, "acct-main", KEY);
  opt_str(a, "Queue", "Recaptcha Proxyless");
  opt_str(a, "Queue", "recaptcha-proxyless");
  expect_error(f, "acct-main", "Queue");
}

static void test_queue_slug_all_with_total(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *a = account(f, "acct-main", KEY);
  opt_str(a, "Queue", "All");
  expect_error(f, "acct-main", "Queue");

  /* Without the total, "all" is free. */
  reset_root(f);
  a = account(f, "acct-main", KEY);
  opt_bool(a, "Total", false);
  opt_str(a, "Queue", "All");
  parse_ok(f);
  assert_int_equal(f->cfg.accounts[0].num_queues, 1);
}

static void test_queue_slug_too_long(void **state) {
  fixture_t *f = *state;
  char q[SPENDING_SLUG_MAX + 2];
  memset(q, 'q', sizeof(q) - 1);
  q[sizeof(q) - 1] = 0;
  oconfig_item_t *a = account(f, "acct-main", KEY);
  opt_str(a, "Queue", q);
  expect_error(f, "acct-main", "Queue");
}

/* A queue refused after others were accepted: whatever realloc did, the list
 * stays consistent. A double free would abort the whole test program, so the
 * parse runs in a child process; under valgrind the child's errors make its
 * exit status non-zero too. */
static void test_empty_queue_after_queue(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *a = account(f, "acct-main", KEY);
  opt_str(a, "Queue", "Recaptcha Proxyless");
  opt_str(a, "Queue", "English ImageToText");
  opt_str(a, "Queue", "Funcaptcha");
  opt_str(a, "Queue", "");
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    /* cmocka's handlers would resume the test run in this child. */
    static const int sigs[] = {SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
      signal(sigs[i], SIG_DFL);
    plugin_config_t cfg;
    stub_log_reset();
    int rc = config_parse(&f->root, &cfg);
    const stub_log_line_t *l = stub_log_first(LOG_ERR);
    bool ok = rc == -1 && stub_log_count_level(LOG_ERR) == 1 &&
              strstr(l->text, "acct-main") != NULL &&
              strstr(l->text, "Queue") != NULL;
    _exit(ok ? 0 : 3);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail_msg("the parse %s (status 0x%x)",
             WIFSIGNALED(status) ? "crashed" : "failed", status);
}

/* ---- several <Plugin anticaptcha> blocks ---- */

/* A rule may name an account of a later block; options of every block
 * count. */
static void test_blocks_combined(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *r = report(f, "rule-x");
  opt_str(r, "Account", "acct-late");
  opt_str(r, "Method", "reportIncorrectRecaptcha");
  opt_str(r, "Plugin", "logparser");
  account(f, "acct-early", KEY);
  opt_num(&f->root, "QueueLimit", 77);
  account_in(&f->root2, "acct-late", KEY2);
  opt_num(&f->root2, "MaxInFlight", 3);

  stub_log_reset();
  config_init(&f->cfg);
  assert_int_equal(f->cfg.queue_limit, 10000); /* the default */
  assert_int_equal(config_add_block(&f->root, &f->cfg), 0);
  assert_int_equal(config_add_block(&f->root2, &f->cfg), 0);
  assert_int_equal(config_finish(&f->cfg), 0);
  assert_int_equal(stub_log_count_level(LOG_ERR), 0);
  assert_int_equal(f->cfg.num_accounts, 2);
  assert_string_equal(f->cfg.names[0], "acct-early");
  assert_string_equal(f->cfg.names[1], "acct-late");
  assert_ptr_equal(f->cfg.names[1], f->cfg.accounts[1].name);
  assert_int_equal(f->cfg.num_rules, 1);
  assert_int_equal(f->cfg.rules[0].account, 1);
  assert_int_equal(f->cfg.queue_limit, 77);
  assert_int_equal(f->cfg.max_in_flight, 3);
  assert_no_key_logged();
}

static void test_blocks_duplicate_account(void **state) {
  fixture_t *f = *state;
  account(f, "acct-main", KEY);
  account_in(&f->root2, "acct-main", KEY2);
  stub_log_reset();
  config_init(&f->cfg);
  assert_int_equal(config_add_block(&f->root, &f->cfg), 0);
  assert_int_equal(config_add_block(&f->root2, &f->cfg), -1);
  assert_int_equal(stub_log_count_level(LOG_ERR), 1);
  assert_non_null(strstr(stub_log_first(LOG_ERR)->text, "acct-main"));
  assert_no_key_logged();
  config_free(&f->cfg); /* the caller frees after an error */
  assert_null(f->cfg.accounts);
}

/* A rule naming an account that no block defines is found at the end. */
static void test_blocks_rule_unknown_account(void **state) {
  fixture_t *f = *state;
  account(f, "acct-main", KEY);
  oconfig_item_t *r = opt_str(&f->root2, "Report", "rule-x");
  opt_str(r, "Account", "acct-nowhere");
  opt_str(r, "Method", "reportIncorrectRecaptcha");
  opt_str(r, "Plugin", "logparser");
  stub_log_reset();
  config_init(&f->cfg);
  assert_int_equal(config_add_block(&f->root, &f->cfg), 0);
  assert_int_equal(config_add_block(&f->root2, &f->cfg), 0);
  assert_int_equal(config_finish(&f->cfg), -1);
  assert_int_equal(stub_log_count_level(LOG_ERR), 1);
  const char *line = stub_log_first(LOG_ERR)->text;
  assert_non_null(strstr(line, "rule-x"));
  assert_non_null(strstr(line, "Account"));
  assert_non_null(strstr(line, "acct-nowhere"));
  config_free(&f->cfg);
}

static void test_finish_without_account(void **state) {
  fixture_t *f = *state;
  opt_num(&f->root, "Window", 30);
  stub_log_reset();
  config_init(&f->cfg);
  assert_int_equal(config_add_block(&f->root, &f->cfg), 0);
  assert_int_equal(config_finish(&f->cfg), -1);
  assert_int_equal(stub_log_count_level(LOG_ERR), 1);
  assert_non_null(strstr(stub_log_first(LOG_ERR)->text, "Account"));
  config_free(&f->cfg);
}

/* ---- global options ---- */

static void test_window_limits(void **state) {
  fixture_t *f = *state;
  static const double bad[] = {61, 0, 3600};
  for (size_t i = 0; i < 3; i++) {
    reset_root(f);
    account(f, "acct-main", KEY);
    opt_num(&f->root, "Window", bad[i]);
    expect_error(f, "anticaptcha", "Window");
  }
  reset_root(f);
  account(f, "acct-main", KEY);
  opt_num(&f->root, "Window", 60);
  parse_ok(f);
  assert_true(f->cfg.window == TIME_T_TO_CDTIME_T(60));
}

/* StateFile: a path, or false; CatchUpDays: 0 to 90 days per account. */
static void test_state_file_and_catch_up(void **state) {
  fixture_t *f = *state;
  account(f, "acct-main", KEY);
  parse_ok(f);
  assert_null(f->cfg.state_file); /* the default under BaseDir */
  assert_false(f->cfg.state_file_off);
  assert_int_equal(f->cfg.accounts[0].catch_up_days, 7);

  reset_root(f);
  oconfig_item_t *a = account(f, "acct-main", KEY);
  opt_num(a, "CatchUpDays", 0);
  opt_str(&f->root, "StateFile", "/var/lib/x/ac.state");
  parse_ok(f);
  assert_string_equal(f->cfg.state_file, "/var/lib/x/ac.state");
  assert_int_equal(f->cfg.accounts[0].catch_up_days, 0);

  reset_root(f);
  account(f, "acct-main", KEY);
  opt_bool(&f->root, "StateFile", false);
  parse_ok(f);
  assert_true(f->cfg.state_file_off);
  assert_null(f->cfg.state_file);

  static const double bad_days[] = {-1, 91, 1.5};
  for (size_t i = 0; i < 3; i++) {
    reset_root(f);
    a = account(f, "acct-main", KEY);
    opt_num(a, "CatchUpDays", bad_days[i]);
    expect_error(f, "acct-main", "CatchUpDays");
  }
  reset_root(f);
  account(f, "acct-main", KEY);
  opt_str(&f->root, "StateFile", "");
  expect_error(f, "anticaptcha", "StateFile");
  reset_root(f);
  account(f, "acct-main", KEY);
  opt_num(&f->root, "StateFile", 5);
  expect_error(f, "anticaptcha", "StateFile");
}

static void test_queue_limit_and_in_flight(void **state) {
  fixture_t *f = *state;
  static const struct {
    const char *option;
    double value;
  } bad[] = {{"QueueLimit", 0},
             {"QueueLimit", -1},
             {"QueueLimit", 1000001},
             {"MaxInFlight", 0},
             {"MaxInFlight", 1025},
             {"MaxConnectionsPerHost", 0},
             {"MaxConnectionsPerHost", 1025}};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    reset_root(f);
    account(f, "acct-main", KEY);
    opt_num(&f->root, bad[i].option, bad[i].value);
    expect_error(f, "anticaptcha", bad[i].option);
  }
  reset_root(f);
  account(f, "acct-main", KEY);
  opt_num(&f->root, "QueueLimit", 1);
  opt_num(&f->root, "MaxInFlight", 1024);
  parse_ok(f);
  assert_int_equal(f->cfg.queue_limit, 1);
  assert_int_equal(f->cfg.max_in_flight, 1024);
  assert_int_equal(f->cfg.max_connections, 0); /* as MaxInFlight */
  reset_root(f);
  account(f, "acct-main", KEY);
  opt_num(&f->root, "MaxConnectionsPerHost", 6);
  parse_ok(f);
  assert_int_equal(f->cfg.max_connections, 6);
}

/* ---- <Report> errors ---- */

/* Two accounts and a rule with a valid method and condition, for the tests
 * to spoil one option at a time. */
static oconfig_item_t *two_accounts_and_rule(fixture_t *f, const char *method,
                                             bool with_account) {
  account(f, "acct-main", KEY);
  account(f, "acct-other", KEY2);
  oconfig_item_t *r = report(f, "rule-x");
  if (with_account)
    opt_str(r, "Account", "acct-main");
  if (method != NULL)
    opt_str(r, "Method", method);
  return r;
}

static void test_report_without_method(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *r = two_accounts_and_rule(f, NULL, true);
  opt_str(r, "Plugin", "logparser");
  expect_error(f, "rule-x", "Method");
}

static void test_report_unknown_method(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *r =
      two_accounts_and_rule(f, "reportCorrectImageCaptcha", true);
  opt_str(r, "Plugin", "logparser");
  expect_error(f, "rule-x", "Method");
}

static void test_report_unknown_account(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *r =
      two_accounts_and_rule(f, "reportIncorrectRecaptcha", false);
  opt_str(r, "Account", "acct-nowhere");
  opt_str(r, "Plugin", "logparser");
  expect_error(f, "rule-x", "Account");
  assert_true(stub_log_contains("acct-nowhere"));
}

static void test_report_no_condition(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *r =
      two_accounts_and_rule(f, "reportIncorrectRecaptcha", true);
  opt_str(r, "Severity", "failure");
  opt_str(r, "TaskId", "type_instance");
  expect_error(f, "rule-x", "Plugin");
}

static void test_report_no_account_with_two(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *r =
      two_accounts_and_rule(f, "reportIncorrectRecaptcha", false);
  opt_str(r, "Plugin", "logparser");
  expect_error(f, "rule-x", "Account");
}

static void test_report_bad_task_id_source(void **state) {
  fixture_t *f = *state;
  static const char *const sources[] = {"meta:", "meta", "host", ""};
  for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
    reset_root(f);
    oconfig_item_t *r =
        two_accounts_and_rule(f, "reportIncorrectRecaptcha", true);
    opt_str(r, "Plugin", "logparser");
    opt_str(r, "TaskId", sources[i]);
    expect_error(f, "rule-x", "TaskId");
  }
}

static void test_report_bad_severity(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *r =
      two_accounts_and_rule(f, "reportIncorrectRecaptcha", true);
  opt_str(r, "Plugin", "logparser");
  opt_str(r, "Severity", "critical");
  expect_error(f, "rule-x", "Severity");
}

/* ---- <QueueStats> and IncorrectReportShare (issue 13) ---- */

static oconfig_item_t *queue_stats(oconfig_item_t *root) {
  return child(root, "QueueStats");
}

/* Names (either of the vendor's spellings) and ids; no account, no key. */
static void test_queue_stats_block(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *q = queue_stats(&f->root);
  opt_str(q, "Queue", "Recaptcha Proxyless");
  opt_num(q, "Queue", 22);
  opt_str(q, "Queue", "ImageToText, English");
  opt_num(q, "Queue", 777);
  opt_str(q, "URL", "http://127.0.0.1:8080/");
  opt_num(q, "Interval", 15);
  opt_num(q, "Timeout", 3);
  parse_ok(f);
  const queue_stats_config_t *c = f->cfg.queue_stats;
  assert_non_null(c);
  assert_int_equal(f->cfg.num_accounts, 0);
  assert_int_equal(c->num_queues, 4);
  assert_int_equal(c->ids[0], 6);
  assert_int_equal(c->ids[1], 22);
  assert_int_equal(c->ids[2], 1);
  assert_int_equal(c->ids[3], 777);
  assert_string_equal(c->slugs[0], "recaptcha_proxyless");
  assert_string_equal(c->slugs[1], "hcaptcha_without_proxy");
  assert_string_equal(c->slugs[2], "imagetotext_english");
  assert_string_equal(c->slugs[3], "queue777");
  assert_string_equal(c->queues[1], "22");
  /* api_transport_t has no key to send, and no name: the values go out
   * under QUEUE_STATS_INSTANCE (queue_reader.c). */
  assert_string_equal(c->transport.url, "http://127.0.0.1:8080");
  assert_true(c->interval == TIME_T_TO_CDTIME_T(15));
  assert_true(c->transport.timeout == TIME_T_TO_CDTIME_T(3));
  assert_true(c->transport.verify_peer && c->transport.verify_host);
}

static void test_queue_stats_defaults_beside_account(void **state) {
  fixture_t *f = *state;
  account(f, "acct-main", KEY);
  opt_num(queue_stats(&f->root), "Queue", 6);
  parse_ok(f);
  const queue_stats_config_t *c = f->cfg.queue_stats;
  assert_string_equal(c->transport.url, "https://api.anti-captcha.com");
  assert_true(c->interval == TIME_T_TO_CDTIME_T(60));
  assert_string_equal(c->slugs[0], "recaptcha_v2_without_proxy");
  assert_true(f->cfg.accounts[0].incorrect_share == 0); /* guard off */
}

/* The transport options an account has, from the same table rows. */
static void test_queue_stats_proxy_and_ca_path(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *q = queue_stats(&f->root);
  opt_num(q, "Queue", 6);
  opt_str(q, "CAPath", "/etc/ssl/certs");
  opt_str(q, "Proxy", "http://127.0.0.1:3128");
  parse_ok(f);
  const api_transport_t *t = &f->cfg.queue_stats->transport;
  assert_string_equal(t->ca_path, "/etc/ssl/certs");
  assert_string_equal(t->proxy, "http://127.0.0.1:3128");

  /* Plain http goes to this machine directly, never through a proxy. */
  reset_root(f);
  q = queue_stats(&f->root);
  opt_num(q, "Queue", 6);
  opt_str(q, "URL", "http://127.0.0.1:8080");
  opt_str(q, "Proxy", "http://127.0.0.1:3128");
  expect_error(f, "QueueStats", "Proxy");

  /* No key to lose, but the warning still says what is at stake. */
  reset_root(f);
  q = queue_stats(&f->root);
  opt_num(q, "Queue", 6);
  opt_bool(q, "VerifyPeer", false);
  parse_ok(f);
  assert_true(stub_log_contains("forge the API's answers"));
  assert_false(stub_log_contains("read the key"));
}

static void test_queue_stats_refused(void **state) {
  fixture_t *f = *state;
  struct {
    const char *option;
    double number; /* used when text is NULL */
    const char *text;
  } bad[] = {
      {"Interval", 9.5, NULL},    {"Interval", 0, NULL},
      {"Queue", 0, NULL},         {"Queue", 1.5, NULL},
      {"Queue", 0, "Nope Queue"}, {"URL", 0, "http://example.com"},
      {"Timeout", 0, NULL},       {"ClientKey", 0, KEY},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    reset_root(f);
    oconfig_item_t *q = queue_stats(&f->root);
    if (strcmp(bad[i].option, "Queue") != 0)
      opt_num(q, "Queue", 6);
    if (bad[i].text != NULL)
      opt_str(q, bad[i].option, bad[i].text);
    else
      opt_num(q, bad[i].option, bad[i].number);
    expect_error(f, "QueueStats", bad[i].option);
  }
  reset_root(f); /* no queue */
  opt_num(queue_stats(&f->root), "Interval", 30);
  expect_error(f, "QueueStats", "Queue");
  reset_root(f); /* one queue twice, by id and by name */
  oconfig_item_t *q = queue_stats(&f->root);
  opt_num(q, "Queue", 6);
  opt_str(q, "Queue", "recaptcha v2 without proxy");
  expect_error(f, "QueueStats", "Queue");
  reset_root(f); /* two blocks */
  opt_num(queue_stats(&f->root), "Queue", 6);
  opt_num(queue_stats(&f->root), "Queue", 5);
  expect_error(f, "QueueStats", "QueueStats");
  reset_root(f); /* an account would share the plugin instance */
  account(f, QUEUE_STATS_INSTANCE, KEY);
  opt_num(queue_stats(&f->root), "Queue", 6);
  expect_error(f, "Account \"queues\"", "Account");
  reset_root(f); /* neither an account nor queue statistics */
  expect_error(f, "Plugin anticaptcha", "Account");
}

/* AntiGate (id 25) takes a template name; each template is its own series. */
static void test_queue_stats_antigate_template(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *q = queue_stats(&f->root);
  v_str(opt_num(q, "Queue", 25), "CloudFlare cookies for a proxy");
  v_str(opt_str(q, "Queue", "AntiGateTask"), "Other template");
  opt_num(q, "Queue", 25);
  parse_ok(f);
  const queue_stats_config_t *c = f->cfg.queue_stats;
  assert_int_equal(c->num_queues, 3);
  assert_string_equal(c->templates[0], "CloudFlare cookies for a proxy");
  assert_string_equal(c->slugs[0],
                      "antigatetask_cloudflare_cookies_for_a_proxy");
  assert_string_equal(c->queues[0], "25 CloudFlare cookies for a proxy");
  assert_string_equal(c->slugs[1], "antigatetask_other_template");
  assert_null(c->templates[2]);
  assert_string_equal(c->slugs[2], "antigatetask");
  reset_root(f); /* a template for another queue */
  v_str(opt_num(queue_stats(&f->root), "Queue", 6), "CloudFlare");
  expect_error(f, "QueueStats", "Queue");
  reset_root(f); /* the same template twice */
  q = queue_stats(&f->root);
  v_str(opt_num(q, "Queue", 25), "T1");
  v_str(opt_str(q, "Queue", "AntiGateTask"), "T1");
  expect_error(f, "QueueStats", "Queue");
  reset_root(f); /* three values */
  v_str(v_str(opt_num(queue_stats(&f->root), "Queue", 25), "T1"), "T2");
  expect_error(f, "QueueStats", "Queue");
}

static void test_incorrect_report_share(void **state) {
  fixture_t *f = *state;
  opt_num(account(f, "acct-main", KEY), "IncorrectReportShare", 2.5);
  parse_ok(f);
  assert_true(f->cfg.accounts[0].incorrect_share == 2.5);
  static const double bad[] = {0, -1, 100.5};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    reset_root(f);
    opt_num(account(f, "acct-main", KEY), "IncorrectReportShare", bad[i]);
    expect_error(f, "acct-main", "IncorrectReportShare");
  }
  reset_root(f);
  opt_str(account(f, "acct-main", KEY), "IncorrectReportShare", "5%");
  expect_error(f, "acct-main", "IncorrectReportShare");
}

static void test_report_method_hcaptcha(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *r = two_accounts_and_rule(f, "reportIncorrectHcaptcha", true);
  opt_str(r, "Plugin", "logparser");
  parse_ok(f);
  assert_int_equal(f->cfg.rules[0].method, REPORT_INCORRECT_HCAPTCHA);
}

/* ---- issue 17: ranges, URL length, key files, transport ---- */

/* Every numeric option has a range; values outside are refused, and values
 * beyond int64_t are refused before any conversion (clang's
 * -fsanitize=float-cast-overflow caught SoftId 1e300 and QueueLimit 1e30). */
static void test_numeric_ranges(void **state) {
  fixture_t *f = *state;
  static const struct {
    const char *option;
    double value;
    bool global;
  } bad[] = {
      {"Interval", 0.5, false},    {"Interval", 0.001, false},
      {"Interval", 86401, false},  {"Timeout", 0.0004, false},
      {"Timeout", 601, false},     {"SoftId", 1e300, false},
      {"SoftId", -1e300, false},   {"SoftId", 2147483648.0, false},
      {"SoftId", 1.5, false},      {"Window", 0.5, true},
      {"QueueLimit", 1e30, true},  {"QueueLimit", 1000001, true},
      {"MaxInFlight", 1e19, true}, {"MaxInFlight", 1025, true},
      {"QueueLimit", -1e30, true},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    reset_root(f);
    oconfig_item_t *a = account(f, "acct-main", KEY);
    opt_num(bad[i].global ? &f->root : a, bad[i].option, bad[i].value);
    if (!refused_with_one_error(f, bad[i].global ? "anticaptcha" : "acct-main",
                                bad[i].option))
      fail_msg("%s %g was not refused", bad[i].option, bad[i].value);
  }
  /* The edges are accepted. */
  reset_root(f);
  oconfig_item_t *a = account(f, "acct-main", KEY);
  opt_num(a, "Interval", 1);
  opt_num(a, "Timeout", 0.001);
  opt_num(a, "SoftId", 2147483647.0);
  opt_num(&f->root, "Window", 1);
  parse_ok(f);
  assert_true(CDTIME_T_TO_MS(f->cfg.accounts[0].transport.timeout) >= 1);
}

/* A URL that does not fit is refused, not cut. */
static void test_url_too_long(void **state) {
  fixture_t *f = *state;
  char url[URL_MAX + 64];
  snprintf(url, sizeof(url), "https://api.example.com/");
  size_t n = strlen(url);
  memset(url + n, 'a', URL_MAX + 1 - n);
  url[URL_MAX + 1] = 0;
  oconfig_item_t *a = account(f, "acct-main", KEY);
  opt_str(a, "URL", url);
  expect_error(f, "acct-main", "URL");
  assert_true(stub_log_contains("longer than"));
  url[URL_MAX] = 0; /* exactly URL_MAX: accepted */
  reset_root(f);
  a = account(f, "acct-main", KEY);
  opt_str(a, "URL", url);
  parse_ok(f);
}

static void test_account_named_reports(void **state) {
  fixture_t *f = *state;
  account(f, "reports", KEY);
  expect_error(f, "reports", "Account");
}

/* Runs config_read_key_file in a child with a deadline: a FIFO must not
 * block it. Returns the child's exit status: 0 refused, 1 accepted, 2 hung. */
static int read_key_in_child(const char *path) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    char why[256];
    bool loose;
    alarm(3);
    char *key = config_read_key_file(path, &loose, why, sizeof(why));
    _exit(key != NULL ? 1 : 0);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
    return 2;
  assert_true(WIFEXITED(status));
  return WEXITSTATUS(status);
}

static void test_key_file_not_regular(void **state) {
  fixture_t *f = *state;
  char path[128], why[256];
  bool loose;
  /* A FIFO (no writer): refused at once instead of hanging start-up. */
  snprintf(path, sizeof(path), "%s/fifo", f->dir);
  assert_int_equal(mkfifo(path, 0600), 0);
  snprintf(f->files[f->num_files++], sizeof(f->files[0]), "%s", path);
  assert_int_equal(read_key_in_child(path), 0);
  why[0] = 0;
  assert_null(config_read_key_file(path, &loose, why, sizeof(why)));
  assert_non_null(strstr(why, "not a regular file"));
  /* A directory. */
  assert_null(config_read_key_file(f->dir, &loose, why, sizeof(why)));
  assert_non_null(strstr(why, "not a regular file"));
  /* A symbolic link, even to a good key file. */
  const char *target = write_file(f, "real", FILE_KEY "\n", 0600);
  snprintf(path, sizeof(path), "%s/link", f->dir);
  assert_int_equal(symlink(target, path), 0);
  snprintf(f->files[f->num_files++], sizeof(f->files[0]), "%s", path);
  why[0] = 0;
  assert_null(config_read_key_file(path, &loose, why, sizeof(why)));
  assert_non_null(strstr(why, "symbolic link"));
  oconfig_item_t *a = account(f, "acct-main", NULL);
  opt_str(a, "ClientKeyFile", path);
  expect_error(f, "acct-main", "ClientKeyFile");
}

/* A NUL, a control character, a blank inside, or a line too long: refused
 * with the reason, never cut silently. */
static void test_key_file_bad_contents(void **state) {
  fixture_t *f = *state;
  static const struct {
    const char *content;
    size_t len;
    const char *why;
  } bad[] = {
      {"abc\0def\n", 8, "NUL"},
      {"abc\x01"
       "def\n",
       8, "control character"},
      {"abc\x1b[2Jdef\n", 11, "control character"},
      {"abc def\n", 8, "blank"},
      {"0123456789abcdef0123456789abcdef0\n", 34, "longer than the 32"},
  };
  char why[256];
  bool loose;
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char path[128];
    snprintf(path, sizeof(path), "%s/bad%zu", f->dir, i);
    FILE *fh = fopen(path, "w");
    assert_non_null(fh);
    assert_int_equal(fwrite(bad[i].content, 1, bad[i].len, fh), bad[i].len);
    fclose(fh);
    chmod(path, 0600);
    snprintf(f->files[f->num_files++], sizeof(f->files[0]), "%s", path);
    why[0] = 0;
    char *key = config_read_key_file(path, &loose, why, sizeof(why));
    if (key != NULL)
      fail_msg("case %zu accepted as \"%s\"", i, key);
    if (strstr(why, bad[i].why) == NULL)
      fail_msg("case %zu: \"%s\" does not say %s", i, why, bad[i].why);
    f->num_files--; /* reuse the slot */
    unlink(path);
  }
  /* A first line of 600 characters. */
  char longline[700];
  memset(longline, 'k', 600);
  strcpy(longline + 600, "\n");
  const char *path = write_file(f, "long", longline, 0600);
  why[0] = 0;
  assert_null(config_read_key_file(path, &loose, why, sizeof(why)));
  assert_non_null(strstr(why, "longer than"));
  /* A key of exactly 32 characters is taken, in secret memory. */
  path = write_file(f, "k32", "0123456789abcdef0123456789abcdef\n", 0600);
  char *key = config_read_key_file(path, &loose, why, sizeof(why));
  assert_non_null(key);
  assert_string_equal(key, "0123456789abcdef0123456789abcdef");
  assert_true(secret_owns(key));
  secret_free(key);
}

static void test_inline_key_checked_and_secret(void **state) {
  fixture_t *f = *state;
  account(f, "acct-main", "abc\ndef");
  expect_error(f, "acct-main", "ClientKey");
  reset_root(f);
  account(f, "acct-main", KEY);
  parse_ok(f);
  assert_true(secret_owns(f->cfg.accounts[0].client_key));
}

static void test_proxy_and_trust_options(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *a = account(f, "acct-main", KEY);
  opt_str(a, "Proxy", "http://proxy.example.com:3128");
  opt_str(a, "CACert", "/etc/ssl/own.pem");
  opt_str(a, "CAPath", "/etc/ssl/own.d");
  parse_ok(f);
  assert_string_equal(f->cfg.accounts[0].transport.proxy,
                      "http://proxy.example.com:3128");
  assert_string_equal(f->cfg.accounts[0].transport.ca_path, "/etc/ssl/own.d");
  assert_int_equal(stub_log_count_level(LOG_WARNING), 0);

  /* Plain http to loopback never goes through a proxy. */
  reset_root(f);
  a = account(f, "acct-main", KEY);
  opt_str(a, "URL", "http://127.0.0.1:8080");
  opt_str(a, "Proxy", "http://proxy.example.com:3128");
  expect_error(f, "acct-main", "Proxy");
  /* "" (no proxy at all) is fine with it. */
  reset_root(f);
  a = account(f, "acct-main", KEY);
  opt_str(a, "URL", "http://127.0.0.1:8080");
  opt_str(a, "Proxy", "");
  parse_ok(f);
}

static void test_verify_off_warns(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *a = account(f, "acct-main", KEY);
  opt_bool(a, "VerifyPeer", false);
  opt_bool(a, "VerifyHost", false);
  parse_ok(f);
  assert_int_equal(stub_log_count_level(LOG_WARNING), 2);
  assert_true(stub_log_contains("VerifyPeer"));
  assert_true(stub_log_contains("VerifyHost"));
}

/* ---- Service (doc/services.md; the checks: test_service_config.c) ---- */

#define CAPSOLVER_KEY                                                          \
  "CAP-3F9A1C7E5B2D8F4A6C0E9B1D7F3A5C8E2B4D6F8A0C1E3B5D7F9A2C4E6B8D0F1A"

static void test_service_through_the_parser(void **state) {
  fixture_t *f = *state;
  /* Written after the key: read first all the same (its key is long). */
  oconfig_item_t *a = account(f, "cs", CAPSOLVER_KEY);
  opt_str(a, "Service", "capsolver");
  opt_bool(a, "Balance", false); /* reports only: enough there */
  a = account(f, "cm", KEY);
  opt_str(a, "Service", "capmonster");
  parse_ok(f);
  const plugin_config_t *c = &f->cfg;
  assert_ptr_equal(c->accounts[0].transport.service,
                   service_get(SERVICE_CAPSOLVER));
  assert_string_equal(c->accounts[0].transport.url,
                      "https://api.capsolver.com");
  assert_string_equal(c->accounts[1].transport.url,
                      "https://api.capmonster.cloud");
  assert_false(c->accounts[1].total); /* nothing to poll but the balance */
  assert_ptr_equal(c->services[1], service_get(SERVICE_CAPMONSTER));
  assert_no_key_logged();
}

static void test_service_key_length(void **state) {
  fixture_t *f = *state;
  /* Anti-Captcha's keys stay at 32 characters, inline and in a file. */
  account(f, "ac", CAPSOLVER_KEY);
  expect_error(f, "ac", "ClientKey");
  reset_root(f);
  const char *path = write_file(f, "cs.key", CAPSOLVER_KEY "\n", 0600);
  oconfig_item_t *a = opt_str(&f->root, "Account", "ac");
  opt_str(a, "ClientKeyFile", path);
  expect_error(f, "ac", "ClientKeyFile");
  reset_root(f);
  a = opt_str(&f->root, "Account", "cs");
  opt_str(a, "ClientKeyFile", path);
  opt_str(a, "Service", "capsolver");
  parse_ok(f);
  assert_string_equal(f->cfg.accounts[0].client_key, CAPSOLVER_KEY);
}

static void test_service_refusals_through_the_parser(void **state) {
  fixture_t *f = *state;
  oconfig_item_t *a = account(f, "cm", KEY);
  opt_str(a, "Service", "capmonster");
  opt_str(a, "Queue", "Recaptcha Proxyless");
  expect_error(f, "cm", "Queue");
  reset_root(f);
  a = account(f, "cm", KEY);
  opt_str(a, "Service", "CapMonster");
  oconfig_item_t *r = report(f, "ok");
  opt_str(r, "Method", "reportCorrectRecaptcha");
  opt_str(r, "Plugin", "solver");
  expect_error(f, "ok", "Method");
}

int main(void) {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_minimal_defaults),
      T(test_full_config),
      T(test_report_default_account),
      T(test_missing_key),
      T(test_key_and_key_file),
      T(test_unreadable_key_file),
      T(test_empty_key),
      T(test_blank_key_file),
      T(test_key_file_read),
      T(test_key_file_loose_mode_warning),
      T(test_read_key_file_direct),
      T(test_key_never_logged),
      T(test_pair_secret_file),
      T(test_pair_secret_file_refused),
      T(test_unknown_option_in_account),
      T(test_unknown_option_in_report),
      T(test_unknown_option_top_level),
      T(test_bad_urls),
      T(test_http_userinfo_not_loopback),
      T(test_good_urls),
      T(test_check_url_direct),
      T(test_duplicate_account),
      T(test_no_account),
      T(test_bad_account_names),
      T(test_interval_zero),
      T(test_interval_negative),
      T(test_timeout_zero),
      T(test_soft_id_not_positive),
      T(test_wrong_value_type_names_account),
      T(test_wrong_value_count),
      T(test_empty_queue),
      T(test_empty_queue_after_queue),
      T(test_nothing_to_poll),
      T(test_same_slug_queues),
      T(test_queue_slug_all_with_total),
      T(test_queue_slug_too_long),
      T(test_blocks_combined),
      T(test_blocks_duplicate_account),
      T(test_blocks_rule_unknown_account),
      T(test_finish_without_account),
      T(test_state_file_and_catch_up),
      T(test_window_limits),
      T(test_queue_limit_and_in_flight),
      T(test_report_without_method),
      T(test_report_unknown_method),
      T(test_report_unknown_account),
      T(test_report_no_condition),
      T(test_report_no_account_with_two),
      T(test_report_bad_task_id_source),
      T(test_report_bad_severity),
      T(test_queue_stats_block),
      T(test_queue_stats_defaults_beside_account),
      T(test_queue_stats_proxy_and_ca_path),
      T(test_queue_stats_refused),
      T(test_queue_stats_antigate_template),
      T(test_incorrect_report_share),
      T(test_report_method_hcaptcha),
      T(test_numeric_ranges),
      T(test_url_too_long),
      T(test_account_named_reports),
      T(test_key_file_not_regular),
      T(test_key_file_bad_contents),
      T(test_inline_key_checked_and_secret),
      T(test_proxy_and_trust_options),
      T(test_verify_off_warns),
      T(test_service_through_the_parser),
      T(test_service_key_length),
      T(test_service_refusals_through_the_parser),
  };
#undef T
  return cmocka_run_group_tests(tests, NULL, NULL);
}

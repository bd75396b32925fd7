/* collectd-anticaptcha: module_register and the thin glue between collectd's
 * callbacks and the plugin's modules. */
#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_complain.h"
#include "collectd/core/utils/common/common.h"

#include <curl/curl.h>
#include <pthread.h>

#include "configuration.h"
#include "dispatch.h"
#include "reader.h"
#include "report_match.h"
#include "report_sender.h"
#include "state_store.h"

#ifndef ANTICAPTCHA_VERSION
#define ANTICAPTCHA_VERSION "unknown"
#endif

/* How long reports in flight may take to finish when collectd stops. */
#define SHUTDOWN_GRACE MS_TO_CDTIME_T(2000)

/* Owned by the notification callback's user data, which collectd frees
 * last, after the read callbacks' data and the shutdown callbacks. */
typedef struct {
  plugin_config_t cfg;
  report_sender_t *sender;
  pthread_mutex_t log_lock; /* c_complain_t has no lock of its own */
  c_complain_t bad_notification, late_notification, full_queue;
  c_complain_t full_seen, stopping;
  uint64_t invalid; /* guarded by log_lock */
} context_t;

static context_t *ctx; /* set by the config callback */

static void context_free(void *arg) {
  context_t *c = arg;
  if (c == NULL)
    return;
  sender_destroy(c->sender);
  config_free(&c->cfg);
  pthread_mutex_destroy(&c->log_lock);
  free(c);
  if (ctx == c)
    ctx = NULL;
}

static void complain_bad(context_t *c, const notification_t *n,
                         const char *why) {
  pthread_mutex_lock(&c->log_lock);
  c->invalid++;
  c_complain(LOG_WARNING, &c->bad_notification,
             "anticaptcha plugin: ignoring a report request (plugin \"%s\", "
             "type \"%s\"): %s. Nothing was sent; fix what raises it.",
             n->plugin, n->type, why);
  pthread_mutex_unlock(&c->log_lock);
}

/* Late requests are counted per account as "expired"; logged apart from the
 * invalid ones so neither hides the other. */
static void complain_late(context_t *c, const report_request_t *req) {
  pthread_mutex_lock(&c->log_lock);
  c_complain(LOG_WARNING, &c->late_notification,
             "anticaptcha plugin: Account \"%s\": task %" PRIu64 " finished "
             "more than Window seconds ago; no report sent. Raise report "
             "notifications promptly and keep clocks in sync.",
             c->cfg.names[req->account], req->task_id);
  pthread_mutex_unlock(&c->log_lock);
}

/* In a flood every unixsock thread drops every notification: the first drop
 * of a thread and every 1,024th after it ask c_complain (a clock read under a
 * shared lock), and not while another thread holds the lock, logging
 * already. The drops are counted either way. */
static void complain_full(context_t *c) {
  static __thread unsigned drops;
  if (drops++ % 1024 != 0 || pthread_mutex_trylock(&c->log_lock) != 0)
    return;
  c_complain(LOG_WARNING, &c->full_queue,
             "anticaptcha plugin: the report queue is full (QueueLimit %zu); "
             "reports are dropped and counted. Raise QueueLimit or "
             "MaxInFlight, or check that the API answers.",
             c->cfg.queue_limit);
  pthread_mutex_unlock(&c->log_lock);
}

/* The other reasons a report is not queued, each with its own advice. */
static void complain_other(context_t *c, submit_result_t r) {
  if (pthread_mutex_trylock(&c->log_lock) != 0)
    return; /* another thread is logging the same flood */
  if (r == SUBMIT_SEEN_FULL)
    c_complain(LOG_WARNING, &c->full_seen,
               "anticaptcha plugin: more task ids than the plugin remembers "
               "at once arrived within a Window; reports are dropped and "
               "counted. Lower Window or the report rate.");
  else
    c_complain(LOG_NOTICE, &c->stopping,
               "anticaptcha plugin: collectd is shutting down; reports "
               "arriving now are counted as abandoned. Nothing to do.");
  pthread_mutex_unlock(&c->log_lock);
}

/* Runs on collectd's unixsock, network, read and write threads: match, copy,
 * enqueue, return. No I/O here. */
static int ac_notify(const notification_t *n, user_data_t *ud) {
  context_t *c = ud->data;
  report_request_t req;
  /* Other plugins' threads may notify before ac_init() has finished. */
  report_sender_t *sender = __atomic_load_n(&c->sender, __ATOMIC_ACQUIRE);
  if (sender == NULL)
    return 0;
  char why[160];
  account_names_t names = {c->cfg.names, c->cfg.num_accounts};

  switch (report_match(n, c->cfg.rules, c->cfg.num_rules, names, &req, why,
                       sizeof(why))) {
  case MATCH_INVALID:
    complain_bad(c, n, why);
    return 0;
  case MATCH_REPORT:
    break;
  default:
    return 0;
  }
  submit_result_t submit = sender_submit(sender, &req);
  switch (submit) {
  case SUBMIT_EXPIRED:
    complain_late(c, &req);
    break;
  case SUBMIT_DROPPED:
    complain_full(c);
    break;
  case SUBMIT_SEEN_FULL:
  case SUBMIT_STOPPING:
    complain_other(c, submit);
    break;
  default:
    break;
  }
  return 0;
}

static int ac_read_counters(user_data_t *ud) {
  context_t *c = ud->data;
  char ti[DATA_MAX_NAME_LEN];
  for (size_t i = 0; i < c->cfg.num_accounts; i++) {
    report_counters_t k;
    uint64_t values[REPORT_COUNTER_COUNT];
    sender_counters(c->sender, i, &k);
    report_counter_values(&k, values);
    for (size_t v = 0; v < REPORT_COUNTER_COUNT; v++) {
      snprintf(ti, sizeof(ti), "reports-%s", report_counter_names[v]);
      dispatch_derive(c->cfg.names[i], ti, values[v]);
    }
    dispatch_gauge(c->cfg.names[i], "gauge", "reports-state",
                   sender_state(c->sender, i), 0, 0);
  }
  pthread_mutex_lock(&c->log_lock);
  uint64_t invalid = c->invalid;
  pthread_mutex_unlock(&c->log_lock);
  dispatch_derive("", "notifications-invalid", invalid);
  return 0;
}

/* Called once per <Plugin anticaptcha> block; drop-in files may bring
 * several, so blocks are merged and checked as a whole in ac_init(). */
static int ac_config(oconfig_item_t *ci) {
  if (ctx == NULL) {
    context_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
      return -1;
    pthread_mutex_init(&c->log_lock, NULL);
    C_COMPLAIN_INIT(&c->bad_notification);
    C_COMPLAIN_INIT(&c->late_notification);
    C_COMPLAIN_INIT(&c->full_queue);
    C_COMPLAIN_INIT(&c->full_seen);
    C_COMPLAIN_INIT(&c->stopping);
    config_init(&c->cfg);
    ctx = c;
    /* From here on collectd owns c through the notification's user data. */
    if (plugin_register_notification(
            "anticaptcha", ac_notify,
            &(user_data_t){.data = c, .free_func = context_free}) != 0)
      return -1;
  }
  return config_add_block(ci, &ctx->cfg);
}

static int ac_init(void) {
  if (ctx == NULL) {
    ERROR("anticaptcha plugin: no <Plugin anticaptcha> block; the plugin "
          "has nothing to do. Add an <Account>.");
    return -1;
  }
  if (config_finish(&ctx->cfg) != 0)
    return -1;
  report_sender_t *sender = sender_create(&ctx->cfg);
  if (sender == NULL) {
    ERROR("anticaptcha plugin: cannot set up the report sender (out of "
          "memory or libcurl failure).");
    return -1;
  }
  /* Before the readers (their last hours) and before notifications reach
   * the sender (the remembered task ids). */
  state_store_open(&ctx->cfg, sender);
  __atomic_store_n(&ctx->sender, sender, __ATOMIC_RELEASE);
  for (size_t i = 0; i < ctx->cfg.num_accounts; i++)
    if (reader_register(&ctx->cfg.accounts[i]) != 0)
      return -1;
  if (plugin_register_complex_read(NULL, "anticaptcha/reports",
                                   ac_read_counters, 0,
                                   &(user_data_t){.data = ctx}) != 0)
    return -1;
  INFO("anticaptcha plugin: version %s, %zu account(s), %zu report rule(s)%s.",
       ANTICAPTCHA_VERSION, ctx->cfg.num_accounts, ctx->cfg.num_rules,
       ctx->cfg.dry_run ? ", DryRun: no reports are sent" : "");
  return sender_start(ctx->sender);
}

static int ac_shutdown(void) {
  if (ctx != NULL && ctx->sender != NULL) {
    sender_stop(ctx->sender, SHUTDOWN_GRACE);
    state_store_close(); /* what is left unsent goes into the file */
  }
  return 0;
}

void module_register(void) {
  /* Before any thread exists: curl_global_init is not thread-safe. */
  curl_global_init(CURL_GLOBAL_ALL);
  plugin_register_complex_config("anticaptcha", ac_config);
  plugin_register_init("anticaptcha", ac_init);
  plugin_register_shutdown("anticaptcha", ac_shutdown);
}

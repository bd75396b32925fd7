/* collectd-anticaptcha: module_register and the thin glue between collectd's
 * callbacks and the plugin's modules. */
#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_complain.h"
#include "collectd/core/utils/common/common.h"

#include <curl/curl.h>
#include <pthread.h>

#include "api/response.h"
#include "config/configuration.h"
#include "model/report_match.h"
#include "pair/pair_link.h"
#include "readers/hour_gate.h"
#include "readers/queue_reader.h"
#include "readers/reader.h"
#include "reports/report_limit.h"
#include "reports/report_sender.h"
#include "state/state_store.h"
#include "util/dispatch.h"

#ifndef ANTICAPTCHA_VERSION
#define ANTICAPTCHA_VERSION "unknown"
#endif

/* How long reports in flight may take to finish when collectd stops. */
#define SHUTDOWN_GRACE MS_TO_CDTIME_T(2000)

/* Owned by the notification callback's user data, which collectd frees
 * last, after the read callbacks' data and the shutdown callbacks. */
typedef struct {
  plugin_config_t cfg;
  report_sender_t *sender; /* set once prepared; NULL again at shutdown */
  pair_link_t *pair;       /* NULL without PairPeer; set before sender */
  state_store_t *state;    /* NULL without a state file; set before sender */
  /* The report-rate guards (IncorrectReportShare), per account; NULL where
   * it is off. Set before sender. */
  report_limit_t **limits;
  bool prepared; /* guarded by prepare_lock */
  int prepare_status;
  pthread_mutex_t log_lock; /* c_complain_t has no lock of its own */
  c_complain_t bad_notification, late_notification, full_queue;
  c_complain_t full_seen, stopping;
  uint64_t invalid; /* guarded by log_lock */
} context_t;

static context_t *ctx; /* set by the config callback */

/* The gate between collectd's notification threads and the context.
 * collectd calls ac_notify from unixsock and network threads that it does not
 * stop at shutdown, even while it frees the notification list: a call may
 * start at any time, up to the moment context_free runs and after. So every
 * call counts itself in, and teardown closes the gate and waits for the
 * calls already inside before it frees anything they reach. Both live
 * outside the context, so a late call never touches freed memory. */
static int notify_callers;
static bool notify_closed;
static pthread_mutex_t prepare_lock = PTHREAD_MUTEX_INITIALIZER;

/* How long teardown waits for the calls inside (each takes microseconds). */
#define GATE_WAIT_MS 2000

/* Returns 0 once no call can reach the context any more, or -1 when calls
 * stayed inside past GATE_WAIT_MS (the context is then left allocated). */
static int gate_close(void) {
  __atomic_store_n(&notify_closed, true, __ATOMIC_SEQ_CST);
  for (int ms = 0; __atomic_load_n(&notify_callers, __ATOMIC_SEQ_CST) > 0;
       ms++) {
    if (ms >= GATE_WAIT_MS)
      return -1;
    nanosleep(&(struct timespec){.tv_nsec = 1000 * 1000}, NULL);
  }
  return 0;
}

/* Tears the sender down: stop taking jobs, let what is in flight finish,
 * then wait out the notification calls still inside before freeing. */
static void sender_teardown(context_t *c) {
  if (c->sender == NULL)
    return;
  sender_stop(c->sender, SHUTDOWN_GRACE);
  /* After the sender: the pair confirms what it finished. */
  pair_link_stop(c->pair);
  /* What is left unsent goes into the file; the queue stays as it is, since
   * submits are refused from here on. */
  state_store_close(c->state);
  if (gate_close() != 0) {
    WARNING("anticaptcha plugin: notification calls still running at "
            "shutdown; the report queue is left allocated.");
    return;
  }
  sender_destroy(c->sender);
  c->sender = NULL;
}

static void context_free(void *arg) {
  context_t *c = arg;
  if (c == NULL)
    return;
  if (gate_close() != 0)
    return; /* a call is still inside: leaking beats a crash at exit */
  sender_teardown(c);
  pair_link_destroy(c->pair);
  state_store_destroy(c->state);
  for (size_t i = 0; c->limits != NULL && i < c->cfg.num_accounts; i++)
    limit_destroy(c->limits[i]);
  free(c->limits);
  config_free(&c->cfg);
  pthread_mutex_destroy(&c->log_lock);
  free(c);
  if (ctx == c)
    ctx = NULL;
}

/* The report-rate guards (IncorrectReportShare), before the sender is
 * published: the notification callback asks them, the readers feed them. */
static int make_limits(context_t *c) {
  c->limits = calloc(c->cfg.num_accounts + 1, sizeof(*c->limits));
  if (c->limits == NULL) {
    ERROR("anticaptcha plugin: cannot set up the report-rate guards (out of "
          "memory).");
    return -1;
  }
  for (size_t i = 0; i < c->cfg.num_accounts; i++) {
    const account_t *a = &c->cfg.accounts[i];
    if (a->incorrect_share > 0 && (c->limits[i] = limit_create(a)) == NULL) {
      ERROR("anticaptcha plugin: Account \"%s\": cannot set up the "
            "report-rate guard (out of memory).",
            a->name);
      return -1;
    }
  }
  return 0;
}

/* The configuration is checked and the queue made once, by whichever comes
 * first: ac_init, or a notification that arrives before it (collectd reads
 * every config block before it calls any init, and notifications come from
 * plugins that have been initialised, so the configuration is complete by
 * then). The worker starts at init and sends what was queued early. */
static int prepare(context_t *c) {
  pthread_mutex_lock(&prepare_lock);
  if (!c->prepared) {
    c->prepared = true;
    c->prepare_status = -1;
    if (config_finish(&c->cfg) == 0 && make_limits(c) == 0) {
      report_sender_t *s = sender_create(&c->cfg);
      if (s == NULL)
        ERROR("anticaptcha plugin: cannot set up the report sender (out of "
              "memory or libcurl failure).");
      else if (pair_link_create(&c->cfg, s, &c->pair) != 0)
        sender_destroy(s); /* it logged why */
      else {
        /* Before any notification reaches the sender (the remembered task
         * ids), the readers (their last hours) and the worker's start.
         * Once, at startup: other early notifications wait a moment. */
        c->state = state_store_open(&c->cfg, s);
        __atomic_store_n(&c->sender, s, __ATOMIC_RELEASE);
        c->prepare_status = 0;
      }
    }
  }
  int status = c->prepare_status;
  pthread_mutex_unlock(&prepare_lock);
  return status;
}

/* The notification's fields may come from any host on the network: escaped
 * as the API's strings are, they cannot forge or colour a log line. */
static void complain_bad(context_t *c, const notification_t *n,
                         const char *why) {
  char plugin[4 * DATA_MAX_NAME_LEN], type[4 * DATA_MAX_NAME_LEN];
  response_escape(plugin, sizeof(plugin), n->plugin,
                  strnlen(n->plugin, DATA_MAX_NAME_LEN));
  response_escape(type, sizeof(type), n->type,
                  strnlen(n->type, DATA_MAX_NAME_LEN));
  pthread_mutex_lock(&c->log_lock);
  c->invalid++;
  c_complain(LOG_WARNING, &c->bad_notification,
             "anticaptcha plugin: ignoring a report request (plugin \"%s\", "
             "type \"%s\"): %s. Nothing was sent; fix what raises it.",
             plugin, type, why);
  pthread_mutex_unlock(&c->log_lock);
}

/* Late requests are counted per account as "expired"; logged apart from the
 * invalid ones so neither hides the other. */
static void complain_late(context_t *c, const report_request_t *req) {
  char id[TASK_ID_TEXT_MAX];
  pthread_mutex_lock(&c->log_lock);
  c_complain(LOG_WARNING, &c->late_notification,
             "anticaptcha plugin: Account \"%s\": task %s finished "
             "more than Window seconds ago; no report sent. Raise report "
             "notifications promptly and keep clocks in sync.",
             c->cfg.names[req->account], task_id_format(req->task_id, id));
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

static void notify(context_t *c, report_sender_t *sender,
                   const notification_t *n) {
  report_request_t req;
  char why[160];
  account_names_t names = {c->cfg.names, c->cfg.num_accounts};
  /* The hub pair's own messages are never report requests. */
  if (pair_link_intercept(c->pair, n))
    return;

  /* Then what the account's service makes of it: its task id form, its
   * methods. */
  match_result_t m = report_match(n, c->cfg.rules, c->cfg.num_rules, names,
                                  &req, why, sizeof(why));
  switch (report_fit_service(m, &req, c->cfg.services, why, sizeof(why))) {
  case MATCH_INVALID:
    complain_bad(c, n, why);
    return;
  case MATCH_REPORT:
    break;
  default:
    return;
  }
  /* The report-rate guard (IncorrectReportShare) may withhold it. */
  report_limit_t *limit = c->limits[req.account];
  if (!limit_admit(limit, &req)) {
    sender_count_withheld(sender, &req);
    return;
  }
  if (pair_link_route(c->pair, &req))
    return; /* held back: the pair's thread submits it if the peer does not */
  submit_result_t submitted = sender_submit(sender, &req);
  if (submitted != SUBMIT_QUEUED)
    limit_undo(limit, &req);
  switch (submitted) {
  case SUBMIT_EXPIRED:
    complain_late(c, &req);
    break;
  case SUBMIT_DROPPED:
    complain_full(c);
    break;
  case SUBMIT_SEEN_FULL:
  case SUBMIT_STOPPING:
    complain_other(c, submitted);
    break;
  default:
    break;
  }
}

/* Runs on collectd's unixsock, network, read and write threads: match, copy,
 * enqueue, return. No I/O here. ud is read only inside the gate: once it is
 * closed, collectd may have freed it. */
static int ac_notify(const notification_t *n, user_data_t *ud) {
  __atomic_add_fetch(&notify_callers, 1, __ATOMIC_SEQ_CST);
  if (!__atomic_load_n(&notify_closed, __ATOMIC_SEQ_CST)) {
    context_t *c = ud->data;
    report_sender_t *sender = __atomic_load_n(&c->sender, __ATOMIC_ACQUIRE);
    if (sender == NULL && prepare(c) == 0)
      sender = __atomic_load_n(&c->sender, __ATOMIC_ACQUIRE);
    if (sender != NULL)
      notify(c, sender, n);
  }
  __atomic_sub_fetch(&notify_callers, 1, __ATOMIC_SEQ_CST);
  return 0;
}

/* reports-<outcome> (prefix "reports") or reports-<method>-<outcome>: one
 * derive per row of the REPORT_COUNTERS table. */
static void dispatch_counters(const char *account, const char *prefix,
                              const report_counters_t *k) {
  uint64_t values[REPORT_COUNTER_COUNT];
  char ti[DATA_MAX_NAME_LEN];
  report_counter_values(k, values);
  for (size_t v = 0; v < REPORT_COUNTER_COUNT; v++) {
    snprintf(ti, sizeof(ti), "%s-%s", prefix, report_counter_names[v]);
    dispatch_derive(account, ti, values[v]);
  }
}

static int ac_read_counters(user_data_t *ud) {
  context_t *c = ud->data;
  if (c->sender == NULL)
    return 0;
  char prefix[DATA_MAX_NAME_LEN];
  for (size_t i = 0; i < c->cfg.num_accounts; i++) {
    report_counters_t k;
    sender_counters(c->sender, i, &k);
    dispatch_counters(c->cfg.names[i], "reports", &k);
    for (int m = 0; m < REPORT_METHOD_COUNT; m++) {
      sender_method_counters(c->sender, i, (report_method_t)m, &k);
      snprintf(prefix, sizeof(prefix), "reports-%s",
               report_method_name((report_method_t)m));
      dispatch_counters(c->cfg.names[i], prefix, &k);
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

/* For tests/integration/test_lifecycle.py: makes init fail at one step,
 * as a failing thread start or registration would. */
static bool fail_at(const char *step) {
  const char *s = getenv("ANTICAPTCHA_TEST_FAIL_INIT");
  return s != NULL && strcmp(s, step) == 0;
}

/* Undoes a failed init: the plugin stays loaded but inert, with no reader
 * polling, no thread and no queue left. */
static void init_failed(context_t *c, bool counters, size_t readers) {
  for (size_t i = 0; i < readers; i++)
    reader_unregister(&c->cfg.accounts[i]);
  if (counters)
    plugin_unregister_read("anticaptcha/reports");
  sender_teardown(c);
  gate_close();
}

/* ---- What the spending readers ask of the rest (reader_hooks.h) ---- */

static int64_t hook_last_hour(void *ud, const account_t *a, const char *slug) {
  return state_store_series_last(((context_t *)ud)->state, a->name, slug);
}

static void hook_hour_done(void *ud, const account_t *a, const char *slug,
                           int64_t last_till) {
  state_store_series_set(((context_t *)ud)->state, a->name, slug, last_till);
}

static void hook_volumes(void *ud, const account_t *a, const char *const *slugs,
                         const double *volumes, const bool *ok, size_t n,
                         long total_index) {
  context_t *c = ud;
  limit_tasks(c->limits[a - c->cfg.accounts], slugs, volumes, ok, n,
              total_index);
}

static int register_readers(context_t *c, size_t *registered) {
  /* The write callback that keeps each series' hours in order: registered
   * here, after the writers of every plugin loaded before this one. When it
   * cannot be, the readers go on ungated. */
  hour_gate_start(hook_hour_done, c, HOUR_GATE_GIVE_UP);
  reader_hooks_t hooks = {.ud = c,
                          .last_hour = hook_last_hour,
                          .hour_done = hook_hour_done,
                          .volumes = hook_volumes};
  for (*registered = 0; *registered < c->cfg.num_accounts; (*registered)++)
    if (reader_register(&c->cfg.accounts[*registered], &hooks) != 0)
      return -1;
  return 0;
}

/* All or nothing: the steps that can fail without side effects come first,
 * the readers (which collectd may call at once) last. */
static int ac_init(void) {
  if (ctx == NULL) {
    ERROR("anticaptcha plugin: no <Plugin anticaptcha> block; the plugin "
          "has nothing to do. Add an <Account>.");
    return -1;
  }
  if (prepare(ctx) != 0) {
    init_failed(ctx, false, 0);
    return -1;
  }
  int status = fail_at("worker") ? EAGAIN : sender_start(ctx->sender);
  if (status != 0)
    ERROR("anticaptcha plugin: cannot start the report thread: %s; the "
          "plugin is disabled.",
          STRERROR(status));
  if (status != 0 || pair_link_start(ctx->pair) != 0) {
    init_failed(ctx, false, 0);
    return -1;
  }
  if (fail_at("counters") || plugin_register_complex_read(
                                 NULL, "anticaptcha/reports", ac_read_counters,
                                 0, &(user_data_t){.data = ctx}) != 0) {
    ERROR("anticaptcha plugin: cannot register the report counters; the "
          "plugin is disabled. Is an Account named \"reports\"?");
    init_failed(ctx, false, 0);
    return -1;
  }
  size_t readers;
  if (register_readers(ctx, &readers) != 0) {
    init_failed(ctx, true, readers);
    return -1;
  }
  /* Nothing to undo when it fails: it registered nothing. */
  if (ctx->cfg.queue_stats != NULL &&
      queue_reader_register(ctx->cfg.queue_stats) != 0) {
    init_failed(ctx, true, ctx->cfg.num_accounts);
    return -1;
  }
  INFO("anticaptcha plugin: version %s, %zu account(s), %zu report rule(s)%s.",
       ANTICAPTCHA_VERSION, ctx->cfg.num_accounts, ctx->cfg.num_rules,
       ctx->cfg.dry_run ? ", DryRun: no reports are sent" : "");
  return 0;
}

/* Read threads are stopped by now, notification threads are not: the
 * sender is stopped, the gate closed and only then is the sender freed. */
static int ac_shutdown(void) {
  if (ctx != NULL)
    sender_teardown(ctx);
  return 0;
}

void module_register(void) {
  /* Before any thread exists: curl_global_init is not thread-safe. */
  curl_global_init(CURL_GLOBAL_ALL);
  plugin_register_complex_config("anticaptcha", ac_config);
  plugin_register_init("anticaptcha", ac_init);
  plugin_register_shutdown("anticaptcha", ac_shutdown);
}

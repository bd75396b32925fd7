/* Parsing and checking <Plugin anticaptcha> blocks (see configuration.h). */
#include "config/configuration.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/utils/common/common.h"

#include "config/config_check.h"
#include "config/config_option.h"
#include "config/queue_config.h"
#include "config/report_config.h"
#include "config/service_config.h"
#include "util/secret.h"

/* ---- <Account> ---- */

static int queue_option(void *block, const char *value, const char *where) {
  account_t *a = block;
  if (value[0] == 0) {
    CONF_ERROR(where, "Queue", "a queue name must not be empty.");
    return -1;
  }
  char *queue = strdup(value);
  char **tmp = realloc(a->queues, (a->num_queues + 1) * sizeof(*tmp));
  if (tmp != NULL)
    a->queues = tmp;
  if (queue == NULL || tmp == NULL) {
    free(queue);
    return -1;
  }
  a->queues[a->num_queues++] = queue;
  return 0;
}

/* One key per account: a second key option is refused at once. */
static bool second_key(const account_t *a, const char *option,
                       const char *where) {
  if (a->client_key == NULL)
    return false;
  CONF_ERROR(where, option, "give exactly one of ClientKey and ClientKeyFile.");
  return true;
}

/* The key goes to secret memory at once (secret.h); collectd's copy in the
 * config tree is collectd's (README, Security). */
static int key_option(void *block, const char *value, const char *where) {
  account_t *a = block;
  char why[160];
  if (second_key(a, "ClientKey", where))
    return -1;
  if (config_check_service_key(a->transport.service, value, strlen(value), why,
                               sizeof(why)) != 0) {
    CONF_ERROR(where, "ClientKey", "%s.", why);
    return -1;
  }
  a->client_key = secret_strdup(value);
  return a->client_key != NULL ? 0 : -1;
}

/* ClientKeyFile (a key of svc) and PairSecretFile (svc NULL): the secret in
 * secret memory, or NULL after one error line; a file others may read is
 * used, with a warning. */
static char *secret_file(const char *option, const char *path,
                         const char *where, const service_t *svc) {
  char why[256];
  bool loose = false;
  char *secret =
      svc != NULL
          ? config_read_service_key_file(svc, path, &loose, why, sizeof(why))
          : config_read_pair_secret(path, &loose, why, sizeof(why));
  if (secret == NULL)
    CONF_ERROR(where, option, "%s.", why);
  else if (loose)
    WARNING("anticaptcha plugin: %s: option \"%s\": \"%s\" may be read by "
            "group or others; make it mode 0600.",
            where, option, path);
  return secret;
}

static int key_file_option(void *block, const char *path, const char *where) {
  account_t *a = block;
  if (second_key(a, "ClientKeyFile", where))
    return -1;
  a->client_key =
      secret_file("ClientKeyFile", path, where, a->transport.service);
  return a->client_key != NULL ? 0 : -1;
}

static const config_option_t account_options[] = {
    OPTION_SKIP("Service"), /* read first: the key and URL depend on it */
    OPTION_TEXT("ClientKey", key_option),
    OPTION_TEXT("ClientKeyFile", key_file_option),
    OPTION("URL", OPT_STRING, account_t, transport.url),
    OPTION_TEXT("Queue", queue_option),
    OPTION("Total", OPT_BOOL, account_t, total),
    OPTION_RANGE("SoftId", OPT_INT64, account_t, soft_id, 1, SOFT_ID_MAX),
    OPTION("IP", OPT_STRING, account_t, ip),
    OPTION("Balance", OPT_BOOL, account_t, balance),
    OPTION_RANGE("Interval", OPT_SECONDS, account_t, interval, INTERVAL_MIN,
                 INTERVAL_MAX),
    OPTION_RANGE("Timeout", OPT_SECONDS, account_t, transport.timeout,
                 TIMEOUT_MIN, TIMEOUT_MAX),
    OPTION("CACert", OPT_STRING, account_t, transport.ca_cert),
    OPTION("CAPath", OPT_STRING, account_t, transport.ca_path),
    OPTION("Proxy", OPT_STRING, account_t, transport.proxy),
    OPTION("VerifyPeer", OPT_BOOL, account_t, transport.verify_peer),
    OPTION("VerifyHost", OPT_BOOL, account_t, transport.verify_host),
    OPTION_RANGE("CatchUpDays", OPT_INT, account_t, catch_up_days, 0,
                 MAX_CATCH_UP_DAYS),
    OPTION_RANGE("IncorrectReportShare", OPT_PERCENT, account_t,
                 incorrect_share, 0, SHARE_MAX_PERCENT),
};

static int account_check(account_t *a, const char *where) {
  char why[160];
  if (a->client_key == NULL) {
    CONF_ERROR(where, "ClientKey", "missing; give ClientKey or ClientKeyFile.");
    return -1;
  }
  if (a->client_key[0] == 0) {
    CONF_ERROR(where, "ClientKey", "the key is empty.");
    return -1;
  }
  if (config_finish_url(&a->transport.url, a->transport.service->default_url,
                        why, sizeof(why)) != 0) {
    if (why[0] != 0)
      CONF_ERROR(where, "URL", "\"%s\": %s.", a->transport.url, why);
    return -1;
  }
  if (config_check_transport(&a->transport, true, where) != 0 ||
      service_config_check_account(a, where) != 0)
    return -1;
  /* Reports alone are enough where the service has nothing else to poll. */
  if (a->transport.service->spending && a->num_queues == 0 && !a->total &&
      !a->balance) {
    CONF_ERROR(where, "Queue",
               "nothing to poll: give a Queue, or set Total "
               "or Balance to true.");
    return -1;
  }
  return config_check_slugs(a, where);
}

static int account_parse(plugin_config_t *cfg, const oconfig_item_t *ci) {
  char where[ACCOUNT_NAME_MAX + 16] = "Account";
  char *name = NULL;
  if (config_option_string(ci, where, &name) != 0)
    return -1;
  snprintf(where, sizeof(where), "Account \"%s\"", name);
  /* "reports" would share its read callback's name with the counters. */
  if (name[0] == 0 || strlen(name) >= ACCOUNT_NAME_MAX ||
      strpbrk(name, "/") != NULL || strcmp(name, "reports") == 0) {
    CONF_ERROR(where, "Account",
               "give a name of 1 to %d characters without "
               "'/', other than \"reports\".",
               ACCOUNT_NAME_MAX - 1);
    free(name);
    return -1;
  }
  for (size_t i = 0; i < cfg->num_accounts; i++)
    if (strcmp(cfg->accounts[i].name, name) == 0) {
      CONF_ERROR(where, "Account",
                 "the name is used twice; each account "
                 "needs its own.");
      free(name);
      return -1;
    }

  account_t *tmp =
      realloc(cfg->accounts, (cfg->num_accounts + 1) * sizeof(*tmp));
  if (tmp == NULL) {
    free(name);
    return -1;
  }
  cfg->accounts = tmp;
  account_t *a = &cfg->accounts[cfg->num_accounts++];
  *a = (account_t){.total = true,
                   .balance = true,
                   .interval = TIME_T_TO_CDTIME_T(DEFAULT_INTERVAL),
                   .transport = TRANSPORT_DEFAULTS,
                   .catch_up_days = DEFAULT_CATCH_UP_DAYS};
  sstrncpy(a->name, name, sizeof(a->name));
  free(name);
  if (service_config_read(a, ci, where) != 0)
    return -1;

  for (int i = 0; i < ci->children_num; i++)
    if (config_option_read(account_options, STATIC_ARRAY_SIZE(account_options),
                           a, &ci->children[i], where) != 0)
      return -1;
  return account_check(a, where);
}

/* ---- <Plugin anticaptcha> ---- */

static int report_option(void *block, const oconfig_item_t *o,
                         const char *where) {
  (void)where;
  return report_config_parse(block, o);
}

static int queue_stats_option(void *block, const oconfig_item_t *o,
                              const char *where) {
  (void)where;
  return queue_config_parse(o, &((plugin_config_t *)block)->queue_stats);
}

static int state_file_option(void *block, const oconfig_item_t *o,
                             const char *where) {
  return config_state_file(block, o, where);
}

/* The hub pair's MAC key, read as ClientKeyFile is (config_check.h). */
static int pair_secret_option(void *block, const char *path,
                              const char *where) {
  plugin_config_t *cfg = block;
  if (cfg->pair_secret != NULL) {
    CONF_ERROR(where, "PairSecretFile", "given twice; give it once.");
    return -1;
  }
  cfg->pair_secret = secret_file("PairSecretFile", path, where, NULL);
  return cfg->pair_secret != NULL ? 0 : -1;
}

static const config_option_t global_options[] = {
    OPTION_SKIP("Account"), /* read in the first pass */
    OPTION_CALL("Report", report_option),
    OPTION_RANGE("QueueLimit", OPT_SIZE, plugin_config_t, queue_limit, 1,
                 QUEUE_LIMIT_MAX),
    OPTION_RANGE("MaxInFlight", OPT_SIZE, plugin_config_t, max_in_flight, 1,
                 MAX_IN_FLIGHT_MAX),
    OPTION_RANGE("MaxConnectionsPerHost", OPT_SIZE, plugin_config_t,
                 max_connections, 1, MAX_CONNECTIONS_LIMIT),
    OPTION("DryRun", OPT_BOOL, plugin_config_t, dry_run),
    OPTION_CALL("StateFile", state_file_option),
    OPTION_CALL("QueueStats", queue_stats_option),
    /* The API refuses reports later than 60 s after the task. */
    OPTION_RANGE("Window", OPT_SECONDS, plugin_config_t, window, WINDOW_MIN,
                 MAX_WINDOW_SECONDS),
    /* The hub pair; pair_link_create() checks PairHoldBack against Window. */
    OPTION("PairPeer", OPT_STRING, plugin_config_t, pair_peer),
    OPTION_RANGE("PairHoldBack", OPT_SECONDS, plugin_config_t, pair_hold_back,
                 PAIR_HOLD_MIN, PAIR_HOLD_MAX),
    OPTION_RANGE("PairTimeout", OPT_SECONDS, plugin_config_t, pair_timeout,
                 PAIR_TIMEOUT_MIN, PAIR_TIMEOUT_MAX),
    OPTION_TEXT("PairSecretFile", pair_secret_option),
};

void config_init(plugin_config_t *cfg) {
  /* Not a compound literal: gcc 10 (Debian 11) warns about the fields it
   * leaves out. */
  memset(cfg, 0, sizeof(*cfg));
  cfg->queue_limit = DEFAULT_QUEUE_LIMIT;
  cfg->max_in_flight = DEFAULT_MAX_IN_FLIGHT;
  cfg->window = TIME_T_TO_CDTIME_T(MAX_WINDOW_SECONDS);
}

int config_add_block(const oconfig_item_t *ci, plugin_config_t *cfg) {
  for (int i = 0; i < ci->children_num; i++)
    if (strcasecmp("Account", ci->children[i].key) == 0 &&
        account_parse(cfg, &ci->children[i]) != 0)
      return -1;
  for (int i = 0; i < ci->children_num; i++)
    if (config_option_read(global_options, STATIC_ARRAY_SIZE(global_options),
                           cfg, &ci->children[i], "Plugin anticaptcha") != 0)
      return -1;
  return 0;
}

/* The hub pair's times: the defaults, and a hold that leaves the peer's
 * share time to go before Window closes; and its secret: without it any
 * host could speak for the peer. */
static int pair_finish(plugin_config_t *cfg) {
  if (cfg->pair_peer != NULL && cfg->pair_secret == NULL) {
    CONF_ERROR("Plugin anticaptcha", "PairSecretFile",
               "required with PairPeer: the hubs sign their messages with "
               "it. Give both hubs the same file (doc/hub-pair.md).");
    return -1;
  }
  if (cfg->pair_peer == NULL && cfg->pair_secret != NULL)
    WARNING("anticaptcha plugin: Plugin anticaptcha: option "
            "\"PairSecretFile\": unused without PairPeer.");
  if (cfg->pair_hold_back == 0)
    cfg->pair_hold_back = TIME_T_TO_CDTIME_T(PAIR_DEFAULT_HOLD_BACK_S);
  if (cfg->pair_timeout == 0)
    cfg->pair_timeout = TIME_T_TO_CDTIME_T(PAIR_DEFAULT_TIMEOUT_S);
  if (cfg->pair_peer != NULL && cfg->pair_hold_back > cfg->window / 2) {
    CONF_ERROR("Plugin anticaptcha", "PairHoldBack",
               "%.1f s is more than half of Window (%.1f s); give a shorter "
               "hold.",
               CDTIME_T_TO_DOUBLE(cfg->pair_hold_back),
               CDTIME_T_TO_DOUBLE(cfg->window));
    return -1;
  }
  return 0;
}

/* Rules may name an account defined in another block or drop-in file, so
 * they are resolved once everything has been read. */
int config_finish(plugin_config_t *cfg) {
  /* <QueueStats> alone needs no account (and no key). */
  if (cfg->num_accounts == 0 && cfg->queue_stats == NULL) {
    CONF_ERROR("Plugin anticaptcha", "Account",
               "no <Account> block; configure at least one.");
    return -1;
  }
  if (pair_finish(cfg) != 0 || queue_config_finish(cfg->queue_stats, cfg) != 0)
    return -1;
  for (size_t i = 0; i < cfg->num_rules; i++)
    if (report_config_resolve(cfg, &cfg->rules[i]) != 0)
      return -1;
  if (service_config_finish(cfg) != 0)
    return -1;
  free(cfg->names);
  cfg->names = calloc(cfg->num_accounts + 1, sizeof(*cfg->names));
  if (cfg->names == NULL)
    return -1;
  for (size_t i = 0; i < cfg->num_accounts; i++)
    cfg->names[i] = cfg->accounts[i].name;
  return 0;
}

int config_parse(const oconfig_item_t *ci, plugin_config_t *cfg) {
  config_init(cfg);
  if (config_add_block(ci, cfg) != 0 || config_finish(cfg) != 0) {
    config_free(cfg);
    return -1;
  }
  return 0;
}

static void account_free(account_t *a) {
  secret_free(a->client_key); /* wiped, so no copy outlives the config */
  for (size_t i = 0; i < a->num_queues; i++)
    free(a->queues[i]);
  free(a->queues);
  config_option_free(account_options, STATIC_ARRAY_SIZE(account_options), a);
}

void config_free(plugin_config_t *cfg) {
  for (size_t i = 0; i < cfg->num_accounts; i++)
    account_free(&cfg->accounts[i]);
  for (size_t i = 0; i < cfg->num_rules; i++)
    report_config_free(&cfg->rules[i]);
  free(cfg->accounts);
  free(cfg->rules);
  free(cfg->names);
  free(cfg->services);
  free(cfg->state_file);
  secret_free(cfg->pair_secret);
  queue_config_free(cfg->queue_stats);
  config_option_free(global_options, STATIC_ARRAY_SIZE(global_options), cfg);
  memset(cfg, 0, sizeof(*cfg));
}

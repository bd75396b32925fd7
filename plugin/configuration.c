/* Parsing and checking <Plugin anticaptcha> blocks (see configuration.h). */
#include "configuration.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/utils/common/common.h"

#include "queue_config.h"
#include "report_config.h"
#include "secret.h"

/* Typed getters that name the account in their error, as collectd's own
 * cf_util_* helpers cannot. Each replaces what *out held before. */
static int want_one(const oconfig_item_t *o, int type, const char *where,
                    const char *what) {
  if (o->values_num == 1 && o->values[0].type == type)
    return 0;
  CONF_ERROR(where, o->key, "takes exactly one %s.", what);
  return -1;
}

static int get_str(const oconfig_item_t *o, const char *where, char **out) {
  if (want_one(o, OCONFIG_TYPE_STRING, where, "quoted string") != 0)
    return -1;
  free(*out);
  *out = NULL;
  return cf_util_get_string(o, out);
}

static int get_bool(const oconfig_item_t *o, const char *where, bool *out) {
  if (want_one(o, OCONFIG_TYPE_BOOLEAN, where, "true or false") != 0)
    return -1;
  *out = o->values[0].value.boolean;
  return 0;
}

/* An integer from min to max. */
static int get_int(const oconfig_item_t *o, const char *where, int64_t min,
                   int64_t max, int64_t *out) {
  if (want_one(o, OCONFIG_TYPE_NUMBER, where, "number") != 0)
    return -1;
  double d = o->values[0].value.number;
  /* Range first: converting a double outside int64_t is undefined. */
  if (!(d >= (double)min && d <= (double)max) || d != (double)(int64_t)d) {
    CONF_ERROR(where, o->key, "give a whole number from %lld to %lld.",
               (long long)min, (long long)max);
    return -1;
  }
  *out = (int64_t)d;
  return 0;
}

/* Seconds, from min to max. */
static int get_seconds(const oconfig_item_t *o, const char *where, double min,
                       double max, cdtime_t *out) {
  if (want_one(o, OCONFIG_TYPE_NUMBER, where, "number of seconds") != 0)
    return -1;
  double d = o->values[0].value.number;
  if (!(d >= min && d <= max)) {
    CONF_ERROR(where, o->key, "give from %g to %g seconds.", min, max);
    return -1;
  }
  *out = DOUBLE_TO_CDTIME_T(d);
  return 0;
}

/* A percentage, more than 0 and at most 100. */
static int get_share(const oconfig_item_t *o, const char *where, double *out) {
  if (want_one(o, OCONFIG_TYPE_NUMBER, where, "percentage") != 0)
    return -1;
  double d = o->values[0].value.number;
  if (!(d > 0) || d > SHARE_MAX_PERCENT) {
    CONF_ERROR(where, o->key, "give a percentage more than 0 and at most 100.");
    return -1;
  }
  *out = d;
  return 0;
}

/* ---- <Account> ---- */

static int add_queue(account_t *a, const oconfig_item_t *ci,
                     const char *where) {
  char *queue = NULL;
  if (get_str(ci, where, &queue) != 0)
    return -1;
  if (queue[0] == 0) {
    CONF_ERROR(where, "Queue", "a queue name must not be empty.");
    free(queue);
    return -1;
  }
  char **tmp = realloc(a->queues, (a->num_queues + 1) * sizeof(*tmp));
  if (tmp == NULL) {
    free(queue);
    return -1;
  }
  a->queues = tmp;
  a->queues[a->num_queues++] = queue;
  return 0;
}

/* The key goes to secret memory at once (secret.h); collectd's copy in the
 * config tree is collectd's (README, Security). */
static int get_key(account_t *a, const oconfig_item_t *ci, const char *where) {
  char *key = NULL, why[160];
  if (get_str(ci, where, &key) != 0)
    return -1;
  int status = config_check_key(key, strlen(key), why, sizeof(why));
  if (status != 0)
    CONF_ERROR(where, "ClientKey", "%s.", why);
  else if ((a->client_key = secret_strdup(key)) == NULL)
    status = -1;
  memset(key, 0, strlen(key));
  free(key);
  return status;
}

static int get_key_file(account_t *a, const oconfig_item_t *ci,
                        const char *where) {
  char *path = NULL, why[256];
  bool loose = false;
  if (get_str(ci, where, &path) != 0)
    return -1;
  a->client_key = config_read_key_file(path, &loose, why, sizeof(why));
  if (a->client_key != NULL && loose)
    WARNING("anticaptcha plugin: %s: option \"ClientKeyFile\": \"%s\" may be "
            "read by group or others; make it mode 0600.",
            where, path);
  free(path);
  if (a->client_key == NULL) {
    CONF_ERROR(where, "ClientKeyFile", "%s.", why);
    return -1;
  }
  return 0;
}

static int account_option(account_t *a, const oconfig_item_t *o,
                          const char *where, int *key_options) {
  if (strcasecmp("ClientKey", o->key) == 0) {
    (*key_options)++;
    if (*key_options > 1)
      return 0; /* reported once all options are read */
    return get_key(a, o, where);
  }
  if (strcasecmp("ClientKeyFile", o->key) == 0) {
    (*key_options)++;
    return *key_options > 1 ? 0 : get_key_file(a, o, where);
  }
  if (strcasecmp("URL", o->key) == 0) {
    free(a->url);
    a->url = NULL;
    return get_str(o, where, &a->url);
  }
  if (strcasecmp("Queue", o->key) == 0)
    return add_queue(a, o, where);
  if (strcasecmp("Total", o->key) == 0)
    return get_bool(o, where, &a->total);
  if (strcasecmp("SoftId", o->key) == 0) {
    return get_int(o, where, 1, SOFT_ID_MAX, &a->soft_id);
  }
  if (strcasecmp("IP", o->key) == 0)
    return get_str(o, where, &a->ip);
  if (strcasecmp("Balance", o->key) == 0)
    return get_bool(o, where, &a->balance);
  if (strcasecmp("Interval", o->key) == 0)
    return get_seconds(o, where, INTERVAL_MIN, INTERVAL_MAX, &a->interval);
  if (strcasecmp("Timeout", o->key) == 0)
    return get_seconds(o, where, TIMEOUT_MIN, TIMEOUT_MAX, &a->timeout);
  if (strcasecmp("CACert", o->key) == 0)
    return get_str(o, where, &a->ca_cert);
  if (strcasecmp("CAPath", o->key) == 0)
    return get_str(o, where, &a->ca_path);
  if (strcasecmp("Proxy", o->key) == 0)
    return get_str(o, where, &a->proxy);
  if (strcasecmp("VerifyPeer", o->key) == 0)
    return get_bool(o, where, &a->verify_peer);
  if (strcasecmp("VerifyHost", o->key) == 0)
    return get_bool(o, where, &a->verify_host);
  if (strcasecmp("CatchUpDays", o->key) == 0) {
    int64_t days = 0;
    if (get_int(o, where, 0, MAX_CATCH_UP_DAYS, &days) != 0)
      return -1;
    a->catch_up_days = (int)days;
    return 0;
  }
  if (strcasecmp("IncorrectReportShare", o->key) == 0)
    return get_share(o, where, &a->incorrect_share);
  CONF_ERROR(where, o->key, "unknown option; see collectd-anticaptcha(5).");
  return -1;
}

static int account_check(account_t *a, int key_options, const char *where) {
  char why[160];
  if (key_options == 0) {
    CONF_ERROR(where, "ClientKey", "missing; give ClientKey or ClientKeyFile.");
    return -1;
  }
  if (key_options > 1) {
    CONF_ERROR(where, "ClientKeyFile",
               "give exactly one of ClientKey and ClientKeyFile.");
    return -1;
  }
  if (a->client_key == NULL || a->client_key[0] == 0) {
    CONF_ERROR(where, "ClientKey", "the key is empty.");
    return -1;
  }
  if (config_finish_url(&a->url, why, sizeof(why)) != 0) {
    if (why[0] != 0)
      CONF_ERROR(where, "URL", "\"%s\": %s.", a->url, why);
    return -1;
  }
  if (config_check_transport(a, where) != 0)
    return -1;
  if (a->num_queues == 0 && !a->total && !a->balance) {
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
  if (get_str(ci, where, &name) != 0)
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
                   .timeout = TIME_T_TO_CDTIME_T(DEFAULT_TIMEOUT),
                   .verify_peer = true,
                   .verify_host = true,
                   .catch_up_days = DEFAULT_CATCH_UP_DAYS};
  sstrncpy(a->name, name, sizeof(a->name));
  free(name);

  int key_options = 0;
  for (int i = 0; i < ci->children_num; i++)
    if (account_option(a, &ci->children[i], where, &key_options) != 0)
      return -1;
  return account_check(a, key_options, where);
}

/* ---- <Plugin anticaptcha> ---- */

static int global_option(plugin_config_t *cfg, const oconfig_item_t *o) {
  const char *where = "Plugin anticaptcha";
  int64_t v = 0;
  if (strcasecmp("Account", o->key) == 0)
    return 0; /* read in the first pass */
  if (strcasecmp("Report", o->key) == 0)
    return report_config_parse(cfg, o);
  if (strcasecmp("QueueLimit", o->key) == 0) {
    if (get_int(o, where, 1, QUEUE_LIMIT_MAX, &v) != 0)
      return -1;
    cfg->queue_limit = (size_t)v;
    return 0;
  }
  if (strcasecmp("MaxInFlight", o->key) == 0) {
    if (get_int(o, where, 1, MAX_IN_FLIGHT_MAX, &v) != 0)
      return -1;
    cfg->max_in_flight = (size_t)v;
    return 0;
  }
  if (strcasecmp("MaxConnectionsPerHost", o->key) == 0) {
    if (get_int(o, where, 1, MAX_CONNECTIONS_LIMIT, &v) != 0)
      return -1;
    cfg->max_connections = (size_t)v;
    return 0;
  }
  if (strcasecmp("DryRun", o->key) == 0)
    return get_bool(o, where, &cfg->dry_run);
  if (strcasecmp("StateFile", o->key) == 0)
    return config_state_file(cfg, o, where);
  if (strcasecmp("QueueStats", o->key) == 0)
    return queue_config_parse(o, &cfg->queue_stats);
  /* The API refuses reports later than 60 s after the task. */
  if (strcasecmp("Window", o->key) == 0)
    return get_seconds(o, where, WINDOW_MIN, MAX_WINDOW_SECONDS, &cfg->window);
  /* The hub pair; pair_link_create() checks PairHoldBack against Window. */
  if (strcasecmp("PairPeer", o->key) == 0)
    return get_str(o, where, &cfg->pair_peer);
  if (strcasecmp("PairHoldBack", o->key) == 0)
    return get_seconds(o, where, PAIR_HOLD_MIN, PAIR_HOLD_MAX,
                       &cfg->pair_hold_back);
  if (strcasecmp("PairTimeout", o->key) == 0)
    return get_seconds(o, where, PAIR_TIMEOUT_MIN, PAIR_TIMEOUT_MAX,
                       &cfg->pair_timeout);
  CONF_ERROR(where, o->key, "unknown option; see collectd-anticaptcha(5).");
  return -1;
}

void config_init(plugin_config_t *cfg) {
  *cfg = (plugin_config_t){.queue_limit = DEFAULT_QUEUE_LIMIT,
                           .max_in_flight = DEFAULT_MAX_IN_FLIGHT,
                           .window = TIME_T_TO_CDTIME_T(MAX_WINDOW_SECONDS)};
}

int config_add_block(const oconfig_item_t *ci, plugin_config_t *cfg) {
  for (int i = 0; i < ci->children_num; i++)
    if (strcasecmp("Account", ci->children[i].key) == 0 &&
        account_parse(cfg, &ci->children[i]) != 0)
      return -1;
  for (int i = 0; i < ci->children_num; i++)
    if (global_option(cfg, &ci->children[i]) != 0)
      return -1;
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
  if (queue_config_finish(cfg->queue_stats, cfg) != 0)
    return -1;
  for (size_t i = 0; i < cfg->num_rules; i++)
    if (report_config_resolve(cfg, &cfg->rules[i]) != 0)
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
  free(a->url);
  for (size_t i = 0; i < a->num_queues; i++)
    free(a->queues[i]);
  free(a->queues);
  free(a->ip);
  free(a->ca_cert);
  free(a->ca_path);
  free(a->proxy);
}

void config_free(plugin_config_t *cfg) {
  for (size_t i = 0; i < cfg->num_accounts; i++)
    account_free(&cfg->accounts[i]);
  for (size_t i = 0; i < cfg->num_rules; i++)
    report_config_free(&cfg->rules[i]);
  free(cfg->accounts);
  free(cfg->rules);
  free(cfg->names);
  free(cfg->state_file);
  queue_config_free(cfg->queue_stats);
  free(cfg->pair_peer);
  memset(cfg, 0, sizeof(*cfg));
}

/* <Plugin anticaptcha> as the user wrote it: accounts, report rules and the
 * report sender's limits, validated once at start-up. */
#ifndef ANTICAPTCHA_CONFIGURATION_H
#define ANTICAPTCHA_CONFIGURATION_H

#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/configfile.h"
#include "collectd/core/daemon/utils_time.h"

#include "config_option.h"
#include "report_match.h"

#define ACCOUNT_NAME_MAX 64
#define DEFAULT_URL "https://api.anti-captcha.com"

typedef struct {
  char name[ACCOUNT_NAME_MAX]; /* the plugin instance */
  char *client_key;            /* never logged */
  char *url;                   /* base URL, no trailing '/' */
  char **queues;
  size_t num_queues;
  bool total;
  int64_t soft_id; /* 0: not sent */
  char *ip;        /* NULL: not sent */
  bool balance;
  cdtime_t interval;
  cdtime_t timeout;
  char *ca_cert;
  char *ca_path; /* CAPath */
  char *proxy;   /* Proxy: NULL: the environment's; "": none */
  bool verify_peer, verify_host;
  int catch_up_days; /* CatchUpDays: how far back missed hours are fetched */
  double incorrect_share;       /* IncorrectReportShare, percent; 0: off */
  struct report_limit_s *limit; /* the report-rate guard, set at init */
} account_t;

typedef struct {
  account_t *accounts;
  size_t num_accounts;
  const char **names; /* accounts[i].name, for report_match() */
  report_rule_t *rules;
  size_t num_rules;
  size_t queue_limit;     /* QueueLimit */
  size_t max_in_flight;   /* MaxInFlight */
  size_t max_connections; /* MaxConnectionsPerHost; 0: as MaxInFlight */
  cdtime_t window;        /* Window, at most 60 s */
  bool dry_run;
  char *state_file;    /* StateFile; NULL: the default under BaseDir */
  bool state_file_off; /* StateFile false */
  struct queue_stats_config_s *queue_stats; /* <QueueStats>; NULL: none */
  /* The hub pair (plugin/pair_link.h): the peer's Hostname, NULL when this
   * hub reports alone; 0 times take pair_link's defaults. */
  char *pair_peer;         /* PairPeer */
  cdtime_t pair_hold_back; /* PairHoldBack */
  cdtime_t pair_timeout;   /* PairTimeout */
} plugin_config_t;

#define DEFAULT_QUEUE_LIMIT 10000
#define DEFAULT_MAX_IN_FLIGHT 128
#define DEFAULT_INTERVAL 300 /* seconds between polls */
#define DEFAULT_TIMEOUT 10   /* seconds a request may take */
#define SHARE_MAX_PERCENT 100
#define MAX_WINDOW_SECONDS 60
#define DEFAULT_CATCH_UP_DAYS 7
#define MAX_CATCH_UP_DAYS 90
#define DEFAULT_STATE_FILE "anticaptcha.state"
#define MAX_CONNECTIONS_LIMIT 1024

/* The ranges of the numeric options (doc/options.tsv says the same). */
#define INTERVAL_MIN 1.0     /* the API is polled, not hammered */
#define INTERVAL_MAX 86400.0 /* a day: the API keeps 24 hourly records */
#define TIMEOUT_MIN 0.001    /* libcurl takes 0 ms as "no timeout" */
#define TIMEOUT_MAX 600.0
#define WINDOW_MIN 1.0
/* The hub pair: a hold leaves the peer's share time to go (pair_link_create()
 * also keeps it within half of Window); heartbeats go every third of the
 * timeout, each a line in the hubs' logs. */
#define PAIR_HOLD_MIN 0.1
#define PAIR_HOLD_MAX 30.0
#define PAIR_TIMEOUT_MIN 1.0
#define PAIR_TIMEOUT_MAX 60.0
#define QUEUE_LIMIT_MAX 1000000
#define MAX_IN_FLIGHT_MAX 1024
#define SOFT_ID_MAX INT32_MAX
/* The longest URL: the call's buffer also holds '/' and the method name. */
#define URL_MAX 480
/* Anti-Captcha issues keys of 32 characters. */
#define CLIENT_KEY_MAX 32

/* Collectd calls the config callback once per <Plugin anticaptcha> block, and
 * drop-in files may each bring one: config_init() once, config_add_block()
 * for every block, then config_finish() when all are read. Each logs one
 * line naming the account (or rule) and the option and returns -1 on error;
 * the caller then calls config_free(). */
void config_init(plugin_config_t *cfg);
int config_add_block(const oconfig_item_t *ci, plugin_config_t *cfg);
int config_finish(plugin_config_t *cfg);

/* All three for a single block; frees *cfg on error. */
int config_parse(const oconfig_item_t *ci, plugin_config_t *cfg);
void config_free(plugin_config_t *cfg);

/* Pure checks, exposed for the unit tests. */
/* 0 when url is https://, or http:// to a loopback address. */
int config_check_url(const char *url, char *why, size_t why_size);
/* Completes a URL option: DEFAULT_URL when none was given, trailing '/'
 * removed, then config_check_url(). Returns 0, or -1 with *why set (empty
 * when out of memory). */
int config_finish_url(char **url, char *why, size_t why_size);
/* Reads a key file: first line, surrounding blanks removed. Returns the key
 * in secret memory (free it with secret_free), or NULL with *why set. Only a
 * regular file, not through a symbolic link, opened without blocking.
 * *loose is set when group or others may read the file. */
char *config_read_key_file(const char *path, bool *loose, char *why,
                           size_t why_size);
/* 0 when the len bytes at key can be a key: 1 to CLIENT_KEY_MAX characters,
 * no blank, NUL or control character. */
int config_check_key(const char *key, size_t len, char *why, size_t why_size);
bool config_url_is_plain_http(const char *url);
/* Each logs one line and returns -1 on error. Plain http never through a
 * Proxy; VerifyPeer/VerifyHost false warn. */
int config_check_transport(const account_t *a, const char *where);
/* Two queues, or a queue and the total, must not land in one series. */
int config_check_slugs(const account_t *a, const char *where);
/* StateFile "/path" or false (config_check.c). Returns 0 or -1, logged. */
int config_state_file(plugin_config_t *cfg, const oconfig_item_t *o,
                      const char *where);

#endif

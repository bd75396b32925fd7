/* The settings every part of the plugin reads: plugin_config_t and
 * account_t as the user configured them, and the ranges the parser holds
 * them to (doc/options.tsv says the same). */
#ifndef ANTICAPTCHA_SETTINGS_H
#define ANTICAPTCHA_SETTINGS_H

#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/utils_time.h"

#include "api/transport.h"
#include "model/report_match.h"

#define ACCOUNT_NAME_MAX 64
#define DEFAULT_URL "https://api.anti-captcha.com"

typedef struct {
  char name[ACCOUNT_NAME_MAX]; /* the plugin instance */
  char *client_key;            /* never logged */
  /* Service, URL, Timeout, Proxy, TLS; transport.service is never NULL once
   * the account is read. */
  api_transport_t transport;
  char **queues;
  size_t num_queues;
  bool total;
  bool total_given; /* Total was written: refused where there is no spending */
  int64_t soft_id;  /* 0: not sent */
  char *ip;         /* NULL: not sent */
  bool balance;
  cdtime_t interval;
  int catch_up_days; /* CatchUpDays: how far back missed hours are fetched */
  double incorrect_share; /* IncorrectReportShare, percent; 0: off */
} account_t;

typedef struct {
  account_t *accounts;
  size_t num_accounts;
  const char **names;         /* accounts[i].name, for report_match() */
  const service_t **services; /* accounts[i].transport.service, likewise */
  report_rule_t *rules;
  size_t num_rules;
  size_t queue_limit;     /* QueueLimit */
  size_t max_in_flight;   /* MaxInFlight */
  size_t max_connections; /* MaxConnectionsPerHost; 0: as MaxInFlight */
  cdtime_t window;        /* Window, at most 60 s (and the service's) */
  bool dry_run;
  char *state_file;    /* StateFile; NULL: the default under BaseDir */
  bool state_file_off; /* StateFile false */
  struct queue_stats_config_s *queue_stats; /* <QueueStats>; NULL: none */
  /* The hub pair (plugin/pair/pair_link.h): the peer's Hostname, NULL when
   * this hub reports alone; 0 times take pair_link's defaults. */
  char *pair_peer;         /* PairPeer */
  cdtime_t pair_hold_back; /* PairHoldBack */
  cdtime_t pair_timeout;   /* PairTimeout */
  char *pair_secret;       /* PairSecretFile's first line: secret memory, never
                            * logged; the key of the pair's MAC */
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
#define PAIR_DEFAULT_HOLD_BACK_S 5
#define PAIR_DEFAULT_TIMEOUT_S 10

/* An account's or <QueueStats>' transport before its options are read. */
#define TRANSPORT_DEFAULTS                                                     \
  {                                                                            \
    .timeout = TIME_T_TO_CDTIME_T(DEFAULT_TIMEOUT), .verify_peer = true,       \
    .verify_host = true                                                        \
  }

/* The ranges of the numeric options. */
#define INTERVAL_MIN 1.0     /* the API is polled, not hammered */
#define INTERVAL_MAX 86400.0 /* a day: the API keeps 24 hourly records */
#define TIMEOUT_MIN 0.001    /* libcurl takes 0 ms as "no timeout" */
#define TIMEOUT_MAX 600.0
#define WINDOW_MIN 1.0
/* The hub pair: a hold leaves the peer's share time to go (config_finish()
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
/* The longest key read; each service's own limit is service_t.key_max
 * (Anti-Captcha's 32 characters, CapSolver's longer keys). */
#define CLIENT_KEY_MAX SERVICE_KEY_MAX
/* PairSecretFile: at least as long as `openssl rand -base64 24`, and 32
 * characters of hex already hold 128 bits. */
#define PAIR_SECRET_MIN 32
#define PAIR_SECRET_MAX 256

#endif

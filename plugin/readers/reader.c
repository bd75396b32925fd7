/* The spending reader: polls one account per read callback (see reader.h). */
#include "readers/reader.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_complain.h"
#include "collectd/core/utils/common/common.h"

#include "api/api_client.h"
#include "api/request.h"
#include "model/spending.h"
#include "readers/forecast.h"
#include "util/dispatch.h"

/* The vendor asks for getBalance at most once every 30 seconds. */
#define BALANCE_MIN_INTERVAL TIME_T_TO_CDTIME_T(30)
#define HOUR TIME_T_TO_CDTIME_T(3600)

enum { M_SPENDING, M_BALANCE, M_COUNT };
static const char *const method_names[M_COUNT] = {"getSpendingStats",
                                                  "getBalance"};

/* One series: a queue, or the total. */
typedef struct {
  char slug[SPENDING_SLUG_MAX + 1];
  int64_t last_till; /* newest hourly record dispatched */
  /* Catch-up after a gap: the `date` of this poll's request (0: a plain
   * one) and of the previous page. */
  int64_t date, cursor;
  spending_sum_t sum; /* this poll's 24-hour sums */
  bool sum_ok;        /* whether the series answered this poll */
} series_t;

typedef struct {
  const account_t *acct;
  reader_hooks_t hooks;
  size_t num_series;  /* queues, then the total */
  api_batch_t batch;  /* num_series spending calls, then getBalance */
  bool balance_known; /* the last getBalance gave balance_value */
  double balance_value;
  cdtime_t last_balance;
  /* Every getSpendingStats of the last poll failed: the next poll sends one
   * of them (series `probe`, in turn) rather than the whole fan-out, so a
   * failing API gets one request per method and poll. */
  bool probing;
  size_t probe;
  /* After an account-level error at a service that blocks keys for a while
   * (CapMonster), no poll before this: each would restart the block. */
  cdtime_t not_before;
  balance_trend_t trend; /* the spending rate where no statistics exist */
  c_complain_t complaint[M_COUNT];
  uint64_t requests[M_COUNT], failures[M_COUNT];
  series_t series[]; /* num_series */
} reader_t;

/* collectd's free_func; the reader and its series are one allocation. */
static void reader_free(void *arg) {
  reader_t *r = arg;
  api_batch_destroy(&r->batch);
  free(r);
}

static reader_t *reader_create(const account_t *a, const reader_hooks_t *h) {
  size_t n = a->num_queues + (a->total ? 1 : 0);
  reader_t *r = calloc(1, sizeof(*r) + n * sizeof(r->series[0]));
  if (r == NULL)
    return NULL;
  r->acct = a;
  r->hooks = *h;
  r->num_series = n;
  if (api_batch_init(&r->batch, n + 1) != 0) {
    free(r);
    return NULL;
  }
  for (size_t i = 0; i < r->num_series; i++) {
    spending_slug(i < a->num_queues ? a->queues[i] : NULL, r->series[i].slug,
                  sizeof(r->series[i].slug));
    /* Hours dispatched before a restart are not dispatched again. */
    if (h->last_hour != NULL)
      r->series[i].last_till = h->last_hour(h->ud, a, r->series[i].slug);
  }
  for (int m = 0; m < M_COUNT; m++)
    C_COMPLAIN_INIT(&r->complaint[m]);
  return r;
}

static const char *series_queue(const reader_t *r, size_t i) {
  return i < r->acct->num_queues ? r->acct->queues[i] : NULL;
}

/* After a gap longer than an answer covers, the series asks for the missed
 * days one page (24 hours) per poll, oldest first, instead of the last 24
 * hours. */
static int prepare_spending(reader_t *r, size_t i, cdtime_t now) {
  const account_t *a = r->acct;
  r->series[i].date = spending_catch_up_date(
      r->series[i].last_till, r->series[i].cursor,
      (int64_t)CDTIME_T_TO_TIME_T(now), a->catch_up_days);
  if (r->series[i].date == 0)
    r->series[i].cursor = 0;
  spending_request_t req = {.client_key = a->client_key,
                            .queue = series_queue(r, i),
                            .soft_id = a->soft_id,
                            .ip = a->ip,
                            .date = r->series[i].date};
  size_t len = 0;
  char *body = request_spending(&req, &len);
  return api_call_prepare(&r->batch.calls[i], &a->transport,
                          method_names[M_SPENDING], body, len,
                          RESPONSE_SPENDING);
}

static int prepare_balance(reader_t *r) {
  size_t len = 0;
  char *body = request_balance(r->acct->client_key, &len);
  return api_call_prepare(&r->batch.calls[r->num_series], &r->acct->transport,
                          method_names[M_BALANCE], body, len, RESPONSE_BALANCE);
}

/* What the user should do about a failure, by what the answer says. */
static const char *advice(const api_call_t *c, char *buf, size_t size) {
  if (api_call_result(c) != API_ERROR)
    return "check URL, Timeout, CACert and the network; collectd retries with "
           "a growing interval";
  switch (api_call_error(c)) {
  case SERVICE_ERROR_KEY:
    return "check ClientKey or ClientKeyFile";
  case SERVICE_ERROR_ZERO_BALANCE:
    return "top up the account";
  case SERVICE_ERROR_IP:
    return "allow this host's IP address in the account's API settings";
  case SERVICE_ERROR_METHOD:
    return "check URL and Service";
  case SERVICE_ERROR_BLOCKED:
    return "this IP address or key is blocked; collectd backs off, do not "
           "restart it in a loop";
  case SERVICE_ERROR_SUSPENDED:
    snprintf(buf, size, "the account is suspended; contact %s",
             c->service->label);
    return buf;
  default:
    return "see the errorCode in the API documentation";
  }
}

static void complain(reader_t *r, int m, const api_call_t *c,
                     const char *queue) {
  char what[512], help[128], wait[96] = "";
  int level = (api_call_result(c) == API_ERROR &&
               api_call_error(c) == SERVICE_ERROR_ZERO_BALANCE)
                  ? LOG_WARNING
                  : LOG_ERR;
  if (r->not_before != 0)
    snprintf(wait, sizeof(wait), "; no poll for %u s, as %s asks",
             c->service->pause_min, c->service->label);
  c_complain_once(
      level, &r->complaint[m],
      "anticaptcha plugin: Account \"%s\": %s%s%s%s failed: %s; %s%s.",
      r->acct->name, method_names[m], queue ? " (queue \"" : "",
      queue ? queue : "", queue ? "\")" : "",
      api_call_describe(c, what, sizeof(what)), advice(c, help, sizeof(help)),
      wait);
}

/* A refused key, a block or zero balance at a service that blocks keys for
 * a while after them (CapMonster): the reader waits the block out. */
static void note_block(reader_t *r, const api_call_t *c, cdtime_t now) {
  const service_t *svc = c->service;
  if (svc->pause_min == 0 || api_call_result(c) != API_ERROR)
    return;
  service_error_t e = api_call_error(c);
  if (service_error_concerns_account(e) ||
      (e == SERVICE_ERROR_ZERO_BALANCE && svc->zero_balance_pauses))
    r->not_before = now + TIME_T_TO_CDTIME_T(svc->pause_min);
}

static void dispatch_sums(reader_t *r, size_t i, cdtime_t now) {
  const api_call_t *c = &r->batch.calls[i];
  char ti[DATA_MAX_NAME_LEN];
  spending_sum_t sum = spending_sum(c->resp.records, c->resp.num_records);
  r->series[i].sum = sum;
  r->series[i].sum_ok = true;
  snprintf(ti, sizeof(ti), "%s-volume_24h", r->series[i].slug);
  dispatch_gauge(r->acct->name, "count", ti, sum.volume, now, 0);
  snprintf(ti, sizeof(ti), "%s-money_24h", r->series[i].slug);
  dispatch_gauge(r->acct->name, "gauge", ti, sum.money, now, 0);
}

static void dispatch_hour(reader_t *r, size_t i, const spending_record_t *rec) {
  char ti[DATA_MAX_NAME_LEN];
  cdtime_t t = TIME_T_TO_CDTIME_T(rec->date_till);
  snprintf(ti, sizeof(ti), "%s-volume_1h", r->series[i].slug);
  dispatch_gauge(r->acct->name, "count", ti, rec->volume, t, HOUR);
  snprintf(ti, sizeof(ti), "%s-money_1h", r->series[i].slug);
  dispatch_gauge(r->acct->name, "gauge", ti, rec->money, t, HOUR);
  r->series[i].last_till = rec->date_till;
}

/* collectd hands dispatched values to several write threads, which may
 * reorder two values of one series queued together, and the cache then drops
 * the older as "too old". So the hourly records go out in rounds, one per
 * series, with a pause between rounds; only the back-fill has several. */
static void dispatch_hours(reader_t *r, const size_t *fresh) {
  size_t rounds = 0;
  for (size_t i = 0; i < r->num_series; i++)
    rounds = fresh[i] > rounds ? fresh[i] : rounds;
  for (size_t k = 0; k < rounds; k++) {
    if (k > 0)
      nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
    for (size_t i = 0; i < r->num_series; i++)
      if (k < fresh[i])
        dispatch_hour(r, i, &r->batch.calls[i].resp.records[k]);
  }
}

/* Returns true when the call gave a value worth dispatching. */
static bool check_call(reader_t *r, int m, size_t i, bool *method_ok) {
  const api_call_t *c = &r->batch.calls[i];
  api_result_t res = api_call_result(c);
  r->requests[m]++;
  if (res == API_OK)
    return true;
  note_block(r, c, cdtime());
  complain(r, m, c, m == M_SPENDING ? series_queue(r, i) : NULL);
  /* ERROR_ZERO_BALANCE is a state, not a failure: a balance of 0 is true,
   * and collectd must not stretch the interval while it lasts. */
  if (m == M_BALANCE && res == API_ERROR &&
      api_call_error(c) == SERVICE_ERROR_ZERO_BALANCE)
    return true;
  r->failures[m]++;
  *method_ok = false;
  return false;
}

/* What getBalance's value is really refreshed at: the account's Interval,
 * or the multiple of it that the 30 s limit leaves. */
static cdtime_t balance_interval(const reader_t *r) {
  cdtime_t every = r->acct->interval;
  if (every == 0 || every >= BALANCE_MIN_INTERVAL)
    return every;
  return every * ((BALANCE_MIN_INTERVAL + every - 1) / every);
}

/* A series' hourly records went out: remember the newest for a restart. */
static void note_dispatched(reader_t *r, const size_t *fresh) {
  if (r->hooks.hour_done == NULL)
    return;
  for (size_t i = 0; i < r->num_series; i++)
    if (fresh[i] > 0)
      r->hooks.hour_done(r->hooks.ud, r->acct, r->series[i].slug,
                         r->series[i].last_till);
}

/* `asked`: which of the n calls from `first` on were made (NULL: all). */
static void report_health(reader_t *r, int m, size_t first, size_t n,
                          const bool *asked, bool ok) {
  char ti[DATA_MAX_NAME_LEN];
  double seconds = 0;
  size_t made = 0;
  for (size_t i = first; i < first + n; i++)
    if (asked == NULL || asked[i - first]) {
      seconds += r->batch.calls[i].seconds;
      made++;
    }
  if (made > 0)
    dispatch_gauge(r->acct->name, "response_time", method_names[m],
                   seconds / (double)made, 0, 0);
  snprintf(ti, sizeof(ti), "%s-requests", method_names[m]);
  dispatch_derive(r->acct->name, ti, r->requests[m]);
  snprintf(ti, sizeof(ti), "%s-failures", method_names[m]);
  dispatch_derive(r->acct->name, ti, r->failures[m]);
  if (ok)
    c_release(LOG_INFO, &r->complaint[m],
              "anticaptcha plugin: Account \"%s\": %s works again.",
              r->acct->name, method_names[m]);
}

/* After a poll: the balance forecast (hours left at the last 24 hours'
 * spending rate) and the tasks the report-rate guard measures against. */
static void dispatch_derived(reader_t *r, cdtime_t now) {
  const account_t *a = r->acct;
  long total = a->total ? (long)a->num_queues : -1;
  double volumes[r->num_series + 1], money[r->num_series + 1], money_24h, hours;
  const char *slugs[r->num_series + 1];
  bool ok[r->num_series + 1];
  for (size_t i = 0; i < r->num_series; i++) {
    volumes[i] = r->series[i].sum.volume;
    money[i] = r->series[i].sum.money;
    slugs[i] = r->series[i].slug;
    ok[i] = r->series[i].sum_ok;
  }
  if (r->hooks.volumes != NULL)
    r->hooks.volumes(r->hooks.ud, a, slugs, volumes, ok, r->num_series, total);
  /* Without spending statistics, the balance's own fall tells the rate. */
  int rate =
      a->transport.service->spending
          ? forecast_money(money, ok, r->num_series, total, &money_24h)
          : trend_money_24h(&r->trend, CDTIME_T_TO_TIME_T(now), &money_24h);
  if (a->balance && r->balance_known && rate == 0 &&
      forecast_hours(r->balance_value, money_24h, &hours) == 0)
    dispatch_gauge(a->name, "timeleft", "balance_hours", hours, now, 0);
}

static int reader_read(user_data_t *ud) {
  reader_t *r = ud->data;
  api_call_t *batch[r->num_series + 1];
  bool asked[r->num_series + 1];
  size_t n = 0, wanted = 0;
  cdtime_t now = cdtime();
  if (now < r->not_before)
    return 0; /* waiting out the vendor's block; logged when it began */
  r->not_before = 0;
  if (r->num_series == 0 && !r->acct->balance)
    return 0; /* an account that only reports */

  for (size_t i = 0; i < r->num_series; i++) {
    asked[i] = !r->probing || i == r->probe;
    if (!asked[i])
      continue;
    wanted++;
    if (prepare_spending(r, i, now) == 0)
      batch[n++] = &r->batch.calls[i];
  }
  bool balance =
      r->acct->balance &&
      (r->last_balance == 0 || now - r->last_balance >= BALANCE_MIN_INTERVAL);
  if (balance && prepare_balance(r) == 0) {
    batch[n++] = &r->batch.calls[r->num_series];
    r->last_balance = now;
  }
  if (n < wanted + (balance ? 1 : 0)) {
    ERROR("anticaptcha plugin: Account \"%s\": cannot build the requests "
          "(out of memory, or a Queue or IP that is not UTF-8).",
          r->acct->name);
    return -1;
  }
  if (api_run_all(r->batch.multi, batch, n) != 0)
    ERROR("anticaptcha plugin: Account \"%s\": libcurl's multi interface "
          "failed; the poll is lost.",
          r->acct->name);

  bool ok[M_COUNT] = {true, true};
  size_t fresh[r->num_series + 1], answered = 0;
  for (size_t i = 0; i < r->num_series; i++) {
    fresh[i] = 0;
    r->series[i].sum_ok = false;
    if (!asked[i] || !check_call(r, M_SPENDING, i, &ok[M_SPENDING]))
      continue;
    answered++;
    if (r->series[i].date == 0)
      dispatch_sums(r, i, now); /* a catch-up page is not the last 24 h */
    else
      r->series[i].cursor = r->series[i].date;
    api_call_t *c = &r->batch.calls[i];
    fresh[i] =
        spending_new_records(c->resp.records, c->resp.num_records,
                             r->series[i].last_till, CDTIME_T_TO_TIME_T(now));
  }
  dispatch_hours(r, fresh);
  note_dispatched(r, fresh);
  if (r->acct->transport.service->spending) /* else nothing to tell */
    report_health(r, M_SPENDING, 0, r->num_series, asked, ok[M_SPENDING]);
  r->probing = r->num_series > 0 && answered == 0;
  if (r->probing)
    r->probe = (r->probe + 1) % r->num_series;
  if (balance) {
    const api_call_t *c = &r->batch.calls[r->num_series];
    r->balance_known = check_call(r, M_BALANCE, r->num_series, &ok[M_BALANCE]);
    r->balance_value = c->status == RESPONSE_OK ? c->resp.balance : 0.0;
    if (r->balance_known) {
      dispatch_gauge(r->acct->name, "gauge", "balance", r->balance_value, now,
                     balance_interval(r));
      trend_add(&r->trend, CDTIME_T_TO_TIME_T(now), r->balance_value);
    }
    /* A zero balance goes on being logged as such, not as "works again". */
    report_health(r, M_BALANCE, r->num_series, 1, NULL,
                  ok[M_BALANCE] && c->status == RESPONSE_OK);
  }
  dispatch_derived(r, now);
  /* Non-zero makes collectd stretch this account's interval: the back-off
   * the API asks for after repeated errors. */
  return (ok[M_SPENDING] && ok[M_BALANCE]) ? 0 : -1;
}

static void read_name(const account_t *account, char *name, size_t size) {
  snprintf(name, size, "anticaptcha/%s", account->name);
}

void reader_unregister(const account_t *account) {
  char name[ACCOUNT_NAME_MAX + 16];
  read_name(account, name, sizeof(name));
  plugin_unregister_read(name);
}

int reader_register(const account_t *account, const reader_hooks_t *hooks) {
  char name[ACCOUNT_NAME_MAX + 16];
  reader_t *r = reader_create(account, hooks);
  if (r == NULL) {
    ERROR("anticaptcha plugin: Account \"%s\": cannot set up the reader "
          "(out of memory or libcurl failure).",
          account->name);
    return -1;
  }
  read_name(account, name, sizeof(name));
  return plugin_register_complex_read(
      NULL, name, reader_read, account->interval,
      &(user_data_t){.data = r, .free_func = reader_free});
}

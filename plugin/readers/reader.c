/* The spending reader: polls one account per read callback (see reader.h). */
#include "readers/reader.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_complain.h"
#include "collectd/core/utils/common/common.h"

#include "api/api_client.h"
#include "api/request.h"
#include "model/spending.h"
#include "readers/api_clock.h"
#include "readers/forecast.h"
#include "readers/hour_gate.h"
#include "util/dispatch.h"
#include "util/mono_time.h"

/* The vendor asks for getBalance at most once every 30 seconds. */
#define BALANCE_MIN_INTERVAL TIME_T_TO_CDTIME_T(30)
#define HOUR TIME_T_TO_CDTIME_T(3600)
/* How long a poll may wait for its hourly records to be written before it
 * returns (the rest goes at the next poll): collectd's read threads are
 * shared by every plugin. */
#define HOURS_WAIT_MAX TIME_T_TO_CDTIME_T(1)

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
  hour_gate_series_t *gate;
  int64_t said; /* the last_till whose gap beyond CatchUpDays was logged */
} series_t;

typedef struct {
  const account_t *acct;
  reader_hooks_t hooks;
  size_t num_series;  /* queues, then the total */
  api_batch_t batch;  /* num_series spending calls, then getBalance */
  bool balance_known; /* the last getBalance gave balance_value */
  double balance_value;
  cdtime_t last_balance; /* monotonic */
  /* The API's clock, which the hours follow; last_till as restored from the
   * state file is checked against it once, at the first poll. */
  api_clock_t api;
  bool restored_checked;
  /* Every getSpendingStats of the last poll failed: the next poll sends one
   * of them (series `probe`, in turn) rather than the whole fan-out, so a
   * failing API gets one request per method and poll. */
  bool probing;
  size_t probe;
  /* After an account-level error at a service that blocks keys for a while
   * (CapMonster), no poll before this (monotonic): each would restart the
   * block. */
  cdtime_t not_before;
  balance_trend_t trend; /* the spending rate where no statistics exist */
  c_complain_t complaint[M_COUNT];
  uint64_t requests[M_COUNT], failures[M_COUNT];
  series_t series[]; /* num_series */
} reader_t;

static int64_t clock_offset; /* wall - mono at any reader's last poll */

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
    r->series[i].gate = hour_gate_series(a, r->series[i].slug);
  }
  for (int m = 0; m < M_COUNT; m++)
    C_COMPLAIN_INIT(&r->complaint[m]);
  return r;
}

static const char *series_queue(const reader_t *r, size_t i) {
  return i < r->acct->num_queues ? r->acct->queues[i] : NULL;
}

/* Once per gap and account: the hours more than CatchUpDays back are not
 * fetched. now: the API's time. */
static void say_left_out(reader_t *r, int64_t now) {
  int64_t from = INT64_MAX, till = 0, f, t;
  size_t n = 0;
  for (size_t i = 0; i < r->num_series; i++) {
    series_t *se = &r->series[i];
    if (se->said == se->last_till ||
        !spending_left_out(se->last_till, now, r->acct->catch_up_days, &f, &t))
      continue;
    se->said = se->last_till;
    from = f < from ? f : from;
    till = t;
    n++;
  }
  if (n == 0)
    return;
  char a[32], b[32];
  strftime(a, sizeof(a), "%Y-%m-%d %H:00", gmtime(&(time_t){(time_t)from}));
  strftime(b, sizeof(b), "%Y-%m-%d %H:00", gmtime(&(time_t){(time_t)till}));
  WARNING("anticaptcha plugin: Account \"%s\": the hourly records from %s "
          "to %s UTC (%zu series) are more than CatchUpDays (%d) days old and "
          "are not fetched. Raise CatchUpDays (up to %d) to go further back "
          "after a long gap.",
          r->acct->name, a, b, n, r->acct->catch_up_days, MAX_CATCH_UP_DAYS);
}

/* After a gap longer than an answer covers, the series asks for the missed
 * days one page (24 hours) per poll, oldest first, instead of the last 24
 * hours. now: the API's time (api_clock.h); until it has answered, a plain
 * request (this host's clock could ask for days the API has not seen). */
static int prepare_spending(reader_t *r, size_t i, int64_t now) {
  const account_t *a = r->acct;
  r->series[i].date =
      api_clock_ready(&r->api)
          ? spending_catch_up_date(r->series[i].last_till, r->series[i].cursor,
                                   now, a->catch_up_days)
          : 0;
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
  return service_error_advice(c->service, api_call_error(c), buf, size);
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
  series_t *se = &r->series[i];
  char ti[DATA_MAX_NAME_LEN];
  cdtime_t t = TIME_T_TO_CDTIME_T(rec->date_till);
  snprintf(ti, sizeof(ti), "%s-volume_1h", se->slug);
  dispatch_gauge(r->acct->name, "count", ti, rec->volume, t, HOUR);
  snprintf(ti, sizeof(ti), "%s-money_1h", se->slug);
  dispatch_gauge(r->acct->name, "gauge", ti, rec->money, t, HOUR);
  se->last_till = rec->date_till;
  hour_gate_sent(se->gate, rec->date_till);
  /* Ungated (the gate could not be set up): the state file hears of the
   * hour at once, as the gate would tell it once the hour is written. */
  if (se->gate == NULL && r->hooks.hour_done != NULL)
    r->hooks.hour_done(r->hooks.ud, r->acct, se->slug, rec->date_till);
}

/* Each series' new hourly records, oldest first, each once its previous
 * hour has been written (hour_gate.h), waiting until deadline at most: what
 * is left is fetched again at the next poll. done[i]: how many of series
 * i's fresh records went out. */
static void dispatch_hours(reader_t *r, const size_t *fresh, size_t *done,
                           cdtime_t deadline) {
  size_t n = r->num_series, which[n + 1], k;
  hour_gate_series_t *gates[n + 1];
  bool ready[n + 1];
  for (size_t i = 0; i < n; i++)
    done[i] = 0;
  do {
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
      if (done[i] < fresh[i]) {
        which[m] = i;
        gates[m++] = r->series[i].gate;
      }
    k = m > 0 ? hour_gate_wait(gates, m, ready, deadline) : 0;
    for (size_t j = 0; j < m; j++)
      if (ready[j]) {
        size_t i = which[j];
        dispatch_hour(r, i, &r->batch.calls[i].resp.records[done[i]++]);
      }
  } while (k > 0);
}

/* Returns true when the call gave a value worth dispatching. */
static bool check_call(reader_t *r, int m, size_t i, bool *method_ok) {
  const api_call_t *c = &r->batch.calls[i];
  api_result_t res = api_call_result(c);
  r->requests[m]++;
  if (res == API_OK)
    return true;
  note_block(r, c, mono_now());
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

/* A step of this host's wall clock since the last poll, said once. */
static void say_clock_step(cdtime_t wall, cdtime_t mono) {
  char text[512];
  if (clock_step_text(clock_stepped(&clock_offset, wall, mono), text,
                      sizeof(text)))
    NOTICE("anticaptcha plugin: %s", text);
}

/* Sets up this poll's calls (the probe's alone while the API fails) and
 * returns how many; -1 when one could not be built. */
static int prepare_calls(reader_t *r, api_call_t **batch, bool *asked,
                         bool *balance, int64_t hours_now, cdtime_t mono) {
  size_t n = 0, wanted = 0;
  for (size_t i = 0; i < r->num_series; i++) {
    asked[i] = !r->probing || i == r->probe;
    if (!asked[i])
      continue;
    wanted++;
    if (prepare_spending(r, i, hours_now) == 0)
      batch[n++] = &r->batch.calls[i];
  }
  *balance =
      r->acct->balance &&
      (r->last_balance == 0 || mono - r->last_balance >= BALANCE_MIN_INTERVAL);
  if (*balance && prepare_balance(r) == 0) {
    batch[n++] = &r->batch.calls[r->num_series];
    r->last_balance = mono;
  }
  if (n < wanted + (*balance ? 1 : 0)) {
    ERROR("anticaptcha plugin: Account \"%s\": cannot build the requests "
          "(out of memory, or a Queue or IP that is not UTF-8).",
          r->acct->name);
    return -1;
  }
  return (int)n;
}

/* The answers' Date headers set the API's clock. At the first poll, the
 * last hours restored from the state file are clamped to it, as an hour is
 * on arrival: one in the future (a clock that was ahead, a forged file)
 * would hold every later hour back. */
static int64_t hear_api(reader_t *r, api_call_t *const *batch, size_t n) {
  cdtime_t mono = mono_now();
  for (size_t i = 0; i < n; i++)
    if (batch[i]->http_status != 0) /* an answer, not a failed transfer */
      api_clock_heard(&r->api, batch[i]->server_date, mono);
  int64_t now = api_clock_now(&r->api, cdtime(), mono);
  if (!api_clock_ready(&r->api))
    return now;
  for (size_t i = 0; !r->restored_checked && i < r->num_series; i++)
    if (r->series[i].last_till > now)
      r->series[i].last_till = now;
  r->restored_checked = true;
  say_left_out(r, now);
  return now;
}

/* The spending answers: sums, and the new hourly records in order. */
static size_t settle_spending(reader_t *r, const bool *asked, bool *ok,
                              int64_t hours_now, cdtime_t now) {
  size_t fresh[r->num_series + 1], done[r->num_series + 1], answered = 0;
  bool got[r->num_series + 1];
  for (size_t i = 0; i < r->num_series; i++) {
    fresh[i] = 0;
    r->series[i].sum_ok = false;
    got[i] = asked[i] && check_call(r, M_SPENDING, i, ok);
    if (!got[i])
      continue;
    answered++;
    series_t *se = &r->series[i];
    if (se->date == 0)
      dispatch_sums(r, i, now); /* a catch-up page is not the last 24 h */
    /* A plain answer whose hours follow a gap (first seen by the API's
     * clock now): they wait for the pages before them. */
    if (se->date == 0 && spending_catch_up_date(se->last_till, 0, hours_now,
                                                r->acct->catch_up_days) != 0)
      continue;
    api_call_t *c = &r->batch.calls[i];
    fresh[i] = spending_new_records(c->resp.records, c->resp.num_records,
                                    r->series[i].last_till, hours_now);
  }
  dispatch_hours(r, fresh, done, mono_now() + HOURS_WAIT_MAX);
  /* A page is done once all of it went out; else it is asked again from
   * the hour after the last one sent. */
  for (size_t i = 0; i < r->num_series; i++)
    if (got[i] && r->series[i].date != 0 && done[i] == fresh[i])
      r->series[i].cursor = r->series[i].date;
  return answered;
}

static int reader_read(user_data_t *ud) {
  reader_t *r = ud->data;
  api_call_t *batch[r->num_series + 1];
  bool asked[r->num_series + 1], balance;
  cdtime_t now = cdtime(), mono = mono_now();
  say_clock_step(now, mono);
  if (mono < r->not_before)
    return 0; /* waiting out the vendor's block; logged when it began */
  r->not_before = 0;
  if (r->num_series == 0 && !r->acct->balance)
    return 0; /* an account that only reports */
  int n = prepare_calls(r, batch, asked, &balance,
                        api_clock_now(&r->api, now, mono), mono);
  if (n < 0)
    return -1;
  if (api_run_all(r->batch.multi, batch, (size_t)n) != 0)
    ERROR("anticaptcha plugin: Account \"%s\": libcurl's multi interface "
          "failed; the poll is lost.",
          r->acct->name);
  int64_t hours_now = hear_api(r, batch, (size_t)n);

  bool ok[M_COUNT] = {true, true};
  size_t answered = settle_spending(r, asked, &ok[M_SPENDING], hours_now, now);
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

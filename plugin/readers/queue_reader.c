/* The queue-statistics reader: getQueueStats for every listed queue. */
#include "readers/queue_reader.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_complain.h"
#include "collectd/core/utils/common/common.h"

#include "api/api_client.h"
#include "api/api_errors.h"
#include "model/queue_stats.h"
#include "util/dispatch.h"

#define METHOD "getQueueStats"
#define MIN_INTERVAL TIME_T_TO_CDTIME_T(QUEUE_STATS_MIN_INTERVAL_SECONDS)

typedef struct {
  const queue_stats_config_t *cfg;
  api_batch_t batch; /* one call per queue */
  cdtime_t last_poll;
  int last_status;
  uint64_t requests, failures;
  c_complain_t complaints[]; /* one per queue: each outage logged once */
} queue_reader_t;

/* collectd's free_func. */
static void queue_reader_free(void *arg) {
  api_batch_destroy(&((queue_reader_t *)arg)->batch);
  free(arg);
}

static queue_reader_t *queue_reader_create(const queue_stats_config_t *q) {
  size_t n = q->num_queues;
  queue_reader_t *r = calloc(1, sizeof(*r) + n * sizeof(r->complaints[0]));
  if (r == NULL)
    return NULL;
  r->cfg = q;
  if (api_batch_init(&r->batch, n) != 0) {
    free(r);
    return NULL;
  }
  for (size_t i = 0; i < n; i++)
    C_COMPLAIN_INIT(&r->complaints[i]);
  return r;
}

static const char *advice(const api_call_t *c) {
  if (api_call_result(c) != API_ERROR)
    return "check URL, Timeout, CACert and the network; collectd retries with "
           "a growing interval";
  switch (c->resp.error_id) {
  case API_ERROR_NO_SUCH_METHOD:
    return "check URL";
  case API_ERROR_IP_BLOCKED:
    return "this IP address is blocked; collectd backs off, do not restart "
           "it in a loop";
  default:
    return "check the queue's id against the vendor's list (errorCode in the "
           "API documentation)";
  }
}

/* Dispatches what the answer holds; a missing figure is not made up. */
static void dispatch_queue(queue_reader_t *r, size_t i, cdtime_t now) {
  const queue_stats_t *qs = &r->batch.calls[i].resp.queue;
  char ti[DATA_MAX_NAME_LEN];
  for (int f = 0; f < QS_COUNT; f++) {
    if (!(qs->present & (1u << f)))
      continue;
    snprintf(ti, sizeof(ti), "%s-%s", r->cfg->slugs[i],
             queue_stats_fields[f].name);
    dispatch_gauge(QUEUE_STATS_INSTANCE, queue_stats_fields[f].type, ti,
                   qs->value[f], now, 0);
  }
}

static bool check_queue(queue_reader_t *r, size_t i) {
  const api_call_t *c = &r->batch.calls[i];
  const queue_stats_config_t *q = r->cfg;
  char what[512];
  r->requests++;
  if (api_call_result(c) == API_OK) {
    c_release(LOG_INFO, &r->complaints[i],
              "anticaptcha plugin: QueueStats: " METHOD " (queue \"%s\") "
              "works again.",
              q->queues[i]);
    return true;
  }
  r->failures++;
  c_complain_once(LOG_ERR, &r->complaints[i],
                  "anticaptcha plugin: QueueStats: " METHOD " (queue \"%s\", "
                  "id %lld) failed: %s; %s.",
                  q->queues[i], (long long)q->ids[i],
                  api_call_describe(c, what, sizeof(what)), advice(c));
  return false;
}

static int queue_reader_read(user_data_t *ud) {
  queue_reader_t *r = ud->data;
  const api_transport_t *t = &r->cfg->transport;
  size_t n = r->cfg->num_queues, started = 0;
  api_call_t *batch[n];
  cdtime_t now = cdtime();

  /* The vendor renews its answer every 10 s and Interval is 10 s or more,
   * but collectd's back-off after a failure is capped by MaxReadInterval,
   * which may be shorter: never ask more often then. */
  if (r->last_status != 0 && now - r->last_poll < MIN_INTERVAL)
    return r->last_status;
  r->last_poll = now;
  for (size_t i = 0; i < n; i++) {
    size_t len = 0;
    char *body =
        queue_stats_request(r->cfg->ids[i], r->cfg->templates[i], &len);
    if (api_call_prepare(&r->batch.calls[i], t, METHOD, body, len,
                         RESPONSE_QUEUE_STATS) == 0)
      batch[started++] = &r->batch.calls[i];
  }
  if (started < n) {
    ERROR("anticaptcha plugin: QueueStats: cannot build the requests (out of "
          "memory).");
    return r->last_status = -1;
  }
  if (api_run_all(r->batch.multi, batch, n) != 0)
    ERROR("anticaptcha plugin: QueueStats: libcurl's multi interface failed; "
          "the poll is lost.");
  bool all_ok = true;
  double seconds = 0;
  for (size_t i = 0; i < n; i++) {
    seconds += r->batch.calls[i].seconds;
    if (check_queue(r, i))
      dispatch_queue(r, i, now);
    else
      all_ok = false;
  }
  dispatch_gauge(QUEUE_STATS_INSTANCE, "response_time", METHOD,
                 seconds / (double)n, 0, 0);
  dispatch_derive(QUEUE_STATS_INSTANCE, METHOD "-requests", r->requests);
  dispatch_derive(QUEUE_STATS_INSTANCE, METHOD "-failures", r->failures);
  /* Non-zero makes collectd stretch the interval: probes, not floods. */
  return r->last_status = all_ok ? 0 : -1;
}

int queue_reader_register(const queue_stats_config_t *q) {
  queue_reader_t *r = queue_reader_create(q);
  if (r == NULL) {
    ERROR("anticaptcha plugin: QueueStats: cannot set up the reader (out of "
          "memory or libcurl failure).");
    return -1;
  }
  return plugin_register_complex_read(
      NULL, "anticaptcha/" QUEUE_STATS_INSTANCE, queue_reader_read, q->interval,
      &(user_data_t){.data = r, .free_func = queue_reader_free});
}

/* The report sender's queue side: create, submit, counters, start and stop
 * (see report_sender.h; the worker's loop is sender_worker.c). */
#include "reports/sender_internal.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/utils/common/common.h"

#include "util/mono_time.h"

/* Task ids remembered at once: room for a 60 s Window of 2,184 reports per
 * second (4 MiB) is taken at start; the set doubles when more are live, up
 * to REPORT_SEEN_MAX (32 MiB). */
#define SEEN_INITIAL 131072

const char *const report_counter_names[REPORT_COUNTER_COUNT] = {
#define REPORT_COUNTER_NAME(name, doc) #name,
    REPORT_COUNTERS(REPORT_COUNTER_NAME)
#undef REPORT_COUNTER_NAME
};

void report_counter_values(const report_counters_t *c,
                           uint64_t out[REPORT_COUNTER_COUNT]) {
#define REPORT_COUNTER_VALUE(name, doc) out[REPORT_COUNTER_##name] = c->name;
  REPORT_COUNTERS(REPORT_COUNTER_VALUE)
#undef REPORT_COUNTER_VALUE
}

/* Accounts with the same URL share a host, and its connection gate. */
static int make_gates(report_sender_t *s) {
  const plugin_config_t *cfg = s->cfg;
  size_t cap =
      cfg->max_connections > 0 ? cfg->max_connections : cfg->max_in_flight;
  s->gates = calloc(cfg->num_accounts + 1, sizeof(*s->gates));
  if (s->gates == NULL)
    return -1;
  for (size_t i = 0; i < cfg->num_accounts; i++) {
    size_t g = i;
    for (size_t j = 0; j < i; j++)
      if (strcmp(cfg->accounts[j].transport.url,
                 cfg->accounts[i].transport.url) == 0) {
        g = (size_t)(s->tx[j].gate - s->gates);
        break;
      }
    s->gates[g].cap = (unsigned)cap;
    s->tx[i].gate = &s->gates[g];
  }
  curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)cap);
  return 0;
}

static int make_accounts(report_sender_t *s) {
  const plugin_config_t *cfg = s->cfg;
  s->tx = calloc(cfg->num_accounts + 1, sizeof(*s->tx));
  if (s->tx == NULL)
    return -1;
  for (size_t i = 0; i < cfg->num_accounts; i++) {
    account_tx_t *t = &s->tx[i];
    /* Room for the whole queue: calloc'd pages cost nothing until used. */
    if (job_ring_init(&t->ready, cfg->queue_limit + cfg->max_in_flight) != 0)
      return -1;
    pace_init(&t->pace, (unsigned)cfg->max_in_flight,
              (uint64_t)cdtime() ^ ((uint64_t)(i + 1) << 32) ^
                  (uint64_t)getpid());
    /* CapMonster blocks a key for 10 minutes: a pause never ends sooner. */
    t->pace.pause_min =
        TIME_T_TO_CDTIME_T(cfg->accounts[i].transport.service->pause_min);
    C_COMPLAIN_INIT(&t->rejected);
    C_COMPLAIN_INIT(&t->failing);
    C_COMPLAIN_INIT(&t->held);
  }
  return make_gates(s);
}

static int make_slots(report_sender_t *s) {
  size_t n = s->cfg->max_in_flight;
  s->slots = calloc(n, sizeof(*s->slots));
  s->free_slots = calloc(n, sizeof(*s->free_slots));
  if (s->slots == NULL || s->free_slots == NULL)
    return -1;
  for (size_t i = 0; i < n; i++)
    s->free_slots[i] = n - 1 - i; /* slot 0 on top: few handles made */
  s->num_free = n;
  return 0;
}

report_sender_t *sender_create(const plugin_config_t *cfg) {
  report_sender_t *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->cfg = cfg;
  s->driver.epoll_fd = s->driver.wake_fd = -1;
  pthread_mutex_init(&s->lock, NULL);
  s->multi = api_multi_create((long)cfg->max_in_flight);
  if (s->multi == NULL || make_slots(s) != 0 || make_accounts(s) != 0 ||
      driver_init(&s->driver, s->multi, "the report sender", true) != 0 ||
      job_ring_init(&s->queue, cfg->queue_limit) != 0 ||
      seen_init(&s->seen, SEEN_INITIAL, REPORT_SEEN_MAX) != 0) {
    sender_destroy(s);
    return NULL;
  }
  return s;
}

void sender_destroy(report_sender_t *s) {
  if (s == NULL)
    return;
  if (s->started)
    sender_stop(s, 0);
  for (size_t i = 0; s->slots != NULL && i < s->cfg->max_in_flight; i++)
    if (s->slots[i].call.curl != NULL)
      api_call_destroy(&s->slots[i].call);
  if (s->multi != NULL)
    curl_multi_cleanup(s->multi); /* may still tell the driver and gates */
  driver_destroy(&s->driver);
  for (size_t i = 0; s->tx != NULL && i < s->cfg->num_accounts; i++)
    job_ring_destroy(&s->tx[i].ready);
  job_ring_destroy(&s->queue);
  seen_destroy(&s->seen);
  sender_changes_free(&s->changes);
  sender_changes_free(&s->worker_changes);
  pthread_mutex_destroy(&s->lock);
  free(s->slots);
  free(s->free_slots);
  free(s->tx);
  free(s->gates);
  free(s);
}

submit_result_t sender_submit(report_sender_t *s, const report_request_t *req) {
  report_job_t job = {.req = *req};
  submit_result_t result = SUBMIT_QUEUED;
  bool was_empty = false;

  /* A flood is mostly dropped here, without the lock that the unixsock
   * threads would otherwise queue up on (nor a clock read). */
  if (__atomic_load_n(&s->backlog, __ATOMIC_RELAXED) >= s->cfg->queue_limit) {
    COUNT(s, *req, dropped);
    return SUBMIT_DROPPED;
  }
  /* The notification's time is the wall clock's: from here on the window
   * runs on the monotonic clock, whatever steps the wall clock makes. A
   * time from the future is clock skew, taken as now, so a wrong clock
   * cannot keep a report retrying past the real window. */
  cdtime_t now = mono_now(), wall = cdtime();
  if (!job_arrives(&job, s->cfg->window, wall, now)) {
    COUNT(s, *req, expired);
    return SUBMIT_EXPIRED;
  }
  /* The account refused for all its reports: sending this one would only
   * be refused again. */
  if (now <
      __atomic_load_n(&s->tx[req->account].paused_until, __ATOMIC_RELAXED)) {
    COUNT(s, *req, paused);
    return SUBMIT_PAUSED;
  }
  pthread_mutex_lock(&s->lock);
  if (s->stopping) {
    COUNT(s, *req, abandoned);
    result = SUBMIT_STOPPING;
  } else if (s->backlog >= s->cfg->queue_limit) {
    COUNT(s, *req, dropped);
    result = SUBMIT_DROPPED;
  } else {
    /* Remember the task until its window has closed for sure (completed
     * is not later than now, see above). */
    switch (seen_add(&s->seen, (uint32_t)req->account, req->task_id, now,
                     cdtime_add(now, s->cfg->window))) {
    case SEEN_DUPLICATE:
      COUNT(s, *req, duplicate);
      result = SUBMIT_DUPLICATE;
      break;
    case SEEN_FULL:
      COUNT(s, *req, dropped);
      result = SUBMIT_SEEN_FULL;
      break;
    case SEEN_NEW:
      was_empty = s->queue.count == 0;
      job_ring_push(&s->queue, &job);
      set_backlog(s, s->backlog + 1);
      sender_note_queued(s, &job, cdtime_add(wall, s->cfg->window));
      break;
    }
  }
  pthread_mutex_unlock(&s->lock);
  /* The worker takes the whole queue each turn: only a first job needs a
   * wake-up. One per job cost the worker a pass per report. */
  if (was_empty)
    driver_wake(&s->driver);
  return result;
}

/* Adds c's values to *out. */
static void add_counters(const report_counters_t *c, report_counters_t *out) {
#define REPORT_COUNTER_ADD(name, doc)                                          \
  out->name += __atomic_load_n(&c->name, __ATOMIC_RELAXED);
  REPORT_COUNTERS(REPORT_COUNTER_ADD)
#undef REPORT_COUNTER_ADD
}

void sender_counters(report_sender_t *s, size_t account,
                     report_counters_t *out) {
  *out = (report_counters_t){0};
  for (int m = 0; m < REPORT_METHOD_COUNT; m++)
    add_counters(&s->tx[account].by_method[m], out);
}

void sender_method_counters(report_sender_t *s, size_t account,
                            report_method_t method, report_counters_t *out) {
  *out = (report_counters_t){0};
  add_counters(&s->tx[account].by_method[method], out);
}

void sender_count_withheld(report_sender_t *s, const report_request_t *req) {
  COUNT(s, *req, withheld);
}

int sender_state(report_sender_t *s, size_t account) {
  return __atomic_load_n(&s->tx[account].state, __ATOMIC_RELAXED);
}

void sender_on_outcome(report_sender_t *s, sender_outcome_fn fn, void *ud) {
  s->on_outcome = fn;
  s->on_outcome_ud = ud;
}

int sender_start(report_sender_t *s) {
  int status =
      plugin_thread_create(&s->thread, sender_worker, s, "anticaptcha rep");
  s->started = status == 0;
  return status;
}

void sender_stop(report_sender_t *s, cdtime_t grace) {
  if (!s->started)
    return;
  pthread_mutex_lock(&s->lock);
  s->stopping = true;
  pthread_mutex_unlock(&s->lock);
  driver_wake(&s->driver);
  pthread_join(s->thread, NULL);
  s->started = false;

  sender_drain(s, grace);
  if (s->keep_pending) {
    uint64_t kept = sender_keep_worker_jobs(s);
    pthread_mutex_lock(&s->lock);
    kept += s->queue.count;
    pthread_mutex_unlock(&s->lock);
    if (kept > 0)
      INFO("anticaptcha plugin: shutting down with %" PRIu64 " report(s) "
           "unsent; they are kept in the state file and sent after the "
           "restart while their window is open.",
           kept);
    return;
  }
  uint64_t abandoned = sender_abandon_worker_jobs(s);
  report_job_t job;
  pthread_mutex_lock(&s->lock);
  abandoned += s->queue.count;
  while (job_ring_pop(&s->queue, &job) == 0)
    COUNT(s, job.req, abandoned);
  set_backlog(s, 0);
  pthread_mutex_unlock(&s->lock);
  if (abandoned > 0)
    WARNING("anticaptcha plugin: shutting down with %" PRIu64 " report(s) "
            "unsent; they are counted as abandoned.",
            abandoned);
}

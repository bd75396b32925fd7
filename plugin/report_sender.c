#include "report_sender.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_complain.h"
#include "collectd/core/utils/common/common.h"

#include <pthread.h>

#include "api_client.h"
#include "report_queue.h"
#include "request.h"

/* Task ids remembered at once: a 60 s Window of 2,180 reports per second;
 * 4 MiB, taken at start. */
#define SEEN_CAPACITY 131072

typedef struct {
  api_call_t call;
  report_job_t job;
  bool busy;
} slot_t;

typedef struct {
  c_complain_t rejected, failing; /* touched by the worker only */
} account_log_t;

struct report_sender_s {
  const plugin_config_t *cfg;
  CURLM *multi;

  pthread_mutex_t lock; /* guards the fields up to `stopping` */
  job_ring_t queue;
  seen_set_t seen;
  report_counters_t *counters; /* per account */
  size_t delayed_count;        /* copy of delayed.count for sender_submit */
  bool stopping;

  /* The worker's own. */
  pthread_t thread;
  bool started;
  slot_t *slots;
  size_t in_flight;
  job_ring_t delayed; /* waiting out a back-off */
  account_log_t *logs;
};

report_sender_t *sender_create(const plugin_config_t *cfg) {
  report_sender_t *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->cfg = cfg;
  pthread_mutex_init(&s->lock, NULL);
  s->multi = api_multi_create((long)cfg->max_in_flight);
  s->counters = calloc(cfg->num_accounts, sizeof(*s->counters));
  s->logs = calloc(cfg->num_accounts, sizeof(*s->logs));
  s->slots = calloc(cfg->max_in_flight, sizeof(*s->slots));
  if (s->multi == NULL || s->counters == NULL || s->logs == NULL ||
      s->slots == NULL || job_ring_init(&s->queue, cfg->queue_limit) != 0 ||
      job_ring_init(&s->delayed, cfg->queue_limit + cfg->max_in_flight) != 0 ||
      seen_init(&s->seen, SEEN_CAPACITY) != 0) {
    sender_destroy(s);
    return NULL;
  }
  for (size_t i = 0; i < cfg->max_in_flight; i++)
    if (api_call_init(&s->slots[i].call) != 0) {
      sender_destroy(s);
      return NULL;
    }
  for (size_t i = 0; i < cfg->num_accounts; i++) {
    C_COMPLAIN_INIT(&s->logs[i].rejected);
    C_COMPLAIN_INIT(&s->logs[i].failing);
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
    curl_multi_cleanup(s->multi);
  job_ring_destroy(&s->queue);
  job_ring_destroy(&s->delayed);
  seen_destroy(&s->seen);
  pthread_mutex_destroy(&s->lock);
  free(s->slots);
  free(s->counters);
  free(s->logs);
  free(s);
}

submit_result_t sender_submit(report_sender_t *s, const report_request_t *req,
                              cdtime_t now) {
  report_job_t job = {.req = *req, .deadline = req->completed + s->cfg->window};
  submit_result_t result = SUBMIT_QUEUED;
  report_counters_t *c = &s->counters[req->account];
  bool was_empty = false;

  pthread_mutex_lock(&s->lock);
  if (!report_window_open(&job, now)) {
    c->expired++;
    result = SUBMIT_EXPIRED;
  } else if (s->stopping) {
    c->abandoned++;
    result = SUBMIT_DROPPED;
  } else if (s->queue.count + s->delayed_count >= s->cfg->queue_limit) {
    c->dropped++;
    result = SUBMIT_DROPPED;
  } else {
    /* Remember the task until its window has closed for sure. */
    cdtime_t expires = (req->completed > now ? req->completed : now) +
                       s->cfg->window;
    switch (seen_add(&s->seen, (uint32_t)req->account, req->task_id, now,
                     expires)) {
    case SEEN_DUPLICATE:
      c->duplicate++;
      result = SUBMIT_DUPLICATE;
      break;
    case SEEN_FULL:
      c->dropped++;
      result = SUBMIT_DROPPED;
      break;
    case SEEN_NEW:
      was_empty = s->queue.count == 0;
      job_ring_push(&s->queue, &job);
      break;
    }
  }
  pthread_mutex_unlock(&s->lock);
  /* The worker takes jobs until the queue is empty (seen under the lock) or
   * every slot is busy (a finishing transfer wakes it then): only a first
   * job needs a wake-up. One per job cost the worker a pass over all its
   * transfers per report. */
  if (was_empty)
    curl_multi_wakeup(s->multi);
  return result;
}

void sender_counters(report_sender_t *s, size_t account,
                     report_counters_t *out) {
  pthread_mutex_lock(&s->lock);
  *out = s->counters[account];
  pthread_mutex_unlock(&s->lock);
}

/* ---- The worker ---- */

#define COUNT(s, account, field)                                               \
  do {                                                                         \
    pthread_mutex_lock(&(s)->lock);                                            \
    (s)->counters[account].field++;                                            \
    pthread_mutex_unlock(&(s)->lock);                                          \
  } while (0)

static slot_t *free_slot(report_sender_t *s) {
  for (size_t i = 0; i < s->cfg->max_in_flight; i++)
    if (!s->slots[i].busy)
      return &s->slots[i];
  return NULL;
}

/* Starts one attempt; the window was checked just before. */
static void start_job(report_sender_t *s, slot_t *slot, const report_job_t *job) {
  const account_t *a = &s->cfg->accounts[job->req.account];
  const char *method = report_method_name(job->req.method);
  size_t len = 0;

  if (s->cfg->dry_run) {
    INFO("anticaptcha plugin: Account \"%s\": DryRun: would send %s for task "
         "%" PRIu64 ".", a->name, method, job->req.task_id);
    return;
  }
  char *body = request_report(a->client_key, job->req.task_id, &len);
  if (api_call_prepare(&slot->call, a, method, body, len, RESPONSE_REPORT) != 0 ||
      curl_multi_add_handle(s->multi, slot->call.curl) != CURLM_OK) {
    ERROR("anticaptcha plugin: Account \"%s\": cannot start a %s request "
          "(out of memory?); the report for task %" PRIu64 " is dropped.",
          a->name, method, job->req.task_id);
    COUNT(s, job->req.account, dropped);
    return;
  }
  slot->job = *job;
  slot->job.attempts++;
  slot->busy = true;
  s->in_flight++;
  COUNT(s, job->req.account, sent);
}

/* Takes the next job whose back-off is over: delayed ones first, they are
 * the oldest. Returns false when there is none. */
static bool next_job(report_sender_t *s, cdtime_t now, report_job_t *job) {
  for (size_t n = s->delayed.count; n > 0; n--) {
    job_ring_pop(&s->delayed, job);
    if (job->not_before <= now || !report_window_open(job, now))
      return true;
    job_ring_push(&s->delayed, job);
  }
  pthread_mutex_lock(&s->lock);
  bool got = job_ring_pop(&s->queue, job) == 0;
  s->delayed_count = s->delayed.count;
  pthread_mutex_unlock(&s->lock);
  return got;
}

static void start_jobs(report_sender_t *s) {
  cdtime_t now = cdtime();
  slot_t *slot;
  report_job_t job;
  while ((slot = free_slot(s)) != NULL && next_job(s, now, &job)) {
    if (!report_window_open(&job, now)) {
      COUNT(s, job.req.account, expired);
      continue;
    }
    start_job(s, slot, &job);
  }
}

static void log_outcome(report_sender_t *s, const slot_t *slot,
                        report_decision_t d) {
  const account_t *a = &s->cfg->accounts[slot->job.req.account];
  account_log_t *log = &s->logs[slot->job.req.account];
  char what[256];
  if (d == DECISION_ACCEPTED) {
    /* One line ends the outage, whether reports failed or were refused. */
    if (c_would_release(&log->failing) || c_would_release(&log->rejected))
      INFO("anticaptcha plugin: Account \"%s\": reports go through again.",
           a->name);
    C_COMPLAIN_INIT(&log->failing);
    C_COMPLAIN_INIT(&log->rejected);
    return;
  }
  api_call_describe(&slot->call, what, sizeof(what));
  /* Once per outage (as the reader does): c_complain would repeat the line
   * at doubling intervals for as long as the API fails. */
  if (d == DECISION_REJECTED)
    c_complain_once(LOG_NOTICE, &log->rejected,
               "anticaptcha plugin: Account \"%s\": %s for task %" PRIu64
               " was refused: %s. errorId 16 means too late or already "
               "reported.", a->name, slot->call.method, slot->job.req.task_id,
               what);
  else
    c_complain_once(LOG_WARNING, &log->failing,
               "anticaptcha plugin: Account \"%s\": %s for task %" PRIu64
               " failed: %s; retrying while its window is open.",
               a->name, slot->call.method, slot->job.req.task_id, what);
}

static void finish_job(report_sender_t *s, slot_t *slot, CURLcode code) {
  api_call_complete(&slot->call, code);
  curl_multi_remove_handle(s->multi, slot->call.curl);
  slot->busy = false;
  s->in_flight--;

  api_result_t res = api_call_result(&slot->call);
  report_outcome_t outcome = res == API_OK          ? OUTCOME_ACCEPTED
                             : res == API_TRANSIENT ? OUTCOME_TRANSIENT
                                                    : OUTCOME_API_ERROR;
  report_decision_t d = report_decide(&slot->job, outcome, cdtime());
  size_t acct = slot->job.req.account;
  log_outcome(s, slot, d);
  if (d == DECISION_ACCEPTED)
    COUNT(s, acct, accepted);
  else if (d == DECISION_REJECTED)
    COUNT(s, acct, rejected);
  else if (d == DECISION_EXPIRED)
    COUNT(s, acct, expired);
  else {
    job_ring_push(&s->delayed, &slot->job); /* sized to never be full */
    COUNT(s, acct, retried);
  }
}

static void collect_done(report_sender_t *s) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(s->multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    api_call_t *call = NULL;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&call);
    finish_job(s, (slot_t *)call, msg->data.result); /* call is first */
  }
}

/* How long the worker may sleep: until the next back-off ends, at most 1 s. */
static int sleep_ms(const report_sender_t *s, cdtime_t now) {
  cdtime_t next = now + TIME_T_TO_CDTIME_T(1);
  for (size_t i = 0; i < s->delayed.count; i++) {
    const report_job_t *j =
        &s->delayed.items[(s->delayed.head + i) % s->delayed.capacity];
    if (j->not_before < next)
      next = j->not_before;
  }
  return next <= now ? 0 : (int)CDTIME_T_TO_MS(next - now) + 1;
}

static bool stopping(report_sender_t *s) {
  pthread_mutex_lock(&s->lock);
  bool stop = s->stopping;
  pthread_mutex_unlock(&s->lock);
  return stop;
}

static void *worker(void *arg) {
  report_sender_t *s = arg;
  int running = 0;
  while (!stopping(s)) {
    start_jobs(s);
    curl_multi_perform(s->multi, &running);
    collect_done(s);
    /* Refill the slots that just finished before sleeping: nothing else
     * would (sender_submit wakes the worker only for a first job). Without
     * this a busy host, where the worker finds all answers at once, stalled
     * here for the whole second with every slot free. New handles make
     * curl_multi_poll return at once. */
    start_jobs(s);
    curl_multi_poll(s->multi, NULL, 0, sleep_ms(s, cdtime()), NULL);
  }
  return NULL;
}

int sender_start(report_sender_t *s) {
  int status = plugin_thread_create(&s->thread, worker, s, "anticaptcha rep");
  if (status != 0) {
    ERROR("anticaptcha plugin: cannot start the report thread: %s; no "
          "reports will be sent.", STRERROR(status));
    return -1;
  }
  s->started = true;
  return 0;
}

/* Lets what is in flight finish, for up to grace. */
static void drain(report_sender_t *s, cdtime_t grace) {
  cdtime_t end = cdtime() + grace;
  int running = 0;
  while (s->in_flight > 0 && cdtime() < end) {
    curl_multi_perform(s->multi, &running);
    collect_done(s);
    curl_multi_poll(s->multi, NULL, 0, 50, NULL);
  }
}

void sender_stop(report_sender_t *s, cdtime_t grace) {
  if (!s->started)
    return;
  pthread_mutex_lock(&s->lock);
  s->stopping = true;
  pthread_mutex_unlock(&s->lock);
  curl_multi_wakeup(s->multi);
  pthread_join(s->thread, NULL);
  s->started = false;

  drain(s, grace);
  uint64_t abandoned = s->in_flight + s->delayed.count;
  for (size_t i = 0; i < s->cfg->max_in_flight; i++)
    if (s->slots[i].busy) {
      curl_multi_remove_handle(s->multi, s->slots[i].call.curl);
      s->slots[i].busy = false;
      COUNT(s, s->slots[i].job.req.account, abandoned);
    }
  report_job_t job;
  while (job_ring_pop(&s->delayed, &job) == 0)
    COUNT(s, job.req.account, abandoned);
  pthread_mutex_lock(&s->lock);
  abandoned += s->queue.count;
  while (job_ring_pop(&s->queue, &job) == 0)
    s->counters[job.req.account].abandoned++;
  pthread_mutex_unlock(&s->lock);
  s->in_flight = 0;
  if (abandoned > 0)
    WARNING("anticaptcha plugin: shutting down with %" PRIu64 " report(s) "
            "unsent; they are counted as abandoned.", abandoned);
}

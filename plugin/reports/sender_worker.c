/* The report sender's worker: takes the queued jobs into per-account rings,
 * starts what each account's pacing and its host's connection gate allow,
 * and settles every answer (see report_sender.h and send_pacing.h). */
#include "reports/sender_internal.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/utils/common/common.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "api/request.h"
#include "util/mono_time.h"

/* The worker's nice value (collectd's threads run at 0). */
#define WORKER_NICE 19
/* The longest the worker sleeps: expired jobs are counted at least this
 * often. */
#define MAX_SLEEP_MS 1000

/* ---- libcurl's callbacks on the report handles ---- */

/* Counts the host's open connections (see conn_gate_t). */
static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose,
                                    struct curl_sockaddr *addr) {
  conn_gate_t *gate = clientp;
  (void)purpose;
  int fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
  if (fd < 0)
    return CURL_SOCKET_BAD;
  gate->open++;
  return fd;
}

static int on_close_socket(void *clientp, curl_socket_t fd) {
  conn_gate_t *gate = clientp;
  if (gate->open > 0)
    gate->open--;
  return close(fd);
}

/* Sets up the easy handle of a prepared call for the slot and its host. */
static void hook_call(slot_t *slot, conn_gate_t *gate) {
  CURL *h = slot->call.curl;
  slot->call.user = slot;
  curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
  curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, gate);
  curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket);
  curl_easy_setopt(h, CURLOPT_CLOSESOCKETDATA, gate);
}

/* ---- Starting jobs ---- */

static void publish_state(report_sender_t *s, size_t account) {
  const pace_t *p = &s->tx[account].pace;
  __atomic_store_n(&s->tx[account].state, (int)p->state, __ATOMIC_RELAXED);
  __atomic_store_n(&s->tx[account].paused_until,
                   p->state == PACE_PAUSED ? p->not_before : 0,
                   __ATOMIC_RELAXED);
}

/* Moves the shared queue into the accounts' rings: one lock per turn. */
static void take_queued(report_sender_t *s, cdtime_t now) {
  report_job_t job;
  pthread_mutex_lock(&s->lock);
  while (job_ring_pop(&s->queue, &job) == 0) {
    if (now <
        __atomic_load_n(&s->tx[job.req.account].paused_until, __ATOMIC_RELAXED))
      COUNT_GONE(s, job, paused);
    else if (job_ring_push(&s->tx[job.req.account].ready, &job) == 0)
      s->parked++;
    else
      COUNT_GONE(s, job, dropped); /* cannot happen: sized for the queue */
  }
  set_backlog(s, s->parked);
  sender_notes_share(s); /* after the queued ones: in the order they came */
  pthread_mutex_unlock(&s->lock);
}

/* The body of a report to the account's service, in secret memory. The
 * notification path admits only task ids of the service's form. */
static char *report_body(const account_t *a, const report_request_t *req,
                         const char *id, size_t *len) {
  if (a->transport.service->report_body == REPORT_BODY_FEEDBACK)
    return request_feedback(a->client_key, id,
                            req->method != REPORT_CORRECT_RECAPTCHA, len);
  return task_id_is_uuid(req->task_id)
             ? NULL
             : request_report(a->client_key, req->task_id.lo, len);
}

/* Starts one attempt; the window was checked just before. */
static void start_job(report_sender_t *s, const report_job_t *job) {
  const account_t *a = &s->cfg->accounts[job->req.account];
  account_tx_t *t = &s->tx[job->req.account];
  /* Never NULL: a kind the service lacks is no report (report_match.h). */
  const char *method = a->transport.service->method[job->req.method];
  char id[TASK_ID_TEXT_MAX];
  size_t len = 0;

  task_id_format(job->req.task_id, id);
  if (s->cfg->dry_run) {
    sender_note(s, job, CHANGE_GONE);
    INFO("anticaptcha plugin: Account \"%s\": DryRun: would send %s for task "
         "%s.",
         a->name, method, id);
    return;
  }
  slot_t *slot = &s->slots[s->free_slots[s->num_free - 1]];
  /* Handles are made on first use: most hosts never need MaxInFlight. */
  if (slot->call.curl == NULL && api_call_init(&slot->call) != 0) {
    ERROR("anticaptcha plugin: cannot set up a libcurl handle (out of "
          "memory?); the report for task %s is dropped.",
          id);
    COUNT_GONE(s, *job, dropped);
    return;
  }
  char *body = report_body(a, &job->req, id, &len);
  bool added = false;
  if (api_call_prepare(&slot->call, &a->transport, method, body, len,
                       RESPONSE_REPORT) == 0) {
    hook_call(slot, t->gate);
    added = curl_multi_add_handle(s->multi, slot->call.curl) == CURLM_OK;
  }
  if (!added) {
    ERROR("anticaptcha plugin: Account \"%s\": cannot start a %s request "
          "(out of memory?); the report for task %s is dropped.",
          a->name, method, id);
    COUNT_GONE(s, *job, dropped);
    return;
  }
  s->num_free--;
  slot->job = *job;
  slot->job.attempts++;
  sender_note(s, &slot->job, CHANGE_ATTEMPT);
  slot->busy = true;
  slot->opening = gate_start(t->gate);
  pace_sent(&t->pace);
  s->in_flight++;
  COUNT(s, job->req, sent);
  if (job->attempts > 0)
    COUNT(s, job->req, retried); /* counted when it goes, not when due */
}

/* Counts the jobs whose window has closed at the head of a ring that
 * waits: never sent late, and no longer taking room in the queue. */
static void count_expired(report_sender_t *s, account_tx_t *t, cdtime_t now) {
  const report_job_t *head;
  report_job_t job;
  while ((head = job_ring_peek(&t->ready)) != NULL &&
         !report_window_open(head, now)) {
    job_ring_pop(&t->ready, &job);
    s->parked--;
    COUNT_GONE(s, job, expired);
  }
}

static void start_account(report_sender_t *s, account_tx_t *t, cdtime_t now) {
  report_job_t job;
  count_expired(s, t, now);
  while (s->num_free > 0 && t->ready.count > 0 &&
         pace_may_send(&t->pace, now) && gate_may_start(t->gate)) {
    job_ring_pop(&t->ready, &job);
    s->parked--;
    start_job(s, &job);
    count_expired(s, t, now);
  }
}

/* Accounts take turns at the free slots. */
static void start_jobs(report_sender_t *s, cdtime_t now) {
  size_t n = s->cfg->num_accounts;
  if (n == 0) /* <QueueStats> alone: nothing ever to send */
    return;
  for (size_t k = 0; k < n; k++)
    start_account(s, &s->tx[(s->next_account + k) % n], now);
  s->next_account = (s->next_account + 1) % n;
}

/* ---- Settling answers ---- */

typedef enum {
  ANSWER_REFUSED,   /* an API error about the task */
  ANSWER_HELD,      /* an API error about the account: paused */
  ANSWER_FAILED,    /* transient: retried, one probe at a time */
  ANSWER_TOLD_WAIT, /* transient, with Retry-After */
} answer_t;

/* Once per outage (as the reader does): c_complain would repeat the line
 * at doubling intervals for as long as the API fails. */
static void log_answer(report_sender_t *s, const slot_t *slot, answer_t kind) {
  const account_t *a = &s->cfg->accounts[slot->job.req.account];
  const service_t *svc = a->transport.service;
  account_tx_t *t = &s->tx[slot->job.req.account];
  cdtime_t now = mono_now(); /* not_before may be past: cdtime_t is unsigned */
  double wait = t->pace.not_before > now
                    ? CDTIME_T_TO_DOUBLE(t->pace.not_before - now)
                    : 0.0;
  c_complain_t *once = &t->failing;
  int level = LOG_WARNING;
  const char *verb = "failed";
  char what[256], then[256];
  switch (kind) {
  case ANSWER_REFUSED:
    once = &t->rejected, level = LOG_NOTICE, verb = "was refused";
    if (svc->errors == ERRORS_BY_ID)
      sstrncpy(then, ". errorId 16 means too late or already reported.",
               sizeof(then));
    else
      snprintf(then, sizeof(then),
               ". %s refuses this task's report only; the others go on.",
               svc->label);
    break;
  case ANSWER_HELD:
    once = &t->held, level = LOG_ERR, verb = "was refused";
    snprintf(then, sizeof(then),
             ". This concerns the account, not the task: its reports are "
             "paused for %.0f s and counted as \"paused\". Check the key, the "
             "account and this host's IP address with %s.",
             wait, svc->label);
    break;
  case ANSWER_TOLD_WAIT:
    snprintf(then, sizeof(then),
             "; retrying after the %.0f s the server asks for (Retry-After), "
             "while the windows are open.",
             wait);
    break;
  case ANSWER_FAILED:
    sstrncpy(then,
             "; retrying while its window is open, one request at a time.",
             sizeof(then));
    break;
  }
  char id[TASK_ID_TEXT_MAX];
  api_call_describe(&slot->call, what, sizeof(what));
  c_complain_once(level, once,
                  "anticaptcha plugin: Account \"%s\": %s for task %s %s: %s%s",
                  a->name, slot->call.method,
                  task_id_format(slot->job.req.task_id, id), verb, what, then);
}

static void log_recovered(report_sender_t *s, size_t account) {
  account_tx_t *t = &s->tx[account];
  /* One line ends the outage, whether reports failed or were refused. */
  if (c_would_release(&t->failing) || c_would_release(&t->rejected) ||
      c_would_release(&t->held))
    INFO("anticaptcha plugin: Account \"%s\": reports go through again.",
         s->cfg->accounts[account].name);
  C_COMPLAIN_INIT(&t->failing);
  C_COMPLAIN_INIT(&t->rejected);
  C_COMPLAIN_INIT(&t->held);
}

/* What the answer means for the account's pacing. */
static pace_event_t pace_event(report_sender_t *s, slot_t *slot, cdtime_t now,
                               cdtime_t *retry_at) {
  const api_call_t *c = &slot->call;
  cdtime_t delay;
  switch (api_call_result(c)) {
  case API_OK:
    return PACE_ANSWERED;
  case API_ERROR: {
    service_error_t e = api_call_error(c);
    /* Zero balance pauses where repeating it gets the key blocked. */
    return service_error_concerns_account(e) ||
                   (e == SERVICE_ERROR_ZERO_BALANCE &&
                    c->service->zero_balance_pauses)
               ? PACE_ACCOUNT_ERROR
               : PACE_ANSWERED;
  }
  case API_HTTP_FINAL:
    return PACE_ACCOUNT_ERROR;
  case API_TRANSIENT:
    break;
  }
  if (c->http_status != 429 && c->http_status != 503)
    return PACE_TRANSIENT;
  COUNT(s, slot->job.req, throttled);
  /* An HTTP-date is the wall clock's: a delay from here on. */
  if (c->retry_after[0] == 0 ||
      pace_parse_retry_after(c->retry_after, cdtime(), &delay) != 0)
    return PACE_TRANSIENT;
  *retry_at = cdtime_add(now, delay);
  return PACE_RETRY_AFTER;
}

/* An account-level refusal: what waits for the account will not go. */
static void hold_account(report_sender_t *s, size_t account) {
  report_job_t job;
  account_tx_t *t = &s->tx[account];
  while (job_ring_pop(&t->ready, &job) == 0) {
    s->parked--;
    COUNT_GONE(s, job, paused);
  }
}

/* Tells the hub pair's hook of a final answer; true when the hook counted a
 * refusal itself (a takeover the peer had already reported). */
static bool outcome_taken(report_sender_t *s, const slot_t *slot,
                          bool accepted) {
  if (s->on_outcome == NULL)
    return false;
  const api_call_t *c = &slot->call;
  bool gone = api_call_result(c) == API_ERROR &&
              api_call_error(c) == SERVICE_ERROR_GONE;
  return s->on_outcome(s->on_outcome_ud, &slot->job.req, accepted, gone) &&
         !accepted;
}

static void settle(report_sender_t *s, slot_t *slot, cdtime_t now) {
  size_t acct = slot->job.req.account;
  account_tx_t *t = &s->tx[acct];
  cdtime_t retry_at = 0;
  pace_event_t ev = pace_event(s, slot, now, &retry_at);
  pace_done(&t->pace, ev, retry_at, now);
  publish_state(s, acct);

  api_result_t res = api_call_result(&slot->call);
  report_outcome_t outcome = res == API_OK          ? OUTCOME_ACCEPTED
                             : res == API_TRANSIENT ? OUTCOME_TRANSIENT
                                                    : OUTCOME_API_ERROR;
  report_decision_t d = report_decide(&slot->job, outcome, now);
  if (d != DECISION_RETRY)
    sender_note(s, &slot->job, CHANGE_GONE);
  if (sender_settle_unconfirmed(s, slot, d))
    return;
  switch (d) {
  case DECISION_ACCEPTED:
    outcome_taken(s, slot, true);
    COUNT(s, slot->job.req, accepted);
    if (t->pace.state == PACE_OPEN)
      log_recovered(s, acct);
    return;
  case DECISION_REJECTED:
    if (outcome_taken(s, slot, false))
      return; /* counted as pair-peer-refused, not logged */
    COUNT(s, slot->job.req, rejected);
    break;
  case DECISION_EXPIRED:
    COUNT(s, slot->job.req, expired);
    break;
  case DECISION_RETRY:
    /* Back to the front: it goes first when the account's pacing lets
     * the next request go (sized to never be full). */
    if (job_ring_push_front(&t->ready, &slot->job) == 0)
      s->parked++;
    break;
  }
  answer_t kind = ev == PACE_ACCOUNT_ERROR ? ANSWER_HELD
                  : ev == PACE_RETRY_AFTER ? ANSWER_TOLD_WAIT
                  : ev == PACE_TRANSIENT   ? ANSWER_FAILED
                                           : ANSWER_REFUSED;
  log_answer(s, slot, kind);
  if (kind == ANSWER_HELD)
    hold_account(s, acct);
}

/* The driver's callback: one transfer ended. */
static void on_done(void *ud, CURL *easy, CURLcode code) {
  report_sender_t *s = ud;
  api_call_t *call = NULL;
  curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&call);
  slot_t *slot = call->user;
  conn_gate_t *gate = s->tx[slot->job.req.account].gate;
  long version = 0;

  api_call_complete(call, code);
  curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &version);
  if (version >= CURL_HTTP_VERSION_2_0)
    gate->multiplexed = true;
  curl_multi_remove_handle(s->multi, easy);
  gate_done(gate, slot->opening);
  slot->busy = false;
  s->free_slots[s->num_free++] = (size_t)(slot - s->slots);
  s->in_flight--;
  settle(s, slot, mono_now());
}

/* ---- The loop ---- */

/* How long the worker may sleep: until the next account's wait ends (when
 * it has jobs), at most MAX_SLEEP_MS; the driver wakes sooner for libcurl. */
static int sleep_ms(const report_sender_t *s, cdtime_t now) {
  cdtime_t next = now + MS_TO_CDTIME_T(MAX_SLEEP_MS);
  for (size_t i = 0; i < s->cfg->num_accounts; i++) {
    const account_tx_t *t = &s->tx[i];
    if (t->ready.count > 0 && t->pace.not_before > now &&
        t->pace.not_before < next)
      next = t->pace.not_before;
  }
  next = sender_checkpoint_wake(s, now, next); /* the state file's write */
  return (int)CDTIME_T_TO_MS(next - now) + 1;
}

static bool stop_asked(report_sender_t *s) {
  pthread_mutex_lock(&s->lock);
  bool stop = s->stopping;
  pthread_mutex_unlock(&s->lock);
  return stop;
}

/* Reports can wait (up to Window); collectd's reads, writes and intake
 * cannot. So on a busy host the worker yields the CPU to collectd's other
 * threads. On Linux a thread id names one thread here. */
static void lower_priority(void) {
  id_t tid = (id_t)syscall(SYS_gettid);
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, tid);
  if (errno == 0 && nice < WORKER_NICE)
    setpriority(PRIO_PROCESS, tid, WORKER_NICE);
}

void *sender_worker(void *arg) {
  report_sender_t *s = arg;
  lower_priority();
  /* Slots that a turn freed are refilled before the next wait: nothing else
   * would (sender_submit wakes the worker only for a first job). New
   * transfers set libcurl's timer to now, so that wait is short. */
  while (!stop_asked(s)) {
    cdtime_t now = mono_now();
    take_queued(s, now);
    start_jobs(s, now);
    driver_turn(&s->driver, sleep_ms(s, now), on_done, s);
    sender_checkpoint(s, mono_now());
  }
  return NULL;
}

void sender_drain(report_sender_t *s, cdtime_t grace) {
  cdtime_t end = mono_now() + grace;
  while (s->in_flight > 0 && mono_now() < end)
    driver_turn(&s->driver, 50, on_done, s);
}

uint64_t sender_abandon_worker_jobs(report_sender_t *s) {
  uint64_t n = 0;
  report_job_t job;
  for (size_t i = 0; i < s->cfg->max_in_flight; i++)
    if (s->slots[i].busy) {
      curl_multi_remove_handle(s->multi, s->slots[i].call.curl);
      s->slots[i].busy = false;
      COUNT(s, s->slots[i].job.req, abandoned);
      n++;
    }
  s->in_flight = 0;
  for (size_t a = 0; a < s->cfg->num_accounts; a++)
    while (job_ring_pop(&s->tx[a].ready, &job) == 0) {
      COUNT(s, job.req, abandoned);
      n++;
    }
  s->parked = 0;
  return n;
}

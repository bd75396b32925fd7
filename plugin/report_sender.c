#include "report_sender.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_complain.h"
#include "collectd/core/utils/common/common.h"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "api_client.h"
#include "report_queue.h"
#include "request.h"

/* Task ids remembered at once: room for a 60 s Window of 2,184 reports per
 * second (4 MiB) is taken at start; the set doubles when more are live, up
 * to 17,476 per second (32 MiB). */
#define SEEN_INITIAL 131072
#define SEEN_MAX (8 * SEEN_INITIAL)

/* The worker's nice value (collectd's threads run at 0). */
#define WORKER_NICE 19

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
  int epoll_fd; /* the sockets libcurl asks us to watch, and wake_fd */
  int wake_fd;  /* eventfd: a first job was queued, or stop */

  pthread_mutex_t lock; /* guards the fields up to `stopping` */
  job_ring_t queue;
  seen_set_t seen;
  /* Queued plus backing off, what QueueLimit bounds: written under the
   * lock, read without it by sender_submit's fast path. The worker brings
   * the delayed ring's part up to date each time it takes a job. */
  size_t backlog;
  bool stopping;

  report_counters_t *counters; /* per account; atomic increments */

  /* The worker's own. */
  pthread_t thread;
  bool started;
  slot_t *slots;
  size_t in_flight;
  job_ring_t delayed; /* waiting out a back-off */
  account_log_t *logs;
  cdtime_t curl_timer; /* when libcurl wants to be called; 0: never */

  /* The state file's (sender_set_checkpoint, sender_keep_pending). */
  void (*checkpoint)(void *ud);
  void *checkpoint_ud;
  uint64_t changes; /* events that change what the state file holds */
  cdtime_t checkpoint_interval, next_checkpoint;
  bool keep_pending;
};

/* Counters are bumped on many threads and read by the counters' read
 * callback: atomics, so that neither waits for the queue's lock. */
#define COUNT(s, account, field)                                               \
  (__atomic_fetch_add(&(s)->counters[account].field, 1, __ATOMIC_RELAXED),     \
   changed(s))

/* Every counted event, and every job queued, changes what the state file
 * should hold: it is written again only after one. */
static void changed(report_sender_t *s) {
  __atomic_fetch_add(&s->changes, 1, __ATOMIC_RELAXED);
}

/* With the lock held. */
static void set_backlog(report_sender_t *s, size_t n) {
  __atomic_store_n(&s->backlog, n, __ATOMIC_RELAXED);
}

static void wake(report_sender_t *s) {
  uint64_t one = 1;
  if (write(s->wake_fd, &one, sizeof(one)) < 0) {
    /* EAGAIN: the counter is full, so the worker is awake anyway. */
  }
}

/* libcurl's socket callback: keeps epoll_fd watching what curl waits for.
 * A socket's socketp marks it as added, which saves a failing
 * EPOLL_CTL_MOD per request (curl removes a connection between requests). */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *ud,
                     void *socketp) {
  report_sender_t *s = ud;
  (void)easy;
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
    return 0;
  }
  struct epoll_event ev = {
      .events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) |
                ((what & CURL_POLL_OUT) ? EPOLLOUT : 0),
      .data.fd = fd};
  if (socketp != NULL)
    epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, fd, &ev);
  else if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev) == 0)
    curl_multi_assign(s->multi, fd, s);
  return 0;
}

/* libcurl's timer callback: -1 deletes the timer. */
static int on_timer(CURLM *multi, long timeout_ms, void *ud) {
  report_sender_t *s = ud;
  (void)multi;
  s->curl_timer = timeout_ms < 0 ? 0 : cdtime() + MS_TO_CDTIME_T(timeout_ms);
  return 0;
}

/* Drives libcurl by events (the multi_socket API): curl_multi_perform and
 * curl_multi_poll visit every transfer and poll every socket on each turn,
 * a cost that grows with the reports in flight (MaxInFlight). */
static int watch_sockets(report_sender_t *s) {
  s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (s->epoll_fd < 0 || s->wake_fd < 0)
    return -1;
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = s->wake_fd};
  if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->wake_fd, &ev) != 0)
    return -1;
  curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
  curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
  return 0;
}

report_sender_t *sender_create(const plugin_config_t *cfg) {
  report_sender_t *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->cfg = cfg;
  s->epoll_fd = s->wake_fd = -1;
  pthread_mutex_init(&s->lock, NULL);
  s->multi = api_multi_create((long)cfg->max_in_flight);
  s->counters = calloc(cfg->num_accounts, sizeof(*s->counters));
  s->logs = calloc(cfg->num_accounts, sizeof(*s->logs));
  s->slots = calloc(cfg->max_in_flight, sizeof(*s->slots));
  if (s->multi == NULL || s->counters == NULL || s->logs == NULL ||
      s->slots == NULL || watch_sockets(s) != 0 ||
      job_ring_init(&s->queue, cfg->queue_limit) != 0 ||
      job_ring_init(&s->delayed, cfg->queue_limit + cfg->max_in_flight) != 0 ||
      seen_init(&s->seen, SEEN_INITIAL, SEEN_MAX) != 0) {
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
    curl_multi_cleanup(s->multi); /* may still call on_socket */
  if (s->epoll_fd >= 0)
    close(s->epoll_fd);
  if (s->wake_fd >= 0)
    close(s->wake_fd);
  job_ring_destroy(&s->queue);
  job_ring_destroy(&s->delayed);
  seen_destroy(&s->seen);
  pthread_mutex_destroy(&s->lock);
  free(s->slots);
  free(s->counters);
  free(s->logs);
  free(s);
}

submit_result_t sender_submit(report_sender_t *s, const report_request_t *req) {
  report_job_t job = {.req = *req, .deadline = req->completed + s->cfg->window};
  submit_result_t result = SUBMIT_QUEUED;
  bool was_empty = false;

  /* A flood is mostly dropped here, without the lock that the unixsock
   * threads would otherwise queue up on (nor a clock read). */
  if (__atomic_load_n(&s->backlog, __ATOMIC_RELAXED) >= s->cfg->queue_limit) {
    COUNT(s, req->account, dropped);
    return SUBMIT_DROPPED;
  }
  cdtime_t now = cdtime();
  /* A notification from the future is clock skew: taken as now, so a wrong
   * clock cannot keep a report retrying past the real window. */
  if (job.req.completed > now) {
    job.req.completed = now;
    job.deadline = now + s->cfg->window;
  }
  if (!report_window_open(&job, now)) {
    COUNT(s, req->account, expired);
    return SUBMIT_EXPIRED;
  }
  pthread_mutex_lock(&s->lock);
  if (s->stopping) {
    COUNT(s, req->account, abandoned);
    result = SUBMIT_STOPPING;
  } else if (s->backlog >= s->cfg->queue_limit) {
    COUNT(s, req->account, dropped);
    result = SUBMIT_DROPPED;
  } else {
    /* Remember the task until its window has closed for sure. */
    cdtime_t expires = job.deadline > now + s->cfg->window
                           ? job.deadline
                           : now + s->cfg->window;
    switch (seen_add(&s->seen, (uint32_t)req->account, req->task_id, now,
                     expires)) {
    case SEEN_DUPLICATE:
      COUNT(s, req->account, duplicate);
      result = SUBMIT_DUPLICATE;
      break;
    case SEEN_FULL:
      COUNT(s, req->account, dropped);
      result = SUBMIT_SEEN_FULL;
      break;
    case SEEN_NEW:
      was_empty = s->queue.count == 0;
      job_ring_push(&s->queue, &job);
      changed(s);
      set_backlog(s, s->backlog + 1);
      break;
    }
  }
  pthread_mutex_unlock(&s->lock);
  /* The worker takes jobs until the queue is empty (seen under the lock) or
   * every slot is busy (a finishing transfer wakes it then): only a first
   * job needs a wake-up. One per job cost the worker a pass over all its
   * transfers per report. */
  if (was_empty)
    wake(s);
  return result;
}

void sender_counters(report_sender_t *s, size_t account,
                     report_counters_t *out) {
  const report_counters_t *c = &s->counters[account];
  *out = (report_counters_t){
      .sent = __atomic_load_n(&c->sent, __ATOMIC_RELAXED),
      .accepted = __atomic_load_n(&c->accepted, __ATOMIC_RELAXED),
      .rejected = __atomic_load_n(&c->rejected, __ATOMIC_RELAXED),
      .expired = __atomic_load_n(&c->expired, __ATOMIC_RELAXED),
      .duplicate = __atomic_load_n(&c->duplicate, __ATOMIC_RELAXED),
      .dropped = __atomic_load_n(&c->dropped, __ATOMIC_RELAXED),
      .retried = __atomic_load_n(&c->retried, __ATOMIC_RELAXED),
      .abandoned = __atomic_load_n(&c->abandoned, __ATOMIC_RELAXED),
      .unconfirmed = __atomic_load_n(&c->unconfirmed, __ATOMIC_RELAXED)};
}

/* ---- The worker ---- */

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
  /* Handles are made on first use: most hosts never need MaxInFlight. */
  if (slot->call.curl == NULL && api_call_init(&slot->call) != 0) {
    ERROR("anticaptcha plugin: cannot set up a libcurl handle (out of "
          "memory?); the report for task %" PRIu64 " is dropped.",
          job->req.task_id);
    COUNT(s, job->req.account, dropped);
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
  set_backlog(s, s->queue.count + s->delayed.count);
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

/* Whether a failed attempt may have reached the API: the request was sent
 * (or may have been) and no answer said otherwise. A refused connection or
 * an HTTP error status means it was not processed. */
static bool answer_maybe_lost(const api_call_t *c) {
  if (c->code == CURLE_COULDNT_CONNECT || c->code == CURLE_COULDNT_RESOLVE_HOST ||
      c->code == CURLE_COULDNT_RESOLVE_PROXY)
    return false;
  return c->http_status == 0 || (c->http_status >= 200 && c->http_status < 300);
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
  if (d == DECISION_REJECTED && slot->job.maybe_delivered &&
      slot->call.resp.error_id == 16) {
    /* "No such task" after an attempt whose answer was lost: most likely
     * that attempt got through. Not a refusal: counted apart, quietly. */
    COUNT(s, acct, unconfirmed);
    return;
  }
  if (res == API_TRANSIENT && answer_maybe_lost(&slot->call))
    slot->job.maybe_delivered = true;
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

/* How long the worker may sleep: until the next back-off ends or libcurl's
 * timer fires, at most 1 s. */
static int sleep_ms(const report_sender_t *s, cdtime_t now) {
  cdtime_t next = now + TIME_T_TO_CDTIME_T(1);
  if (s->curl_timer != 0 && s->curl_timer < next)
    next = s->curl_timer;
  if (s->checkpoint != NULL && s->next_checkpoint < next)
    next = s->next_checkpoint; /* the state file's write is on time */
  for (size_t i = 0; i < s->delayed.count; i++) {
    const report_job_t *j =
        &s->delayed.items[(s->delayed.head + i) % s->delayed.capacity];
    if (j->not_before < next)
      next = j->not_before;
  }
  return next <= now ? 0 : (int)CDTIME_T_TO_MS(next - now) + 1;
}

static int curl_events(uint32_t events) {
  return ((events & EPOLLIN) ? CURL_CSELECT_IN : 0) |
         ((events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
         ((events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
}

/* One turn: waits up to timeout_ms for a socket or a wake-up, lets libcurl
 * move what can move, and finishes the transfers that ended. */
static void turn(report_sender_t *s, int timeout_ms) {
  struct epoll_event ev[64];
  int running = 0;
  int n = epoll_wait(s->epoll_fd, ev, STATIC_ARRAY_SIZE(ev), timeout_ms);
  for (int i = 0; i < n; i++) {
    if (ev[i].data.fd == s->wake_fd) {
      uint64_t count;
      if (read(s->wake_fd, &count, sizeof(count)) < 0) {
        /* EAGAIN: another turn read it first. */
      }
      continue;
    }
    curl_multi_socket_action(s->multi, ev[i].data.fd, curl_events(ev[i].events),
                             &running);
  }
  if (s->curl_timer != 0 && s->curl_timer <= cdtime()) {
    s->curl_timer = 0; /* libcurl sets the next one during the call */
    curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  }
  collect_done(s);
}

static bool stopping(report_sender_t *s) {
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

/* The state file is written from here, between turns: the jobs the worker
 * holds cannot move meanwhile. At most every checkpoint_interval. */
static void checkpoint(report_sender_t *s) {
  cdtime_t now = cdtime();
  if (s->checkpoint == NULL || now < s->next_checkpoint)
    return;
  s->next_checkpoint = now + s->checkpoint_interval;
  s->checkpoint(s->checkpoint_ud);
}

static void *worker(void *arg) {
  report_sender_t *s = arg;
  lower_priority();
  /* Slots that a turn freed are refilled before the next wait: nothing else
   * would (sender_submit wakes the worker only for a first job). New
   * transfers set libcurl's timer to now, so that wait is short. */
  while (!stopping(s)) {
    start_jobs(s);
    turn(s, sleep_ms(s, cdtime()));
    checkpoint(s);
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
  while (s->in_flight > 0 && cdtime() < end) {
    int ms = sleep_ms(s, cdtime());
    turn(s, ms < 50 ? ms : 50);
  }
}

void sender_stop(report_sender_t *s, cdtime_t grace) {
  if (!s->started)
    return;
  pthread_mutex_lock(&s->lock);
  s->stopping = true;
  pthread_mutex_unlock(&s->lock);
  wake(s);
  pthread_join(s->thread, NULL);
  s->started = false;

  drain(s, grace);
  uint64_t abandoned = s->in_flight + s->delayed.count;
  for (size_t i = 0; i < s->cfg->max_in_flight; i++)
    if (s->slots[i].busy) {
      curl_multi_remove_handle(s->multi, s->slots[i].call.curl);
      s->slots[i].busy = false;
      /* Its answer never came: the request may have got through. */
      s->slots[i].job.maybe_delivered = true;
      if (s->keep_pending)
        job_ring_push(&s->delayed, &s->slots[i].job); /* room for it */
      else
        COUNT(s, s->slots[i].job.req.account, abandoned);
    }
  s->in_flight = 0;
  if (s->keep_pending) {
    pthread_mutex_lock(&s->lock);
    abandoned += s->queue.count;
    pthread_mutex_unlock(&s->lock);
    if (abandoned > 0)
      INFO("anticaptcha plugin: shutting down with %" PRIu64 " report(s) "
           "unsent; they are kept in the state file and sent after the "
           "restart while their window is open.", abandoned);
    return;
  }
  report_job_t job;
  while (job_ring_pop(&s->delayed, &job) == 0)
    COUNT(s, job.req.account, abandoned);
  pthread_mutex_lock(&s->lock);
  abandoned += s->queue.count;
  while (job_ring_pop(&s->queue, &job) == 0)
    COUNT(s, job.req.account, abandoned);
  set_backlog(s, 0);
  pthread_mutex_unlock(&s->lock);
  s->in_flight = 0;
  if (abandoned > 0)
    WARNING("anticaptcha plugin: shutting down with %" PRIu64 " report(s) "
            "unsent; they are counted as abandoned.", abandoned);
}

/* ---- For the state file ---- */

void sender_set_checkpoint(report_sender_t *s, void (*fn)(void *ud), void *ud,
                           cdtime_t interval) {
  s->checkpoint = fn;
  s->checkpoint_ud = ud;
  s->checkpoint_interval = interval;
}

void sender_keep_pending(report_sender_t *s) { s->keep_pending = true; }

uint64_t sender_changes(report_sender_t *s) {
  return __atomic_load_n(&s->changes, __ATOMIC_RELAXED);
}

static void each_in_ring(const job_ring_t *q,
                         void (*fn)(const report_job_t *, void *), void *ud) {
  for (size_t i = 0; i < q->count; i++)
    fn(&q->items[(q->head + i) % q->capacity], ud);
}

void sender_each_job(report_sender_t *s,
                     void (*fn)(const report_job_t *job, void *ud), void *ud) {
  for (size_t i = 0; i < s->cfg->max_in_flight; i++)
    if (s->slots[i].busy)
      fn(&s->slots[i].job, ud);
  each_in_ring(&s->delayed, fn, ud);
  pthread_mutex_lock(&s->lock);
  each_in_ring(&s->queue, fn, ud);
  pthread_mutex_unlock(&s->lock);
}

void sender_each_seen(report_sender_t *s, cdtime_t now,
                      void (*fn)(const seen_entry_t *e, void *ud), void *ud) {
  pthread_mutex_lock(&s->lock);
  for (size_t i = 0; i < s->seen.count; i++) {
    const seen_entry_t *e = &s->seen.ring[(s->seen.head + i) % s->seen.capacity];
    if (e->expires > now)
      fn(e, ud);
  }
  pthread_mutex_unlock(&s->lock);
}

void sender_restore_seen(report_sender_t *s, size_t account, uint64_t task_id,
                         cdtime_t expires) {
  pthread_mutex_lock(&s->lock);
  seen_add(&s->seen, (uint32_t)account, task_id, cdtime(), expires);
  pthread_mutex_unlock(&s->lock);
}

submit_result_t sender_restore_job(report_sender_t *s, const report_job_t *job) {
  cdtime_t now = cdtime();
  submit_result_t result = SUBMIT_QUEUED;
  if (!report_window_open(job, now)) {
    COUNT(s, job->req.account, expired);
    return SUBMIT_EXPIRED;
  }
  pthread_mutex_lock(&s->lock);
  /* Already remembered: the same notification came again before the file
   * was read (the queue may take them before init), and its job is queued. */
  if (seen_add(&s->seen, (uint32_t)job->req.account, job->req.task_id, now,
               job->deadline) != SEEN_NEW) {
    COUNT(s, job->req.account, duplicate);
    result = SUBMIT_DUPLICATE;
  } else if (job_ring_push(&s->queue, job) != 0) {
    COUNT(s, job->req.account, dropped);
    result = SUBMIT_DROPPED;
  } else {
    set_backlog(s, s->backlog + 1);
    changed(s);
  }
  pthread_mutex_unlock(&s->lock);
  return result;
}

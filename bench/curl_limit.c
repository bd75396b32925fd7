/* The limit bench/run measures the plugin against: the same report requests
 * sent by libcurl's multi interface alone, with no collectd, no queue, no
 * matching, no pacing around it. bench/run builds it with cc and runs it
 * against the same loopback API as the plugin; the plugin's CPU per report is
 * then printed as a ratio to this program's CPU per request.
 *
 * It drives libcurl the way a lean client would: the multi_socket API over
 * epoll (as the plugin does), one easy handle per request in flight, each set
 * up once and reused, connections kept alive and reused (at most
 * --connections to the host). Requests are POST <url>/<method> with the
 * plugin's headers and body, {"clientKey":"...","taskId":N}, task ids
 * --first, --first+1, ...
 *
 * --warmup requests go first, as fast as --in-flight allows, to open the
 * connections; then --count requests are measured: at --rate per second
 * (request i is due at start + i / rate), or as fast as --in-flight allows
 * when --rate is 0. It prints one JSON line: requests, failures, seconds,
 * the process's CPU seconds (getrusage: user + system) over the measured
 * requests, microseconds of CPU per request, and the voluntary context
 * switches (wake-ups) per request. Exit status 1 when a request
 * failed (not HTTP 200), 2 on bad arguments.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  CURL *easy;
  char url[512];
  char body[256];
  int busy;
} req_t;

static struct {
  const char *url, *method, *key;
  long long first;
  long count, warmup, in_flight, connections;
  double rate;
} opt = {.method = "reportIncorrectRecaptcha",
         .key = "bench-key-0123456789abcdef",
         .first = 1,
         .count = 1000,
         .in_flight = 128,
         .connections = 128};

static CURLM *multi;
static int epfd;
static double timer_due = -1; /* libcurl's timer, monotonic seconds */
static req_t *reqs;
static long free_top, *free_list;
static long started, finished, failures;

static double now_mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds so far; *wakeups: voluntary context switches (waits). */
static double cpu_seconds(long *wakeups) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  *wakeups = ru.ru_nvcsw;
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *ud,
                     void *socketp) {
  (void)easy, (void)ud;
  struct epoll_event ev = {.data.fd = fd};
  if (what == CURL_POLL_REMOVE) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
    curl_multi_assign(multi, fd, NULL);
    return 0;
  }
  ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) |
              ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
  if (socketp == NULL) {
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
    curl_multi_assign(multi, fd, &epfd); /* any non-NULL mark: added */
  } else {
    epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
  }
  return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *ud) {
  (void)m, (void)ud;
  timer_due = timeout_ms < 0 ? -1 : now_mono() + (double)timeout_ms * 1e-3;
  return 0;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud) {
  (void)buf, (void)ud;
  return size * n;
}

static int setup(req_t *r) {
  struct curl_slist *headers = NULL;
  headers = curl_slist_append(headers, "Content-Type: application/json");
  headers = curl_slist_append(headers, "Accept: application/json");
  r->easy = curl_easy_init();
  if (r->easy == NULL || headers == NULL)
    return -1;
  snprintf(r->url, sizeof(r->url), "%s/%s", opt.url, opt.method);
  curl_easy_setopt(r->easy, CURLOPT_URL, r->url);
  curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, headers); /* kept to exit */
  curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "collectd-anticaptcha/bench");
  curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(r->easy, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, 30000L);
  curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
  return 0;
}

/* Starts the request with the next task id on a free handle. */
static void start_one(void) {
  req_t *r = &reqs[free_list[--free_top]];
  long long id = opt.first + started++;
  int len = snprintf(r->body, sizeof(r->body),
                     "{\"clientKey\":\"%s\",\"taskId\":%lld}", opt.key, id);
  curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
  curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)len);
  r->busy = 1;
  curl_multi_add_handle(multi, r->easy);
}

static void collect_done(void) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
    if (msg->msg != CURLMSG_DONE)
      continue;
    req_t *r = NULL;
    long status = 0;
    curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
    curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
    if (msg->data.result != CURLE_OK || status != 200) {
      if (failures++ < 5)
        fprintf(stderr, "curl_limit: request failed: %s, HTTP %ld\n",
                curl_easy_strerror(msg->data.result), status);
    }
    curl_multi_remove_handle(multi, msg->easy_handle);
    r->busy = 0;
    free_list[free_top++] = r - reqs;
    finished++;
  }
}

/* Runs requests started..started+n-1: at `rate` per second from now, or as
 * fast as the free handles allow (rate 0); returns when all have ended. */
static void run(long n, double rate) {
  long end = started + n, base = started;
  double t0 = now_mono();
  struct epoll_event ev[64];
  int running;
  while (finished < end) {
    double now = now_mono();
    while (started < end && free_top > 0 &&
           (rate <= 0 || (double)(started - base) <= (now - t0) * rate))
      start_one();
    double wait = 1.0;
    if (timer_due >= 0)
      wait = timer_due - now;
    if (rate > 0 && started < end && free_top > 0) {
      double due = t0 + (double)(started - base) / rate - now;
      if (due < wait)
        wait = due;
    }
    int ms = wait <= 0 ? 0 : (int)(wait * 1e3) + 1;
    int k = epoll_wait(epfd, ev, 64, ms);
    for (int i = 0; i < k; i++) {
      int what =
          ((ev[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0) |
          ((ev[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
          ((ev[i].events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
      curl_multi_socket_action(multi, ev[i].data.fd, what, &running);
    }
    if (timer_due >= 0 && timer_due <= now_mono()) {
      timer_due = -1;
      curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    collect_done();
  }
}

static void usage(void) {
  fprintf(stderr, "usage: curl_limit --url URL [--method M] [--key K] "
                  "[--first ID] [--count N] [--warmup N] [--rate R] "
                  "[--in-flight N] [--connections N]\n");
  exit(2);
}

static void parse(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *a = argv[i], *v = argv[i + 1];
    if (strcmp(a, "--url") == 0)
      opt.url = v;
    else if (strcmp(a, "--method") == 0)
      opt.method = v;
    else if (strcmp(a, "--key") == 0)
      opt.key = v;
    else if (strcmp(a, "--first") == 0)
      opt.first = atoll(v);
    else if (strcmp(a, "--count") == 0)
      opt.count = atol(v);
    else if (strcmp(a, "--warmup") == 0)
      opt.warmup = atol(v);
    else if (strcmp(a, "--rate") == 0)
      opt.rate = atof(v);
    else if (strcmp(a, "--in-flight") == 0)
      opt.in_flight = atol(v);
    else if (strcmp(a, "--connections") == 0)
      opt.connections = atol(v);
    else
      usage();
  }
  if (argc % 2 == 0 || opt.url == NULL || opt.count < 1 || opt.warmup < 0 ||
      opt.in_flight < 1 || opt.connections < 1 || opt.rate < 0)
    usage();
}

int main(int argc, char **argv) {
  parse(argc, argv);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  multi = curl_multi_init();
  epfd = epoll_create1(EPOLL_CLOEXEC);
  reqs = calloc((size_t)opt.in_flight, sizeof(*reqs));
  free_list = calloc((size_t)opt.in_flight, sizeof(*free_list));
  if (multi == NULL || epfd < 0 || reqs == NULL || free_list == NULL) {
    fprintf(stderr, "curl_limit: out of memory\n");
    return 1;
  }
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, opt.connections);
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, opt.connections);
  for (long i = 0; i < opt.in_flight; i++) {
    if (setup(&reqs[i]) != 0) {
      fprintf(stderr, "curl_limit: cannot set up a libcurl handle\n");
      return 1;
    }
    free_list[free_top++] = opt.in_flight - 1 - i;
  }

  run(opt.warmup, 0);
  long wakes0, wakes1;
  double cpu0 = cpu_seconds(&wakes0), t0 = now_mono();
  run(opt.count, opt.rate);
  double cpu = cpu_seconds(&wakes1) - cpu0, elapsed = now_mono() - t0;
  printf("{\"requests\": %ld, \"failures\": %ld, \"seconds\": %.6f, "
         "\"cpu_seconds\": %.6f, \"cpu_us_per_request\": %.3f, "
         "\"wakeups_per_request\": %.3f}\n",
         opt.count, failures, elapsed, cpu, cpu / (double)opt.count * 1e6,
         (double)(wakes1 - wakes0) / (double)opt.count);
  return failures > 0 ? 1 : 0;
}

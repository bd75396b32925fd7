/* A minimal, fast stand-in for the Anti-Captcha API, for bench/run only: the
 * same protocol, options and records as bench/loopback_api.py, in C, so that
 * the server takes as little as possible of the CPUs it shares with the
 * collectd being measured (bench/run builds it with cc; without a compiler
 * it falls back to the Python one).
 *
 * One thread, epoll, HTTP/1.1 keep-alive on 127.0.0.1, no TLS. Report
 * methods answer {"errorId":0,"status":"success"}, getSpendingStats a fixed
 * list of hourly records, getBalance a balance, each after --delay seconds
 * (one FIFO of due answers: the delay is the same for every request). Per
 * request it records the arrival time (CLOCK_MONOTONIC, as Python's
 * time.monotonic()), the method, the taskId, the connection and the time the
 * answer was written. A control port (not counted as connections) serves
 * GET /stats, GET /dump, POST /reset and POST /delay?seconds=S; the number of
 * report requests received is kept in a memory-mapped file (--counter-file).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 65536
#define MAX_HEADER 16384

static const char *const METHODS[] = {
    "reportIncorrectRecaptcha", "reportCorrectRecaptcha",
    "reportIncorrectImageCaptcha", "getSpendingStats", "getBalance"};
#define NUM_METHODS 5
#define NUM_REPORT_METHODS 3

typedef struct {
  char *p;
  size_t len, cap;
} buf_t;

static void buf_add(buf_t *b, const void *data, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n)
      cap *= 2;
    b->p = realloc(b->p, cap);
    if (b->p == NULL) {
      perror("realloc");
      exit(1);
    }
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
}

static void buf_printf(buf_t *b, const char *fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  buf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void buf_drop(buf_t *b, size_t n) {
  memmove(b->p, b->p + n, b->len - n);
  b->len -= n;
}

typedef struct {
  int used, control, id;
  unsigned gen;
  buf_t in, out;
} conn_t;

typedef struct {
  double due;
  int fd;
  unsigned gen;
  const buf_t *answer;
  size_t index, epoch;
} pending_t;

static conn_t conns[MAX_FDS];
static int epfd, api_fd, ctl_fd;
static double delay;
static int records = 24;
static volatile sig_atomic_t stop;

/* The records, reset by POST /reset (epoch counts resets). */
static double *arrival, *answered;
static int64_t *task;
static int8_t *method;
static int32_t *conn_of;
static size_t nreq, capreq, epoch;
static long connections, open_conns, reports;
static uint64_t *counter;

static pending_t *fifo;
static size_t fifo_head, fifo_len, fifo_cap;

static buf_t report_answer, balance_answer, not_found, spending_answer;
static long spending_hour = -1;

static double now_mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void http_answer(buf_t *b, const char *status, const char *body) {
  b->len = 0;
  buf_printf(b,
             "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n",
             status, strlen(body));
  buf_add(b, body, strlen(body));
}

static const buf_t *spending(void) {
  long hour = (long)(time(NULL) / 3600);
  if (hour != spending_hour) {
    buf_t body = {0};
    long end = hour * 3600;
    buf_printf(&body, "{\"errorId\":0,\"data\":[");
    for (int k = records; k > 0; k--) {
      long start = end - 3600L * k;
      buf_printf(&body,
                 "%s{\"dateFrom\":%ld,\"dateTill\":%ld,\"volume\":%d,"
                 "\"money\":%.6f}",
                 k == records ? "" : ",", start, start + 3599, 100 + k,
                 (100 + k) * 0.001953);
    }
    buf_printf(&body, "]}");
    buf_add(&body, "", 1);
    http_answer(&spending_answer, "200 OK", body.p);
    free(body.p);
    spending_hour = hour;
  }
  return &spending_answer;
}

static void reset_records(void) {
  nreq = 0;
  reports = 0;
  connections = 0;
  epoch++;
  if (counter != NULL)
    *counter = 0;
}

static size_t add_record(double t, int m, int64_t id, int c) {
  if (nreq == capreq) {
    capreq = capreq ? capreq * 2 : 65536;
    arrival = realloc(arrival, capreq * sizeof(*arrival));
    answered = realloc(answered, capreq * sizeof(*answered));
    task = realloc(task, capreq * sizeof(*task));
    method = realloc(method, capreq * sizeof(*method));
    conn_of = realloc(conn_of, capreq * sizeof(*conn_of));
    if (!arrival || !answered || !task || !method || !conn_of) {
      perror("realloc");
      exit(1);
    }
  }
  arrival[nreq] = t;
  answered[nreq] = 0;
  task[nreq] = id;
  method[nreq] = (int8_t)m;
  conn_of[nreq] = c;
  return nreq++;
}

static void watch(int fd, int out) {
  struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0),
                           .data.fd = fd};
  epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
}

static void close_conn(int fd) {
  conn_t *c = &conns[fd];
  epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
  close(fd);
  if (!c->control)
    open_conns--;
  c->used = 0;
  c->gen++;
  c->in.len = c->out.len = 0;
}

/* Writes now what the socket takes, keeps the rest for EPOLLOUT. */
static void send_data(int fd, const char *data, size_t len) {
  conn_t *c = &conns[fd];
  if (c->out.len == 0) {
    ssize_t n = write(fd, data, len);
    if (n < 0 && errno != EAGAIN) {
      close_conn(fd);
      return;
    }
    if (n < 0)
      n = 0;
    data += n;
    len -= (size_t)n;
    if (len == 0)
      return;
    watch(fd, 1);
  }
  buf_add(&c->out, data, len);
}

static void flush_out(int fd) {
  conn_t *c = &conns[fd];
  ssize_t n = write(fd, c->out.p, c->out.len);
  if (n < 0 && errno != EAGAIN) {
    close_conn(fd);
    return;
  }
  if (n > 0)
    buf_drop(&c->out, (size_t)n);
  if (c->out.len == 0)
    watch(fd, 0);
}

static void push_pending(pending_t p) {
  if (fifo_len == fifo_cap) {
    size_t cap = fifo_cap ? fifo_cap * 2 : 4096;
    pending_t *n = malloc(cap * sizeof(*n));
    if (n == NULL) {
      perror("malloc");
      exit(1);
    }
    for (size_t i = 0; i < fifo_len; i++)
      n[i] = fifo[(fifo_head + i) % fifo_cap];
    free(fifo);
    fifo = n;
    fifo_cap = cap;
    fifo_head = 0;
  }
  fifo[(fifo_head + fifo_len) % fifo_cap] = p;
  fifo_len++;
}

static void deliver(const pending_t *p) {
  conn_t *c = &conns[p->fd];
  if (c->used && c->gen == p->gen)
    send_data(p->fd, p->answer->p, p->answer->len);
  if (p->epoch == epoch && p->index < nreq)
    answered[p->index] = now_mono();
}

static void run_due(void) {
  double t = now_mono();
  while (fifo_len > 0 && fifo[fifo_head].due <= t) {
    pending_t p = fifo[fifo_head];
    fifo_head = (fifo_head + 1) % fifo_cap;
    fifo_len--;
    deliver(&p);
  }
}

static const char *find(const char *hay, size_t n, const char *needle) {
  return memmem(hay, n, needle, strlen(needle));
}

static long content_length(const char *head, size_t n) {
  for (const char *p = head; p < head + n;) {
    const char *eol = find(p, (size_t)(head + n - p), "\r\n");
    if (eol == NULL)
      break;
    if ((size_t)(eol - p) > 15 && strncasecmp(p, "content-length:", 15) == 0)
      return strtol(p + 15, NULL, 10);
    p = eol + 2;
  }
  return 0;
}

static void api_request(int fd, const char *req, size_t head_len, size_t total,
                        double t) {
  conn_t *c = &conns[fd];
  const char *sp1 = memchr(req, ' ', head_len);
  const char *sp2 =
      sp1 ? memchr(sp1 + 1, ' ', head_len - (size_t)(sp1 + 1 - req)) : NULL;
  int m = -1;
  if (sp1 && sp2 && sp1[1] == '/')
    for (int i = 0; i < NUM_METHODS; i++)
      if ((size_t)(sp2 - sp1 - 2) == strlen(METHODS[i]) &&
          memcmp(sp1 + 2, METHODS[i], strlen(METHODS[i])) == 0)
        m = i;
  int64_t id = -1;
  const buf_t *answer = &not_found;
  if (m >= 0 && m < NUM_REPORT_METHODS) {
    const char *k = find(req + head_len, total - head_len, "\"taskId\"");
    id = 0;
    if (k != NULL) {
      k += 8;
      while (k < req + total && (*k == ' ' || *k == ':'))
        k++;
      while (k < req + total && *k >= '0' && *k <= '9')
        id = id * 10 + (*k++ - '0');
    }
    answer = &report_answer;
    reports++;
    if (counter != NULL)
      *counter = (uint64_t)reports;
  } else if (m == 3) {
    answer = spending();
  } else if (m == 4) {
    answer = &balance_answer;
  }
  size_t index = add_record(t, m, id, c->id);
  pending_t p = {t + delay, fd, c->gen, answer, index, epoch};
  if (delay > 0)
    push_pending(p);
  else
    deliver(&p);
}

static void control_request(int fd, const char *line) {
  buf_t body = {0}, out = {0};
  const char *status = "200 OK";
  if (strncmp(line, "GET /stats ", 11) == 0) {
    long by[NUM_METHODS + 1] = {0};
    for (size_t i = 0; i < nreq; i++)
      by[method[i] >= 0 ? method[i] : NUM_METHODS]++;
    buf_printf(&body,
               "{\"connections\":%ld,\"open_connections\":%ld,\"requests\":%zu,"
               "\"reports\":%ld,\"delay\":%.6f,\"by_method\":{",
               connections, open_conns, nreq, reports, delay);
    int first = 1;
    for (int i = 0; i <= NUM_METHODS; i++)
      if (by[i]) {
        buf_printf(&body, "%s\"%s\":%ld", first ? "" : ",",
                   i < NUM_METHODS ? METHODS[i] : "other", by[i]);
        first = 0;
      }
    buf_printf(&body, "}}");
  } else if (strncmp(line, "GET /dump ", 10) == 0) {
    buf_printf(&body, "{\"arrival\":[");
    for (size_t i = 0; i < nreq; i++)
      buf_printf(&body, "%s%.9f", i ? "," : "", arrival[i]);
    buf_printf(&body, "],\"answered\":[");
    for (size_t i = 0; i < nreq; i++)
      buf_printf(&body, "%s%.9f", i ? "," : "", answered[i]);
    buf_printf(&body, "],\"method\":[");
    for (size_t i = 0; i < nreq; i++)
      buf_printf(&body, "%s\"%s\"", i ? "," : "",
                 method[i] >= 0 ? METHODS[method[i]] : "other");
    buf_printf(&body, "],\"task\":[");
    for (size_t i = 0; i < nreq; i++)
      buf_printf(&body, "%s%lld", i ? "," : "", (long long)task[i]);
    buf_printf(&body, "],\"conn\":[");
    for (size_t i = 0; i < nreq; i++)
      buf_printf(&body, "%s%d", i ? "," : "", conn_of[i]);
    buf_printf(&body, "]}");
  } else if (strncmp(line, "POST /reset ", 12) == 0) {
    reset_records();
    buf_printf(&body, "{\"ok\":true}");
  } else if (strncmp(line, "POST /delay?seconds=", 20) == 0) {
    delay = strtod(line + 20, NULL);
    buf_printf(&body, "{\"ok\":true,\"delay\":%.6f}", delay);
  } else {
    status = "400 Bad Request";
    buf_printf(&body, "{\"error\":\"unknown control request\"}");
  }
  buf_printf(&out,
             "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n",
             status, body.len);
  buf_add(&out, body.p, body.len);
  /* Blocking write: the control client reads it all. */
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  for (size_t off = 0; off < out.len;) {
    ssize_t n = write(fd, out.p + off, out.len - off);
    if (n <= 0)
      break;
    off += (size_t)n;
  }
  free(body.p);
  free(out.p);
  close_conn(fd);
}

static void on_readable(int fd) {
  conn_t *c = &conns[fd];
  char tmp[65536];
  ssize_t n = read(fd, tmp, sizeof(tmp));
  if (n == 0 || (n < 0 && errno != EAGAIN)) {
    close_conn(fd);
    return;
  }
  if (n < 0)
    return;
  double t = now_mono();
  buf_add(&c->in, tmp, (size_t)n);
  size_t off = 0;
  while (c->used) {
    const char *start = c->in.p + off;
    size_t avail = c->in.len - off;
    const char *end = find(start, avail, "\r\n\r\n");
    if (end == NULL) {
      if (avail > MAX_HEADER)
        close_conn(fd);
      break;
    }
    size_t head_len = (size_t)(end - start) + 4;
    if (c->control) {
      char line[256];
      const char *eol = find(start, avail, "\r\n");
      size_t l = (size_t)(eol - start) < sizeof(line) - 2
                     ? (size_t)(eol - start)
                     : sizeof(line) - 2;
      memcpy(line, start, l);
      line[l] = ' ';
      line[l + 1] = 0;
      control_request(fd, line);
      return;
    }
    long body = content_length(start, head_len);
    if (avail < head_len + (size_t)body)
      break;
    api_request(fd, start, head_len, head_len + (size_t)body, t);
    off += head_len + (size_t)body;
  }
  if (c->used && off > 0)
    buf_drop(&c->in, off);
}

static void accept_all(int lfd, int control) {
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
      return;
    if (fd >= MAX_FDS) {
      close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    conn_t *c = &conns[fd];
    c->used = 1;
    c->control = control;
    c->in.len = c->out.len = 0;
    if (!control) {
      connections++;
      open_conns++;
      c->id = (int)connections;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
  }
}

static int listen_on(int port, int backlog) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
      listen(fd, backlog) != 0) {
    perror("listen");
    exit(1);
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
  epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
  return fd;
}

static int port_of(int fd) {
  struct sockaddr_in a;
  socklen_t len = sizeof(a);
  getsockname(fd, (struct sockaddr *)&a, &len);
  return ntohs(a.sin_port);
}

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static void usage(void) {
  fprintf(stderr,
          "usage: loopback_api --ready-file F [--port N] [--delay S] "
          "[--records N] [--counter-file F] [--backlog N] [--watch-parent]\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *ready = NULL, *counter_file = NULL;
  int port = 0, watch_parent = 0, backlog = 1024;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--watch-parent") == 0) {
      watch_parent = 1;
      continue;
    }
    if (v == NULL)
      usage();
    if (strcmp(a, "--port") == 0)
      port = atoi(v);
    else if (strcmp(a, "--delay") == 0)
      delay = strtod(v, NULL);
    else if (strcmp(a, "--records") == 0)
      records = atoi(v);
    else if (strcmp(a, "--backlog") == 0)
      backlog = atoi(v);
    else if (strcmp(a, "--ready-file") == 0)
      ready = v;
    else if (strcmp(a, "--counter-file") == 0)
      counter_file = v;
    else
      usage();
    i++;
  }
  if (ready == NULL)
    usage();
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  if (counter_file != NULL) {
    int fd = open(counter_file, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || ftruncate(fd, 8) != 0) {
      perror(counter_file);
      return 1;
    }
    counter = mmap(NULL, 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (counter == MAP_FAILED) {
      perror("mmap");
      return 1;
    }
  }
  http_answer(&report_answer, "200 OK",
              "{\"errorId\":0,\"status\":\"success\"}");
  http_answer(&balance_answer, "200 OK",
              "{\"errorId\":0,\"balance\":12.345678}");
  http_answer(&not_found, "200 OK",
              "{\"errorId\":14,\"errorCode\":\"ERROR_NO_SUCH_METHOD\"}");

  epfd = epoll_create1(EPOLL_CLOEXEC);
  api_fd = listen_on(port, backlog);
  ctl_fd = listen_on(0, 1024);
  pid_t parent = getppid();
  char tmp[4096];
  snprintf(tmp, sizeof(tmp), "%s.tmp", ready);
  FILE *f = fopen(tmp, "w");
  if (f == NULL) {
    perror(tmp);
    return 1;
  }
  fprintf(f, "{\"port\": %d, \"control_port\": %d, \"pid\": %d}\n",
          port_of(api_fd), port_of(ctl_fd), (int)getpid());
  fclose(f);
  rename(tmp, ready);

  struct epoll_event ev[256];
  while (!stop) {
    int wait = 500;
    if (fifo_len > 0) {
      double d = fifo[fifo_head].due - now_mono();
      wait = d <= 0 ? 0 : (int)(d * 1000.0) + 1;
      if (wait > 500)
        wait = 500;
    }
    int n = epoll_wait(epfd, ev, 256, wait);
    for (int i = 0; i < n; i++) {
      int fd = ev[i].data.fd;
      if (fd == api_fd || fd == ctl_fd) {
        accept_all(fd, fd == ctl_fd);
        continue;
      }
      if (!conns[fd].used)
        continue;
      if (ev[i].events & EPOLLOUT)
        flush_out(fd);
      if (conns[fd].used && (ev[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        on_readable(fd);
    }
    run_due();
    if (watch_parent && getppid() != parent)
      break;
  }
  return 0;
}

/* Event-driven libcurl multi handle (see multi_driver.h). */
#include "api/multi_driver.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/utils/common/common.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "util/mono_time.h"

enum {
  WATCH_IN = 1,      /* libcurl waits to read */
  WATCH_OUT = 2,     /* ... to write */
  WATCH_ADDED = 4,   /* in the epoll set */
  WATCH_REFUSED = 8, /* epoll refused it: polled instead */
};

/* A turn's wait while some socket is polled rather than watched. */
#define POLLED_TURN_MS 10

static void complain(multi_driver_t *d, const char *what, const char *why) {
  c_complain_once(LOG_ERR, &d->complaint,
                  "anticaptcha plugin: %s: %s failed: %s; transfers go on "
                  "more slowly (polled). If this persists, check the "
                  "process's limits (ulimit -n, memory).",
                  d->who, what, why);
}

static uint32_t epoll_events(uint8_t bits) {
  return ((bits & WATCH_IN) ? EPOLLIN : 0) |
         ((bits & WATCH_OUT) ? EPOLLOUT : 0);
}

static int grow(multi_driver_t *d, int fd) {
  if ((size_t)fd < d->num_sockets)
    return 0;
  size_t n = d->num_sockets ? d->num_sockets : 64;
  while (n <= (size_t)fd)
    n *= 2;
  uint8_t *p = realloc(d->sockets, n);
  if (p == NULL)
    return -1;
  memset(p + d->num_sockets, 0, n - d->num_sockets);
  d->sockets = p;
  d->num_sockets = n;
  return 0;
}

static int ctl(multi_driver_t *d, int op, int fd, uint8_t bits) {
  struct epoll_event ev = {.events = epoll_events(bits), .data.fd = fd};
  return epoll_ctl(d->epoll_fd, op, fd, &ev);
}

/* Puts fd into the epoll set with its events; on failure it is polled. */
static void watch(multi_driver_t *d, int fd) {
  uint8_t *bits = &d->sockets[fd];
  int rc;
  if (*bits & WATCH_ADDED) {
    rc = ctl(d, EPOLL_CTL_MOD, fd, *bits);
    if (rc != 0 && errno == ENOENT)
      rc = ctl(d, EPOLL_CTL_ADD, fd, *bits);
  } else {
    rc = ctl(d, EPOLL_CTL_ADD, fd, *bits);
    if (rc != 0 && errno == EEXIST)
      rc = ctl(d, EPOLL_CTL_MOD, fd, *bits);
  }
  if (rc == 0) {
    *bits |= WATCH_ADDED;
    if (*bits & WATCH_REFUSED) {
      *bits &= (uint8_t)~WATCH_REFUSED;
      d->unwatched--;
    }
    return;
  }
  complain(d, "epoll_ctl", STRERRNO);
  *bits &= (uint8_t)~WATCH_ADDED;
  if (!(*bits & WATCH_REFUSED)) {
    *bits |= WATCH_REFUSED;
    d->unwatched++;
  }
}

static void unwatch(multi_driver_t *d, int fd) {
  if ((size_t)fd >= d->num_sockets)
    return;
  uint8_t bits = d->sockets[fd];
  if (bits & WATCH_ADDED)
    epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, fd, NULL); /* closed: ENOENT/EBADF */
  if (bits & WATCH_REFUSED)
    d->unwatched--;
  d->sockets[fd] = 0;
}

/* libcurl's socket callback. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *ud,
                     void *socketp) {
  multi_driver_t *d = ud;
  (void)easy, (void)socketp;
  if (what == CURL_POLL_REMOVE) {
    unwatch(d, fd);
    return 0;
  }
  if (grow(d, fd) != 0) {
    complain(d, "watching a socket", "out of memory");
    return -1; /* libcurl fails the transfer: counted, never stalled */
  }
  uint8_t *bits = &d->sockets[fd];
  *bits = (uint8_t)((*bits & (WATCH_ADDED | WATCH_REFUSED)) |
                    ((what & CURL_POLL_IN) ? WATCH_IN : 0) |
                    ((what & CURL_POLL_OUT) ? WATCH_OUT : 0));
  watch(d, fd);
  return 0;
}

/* libcurl's timer callback: -1 deletes the timer. */
static int on_timer(CURLM *multi, long timeout_ms, void *ud) {
  multi_driver_t *d = ud;
  (void)multi;
  d->timer = timeout_ms < 0 ? 0 : mono_now() + MS_TO_CDTIME_T(timeout_ms);
  return 0;
}

static int open_epoll(multi_driver_t *d) {
  d->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (d->epoll_fd < 0)
    return -1;
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = d->wake_fd};
  if (d->wake_fd >= 0 && epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, d->wake_fd, &ev))
    return -1;
  return 0;
}

int driver_init(multi_driver_t *d, CURLM *multi, const char *who,
                bool wakeable) {
  *d = (multi_driver_t){
      .multi = multi, .who = who, .epoll_fd = -1, .wake_fd = -1};
  C_COMPLAIN_INIT(&d->complaint);
  if (wakeable && (d->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
    driver_destroy(d);
    return -1;
  }
  if (open_epoll(d) != 0) {
    driver_destroy(d);
    return -1;
  }
  curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, d);
  curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
  curl_multi_setopt(multi, CURLMOPT_TIMERDATA, d);
  return 0;
}

void driver_detach(multi_driver_t *d) {
  curl_multi_setopt(d->multi, CURLMOPT_SOCKETFUNCTION, NULL);
  curl_multi_setopt(d->multi, CURLMOPT_SOCKETDATA, NULL);
  curl_multi_setopt(d->multi, CURLMOPT_TIMERFUNCTION, NULL);
  curl_multi_setopt(d->multi, CURLMOPT_TIMERDATA, NULL);
}

void driver_destroy(multi_driver_t *d) {
  if (d->epoll_fd >= 0)
    close(d->epoll_fd);
  if (d->wake_fd >= 0)
    close(d->wake_fd);
  free(d->sockets);
  d->sockets = NULL;
  d->num_sockets = d->unwatched = 0;
  d->epoll_fd = d->wake_fd = -1;
}

void driver_wake(multi_driver_t *d) {
  uint64_t one = 1;
  if (write(d->wake_fd, &one, sizeof(one)) < 0) {
    /* EAGAIN: the counter is full, so the worker is awake anyway. */
  }
}

/* epoll_wait failed for another reason than a signal: the set is made anew
 * and every socket put back. */
static void renew_epoll(multi_driver_t *d) {
  if (d->epoll_fd >= 0)
    close(d->epoll_fd);
  if (open_epoll(d) != 0)
    complain(d, "epoll_create1", STRERRNO);
  for (size_t fd = 0; fd < d->num_sockets; fd++)
    if (d->sockets[fd] & (WATCH_IN | WATCH_OUT)) {
      d->sockets[fd] &= (uint8_t)~WATCH_ADDED;
      watch(d, (int)fd);
    }
}

static void act(multi_driver_t *d, int fd, int events) {
  int running;
  CURLMcode rc = curl_multi_socket_action(d->multi, fd, events, &running);
  if (rc != CURLM_OK) {
    complain(d, "curl_multi_socket_action", curl_multi_strerror(rc));
    if (rc == CURLM_BAD_SOCKET && fd != CURL_SOCKET_TIMEOUT)
      unwatch(d, fd); /* libcurl no longer knows it */
  }
}

static int curl_events(uint32_t events) {
  return ((events & EPOLLIN) ? CURL_CSELECT_IN : 0) |
         ((events & EPOLLOUT) ? CURL_CSELECT_OUT : 0) |
         ((events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
}

static int wait_ms(const multi_driver_t *d, int timeout_ms) {
  if (d->unwatched > 0 && timeout_ms > POLLED_TURN_MS)
    timeout_ms = POLLED_TURN_MS;
  if (d->timer != 0) {
    cdtime_t now = mono_now();
    int t = d->timer <= now ? 0 : (int)CDTIME_T_TO_MS(d->timer - now) + 1;
    if (t < timeout_ms)
      timeout_ms = t;
  }
  return timeout_ms;
}

static void collect_done(multi_driver_t *d, driver_done_fn done, void *ud) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(d->multi, &left)) != NULL)
    if (msg->msg == CURLMSG_DONE)
      done(ud, msg->easy_handle, msg->data.result);
}

void driver_turn(multi_driver_t *d, int timeout_ms, driver_done_fn done,
                 void *ud) {
  struct epoll_event ev[64];
  int ms = wait_ms(d, timeout_ms);
  int n = epoll_wait(d->epoll_fd, ev, STATIC_ARRAY_SIZE(ev), ms);
  if (n < 0 && errno != EINTR) {
    complain(d, "epoll_wait", STRERRNO);
    renew_epoll(d);
    /* No busy loop while epoll cannot be had: short polled turns. */
    ms = ms < POLLED_TURN_MS ? ms : POLLED_TURN_MS;
    nanosleep(&(struct timespec){.tv_nsec = ms * 1000000L}, NULL);
  }
  for (int i = 0; i < n; i++) {
    if (ev[i].data.fd == d->wake_fd) {
      uint64_t count;
      if (read(d->wake_fd, &count, sizeof(count)) < 0) {
        /* EAGAIN: another turn read it first. */
      }
      continue;
    }
    act(d, ev[i].data.fd, curl_events(ev[i].events));
  }
  /* Sockets epoll refused: libcurl checks them itself (events 0), and
   * epoll is asked again. */
  for (size_t fd = 0; d->unwatched > 0 && fd < d->num_sockets; fd++)
    if (d->sockets[fd] & WATCH_REFUSED) {
      watch(d, (int)fd);
      act(d, (int)fd, 0);
    }
  if (d->timer != 0 && d->timer <= mono_now()) {
    d->timer = 0; /* libcurl sets the next one during the call */
    act(d, CURL_SOCKET_TIMEOUT, 0);
  }
  collect_done(d, done, ud);
  if (d->unwatched == 0 && n >= 0)
    c_release(LOG_INFO, &d->complaint,
              "anticaptcha plugin: %s: sockets are watched again.", d->who);
}

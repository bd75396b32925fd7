/* One hour at a time per series, released by a write callback of its own
 * (see hour_gate.h). */
#include "readers/hour_gate.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_complain.h"
#include "collectd/core/utils/common/common.h"

#include <pthread.h>
#include <time.h>

#include "model/spending.h"
#include "util/mono_time.h"

enum { VOLUME, MONEY, KINDS };
static const char *const suffixes[KINDS] = {"-volume_1h", "-money_1h"};

struct hour_gate_series_s {
  const account_t *account;
  char slug[SPENDING_SLUG_MAX + 1];
  struct hour_gate_series_s *next;
  /* Guarded by the gate's lock. */
  int64_t written[KINDS]; /* the newest hour written, of each value */
  int64_t done;           /* up to where `written` was told */
  /* The reader's own. */
  int64_t sent;     /* the newest hour dispatched */
  int64_t waived;   /* sent, when it was waited for no more */
  cdtime_t sent_at; /* monotonic */
  c_complain_t unwritten;
  enum { SAY_NOTHING, SAY_UNWRITTEN, SAY_WRITTEN } say; /* after the wait */
};

static struct {
  pthread_mutex_t lock;
  pthread_cond_t cond; /* a value of a series was written */
  bool started;
  hour_gate_series_t *series;
  hour_gate_written_fn written;
  void *ud;
  cdtime_t give_up;
} gate = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Which of the series' values vl is (VOLUME, MONEY), or -1 when it is none
 * of this process' hourly values; *slug_len: the slug's length in vl's type
 * instance. */
static int kind_of(const value_list_t *vl, size_t *slug_len) {
  if (strcmp(vl->plugin, "anticaptcha") != 0 ||
      strcmp(vl->host, hostname_g) != 0)
    return -1;
  size_t len = strlen(vl->type_instance);
  for (int k = 0; k < KINDS; k++) {
    size_t n = strlen(suffixes[k]);
    if (len > n && strcmp(vl->type_instance + len - n, suffixes[k]) == 0) {
      *slug_len = len - n;
      return k;
    }
  }
  return -1;
}

static hour_gate_series_t *find(const char *account, const char *slug,
                                size_t slug_len) {
  for (hour_gate_series_t *g = gate.series; g != NULL; g = g->next)
    if (strcmp(g->account->name, account) == 0 && strlen(g->slug) == slug_len &&
        strncmp(g->slug, slug, slug_len) == 0)
      return g;
  return NULL;
}

/* The write callback: every value of every plugin passes here, after the
 * cache and the writers registered before it. */
static int on_write(const data_set_t *ds, const value_list_t *vl,
                    user_data_t *ud) {
  (void)ds;
  (void)ud;
  size_t slug_len;
  int k = kind_of(vl, &slug_len);
  if (k < 0)
    return 0;
  int64_t t = (int64_t)CDTIME_T_TO_TIME_T(vl->time);
  pthread_mutex_lock(&gate.lock);
  hour_gate_series_t *g =
      find(vl->plugin_instance, vl->type_instance, slug_len);
  if (g != NULL && t > g->written[k]) {
    g->written[k] = t;
    int64_t both = g->written[VOLUME] < g->written[MONEY] ? g->written[VOLUME]
                                                          : g->written[MONEY];
    /* Under the lock: the state file hears of a series' hours in order. */
    if (both > g->done && gate.written != NULL)
      gate.written(gate.ud, g->account, g->slug, both);
    g->done = both > g->done ? both : g->done;
    pthread_cond_broadcast(&gate.cond);
  }
  pthread_mutex_unlock(&gate.lock);
  return 0;
}

void hour_gate_free(void *unused) {
  (void)unused;
  pthread_mutex_lock(&gate.lock);
  while (gate.series != NULL) {
    hour_gate_series_t *g = gate.series;
    gate.series = g->next;
    free(g);
  }
  if (gate.started)
    pthread_cond_destroy(&gate.cond);
  gate.started = false;
  pthread_mutex_unlock(&gate.lock);
}

int hour_gate_start(hour_gate_written_fn written, void *ud, cdtime_t give_up) {
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  /* Waits are timed on the monotonic clock: a step of the wall clock
   * neither ends them early nor makes them last. */
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_mutex_lock(&gate.lock);
  pthread_cond_init(&gate.cond, &attr);
  gate.started = true;
  gate.written = written;
  gate.ud = ud;
  gate.give_up = give_up;
  pthread_mutex_unlock(&gate.lock);
  pthread_condattr_destroy(&attr);
  if (plugin_register_write("anticaptcha", on_write,
                            &(user_data_t){.free_func = hour_gate_free}) != 0) {
    ERROR("anticaptcha plugin: cannot register the write callback that keeps "
          "each series' hourly values in order; they go out ungated.");
    return -1;
  }
  return 0;
}

hour_gate_series_t *hour_gate_series(const account_t *a, const char *slug) {
  pthread_mutex_lock(&gate.lock);
  hour_gate_series_t *g = find(a->name, slug, strlen(slug));
  if (g == NULL && gate.started && (g = calloc(1, sizeof(*g))) != NULL) {
    g->account = a;
    sstrncpy(g->slug, slug, sizeof(g->slug));
    C_COMPLAIN_INIT(&g->unwritten);
    g->next = gate.series;
    gate.series = g;
  }
  pthread_mutex_unlock(&gate.lock);
  return g;
}

void hour_gate_sent(hour_gate_series_t *g, int64_t till) {
  if (g == NULL)
    return;
  g->sent = till;
  g->sent_at = mono_now();
}

/* With the lock held. *wake: moved earlier to when g is given up. */
static bool ready(hour_gate_series_t *g, cdtime_t now, cdtime_t *wake) {
  if (g == NULL || g->waived == g->sent)
    return true;
  if (g->sent <= g->done) {
    if (c_would_release(&g->unwritten))
      g->say = SAY_WRITTEN;
    return true;
  }
  cdtime_t give_up = cdtime_add(g->sent_at, gate.give_up);
  if (now >= give_up) {
    g->waived = g->sent;
    g->say = SAY_UNWRITTEN;
    return true;
  }
  if (give_up < *wake)
    *wake = give_up;
  return false;
}

/* Sleeps until the monotonic time `until` at most, or a write. */
static void sleep_until(cdtime_t until) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  cdtime_t at =
      cdtime_add(TIMESPEC_TO_CDTIME_T(&ts), cdtime_sub(until, mono_now()));
  ts = CDTIME_T_TO_TIMESPEC(at);
  pthread_cond_timedwait(&gate.cond, &gate.lock, &ts);
}

/* Once per outage and series, after the wait (not under the lock). */
static void say(hour_gate_series_t *g) {
  if (g == NULL || g->say == SAY_NOTHING)
    return;
  if (g->say == SAY_UNWRITTEN)
    c_complain_once(
        LOG_WARNING, &g->unwritten,
        "anticaptcha plugin: Account \"%s\", series \"%s\": an hourly value "
        "was not written within %.0f s of its dispatch; the next hour goes "
        "out without waiting for it. A filter chain that drops these values "
        "or hands them to named writers only, or WriteQueueLimit, keeps them "
        "from the plugin's write callback (doc/failure-behaviour.md).",
        g->account->name, g->slug, CDTIME_T_TO_DOUBLE(gate.give_up));
  else
    c_release(LOG_INFO, &g->unwritten,
              "anticaptcha plugin: Account \"%s\", series \"%s\": hourly "
              "values are written in order again.",
              g->account->name, g->slug);
  g->say = SAY_NOTHING;
}

size_t hour_gate_wait(hour_gate_series_t *const *g, size_t n, bool *ready_out,
                      cdtime_t deadline) {
  size_t k;
  pthread_mutex_lock(&gate.lock);
  for (;;) {
    cdtime_t now = mono_now(), wake = deadline;
    k = 0;
    for (size_t i = 0; i < n; i++)
      k += (ready_out[i] = ready(g[i], now, &wake));
    if (k == n || now >= deadline || !gate.started)
      break;
    sleep_until(wake);
  }
  pthread_mutex_unlock(&gate.lock);
  for (size_t i = 0; i < n; i++)
    say(g[i]);
  return k;
}

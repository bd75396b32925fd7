/* An LD_PRELOAD shim for the state file, loaded into collectd: it counts
 * what the file costs (bench/state_cost) and can make a write of it hang,
 * as a slow or hung disk would (tests/integration/test_state_safety.py).
 * A state file is one whose path contains STATE_SHIM_MATCH.
 *
 * Counting, into the file STATE_SHIM_COUNTERS (created here, 8-byte
 * counters, see the enum; read while collectd runs, max_hold_ns may be
 * zeroed to start a window):
 *  - bytes written to the state file and to its temporary files, split into
 *    whole rewrites (a file other than the state file itself: the temporary
 *    one renamed over it) and appends, with the time spent in those write
 *    and sync calls;
 *  - how long the plugin's own threads (named "anticaptcha...") hold a
 *    mutex: the notification threads wait that long at most for one they
 *    share (a condition wait counts as a release).
 *
 * Stalling: while the file STATE_SHIM_ARM exists, the first write or sync
 * of a state file removes it, creates STATE_SHIM_MARK (naming the call) and
 * sleeps STATE_SHIM_SECONDS first: one stall per arming.
 *
 * stdio's own writes do not go through write()'s symbol: a FILE opened with
 * fdopen() on a state file writes through this shim. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum {
  REWRITE_BYTES,
  APPEND_BYTES,
  WRITES,
  SYNCS,
  IO_NS, /* in write and sync calls on state files */
  HOLDS,
  HOLD_NS,
  MAX_HOLD_NS,
  HOLDS_OVER_1MS,
  HIST, /* HIST + k: holds of 2^k to 2^(k+1) ns, k < 40 */
  NUM_FIELDS = HIST + 40
};

static volatile uint64_t *stats;
static uint64_t dummy[NUM_FIELDS];

__attribute__((constructor)) static void probe_init(void) {
  const char *path = getenv("STATE_SHIM_COUNTERS");
  stats = dummy;
  if (path == NULL)
    return;
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || ftruncate(fd, NUM_FIELDS * 8) != 0)
    return;
  void *p =
      mmap(NULL, NUM_FIELDS * 8, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p != MAP_FAILED)
    stats = p;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void add(int field, uint64_t v) {
  __atomic_fetch_add(&stats[field], v, __ATOMIC_RELAXED);
}

/* ---- Files ---- */

/* 0: not a state file; 1: the state file itself; 2: another (temporary). */
static int state_kind(int fd) {
  const char *want = getenv("STATE_SHIM_MATCH");
  char link[64], path[4096];
  if (want == NULL || want[0] == 0)
    return 0;
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof(path) - 1);
  if (n <= 0)
    return 0;
  path[n] = 0;
  const char *at = strstr(path, want);
  if (at == NULL)
    return 0;
  return at[strlen(want)] == 0 ? 1 : 2;
}

/* Stalls when armed (the arm file exists and this call removed it). */
static void maybe_stall(int fd, const char *call) {
  const char *arm = getenv("STATE_SHIM_ARM");
  const char *mark = getenv("STATE_SHIM_MARK");
  const char *secs = getenv("STATE_SHIM_SECONDS");
  if (arm == NULL || state_kind(fd) == 0 || unlink(arm) != 0)
    return;
  if (mark != NULL) {
    FILE *f = fopen(mark, "w");
    if (f != NULL) {
      fprintf(f, "%s\n", call);
      fclose(f);
    }
  }
  double s = secs != NULL ? atof(secs) : 5.0;
  struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0)
    ;
}

#define REAL(name)                                                             \
  static __typeof__(&name) real_##name;                                        \
  if (real_##name == NULL)                                                     \
  real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

static void count_write(int kind, ssize_t n, uint64_t t0) {
  if (kind == 0)
    return;
  add(WRITES, 1);
  add(IO_NS, now_ns() - t0);
  if (n > 0)
    add(kind == 1 ? APPEND_BYTES : REWRITE_BYTES, (uint64_t)n);
}

ssize_t write(int fd, const void *buf, size_t len) {
  REAL(write);
  maybe_stall(fd, "write");
  int kind = state_kind(fd);
  uint64_t t0 = kind ? now_ns() : 0;
  ssize_t n = real_write(fd, buf, len);
  count_write(kind, n, t0);
  return n;
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off) {
  REAL(pwrite);
  maybe_stall(fd, "pwrite");
  int kind = state_kind(fd);
  uint64_t t0 = kind ? now_ns() : 0;
  ssize_t n = real_pwrite(fd, buf, len, off);
  count_write(kind, n, t0);
  return n;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt) {
  REAL(writev);
  maybe_stall(fd, "writev");
  int kind = state_kind(fd);
  uint64_t t0 = kind ? now_ns() : 0;
  ssize_t n = real_writev(fd, iov, cnt);
  count_write(kind, n, t0);
  return n;
}

static int count_sync(int fd, int (*real)(int), const char *call) {
  maybe_stall(fd, call);
  int kind = state_kind(fd);
  uint64_t t0 = kind ? now_ns() : 0;
  int r = real(fd);
  if (kind) {
    add(SYNCS, 1);
    add(IO_NS, now_ns() - t0);
  }
  return r;
}

int fsync(int fd) {
  REAL(fsync);
  return count_sync(fd, real_fsync, "fsync");
}

int fdatasync(int fd) {
  REAL(fdatasync);
  return count_sync(fd, real_fdatasync, "fdatasync");
}

static ssize_t cookie_write(void *c, const char *buf, size_t len) {
  return write((int)(long)c, buf, len);
}

static int cookie_close(void *c) { return close((int)(long)c); }

FILE *fdopen(int fd, const char *mode) {
  REAL(fdopen);
  if (state_kind(fd) == 0 || strchr(mode, 'r') != NULL)
    return real_fdopen(fd, mode);
  cookie_io_functions_t io = {.write = cookie_write, .close = cookie_close};
  return fopencookie((void *)(long)fd, mode, io);
}

/* ---- Locks held by the plugin's threads ---- */

#define MAX_HELD 16
static __thread struct {
  int mine; /* 1: a plugin thread, 0: not (yet) known, -1: another */
  unsigned calls;
  int depth;
  const void *mutex[MAX_HELD];
  uint64_t since[MAX_HELD];
} self;

/* collectd names a thread after starting it: look until the name comes. */
static int is_plugin_thread(void) {
  if (self.mine == 1)
    return 1;
  if (self.calls++ < 100000 || self.calls % 4096 == 0) {
    char name[17] = "";
    prctl(PR_GET_NAME, name);
    self.mine = strncmp(name, "anticaptcha", 11) == 0 ? 1 : self.mine;
  }
  return self.mine == 1;
}

static void held(const void *m) {
  if (!is_plugin_thread() || self.depth >= MAX_HELD)
    return;
  self.mutex[self.depth] = m;
  self.since[self.depth++] = now_ns();
}

static void released(const void *m) {
  if (self.mine != 1)
    return;
  for (int i = self.depth - 1; i >= 0; i--) {
    if (self.mutex[i] != m)
      continue;
    uint64_t d = now_ns() - self.since[i];
    memmove(&self.mutex[i], &self.mutex[i + 1],
            (size_t)(self.depth - i - 1) * sizeof(self.mutex[0]));
    memmove(&self.since[i], &self.since[i + 1],
            (size_t)(self.depth - i - 1) * sizeof(self.since[0]));
    self.depth--;
    add(HOLDS, 1);
    add(HOLD_NS, d);
    if (d > 1000000)
      add(HOLDS_OVER_1MS, 1);
    int k = 0;
    while (k < 39 && (d >> (k + 1)) != 0)
      k++;
    add(HIST + k, 1);
    uint64_t max = __atomic_load_n(&stats[MAX_HOLD_NS], __ATOMIC_RELAXED);
    while (d > max &&
           !__atomic_compare_exchange_n(&stats[MAX_HOLD_NS], &max, d, 0,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
      ;
    return;
  }
}

int pthread_mutex_lock(pthread_mutex_t *m) {
  REAL(pthread_mutex_lock);
  int r = real_pthread_mutex_lock(m);
  if (r == 0)
    held(m);
  return r;
}

int pthread_mutex_trylock(pthread_mutex_t *m) {
  REAL(pthread_mutex_trylock);
  int r = real_pthread_mutex_trylock(m);
  if (r == 0)
    held(m);
  return r;
}

int pthread_mutex_unlock(pthread_mutex_t *m) {
  REAL(pthread_mutex_unlock);
  released(m);
  return real_pthread_mutex_unlock(m);
}

int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m) {
  REAL(pthread_cond_wait);
  released(m);
  int r = real_pthread_cond_wait(c, m);
  held(m);
  return r;
}

int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                           const struct timespec *t) {
  REAL(pthread_cond_timedwait);
  released(m);
  int r = real_pthread_cond_timedwait(c, m, t);
  held(m);
  return r;
}

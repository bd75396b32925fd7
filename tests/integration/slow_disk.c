/* An LD_PRELOAD shim that makes one write to the state file hang, as a slow
 * or hung disk would (tests/integration/test_state_safety.py, SlowDisk).
 *
 * While the file named by SLOW_DISK_ARM exists, the first write(), pwrite(),
 * writev(), fsync() or fdatasync() on a file whose path contains
 * SLOW_DISK_MATCH removes it, creates SLOW_DISK_MARK (naming the call) and
 * sleeps SLOW_DISK_SECONDS before doing the call: one stall per arming.
 * stdio's own writes do not go through write()'s symbol, so a FILE opened
 * with fdopen() on such a file writes through this shim too. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int matches(int fd) {
  const char *want = getenv("SLOW_DISK_MATCH");
  char link[64], path[4096];
  if (want == NULL || want[0] == 0)
    return 0;
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof(path) - 1);
  if (n <= 0)
    return 0;
  path[n] = 0;
  return strstr(path, want) != NULL;
}

/* Stalls when armed (the arm file exists and this call removed it). */
static void maybe_stall(int fd, const char *call) {
  const char *arm = getenv("SLOW_DISK_ARM");
  const char *mark = getenv("SLOW_DISK_MARK");
  const char *secs = getenv("SLOW_DISK_SECONDS");
  if (arm == NULL || !matches(fd) || unlink(arm) != 0)
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

ssize_t write(int fd, const void *buf, size_t len) {
  REAL(write);
  maybe_stall(fd, "write");
  return real_write(fd, buf, len);
}

ssize_t pwrite(int fd, const void *buf, size_t len, off_t off) {
  REAL(pwrite);
  maybe_stall(fd, "pwrite");
  return real_pwrite(fd, buf, len, off);
}

ssize_t writev(int fd, const struct iovec *iov, int n) {
  REAL(writev);
  maybe_stall(fd, "writev");
  return real_writev(fd, iov, n);
}

int fsync(int fd) {
  REAL(fsync);
  maybe_stall(fd, "fsync");
  return real_fsync(fd);
}

int fdatasync(int fd) {
  REAL(fdatasync);
  maybe_stall(fd, "fdatasync");
  return real_fdatasync(fd);
}

/* ---- fdopen: a FILE whose writes come back through write() above ---- */

static ssize_t cookie_write(void *c, const char *buf, size_t len) {
  return write((int)(long)c, buf, len);
}

static int cookie_close(void *c) { return close((int)(long)c); }

FILE *fdopen(int fd, const char *mode) {
  REAL(fdopen);
  if (!matches(fd) || strchr(mode, 'r') != NULL)
    return real_fdopen(fd, mode);
  cookie_io_functions_t io = {.write = cookie_write, .close = cookie_close};
  return fopencookie((void *)(long)fd, mode, io);
}

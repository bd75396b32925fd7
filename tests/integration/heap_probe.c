/* An LD_PRELOAD shim that tells how many heap bytes collectd has in use,
 * as glibc's mallinfo2() counts them over every arena (plus mmap()ed
 * chunks). test_bounds compares the figure after a warm-up with the one
 * after 100,000 reports: a leak shows there byte for byte, while the RSS
 * also moves with where glibc's arenas happen to put a backlog. (Run with
 * glibc's per-thread cache off: chunks parked in it count as in use.)
 *
 * Asking: create the file HEAP_PROBE_ASK; a thread of this shim (polling,
 * as a signal handler may not call the allocator) removes it and writes
 * the in-use bytes, in decimal, to HEAP_PROBE_ANSWER (renamed into place,
 * so a reader never sees half a number). */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static const char *ask_path;
static const char *answer_path;

/* mallinfo2() is glibc 2.33's (Debian 12); Debian 11's mallinfo() counts in
 * int, plenty for collectd's few MiB. */
static size_t in_use(void) {
#if __GLIBC_PREREQ(2, 33)
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
#else
  struct mallinfo mi = mallinfo();
  return (size_t)mi.uordblks + (size_t)mi.hblkhd;
#endif
}

static void answer(void) {
  char tmp[4096];
  snprintf(tmp, sizeof(tmp), "%s.tmp", answer_path);
  FILE *f = fopen(tmp, "w");
  if (f == NULL)
    return;
  fprintf(f, "%zu\n", in_use());
  if (fclose(f) == 0)
    rename(tmp, answer_path);
}

static void *poll_loop(void *unused) {
  (void)unused;
  struct timespec step = {0, 20 * 1000 * 1000};
  for (;;) {
    if (unlink(ask_path) == 0)
      answer();
    nanosleep(&step, NULL);
  }
  return NULL;
}

__attribute__((constructor)) static void start(void) {
  ask_path = getenv("HEAP_PROBE_ASK");
  answer_path = getenv("HEAP_PROBE_ANSWER");
  if (ask_path == NULL || answer_path == NULL)
    return;
  pthread_t thread;
  if (pthread_create(&thread, NULL, poll_loop, NULL) == 0) {
    pthread_setname_np(thread, "heap probe");
    pthread_detach(thread);
  }
}

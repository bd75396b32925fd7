/* The monotonic clock and saturating time conversions (see mono_time.h). */
#include "util/mono_time.h"

#include <time.h>

/* The largest number of seconds cdtime_t holds (2^34 - 1: the year 2514). */
#define SECONDS_MAX ((int64_t)(UINT64_MAX >> 30))

cdtime_t mono_now(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
    clock_gettime(CLOCK_MONOTONIC, &ts); /* kernels before 2.6.39 */
  return TIMESPEC_TO_CDTIME_T(&ts);
}

cdtime_t cdtime_add(cdtime_t a, cdtime_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

cdtime_t cdtime_sub(cdtime_t a, cdtime_t b) { return a > b ? a - b : 0; }

cdtime_t mono_from_wall(cdtime_t wall, cdtime_t wall_ref, cdtime_t mono_ref) {
  return wall >= wall_ref ? cdtime_add(mono_ref, wall - wall_ref)
                          : cdtime_sub(mono_ref, wall_ref - wall);
}

cdtime_t wall_from_mono(cdtime_t mono, cdtime_t wall_ref, cdtime_t mono_ref) {
  return mono >= mono_ref ? cdtime_add(wall_ref, mono - mono_ref)
                          : cdtime_sub(wall_ref, mono_ref - mono);
}

cdtime_t cdtime_from_seconds(int64_t seconds) {
  if (seconds <= 0)
    return 0;
  return seconds > SECONDS_MAX ? UINT64_MAX : TIME_T_TO_CDTIME_T(seconds);
}

cdtime_t cdtime_from_ms(int64_t ms) {
  if (ms <= 0)
    return 0;
  return ms / 1000 > SECONDS_MAX ? UINT64_MAX : MS_TO_CDTIME_T(ms);
}

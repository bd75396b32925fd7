/* Two clocks. The wall clock (cdtime()) is what notifications, the API's
 * hours and the state file speak, and NTP, an operator or a resumed VM may
 * step it. The monotonic clock (CLOCK_BOOTTIME: it counts a suspend and
 * never steps) is what deadlines and waits run on. A time changes clocks
 * once, when it arrives or leaves; conversions saturate instead of wrapping,
 * also past cdtime_t's range (the year 2514).
 * Pure: no collectd or curl calls. */
#ifndef ANTICAPTCHA_MONO_TIME_H
#define ANTICAPTCHA_MONO_TIME_H

#include <stdint.h>

#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/utils_time.h"

/* The monotonic clock, in cdtime_t units. */
cdtime_t mono_now(void);

/* When, on the monotonic clock, the wall clock will show `wall` (or showed
 * it), given that it showed wall_ref at the monotonic time mono_ref. */
cdtime_t mono_from_wall(cdtime_t wall, cdtime_t wall_ref, cdtime_t mono_ref);
/* What the wall clock, which showed wall_ref at mono_ref, shows (or showed)
 * at the monotonic time `mono`. */
cdtime_t wall_from_mono(cdtime_t mono, cdtime_t wall_ref, cdtime_t mono_ref);

/* Seconds and milliseconds since the epoch, as read from the network or a
 * file: negative is 0, past cdtime_t's range is its largest value. */
cdtime_t cdtime_from_seconds(int64_t seconds);
cdtime_t cdtime_from_ms(int64_t ms);
/* a + b, at most cdtime_t's largest value; a - b, at least 0. */
cdtime_t cdtime_add(cdtime_t a, cdtime_t b);
cdtime_t cdtime_sub(cdtime_t a, cdtime_t b);

#endif

/* One hour at a time per series: a spending reader dispatches a series' next
 * hourly record only once the last one has been written. collectd 5.12
 * hands dispatched values to its write threads (WriteThreads, 5 by default)
 * in any order: two hours of one series queued together can reach its cache
 * and its writers the other way round, and the cache then refuses the older
 * ("value too old"). The gate learns that a value has passed the cache and
 * the writers from a write callback of its own: collectd calls the writers
 * in the order they registered, after updating the cache, and this one
 * registers at init, after the writers of the plugins loaded before.
 *
 * What the state file keeps of a series is its last hour written: values
 * still queued when collectd stops (it drops them) go out again after the
 * restart.
 *
 * Thread-safe. Lives until collectd frees the write callback's data, after
 * its write threads have stopped and after the readers are freed. */
#ifndef ANTICAPTCHA_HOUR_GATE_H
#define ANTICAPTCHA_HOUR_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/utils_time.h"

#include "config/settings.h"

/* A hour not written this long after its dispatch is waited for no more
 * (a filter chain that drops it or routes it to named writers only, or
 * WriteQueueLimit): the series' next hour may go. */
#define HOUR_GATE_GIVE_UP TIME_T_TO_CDTIME_T(10)

/* Called on a write thread once both values (volume and money) of the
 * series' hours up to last_till have been written, in order. */
typedef void (*hour_gate_written_fn)(void *ud, const account_t *a,
                                     const char *slug, int64_t last_till);

typedef struct hour_gate_series_s hour_gate_series_t;

/* At init, before the readers: registers the write callback "anticaptcha".
 * written may be NULL. Returns 0 or -1 (logged). */
int hour_gate_start(hour_gate_written_fn written, void *ud, cdtime_t give_up);

/* The series (a, slug), made at the first call; NULL when the gate has not
 * started or memory ran out (the reader then dispatches ungated). Owned by
 * the gate; a must outlive it. */
hour_gate_series_t *hour_gate_series(const account_t *a, const char *slug);

/* The reader dispatched both values of the hour ending at till. */
void hour_gate_sent(hour_gate_series_t *g, int64_t till);

/* Waits until each of the n series may send its next hour (its last one
 * written, or waited for give_up: said once in the log), at most until
 * deadline (the monotonic clock's time, mono_time.h). g[i] NULL: always
 * ready. Sets ready[i]; returns how many are ready. On the reader's thread
 * (one reader per series). */
size_t hour_gate_wait(hour_gate_series_t *const *g, size_t n, bool *ready,
                      cdtime_t deadline);

/* collectd's free_func of the write callback (tests call it too). */
void hour_gate_free(void *unused);

#endif

/* What a spending reader asks of the rest of the plugin, handed in by
 * anticaptcha.c: the readers know neither the state file nor the report-rate
 * guard. Every hook may be NULL; all are called on the reader's thread but
 * hour_done, which the hour gate (hour_gate.h) calls on a write thread. */
#ifndef ANTICAPTCHA_READER_HOOKS_H
#define ANTICAPTCHA_READER_HOOKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/settings.h"

typedef struct {
  void *ud; /* handed back to every hook; outlives the reader */
  /* The newest hourly record of (account, slug) dispatched before, as the
   * state file remembers it; 0: unknown. */
  int64_t (*last_hour)(void *ud, const account_t *a, const char *slug);
  /* The series' hourly records up to last_till have been written (both
   * values), in order; once after the restored value, it may be lower than
   * that one (a restored hour from the future, clamped). */
  void (*hour_done)(void *ud, const account_t *a, const char *slug,
                    int64_t last_till);
  /* After each poll: the series' slugs, 24-hour task volumes and whether
   * each answered; total_index: the total's series, or -1. */
  void (*volumes)(void *ud, const account_t *a, const char *const *slugs,
                  const double *volumes, const bool *ok, size_t n,
                  long total_index);
} reader_hooks_t;

#endif

/* The state file's contents and their text: per account, the reports not yet
 * answered, the task ids remembered as reported, and the last hourly record
 * dispatched per spending series. Pure: no collectd, file or curl calls, so
 * the unit tests and the fuzzer feed it any bytes. */
#ifndef ANTICAPTCHA_STATE_FILE_H
#define ANTICAPTCHA_STATE_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "model/report_match.h"
#include "model/spending.h"

/* Written into the file; a file of another version is not read. */
#define STATE_FILE_VERSION 1
/* A file larger than this is not read: 1M remembered ids take ~30 MiB. */
#define STATE_FILE_MAX_BYTES ((size_t)64 * 1024 * 1024)
/* As ACCOUNT_NAME_MAX: names longer than an account name cannot match one. */
#define STATE_NAME_MAX 64
/* Times beyond 2^34 s (year 2514) are not ours, and would overflow
 * collectd's cdtime_t (2^-30 s units) when converted. */
#define STATE_MAX_SECONDS ((int64_t)1 << 34)
/* Attempts above this are not ours: the sender gives up within 60 s. */
#define STATE_MAX_ATTEMPTS 1000

/* Task ids are written as the vendor issued them: a number as a JSON
 * integer, a UUID as a string. */
typedef struct {
  task_id_t task_id;
  report_method_t method;
  int64_t completed_ms; /* Unix time of the task's completion, ms */
  unsigned attempts;    /* made so far */
} state_report_t;

typedef struct {
  task_id_t task_id;
  int64_t expires_ms; /* remembered until then */
} state_seen_t;

typedef struct {
  char slug[SPENDING_SLUG_MAX + 1];
  int64_t last_till; /* dateTill of the newest hourly record dispatched */
} state_series_t;

typedef struct {
  char name[STATE_NAME_MAX];
  state_report_t *reports;
  size_t num_reports, cap_reports;
  state_seen_t *seen;
  size_t num_seen, cap_seen;
  state_series_t *series;
  size_t num_series, cap_series;
} state_account_t;

typedef struct {
  state_account_t *accounts;
  size_t num_accounts;
} state_t;

void state_init(state_t *st);
/* Frees every entry; st is empty (and reusable) afterwards. */
void state_free(state_t *st);

/* The account named `name`, added if missing. NULL when the name is empty or
 * too long, or memory runs out. Adding an account may move the others: a
 * pointer returned earlier is valid until the next call. */
state_account_t *state_account(state_t *st, const char *name);
const state_account_t *state_find(const state_t *st, const char *name);

/* Each returns 0, or -1 when the entry is out of range or memory runs out. */
int state_add_report(state_account_t *a, const state_report_t *r);
int state_add_seen(state_account_t *a, const state_seen_t *s);
/* Sets (or adds) the series' last record; keeps the later of two. */
int state_set_series(state_account_t *a, const char *slug, int64_t last_till);
/* 0 when the series is unknown. */
int64_t state_series_last(const state_account_t *a, const char *slug);

/* The file's text (JSON, built with yajl_gen): malloc'd, NUL-terminated,
 * length in *len; NULL when memory runs out. */
char *state_format(const state_t *st, size_t *len);

/* The same text made piece by piece and handed to out() as it is made, so
 * that a large state is written without being held in memory: per
 * account, state_writer_account(), then its reports, its remembered task
 * ids and its series, in that order; state_writer_finish() at the end.
 * Each returns 0, or -1 from the first misuse or failure on. */
typedef void (*state_out_t)(void *ctx, const char *text, size_t len);
typedef struct state_writer_s state_writer_t;
state_writer_t *state_writer_new(state_out_t out, void *ctx);
int state_writer_account(state_writer_t *w, const char *name);
int state_writer_report(state_writer_t *w, const state_report_t *r);
int state_writer_seen(state_writer_t *w, const state_seen_t *s);
int state_writer_series(state_writer_t *w, const char *slug, int64_t last_till);
int state_writer_finish(state_writer_t *w);
void state_writer_free(state_writer_t *w);

/* Parses a whole file into *out (initialised here). Any flaw refuses the
 * whole file: returns -1 with *why set and *out empty, so that a damaged
 * file gives a clean start, never half a state. Returns 0 on success. */
int state_parse(const char *text, size_t len, state_t *out, char *why,
                size_t why_size);

#endif

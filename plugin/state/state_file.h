/* The state file's contents and their text: per account, the reports not yet
 * answered, the task ids remembered as reported, and the last hourly record
 * dispatched per spending series; the text written record by record, one
 * JSON array a line (doc/state-file.md). Pure: no collectd, file or curl
 * calls, so the unit tests and the fuzzer feed it any bytes. The text is
 * read back by state_parse.h. */
#ifndef ANTICAPTCHA_STATE_FILE_H
#define ANTICAPTCHA_STATE_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "model/report_match.h"
#include "model/spending.h"

/* Written into the file's first line; version 1 (0.3's single object) is
 * still read. */
#define STATE_FILE_VERSION 2
/* As ACCOUNT_NAME_MAX: names longer than an account name cannot match one. */
#define STATE_NAME_MAX 64
/* Times beyond 2^34 s (year 2514) are not ours, and would overflow
 * collectd's cdtime_t (2^-30 s units) when converted. */
#define STATE_MAX_SECONDS ((int64_t)1 << 34)
/* Attempts above this are not ours: the sender gives up within 60 s. */
#define STATE_MAX_ATTEMPTS 1000
/* Accounts a file may name (collectd's config would not hold more), and
 * series an account may have (its queues and the total). */
#define STATE_ACCOUNTS_MAX 4096
/* The writer writes the whole state again once it appended twice its size
 * and at least this much (state_saver.c): so much the reader must take. */
#define STATE_APPEND_FLOOR ((uint64_t)8 << 20)
#define STATE_SERIES_MAX 1024

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

/* What task_id_parse() could have made of a file's text. */
bool state_task_id_valid(task_id_t id);

/* Each returns 0, or -1 when the entry is out of range or memory runs out. */
int state_add_report(state_account_t *a, const state_report_t *r);
int state_add_seen(state_account_t *a, const state_seen_t *s);
/* Sets (or adds) the series' last record; keeps the later of two. */
int state_set_series(state_account_t *a, const char *slug, int64_t last_till);
/* 0 when the series is unknown. */
int64_t state_series_last(const state_account_t *a, const char *slug);

/* ---- The text ----
 * One record a line, each a JSON array whose first member names it; N is an
 * account's number in this file (declared by its "account" record):
 *   ["anticaptcha-state",2]                   the first line
 *   ["account",N,"name"]
 *   ["series",N,"slug",dateTill]
 *   ["seen",N,task,expiry_ms]
 *   ["report",N,task,"method",completed_ms,attempts,expiry_ms]
 *   ["snapshot",records]                      the end of the whole state
 *   ["frame",bytes]                           a later write: its records' size
 *   ["tries",N,task,completed_ms,attempts]    a report went out again
 *   ["done",N,task,completed_ms]              a report was settled
 * A report is its task id and completion time together. */
typedef void (*state_out_t)(void *ctx, const char *text, size_t len);
typedef struct state_writer_s state_writer_t;

/* Hands each record to out(ctx, ...) as it is made; with out NULL, keeps
 * the text (state_writer_text). NULL when memory runs out. */
state_writer_t *state_writer_new(state_out_t out, void *ctx);
void state_writer_free(state_writer_t *w);
/* Each writes one record: 0, or -1 from the first value out of range or
 * failure on (every later call fails too). */
int state_write_header(state_writer_t *w);
int state_write_account(state_writer_t *w, uint32_t n, const char *name);
int state_write_series(state_writer_t *w, uint32_t n, const char *slug,
                       int64_t last_till);
int state_write_seen(state_writer_t *w, uint32_t n, const state_seen_t *s);
int state_write_report(state_writer_t *w, uint32_t n, const state_report_t *r,
                       int64_t expires_ms);
int state_write_snapshot_end(state_writer_t *w, uint64_t records);
int state_write_frame(state_writer_t *w, uint64_t bytes);
int state_write_tries(state_writer_t *w, uint32_t n, task_id_t task,
                      int64_t completed_ms, unsigned attempts);
int state_write_done(state_writer_t *w, uint32_t n, task_id_t task,
                     int64_t completed_ms);
/* Records written since state_writer_new (or the last clear). */
uint64_t state_writer_records(const state_writer_t *w);
/* The text kept so far (out NULL), and its length; not NUL-terminated. */
const char *state_writer_text(const state_writer_t *w, size_t *len);
/* Forgets the text kept and the count of records. */
void state_writer_clear(state_writer_t *w);

/* A whole state as one file's text: header, accounts, series, seen, reports
 * and the snapshot's end. malloc'd, NUL-terminated, length in *len; NULL
 * when memory runs out or an entry is out of range. */
char *state_format(const state_t *st, size_t *len);

#endif

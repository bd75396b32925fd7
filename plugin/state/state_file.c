/* The state file's contents and their text, written record by record with
 * yajl_gen (see state_file.h). */
#include "state/state_file.h"
#include "util/grow.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

void state_init(state_t *st) { memset(st, 0, sizeof(*st)); }

void state_free(state_t *st) {
  for (size_t i = 0; i < st->num_accounts; i++) {
    free(st->accounts[i].reports);
    free(st->accounts[i].seen);
    free(st->accounts[i].series);
  }
  free(st->accounts);
  state_init(st);
}

/* Makes room for one more item of size `size` in *items. */
static int reserve(void **items, size_t count, size_t *cap, size_t size) {
  return grow_array(items, cap, count + 1, size, 8, 0);
}

const state_account_t *state_find(const state_t *st, const char *name) {
  for (size_t i = 0; i < st->num_accounts; i++)
    if (strcmp(st->accounts[i].name, name) == 0)
      return &st->accounts[i];
  return NULL;
}

state_account_t *state_account(state_t *st, const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n >= STATE_NAME_MAX)
    return NULL;
  state_account_t *a = (state_account_t *)state_find(st, name);
  if (a != NULL)
    return a;
  /* Grown one at a time: a handful of accounts. */
  a = realloc(st->accounts, (st->num_accounts + 1) * sizeof(*a));
  if (a == NULL)
    return NULL;
  st->accounts = a;
  a = &st->accounts[st->num_accounts++];
  memset(a, 0, sizeof(*a));
  memcpy(a->name, name, n + 1);
  return a;
}

bool state_task_id_valid(task_id_t id) {
  return task_id_is_uuid(id) || (id.lo > 0 && id.lo <= (uint64_t)INT64_MAX);
}

static bool time_valid(int64_t ms) {
  return ms >= 0 && ms <= STATE_MAX_SECONDS * 1000;
}

int state_add_report(state_account_t *a, const state_report_t *r) {
  if (!state_task_id_valid(r->task_id) || r->method >= REPORT_METHOD_COUNT ||
      r->attempts > STATE_MAX_ATTEMPTS || !time_valid(r->completed_ms) ||
      reserve((void **)&a->reports, a->num_reports, &a->cap_reports,
              sizeof(*r)) != 0)
    return -1;
  a->reports[a->num_reports++] = *r;
  return 0;
}

int state_add_seen(state_account_t *a, const state_seen_t *s) {
  if (!state_task_id_valid(s->task_id) || !time_valid(s->expires_ms) ||
      reserve((void **)&a->seen, a->num_seen, &a->cap_seen, sizeof(*s)) != 0)
    return -1;
  a->seen[a->num_seen++] = *s;
  return 0;
}

int64_t state_series_last(const state_account_t *a, const char *slug) {
  for (size_t i = 0; a != NULL && i < a->num_series; i++)
    if (strcmp(a->series[i].slug, slug) == 0)
      return a->series[i].last_till;
  return 0;
}

int state_set_series(state_account_t *a, const char *slug, int64_t last_till) {
  size_t n = strlen(slug);
  if (n == 0 || n > SPENDING_SLUG_MAX || last_till < 0 ||
      last_till > STATE_MAX_SECONDS)
    return -1;
  for (size_t i = 0; i < a->num_series; i++)
    if (strcmp(a->series[i].slug, slug) == 0) {
      if (last_till > a->series[i].last_till)
        a->series[i].last_till = last_till;
      return 0;
    }
  if (a->num_series >= STATE_SERIES_MAX ||
      reserve((void **)&a->series, a->num_series, &a->cap_series,
              sizeof(*a->series)) != 0)
    return -1;
  state_series_t *s = &a->series[a->num_series++];
  memcpy(s->slug, slug, n + 1);
  s->last_till = last_till;
  return 0;
}

/* ---- The text ---- */

struct state_writer_s {
  yajl_gen g;
  state_out_t out; /* NULL: into text */
  void *ctx;
  char *text;
  size_t len, cap;
  uint64_t records;
  bool ok;
};

static void keep_text(void *ctx, const char *s, size_t len) {
  state_writer_t *w = ctx;
  if (!w->ok)
    return;
  if (w->len + len > w->cap) {
    size_t cap = w->cap < 4096 ? 4096 : w->cap;
    while (cap < w->len + len)
      cap *= 2;
    char *text = realloc(w->text, cap);
    if (text == NULL) {
      w->ok = false;
      return;
    }
    w->text = text;
    w->cap = cap;
  }
  memcpy(w->text + w->len, s, len);
  w->len += len;
}

static void to_out(void *ctx, const char *s, size_t len) {
  state_writer_t *w = ctx;
  if (w->out != NULL)
    w->out(w->ctx, s, len);
  else
    keep_text(w, s, len);
}

state_writer_t *state_writer_new(state_out_t out, void *ctx) {
  state_writer_t *w = calloc(1, sizeof(*w));
  if (w == NULL || (w->g = yajl_gen_alloc(NULL)) == NULL) {
    free(w);
    return NULL;
  }
  w->out = out;
  w->ctx = ctx;
  w->ok = true;
  yajl_gen_config(w->g, yajl_gen_validate_utf8, 1);
  yajl_gen_config(w->g, yajl_gen_print_callback, to_out, w);
  return w;
}

void state_writer_free(state_writer_t *w) {
  if (w == NULL)
    return;
  yajl_gen_free(w->g);
  free(w->text);
  free(w);
}

static bool gen_str(yajl_gen g, const char *s) {
  return yajl_gen_string(g, (const unsigned char *)s, strlen(s)) ==
         yajl_gen_status_ok;
}

static bool gen_int(yajl_gen g, long long v) {
  return yajl_gen_integer(g, v) == yajl_gen_status_ok;
}

static bool gen_task_id(yajl_gen g, task_id_t id) {
  char text[TASK_ID_TEXT_MAX];
  return task_id_is_uuid(id) ? gen_str(g, task_id_format(id, text))
                             : gen_int(g, (long long)id.lo);
}

/* Opens a record: its name and, unless n is UINT32_MAX, its account. */
static bool open_record(state_writer_t *w, const char *name, uint32_t n) {
  if (!w->ok || (n != UINT32_MAX && n >= STATE_ACCOUNTS_MAX) ||
      yajl_gen_array_open(w->g) != yajl_gen_status_ok || !gen_str(w->g, name))
    return false;
  return n == UINT32_MAX || gen_int(w->g, n);
}

/* Closes the record opened with `ok` so far; a line each. */
static int close_record(state_writer_t *w, bool ok) {
  w->ok = w->ok && ok && yajl_gen_array_close(w->g) == yajl_gen_status_ok;
  if (w->ok) {
    yajl_gen_reset(w->g, NULL);
    to_out(w, "\n", 1);
    w->records++;
  }
  return w->ok ? 0 : -1;
}

int state_write_header(state_writer_t *w) {
  return close_record(w, open_record(w, "anticaptcha-state", UINT32_MAX) &&
                             gen_int(w->g, STATE_FILE_VERSION));
}

int state_write_account(state_writer_t *w, uint32_t n, const char *name) {
  size_t len = strlen(name);
  return close_record(w, len > 0 && len < STATE_NAME_MAX &&
                             open_record(w, "account", n) &&
                             gen_str(w->g, name));
}

int state_write_series(state_writer_t *w, uint32_t n, const char *slug,
                       int64_t last_till) {
  size_t len = strlen(slug);
  return close_record(w, len > 0 && len <= SPENDING_SLUG_MAX &&
                             last_till >= 0 && last_till <= STATE_MAX_SECONDS &&
                             open_record(w, "series", n) &&
                             gen_str(w->g, slug) && gen_int(w->g, last_till));
}

int state_write_seen(state_writer_t *w, uint32_t n, const state_seen_t *s) {
  return close_record(
      w, state_task_id_valid(s->task_id) && time_valid(s->expires_ms) &&
             open_record(w, "seen", n) && gen_task_id(w->g, s->task_id) &&
             gen_int(w->g, s->expires_ms));
}

int state_write_report(state_writer_t *w, uint32_t n, const state_report_t *r,
                       int64_t expires_ms) {
  return close_record(
      w, state_task_id_valid(r->task_id) && r->method < REPORT_METHOD_COUNT &&
             time_valid(r->completed_ms) && time_valid(expires_ms) &&
             r->attempts <= STATE_MAX_ATTEMPTS && open_record(w, "report", n) &&
             gen_task_id(w->g, r->task_id) &&
             gen_str(w->g, report_method_name(r->method)) &&
             gen_int(w->g, r->completed_ms) && gen_int(w->g, r->attempts) &&
             gen_int(w->g, expires_ms));
}

int state_write_snapshot_end(state_writer_t *w, uint64_t records) {
  return close_record(w, records <= INT64_MAX &&
                             open_record(w, "snapshot", UINT32_MAX) &&
                             gen_int(w->g, (long long)records));
}

int state_write_frame(state_writer_t *w, uint64_t bytes) {
  return close_record(w, bytes <= INT64_MAX &&
                             open_record(w, "frame", UINT32_MAX) &&
                             gen_int(w->g, (long long)bytes));
}

int state_write_tries(state_writer_t *w, uint32_t n, task_id_t task,
                      int64_t completed_ms, unsigned attempts) {
  return close_record(
      w, state_task_id_valid(task) && time_valid(completed_ms) &&
             attempts <= STATE_MAX_ATTEMPTS && open_record(w, "tries", n) &&
             gen_task_id(w->g, task) && gen_int(w->g, completed_ms) &&
             gen_int(w->g, attempts));
}

int state_write_done(state_writer_t *w, uint32_t n, task_id_t task,
                     int64_t completed_ms) {
  return close_record(
      w, state_task_id_valid(task) && time_valid(completed_ms) &&
             open_record(w, "done", n) && gen_task_id(w->g, task) &&
             gen_int(w->g, completed_ms));
}

uint64_t state_writer_records(const state_writer_t *w) { return w->records; }

const char *state_writer_text(const state_writer_t *w, size_t *len) {
  *len = w->len;
  return w->text;
}

void state_writer_clear(state_writer_t *w) {
  w->len = 0;
  w->records = 0;
}

/* Seen ids first, then reports: a report's task id is among the seen ones,
 * and a report written after it keeps its place in the queue. */
static int format_account(state_writer_t *w, uint32_t n,
                          const state_account_t *a) {
  int status = state_write_account(w, n, a->name);
  for (size_t k = 0; k < a->num_series; k++)
    status |=
        state_write_series(w, n, a->series[k].slug, a->series[k].last_till);
  for (size_t k = 0; k < a->num_seen; k++)
    status |= state_write_seen(w, n, &a->seen[k]);
  for (size_t k = 0; k < a->num_reports; k++)
    status |= state_write_report(w, n, &a->reports[k], 0);
  return status;
}

char *state_format(const state_t *st, size_t *len) {
  state_writer_t *w = state_writer_new(NULL, NULL);
  char *out = NULL;
  if (w == NULL || st->num_accounts > STATE_ACCOUNTS_MAX) {
    state_writer_free(w);
    return NULL;
  }
  int status = state_write_header(w);
  for (size_t i = 0; i < st->num_accounts; i++)
    status |= format_account(w, (uint32_t)i, &st->accounts[i]);
  status |= state_write_snapshot_end(w, state_writer_records(w));
  if (status == 0 && (out = malloc(w->len + 1)) != NULL) {
    memcpy(out, w->text, w->len);
    out[w->len] = 0;
    *len = w->len;
  }
  state_writer_free(w);
  return out;
}

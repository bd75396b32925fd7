/* The state file's contents: building them, formatting them as JSON with
 * yajl_gen, and parsing them back with yajl's tree parser, strictly. */
#include "state/state_file.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

/* The deepest nesting a valid file has: object, accounts, account, reports,
 * report. Deeper input is refused before yajl builds (and recursively frees)
 * a tree of it. */
#define MAX_DEPTH 6

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
  if (count < *cap)
    return 0;
  size_t n = *cap < 8 ? 8 : 2 * *cap;
  void *tmp = realloc(*items, n * size);
  if (tmp == NULL)
    return -1;
  *items = tmp;
  *cap = n;
  return 0;
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

/* What task_id_parse() could have made of a file's text. */
static bool valid_task_id(task_id_t id) {
  return task_id_is_uuid(id) || (id.lo > 0 && id.lo <= (uint64_t)INT64_MAX);
}

int state_add_report(state_account_t *a, const state_report_t *r) {
  if (!valid_task_id(r->task_id) || r->method >= REPORT_METHOD_COUNT ||
      r->attempts > STATE_MAX_ATTEMPTS ||
      reserve((void **)&a->reports, a->num_reports, &a->cap_reports,
              sizeof(*r)) != 0)
    return -1;
  a->reports[a->num_reports++] = *r;
  return 0;
}

int state_add_seen(state_account_t *a, const state_seen_t *s) {
  if (!valid_task_id(s->task_id) ||
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
  if (n == 0 || n > SPENDING_SLUG_MAX || last_till < 0)
    return -1;
  for (size_t i = 0; i < a->num_series; i++)
    if (strcmp(a->series[i].slug, slug) == 0) {
      if (last_till > a->series[i].last_till)
        a->series[i].last_till = last_till;
      return 0;
    }
  if (reserve((void **)&a->series, a->num_series, &a->cap_series,
              sizeof(*a->series)) != 0)
    return -1;
  state_series_t *s = &a->series[a->num_series++];
  memcpy(s->slug, slug, n + 1);
  s->last_till = last_till;
  return 0;
}

/* ---- Formatting ---- */

/* Where the writer is inside the current account. */
enum { NO_ACCOUNT, IN_REPORTS, IN_SEEN, IN_SERIES };

struct state_writer_s {
  yajl_gen g;
  state_out_t out; /* NULL: yajl's own buffer (state_format) */
  void *ctx;
  int section;
  bool ok;
};

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

/* Moves on to `section` of the current account: reports, seen, series. */
static bool advance(state_writer_t *w, int section) {
  if (w->section == NO_ACCOUNT || w->section > section)
    return w->ok = false;
  for (; w->ok && w->section < section; w->section++)
    w->ok = yajl_gen_array_close(w->g) == 0 &&
            gen_str(w->g, w->section == IN_REPORTS ? "seen" : "series") &&
            (w->section == IN_REPORTS ? yajl_gen_array_open(w->g)
                                      : yajl_gen_map_open(w->g)) == 0;
  return w->ok;
}

/* Ends the current account, if any. */
static bool end_account(state_writer_t *w) {
  if (w->section == NO_ACCOUNT)
    return w->ok;
  w->ok = advance(w, IN_SERIES) && yajl_gen_map_close(w->g) == 0 &&
          yajl_gen_map_close(w->g) == 0;
  w->section = NO_ACCOUNT;
  return w->ok;
}

state_writer_t *state_writer_new(state_out_t out, void *ctx) {
  state_writer_t *w = calloc(1, sizeof(*w));
  if (w == NULL || (w->g = yajl_gen_alloc(NULL)) == NULL) {
    free(w);
    return NULL;
  }
  w->out = out;
  w->ctx = ctx;
  yajl_gen_config(w->g, yajl_gen_validate_utf8, 1);
  if (out != NULL)
    yajl_gen_config(w->g, yajl_gen_print_callback, out, ctx);
  w->ok = yajl_gen_map_open(w->g) == 0 && gen_str(w->g, "version") &&
          gen_int(w->g, STATE_FILE_VERSION) && gen_str(w->g, "accounts") &&
          yajl_gen_array_open(w->g) == 0;
  return w;
}

int state_writer_account(state_writer_t *w, const char *name) {
  w->ok = end_account(w) && yajl_gen_map_open(w->g) == 0 &&
          gen_str(w->g, "name") && gen_str(w->g, name) &&
          gen_str(w->g, "reports") && yajl_gen_array_open(w->g) == 0;
  w->section = IN_REPORTS;
  return w->ok ? 0 : -1;
}

/* reports: [[task, method, completed_ms, attempts], ...] */
int state_writer_report(state_writer_t *w, const state_report_t *r) {
  w->ok = advance(w, IN_REPORTS) && r->method < REPORT_METHOD_COUNT &&
          yajl_gen_array_open(w->g) == 0 && gen_task_id(w->g, r->task_id) &&
          gen_str(w->g, report_method_name(r->method)) &&
          gen_int(w->g, r->completed_ms) && gen_int(w->g, r->attempts) &&
          yajl_gen_array_close(w->g) == 0;
  return w->ok ? 0 : -1;
}

/* seen: [[task, expires_ms], ...] */
int state_writer_seen(state_writer_t *w, const state_seen_t *e) {
  w->ok = advance(w, IN_SEEN) && yajl_gen_array_open(w->g) == 0 &&
          gen_task_id(w->g, e->task_id) && gen_int(w->g, e->expires_ms) &&
          yajl_gen_array_close(w->g) == 0;
  return w->ok ? 0 : -1;
}

/* series: {"slug": last_till, ...} */
int state_writer_series(state_writer_t *w, const char *slug,
                        int64_t last_till) {
  w->ok =
      advance(w, IN_SERIES) && gen_str(w->g, slug) && gen_int(w->g, last_till);
  return w->ok ? 0 : -1;
}

int state_writer_finish(state_writer_t *w) {
  w->ok = end_account(w) && yajl_gen_array_close(w->g) == 0 &&
          yajl_gen_map_close(w->g) == 0;
  if (w->ok && w->out != NULL)
    w->out(w->ctx, "\n", 1); /* a text file ends with a newline */
  return w->ok ? 0 : -1;
}

void state_writer_free(state_writer_t *w) {
  if (w == NULL)
    return;
  yajl_gen_free(w->g);
  free(w);
}

char *state_format(const state_t *st, size_t *len) {
  state_writer_t *w = state_writer_new(NULL, NULL);
  const unsigned char *buf;
  size_t n;
  char *out = NULL;
  if (w == NULL)
    return NULL;
  for (size_t i = 0; i < st->num_accounts; i++) {
    const state_account_t *a = &st->accounts[i];
    state_writer_account(w, a->name);
    for (size_t k = 0; k < a->num_reports; k++)
      state_writer_report(w, &a->reports[k]);
    for (size_t k = 0; k < a->num_seen; k++)
      state_writer_seen(w, &a->seen[k]);
    for (size_t k = 0; k < a->num_series; k++)
      state_writer_series(w, a->series[k].slug, a->series[k].last_till);
  }
  if (state_writer_finish(w) == 0 &&
      yajl_gen_get_buf(w->g, &buf, &n) == yajl_gen_status_ok &&
      (out = malloc(n + 2)) != NULL) {
    memcpy(out, buf, n);
    out[n] = '\n';
    out[n + 1] = 0;
    *len = n + 1;
  }
  state_writer_free(w);
  return out;
}

/* ---- Parsing ---- */

static int fail(char *why, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, size, fmt, ap);
  va_end(ap);
  return -1;
}

/* Nesting depth outside strings, without building anything. */
static bool too_deep(const char *text, size_t len) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < len; i++) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        i++;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > MAX_DEPTH)
        return true;
    } else if (c == ']' || c == '}') {
      depth--;
    }
  }
  return false;
}

static yajl_val member(yajl_val obj, const char *key) {
  const char *path[] = {key, NULL};
  return yajl_tree_get(obj, path, yajl_t_any);
}

/* An integer from min to max. */
static bool get_int(yajl_val v, long long min, long long max, long long *out) {
  if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < min ||
      YAJL_GET_INTEGER(v) > max)
    return false;
  *out = YAJL_GET_INTEGER(v);
  return true;
}

/* A task id as the writer writes it: a number, or a UUID as a string. */
static bool get_task_id(yajl_val v, task_id_t *out) {
  long long n;
  if (YAJL_IS_STRING(v))
    return task_id_parse(YAJL_GET_STRING(v), out) == 0 && task_id_is_uuid(*out);
  if (!get_int(v, 1, INT64_MAX, &n))
    return false;
  *out = TASK_ID_NUMBER((uint64_t)n);
  return true;
}

/* A tuple: an array of exactly n values. */
static bool tuple(yajl_val v, size_t n) {
  return YAJL_IS_ARRAY(v) && v->u.array.len == n;
}

static int parse_reports(yajl_val arr, state_account_t *a, char *why,
                         size_t size) {
  for (size_t i = 0; arr != NULL && i < arr->u.array.len; i++) {
    yajl_val t = arr->u.array.values[i];
    long long completed, attempts;
    state_report_t r;
    if (!tuple(t, 4) || !get_task_id(t->u.array.values[0], &r.task_id) ||
        !YAJL_IS_STRING(t->u.array.values[1]) ||
        report_method_parse(YAJL_GET_STRING(t->u.array.values[1]), &r.method) !=
            0 ||
        !get_int(t->u.array.values[2], 0, STATE_MAX_SECONDS * 1000,
                 &completed) ||
        !get_int(t->u.array.values[3], 0, STATE_MAX_ATTEMPTS, &attempts))
      return fail(why, size,
                  "account \"%s\": report %zu is not [task id, "
                  "method, completion time, attempts]",
                  a->name, i + 1);
    r.completed_ms = completed;
    r.attempts = (unsigned)attempts;
    if (state_add_report(a, &r) != 0)
      return fail(why, size, "out of memory");
  }
  return 0;
}

static int parse_seen(yajl_val arr, state_account_t *a, char *why,
                      size_t size) {
  for (size_t i = 0; arr != NULL && i < arr->u.array.len; i++) {
    yajl_val t = arr->u.array.values[i];
    long long expires;
    task_id_t task;
    if (!tuple(t, 2) || !get_task_id(t->u.array.values[0], &task) ||
        !get_int(t->u.array.values[1], 0, STATE_MAX_SECONDS * 1000, &expires))
      return fail(why, size,
                  "account \"%s\": remembered task %zu is not "
                  "[task id, expiry]",
                  a->name, i + 1);
    if (state_add_seen(a, &(state_seen_t){task, expires}) != 0)
      return fail(why, size, "out of memory");
  }
  return 0;
}

static int parse_series(yajl_val obj, state_account_t *a, char *why,
                        size_t size) {
  for (size_t i = 0; obj != NULL && i < obj->u.object.len; i++) {
    const char *slug = obj->u.object.keys[i];
    long long till;
    if (!get_int(obj->u.object.values[i], 0, STATE_MAX_SECONDS, &till) ||
        state_series_last(a, slug) != 0 || state_set_series(a, slug, till) != 0)
      return fail(why, size,
                  "account \"%s\": series %zu is not a unique "
                  "name with a time",
                  a->name, i + 1);
  }
  return 0;
}

static int parse_account(yajl_val v, state_t *st, char *why, size_t size) {
  yajl_val name = YAJL_IS_OBJECT(v) ? member(v, "name") : NULL;
  yajl_val reports = YAJL_IS_OBJECT(v) ? member(v, "reports") : NULL;
  yajl_val seen = YAJL_IS_OBJECT(v) ? member(v, "seen") : NULL;
  yajl_val series = YAJL_IS_OBJECT(v) ? member(v, "series") : NULL;
  if (!YAJL_IS_STRING(name) || (reports && !YAJL_IS_ARRAY(reports)) ||
      (seen && !YAJL_IS_ARRAY(seen)) || (series && !YAJL_IS_OBJECT(series)))
    return fail(why, size,
                "an account entry is not an object with a name, "
                "reports, seen and series");
  if (state_find(st, YAJL_GET_STRING(name)) != NULL)
    return fail(why, size, "account \"%s\" appears twice",
                YAJL_GET_STRING(name));
  state_account_t *a = state_account(st, YAJL_GET_STRING(name));
  if (a == NULL)
    return fail(why, size, "an account name is empty or too long");
  if (parse_reports(reports, a, why, size) != 0 ||
      parse_seen(seen, a, why, size) != 0 ||
      parse_series(series, a, why, size) != 0)
    return -1;
  return 0;
}

static int parse_tree(yajl_val root, state_t *st, char *why, size_t size) {
  long long version;
  yajl_val accounts = YAJL_IS_OBJECT(root) ? member(root, "accounts") : NULL;
  if (!YAJL_IS_OBJECT(root) || !YAJL_IS_INTEGER(member(root, "version")))
    return fail(why, size, "not a state file (no version)");
  if (!get_int(member(root, "version"), STATE_FILE_VERSION, STATE_FILE_VERSION,
               &version))
    return fail(why, size,
                "written by another version of the plugin "
                "(format %lld, this one reads %d)",
                YAJL_GET_INTEGER(member(root, "version")), STATE_FILE_VERSION);
  if (!YAJL_IS_ARRAY(accounts))
    return fail(why, size, "no list of accounts");
  for (size_t i = 0; i < accounts->u.array.len; i++)
    if (parse_account(accounts->u.array.values[i], st, why, size) != 0)
      return -1;
  return 0;
}

int state_parse(const char *text, size_t len, state_t *out, char *why,
                size_t why_size) {
  char err[128] = "";
  state_init(out);
  if (len == 0)
    return fail(why, why_size, "the file is empty");
  if (len > STATE_FILE_MAX_BYTES)
    return fail(why, why_size, "the file is larger than %zu bytes",
                STATE_FILE_MAX_BYTES);
  if (memchr(text, 0, len) != NULL)
    return fail(why, why_size, "the file holds a NUL byte");
  if (too_deep(text, len))
    return fail(why, why_size, "nested deeper than a state file");
  char *copy = malloc(len + 1); /* yajl_tree_parse wants a C string */
  if (copy == NULL)
    return fail(why, why_size, "out of memory");
  memcpy(copy, text, len);
  copy[len] = 0;
  yajl_val root = yajl_tree_parse(copy, err, sizeof(err));
  free(copy);
  if (root == NULL) {
    /* yajl's message spans lines and quotes the input: keep its first. */
    err[strcspn(err, "\r\n")] = 0;
    return fail(why, why_size, "not valid JSON (truncated?): %s",
                err[0] ? err : "parse error");
  }
  int status = parse_tree(root, out, why, why_size);
  yajl_tree_free(root);
  if (status != 0)
    state_free(out);
  return status;
}

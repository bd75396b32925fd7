/* The state file's version 2: a record a line, a snapshot and then frames
 * of what changed (see state_file.h), read into state_replay. */
#include "state/state_parse_internal.h"

#include <string.h>

typedef enum { R_ACCOUNT, R_SERIES, R_SEEN, R_REPORT, R_TRIES, R_DONE } kind_t;

static const struct {
  const char *name;
  int fields;
  bool in_snapshot, in_frame;
} kinds[] = {
    [R_ACCOUNT] = {"account", 3, true, false},
    [R_SERIES] = {"series", 4, true, true},
    [R_SEEN] = {"seen", 4, true, true},
    [R_REPORT] = {"report", 7, true, true},
    [R_TRIES] = {"tries", 5, false, true},
    [R_DONE] = {"done", 4, false, true},
};
#define NUM_KINDS (sizeof(kinds) / sizeof(kinds[0]))

static uint64_t offset(const state_parser_t *p) {
  return p->base + yajl_get_bytes_consumed(p->h);
}

ctx_t state_record_open(state_parser_t *p) {
  p->start = offset(p) - 1; /* the '[' */
  if (p->snapshot_done && p->start >= p->frame_end)
    p->frame_start = p->start; /* where the next frame begins */
  p->nf = 0;
  return C_RECORD;
}

static bool is(const field_t *f, const char *name) {
  return f->type == F_STR && strcmp(f->s, name) == 0;
}

/* The record's members after its kind and account, applied. */
static int apply(state_parser_t *p, kind_t k, uint32_t n, const field_t *f) {
  state_report_t r;
  state_seen_t s;
  long long v;
  char why[256] = "";
  int status = -1;
  switch (k) {
  case R_ACCOUNT:
    if (f[0].type == F_STR)
      status = state_replay_account(p->replay, n, f[0].s, why, sizeof(why));
    break;
  case R_SERIES:
    if (f[0].type == F_STR && state_get_int(&f[1], 0, STATE_MAX_SECONDS, &v))
      status =
          state_replay_series(p->replay, n, f[0].s, v, false, why, sizeof(why));
    break;
  case R_SEEN:
    if (state_get_task(&f[0], &s.task_id) &&
        state_get_time(&f[1], &s.expires_ms))
      status = state_replay_seen(p->replay, n, &s, why, sizeof(why));
    break;
  case R_REPORT:
    if (state_get_report(f, &r) && state_get_time(&f[4], &s.expires_ms))
      status =
          state_replay_report(p->replay, n, &r, s.expires_ms, why, sizeof(why));
    break;
  case R_TRIES:
    if (state_get_task(&f[0], &r.task_id) &&
        state_get_time(&f[1], &r.completed_ms) &&
        state_get_int(&f[2], 0, STATE_MAX_ATTEMPTS, &v))
      status = state_replay_tries(p->replay, n, r.task_id, r.completed_ms,
                                  (unsigned)v, why, sizeof(why));
    break;
  case R_DONE:
    if (state_get_task(&f[0], &r.task_id) &&
        state_get_time(&f[1], &r.completed_ms))
      status = state_replay_done(p->replay, n, r.task_id, r.completed_ms, why,
                                 sizeof(why));
    break;
  }
  if (status == -1 && why[0] == 0)
    return 0;
  return state_replayed(p, status, why);
}

static int first_record(state_parser_t *p) {
  long long v;
  if (p->nf != 2 || !is(&p->f[0], "anticaptcha-state") ||
      !state_get_int(&p->f[1], 0, INT32_MAX, &v))
    return state_fail(p, "not a state file");
  if (v != STATE_FILE_VERSION)
    return state_fail(p,
                      "written by another version of the plugin (format "
                      "%lld, this one reads 1 and %d)",
                      v, STATE_FILE_VERSION);
  p->version = 2;
  return 1;
}

/* A frame's header, where one must begin. */
static int frame(state_parser_t *p, uint64_t end) {
  long long bytes;
  if (p->nf != 2 || !is(&p->f[0], "frame") || p->start != p->frame_end ||
      !state_get_int(&p->f[1], 0, FRAME_MAX_BYTES, &bytes))
    return state_fail(p, "record %llu is not where a write begins",
                      (unsigned long long)p->records);
  p->frame_end = end + 1 + (uint64_t)bytes; /* its newline, then bytes */
  return 1;
}

static int snapshot_end(state_parser_t *p, uint64_t end) {
  long long n;
  if (p->nf != 2 || !state_get_int(&p->f[1], 0, INT64_MAX, &n) ||
      (uint64_t)n != p->records - 1)
    return state_fail(p, "its snapshot does not hold the records it says");
  p->snapshot_done = true;
  p->frame_end = end + 1;
  p->frame_start = p->frame_end;
  return 1;
}

int state_record_close(state_parser_t *p) {
  uint64_t end = offset(p); /* after the ']' */
  long long n;
  p->records++;
  if (p->version == 0)
    return first_record(p);
  if (p->snapshot_done && p->start >= p->frame_end)
    return frame(p, end);
  if (p->snapshot_done && end >= p->frame_end)
    return state_fail(p, "record %llu crosses the end of its write",
                      (unsigned long long)p->records);
  if (!p->snapshot_done && is(&p->f[0], "snapshot"))
    return snapshot_end(p, end);
  for (size_t k = 0; k < NUM_KINDS; k++) {
    if (!is(&p->f[0], kinds[k].name))
      continue;
    bool here = p->snapshot_done ? kinds[k].in_frame : kinds[k].in_snapshot;
    if (!here || p->nf != kinds[k].fields ||
        !state_get_int(&p->f[1], 0, STATE_ACCOUNTS_MAX - 1, &n) ||
        apply(p, (kind_t)k, (uint32_t)n, &p->f[2]) == 0)
      return state_fail(p, "record %llu (%s) is out of place or out of range",
                        (unsigned long long)p->records, kinds[k].name);
    return 1;
  }
  return state_fail(p, "record %llu is of no kind the plugin writes",
                    (unsigned long long)p->records);
}

void state_records_end(state_parser_t *p) {
  if (!p->snapshot_done)
    state_fail(p, "it ends before its snapshot does");
  else if (p->frame_end > p->size) /* the last write did not all land */
    state_fail_at(p, true, false, "its last write is cut short");
}

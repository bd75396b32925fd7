/* The state file reader's verdicts and a record's fields, for the parser
 * and its two formats (state_parse_internal.h): failing, with the reason,
 * and reading a field as an integer, a time, a task id or a report. */
#include "state/state_parse_internal.h"

#include <stdarg.h>
#include <stdio.h>

/* ---- Failing ---- */

/* After the snapshot, the file is appended to and each write synced: only
 * the last can be cut short by a crash, which leaves it ending early, or
 * holding NULs (blocks never written), or broken off: bytes yajl cannot
 * read inside it. A whole record out of place is damage wherever it is. */
static bool torn_write(const state_parser_t *p, bool at_end, bool nul) {
  if (p->version != 2 || !p->snapshot_done)
    return false;
  return at_end || nul || (p->start < p->frame_end && p->frame_end >= p->size);
}

static void failv(state_parser_t *p, bool torn, const char *fmt, va_list ap) {
  if (p->failed)
    return;
  p->failed = true;
  p->torn = torn;
  if (p->torn)
    snprintf(p->why, sizeof(p->why),
             "its last write (the last %llu bytes) was cut short, by a crash "
             "most likely; what came before it is read",
             (unsigned long long)(p->size > p->frame_start
                                      ? p->size - p->frame_start
                                      : 0));
  else
    vsnprintf(p->why, sizeof(p->why), fmt, ap);
}

int state_fail(state_parser_t *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  failv(p, false, fmt, ap);
  va_end(ap);
  return 0;
}

int state_fail_at(state_parser_t *p, bool at_end, bool nul, const char *fmt,
                  ...) {
  va_list ap;
  va_start(ap, fmt);
  failv(p, torn_write(p, at_end, nul), fmt, ap);
  va_end(ap);
  return 0;
}

int state_replayed(state_parser_t *p, int status, const char *why) {
  return status == 0 ? 1 : state_fail(p, "%s", why);
}

/* ---- Fields ---- */

bool state_get_int(const field_t *f, long long min, long long max,
                   long long *out) {
  if (f->type != F_INT || f->i < min || f->i > max)
    return false;
  *out = f->i;
  return true;
}

/* A number as an integer, a UUID as a string; digits in a string are not a
 * task id (the writer writes numbers as numbers). */
bool state_get_task(const field_t *f, task_id_t *out) {
  if (f->type == F_INT && f->i > 0) {
    *out = TASK_ID_NUMBER((uint64_t)f->i);
    return true;
  }
  return f->type == F_STR && task_id_parse(f->s, out) == 0 &&
         task_id_is_uuid(*out);
}

bool state_get_time(const field_t *f, int64_t *out) {
  long long v;
  if (!state_get_int(f, 0, STATE_MAX_SECONDS * 1000, &v))
    return false;
  *out = v;
  return true;
}

bool state_get_report(const field_t *f, state_report_t *r) {
  long long attempts;
  if (!state_get_task(&f[0], &r->task_id) || f[1].type != F_STR ||
      report_method_parse(f[1].s, &r->method) != 0 ||
      !state_get_time(&f[2], &r->completed_ms) ||
      !state_get_int(&f[3], 0, STATE_MAX_ATTEMPTS, &attempts))
    return false;
  r->attempts = (unsigned)attempts;
  return true;
}

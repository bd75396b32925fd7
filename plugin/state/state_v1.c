/* The state file's version 1: 0.3's single object, read into state_replay
 * as it streams by (task ids as numbers, or UUIDs as strings). */
#include "state/state_parse_internal.h"

#include <stdio.h>
#include <string.h>

#include "api/response.h"

static void escaped_name(const state_parser_t *p, char *out, size_t size) {
  response_escape(out, size, p->name, strlen(p->name));
}

int state_v1_tuple(state_parser_t *p, bool report) {
  char name[4 * STATE_NAME_MAX];
  state_report_t r;
  int64_t expires;
  char why[256];
  p->items++;
  escaped_name(p, name, sizeof(name));
  if (report && (p->nf != 4 || !state_get_report(p->f, &r)))
    return state_fail(p,
                      "account \"%s\": report %zu is not [task id, method, "
                      "completion time, attempts]",
                      name, p->items);
  if (!report && (p->nf != 2 || !state_get_task(&p->f[0], &r.task_id) ||
                  !state_get_time(&p->f[1], &expires)))
    return state_fail(
        p, "account \"%s\": remembered task %zu is not [task id, expiry]", name,
        p->items);
  int status = report ? state_replay_report(p->replay, p->accounts - 1, &r, 0,
                                            why, sizeof(why))
                      : state_replay_seen(p->replay, p->accounts - 1,
                                          &(state_seen_t){r.task_id, expires},
                                          why, sizeof(why));
  return state_replayed(p, status, why);
}

static int v1_name(state_parser_t *p, const field_t *f) {
  char why[256];
  size_t len = f->type == F_STR ? strlen(f->s) : 0;
  if (len == 0 || len >= STATE_NAME_MAX)
    return state_fail(p, "an account name is empty or too long");
  memcpy(p->name, f->s, len + 1);
  p->named = true;
  p->items = 0;
  return state_replayed(
      p,
      state_replay_account(p->replay, p->accounts++, p->name, why, sizeof(why)),
      why);
}

static int v1_series(state_parser_t *p, const field_t *f) {
  char name[4 * STATE_NAME_MAX], why[256];
  long long till;
  p->items++;
  escaped_name(p, name, sizeof(name));
  if (!state_get_int(f, 0, STATE_MAX_SECONDS, &till) ||
      state_replay_series(p->replay, p->accounts - 1, p->key, till, true, why,
                          sizeof(why)) != 0)
    return state_fail(
        p, "account \"%s\": series %zu is not a unique name with a time", name,
        p->items);
  return 1;
}

/* A scalar member of version 1's objects. */
int state_v1_scalar(state_parser_t *p, ctx_t in, const field_t *f) {
  static const char entry[] = "an account entry is not an object with a "
                              "name, reports, seen and series";
  switch (in) {
  case C_ROOT:
    if (strcmp(p->key, "version") == 0) {
      if (f->type != F_INT)
        return state_fail(p, "not a state file (no version)");
      if (f->i != 1)
        return state_fail(
            p,
            "written by another version of the plugin (an object of "
            "format %lld; this one reads format 1 as an object, %d as "
            "lines)",
            f->i, STATE_FILE_VERSION);
      p->version = 1;
    } else if (strcmp(p->key, "accounts") == 0)
      return state_fail(p, "no list of accounts");
    return 1;
  case C_ACCOUNTS:
    return state_fail(p, "%s", entry);
  case C_ACCOUNT:
    if (strcmp(p->key, "name") == 0)
      return p->named ? state_fail(p, "%s", entry) : v1_name(p, f);
    if (strcmp(p->key, "reports") == 0 || strcmp(p->key, "seen") == 0 ||
        strcmp(p->key, "series") == 0)
      return state_fail(p, "%s", entry);
    return 1;
  case C_SERIES:
    return v1_series(p, f);
  case C_REPORTS:
    return state_fail(p, "account: report %zu is not a list", p->items + 1);
  case C_SEEN:
    return state_fail(p, "account: remembered task %zu is not a list",
                      p->items + 1);
  default:
    return 1;
  }
}

/* The context a version 1 container opens in `in`, or C_TOP on failure. */
ctx_t state_v1_open(state_parser_t *p, ctx_t in, bool map) {
  static const char entry[] = "an account entry is not an object with a "
                              "name, reports, seen and series";
  bool has_key = in == C_ROOT || in == C_ACCOUNT;
  if (has_key && strcmp(p->key, "accounts") == 0 && in == C_ROOT) {
    if (p->version != 1)
      return state_fail(p, "not a state file (no version)"), C_TOP;
    p->has_accounts = true;
    return map ? (state_fail(p, "no list of accounts"), C_TOP) : C_ACCOUNTS;
  }
  if (in == C_ROOT && strcmp(p->key, "version") == 0)
    return state_fail(p, "not a state file (no version)"), C_TOP;
  if (in == C_ACCOUNTS) {
    p->named = false;
    return map ? C_ACCOUNT : (state_fail(p, "%s", entry), C_TOP);
  }
  if (in == C_ACCOUNT) {
    bool list = strcmp(p->key, "reports") == 0 || strcmp(p->key, "seen") == 0;
    if (strcmp(p->key, "name") == 0 ||
        ((list || strcmp(p->key, "series") == 0) && (!p->named || list == map)))
      return state_fail(p, "%s", entry), C_TOP;
    if (list) {
      p->items = 0;
      return strcmp(p->key, "reports") == 0 ? C_REPORTS : C_SEEN;
    }
    if (strcmp(p->key, "series") == 0) {
      p->items = 0;
      return C_SERIES;
    }
    return C_SKIP;
  }
  if (in == C_REPORTS || in == C_SEEN) {
    p->nf = 0;
    return map ? (state_v1_tuple(p, in == C_REPORTS), C_TOP) : C_TUPLE;
  }
  if (in == C_SERIES)
    return v1_series(p, &(field_t){.type = F_OTHER}), C_TOP;
  return in == C_TUPLE
             ? (state_fail(p, "nested deeper than a state file"), C_TOP)
             : C_SKIP;
}

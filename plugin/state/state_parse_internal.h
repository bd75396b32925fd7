/* The state file's reader, shared by state_parse.c (yajl's callbacks, the
 * bounds, the outcome), state_v1.c (version 1's object) and
 * state_records.c (version 2's records). Not for other modules. */
#ifndef ANTICAPTCHA_STATE_PARSE_INTERNAL_H
#define ANTICAPTCHA_STATE_PARSE_INTERNAL_H

#include <stdbool.h>
#include <yajl/yajl_parse.h>

#include "state/state_parse.h"

/* Version 1's nesting (object, accounts, account, reports, report) and one
 * level more for a member it does not know, as 0.3 read it. */
#define MAX_DEPTH 6
/* A record's members, and a string member's length once decoded. */
#define FIELDS_MAX 8
#define FIELD_MAX 128
/* Writes after the snapshot are at most this big (sender_changes.h's
 * maximum number of changes, a record each). */
#define FRAME_MAX_BYTES ((uint64_t)64 << 20)

typedef enum {
  C_TOP,
  C_ROOT, /* version 1's object and what is inside it */
  C_ACCOUNTS,
  C_ACCOUNT,
  C_REPORTS,
  C_SEEN,
  C_SERIES,
  C_TUPLE,
  C_SKIP,   /* a member version 1 does not know: ignored */
  C_RECORD, /* version 2: a line */
} ctx_t;

typedef enum { F_INT, F_STR, F_OTHER } ftype_t;

typedef struct {
  ftype_t type;
  long long i;
  char s[FIELD_MAX];
} field_t;

struct state_parser_s {
  yajl_handle h;
  state_replay_t *replay;
  uint64_t size, base; /* the file's size; the offset of the bytes fed */
  bool in_string, escape;
  size_t token;
  int depth;
  ctx_t ctx[MAX_DEPTH + 1];
  char key[FIELD_MAX]; /* the member a version 1 value belongs to */
  field_t f[FIELDS_MAX];
  int nf;
  int version; /* 0 until known */
  /* Version 1: the account being read, and its entries so far. */
  uint32_t accounts;
  char name[STATE_NAME_MAX];
  size_t items;
  bool named, has_accounts;
  /* Version 2: records so far; where the one being read began; the end of
   * the frame being read and where the last frame began. */
  uint64_t records, start, frame_end, frame_start;
  bool snapshot_done;
  /* The outcome. */
  bool failed, torn;
  char why[256];
};

/* Each returns 0 (what stops yajl) having set the reason, unless a reason
 * is set already. state_fail: the file is damaged. state_fail_at: bytes that
 * cannot be read, which after the snapshot may be a crash's torn last write
 * (at_end: the file ended inside a record; nul: a NUL byte came). */
int state_fail(state_parser_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int state_fail_at(state_parser_t *p, bool at_end, bool nul, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));
/* A status of state_replay: 1, or its reason becomes the file's. */
int state_replayed(state_parser_t *p, int status, const char *why);

bool state_get_int(const field_t *f, long long min, long long max,
                   long long *out);
bool state_get_task(const field_t *f, task_id_t *out);
bool state_get_time(const field_t *f, int64_t *out);
/* [task id, method, completion time, attempts] */
bool state_get_report(const field_t *f, state_report_t *r);

/* state_v1.c: a scalar member, a container opening (the context it opens,
 * or C_TOP having failed), a report or seen tuple ending. */
int state_v1_scalar(state_parser_t *p, ctx_t in, const field_t *f);
ctx_t state_v1_open(state_parser_t *p, ctx_t in, bool map);
int state_v1_tuple(state_parser_t *p, bool report);

/* state_records.c: a record opening (C_RECORD, or C_TOP having failed), its
 * end, and the end of the file. */
ctx_t state_record_open(state_parser_t *p);
int state_record_close(state_parser_t *p);
void state_records_end(state_parser_t *p);

#endif

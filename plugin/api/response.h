/* Streaming parser for Anti-Captcha answers. libcurl hands the body over in
 * chunks; response_feed() parses them as they come, gathering small chunks
 * up to RESPONSE_COALESCE bytes first (one yajl call instead of many), and
 * refuses an oversized body as soon as it passes the cap.
 * Pure: no collectd or curl calls. */
#ifndef ANTICAPTCHA_RESPONSE_H
#define ANTICAPTCHA_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_parse.h>

/* The largest answer read: 24 records take about 2.5 KiB, so anything near
 * this is not an answer we understand. */
#define RESPONSE_MAX_BYTES (256 * 1024)
/* The API documents 24 hourly records; more than this is refused. */
#define RESPONSE_MAX_RECORDS 48
/* yajl re-lexes a token split across chunks from the token's start each
 * time, so a long string or number dripped in tiny chunks costs quadratic
 * time (a 256 KiB number fed byte by byte: minutes of CPU). Past the first
 * RESPONSE_COALESCE bytes, small chunks are gathered and parsed this many
 * bytes at a time; the first ones still go straight to the parser, so a body
 * that is not JSON is refused at once. */
#define RESPONSE_COALESCE 4096
/* The largest volume or money of one hourly record, and the largest
 * balance, taken as true: beyond it the answer is refused. */
#define RESPONSE_MAX_AMOUNT 1e12

typedef enum {
  RESPONSE_SPENDING,    /* getSpendingStats: errorId + data[] */
  RESPONSE_BALANCE,     /* getBalance: errorId + balance */
  RESPONSE_REPORT,      /* report*: errorId (+ status) */
  RESPONSE_QUEUE_STATS, /* getQueueStats: waiting, load, bid, speed, total */
} response_kind_t;

/* getQueueStats' fields, in the order of queue_stats_t.value. */
enum {
  QS_WAITING, /* idle workers waiting for a task */
  QS_LOAD,    /* queue load, percent */
  QS_BID,     /* average cost of a task, USD */
  QS_SPEED,   /* average solving time, seconds */
  QS_TOTAL,   /* workers in all */
  QS_COUNT
};

typedef struct {
  double value[QS_COUNT];
  unsigned present; /* bit (1u << QS_x) per field the answer held */
} queue_stats_t;

typedef enum {
  RESPONSE_OK,        /* errorId 0 and every field needed is there */
  RESPONSE_API_ERROR, /* errorId != 0: error_id/error_code say which */
  RESPONSE_MALFORMED, /* not JSON, wrong types, missing fields */
  RESPONSE_TOO_LARGE, /* more than RESPONSE_MAX_BYTES */
} response_status_t;

typedef struct {
  int64_t date_from; /* Unix seconds */
  int64_t date_till;
  double volume;
  double money;
} spending_record_t;

typedef struct {
  response_kind_t kind;
  int64_t error_id;
  char error_code[64];
  char error_description[160];
  spending_record_t records[RESPONSE_MAX_RECORDS];
  size_t num_records;
  double balance;
  queue_stats_t queue; /* RESPONSE_QUEUE_STATS */
  char problem[128];   /* why a body was refused, for the log */

  /* Parser state; private. */
  yajl_handle yh;
  size_t bytes;
  bool failed, too_large, has_error_id, has_data, has_balance;
  int depth;      /* nesting of maps and arrays */
  int skip_depth; /* > 0: ignoring a value of an unknown key until here */
  int top_key, rec_key;
  unsigned rec_fields;         /* bit per record field seen */
  unsigned top_seen, rec_seen; /* bit per known key seen in the object */
  size_t pending_len;          /* bytes gathered in pending, not parsed yet */
  char pending[RESPONSE_COALESCE];
} response_t;

/* Sets up r for one answer of the given kind. Returns 0, or -1 when the
 * parser cannot be allocated. */
int response_init(response_t *r, response_kind_t kind);
/* Feeds one chunk; returns 0, or -1 once the body is refused (later chunks
 * are ignored). */
int response_feed(response_t *r, const char *buf, size_t len);
/* Ends the body and says what it was. */
response_status_t response_finish(response_t *r);
void response_destroy(response_t *r);

/* Parses a decimal number the way the API may send it: a JSON number or a
 * numeric string. Returns 0 on success. */
int response_parse_double(const char *s, size_t len, double *out);
int response_parse_int(const char *s, size_t len, int64_t *out);

/* Copies len bytes of s into dst (at most size - 1 and a NUL) with control
 * characters and the backslash written as \xNN, so a string from the network
 * cannot forge or colour a log line. Returns the length written. */
size_t response_escape(char *dst, size_t size, const char *s, size_t len);

#endif

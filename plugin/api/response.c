/* Streaming parser for the API's answers (see response.h). */
#include "api/response.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
  KEY_OTHER,
  KEY_ERROR_ID,
  KEY_ERROR_CODE,
  KEY_ERROR_DESC,
  KEY_DATA,
  KEY_BALANCE,
  KEY_QS /* + QS_x: getQueueStats' fields */
};
enum { REC_OTHER, REC_FROM, REC_TILL, REC_VOLUME, REC_MONEY };
#define REC_ALL                                                                \
  ((1u << REC_FROM) | (1u << REC_TILL) | (1u << REC_VOLUME) | (1u << REC_MONEY))

typedef enum { V_NULL, V_BOOL, V_NUMBER, V_STRING } vtype_t;

static const char *const rec_names[] = {"?", "dateFrom", "dateTill", "volume",
                                        "money"};

/* Records why the body is refused; returning 0 makes yajl stop. */
static int fail(response_t *r, const char *fmt, ...) {
  if (!r->failed) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->problem, sizeof(r->problem), fmt, ap);
    va_end(ap);
  }
  r->failed = true;
  return 0;
}

/* Only plain decimal notation: strtod alone would take "inf", "nan", hex.
 * Converts all of the text with strtoll (integer) or strtod; 0 when it was
 * all taken without overflow. */
static int convert(const char *s, size_t len, bool integer, long long *v,
                   double *d) {
  char buf[64], *end = NULL;
  if (len == 0 || len >= sizeof(buf))
    return -1;
  for (size_t i = 0; i < len; i++)
    if (strchr("0123456789+-.eE", s[i]) == NULL || s[i] == 0)
      return -1;
  memcpy(buf, s, len);
  buf[len] = 0;
  errno = 0;
  if (integer)
    *v = strtoll(buf, &end, 10);
  else
    *d = strtod(buf, &end);
  return errno == 0 && end != buf && *end == 0 ? 0 : -1;
}

int response_parse_double(const char *s, size_t len, double *out) {
  double d = 0;
  if (convert(s, len, false, NULL, &d) != 0 || !isfinite(d))
    return -1;
  *out = d;
  return 0;
}

int response_parse_int(const char *s, size_t len, int64_t *out) {
  long long v = 0;
  if (convert(s, len, true, &v, NULL) == 0) {
    *out = (int64_t)v;
    return 0;
  }
  /* "1550533500.0" or "1.5505335e9": integral values written as fractions. */
  double d;
  if (response_parse_double(s, len, &d) != 0 || d != floor(d) ||
      fabs(d) > 9007199254740992.0)
    return -1;
  *out = (int64_t)d;
  return 0;
}

size_t response_escape(char *dst, size_t size, const char *s, size_t len) {
  static const char hex[] = "0123456789abcdef";
  size_t n = 0;
  if (size == 0)
    return 0;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    bool plain = c >= 0x20 && c != 0x7f && c != '\\';
    size_t need = plain ? 1 : 4;
    if (n + need >= size)
      break;
    if (plain) {
      dst[n++] = (char)c;
      continue;
    }
    dst[n++] = '\\';
    dst[n++] = 'x';
    dst[n++] = hex[c >> 4];
    dst[n++] = hex[c & 15];
  }
  dst[n] = 0;
  return n;
}

/* Strings from the network end up in log lines: a newline in one would
 * forge a line of collectd's log, an escape sequence would drive the
 * terminal showing it. */
static void copy_text(char *dst, size_t size, const char *s, size_t len) {
  response_escape(dst, size, s, len);
}

static int key_id(const char *s, size_t len, const char *const *names, int n) {
  for (int i = 1; i < n; i++)
    if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
      return i;
  return 0;
}

static const char *const qs_names[QS_COUNT] = {"waiting", "load", "bid",
                                               "speed", "total"};

/* A getQueueStats number: a JSON number or a numeric string (the vendor's
 * example sends bid as "0.0008600982"), finite and not negative; null is a
 * missing field. */
static int queue_scalar(response_t *r, int f, vtype_t t, const char *s,
                        size_t len) {
  double d;
  if (t == V_NULL)
    return 1;
  if ((t != V_NUMBER && t != V_STRING) ||
      response_parse_double(s, len, &d) != 0 || d < 0)
    return fail(r, "%s is not a number of 0 or more", qs_names[f]);
  r->queue.value[f] = d;
  r->queue.present |= 1u << f;
  return 1;
}

static int top_scalar(response_t *r, vtype_t t, const char *s, size_t len) {
  bool numeric = (t == V_NUMBER || t == V_STRING);
  if (r->top_key >= KEY_QS)
    return queue_scalar(r, r->top_key - KEY_QS, t, s, len);
  switch (r->top_key) {
  case KEY_ERROR_ID:
    if (!numeric || response_parse_int(s, len, &r->error_id) != 0)
      return fail(r, "errorId is not an integer");
    r->has_error_id = true;
    return 1;
  case KEY_ERROR_CODE:
    if (t == V_STRING)
      copy_text(r->error_code, sizeof(r->error_code), s, len);
    return 1;
  case KEY_ERROR_DESC:
    if (t == V_STRING)
      copy_text(r->error_description, sizeof(r->error_description), s, len);
    return 1;
  case KEY_DATA: /* null data comes with error answers */
    return t == V_NULL ? 1 : fail(r, "data is not an array");
  case KEY_BALANCE:
    if (t == V_NULL)
      return 1;
    if (!numeric || response_parse_double(s, len, &r->balance) != 0)
      return fail(r, "balance is not a number");
    if (fabs(r->balance) > RESPONSE_MAX_AMOUNT)
      return fail(r, "balance is out of range (over %g)", RESPONSE_MAX_AMOUNT);
    r->has_balance = true;
    return 1;
  }
  return 1;
}

static int record_scalar(response_t *r, vtype_t t, const char *s, size_t len) {
  spending_record_t *rec = &r->records[r->num_records];
  int k = r->rec_key;
  if (k == REC_OTHER)
    return 1;
  int ok = -1;
  if (t == V_NUMBER || t == V_STRING) {
    if (k == REC_FROM)
      ok = response_parse_int(s, len, &rec->date_from);
    else if (k == REC_TILL)
      ok = response_parse_int(s, len, &rec->date_till);
    else
      ok = response_parse_double(s, len,
                                 k == REC_VOLUME ? &rec->volume : &rec->money);
  }
  if (ok != 0)
    return fail(r, "%s of a record is not a number", rec_names[k]);
  r->rec_fields |= 1u << k;
  return 1;
}

static int on_scalar(response_t *r, vtype_t t, const char *s, size_t len) {
  if (r->skip_depth > 0)
    return 1;
  switch (r->depth) {
  case 0:
    return fail(r, "the answer is not a JSON object");
  case 1:
    return top_scalar(r, t, s, len);
  case 2:
    return fail(r, "a data record is not an object");
  default:
    return record_scalar(r, t, s, len);
  }
}

static int cb_null(void *ctx) { return on_scalar(ctx, V_NULL, NULL, 0); }
static int cb_bool(void *ctx, int b) {
  (void)b;
  return on_scalar(ctx, V_BOOL, NULL, 0);
}
static int cb_number(void *ctx, const char *s, size_t len) {
  return on_scalar(ctx, V_NUMBER, s, len);
}
static int cb_string(void *ctx, const unsigned char *s, size_t len) {
  return on_scalar(ctx, V_STRING, (const char *)s, len);
}

/* A container where a known scalar belongs is an error; under an unknown
 * key it is skipped whole. */
static int enter(response_t *r, bool is_map) {
  int key = -1; /* -1: no key decides (top level or data element) */
  if (r->skip_depth == 0) {
    if (r->depth == 0 && !is_map)
      return fail(r, "the answer is not a JSON object");
    if (r->depth == 1) {
      key = r->top_key;
      if (key == KEY_DATA && !is_map && !r->has_data) {
        r->has_data = true;
        key = -1;
      } else if (key == KEY_ERROR_CODE || key == KEY_ERROR_DESC)
        key = 0;
    } else if (r->depth == 2) {
      if (!is_map)
        return fail(r, "a data record is not an object");
      if (r->num_records >= RESPONSE_MAX_RECORDS)
        return fail(r, "more than %d records", RESPONSE_MAX_RECORDS);
      memset(&r->records[r->num_records], 0, sizeof(spending_record_t));
      r->rec_fields = 0;
      r->rec_seen = 0;
    } else if (r->depth == 3) {
      key = r->rec_key;
    }
    if (key > 0)
      return fail(r, "a field holds a %s where a value belongs",
                  is_map ? "map" : "array");
    if (key == 0)
      r->skip_depth = r->depth + 1;
  }
  r->depth++;
  return 1;
}

static int leave(response_t *r) {
  if (r->skip_depth > 0) {
    if (r->depth == r->skip_depth)
      r->skip_depth = 0;
    r->depth--;
    return 1;
  }
  if (r->depth == 3) { /* end of a record */
    spending_record_t *rec = &r->records[r->num_records];
    if (r->rec_fields != REC_ALL)
      return fail(r, "a record lacks dateFrom, dateTill, volume or money");
    if (rec->date_till < rec->date_from || rec->volume < 0 || rec->money < 0)
      return fail(r, "a record has a negative period or amount");
    /* Far beyond any account's hour, and small enough that no sum of
     * RESPONSE_MAX_RECORDS records can overflow to inf. */
    if (rec->volume > RESPONSE_MAX_AMOUNT || rec->money > RESPONSE_MAX_AMOUNT)
      return fail(r, "a record's volume or money is out of range (over %g)",
                  RESPONSE_MAX_AMOUNT);
    for (size_t i = 0; i < r->num_records; i++)
      if (r->records[i].date_from == rec->date_from)
        return fail(r, "two records share dateFrom %lld",
                    (long long)rec->date_from);
    r->num_records++;
  }
  r->depth--;
  return 1;
}

static int cb_start_map(void *ctx) { return enter(ctx, true); }
static int cb_start_array(void *ctx) { return enter(ctx, false); }
static int cb_end(void *ctx) { return leave(ctx); }

static int cb_map_key(void *ctx, const unsigned char *s, size_t len) {
  static const char *const top_names[] = {
      "?", "errorId", "errorCode", "errorDescription", "data", "balance"};
  response_t *r = ctx;
  if (r->skip_depth > 0)
    return 1;
  /* {"errorId":1,"errorId":0} must not read as success: a known key seen
   * twice in one object refuses the answer. */
  if (r->depth == 1) {
    r->top_key = key_id((const char *)s, len, top_names, 6);
    /* Known to getQueueStats answers only, so that no answer is refused
     * for a field it does not need. */
    if (r->kind == RESPONSE_QUEUE_STATS && r->top_key > KEY_ERROR_DESC)
      r->top_key = KEY_OTHER;
    for (int f = 0; r->kind == RESPONSE_QUEUE_STATS && f < QS_COUNT; f++)
      if (strlen(qs_names[f]) == len && memcmp(qs_names[f], s, len) == 0)
        r->top_key = KEY_QS + f;
    if (r->top_key > 0 && (r->top_seen & (1u << r->top_key)))
      return fail(r, "the answer repeats the key %s",
                  r->top_key >= KEY_QS ? qs_names[r->top_key - KEY_QS]
                                       : top_names[r->top_key]);
    r->top_seen |= 1u << r->top_key;
  } else if (r->depth == 3) {
    r->rec_key = key_id((const char *)s, len, rec_names, 5);
    if (r->rec_key > 0 && (r->rec_seen & (1u << r->rec_key)))
      return fail(r, "a record repeats the key %s", rec_names[r->rec_key]);
    r->rec_seen |= 1u << r->rec_key;
  }
  return 1;
}

static const yajl_callbacks callbacks = {
    .yajl_null = cb_null,
    .yajl_boolean = cb_bool,
    .yajl_number = cb_number,
    .yajl_string = cb_string,
    .yajl_start_map = cb_start_map,
    .yajl_map_key = cb_map_key,
    .yajl_end_map = cb_end,
    .yajl_start_array = cb_start_array,
    .yajl_end_array = cb_end,
};

int response_init(response_t *r, response_kind_t kind) {
  memset(r, 0, sizeof(*r));
  r->kind = kind;
  r->yh = yajl_alloc(&callbacks, NULL, r);
  return r->yh == NULL ? -1 : 0;
}

void response_destroy(response_t *r) {
  if (r->yh != NULL)
    yajl_free(r->yh);
  r->yh = NULL;
}

static int parse_chunk(response_t *r, const char *buf, size_t len) {
  if (len > 0 &&
      yajl_parse(r->yh, (const unsigned char *)buf, len) != yajl_status_ok)
    fail(r, "the answer is not valid JSON");
  return r->failed ? -1 : 0;
}

/* Parses what was gathered (see RESPONSE_COALESCE). */
static int flush_pending(response_t *r) {
  size_t n = r->pending_len;
  r->pending_len = 0;
  return parse_chunk(r, r->pending, n);
}

int response_feed(response_t *r, const char *buf, size_t len) {
  if (r->failed)
    return -1;
  size_t before = r->bytes;
  r->bytes += len;
  if (r->bytes > RESPONSE_MAX_BYTES) {
    r->too_large = true;
    fail(r, "the answer is larger than %d bytes", RESPONSE_MAX_BYTES);
    return -1;
  }
  if (before < RESPONSE_COALESCE && r->pending_len == 0)
    return parse_chunk(r, buf, len);
  if (r->pending_len + len < sizeof(r->pending)) {
    memcpy(r->pending + r->pending_len, buf, len);
    r->pending_len += len;
    return 0;
  }
  if (flush_pending(r) != 0)
    return -1;
  if (len >= sizeof(r->pending))
    return parse_chunk(r, buf, len);
  memcpy(r->pending, buf, len);
  r->pending_len = len;
  return 0;
}

response_status_t response_finish(response_t *r) {
  if (!r->failed)
    flush_pending(r);
  if (!r->failed && yajl_complete_parse(r->yh) != yajl_status_ok)
    fail(r, r->bytes == 0 ? "the answer is empty"
                          : "the answer is not valid JSON");
  if (r->failed)
    return r->too_large ? RESPONSE_TOO_LARGE : RESPONSE_MALFORMED;
  /* The vendor's getQueueStats example has no errorId: its figures are
   * enough. */
  if (!r->has_error_id &&
      !(r->kind == RESPONSE_QUEUE_STATS && r->queue.present != 0)) {
    fail(r, "the answer has no errorId");
    return RESPONSE_MALFORMED;
  }
  if (r->error_id != 0)
    return RESPONSE_API_ERROR;
  if (r->kind == RESPONSE_SPENDING && !r->has_data) {
    fail(r, "the answer has no data array");
    return RESPONSE_MALFORMED;
  }
  if (r->kind == RESPONSE_QUEUE_STATS && r->queue.present == 0) {
    fail(r, "the answer has none of waiting, load, bid, speed, total");
    return RESPONSE_MALFORMED;
  }
  if (r->kind == RESPONSE_BALANCE && !r->has_balance) {
    fail(r, "the answer has no balance");
    return RESPONSE_MALFORMED;
  }
  return RESPONSE_OK;
}

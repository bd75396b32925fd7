/* Reading a state file back with yajl's callback parser, in bounded memory
 * (see state_parse.h). */
#include "state/state_parse_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest string or number the writer makes, as written (an account
 * name of 63 characters, each escaped as \u00XX): yajl holds one token at
 * a time in memory, never more than this. */
#define TOKEN_MAX 512
/* Integers as yajl hands them over (its own conversion fails the whole
 * parse on overflow, a double loses digits): anything but a plain integer
 * in range is F_OTHER. */
static void number_field(field_t *f, const char *s, size_t len) {
  char text[24];
  char *end;
  f->type = F_OTHER;
  if (len == 0 || len >= sizeof(text) || memchr(s, '.', len) ||
      memchr(s, 'e', len) || memchr(s, 'E', len))
    return;
  memcpy(text, s, len);
  text[len] = 0;
  errno = 0;
  f->i = strtoll(text, &end, 10);
  if (errno == 0 && *end == 0)
    f->type = F_INT;
}

/* ---- yajl's callbacks ---- */

static int add_field(state_parser_t *p, const field_t *f) {
  ctx_t in = p->ctx[p->depth];
  if (in == C_TOP)
    return state_fail(p, "not a state file");
  if (in != C_TUPLE && in != C_RECORD)
    return state_v1_scalar(p, in, f);
  if (p->version == 0 && p->nf == 0 &&
      (f->type != F_STR || strcmp(f->s, "anticaptcha-state") != 0))
    return state_fail(p, "not a state file");
  if (p->nf == FIELDS_MAX)
    return state_fail(p, "a record has too many members");
  p->f[p->nf++] = *f;
  return 1;
}

static int on_null(void *ctx) {
  return add_field(ctx, &(field_t){.type = F_OTHER});
}

static int on_bool(void *ctx, int b) {
  (void)b;
  return add_field(ctx, &(field_t){.type = F_OTHER});
}

static int on_number(void *ctx, const char *s, size_t len) {
  field_t f;
  number_field(&f, s, len);
  return add_field(ctx, &f);
}

static int on_string(void *ctx, const unsigned char *s, size_t len) {
  field_t f = {.type = F_STR};
  if (len >= sizeof(f.s) || memchr(s, 0, len) != NULL)
    f.type = F_OTHER;
  else {
    memcpy(f.s, s, len);
    f.s[len] = 0;
  }
  return add_field(ctx, &f);
}

static int on_key(void *ctx, const unsigned char *s, size_t len) {
  state_parser_t *p = ctx;
  /* Longer than any member's name, or holding a NUL: not one we know. */
  if (len >= sizeof(p->key) || memchr(s, 0, len) != NULL)
    len = 0;
  memcpy(p->key, s, len);
  p->key[len] = 0;
  return 1;
}

static int open_value(state_parser_t *p, bool map) {
  ctx_t in = p->ctx[p->depth], next;
  if (p->depth == MAX_DEPTH)
    return state_fail(p, "nested deeper than a state file");
  if (in == C_TOP && p->version == 0 && map)
    next = C_ROOT;
  else if (in == C_TOP && p->version != 1 && !map)
    next = state_record_open(p);
  else if (in == C_TOP || in == C_RECORD)
    return state_fail(p, in == C_TOP ? "not a state file"
                                     : "nested deeper than a state file");
  else
    next = state_v1_open(p, in, map);
  if (next == C_TOP)
    return 0;
  p->ctx[++p->depth] = next;
  return 1;
}

static int on_start_map(void *ctx) { return open_value(ctx, true); }
static int on_start_array(void *ctx) { return open_value(ctx, false); }

static int close_ctx(void *ctx) {
  state_parser_t *p = ctx;
  ctx_t c = p->ctx[p->depth--];
  if (c == C_TUPLE)
    return state_v1_tuple(p, p->ctx[p->depth] == C_REPORTS);
  if (c == C_RECORD)
    return state_record_close(p);
  if (c == C_ACCOUNT && !p->named)
    return state_fail(p,
                      "an account entry is not an object with a name, reports, "
                      "seen and series");
  if (c == C_ROOT && (p->version != 1 || !p->has_accounts))
    return state_fail(p, p->version != 1 ? "not a state file (no version)"
                                         : "no list of accounts");
  return 1;
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_bool,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_key,
    .yajl_end_map = close_ctx,
    .yajl_start_array = on_start_array,
    .yajl_end_array = close_ctx,
};

/* ---- Feeding ---- */

uint64_t state_file_max_bytes(const state_caps_t *caps) {
  /* The largest records: a report of a UUID task (about 120 bytes), a
   * remembered UUID (about 70). */
  uint64_t snapshot = (uint64_t)caps->reports * 128 +
                      (uint64_t)caps->seen * 80 + ((uint64_t)1 << 20);
  return 3 * snapshot + STATE_APPEND_FLOOR + FRAME_MAX_BYTES;
}

state_parser_t *state_parser_new(uint64_t file_size, const state_caps_t *caps) {
  state_parser_t *p = calloc(1, sizeof(*p));
  if (p == NULL)
    return NULL;
  p->size = file_size;
  p->replay = state_replay_new(caps);
  p->h = yajl_alloc(&callbacks, NULL, p);
  if (p->replay == NULL || p->h == NULL) {
    state_parser_free(p);
    return NULL;
  }
  /* Records follow one another; comments stay refused (yajl's default). */
  yajl_config(p->h, yajl_allow_multiple_values, 1);
  return p;
}

void state_parser_free(state_parser_t *p) {
  if (p == NULL)
    return;
  if (p->h != NULL)
    yajl_free(p->h);
  state_replay_free(p->replay);
  free(p);
}

/* The first byte yajl must not see: a NUL, or one that makes a string or
 * number longer than TOKEN_MAX. */
static size_t scan(state_parser_t *p, const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == 0)
      return i;
    if (p->in_string) {
      if (p->escape)
        p->escape = false;
      else if (c == '\\')
        p->escape = true;
      else if (c == '"')
        p->in_string = false;
      p->token++;
    } else if (c == '"') {
      p->in_string = true;
      p->token = 1;
    } else if (strchr(" \t\r\n{}[],:", c) != NULL) {
      p->token = 0;
    } else {
      p->token++;
    }
    if (p->token > TOKEN_MAX)
      return i;
  }
  return len;
}

static void yajl_failed(state_parser_t *p, bool at_end) {
  unsigned char *msg = yajl_get_error(p->h, 0, NULL, 0);
  char first[128] = "parse error";
  if (msg != NULL) {
    /* yajl's message spans lines and quotes the input: keep its first. */
    snprintf(first, sizeof(first), "%s", (const char *)msg);
    first[strcspn(first, "\r\n")] = 0;
    yajl_free_error(p->h, msg);
  }
  state_fail_at(p, at_end, false, "not valid JSON (truncated?): %s", first);
}

int state_parser_feed(state_parser_t *p, const char *buf, size_t len) {
  if (p->failed)
    return -1;
  if (p->base + len > p->size)
    return state_fail(p, "it grew while it was read"), -1;
  size_t good = scan(p, buf, len);
  if (yajl_parse(p->h, (const unsigned char *)buf, good) != yajl_status_ok) {
    if (!p->failed)
      yajl_failed(p, false);
    return -1;
  }
  if (good < len) {
    p->base += good;
    if (buf[good] == 0)
      state_fail_at(p, false, true, "the file holds a NUL byte");
    else
      state_fail(p, "it holds a string or number longer than any the plugin "
                    "writes");
    return -1;
  }
  p->base += len;
  return 0;
}

state_read_t state_parser_finish(state_parser_t *p, state_t *out, char *why,
                                 size_t why_size) {
  state_init(out);
  if (!p->failed && p->base == 0)
    state_fail(p, "the file is empty");
  if (!p->failed && yajl_complete_parse(p->h) != yajl_status_ok && !p->failed)
    yajl_failed(p, true);
  if (!p->failed && p->version == 2)
    state_records_end(p);
  if (!p->failed && p->version == 0)
    state_fail(p, "not a state file");
  if (p->failed && !p->torn) {
    snprintf(why, why_size, "%s", p->why);
    return STATE_READ_DAMAGED;
  }
  if (state_replay_finish(p->replay, out) != 0) {
    snprintf(why, why_size, "out of memory");
    return STATE_READ_DAMAGED;
  }
  snprintf(why, why_size, "%s", p->failed ? p->why : "");
  return p->failed ? STATE_READ_TORN : STATE_READ_OK;
}

state_read_t state_parse(const char *text, size_t len, const state_caps_t *caps,
                         state_t *out, char *why, size_t why_size) {
  state_parser_t *p = state_parser_new(len, caps);
  if (p == NULL) {
    state_init(out);
    snprintf(why, why_size, "out of memory");
    return STATE_READ_DAMAGED;
  }
  /* In pieces, as a file is read: tokens and records cross them. */
  for (size_t at = 0; at < len; at += 4096)
    if (state_parser_feed(p, text + at, len - at < 4096 ? len - at : 4096) != 0)
      break;
  state_read_t status = state_parser_finish(p, out, why, why_size);
  state_parser_free(p);
  return status;
}

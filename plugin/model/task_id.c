/* Task ids: parsing and formatting numbers and UUIDs (see task_id.h). */
#include "model/task_id.h"

#include <stdio.h>
#include <string.h>

#include "util/wraps_on_purpose.h"

#define DIGITS_MAX 19
#define UUID_LEN 36

static int parse_number(const char *s, size_t len, task_id_t *out) {
  uint64_t v = 0;
  if (len == 0 || len > DIGITS_MAX)
    return -1;
  for (size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return -1;
    v = v * 10 + (uint64_t)(s[i] - '0'); /* 19 digits cannot overflow */
  }
  if (v == 0 || v > (uint64_t)INT64_MAX)
    return -1;
  *out = TASK_ID_NUMBER(v);
  return 0;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* 8-4-4-4-12 hex digits: the dashes at 8, 13, 18 and 23. */
static int parse_uuid(const char *s, size_t len, task_id_t *out) {
  uint64_t half[2] = {0, 0};
  size_t digits = 0;
  if (len != UUID_LEN)
    return -1;
  for (size_t i = 0; i < len; i++) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    int v = dash ? -1 : hex_value(s[i]);
    if (dash ? s[i] != '-' : v < 0)
      return -1;
    if (!dash) {
      half[digits / 16] = (half[digits / 16] << 4) | (uint64_t)v;
      digits++;
    }
  }
  if (half[0] == 0)
    return -1;
  *out = (task_id_t){.hi = half[0], .lo = half[1]};
  return 0;
}

int task_id_parse(const char *s, task_id_t *out) {
  if (s == NULL)
    return -1;
  size_t len = strlen(s);
  return len == UUID_LEN ? parse_uuid(s, len, out) : parse_number(s, len, out);
}

const char *task_id_format(task_id_t id, char buf[TASK_ID_TEXT_MAX]) {
  if (!task_id_is_uuid(id))
    snprintf(buf, TASK_ID_TEXT_MAX, "%llu", (unsigned long long)id.lo);
  else
    snprintf(buf, TASK_ID_TEXT_MAX, "%08llx-%04llx-%04llx-%04llx-%012llx",
             (unsigned long long)(id.hi >> 32),
             (unsigned long long)((id.hi >> 16) & 0xffff),
             (unsigned long long)(id.hi & 0xffff),
             (unsigned long long)(id.lo >> 48),
             (unsigned long long)(id.lo & 0xffffffffffffULL));
  return buf;
}

WRAPS_ON_PURPOSE
uint64_t task_id_fold(task_id_t id) {
  return id.lo ^ (id.hi * 0x9E3779B97F4A7C15ULL);
}

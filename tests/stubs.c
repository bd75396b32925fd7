/* Stand-ins for the collectd daemon functions plugin/config/ and
 * plugin/pair/pair_trust.c call. The cf_util_* helpers check their argument as
 * collectd 5.12 does (exactly one value of the right type, else an ERROR line
 * and -1) and log the same messages, through daemon_log's "<plugin> plugin: "
 * prefix. */
#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/configfile.h"
#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_complain.h"
#include "collectd/core/daemon/utils_time.h"
#include "collectd/core/utils/common/common.h"

#include "stubs.h"

static stub_log_line_t lines[STUB_LOG_MAX_LINES];
static size_t num_lines;

void stub_log_reset(void) {
  memset(lines, 0, sizeof(lines));
  num_lines = 0;
}

size_t stub_log_count(void) { return num_lines; }

size_t stub_log_count_level(int level) {
  size_t n = 0;
  for (size_t i = 0; i < num_lines && i < STUB_LOG_MAX_LINES; i++)
    if (lines[i].level == level)
      n++;
  return n;
}

const stub_log_line_t *stub_log_line(size_t i) {
  return (i < num_lines && i < STUB_LOG_MAX_LINES) ? &lines[i] : NULL;
}

const stub_log_line_t *stub_log_first(int level) {
  for (size_t i = 0; i < num_lines && i < STUB_LOG_MAX_LINES; i++)
    if (lines[i].level == level)
      return &lines[i];
  return NULL;
}

bool stub_log_contains(const char *needle) {
  for (size_t i = 0; i < num_lines && i < STUB_LOG_MAX_LINES; i++)
    if (strstr(lines[i].text, needle) != NULL)
      return true;
  return false;
}

static void capture(int level, bool daemon, const char *text) {
  if (num_lines < STUB_LOG_MAX_LINES) {
    stub_log_line_t *l = &lines[num_lines];
    l->level = level;
    l->daemon = daemon;
    snprintf(l->text, sizeof(l->text), "%s", text);
  }
  if (getenv("STUB_LOG_VERBOSE") != NULL)
    fprintf(stderr, "[log %d%s] %s\n", level, daemon ? " daemon" : "", text);
  num_lines++;
}

void plugin_log(int level, const char *format, ...) {
  char text[STUB_LOG_LINE_SIZE];
  va_list ap;
  va_start(ap, format);
  vsnprintf(text, sizeof(text), format, ap);
  va_end(ap);
  capture(level, false, text);
}

/* daemon_log() prefixes the name of the plugin whose callback is running:
 * during <Plugin anticaptcha> that is ours. */
__attribute__((format(printf, 2, 3))) static void
stub_daemon_log(int level, const char *format, ...) {
  char msg[STUB_LOG_LINE_SIZE - 32], text[STUB_LOG_LINE_SIZE];
  va_list ap;
  va_start(ap, format);
  vsnprintf(msg, sizeof(msg), format, ap);
  va_end(ap);
  snprintf(text, sizeof(text), "anticaptcha plugin: %s", msg);
  capture(level, true, text);
}

char *sstrncpy(char *dest, const char *src, size_t n) {
  strncpy(dest, src, n);
  dest[n - 1] = 0;
  return dest;
}

char *sstrerror(int errnum, char *buf, size_t buflen) {
  /* Tests run on one thread: plain strerror is enough. */
  snprintf(buf, buflen, "%s", strerror(errnum));
  return buf;
}

int cf_util_get_string(const oconfig_item_t *ci, char **ret_string) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING) {
    stub_daemon_log(LOG_ERR,
                    "The `%s' option requires exactly one string argument.",
                    ci->key);
    return -1;
  }
  char *s = strdup(ci->values[0].value.string);
  if (s == NULL)
    return -1;
  free(*ret_string);
  *ret_string = s;
  return 0;
}

int cf_util_get_int(const oconfig_item_t *ci, int *ret_value) {
  if (ci == NULL || ret_value == NULL)
    return EINVAL;
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER) {
    stub_daemon_log(LOG_ERR,
                    "The `%s' option requires exactly one numeric argument.",
                    ci->key);
    return -1;
  }
  *ret_value = (int)ci->values[0].value.number;
  return 0;
}

int cf_util_get_boolean(const oconfig_item_t *ci, bool *ret_bool) {
  if (ci == NULL || ret_bool == NULL)
    return EINVAL;
  if (ci->values_num != 1 || (ci->values[0].type != OCONFIG_TYPE_BOOLEAN &&
                              ci->values[0].type != OCONFIG_TYPE_STRING)) {
    stub_daemon_log(LOG_ERR,
                    "The `%s' option requires exactly one boolean argument.",
                    ci->key);
    return -1;
  }
  if (ci->values[0].type == OCONFIG_TYPE_BOOLEAN) {
    *ret_bool = ci->values[0].value.boolean != 0;
    return 0;
  }
  const char *s = ci->values[0].value.string;
  stub_daemon_log(LOG_WARNING,
                  "Using string value `%s' for boolean option `%s' is "
                  "deprecated and will be removed in future releases. Use "
                  "unquoted true or false instead.",
                  s, ci->key);
  if (IS_TRUE(s))
    *ret_bool = true;
  else if (IS_FALSE(s))
    *ret_bool = false;
  else {
    stub_daemon_log(LOG_ERR,
                    "Cannot parse string value `%s' of the `%s' option as a "
                    "boolean value.",
                    s, ci->key);
    return -1;
  }
  return 0;
}

int cf_util_get_cdtime(const oconfig_item_t *ci, cdtime_t *ret_value) {
  if (ci == NULL || ret_value == NULL)
    return EINVAL;
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER) {
    stub_daemon_log(LOG_ERR,
                    "The `%s' option requires exactly one numeric argument.",
                    ci->key);
    return -1;
  }
  if (ci->values[0].value.number < 0.0) {
    stub_daemon_log(LOG_ERR,
                    "The numeric argument of the `%s' option must not be "
                    "negative.",
                    ci->key);
    return -1;
  }
  *ret_value = DOUBLE_TO_CDTIME_T(ci->values[0].value.number);
  return 0;
}

/* c_complain as collectd's first complaint: said at once; the daemon's
 * growing interval (a clock) is left out. */
void c_complain(int level, c_complain_t *c, const char *format, ...) {
  char text[STUB_LOG_LINE_SIZE];
  va_list ap;
  if (c->interval != 0)
    return;
  c->interval = 1;
  va_start(ap, format);
  vsnprintf(text, sizeof(text), format, ap);
  va_end(ap);
  plugin_log(level, "%s", text);
}

/* c_complain_once and c_release as collectd 5.12 keeps them apart: once
 * said, a complaint stays quiet until released; a release says so once.
 * (No clock: the daemon's interval only delays a second complaint.) */
void c_complain_once(int level, c_complain_t *c, const char *format, ...) {
  char text[STUB_LOG_LINE_SIZE];
  va_list ap;
  if (c->complained_once)
    return;
  c->complained_once = true;
  c->interval = 1;
  va_start(ap, format);
  vsnprintf(text, sizeof(text), format, ap);
  va_end(ap);
  capture(level, false, text);
}

void c_do_release(int level, c_complain_t *c, const char *format, ...) {
  char text[STUB_LOG_LINE_SIZE];
  va_list ap;
  if (c->interval == 0)
    return;
  c->interval = 0;
  c->complained_once = false;
  va_start(ap, format);
  vsnprintf(text, sizeof(text), format, ap);
  va_end(ap);
  capture(level, false, text);
}

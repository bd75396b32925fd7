/* Stand-ins for the few collectd daemon symbols plugin/config/ and
 * plugin/pair/pair_trust.c use (cf_util_get_string, cf_util_get_boolean,
 * cf_util_get_int, cf_util_get_cdtime, sstrncpy, sstrerror, plugin_log,
 * c_complain_once, c_do_release), plus a capture of
 * every log line so tests can check what the user would read. */
#ifndef ANTICAPTCHA_TESTS_STUBS_H
#define ANTICAPTCHA_TESTS_STUBS_H

#include <stdbool.h>
#include <stddef.h>

#define STUB_LOG_MAX_LINES 256
#define STUB_LOG_LINE_SIZE 1024

typedef struct {
  int level;   /* LOG_ERR, LOG_WARNING, ... */
  bool daemon; /* logged by a stubbed daemon helper, not by the plugin */
  char text[STUB_LOG_LINE_SIZE];
} stub_log_line_t;

/* Forgets every captured line. */
void stub_log_reset(void);
/* Lines captured since the last reset (also counting any beyond
 * STUB_LOG_MAX_LINES, which are not kept). */
size_t stub_log_count(void);
size_t stub_log_count_level(int level);
/* The i-th captured line, or NULL. */
const stub_log_line_t *stub_log_line(size_t i);
/* The first line at this level, or NULL. */
const stub_log_line_t *stub_log_first(int level);
/* Whether any captured line contains needle. */
bool stub_log_contains(const char *needle);

#endif

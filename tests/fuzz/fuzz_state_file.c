/* libFuzzer target for plugin/state/state_parse.c, the reader of the state
 * file (a file on disk may be damaged, cut short by a crash, or written by
 * anything), versions 1 and 2.
 *
 * Besides the sanitizers' checks (and libFuzzer's memory limit: the reader
 * holds what the caps allow, never in proportion to the input), every
 * parse must keep the module's promises, or the target aborts:
 *   - a refused file leaves an empty state and a reason;
 *   - an accepted one (whole, or up to a torn last write) holds only
 *     entries in range (task ids 1..INT64_MAX or UUIDs, known methods,
 *     bounded attempts, non-empty unique account names), within the caps,
 *     and formats to a text that parses back to the same text.
 * Built by tests/fuzz/run.sh with clang -fsanitize=fuzzer,address,undefined. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "state/state_parse.h"

/* Small, so that the fuzzer reaches them. */
static const state_caps_t caps = {.reports = 20, .seen = 30};

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "fuzz_state_file: %s:%d: check failed: %s\n", __FILE__,  \
              __LINE__, #cond);                                                \
      abort();                                                                 \
    }                                                                          \
  } while (0)

static void check_entries(const state_t *st) {
  size_t reports = 0;
  for (size_t i = 0; i < st->num_accounts; i++) {
    reports += st->accounts[i].num_reports;
    CHECK(st->accounts[i].num_seen <= caps.seen);
    const state_account_t *a = &st->accounts[i];
    CHECK(a->name[0] != 0 && memchr(a->name, 0, sizeof(a->name)) != NULL);
    CHECK(state_find(st, a->name) == a);
    for (size_t k = 0; k < a->num_reports; k++) {
      CHECK(task_id_is_uuid(a->reports[k].task_id) ||
            (a->reports[k].task_id.lo >= 1 &&
             a->reports[k].task_id.lo <= (uint64_t)INT64_MAX));
      CHECK(a->reports[k].method < REPORT_METHOD_COUNT);
      CHECK(a->reports[k].attempts <= STATE_MAX_ATTEMPTS);
      CHECK(a->reports[k].completed_ms >= 0 &&
            a->reports[k].completed_ms <= STATE_MAX_SECONDS * 1000);
    }
    for (size_t k = 0; k < a->num_seen; k++)
      CHECK(
          (task_id_is_uuid(a->seen[k].task_id) || a->seen[k].task_id.lo >= 1) &&
          a->seen[k].expires_ms >= 0 &&
          a->seen[k].expires_ms <= STATE_MAX_SECONDS * 1000);
    for (size_t k = 0; k < a->num_series; k++)
      CHECK(a->series[k].slug[0] != 0 && a->series[k].last_till >= 0);
  }
  CHECK(reports <= caps.reports);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  state_t st, back;
  char why[256] = "";
  state_read_t r =
      state_parse((const char *)data, size, &caps, &st, why, sizeof(why));
  CHECK(r == STATE_READ_OK || why[0] != 0);
  CHECK(memchr(why, 0, sizeof(why)) != NULL);
  if (r == STATE_READ_DAMAGED) {
    CHECK(st.num_accounts == 0 && st.accounts == NULL);
    return 0;
  }
  check_entries(&st);
  size_t len = 0, len2 = 0;
  char *text = state_format(&st, &len);
  CHECK(text != NULL);
  CHECK(state_parse(text, len, &caps, &back, why, sizeof(why)) ==
        STATE_READ_OK);
  char *text2 = state_format(&back, &len2);
  CHECK(text2 != NULL && len == len2 && memcmp(text, text2, len) == 0);
  free(text);
  free(text2);
  state_free(&st);
  state_free(&back);
  return 0;
}

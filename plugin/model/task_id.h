/* Task ids as the vendors issue them: a decimal number (Anti-Captcha,
 * CapMonster, 2captcha: up to 19 digits, 1 to 2^63-1; ids past 2^32 occur)
 * or a UUID (CapSolver). A fixed-size value: copied, compared and hashed
 * without allocation by the seen set, the state file and the hub pair.
 * Pure: no collectd calls. */
#ifndef ANTICAPTCHA_TASK_ID_H
#define ANTICAPTCHA_TASK_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A number is {0, n}; a UUID its 128 bits, hi first. A UUID whose first 64
 * bits are all zero (the nil UUID among them) is refused: every UUID a
 * vendor issues carries a version there, and hi != 0 tells the two apart. */
typedef struct {
  uint64_t hi, lo;
} task_id_t;

/* The longest text: a UUID's 36 characters and the NUL. */
#define TASK_ID_TEXT_MAX 37
/* A number as task id: TASK_ID_NUMBER(42). */
#define TASK_ID_NUMBER(n) ((task_id_t){.hi = 0, .lo = (n)})

/* Accepts decimal digits only, at most 19, 1 to INT64_MAX (leading zeros
 * name the same task), or a UUID in its 8-4-4-4-12 form of hex digits in
 * either case. Anything else is no task id: it is never guessed. Returns 0
 * and sets *out, or -1. */
int task_id_parse(const char *s, task_id_t *out);

/* The canonical text (decimal; a UUID in lower case) into buf, which holds
 * TASK_ID_TEXT_MAX bytes. Returns buf. */
const char *task_id_format(task_id_t id, char buf[TASK_ID_TEXT_MAX]);

static inline bool task_id_is_uuid(task_id_t id) { return id.hi != 0; }

static inline bool task_id_equal(task_id_t a, task_id_t b) {
  return a.hi == b.hi && a.lo == b.lo;
}

/* 64 bits to hash a task id by: the number itself, so the seen set and the
 * hub pair's split of numbers are what they were before UUIDs. */
uint64_t task_id_fold(task_id_t id);

#endif

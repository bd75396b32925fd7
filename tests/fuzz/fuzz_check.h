/* What the libFuzzer targets share: CHECK, which aborts naming the failed
 * condition (libFuzzer then keeps the input), and notification fields cut
 * from the input at '\n' and truncated as collectd's sstrncpy does. */
#ifndef ANTICAPTCHA_FUZZ_CHECK_H
#define ANTICAPTCHA_FUZZ_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                 \
    }                                                                          \
  } while (0)

/* Copies the next '\n'-separated piece of input into dst (size bytes). */
static inline void fuzz_next_field(const uint8_t **p, const uint8_t *end,
                                   char *dst, size_t size) {
  const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
  size_t n = (size_t)((nl != NULL ? nl : end) - *p);
  size_t copy = n < size - 1 ? n : size - 1;
  memcpy(dst, *p, copy);
  dst[copy] = 0;
  *p = nl != NULL ? nl + 1 : end;
}

#endif

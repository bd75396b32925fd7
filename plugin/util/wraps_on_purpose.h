/* Hashes and pseudo-random generators wrap around on purpose: clang's
 * -fsanitize=integer (scripts/sanitize ub) is told so, function by function. */
#ifndef ANTICAPTCHA_WRAPS_ON_PURPOSE_H
#define ANTICAPTCHA_WRAPS_ON_PURPOSE_H

#if defined(__clang__)
#define WRAPS_ON_PURPOSE                                                       \
  __attribute__((                                                              \
      no_sanitize("unsigned-integer-overflow", "unsigned-shift-base")))
#else
#define WRAPS_ON_PURPOSE
#endif

#endif

/* Growing an array by doubling (see grow.h). */
#include "util/grow.h"

#include <stdint.h>
#include <stdlib.h>

int grow_array(void **items, size_t *cap, size_t want, size_t size, size_t min,
               size_t max) {
  if (want <= *cap)
    return 0;
  if ((max != 0 && want > max) || size == 0 || want > SIZE_MAX / size)
    return -1;
  size_t n = *cap < min ? min : *cap;
  while (n < want)
    n = n > SIZE_MAX / 2 ? want : 2 * n;
  if (max != 0 && n > max)
    n = max;
  if (n > SIZE_MAX / size)
    n = want;
  void *p = realloc(*items, n * size);
  if (p == NULL)
    return -1;
  *items = p;
  *cap = n;
  return 0;
}

/* Growing an array by doubling: the one way the plugin's tables make room. */
#ifndef ANTICAPTCHA_GROW_H
#define ANTICAPTCHA_GROW_H

#include <stddef.h>

/* Makes *items (room for *cap elements of size bytes) hold at least want:
 * the room doubles, starting at min, and never passes max (0: no bound).
 * Returns 0, or -1 with *items and *cap unchanged (out of memory, or want
 * past max). The caller owns *items, as before. */
int grow_array(void **items, size_t *cap, size_t want, size_t size, size_t min,
               size_t max);

#endif

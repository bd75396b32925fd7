/* An index of entries by (account, task id) (see state_index.h). */
#include "state/state_index.h"

#include <stdlib.h>
#include <string.h>

#include "util/wraps_on_purpose.h"

int state_index_reset(state_index_t *ix, size_t entries) {
  size_t n = 16;
  if (entries >= UINT32_MAX)
    return -1;
  while (n < 2 * entries)
    n *= 2;
  uint32_t *slots = calloc(n, sizeof(*slots));
  if (slots == NULL)
    return -1;
  free(ix->slots);
  ix->slots = slots;
  ix->mask = n - 1;
  return 0;
}

void state_index_free(state_index_t *ix) {
  free(ix->slots);
  ix->slots = NULL;
  ix->mask = 0;
}

WRAPS_ON_PURPOSE
static size_t hash_of(state_key_t key) {
  uint64_t h = (task_id_fold(key.task) + key.account) * 0xD6E8FEB86659FD93ULL;
  return (size_t)(h ^ (h >> 29));
}

static const state_key_t *key_at(const void *base, size_t stride, uint32_t i) {
  return (const state_key_t *)((const char *)base + (size_t)i * stride);
}

uint32_t *state_index_slot(const state_index_t *ix, const void *base,
                           size_t stride, state_key_t key) {
  size_t i = hash_of(key) & ix->mask;
  for (; ix->slots[i] != 0; i = (i + 1) & ix->mask) {
    const state_key_t *k = key_at(base, stride, ix->slots[i] - 1);
    if (k->account == key.account && task_id_equal(k->task, key.task))
      break;
  }
  return &ix->slots[i];
}

int state_index_rebuild(state_index_t *ix, const void *base, size_t stride,
                        size_t count, size_t room) {
  if (state_index_reset(ix, room < count ? count : room) != 0)
    return -1;
  for (size_t i = 0; i < count; i++)
    *state_index_slot(ix, base, stride, *key_at(base, stride, (uint32_t)i)) =
        (uint32_t)i + 1;
  return 0;
}

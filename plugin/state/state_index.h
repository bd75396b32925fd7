/* An index of entries by (account, task id), for the state file's reader
 * and its writer of changes: open addressing over an array of entries that
 * each start with a state_key_t. Pure. */
#ifndef ANTICAPTCHA_STATE_INDEX_H
#define ANTICAPTCHA_STATE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "model/task_id.h"

typedef struct {
  task_id_t task;
  uint32_t account;
} state_key_t;

typedef struct {
  uint32_t *slots; /* 1 + the entry's index, 0: free */
  size_t mask;     /* slots - 1: a power of two, at least twice the entries */
} state_index_t;

/* Room for `entries` entries (no more than UINT32_MAX - 1); the index is
 * empty. 0, or -1 when memory runs out (the index is then unchanged). */
int state_index_reset(state_index_t *ix, size_t entries);
void state_index_free(state_index_t *ix);
/* Whether count entries fit without a reset. */
static inline int state_index_fits(const state_index_t *ix, size_t count) {
  return ix->slots != NULL && 2 * count <= ix->mask + 1;
}

/* The slot of key among the entries (base, each `stride` bytes, starting
 * with its key): it holds 1 + the entry's index when the key is there, or
 * 0 where it would go. The index must have room for one more. */
uint32_t *state_index_slot(const state_index_t *ix, const void *base,
                           size_t stride, state_key_t key);

/* Resets the index to `room` entries and adds entries 0..count-1. */
int state_index_rebuild(state_index_t *ix, const void *base, size_t stride,
                        size_t count, size_t room);

#endif

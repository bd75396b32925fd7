/* Unit tests for plugin/state/state_index.c: entries are found by account
 * and task id, numbers and UUIDs alike, across collisions and rebuilds. */
#include "state/state_index.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

typedef struct {
  state_key_t key;
  int value;
} item_t;

static state_key_t key_of(size_t i) {
  /* Same task ids in two accounts, numbers and UUID-like ids. */
  task_id_t task = i % 3 == 0
                       ? (task_id_t){.hi = 0x4f0bc8a19e3d4c62ULL, .lo = i}
                       : TASK_ID_NUMBER(i / 2 + 1);
  return (state_key_t){.task = task, .account = (uint32_t)(i % 2)};
}

static void test_insert_and_find(void **unused) {
  (void)unused;
  enum { N = 5000 };
  item_t *items = calloc(N, sizeof(*items));
  state_index_t ix = {0};
  assert_int_equal(state_index_reset(&ix, N), 0);
  assert_true(state_index_fits(&ix, N));
  for (size_t i = 0; i < N; i++) {
    uint32_t *slot = state_index_slot(&ix, items, sizeof(*items), key_of(i));
    assert_int_equal(*slot, 0);
    items[i].key = key_of(i);
    items[i].value = (int)i;
    *slot = (uint32_t)i + 1;
  }
  for (size_t i = 0; i < N; i++) {
    uint32_t slot = *state_index_slot(&ix, items, sizeof(*items), key_of(i));
    assert_int_equal(slot, i + 1);
  }
  state_key_t missing = {.task = TASK_ID_NUMBER(999999), .account = 0};
  assert_int_equal(*state_index_slot(&ix, items, sizeof(*items), missing), 0);
  /* Rebuilt with more room: the same answers. */
  assert_int_equal(state_index_rebuild(&ix, items, sizeof(*items), N, 4 * N),
                   0);
  assert_true(state_index_fits(&ix, 4 * N));
  assert_false(state_index_fits(&ix, (ix.mask + 1) / 2 + 1));
  for (size_t i = 0; i < N; i += 7)
    assert_int_equal(*state_index_slot(&ix, items, sizeof(*items), key_of(i)),
                     i + 1);
  state_index_free(&ix);
  assert_false(state_index_fits(&ix, 1));
  free(items);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_insert_and_find),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

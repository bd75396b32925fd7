/* Unit tests for plugin/secret.c: memory kept out of core dumps and wiped. */
#include "util/secret.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/request.h"

/* The VmFlags line of the mapping holding p, from /proc/self/smaps. */
static void vm_flags(const void *p, char *out, size_t size) {
  FILE *f = fopen("/proc/self/smaps", "r");
  char line[512];
  bool inside = false;
  out[0] = 0;
  assert_non_null(f);
  while (fgets(line, sizeof(line), f) != NULL) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') != NULL &&
        line[0] != 'V')
      inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
    else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
      snprintf(out, size, "%s", line + 8);
      break;
    }
  }
  fclose(f);
}

static bool dont_dump(const void *p) {
  char flags[512];
  vm_flags(p, flags, sizeof(flags));
  return strstr(flags, " dd") != NULL;
}

static void test_small_and_large_blocks_are_not_dumped(void **state) {
  (void)state;
  char *small = secret_strdup("sim-key-7f3a9c1e5b2d4a6f8e0c");
  char *large = secret_alloc(100000);
  assert_non_null(small);
  assert_non_null(large);
  assert_true(secret_owns(small));
  assert_true(dont_dump(small));
  assert_true(dont_dump(large));
  /* Heap memory is dumped: the check tells the two apart. */
  char *heap = malloc(16);
  assert_false(dont_dump(heap));
  free(heap);
  secret_free(small);
  secret_free(large);
}

static void test_freed_block_is_wiped(void **state) {
  (void)state;
  char *p = secret_strdup("sim-key-7f3a9c1e5b2d4a6f8e0c");
  size_t n = strlen(p);
  volatile char *v = p;
  secret_free(p);
  /* The block stays mapped on the free list: what it held is gone. */
  for (size_t i = 0; i < n; i++)
    assert_int_equal(v[i], 0);
}

static void test_realloc_keeps_content_and_grows(void **state) {
  (void)state;
  char *p = secret_strdup("abc");
  p = secret_realloc(p, 10000);
  assert_non_null(p);
  assert_string_equal(p, "abc");
  assert_true(dont_dump(p));
  p = secret_realloc(p, 4);
  assert_string_equal(p, "abc");
  secret_free(p);
  assert_null(secret_realloc(NULL, SIZE_MAX));
}

static void test_many_blocks(void **state) {
  (void)state;
  enum { N = 300 };
  char *p[N];
  for (int i = 0; i < N; i++) {
    p[i] = secret_alloc(100);
    assert_non_null(p[i]);
    memset(p[i], 'x', 100);
  }
  for (int i = 0; i < N; i++)
    secret_free(p[i]);
}

/* The request bodies, which carry the key, are built in secret memory. */
static void test_request_body_is_secret(void **state) {
  (void)state;
  size_t len = 0;
  char *body = request_report("sim-key-7f3a9c1e5b2d4a6f8e0c", 42, &len);
  assert_non_null(body);
  assert_true(secret_owns(body));
  assert_true(dont_dump(body));
  secret_free(body);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_small_and_large_blocks_are_not_dumped),
      cmocka_unit_test(test_freed_block_is_wiped),
      cmocka_unit_test(test_realloc_keeps_content_and_grows),
      cmocka_unit_test(test_many_blocks),
      cmocka_unit_test(test_request_body_is_secret),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

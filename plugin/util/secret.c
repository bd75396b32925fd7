/* Memory kept out of core dumps and wiped when freed: see secret.h. */
#include "util/secret.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

/* Bodies are small (a key and a few fields), so memory comes in blocks of
 * one size, cut from mappings of BLOCKS_PER_CHUNK blocks marked
 * MADV_DONTDUMP once, and kept on a free list: no system call per request.
 * A larger request gets a mapping of its own. */
#define BLOCK_SIZE 4096
#define BLOCKS_PER_CHUNK 64
#define MAX_CHUNKS 256

typedef struct {
  size_t size; /* bytes asked for */
  size_t span; /* bytes mapped for a large block; 0 in a chunk */
  void *next_free;
  size_t pad; /* keeps the payload 32-byte aligned */
} header_t;

#define PAYLOAD (BLOCK_SIZE - sizeof(header_t))

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static header_t *free_list;
static char *chunks[MAX_CHUNKS];
static size_t num_chunks;

static void *map_secret(size_t span) {
  void *p = mmap(NULL, span, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  /* Without it the memory is still wiped after use; a kernel older than
   * 3.4 refuses the flag. */
  madvise(p, span, MADV_DONTDUMP);
  return p;
}

/* With the lock held. */
static int grow(void) {
  if (num_chunks == MAX_CHUNKS)
    return -1;
  char *c = map_secret((size_t)BLOCK_SIZE * BLOCKS_PER_CHUNK);
  if (c == NULL)
    return -1;
  chunks[num_chunks++] = c;
  for (size_t i = 0; i < BLOCKS_PER_CHUNK; i++) {
    header_t *h = (header_t *)(c + i * BLOCK_SIZE);
    h->next_free = free_list;
    free_list = h;
  }
  return 0;
}

static header_t *header_of(void *p) { return (header_t *)p - 1; }

void *secret_alloc(size_t size) {
  header_t *h = NULL;
  if (size > PAYLOAD) {
    if (size > SIZE_MAX / 2)
      return NULL;
    size_t span =
        (sizeof(header_t) + size + BLOCK_SIZE - 1) & ~(size_t)(BLOCK_SIZE - 1);
    h = map_secret(span);
    if (h == NULL)
      return NULL;
    h->span = span;
  } else {
    pthread_mutex_lock(&lock);
    if (free_list != NULL || grow() == 0) {
      h = free_list;
      free_list = h->next_free;
    }
    pthread_mutex_unlock(&lock);
    if (h == NULL)
      return NULL;
    h->span = 0;
  }
  h->size = size;
  h->next_free = NULL;
  return h + 1;
}

static void wipe(void *p, size_t n) {
  memset(p, 0, n);
  /* Keeps the compiler from dropping the memset of memory about to be
   * freed. */
  __asm__ __volatile__("" : : "r"(p) : "memory");
}

void secret_free(void *p) {
  if (p == NULL)
    return;
  header_t *h = header_of(p);
  wipe(p, h->size);
  if (h->span != 0) {
    munmap(h, h->span);
    return;
  }
  pthread_mutex_lock(&lock);
  h->next_free = free_list;
  free_list = h;
  pthread_mutex_unlock(&lock);
}

void *secret_realloc(void *p, size_t size) {
  if (p == NULL)
    return secret_alloc(size);
  header_t *h = header_of(p);
  size_t room = h->span != 0 ? h->span - sizeof(header_t) : PAYLOAD;
  if (size <= room) {
    if (size < h->size)
      wipe((char *)p + size, h->size - size);
    h->size = size;
    return p;
  }
  void *q = secret_alloc(size);
  if (q == NULL)
    return NULL;
  memcpy(q, p, h->size);
  secret_free(p);
  return q;
}

char *secret_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = secret_alloc(n);
  if (d != NULL)
    memcpy(d, s, n);
  return d;
}

bool secret_owns(const void *p) {
  const char *c = p;
  bool owned = false;
  pthread_mutex_lock(&lock);
  for (size_t i = 0; i < num_chunks && !owned; i++)
    owned = c >= chunks[i] && c < chunks[i] + BLOCK_SIZE * BLOCKS_PER_CHUNK;
  pthread_mutex_unlock(&lock);
  return owned;
}

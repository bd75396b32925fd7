/* Memory for the client key and the request bodies that carry it: kept out
 * of core dumps (MADV_DONTDUMP) and wiped when freed. Thread-safe.
 * Pure: no collectd or curl calls. */
#ifndef ANTICAPTCHA_SECRET_H
#define ANTICAPTCHA_SECRET_H

#include <stdbool.h>
#include <stddef.h>

/* Like malloc/realloc/free; secret_free wipes what it frees. NULL when out
 * of memory (secret_realloc then leaves p as it was). */
void *secret_alloc(size_t size);
void *secret_realloc(void *p, size_t size);
void secret_free(void *p);
char *secret_strdup(const char *s);
/* True when p points into a block of at most a page handed out here (for
 * the tests). */
bool secret_owns(const void *p);

#endif

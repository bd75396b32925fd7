/* Reading a block's options from a table, one row per option (the shape of
 * collectd's curl_stats field_specs): its name, the kind of value it takes,
 * the field it fills and its range, each written once. */
#ifndef ANTICAPTCHA_CONFIG_OPTION_H
#define ANTICAPTCHA_CONFIG_OPTION_H

#include "collectd/core/daemon/collectd.h"
#include "collectd/core/daemon/configfile.h"
#include "collectd/core/daemon/plugin.h"

#include <stddef.h>

/* One error line: where (account, rule or block), which option, what to do. */
#define CONF_ERROR(where, option, ...)                                         \
  do {                                                                         \
    char conf_msg_[512];                                                       \
    snprintf(conf_msg_, sizeof(conf_msg_), __VA_ARGS__);                       \
    ERROR("anticaptcha plugin: %s: option \"%s\": %s", where, option,          \
          conf_msg_);                                                          \
  } while (0)

typedef enum {
  OPT_STRING,  /* char *, replacing what it held */
  OPT_BOOL,    /* bool */
  OPT_SECONDS, /* cdtime_t, from min to max seconds */
  OPT_SIZE,    /* size_t, a whole number from min to max */
  OPT_INT,     /* int, likewise */
  OPT_INT64,   /* int64_t, likewise */
  OPT_PERCENT, /* double, more than min and at most max */
  OPT_TEXT,    /* text(block, its one string, where) takes it */
  OPT_CALL,    /* call(block, o, where) reads it */
  OPT_SKIP,    /* read elsewhere (a first pass) */
} option_kind_t;

typedef int (*option_call_t)(void *block, const oconfig_item_t *o,
                             const char *where);
/* value is collectd's: copy what is kept. */
typedef int (*option_text_t)(void *block, const char *value, const char *where);

typedef struct {
  const char *key; /* matched without regard to case, as collectd does */
  option_kind_t kind;
  size_t offset; /* of the field in the block's struct */
  double min, max;
  option_call_t call; /* OPT_CALL */
  option_text_t text; /* OPT_TEXT */
} config_option_t;

/* Rows of a table for a block of type `type`. */
#define OPTION(name, how, type, field)                                         \
  { .key = name, .kind = how, .offset = offsetof(type, field) }
#define OPTION_RANGE(name, how, type, field, lo, hi)                           \
  {                                                                            \
    .key = name, .kind = how, .offset = offsetof(type, field), .min = lo,      \
    .max = hi                                                                  \
  }
#define OPTION_CALL(name, fn)                                                  \
  { .key = name, .kind = OPT_CALL, .call = fn }
#define OPTION_TEXT(name, fn)                                                  \
  { .key = name, .kind = OPT_TEXT, .text = fn }
#define OPTION_SKIP(name)                                                      \
  { .key = name, .kind = OPT_SKIP }

/* Reads option o into block by the table's row for o->key. Returns 0, or -1
 * after one error line naming where, the option and what to give (an
 * option the table lacks is unknown). */
int config_option_read(const config_option_t *table, size_t n, void *block,
                       const oconfig_item_t *o, const char *where);

/* Frees the block's OPT_STRING fields (each set to NULL). */
void config_option_free(const config_option_t *table, size_t n, void *block);

/* A string option for OPT_CALL readers; replaces what *out held. */
int config_option_string(const oconfig_item_t *o, const char *where,
                         char **out);

#endif

/* Reading a block's options from a table (see config_option.h). */
#include "config/config_option.h"

#include "collectd/core/utils/common/common.h"

#include <strings.h>

static int want_one(const oconfig_item_t *o, int type, const char *where,
                    const char *what) {
  if (o->values_num == 1 && o->values[0].type == type)
    return 0;
  CONF_ERROR(where, o->key, "takes exactly one %s.", what);
  return -1;
}

int config_option_string(const oconfig_item_t *o, const char *where,
                         char **out) {
  if (want_one(o, OCONFIG_TYPE_STRING, where, "quoted string") != 0)
    return -1;
  free(*out);
  *out = NULL;
  return cf_util_get_string(o, out);
}

static bool whole(option_kind_t kind) {
  return kind == OPT_SIZE || kind == OPT_INT || kind == OPT_INT64;
}

/* The number, checked against the row's range before any conversion:
 * converting a double outside the target type is undefined. */
static int get_number(const config_option_t *opt, const oconfig_item_t *o,
                      const char *where, double *out) {
  const char *what = opt->kind == OPT_SECONDS   ? "number of seconds"
                     : opt->kind == OPT_PERCENT ? "percentage"
                                                : "number";
  if (want_one(o, OCONFIG_TYPE_NUMBER, where, what) != 0)
    return -1;
  double d = o->values[0].value.number;
  bool ok = (opt->kind == OPT_PERCENT ? d > opt->min : d >= opt->min) &&
            d <= opt->max; /* false for NaN */
  if (ok && whole(opt->kind))
    ok = d == (double)(int64_t)d;
  if (ok) {
    *out = d;
    return 0;
  }
  if (opt->kind == OPT_SECONDS)
    CONF_ERROR(where, o->key, "give from %g to %g seconds.", opt->min,
               opt->max);
  else if (opt->kind == OPT_PERCENT)
    CONF_ERROR(where, o->key, "give a percentage more than %g and at most %g.",
               opt->min, opt->max);
  else
    CONF_ERROR(where, o->key, "give a whole number from %.0f to %.0f.",
               opt->min, opt->max);
  return -1;
}

static int read_value(const config_option_t *opt, void *block,
                      const oconfig_item_t *o, const char *where) {
  void *field = (char *)block + opt->offset;
  double d = 0;
  switch (opt->kind) {
  case OPT_SKIP:
    return 0;
  case OPT_CALL:
    return opt->call(block, o, where);
  case OPT_STRING:
    return config_option_string(o, where, field);
  case OPT_TEXT:
    if (want_one(o, OCONFIG_TYPE_STRING, where, "quoted string") != 0)
      return -1;
    return opt->text(block, o->values[0].value.string, where);
  case OPT_BOOL:
    if (want_one(o, OCONFIG_TYPE_BOOLEAN, where, "true or false") != 0)
      return -1;
    *(bool *)field = o->values[0].value.boolean;
    return 0;
  default:
    break;
  }
  if (get_number(opt, o, where, &d) != 0)
    return -1;
  if (opt->kind == OPT_SECONDS)
    *(cdtime_t *)field = DOUBLE_TO_CDTIME_T(d);
  else if (opt->kind == OPT_SIZE)
    *(size_t *)field = (size_t)d;
  else if (opt->kind == OPT_INT)
    *(int *)field = (int)d;
  else if (opt->kind == OPT_INT64)
    *(int64_t *)field = (int64_t)d;
  else
    *(double *)field = d;
  return 0;
}

int config_option_read(const config_option_t *table, size_t n, void *block,
                       const oconfig_item_t *o, const char *where) {
  for (size_t i = 0; i < n; i++)
    if (strcasecmp(table[i].key, o->key) == 0)
      return read_value(&table[i], block, o, where);
  CONF_ERROR(where, o->key, "unknown option; see collectd-anticaptcha(5).");
  return -1;
}

void config_option_free(const config_option_t *table, size_t n, void *block) {
  for (size_t i = 0; i < n; i++)
    if (table[i].kind == OPT_STRING) {
      char **field = (char **)((char *)block + table[i].offset);
      free(*field);
      *field = NULL;
    }
}

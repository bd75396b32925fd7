/* Parsing and checking the <QueueStats> block. */
#include "config/queue_config.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/utils/common/common.h"

#include "config/config_check.h"
#include "config/config_option.h"
#include "model/queue_stats.h"

#define WHERE "QueueStats"

#define qerror(option, ...) CONF_ERROR(WHERE, option, __VA_ARGS__)

static bool same_template(const char *a, const char *b) {
  return (a == NULL && b == NULL) ||
         (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* "<queue slug>_<template slug>": each template is a series of its own. */
static bool append_template(char *slug, size_t size,
                            const char *template_name) {
  char t[SPENDING_SLUG_MAX + 1];
  if (template_name == NULL)
    return true;
  size_t len = strlen(slug);
  return spending_slug(template_name, t, sizeof(t)) == 0 &&
         len + 1 + strlen(t) <= SPENDING_SLUG_MAX &&
         snprintf(slug + len, size - len, "_%s", t) > 0;
}

/* The queue's id from its first value: a name (mapped to the vendor's id)
 * or an id as is. */
static int queue_id(const oconfig_item_t *o, int64_t *id) {
  if (o->values_num < 1 || o->values_num > 2 ||
      (o->values[0].type != OCONFIG_TYPE_NUMBER &&
       o->values[0].type != OCONFIG_TYPE_STRING)) {
    qerror("Queue", "give a queue name or id (and, for AntiGate, a template "
                    "name).");
    return -1;
  }
  if (o->values[0].type == OCONFIG_TYPE_STRING) {
    if (queue_stats_lookup(o->values[0].value.string, id) == 0)
      return 0;
    qerror("Queue",
           "\"%s\" is not in the vendor's list of queues; give its "
           "id (getQueueStats' queueId) instead.",
           o->values[0].value.string);
    return -1;
  }
  double d = o->values[0].value.number;
  if (d != (double)(int64_t)d || d < 1 || d > QUEUE_STATS_MAX_ID) {
    qerror("Queue", "give a queue id from 1 to %d, or a queue name.",
           QUEUE_STATS_MAX_ID);
    return -1;
  }
  *id = (int64_t)d;
  return 0;
}

/* A second value, for the AntiGate queue only: its templateName. */
static int queue_template(const oconfig_item_t *o, int64_t id,
                          const char **out) {
  *out = NULL;
  if (o->values_num != 2)
    return 0;
  if (o->values[1].type != OCONFIG_TYPE_STRING ||
      o->values[1].value.string[0] == 0 || id != QUEUE_STATS_ANTIGATE) {
    qerror("Queue",
           "a second value, a template name, is taken by the "
           "AntiGate queue (id %d) only.",
           QUEUE_STATS_ANTIGATE);
    return -1;
  }
  *out = o->values[1].value.string;
  return 0;
}

static int grow(queue_stats_config_t *q, size_t n) {
  char **queues = realloc(q->queues, n * sizeof(*queues));
  if (queues != NULL)
    q->queues = queues;
  int64_t *ids = realloc(q->ids, n * sizeof(*ids));
  if (ids != NULL)
    q->ids = ids;
  char(*slugs)[SPENDING_SLUG_MAX + 1] = realloc(q->slugs, n * sizeof(*slugs));
  if (slugs != NULL)
    q->slugs = slugs;
  char **templates = realloc(q->templates, n * sizeof(*templates));
  if (templates != NULL)
    q->templates = templates;
  return (queues && ids && slugs && templates) ? 0 : -1;
}

/* Queue "name" or Queue N, and for the AntiGate queue Queue 25 "template". */
static int queue_option(void *block, const oconfig_item_t *o,
                        const char *where) {
  (void)where;
  queue_stats_config_t *q = block;
  int64_t id = 0;
  const char *tmpl = NULL;
  char label[256];
  if (queue_id(o, &id) != 0 || queue_template(o, id, &tmpl) != 0)
    return -1;
  const char *name = o->values[0].type == OCONFIG_TYPE_STRING
                         ? o->values[0].value.string
                         : NULL;
  /* As the log names it: what the user wrote. */
  if (name != NULL)
    snprintf(label, sizeof(label), "%s%s%s", name, tmpl ? " " : "",
             tmpl ? tmpl : "");
  else
    snprintf(label, sizeof(label), "%lld%s%s", (long long)id, tmpl ? " " : "",
             tmpl ? tmpl : "");
  size_t n = q->num_queues;
  if (grow(q, n + 1) != 0 || (q->queues[n] = strdup(label)) == NULL)
    return -1;
  q->templates[n] = NULL;
  q->ids[n] = id;
  q->num_queues++; /* from here on freed by queue_config_free() */
  if (tmpl != NULL && (q->templates[n] = strdup(tmpl)) == NULL)
    return -1;
  if (queue_stats_slug(name, id, q->slugs[n], sizeof(q->slugs[n])) != 0 ||
      !append_template(q->slugs[n], sizeof(q->slugs[n]), tmpl)) {
    qerror("Queue", "\"%s\" gives no usable name.", q->queues[n]);
    return -1;
  }
  for (size_t i = 0; i < n; i++)
    if ((q->ids[i] == id && same_template(q->templates[i], tmpl)) ||
        strcmp(q->slugs[i], q->slugs[n]) == 0) {
      qerror("Queue",
             "\"%s\" and \"%s\" are the same queue (id %lld, name "
             "\"%s\"); list each queue once.",
             q->queues[i], q->queues[n], (long long)q->ids[i], q->slugs[i]);
      return -1;
    }
  return 0;
}

#define TRANSPORT(field) transport.field
static const config_option_t options[] = {
    OPTION_CALL("Queue", queue_option),
    OPTION("URL", OPT_STRING, queue_stats_config_t, TRANSPORT(url)),
    OPTION_RANGE("Interval", OPT_SECONDS, queue_stats_config_t, interval,
                 QUEUE_STATS_MIN_INTERVAL_SECONDS, INTERVAL_MAX),
    OPTION_RANGE("Timeout", OPT_SECONDS, queue_stats_config_t,
                 TRANSPORT(timeout), TIMEOUT_MIN, TIMEOUT_MAX),
    OPTION("CACert", OPT_STRING, queue_stats_config_t, TRANSPORT(ca_cert)),
    OPTION("CAPath", OPT_STRING, queue_stats_config_t, TRANSPORT(ca_path)),
    OPTION("Proxy", OPT_STRING, queue_stats_config_t, TRANSPORT(proxy)),
    OPTION("VerifyPeer", OPT_BOOL, queue_stats_config_t,
           TRANSPORT(verify_peer)),
    OPTION("VerifyHost", OPT_BOOL, queue_stats_config_t,
           TRANSPORT(verify_host)),
};

static int check(queue_stats_config_t *q) {
  api_transport_t *t = &q->transport;
  char why[160];
  if (q->num_queues == 0) {
    qerror("Queue", "missing; list at least one queue.");
    return -1;
  }
  if (config_finish_url(&t->url, DEFAULT_URL, why, sizeof(why)) != 0) {
    if (why[0] != 0)
      qerror("URL", "\"%s\": %s.", t->url, why);
    return -1;
  }
  return config_check_transport(t, false, WHERE);
}

int queue_config_parse(const oconfig_item_t *ci, queue_stats_config_t **out) {
  if (*out != NULL) {
    qerror("QueueStats", "give one <QueueStats> block; list every queue in "
                         "it.");
    return -1;
  }
  if (ci->values_num != 0) {
    qerror("QueueStats", "the block takes no argument: <QueueStats>.");
    return -1;
  }
  queue_stats_config_t *q = calloc(1, sizeof(*q));
  if (q == NULL)
    return -1;
  *out = q; /* freed by queue_config_free(), even after an error */
  q->transport = (api_transport_t)TRANSPORT_DEFAULTS;
  q->interval = TIME_T_TO_CDTIME_T(60);
  for (int i = 0; i < ci->children_num; i++)
    if (config_option_read(options, STATIC_ARRAY_SIZE(options), q,
                           &ci->children[i], WHERE) != 0)
      return -1;
  return check(q);
}

int queue_config_finish(const queue_stats_config_t *q,
                        const plugin_config_t *cfg) {
  for (size_t i = 0; q != NULL && i < cfg->num_accounts; i++)
    if (strcmp(cfg->accounts[i].name, QUEUE_STATS_INSTANCE) == 0) {
      ERROR("anticaptcha plugin: Account \"%s\": option \"Account\": the "
            "name is taken by the <QueueStats> values; rename the account.",
            QUEUE_STATS_INSTANCE);
      return -1;
    }
  return 0;
}

void queue_config_free(queue_stats_config_t *q) {
  if (q == NULL)
    return;
  for (size_t i = 0; i < q->num_queues; i++) {
    free(q->queues[i]);
    free(q->templates[i]);
  }
  free(q->templates);
  free(q->queues);
  config_option_free(options, STATIC_ARRAY_SIZE(options), q);
  free(q->ids);
  free(q->slugs);
  free(q);
}

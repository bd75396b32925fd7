/* Parsing and checking the <QueueStats> block. */
#include "queue_config.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/utils/common/common.h"

#include "queue_stats.h"

#define WHERE "QueueStats"

static void qerror(const char *option, const char *fmt, ...) {
  char msg[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  ERROR("anticaptcha plugin: " WHERE ": option \"%s\": %s", option, msg);
}

static int want(const oconfig_item_t *o, int type, const char *what) {
  if (o->values_num == 1 && o->values[0].type == type)
    return 0;
  qerror(o->key, "takes exactly one %s.", what);
  return -1;
}

static int get_string(const oconfig_item_t *o, char **out) {
  if (want(o, OCONFIG_TYPE_STRING, "quoted string") != 0)
    return -1;
  free(*out);
  *out = NULL;
  return cf_util_get_string(o, out);
}

static int get_flag(const oconfig_item_t *o, bool *out) {
  if (want(o, OCONFIG_TYPE_BOOLEAN, "true or false") != 0)
    return -1;
  *out = o->values[0].value.boolean;
  return 0;
}

static int get_secs(const oconfig_item_t *o, double min, double max,
                    cdtime_t *out) {
  if (want(o, OCONFIG_TYPE_NUMBER, "number of seconds") != 0)
    return -1;
  double d = o->values[0].value.number;
  if (!(d >= min && d <= max) || d <= 0) {
    if (min > 0)
      qerror(o->key, "give %g to %g seconds.", min, max);
    else
      qerror(o->key, "give more than 0 and at most %g seconds.", max);
    return -1;
  }
  *out = DOUBLE_TO_CDTIME_T(d);
  return 0;
}

/* Queue "name" (mapped to the vendor's id) or Queue N (an id as is). */
static int add_queue(queue_stats_config_t *q, const oconfig_item_t *o) {
  account_t *t = &q->transport;
  int64_t id = 0;
  char label[64];
  if (o->values_num == 1 && o->values[0].type == OCONFIG_TYPE_NUMBER) {
    double d = o->values[0].value.number;
    if (d != (double)(int64_t)d || d < 1 || d > QUEUE_STATS_MAX_ID) {
      qerror("Queue", "give a queue id from 1 to %d, or a queue name.",
             QUEUE_STATS_MAX_ID);
      return -1;
    }
    id = (int64_t)d;
    snprintf(label, sizeof(label), "%lld", (long long)id);
  } else if (want(o, OCONFIG_TYPE_STRING, "queue name or id") != 0) {
    return -1;
  } else if (queue_stats_lookup(o->values[0].value.string, &id) != 0) {
    qerror("Queue", "\"%s\" is not in the vendor's list of queues; give its "
           "id (getQueueStats' queueId) instead.", o->values[0].value.string);
    return -1;
  }
  const char *name = o->values[0].type == OCONFIG_TYPE_STRING
                         ? o->values[0].value.string
                         : NULL;
  size_t n = t->num_queues;
  char **queues = realloc(t->queues, (n + 1) * sizeof(*queues));
  if (queues != NULL)
    t->queues = queues;
  int64_t *ids = realloc(q->ids, (n + 1) * sizeof(*ids));
  if (ids != NULL)
    q->ids = ids;
  char(*slugs)[SPENDING_SLUG_MAX + 1] =
      realloc(q->slugs, (n + 1) * sizeof(*slugs));
  if (slugs != NULL)
    q->slugs = slugs;
  if (queues == NULL || ids == NULL || slugs == NULL ||
      (t->queues[n] = strdup(name != NULL ? name : label)) == NULL)
    return -1;
  t->num_queues++;
  q->ids[n] = id;
  if (queue_stats_slug(name, id, q->slugs[n], sizeof(q->slugs[n])) != 0) {
    qerror("Queue", "\"%s\" gives no usable name.", t->queues[n]);
    return -1;
  }
  for (size_t i = 0; i < n; i++)
    if (q->ids[i] == id || strcmp(q->slugs[i], q->slugs[n]) == 0) {
      qerror("Queue", "\"%s\" and \"%s\" are the same queue (id %lld, name "
             "\"%s\"); list each queue once.", t->queues[i], t->queues[n],
             (long long)q->ids[i], q->slugs[i]);
      return -1;
    }
  return 0;
}

static int option(queue_stats_config_t *q, const oconfig_item_t *o) {
  account_t *t = &q->transport;
  if (strcasecmp("Queue", o->key) == 0)
    return add_queue(q, o);
  if (strcasecmp("URL", o->key) == 0)
    return get_string(o, &t->url);
  if (strcasecmp("Interval", o->key) == 0)
    return get_secs(o, QUEUE_STATS_MIN_INTERVAL_SECONDS, 86400, &t->interval);
  if (strcasecmp("Timeout", o->key) == 0)
    return get_secs(o, 0, 600, &t->timeout);
  if (strcasecmp("CACert", o->key) == 0)
    return get_string(o, &t->ca_cert);
  if (strcasecmp("VerifyPeer", o->key) == 0)
    return get_flag(o, &t->verify_peer);
  if (strcasecmp("VerifyHost", o->key) == 0)
    return get_flag(o, &t->verify_host);
  qerror(o->key, "unknown option; see collectd-anticaptcha(5).");
  return -1;
}

static int check(queue_stats_config_t *q) {
  account_t *t = &q->transport;
  char why[160];
  if (t->num_queues == 0) {
    qerror("Queue", "missing; list at least one queue.");
    return -1;
  }
  if (t->url == NULL && (t->url = strdup(DEFAULT_URL)) == NULL)
    return -1;
  size_t len = strlen(t->url);
  while (len > 0 && t->url[len - 1] == '/')
    t->url[--len] = 0;
  if (config_check_url(t->url, why, sizeof(why)) != 0) {
    qerror("URL", "\"%s\": %s.", t->url, why);
    return -1;
  }
  return 0;
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
  q->transport = (account_t){.interval = TIME_T_TO_CDTIME_T(60),
                             .timeout = TIME_T_TO_CDTIME_T(10),
                             .verify_peer = true,
                             .verify_host = true};
  sstrncpy(q->transport.name, QUEUE_STATS_INSTANCE,
           sizeof(q->transport.name));
  for (int i = 0; i < ci->children_num; i++)
    if (option(q, &ci->children[i]) != 0)
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
  for (size_t i = 0; i < q->transport.num_queues; i++)
    free(q->transport.queues[i]);
  free(q->transport.queues);
  free(q->transport.url);
  free(q->transport.ca_cert);
  free(q->ids);
  free(q->slugs);
  free(q);
}

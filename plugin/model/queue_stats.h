/* getQueueStats' pure parts: the vendor's queue ids and names, the request
 * body, and which collectd type each figure of the answer is dispatched as.
 * Pure: no collectd or curl calls. */
#ifndef ANTICAPTCHA_QUEUE_STATS_H
#define ANTICAPTCHA_QUEUE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "api/response.h"

/* The vendor answers from a cache that is renewed every 10 seconds. */
#define QUEUE_STATS_MIN_INTERVAL_SECONDS 10
/* Largest queue id accepted from the configuration. */
#define QUEUE_STATS_MAX_ID 1000000
/* The AntiGate queue, the only one that takes a templateName. */
#define QUEUE_STATS_ANTIGATE 25

/* The vendor's id for a queue name: the getQueueStats page's name
 * ("Recaptcha v2 without proxy") or the name getSpendingStats uses
 * ("Recaptcha Proxyless"), compared by their slugs (case and punctuation do
 * not matter). Returns 0 and sets *id, or -1 for a name not in the list. */
int queue_stats_lookup(const char *name, int64_t *id);

/* The getQueueStats page's name of a queue id, or NULL for an id not in the
 * vendor's list. */
const char *queue_stats_vendor_name(int64_t id);

/* The name a queue's values are dispatched under: the slug of name when
 * given, else of the vendor's name for id, else "queue<id>". Returns 0, or
 * -1 when the slug does not fit. */
int queue_stats_slug(const char *name, int64_t id, char *buf, size_t size);

/* {"queueId":id} (plus "templateName" when template is not NULL): a JSON
 * object in secret memory like every request body (api_call_prepare takes
 * it; else free it with secret_free), its length in *len; NULL when id < 1,
 * the template is not UTF-8 or memory runs out. No key: none is needed. */
char *queue_stats_request(int64_t id, const char *template_name, size_t *len);

/* How each figure is dispatched: "<slug>-<name>" of this stock type. */
typedef struct {
  const char *type;
  const char *name;
} queue_stats_field_t;

extern const queue_stats_field_t queue_stats_fields[QS_COUNT];

#endif

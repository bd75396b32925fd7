/* getQueueStats' pure parts: queue names and ids, request, field types. */
#include "model/queue_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "model/spending.h"
#include "util/secret.h"

/* The queue ids and names of the vendor's getQueueStats page
 * (https://anti-captcha.com/apidoc/methods/getQueueStats); `spending` is the
 * name getSpendingStats and the account's statistics use for the same queue,
 * where /work/shared/API.md gives one (ids 1, 2, 5, 6, 7, 10). */
static const struct {
  int64_t id;
  const char *vendor, *spending;
} queues[] = {
    {1, "ImageToText, English", "English ImageToText"},
    {2, "ImageToText, Russian", "Russian ImageToText"},
    {5, "Recaptcha v2 with proxy", "Recaptcha"},
    {6, "Recaptcha v2 without proxy", "Recaptcha Proxyless"},
    {7, "Funcaptcha with proxy", "FunCaptcha"},
    {10, "Funcaptcha without proxy", "FunCaptcha Proxyless"},
    {12, "GeeTest with proxy", NULL},
    {13, "GeeTest without proxy", NULL},
    {18, "Recaptcha V3 s0.3", NULL},
    {19, "Recaptcha V3 s0.7", NULL},
    {20, "Recaptcha V3 s0.9", NULL},
    {21, "hCaptcha with proxy", NULL},
    {22, "hCaptcha without proxy", NULL},
    {23, "Recaptcha Enterprise V2 with proxy", NULL},
    {24, "Recaptcha Enterprise V2 without proxy", NULL},
    {25, "AntiGateTask", NULL},
    {26, "Turnstile with proxy", NULL},
    {27, "Turnstile without proxy", NULL},
    {28, "Image Coordinates", NULL},
    {29, "Hcaptcha Enterprise", NULL},
};
#define NUM_QUEUES (sizeof(queues) / sizeof(queues[0]))

const queue_stats_field_t queue_stats_fields[QS_COUNT] = {
    [QS_WAITING] = {"count", "waiting"}, [QS_LOAD] = {"percent", "load"},
    [QS_BID] = {"gauge", "bid"},         [QS_SPEED] = {"duration", "speed"},
    [QS_TOTAL] = {"count", "total"},
};

static bool same_slug(const char *a, const char *b) {
  char sa[SPENDING_SLUG_MAX + 1], sb[SPENDING_SLUG_MAX + 1];
  return a != NULL && b != NULL && spending_slug(a, sa, sizeof(sa)) == 0 &&
         spending_slug(b, sb, sizeof(sb)) == 0 && strcmp(sa, sb) == 0;
}

int queue_stats_lookup(const char *name, int64_t *id) {
  for (size_t i = 0; i < NUM_QUEUES; i++)
    if (same_slug(name, queues[i].vendor) ||
        same_slug(name, queues[i].spending)) {
      *id = queues[i].id;
      return 0;
    }
  return -1;
}

const char *queue_stats_vendor_name(int64_t id) {
  for (size_t i = 0; i < NUM_QUEUES; i++)
    if (queues[i].id == id)
      return queues[i].vendor;
  return NULL;
}

int queue_stats_slug(const char *name, int64_t id, char *buf, size_t size) {
  if (name == NULL)
    name = queue_stats_vendor_name(id);
  if (name != NULL)
    return spending_slug(name, buf, size);
  int n = snprintf(buf, size, "queue%lld", (long long)id);
  return (n > 0 && (size_t)n < size) ? 0 : -1;
}

static bool gen_str(yajl_gen g, const char *s) {
  return yajl_gen_string(g, (const unsigned char *)s, strlen(s)) ==
         yajl_gen_status_ok;
}

char *queue_stats_request(int64_t id, const char *template_name, size_t *len) {
  const unsigned char *buf = NULL;
  size_t n = 0;
  char *out = NULL;
  if (id < 1)
    return NULL;
  yajl_gen g = yajl_gen_alloc(NULL);
  if (g == NULL)
    return NULL;
  yajl_gen_config(g, yajl_gen_validate_utf8, 1);
  if (yajl_gen_map_open(g) == yajl_gen_status_ok && gen_str(g, "queueId") &&
      yajl_gen_integer(g, (long long)id) == yajl_gen_status_ok &&
      (template_name == NULL ||
       (gen_str(g, "templateName") && gen_str(g, template_name))) &&
      yajl_gen_map_close(g) == yajl_gen_status_ok &&
      yajl_gen_get_buf(g, &buf, &n) == yajl_gen_status_ok &&
      (out = secret_alloc(n + 1)) != NULL) {
    memcpy(out, buf, n);
    out[n] = 0;
    *len = n;
  }
  yajl_gen_free(g);
  return out;
}

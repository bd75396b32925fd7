/* Notifications to report requests (see report_match.h). */
#include "model/report_match.h"

#include <errno.h>

static const char *const method_names[REPORT_METHOD_COUNT] = {
    "reportCorrectRecaptcha", "reportIncorrectRecaptcha",
    "reportIncorrectImageCaptcha", "reportIncorrectHcaptcha"};

const char *report_method_name(report_method_t m) {
  return (m < REPORT_METHOD_COUNT) ? method_names[m] : "?";
}

int report_method_parse(const char *name, report_method_t *m) {
  for (int i = 0; i < REPORT_METHOD_COUNT; i++)
    if (strcasecmp(name, method_names[i]) == 0) {
      *m = (report_method_t)i;
      return 0;
    }
  return -1;
}

static const char *meta_string(const notification_t *n, const char *key) {
  for (const notification_meta_t *m = n->meta; m != NULL; m = m->next)
    if (m->type == NM_TYPE_STRING && strcmp(m->name, key) == 0)
      return m->nm_value.nm_string;
  return NULL;
}

/* Turns the field holding the task id into a request; MATCH_INVALID when it
 * is not a task id (task_id.h) or the notification has no time. */
static match_result_t request_from(const notification_t *n,
                                   const char *id_field, const char *id_name,
                                   report_request_t *out, char *why,
                                   size_t why_size) {
  if (task_id_parse(id_field, &out->task_id) != 0) {
    snprintf(why, why_size,
             "%s is not a task id (decimal digits, 1 to 2^63-1, or a UUID)",
             id_name);
    return MATCH_INVALID;
  }
  if (n->time == 0) {
    snprintf(why, why_size, "the notification has no time");
    return MATCH_INVALID;
  }
  out->completed = n->time;
  return MATCH_REPORT;
}

static match_result_t match_convention(const notification_t *n,
                                       account_names_t accounts,
                                       report_request_t *out, char *why,
                                       size_t why_size) {
  bool image = strcmp(n->type, "image") == 0;
  bool hcaptcha = strcmp(n->type, "hcaptcha") == 0;
  size_t i = 0;

  if (n->plugin_instance[0] == 0 && accounts.count == 1)
    i = 0;
  else {
    for (i = 0; i < accounts.count; i++)
      if (strcmp(accounts.names[i], n->plugin_instance) == 0)
        break;
    if (i == accounts.count) {
      snprintf(why, why_size,
               "plugin_instance does not name a configured account");
      return MATCH_INVALID;
    }
  }
  if (n->severity == NOTIF_FAILURE)
    out->method = image      ? REPORT_INCORRECT_IMAGE
                  : hcaptcha ? REPORT_INCORRECT_HCAPTCHA
                             : REPORT_INCORRECT_RECAPTCHA;
  /* There is no "correct" report for image captchas nor for hCaptcha. */
  else if (n->severity == NOTIF_OKAY && !image && !hcaptcha)
    out->method = REPORT_CORRECT_RECAPTCHA;
  else
    return MATCH_NO_REPORT;
  out->account = i;

  const char *meta = meta_string(n, "task_id");
  if (meta != NULL)
    return request_from(n, meta, "meta task_id", out, why, why_size);
  return request_from(n, n->type_instance, "type_instance", out, why, why_size);
}

static bool field_matches(const char *want, const char *have) {
  return want == NULL || strcmp(want, have) == 0;
}

static bool rule_matches(const report_rule_t *r, const notification_t *n) {
  return field_matches(r->plugin, n->plugin) &&
         field_matches(r->plugin_instance, n->plugin_instance) &&
         field_matches(r->type, n->type) &&
         field_matches(r->type_instance, n->type_instance) &&
         (r->severity == 0 || r->severity == n->severity);
}

static match_result_t apply_rule(const report_rule_t *r,
                                 const notification_t *n, report_request_t *out,
                                 char *why, size_t why_size) {
  out->account = r->account;
  out->method = r->method;
  switch (r->source) {
  case TASK_ID_PLUGIN_INSTANCE:
    return request_from(n, n->plugin_instance, "plugin_instance", out, why,
                        why_size);
  case TASK_ID_META: {
    const char *v = meta_string(n, r->meta_key);
    if (v == NULL) {
      snprintf(why, why_size, "the notification has no meta \"%s\"",
               r->meta_key);
      return MATCH_INVALID;
    }
    return request_from(n, v, "the task id meta", out, why, why_size);
  }
  default:
    return request_from(n, n->type_instance, "type_instance", out, why,
                        why_size);
  }
}

match_result_t report_match(const notification_t *n, const report_rule_t *rules,
                            size_t num_rules, account_names_t accounts,
                            report_request_t *out, char *why, size_t why_size) {
  memset(out, 0, sizeof(*out));
  if (why_size > 0)
    why[0] = 0;
  /* Our own values raise threshold notifications with plugin "anticaptcha"
   * and types such as "gauge": only the three report types are requests. */
  if (strcmp(n->plugin, "anticaptcha") == 0 &&
      (strcmp(n->type, "recaptcha") == 0 || strcmp(n->type, "image") == 0 ||
       strcmp(n->type, "hcaptcha") == 0))
    return match_convention(n, accounts, out, why, why_size);

  for (size_t i = 0; i < num_rules; i++)
    if (rule_matches(&rules[i], n))
      return apply_rule(&rules[i], n, out, why, why_size);
  return MATCH_NOT_OURS;
}

match_result_t report_fit_service(match_result_t m, const report_request_t *req,
                                  const service_t *const *services, char *why,
                                  size_t why_size) {
  if (m != MATCH_REPORT)
    return m;
  const service_t *svc = services[req->account];
  if (svc->method[req->method] == NULL)
    return MATCH_NO_REPORT;
  if (task_id_is_uuid(req->task_id) != svc->uuid_task_ids) {
    snprintf(why, why_size, "the task id is %s; %s issues %s",
             svc->uuid_task_ids ? "a number" : "a UUID", svc->label,
             svc->uuid_task_ids ? "UUIDs" : "numeric ids");
    return MATCH_INVALID;
  }
  return m;
}

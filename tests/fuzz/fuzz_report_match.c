/* libFuzzer target for the notification-to-report path: plugin/report_match.c
 * (which notifications are report requests, and their task id) and the
 * request body plugin/request.c then builds. Notification fields come from
 * unixsock, exec, logparser or the network: attacker-controlled text.
 *
 * Input: byte 0 holds flags (severity, one or two accounts, time 0 or not);
 * the rest is split at '\n' into plugin, plugin_instance, type,
 * type_instance and then string meta entries "name=value" (each truncated as
 * collectd does). The notification is matched against the default
 * convention and a fixed set of <Report> rules. The target aborts unless:
 *   - a report has a task id from 1 to 2^63-1 that one of the notification's
 *     fields spells in decimal digits and nothing else, a configured account,
 *     a known method and the notification's time;
 *   - an unusable notification comes with a reason, NUL-terminated;
 *   - the request built for a report is a JSON object with exactly clientKey
 *     (the configured key) and taskId (that integer): no field of a
 *     notification can change the request.
 * Built by tests/fuzz/run.sh with clang -fsanitize=fuzzer,address,undefined. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_tree.h>

#include "api/request.h"
#include "model/report_match.h"
#include "util/secret.h"

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "fuzz_report_match: %s:%d: check failed: %s\n",          \
              __FILE__, __LINE__, #cond);                                      \
      abort();                                                                 \
    }                                                                          \
  } while (0)

#define MAX_META 4
static const char KEY[] = "fuzz-key-\"quoted\\\"-\xc3\xa9";

static const char *const one_name[] = {"main"};
static const char *const two_names[] = {"main", "second"};

static report_rule_t rules[] = {
    {.name = "bot-log",
     .account = 0,
     .method = REPORT_INCORRECT_RECAPTCHA,
     .plugin = "logparser",
     .type = "captcha_rejected",
     .severity = NOTIF_FAILURE,
     .source = TASK_ID_META,
     .meta_key = "task"},
    {.name = "by-instance",
     .account = 1,
     .method = REPORT_CORRECT_RECAPTCHA,
     .plugin = "solver",
     .source = TASK_ID_PLUGIN_INSTANCE},
    {.name = "image",
     .account = 0,
     .method = REPORT_INCORRECT_IMAGE,
     .type = "image_failed",
     .source = TASK_ID_TYPE_INSTANCE},
};

/* Copies the next '\n'-separated piece of input into dst (size bytes,
 * truncated like collectd's sstrncpy). */
static void next_field(const uint8_t **p, const uint8_t *end, char *dst,
                       size_t size) {
  const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
  size_t n = (size_t)((nl != NULL ? nl : end) - *p);
  size_t copy = n < size - 1 ? n : size - 1;
  memcpy(dst, *p, copy);
  dst[copy] = 0;
  *p = nl != NULL ? nl + 1 : end;
}

/* The value of the decimal-only string s, or 0 when it is anything else. */
static uint64_t digits_value(const char *s) {
  uint64_t v = 0;
  if (*s == 0 || strlen(s) > 19)
    return 0;
  for (; *s != 0; s++) {
    if (*s < '0' || *s > '9')
      return 0;
    v = v * 10 + (uint64_t)(*s - '0');
  }
  return v;
}

/* Whether text names id: a number's digits, or a UUID in either case. */
static bool spells(const char *text, task_id_t id) {
  char canonical[TASK_ID_TEXT_MAX];
  if (!task_id_is_uuid(id))
    return id.hi == 0 && digits_value(text) == id.lo;
  task_id_format(id, canonical);
  return strlen(text) == strlen(canonical) && strcasecmp(text, canonical) == 0;
}

static void check_request(uint64_t task_id) {
  size_t len = 0;
  char *body = request_report(KEY, task_id, &len);
  CHECK(body != NULL && strlen(body) == len);
  char err[128];
  yajl_val root = yajl_tree_parse(body, err, sizeof(err));
  CHECK(root != NULL && YAJL_IS_OBJECT(root));
  CHECK(root->u.object.len == 2);
  const char *key_path[] = {"clientKey", NULL};
  const char *task_path[] = {"taskId", NULL};
  yajl_val key = yajl_tree_get(root, key_path, yajl_t_string);
  yajl_val task = yajl_tree_get(root, task_path, yajl_t_number);
  CHECK(key != NULL && strcmp(YAJL_GET_STRING(key), KEY) == 0);
  CHECK(task != NULL && YAJL_IS_INTEGER(task));
  CHECK((uint64_t)YAJL_GET_INTEGER(task) == task_id);
  yajl_tree_free(root);
  secret_free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const int severities[] = {NOTIF_FAILURE, NOTIF_WARNING, NOTIF_OKAY, 0};
  if (size < 1)
    return 0;
  const uint8_t *p = data + 1, *end = data + size;
  uint8_t flags = data[0];

  notification_t n;
  memset(&n, 0, sizeof(n));
  n.severity = severities[flags & 3];
  n.time = (flags & 8) ? 0 : ((cdtime_t)1700000000 << 30);
  snprintf(n.message, sizeof(n.message), "fuzz");
  next_field(&p, end, n.plugin, sizeof(n.plugin));
  next_field(&p, end, n.plugin_instance, sizeof(n.plugin_instance));
  next_field(&p, end, n.type, sizeof(n.type));
  next_field(&p, end, n.type_instance, sizeof(n.type_instance));

  notification_meta_t meta[MAX_META];
  char values[MAX_META][256];
  size_t num_meta = 0;
  while (p < end && num_meta < MAX_META) {
    char entry[DATA_MAX_NAME_LEN + 256];
    next_field(&p, end, entry, sizeof(entry));
    notification_meta_t *m = &meta[num_meta];
    memset(m, 0, sizeof(*m));
    char *eq = strchr(entry, '=');
    if (eq != NULL)
      *eq = 0;
    snprintf(m->name, sizeof(m->name), "%s", entry);
    snprintf(values[num_meta], sizeof(values[num_meta]), "%s",
             eq != NULL ? eq + 1 : "");
    /* Flag bit 5: a non-string meta entry, which must be ignored. */
    m->type =
        (flags & 32) && num_meta == 0 ? NM_TYPE_SIGNED_INT : NM_TYPE_STRING;
    if (m->type == NM_TYPE_STRING)
      m->nm_value.nm_string = values[num_meta];
    else
      m->nm_value.nm_signed_int = 42;
    if (num_meta > 0)
      meta[num_meta - 1].next = m;
    num_meta++;
  }
  n.meta = num_meta > 0 ? &meta[0] : NULL;

  bool two = (flags & 4) != 0;
  account_names_t accounts =
      two ? (account_names_t){two_names, 2} : (account_names_t){one_name, 1};
  /* With one account only the rules for account 0 exist. */
  size_t num_rules = two ? 3 : 1;
  if (!two)
    rules[2].account = 0;

  report_request_t req;
  char why[160];
  memset(why, 'X', sizeof(why));
  match_result_t r =
      report_match(&n, rules, num_rules, accounts, &req, why, sizeof(why));
  CHECK(memchr(why, 0, sizeof(why)) != NULL);
  switch (r) {
  case MATCH_NOT_OURS:
  case MATCH_NO_REPORT:
    break;
  case MATCH_INVALID:
    CHECK(why[0] != 0);
    break;
  case MATCH_REPORT: {
    CHECK(task_id_is_uuid(req.task_id) ||
          (req.task_id.lo >= 1 && req.task_id.lo <= (uint64_t)INT64_MAX));
    CHECK(req.account < accounts.count);
    CHECK(req.method < REPORT_METHOD_COUNT);
    /* There is no correct-hCaptcha report: only FAILURE asks for one. */
    if (strcmp(n.plugin, "anticaptcha") == 0 && strcmp(n.type, "hcaptcha") == 0)
      CHECK(req.method == REPORT_INCORRECT_HCAPTCHA &&
            n.severity == NOTIF_FAILURE);
    CHECK(req.completed == n.time && n.time != 0);
    /* The id is spelled by one of the fields: digits only, or a UUID. */
    bool found = spells(n.type_instance, req.task_id) ||
                 spells(n.plugin_instance, req.task_id);
    for (size_t i = 0; i < num_meta && !found; i++)
      found = meta[i].type == NM_TYPE_STRING &&
              spells(meta[i].nm_value.nm_string, req.task_id);
    CHECK(found);
    if (!task_id_is_uuid(req.task_id))
      check_request(req.task_id.lo);
    break;
  }
  default:
    CHECK(!"unknown match result");
  }

  /* The task id parser on its own, on raw bytes. */
  char raw[64];
  size_t rn = size - 1 < sizeof(raw) - 1 ? size - 1 : sizeof(raw) - 1;
  memcpy(raw, data + 1, rn);
  raw[rn] = 0;
  task_id_t id;
  if (task_id_parse(raw, &id) == 0)
    CHECK(spells(raw, id) &&
          (task_id_is_uuid(id) || (id.lo >= 1 && id.lo <= INT64_MAX)));
  return 0;
}

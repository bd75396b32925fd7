/* The report-rate guard's glue: lock, clock, log once. */
#include "reports/report_limit.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_complain.h"
#include "collectd/core/utils/common/common.h"

#include <pthread.h>

#include "model/spending.h"
#include "reports/report_guard.h"
#include "util/mono_time.h"

struct report_limit_s {
  const account_t *acct;
  pthread_mutex_t lock; /* guards everything below */
  guard_window_t window;
  c_complain_t complaint;
};

/* Without the total, a kind of report with no queue of its kind polled has
 * no tasks to be measured against: say so once, at start. */
static void warn_unmeasured(const account_t *a) {
  static const char *const kinds[GUARD_FAMILIES] = {
      [GUARD_RECAPTCHA] = "reCAPTCHA",
      [GUARD_IMAGE] = "image",
      [GUARD_HCAPTCHA] = "hCaptcha"};
  bool polled[GUARD_FAMILIES] = {false};
  char slug[SPENDING_SLUG_MAX + 1];
  if (a->total)
    return;
  for (size_t i = 0; i < a->num_queues; i++) {
    int f = spending_slug(a->queues[i], slug, sizeof(slug)) == 0
                ? guard_family_of_slug(slug)
                : -1;
    if (f >= 0)
      polled[f] = true;
  }
  for (int f = 0; f < GUARD_FAMILIES; f++)
    if (!polled[f])
      WARNING("anticaptcha plugin: Account \"%s\": option "
              "\"IncorrectReportShare\": no %s queue is polled and Total is "
              "false, so %s reports are never withheld; add such a Queue or "
              "set Total true.",
              a->name, kinds[f], kinds[f]);
}

report_limit_t *limit_create(const account_t *a) {
  report_limit_t *l = calloc(1, sizeof(*l));
  if (l == NULL)
    return NULL;
  l->acct = a;
  pthread_mutex_init(&l->lock, NULL);
  guard_window_init(&l->window);
  C_COMPLAIN_INIT(&l->complaint);
  warn_unmeasured(a);
  return l;
}

void limit_destroy(report_limit_t *l) {
  if (l == NULL)
    return;
  pthread_mutex_destroy(&l->lock);
  free(l);
}

/* The last 24 hours are measured on the monotonic clock: a step of the wall
 * clock neither forgets the reports counted nor counts them twice. */
static int64_t now_seconds(void) {
  return (int64_t)CDTIME_T_TO_TIME_T(mono_now());
}

bool limit_admit(report_limit_t *l, const report_request_t *req) {
  int f = guard_family(req->method);
  if (l == NULL || f < 0)
    return true;
  int64_t now = now_seconds();
  pthread_mutex_lock(&l->lock);
  bool ok = guard_allows(&l->window, f, l->acct->incorrect_share, now);
  if (ok) {
    guard_record(&l->window, f, now, 1);
    c_release(LOG_INFO, &l->complaint,
              "anticaptcha plugin: Account \"%s\": incorrect reports are "
              "within IncorrectReportShare again; sending them.",
              l->acct->name);
  } else {
    char id[TASK_ID_TEXT_MAX];
    c_complain_once(
        LOG_WARNING, &l->complaint,
        "anticaptcha plugin: Account \"%s\": %s for task %s withheld: "
        "it would take incorrect reports past IncorrectReportShare %g%% of "
        "the last 24 hours' %.0f tasks (the vendor ignores accounts that "
        "report abnormally often). Withheld reports are counted as "
        "\"withheld\"; raise the share or check what raises the reports.",
        l->acct->name, report_method_name(req->method),
        task_id_format(req->task_id, id), l->acct->incorrect_share,
        l->window.tasks[f]);
  }
  pthread_mutex_unlock(&l->lock);
  return ok;
}

void limit_undo(report_limit_t *l, const report_request_t *req) {
  int f = guard_family(req->method);
  if (l == NULL || f < 0)
    return;
  pthread_mutex_lock(&l->lock);
  guard_record(&l->window, f, now_seconds(), -1);
  pthread_mutex_unlock(&l->lock);
}

void limit_tasks(report_limit_t *l, const char *const *slugs,
                 const double *volumes, const bool *ok, size_t n,
                 long total_index) {
  if (l == NULL)
    return;
  pthread_mutex_lock(&l->lock);
  guard_update_tasks(&l->window, slugs, volumes, ok, n, total_index);
  pthread_mutex_unlock(&l->lock);
}

/* The state file's glue: where it lives and whether it may be trusted,
 * reading it at init and restoring what it holds; the writing is
 * state_saver's, on a thread of its own. */
#include "state/state_store.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/utils/common/common.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <unistd.h>

#include "state/state_journal.h"
#include "state/state_saver.h"
#include "util/mono_time.h"

struct state_store_s {
  char path[PATH_MAX];
  int lock_fd; /* "<path>.lock", locked for as long as collectd runs */
  const plugin_config_t *cfg;
  report_sender_t *sender;
  state_saver_t *saver; /* the series' last hours too */
  pthread_mutex_t lock; /* guards open */
  bool open;
};

/* One collectd per state file: a second one (`collectd -T` beside the
 * daemon, two daemons sharing a BaseDir) would send the same pending
 * reports again. Returns 0 when this process has the file to itself. */
static int take_lock(state_store_t *store) {
  char lock[PATH_MAX + 8];
  snprintf(lock, sizeof(lock), "%s.lock", store->path);
  store->lock_fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (store->lock_fd >= 0 && flock(store->lock_fd, LOCK_EX | LOCK_NB) == 0)
    return 0;
  char why[128];
  if (store->lock_fd >= 0 && errno == EWOULDBLOCK)
    sstrncpy(why, "another collectd uses it", sizeof(why));
  else
    snprintf(why, sizeof(why), "cannot open its lock file (.lock): %s",
             STRERRNO);
  WARNING("anticaptcha plugin: the state file \"%s\" is not used: %s. "
          "Nothing is restored or saved by this collectd; give each collectd "
          "its own StateFile, in a directory it may write.",
          store->path, why);
  if (store->lock_fd >= 0)
    close(store->lock_fd);
  store->lock_fd = -1;
  return -1;
}

/* Another user who may write the file or its directory could plant a state
 * (reports sent with the account's key) or hold the lock. */
static int check_trust(const state_store_t *store) {
  char why[256];
  if (state_journal_check(store->path, why, sizeof(why)) == 0)
    return 0;
  WARNING("anticaptcha plugin: the state file \"%s\" is not used: %s. "
          "Nothing is restored or saved by this collectd; keep it in a "
          "directory owned by collectd's user that no one else may write "
          "(chmod go-w), or set StateFile.",
          store->path, why);
  return -1;
}

/* A relative StateFile is taken under BaseDir, said in full in the log. */
static int set_path(state_store_t *store, const plugin_config_t *cfg) {
  const char *file = cfg->state_file ? cfg->state_file : DEFAULT_STATE_FILE;
  const char *base = global_option_get("BaseDir");
  int n = (file[0] == '/' || base == NULL || base[0] == 0)
              ? snprintf(store->path, sizeof(store->path), "%s", file)
              : snprintf(store->path, sizeof(store->path), "%s/%s", base, file);
  return (n > 0 && (size_t)n + 8 < sizeof(store->path)) ? 0 : -1;
}

/* ---- Reading ---- */

/* Hands one account's reports and task ids to the sender; counts the
 * reports queued and expired, and the ids still remembered. */
static void restore_account(state_store_t *store, const state_account_t *a,
                            size_t account, size_t *queued, size_t *expired,
                            size_t *seen) {
  /* Reports first: their task ids are in the seen list too, and a report
   * finds its id remembered only if it came again meanwhile. */
  for (size_t k = 0; k < a->num_reports; k++) {
    const state_report_t *r = &a->reports[k];
    /* An attempt made before the restart may have got through: a "no such
     * task" answer then is not a refusal. The sender clamps the time and
     * sets the deadline, as for a notification. */
    report_job_t job = {.req = {.account = account,
                                .method = r->method,
                                .task_id = r->task_id,
                                .completed = cdtime_from_ms(r->completed_ms)},
                        .attempts = r->attempts,
                        .maybe_delivered = r->attempts > 0};
    /* With a hub pair, the peer sent this hub's share while it was down:
     * "already reported" is then the peer's work, not a refusal. */
    job.req.takeover = store->cfg->pair_peer != NULL;
    submit_result_t res = sender_restore_job(store->sender, &job);
    *queued += res == SUBMIT_QUEUED;
    *expired += res == SUBMIT_EXPIRED;
  }
  cdtime_t now = cdtime();
  for (size_t k = 0; k < a->num_seen; k++) {
    cdtime_t expires = cdtime_from_ms(a->seen[k].expires_ms);
    if (expires > now) {
      sender_restore_seen(store->sender, account, a->seen[k].task_id, expires);
      (*seen)++;
    }
  }
}

static void restore(state_store_t *store, state_t *file) {
  size_t queued = 0, expired = 0, seen = 0, unknown = file->num_accounts;
  for (size_t i = 0; i < store->cfg->num_accounts; i++) {
    const state_account_t *a = state_find(file, store->cfg->names[i]);
    if (a == NULL)
      continue;
    unknown--;
    restore_account(store, a, i, &queued, &expired, &seen);
    for (size_t k = 0; k < a->num_series; k++)
      state_saver_series_set(store->saver, a->name, a->series[k].slug,
                             a->series[k].last_till);
  }
  INFO("anticaptcha plugin: state file \"%s\" read: %zu report(s) resumed, "
       "%zu past their window (counted as expired), %zu task id(s) "
       "remembered%s.",
       store->path, queued, expired, seen,
       unknown > 0 ? "; accounts no longer configured are forgotten" : "");
}

/* Reads the file and restores what it holds; a file that cannot be used is
 * a clean start. What a file may hold: what the options allow at most. */
static void load(state_store_t *store) {
  char why[256];
  bool missing;
  state_t file;
  state_caps_t caps = {
      .reports = QUEUE_LIMIT_MAX + MAX_IN_FLIGHT_MAX,
      .seen = REPORT_SEEN_MAX,
      .now_ms = (int64_t)CDTIME_T_TO_MS(cdtime()),
      .window_ms = (int64_t)CDTIME_T_TO_MS(store->cfg->window),
  };
  state_read_t status =
      state_journal_read(store->path, &caps, &file, &missing, why, sizeof(why));
  if (status == STATE_READ_TORN)
    INFO("anticaptcha plugin: state file \"%s\": %s.", store->path, why);
  if (status != STATE_READ_DAMAGED) {
    restore(store, &file);
    state_free(&file);
  } else if (!missing) {
    WARNING("anticaptcha plugin: ignoring the state file \"%s\": %s. "
            "Starting clean: reports pending before the restart are lost "
            "and recent hours may be dispatched again. It is replaced at "
            "the next write.",
            store->path, why);
  } else {
    INFO("anticaptcha plugin: no state file \"%s\" yet; starting clean.",
         store->path);
  }
}

/* ---- The API ---- */

static void store_free(state_store_t *store) {
  state_saver_free(store->saver);
  if (store->lock_fd >= 0)
    close(store->lock_fd); /* releases the lock */
  pthread_mutex_destroy(&store->lock);
  free(store);
}

static state_store_t *store_new(const plugin_config_t *cfg,
                                report_sender_t *sender) {
  state_store_t *store = calloc(1, sizeof(*store));
  if (store == NULL)
    return NULL;
  pthread_mutex_init(&store->lock, NULL);
  store->lock_fd = -1;
  store->cfg = cfg;
  store->sender = sender;
  if (set_path(store, cfg) != 0 ||
      (store->saver = state_saver_new(
           store->path, (state_names_t){cfg->names, cfg->num_accounts},
           sender)) == NULL) {
    ERROR("anticaptcha plugin: option \"StateFile\": the path is too long "
          "or memory ran out; no state is kept.");
    store_free(store);
    return NULL;
  }
  return store;
}

state_store_t *state_store_open(const plugin_config_t *cfg,
                                report_sender_t *sender) {
  if (cfg->state_file_off)
    return NULL;
  state_store_t *store = store_new(cfg, sender);
  if (store == NULL)
    return NULL;
  if (check_trust(store) != 0 || take_lock(store) != 0) {
    store_free(store);
    return NULL;
  }
  int left = state_journal_clean(store->path);
  if (left > 0)
    INFO("anticaptcha plugin: removed %d temporary file(s) of the state file "
         "\"%s\" left by a crash.",
         left, store->path);
  load(store);
  if (state_saver_start(store->saver) != 0) {
    store_free(store);
    return NULL;
  }
  store->open = true;
  sender_keep_pending(sender);
  sender_set_checkpoint(sender, state_saver_checkpoint, store->saver,
                        STATE_WRITE_INTERVAL);
  return store;
}

void state_store_close(state_store_t *store) {
  if (store == NULL || !store->open)
    return;
  state_saver_stop(store->saver); /* the last write */
  pthread_mutex_lock(&store->lock);
  store->open = false;
  pthread_mutex_unlock(&store->lock);
  close(store->lock_fd); /* releases the lock */
  store->lock_fd = -1;
}

void state_store_destroy(state_store_t *store) {
  if (store == NULL)
    return;
  state_store_close(store);
  store_free(store);
}

/* Once closed, the series are no one's: 0 and nothing. */
static bool is_open(state_store_t *store) {
  pthread_mutex_lock(&store->lock);
  bool open = store->open;
  pthread_mutex_unlock(&store->lock);
  return open;
}

int64_t state_store_series_last(state_store_t *store, const char *account,
                                const char *slug) {
  return store != NULL && is_open(store)
             ? state_saver_series_last(store->saver, account, slug)
             : 0;
}

void state_store_series_set(state_store_t *store, const char *account,
                            const char *slug, int64_t last_till) {
  if (store != NULL && is_open(store))
    state_saver_series_set(store->saver, account, slug, last_till);
}

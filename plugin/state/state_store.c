/* The state file's glue: where it lives and whether it may be trusted,
 * reading it at init and restoring what it holds, and writing it on a
 * thread of its own: what changed, appended every STATE_WRITE_INTERVAL, and
 * the whole state now and then (state_journal.h). */
#include "state/state_store.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_complain.h"
#include "collectd/core/utils/common/common.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <unistd.h>

#include "state/state_batch.h"
#include "state/state_journal.h"

/* The whole state is written again once what was appended since is twice
 * its size (and at least this much): the file stays within three times
 * what is remembered, and a write costs what changed, times 1.5. */
#define APPEND_FLOOR ((uint64_t)1 << 20)

/* WORK_TAKING: the worker is taking it from the sender. */
typedef enum { WORK_NONE, WORK_TAKING, WORK_CHANGES, WORK_WHOLE } work_t;

struct state_store_s {
  pthread_mutex_t lock; /* guards the fields up to `thread` */
  pthread_cond_t cond;
  bool open;
  state_t series;           /* per account, the last hourly record per series */
  state_t series_changed;   /* those set since the last write */
  work_t work;              /* handed to the writer, which empties it */
  bool stop, whole_next;    /* whole_next: the next write is the whole state */
  sender_changes_t changes; /* the work: changes, or a snapshot */
  sender_snapshot_t snap;
  state_t series_work;

  /* The writer thread's own (the closing thread's once it has ended). */
  pthread_t thread;
  bool started;
  state_journal_t *journal;
  state_writer_t *frame; /* a frame's records, kept in memory */
  state_batch_t *batch;
  c_complain_t write_failed;

  char path[PATH_MAX];
  int lock_fd; /* "<path>.lock", locked for as long as collectd runs */
  const plugin_config_t *cfg;
  report_sender_t *sender;
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
    cdtime_t completed = MS_TO_CDTIME_T((uint64_t)r->completed_ms);
    /* An attempt made before the restart may have got through: a "no such
     * task" answer then is not a refusal. */
    report_job_t job = {.req = {.account = account,
                                .method = r->method,
                                .task_id = r->task_id,
                                .completed = completed},
                        .deadline = completed + store->cfg->window,
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
    cdtime_t expires = MS_TO_CDTIME_T((uint64_t)a->seen[k].expires_ms);
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
    state_account_t *mine = state_account(&store->series, a->name);
    for (size_t k = 0; mine != NULL && k < a->num_series; k++)
      state_set_series(mine, a->series[k].slug, a->series[k].last_till);
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

/* ---- Writing ---- */

static state_names_t names_of(const state_store_t *store) {
  return (state_names_t){store->cfg->names, store->cfg->num_accounts};
}

/* Every series of from into to (emptied first). */
static void copy_series(const state_t *from, state_t *to) {
  state_free(to);
  for (size_t i = 0; i < from->num_accounts; i++) {
    state_account_t *a = state_account(to, from->accounts[i].name);
    for (size_t k = 0; a != NULL && k < from->accounts[i].num_series; k++)
      state_set_series(a, from->accounts[i].series[k].slug,
                       from->accounts[i].series[k].last_till);
  }
}

/* The whole state, in place of the file. */
static int write_whole(state_store_t *store) {
  if (sender_copy_seen(store->sender, &store->snap) != 0)
    return errno = ENOMEM, -1;
  if (state_journal_begin(store->journal) != 0)
    return -1;
  state_writer_t *w = state_writer_new(state_journal_out, store->journal);
  int status =
      w == NULL
          ? -1
          : state_batch_snapshot(store->batch, w, names_of(store),
                                 &store->series_work, &store->snap, cdtime());
  state_writer_free(w);
  if (status != 0) {
    state_journal_abort(store->journal);
    errno = errno != 0 ? errno : ENOMEM;
    return -1;
  }
  return state_journal_commit(store->journal);
}

/* What changed, as one frame appended to the file. */
static int write_changes(state_store_t *store) {
  size_t len, head_len;
  state_writer_clear(store->frame);
  if (state_batch_changes(store->batch, store->frame, names_of(store),
                          &store->series_work, &store->changes) != 0)
    return errno = ENOMEM, -1;
  const char *body = state_writer_text(store->frame, &len);
  if (len == 0)
    return 0;
  state_writer_t *head = state_writer_new(NULL, NULL);
  if (head == NULL || state_write_frame(head, len) != 0) {
    state_writer_free(head);
    return errno = ENOMEM, -1;
  }
  const char *text = state_writer_text(head, &head_len);
  int status = state_journal_append(store->journal, text, head_len, body, len);
  state_writer_free(head);
  return status;
}

/* Whether the next write is the whole state: after a failure, or once the
 * appended part outweighs it. */
static bool whole_due(const state_store_t *store, int status) {
  const state_journal_t *j = store->journal;
  uint64_t whole = state_journal_snapshot_size(j);
  uint64_t appended = state_journal_size(j) - whole;
  return status != 0 || !state_journal_appendable(j) ||
         appended > (2 * whole > APPEND_FLOOR ? 2 * whole : APPEND_FLOOR);
}

/* Writes the work taken, then frees it; returns whether the next write
 * is the whole state. On the writer thread (or the closing one, once the
 * writer has ended). */
static bool do_work(state_store_t *store, work_t work) {
  errno = 0;
  int status = 0;
  if (work == WORK_WHOLE)
    status = write_whole(store);
  else if (state_journal_appendable(store->journal))
    status = write_changes(store);
  /* else: the last write failed, the next replaces the file */
  if (status != 0)
    c_complain(LOG_ERR, &store->write_failed,
               "anticaptcha plugin: cannot write the state file \"%s\": %s. "
               "A restart would lose the pending reports and re-dispatch "
               "hours; check the directory's permissions and free space, or "
               "set StateFile.",
               store->path, STRERRNO);
  else
    c_release(LOG_INFO, &store->write_failed,
              "anticaptcha plugin: the state file \"%s\" is written again.",
              store->path);
  sender_snapshot_free(&store->snap);
  sender_changes_clear(&store->changes);
  state_free(&store->series_work);
  return whole_due(store, status);
}

static void *writer_main(void *arg) {
  state_store_t *store = arg;
  pthread_mutex_lock(&store->lock);
  for (;;) {
    while ((store->work == WORK_NONE && !store->stop) ||
           store->work == WORK_TAKING)
      pthread_cond_wait(&store->cond, &store->lock);
    if (store->work == WORK_NONE)
      break;
    work_t work = store->work;
    pthread_mutex_unlock(&store->lock);
    bool whole = do_work(store, work);
    pthread_mutex_lock(&store->lock);
    store->whole_next = store->whole_next || whole;
    store->work = WORK_NONE;
    pthread_cond_broadcast(&store->cond);
  }
  pthread_mutex_unlock(&store->lock);
  return NULL;
}

/* Takes from the sender what is to be written: cheap (a swap of logs, or a
 * copy of what it holds), so that no one waits for the disk. Called with
 * the work marked WORK_TAKING (its fields are the caller's), without the
 * lock. Returns the work, or WORK_NONE. */
static work_t take(state_store_t *store, bool whole) {
  if (!whole) {
    sender_take_changes(store->sender, &store->changes);
    if (store->changes.lost) {
      sender_changes_clear(&store->changes);
      whole = true;
    }
  }
  if (whole && sender_take_snapshot(store->sender, &store->snap) != 0) {
    pthread_mutex_lock(&store->lock);
    store->whole_next = true; /* out of memory: the next try */
    pthread_mutex_unlock(&store->lock);
    return WORK_NONE;
  }
  pthread_mutex_lock(&store->lock);
  if (whole) {
    copy_series(&store->series, &store->series_work);
    store->whole_next = false;
  } else {
    state_t swap = store->series_work;
    store->series_work = store->series_changed;
    store->series_changed = swap;
  }
  state_free(&store->series_changed);
  pthread_mutex_unlock(&store->lock);
  if (!whole && store->changes.count == 0 &&
      store->series_work.num_accounts == 0)
    return WORK_NONE;
  return whole ? WORK_WHOLE : WORK_CHANGES;
}

/* Marks the work taken, or returns false when the writer is at the last. */
static bool begin_take(state_store_t *store, bool *whole) {
  pthread_mutex_lock(&store->lock);
  bool idle = store->work == WORK_NONE && !store->stop;
  if (idle)
    store->work = WORK_TAKING;
  *whole = store->whole_next;
  pthread_mutex_unlock(&store->lock);
  return idle;
}

static void hand_over(state_store_t *store, work_t work) {
  pthread_mutex_lock(&store->lock);
  store->work = work;
  pthread_cond_broadcast(&store->cond);
  pthread_mutex_unlock(&store->lock);
}

/* On the report worker, every STATE_WRITE_INTERVAL: while the writer is
 * still at the last write, the changes wait in the sender. */
static void checkpoint(void *ud) {
  state_store_t *store = ud;
  bool whole;
  if (begin_take(store, &whole))
    hand_over(store, take(store, whole));
}

/* ---- The API ---- */

static void store_free(state_store_t *store) {
  if (store->lock_fd >= 0)
    close(store->lock_fd); /* releases the lock */
  state_free(&store->series);
  state_free(&store->series_changed);
  state_free(&store->series_work);
  sender_changes_free(&store->changes);
  sender_snapshot_free(&store->snap);
  state_journal_free(store->journal);
  state_writer_free(store->frame);
  state_batch_free(store->batch);
  pthread_cond_destroy(&store->cond);
  pthread_mutex_destroy(&store->lock);
  free(store);
}

static state_store_t *store_new(const plugin_config_t *cfg,
                                report_sender_t *sender) {
  state_store_t *store = calloc(1, sizeof(*store));
  if (store == NULL)
    return NULL;
  pthread_mutex_init(&store->lock, NULL);
  pthread_cond_init(&store->cond, NULL);
  store->lock_fd = -1;
  store->cfg = cfg;
  store->sender = sender;
  store->whole_next = true; /* the first write: what was restored */
  state_init(&store->series);
  state_init(&store->series_changed);
  state_init(&store->series_work);
  C_COMPLAIN_INIT(&store->write_failed);
  if (set_path(store, cfg) != 0 ||
      (store->journal = state_journal_new(store->path)) == NULL ||
      (store->frame = state_writer_new(NULL, NULL)) == NULL ||
      (store->batch = state_batch_new()) == NULL) {
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
  load(store);
  int status = plugin_thread_create(&store->thread, writer_main, store,
                                    "anticaptcha sta");
  if (status != 0) {
    ERROR("anticaptcha plugin: cannot start the state file's writer: %s; "
          "no state is kept.",
          STRERROR(status));
    store_free(store);
    return NULL;
  }
  store->started = true;
  store->open = true;
  sender_keep_pending(sender);
  sender_set_checkpoint(sender, checkpoint, store, STATE_WRITE_INTERVAL);
  return store;
}

void state_store_close(state_store_t *store) {
  if (store == NULL || !store->open)
    return;
  /* The writer finishes what it has; the last write is this thread's
   * (sender_stop() moved what was in flight, and the worker has ended). */
  pthread_mutex_lock(&store->lock);
  while (store->work != WORK_NONE)
    pthread_cond_wait(&store->cond, &store->lock);
  store->stop = true;
  bool whole = store->whole_next;
  pthread_cond_broadcast(&store->cond);
  pthread_mutex_unlock(&store->lock);
  if (store->started)
    pthread_join(store->thread, NULL);
  store->started = false;
  work_t work = take(store, whole);
  if (work != WORK_NONE)
    do_work(store, work);
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

int64_t state_store_series_last(state_store_t *store, const char *account,
                                const char *slug) {
  if (store == NULL)
    return 0;
  pthread_mutex_lock(&store->lock);
  int64_t t = store->open
                  ? state_series_last(state_find(&store->series, account), slug)
                  : 0;
  pthread_mutex_unlock(&store->lock);
  return t;
}

void state_store_series_set(state_store_t *store, const char *account,
                            const char *slug, int64_t last_till) {
  if (store == NULL)
    return;
  pthread_mutex_lock(&store->lock);
  state_account_t *a =
      store->open ? state_account(&store->series, account) : NULL;
  if (a != NULL && last_till > state_series_last(a, slug) &&
      state_set_series(a, slug, last_till) == 0) {
    state_account_t *changed = state_account(&store->series_changed, account);
    if (changed == NULL || state_set_series(changed, slug, last_till) != 0)
      store->whole_next = true; /* out of memory: the next write has it */
  }
  pthread_mutex_unlock(&store->lock);
}

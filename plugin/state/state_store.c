/* The state file's glue: where it lives, reading it at init, restoring what
 * it holds, and writing it atomically (temporary file, fsync, rename). */
#include "state/state_store.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_complain.h"
#include "collectd/core/utils/common/common.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <unistd.h>

#include "state/state_file.h"

struct state_store_s {
  pthread_mutex_t lock; /* guards series and open */
  bool open;
  char path[PATH_MAX];
  int lock_fd; /* "<path>.lock", locked for as long as collectd runs */
  const plugin_config_t *cfg;
  report_sender_t *sender;
  state_t series; /* per account, the last hourly record of each series */
  uint64_t series_changes;
  /* What the file holds: the writer's own (worker, then shutdown). */
  bool written;
  uint64_t written_jobs, written_series;
  c_complain_t write_failed;
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

/* The whole file, malloc'd; NULL with *why set ("" when there is none). */
static char *read_file(const state_store_t *store, size_t *len, char *why,
                       size_t size) {
  /* O_NONBLOCK: a FIFO put there must not hang collectd's start. */
  int fd = open(store->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  why[0] = 0;
  if (fd < 0) {
    if (errno == ELOOP)
      snprintf(why, size, "it is a symbolic link, not a regular file");
    else if (errno != ENOENT)
      snprintf(why, size, "cannot open it: %s", STRERRNO);
    return NULL;
  }
  char *buf = NULL;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    snprintf(why, size, "it is not a regular file");
  else if ((size_t)st.st_size > STATE_FILE_MAX_BYTES)
    snprintf(why, size, "it is larger than %zu bytes", STATE_FILE_MAX_BYTES);
  else if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
    snprintf(why, size, "out of memory");
  else {
    ssize_t n = read(fd, buf, (size_t)st.st_size + 1);
    if (n < 0 || (size_t)n != (size_t)st.st_size) {
      snprintf(why, size, "reading it failed: %s",
               n < 0 ? STRERRNO : "it changed while read");
      sfree(buf);
    }
    *len = (size_t)st.st_size;
  }
  close(fd);
  return buf;
}

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

/* ---- Writing ---- */

static void fsync_dir(const char *path) {
  char dir[PATH_MAX];
  sstrncpy(dir, path, sizeof(dir));
  char *slash = strrchr(dir, '/');
  if (slash == NULL)
    sstrncpy(dir, ".", sizeof(dir));
  else
    slash[slash == dir ? 1 : 0] = 0;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd); /* makes the rename durable */
    close(fd);
  }
}

/* Writing streams the state into the file as it is read from the sender:
 * the remembered task ids (60 s of reports, maybe a million) are never
 * copied, so memory stays flat whatever the report rate. */
typedef struct {
  state_writer_t *w;
  size_t account;
} cursor_t;

static void out_file(void *ctx, const char *text, size_t len) {
  fwrite(text, 1, len, ctx); /* errors: ferror() below */
}

static void write_job(const report_job_t *job, void *ud) {
  cursor_t *c = ud;
  if (job->req.account == c->account)
    state_writer_report(
        c->w, &(state_report_t){.task_id = job->req.task_id,
                                .method = job->req.method,
                                .completed_ms =
                                    (int64_t)CDTIME_T_TO_MS(job->req.completed),
                                .attempts = job->attempts});
}

static void write_seen(const seen_entry_t *e, void *ud) {
  cursor_t *c = ud;
  if (e->account == c->account)
    state_writer_seen(
        c->w,
        &(state_seen_t){.task_id = e->task_id,
                        .expires_ms = (int64_t)CDTIME_T_TO_MS(e->expires)});
}

static void write_series(state_store_t *store, state_writer_t *w,
                         const char *account) {
  pthread_mutex_lock(&store->lock);
  const state_account_t *a = state_find(&store->series, account);
  for (size_t k = 0; a != NULL && k < a->num_series; k++)
    state_writer_series(w, a->series[k].slug, a->series[k].last_till);
  pthread_mutex_unlock(&store->lock);
}

/* The whole state into f. Returns 0 or -1. */
static int write_state(state_store_t *store, FILE *f) {
  state_writer_t *w = state_writer_new(out_file, f);
  if (w == NULL)
    return -1;
  cdtime_t now = cdtime();
  for (size_t i = 0; i < store->cfg->num_accounts; i++) {
    cursor_t c = {.w = w, .account = i};
    state_writer_account(w, store->cfg->names[i]);
    sender_each_job(store->sender, write_job, &c);
    sender_each_seen(store->sender, now, write_seen, &c);
    write_series(store, w, store->cfg->names[i]);
  }
  int status = state_writer_finish(w);
  state_writer_free(w);
  return status;
}

/* Writes the state to a temporary file beside the state file, syncs it and
 * renames it over the state file: a crash leaves the old file or the new
 * one, never half of one. Returns 0, or -1 with errno set. */
static int write_atomically(state_store_t *store) {
  char tmp[PATH_MAX + 8];
  snprintf(tmp, sizeof(tmp), "%s.tmp", store->path);
  int fd =
      open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return -1;
  /* A temporary file left by another user's run keeps its mode: not ours. */
  FILE *f = fchmod(fd, 0600) == 0 ? fdopen(fd, "w") : NULL;
  if (f == NULL) {
    int saved = errno;
    close(fd);
    unlink(tmp);
    errno = saved;
    return -1;
  }
  errno = 0;
  int status = write_state(store, f);
  if (fflush(f) != 0 || ferror(f))
    status = -1;
  if (status == 0 && fsync(fd) != 0)
    status = -1;
  int saved = errno != 0 ? errno : EIO;
  if (fclose(f) != 0 && status == 0)
    status = -1, saved = errno;
  if (status == 0 && rename(tmp, store->path) != 0)
    status = -1, saved = errno;
  if (status != 0) {
    unlink(tmp);
    errno = saved;
    return -1;
  }
  fsync_dir(store->path);
  return 0;
}

/* Writes the state when it changed since the last write (or when forced).
 * Runs on the report worker (sender_set_checkpoint), then once after
 * sender_stop(). */
static void save(state_store_t *store, bool force) {
  pthread_mutex_lock(&store->lock);
  uint64_t series = store->series_changes;
  pthread_mutex_unlock(&store->lock);
  uint64_t jobs = sender_changes(store->sender);
  if (!force && store->written && jobs == store->written_jobs &&
      series == store->written_series)
    return;
  if (write_atomically(store) != 0) {
    c_complain(LOG_ERR, &store->write_failed,
               "anticaptcha plugin: cannot write the state file \"%s\": %s. "
               "A restart would lose the pending reports and re-dispatch "
               "hours; check the directory's permissions and free space, or "
               "set StateFile.",
               store->path, STRERRNO);
    return;
  }
  c_release(LOG_INFO, &store->write_failed,
            "anticaptcha plugin: the state file \"%s\" is written again.",
            store->path);
  store->written = true;
  store->written_jobs = jobs;
  store->written_series = series;
}

static void checkpoint(void *ud) { save(ud, false); }

/* ---- The API ---- */

static void store_free(state_store_t *store) {
  if (store->lock_fd >= 0)
    close(store->lock_fd); /* releases the lock */
  state_free(&store->series);
  pthread_mutex_destroy(&store->lock);
  free(store);
}

/* Reads the file and restores what it holds; a file that cannot be used is
 * a clean start. */
static void load(state_store_t *store) {
  char why[256];
  size_t len = 0;
  state_t file;
  char *text = read_file(store, &len, why, sizeof(why));
  if (text != NULL && state_parse(text, len, &file, why, sizeof(why)) == 0) {
    restore(store, &file);
    state_free(&file);
  } else if (why[0] != 0) {
    WARNING("anticaptcha plugin: ignoring the state file \"%s\": %s. "
            "Starting clean: reports pending before the restart are lost "
            "and recent hours may be dispatched again. It is replaced at "
            "the next write.",
            store->path, why);
  } else {
    INFO("anticaptcha plugin: no state file \"%s\" yet; starting clean.",
         store->path);
  }
  free(text);
}

state_store_t *state_store_open(const plugin_config_t *cfg,
                                report_sender_t *sender) {
  if (cfg->state_file_off)
    return NULL;
  state_store_t *store = calloc(1, sizeof(*store));
  if (store == NULL) {
    ERROR("anticaptcha plugin: cannot set up the state file (out of "
          "memory); no state is kept.");
    return NULL;
  }
  pthread_mutex_init(&store->lock, NULL);
  store->lock_fd = -1;
  store->cfg = cfg;
  store->sender = sender;
  state_init(&store->series);
  C_COMPLAIN_INIT(&store->write_failed);
  if (set_path(store, cfg) != 0) {
    ERROR("anticaptcha plugin: option \"StateFile\": the path is too long; "
          "no state is kept.");
    store_free(store);
    return NULL;
  }
  if (take_lock(store) != 0) {
    store_free(store);
    return NULL;
  }
  load(store);
  store->open = true;
  sender_keep_pending(sender);
  sender_set_checkpoint(sender, checkpoint, store, STATE_WRITE_INTERVAL);
  return store;
}

void state_store_close(state_store_t *store) {
  if (store == NULL || !store->open)
    return;
  save(store, true); /* sender_stop() moved what was in flight */
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
      state_set_series(a, slug, last_till) == 0)
    store->series_changes++;
  pthread_mutex_unlock(&store->lock);
}

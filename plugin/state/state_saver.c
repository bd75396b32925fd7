/* The state file's writer thread: what the report sender changed, taken on
 * the worker and written here (see state_saver.h). */
#include "state/state_saver.h"

#include "collectd/core/daemon/plugin.h"
#include "collectd/core/daemon/utils_complain.h"
#include "collectd/core/utils/common/common.h"

#include <pthread.h>

#include "state/state_journal.h"

/* WORK_TAKING: the worker is taking it from the sender. What a write is,
 * in order: what changed, appended; the whole state (from the pending
 * reports the batch keeps); the whole state from the sender's jobs. */
typedef enum {
  WORK_NONE,
  WORK_TAKING,
  WORK_CHANGES,
  WORK_WHOLE,
  WORK_FRESH
} work_t;

struct state_saver_s {
  pthread_mutex_t lock; /* guards the fields up to `thread` */
  pthread_cond_t cond;
  state_t series;         /* per account, the last hourly record per series */
  state_t series_changed; /* those set since the last write */
  work_t work;            /* handed to the thread, which empties it */
  bool stop;
  work_t next;              /* what the next write must be, at least */
  sender_changes_t changes; /* the work: changes, or the sender's jobs */
  sender_snapshot_t snap;
  state_t series_work;

  /* The thread's own (the stopping thread's once it has ended). */
  pthread_t thread;
  bool started;
  state_journal_t *journal;
  state_writer_t *frame, *head; /* a frame's records and header */
  state_batch_t *batch;
  c_complain_t write_failed;

  const char *path; /* the store's */
  state_names_t names;
  report_sender_t *sender;
};

static state_names_t names_of(const state_saver_t *sv) { return sv->names; }

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

/* sender_each_seen's callback, while a whole state is written. */
typedef struct {
  state_saver_t *sv;
  state_writer_t *w;
  cdtime_t now;
  int status;
} whole_t;

static void write_seen(const seen_entry_t *e, size_t n, void *ud) {
  whole_t *c = ud;
  c->status |= state_batch_snapshot_seen(c->sv->batch, c->w, names_of(c->sv), e,
                                         n, c->now);
}

/* The whole state, in place of the file: the pending reports the batch
 * keeps, and the task ids remembered walked as they are written, never
 * copied whole. */
static int write_whole(state_saver_t *sv) {
  if (state_journal_begin(sv->journal) != 0)
    return -1;
  whole_t c = {.sv = sv,
               .w = state_writer_new(state_journal_out, sv->journal),
               .now = cdtime()};
  c.status = c.w == NULL ? -1
                         : state_batch_snapshot_begin(
                               sv->batch, c.w, names_of(sv), &sv->series_work);
  if (c.status == 0)
    c.status = sender_each_seen(sv->sender, write_seen, &c);
  if (c.status == 0)
    c.status = state_batch_snapshot_end(sv->batch, c.w, names_of(sv));
  state_writer_free(c.w);
  if (c.status != 0) {
    state_journal_abort(sv->journal);
    errno = errno != 0 ? errno : ENOMEM;
    return -1;
  }
  return state_journal_commit(sv->journal);
}

/* What changed, as one frame appended to the file. */
static int write_changes(state_saver_t *sv) {
  size_t len, head_len;
  state_writer_clear(sv->frame);
  if (state_batch_changes(sv->batch, sv->frame, names_of(sv), &sv->series_work,
                          &sv->changes) != 0)
    return errno = ENOMEM, -1;
  const char *body = state_writer_text(sv->frame, &len);
  if (len == 0)
    return 0;
  state_writer_clear(sv->head);
  if (state_write_frame(sv->head, len) != 0)
    return errno = ENOMEM, -1;
  const char *head = state_writer_text(sv->head, &head_len);
  return state_journal_append(sv->journal, head, head_len, body, len);
}

/* Whether the next write is the whole state: after a failure, or once the
 * appended part is twice it, and STATE_APPEND_FLOOR: the file stays within
 * three times what is remembered and the floor, and a write costs what
 * changed, times 1.5 at most (the floor spares a small state frequent whole
 * writes). */
static bool whole_due(const state_saver_t *sv, int status) {
  const state_journal_t *j = sv->journal;
  uint64_t whole = state_journal_snapshot_size(j);
  uint64_t appended = state_journal_size(j) - whole;
  return status != 0 || !state_journal_appendable(j) ||
         appended >
             (2 * whole > STATE_APPEND_FLOOR ? 2 * whole : STATE_APPEND_FLOOR);
}

/* Brings the pending reports the batch keeps up to date: from the sender's
 * jobs (WORK_FRESH), or the changes taken with a whole write. 0, or -1 when
 * they are wrong (out of memory): the next write starts fresh. */
static int update_pending(state_saver_t *sv, work_t work) {
  if (work == WORK_FRESH)
    return state_batch_set_pending(sv->batch, &sv->snap);
  return state_batch_changes(sv->batch, NULL, names_of(sv), NULL, &sv->changes);
}

/* Writes the work taken, then empties it (keeping its memory); returns
 * what the next write must be. On the writer thread (or the stopping one,
 * once the thread has ended). */
static work_t do_work(state_saver_t *sv, work_t work) {
  errno = 0;
  int status = 0, fresh = 0;
  if (work != WORK_CHANGES || !state_journal_appendable(sv->journal))
    fresh = update_pending(sv, work);
  if (fresh == 0 && work != WORK_CHANGES)
    status = write_whole(sv);
  else if (fresh == 0 && state_journal_appendable(sv->journal))
    fresh = status = write_changes(sv) != 0 && errno == ENOMEM ? -1 : 0;
  /* else: the last write failed, the next replaces the file */
  if (status != 0 || fresh != 0)
    c_complain(LOG_ERR, &sv->write_failed,
               "anticaptcha plugin: cannot write the state file \"%s\": %s. "
               "A restart would lose the pending reports and re-dispatch "
               "hours; check the directory's permissions and free space, or "
               "set StateFile.",
               sv->path, fresh != 0 ? "out of memory" : STRERRNO);
  else
    c_release(LOG_INFO, &sv->write_failed,
              "anticaptcha plugin: the state file \"%s\" is written again.",
              sv->path);
  sv->snap.num_jobs = 0;
  sender_changes_clear(&sv->changes);
  state_free(&sv->series_work);
  if (fresh != 0)
    return WORK_FRESH;
  return whole_due(sv, status) ? WORK_WHOLE : WORK_CHANGES;
}

static void *writer_main(void *arg) {
  state_saver_t *sv = arg;
  pthread_mutex_lock(&sv->lock);
  for (;;) {
    while ((sv->work == WORK_NONE && !sv->stop) || sv->work == WORK_TAKING)
      pthread_cond_wait(&sv->cond, &sv->lock);
    if (sv->work == WORK_NONE)
      break;
    work_t work = sv->work;
    pthread_mutex_unlock(&sv->lock);
    work_t next = do_work(sv, work);
    pthread_mutex_lock(&sv->lock);
    if (next > sv->next)
      sv->next = next;
    sv->work = WORK_NONE;
    pthread_cond_broadcast(&sv->cond);
  }
  pthread_mutex_unlock(&sv->lock);
  return NULL;
}

/* Takes from the sender what is to be written: cheap (a swap of logs, or,
 * to start fresh, a copy of its pending jobs), so that no one waits for the
 * disk. `need` is what the last writes call for. Called with the work marked
 * WORK_TAKING (its fields are the caller's), without the lock. Returns the
 * work, or WORK_NONE. */
static work_t take(state_saver_t *sv, work_t need) {
  sender_take_changes(sv->sender, &sv->changes);
  if (sv->changes.lost)
    need = WORK_FRESH;
  if (need == WORK_FRESH) {
    sender_changes_clear(&sv->changes); /* in the jobs taken now */
    if (sender_take_snapshot(sv->sender, &sv->snap) != 0) {
      pthread_mutex_lock(&sv->lock);
      sv->next = WORK_FRESH; /* out of memory: the next try */
      pthread_mutex_unlock(&sv->lock);
      return WORK_NONE;
    }
  }
  pthread_mutex_lock(&sv->lock);
  if (need != WORK_CHANGES) {
    copy_series(&sv->series, &sv->series_work);
    sv->next = WORK_CHANGES;
  } else {
    state_t swap = sv->series_work;
    sv->series_work = sv->series_changed;
    sv->series_changed = swap;
  }
  state_free(&sv->series_changed);
  pthread_mutex_unlock(&sv->lock);
  if (need == WORK_CHANGES && sv->changes.count == 0 &&
      sv->series_work.num_accounts == 0)
    return WORK_NONE;
  return need;
}

/* Marks the work taken, or returns false when the writer is at the last. */
static bool begin_take(state_saver_t *sv, work_t *need) {
  pthread_mutex_lock(&sv->lock);
  bool idle = sv->work == WORK_NONE && !sv->stop;
  if (idle)
    sv->work = WORK_TAKING;
  *need = sv->next;
  pthread_mutex_unlock(&sv->lock);
  return idle;
}

static void hand_over(state_saver_t *sv, work_t work) {
  pthread_mutex_lock(&sv->lock);
  sv->work = work;
  pthread_cond_broadcast(&sv->cond);
  pthread_mutex_unlock(&sv->lock);
}

/* On the report worker, every STATE_WRITE_INTERVAL (or sooner when much
 * changed): while the writer is still at the last write, the changes wait
 * in the sender. */
void state_saver_checkpoint(void *ud) {
  state_saver_t *sv = ud;
  work_t need;
  if (begin_take(sv, &need))
    hand_over(sv, take(sv, need));
}

/* ---- The API ---- */

state_saver_t *state_saver_new(const char *path, state_names_t names,
                               report_sender_t *sender) {
  state_saver_t *sv = calloc(1, sizeof(*sv));
  if (sv == NULL)
    return NULL;
  pthread_mutex_init(&sv->lock, NULL);
  pthread_cond_init(&sv->cond, NULL);
  sv->path = path;
  sv->names = names;
  sv->sender = sender;
  sv->next = WORK_FRESH; /* the first write: what was restored */
  C_COMPLAIN_INIT(&sv->write_failed);
  if (sender_changes_reserve(&sv->changes, 2 * SENDER_CHANGES_EAGER) != 0 ||
      (sv->journal = state_journal_new(path)) == NULL ||
      (sv->frame = state_writer_new(NULL, NULL)) == NULL ||
      (sv->head = state_writer_new(NULL, NULL)) == NULL ||
      (sv->batch = state_batch_new()) == NULL) {
    state_saver_free(sv);
    return NULL;
  }
  return sv;
}

int state_saver_start(state_saver_t *sv) {
  int status =
      plugin_thread_create(&sv->thread, writer_main, sv, "anticaptcha sta");
  if (status != 0)
    ERROR("anticaptcha plugin: cannot start the state file's writer: %s; "
          "no state is kept.",
          STRERROR(status));
  sv->started = status == 0;
  return status;
}

/* What only writing needs: given back at stop, so that collectd's teardown
 * of the plugin (while its other threads may still run) is short. The
 * sender's log goes too: swapped for an empty one. */
static void release(state_saver_t *sv) {
  sender_changes_free(&sv->changes);
  if (sv->sender != NULL)
    sender_take_changes(sv->sender, &sv->changes);
  sv->sender = NULL;
  sender_changes_free(&sv->changes);
  sender_snapshot_free(&sv->snap);
  state_free(&sv->series_work);
  state_journal_free(sv->journal);
  state_writer_free(sv->frame);
  state_writer_free(sv->head);
  state_batch_free(sv->batch);
  sv->journal = NULL;
  sv->frame = sv->head = NULL;
  sv->batch = NULL;
}

void state_saver_stop(state_saver_t *sv) {
  if (!sv->started)
    return;
  pthread_mutex_lock(&sv->lock);
  while (sv->work != WORK_NONE)
    pthread_cond_wait(&sv->cond, &sv->lock);
  sv->stop = true;
  work_t need = sv->next;
  pthread_cond_broadcast(&sv->cond);
  pthread_mutex_unlock(&sv->lock);
  pthread_join(sv->thread, NULL);
  sv->started = false;
  /* The worker has ended (sender_stop() moved what was in flight). */
  work_t work = take(sv, need);
  if (work != WORK_NONE)
    do_work(sv, work);
  release(sv);
}

void state_saver_free(state_saver_t *sv) {
  if (sv == NULL)
    return;
  state_saver_stop(sv);
  release(sv);
  state_free(&sv->series);
  state_free(&sv->series_changed);
  pthread_cond_destroy(&sv->cond);
  pthread_mutex_destroy(&sv->lock);
  free(sv);
}

int64_t state_saver_series_last(state_saver_t *sv, const char *account,
                                const char *slug) {
  pthread_mutex_lock(&sv->lock);
  int64_t t = state_series_last(state_find(&sv->series, account), slug);
  pthread_mutex_unlock(&sv->lock);
  return t;
}

/* A series' hour lowered: the first hour written after a restored one from
 * the future (a clock that was ahead, a forged file; readers/reader.c). The
 * journal's records only raise an hour when read back: the whole state is
 * written next. */
static void lower_series(state_saver_t *sv, state_account_t *a,
                         const char *slug, int64_t last_till) {
  for (size_t i = 0; i < a->num_series; i++)
    if (strcmp(a->series[i].slug, slug) == 0)
      a->series[i].last_till = last_till;
  if (sv->next < WORK_WHOLE)
    sv->next = WORK_WHOLE;
}

void state_saver_series_set(state_saver_t *sv, const char *account,
                            const char *slug, int64_t last_till) {
  pthread_mutex_lock(&sv->lock);
  state_account_t *a = state_account(&sv->series, account);
  if (a != NULL && last_till >= 0 && last_till < state_series_last(a, slug))
    lower_series(sv, a, slug, last_till);
  else if (a != NULL && last_till > state_series_last(a, slug) &&
           state_set_series(a, slug, last_till) == 0) {
    state_account_t *changed = state_account(&sv->series_changed, account);
    if ((changed == NULL || state_set_series(changed, slug, last_till) != 0) &&
        sv->next < WORK_WHOLE)
      sv->next = WORK_WHOLE; /* out of memory: the next write has it */
  }
  pthread_mutex_unlock(&sv->lock);
}

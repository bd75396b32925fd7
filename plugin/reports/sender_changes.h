/* What the report sender tells the state file: the changes to its pending
 * reports and remembered task ids since the file last took them (a bounded
 * log, so that the file's cost grows with what changed), or a copy of all
 * of them (a snapshot). Pure: shared by reports/ and state/. */
#ifndef ANTICAPTCHA_SENDER_CHANGES_H
#define ANTICAPTCHA_SENDER_CHANGES_H

#include "reports/report_queue.h"

typedef enum {
  CHANGE_QUEUED,  /* a job was queued; its task id is remembered */
  CHANGE_ATTEMPT, /* a job went out (again): attempts is its new count */
  CHANGE_GONE,    /* a job left: answered, expired, refused, dropped */
} change_kind_t;

/* A job is task_id and completed together: once its task id is forgotten,
 * the same task may come again while the old job still waits to be counted
 * expired. */
typedef struct {
  task_id_t task_id;
  cdtime_t completed;
  cdtime_t expires; /* QUEUED: until when its task id is remembered */
  uint32_t account;
  uint16_t attempts; /* QUEUED, ATTEMPT */
  uint8_t kind;      /* change_kind_t */
  uint8_t method;    /* QUEUED: report_method_t */
} sender_change_t;

/* At most this many changes are kept between two takes: past it they are
 * dropped and `lost` set, and only a snapshot brings the file up to date
 * (a disk that hangs must not make collectd's memory grow). */
#define SENDER_CHANGES_MAX 262144
/* A log this long is handed over without waiting for the interval. */
#define SENDER_CHANGES_EAGER 8192

typedef struct {
  sender_change_t *items;
  size_t count, cap;
  bool lost;
} sender_changes_t;

/* Room for n changes at once (a log handed over at SENDER_CHANGES_EAGER
 * holds about twice that): no allocation on the way up to it. 0 or -1. */
int sender_changes_reserve(sender_changes_t *c, size_t n);
/* Appends one change (allocating as it grows); past SENDER_CHANGES_MAX, or
 * when memory runs out, frees what it holds and sets lost instead. */
void sender_changes_add(sender_changes_t *c, const sender_change_t *ch);
/* Appends every change of from (then emptied) to c; lost if either was. */
void sender_changes_move(sender_changes_t *c, sender_changes_t *from);
/* Empties c, keeping its memory for the next as long as it was used (a
 * burst's is given back once fewer changes come). */
void sender_changes_clear(sender_changes_t *c);
void sender_changes_free(sender_changes_t *c);

/* Shorthands for the sender. */
sender_change_t sender_change_of(const report_job_t *job, change_kind_t kind);

/* The sender's pending reports, copied for the state file (its task ids
 * remembered are walked, not copied: sender_each_seen). */
typedef struct {
  report_job_t *jobs; /* pending, oldest first where known */
  size_t num_jobs, cap_jobs;
} sender_snapshot_t;

/* Appends a job; 0, or -1 when memory runs out. */
int sender_snapshot_add_job(sender_snapshot_t *snap, const report_job_t *job);
void sender_snapshot_free(sender_snapshot_t *snap);

#endif

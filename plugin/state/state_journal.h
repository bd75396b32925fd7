/* The state file on disk: checked before it is trusted, read in pieces,
 * replaced whole (a temporary file made by mkstemp beside it, synced and
 * renamed over it: a crash leaves the old file or the new one) and appended
 * to between replacements (each write synced: a crash cuts short at most
 * the last, which the reader leaves out). POSIX calls only, no collectd's:
 * the unit tests run it in a temporary directory. */
#ifndef ANTICAPTCHA_STATE_JOURNAL_H
#define ANTICAPTCHA_STATE_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "state/state_parse.h"

/* Whether the state file at path and its directory may be trusted: both
 * owned by this process's user and not writable by group or others (in a
 * shared directory another user could put a state of their own there, or
 * hold the lock). A file that does not exist is fine. 0, or -1 with why. */
int state_journal_check(const char *path, char *why, size_t why_size);

/* Removes the temporary files a crash left beside the state file at path
 * (named as state_journal_begin names them); only once this collectd holds
 * the file's lock, in a directory checked. Returns how many. */
int state_journal_clean(const char *path);

/* Reads the file at path (refusing a symbolic link, anything but a regular
 * file, or one larger than the caps allow) into *out. *missing: there is
 * no file (DAMAGED, why empty). */
state_read_t state_journal_read(const char *path, const state_caps_t *caps,
                                state_t *out, bool *missing, char *why,
                                size_t why_size);

typedef struct state_journal_s state_journal_t;

/* The writer of the file at path (not touched yet). NULL when out of
 * memory. */
state_journal_t *state_journal_new(const char *path);
void state_journal_free(state_journal_t *j);

/* A whole new file: begin() makes the temporary file, out() (a
 * state_out_t, ctx the journal) takes its text, commit() syncs it and puts
 * it in place of the state file; later appends go to it. Each returns 0,
 * or -1 with errno set (after commit's failure or abort() the old file
 * stays, and the temporary one is gone). */
int state_journal_begin(state_journal_t *j);
void state_journal_out(void *ctx, const char *text, size_t len);
int state_journal_commit(state_journal_t *j);
void state_journal_abort(state_journal_t *j);

/* Appends a whole frame, its header then its records, to the file committed
 * last, and syncs it. On failure the file is cut back to its size before,
 * and no more is appended to it: the next write must replace it. 0, or -1
 * with errno. */
int state_journal_append(state_journal_t *j, const char *head, size_t head_len,
                         const char *text, size_t len);
/* Whether appends may go on (a file was committed and none failed since). */
bool state_journal_appendable(const state_journal_t *j);
/* The committed file's size, and the size it had when committed. */
uint64_t state_journal_size(const state_journal_t *j);
uint64_t state_journal_snapshot_size(const state_journal_t *j);

#endif

/* The state file on disk: trust, reading, replacing and appending (see
 * state_journal.h). */
/* mkostemp */
#define _GNU_SOURCE

#include "state/state_journal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reading and writing go through buffers of this size. */
#define CHUNK 65536

struct state_journal_s {
  char path[PATH_MAX];
  char tmp[PATH_MAX + 8]; /* the temporary file being written, or "" */
  int fd;                 /* the temporary file, then the committed one */
  bool appendable;
  int error; /* errno of the first failed write to the temporary file */
  uint64_t size, snapshot_size;
  char buf[CHUNK];
  size_t buffered;
};

/* ---- Trust ---- */

/* The directory holding path (an empty name is "."). */
static void dir_of(const char *path, char *dir, size_t size) {
  snprintf(dir, size, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash == NULL)
    snprintf(dir, size, ".");
  else
    slash[slash == dir ? 1 : 0] = 0;
}

static int trusted(const struct stat *st, const char *what, char *why,
                   size_t size) {
  if (st->st_uid != geteuid()) {
    snprintf(why, size, "%s is owned by user %u, not by collectd's (%u)", what,
             (unsigned)st->st_uid, (unsigned)geteuid());
    return -1;
  }
  if (st->st_mode & (S_IWGRP | S_IWOTH)) {
    snprintf(why, size, "%s is writable by group or others (mode %04o)", what,
             (unsigned)(st->st_mode & 07777));
    return -1;
  }
  return 0;
}

int state_journal_check(const char *path, char *why, size_t why_size) {
  char dir[PATH_MAX];
  struct stat st;
  dir_of(path, dir, sizeof(dir));
  if (stat(dir, &st) != 0) {
    snprintf(why, why_size, "its directory cannot be used: %s",
             strerror(errno));
    return -1;
  }
  if (trusted(&st, "its directory", why, why_size) != 0)
    return -1;
  if (lstat(path, &st) != 0)
    return errno == ENOENT ? 0 : -1;
  if (S_ISLNK(st.st_mode))
    return 0; /* refused when read: "a symbolic link" */
  return trusted(&st, "it", why, why_size);
}

/* ---- Leftovers ---- */

/* "<base>.XXXXXX" with six of mkstemp's letters and digits. */
static bool is_leftover(const char *name, const char *base) {
  size_t n = strlen(base);
  if (strncmp(name, base, n) != 0 || name[n] != '.' || strlen(name) != n + 7)
    return false;
  for (size_t i = n + 1; i < n + 7; i++)
    if (!isalnum((unsigned char)name[i]))
      return false;
  return true;
}

int state_journal_clean(const char *path) {
  char dir[PATH_MAX];
  const char *slash = strrchr(path, '/');
  const char *base = slash != NULL ? slash + 1 : path;
  int removed = 0;
  dir_of(path, dir, sizeof(dir));
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL)
    if (is_leftover(e->d_name, base) && unlinkat(dirfd(d), e->d_name, 0) == 0)
      removed++;
  if (d != NULL)
    closedir(d);
  return removed;
}

/* ---- Reading ---- */

static state_read_t refuse(char *why, size_t size, const char *fmt,
                           const char *detail) {
  snprintf(why, size, fmt, detail);
  return STATE_READ_DAMAGED;
}

static state_read_t read_fd(int fd, const state_caps_t *caps, state_t *out,
                            char *why, size_t why_size) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    return refuse(why, why_size, "%s", "it is not a regular file");
  if ((uint64_t)st.st_size > state_file_max_bytes(caps)) {
    snprintf(why, why_size, "it is larger than %llu bytes",
             (unsigned long long)state_file_max_bytes(caps));
    return STATE_READ_DAMAGED;
  }
  state_parser_t *p = state_parser_new((uint64_t)st.st_size, caps);
  char *buf = malloc(CHUNK);
  ssize_t n = 0;
  if (p == NULL || buf == NULL) {
    state_parser_free(p);
    free(buf);
    return refuse(why, why_size, "%s", "out of memory");
  }
  while ((n = read(fd, buf, CHUNK)) > 0)
    if (state_parser_feed(p, buf, (size_t)n) != 0)
      break;
  int saved = errno;
  free(buf);
  state_read_t status = state_parser_finish(p, out, why, why_size);
  state_parser_free(p);
  if (n < 0) {
    state_free(out);
    return refuse(why, why_size, "reading it failed: %s", strerror(saved));
  }
  return status;
}

state_read_t state_journal_read(const char *path, const state_caps_t *caps,
                                state_t *out, bool *missing, char *why,
                                size_t why_size) {
  state_init(out);
  why[0] = 0;
  *missing = false;
  /* O_NONBLOCK: a FIFO put there must not hang collectd's start. */
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    *missing = errno == ENOENT;
    if (errno == ELOOP)
      return refuse(why, why_size, "%s",
                    "it is a symbolic link, not a regular file");
    return *missing
               ? STATE_READ_DAMAGED
               : refuse(why, why_size, "cannot open it: %s", strerror(errno));
  }
  state_read_t status = read_fd(fd, caps, out, why, why_size);
  close(fd);
  return status;
}

/* ---- Writing ---- */

state_journal_t *state_journal_new(const char *path) {
  state_journal_t *j = calloc(1, sizeof(*j));
  if (j == NULL)
    return NULL;
  snprintf(j->path, sizeof(j->path), "%s", path);
  j->fd = -1;
  return j;
}

static void close_file(state_journal_t *j) {
  if (j->fd >= 0)
    close(j->fd);
  j->fd = -1;
  j->appendable = false;
}

void state_journal_free(state_journal_t *j) {
  if (j == NULL)
    return;
  state_journal_abort(j);
  close_file(j);
  free(j);
}

/* Writes all of text, or sets errno. */
static int write_all(int fd, const char *text, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, text, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return n == 0 ? (errno = EIO, -1) : -1;
    text += n;
    len -= (size_t)n;
  }
  return 0;
}

int state_journal_begin(state_journal_t *j) {
  state_journal_abort(j);
  close_file(j);
  /* A name no one can guess or plant beforehand, made with O_EXCL. */
  snprintf(j->tmp, sizeof(j->tmp), "%s.XXXXXX", j->path);
  j->fd = mkostemp(j->tmp, O_CLOEXEC);
  if (j->fd < 0) {
    j->tmp[0] = 0;
    return -1;
  }
  j->error = 0;
  j->buffered = 0;
  j->size = 0;
  return 0;
}

static void flush(state_journal_t *j) {
  if (j->error == 0 && write_all(j->fd, j->buf, j->buffered) != 0)
    j->error = errno;
  j->size += j->buffered;
  j->buffered = 0;
}

void state_journal_out(void *ctx, const char *text, size_t len) {
  state_journal_t *j = ctx;
  if (j->buffered + len > sizeof(j->buf))
    flush(j);
  if (len > sizeof(j->buf)) {
    if (j->error == 0 && write_all(j->fd, text, len) != 0)
      j->error = errno;
    j->size += len;
    return;
  }
  memcpy(j->buf + j->buffered, text, len);
  j->buffered += len;
}

/* Makes the rename durable. */
static void sync_dir(const char *path) {
  char dir[PATH_MAX];
  dir_of(path, dir, sizeof(dir));
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

int state_journal_commit(state_journal_t *j) {
  flush(j);
  if (j->error == 0 && fsync(j->fd) != 0)
    j->error = errno;
  if (j->error == 0 && rename(j->tmp, j->path) != 0)
    j->error = errno;
  if (j->error != 0) {
    int saved = j->error;
    state_journal_abort(j);
    errno = saved;
    return -1;
  }
  j->tmp[0] = 0;
  sync_dir(j->path);
  j->snapshot_size = j->size;
  j->appendable = true;
  return 0;
}

void state_journal_abort(state_journal_t *j) {
  if (j->tmp[0] == 0)
    return;
  close_file(j);
  unlink(j->tmp);
  j->tmp[0] = 0;
}

int state_journal_append(state_journal_t *j, const char *head, size_t head_len,
                         const char *text, size_t len) {
  if (!j->appendable) {
    errno = EBADF;
    return -1;
  }
  if (write_all(j->fd, head, head_len) == 0 &&
      write_all(j->fd, text, len) == 0 && fdatasync(j->fd) == 0) {
    j->size += head_len + len;
    return 0;
  }
  /* Half a write would sit before the next: cut it off, and append no
   * more to this file. */
  int saved = errno;
  if (ftruncate(j->fd, (off_t)j->size) == 0)
    fdatasync(j->fd);
  close_file(j);
  errno = saved;
  return -1;
}

bool state_journal_appendable(const state_journal_t *j) {
  return j->appendable;
}

uint64_t state_journal_size(const state_journal_t *j) { return j->size; }

uint64_t state_journal_snapshot_size(const state_journal_t *j) {
  return j->snapshot_size;
}

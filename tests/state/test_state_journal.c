/* Unit tests for plugin/state/state_journal.c, in a temporary directory: a
 * file or directory others may write, or another user's, is not trusted; a
 * whole write replaces the file through a temporary file of its own (one
 * planted beside it is left alone); appends read back; a failed write
 * leaves the old file, and no half frame. */
#include "state/state_journal.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static const state_caps_t caps = {.reports = 100, .seen = 100};
static char dir[64], path[128];

static int setup(void **unused) {
  (void)unused;
  snprintf(dir, sizeof(dir), "/tmp/test-journal-XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/ac.state", dir);
  return 0;
}

static int teardown(void **unused) {
  (void)unused;
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  return system(cmd);
}

static void put(const char *name, const char *text, mode_t mode) {
  char p[160];
  snprintf(p, sizeof(p), "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  fputs(text, f);
  fclose(f);
  chmod(p, mode);
}

static const char snapshot[] =
    "[\"anticaptcha-state\",2]\n[\"account\",0,\"main\"]\n"
    "[\"report\",0,5,\"reportIncorrectRecaptcha\",1700000000000,0,"
    "1700000060000]\n[\"snapshot\",3]\n";

static void test_trust(void **unused) {
  (void)unused;
  char why[256];
  assert_int_equal(state_journal_check(path, why, sizeof(why)), 0);
  put("ac.state", snapshot, 0600);
  assert_int_equal(state_journal_check(path, why, sizeof(why)), 0);
  chmod(path, 0620);
  assert_int_equal(state_journal_check(path, why, sizeof(why)), -1);
  assert_non_null(strstr(why, "writable by group or others"));
  chmod(path, 0600);
  chmod(dir, 01777);
  assert_int_equal(state_journal_check(path, why, sizeof(why)), -1);
  assert_non_null(strstr(why, "its directory is writable"));
  chmod(dir, 0700);
  if (geteuid() == 0) {
    assert_int_equal(chown(path, 65534, (gid_t)-1), 0);
    assert_int_equal(state_journal_check(path, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "owned by user 65534"));
    assert_int_equal(chown(dir, 65534, (gid_t)-1), 0);
    assert_int_equal(state_journal_check(path, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "its directory is owned"));
    assert_int_equal(chown(dir, 0, (gid_t)-1), 0);
  }
  unlink(path);
}

static void test_read(void **unused) {
  (void)unused;
  state_t st;
  bool missing;
  char why[256];
  assert_int_equal(
      state_journal_read(path, &caps, &st, &missing, why, sizeof(why)),
      STATE_READ_DAMAGED);
  assert_true(missing);
  put("ac.state", snapshot, 0600);
  assert_int_equal(
      state_journal_read(path, &caps, &st, &missing, why, sizeof(why)),
      STATE_READ_OK);
  assert_int_equal(st.accounts[0].num_reports, 1);
  state_free(&st);
  unlink(path);
  assert_int_equal(symlink("/etc/passwd", path), 0);
  assert_int_equal(
      state_journal_read(path, &caps, &st, &missing, why, sizeof(why)),
      STATE_READ_DAMAGED);
  assert_false(missing);
  assert_non_null(strstr(why, "symbolic link"));
  unlink(path);
  assert_int_equal(mkfifo(path, 0600), 0);
  assert_int_equal(
      state_journal_read(path, &caps, &st, &missing, why, sizeof(why)),
      STATE_READ_DAMAGED);
  assert_non_null(strstr(why, "not a regular file"));
  unlink(path);
  /* Larger than the caps allow: not read at all. */
  state_caps_t tiny = {.reports = 0, .seen = 0};
  int fd = open(path, O_WRONLY | O_CREAT, 0600);
  assert_int_equal(ftruncate(fd, (off_t)state_file_max_bytes(&tiny) + 1), 0);
  close(fd);
  assert_int_equal(
      state_journal_read(path, &tiny, &st, &missing, why, sizeof(why)),
      STATE_READ_DAMAGED);
  assert_non_null(strstr(why, "larger than"));
  unlink(path);
}

static void write_whole(state_journal_t *j, const char *text) {
  assert_int_equal(state_journal_begin(j), 0);
  state_journal_out(j, text, strlen(text));
  assert_int_equal(state_journal_commit(j), 0);
}

static int files_in_dir(void) {
  char cmd[160];
  snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 2", dir);
  return system(cmd) == 0 ? 2 : -1;
}

static void test_replace_and_append(void **unused) {
  (void)unused;
  state_t st;
  bool missing;
  char why[256];
  struct stat sb;
  /* Planted beside it: a file under 0.3's fixed temporary name. */
  put("ac.state.tmp", "{}", 0666);
  state_journal_t *j = state_journal_new(path);
  assert_false(state_journal_appendable(j));
  write_whole(j, snapshot);
  assert_int_equal(stat(path, &sb), 0);
  assert_int_equal(sb.st_mode & 07777, 0600);
  assert_int_equal(state_journal_snapshot_size(j), strlen(snapshot));
  assert_int_equal(files_in_dir(), 2); /* ac.state and the planted file */
  char planted[160];
  snprintf(planted, sizeof(planted), "%s/ac.state.tmp", dir);
  assert_int_equal(stat(planted, &sb), 0);
  assert_int_equal(sb.st_size, 2);
  const char head[] = "[\"frame\",27]\n",
             body[] = "[\"done\",0,5,1700000000000]\n";
  assert_true(state_journal_appendable(j));
  assert_int_equal(
      state_journal_append(j, head, strlen(head), body, strlen(body)), 0);
  assert_int_equal(state_journal_size(j),
                   strlen(snapshot) + strlen(head) + strlen(body));
  assert_int_equal(
      state_journal_read(path, &caps, &st, &missing, why, sizeof(why)),
      STATE_READ_OK);
  assert_int_equal(st.accounts[0].num_reports, 0);
  state_free(&st);
  /* An aborted whole write leaves the file as it was. */
  assert_int_equal(state_journal_begin(j), 0);
  state_journal_out(j, "half", 4);
  state_journal_abort(j);
  assert_false(state_journal_appendable(j));
  assert_int_equal(files_in_dir(), 2);
  assert_int_equal(
      state_journal_read(path, &caps, &st, &missing, why, sizeof(why)),
      STATE_READ_OK);
  state_free(&st);
  assert_int_equal(
      state_journal_append(j, head, strlen(head), body, strlen(body)), -1);
  state_journal_free(j);
  unlink(planted);
  unlink(path);
}

/* A write that fails part-way (here at the file size limit, as on a full
 * disk) is cut off, and nothing more is appended to that file. */
static void test_failed_append_cut_off(void **unused) {
  (void)unused;
  char big[8192];
  struct stat before, after;
  struct rlimit old, lim;
  state_journal_t *j = state_journal_new(path);
  write_whole(j, snapshot);
  memset(big, ' ', sizeof(big));
  stat(path, &before);
  lim.rlim_cur = lim.rlim_max = (rlim_t)before.st_size + 100;
  signal(SIGXFSZ, SIG_IGN);
  getrlimit(RLIMIT_FSIZE, &old);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
  assert_int_equal(state_journal_append(j, "", 0, big, sizeof(big)), -1);
  setrlimit(RLIMIT_FSIZE, &old);
  stat(path, &after);
  assert_int_equal(after.st_size, before.st_size);
  assert_false(state_journal_appendable(j));
  state_journal_free(j);
  unlink(path);
}

/* What a crash left: temporary files of this state file, and only those. */
static void test_leftovers_removed(void **unused) {
  (void)unused;
  put("ac.state.Ab12Z9", "{}", 0600);
  put("ac.state.x7Qk0p", "{}", 0600);
  put("ac.state", snapshot, 0600);
  put("ac.state.lock", "", 0600);
  put("ac.state.tmp", "{}", 0600); /* not mkstemp's: 3 letters */
  put("ac.state.Ab12Z9x", "{}", 0600);
  put("other.Ab12Z9", "{}", 0600);
  assert_int_equal(state_journal_clean(path), 2);
  char cmd[160];
  snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 5", dir);
  assert_int_equal(system(cmd), 0);
  assert_int_equal(state_journal_clean(path), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_trust, setup, teardown),
      cmocka_unit_test_setup_teardown(test_read, setup, teardown),
      cmocka_unit_test_setup_teardown(test_replace_and_append, setup, teardown),
      cmocka_unit_test_setup_teardown(test_failed_append_cut_off, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_leftovers_removed, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

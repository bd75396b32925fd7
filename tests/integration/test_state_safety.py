"""The state file against hostile and extreme cases (issue 22, items 3, 4,
6, 7 and 8), with a real collectd and the built plugin:

* a file nested 400,000 deep behind comments, or a 32 MiB array of zeros:
  one warning, a clean start, reports sent, and reading costs no memory to
  speak of;
* the largest state the options allow (QueueLimit 1000000 pending reports
  and a full set of remembered task ids) is written and read back whole;
* a shared or loose directory: a planted temporary file is never reused; a
  state file or directory that others may write, or that another user owns,
  is refused with one line and the plugin runs without a state file;
* a disk that hangs 5 s in a write of the state file: notifications are
  accepted and reports sent meanwhile;
* account names read from the file reach the log escaped.
"""

import json
import os
import pwd
import re
import stat
import time
import unittest

from harness import (Collectd, KEY_FILES, Sim, account_block, build_library,
                     make_tmpdir, read_text, remove_tmpdir, timeout_factor)
import runner

STATE = "anticaptcha.state"
REPORT = "reportIncorrectRecaptcha"
SLOW = timeout_factor()
# plugin/state/state_store.h STATE_WRITE_INTERVAL
WRITE_INTERVAL = 2.0
# The largest state the options allow: QueueLimit's maximum
# (plugin/configuration.h QUEUE_LIMIT_MAX) and the seen set's (report_sender.c
# SEEN_MAX: task ids remembered at once).
QUEUE_LIMIT_MAX = 1000000
SEEN_MAX = 1048576
IGNORING = "ignoring the state file"


def daemon(url, extra="", **kw):
    files = {**kw.pop("files", {}), **KEY_FILES}
    return Collectd(account_block(url, interval=3600) + "\n" + extra,
                    files=files, **kw)


def send(cd, task, t=None, kind="recaptcha"):
    return cd.putnotif("failure", time=t or time.time(), message="x",
                       plugin="anticaptcha", type=kind, type_instance=str(task))


def answered(sim):
    """taskId -> report requests answered 200."""
    out = {}
    for r in sim.requests(REPORT):
        if r["status"] == 200:
            t = int(r["body"]["taskId"])
            out[t] = out.get(t, 0) + 1
    return out


def v1_file(accounts):
    """A state file as 0.3.1 writes it (version 1, one JSON object)."""
    return json.dumps({"version": 1, "accounts": accounts},
                      separators=(",", ":")) + "\n"


def pending(task, completed_ms, name="main"):
    return {"name": name, "reports": [[task, REPORT, completed_ms, 0]],
            "seen": [], "series": {}}


def warnings(cd):
    return [l for l in cd.log().splitlines() if IGNORING in l]


def hwm_kib(pid):
    """Peak resident memory of a process so far (VmHWM)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM for pid %d" % pid)


class HostileFiles(unittest.TestCase):
    """Item 3, 4 and 8: whatever the file holds, one warning, a clean start,
    collectd up and reporting."""

    def start_with(self, sim, content, **kw):
        cd = daemon(sim.http_url, **kw)
        with open(os.path.join(cd.dir, STATE), "w", encoding="latin-1") as f:
            f.write(content)
        return cd

    def assert_clean_start(self, cd, sim, task):
        self.assertTrue(cd.alive(), "collectd died at start (exit %s)"
                        % cd.proc.returncode)
        lines = warnings(cd)
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("[warning]", lines[0])
        send(cd, task)
        cd.wait_for(lambda: answered(sim) == {task: 1}, 10 * SLOW,
                    "a report after the clean start")
        self.assertTrue(cd.alive())

    def test_deep_nesting_behind_comments(self):
        """yajl's tree parser takes comments, which hid 400,000 levels of
        nesting from the depth check: collectd died with SIGSEGV (recursive
        yajl_tree_free) at every start."""
        n = 400000
        content = ('{"version":1,"accounts":[],"x":/*"*/' + "[" * n + "]" * n +
                   '/*"*/}')
        with Sim(quiet=True) as sim:
            with self.start_with(sim, content) as cd:
                self.assert_clean_start(cd, sim, 9101)
                # Replaced at the next write: the next start is quiet.
                path = os.path.join(cd.dir, STATE)
                cd.wait_for(lambda: "9101" in read_text(path), 5 * SLOW,
                            "the file replaced")
                offset = len(cd.log())
                cd.restart()
                self.assertNotIn(IGNORING, cd.log()[offset:])
                self.assertIn("1 task id(s) remembered", cd.log()[offset:])
        # A comment anywhere in an otherwise valid file: the file is not
        # JSON as the writer makes it, so it is refused, not half-read.
        with Sim(quiet=True) as sim:
            valid = v1_file([pending(9102, int(time.time() * 1000))])
            commented = valid.replace('"accounts"', '/* c */"accounts"')
            with self.start_with(sim, commented) as cd:
                self.assert_clean_start(cd, sim, 9103)
                self.assertNotIn(9102, answered(sim))

    def test_huge_array_read_in_bounded_memory(self):
        """A 32 MiB `[0,0,...]`: 0.3.1 read it whole and built yajl's tree of
        it (about 45 times the file in RSS). Reading must cost collectd no
        more memory than a clean start, whatever the file's size."""
        n = 16 * 1024 * 1024
        content = "[" + "0," * (n - 1) + "0]"
        with Sim(quiet=True) as sim:
            with daemon(sim.http_url) as clean:
                base = hwm_kib(clean.pid)
            with self.start_with(sim, content) as cd:
                peak = hwm_kib(cd.pid)
                self.assert_clean_start(cd, sim, 9201)
        print("\npeak RSS: %.1f MiB after a clean start, %.1f MiB after "
              "reading a %d MiB array" % (base / 1024, peak / 1024,
                                          len(content) >> 20))
        self.assertLess(peak - base, 8 * 1024,
                        "reading the file took %.0f MiB more than a clean "
                        "start" % ((peak - base) / 1024))

    def test_names_from_the_file_escaped_in_the_log(self):
        """Item 8: an account name read from the file (here, twice the same
        name, which the reader refuses naming it) cannot forge or colour a
        log line."""
        forged = "[2001-01-01 00:00:00] [error] anticaptcha plugin: forged"
        now = int(time.time() * 1000)
        for name in ("x\n" + forged, "x\x1b[31mred\x1b[0m"):
            with self.subTest(repr(name)):
                with Sim(quiet=True) as sim:
                    content = v1_file([pending(9301, now, name),
                                       pending(9302, now, name)])
                    with self.start_with(sim, content) as cd:
                        self.assert_clean_start(cd, sim, 9303)
                    log = cd.log()
                    self.assertFalse(any(l.startswith(forged)
                                         for l in log.splitlines()), log)
                    self.assertNotIn("\x1b", log)


class LargestState(unittest.TestCase):
    """Item 4: the largest state the options allow (QueueLimit 1000000
    reports pending, the seen set full) is written at shutdown and read back
    whole at the next start. 0.3.1 wrote 87 MB and refused it (64 MiB cap),
    losing every pending report."""

    def test_largest_state_round_trips(self):
        if os.environ.get("COLLECTD_WRAPPER"):
            # A million notifications must go through within the 60 s
            # Window: not under valgrind or ASan. The other tests here run.
            print("\nnot run under COLLECTD_WRAPPER (see the comment)")
            return
        shared = make_tmpdir("ac-largest-")
        self.addCleanup(remove_tmpdir, shared)
        path = os.path.join(shared, "ac.state")
        opt = ('StateFile "%s"\nQueueLimit %d\nMaxInFlight 4'
               % (path, QUEUE_LIMIT_MAX))
        # The longest method name and 19-digit task ids: the largest file.
        first = 9000000000000000000
        seen_only = SEEN_MAX - QUEUE_LIMIT_MAX
        now_ms = int(time.time() * 1000)
        with open(path, "w") as f:
            f.write(v1_file([{"name": "main", "reports": [], "series": {},
                              "seen": [[first + QUEUE_LIMIT_MAX + i,
                                        now_ms + 60000]
                                       for i in range(seen_only)]}]))
        os.chmod(path, 0o600)
        ids = list(range(first, first + QUEUE_LIMIT_MAX + 1000))
        with Sim(quiet=True) as sim:
            sim.faults([{"method": "reportIncorrectImageCaptcha",
                         "action": "http", "status": 503}])
            with StderrCollectd(account_block(sim.http_url, interval=3600) +
                                "\n" + opt, files=KEY_FILES) as cd:
                self.assertIn("%d task id(s) remembered" % seen_only, cd.log())
                took = cd.flood(ids, lambda part: b"".join(
                    b"PUTNOTIF severity=failure time=%.3f plugin=anticaptcha "
                    b"type=image type_instance=%d message=x\n"
                    % (time.time(), i) for i in part), 4, 1000)
                print("\n%d notifications in %.1f s" % (len(ids), took))
            written = os.path.getsize(path)
            with StderrCollectd(account_block(sim.http_url, interval=3600) +
                                "\n" + opt, files=KEY_FILES) as cd:
                log = cd.log()
        print("largest state: %.1f MB written at shutdown" % (written / 1e6))
        self.assertNotIn(IGNORING, log)
        self.assertIn("%d report(s) resumed" % QUEUE_LIMIT_MAX, log)
        self.assertIn("%d task id(s) remembered" % SEEN_MAX, log)


class StderrCollectd(Collectd):
    """collectd logging to its stderr, without the logfile plugin (which
    also writes every notification: a million lines here)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.conf_text = re.sub(r"LoadPlugin logfile\n<Plugin logfile>\n.*?"
                                r"</Plugin>\n", "", self.conf_text, flags=re.S)
        with open(self.conf_path, "w") as f:
            f.write(self.conf_text)
        self.log_path = self.out_path


class SharedDirectory(unittest.TestCase):
    """Item 6: the temporary file is made safely, and a state file or
    directory that someone else may write is refused, with one line; the
    plugin then runs without a state file."""

    def test_planted_temporary_file_not_reused(self):
        """0.3.1 opened "<file>.tmp" without O_EXCL: a file planted there
        (here another user's, with a second link to it) took the first
        write, readable and writable through that link; a symbolic link
        planted there stopped every write."""
        for kind in ("file", "symlink"):
            with self.subTest(kind), Sim(quiet=True) as sim:
                cd = daemon(sim.http_url)
                tmp = os.path.join(cd.dir, STATE + ".tmp")
                planted = os.path.join(cd.dir, "planted")
                with open(planted, "w") as f:
                    f.write("{}")
                os.chmod(planted, 0o666)
                if os.geteuid() == 0:
                    os.chown(planted, nobody(), -1)
                (os.link if kind == "file" else os.symlink)(planted, tmp)
                with cd:
                    send(cd, 9401)
                    cd.wait_for(lambda: answered(sim) == {9401: 1}, 10 * SLOW,
                                "the report")
                    path = os.path.join(cd.dir, STATE)
                    cd.wait_for(lambda: "9401" in read_text(path), 5 * SLOW,
                                "the task in the state file")
                    st = os.stat(path)
                    self.assertEqual(st.st_uid, os.geteuid())
                    self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
                    self.assertEqual(read_text(planted), "{}")
                    self.assertNotIn("cannot write the state file", cd.log())

    def refused(self, prepare, why, opt=""):
        """Starts collectd on a state file that prepare(dir, path) made
        unsafe: one line naming `why`, nothing restored or written, reports
        still sent."""
        with Sim(quiet=True) as sim:
            cd = daemon(sim.http_url, opt)
            path = prepare(cd.dir)
            before = read_text(path)
            with cd:
                lines = [l for l in cd.log().splitlines()
                         if path in l and "state file" in l]
                self.assertEqual(len(lines), 1, lines)
                self.assertIn(why, lines[0])
                self.assertNotIn("resumed", cd.log())
                send(cd, 9502)
                cd.wait_for(lambda: 9502 in answered(sim), 10 * SLOW,
                            "a report without a state file")
                time.sleep(WRITE_INTERVAL + 0.5)
                self.assertNotIn(9501, answered(sim))
                cd.stop()  # nor at shutdown
                self.assertEqual(read_text(path), before)

    def write_pending(self, d, name=STATE, mode=0o600):
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write(v1_file([pending(9501, int(time.time() * 1000))]))
        os.chmod(path, mode)
        return path

    def test_file_writable_by_others_refused(self):
        self.refused(lambda d: self.write_pending(d, mode=0o666),
                     "writable by")

    def test_directory_writable_by_others_refused(self):
        def prepare(d):
            sub = os.path.join(d, "shared")
            os.mkdir(sub)
            os.chmod(sub, 0o1777)  # like /tmp: sticky, but anyone may add
            return self.write_pending(sub, "ac.state")
        self.refused(prepare, "writable by", 'StateFile "@TMP@/shared/ac.state"')

    @unittest.skipIf(os.geteuid() != 0, "needs root to give a file away")
    def test_file_of_another_user_refused(self):
        def prepare(d):
            path = self.write_pending(d)
            os.chown(path, nobody(), -1)
            return path
        self.refused(prepare, "owned by")


def nobody():
    return pwd.getpwnam("nobody").pw_uid


class SlowDisk(unittest.TestCase):
    """Item 7: a write of the state file that hangs (a slow or hung disk,
    here an LD_PRELOAD shim stalling one write or fsync 5 s) blocks neither
    the notification threads nor the reports."""

    STALL = 5.0 * SLOW

    def setUp(self):
        self.tmp = make_tmpdir("ac-slowdisk-")
        self.addCleanup(remove_tmpdir, self.tmp)
        self.shim = build_library("state_shim.c", self.tmp, "-O2", "-ldl",
                                  "-lpthread")
        self.arm = os.path.join(self.tmp, "arm")
        self.mark = os.path.join(self.tmp, "mark")

    def test_slow_write_blocks_nothing(self):
        env = {"LD_PRELOAD": self.shim, "STATE_SHIM_MATCH": STATE,
               "STATE_SHIM_ARM": self.arm, "STATE_SHIM_MARK": self.mark,
               "STATE_SHIM_SECONDS": str(self.STALL)}
        first = list(range(10001, 10401))  # a file larger than stdio's buffer
        with Sim(quiet=True) as sim, daemon(sim.http_url, env=env) as cd:
            cd.flood(first, lambda part: b"".join(
                b"PUTNOTIF severity=failure time=%.3f plugin=anticaptcha "
                b"type=recaptcha type_instance=%d message=x\n"
                % (time.time(), i) for i in part), 2, 100)
            cd.wait_for(lambda: len(answered(sim)) == len(first), 15 * SLOW,
                        "the first reports")
            path = os.path.join(cd.dir, STATE)
            cd.wait_for(lambda: "10400" in read_text(path), 5 * SLOW,
                        "them in the state file")
            time.sleep(WRITE_INTERVAL)  # nothing changed since: no write
            open(self.arm, "w").close()
            send(cd, 20001)  # a change: the next write stalls
            cd.wait_for(lambda: os.path.exists(self.mark), 3 * WRITE_INTERVAL
                        * SLOW, "the stalled write")
            stalled = time.monotonic()
            send(cd, 20002)
            accepted = time.monotonic() - stalled
            cd.wait_for(lambda: 20002 in answered(sim), self.STALL + 5,
                        "the report sent during the stall")
            sent = time.monotonic() - stalled
            call = read_text(self.mark).strip()
            print("\nstalled in %s: notification accepted after %.2f s, "
                  "report sent after %.2f s (stall %.0f s)"
                  % (call, accepted, sent, self.STALL))
            self.assertLess(accepted, 1.0 * SLOW)
            self.assertLess(sent, 2.0 * SLOW)
            # The stalled write ends and the file catches up.
            cd.wait_for(lambda: "20002" in read_text(path), self.STALL + 10,
                        "the state file after the stall")


if __name__ == "__main__":
    runner.main()

"""The plugin's life cycle with a real collectd: start, early notifications,
a failing init, and shutdown while notifications keep arriving (issue 17).

* Shutdown under load: 8 threads send PUTNOTIF through unixsock while
  collectd gets SIGTERM, 20 runs. collectd's own notification list is freed
  at shutdown while its unixsock threads may still walk it (a race of the
  daemon's, not the plugin's); core dumps are enabled and every crash is
  attributed with gdb: a crash whose faulting thread has a frame of the
  plugin, or that gdb cannot place in collectd's notification dispatch, is
  the plugin's. None may be. (collectd calls the plugin's free function in
  the middle of destroying that list, so its race may strike while the
  main thread is in the plugin's context_free: 1 crash in 119 here, with
  the faulting thread in plugin_dispatch_notification at frame 0.)
* Notifications sent while collectd is still initialising (a slow init of
  another plugin between unixsock's and ours) are all sent once the worker
  starts.
* A failing init leaves collectd running, one error line from the plugin,
  no reader polling and no report thread.
"""

import glob
import os
import resource
import signal
import socket
import subprocess
import threading
import time
import unittest

from harness import (Collectd, KEY_FILES, Sim, account_block, assert_no_key_in,
                     build_library, make_tmpdir, remove_tmpdir)
import runner

REPORT = "reportIncorrectRecaptcha"
COLLECTD = os.environ.get("COLLECTD_BIN", "/usr/sbin/collectd")
RUNS = int(os.environ.get("LIFECYCLE_RUNS", "20"))


def account(url, extra=""):
    return account_block(url, interval=3600, extra="    Timeout 5") + '''
  <Report "recaptcha">
    Type "recaptcha"
    Method "%s"
  </Report>
%s''' % (REPORT, extra)


def putnotif(i, t):
    return (b"PUTNOTIF severity=failure time=%.3f plugin=anticaptcha "
            b"type=recaptcha type_instance=%d message=x\n" % (t, i))


def hammer(path, stop, first_id):
    """Sends PUTNOTIF lines as fast as collectd answers until stop is set or
    the daemon goes away."""
    i = first_id
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(path)
            f = s.makefile("rb")
            while not stop.is_set():
                s.sendall(b"".join(putnotif(i + k, time.time())
                                   for k in range(50)))
                i += 50
                for _ in range(50):
                    if not f.readline():
                        return
    except OSError:
        return


def backtrace(core):
    out = subprocess.run(
        ["gdb", "-batch", "-nx", "-ex", "bt", "-ex", "thread apply all bt",
         COLLECTD, core], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        timeout=120).stdout.decode("utf-8", "replace")
    return out


def faulting_thread(bt):
    """The backtrace gdb prints first: the thread that took the signal."""
    return bt.split("\nThread ", 1)[0]


def main_thread(bt):
    """The backtrace of the thread in main(): what collectd's shutdown was
    doing when another thread faulted."""
    return next((t for t in bt.split("\nThread ")[1:] if " main (" in t), "")


def build_noop(tmpdir):
    """Builds noop_notify.so (the control) into tmpdir; returns tmpdir."""
    build_library("noop_notify.c", tmpdir, "-O2", "-DHAVE_CONFIG_H",
                  "-I/usr/include/collectd")
    return tmpdir


class ShutdownUnderLoad(unittest.TestCase):

    def setUp(self):
        self.old_core = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE,
                           (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        self.noop_dir = make_tmpdir("ac-noop-")

    def tearDown(self):
        resource.setrlimit(resource.RLIMIT_CORE, self.old_core)
        remove_tmpdir(self.noop_dir)

    def one_run(self, n, url=None):
        """One run: 8 PUTNOTIF threads, SIGTERM after 0.7 s. With url the
        plugin is loaded, else the control plugin. Returns (exit code,
        crashed (killed by a signal), backtrace of the core or "", log)."""
        if url:
            cd = Collectd(account(url), files=KEY_FILES,
                          expect_exit=None, stop_timeout=30)
        else:
            cd = Collectd(load_anticaptcha=False, expect_exit=None,
                          extra_config='PluginDir "%s"\nLoadPlugin noop_notify'
                          % self.noop_dir, stop_timeout=30)
        with cd:
            stop = threading.Event()
            threads = [threading.Thread(target=hammer,
                                        args=(cd.socket_path, stop,
                                              1 + k * 10000000 + n * 100000))
                       for k in range(8)]
            for t in threads:
                t.start()
            time.sleep(0.7)
            cd.proc.send_signal(signal.SIGTERM)
            cd.proc.wait(30)
            stop.set()
            for t in threads:
                t.join(10)
            cd.stop()
            cores = glob.glob(os.path.join(cd.dir, "core*"))
            bt = backtrace(cores[0]) if cores else ""
            log = cd.log()
        crashed = cd.returncode < 0
        return cd.returncode, crashed, bt, log

    def test_sigterm_while_notifications_arrive(self):
        if os.environ.get("COLLECTD_WRAPPER"):
            # Under ASan the report of collectd's own shutdown crash
            # deadlocks (its symbolizer waits on the loader's lock, held by
            # the exiting main thread): the daemon hangs instead of dying,
            # which says nothing about the plugin. The other tests here run.
            print("\nnot run under COLLECTD_WRAPPER (see the comment)")
            return
        with open("/proc/sys/kernel/core_pattern") as f:
            pattern = f.read().strip()
        # Cores must land in collectd's directory to be attributed.
        self.assertFalse(pattern.startswith("|") or "/" in pattern,
                         "core_pattern %r keeps cores elsewhere" % pattern)
        build_noop(self.noop_dir)
        crashes, ours, control, exits = [], [], [], []
        with Sim(quiet=True) as sim:
            for n in range(RUNS):
                code, crashed, bt, log = self.one_run(n, sim.http_url)
                assert_no_key_in(log)
                if code != 0 and not crashed:  # an error exit: say why
                    exits.append((n, code, log[-3000:]))
                if not crashed:
                    continue
                crashes.append(code)
                # The plugin's share: its code in the faulting thread (a
                # call into freed code or data of the plugin shows there
                # too, gdb names the library), or a faulting thread that is
                # not in collectd's notification dispatch; a crash with no
                # core cannot be cleared. Not the plugin freeing its context
                # in the main thread meanwhile: collectd calls the plugin's
                # free function while it destroys the notification list that
                # its unixsock threads still walk, which is the control's
                # crash (plugin_dispatch_notification at frame 0); the
                # plugin's gate keeps late calls off what it frees.
                faulting = faulting_thread(bt)
                if ("anticaptcha" in faulting or
                        "plugin_dispatch_notification" not in faulting):
                    ours.append((n, code, faulting[-4000:],
                                 main_thread(bt)[-2000:]))
        for n in range(RUNS):
            code, crashed, _, _ = self.one_run(n)
            if crashed:
                control.append(code)
        print("\nSIGTERM under 8 PUTNOTIF threads, %d runs each:\n"
              "  with the plugin: %d crash(es), %d attributable to the plugin\n"
              "  control (a notification callback that returns 0): %d "
              "crash(es)" % (RUNS, len(crashes), len(ours), len(control)))
        self.assertEqual(ours, [])
        self.assertEqual(exits, [])


class EarlyNotifications(unittest.TestCase):

    SLOW_INIT = '''
import collectd, time
def init():
    time.sleep(3)
    collectd.info("slow_init: done")
collectd.register_init(init)
'''

    def test_100_reports_sent_while_collectd_initialises(self):
        with Sim(quiet=True) as sim:
            extra = ('LoadPlugin python\n<Plugin python>\n  ModulePath "@TMP@"\n'
                     '  Import "slow_init"\n</Plugin>')
            cd = Collectd(account(sim.http_url),
                          files={**KEY_FILES, "slow_init.py": self.SLOW_INIT},
                          extra_config=extra, start_timeout=30,
                          # valgrind counts the Python interpreter's own
                          # leaks (exit 99); reports in the plugin's code
                          # still fail the test (the harness reads them).
                          expect_exit=None if os.environ.get(
                              "COLLECTD_WRAPPER") else 0)
            answers, early = [], []

            def send():
                deadline = time.monotonic() + 20
                while not os.path.exists(cd.socket_path):
                    if time.monotonic() > deadline:
                        return
                    time.sleep(0.005)
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(10)
                    while True:
                        try:
                            s.connect(cd.socket_path)
                            break
                        except OSError:
                            time.sleep(0.005)
                    f = s.makefile("rb")
                    s.sendall(b"".join(putnotif(1000 + i, time.time())
                                       for i in range(100)))
                    for _ in range(100):
                        answers.append(f.readline())
                # Still initialising? The slow init has not ended yet.
                early.append("slow_init: done" not in cd.log())

            sender = threading.Thread(target=send)
            sender.start()
            with cd:
                sender.join(30)
                self.assertEqual(len(answers), 100)
                self.assertTrue(all(a.startswith(b"0 ") for a in answers),
                                answers[:3])
                self.assertEqual(early, [True], "not sent during init")
                cd.wait_for(lambda: sim.stats()["by_method"].get(REPORT, 0) >= 100,
                            15, "100 reports")
                time.sleep(1)
                self.assertEqual(sim.stats()["by_method"].get(REPORT, 0), 100)
                assert_no_key_in(cd.log())


def threads_named(pid, prefix):
    names = []
    for task in glob.glob("/proc/%d/task/*/comm" % pid):
        try:
            with open(task) as f:
                names.append(f.read().strip())
        except OSError:
            pass
    return [n for n in names if n.startswith(prefix)]


class FailingInit(unittest.TestCase):

    def check(self, step):
        with Sim(quiet=True) as sim:
            conf = account(sim.http_url).replace("Interval 3600", "Interval 1")
            with Collectd(conf, files=KEY_FILES,
                          env={"ANTICAPTCHA_TEST_FAIL_INIT": step},
                          expect_exit=None) as cd:
                time.sleep(3)
                self.assertTrue(cd.alive())
                cd.putnotif("failure", plugin="anticaptcha", type="recaptcha",
                            type_instance="77", message="x")
                time.sleep(1.5)
                polls = sim.stats()["by_method"]
                self.assertEqual(threads_named(cd.pid, "anticaptcha"), [])
                log = cd.log()
            # collectd exits 1 after a failed init; a signal would be < 0.
            self.assertIn(cd.returncode, (0, 1))
            ours = [l for l in log.splitlines()
                    if "[error]" in l and "anticaptcha plugin:" in l]
            self.assertEqual(len(ours), 1, log)
            # No reader left polling, no report sent after the failure.
            self.assertEqual(polls.get("getSpendingStats", 0), 0, polls)
            self.assertEqual(polls.get(REPORT, 0), 0, polls)

    def test_worker_start_fails(self):
        self.check("worker")

    def test_counters_registration_fails(self):
        self.check("counters")


if __name__ == "__main__":
    runner.main()

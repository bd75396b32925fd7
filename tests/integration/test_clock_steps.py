"""A wall clock that jumps (issue 25): the real collectd runs under libfaketime
(Debian's faketime) and its clock is stepped during the run the way an NTP
step or an operator does it: CLOCK_REALTIME only (FAKETIME_DONT_FAKE_MONOTONIC),
back 1 hour, forward 1 day, forward 400 days, back to the true time. The
simulated API keeps the true time (its hours advance when the test moves its
clock on by an hour). After each step: every hour of every series dispatched
exactly once (write_log), a report pending across the step neither sent after
its window nor expired before it, the seen set still forgets, and the state
file restores after the step back.

A thread waiting for an absolute wall-clock time (collectd's read threads
between two reads) waits, under libfaketime, as long as the clock said when
it began: after a step back collectd's reads pause for the step's length (as
with the kernel), and a step forward after it does not end the pause (the
kernel would). So the test restarts collectd after each step back, as it has
to anyway to check the state file.
Under COLLECTD_WRAPPER (scripts/sanitize) libfaketime is preloaded after the
sanitizer's runtime."""

import json
import os
import re
import time
import unittest

from harness import (Collectd, HarnessError, KEY_FILE, KEY_FILES, Sim,
                     account_block, changed_wrapper, read_text,
                     timeout_factor)
import runner

LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
SLOW = timeout_factor()
HOUR, DAY = 3600, 86400
REPORT = "reportIncorrectRecaptcha"
# Long enough for a report to get through within it under valgrind too.
WINDOW = 8 if SLOW == 1 else 30
QUEUE = "Recaptcha Proxyless"
SERIES = {"recaptcha_proxyless": QUEUE, "all": None}
IDS = [("count", "%s-volume_1h" % s) for s in SERIES] + \
      [("gauge", "%s-money_1h" % s) for s in SERIES]


def config(url, catch_up_days=7):
    return '''
  <Account "main">
    ClientKeyFile "@TMP@/%s"
    URL "%s"
    Queue "%s"
    Balance false
    Interval 1
    CatchUpDays %d
  </Account>
  Window %d''' % (KEY_FILE, url, QUEUE, catch_up_days, WINDOW)


WRITE_LOG = dict(plugins=("write_log",),
                 extra_config="<Plugin write_log>\n  Format JSON\n</Plugin>")


def hours(cd):
    """{(type, type_instance): [time, ...]} of the hourly values write_log
    wrote, across restarts."""
    out = {i: [] for i in IDS}
    for ident in IDS:
        out[ident] = [t for t, _ in cd.logged_values("main", *ident)]
    return out


def report_requests(sim, tasks=None, since=0.0):
    return [r for r in sim.requests(REPORT)
            if r["time"] >= since and (tasks is None or r["body"]["taskId"] in tasks)]


def accepted(sim):
    """taskId -> accepted report requests."""
    out = {}
    for r in sim.requests(REPORT):
        if r["status"] == 200 and (r["answer"] or {}).get("errorId") == 0:
            out[r["body"]["taskId"]] = out.get(r["body"]["taskId"], 0) + 1
    return out


class FakeClock:
    """collectd's wall clock: the true time plus an offset written to
    libfaketime's timestamp file (read again at most every second)."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "faketime.rc")
        self.offset = 0
        self.write()

    def env(self):
        return {"LD_PRELOAD": LIBFAKETIME, "FAKETIME_TIMESTAMP_FILE": self.path,
                "FAKETIME_CACHE_DURATION": "1",
                "FAKETIME_DONT_FAKE_MONOTONIC": "1"}

    @staticmethod
    def beside_the_wrapper():
        """A COLLECTD_WRAPPER that preloads a sanitizer's runtime
        (scripts/sanitize) would replace LD_PRELOAD: libfaketime joins it,
        first (behind ASan's runtime it hangs at start, so ASan is told not
        to insist on coming first). valgrind passes LD_PRELOAD on."""
        def change(old):
            new = re.sub(r"LD_PRELOAD=(\S+)", "LD_PRELOAD=%s:\\1" % LIBFAKETIME,
                         old)
            return re.sub(r"ASAN_OPTIONS=(\S+)",
                          "ASAN_OPTIONS=\\1:verify_asan_link_order=0", new)
        return changed_wrapper(change)

    def write(self):
        with open(self.path + ".tmp", "w") as f:
            f.write("%+d\n" % self.offset)
        os.replace(self.path + ".tmp", self.path)

    def step(self, offset):
        self.offset = offset
        self.write()
        time.sleep(1.5)  # libfaketime's cache, and a turn of every thread

    def now(self):
        return time.time() + self.offset


class ClockSteps(unittest.TestCase):

    def setUp(self):
        if not os.path.exists(LIBFAKETIME):
            raise HarnessError("%s not found: install Debian's faketime "
                               "package" % LIBFAKETIME)

    def send(self, cd, task):
        cd.putnotif("failure", time=self.clock.now(), message="x",
                    plugin="anticaptcha", type="recaptcha",
                    type_instance=str(task))

    def fail_reports(self):
        self.sim.faults([{"method": REPORT, "action": "http", "status": 503}])

    def check(self, what, fn):
        """Runs one check as a subtest: a failure is reported and the run goes
        on, so that one run says which steps lose or double on which count."""
        with self.subTest(what):
            fn()

    def new_hour(self, cd, k):
        """The API's clock moves on by an hour (k hours in all): the hour that
        ended must be dispatched once in every series."""
        self.sim.state({"now": self.api_start + k * HOUR})
        till = float(self.hour + k * HOUR - 1)

        def check():
            cd.wait_for(lambda: all(till in v for v in hours(cd).values()),
                        15 * SLOW, "the hour ending at %d" % till)
        self.check("hour %d dispatched" % k, check)

    def pending_sent_in_window(self, cd, tasks, step_to):
        """Reports pending (API failing) when the clock steps forward: not
        expired early; once the API answers again, within their window, each
        is accepted once."""
        self.fail_reports()
        sent = time.time()
        for task in tasks:
            self.send(cd, task)
        cd.wait_for(lambda: report_requests(self.sim, tasks), 5 * SLOW,
                    "a failed attempt")
        self.clock.step(step_to)
        self.sim.clear_faults()

        def check():
            cd.wait_for(lambda: all(accepted(self.sim).get(t) for t in tasks),
                        max(1.0, sent + WINDOW - time.time()),
                        "the reports within their window")
            time.sleep(1)
            self.assertEqual({t: accepted(self.sim)[t] for t in tasks},
                             {t: 1 for t in tasks})
        self.check("reports pending across a step to %+d s delivered in their "
                   "window" % step_to, check)

    def not_after_window(self, cd, tasks, since, what):
        """The API answers again after the tasks' window closed: none of them
        may be sent any more."""
        time.sleep(max(0, since + WINDOW + 1 - time.time()))
        recovered = time.time()
        self.sim.clear_faults()
        time.sleep(3)
        self.check(what, lambda: self.assertEqual(
            report_requests(self.sim, tasks, since=recovered), []))

    def forgotten(self, cd, task, since, what):
        """After its window, a task is forgotten: the same task notified again
        is a new report (answered, here, "already reported")."""
        time.sleep(max(0, since + WINDOW + 1 - time.time()))
        before = time.time()
        self.send(cd, task)

        def check():
            cd.wait_for(lambda: report_requests(self.sim, [task], since=before),
                        5 * SLOW, "a report of task %d again" % task)
        self.check(what, check)

    def clock_lines(self, cd, mark):
        return [l for l in cd.log()[mark:].splitlines()
                if re.search(r"anticaptcha plugin: .*clock", l)]

    def test_back_1h_forward_1d_forward_400d_back_to_true_time(self):
        # The API's clock starts 4 hours behind the true time and moves on
        # by an hour after each step: never ahead of the true time.
        self.api_start = time.time() - 4 * HOUR
        self.hour = int(self.api_start) - int(self.api_start) % HOUR
        with Sim(now=self.api_start, quiet=True) as sim:
            self.sim = sim
            cd = Collectd(config(sim.http_url), files=KEY_FILES, **WRITE_LOG)
            self.clock = FakeClock(cd.dir)
            cd.env = self.clock.env()
            with FakeClock.beside_the_wrapper(), cd:
                self.run_steps(cd)

    def run_steps(self, cd):
        sim = self.sim
        cd.wait_for(lambda: all(len(v) == 24 for v in hours(cd).values()),
                    20 * SLOW, "the first day")

        # ---- 1. back 1 hour, reports pending and the API failing ----
        self.fail_reports()
        b = list(range(1001, 1006))
        b_sent = time.time()
        for task in b:
            self.send(cd, task)
        cd.wait_for(lambda: report_requests(sim, b), 5 * SLOW, "a failed attempt")
        self.clock.step(-HOUR)
        self.not_after_window(cd, b, b_sent, "back 1 h: no report after its window")
        a = list(range(1101, 1106))
        a_sent = time.time()
        for task in a:
            self.send(cd, task)

        def delivered():
            cd.wait_for(lambda: all(accepted(sim).get(t) for t in a),
                        max(1.0, a_sent + WINDOW - time.time()),
                        "new reports after the step back")
        self.check("back 1 h: new reports still sent", delivered)
        self.forgotten(cd, b[0], b_sent, "back 1 h: a task seen before the "
                       "step is forgotten after its window")
        # The state file still restores (the step back is behind it).
        cd.restart()
        self.check("back 1 h: the state file restores", lambda: (
            self.assertIn("state file", cd.log()[cd._log_offset:]),
            self.assertNotIn("ignoring the state file", cd.log())))
        self.new_hour(cd, 1)

        # ---- 2. forward 1 day ----
        mark = len(cd.log())
        c = list(range(2001, 2006))
        self.pending_sent_in_window(cd, c, DAY)
        # Within its window the same task is a duplicate, whatever the clock.
        before = time.time()
        self.send(cd, c[0])
        self.send(cd, 2100)
        cd.wait_for(lambda: report_requests(sim, [2100]), 5 * SLOW, "task 2100")
        time.sleep(0.5)
        self.check("forward 1 d: a duplicate within its window is not sent",
                   lambda: self.assertEqual(report_requests(sim, [c[0]], before), []))
        self.new_hour(cd, 2)
        self.check("forward 1 d: one log line", lambda: self.assertEqual(
            len(self.clock_lines(cd, mark)), 1, self.clock_lines(cd, mark)))

        # ---- 3. forward 400 days ----
        mark = len(cd.log())
        d = list(range(3001, 3006))
        self.pending_sent_in_window(cd, d, 400 * DAY)
        self.new_hour(cd, 3)
        self.check("forward 400 d: one log line", lambda: self.assertEqual(
            len(self.clock_lines(cd, mark)), 1, self.clock_lines(cd, mark)))

        # ---- 4. back to the true time, across a restart ----
        # Reports pending while the clock is 400 days ahead, in the state file
        # when collectd dies; it starts again with the true time.
        self.fail_reports()
        e = list(range(4001, 4006))
        for task in e:
            self.send(cd, task)
        state = os.path.join(cd.dir, "anticaptcha.state")
        cd.wait_for(lambda: all(str(t) in read_text(state) for t in e), 5 * SLOW,
                    "the reports in the state file")

        def step_back():
            self.clock.offset = 0
            self.clock.write()
        cd.restart(kill=True, before_start=step_back)
        restored = time.time()
        self.check("back to true time: the state file restores", lambda: (
            self.assertIn("report(s) resumed", cd.log()[cd._log_offset:]),
            self.assertNotIn("ignoring the state file", cd.log())))
        self.not_after_window(cd, e, restored,
                              "back to true time: restored reports not sent "
                              "after their window")
        self.forgotten(cd, e[0], restored, "back to true time: a restored task "
                       "is forgotten after its window")
        self.new_hour(cd, 4)

        # ---- the whole run: every hour once, none refused ----
        want = [float(self.hour + k * HOUR - 1) for k in range(-23, 5)]
        got = hours(cd)
        for ident in IDS:
            self.check("every hour once: %s" % ident[1],
                       lambda: self.assertEqual(sorted(got[ident]), want))
        self.check("no hour refused as too old", lambda: self.assertEqual(
            [l for l in cd.log().splitlines()
             if "Value too old" in l and "_1h;" in l], []))


class HostClockOff(unittest.TestCase):
    """This host's clock off from the API's from the start: the hours are
    the API's, judged by the API's clock (its Date header)."""

    def daemon(self, sim, offset, catch_up_days=7):
        cd = Collectd(config(sim.http_url, catch_up_days), files=KEY_FILES,
                      **WRITE_LOG)
        clock = FakeClock(cd.dir)
        clock.offset = offset
        clock.write()
        cd.env = clock.env()
        return cd

    def test_two_hours_behind(self):
        """The hours the API has finished are dispatched at once, not when
        this host's clock has reached their end."""
        t = time.time()
        hour = int(t) - int(t) % HOUR
        with Sim(now=t, quiet=True) as sim, FakeClock.beside_the_wrapper(), \
                self.daemon(sim, -2 * HOUR) as cd:
            cd.wait_for(lambda: all(len(v) == 24 for v in hours(cd).values()),
                        20 * SLOW, "the day's 24 hours")
            time.sleep(1.5)
            for ident, times in hours(cd).items():
                self.assertEqual(times, [float(h - 1) for h in range(
                    hour - 23 * HOUR, hour + HOUR, HOUR)], ident)

    def test_400_days_ahead_and_3_days_down(self):
        """collectd down for 3 days (by the API's clock) on a host whose clock
        is 400 days ahead: the 3 days are caught up, and no page is asked for
        beyond the API's own time."""
        t = time.time()
        hour = int(t) - int(t) % HOUR
        with Sim(now=t - 3 * DAY, quiet=True) as sim, \
                FakeClock.beside_the_wrapper(), \
                self.daemon(sim, 400 * DAY) as cd:
            cd.wait_for(lambda: all(len(v) == 24 for v in hours(cd).values()),
                        20 * SLOW, "the first day")
            seq = max(r["seq"] for r in sim.requests())
            cd.restart(before_start=lambda: sim.state({"now": t}))
            cd.wait_for(lambda: all(len(v) >= 24 * 4 for v in hours(cd).values()),
                        30 * SLOW, "the three days down and the last one")
            time.sleep(2)
            for ident, times in hours(cd).items():
                self.assertEqual(times, [float(h - 1) for h in range(
                    hour - 4 * DAY + HOUR, hour + HOUR, HOUR)], ident)
            dates = [r["body"]["date"] for r in sim.requests("getSpendingStats")
                     if "date" in r["body"] and r["seq"] > seq]
            self.assertTrue(dates)
            self.assertTrue(all(d <= t for d in dates), dates)


class DowntimeBeyondCatchUpDays(unittest.TestCase):
    """collectd down (or its VM suspended) longer than CatchUpDays: the last
    CatchUpDays are caught up, and one log line says which hours are not."""

    def test_ten_days_down(self):
        t = time.time()
        hour = int(t) - int(t) % HOUR
        with Sim(now=t - 10 * DAY, quiet=True) as sim, \
                Collectd(config(sim.http_url, catch_up_days=3), files=KEY_FILES,
                         **WRITE_LOG) as cd:
            cd.wait_for(lambda: all(len(v) == 24 for v in hours(cd).values()),
                        20 * SLOW, "the first day")
            cd.restart(before_start=lambda: sim.state({"now": t}))
            cd.wait_for(lambda: all(len(v) == 24 * 4 for v in hours(cd).values()),
                        30 * SLOW, "the last three days")
            time.sleep(2)
            want = [float(h - 1) for h in range(hour - 11 * DAY + HOUR,
                                                hour - 10 * DAY + HOUR, HOUR)]
            want += [float(h - 1) for h in range(hour - 3 * DAY + HOUR,
                                                 hour + HOUR, HOUR)]
            for ident, times in hours(cd).items():
                self.assertEqual(sorted(times), want, ident)
            lines = [l for l in cd.log().splitlines()
                     if "anticaptcha plugin" in l and "CatchUpDays" in l]
            self.assertEqual(len(lines), 1, lines)


class RestoredTimes(unittest.TestCase):
    """Times read back from the state file are clamped exactly as on arrival
    (issue 22, item 5): a report's completion to now, a task id's expiry to
    now + Window, a series' last hour to the API's time; years past
    cdtime_t's range (2514) without wrapping."""

    Y2400_MS = 13569465600000    # 2400-01-01, in ms
    # 2^34 s, in the year 2514: one past what cdtime_t holds, and the most
    # the state file's parser takes.
    Y2514_MS = (1 << 34) * 1000
    WINDOW = 5

    def state(self):
        return json.dumps({"version": 1, "accounts": [{
            "name": "main",
            "reports": [[9001, REPORT, self.Y2400_MS, 0],
                        [9002, REPORT, self.Y2514_MS, 1]],
            "seen": [[9003, self.Y2400_MS], [9004, self.Y2514_MS]],
            "series": {"all": self.Y2400_MS // 1000 - 1}}]}) + "\n"

    def test_times_from_the_future(self):
        t = time.time()
        hour = int(t) - int(t) % HOUR
        with Sim(now=t, quiet=True) as sim:
            sim.faults([{"method": REPORT, "action": "http", "status": 503}])
            files = {**KEY_FILES, "anticaptcha.state": self.state()}
            config = account_block(sim.http_url, interval=1) + \
                "\n  Window %d" % self.WINDOW
            with Collectd(config, files=files, **WRITE_LOG) as cd:
                self.run_checks(sim, cd, t, hour)

    def run_checks(self, sim, cd, t, hour):
        """Each check a subtest: one run says which ones fail."""
        started = time.time()
        with self.subTest("both reports resumed"):
            self.assertIn("2 report(s) resumed", cd.log())
        # The last hour, from the year 2400, is taken as now: the next hour
        # that ends is dispatched, not none until 2400.
        rows = lambda: cd.logged_values("main", "gauge", "all-money_1h")
        n = len(sim.requests("getSpendingStats"))
        cd.wait_for(lambda: len(sim.requests("getSpendingStats")) > n + 1,
                    10 * SLOW, "two polls")
        sim.state({"now": t + HOUR})
        with self.subTest("the next hour dispatched"):
            cd.wait_for(rows, 10 * SLOW, "the next hour")
            self.assertEqual([ts for ts, _ in rows()], [hour + HOUR - 1.0])
        # The reports expire within Window of the start: none is sent once
        # the API answers again.
        time.sleep(max(0, started + self.WINDOW + 1 - time.time()))
        recovered = time.time()
        sim.clear_faults()
        # The remembered ids are forgotten within Window too.
        for task in (9003, 9004):
            cd.putnotif("failure", message="x", plugin="anticaptcha",
                        type="recaptcha", type_instance=str(task))
        time.sleep(3)
        with self.subTest("no restored report after its window"):
            self.assertEqual(report_requests(sim, [9001, 9002], recovered), [])
        with self.subTest("restored ids forgotten after Window"):
            self.assertEqual(accepted(sim), {9003: 1, 9004: 1})
        # The first hour written replaced the one from the future.
        state = os.path.join(cd.dir, "anticaptcha.state")
        with self.subTest("the state file's last hour replaced"):
            # (A series record: "all":T in a version 1 file, "all",T later.)
            cd.wait_for(lambda: rows() and re.search(
                r'"all"\s*[:,]\s*%d\b' % rows()[-1][0], read_text(state)) and
                "%d" % (self.Y2400_MS // 1000 - 1) not in read_text(state),
                5 * SLOW, "the last hour written in the state file")

if __name__ == "__main__":
    runner.main()

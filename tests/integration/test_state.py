"""The state file end to end (issue 12): a real collectd with the built plugin
is stopped, killed and restarted on the same BaseDir; the simulated API's log,
the csv files, a second collectd fed over the network and a real carbon-cache
say that nothing is lost and nothing doubled."""

import os
import stat
import time
import unittest

from harness import (Collectd, KEY_FILES, Sim, account_block, assert_no_key_in,
                     read_state_file, timeout_factor)
from servers import CarbonCache
import runner

STATE = "anticaptcha.state"
REPORT = "reportIncorrectRecaptcha"
SLOW = timeout_factor()
# plugin/state_store.h STATE_WRITE_INTERVAL: the bound README states for a
# crash (kill -9): at most the reports of the last write interval are lost.
WRITE_INTERVAL = 2.0
HOUR, DAY = 3600, 86400


def config(url, extra="", account=""):
    return account_block(url, interval=1, extra=account) + "\n" + extra


def daemon(url, extra="", account="", **kw):
    files = {**kw.pop("files", {}), **KEY_FILES}
    return Collectd(config(url, extra, account), files=files, **kw)


def send(cd, task, t):
    cd.putnotif("failure", time=t, message="x", plugin="anticaptcha",
                type="recaptcha", type_instance=str(task))


def answered(sim, status=200):
    """taskId -> number of report requests answered with `status`."""
    out = {}
    for r in sim.requests(REPORT):
        if r["status"] == status:
            out[r["body"]["taskId"]] = out.get(r["body"]["taskId"], 0) + 1
    return out


def counter(cd, name):
    rows = cd.csv("anticaptcha-main", "derive-reports-%s" % name)
    return rows[-1][1][0] if rows else None


def state_tasks(cd):
    return {task for _, task in read_state_file(os.path.join(cd.dir, STATE))[0]}


class PendingReports(unittest.TestCase):

    def test_outage_restart_recovery_exactly_once(self):
        """API failing (503) while 50 reports are pending; collectd stopped
        and started again; API recovers: every report still inside its
        window reaches the API exactly once, none after its window."""
        with Sim(quiet=True) as sim:
            sim.faults([{"method": REPORT, "action": "http", "status": 503}])
            with daemon(sim.http_url) as cd:
                now = time.time()
                fresh = list(range(1001, 1041))  # 40: window open after restart
                old = list(range(2001, 2011))    # 10: window closes meanwhile
                for task in fresh:
                    send(cd, task, now)
                for task in old:
                    send(cd, task, now - 50)      # deadline now + 10
                # A failing API gets probes, one at a time: the others wait
                # in the queue, and the file holds all 50. (The probes may
                # all be one task: the one retried goes first again.)
                cd.wait_for(lambda: sum(answered(sim, 503).values()) >= 2 and
                            state_tasks(cd) == set(fresh + old), 15 * SLOW,
                            "failed probes and 50 reports in the state file")
                path = os.path.join(cd.dir, STATE)

                def while_down():
                    st = os.stat(path)
                    self.assertTrue(stat.S_ISREG(st.st_mode))
                    self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
                    self.assertEqual(st.st_uid, os.geteuid())
                    self.assertEqual(state_tasks(cd), set(fresh + old))
                    assert_no_key_in(path)
                    # The old ones' window closes while collectd is down.
                    time.sleep(max(0, now - 50 + 60 + 1 - time.time()))
                cd.restart(before_start=while_down)
                self.assertIn("40 report(s) resumed, 10 past their window "
                              "(counted as expired)", cd.log())
                sim.clear_faults()
                cd.wait_for(lambda: len(answered(sim)) >= 40, 20 * SLOW,
                            "40 reports accepted")
                cd.wait_for(lambda: counter(cd, "accepted") == 40, 10,
                            "accepted = 40")
                time.sleep(1)
                self.assertEqual(answered(sim), {t: 1 for t in fresh})
                # Nothing after a report's window (completion + 60 s).
                for r in sim.requests(REPORT):
                    t = now - 50 if r["body"]["taskId"] in old else now
                    self.assertLess(r["time"], t + 60, r["body"]["taskId"])
                self.assertEqual(counter(cd, "expired"), 10)
                self.assertEqual(counter(cd, "rejected"), 0)
                # Delivered reports leave the file at the next write.
                cd.wait_for(lambda: state_tasks(cd) == set(), 5 * SLOW,
                            "the state file without the delivered reports")

    def test_task_remembered_across_restart(self):
        """A task reported, collectd restarted, the same notification again:
        no second request."""
        with Sim(quiet=True) as sim, daemon(sim.http_url) as cd:
            now = time.time()
            send(cd, 3001, now)
            cd.wait_for(lambda: answered(sim) == {3001: 1}, 10 * SLOW, "the report")
            cd.restart()
            self.assertIn("1 task id(s) remembered", cd.log())
            send(cd, 3001, now)
            send(cd, 3002, now)
            cd.wait_for(lambda: 3002 in answered(sim), 10 * SLOW, "the new report")
            cd.wait_for(lambda: counter(cd, "duplicate") == 1, 10, "duplicate = 1")
            time.sleep(1)
            self.assertEqual(len(sim.requests(REPORT)), 2)

    def test_kill_9_loses_at_most_the_last_write_interval(self):
        """kill -9 with reports pending: after the restart, at most the
        reports of the last write interval are missing."""
        with Sim(quiet=True) as sim:
            sim.faults([{"method": REPORT, "action": "http", "status": 503}])
            with daemon(sim.http_url) as cd:
                now = time.time()
                early = list(range(4001, 4031))
                for task in early:
                    send(cd, task, now)
                # One write interval (and scheduling slack) later...
                time.sleep(WRITE_INTERVAL + 0.5)
                late = list(range(5001, 5006))
                for task in late:
                    send(cd, task, time.time())
                cd.restart(kill=True)  # ... SIGKILL, no shutdown at all
                sim.clear_faults()
                cd.wait_for(lambda: set(early) <= set(answered(sim)), 20 * SLOW,
                            "every report older than the last write interval")
                time.sleep(2)
                got = answered(sim)
                # Exactly once each; only the last interval's may be missing.
                self.assertEqual({t: n for t, n in got.items() if t in early},
                                 {t: 1 for t in early})
                self.assertTrue(set(got) <= set(early + late), got)
                self.assertTrue(all(n == 1 for n in got.values()), got)
                print("\nkill -9: %d of %d reports of the last write interval "
                      "delivered after the restart"
                      % (len(set(got) & set(late)), len(late)))


class DamagedFiles(unittest.TestCase):
    """Every malformed state file: one warning, a clean start, collectd
    alive (and reporting)."""

    VALID = ('{"version":1,"accounts":[{"name":"main","reports":[[9001,'
             '"reportIncorrectRecaptcha",%d,1]],"seen":[],"series":{}}]}\n')

    def cases(self):
        valid = self.VALID % int(time.time() * 1000)
        return {
            "empty": ("file", ""),
            "truncated": ("file", valid[:len(valid) // 2]),
            "other version": ("file", valid.replace('"version":1', '"version":7')),
            "corrupt": ("file", "\x00\xff garbage \x07" * 10),
            "not json": ("file", "reports: 9001\n"),
            "a directory": ("dir", None),
            "a fifo": ("fifo", None),
            "a symbolic link": ("link", valid),
        }

    def test_each_gives_one_warning_and_a_clean_start(self):
        with Sim(quiet=True) as sim:
            for name, (kind, content) in self.cases().items():
                with self.subTest(name):
                    sim.reset()
                    cd = daemon(sim.http_url)
                    path = os.path.join(cd.dir, STATE)
                    if kind == "file":
                        with open(path, "w", encoding="latin-1") as f:
                            f.write(content)
                    elif kind == "dir":
                        os.mkdir(path)
                    elif kind == "fifo":
                        os.mkfifo(path)
                    else:
                        with open(path + ".target", "w") as f:
                            f.write(content)
                        os.symlink(path + ".target", path)
                    with cd:
                        warnings = [l for l in cd.log().splitlines()
                                    if "ignoring the state file" in l]
                        self.assertEqual(len(warnings), 1, warnings)
                        self.assertIn("[warning]", warnings[0])
                        send(cd, 9002, time.time())
                        cd.wait_for(lambda: answered(sim) == {9002: 1}, 10 * SLOW,
                                    "a report after the clean start")
                        time.sleep(0.5)
                        # Nothing of a damaged file is sent (task 9001).
                        self.assertEqual(len(sim.requests(REPORT)), 1)
                        self.assertTrue(cd.alive())
                    if kind == "file":  # replaced by a good one
                        self.assertNotIn("ignoring", cd.log().split(
                            "ignoring the state file")[1].split("\n", 1)[1])

    def test_missing_file_is_a_quiet_clean_start(self):
        with Sim(quiet=True) as sim, daemon(sim.http_url) as cd:
            self.assertIn("no state file", cd.log())
            self.assertNotIn("[warning]", cd.log())

    def test_state_file_off_and_moved(self):
        with Sim(quiet=True) as sim:
            with daemon(sim.http_url, "StateFile false") as cd:
                send(cd, 9101, time.time())
                cd.wait_for(lambda: answered(sim), 10 * SLOW, "the report")
                time.sleep(WRITE_INTERVAL + 0.5)
                self.assertFalse(os.path.exists(os.path.join(cd.dir, STATE)))
            with daemon(sim.http_url, 'StateFile "@TMP@/sub.state"') as cd:
                path = os.path.join(cd.dir, "sub.state")
                cd.wait_for(lambda: os.path.exists(path), 5 * SLOW, "the moved file")
                self.assertFalse(os.path.exists(os.path.join(cd.dir, STATE)))
                self.assertFalse(os.path.exists(path + ".tmp"))
            # A directory that does not exist: one warning, no state, alive.
            sim.reset()
            with daemon(sim.http_url, 'StateFile "@TMP@/gone/ac.state"') as cd:
                lines = [l for l in cd.log().splitlines() if "is not used" in l]
                self.assertEqual(len(lines), 1, lines)
                self.assertIn("No such file or directory", lines[0])
                send(cd, 9102, time.time())
                cd.wait_for(lambda: answered(sim) == {9102: 1}, 10 * SLOW,
                            "a report without state")


class SharedFile(unittest.TestCase):

    def test_second_collectd_leaves_the_file_alone(self):
        from harness import make_tmpdir, read_text, remove_tmpdir
        shared = make_tmpdir("ac-shared-")
        self.addCleanup(remove_tmpdir, shared)
        opt = 'StateFile "%s/ac.state"' % shared
        with Sim(quiet=True) as sim:
            sim.faults([{"method": REPORT, "action": "http", "status": 503}])
            with daemon(sim.http_url, opt) as first:
                send(first, 8001, time.time())
                first.wait_for(lambda: "8001" in read_text(shared + "/ac.state"),
                               5 * SLOW, "the pending report in the file")
                with daemon(sim.http_url, opt) as second:
                    self.assertIn("is not used: another collectd uses it",
                                  second.log())
                    self.assertNotIn("resumed", second.log())
                    self.assertTrue(first.alive())
                # The second one neither sent the report nor wrote the file.
                self.assertNotIn("reportIncorrectRecaptcha", second.log())
                self.assertIn("8001", read_text(shared + "/ac.state"))
                self.assertEqual(read_state_file(shared + "/ac.state")[0],
                                 {(0, 8001)})


class CatchUp(unittest.TestCase):
    """The simulated API's clock moved 3 days ahead while collectd was
    stopped: every missed hourly record of each series is dispatched once,
    in order, and lands in csv and in a real carbon-cache."""

    SCHEMAS = ("[anticaptcha_hourly]\npattern = \\.anticaptcha.*_1h$\n"
               "retentions = 1h:90d\n\n[default]\npattern = .*\n"
               "retentions = 1s:6h\n")

    def test_three_days_down(self):
        queue = "Recaptcha Proxyless"
        series = {"all": None, "recaptcha_proxyless": queue}
        t = time.time()
        hour = int(t) - int(t) % HOUR
        with Sim(now=t - 3 * DAY, quiet=True) as sim, \
                CarbonCache(self.SCHEMAS) as carbon:
            # One write thread: with several, two values dispatched in
            # order may reach csv in the other (seen under valgrind).
            graphite = ('WriteThreads 1\n'
                        '<LoadPlugin write_graphite>\n  FlushInterval 1\n'
                        '</LoadPlugin>\n<Plugin write_graphite>\n  <Node "c">\n'
                        '    Host "127.0.0.1"\n    Port "%d"\n    Protocol "tcp"\n'
                        '  </Node>\n</Plugin>' % carbon.port)
            with daemon(sim.http_url, account='    Queue "%s"' % queue,
                        extra_config=graphite) as cd:
                rows = lambda slug: cd.csv("anticaptcha-main",
                                           "count-%s-volume_1h" % slug)
                cd.wait_for(lambda: all(len(rows(s)) == 24 for s in series),
                            20 * SLOW, "the first day")
                # Before the restart collectd's clock is 3 days ahead of the
                # sim's: its pages then are empty. Only what follows counts.
                seq = max(r["seq"] for r in sim.requests())
                cd.restart(before_start=lambda: sim.state({"now": t}))
                cd.wait_for(lambda: all(len(rows(s)) >= 96 for s in series),
                            30 * SLOW, "four days of hours")
                time.sleep(2)  # a poll more: nothing further may come
                for slug, q in series.items():
                    want = []
                    for start in (hour - 4 * DAY, hour - 3 * DAY, hour - 2 * DAY):
                        want += sim.expected(q, date=start)
                    want += sim.expected(q)
                    self.assertEqual([r["dateFrom"] for r in want],
                                     list(range(hour - 4 * DAY, hour, HOUR)))
                    got = rows(slug)
                    self.assertEqual([ts for ts, _ in got],
                                     [float(r["dateTill"]) for r in want], slug)
                    self.assertEqual([v[0] for _, v in got],
                                     [float(r["volume"]) for r in want], slug)
                    self.assert_in_file_order(cd, "count-%s-volume_1h" % slug)
                    # Each missed day asked for once, oldest first.
                    dates = [r["body"]["date"]
                             for r in sim.requests("getSpendingStats")
                             if r["body"].get("queue") == q and "date" in r["body"]
                             and r["seq"] > seq]
                    self.assertEqual(dates, [hour - 3 * DAY, hour - 2 * DAY], slug)
                    # The same hours, once each, in carbon's whisper files.
                    name = "testhost.anticaptcha-main.count-%s-volume_1h" % slug
                    cd.wait_for(lambda: len(carbon.fetch(name, start=hour - 5 * DAY))
                                >= 96, 20 * SLOW, "carbon's hours", interval=0.3)
                    points = carbon.fetch(name, start=hour - 5 * DAY)
                    self.assertEqual(points, [(r["dateFrom"], float(r["volume"]))
                                              for r in want], slug)
                self.assertNotIn("Value too old", cd.log())

    def assert_in_file_order(self, cd, name):
        """In each csv file, rows were written oldest first, no time twice."""
        d = os.path.join(cd.csv_dir, "testhost", "anticaptcha-main")
        for fname in sorted(os.listdir(d)):
            if fname.startswith(name + "-"):
                with open(os.path.join(d, fname)) as f:
                    times = [float(l.split(",")[0]) for l in f
                             if l[0].isdigit()]
                self.assertEqual(times, sorted(set(times)), fname)

    def test_empty_day(self):
        """Three days down, the first of them without a task: its page comes
        back empty and the next poll asks for the day after it, not for the
        same day again; then plain polls, the 24-hour sums of the last 24
        hours, and every hour that has a record dispatched once."""
        queue = "Recaptcha Proxyless"
        series = {"all": None, "recaptcha_proxyless": queue}
        t = time.time()
        hour = int(t) - int(t) % HOUR
        with Sim(now=t - 3 * DAY, quiet=True) as sim, \
                daemon(sim.http_url, account='    Queue "%s"' % queue,
                       global_config="WriteThreads 1") as cd:
            rows = lambda slug, what="volume_1h": cd.csv(
                "anticaptcha-main", "count-%s-%s" % (slug, what))
            cd.wait_for(lambda: all(len(rows(s)) == 24 for s in series),
                        20 * SLOW, "the first day")
            # As in test_three_days_down: the restart starts the catch-up
            # afresh, against the sim's clock now right.
            seq = max(r["seq"] for r in sim.requests())
            restarted = time.time()
            cd.restart(before_start=lambda: sim.state(
                {"now": t, "idle": [[hour - 3 * DAY, hour - 2 * DAY]]}))
            polls = lambda q: [r["body"].get("date") for r in
                               sim.requests("getSpendingStats")
                               if r["seq"] > seq and r["body"].get("queue") == q]
            cd.wait_for(lambda: all(len(polls(q)) >= 5 for q in series.values()),
                        20 * SLOW, "five polls after the restart")
            for slug, q in series.items():
                # The first poll is a plain one: until the API has answered,
                # its clock (Date) is not known, and that answer's hours wait
                # for the pages before them. Then each missed day asked for
                # once, oldest first, the empty one too; then the last 24
                # hours (no date).
                got = polls(q)
                self.assertEqual(got[:4],
                                 [None, hour - 3 * DAY, hour - 2 * DAY, None], slug)
                self.assertEqual(set(got[4:]), {None}, slug)
                want = []
                for start in (hour - 4 * DAY, hour - 3 * DAY, hour - 2 * DAY):
                    want += sim.expected(q, date=start)
                want += sim.expected(q)
                self.assertEqual([r["dateFrom"] for r in want],
                                 list(range(hour - 4 * DAY, hour - 3 * DAY, HOUR)) +
                                 list(range(hour - 2 * DAY, hour, HOUR)))
                cd.wait_for(lambda: len(rows(slug)) >= len(want), 10 * SLOW,
                            "the hours of %s" % slug)
                self.assertEqual(rows(slug), [(float(r["dateTill"]),
                                               [float(r["volume"])]) for r in want],
                                 slug)
                # A catch-up page's sum is not the last 24 hours': only
                # those of the plain polls are dispatched.
                sums = [v[0] for ts, v in rows(slug, "volume_24h") if ts > restarted]
                self.assertTrue(sums, slug)
                self.assertEqual(set(sums), {sum(r["volume"] for r in want[-24:])},
                                 slug)


class RestartNoDowntime(unittest.TestCase):
    """Restart with no downtime: no `Value too old` line in the log, no hour
    dispatched twice, seen from a hub collectd that keeps its cache while
    the plugin's collectd restarts (network plugin)."""

    def run_edge_restart(self, extra):
        from harness import free_port
        port = free_port()
        hub_net = '<Plugin network>\n  Listen "127.0.0.1" "%d"\n</Plugin>' % port
        edge_net = '<Plugin network>\n  Server "127.0.0.1" "%d"\n</Plugin>' % port
        with Sim(now=time.time(), quiet=True) as sim, \
                Collectd(plugins=("network",), extra_config=hub_net,
                         load_anticaptcha=False) as hub, \
                daemon(sim.http_url, extra, plugins=("network",),
                       extra_config=edge_net) as edge:
            rows = lambda cd: cd.csv("anticaptcha-main", "gauge-all-money_1h")
            edge.wait_for(lambda: len(rows(edge)) == 24, 20 * SLOW, "24 hours")
            hub.wait_for(lambda: rows(hub), 20 * SLOW, "hours at the hub")
            time.sleep(1)
            # The hub's own write threads may reorder the first back-fill
            # (a "too old" line then, whatever the plugin does): only what
            # follows the restart counts.
            hub_offset = len(hub.log())
            edge.restart()
            n = len(sim.requests("getSpendingStats"))
            edge.wait_for(lambda: len(sim.requests("getSpendingStats")) >= n + 3,
                          10 * SLOW, "three polls after the restart")
            time.sleep(1.5)
            return edge.log(), hub.log()[hub_offset:], rows(edge), rows(hub)

    @staticmethod
    def too_old_hours(log):
        return [l for l in log.splitlines() if "Value too old" in l and "_1h;" in l]

    def test_no_hour_twice(self):
        edge_log, hub_log, edge_rows, _ = self.run_edge_restart("")
        self.assertNotIn("Value too old", edge_log)
        self.assertEqual(self.too_old_hours(hub_log), [])
        self.assertEqual(len(edge_rows), 24)

    def test_without_state_the_hub_sees_hours_again(self):
        # The checks above can fail: with no state, the restart re-sends.
        edge_log, hub_log, edge_rows, _ = self.run_edge_restart("StateFile false")
        self.assertTrue(self.too_old_hours(hub_log))
        self.assertEqual(len(edge_rows), 48)


class HonestCounters(unittest.TestCase):

    def test_zero_balance_is_a_value_not_a_failure(self):
        with Sim(quiet=True) as sim:
            sim.faults([{"method": "getBalance", "action": "error", "errorId": 10,
                         "errorCode": "ERROR_ZERO_BALANCE",
                         "errorDescription": "Account has zero balance"}])
            with daemon(sim.http_url, account="    Balance true",
                        plugins=("write_log",),
                        extra_config='<Plugin write_log>\n  Format JSON\n</Plugin>') as cd:
                n = len(sim.requests("getSpendingStats"))
                cd.wait_for(lambda: len(sim.requests("getSpendingStats")) >= n + 4,
                            10 * SLOW, "four polls")
                rows = cd.csv("anticaptcha-main", "gauge-balance")
                self.assertEqual(rows[-1][1][0], 0.0)
                log = cd.log()
                self.assertNotIn("read-function of plugin `anticaptcha/main' failed",
                                 log)
                lines = [l for l in log.splitlines() if "ERROR_ZERO_BALANCE" in l]
                self.assertEqual(len(lines), 1, lines)
                self.assertIn("top up", lines[0])
                self.assertNotIn("getBalance works again", log)
                fails = cd.csv("anticaptcha-main", "derive-getBalance-failures")
                self.assertEqual(fails[-1][1][0], 0)
                # Dispatched with the interval it is refreshed at (30 s).
                self.assertRegex(log, r'"interval":30(\.0+)?,[^\]]*"type":"gauge",'
                                      r'"type_instance":"balance"')

    def test_future_notification_time_taken_as_now(self):
        with Sim(quiet=True) as sim:
            sim.faults([{"method": REPORT, "action": "http", "status": 503}])
            with daemon(sim.http_url, "Window 4") as cd:
                sent = time.time()
                send(cd, 6001, sent + 3600)  # a clock an hour ahead
                cd.wait_for(lambda: counter(cd, "expired") == 1, 15 * SLOW,
                            "the report expired")
                last = max(r["time"] for r in sim.requests(REPORT))
                self.assertLess(last, sent + 4 + 0.5)

    def test_error_16_after_a_lost_answer_is_not_rejected(self):
        with Sim(quiet=True) as sim:
            sim.faults([{"method": REPORT, "action": "hang", "times": 1},
                        {"method": REPORT, "action": "error", "errorId": 16,
                         "errorCode": "ERROR_NO_SUCH_CAPCHA_ID",
                         "errorDescription": "no such task"}])
            with daemon(sim.http_url, account="    Timeout 1") as cd:
                send(cd, 7001, time.time())
                cd.wait_for(lambda: counter(cd, "unconfirmed") == 1, 15 * SLOW,
                            "unconfirmed = 1")
                self.assertEqual(len(sim.requests(REPORT)), 2)
                self.assertEqual(counter(cd, "rejected"), 0)
                self.assertNotIn("was refused", cd.log())
            # An answer (503) was heard first: then 16 is a refusal.
            sim.reset()
            sim.faults([{"method": REPORT, "action": "http", "status": 503,
                         "times": 1},
                        {"method": REPORT, "action": "error", "errorId": 16,
                         "errorCode": "ERROR_NO_SUCH_CAPCHA_ID",
                         "errorDescription": "no such task"}])
            with daemon(sim.http_url) as cd:
                send(cd, 7002, time.time())
                cd.wait_for(lambda: counter(cd, "rejected") == 1, 15 * SLOW,
                            "rejected = 1")
                self.assertEqual(counter(cd, "unconfirmed"), 0)


if __name__ == "__main__":
    runner.main()

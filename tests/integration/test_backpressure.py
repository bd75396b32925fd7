"""A good citizen under stress (issue 11), with the real collectd and the
simulated API:

* a server with listen backlog 5 answering after 20 ms: a burst of 2,000
  reports goes at least 10x as fast as exec's NotificationExec + curl (the
  baseline, measured in the same run against the same server), no SYN is
  dropped by a full accept queue (the kernel's ListenOverflows counter), and
  never more than GATE_OPENING_MAX new connections wait for their first
  answer at once;
* HTTP 503 for 10 s with 1,000 reports queued: at most 30 requests reach the
  API meanwhile; after the recovery every report is delivered exactly once
  within 2 s;
* 429 with Retry-After 3 (delta-seconds), then 503 with an HTTP-date: no
  request before the time the server gave, then delivery resumes;
* errorId 21 on one report: no further report of that account is sent (they
  are counted "paused", the state gauge says 3), the other account goes on;
  20 reports at once, refused late with errorId 21: those still waiting at
  the first refusal are counted "paused" at once, none of them is sent;
* MaxConnectionsPerHost 3 shared by two accounts on one URL: all their
  reports over at most 3 connections;
* epoll_ctl refusing the sender's first sockets (LD_PRELOAD): logged once,
  the reports still delivered;
* the reader against a failing API: after a poll whose every
  getSpendingStats failed, each poll sends one of them, not the fan-out over
  the account's queues; after the recovery the fan-out resumes.
"""

import email.utils
import os
import re
import shutil
import threading
import time
import unittest

from harness import (Collectd, KEY_FILES, REPO, Sim, TEST_KEY, account_block,
                     build_library, changed_wrapper, make_tmpdir, remove_tmpdir,
                     timeout_factor)
import runner

REPORT = "reportIncorrectRecaptcha"
GATE_OPENING_MAX = 4  # plugin/send_pacing.h


def account(name, url, extra=""):
    # Reports only: the reader polls once at start-up, then every hour.
    return account_block(url, name, 3600, "    Timeout 5\n" + extra)


def daemon(config, **kw):
    return Collectd(config, files=KEY_FILES, **kw)


def lines(ids, account_name="main", t=None):
    t = t or time.time()
    return b"".join(b"PUTNOTIF severity=failure time=%.3f plugin=anticaptcha "
                    b"plugin_instance=%s type=recaptcha type_instance=%d "
                    b"message=x\n" % (t, account_name.encode(), i) for i in ids)


def send(cd, ids, account_name="main", connections=4, batch=250):
    """PUTNOTIF for every id over persistent unixsock connections."""
    cd.flood(ids, lambda part: lines(part, account_name), connections, batch)


def report_log(sim):
    return [r for r in sim.requests(REPORT) if r["body"]]


def accepted(sim):
    """taskId -> number of answers errorId 0."""
    out = {}
    for r in report_log(sim):
        if r["status"] == 200 and isinstance(r["answer"], dict) and \
                r["answer"].get("errorId") == 0:
            t = r["body"]["taskId"]
            out[t] = out.get(t, 0) + 1
    return out


def counter(cd, name, account_name="main"):
    rows = cd.csv("anticaptcha-" + account_name, "derive-reports-" + name)
    return rows[-1][1][0] if rows else 0


def listen_overflows():
    """The kernel's count of connections refused by a full accept queue
    (SYNs dropped: each costs the client a 1 s retransmit). Machine-wide, so
    other tests can only make it fail, never pass wrongly."""
    with open("/proc/net/netstat") as f:
        rows = [line.split() for line in f if line.startswith("TcpExt:")]
    table = dict(zip(rows[0][1:], rows[1][1:]))
    return int(table["ListenOverflows"]), int(table["ListenDrops"])


def rate(times):
    times = sorted(times)
    return (len(times) - 1) / (times[-1] - times[0])


def max_opening(reqs, latency):
    """The most connections at once that had sent their first request and
    not had its answer: a lower bound of the new connections the plugin had
    waiting at that moment."""
    first = {}
    for r in reqs:
        first.setdefault(r["connection"], r["time"])
    events = sorted([(t, 1) for t in first.values()] +
                    [(t + latency, -1) for t in first.values()],
                    key=lambda e: (e[0], e[1]))
    most = now = 0
    for _, d in events:
        now += d
        most = max(most, now)
    return most, len(first)


class SmallBacklog(unittest.TestCase):
    LATENCY = 0.020

    def baseline(self, sim, n=150, window=16):
        """exec + curl, as bench/run measures it: NotificationExec runs
        bench/baseline-notify.sh per notification, at most `window` at once
        (exec forks without bound)."""
        work = make_tmpdir("ac-base-", mode=0o755)  # the script runs as nobody
        try:
            script = os.path.join(work, "notify.sh")
            shutil.copy(os.path.join(REPO, "bench", "baseline-notify.sh"), script)
            os.chmod(script, 0o755)
            user = "nobody" if os.geteuid() == 0 else os.environ.get("USER", "root")
            extra = ('LoadPlugin exec\n<Plugin exec>\n  NotificationExec "%s" '
                     '"%s" "%s" "%s"\n</Plugin>' % (user, script, sim.http_url,
                                                   TEST_KEY))
            # Without the plugin, nothing to sanitise: exec's shells and curls
            # would inherit a preloaded sanitizer runtime.
            with changed_wrapper(lambda old: ""), \
                    Collectd(load_anticaptcha=False, extra_config=extra) as cd:
                base = len(report_log(sim))
                sent = 0
                deadline = time.monotonic() + 120
                while True:
                    got = len(report_log(sim)) - base
                    if got >= n:
                        break
                    if time.monotonic() > deadline:
                        raise AssertionError("baseline: %d of %d reports" % (got, n))
                    if sent < n and sent - got < window:
                        k = min(window - (sent - got), n - sent)
                        send(cd, list(range(900000 + sent, 900000 + sent + k)),
                             connections=1)
                        sent += k
                    else:
                        time.sleep(0.005)
                cd.assert_no_key()
        finally:
            remove_tmpdir(work)
        times = [r["time"] for r in report_log(sim)[base:]]
        return rate(times)

    def test_burst_against_backlog_5(self):
        with Sim(latency=self.LATENCY, quiet=True,
                 args=("--backlog", "5", "--max-log", "20000")) as sim:
            base = self.baseline(sim)
            sim.reset()
            sim.state({"latency": self.LATENCY})
            n = 2000
            with daemon(account("main", sim.http_url)) as cd:
                cd.wait_for(lambda: sim.requests("getSpendingStats"), 10,
                            "the start-up poll")
                overflows0 = listen_overflows()
                first = 1000000
                send(cd, list(range(first, first + n)))
                cd.wait_for(lambda: len(report_log(sim)) >= n, 60,
                            "%d reports at the API" % n)
                overflows = [b - a for a, b in zip(overflows0, listen_overflows())]
                time.sleep(0.5)
                reqs = report_log(sim)
                cd.assert_no_key()
            got = accepted(sim)
        self.assertEqual(len(reqs), n)
        self.assertEqual(sorted(got), list(range(first, first + n)))
        self.assertEqual(set(got.values()), {1})
        plugin_rate = rate([r["time"] for r in reqs])
        opening, conns = max_opening(reqs, self.LATENCY)
        print("\nbacklog 5, 20 ms: plugin %.0f reports/s, exec + curl %.0f/s "
              "(%.0fx); %d connections, at most %d new ones awaiting their "
              "first answer; ListenOverflows/ListenDrops +%s"
              % (plugin_rate, base, plugin_rate / base, conns, opening, overflows))
        self.assertEqual(overflows, [0, 0], "SYNs dropped by a full accept queue")
        self.assertLessEqual(opening, GATE_OPENING_MAX)
        self.assertLessEqual(conns, 128)
        self.assertGreaterEqual(plugin_rate, 10 * base)


class Outage(unittest.TestCase):
    def test_503_for_10s_with_1000_queued(self):
        with Sim(quiet=True, args=("--max-log", "20000")) as sim, \
                daemon(account("main", sim.http_url)) as cd:
            cd.wait_for(lambda: sim.requests("getSpendingStats"), 10,
                        "the start-up poll")
            sim.faults([{"method": REPORT, "action": "http", "status": 503,
                         "body": "down for maintenance"}])
            t_fault = time.time()
            first, n = 2000000, 1000
            send(cd, list(range(first, first + n)))
            time.sleep(max(0, t_fault + 10 - time.time()))
            sim.clear_faults()
            t_clear = time.time()
            cd.wait_for(lambda: len(accepted(sim)) >= n, 30, "the recovery")
            time.sleep(1.5)  # a duplicate would be on its way
            reqs = report_log(sim)
            during = [r for r in reqs if r["time"] < t_clear]
            got = accepted(sim)
            last = max(r["time"] for r in reqs if r["status"] == 200)
            state = cd.csv("anticaptcha-main", "gauge-reports-state")
            log = cd.log()
        print("\n503 for 10 s, %d reports queued: %d requests during the outage, "
              "all delivered %.2f s after the recovery" % (n, len(during),
                                                          last - t_clear))
        self.assertLessEqual(len(during), 30)
        self.assertGreater(len(during), 1)  # it did probe
        self.assertEqual(sorted(got), list(range(first, first + n)))
        self.assertEqual(set(got.values()), {1})
        self.assertLessEqual(last - t_clear, 2.0)
        self.assertIn(1.0, [v[0] for _, v in state])  # backing off was shown
        self.assertEqual(state[-1][1][0], 0.0)
        self.assertEqual(log.count("failed: HTTP status 503"), 1, log)
        self.assertEqual(log.count("reports go through again"), 1)


class RetryAfter(unittest.TestCase):
    def wait_answered(self, cd, sim, task, status):
        return cd.wait_for(
            lambda: [r for r in report_log(sim)
                     if r["body"]["taskId"] == task and r["status"] == status],
            10, "task %d answered %d" % (task, status))[0]["time"]

    def test_429_delta_then_503_date(self):
        with Sim(quiet=True) as sim, daemon(account("main", sim.http_url)) as cd:
            cd.wait_for(lambda: sim.requests("getSpendingStats"), 10,
                        "the start-up poll")
            # 429, Retry-After: 3 (delta-seconds).
            sim.faults([{"method": REPORT, "action": "http", "status": 429,
                         "headers": {"Retry-After": "3"}, "times": 1}])
            send(cd, [3000001], connections=1)
            t429 = self.wait_answered(cd, sim, 3000001, 429)
            send(cd, list(range(3000002, 3000007)), connections=1)
            cd.wait_for(lambda: len(accepted(sim)) >= 6, 10, "delivery after 3 s")
            after = [r["time"] for r in report_log(sim) if r["time"] > t429]
            # 503 with an HTTP-date 4 s ahead (whole seconds: 3 to 4 s).
            time.sleep(1.2)  # the window has grown again
            sim.faults([{"method": REPORT, "action": "http", "status": 503,
                         "headers": {"Retry-After": email.utils.formatdate(
                             time.time() + 4, usegmt=True)}, "times": 1}])
            send(cd, [3000011], connections=1)
            t503 = self.wait_answered(cd, sim, 3000011, 503)
            send(cd, list(range(3000012, 3000016)), connections=1)
            cd.wait_for(lambda: len(accepted(sim)) >= 11, 10, "delivery after the date")
            after_date = [r["time"] for r in report_log(sim) if r["time"] > t503]
            time.sleep(2.2)  # the counters
            throttled = counter(cd, "throttled")
            log = cd.log()
            once = set(accepted(sim).values())
        self.assertEqual(len(after), 6)
        self.assertGreaterEqual(min(after) - t429, 2.95)
        self.assertLess(max(after) - t429, 5.0)
        self.assertEqual(len(after_date), 5)
        self.assertGreaterEqual(min(after_date) - t503, 2.9)
        self.assertLess(max(after_date) - t503, 6.0)
        self.assertEqual(once, {1})
        self.assertEqual(throttled, 2)
        self.assertEqual(log.count("(Retry-After)"), 2, log)


class AccountError(unittest.TestCase):
    def test_errorid_21_pauses_that_account_only(self):
        config = account("a", "@URL@") + account("b", "@URL@")
        with Sim(quiet=True) as sim, \
                daemon(config.replace("@URL@", sim.http_url)) as cd:
            cd.wait_for(lambda: len(sim.requests("getSpendingStats")) >= 2, 10,
                        "the start-up polls")
            sim.faults([{"method": REPORT, "task": 4000001, "action": "error",
                         "errorId": 21, "errorCode": "ERROR_IP_BLOCKED",
                         "errorDescription": "simulated block"}])
            send(cd, [4000001], "a", connections=1)
            cd.wait_for(lambda: report_log(sim), 10, "the refused report")
            send(cd, list(range(4000002, 4000012)), "a", connections=1)
            send(cd, list(range(5000001, 5000011)), "b", connections=1)
            cd.wait_for(lambda: len(accepted(sim)) >= 10, 10, "account b's reports")
            time.sleep(2.2)
            sent_a = [r["body"]["taskId"] for r in report_log(sim)
                      if r["body"]["taskId"] < 5000000]
            paused = counter(cd, "paused", "a")
            rejected = counter(cd, "rejected", "a")
            state_a = cd.csv("anticaptcha-a", "gauge-reports-state")[-1][1][0]
            state_b = cd.csv("anticaptcha-b", "gauge-reports-state")[-1][1][0]
            log = cd.log()
            cd.assert_no_key()
            got = accepted(sim)
        self.assertEqual(sent_a, [4000001])
        self.assertEqual(sorted(got), list(range(5000001, 5000011)))
        self.assertEqual((rejected, paused), (1, 10))
        self.assertEqual((state_a, state_b), (3.0, 0.0))
        held = [l for l in log.splitlines() if "concerns the account" in l]
        self.assertEqual(len(held), 1, log)
        self.assertIn('Account "a"', held[0])
        self.assertIn("ERROR_IP_BLOCKED", held[0])

    def test_reports_waiting_at_the_refusal_are_paused(self):
        """20 reports at once, more than go out together; the answers come
        late and refuse them (errorId 21): the reports still waiting when
        the first refusal came are counted paused at once, and none of
        them is sent during the pause."""
        latency = 1.0 * timeout_factor()  # all 20 queued before an answer
        with Sim(quiet=True) as sim, \
                daemon(account("main", sim.http_url)) as cd:
            cd.wait_for(lambda: sim.requests("getSpendingStats"), 10,
                        "the start-up poll")
            sim.state({"latency": latency})
            sim.faults([{"method": REPORT, "action": "error", "errorId": 21,
                         "errorCode": "ERROR_IP_BLOCKED",
                         "errorDescription": "simulated block"}])
            send(cd, list(range(6000001, 6000021)), connections=1)
            cd.wait_for(lambda: report_log(sim) and all(
                r["status"] for r in report_log(sim)), 5 + 2 * latency,
                "the answers to the first reports")
            # Counters go to the csv every second; nothing more may be sent.
            time.sleep(1.5)
            sent = report_log(sim)
            counts = {n: counter(cd, n) for n in ("paused", "rejected", "expired")}
        # All sent before the first answer came, none during the pause.
        self.assertLess(len(sent), 20)
        first = min(r["time"] for r in sent)
        self.assertLess(max(r["time"] for r in sent), first + latency)
        self.assertEqual(counts, {"paused": 20 - len(sent),
                                  "rejected": len(sent), "expired": 0})


class ConnectionCap(unittest.TestCase):
    def test_two_accounts_share_the_host_cap(self):
        """MaxConnectionsPerHost 3: accounts on one URL share 3 connections,
        and every report still goes (reused connections)."""
        config = (account("a", "@URL@") + account("b", "@URL@") +
                  "\n  MaxConnectionsPerHost 3")
        with Sim(quiet=True, latency=0.01) as sim, \
                daemon(config.replace("@URL@", sim.http_url)) as cd:
            cd.wait_for(lambda: len(sim.requests("getSpendingStats")) >= 2, 10,
                        "the start-up polls")
            threads = [threading.Thread(target=send, args=(cd, ids, name))
                       for ids, name in ((list(range(7000001, 7000201)), "a"),
                                         (list(range(8000001, 8000201)), "b"))]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            cd.wait_for(lambda: len(accepted(sim)) >= 400, 30, "400 reports")
            conns = {r["connection"] for r in report_log(sim)}
            got = accepted(sim)
        self.assertEqual(len(got), 400)
        self.assertEqual(set(got.values()), {1})
        self.assertLessEqual(len(conns), 3)


FAIL_EPOLL_C = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
/* Refuses the first $FAIL_EPOLL_ADDS EPOLL_CTL_ADDs of TCP sockets. */
int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev) {
  static int (*real)(int, int, int, struct epoll_event *);
  static int left = -1;
  if (real == NULL)
    real = (int (*)(int, int, int, struct epoll_event *))dlsym(RTLD_NEXT, "epoll_ctl");
  if (__atomic_load_n(&left, __ATOMIC_RELAXED) < 0) {
    const char *e = getenv("FAIL_EPOLL_ADDS");
    __atomic_store_n(&left, e ? atoi(e) : 0, __ATOMIC_RELAXED);
  }
  int type = 0;
  socklen_t len = sizeof(type);
  if (op == EPOLL_CTL_ADD &&
      getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 &&
      type == SOCK_STREAM && __atomic_fetch_sub(&left, 1, __ATOMIC_RELAXED) > 0) {
    errno = ENOMEM;
    return -1;
  }
  return real(epfd, op, fd, ev);
}
"""


class ReaderProbes(unittest.TestCase):
    def test_a_failing_account_gets_one_request_per_poll(self):
        config = account("main", "@URL@", '    Queue "Recaptcha Proxyless"\n'
                         '    Queue "English ImageToText"\n').replace(
                             "Interval 3600", "Interval 1")
        with Sim() as sim:
            sim.faults([{"method": "getSpendingStats", "action": "http",
                         "status": 503, "body": "busy",
                         "content_type": "text/plain"}])
            with daemon(config.replace("@URL@", sim.http_url),
                        global_config="MaxReadInterval 1") as cd:
                time.sleep(6)
                during = [r["time"] for r in sim.requests("getSpendingStats")]
                sim.clear_faults()
                cd.wait_for(lambda: cd.csv("anticaptcha-main",
                                           "gauge-english_imagetotext-money_24h")
                            and cd.csv("anticaptcha-main",
                                       "gauge-recaptcha_proxyless-money_24h")
                            and cd.csv("anticaptcha-main", "gauge-all-money_24h"),
                            15, "every series again after the recovery")
        # The first poll fans out over the two queues and the total (3
        # requests at once); from then on one request per poll, a poll at
        # most every second: never two within 0.5 s.
        self.assertGreaterEqual(len(during), 5, during)
        first = [t for t in during if t - during[0] < 0.5]
        self.assertEqual(len(first), 3, during)
        rest = during[3:]
        gaps = [b - a for a, b in zip(rest, rest[1:])]
        self.assertTrue(all(g >= 0.5 for g in gaps), gaps)
        self.assertLessEqual(len(during), 3 + 6 + 1)


class EventLoopFaults(unittest.TestCase):
    """issue 15, item 2: a failed epoll_ctl is logged once and recovered
    from (the socket is polled until epoll takes it)."""

    def test_epoll_ctl_refused(self):
        work = make_tmpdir("ac-epoll-")
        try:
            src = os.path.join(work, "fail_epoll.c")
            with open(src, "w") as f:
                f.write(FAIL_EPOLL_C)
            lib = build_library(src, work, "-ldl")
            # A sanitizer's wrapper sets LD_PRELOAD itself: the shim goes
            # after its runtime.
            with changed_wrapper(lambda old: re.sub(r"LD_PRELOAD=(\S+)",
                                            lambda m: m.group(0) + ":" + lib, old)), \
                    Sim(quiet=True) as sim, \
                    daemon(account("main", sim.http_url),
                           env={"LD_PRELOAD": lib, "FAIL_EPOLL_ADDS": "3"}) as cd:
                cd.wait_for(lambda: sim.requests("getSpendingStats"), 10,
                            "the start-up poll (its socket refused by epoll)")
                send(cd, list(range(6000001, 6000006)), connections=1)
                cd.wait_for(lambda: len(accepted(sim)) >= 5, 10, "the reports")
                # Each episode ends with its recovery line: wait for the
                # last one (a second episode may still be under way when
                # the first line comes).
                episodes = lambda log: (
                    log.count("the report sender: epoll_ctl failed"),
                    log.count("the report sender: sockets are watched again"))
                cd.wait_for(lambda: 0 < episodes(cd.log())[1] ==
                            episodes(cd.log())[0], 5, "the recovery lines")
                log = cd.log()
                got = accepted(sim)
        finally:
            remove_tmpdir(work)
        self.assertEqual(sorted(got), list(range(6000001, 6000006)))
        # One line per episode, each followed by the recovery line: the
        # three refusals come in one or more episodes (the start-up poll may
        # take one), never a line per retry.
        failed = log.count("the report sender: epoll_ctl failed")
        self.assertIn(failed, (1, 2, 3), log)
        self.assertEqual(log.count("the report sender: sockets are watched "
                                   "again"), failed, log)


if __name__ == "__main__":
    runner.main()

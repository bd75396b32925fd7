"""The hourly series with collectd's defaults (issue 25): five write threads,
no WriteQueueLimit, a CPU hog beside collectd. For 3 accounts x 4 queues (and
their totals), the first start back-fills a day and a restart catches up 7
days: every hour of every series must pass collectd's value cache in order
(no "Value too old" line) and land exactly once, at its dateTill, in a real
carbon-cache's whisper files and, oldest first, in write_log's lines.

collectd 5.12 logs a value that reaches its cache out of order as "too old"
and still hands it to the writers; whisper and write_log take it, writers that
need order (rrdtool, csv's rows, a hub's cache behind the network plugin) lose
or misplace it.

HOUR_ORDER_RUNS (default 3) sets how many times the scenario runs, each with
its own collectd and accounts; under COLLECTD_WRAPPER (valgrind) it runs
once."""

import json
import os
import subprocess
import sys
import time
import unittest

from harness import Collectd, KEY_FILE, KEY_FILES, Sim, timeout_factor
from servers import CarbonCache
import runner

SLOW = timeout_factor()
HOUR, DAY = 3600, 86400
QUEUES = ("Recaptcha Proxyless", "English ImageToText", "Recaptcha V3",
          "ImageToText")
SLUGS = {"recaptcha_proxyless": QUEUES[0], "english_imagetotext": QUEUES[1],
         "recaptcha_v3": QUEUES[2], "imagetotext": QUEUES[3], "all": None}
KINDS = (("count", "volume"), ("gauge", "money"))
CATCH_UP_DAYS = 7
RUNS = int(os.environ.get("HOUR_ORDER_RUNS",
                          "1" if os.environ.get("COLLECTD_WRAPPER") else "3"))

SCHEMAS = ("[anticaptcha_hourly]\npattern = \\.anticaptcha.*_1h$\n"
           "retentions = 1h:90d\n\n[default]\npattern = .*\n"
           "retentions = 1s:6h\n")


def accounts(url, names):
    """Each account: the four queues and the total, polled every second. No
    WriteThreads, no WriteQueueLimit: collectd's defaults."""
    block = '''
  <Account "%s">
    ClientKeyFile "@TMP@/%s"
    URL "%s"
%s
    Balance false
    Interval 1
  </Account>'''
    queues = "\n".join('    Queue "%s"' % q for q in QUEUES)
    return "".join(block % (n, KEY_FILE, url, queues) for n in names)


def writers(carbon_port):
    return ('<Plugin write_log>\n  Format JSON\n</Plugin>\n'
            '<LoadPlugin write_graphite>\n  FlushInterval 1\n</LoadPlugin>\n'
            '<Plugin write_graphite>\n  <Node "carbon">\n'
            '    Host "127.0.0.1"\n    Port "%d"\n    Protocol "tcp"\n'
            '  </Node>\n</Plugin>' % carbon_port)


class CpuHog:
    """One busy process per CPU, at collectd's own priority, for a `with`
    block: collectd's write threads then wait for the CPU now and then, the
    way they do on a loaded host."""

    def __enter__(self):
        self.procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
                      for _ in range(os.cpu_count() or 2)]
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.kill()
            p.wait()
        return False


def hours_by_series(cd, names):
    """{(account, type, type_instance): [time, ...]} of every hourly value
    write_log wrote, in the order written."""
    want = {(n, t, "%s-%s_1h" % (slug, kind))
            for n in names for slug in SLUGS for t, kind in KINDS}
    out = {k: [] for k in want}
    for line in cd.log().splitlines():
        if not line.startswith('[{"values"'):
            continue
        try:
            values = json.loads(line)
        except ValueError:
            continue
        for v in values:
            k = (v.get("plugin_instance"), v.get("type"), v.get("type_instance"))
            if v.get("plugin") == "anticaptcha" and k in out:
                out[k].append((float(v["time"]), v["values"][0]))
    return out


class HourOrder(unittest.TestCase):

    def test_first_start_and_7_day_catch_up_under_load(self):
        started = time.monotonic()
        self.reordered = 0
        self.catch_up = 0.0
        with CpuHog(), CarbonCache(SCHEMAS) as carbon:
            for run in range(RUNS):
                with self.subTest(run=run):
                    self.run_once(carbon, ["r%da%d" % (run, i) for i in range(3)])
        print("\nHourOrder: %d run(s) of 3 accounts x 5 series x %d hours in "
              "%.0f s (the longest catch-up: %.1f s); write_log wrote %d "
              "hour(s) before the hour preceding it"
              % (RUNS, 24 * (1 + CATCH_UP_DAYS), time.monotonic() - started,
                 self.catch_up, self.reordered))

    def run_once(self, carbon, names):
        t = time.time()
        hour = int(t) - int(t) % HOUR
        with Sim(now=t - CATCH_UP_DAYS * DAY, quiet=True) as sim, \
                Collectd(accounts(sim.http_url, names), plugins=("write_log",),
                         extra_config=writers(carbon.port), files=KEY_FILES) as cd:
            count = lambda: min(len(v) for v in hours_by_series(cd, names).values())
            cd.wait_for(lambda: count() >= 24, 30 * SLOW, "the first day")
            cd.restart(before_start=lambda: sim.state({"now": t}))
            total = 24 * (1 + CATCH_UP_DAYS)
            restarted = time.monotonic()
            try:
                cd.wait_for(lambda: count() >= total, 60 * SLOW,
                            "the 7-day catch-up")
            except AssertionError:
                lines = [l for l in cd.log().splitlines() if "anticaptcha plugin"
                         in l or "left after" in l or "too old" in l]
                raise AssertionError("the 7-day catch-up: %d of %d hours in the "
                                     "series with the fewest after %.0f s\n%s"
                                     % (count(), total, 60 * SLOW,
                                        "\n".join(lines[-20:])))
            self.catch_up = max(self.catch_up, time.monotonic() - restarted)
            time.sleep(1.5)  # a poll more: nothing further may come
            first = hour - (CATCH_UP_DAYS + 1) * DAY
            want = {}
            for slug, queue in SLUGS.items():
                recs = []
                for day in range(CATCH_UP_DAYS):
                    recs += sim.expected(queue, date=first + day * DAY)
                recs += sim.expected(queue)
                self.assertEqual([r["dateFrom"] for r in recs],
                                 list(range(first, hour, HOUR)))
                want[slug] = recs
            got = hours_by_series(cd, names)
            reordered = 0
            for (name, type_, ti), rows in sorted(got.items()):
                slug, kind = ti[:-3].rsplit("-", 1)
                field = "volume" if kind == "volume" else "money"
                recs = want[slug]
                # Exactly once each, at its dateTill, with its value.
                self.assertEqual(sorted(ts for ts, _ in rows),
                                 [float(r["dateTill"]) for r in recs], (name, ti))
                by_time = dict(rows)
                for r in recs:
                    self.assertAlmostEqual(by_time[float(r["dateTill"])], r[field],
                                           places=6, msg=(name, ti))
                # Written oldest first: what rrdtool, csv and a hub need.
                reordered += sum(1 for a, b in zip(rows, rows[1:]) if b[0] < a[0])
                # The same hours in carbon, each filed under its dateFrom.
                metric = "testhost.anticaptcha-%s.%s-%s" % (name, type_, ti)
                points = lambda: carbon.fetch(metric, start=first - DAY)
                cd.wait_for(lambda: len(points()) >= len(recs), 30 * SLOW,
                            "carbon's hours of %s" % metric, interval=0.3)
                self.assertEqual([ts for ts, _ in points()],
                                 [r["dateFrom"] for r in recs], metric)
                for (_, v), r in zip(points(), recs):
                    self.assertAlmostEqual(v, r[field], places=6, msg=metric)
            self.reordered += reordered
            too_old = [l for l in cd.log().splitlines() if "Value too old" in l]
            self.assertEqual(too_old, [], "%d hour(s) reached the cache out of "
                             "order" % len(too_old))
            self.assertEqual(reordered, 0, "write_log wrote %d hour(s) before "
                             "the hour preceding it" % reordered)


if __name__ == "__main__":
    runner.main()

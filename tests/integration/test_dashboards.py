"""The Grafana dashboards of dashboards/ against the real back ends.

One real collectd with the built plugin polls the simulated API and writes to
a real carbon-cache (read through a real graphite-web's render API), a real
InfluxDB 1.x (its collectd input) and a real Prometheus (scraping
write_prometheus) at once. The test then sends a few report notifications of
its own, and runs every panel's queries of dashboards/graphite.json,
influxdb.json and prometheus.json as Grafana sends them (tests/integration/
grafana.py: template variables filled from the back end, "All" selected, the
dashboard's time range) and checks what each panel shows against what the
simulated account and the notifications imply: the hourly records, the
balance and its forecast, the report outcomes, the sender's state, the API's
response time and failures, the queue statistics and the hub pair.

The panels come from the JSON files: a panel whose query or identifier
changes, or that returns nothing, fails; a panel without an expectation here
fails too. test_graphite_money_picture renders the money panel as a PNG with
graphite-web (ANTICAPTCHA_DASHBOARD_PNG=<path> keeps it: doc/graph-money.png).

The accounts: "main" (two queues and the total, the balance, a report-rate
guard that admits one incorrect reCAPTCHA report) and "eu.shop" (a key the
API does not know: its polls fail, its first report is refused and pauses
it). The hub pair's peer "hub-b" never speaks: this hub reports its share
too, counted as taken over."""

import os
import re
import struct
import time
import unittest

import grafana
import harness
from harness import (Collectd, HarnessError, KEY_FILE, KEY_FILES, Sim,
                     assert_no_key_in, timeout_factor)
from servers import (CarbonCache, GraphiteWeb, InfluxDB, Prometheus, anticaptcha_schemas,
                     free_port)
from test_hub_pair import owner
import runner

SLOW = timeout_factor()
DASHBOARDS = os.path.join(harness.REPO, "dashboards")
KINDS = ("graphite", "influxdb", "prometheus")
LATENCY = 0.2          # the sim's answer time: the response time panels see it
SLUGS = {"recaptcha_proxyless": "Recaptcha Proxyless",
         "english_imagetotext": "English ImageToText", "all": None}
WRONG_KEY = "unknown-key-5e0b7d"
# The pair's secret (PairSecretFile is required with PairPeer); the peer
# never speaks, so no one else needs it.
PAIR_SECRET = "3f9c2a7d5e1b8c4f6a0d9e2b7c5f1a8e3d6b9c0f2e5a7d1c4b8e6f0a3c9d2b7e"
FILES = dict(KEY_FILES, **{"wrong.key": WRONG_KEY + "\n",
                           "pair.secret": PAIR_SECRET + "\n"})
PEER = "hub-b"         # sorts before "testhost": the peer is hub 0
PEER_SHARE, OWN_SHARE = 0, 1

# doc/writers.md's storage schemas, with one second for the values polled
# every second (a rate needs its own slot) kept for the dashboards' 24 hours.
SCHEMAS = anticaptcha_schemas("1s:1d", hourly="1h:400d")

# What the notifications of send_reports() must come to, per account, and per
# account and report method (outcomes not named: 0).
REPORTS = {"main": {"sent": 2, "accepted": 2, "duplicate": 1, "expired": 1, "withheld": 1},
           "eu.shop": {"sent": 1, "rejected": 1, "paused": 1}}
REPORTS_BY_METHOD = {
    ("main", "reportIncorrectRecaptcha"): {"sent": 1, "accepted": 1, "withheld": 1},
    ("main", "reportCorrectRecaptcha"): {"sent": 1, "accepted": 1, "duplicate": 1,
                                         "expired": 1},
    ("eu.shop", "reportIncorrectRecaptcha"): {"sent": 1, "rejected": 1, "paused": 1},
}
OUTCOMES = ("sent", "accepted", "rejected", "expired", "duplicate", "dropped",
            "retried", "abandoned", "throttled", "paused", "withheld", "unconfirmed")
METHODS = ("reportIncorrectRecaptcha", "reportCorrectRecaptcha",
           "reportIncorrectImageCaptcha", "reportIncorrectHcaptcha")


def plugin_config(url, share):
    return """
  <Account "main">
    ClientKeyFile "@TMP@/%(key)s"
    URL "%(url)s"
    Queue "Recaptcha Proxyless"
    Queue "English ImageToText"
    Interval 1
    IncorrectReportShare %(share).9f
  </Account>
  <Account "eu.shop">
    ClientKeyFile "@TMP@/wrong.key"
    URL "%(url)s"
    Interval 1
  </Account>
  <QueueStats>
    Queue "Recaptcha Proxyless"
    URL "%(url)s"
    Interval 10
  </QueueStats>
  PairPeer "%(peer)s"
  PairSecretFile "@TMP@/pair.secret"
  PairTimeout 1
  PairHoldBack 0.5""" % {"key": KEY_FILE, "url": url, "share": share, "peer": PEER}


def writers(carbon_port, influx_port, exporter_port):
    return """\
<LoadPlugin write_graphite>
  FlushInterval 1
</LoadPlugin>
<Plugin write_graphite>
  <Node "carbon">
    Host "127.0.0.1"
    Port "%d"
    Protocol "tcp"
  </Node>
</Plugin>
<LoadPlugin network>
  FlushInterval 1
</LoadPlugin>
<Plugin network>
  Server "127.0.0.1" "%d"
</Plugin>
LoadPlugin write_prometheus
<Plugin write_prometheus>
  Host "127.0.0.1"
  Port "%d"
</Plugin>""" % (carbon_port, influx_port, exporter_port)


def task_ids(account, share, count, start):
    """`count` task ids from `start` on whose hub-pair owner is `share`."""
    out, t = [], start
    while len(out) < count:
        if owner(account, t) == share:
            out.append(t)
        t += 1
    return out


def last(points):
    return max(points)[1]


def total(points):
    return sum(v for _, v in points)


class Dashboards(unittest.TestCase):
    """Every panel of the three dashboards; the test methods are made from
    the JSON files below the class."""

    @classmethod
    def setUpClass(cls):
        cls.started = time.monotonic()
        cls.addClassCleanup(lambda: print(
            "\nDashboards: %.1f s from start to stop" % (time.monotonic() - cls.started)))
        # Stopped in reverse order, whatever happens. A fixed clock: the
        # records do not move if an hour ends meanwhile.
        cls.sim = cls.enterClassContext(Sim(now=time.time(), quiet=True, latency=LATENCY))
        cls.records = {slug: sorted(cls.sim.expected(q), key=lambda r: r["dateFrom"])
                       for slug, q in SLUGS.items()}
        # One incorrect reCAPTCHA report within the share, the second beyond.
        tasks = sum(r["volume"] for r in cls.records["recaptcha_proxyless"])
        cls.carbon = cls.enterClassContext(CarbonCache(SCHEMAS))
        cls.web = cls.enterClassContext(GraphiteWeb(cls.carbon))
        cls.influx = cls.enterClassContext(InfluxDB())
        exporter = free_port()
        cls.prom = cls.enterClassContext(Prometheus(exporter))
        cd = Collectd(plugin_config(cls.sim.http_url, 150.0 / tasks),
                      extra_config=writers(cls.carbon.port, cls.influx.collectd_port, exporter),
                      files=FILES)
        # write_graphite files a value under its time rounded to the second:
        # two counter values a second apart share a slot (and the second
        # rate replaces the first) when their reads fall on either side of
        # a half second. collectd reads first within a few ms of its start,
        # then every second on the dot: started just after a whole second,
        # its reads stay half a second away from that edge.
        time.sleep(1 - time.time() % 1)
        cls.cd = cls.enterClassContext(cd)
        # The counters must be in every back end before the reports move
        # them (write_graphite sends a rate from the second value on).
        cls.cd.wait_for(cls.landed, 40 * SLOW, "the values in the three back ends",
                        interval=0.3)
        cls.send_reports()
        cls.cd.wait_for(cls.counted, 30 * SLOW, "the report counters in the back ends",
                        interval=0.3)
        cls.dashboards = {k: grafana.load(os.path.join(DASHBOARDS, k + ".json")) for k in KINDS}

    # ----- the run ---------------------------------------------------------------

    @classmethod
    def influx_last(cls, instance, type_instance):
        where = "\"type_instance\" = '%s'" % type_instance
        if instance:
            where += " AND \"instance\" = '%s'" % instance
        try:
            rows = cls.influx.rows('SELECT last("value") FROM "anticaptcha_value" WHERE ' + where)
        except HarnessError:
            return None      # no database before the first write
        return rows[0]["last"] if rows else None

    @classmethod
    def prom_last(cls, account, type_=None):
        sel = 'anticaptcha="%s"' % account + (', type="%s"' % type_ if type_ else "")
        try:
            rows = cls.prom.query("{%s}" % sel)
        except HarnessError:
            return None
        return rows[0][1] if len(rows) == 1 else None

    @classmethod
    def landed(cls):
        if len(cls.carbon.fetch("testhost.anticaptcha-main.gauge-all-money_1h")) < 24:
            return False
        for acct in ("main", "eu_shop"):
            if not cls.carbon.fetch("testhost.anticaptcha-%s.derive-reports-sent" % acct):
                return False
        if not (cls.carbon.fetch("testhost.anticaptcha-main.derive-pair-taken-over")
                and cls.carbon.fetch("testhost.anticaptcha.derive-notifications-invalid")
                and cls.carbon.fetch(
                    "testhost.anticaptcha-queues.percent-recaptcha_proxyless-load")):
            return False
        for instance, ti in (("main", "reports-sent"), ("eu.shop", "reports-sent"),
                             ("main", "pair-taken-over"), (None, "notifications-invalid"),
                             ("queues", "recaptcha_proxyless-load")):
            if cls.influx_last(instance, ti) is None:
                return False
        return (cls.prom_last("main", "reports-sent") == 0
                and cls.prom_last("eu.shop", "reports-sent") == 0
                and cls.prom_last("main", "pair-taken-over") == 0
                and cls.prom_last("notifications-invalid") == 0
                and cls.prom_last("queues", "recaptcha_proxyless-load") is not None)

    @classmethod
    def send_reports(cls):
        """main: A (the peer's share) accepted, B accepted, B again a
        duplicate, C withheld by the guard, E too late; one malformed
        request; eu.shop: F refused (the account pauses), then G paused."""
        a, = task_ids("main", PEER_SHARE, 1, 7100001)
        b, c, e = task_ids("main", OWN_SHARE, 3, 7100001)
        f, g = task_ids("eu.shop", OWN_SHARE, 2, 7200001)
        cls.tasks = {"A": a, "B": b, "C": c, "E": e, "F": f, "G": g}
        note = dict(message="dashboard test", plugin="anticaptcha", type="recaptcha")
        cd = cls.cd
        cd.putnotif("failure", plugin_instance="main", type_instance=str(a), **note)
        cd.putnotif("okay", plugin_instance="main", type_instance=str(b), **note)
        cd.putnotif("okay", plugin_instance="main", type_instance=str(b), **note)
        cd.putnotif("failure", plugin_instance="main", type_instance=str(c), **note)
        cd.putnotif("okay", time=int(time.time()) - 120, plugin_instance="main",
                    type_instance=str(e), **note)
        cd.putnotif("failure", plugin_instance="main", type_instance="not-a-task", **note)
        cd.putnotif("failure", plugin_instance="eu.shop", type_instance=str(f), **note)
        # G only once F's refusal has paused the account.
        cd.wait_for(lambda: cls.influx_last("eu.shop", "reports-state") == 3, 20 * SLOW,
                    "eu.shop's sender state 3 (paused)")
        cd.putnotif("failure", plugin_instance="eu.shop", type_instance=str(g), **note)

    @classmethod
    def counted(cls):
        for acct, want in REPORTS.items():
            for outcome, n in want.items():
                if cls.influx_last(acct, "reports-" + outcome) != n:
                    return False
                if cls.prom_last(acct, "reports-" + outcome) != n:
                    return False
                rates = cls.carbon.fetch("testhost.anticaptcha-%s.derive-reports-%s"
                                         % (acct.replace(".", "_"), outcome))
                if round(sum(v for _, v in rates)) != n:
                    return False
        return (cls.influx_last(None, "notifications-invalid") == 1
                and cls.prom_last("notifications-invalid") == 1
                and cls.influx_last("main", "pair-taken-over") == 1
                and cls.prom_last("main", "pair-taken-over") == 1)

    # ----- running a panel ----------------------------------------------------------

    def backend(self, kind, now=None):
        server = {"graphite": self.web, "influxdb": self.influx, "prometheus": self.prom}[kind]
        b = grafana.backend(kind, self.dashboards[kind], server, now)
        b.fill_variables()
        return b

    def check_panel(self, kind, panel_id):
        """Runs the panel and its expectation; values still on their way get
        a few seconds (the assertion is retried, then raised)."""
        panel = [p for p in grafana.panels(self.dashboards[kind]) if p["id"] == panel_id][0]
        key = grafana.panel_key(panel["title"])
        expect = EXPECT.get(key)
        self.assertIsNotNone(expect, "no expectation for the panel %r" % key)
        deadline = time.monotonic() + 15 * SLOW
        while True:
            now = time.time()
            b = self.backend(kind, now)
            series = b.run_panel(panel)
            try:
                self.assertTrue(series, "%s: %r returns nothing" % (kind, key))
                for name, points in series.items():
                    self.assertTrue(points, "%s: %r: the series %r has no value"
                                    % (kind, key, name))
                getattr(self, expect)(kind, series, now, b.panel_range(panel))
                return
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(1)

    def acct(self, kind, name):
        """An account as the back end writes it (write_graphite: dots
        escaped)."""
        return name.replace(".", "_") if kind == "graphite" else name

    def names(self, kind, *parts):
        return " ".join([self.acct(kind, parts[0])] + list(parts[1:]))

    # ----- expectations, by panel title ---------------------------------------------

    def money_24h(self, slug):
        return sum(r["money"] for r in self.records[slug])

    def hours_left(self):
        return self.sim.state()["balance"] / (self.money_24h("all") / 24)

    def expect_balance(self, kind, series, now, rng):
        self.assertEqual(set(series), {"main"})
        self.assertAlmostEqual(last(series["main"]), self.sim.state()["balance"], places=6)

    def expect_hours_left(self, kind, series, now, rng):
        self.assertEqual(set(series), {"main"})
        self.assertAlmostEqual(last(series["main"]), self.hours_left(), places=6)

    def expect_money_24h(self, kind, series, now, rng):
        self.assertEqual(set(series), {"main " + s for s in SLUGS})
        for slug in SLUGS:
            self.assertAlmostEqual(last(series["main " + slug]), self.money_24h(slug), places=5)

    def hourly(self, kind, series, now, rng, value):
        """Each hour's point is its record's (Graphite files it under the
        hour's start; InfluxDB groups by hour); Prometheus holds the last
        hour that ended."""
        self.assertEqual(set(series), {"main " + s for s in SLUGS})
        for slug in SLUGS:
            got = sorted(series["main " + slug])
            recs = self.records[slug]
            if kind == "prometheus":
                newest = value(recs[-1])
                for _, v in got:
                    self.assertAlmostEqual(v, newest, places=6, msg=slug)
                continue
            if kind == "graphite":    # whisper reads the slots after `from`
                recs = [r for r in recs if r["dateFrom"] > now - rng]
            else:                     # $timeFilter holds each record's dateTill
                recs = [r for r in recs if r["dateTill"] >= now - rng]
            self.assertEqual([t for t, _ in got], [r["dateFrom"] for r in recs], slug)
            for (_, v), r in zip(got, recs):
                self.assertAlmostEqual(v, value(r), places=6, msg=slug)

    def expect_money_hourly(self, kind, series, now, rng):
        self.hourly(kind, series, now, rng, lambda r: r["money"])

    def expect_tasks_hourly(self, kind, series, now, rng):
        self.hourly(kind, series, now, rng, lambda r: r["volume"])

    def expect_cost_per_1000(self, kind, series, now, rng):
        self.hourly(kind, series, now, rng, lambda r: 1000.0 * r["money"] / r["volume"])

    def expect_money_daily(self, kind, series, now, rng):
        self.assertEqual(set(series), {"main " + s for s in SLUGS})
        for slug in SLUGS:
            got = sorted(series["main " + slug])
            if kind == "prometheus":
                # The day's last poll: the 24 hours' money (the test's one
                # day, or two if it runs over midnight UTC).
                self.assertIn(len(got), (1, 2), got)
                for _, v in got:
                    self.assertAlmostEqual(v, self.money_24h(slug), places=5)
                continue
            days = {}
            for r in self.records[slug]:
                day = r["dateFrom"] - r["dateFrom"] % 86400
                days[day] = days.get(day, 0) + r["money"]
            self.assertEqual([t for t, _ in got], sorted(days), slug)
            for t, v in got:
                self.assertAlmostEqual(v, days[t], places=5, msg=slug)

    def expect_balance_forecast(self, kind, series, now, rng):
        self.assertEqual(set(series), {"main balance", "main hours left"})
        self.assertAlmostEqual(last(series["main balance"]), self.sim.state()["balance"],
                               places=6)
        self.assertAlmostEqual(last(series["main hours left"]), self.hours_left(), places=6)

    def counts(self, kind, series, want):
        """want: {series name: count}; every series must be there. A count
        from rates (Graphite) or Prometheus' increase() is not a whole
        number: it must round to the count."""
        self.assertEqual(set(series), set(want))
        for name, n in want.items():
            got = total(series[name])
            self.assertTrue(round(got) == n and abs(got - n) < 0.3,
                            "%s: %r counts %.4f, not %d" % (kind, name, got, n))

    def expect_reports_hourly(self, kind, series, now, rng):
        self.counts(kind, series, {
            self.names(kind, acct, outcome): REPORTS[acct].get(outcome, 0)
            for acct in REPORTS for outcome in OUTCOMES})

    def expect_reports_by_method(self, kind, series, now, rng):
        self.counts(kind, series, {
            self.names(kind, acct, method, outcome):
                REPORTS_BY_METHOD.get((acct, method), {}).get(outcome, 0)
            for acct in REPORTS for method in METHODS for outcome in OUTCOMES})

    def expect_invalid(self, kind, series, now, rng):
        self.counts(kind, series, {"testhost": 1})

    def expect_sender_state(self, kind, series, now, rng):
        self.assertEqual(set(series), {self.acct(kind, "main"), self.acct(kind, "eu.shop")})
        self.assertEqual(last(series["main"]), 0)              # open
        self.assertEqual(last(series[self.acct(kind, "eu.shop")]), 3)   # paused

    def expect_response_time(self, kind, series, now, rng):
        want = {self.names(kind, a, m) for a in REPORTS
                for m in ("getSpendingStats", "getBalance")} | {"queues getQueueStats"}
        if kind == "prometheus":
            # getBalance goes every 30 s; with Interval 1 collectd counts its
            # response time missing in between, and write_prometheus drops
            # it: Prometheus has it only if a scrape came within 2 s of a
            # balance poll (with Interval 30 or more, the default 300, it
            # stays).
            balance = {n for n in want if n.endswith("getBalance")}
            self.assertLessEqual(set(series) - balance, want - balance)
            self.assertGreaterEqual(set(series), want - balance)
        else:
            self.assertEqual(set(series), want)
        for name, points in series.items():
            for _, v in points:
                self.assertGreaterEqual(v, LATENCY, name)
                self.assertLess(v, LATENCY + 2, name)

    def expect_failures(self, kind, series, now, rng):
        # eu.shop's polls all fail: one failure per poll, the polls at least
        # a second apart (collectd stretches the interval after each). The
        # others never fail.
        failing = self.names(kind, "eu.shop", "getSpendingStats")
        for name in (failing, self.names(kind, "main", "getSpendingStats"),
                     "queues getQueueStats"):
            self.assertIn(name, series)
        for name, points in series.items():
            self.assertRegex(name, r"^(main|eu[._]shop|queues) "
                                   r"(getSpendingStats|getBalance|getQueueStats)$")
            if name.startswith(("main ", "queues ")):
                self.assertEqual({v for _, v in points}, {0}, name)
            for _, v in points:
                self.assertGreaterEqual(v, 0, name)
                self.assertLessEqual(v, 60.5, name)
        self.assertGreater(max(v for _, v in series[failing]), 0)

    def queue_stat(self, kind, series, field):
        served = self.sim.control("GET", "queue_stats?queueId=6")
        self.assertEqual(set(series), {"recaptcha_proxyless"})
        self.assertAlmostEqual(last(series["recaptcha_proxyless"]), served[field], places=9)

    def expect_queue_load(self, kind, series, now, rng):
        self.queue_stat(kind, series, "load")

    def expect_queue_bid(self, kind, series, now, rng):
        self.queue_stat(kind, series, "bid")

    def expect_pair_peer(self, kind, series, now, rng):
        # hub-b never speaks: down since PairTimeout after the start.
        self.assertEqual(set(series), {"testhost"})
        self.assertEqual(last(series["testhost"]), 0)

    def expect_pair_reports(self, kind, series, now, rng):
        held = series.pop("testhost held", None)
        self.assertTrue(held, "%s: no 'testhost held' series" % kind)
        self.assertEqual(last(held), 0)
        want = {self.names(kind, acct, counter): 0 for acct in REPORTS
                for counter in ("taken-over", "peer-reported", "peer-refused")}
        want[self.names(kind, "main", "taken-over")] = 1     # task A
        want["testhost unconfirmed"] = 0
        self.counts(kind, series, want)

    # ----- beyond the panels ------------------------------------------------------

    def test_variables(self):
        """account: the plugin instances that poll (not "queues"); queue:
        those with hourly money, "all" (the total) among them."""
        for kind in KINDS:
            with self.subTest(kind=kind):
                values = self.backend(kind).fill_variables()
                self.assertEqual(values["account"],
                                 sorted([self.acct(kind, "eu.shop"), "main"]))
                self.assertEqual(values["queue"], sorted(SLUGS))

    def test_same_panels_everywhere(self):
        titles = {k: [grafana.panel_key(p["title"]) for p in d["panels"]]
                  for k, d in self.dashboards.items()}
        self.assertEqual(titles["graphite"], titles["influxdb"])
        self.assertEqual(titles["graphite"], titles["prometheus"])
        keys = {grafana.panel_key(p["title"]) for p in grafana.panels(self.dashboards["graphite"])}
        self.assertEqual(keys, set(EXPECT))

    def test_graphite_money_picture(self):
        """The money panel's query as a picture, drawn by graphite-web."""
        b = self.backend("graphite")
        panel = [p for p in grafana.panels(self.dashboards["graphite"])
                 if p["title"] == "Money per queue and hour"][0]
        target = b.interpolate(panel["targets"][0]["target"], {})
        status, png = self.web.get("/render", {
            "target": target, "from": "-24h", "until": "now", "format": "png", "tz": "UTC",
            "width": 900, "height": 340, "title": "Anti-Captcha: money per queue and hour "
            "(simulated account)", "vtitle": "USD per hour", "yMin": 0,
            "lineMode": "staircase", "lineWidth": 2, "bgcolor": "ffffff",
            "fgcolor": "222222", "majorGridLineColor": "cccccc",
            "minorGridLineColor": "eeeeee", "fontSize": 11, "hideLegend": "false"})
        self.assertEqual(status, 200, png[-500:])
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual(struct.unpack(">II", png[16:24]), (900, 340))
        keep = os.environ.get("ANTICAPTCHA_DASHBOARD_PNG")
        if keep:
            with open(keep, "wb") as f:
                f.write(png)

    def test_no_key(self):
        for d in (self.carbon.dir, self.web.dir, self.influx.dir, self.prom.dir):
            assert_no_key_in(d)
            assert_no_key_in(d, key=WRONG_KEY)
        assert_no_key_in(self.cd.dir, exclude=tuple(FILES) + ("collectd.conf",))
        assert_no_key_in(self.cd.dir, key=WRONG_KEY, exclude=tuple(FILES) + ("collectd.conf",))


# Panel title -> the method that checks what it shows.
EXPECT = {
    "Balance": "expect_balance",
    "Hours left": "expect_hours_left",
    "Money, last 24 hours": "expect_money_24h",
    "Money per queue and hour": "expect_money_hourly",
    "Tasks per queue and hour": "expect_tasks_hourly",
    "Cost per 1,000 tasks": "expect_cost_per_1000",
    "Money per queue and day, last 30 days": "expect_money_daily",
    "Balance and hours left": "expect_balance_forecast",
    "Reports per hour by outcome": "expect_reports_hourly",
    "Reports by method and outcome": "expect_reports_by_method",
    "Invalid report requests": "expect_invalid",
    "Report sender state": "expect_sender_state",
    "API response time": "expect_response_time",
    "API failures per minute": "expect_failures",
    "Queue load": "expect_queue_load",
    "Average bid per task": "expect_queue_bid",
    "Hub pair: peer up": "expect_pair_peer",
    "Hub pair: reports": "expect_pair_reports",
}


def _add_panel_tests():
    """test_<back end>_<panel id>_<title>: one test per panel of each
    dashboard file, made from the file itself."""
    for kind in KINDS:
        dashboard = grafana.load(os.path.join(DASHBOARDS, kind + ".json"))
        for p in grafana.panels(dashboard):
            slug = re.sub(r"[^a-z0-9]+", "_", grafana.panel_key(p["title"]).lower()).strip("_")
            name = "test_%s_%02d_%s" % (kind, p["id"], slug)

            def test(self, kind=kind, panel_id=p["id"]):
                self.check_panel(kind, panel_id)
            test.__doc__ = "%s: the panel %r" % (kind, p["title"])
            setattr(Dashboards, name, test)


_add_panel_tests()

if __name__ == "__main__":
    runner.main()

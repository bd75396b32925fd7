"""Prometheus end to end: a real collectd with the built plugin polls the
simulated API and exposes its values with the stock write_prometheus plugin;
a real Prometheus server (Debian prometheus) scrapes it, evaluates the
alerting rules shipped as conf.d/prometheus-alerts.yml, and the values are
read back through Prometheus's HTTP API as a Prometheus user would.

The metric names, label names and PromQL asserted here are the ones README.md
documents under "Prometheus". write_prometheus needs libmicrohttpd12 and
libprotobuf-c1, which collectd-core does not pull in (./scripts/test installs
them)."""

import os
import re
import subprocess
import time
import unittest
import urllib.request

import harness
from harness import Collectd, KEY_FILES, Sim, free_port, timeout_factor
from servers import PROMTOOL, Prometheus, require, two_accounts
import runner

SLOW = timeout_factor()
RULES = os.path.join(harness.REPO, "conf.d", "prometheus-alerts.yml")
RULES_TEST = os.path.join(harness.HERE, "prometheus-alerts.test.yml")
QUEUES = {"recaptcha_proxyless": "Recaptcha Proxyless",
          "english_imagetotext": "English ImageToText", "all": None}
BALANCE = 1.5  # below both limits of the rules
TASK_ID = "424242"

# README.md's PromQL.
MONEY_PER_QUEUE = ('label_replace(collectd_anticaptcha_gauge{type=~".+-money_1h"}, '
                   '"queue", "$1", "type", "(.+)-money_1h")')
BALANCE_QUERY = 'collectd_anticaptcha_gauge{type="balance"}'
REPORTS_QUERY = 'collectd_anticaptcha_derive_total{type=~"reports-.+"}'


def write_prometheus(port):
    return """\
LoadPlugin write_prometheus
<Plugin write_prometheus>
  Host "127.0.0.1"
  Port "%d"
</Plugin>""" % port


class PrometheusScrape(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.started = time.monotonic()
        cls.addClassCleanup(lambda: print(
            "\nPrometheus: %.1f s from start to stop" % (time.monotonic() - cls.started)))
        cls.exporter_port = free_port()
        cls.sim = cls.enterClassContext(Sim(now=time.time(), quiet=True))
        cls.sim.state({"balance": BALANCE})
        cls.prom = cls.enterClassContext(Prometheus(cls.exporter_port, [RULES]))
        cls.cd = cls.enterClassContext(Collectd(
            two_accounts(cls.sim.http_url),
            extra_config=write_prometheus(cls.exporter_port),
            files=KEY_FILES))
        # One report, accepted by the sim: the counters move.
        cls.cd.putnotif("failure", message="rejected", plugin="anticaptcha",
                        plugin_instance="main", type="recaptcha",
                        type_instance=TASK_ID)
        cls.cd.wait_for(cls.scraped, 60 * SLOW, "the values in Prometheus",
                        interval=0.5)

    @classmethod
    def value(cls, promql):
        try:
            rows = cls.prom.query(promql)
        except harness.HarnessError:
            return None
        return rows[0][1] if len(rows) == 1 else None

    @classmethod
    def scraped(cls):
        return (cls.value('collectd_anticaptcha_gauge{anticaptcha="main",type="balance"}') == BALANCE
                and cls.value('collectd_anticaptcha_derive_total{anticaptcha="main",'
                              'type="reports-accepted"}') == 1
                and cls.value('collectd_anticaptcha_gauge{anticaptcha="main",'
                              'type="english_imagetotext-money_1h"}') is not None
                and cls.value('collectd_anticaptcha_count{anticaptcha="eu.shop",'
                              'type="all-volume_24h"}') is not None)

    def latest(self, queue):
        return max(self.sim.expected(queue), key=lambda r: r["dateFrom"])

    # ----- names ----------------------------------------------------------------

    def test_metric_names(self):
        names = {n for n in self.prom.metric_names() if "anticaptcha" in n}
        self.assertEqual(names, {"collectd_anticaptcha_gauge", "collectd_anticaptcha_count",
                                 "collectd_anticaptcha_derive_total",
                                 "collectd_anticaptcha_response_time",
                                 "collectd_anticaptcha_timeleft"})

    def test_labels(self):
        rows = self.prom.query(BALANCE_QUERY)
        self.assertEqual([r[0] for r in rows], [{
            "__name__": "collectd_anticaptcha_gauge", "anticaptcha": "main",
            "type": "balance", "instance": "testhost", "job": "collectd"}])
        # The plugin-wide counter has no plugin instance: write_prometheus puts
        # its type instance into the `anticaptcha` label and has no `type`.
        rows = self.prom.query('collectd_anticaptcha_derive_total{anticaptcha="notifications-invalid"}')
        self.assertEqual(len(rows), 1)
        self.assertNotIn("type", rows[0][0])
        self.assertEqual(rows[0][1], 0)

    # ----- values ---------------------------------------------------------------

    def test_money_per_queue_last_hour(self):
        rows = self.prom.query(MONEY_PER_QUEUE)
        got = {r[0]["queue"]: r[1] for r in rows if r[0]["anticaptcha"] == "main"}
        self.assertEqual(set(got), set(QUEUES))
        for slug, queue in QUEUES.items():
            self.assertAlmostEqual(got[slug], self.latest(queue)["money"], places=5, msg=slug)
        # eu.shop has the total only.
        self.assertEqual({r[0]["queue"] for r in rows if r[0]["anticaptcha"] == "eu.shop"},
                         {"all"})

    def test_volume_and_money_24h(self):
        for slug, queue in QUEUES.items():
            recs = self.sim.expected(queue)
            vol = self.value('collectd_anticaptcha_count{anticaptcha="main",type="%s-volume_24h"}' % slug)
            money = self.value('collectd_anticaptcha_gauge{anticaptcha="main",type="%s-money_24h"}' % slug)
            self.assertEqual(vol, sum(r["volume"] for r in recs), slug)
            self.assertAlmostEqual(money, sum(r["money"] for r in recs), places=4, msg=slug)
            vol1 = self.value('collectd_anticaptcha_count{anticaptcha="main",type="%s-volume_1h"}' % slug)
            self.assertEqual(vol1, self.latest(queue)["volume"], slug)

    def test_balance(self):
        rows = self.prom.query(BALANCE_QUERY)
        self.assertEqual([(r[0]["anticaptcha"], r[1]) for r in rows], [("main", BALANCE)])

    def test_balance_forecast(self):
        # Hours the balance lasts at the last 24 h's rate (the total's money);
        # eu.shop polls no balance, so it has none.
        q = 'collectd_anticaptcha_timeleft{type="balance_hours"}'
        self.cd.wait_for(lambda: self.value(q) is not None, 20 * SLOW, "the forecast")
        rows = self.prom.query(q)
        self.assertEqual([r[0]["anticaptcha"] for r in rows], ["main"])
        money = sum(r["money"] for r in self.sim.expected())
        self.assertGreater(money, 0)
        self.assertAlmostEqual(rows[0][1], BALANCE / (money / 24), places=4)

    def test_report_counters(self):
        got = {(r[0]["anticaptcha"], r[0]["type"]): r[1]
               for r in self.prom.query(REPORTS_QUERY)}
        for outcome in ("sent", "accepted", "rejected", "expired", "duplicate",
                        "dropped", "retried", "abandoned"):
            want = 1 if outcome in ("sent", "accepted") else 0
            self.assertEqual(got.get(("main", "reports-" + outcome)), want, outcome)
            self.assertEqual(got.get(("eu.shop", "reports-" + outcome)), 0, outcome)
        # ... and the sim did get that one report.
        reports = self.sim.requests("reportIncorrectRecaptcha")
        self.assertEqual(len(reports), 1)

    def test_poll_counters_grow(self):
        # Polled every second: the counter's rate over the scrapes is positive.
        q = 'rate(collectd_anticaptcha_derive_total{anticaptcha="main",type="getSpendingStats-requests"}[30s])'
        self.cd.wait_for(lambda: (self.value(q) or 0) > 0, 20 * SLOW, "a positive rate")

    def test_hourly_records_carry_no_timestamp(self):
        # What write_prometheus exposes: the 1 h records (interval 3600 s, above
        # its StalenessDelta) without a timestamp, the rest with theirs.
        url = "http://127.0.0.1:%d/metrics" % self.exporter_port
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        text = opener.open(url, timeout=10).read().decode()
        line = re.compile(r'^(collectd_anticaptcha_\w+)\{([^}]*)\} (\S+)(?: (\d+))?$')
        seen = {}
        for ln in text.splitlines():
            m = line.match(ln)
            if m and 'anticaptcha="main"' in m.group(2):
                seen[re.search(r'type="([^"]*)"', m.group(2) + ' type=""').group(1)] = m.group(4)
        self.assertIsNone(seen["recaptcha_proxyless-money_1h"])
        self.assertIsNone(seen["all-volume_1h"])
        self.assertIsNotNone(seen["recaptcha_proxyless-money_24h"])
        self.assertIsNotNone(seen["balance"])

    # ----- the alerting rules -----------------------------------------------------

    def firing(self):
        return {(a["labels"]["alertname"], a["labels"]["anticaptcha"], a["labels"]["type"])
                for a in self.prom.api("alerts")["alerts"] if a["state"] == "firing"}

    def test_rules_loaded(self):
        groups = self.prom.api("rules")["groups"]
        names = sorted(r["name"] for g in groups for r in g["rules"])
        self.assertEqual(names, ["AntiCaptchaBalanceCritical", "AntiCaptchaBalanceLow",
                                 "AntiCaptchaExpensiveHour", "AntiCaptchaVeryExpensiveHour"])
        self.assertTrue(all(r["health"] == "ok" for g in groups for r in g["rules"]))

    def test_alerts_fire_as_the_values_say(self):
        want = {("AntiCaptchaBalanceLow", "main", "balance"),
                ("AntiCaptchaBalanceCritical", "main", "balance")}
        limits = {"recaptcha_proxyless": (5, 8), "all": (15, 20)}
        for account, slugs in (("main", limits), ("eu.shop", {"all": limits["all"]})):
            for slug, (warn, crit) in slugs.items():
                money = self.latest(QUEUES[slug])["money"]
                if money > warn:
                    want.add(("AntiCaptchaExpensiveHour", account, slug + "-money_1h"))
                if money > crit:
                    want.add(("AntiCaptchaVeryExpensiveHour", account, slug + "-money_1h"))
        self.cd.wait_for(lambda: self.firing() == want, 20 * SLOW,
                         "the alerts %s" % sorted(want))


class PromtoolRules(unittest.TestCase):
    """The shipped rules file as promtool sees it: valid, and firing as
    threshold-alerts.conf would on series written by hand
    (tests/integration/prometheus-alerts.test.yml)."""

    def promtool(self, *args):
        require(PROMTOOL, "prometheus")
        return subprocess.run([PROMTOOL] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=60)

    def test_check_rules(self):
        run = self.promtool("check", "rules", RULES)
        self.assertEqual(run.returncode, 0, run.stdout)
        self.assertIn("SUCCESS: 4 rules found", run.stdout)

    def test_rules_unit_tests(self):
        run = self.promtool("test", "rules", RULES_TEST)
        self.assertEqual(run.returncode, 0, run.stdout)
        self.assertIn("SUCCESS", run.stdout)


if __name__ == "__main__":
    runner.main()

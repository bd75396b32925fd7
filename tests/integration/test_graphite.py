"""Graphite end to end: a real collectd with the built plugin polls the
simulated API and sends with the stock write_graphite plugin to a real
carbon-cache (Debian graphite-carbon) on loopback; the whisper files it
writes are read back with Debian's python3-whisper module.

The paths asserted here are the ones doc/writers.md documents under "Where the
numbers land"."""

import re
import time
import unittest

from harness import (Collectd, KEY_FILE, KEY_FILES, Sim, assert_no_key_in,
                     timeout_factor)
from servers import CarbonCache, anticaptcha_schemas, two_accounts
import runner

SLOW = timeout_factor()  # 4 under COLLECTD_WRAPPER (valgrind)
SERIES = {"recaptcha_proxyless": "Recaptcha Proxyless",
          "english_imagetotext": "English ImageToText", "all": None}

# storage-schemas.conf: the sections README.md recommends (same patterns, same
# order), with shorter retentions and 1 s for the poll-time values, as the
# test polls every second. The hourly records are stamped at their dateTill,
# up to 24 h in the past: their own 1-hour archive takes them whatever their
# age (up to 90 days here).
SCHEMAS = anticaptcha_schemas("1s:6h,1h:30d", hourly="1h:90d")

# The Graphite target README.md gives for "money per queue per hour" (the
# series list, and the alias it makes of each name).
MONEY_PER_QUEUE_PER_HOUR = "testhost.anticaptcha-main.gauge-*-money_1h"
QUEUE_STATS = """
  <QueueStats>
    Queue "Recaptcha Proxyless"
    URL "%s"
    Interval 10
  </QueueStats>"""
ALIAS = re.compile(r"^.*\.gauge-(.*)-money_1h$")


def write_graphite(port):
    # Node "default": write_graphite's defaults (what README documents);
    # node "separate": SeparateInstances true, StoreRates false, under a
    # prefix so that both land in the same carbon.
    return """\
<LoadPlugin write_graphite>
  FlushInterval 1
</LoadPlugin>
<Plugin write_graphite>
  <Node "default">
    Host "127.0.0.1"
    Port "%d"
    Protocol "tcp"
  </Node>
  <Node "separate">
    Host "127.0.0.1"
    Port "%d"
    Protocol "tcp"
    Prefix "separate."
    SeparateInstances true
    StoreRates false
  </Node>
</Plugin>""" % (port, port)


def metric(account, ident):
    """The default path: <host>.anticaptcha-<account>.<type>-<type instance>."""
    return "testhost.anticaptcha-%s.%s" % (account, ident)


class Graphite(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.started = time.monotonic()
        cls.addClassCleanup(lambda: print(
            "\nGraphite: %.1f s from start to stop" % (time.monotonic() - cls.started)))
        # Stopped in reverse order, whatever happens: collectd, carbon, sim.
        # A fixed clock: the records do not move if an hour ends meanwhile.
        cls.sim = cls.enterClassContext(Sim(now=time.time(), quiet=True))
        cls.carbon = cls.enterClassContext(CarbonCache(SCHEMAS))
        cls.cd = cls.enterClassContext(Collectd(
            two_accounts(cls.sim.http_url) + QUEUE_STATS % cls.sim.http_url,
            extra_config=write_graphite(cls.carbon.port),
            files=KEY_FILES))
        cls.cd.wait_for(cls.landed, 30 * SLOW,
                        "the values in carbon's whisper files", interval=0.3)
        # Three polls more: rates (StoreRates) need two values.
        polls = len(cls.sim.requests("getSpendingStats"))
        cls.cd.wait_for(lambda: len(cls.sim.requests("getSpendingStats"))
                        >= polls + 12, 20 * SLOW, "three more polls")
        cls.cd.wait_for(cls.rates_landed, 20 * SLOW, "derive rates in carbon",
                        interval=0.3)

    @classmethod
    def landed(cls):
        """Everything the tests read has been written by carbon."""
        for slug in SERIES:
            for ident in ("count-%s-volume_1h", "gauge-%s-money_1h"):
                if len(cls.carbon.fetch(metric("main", ident % slug))) < 24:
                    return False
                if len(cls.carbon.fetch("separate.testhost.anticaptcha.main.%s.%s"
                                        % tuple((ident % slug).split("-", 1)))) < 24:
                    return False
            for ident in ("count-%s-volume_24h", "gauge-%s-money_24h"):
                if not cls.carbon.fetch(metric("main", ident % slug)):
                    return False
        return (cls.carbon.fetch(metric("main", "gauge-balance"))
                and cls.carbon.fetch(metric("main", "timeleft-balance_hours"))
                and cls.carbon.fetch(metric("queues",
                                            "duration-recaptcha_proxyless-speed"))
                and cls.carbon.fetch(metric("eu_shop", "gauge-all-money_24h")))

    @classmethod
    def rates_landed(cls):
        count = cls.carbon.fetch(
            "separate.testhost.anticaptcha.main.derive.getSpendingStats-requests")
        return (cls.carbon.fetch(metric("main", "derive-getSpendingStats-requests"))
                and count and count[-1][1] >= 9)

    def expected(self, queue):
        return sorted(self.sim.expected(queue), key=lambda r: r["dateFrom"])

    # ----- values -------------------------------------------------------------

    def test_hourly_volume_and_money_per_queue_and_total(self):
        for slug, queue in SERIES.items():
            recs = self.expected(queue)
            self.assertEqual(len(recs), 24)
            vol = self.carbon.fetch(metric("main", "count-%s-volume_1h" % slug))
            money = self.carbon.fetch(metric("main", "gauge-%s-money_1h" % slug))
            # Stamped at dateTill (hh:59:59); the 1-hour archive files each
            # under its hour's start, which is the record's dateFrom.
            self.assertEqual([t for t, _ in vol], [r["dateFrom"] for r in recs], slug)
            self.assertEqual([t for t, _ in money], [r["dateFrom"] for r in recs], slug)
            self.assertEqual([v for _, v in vol], [float(r["volume"]) for r in recs], slug)
            for (_, v), r in zip(money, recs):
                self.assertAlmostEqual(v, r["money"], places=6, msg=slug)

    def test_24h_sums_per_queue_and_total(self):
        for slug, queue in SERIES.items():
            recs = self.expected(queue)
            vol = self.carbon.fetch(metric("main", "count-%s-volume_24h" % slug))
            money = self.carbon.fetch(metric("main", "gauge-%s-money_24h" % slug))
            self.assertAlmostEqual(vol[-1][1], sum(r["volume"] for r in recs),
                                   places=3, msg=slug)
            self.assertAlmostEqual(money[-1][1], sum(r["money"] for r in recs),
                                   places=5, msg=slug)
            # Stamped at poll time, within the last minute.
            self.assertGreater(vol[-1][0], time.time() - 60)
        total = self.carbon.fetch(metric("main", "gauge-all-money_24h"))[-1][1]
        one = self.carbon.fetch(metric("main", "gauge-recaptcha_proxyless-money_24h"))[-1][1]
        self.assertGreater(total, one)

    def test_balance(self):
        rows = self.carbon.fetch(metric("main", "gauge-balance"))
        self.assertAlmostEqual(rows[-1][1], self.sim.state()["balance"], places=6)

    def test_forecast_and_queue_stats(self):
        """Issue 13's values, where README's snippet says they land."""
        money = sum(r["money"] for r in self.expected(None))
        rows = self.carbon.fetch(metric("main", "timeleft-balance_hours"))
        self.assertAlmostEqual(rows[-1][1],
                               self.sim.state()["balance"] / (money / 24), places=6)
        served = self.sim.control("GET", "queue_stats?queueId=6")
        for ident, f in (("count-recaptcha_proxyless-waiting", "waiting"),
                         ("percent-recaptcha_proxyless-load", "load"),
                         ("gauge-recaptcha_proxyless-bid", "bid"),
                         ("duration-recaptcha_proxyless-speed", "speed"),
                         ("count-recaptcha_proxyless-total", "total")):
            rows = self.carbon.fetch(metric("queues", ident))
            self.assertAlmostEqual(rows[-1][1], served[f], places=9, msg=ident)
        names = set(self.carbon.metrics())
        for ident in ("derive-reports-reportIncorrectHcaptcha-accepted",
                      "derive-reports-withheld"):
            self.assertIn(metric("main", ident), names)
        # (StoreRates true sends a derive from its second value on: the
        # queues are polled every 10 s, so the counts node shows it first.)
        self.assertIn("separate.testhost.anticaptcha.queues.derive."
                      "getQueueStats-requests", names)
        self.assertIn("separate.testhost.anticaptcha.queues.percent."
                      "recaptcha_proxyless-load", names)

    # ----- paths --------------------------------------------------------------

    def test_default_paths(self):
        names = set(self.carbon.metrics())
        for slug in SERIES:
            for ident in ("count-%s-volume_24h", "gauge-%s-money_24h",
                          "count-%s-volume_1h", "gauge-%s-money_1h"):
                self.assertIn(metric("main", ident % slug), names)
        for ident in ("gauge-balance", "response_time-getSpendingStats",
                      "response_time-getBalance", "derive-reports-sent",
                      "derive-getSpendingStats-requests",
                      "derive-getSpendingStats-failures"):
            self.assertIn(metric("main", ident), names)
        # No account: no "-" after the plugin name.
        self.assertIn("testhost.anticaptcha.derive-notifications-invalid", names)
        # One collectd value, one whisper file: no ".value" data source node.
        self.assertFalse([n for n in names if n.endswith(".value")])

    def test_dot_in_account_name_is_escaped(self):
        # EscapeCharacter (default "_") replaces the dots of each field.
        names = set(self.carbon.metrics())
        self.assertIn("testhost.anticaptcha-eu_shop.gauge-all-money_24h", names)
        self.assertIn("testhost.anticaptcha-eu_shop.gauge-all-money_1h", names)
        self.assertFalse([n for n in names if "eu.shop" in n])
        rows = self.carbon.fetch("testhost.anticaptcha-eu_shop.gauge-all-money_24h")
        self.assertAlmostEqual(rows[-1][1], sum(r["money"] for r in self.expected(None)),
                               places=5)

    def test_separate_instances_paths(self):
        names = set(self.carbon.metrics())
        for slug in SERIES:
            for ident in ("count.%s-volume_24h", "gauge.%s-money_24h",
                          "count.%s-volume_1h", "gauge.%s-money_1h"):
                self.assertIn("separate.testhost.anticaptcha.main." + ident % slug, names)
        self.assertIn("separate.testhost.anticaptcha.main.gauge.balance", names)
        self.assertIn("separate.testhost.anticaptcha.derive.notifications-invalid", names)
        recs = self.expected("Recaptcha Proxyless")
        money = self.carbon.fetch(
            "separate.testhost.anticaptcha.main.gauge.recaptcha_proxyless-money_1h")
        for (_, v), r in zip(money, recs):
            self.assertAlmostEqual(v, r["money"], places=6)

    def test_store_rates(self):
        # Default StoreRates true: a derive counter arrives as a rate per
        # second (3 getSpendingStats per one-second poll); StoreRates false:
        # the count itself.
        rate = self.carbon.fetch(metric("main", "derive-getSpendingStats-requests"))
        count = self.carbon.fetch(
            "separate.testhost.anticaptcha.main.derive.getSpendingStats-requests")
        self.assertTrue(rate and count)
        self.assertGreater(rate[-1][1], 0.5)
        self.assertLess(rate[-1][1], 12)
        self.assertGreaterEqual(count[-1][1], 9)
        self.assertEqual(count[-1][1] % 3, 0)

    def test_money_per_queue_per_hour_target(self):
        found = self.carbon.glob(MONEY_PER_QUEUE_PER_HOUR)
        self.assertEqual([ALIAS.sub(r"\1", n) for n in found],
                         ["all", "english_imagetotext", "recaptcha_proxyless"])
        info = self.carbon.info(found[0])
        self.assertEqual(info["archives"][0]["secondsPerPoint"], 3600)

    def test_hourly_schema_and_key(self):
        # The hourly series matched the 1-hour schema, the others the 1-s one.
        self.assertEqual(self.carbon.info(metric("main", "gauge-all-money_1h"))
                         ["archives"][0]["secondsPerPoint"], 3600)
        self.assertEqual(self.carbon.info(metric("main", "gauge-all-money_24h"))
                         ["archives"][0]["secondsPerPoint"], 1)
        assert_no_key_in(self.carbon.dir)
        assert_no_key_in(self.carbon.output())
        assert_no_key_in(self.cd.dir, exclude=(KEY_FILE, "collectd.conf"))
        self.assertNotIn("Value too old", self.cd.log())


if __name__ == "__main__":
    runner.main()

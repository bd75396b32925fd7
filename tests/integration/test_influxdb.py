"""InfluxDB end to end: a real collectd with the built plugin polls the
simulated API and sends with the stock network plugin to a real InfluxDB 1.x
(Debian influxdb) whose collectd input listens on loopback UDP (with
collectd's types.db); the values are read back through InfluxDB's HTTP API.

The measurement and tag names asserted here are the ones doc/writers.md documents
under "Where the numbers land"."""

import time
import unittest

from harness import (Collectd, KEY_FILE, KEY_FILES, Sim, assert_no_key_in,
                     timeout_factor)
from servers import InfluxDB, two_accounts
import runner

SLOW = timeout_factor()  # 4 under COLLECTD_WRAPPER (valgrind)
SERIES = {"recaptcha_proxyless": "Recaptcha Proxyless",
          "english_imagetotext": "English ImageToText", "all": None}
MEASUREMENT = "anticaptcha_value"
# The one stock type whose data source is not "value": duration ("seconds"),
# the queues' average solving time.
SECONDS = "anticaptcha_seconds"
QUEUE_STATS = """
  <QueueStats>
    Queue "Recaptcha Proxyless"
    URL "%s"
    Interval 10
  </QueueStats>"""

# README.md's "money per queue per hour" (%s: the time range; README says
# 24h, the oldest record can be a second older than that).
MONEY_PER_QUEUE_PER_HOUR = (
    "SELECT sum(\"value\") FROM \"anticaptcha_value\" "
    "WHERE \"type\" = 'gauge' AND \"type_instance\" =~ /-money_1h$/ "
    "AND time > now() - %s "
    "GROUP BY time(1h), \"instance\", \"type_instance\" fill(none)")


def network(port):
    return """\
<LoadPlugin network>
  FlushInterval 1
</LoadPlugin>
<Plugin network>
  Server "127.0.0.1" "%d"
</Plugin>""" % port


def where(instance, type_, type_instance):
    return ("\"instance\" = '%s' AND \"type\" = '%s' AND \"type_instance\" = '%s'"
            % (instance, type_, type_instance))


class InfluxDBCollectdInput(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.started = time.monotonic()
        cls.addClassCleanup(lambda: print(
            "\nInfluxDB: %.1f s from start to stop" % (time.monotonic() - cls.started)))
        # Stopped in reverse order, whatever happens: collectd, influxd, sim.
        cls.sim = cls.enterClassContext(Sim(now=time.time(), quiet=True))
        cls.influx = cls.enterClassContext(InfluxDB())
        cls.cd = cls.enterClassContext(Collectd(
            two_accounts(cls.sim.http_url) + QUEUE_STATS % cls.sim.http_url,
            extra_config=network(cls.influx.collectd_port),
            files=KEY_FILES))
        cls.cd.wait_for(cls.landed, 30 * SLOW, "the values in InfluxDB", interval=0.3)

    @classmethod
    def count(cls, cond):
        try:
            rows = cls.influx.rows("SELECT count(\"value\") FROM \"%s\" WHERE %s"
                                   % (MEASUREMENT, cond))
        except Exception:  # the database exists after the first write only
            return 0
        return rows[0]["count"] if rows else 0

    @classmethod
    def landed(cls):
        for slug in SERIES:
            for t, ti in (("count", "%s-volume_1h"), ("gauge", "%s-money_1h")):
                if cls.count(where("main", t, ti % slug)) < 24:
                    return False
            for t, ti in (("count", "%s-volume_24h"), ("gauge", "%s-money_24h")):
                if cls.count(where("main", t, ti % slug)) < 2:
                    return False
        return (cls.count(where("main", "gauge", "balance"))
                and cls.count(where("main", "timeleft", "balance_hours"))
                and cls.count(where("queues", "percent", "recaptcha_proxyless-load"))
                and cls.influx_seconds()
                and cls.count(where("eu.shop", "gauge", "all-money_24h"))
                and cls.count(where("main", "derive", "getSpendingStats-requests")) >= 2)

    @classmethod
    def influx_seconds(cls):
        try:
            return cls.influx.rows("SELECT \"value\" FROM \"%s\"" % SECONDS)
        except Exception:
            return []

    def expected(self, queue):
        return sorted(self.sim.expected(queue), key=lambda r: r["dateFrom"])

    def select(self, instance, type_, type_instance):
        return self.influx.rows("SELECT \"value\" FROM \"%s\" WHERE %s"
                                % (MEASUREMENT, where(instance, type_, type_instance)))

    # ----- names ----------------------------------------------------------------

    def test_one_measurement_and_its_tags(self):
        names = [r["name"] for r in self.influx.rows("SHOW MEASUREMENTS")]
        self.assertEqual(names, [SECONDS, MEASUREMENT])
        keys = [r["tagKey"] for r in
                self.influx.rows("SHOW TAG KEYS FROM \"%s\"" % MEASUREMENT)]
        self.assertEqual(keys, ["host", "instance", "type", "type_instance"])
        fields = self.influx.rows("SHOW FIELD KEYS FROM \"%s\"" % MEASUREMENT)
        self.assertEqual([(f["fieldKey"], f["fieldType"]) for f in fields],
                         [("value", "float")])

        def tag_values(key):
            return sorted(r["value"] for r in self.influx.rows(
                "SHOW TAG VALUES FROM \"%s\" WITH KEY = \"%s\"" % (MEASUREMENT, key)))
        self.assertEqual(tag_values("host"), ["testhost"])
        # The account name as is, dot included.
        self.assertEqual(tag_values("instance"), ["eu.shop", "main", "queues"])
        self.assertEqual(tag_values("type"),
                         ["count", "derive", "gauge", "percent", "response_time",
                          "timeleft"])
        tis = tag_values("type_instance")
        for slug in SERIES:
            for ti in ("%s-volume_24h", "%s-money_24h", "%s-volume_1h", "%s-money_1h"):
                self.assertIn(ti % slug, tis)
        for ti in ("balance", "getSpendingStats", "getBalance",
                   "getSpendingStats-requests", "getSpendingStats-failures",
                   "reports-sent", "notifications-invalid"):
            self.assertIn(ti, tis)

    def test_series_keys(self):
        keys = {r["key"] for r in self.influx.rows("SHOW SERIES")}
        self.assertIn("anticaptcha_value,host=testhost,instance=main,type=gauge,"
                      "type_instance=recaptcha_proxyless-money_1h", keys)
        self.assertIn("anticaptcha_value,host=testhost,instance=main,type=gauge,"
                      "type_instance=balance", keys)
        # The plugin-wide counter has no plugin instance: no instance tag.
        self.assertIn("anticaptcha_value,host=testhost,type=derive,"
                      "type_instance=notifications-invalid", keys)

    # ----- values ---------------------------------------------------------------

    def test_hourly_volume_and_money_at_date_till(self):
        for slug, queue in SERIES.items():
            recs = self.expected(queue)
            self.assertEqual(len(recs), 24)
            vol = self.select("main", "count", "%s-volume_1h" % slug)
            money = self.select("main", "gauge", "%s-money_1h" % slug)
            self.assertEqual([r["time"] for r in vol], [r["dateTill"] for r in recs], slug)
            self.assertEqual([r["time"] for r in money], [r["dateTill"] for r in recs], slug)
            self.assertEqual([r["value"] for r in vol], [float(r["volume"]) for r in recs])
            for row, r in zip(money, recs):
                self.assertAlmostEqual(row["value"], r["money"], places=6, msg=slug)

    def test_24h_sums_and_balance(self):
        for slug, queue in SERIES.items():
            recs = self.expected(queue)
            vol = self.select("main", "count", "%s-volume_24h" % slug)
            money = self.select("main", "gauge", "%s-money_24h" % slug)
            self.assertAlmostEqual(vol[-1]["value"], sum(r["volume"] for r in recs),
                                   places=3, msg=slug)
            self.assertAlmostEqual(money[-1]["value"], sum(r["money"] for r in recs),
                                   places=5, msg=slug)
            self.assertGreater(money[-1]["time"], time.time() - 60)
        shop = self.select("eu.shop", "gauge", "all-money_24h")
        self.assertAlmostEqual(shop[-1]["value"],
                               sum(r["money"] for r in self.expected(None)), places=5)
        balance = self.select("main", "gauge", "balance")
        self.assertAlmostEqual(balance[-1]["value"], self.sim.state()["balance"],
                               places=6)

    def test_derive_counters_are_stored_as_counts(self):
        # The collectd input stores DERIVE values as they are (no rates).
        rows = self.select("main", "derive", "getSpendingStats-requests")
        values = [r["value"] for r in rows]
        self.assertEqual(values, sorted(values))
        self.assertTrue(all(v % 3 == 0 for v in values), values)
        self.assertGreaterEqual(values[-1], 6)

    def test_money_per_queue_per_hour_query(self):
        rows = self.influx.rows(MONEY_PER_QUEUE_PER_HOUR % "25h")
        got = {}
        for r in rows:
            got.setdefault((r["instance"], r["type_instance"]), []).append(
                (r["time"], r["sum"]))
        self.assertEqual(sorted(got), [("eu.shop", "all-money_1h"),
                                       ("main", "all-money_1h"),
                                       ("main", "english_imagetotext-money_1h"),
                                       ("main", "recaptcha_proxyless-money_1h")])
        for slug, queue in SERIES.items():
            recs = self.expected(queue)
            hours = got[("main", "%s-money_1h" % slug)]
            # Each record's hour is labelled with its start, dateFrom.
            self.assertEqual([t for t, _ in hours], [r["dateFrom"] for r in recs])
            for (_, v), r in zip(hours, recs):
                self.assertAlmostEqual(v, r["money"], places=6)

    def test_forecast_queue_stats_and_method_counters(self):
        """Issue 13's values, where README's snippet says they land."""
        money = sum(r["money"] for r in self.expected(None))
        hours = self.select("main", "timeleft", "balance_hours")
        self.assertAlmostEqual(hours[-1]["value"],
                               self.sim.state()["balance"] / (money / 24), places=6)
        served = self.sim.control("GET", "queue_stats?queueId=6")
        for t, f in (("count", "waiting"), ("percent", "load"), ("gauge", "bid"),
                     ("count", "total")):
            rows = self.select("queues", t, "recaptcha_proxyless-%s" % f)
            self.assertAlmostEqual(rows[-1]["value"], served[f], places=9, msg=f)
        # Speed: type duration, whose data source is "seconds".
        rows = self.influx.rows(
            "SELECT \"value\" FROM \"%s\" WHERE %s"
            % (SECONDS, where("queues", "duration", "recaptcha_proxyless-speed")))
        self.assertAlmostEqual(rows[-1]["value"], served["speed"], places=9)
        keys = {r["key"] for r in self.influx.rows("SHOW SERIES")}
        self.assertIn("anticaptcha_seconds,host=testhost,instance=queues,"
                      "type=duration,type_instance=recaptcha_proxyless-speed", keys)
        self.assertIn("anticaptcha_value,host=testhost,instance=main,type=derive,"
                      "type_instance=reports-reportIncorrectHcaptcha-sent", keys)
        self.assertIn("anticaptcha_value,host=testhost,instance=main,type=derive,"
                      "type_instance=reports-withheld", keys)

    def test_no_key(self):
        assert_no_key_in(self.influx.dir)
        assert_no_key_in(self.influx.output())
        assert_no_key_in(self.cd.dir, exclude=(KEY_FILE, "collectd.conf"))
        self.assertNotIn("Value too old", self.cd.log())


if __name__ == "__main__":
    runner.main()

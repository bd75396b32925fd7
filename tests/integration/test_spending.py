"""The spending reader end to end: a real collectd with the built plugin
polls the simulated API; the csv plugin's files and write_log's lines say
what was dispatched."""

import time
import unittest

from harness import (Collectd, KEY_FILE, KEY_FILES, Sim, assert_no_key_in,
                     timeout_factor)
import runner

QUEUES = ("Recaptcha Proxyless", "English ImageToText")
SERIES = {"recaptcha_proxyless": "Recaptcha Proxyless",
          "english_imagetotext": "English ImageToText", "all": None}


def account(url, extra=""):
    return '''
  <Account "main">
    ClientKeyFile "@TMP@/%s"
    URL "%s"
    Queue "%s"
    Queue "%s"
    SoftId 77
    IP "203.0.113.7"
    Interval 1
    Timeout 5
%s
  </Account>''' % (KEY_FILE, url, QUEUES[0], QUEUES[1], extra)


def daemon(config, **kw):
    """collectd with the key in a 0600 file, the way users keep it."""
    return Collectd(config, files=KEY_FILES, **kw)


def no_key_anywhere(cd):
    assert_no_key_in(cd.dir, exclude=(KEY_FILE,))


# The hourly history is read from write_log's JSON lines, not the csv files:
# with collectd's five write threads the csv plugin may lose the first line
# of a new file (see Collectd.logged_values), and these tests keep the five.
LOGGED = dict(plugins=("write_log",),
              extra_config="<Plugin write_log>\n  Format JSON\n</Plugin>")


def spending_files(cd):
    return [f for f in cd.csv_files()
            if "volume" in f or "money" in f or "balance" in f]


class SpendingValues(unittest.TestCase):
    """One daemon, several polls: values, request bodies, connections."""

    @classmethod
    def setUpClass(cls):
        # The sim's clock is pinned so that no hour ends during the test.
        cls.sim = cls.enterClassContext(Sim(latency=0.3, now=time.time()))
        cls.cd = cls.enterClassContext(daemon(account(cls.sim.http_url), **LOGGED))
        # Four polls at least: hourly records must not come twice.
        cls.cd.wait_for(lambda: len(cls.sim.requests("getSpendingStats")) >= 12,
                        30, "four polls")
        time.sleep(0.5)

    def expected(self, queue):
        return sorted(self.sim.expected(queue),
                      key=lambda r: r["dateFrom"])

    def test_24h_sums_per_queue_and_total(self):
        for slug, queue in SERIES.items():
            recs = self.expected(queue)
            self.assertEqual(len(recs), 24)
            vol = self.cd.csv("anticaptcha-main", "count-%s-volume_24h" % slug)
            money = self.cd.csv("anticaptcha-main", "gauge-%s-money_24h" % slug)
            self.assertGreaterEqual(len(vol), 3, slug)
            self.assertAlmostEqual(vol[-1][1][0], sum(r["volume"] for r in recs),
                                   places=3, msg=slug)
            self.assertAlmostEqual(money[-1][1][0], sum(r["money"] for r in recs),
                                   places=4, msg=slug)

    def test_total_is_not_a_copy_of_a_queue(self):
        total = self.cd.csv("anticaptcha-main", "count-all-volume_24h")[-1][1][0]
        one = self.cd.csv("anticaptcha-main",
                          "count-recaptcha_proxyless-volume_24h")[-1][1][0]
        self.assertGreater(total, one)

    def test_hourly_records_once_each_at_date_till(self):
        for slug, queue in SERIES.items():
            recs = self.expected(queue)
            vol = self.cd.logged_values("main", "count", "%s-volume_1h" % slug)
            money = self.cd.logged_values("main", "gauge", "%s-money_1h" % slug)
            self.assertEqual([t for t, _ in vol], [float(r["dateTill"]) for r in recs],
                             slug)
            self.assertEqual([v[0] for _, v in vol], [float(r["volume"]) for r in recs])
            for (_, v), r in zip(money, recs):
                self.assertAlmostEqual(v[0], r["money"], places=6)
        self.assertNotIn("Value too old", self.cd.log())

    def test_balance(self):
        rows = self.cd.csv("anticaptcha-main", "gauge-balance")
        self.assertTrue(rows)
        self.assertAlmostEqual(rows[-1][1][0], self.sim.state()["balance"], places=6)

    def test_balance_at_most_every_30_seconds(self):
        calls = self.sim.requests("getBalance")
        self.assertEqual(len(calls), 1, "getBalance polled more than once in 30 s")

    def test_request_bodies(self):
        bodies = [r["body"] for r in self.sim.requests("getSpendingStats")]
        for b in bodies:
            self.assertEqual(b["clientKey"], "<redacted>")
            self.assertEqual(b["softId"], 77)
            self.assertIsInstance(b["softId"], int)
            self.assertEqual(b["ip"], "203.0.113.7")
            self.assertNotIn("date", b)
        self.assertTrue(all(r["key_ok"] for r in self.sim.requests()))
        queues = {b.get("queue") for b in bodies}
        self.assertEqual(queues, {QUEUES[0], QUEUES[1], None})
        balance = self.sim.requests("getBalance")[0]["body"]
        self.assertEqual(set(balance), {"clientKey"})

    def test_queues_fetched_concurrently(self):
        # The sim answers after 0.3 s; one after the other the three requests
        # of a poll would arrive 0.3 s apart.
        reqs = self.sim.requests("getSpendingStats")[:3]
        spread = max(r["time"] for r in reqs) - min(r["time"] for r in reqs)
        self.assertLess(spread, 0.15)

    def test_connections_reused(self):
        polls = len(self.sim.requests("getSpendingStats")) // 3
        self.assertGreaterEqual(polls, 4)
        # 3 spending requests + 1 balance at most in parallel.
        self.assertLessEqual(self.sim.stats()["connections"], 4)

    def test_health_values(self):
        reqs = self.cd.csv("anticaptcha-main", "derive-getSpendingStats-requests")
        fails = self.cd.csv("anticaptcha-main", "derive-getSpendingStats-failures")
        self.assertGreaterEqual(reqs[-1][1][0], 9)
        self.assertEqual(fails[-1][1][0], 0)
        rt = self.cd.csv("anticaptcha-main", "response_time-getSpendingStats")
        self.assertGreater(rt[-1][1][0], 0.25)
        self.assertLess(rt[-1][1][0], 3)

    def test_key_never_written(self):
        no_key_anywhere(self.cd)


class ApiErrors(unittest.TestCase):

    def test_key_error_dispatches_nothing_logs_once_and_recovers(self):
        fault = {"method": "*", "action": "error", "errorId": 1,
                 "errorCode": "ERROR_KEY_DOES_NOT_EXIST",
                 "errorDescription": "Account authorization key not found in the system"}
        with Sim() as sim:
            sim.faults([fault])
            with daemon(account(sim.http_url)) as cd:
                # The first poll asks for the 3 series, each failed poll
                # after it one probe (test_backpressure.ReaderProbes).
                cd.wait_for(lambda: len(sim.requests("getSpendingStats")) >= 5,
                            30, "three failed polls")
                self.assertEqual(spending_files(cd), [])
                self.assertTrue(cd.alive())
                lines = [l for l in cd.log().splitlines()
                         if "getSpendingStats" in l and "failed" in l]
                self.assertEqual(len(lines), 1, lines)
                self.assertIn('Account "main"', lines[0])
                self.assertIn("ERROR_KEY_DOES_NOT_EXIST", lines[0])
                self.assertIn("ClientKey", lines[0])
                fails = cd.csv("anticaptcha-main", "derive-getSpendingStats-failures")
                self.assertGreaterEqual(fails[-1][1][0], 3)
                # The outage ends: values flow and the recovery is logged.
                sim.clear_faults()
                cd.wait_for(lambda: cd.csv("anticaptcha-main", "gauge-all-money_24h"),
                            40, "values after the outage")
                cd.wait_for(lambda: "getSpendingStats works again" in cd.log(),
                            10, "the recovery line")
                no_key_anywhere(cd)

    def test_http_503_and_bad_json_dispatch_nothing(self):
        for fault in ({"method": "getSpendingStats", "action": "http", "status": 503,
                       "body": "<html>busy</html>", "content_type": "text/html"},
                      {"method": "getSpendingStats", "action": "body",
                       "body": '{"errorId":0,"data":[{"dateFrom":1,'}):
            with self.subTest(fault=fault["action"]), Sim() as sim:
                sim.faults([fault])
                with daemon(account(sim.http_url, "    Balance false")) as cd:
                    failed = lambda: [l for l in cd.log().splitlines()
                                      if "getSpendingStats" in l and "failed" in l]
                    cd.wait_for(failed, 15, "the failure line")
                    # Two more polls fail: still the one line of this outage.
                    n = len(sim.requests("getSpendingStats"))
                    # (One probe per failed poll.)
                    cd.wait_for(lambda: len(sim.requests("getSpendingStats")) >= n + 2,
                                30, "two more failed polls")
                    time.sleep(0.5)
                    self.assertEqual(spending_files(cd), [])
                    self.assertEqual(len(failed()), 1, failed())

    def test_strings_shuffled_and_23_records(self):
        with Sim(now=time.time()) as sim:
            sim.state({"numbers_as_strings": True, "shuffle": True, "records": 23})
            with daemon(account(sim.http_url), **LOGGED) as cd:
                hours = lambda: cd.logged_values("main", "gauge", "all-money_1h")
                cd.wait_for(lambda: len(hours()) >= 23, 20, "23 hourly records")
                time.sleep(1)  # (a 24th would be one too many)
                recs = sorted(sim.expected(None), key=lambda r: int(r["dateFrom"]))
                rows = hours()
                self.assertEqual([t for t, _ in rows],
                                 [float(r["dateTill"]) for r in recs])
                for (_, v), r in zip(rows, recs):
                    self.assertAlmostEqual(v[0], float(r["money"]), places=6)


class Https(unittest.TestCase):

    def run_with(self, sim, ca=True, url=None):
        extra = '    CACert "%s"' % sim.ca_file if ca else ""
        # Under valgrind a TLS handshake alone can outlast 5 s: the refusal
        # must be the certificate's, not a timeout's.
        extra += "\n    Timeout %d" % (5 * timeout_factor())
        return daemon(account(url or sim.https_url, extra + "\n    Balance false"))

    def test_test_ca_accepted_with_cacert(self):
        with Sim(https=True) as sim, self.run_with(sim) as cd:
            cd.wait_for(lambda: cd.csv("anticaptcha-main", "gauge-all-money_24h"),
                        20 * timeout_factor(), "values over HTTPS")
            self.assertTrue(all(r["tls"] for r in sim.requests()))

    def test_unknown_ca_refused(self):
        with Sim(https=True) as sim, self.run_with(sim, ca=False) as cd:
            cd.wait_for(lambda: "getSpendingStats" in cd.log() and "failed" in cd.log(),
                        20 * timeout_factor(), "the TLS failure line")
            self.assertEqual(spending_files(cd), [])
            self.assertEqual(sim.requests(), [])
            self.assertRegex(cd.log(), r"(?i)certificate|SSL")

    def test_host_name_mismatch_refused(self):
        with Sim(https=True, cert="wronghost") as sim, self.run_with(sim) as cd:
            cd.wait_for(lambda: "getSpendingStats" in cd.log() and "failed" in cd.log(),
                        20 * timeout_factor(), "the TLS failure line")
            self.assertEqual(spending_files(cd), [])
            self.assertEqual(sim.requests(), [])


if __name__ == "__main__":
    runner.main()

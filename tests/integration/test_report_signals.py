"""hCaptcha reports, per-method report counters, the balance forecast and
the report-rate guard, end to end with a real collectd and the simulated
API."""

import os
import re
import time
import unittest

from harness import Collectd, KEY_FILE, KEY_FILES, Sim
import runner

REPO = os.environ.get("ANTICAPTCHA_SRCDIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
HC = "reportIncorrectHcaptcha"


def daemon(url, account_extra="", extra="", **kw):
    return Collectd('''
  <Account "main">
    ClientKeyFile "@TMP@/%s"
    URL "%s"
%s
  </Account>
%s''' % (KEY_FILE, url, account_extra, extra),
                    files=KEY_FILES, **kw)


def last(cd, name, instance="anticaptcha-main"):
    rows = cd.csv(instance, name)
    return rows[-1][1][0] if rows else None


def sent(sim, method=None):
    return [r for r in sim.requests(method) if r["method"].startswith("report")]


class HCaptcha(unittest.TestCase):

    def test_failure_is_one_report_okay_is_none(self):
        with Sim() as sim, daemon(sim.http_url, "    Balance false\n"
                                  "    Interval 60") as cd:
            now = time.time()
            for sev, task in (("failure", "5001"), ("okay", "5002"),
                              ("warning", "5003"), ("failure", "5001")):
                cd.putnotif(sev, time=now, message="hcaptcha result",
                            plugin="anticaptcha", plugin_instance="main",
                            type="hcaptcha", type_instance=task)
            cd.wait_for(lambda: sent(sim), 10, "the report")
            cd.wait_for(lambda: last(cd, "derive-reports-%s-accepted" % HC)
                        == 1, 10, "the per-method counter")
            time.sleep(1)
            reqs = sent(sim)
            self.assertEqual(len(reqs), 1, reqs)
            self.assertEqual(reqs[0]["method"], HC)
            self.assertEqual(reqs[0]["raw"],
                             '{"clientKey":"<redacted>","taskId":5001}')
            self.assertIsInstance(reqs[0]["body"]["taskId"], int)
            self.assertTrue(reqs[0]["key_ok"])
            # Per method beside per account: the duplicate is hCaptcha's.
            self.assertEqual(last(cd, "derive-reports-%s-sent" % HC), 1)
            self.assertEqual(last(cd, "derive-reports-%s-duplicate" % HC), 1)
            self.assertEqual(last(cd, "derive-reports-accepted"), 1)
            self.assertEqual(last(cd, "derive-reports-"
                                  "reportIncorrectRecaptcha-sent"), 0)
            self.assertEqual(last(cd, "derive-reports-"
                                  "reportCorrectRecaptcha-sent"), 0)
            cd.assert_no_key()

    def test_report_rule_method(self):
        rule = '''
  <Report "solver-hcaptcha">
    Method "reportIncorrectHcaptcha"
    Plugin "solver"
    Type "hc_result"
    Severity "failure"
  </Report>'''
        with Sim() as sim, daemon(sim.http_url, "    Balance false\n"
                                  "    Interval 60", rule) as cd:
            cd.putnotif("failure", message="wrong", plugin="solver",
                        type="hc_result", type_instance="6001")
            cd.putnotif("okay", message="right", plugin="solver",
                        type="hc_result", type_instance="6002")
            cd.wait_for(lambda: sent(sim), 10, "the report")
            time.sleep(1)
            self.assertEqual([(r["method"], r["body"]["taskId"])
                              for r in sent(sim)], [(HC, 6001)])


class Forecast(unittest.TestCase):

    def test_hours_equal_balance_over_24h_spending(self):
        now = time.time()
        with Sim(now=now) as sim:
            sim.state({"balance": 987.654321})
            with daemon(sim.http_url, "    Interval 30") as cd:
                cd.wait_for(lambda: last(cd, "timeleft-balance_hours"), 10,
                            "the forecast")
                money = sum(r["money"] for r in sim.expected())
                self.assertGreater(money, 0)
                want = 987.654321 / (money / 24)
                self.assertAlmostEqual(last(cd, "timeleft-balance_hours"),
                                       want, places=4)
                self.assertAlmostEqual(last(cd, "gauge-all-money_24h"),
                                       money, places=4)

    def test_nothing_spent_no_forecast(self):
        with Sim(records=0) as sim, daemon(sim.http_url, "    Interval 30") as cd:
            cd.wait_for(lambda: last(cd, "gauge-balance") is not None and
                        cd.csv("anticaptcha-main", "gauge-all-money_24h"), 10,
                        "balance and spending")
            time.sleep(1.5)
            self.assertEqual(cd.csv("anticaptcha-main", "timeleft-balance_hours"), [])

    def test_balance_failing_no_forecast(self):
        with Sim() as sim:
            sim.faults([{"method": "getBalance", "action": "http", "status": 503}])
            with daemon(sim.http_url, "    Interval 30") as cd:
                cd.wait_for(lambda: cd.csv("anticaptcha-main",
                                           "gauge-all-money_24h"), 10, "spending")
                time.sleep(1.5)
                self.assertEqual(cd.csv("anticaptcha-main",
                                        "timeleft-balance_hours"), [])

    def test_threshold_drop_in_warns_before_money_runs_out(self):
        """conf.d/threshold-alerts.conf as shipped: a forecast below a day
        raises a FAILURE for timeleft-balance_hours (no report is sent)."""
        drop_in = os.path.join(REPO, "conf.d", "threshold-alerts.conf")
        with open(drop_in) as f:
            block = re.search(r'<Type "timeleft">(.*?)</Type>', f.read(), re.S)
        failure_min = float(re.search(r"FailureMin\s+([0-9.]+)",
                                      block.group(1)).group(1))
        now = time.time()
        with Sim(now=now) as sim:
            money = sum(r["money"] for r in sim.expected())
            # Half of FailureMin's hours left at the simulated spending rate.
            balance = round(failure_min / 2 * money / 24, 6)
            sim.state({"balance": balance})
            with daemon(sim.http_url, "    Interval 30",
                        extra_config='Include "%s"' % drop_in) as cd:
                line = cd.wait_for(lambda: [
                    l for l in cd.log().splitlines() if "Notification:" in l
                    and "type = timeleft" in l], 10, "the notification")[0]
                self.assertIn("severity = FAILURE", line)
                self.assertIn("plugin_instance = main", line)
                self.assertIn("type_instance = balance_hours", line)
                self.assertAlmostEqual(last(cd, "timeleft-balance_hours"),
                                       failure_min / 2, places=3)
                self.assertEqual(sent(sim), [])

class Guard(unittest.TestCase):

    def test_report_beyond_share_withheld_and_counted(self):
        now = time.time()
        with Sim(now=now, records=1) as sim:
            tasks = sim.expected("Recaptcha Proxyless")[0]["volume"]
            # Room for exactly 2 incorrect reCAPTCHA reports.
            share = 2.5 * 100.0 / tasks
            with daemon(sim.http_url, '''    Queue "Recaptcha Proxyless"
    Total false
    Balance false
    Interval 60
    IncorrectReportShare %.9f''' % share) as cd:
                cd.wait_for(lambda: cd.csv("anticaptcha-main",
                                           "count-recaptcha_proxyless-volume_24h"),
                            10, "the spending poll")
                t = time.time()
                for task in ("7001", "7002", "7003", "7004"):
                    cd.putnotif("failure", time=t, message="wrong",
                                plugin="anticaptcha", plugin_instance="main",
                                type="recaptcha", type_instance=task)
                # Correct reports and other families are not held back (no
                # image queue or total polled: unknown tasks withhold nothing).
                cd.putnotif("okay", time=t, message="right", plugin="anticaptcha",
                            plugin_instance="main", type="recaptcha",
                            type_instance="7005")
                cd.putnotif("failure", time=t, message="wrong",
                            plugin="anticaptcha", plugin_instance="main",
                            type="image", type_instance="7006")
                cd.wait_for(lambda: last(cd, "derive-reports-withheld") == 2, 10,
                            "the withheld counter")
                cd.wait_for(lambda: len(sent(sim)) >= 4, 10, "the reports")
                time.sleep(1)
                got = sorted((r["method"], r["body"]["taskId"]) for r in sent(sim))
                self.assertEqual(got, [("reportCorrectRecaptcha", 7005),
                                       ("reportIncorrectImageCaptcha", 7006),
                                       ("reportIncorrectRecaptcha", 7001),
                                       ("reportIncorrectRecaptcha", 7002)])
                self.assertEqual(last(cd, "derive-reports-"
                                      "reportIncorrectRecaptcha-withheld"), 2)
                self.assertEqual(last(cd, "derive-reports-"
                                      "reportIncorrectImageCaptcha-withheld"), 0)
                lines = [l for l in cd.log().splitlines() if "withheld" in l
                         and "anticaptcha plugin:" in l and "[warning]" in l
                         and "for task" in l]
                self.assertEqual(len(lines), 1, lines)
                # Told at start: image and hCaptcha reports have no tasks
                # to be measured against (no such queue, no total).
                unmeasured = [l for l in cd.log().splitlines()
                              if "are never withheld" in l]
                self.assertEqual(len(unmeasured), 2, unmeasured)
                self.assertTrue(any("no image queue" in l for l in unmeasured))
                self.assertTrue(any("no hCaptcha queue" in l for l in unmeasured))
                self.assertIn("IncorrectReportShare", lines[0])
                self.assertIn('Account "main"', lines[0])

    def test_off_by_default(self):
        now = time.time()
        with Sim(now=now, records=1) as sim, daemon(
                sim.http_url, '''    Queue "Recaptcha Proxyless"
    Total false
    Balance false
    Interval 60''') as cd:
            cd.wait_for(lambda: cd.csv("anticaptcha-main",
                                       "count-recaptcha_proxyless-volume_24h"),
                        10, "the spending poll")
            t = time.time()
            for n in range(20):
                cd.putnotif("failure", time=t, message="wrong",
                            plugin="anticaptcha", plugin_instance="main",
                            type="recaptcha", type_instance=str(8000 + n))
            cd.wait_for(lambda: len(sent(sim)) == 20, 10, "every report")
            cd.wait_for(lambda: last(cd, "derive-reports-withheld") == 0, 5,
                        "the withheld counter")


if __name__ == "__main__":
    runner.main()

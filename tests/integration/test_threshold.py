"""Alerting with the stock threshold plugin: conf.d/threshold-alerts.conf,
included as it ships into a real collectd with the built plugin polling the
simulated API, raises a notification for a balance below its floor and for
an hour whose money passes the queue's budget, each with the severity the
thresholds give; and none of these notifications becomes a report."""

import os
import re
import time
import unittest

from harness import (Collectd, KEY_FILE, KEY_FILES, Sim, assert_no_key_in,
                     timeout_factor)
import runner

SLOW = timeout_factor()  # 4 under COLLECTD_WRAPPER (valgrind)
REPO = os.environ.get("ANTICAPTCHA_SRCDIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..")
DROP_IN = os.path.abspath(os.path.join(REPO, "conf.d", "threshold-alerts.conf"))
REPORTS = ("reportCorrectRecaptcha", "reportIncorrectRecaptcha",
           "reportIncorrectImageCaptcha")
QUEUES = {"recaptcha_proxyless": "Recaptcha Proxyless",
          "english_imagetotext": "English ImageToText", "all": None}
# Balances of the three accounts' simulated APIs: one in range, one below
# the warning floor, one below the failure floor (checked against the file).
BALANCES = {"main": 12.345678, "low": 7.0, "broke": 1.5}

NOTIFICATION = re.compile(
    r"^\[(?P<time>[^\]]+)\] \[\w+\] Notification: severity = (?P<severity>\w+), "
    r"host = testhost, plugin = anticaptcha, plugin_instance = (?P<pi>[^,]*), "
    r"type = gauge, type_instance = (?P<ti>[^,]*), message = (?P<message>.*)$")
VALUE = re.compile(r'(?:is currently|Current value of "value" is) (-?[0-9]+(?:\.[0-9]+)?)')


def thresholds():
    """{type instance: {"WarningMin": x, ...}} of the drop-in's
    <Type "gauge"> blocks (inside <Plugin "anticaptcha">)."""
    with open(DROP_IN) as f:
        text = re.sub(r"#.*", "", f.read())
    out = {}
    for block in re.findall(r'<Type "gauge">(.*?)</Type>', text, re.S):
        inst = re.search(r'Instance "([^"]+)"', block).group(1)
        out[inst] = {k: float(v) for k, v in
                     re.findall(r"(WarningMin|FailureMin|WarningMax|FailureMax)\s+"
                                r"([-0-9.]+)", block)}
    return out


def state_of(value, th):
    """The threshold plugin's verdict (it compares strictly)."""
    if value < th.get("FailureMin", float("-inf")) or \
            value > th.get("FailureMax", float("inf")):
        return "FAILURE"
    if value < th.get("WarningMin", float("-inf")) or \
            value > th.get("WarningMax", float("inf")):
        return "WARNING"
    return "OKAY"


def expected_notifications(values, th):
    """(severity, value) raised for a series of values with Persist false: one
    per change of state, the first value included (from "unknown")."""
    out, last = [], None
    for v in values:
        s = state_of(v, th)
        if s != last:
            out.append((s, v))
        last = s
    return out


def accounts(urls):
    return """
  <Account "main">
    ClientKeyFile "@TMP@/%(key)s"
    URL "%(main)s"
    Queue "Recaptcha Proxyless"
    Queue "English ImageToText"
    Interval 60
  </Account>
  <Account "low">
    ClientKeyFile "@TMP@/%(key)s"
    URL "%(low)s"
    Total false
    Interval 60
  </Account>
  <Account "broke">
    ClientKeyFile "@TMP@/%(key)s"
    URL "%(broke)s"
    Total false
    Interval 60
  </Account>""" % dict(urls, key=KEY_FILE)


def money_sequences(sim):
    return {slug: [r["money"] for r in sorted(sim.expected(q),
                                              key=lambda r: r["dateFrom"])]
            for slug, q in QUEUES.items()}


def pick_clock(sim, budget):
    """Set the main sim's fixed clock to the latest hour (of the last two
    days) whose 24 records of "Recaptcha Proxyless" reach all three states
    of its budget, so that the test sees okay, warning and failure alike."""
    now = time.time()
    for k in range(48):
        sim.state({"now": now - 3600 * k})
        recs = sim.expected("Recaptcha Proxyless")
        if len(recs) == 24 and {state_of(r["money"], budget) for r in recs} \
                == {"OKAY", "WARNING", "FAILURE"}:
            return
    raise AssertionError("no hour of the last two days crosses every level of %r"
                         % budget)


class ThresholdAlerts(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.started = time.monotonic()
        cls.addClassCleanup(lambda: print(
            "\nthreshold: %.1f s from start to stop" % (time.monotonic() - cls.started)))
        cls.th = thresholds()
        cls.sims = {}
        for name, balance in BALANCES.items():
            cls.sims[name] = cls.enterClassContext(Sim(quiet=True))
            cls.sims[name].state({"balance": balance})
        pick_clock(cls.sims["main"], cls.th["recaptcha_proxyless-money_1h"])
        # One write thread: the threshold plugin checks the series' value in
        # collectd's cache, which with several write threads a later
        # back-filled hour can overwrite before an earlier hour's check
        # (README.md, "Alerts"); one thread keeps hour after hour.
        cls.cd = cls.enterClassContext(Collectd(
            accounts({n: s.http_url for n, s in cls.sims.items()}),
            extra_config='Include "%s"' % DROP_IN, global_config="WriteThreads 1",
            files=KEY_FILES))
        # Every account's balance and the last hour of both budgets went
        # through the threshold plugin; the counters after that.
        cls.cd.wait_for(lambda: all(
            cls.cd.csv("anticaptcha-%s" % n, "gauge-balance") for n in BALANCES)
            and len(cls.cd.csv("anticaptcha-main", "gauge-all-money_1h")) == 24
            and len(cls.cd.csv("anticaptcha-main",
                               "gauge-recaptcha_proxyless-money_1h")) == 24,
            20 * SLOW, "the balances and hourly records")
        mark = time.time()
        invalid = lambda: cls.cd.csv("anticaptcha", "derive-notifications-invalid")
        cls.cd.wait_for(lambda: invalid() and invalid()[-1][0] > mark + 1,
                        10 * SLOW, "the report counters")

    def notifications(self, account, type_instance):
        """[(severity, value, log time), ...] in the order logged."""
        out = []
        for line in self.cd.log().splitlines():
            m = NOTIFICATION.match(line)
            if m and m["pi"] == account and m["ti"] == type_instance:
                v = VALUE.search(m["message"])
                out.append((m["severity"], float(v.group(1)) if v else None,
                            m["time"]))
        return out

    def test_drop_in_values(self):
        # The balances chosen above land where the test says they do.
        floor = self.th["balance"]
        self.assertEqual([state_of(BALANCES[n], floor) for n in ("main", "low", "broke")],
                         ["OKAY", "WARNING", "FAILURE"])
        self.assertIn("recaptcha_proxyless-money_1h", self.th)
        self.assertIn("all-money_1h", self.th)

    def test_balance_below_floor(self):
        floor = self.th["balance"]
        for name, balance in BALANCES.items():
            got = [(s, v) for s, v, _ in self.notifications(name, "balance")]
            # The first value in range also says so (OKAY, from "unknown").
            self.assertEqual(got, [(state_of(balance, floor), balance)], name)
        line = [l for l in self.cd.log().splitlines()
                if "plugin_instance = broke" in l and "balance" in l][0]
        self.assertIn("is currently 1.500000. That is below the failure threshold "
                      "of %f." % floor["FailureMin"], line)

    def test_hourly_money_over_budget(self):
        recs = {slug: sorted(self.sims["main"].expected(q), key=lambda r: r["dateFrom"])
                for slug, q in QUEUES.items()}
        for slug in ("recaptcha_proxyless", "all"):
            th = self.th["%s-money_1h" % slug]
            got = self.notifications("main", "%s-money_1h" % slug)
            want = expected_notifications([r["money"] for r in recs[slug]], th)
            self.assertEqual([(s, round(v, 6)) for s, v, _ in got], want, slug)
            # Each one carries its hour's time: the record's dateTill.
            till = {r["money"]: r["dateTill"] for r in recs[slug]}
            self.assertEqual([t for _, _, t in got],
                             [time.strftime("%Y-%m-%d %H:%M:%S",
                                            time.localtime(till[v])) for _, v in want])
        severities = {s for s, _, _ in self.notifications(
            "main", "recaptcha_proxyless-money_1h")}
        self.assertEqual(severities, {"OKAY", "WARNING", "FAILURE"})
        # A queue without a budget raises nothing.
        self.assertEqual(self.notifications("main", "english_imagetotext-money_1h"), [])
        self.assertEqual(self.notifications("main", "all-money_24h"), [])

    def test_notifications_never_become_reports(self):
        for name, sim in self.sims.items():
            methods = {r["method"] for r in sim.requests()}
            self.assertFalse(methods & set(REPORTS), name)
            self.assertLessEqual(methods, {"getSpendingStats", "getBalance"}, name)
            sent = self.cd.csv("anticaptcha-%s" % name, "derive-reports-sent")
            self.assertTrue(sent, name)
            self.assertEqual(sent[-1][1][0], 0, name)
        invalid = self.cd.csv("anticaptcha", "derive-notifications-invalid")
        self.assertEqual(invalid[-1][1][0], 0)
        log = self.cd.log()
        self.assertNotIn("is not a task id", log)
        self.assertNotIn("does not name a configured account", log)
        self.assertTrue(self.cd.alive())
        assert_no_key_in(self.cd.dir, exclude=(KEY_FILE, "collectd.conf"))


if __name__ == "__main__":
    runner.main()

"""scripts/demo-status, the status page of ./scripts/demo, against a real
collectd with the plugin and the simulated API: after a poll it shows the
account's balance and hours left and each queue's last hour and last 24
hours as the simulated account has them, sends the demo's three report
notifications, and the next polls show what became of them (accepted, a
duplicate, one too late), the request the API got and the plugin's warning."""

import os
import re
import subprocess
import sys
import time
import unittest

import harness
from harness import Collectd, KEY_FILE, KEY_FILES, Sim, timeout_factor
import runner

SLOW = timeout_factor()
STATUS = os.path.join(harness.REPO, "scripts", "demo-status")
QUEUES = {"recaptcha_proxyless": "Recaptcha Proxyless", "all": None}


class DemoStatus(unittest.TestCase):

    def test_status_after_polls_and_the_demo_reports(self):
        with Sim(now=time.time(), quiet=True) as sim, Collectd('''
  <Account "main">
    ClientKeyFile "@TMP@/%s"
    URL "%s"
    Queue "Recaptcha Proxyless"
    Interval 1
  </Account>''' % (KEY_FILE, sim.http_url), files=KEY_FILES) as cd:
            out_path = os.path.join(cd.dir, "status.out")
            with open(out_path, "w") as out:
                proc = subprocess.Popen(
                    [sys.executable, STATUS, "--socket", cd.socket_path, "--log", cd.log_path,
                     "--csv", os.path.join(cd.csv_dir, harness.HOSTNAME), "--sim", sim.http_url],
                    stdout=out, stderr=subprocess.STDOUT)
            try:
                cd.wait_for(lambda: "the API got" in harness.read_text(out_path)
                            and "reports: sent 1, accepted 1, expired 1, duplicate 1"
                            in harness.read_text(out_path), 30 * SLOW, "the demo's reports counted")
            finally:
                proc.terminate()
                proc.wait(10)
            text = harness.read_text(out_path)
            balance = sim.state()["balance"]
            self.assertIn("main: balance %.2f USD" % balance, text)
            money = sum(r["money"] for r in sim.expected())
            self.assertIn("%.1f hours left" % (balance / (money / 24)), text)
            for slug, queue in QUEUES.items():
                recs = sim.expected(queue)
                row = re.search(r"^    %s +(\S+) +(\S+) +(\S+) +(\S+)$" % slug, text, re.M)
                self.assertIsNotNone(row, slug)
                self.assertEqual(row.groups(), (
                    "{:,}".format(recs[-1]["volume"]), "%.2f" % recs[-1]["money"],
                    "{:,}".format(sum(r["volume"] for r in recs)),
                    "%.2f" % sum(r["money"] for r in recs)), slug)
            self.assertEqual(len(re.findall(r"demo: report notification for task \d+ .*: taken",
                                            text)), 3)
            self.assertIn("the API got reportIncorrectRecaptcha for task 900001: accepted", text)
            self.assertRegex(text, r"log: warning: Account \"main\": task 900002 finished")
            # The demo's task went to the API once, the duplicate and the late
            # one never.
            reports = sim.requests("reportIncorrectRecaptcha")
            self.assertEqual([r["body"]["taskId"] for r in reports], [900001])
            harness.assert_no_key_in(text)


if __name__ == "__main__":
    runner.main()

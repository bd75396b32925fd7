"""Queue statistics end to end: a <QueueStats> block in a real collectd polls
getQueueStats at the simulated API, without any account or key, and the
figures land in csv exactly as the sim served them; a failing queue is
logged once and dispatches nothing, and is never asked more often than
every 10 s."""

import time
import unittest

from harness import (Collectd, KEY_FILES, Sim, account_block, free_port,
                     plugin_config_test, timeout_factor)
import runner

FIELDS = (("count", "waiting"), ("percent", "load"), ("gauge", "bid"),
          ("duration", "speed"), ("count", "total"))
INSTANCE = "anticaptcha-queues"
# Requests of one queue arrive at least this far apart: 10 s less the time a
# request takes to reach the sim, longer for the first one under valgrind.
MIN_GAP = 10 - 0.5 * timeout_factor()


def queue_config(url, extra=""):
    return '''
  <QueueStats>
    Queue "Recaptcha Proxyless"
    Queue 22
    URL "%s"
    Interval 10
    Timeout 3
  </QueueStats>
%s''' % (url, extra)


def last(cd, name):
    rows = cd.csv(INSTANCE, name)
    return rows[-1][1][0] if rows else None


def times_of(sim, queue_id):
    return [r["time"] for r in sim.requests("getQueueStats")
            if r["body"] and r["body"].get("queueId") == queue_id]


class QueueStats(unittest.TestCase):

    def test_two_queues_in_csv_without_account(self):
        with Sim() as sim, Collectd(queue_config(sim.http_url)) as cd:
            served = {slug: sim.control("GET", "queue_stats?queueId=%d" % qid)
                      for slug, qid in (("recaptcha_proxyless", 6),
                                        ("hcaptcha_without_proxy", 22))}
            names = ["%s-%s-%s" % (t, slug, f) for slug in served
                     for t, f in FIELDS]
            cd.wait_for(lambda: all(cd.csv(INSTANCE, n) for n in names), 10,
                        "both queues' figures in csv")
            for slug, fields in served.items():
                for t, f in FIELDS:
                    got = last(cd, "%s-%s-%s" % (t, slug, f))
                    # csv writes gauges with 6 decimals.
                    self.assertAlmostEqual(got, fields[f], places=6,
                                           msg="%s %s" % (slug, f))
            # The API got exactly {"queueId": N}: no key, no other field.
            reqs = sim.requests("getQueueStats")
            self.assertEqual(sorted(set(r["raw"] for r in reqs)),
                             ['{"queueId":22}', '{"queueId":6}'])
            self.assertEqual([r for r in sim.requests() if r["method"] !=
                              "getQueueStats"], [])
            self.assertTrue(cd.csv(INSTANCE, "derive-getQueueStats-requests"))
            self.assertEqual(last(cd, "derive-getQueueStats-failures"), 0)
            # Interval 10 (the vendor renews its answer every 10 s), while
            # collectd's own Interval is 1.
            cd.wait_for(lambda: len(times_of(sim, 6)) >= 2, 15, "a second poll")
            t = times_of(sim, 6)
            self.assertGreaterEqual(t[1] - t[0], MIN_GAP)
            # The plugin's lines (collectd itself may log a race of its
            # own, e.g. unixsock's set_thread_name "No such process").
            ours = "\n".join(line for line in cd.log().splitlines()
                              if "anticaptcha" in line)
            self.assertNotIn("error", ours.lower().replace("errorid", ""),
                             cd.log())
    def test_polled_beside_a_slow_account(self):
        """A slow getSpendingStats (4 s) does not hold the queue statistics
        back: they are asked while the account's poll waits."""
        with Sim() as sim:
            sim.faults([{"method": "getSpendingStats", "action": "delay",
                         "seconds": 4}])
            account = account_block(sim.http_url, extra="    Timeout 10")
            with Collectd(queue_config(sim.http_url, account),
                          files=KEY_FILES) as cd:
                cd.wait_for(lambda: cd.csv("anticaptcha-main",
                                           "count-all-volume_24h"), 15,
                            "the slow account's values")
                spending = sim.requests("getSpendingStats")[0]
                queues = [r for r in sim.requests("getQueueStats")
                          if r["time"] < spending["time"] + 4]
                self.assertEqual(len(queues), 2, sim.requests("getQueueStats"))
                first = cd.csv(INSTANCE, "count-recaptcha_proxyless-waiting")[0][0]
                account_row = cd.csv("anticaptcha-main", "count-all-volume_24h")[0][0]
                # Both polls started together (values carry the poll's start).
                self.assertLess(abs(first - account_row), 1.5)
    def test_antigate_template(self):
        with Sim() as sim, Collectd('''
  <QueueStats>
    Queue 25 "CloudFlare cookies for a proxy"
    URL "%s"
    Interval 10
  </QueueStats>''' % sim.http_url) as cd:
            name = "count-antigatetask_cloudflare_cookies_for_a_proxy-total"
            cd.wait_for(lambda: last(cd, name), 10, "the template's figures")
            self.assertEqual(last(cd, name), sim.control(
                "GET", "queue_stats?queueId=25")["total"])
            self.assertEqual(
                [r["raw"] for r in sim.requests("getQueueStats")][:1],
                ['{"queueId":25,"templateName":"CloudFlare cookies for a proxy"}'])

    def test_numbers_as_strings(self):
        with Sim() as sim:
            sim.state({"numbers_as_strings": True,
                       "queue_stats": {"6": {"waiting": 7, "load": 99.5,
                                             "bid": 0.00123, "speed": 4.25,
                                             "total": 70}}})
            with Collectd(queue_config(sim.http_url)) as cd:
                # All five: collectd's write threads may write them to csv
                # in any order.
                cd.wait_for(lambda: all(
                    last(cd, "%s-recaptcha_proxyless-%s" % f) is not None
                    for f in FIELDS), 10, "the figures")
                self.assertEqual(last(cd, "count-recaptcha_proxyless-waiting"), 7)
                self.assertEqual(last(cd, "percent-recaptcha_proxyless-load"), 99.5)
                self.assertAlmostEqual(last(cd, "gauge-recaptcha_proxyless-bid"),
                                       0.00123, places=6)
                self.assertEqual(last(cd, "duration-recaptcha_proxyless-speed"), 4.25)
                self.assertEqual(last(cd, "count-recaptcha_proxyless-total"), 70)

    def test_failing_queue_logged_once_nothing_dispatched(self):
        with Sim() as sim:
            sim.faults([{"method": "getQueueStats", "queue_id": 22,
                         "action": "http", "status": 503, "body": "busy"}])
            # MaxReadInterval 4 caps collectd's back-off below 10 s: the
            # plugin must still not ask more often.
            with Collectd(queue_config(sim.http_url),
                          global_config="MaxReadInterval 4") as cd:
                cd.wait_for(lambda: len(times_of(sim, 22)) >= 3, 30,
                            "three polls of the failing queue")
                t = times_of(sim, 22)
                for a, b in zip(t, t[1:]):
                    self.assertGreaterEqual(b - a, MIN_GAP, t)
                self.assertTrue(cd.csv(INSTANCE, "count-recaptcha_proxyless-waiting"))
                self.assertEqual([n for n in cd.csv_files()
                                  if "hcaptcha_without_proxy" in n], [])
                failed = [l for l in cd.log().splitlines()
                          if "getQueueStats" in l and "failed" in l]
                self.assertEqual(len(failed), 1, failed)
                self.assertIn('queue "22"', failed[0])
                self.assertIn("HTTP status 503", failed[0])
                self.assertGreaterEqual(last(cd, "derive-getQueueStats-failures"), 2)
                sim.clear_faults()
                cd.wait_for(lambda: "getQueueStats (queue \"22\") works again"
                            in cd.log(), 25, "the recovery")
                cd.wait_for(lambda: cd.csv(INSTANCE,
                                           "count-hcaptcha_without_proxy-total"),
                            10, "the recovered queue's figures")

    def test_refused_connection(self):
        url = "http://127.0.0.1:%d" % free_port()
        with Collectd(queue_config(url)) as cd:
            cd.wait_for(lambda: "getQueueStats" in cd.log() and "failed" in
                        cd.log(), 10, "the failure line")
            time.sleep(1)
            lines = [l for l in cd.log().splitlines()
                     if "anticaptcha plugin:" in l and "failed" in l]
            self.assertEqual(len(lines), 2, lines)  # one per queue
            self.assertTrue(all("transport failure" in l for l in lines))
            self.assertEqual([n for n in cd.csv_files() if "waiting" in n], [])

    def test_config_refused(self):
        """One error line naming the option; the plugin refuses to load."""
        account = ('  <Account "queues">\n    ClientKey "x-key-123456"\n'
                   '    URL "http://127.0.0.1:1"\n  </Account>')
        for extra, where, option in (
                (account, 'Account "queues"', '"Account"'),
                ("  <QueueStats>\n    Queue 5\n  </QueueStats>", "QueueStats",
                 '"QueueStats"')):
            with self.subTest(where=where):
                rc, out = plugin_config_test(queue_config("http://127.0.0.1:1",
                                                          extra))
                self.assertNotEqual(rc, 0, out)
                lines = [l for l in out.splitlines()
                         if "anticaptcha plugin:" in l and "rror" in l]
                self.assertEqual(len(lines), 1, out)
                self.assertIn(where, lines[0])
                self.assertIn(option, lines[0])
                self.assertNotIn("x-key-123456", out)

if __name__ == "__main__":
    runner.main()

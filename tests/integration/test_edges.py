"""Edges that a unit test alone used to cover, now end to end with the real
collectd: a report one second past Window, the retry spacing under a
transient fault, an hour that is still running, a look-alike of localhost,
and the key on the plugin's error paths (a failing start, a request that
cannot be built), forced with an LD_PRELOAD shim."""

import os
import time
import unittest

from harness import (Collectd, KEY_FILE, KEY_FILES, Sim, TEST_KEY,
                     account_block, assert_no_key_in, build_library,
                     make_tmpdir, plugin_config_test, remove_tmpdir,
                     timeout_factor)
import runner


def plugin_config(url, extra="", account_extra=""):
    return account_block(url, extra=account_extra) + "\n" + extra


def daemon(config, **kw):
    return Collectd(config, files=KEY_FILES, **kw)


def counter(cd, name):
    rows = cd.csv("anticaptcha-main", "derive-reports-%s" % name)
    return rows[-1][1][0] if rows else None


def report_requests(sim):
    return [r for r in sim.requests() if r["method"].startswith("report")]


class Window(unittest.TestCase):

    def test_one_second_past_window_is_expired_and_never_sent(self):
        with Sim() as sim, daemon(plugin_config(sim.http_url, "Window 5")) as cd:
            now = time.time()
            # Finished 6 s ago with a 5 s window: one second too late.
            cd.putnotif("failure", time=now - 6, message="late",
                        plugin="anticaptcha", type="image", type_instance="3001")
            # Finished 3 s ago: still inside, so the path itself works.
            cd.putnotif("failure", time=now - 3, message="in time",
                        plugin="anticaptcha", type="image", type_instance="3002")
            cd.wait_for(lambda: counter(cd, "expired") == 1 and
                        counter(cd, "accepted") == 1, 10, "the counters")
            time.sleep(1.5)
            ids = [r["body"]["taskId"] for r in report_requests(sim)]
            self.assertEqual(ids, [3002])
            self.assertEqual(counter(cd, "sent"), 1)


class RetrySpacing(unittest.TestCase):

    def test_a_transient_fault_is_retried_with_growing_gaps(self):
        # 503 throughout. The account probes one request at a time, 250 ms,
        # 500 ms, then 1 s apart, each delay jittered to between half and
        # all of it (doc/failure-behaviour.md): in 4.5 s at most 11
        # attempts. A sender that retried at once would make hundreds.
        with Sim() as sim, daemon(plugin_config(sim.http_url)) as cd:
            sim.faults([{"method": "reportIncorrectImageCaptcha",
                         "action": "http", "status": 503, "body": "busy",
                         "content_type": "text/plain"}])
            cd.putnotif("failure", message="x", plugin="anticaptcha",
                        type="image", type_instance="4001")
            time.sleep(4.5)
            attempts = sim.requests("reportIncorrectImageCaptcha")
            self.assertGreaterEqual(len(attempts), 3, "not retried")
            self.assertLessEqual(len(attempts), 11, "retried too fast")
            times = [r["time"] for r in attempts]
            gaps = [b - a for a, b in zip(times, times[1:])]
            # Half of 250 ms less timer slack, then half of 1 s.
            self.assertTrue(all(g >= 0.1 for g in gaps), gaps)
            self.assertTrue(all(g >= 0.45 for g in gaps[2:]), gaps)
            cd.wait_for(lambda: counter(cd, "sent") is not None and
                        counter(cd, "sent") >= len(attempts), 5, "sent counted")
            # A retry is counted when it is scheduled, before it is sent.
            sent, retried = counter(cd, "sent"), counter(cd, "retried")
            self.assertIn(retried, (sent - 1, sent))
            self.assertEqual(counter(cd, "accepted"), 0)


class RunningHour(unittest.TestCase):

    def test_an_hour_still_running_is_not_dispatched(self):
        now = int(time.time())
        hour = now - now % 3600
        # Two finished hours and the one running now, as an API serving
        # partial statistics would answer.
        recs = [(hour - 7200, 11, "0.011000"), (hour - 3600, 22, "0.022000"),
                (hour, 33, "0.033000")]
        body = ('{"errorId":0,"data":[%s]}' % ",".join(
            '{"dateFrom":%d,"dateTill":%d,"volume":%d,"money":%s}'
            % (f, f + 3599, v, m) for f, v, m in recs))
        with Sim() as sim:
            sim.faults([{"method": "getSpendingStats", "action": "body",
                         "body": body}])
            config = plugin_config(sim.http_url).replace("Interval 60",
                                                         "Interval 1")
            # One write thread: collectd's several may reorder the two hours
            # dispatched together, and the cache then refuses the older one.
            with daemon(config, global_config="WriteThreads 1") as cd:
                cd.wait_for(lambda: len(sim.requests("getSpendingStats")) >= 3,
                            15, "three polls")
                time.sleep(1)
                vol = cd.csv("anticaptcha-main", "count-all-volume_1h")
                self.assertEqual([(t, v[0]) for t, v in vol],
                                 [(float(hour - 7200 + 3599), 11.0),
                                  (float(hour - 3600 + 3599), 22.0)])
                money = cd.csv("anticaptcha-main", "gauge-all-money_1h")
                self.assertEqual(len(money), 2)
                self.assertNotIn(float(hour + 3599), [t for t, _ in money])


class LookAlikeLoopback(unittest.TestCase):

    def test_http_to_a_localhost_look_alike_is_refused(self):
        config = ('<Account "main">\n  ClientKey "%s"\n'
                  '  URL "http://localhost.example.com"\n</Account>' % TEST_KEY)
        rc, out = plugin_config_test(config)
        self.assertNotEqual(rc, 0, out)
        self.assertIn("loopback", out)
        self.assertIn("URL", out)
        self.assertNotIn(TEST_KEY, out)


SHIM = r'''
/* Makes the calls named in ANTICAPTCHA_FAIL fail, for the plugin's error
 * paths: "eventfd" (the sender cannot start), "yajl_gen_alloc" (a request
 * body cannot be built). Nothing else in the test daemon uses them. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int failing(const char *name) {
  const char *list = getenv("ANTICAPTCHA_FAIL");
  return list != NULL && strstr(list, name) != NULL;
}

int eventfd(unsigned int initval, int flags) {
  if (failing("eventfd")) {
    errno = ENOMEM;
    return -1;
  }
  int (*real)(unsigned int, int) =
      (int (*)(unsigned int, int))dlsym(RTLD_NEXT, "eventfd");
  return real(initval, flags);
}

void *yajl_gen_alloc(const void *funcs) {
  if (failing("yajl_gen_alloc"))
    return NULL;
  void *(*real)(const void *) =
      (void *(*)(const void *))dlsym(RTLD_NEXT, "yajl_gen_alloc");
  return real(funcs);
}
'''


class ErrorPaths(unittest.TestCase):
    """The key stays out of the log on paths that only a failing system
    reaches."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = make_tmpdir("ac-shim-")
        src = os.path.join(cls.tmp, "shim.c")
        with open(src, "w") as f:
            f.write(SHIM)
        cls.shim = build_library(src, cls.tmp, "-ldl")

    @classmethod
    def tearDownClass(cls):
        remove_tmpdir(cls.tmp)

    def env(self, fail):
        return {"LD_PRELOAD": self.shim, "ANTICAPTCHA_FAIL": fail}

    def test_sender_start_failure(self):
        with Sim() as sim:
            config = ('<Account "main">\n  ClientKey "%s"\n  URL "%s"\n'
                      '  Balance false\n</Account>' % (TEST_KEY, sim.http_url))
            rc, out = plugin_config_test(config, env=self.env("eventfd"))
            errors = [l for l in out.splitlines()
                      if "anticaptcha plugin:" in l and "rror" in l]
            self.assertTrue(errors, out)
            self.assertNotIn(TEST_KEY, out)

    def test_requests_that_cannot_be_built(self):
        with Sim() as sim:
            config = plugin_config(sim.http_url).replace("Interval 60",
                                                         "Interval 1")
            with daemon(config, env=self.env("yajl_gen_alloc")) as cd:
                cd.wait_for(lambda: "anticaptcha plugin:" in cd.log() and
                            "build" in cd.log(), 10 * timeout_factor(),
                            "the reader's error line")
                # The notification path builds its bodies the same way.
                cd.putnotif("failure", message="x", plugin="anticaptcha",
                            type="image", type_instance="5001")
                time.sleep(1.5)
                self.assertTrue(cd.alive())
                self.assertEqual(sim.requests("getSpendingStats"), [])
                self.assertEqual(report_requests(sim), [])
                cd.assert_no_key()
                assert_no_key_in(cd.dir, exclude=(KEY_FILE,))


if __name__ == "__main__":
    runner.main()

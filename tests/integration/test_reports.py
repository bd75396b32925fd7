"""Quality reports end to end: notifications into a real collectd (unixsock
PUTNOTIF, logparser, the network plugin from another collectd) become report
calls at the simulated API, within the API's rules."""

import os
import shutil
import time
import unittest

from harness import (Collectd, KEY_FILE, KEY_FILES, Sim, account_block,
                     assert_no_key_in, free_port, make_tmpdir, remove_tmpdir)
import runner

REPORTS = ("reportCorrectRecaptcha", "reportIncorrectRecaptcha",
           "reportIncorrectImageCaptcha")


def plugin_config(url, extra=""):
    # Total only, every 60 s: these tests are about reports.
    return account_block(url) + "\n" + extra


def daemon(url, extra="", **kw):
    return Collectd(plugin_config(url, extra), files=KEY_FILES,
                    **kw)


def reports(sim):
    return [(r["method"], r["body"]["taskId"]) for r in sim.requests()
            if r["method"] in REPORTS]


def counter(cd, name, account="anticaptcha-main"):
    rows = cd.csv(account, "derive-reports-%s" % name)
    return rows[-1][1][0] if rows else None


class Convention(unittest.TestCase):
    """The default convention through unixsock PUTNOTIF."""

    def test_methods_duplicates_age_bad_ids_and_meta(self):
        with Sim() as sim, daemon(sim.http_url) as cd:
            now = time.time()
            send = lambda sev, typ, ti, **kw: cd.putnotif(
                sev, time=kw.pop("t", now), message="solver result",
                plugin="anticaptcha", plugin_instance=kw.pop("pi", "main"),
                type=typ, type_instance=ti, **kw)
            send("failure", "recaptcha", "1001")              # incorrect recaptcha
            send("okay", "recaptcha", "1002")                 # correct recaptcha
            send("failure", "image", "1003")                  # incorrect image
            send("failure", "image", "1003")                  # duplicate
            send("okay", "recaptcha", "1001")                 # same task, other method
            send("failure", "recaptcha", "1004", t=now - 120)  # too old
            send("failure", "recaptcha", "12a")               # bad task id
            send("failure", "recaptcha", '1","taskId":2')     # injection attempt
            send("failure", "recaptcha", "0")                 # not a task id
            send("warning", "recaptcha", "1005")              # nothing to report
            send("okay", "image", "1006")                     # nothing to report
            send("failure", "recaptcha", "1007", pi="other")  # unknown account
            send("failure", "recaptcha", "not-used", meta={"task_id": "1008"})
            send("failure", "recaptcha", "1009", pi="")       # the only account
            expected = {("reportIncorrectRecaptcha", 1001),
                        ("reportCorrectRecaptcha", 1002),
                        ("reportIncorrectImageCaptcha", 1003),
                        ("reportIncorrectRecaptcha", 1008),
                        ("reportIncorrectRecaptcha", 1009)}
            cd.wait_for(lambda: len(reports(sim)) >= len(expected), 10,
                        "the reports")
            time.sleep(1.5)  # anything else would have arrived by now
            got = reports(sim)
            self.assertEqual(sorted(got), sorted(expected))
            for r in sim.requests():
                if r["method"] in REPORTS:
                    self.assertIsInstance(r["body"]["taskId"], int)
                    self.assertEqual(set(r["body"]), {"clientKey", "taskId"})
                    self.assertTrue(r["key_ok"])
            cd.wait_counts(lambda n: counter(cd, n), {
                "accepted": 5, "sent": 5, "duplicate": 2, "expired": 1}, 5)
            invalid = cd.csv("anticaptcha", "derive-notifications-invalid")
            self.assertEqual(invalid[-1][1][0], 4)
            log = cd.log()
            self.assertIn("finished more than Window seconds ago", log)
            self.assertIn("is not a task id", log)
            self.assertTrue(cd.alive())
            assert_no_key_in(cd.dir, exclude=(KEY_FILE,))

    def test_503_twice_then_success_delivers_once(self):
        with Sim() as sim, daemon(sim.http_url) as cd:
            sim.faults([{"method": "reportIncorrectImageCaptcha", "action": "http",
                         "status": 503, "body": "<html>busy</html>",
                         "content_type": "text/html", "times": 2}])
            cd.putnotif("failure", message="x", plugin="anticaptcha",
                        type="image", type_instance="2001")
            cd.wait_for(lambda: any(r["status"] == 200 for r in
                                    sim.requests("reportIncorrectImageCaptcha")),
                        10, "the successful attempt")
            time.sleep(1.5)
            attempts = sim.requests("reportIncorrectImageCaptcha")
            self.assertEqual([r["status"] for r in attempts], [503, 503, 200])
            self.assertEqual(reports(sim).count(("reportIncorrectImageCaptcha", 2001)), 3)
            cd.wait_counts(lambda n: counter(cd, n),
                           {"accepted": 1, "retried": 2, "sent": 3}, 5)

    def test_api_error_16_is_final(self):
        with Sim() as sim, daemon(sim.http_url) as cd:
            sim.faults([{"method": "*", "action": "error", "errorId": 16,
                         "errorCode": "ERROR_NO_SUCH_CAPCHA_ID",
                         "errorDescription": "too late"}])
            cd.putnotif("failure", message="x", plugin="anticaptcha",
                        type="recaptcha", type_instance="3001")
            cd.wait_for(lambda: counter(cd, "rejected") == 1, 10, "rejected = 1")
            time.sleep(1)
            self.assertEqual(len(sim.requests("reportIncorrectRecaptcha")), 1)
            self.assertIn("ERROR_NO_SUCH_CAPCHA_ID", cd.log())

    def test_dry_run_sends_nothing(self):
        with Sim() as sim, daemon(sim.http_url, "DryRun true") as cd:
            cd.putnotif("failure", message="x", plugin="anticaptcha",
                        type="recaptcha", type_instance="4001")
            cd.wait_for(lambda: "would send reportIncorrectRecaptcha for task 4001"
                        in cd.log(), 10, "the dry-run line")
            self.assertEqual(reports(sim), [])


class LogParser(unittest.TestCase):
    """The shipped logparser example: a log line becomes a report."""

    def test_appended_line_becomes_report(self):
        here = os.path.dirname(os.path.abspath(__file__))
        example = os.path.join(here, "..", "..", "conf.d", "logparser-reports.conf")
        with open(example) as f:
            text = f.read()
        # Only the example's <Plugin ...> blocks: the harness loads plugins.
        blocks = text[text.index("<Plugin logparser>"):]
        blocks = blocks.replace("/var/log/solver/results.log", "@TMP@/results.log")
        logparser_part, rules = blocks.split("<Plugin anticaptcha>")
        rules = rules.replace("</Plugin>", "")
        with Sim() as sim:
            cd = Collectd(plugin_config(sim.http_url, rules),
                          plugins=("logparser",), extra_config=logparser_part,
                          files={**KEY_FILES, "results.log": ""})
            with cd:
                log = os.path.join(cd.dir, "results.log")
                time.sleep(1.5)  # logparser reads from the end (FirstFullRead false)
                with open(log, "a") as f:
                    f.write("2026-11-22T10:00:00Z solver result=REJECTED "
                            "kind=recaptcha task=5001\n")
                    f.write("2026-11-22T10:00:01Z solver result=ACCEPTED "
                            "kind=recaptcha task=5002\n")
                    f.write("2026-11-22T10:00:02Z solver result=PENDING "
                            "kind=recaptcha task=5003\n")
                cd.wait_for(lambda: len(reports(sim)) >= 2, 15, "two reports")
                time.sleep(1.5)
                self.assertEqual(sorted(reports(sim)),
                                 [("reportCorrectRecaptcha", 5002),
                                  ("reportIncorrectRecaptcha", 5001)])


class Network(unittest.TestCase):
    """An edge collectd without the plugin forwards notifications through the
    network plugin to a hub whose plugin sends the reports."""

    def test_edge_to_hub(self):
        port = free_port()
        hub_net = '<Plugin network>\n  Listen "127.0.0.1" "%d"\n</Plugin>' % port
        edge_net = ('<Plugin network>\n  Server "127.0.0.1" "%d"\n'
                    '  Forward true\n</Plugin>' % port)
        with Sim() as sim, \
                daemon(sim.http_url, plugins=("network",), extra_config=hub_net) as hub, \
                Collectd(plugins=("network",), extra_config=edge_net,
                         load_anticaptcha=False) as edge:
            now = time.time()
            edge.putnotif("failure", time=now, message="rejected",
                          plugin="anticaptcha", plugin_instance="main",
                          type="recaptcha", type_instance="6001")
            edge.putnotif("okay", time=now, message="ok", plugin="anticaptcha",
                          plugin_instance="main", type="recaptcha",
                          type_instance="6002")
            edge.putnotif("failure", time=now, message="img", plugin="anticaptcha",
                          plugin_instance="main", type="image",
                          type_instance="6003")
            hub.wait_for(lambda: len(reports(sim)) >= 3, 15, "three reports")
            time.sleep(1)
            self.assertEqual(sorted(reports(sim)),
                             [("reportCorrectRecaptcha", 6002),
                              ("reportIncorrectImageCaptcha", 6003),
                              ("reportIncorrectRecaptcha", 6001)])
            self.assertNotIn("anticaptcha", edge.log().split("plugin_load")[0])


class Exec(unittest.TestCase):
    """The shipped exec example: a program run by the exec plugin prints
    PUTNOTIF lines for the log lines of the user's automation."""

    def test_program_output_becomes_reports(self):
        here = os.path.dirname(os.path.abspath(__file__))
        script = os.path.join(here, "..", "..", "conf.d", "solver-reports.sh")
        # exec runs programs as an unprivileged user: give it a world-readable
        # directory of its own.
        shared = make_tmpdir("ac-exec-", mode=0o755)
        try:
            program = os.path.join(shared, "solver-reports")
            shutil.copy(script, program)
            os.chmod(program, 0o755)
            log = os.path.join(shared, "results.log")
            open(log, "w").close()
            os.chmod(log, 0o644)
            exec_conf = '<Plugin exec>\n  Exec "nobody" "%s" "%s"\n</Plugin>' % (
                program, log)
            with Sim() as sim, daemon(sim.http_url, plugins=("exec",),
                                      extra_config=exec_conf) as cd:
                time.sleep(1.5)  # the program follows the log from its end
                with open(log, "a") as f:
                    f.write("2026-11-22T10:00:00Z solver result=REJECTED "
                            "kind=recaptcha task=7001\n")
                    f.write("2026-11-22T10:00:01Z solver result=ACCEPTED "
                            "kind=recaptcha task=7002\n")
                    f.write("2026-11-22T10:00:02Z solver result=REJECTED "
                            "kind=image task=7003\n")
                    f.write("2026-11-22T10:00:03Z solver result=REJECTED "
                            "kind=image task=70x4\n")
                cd.wait_for(lambda: len(reports(sim)) >= 3, 15, "three reports")
                time.sleep(1)
                self.assertEqual(sorted(reports(sim)),
                                 [("reportCorrectRecaptcha", 7002),
                                  ("reportIncorrectImageCaptcha", 7003),
                                  ("reportIncorrectRecaptcha", 7001)])
        finally:
            remove_tmpdir(shared)


if __name__ == "__main__":
    runner.main()

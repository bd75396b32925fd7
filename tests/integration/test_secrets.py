"""The API key and the request bodies, with the real collectd.

* ClientKeyFile readable by group or others gets a warning (naming the
  account, the option and the file), a 0600 file none; the key itself is
  read and used either way.
* The key, from ClientKeyFile or inline ClientKey, never shows up in
  collectd's log, output, CSV files or the sim's request log, even when the
  API refuses it or requests fail. (Every test of this file, of
  test_faults.py and of test_bounds.py checks its own artefacts the same way
  with assert_no_key_in.)
* A notification crafted to inject JSON - in type_instance, in the task_id
  meta, in the meta or plugin_instance a <Report> rule reads - never changes
  a request: it is refused as invalid and counted; the requests that are
  sent are exactly {"clientKey": ..., "taskId": <integer>}, byte for byte.
"""

import os
import time
import unittest

from harness import (Collectd, KEY_FILE, KEY_FILES, Sim, TEST_KEY,
                     assert_no_key_in, make_tmpdir, plugin_config_test,
                     remove_tmpdir)
import runner

REPORTS = ("reportCorrectRecaptcha", "reportIncorrectRecaptcha",
           "reportIncorrectImageCaptcha")


class KeyFileMode(unittest.TestCase):

    def test_loose_key_file_warned_strict_not(self):
        tmp = make_tmpdir("ac-keymode-")
        try:
            with Sim() as sim:
                for mode, warned in ((0o600, False), (0o400, False),
                                     (0o640, True), (0o604, True), (0o644, True)):
                    with self.subTest(mode=oct(mode)):
                        path = os.path.join(tmp, "key-%o" % mode)
                        with open(path, "w") as f:
                            f.write(TEST_KEY + "\n")
                        os.chmod(path, mode)
                        code, out = plugin_config_test('''
  <Account "modes">
    ClientKeyFile "%s"
    URL "%s"
    Total true
    Balance false
  </Account>''' % (path, sim.http_url))
                        self.assertEqual(code, 0, out)
                        lines = [l for l in out.splitlines()
                                 if "may be read by group or others" in l]
                        if warned:
                            self.assertEqual(len(lines), 1, out)
                            self.assertIn('Account "modes"', lines[0])
                            self.assertIn('"ClientKeyFile"', lines[0])
                            self.assertIn(path, lines[0])
                            self.assertIn("0600", lines[0])
                            self.assertIn("[warning]", lines[0].lower())
                        else:
                            self.assertEqual(lines, [], out)
                        assert_no_key_in(out)
                # Loose or not, the key was read and sent.
                reqs = sim.requests("getSpendingStats")
                self.assertEqual(len(reqs), 5)
                self.assertTrue(all(r["key_ok"] for r in reqs))
                assert_no_key_in(sim.output())
        finally:
            remove_tmpdir(tmp)


class KeyNeverWritten(unittest.TestCase):

    def test_inline_key_refused_by_api_not_logged(self):
        # The sim knows another key: every call fails with errorId 1, every
        # report is refused, and the plugin logs about it.
        with Sim(keys=("another-key-0123456789",)) as sim, Collectd('''
  <Account "inline">
    ClientKey "%s"
    URL "%s"
    Queue "Recaptcha Proxyless"
    Interval 1
    Timeout 2
  </Account>''' % (TEST_KEY, sim.http_url)) as cd:
            cd.putnotif("failure", message="x", plugin="anticaptcha",
                        type="recaptcha", type_instance="424242")
            cd.wait_for(lambda: "ERROR_KEY_DOES_NOT_EXIST" in cd.log() and
                        "was refused" in cd.log(), 15, "the refusals logged")
            reqs = sim.requests()
            self.assertTrue(reqs)
            self.assertFalse(any(r["key_ok"] for r in reqs))
            cd.stop()
            # The config holds the key (ClientKey); nothing else may.
            assert_no_key_in(cd.dir, exclude=("collectd.conf",))
            assert_no_key_in(cd.log())
            assert_no_key_in(cd.output())
            assert_no_key_in(sim.output())
            assert_no_key_in(repr(sim.requests()))

    def test_key_file_transport_failures_not_logged(self):
        # Connection refused, then TLS failures: errors that quote URLs and
        # libcurl messages.
        with Sim(https=True) as sim:
            port = sim.port
        with Sim(https=True) as tls, Collectd('''
  <Account "refused">
    ClientKeyFile "@TMP@/%s"
    URL "http://127.0.0.1:%d"
    Interval 1
  </Account>
  <Account "untrusted">
    ClientKeyFile "@TMP@/%s"
    URL "%s"
    Interval 1
  </Account>''' % (KEY_FILE, port, KEY_FILE, tls.https_url),
                files=KEY_FILES) as cd:
            cd.putnotif("failure", message="x", plugin="anticaptcha",
                        plugin_instance="refused", type="image",
                        type_instance="515151")
            cd.wait_for(lambda: 'Account "untrusted"' in cd.log() and
                        'Account "refused"' in cd.log(), 15, "both failures")
            time.sleep(1)
            cd.stop()
            assert_no_key_in(cd.dir, exclude=(KEY_FILE,))
            assert_no_key_in(cd.log())
            assert_no_key_in(tls.output())


class Injection(unittest.TestCase):

    CRAFTED = [
        '1","taskId":2',
        '1,"clientKey":"evil"',
        '{"taskId":1}',
        '1}',
        '1 ',
        ' 1',
        '+1',
        '-1',
        '0x10',
        '1e3',
        '1.0',
        '\uff11\uff12\uff13',          # fullwidth digits
        '\u0661\u0662\u0663',          # Arabic-Indic digits
        '9223372036854775808',         # 2^63
        '18446744073709551617',        # 2^64 + 1
        '00000000000000000001',        # 20 characters
        '1\\u0000',
        '1\t',
        '0',
    ]

    def test_crafted_fields_never_change_a_request(self):
        rules = '''
  <Report "by-meta">
    Method "reportIncorrectImageCaptcha"
    Plugin "exec"
    Type "captcha_rejected"
    TaskId "meta:task"
  </Report>
  <Report "by-instance">
    Method "reportCorrectRecaptcha"
    Plugin "solver"
    TaskId "plugin_instance"
  </Report>'''
        with Sim() as sim, Collectd('''
  <Account "main">
    ClientKeyFile "@TMP@/%s"
    URL "%s"
    Balance false
    Interval 3600
  </Account>
%s''' % (KEY_FILE, sim.http_url, rules),
                files=KEY_FILES) as cd:
            now = time.time()
            n = 0
            for v in self.CRAFTED:
                cd.putnotif("failure", time=now, message="m", plugin="anticaptcha",
                            type="recaptcha", type_instance=v)
                cd.putnotif("failure", time=now, message="m", plugin="anticaptcha",
                            type="image", type_instance="77",
                            meta={"task_id": v})
                cd.putnotif("failure", time=now, message="m", plugin="exec",
                            type="captcha_rejected", meta={"task": v})
                n += 3
                if v.strip() and "\t" not in v:  # unixsock strips blanks
                    cd.putnotif("okay", time=now, message="m", plugin="solver",
                                plugin_instance=v, type="x")
                    n += 1
            # Then one valid request of each kind.
            cd.putnotif("failure", time=now, message="m", plugin="anticaptcha",
                        type="recaptcha", type_instance="9001")
            cd.putnotif("failure", time=now, message="m", plugin="exec",
                        type="captcha_rejected", meta={"task": "9002"})
            cd.putnotif("okay", time=now, message="m", plugin="solver",
                        plugin_instance="9003", type="x")
            cd.wait_for(lambda: len([r for r in sim.requests()
                                     if r["method"] in REPORTS]) >= 3,
                        10, "the three valid reports")
            time.sleep(1.5)
            reports = [r for r in sim.requests() if r["method"] in REPORTS]
            self.assertEqual(sorted((r["method"], r["raw"]) for r in reports), [
                ("reportCorrectRecaptcha",
                 '{"clientKey":"<redacted>","taskId":9003}'),
                ("reportIncorrectImageCaptcha",
                 '{"clientKey":"<redacted>","taskId":9002}'),
                ("reportIncorrectRecaptcha",
                 '{"clientKey":"<redacted>","taskId":9001}'),
            ])
            self.assertTrue(all(r["key_ok"] for r in reports))
            invalid = lambda: cd.csv("anticaptcha", "derive-notifications-invalid")
            cd.wait_for(lambda: invalid() and invalid()[-1][1][0] == n, 5,
                        "%d invalid notifications counted" % n)
            # Logged without flooding: far fewer lines than notifications.
            lines = [l for l in cd.log().splitlines()
                     if "ignoring a report request" in l]
            self.assertGreaterEqual(len(lines), 1)
            self.assertLess(len(lines), 10)
            self.assertTrue(cd.alive())
            cd.stop()
            assert_no_key_in(cd.dir, exclude=(KEY_FILE,))
            assert_no_key_in(sim.output())


if __name__ == "__main__":
    runner.main()

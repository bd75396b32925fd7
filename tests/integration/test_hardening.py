"""Where the key can go, and what comes back, with a real collectd (issue 17).

* A proxy in collectd's environment is never used for plain http:// (the
  key would cross it in clear); https goes through the Proxy option as a
  CONNECT tunnel, and Proxy "" ignores the environment's proxy.
* CACert restricts trust: libcurl's default CA directory (here a mount
  namespace puts the simulated API's CA into /etc/ssl/certs) no longer
  verifies beside a CACert holding the wrong CA; CAPath adds a directory.
* A FIFO as the key file: `collectd -T` refuses it at once, no hang.
* A core dump of collectd (SIGABRT after polls and 200 reports) holds the
  key only inside libcurl's own request buffers (an HTTP request's body),
  never in the plugin's: the key and the bodies live in MADV_DONTDUMP
  memory.
* A newline in errorDescription does not forge a log line; two records of
  1.7e308 dispatch nothing (no inf in csv); {"errorId":1,"errorId":0} is
  not a success.
"""

import glob
import os
import resource
import shutil
import socket
import subprocess
import threading
import time
import unittest

from harness import (Collectd, KEY_FILE, KEY_FILES, Sim, TEST_KEY,
                     account_block, assert_no_key_in, make_tmpdir,
                     plugin_config_test, remove_tmpdir)
import runner


def account(url, extra=""):
    return account_block(url, interval=1, extra="    Timeout 3\n" + extra)


class FakeProxy:
    """Accepts connections on loopback and keeps what each sends first;
    answers 502 so the client gives up."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.received = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    data = conn.recv(65536)
                    self.received.append(data)
                    conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\n"
                                 b"Content-Length: 0\r\n\r\n")
                except OSError:
                    pass

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def proxy_env(url):
    return {v: url for v in ("http_proxy", "HTTP_PROXY", "https_proxy",
                             "HTTPS_PROXY", "all_proxy", "ALL_PROXY")}


def polls(sim):
    return sim.stats()["by_method"].get("getSpendingStats", 0)


class Proxies(unittest.TestCase):

    def test_plain_http_never_uses_the_environments_proxy(self):
        with Sim(quiet=True) as sim, FakeProxy() as proxy, Collectd(
                account(sim.http_url), files=KEY_FILES,
                env=proxy_env(proxy.url)) as cd:
            cd.wait_for(lambda: polls(sim) >= 2, 10, "polls reaching the sim")
            self.assertEqual(proxy.received, [])
            assert_no_key_in(cd.log())

    def test_https_through_the_proxy_option_is_a_tunnel(self):
        with Sim(https=True, quiet=True) as sim, FakeProxy() as proxy, Collectd(
                account(sim.https_url, 'CACert "%s"\n    Proxy "%s"'
                        % (sim.ca_file, proxy.url)),
                files=KEY_FILES) as cd:
            cd.wait_for(lambda: len(proxy.received) >= 1, 10, "the proxy used")
            first = proxy.received[0]
            self.assertTrue(first.startswith(b"CONNECT 127.0.0.1:"), first)
            self.assertNotIn(TEST_KEY.encode(), b"".join(proxy.received))
            assert_no_key_in(cd.log())

    def test_empty_proxy_option_ignores_the_environment(self):
        with Sim(https=True, quiet=True) as sim, FakeProxy() as proxy, Collectd(
                account(sim.https_url, 'CACert "%s"\n    Proxy ""'
                        % sim.ca_file),
                files=KEY_FILES,
                env=proxy_env(proxy.url)) as cd:
            cd.wait_for(lambda: polls(sim) >= 2, 10, "polls reaching the sim")
            self.assertEqual(proxy.received, [])


WRAP = """#!/bin/sh
# Runs collectd with $AC_CERT_DIR mounted over /etc/ssl/certs, in a mount
# namespace of its own (unshare -m): libcurl's default CA directory then
# trusts the simulated API's CA, as a host whose system store trusts it.
mount --bind "$AC_CERT_DIR" /etc/ssl/certs || exit 97
exec "$@"
"""


class Trust(unittest.TestCase):

    def setUp(self):
        if shutil.which("unshare") is None:
            self.fail("unshare (util-linux) is needed")
        self.tmp = make_tmpdir("ac-trust-")
        self.wrapper = os.path.join(self.tmp, "wrap.sh")
        with open(self.wrapper, "w") as f:
            f.write(WRAP)
        os.chmod(self.wrapper, 0o755)
        self.old_wrapper = os.environ.get("COLLECTD_WRAPPER")

    def tearDown(self):
        if self.old_wrapper is None:
            os.environ.pop("COLLECTD_WRAPPER", None)
        else:
            os.environ["COLLECTD_WRAPPER"] = self.old_wrapper
        remove_tmpdir(self.tmp)

    def cert_dir(self, sim, name):
        """A directory holding the sim's CA, hashed as OpenSSL looks it up."""
        d = os.path.join(self.tmp, name)
        os.makedirs(d)
        shutil.copy(sim.ca_file, os.path.join(d, "sim-ca.pem"))
        subprocess.run(["openssl", "rehash", d], check=True)
        # libcurl's default bundle lives there too.
        shutil.copy(sim.ca_file, os.path.join(d, "ca-certificates.crt"))
        return d

    def run_with_system_ca(self, sim, extra):
        system = self.cert_dir(sim, "system-certs")
        os.environ["COLLECTD_WRAPPER"] = ("unshare -m --propagation private %s %s"
                                          % (self.wrapper,
                                             self.old_wrapper or "")).strip()
        return Collectd(account(sim.https_url, extra),
                        files=KEY_FILES,
                        env={"AC_CERT_DIR": system})

    def test_system_store_alone_verifies(self):
        # The set-up works: without CACert the system store is used.
        with Sim(https=True, quiet=True) as sim:
            with self.run_with_system_ca(sim, "") as cd:
                cd.wait_for(lambda: polls(sim) >= 1, 10, "a verified poll")

    def test_cacert_with_the_wrong_ca_is_not_rescued_by_the_system_store(self):
        with Sim(https=True, quiet=True) as sim:
            with self.run_with_system_ca(
                    sim, 'CACert "%s"' % sim.cert_file("other-ca.pem")) as cd:
                cd.wait_for(lambda: "getSpendingStats failed" in cd.log(), 10,
                            "the poll failing")
                time.sleep(1.5)
                self.assertEqual(polls(sim), 0)
                self.assertRegex(cd.log(), r"(?i)certificate|SSL")

    def test_capath_adds_a_directory(self):
        with Sim(https=True, quiet=True) as sim:
            own = self.cert_dir(sim, "own")
            with Collectd(account(sim.https_url,
                                  'CACert "%s"\n    CAPath "%s"'
                                  % (sim.cert_file("other-ca.pem"), own)),
                          files=KEY_FILES) as cd:
                cd.wait_for(lambda: polls(sim) >= 1, 10, "a verified poll")


class KeyFile(unittest.TestCase):

    def test_fifo_refused_at_once(self):
        tmp = make_tmpdir("ac-fifo-")
        try:
            fifo = os.path.join(tmp, "key.fifo")
            os.mkfifo(fifo, 0o600)
            started = time.monotonic()
            code, out = plugin_config_test(
                account("https://api.anti-captcha.com").replace(
                    '"@TMP@/%s"' % KEY_FILE, '"%s"' % fifo), timeout=15)
            seconds = time.monotonic() - started
        finally:
            remove_tmpdir(tmp)
        self.assertNotEqual(code, 0, out)
        self.assertIn("not a regular file", out)
        self.assertLess(seconds, 10)


HTTP_BODY = b'\r\n\r\n{"clientKey":"'
FREED_BODY = b'Key":"'


class CoreDump(unittest.TestCase):

    def test_key_only_in_libcurls_request_buffers(self):
        if os.environ.get("COLLECTD_WRAPPER"):
            # ASan and valgrind write no core of the daemon (and their own
            # allocators would be what is measured): the production build
            # is what this test is about.
            print("\nnot run under COLLECTD_WRAPPER (no core dumps there)")
            return
        with open("/proc/sys/kernel/core_pattern") as f:
            pattern = f.read().strip()
        self.assertFalse(pattern.startswith("|"),
                         "core_pattern pipes cores away (%s)" % pattern)
        old = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE,
                           (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        try:
            with Sim(quiet=True) as sim:
                conf = account(sim.http_url).replace("Balance false",
                                                     "Balance true")
                conf += ('\n  <Report "r">\n    Type "recaptcha"\n    Method '
                         '"reportIncorrectRecaptcha"\n  </Report>')
                cd = Collectd(conf, files=KEY_FILES,
                              expect_exit=None)
                with cd:
                    for i in range(200):
                        cd.putnotif("failure", plugin="anticaptcha",
                                    type="recaptcha", type_instance=str(5000 + i),
                                    message="x")
                    cd.wait_for(lambda: polls(sim) >= 2, 10, "polls")
                    cd.proc.send_signal(6)  # SIGABRT: a core
                    cd.proc.wait(30)
                    cores = glob.glob(os.path.join(cd.dir, "core*"))
                    self.assertTrue(cores, "no core written in %s" % cd.dir)
                    with open(cores[0], "rb") as f:
                        data = f.read()
                    os.remove(cores[0])
        finally:
            resource.setrlimit(resource.RLIMIT_CORE, old)
        key = TEST_KEY.encode()
        found, stray = 0, []
        i = data.find(key)
        while i >= 0:
            found += 1
            # A request body libcurl copied: whole after the headers, or in a
            # buffer libcurl freed, whose first 16 bytes malloc reused for
            # its free list (so only 'Key":"' of '{"clientKey":"' is left).
            # The plugin's own bodies are never in a core (MADV_DONTDUMP,
            # tests/test_secret.c); a bare copy of the key would be stray.
            in_body = (data[i - len(HTTP_BODY):i] == HTTP_BODY or
                       (data[i - len(FREED_BODY):i] == FREED_BODY and
                        data[i + len(key):i + len(key) + 2] in (b'",', b'"}')))
            if not in_body:
                stray.append(data[max(0, i - 64):i + len(key) + 16])
            i = data.find(key, i + 1)
        print("\ncore dump: the key %d time(s), all in libcurl's HTTP request "
              "buffers" % found if not stray else "")
        self.assertEqual(stray, [])


class Answers(unittest.TestCase):

    def test_newline_in_error_description_does_not_forge_a_line(self):
        with Sim(quiet=True) as sim:
            sim.faults([{"method": "getSpendingStats", "action": "error",
                         "errorId": 2, "errorCode": "ERROR_X",
                         "errorDescription":
                             "bad\n[2026-11-30 00:00:00] [error] forged"}])
            with Collectd(account(sim.http_url),
                          files=KEY_FILES) as cd:
                cd.wait_for(lambda: "ERROR_X" in cd.log(), 10, "the error logged")
                log = cd.log()
        self.assertIn("bad\\x0a[2026-11-30 00:00:00] [error] forged", log)
        self.assertNotIn("\n[2026-11-30 00:00:00] [error] forged", log)

    def test_huge_amounts_dispatch_nothing(self):
        body = ('{"errorId":0,"data":[{"dateFrom":0,"dateTill":3599,'
                '"volume":1,"money":1.7e308},{"dateFrom":3600,"dateTill":7199,'
                '"volume":1,"money":1.7e308}]}')
        with Sim(quiet=True) as sim:
            sim.faults([{"method": "getSpendingStats", "action": "body",
                         "body": body}])
            with Collectd(account(sim.http_url),
                          files=KEY_FILES) as cd:
                cd.wait_for(lambda: polls(sim) >= 2, 10, "two polls")
                time.sleep(1.2)
                log = cd.log()
                money = cd.csv("anticaptcha-main", "gauge-all-money_24h")
        self.assertEqual(money, [])
        self.assertIn("out of range", log)
        self.assertEqual(log.count("out of range"), 1)

    def test_duplicate_error_id_is_not_success(self):
        with Sim(quiet=True) as sim:
            sim.faults([{"method": "getSpendingStats", "action": "body",
                         "body": '{"errorId":1,"errorId":0,"data":[]}'}])
            with Collectd(account(sim.http_url),
                          files=KEY_FILES) as cd:
                cd.wait_for(lambda: polls(sim) >= 2, 10, "two polls")
                time.sleep(1.2)
                log = cd.log()
                volume = cd.csv("anticaptcha-main", "count-all-volume_24h")
        self.assertEqual(volume, [])
        self.assertIn("repeats the key errorId", log)


if __name__ == "__main__":
    runner.main()

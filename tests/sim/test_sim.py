#!/usr/bin/env python3
"""Tests of the simulated Anti-Captcha API (tests/sim/anticaptcha_sim.py),
driven through the integration harness's Sim class.

Run: python3 tests/sim/test_sim.py [-v]   (exit status non-zero on failure)
"""

import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

import harness  # noqa: E402
from harness import (HarnessError, Sim, TEST_KEY, assert_no_key_in,  # noqa: E402
                     wait_until)

SIM_SCRIPT = os.path.join(HERE, "anticaptcha_sim.py")
SECOND_KEY = "sim-key-second-0b1c2d3e4f5a6b7c"
KNOWN_QUEUES = ("Recaptcha Proxyless", "English ImageToText", "Recaptcha V3",
                "ImageToText")


def raw_request(method, body, keep_alive=True, extra_headers=""):
    data = json.dumps(body).encode() if not isinstance(body, bytes) else body
    return (("POST /%s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             "Content-Type: application/json\r\nContent-Length: %d\r\n%s%s\r\n")
            % (method, len(data), "" if keep_alive else "Connection: close\r\n",
               extra_headers)).encode() + data


def read_response(sock, timeout=5):
    """Read one Content-Length framed response from a blocking socket."""
    sock.settimeout(timeout)
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = sock.recv(65536)
        if not d:
            raise ConnectionError("closed before the headers")
        buf += d
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(rest) < length:
        d = sock.recv(65536)
        if not d:
            raise ConnectionError("closed in the body")
        rest += d
    return head.decode(), rest[:length]


class SimTestCase(harness.SimTestCase):
    """One sim (HTTP + HTTPS, two keys) for the whole class."""

    SIM_ARGS = {"https": True, "keys": (TEST_KEY, SECOND_KEY)}

    def setUp(self):
        super().setUp()
        # The records stand still during a test: an hour ending between an
        # answer and expected() would move them by an hour (a test that
        # wants the running clock sets "now" back to None).
        self.sim.state({"now": time.time()})

    def call(self, method, **fields):
        body = dict(fields)
        body.setdefault("clientKey", TEST_KEY)
        if body["clientKey"] is None:
            del body["clientKey"]
        return self.sim.api(method, body)


class TestSpendingStats(SimTestCase):
    def test_24_hourly_records(self):
        now = time.time()
        status, ans = self.call("getSpendingStats", queue="Recaptcha Proxyless")
        self.assertEqual(status, 200)
        self.assertEqual(ans["errorId"], 0)
        data = ans["data"]
        self.assertEqual(len(data), 24)
        for i, r in enumerate(data):
            self.assertEqual(r["dateFrom"] % 3600, 0)
            self.assertEqual(r["dateTill"], r["dateFrom"] + 3599)
            if i:
                self.assertEqual(r["dateFrom"], data[i - 1]["dateFrom"] + 3600)
            self.assertIsInstance(r["volume"], int)
            self.assertTrue(100 <= r["volume"] <= 5000)
            self.assertIsInstance(r["money"], float)
            self.assertEqual(round(r["money"], 6), r["money"])
        self.assertLess(data[-1]["dateTill"], now)
        self.assertGreater(data[-1]["dateTill"], now - 3600)

    def test_money_has_6_decimals_on_the_wire(self):
        self.call("getSpendingStats", queue="ImageToText")
        raw = self.sim.requests()[0]
        self.assertEqual(raw["status"], 200)
        conn = self.sim.connection()
        conn.request("POST", "/getSpendingStats",
                     json.dumps({"clientKey": TEST_KEY}))
        text = conn.getresponse().read().decode()
        conn.close()
        moneys = re.findall(r'"money":([0-9.]+)', text)
        self.assertEqual(len(moneys), 24)
        for m in moneys:
            self.assertRegex(m, r"^\d+\.\d{6}$")

    def test_deterministic_and_distinct_per_queue(self):
        a = self.call("getSpendingStats", queue="Recaptcha V3")[1]["data"]
        b = self.call("getSpendingStats", queue="Recaptcha V3")[1]["data"]
        c = self.call("getSpendingStats", queue="ImageToText")[1]["data"]
        self.assertEqual(a, b)
        self.assertNotEqual([r["volume"] for r in a], [r["volume"] for r in c])
        self.assertEqual(self.sim.expected("Recaptcha V3"), a)

    def test_date_field(self):
        # The 24 hours from date's hour on (API.md), oldest first.
        date = int(time.time()) - 5 * 86400 + 1234
        data = self.call("getSpendingStats", date=date)[1]["data"]
        self.assertEqual(len(data), 24)
        self.assertEqual(data[0]["dateFrom"], date - date % 3600)
        self.assertEqual(data[-1]["dateTill"], date - date % 3600 + 24 * 3600 - 1)
        self.assertEqual(self.sim.expected(date=date), data)
        # The same hours as the plain answer gave for them back then.
        with Sim(now=date - date % 3600 + 24 * 3600, quiet=True) as then:
            self.assertEqual(then.expected(), data)
        # Hours not finished yet are not served.
        recent = int(time.time()) - 3 * 3600
        data = self.call("getSpendingStats", date=recent)[1]["data"]
        self.assertEqual(len(data), 3)
        self.assertLess(data[-1]["dateTill"], time.time())

    def test_fixed_clock(self):
        t = 1700000000 + 1800
        self.sim.state({"now": t})
        data = self.call("getSpendingStats")[1]["data"]
        self.assertEqual(data[-1]["dateTill"], t - t % 3600 - 1)
        self.assertEqual(self.sim.expected(), data)
        # A date after the sim's "now" has no finished hours yet.
        self.assertEqual(self.call("getSpendingStats", date=t + 86400)[1]["data"], [])
        # Moving the clock ahead 3 days: the missed hours come with date.
        self.sim.state({"now": t + 3 * 86400})
        page = self.call("getSpendingStats", date=t)[1]["data"]
        self.assertEqual(page[0]["dateFrom"], t - t % 3600)
        self.assertEqual(len(page), 24)
        self.sim.state({"now": None})
        # A running clock moved ahead by an offset.
        self.sim.state({"offset": 3 * 86400})
        ahead = self.call("getSpendingStats")[1]["data"][-1]["dateTill"]
        self.assertGreater(ahead, time.time() + 3 * 86400 - 3600)
        self.assertEqual(self.sim.expected()[-1]["dateTill"], ahead)
        self.sim.state({"offset": 0})
        self.assertGreater(self.call("getSpendingStats")[1]["data"][-1]["dateTill"],
                           time.time() - 3600)
        with Sim(now=t, quiet=True) as sim:
            self.assertEqual(sim.expected(), data)
            sim.reset()
            self.assertEqual(sim.expected(), data)

    def test_idle_hours_have_no_record(self):
        t = 1700000000 - 1700000000 % 3600
        self.sim.state({"now": t})
        full = self.call("getSpendingStats", date=t - 2 * 86400)[1]["data"]
        self.sim.state({"idle": [[t - 2 * 86400, t - 86400],
                                 [t - 3 * 3600, t - 3600]]})
        self.assertEqual(self.call("getSpendingStats", date=t - 2 * 86400)[1],
                         {"errorId": 0, "data": []})
        self.assertEqual(self.sim.expected(date=t - 2 * 86400), [])
        plain = self.call("getSpendingStats", queue="ImageToText")[1]["data"]
        self.assertEqual([r["dateFrom"] for r in plain],
                         list(range(t - 86400, t - 3 * 3600, 3600)) + [t - 3600])
        self.assertEqual(self.sim.expected("ImageToText"), plain)
        self.sim.state({"idle": []})
        self.assertEqual(self.call("getSpendingStats", date=t - 2 * 86400)[1]["data"],
                         full)
        self.assertEqual(len(full), 24)
        for bad in ([[t]], [[t, "x"]], {"a": 1}, [[t, 1.5]]):
            with self.assertRaises(HarnessError):
                self.sim.state({"idle": bad})

    def test_total_is_sum_of_known_queues(self):
        total = self.call("getSpendingStats")[1]["data"]
        self.assertEqual(self.call("getSpendingStats", queue="")[1]["data"], total)
        per_queue = [self.call("getSpendingStats", queue=q)[1]["data"]
                     for q in KNOWN_QUEUES]
        for i, rec in enumerate(total):
            self.assertEqual(rec["volume"], sum(d[i]["volume"] for d in per_queue))
            self.assertEqual(rec["money"],
                             round(sum(d[i]["money"] for d in per_queue), 6))
        self.assertEqual(self.sim.expected(), total)

    def test_unknown_queue_is_deterministic(self):
        a = self.call("getSpendingStats", queue="Some Other Queue")[1]
        b = self.call("getSpendingStats", queue="Some Other Queue")[1]
        self.assertEqual(a["errorId"], 0)
        self.assertEqual(a, b)
        self.assertEqual(len(a["data"]), 24)

    def test_field_types_validated(self):
        for fields in ({"queue": 5}, {"date": "1700000000"}, {"date": 1.5},
                       {"softId": "7"}, {"softId": True}, {"ip": 1},
                       {"queue": None}):
            status, ans = self.call("getSpendingStats", **fields)
            self.assertEqual(status, 200, fields)
            self.assertEqual(ans["errorId"], 2, fields)
            self.assertEqual(ans["errorCode"], "ERROR_BAD_REQUEST")
        ok = self.call("getSpendingStats", softId=123, ip="192.0.2.7",
                       date=int(time.time()))[1]
        self.assertEqual(ok["errorId"], 0)

    def test_state_records_shuffle_strings(self):
        self.sim.state({"records": 5})
        data = self.call("getSpendingStats")[1]["data"]
        self.assertEqual(len(data), 5)
        self.assertEqual(self.sim.expected(), data)
        self.sim.state({"records": 0})
        self.assertEqual(self.call("getSpendingStats")[1], {"errorId": 0, "data": []})
        self.sim.state({"records": 24, "shuffle": True})
        shuffled = [self.call("getSpendingStats")[1]["data"] for _ in range(3)]
        expected = self.sim.expected()
        for s in shuffled:
            self.assertEqual(sorted(s, key=lambda r: r["dateFrom"]), expected)
        self.assertTrue(any(s != expected for s in shuffled))
        self.sim.state({"shuffle": False, "numbers_as_strings": True})
        data = self.call("getSpendingStats")[1]["data"]
        for r, e in zip(data, expected):
            self.assertEqual(r["dateFrom"], str(e["dateFrom"]))
            self.assertEqual(r["volume"], str(e["volume"]))
            self.assertEqual(float(r["money"]), e["money"])
        self.sim.reset()
        self.assertEqual(self.call("getSpendingStats")[1]["data"], expected)


class TestErrorsAndReports(SimTestCase):
    def test_wrong_or_missing_key(self):
        for method in ("getSpendingStats", "getBalance", "reportCorrectRecaptcha"):
            for key in ("nope-not-a-key", None, 12345):
                status, ans = self.call(method, clientKey=key, taskId=7)
                self.assertEqual((status, ans["errorId"], ans["errorCode"]),
                                 (200, 1, "ERROR_KEY_DOES_NOT_EXIST"))
        self.assertTrue(all(not r["key_ok"] for r in self.sim.requests()))
        self.assertNotIn("nope-not-a-key", json.dumps(self.sim.requests()))

    def test_unknown_method(self):
        status, ans = self.call("getTaskResult")
        self.assertEqual((status, ans["errorId"], ans["errorCode"]),
                         (200, 14, "ERROR_NO_SUCH_METHOD"))

    def test_body_not_a_json_object(self):
        for raw in (b"", b"[1,2]", b"42", b'{"clientKey":', b"\xff\xfe",
                    b"clientKey=" + TEST_KEY.encode()):
            status, ans = self.sim.api("getBalance", raw=raw)
            self.assertEqual(status, 400, raw)
            self.assertEqual(ans["errorId"], 2)
        log = self.sim.requests()
        self.assertEqual(len(log), 6)
        self.assertTrue(all(r["body"] is None for r in log))
        assert_no_key_in(json.dumps(log))

    def test_get_balance(self):
        self.assertEqual(self.call("getBalance"),
                         (200, {"errorId": 0, "balance": 12.345678,
                                "captchaCredits": 0}))
        self.sim.state({"balance": 0.5, "captcha_credits": None})
        self.assertEqual(self.call("getBalance")[1], {"errorId": 0, "balance": 0.5})
        self.sim.state({"numbers_as_strings": True})
        self.assertEqual(self.call("getBalance")[1]["balance"], "0.5")

    def test_report_success_and_dedupe(self):
        for i, method in enumerate(("reportCorrectRecaptcha",
                                    "reportIncorrectRecaptcha",
                                    "reportIncorrectImageCaptcha")):
            tid = 1000 + i
            self.assertEqual(self.call(method, taskId=tid),
                             (200, {"errorId": 0, "status": "success"}))
            # Already reported, by any of the three methods: error 16.
            for again in ("reportCorrectRecaptcha", "reportIncorrectImageCaptcha"):
                status, ans = self.call(again, taskId=tid)
                self.assertEqual((ans["errorId"], ans["errorCode"]),
                                 (16, "ERROR_NO_SUCH_CAPCHA_ID"))
            # Per key: the second account may still report it.
            self.assertEqual(self.call(method, taskId=tid, clientKey=SECOND_KEY)[1],
                             {"errorId": 0, "status": "success"})
        self.sim.reset()
        self.assertEqual(self.call("reportCorrectRecaptcha", taskId=1000)[1]["errorId"], 0)

    def test_task_id_must_be_positive_integer(self):
        for tid in ("42", 42.0, True, 0, -5, None, [42], {"id": 42}):
            status, ans = self.call("reportIncorrectRecaptcha", taskId=tid)
            self.assertEqual((status, ans["errorId"]), (200, 2), repr(tid))
        status, ans = self.call("reportIncorrectRecaptcha")
        self.assertEqual(ans["errorId"], 2)
        # None of those counted as a report of 42.
        self.assertEqual(self.call("reportIncorrectRecaptcha", taskId=42)[1]["errorId"], 0)
        # Integers written with an exponent are floats in JSON: rejected.
        status, ans = self.sim.api("reportIncorrectRecaptcha",
                                   raw=b'{"clientKey":"%s","taskId":4.2e1}'
                                   % TEST_KEY.encode())
        self.assertEqual(ans["errorId"], 2)


class TestRequestLog(SimTestCase):
    def test_log_entries_and_redaction(self):
        conn = self.sim.connection()
        self.sim.api("getSpendingStats", {"clientKey": TEST_KEY, "queue": "ImageToText"},
                     conn=conn)
        self.sim.api("reportCorrectRecaptcha", {"clientKey": TEST_KEY, "taskId": 9},
                     conn=conn)
        self.sim.api("getBalance", {"clientKey": "wrong-but-long-key"}, conn=conn)
        conn.close()
        self.sim.api("getBalance", {"clientKey": TEST_KEY}, tls=True)
        log = self.sim.requests()
        self.assertEqual([r["seq"] for r in log], [1, 2, 3, 4])
        self.assertEqual([r["method"] for r in log],
                         ["getSpendingStats", "reportCorrectRecaptcha", "getBalance",
                          "getBalance"])
        self.assertEqual([r["key_ok"] for r in log], [True, True, False, True])
        self.assertEqual([r["tls"] for r in log], [False, False, False, True])
        self.assertEqual(len({r["connection"] for r in log[:3]}), 1)
        self.assertNotEqual(log[3]["connection"], log[0]["connection"])
        self.assertEqual(log[0]["body"], {"clientKey": "<redacted>",
                                          "queue": "ImageToText"})
        self.assertEqual(json.loads(log[1]["raw"]),
                         {"clientKey": "<redacted>", "taskId": 9})
        self.assertEqual(log[1]["answer"], {"errorId": 0, "status": "success"})
        self.assertEqual(log[0]["status"], 200)
        self.assertEqual(len(log[0]["answer"]["data"]), 24)
        self.assertTrue(all(isinstance(r["time"], float) for r in log))
        dump = json.dumps(log)
        assert_no_key_in(dump)
        self.assertNotIn("wrong-but-long-key", dump)
        self.assertEqual(self.sim.requests("getBalance"), log[2:])
        # Control requests are not logged.
        self.sim.stats()
        self.assertEqual(len(self.sim.requests()), 4)
        assert_no_key_in(self.sim.output())

    def test_redaction_of_odd_bodies(self):
        k = TEST_KEY.encode()
        for raw in (b'{"clientKey" : "' + k + b'", "x": 1}',
                    b'{"clientKey":"' + k,                      # truncated
                    b'{"a":["' + k + b'"],"clientKey":"' + k + b'"}',
                    b'{"clientKey":"\\u0073im-key-7f3a9c1e5b2d4a6f8e0c"}'):
            self.sim.api("getBalance", raw=raw)
        dump = json.dumps(self.sim.requests())
        assert_no_key_in(dump)
        self.assertEqual([r["key_ok"] for r in self.sim.requests()],
                         [True, False, True, True])

    def test_stats_and_keep_alive_connection_count(self):
        conn = self.sim.connection()
        for _ in range(5):
            self.sim.api("getBalance", {"clientKey": TEST_KEY}, conn=conn)
        conn.close()
        st = self.sim.stats()
        self.assertEqual(st["connections"], 1)
        self.assertEqual(st["requests"], 5)
        self.assertEqual(st["by_method"], {"getBalance": 5})
        for _ in range(3):
            self.call("getBalance")
        tconn = self.sim.connection(tls=True)
        for _ in range(3):
            self.sim.api("getBalance", {"clientKey": TEST_KEY}, conn=tconn)
        tconn.close()
        st = self.sim.stats()
        # 1 + 3 plain connections + 1 TLS; control connections not counted.
        self.assertEqual((st["connections"], st["tls_connections"], st["requests"]),
                         (5, 1, 11))

    def test_concurrent_connections(self):
        n = 300
        socks = [socket.create_connection(("127.0.0.1", self.sim.port))
                 for _ in range(n)]
        try:
            req = raw_request("getBalance", {"clientKey": TEST_KEY})
            for s in socks:
                s.sendall(req)
            for s in socks:
                head, body = read_response(s)
                self.assertTrue(head.startswith("HTTP/1.1 200"))
                self.assertEqual(json.loads(body)["errorId"], 0)
            self.assertEqual(self.sim.stats()["connections"], n)
        finally:
            for s in socks:
                s.close()

    def test_throughput_keep_alive(self):
        """Smoke measure (no strict floor: shared CI machines vary)."""
        conns, per_conn = 4, 500
        socks = [socket.create_connection(("127.0.0.1", self.sim.port))
                 for _ in range(conns)]
        for s in socks:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        req = raw_request("getBalance", {"clientKey": TEST_KEY})
        t0 = time.monotonic()
        for _ in range(per_conn):
            for s in socks:
                s.sendall(req)
            for s in socks:
                read_response(s)
        rate = conns * per_conn / (time.monotonic() - t0)
        for s in socks:
            s.close()
        sys.stderr.write("[sim throughput: %.0f requests/s, %d keep-alive "
                         "connections] " % (rate, conns))
        self.assertGreater(rate, 300)
        self.assertEqual(self.sim.stats()["connections"], conns)


class TestHttpDetails(SimTestCase):
    def test_expect_100_continue_and_chunked_request(self):
        s = socket.create_connection(("127.0.0.1", self.sim.port))
        try:
            body = json.dumps({"clientKey": TEST_KEY}).encode()
            s.sendall(("POST /getBalance HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                       "Expect: 100-continue\r\n\r\n" % len(body)).encode())
            s.settimeout(5)
            first = s.recv(100)
            self.assertTrue(first.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"))
            s.sendall(body)
            head, data = read_response(s)
            self.assertEqual(json.loads(data)["errorId"], 0)
            s.sendall(b"POST /getBalance HTTP/1.1\r\nHost: x\r\n"
                      b"Transfer-Encoding: chunked\r\n\r\n"
                      b"5\r\n" + body[:5] + b"\r\n%x\r\n" % (len(body) - 5)
                      + body[5:] + b"\r\n0\r\n\r\n")
            head, data = read_response(s)
            self.assertEqual(json.loads(data)["errorId"], 0)
        finally:
            s.close()

    def test_connection_close_and_http10(self):
        for req in (raw_request("getBalance", {"clientKey": TEST_KEY}, keep_alive=False),
                    raw_request("getBalance", {"clientKey": TEST_KEY})
                    .replace(b"HTTP/1.1", b"HTTP/1.0", 1)):
            s = socket.create_connection(("127.0.0.1", self.sim.port))
            s.sendall(req)
            head, body = read_response(s)
            self.assertIn("Connection: close", head)
            self.assertEqual(s.recv(10), b"")   # server closed it
            s.close()

    def test_get_is_405_and_headers(self):
        conn = self.sim.connection()
        conn.request("GET", "/getBalance")
        resp = conn.getresponse()
        self.assertEqual(resp.status, 405)
        self.assertEqual(json.loads(resp.read())["errorId"], 2)
        conn.request("POST", "/getBalance", json.dumps({"clientKey": TEST_KEY}))
        resp = conn.getresponse()
        self.assertEqual(resp.getheader("Content-Type"), "application/json")
        self.assertEqual(int(resp.getheader("Content-Length")), len(resp.read()))
        conn.close()

    def test_broken_clients_do_not_hurt(self):
        garbage = [b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40
                   + b"\r\n\r\n",
                   b"NONSENSE\r\n\r\n",
                   b"POST /getBalance HTTP/1.1\r\nContent-Length: 999\r\n\r\n{",
                   b"POST /getBalance HTTP/1.1\r\nContent-Length: -4\r\n\r\n",
                   b"POST /x HTTP/1.1\r\nBadHeader\r\n\r\n",
                   b"POST /getBalance HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n"]
        for g in garbage:
            s = socket.create_connection(("127.0.0.1", self.sim.port))
            s.sendall(g)
            s.close()
        s = socket.create_connection(("127.0.0.1", self.sim.https_port))
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")    # plain text on the TLS port
        s.close()
        time.sleep(0.2)
        self.assertEqual(self.call("getBalance")[1]["errorId"], 0)


class TestFaults(SimTestCase):
    def test_error_times_and_queue_match(self):
        self.sim.faults([
            {"method": "getSpendingStats", "queue": "", "times": 2, "action": "error",
             "errorId": 21, "errorCode": "ERROR_IP_BLOCKED",
             "errorDescription": "blocked"},
            {"method": "getSpendingStats", "queue": "Recaptcha V3", "action": "error",
             "errorId": 10, "errorCode": "ERROR_ZERO_BALANCE"},
        ])
        for _ in range(2):
            self.assertEqual(self.call("getSpendingStats"),
                             (200, {"errorId": 21, "errorCode": "ERROR_IP_BLOCKED",
                                    "errorDescription": "blocked"}))
        self.assertEqual(self.call("getSpendingStats")[1]["errorId"], 0)  # consumed
        self.assertEqual(self.call("getSpendingStats", queue="ImageToText")[1]["errorId"], 0)
        for _ in range(3):  # no times: forever
            self.assertEqual(self.call("getSpendingStats", queue="Recaptcha V3")[1]
                             ["errorCode"], "ERROR_ZERO_BALANCE")
        self.assertEqual(self.call("getBalance")[1]["errorId"], 0)
        log = self.sim.requests()
        self.assertEqual([r["fault"] for r in log[:3]], ["error", "error", None])

    def test_first_rule_wins_and_star(self):
        self.sim.faults([{"method": "*", "times": 1, "action": "http", "status": 503,
                          "body": "<html>busy</html>", "content_type": "text/html"},
                         {"method": "getBalance", "action": "error", "errorId": 55,
                          "errorCode": "ERROR_ACCOUNT_SUSPENDED"}])
        self.assertEqual(self.call("reportCorrectRecaptcha", taskId=5),
                         (503, "<html>busy</html>"))
        self.assertEqual(self.call("getBalance")[1]["errorId"], 55)
        self.assertEqual(self.call("reportCorrectRecaptcha", taskId=5)[1]["errorId"], 0)
        self.assertEqual(self.sim.requests()[0]["status"], 503)
        self.sim.clear_faults()
        self.assertEqual(self.call("getBalance")[1]["errorId"], 0)

    def test_delay_and_latency(self):
        self.sim.faults([{"method": "getBalance", "times": 1, "action": "delay",
                          "seconds": 0.4}])
        t0 = time.monotonic()
        self.assertEqual(self.call("getBalance")[1]["errorId"], 0)
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)
        self.sim.state({"latency": 0.25})
        t0 = time.monotonic()
        self.call("reportCorrectRecaptcha", taskId=3)
        self.assertGreaterEqual(time.monotonic() - t0, 0.25)
        self.sim.reset()
        t0 = time.monotonic()
        self.call("getBalance")
        self.assertLess(time.monotonic() - t0, 0.2)

    def test_body(self):
        for text in ('{"errorId":0,"data":[{"dateFrom":1', "<html>oops</html>",
                     '{"errorId":0,"data":[{"dateFrom":"x","dateTill":null,'
                     '"volume":-1,"money":true}]}'):
            self.sim.faults([{"method": "getSpendingStats", "times": 1,
                              "action": "body", "body": text}])
            conn = self.sim.connection()
            conn.request("POST", "/getSpendingStats", json.dumps({"clientKey": TEST_KEY}))
            resp = conn.getresponse()
            self.assertEqual((resp.status, resp.read().decode()), (200, text))
            conn.close()

    def test_hang(self):
        self.sim.faults([{"method": "getBalance", "times": 1, "action": "hang"}])
        conn = self.sim.connection(timeout=0.5)
        conn.request("POST", "/getBalance", json.dumps({"clientKey": TEST_KEY}))
        with self.assertRaises(socket.timeout):
            conn.getresponse()
        conn.close()
        self.assertEqual(self.sim.requests()[0]["status"], None)
        wait_until(lambda: self.sim.stats()["open_connections"] == 1, 5,
                   what="the hung connection to be closed")
        self.assertEqual(self.call("getBalance")[1]["errorId"], 0)

    def test_slow(self):
        self.sim.faults([{"method": "getBalance", "times": 1, "action": "slow",
                          "bytes_per_second": 500}])
        t0 = time.monotonic()
        status, ans = self.call("getBalance")
        elapsed = time.monotonic() - t0
        self.assertEqual(ans["errorId"], 0)
        self.assertGreater(elapsed, 0.25)   # ~200 bytes at 500 B/s
        self.assertLess(elapsed, 3)

    def test_oversize(self):
        self.sim.faults([{"method": "getSpendingStats", "times": 1,
                          "action": "oversize", "bytes": 3 * 1024 * 1024}])
        conn = self.sim.connection()
        conn.request("POST", "/getSpendingStats", json.dumps({"clientKey": TEST_KEY}))
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        self.assertEqual(len(data), 3 * 1024 * 1024)
        self.assertEqual(int(resp.getheader("Content-Length")), len(data))
        ans = json.loads(data)
        self.assertEqual(len(ans["data"]), 24)

    def test_close_and_reset(self):
        for rule in ({"action": "close"}, {"action": "close", "reset": True}):
            self.sim.faults([dict(rule, method="getBalance", times=1)])
            with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
                self.call("getBalance")
        self.assertEqual(self.call("getBalance")[1]["errorId"], 0)

    def test_chunked(self):
        self.sim.faults([{"method": "getSpendingStats", "times": 1,
                          "action": "chunked", "chunk_size": 3}])
        conn = self.sim.connection()
        conn.request("POST", "/getSpendingStats", json.dumps({"clientKey": TEST_KEY}))
        resp = conn.getresponse()
        self.assertEqual(resp.getheader("Transfer-Encoding"), "chunked")
        self.assertEqual(json.loads(resp.read())["data"], self.sim.expected())
        # The connection stays usable after a chunked answer.
        self.assertEqual(self.sim.api("getBalance", {"clientKey": TEST_KEY},
                                      conn=conn)[1]["errorId"], 0)
        conn.close()

    def test_bad_rules_rejected(self):
        for rules in ([{"action": "explode"}], [{"action": "error", "times": -1}],
                      [{"action": "delay", "seconds": "1"}], "nope",
                      [{"action": "error", "queue": 3}]):
            with self.assertRaises(HarnessError):
                self.sim.faults(rules) if isinstance(rules, list) else \
                    self.sim.control("POST", "faults", rules)
        with self.assertRaises(HarnessError):
            self.sim.state({"records": 25})
        with self.assertRaises(HarnessError):
            self.sim.state({"no_such_thing": 1})


class TestTls(SimTestCase):
    def test_https_with_test_ca(self):
        self.assertTrue(self.sim.https_url.startswith("https://127.0.0.1:"))
        status, ans = self.sim.api("getSpendingStats", {"clientKey": TEST_KEY},
                                   tls=True)
        self.assertEqual((status, len(ans["data"])), (200, 24))
        # /_sim/ is not served over HTTPS.
        conn = self.sim.connection(tls=True)
        conn.request("GET", "/_sim/requests")
        self.assertEqual(conn.getresponse().status, 404)
        conn.close()

    def test_unknown_ca_counted_as_handshake_failure(self):
        ctx = ssl.create_default_context(cafile=self.sim.cert_file("other-ca.pem"))
        conn = http.client.HTTPSConnection("127.0.0.1", self.sim.https_port,
                                           timeout=5, context=ctx)
        with self.assertRaises(ssl.SSLCertVerificationError):
            conn.request("POST", "/getBalance", "{}")
        conn.close()
        wait_until(lambda: self.sim.stats()["tls_handshake_failures"] == 1, 5,
                   what="the handshake failure to be counted")
        st = self.sim.stats()
        self.assertEqual((st["connections"], st["requests"]), (1, 0))

    def test_other_certificates(self):
        for cert, ca, err in (("wronghost", "ca.pem", "match"),
                              # OpenSSL 1.1.1 (Debian 11): "self signed"
                              ("selfsigned", "ca.pem", "self.signed"),
                              ("selfsigned", "selfsigned.pem", None)):
            with Sim(https=True, cert=cert, quiet=True) as sim:
                ctx = ssl.create_default_context(cafile=sim.cert_file(ca))
                conn = http.client.HTTPSConnection("127.0.0.1", sim.https_port,
                                                   timeout=5, context=ctx)
                if err is None:
                    conn.request("POST", "/getBalance",
                                 json.dumps({"clientKey": TEST_KEY}))
                    self.assertEqual(json.loads(conn.getresponse().read())["errorId"], 0)
                else:
                    with self.assertRaises(ssl.SSLCertVerificationError) as cm:
                        conn.request("POST", "/getBalance", "{}")
                    self.assertRegex(str(cm.exception), err)
                conn.close()


class TestQueueStatsAndHcaptcha(SimTestCase):
    def test_queue_stats_without_key(self):
        status, ans = self.call("getQueueStats", clientKey=None, queueId=6)
        self.assertEqual(status, 200)
        self.assertEqual(ans["errorId"], 0)
        self.assertIsInstance(ans["bid"], str)  # as in the vendor's example
        served = self.sim.control("GET", "queue_stats?queueId=6")
        self.assertEqual(float(ans["bid"]), served["bid"])
        for k in ("waiting", "load", "speed", "total"):
            self.assertEqual(ans[k], served[k])
        self.assertLessEqual(ans["waiting"], ans["total"])
        self.assertTrue(0 <= ans["load"] <= 100)
        # Deterministic per queue id, distinct between ids.
        self.assertEqual(self.call("getQueueStats", clientKey=None,
                                   queueId=6)[1], ans)
        self.assertNotEqual(self.call("getQueueStats", clientKey=None,
                                      queueId=5)[1], ans)

    def test_queue_stats_bad_requests(self):
        for body in ({}, {"queueId": "6"}, {"queueId": 0}, {"queueId": 3},
                     {"queueId": 25, "templateName": 1}):
            ans = self.call("getQueueStats", clientKey=None, **body)[1]
            self.assertNotEqual(ans["errorId"], 0, body)
        self.assertEqual(self.call("getQueueStats", clientKey=None, queueId=25,
                                   templateName="CloudFlare")[1]["errorId"], 0)

    def test_queue_stats_state_and_strings(self):
        self.sim.state({"numbers_as_strings": True, "queue_stats": {
            "6": {"waiting": 1, "load": 2.5, "bid": 0.001, "speed": 3,
                  "total": 9}, "99": {"load": 50}}})
        ans = self.call("getQueueStats", clientKey=None, queueId=6)[1]
        self.assertEqual(ans, {"errorId": 0, "waiting": "1", "load": "2.5",
                               "bid": "0.001", "speed": "3", "total": "9"})
        ans = self.call("getQueueStats", clientKey=None, queueId=99)[1]
        self.assertEqual(ans, {"errorId": 0, "load": "50"})

    def test_queue_id_fault_match(self):
        self.sim.faults([{"method": "getQueueStats", "queue_id": 7,
                          "action": "error", "errorId": 21,
                          "errorCode": "ERROR_IP_BLOCKED"}])
        self.assertEqual(self.call("getQueueStats", clientKey=None,
                                   queueId=7)[1]["errorId"], 21)
        self.assertEqual(self.call("getQueueStats", clientKey=None,
                                   queueId=6)[1]["errorId"], 0)

    def test_report_incorrect_hcaptcha(self):
        ok = self.call("reportIncorrectHcaptcha", taskId=42)[1]
        self.assertEqual(ok, {"errorId": 0, "status": "success"})
        again = self.call("reportIncorrectHcaptcha", taskId=42)[1]
        self.assertEqual(again["errorCode"], "ERROR_NO_SUCH_CAPCHA_ID")
        self.assertEqual(self.call("reportIncorrectHcaptcha", clientKey="nope",
                                   taskId=43)[1]["errorId"], 1)
        self.assertEqual(self.call("reportIncorrectHcaptcha",
                                   taskId="44")[1]["errorId"], 2)

class TestProcess(unittest.TestCase):
    def test_refuses_non_loopback(self):
        for host in ("0.0.0.0", "192.0.2.1", "example.com", "::"):
            run = subprocess.run([sys.executable, SIM_SCRIPT, "--host", host],
                                 capture_output=True, text=True, timeout=10)
            self.assertEqual(run.returncode, 2, host)
            self.assertIn("loopback", run.stderr)

    def test_default_key_and_clean_stop_while_hanging(self):
        with Sim(keys=(), quiet=False) as sim:   # no key given: demo-key only
            self.assertEqual(sim.api("getBalance", {"clientKey": "demo-key"})[1]
                             ["errorId"], 0)
            self.assertEqual(sim.api("getBalance", {"clientKey": TEST_KEY})[1]
                             ["errorId"], 1)
            sim.faults([{"action": "hang"}])
            hung = socket.create_connection(("127.0.0.1", sim.port))
            hung.sendall(raw_request("getBalance", {"clientKey": "demo-key"}))
            wait_until(lambda: sim.stats()["requests"] == 3, 5, what="hang")
            out = sim.output()
            self.assertIn("getBalance 200", out)
            self.assertNotIn("demo-key", out)
            proc = sim.proc
            t0 = time.monotonic()
            # __exit__ stops it: exit status 0, no traceback, else HarnessError.
        self.assertEqual(proc.returncode, 0)
        self.assertLess(time.monotonic() - t0, 3)
        hung.settimeout(2)
        self.assertEqual(hung.recv(10), b"")
        hung.close()


def main():
    verbosity = 2 if "-v" in sys.argv else 1
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=verbosity).run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())

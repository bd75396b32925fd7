#!/usr/bin/env python3
"""Tests of the simulator's other services (tests/sim/sim_services.py):
CapMonster Cloud, 2captcha and CapSolver as doc/services.md describes them,
selected by path prefix or --dialect, each with its own keys.

Run: python3 tests/sim/test_sim_services.py [-v]"""

import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

from harness import Sim, SimTestCase, TEST_KEY, assert_no_key_in  # noqa: E402

CM_KEY = "sim-cm-key-4b7e1d9a0c3f"
TC_KEY = "sim-2c-key-8d2f6a1e5c0b"
CS_KEY = "CAP-0123456789ABCDEF0123456789AB"
UUID = "37223a89-06ed-442c-a0b8-22067b79c5b4"


class ServicesTestCase(SimTestCase):
    """One sim for the class: TEST_KEY for Anti-Captcha, a key of its own
    for each other service."""

    SIM_ARGS = {"keys": (TEST_KEY,), "dialect_keys": {
        "capmonster": [CM_KEY], "2captcha": [TC_KEY], "capsolver": [CS_KEY]}}

    def call(self, dialect, method, **body):
        return self.sim.api("%s/%s" % (dialect, method), body)


class Routing(ServicesTestCase):
    def test_prefix_selects_the_service_and_its_keys(self):
        cases = [("anti-captcha", TEST_KEY), ("capmonster", CM_KEY),
                 ("2captcha", TC_KEY), ("capsolver", CS_KEY)]
        for dialect, key in cases:
            with self.subTest(dialect=dialect):
                status, ans = self.call(dialect, "getBalance", clientKey=key)
                self.assertEqual((status, ans["errorId"]), (200, 0))
                # Another service's key is refused there.
                for other, other_key in cases:
                    if other != dialect:
                        status, ans = self.call(dialect, "getBalance",
                                                clientKey=other_key)
                        self.assertNotEqual(ans["errorId"], 0, (dialect, other))
        log = self.sim.requests()
        self.assertEqual([e["dialect"] for e in log if e["key_ok"]],
                         [d for d, _ in cases])
        self.assertEqual(len(self.sim.requests(dialect="capsolver")), 4)
        self.assertEqual(self.sim.stats()["by_method"]["capsolver/getBalance"], 4)
        for key in (TEST_KEY, CM_KEY, TC_KEY, CS_KEY):
            assert_no_key_in(str(log), key)

    def test_no_prefix_is_anti_captcha(self):
        status, ans = self.sim.api("getBalance", {"clientKey": TEST_KEY})
        self.assertEqual(ans, {"errorId": 0, "balance": 12.345678,
                               "captchaCredits": 0})
        self.assertEqual(self.sim.requests()[-1]["dialect"], "anti-captcha")
        # The other services' methods do not exist there.
        status, ans = self.sim.api("feedbackTask", {"clientKey": TEST_KEY})
        self.assertEqual(ans["errorCode"], "ERROR_NO_SUCH_METHOD")

    def test_balance_per_service(self):
        self.sim.state({"services": {"capmonster": {"balance": 3.5}}})
        self.sim.state({"services": {"capsolver": {"balance": 7.25}}})
        self.assertEqual(self.call("capmonster", "getBalance",
                                   clientKey=CM_KEY)[1]["balance"], 3.5)
        self.assertEqual(self.call("capsolver", "getBalance",
                                   clientKey=CS_KEY)[1]["balance"], 7.25)
        # Merged per dialect: the first setting was kept.
        self.assertEqual(self.sim.state()["services"]["capmonster"]["balance"], 3.5)
        self.assertEqual(self.call("2captcha", "getBalance",
                                   clientKey=TC_KEY)[1]["balance"], 12.345678)

    def test_dialect_fault_rules(self):
        self.sim.faults([{"dialect": "2captcha", "action": "http", "status": 503}])
        self.assertEqual(self.call("2captcha", "getBalance", clientKey=TC_KEY)[0], 503)
        self.assertEqual(self.call("capmonster", "getBalance", clientKey=CM_KEY)[0], 200)
        with self.assertRaises(Exception):
            self.sim.faults([{"dialect": "nope", "action": "close"}])

    def test_bad_control_bodies(self):
        for path, body in (("tasks", {"dialect": "x", "tasks": {}}),
                           ("tasks", {"tasks": {"12a": 1}}),
                           ("reported", {"dialect": "capsolver", "tasks": [5]}),
                           ("state", {"services": {"capmonster": {"colour": 1}}}),
                           ("state", {"services": {"2captcha": {"zero_balance": 1}}})):
            with self.subTest(path=path, body=body), self.assertRaises(Exception):
                self.sim.control("POST", path, body)


class CapMonster(ServicesTestCase):
    def test_report_methods_and_answers(self):
        for i, method in enumerate(("reportIncorrectImageCaptcha",
                                    "reportIncorrectTokenCaptcha",
                                    "reportIncorrectRecaptcha",
                                    "reportIncorrectHcaptcha")):
            with self.subTest(method=method):
                status, ans = self.call("capmonster", method, clientKey=CM_KEY,
                                        taskId=1000 + i)
                self.assertEqual((status, ans), (200, {"errorId": 0,
                                                       "status": "success"}))
        for method in ("reportCorrectRecaptcha", "getSpendingStats",
                       "getQueueStats", "feedbackTask"):
            with self.subTest(method=method):
                status, ans = self.call("capmonster", method, clientKey=CM_KEY)
                self.assertEqual(ans, {"errorId": 1,
                                       "errorCode": "ERROR_NO_SUCH_METHOD"})

    def test_every_error_is_errorid_1(self):
        _, ans = self.call("capmonster", "getBalance", clientKey="wrong")
        self.assertEqual(ans, {"errorId": 1, "errorCode": "ERROR_KEY_DOES_NOT_EXIST"})
        self.call("capmonster", "reportIncorrectTokenCaptcha", clientKey=CM_KEY,
                  taskId=42)
        _, ans = self.call("capmonster", "reportIncorrectTokenCaptcha",
                           clientKey=CM_KEY, taskId=42)
        self.assertEqual(ans, {"errorId": 1, "errorCode": "ERROR_NO_SUCH_CAPCHA_ID"})
        _, ans = self.call("capmonster", "reportIncorrectImageCaptcha",
                           clientKey=CM_KEY, taskId="43")
        self.assertEqual(ans["errorCode"], "ERROR_NO_SUCH_CAPCHA_ID")

    def test_zero_balance(self):
        self.sim.state({"services": {"capmonster": {"zero_balance": True,
                                                    "block_after": 100}}})
        self.assertEqual(self.call("capmonster", "getBalance",
                                   clientKey=CM_KEY)[1],
                         {"errorId": 0, "balance": 0.0})
        _, ans = self.call("capmonster", "reportIncorrectTokenCaptcha",
                           clientKey=CM_KEY, taskId=7)
        self.assertEqual(ans, {"errorId": 1, "errorCode": "ERROR_ZERO_BALANCE"})

    def test_block_after_repeated_refusals(self):
        self.sim.state({"services": {"capmonster": {"block_after": 3,
                                                    "block_seconds": 1.0}}})
        for _ in range(2):
            self.call("capmonster", "getBalance", clientKey="wrong")
        self.assertIsNone(self.sim.service("capmonster")["blocked_until"])
        self.assertEqual(self.sim.service("capmonster")["bad_requests"], 2)
        self.call("capmonster", "getBalance", clientKey="wrong")
        self.assertIsNotNone(self.sim.service("capmonster")["blocked_until"])
        # Blocked: even the right key gets ERROR_IP_BANNED, and asking
        # during the block starts it again.
        for _ in range(4):
            time.sleep(0.4)
            _, ans = self.call("capmonster", "getBalance", clientKey=CM_KEY)
            self.assertEqual(ans, {"errorId": 1, "errorCode": "ERROR_IP_BANNED"})
        time.sleep(1.2)
        _, ans = self.call("capmonster", "getBalance", clientKey=CM_KEY)
        self.assertEqual(ans["errorId"], 0)
        self.assertIsNone(self.sim.service("capmonster")["blocked_until"])
        # Other services are not concerned.
        self.sim.state({"services": {"capmonster": {"block_seconds": 60.0}}})
        for _ in range(3):
            self.call("capmonster", "getBalance", clientKey="wrong")
        self.assertEqual(self.call("2captcha", "getBalance",
                                   clientKey=TC_KEY)[1]["errorId"], 0)

    def test_refusals_outside_the_period_do_not_add_up(self):
        self.sim.state({"services": {"capmonster": {"block_after": 2,
                                                    "block_period": 0.3}}})
        for _ in range(3):
            self.call("capmonster", "getBalance", clientKey="wrong")
            time.sleep(0.4)
        self.assertIsNone(self.sim.service("capmonster")["blocked_until"])

    def test_window_of_registered_tasks(self):
        now = time.time()
        self.sim.tasks("capmonster", {"100": now - 299, "101": now - 302})
        _, ans = self.call("capmonster", "reportIncorrectTokenCaptcha",
                           clientKey=CM_KEY, taskId=100)
        self.assertEqual(ans["errorId"], 0)
        _, ans = self.call("capmonster", "reportIncorrectTokenCaptcha",
                           clientKey=CM_KEY, taskId=101)
        self.assertEqual(ans["errorCode"], "ERROR_NO_SUCH_CAPCHA_ID")


class TwoCaptcha(ServicesTestCase):
    def test_methods_and_64_bit_ids(self):
        for method, tid in (("reportIncorrect", 74455221488),
                            ("reportCorrect", 9999999999999999999)):
            with self.subTest(method=method):
                status, ans = self.call("2captcha", method, clientKey=TC_KEY,
                                        taskId=tid)
                self.assertEqual(ans, {"errorId": 0, "status": "success"})
        log = self.sim.requests(dialect="2captcha")
        self.assertEqual(log[-1]["body"]["taskId"], 9999999999999999999)
        self.assertIn('"taskId": 9999999999999999999', log[-1]["raw"])
        _, ans = self.call("2captcha", "reportIncorrectRecaptcha",
                           clientKey=TC_KEY, taskId=1)
        self.assertEqual((ans["errorId"], ans["errorCode"]),
                         (14, "ERROR_NO_SUCH_METHOD"))

    def test_errors_numbered_like_anti_captcha(self):
        _, ans = self.call("2captcha", "reportIncorrect", clientKey="x", taskId=1)
        self.assertEqual((ans["errorId"], ans["errorCode"]),
                         (1, "ERROR_KEY_DOES_NOT_EXIST"))
        self.sim.state({"services": {"2captcha": {"zero_balance": True}}})
        _, ans = self.call("2captcha", "reportIncorrect", clientKey=TC_KEY, taskId=1)
        self.assertEqual((ans["errorId"], ans["errorCode"]),
                         (10, "ERROR_ZERO_BALANCE"))
        _, ans = self.call("2captcha", "getBalance", clientKey=TC_KEY)
        self.assertEqual(ans, {"errorId": 0, "balance": 0.0})

    def test_duplicate_and_not_recorded(self):
        self.call("2captcha", "reportIncorrect", clientKey=TC_KEY, taskId=5)
        _, ans = self.call("2captcha", "reportCorrect", clientKey=TC_KEY, taskId=5)
        self.assertEqual((ans["errorId"], ans["errorCode"]),
                         (1, "ERROR_DUPLICATE_REPORT"))
        self.sim.mark_reported("2captcha", [6])
        _, ans = self.call("2captcha", "reportIncorrect", clientKey=TC_KEY, taskId=6)
        self.assertEqual(ans["errorCode"], "ERROR_DUPLICATE_REPORT")
        now = time.time()
        self.sim.tasks("2captcha", {"7": now - 901, "8": now - 890})
        _, ans = self.call("2captcha", "reportIncorrect", clientKey=TC_KEY, taskId=7)
        self.assertEqual(ans["errorCode"], "ERROR_REPORT_NOT_RECORDED")
        _, ans = self.call("2captcha", "reportIncorrect", clientKey=TC_KEY, taskId=8)
        self.assertEqual(ans["errorId"], 0)
        # The complaint ratio refuses incorrect reports, not correct ones.
        self.sim.state({"services": {"2captcha": {
            "complaint_ratio_exceeded": True, "report_error_id": 99}}})
        _, ans = self.call("2captcha", "reportIncorrect", clientKey=TC_KEY, taskId=9)
        self.assertEqual((ans["errorId"], ans["errorCode"]),
                         (99, "ERROR_REPORT_NOT_RECORDED"))
        _, ans = self.call("2captcha", "reportCorrect", clientKey=TC_KEY, taskId=10)
        self.assertEqual(ans["errorId"], 0)


class CapSolver(ServicesTestCase):
    def feedback(self, task_id=UUID, result=None, key=CS_KEY):
        body = {"clientKey": key, "taskId": task_id,
                "result": {"invalid": True} if result is None else result}
        return self.sim.api("capsolver/feedbackTask", body)

    def test_balance_and_feedback(self):
        status, ans = self.call("capsolver", "getBalance", clientKey=CS_KEY)
        self.assertEqual(status, 200)
        self.assertEqual(ans["packages"], [])
        self.assertEqual((ans["errorId"], ans["errorCode"]), (0, ""))
        for result in ({"invalid": True}, {"invalid": False, "code": 1001,
                                           "message": "invalid token"}):
            with self.subTest(result=result):
                status, ans = self.feedback(
                    UUID[:-1] + str(int(result["invalid"])), result)
                self.assertEqual(status, 200)
                self.assertEqual((ans["errorId"], ans["message"]), (0, "success"))

    def test_errors_are_http_4xx_with_errorid_1(self):
        status, ans = self.call("capsolver", "getBalance", clientKey="CAP-x")
        self.assertEqual((status, ans["errorId"], ans["errorCode"]),
                         (401, 1, "ERROR_KEY_DENIED_ACCESS"))
        for task_id, result, code in (
                (12345, None, "ERROR_INVALID_TASK_DATA"),  # an integer
                ("12345", None, "ERROR_TASKID_INVALID"),   # not a UUID
                (UUID, {"invalid": "yes"}, "ERROR_INVALID_TASK_DATA"),
                (UUID, {"invalid": True, "code": "x"}, "ERROR_INVALID_TASK_DATA"),
                (UUID, [], "ERROR_INVALID_TASK_DATA")):
            with self.subTest(task_id=task_id, result=result):
                status, ans = self.feedback(task_id, result)
                self.assertEqual((status, ans["errorId"], ans["errorCode"]),
                                 (400, 1, code))
        status, ans = self.call("capsolver", "reportIncorrectRecaptcha",
                                clientKey=CS_KEY, taskId=UUID)
        self.assertEqual((status, ans), (404, "404 page not found"))
        self.assertEqual(self.sim.requests()[-1]["answer"], None)

    def test_duplicate_window_and_zero_balance(self):
        self.assertEqual(self.feedback()[0], 200)
        status, ans = self.feedback(UUID.upper(), {"invalid": False})
        self.assertEqual((status, ans["errorCode"]), (400, "ERROR_INVALID_TASK_DATA"))
        other = "a" * 8 + UUID[8:]
        self.sim.tasks("capsolver", {other: time.time() - 301})
        self.assertEqual(self.feedback(other)[1]["errorCode"], "ERROR_TASKID_INVALID")
        self.sim.state({"services": {"capsolver": {"zero_balance": True}}})
        status, ans = self.feedback("b" * 8 + UUID[8:])
        self.assertEqual((status, ans["errorCode"]), (400, "ERROR_ZERO_BALANCE"))


class AntiCaptchaWindow(ServicesTestCase):
    def test_registered_tasks_have_the_60_s_window(self):
        now = time.time()
        self.sim.tasks("anti-captcha", {"1": now - 59, "2": now - 61})
        self.sim.mark_reported("anti-captcha", ["3"])
        results = {}
        for tid in (1, 2, 3, 4):
            _, ans = self.sim.api("reportIncorrectRecaptcha",
                                  {"clientKey": TEST_KEY, "taskId": tid})
            results[tid] = ans["errorId"]
        self.assertEqual(results, {1: 0, 2: 16, 3: 16, 4: 0})


class Process(unittest.TestCase):
    def test_dialect_option_sets_the_unprefixed_service(self):
        with Sim(args=("--dialect", "capsolver")) as sim:
            status, ans = sim.api("getBalance", {"clientKey": TEST_KEY})
            self.assertIn("packages", ans)
            self.assertEqual(sim.requests()[0]["dialect"], "capsolver")
            status, ans = sim.api("anti-captcha/getBalance",
                                  {"clientKey": TEST_KEY})
            self.assertIn("captchaCredits", ans)


def main():
    import runner  # noqa: E402 (tests/integration)
    runner.main()


if __name__ == "__main__":
    main()

"""CapMonster Cloud, 2captcha and CapSolver beside Anti-Captcha
(doc/services.md), through the real collectd and the simulator's dialects:
per service its balance, every report kind mapped to the service's method
(with the body and task id type it documents), a refused key, the vendor's
error semantics, a duplicate, the report window, the task id's form, and
the configurations a service cannot serve refused at load time; then all
four services in one collectd, each account's requests reaching only its own
service with its own key."""

import re
import time
import unittest

from harness import (Collectd, Sim, TEST_KEY, assert_no_key_in,
                     plugin_config_test)
import runner

SERVICES = ("anti-captcha", "capmonster", "2captcha", "capsolver")
OTHERS = SERVICES[1:]
KEYS = {"anti-captcha": TEST_KEY,
        "capmonster": "0b1e4c7d9a2f5e8b3c6d1a4f7e0b2c5d",
        "2captcha": "7e2c9b4a1f6d3e8c5b0a7d2f9e4c1b6a",
        # CapSolver's keys are CAP- and 64 hex digits: longer than 32.
        "capsolver": "CAP-" + "3F9A1C7E5B2D8F4A6C0E9B1D7F3A5C8E"
                              "2B4D6F8A0C1E3B5D7F9A2C4E6B8D0F1A"}
BALANCES = {"anti-captcha": 12.345678, "capmonster": 3.5, "2captcha": 41.25,
            "capsolver": 7.125}
# The plugin's report kinds (its identifiers, the same at every service):
# (severity, type) -> the kind's name, and per service the method it becomes.
KINDS = {("failure", "recaptcha"): "reportIncorrectRecaptcha",
         ("okay", "recaptcha"): "reportCorrectRecaptcha",
         ("failure", "image"): "reportIncorrectImageCaptcha",
         ("failure", "hcaptcha"): "reportIncorrectHcaptcha"}
METHOD = {
    "anti-captcha": {k: k for k in KINDS.values()},
    "capmonster": {"reportIncorrectRecaptcha": "reportIncorrectTokenCaptcha",
                   "reportCorrectRecaptcha": None,
                   "reportIncorrectImageCaptcha": "reportIncorrectImageCaptcha",
                   "reportIncorrectHcaptcha": "reportIncorrectTokenCaptcha"},
    "2captcha": {"reportIncorrectRecaptcha": "reportIncorrect",
                 "reportCorrectRecaptcha": "reportCorrect",
                 "reportIncorrectImageCaptcha": "reportIncorrect",
                 "reportIncorrectHcaptcha": "reportIncorrect"},
    "capsolver": {k: "feedbackTask" for k in KINDS.values()},
}
REPORT_METHODS = {m for per in METHOD.values() for m in per.values() if m}
KEY_REFUSED = {"anti-captcha": "ERROR_KEY_DOES_NOT_EXIST",
               "capmonster": "ERROR_KEY_DOES_NOT_EXIST",
               "2captcha": "ERROR_KEY_DOES_NOT_EXIST",
               "capsolver": "ERROR_KEY_DENIED_ACCESS"}
LABEL = {"anti-captcha": "Anti-Captcha", "capmonster": "CapMonster",
         "2captcha": "2captcha", "capsolver": "CapSolver"}


def task_ids(service, n, start=5000):
    """n task ids as the service issues them: UUIDs at CapSolver, decimal
    elsewhere (2captcha's above 2^32, as its own example)."""
    if service == "capsolver":
        return ["37223a89-06ed-442c-a0b8-%012x" % (start + i) for i in range(n)]
    base = 74455221488 if service == "2captcha" else start
    return [str(base + i) for i in range(n)]


def sent_id(service, tid):
    """The taskId the service must receive for notification id tid."""
    return tid if service == "capsolver" else int(tid)


def services_sim(**kw):
    """One sim speaking all four services, each with its own key and
    balance."""
    sim = Sim(keys=(KEYS["anti-captcha"],),
              dialect_keys={s: [KEYS[s]] for s in OTHERS}, **kw)
    return sim


def set_balances(sim):
    sim.state({"services": {s: {"balance": BALANCES[s]} for s in OTHERS}})


def account(sim, service, name="main", extra="", balance=False, interval=3600,
            key_file=None):
    return '''
  <Account "%s">
    Service "%s"
    ClientKeyFile "@TMP@/%s"
    URL "%s"
    Balance %s
    Interval %d
%s
  </Account>''' % (name, service, key_file or service + ".key", sim.url(service),
                   "true" if balance else "false", interval, extra)


def key_files(**extra):
    files = {s + ".key": KEYS[s] + "\n" for s in SERVICES}
    files.update(extra)
    return files


def daemon(config, **kw):
    return Collectd(config, files=kw.pop("files", key_files()), **kw)


def notify(cd, service, severity, type_, tid, name="main", t=None):
    cd.putnotif(severity, time=time.time() if t is None else t, message="x",
                plugin="anticaptcha", plugin_instance=name, type=type_,
                type_instance=tid)


def reports(sim, dialect):
    return [r for r in sim.requests(dialect=dialect)
            if r["method"] in REPORT_METHODS]


def counter(cd, name, account_name="main"):
    rows = cd.csv("anticaptcha-" + account_name, "derive-reports-" + name)
    return rows[-1][1][0] if rows else 0


def gauge(cd, name, account_name="main"):
    rows = cd.csv("anticaptcha-" + account_name, name)
    return rows[-1][1][0] if rows else None


class Balance(unittest.TestCase):
    """getBalance at every service, and no spending poll where there is
    none, with the defaults (Total true) left alone."""

    def test_balance_and_nothing_else_polled(self):
        for service in OTHERS:
            with self.subTest(service=service), services_sim() as sim:
                set_balances(sim)
                with daemon(account(sim, service, balance=True)) as cd:
                    cd.wait_for(lambda: gauge(cd, "gauge-balance") is not None,
                                10, "the balance")
                    self.assertAlmostEqual(gauge(cd, "gauge-balance"),
                                           BALANCES[service])
                    time.sleep(1)
                    log = sim.requests()
                    self.assertEqual({(r["dialect"], r["method"]) for r in log},
                                     {(service, "getBalance")})
                    self.assertTrue(all(r["key_ok"] for r in log))
                    self.assertEqual(log[0]["body"], {"clientKey": "<redacted>"})
                    cd.assert_no_key(KEYS[service])


class Reports(unittest.TestCase):
    """Every report kind at every service: the service's method, body and
    task id type; OKAY only where a "correct" method exists."""

    def test_each_kind_goes_to_the_services_method(self):
        for service in OTHERS:
            with self.subTest(service=service), services_sim() as sim, \
                    daemon(account(sim, service)) as cd:
                ids = dict(zip(KINDS, task_ids(service, len(KINDS))))
                for (sev, typ), tid in ids.items():
                    notify(cd, service, sev, typ, tid)
                want = {kind: METHOD[service][kind] for kind in KINDS.values()}
                n = sum(1 for m in want.values() if m)
                cd.wait_for(lambda: counter(cd, "accepted") == n, 10,
                            "%d accepted reports" % n)
                time.sleep(1)  # anything more would have come by now
                got = reports(sim, service)
                self.assertEqual(len(got), n)
                by_id = {r["body"]["taskId"]: r for r in got}
                for (sev, typ), tid in ids.items():
                    kind = KINDS[(sev, typ)]
                    method = want[kind]
                    if method is None:
                        self.assertNotIn(sent_id(service, tid), by_id)
                        self.assertEqual(counter(cd, kind + "-sent"), 0)
                        continue
                    r = by_id[sent_id(service, tid)]
                    self.assertEqual(r["method"], method, kind)
                    self.assertTrue(r["key_ok"])
                    if service == "capsolver":
                        self.assertEqual(r["body"], {
                            "clientKey": "<redacted>", "taskId": tid,
                            "result": {"invalid": sev == "failure"}})
                    else:
                        self.assertEqual(r["body"], {"clientKey": "<redacted>",
                                                     "taskId": int(tid)})
                        self.assertRegex(r["raw"], r'"taskId":\s*%s\b' % tid)
                    # The counters keep the plugin's kind names.
                    self.assertEqual(counter(cd, kind + "-accepted"), 1)
                self.assertEqual(sim.requests(dialect="anti-captcha"), [])
                cd.assert_no_key(KEYS[service])

    def test_19_digit_id_is_a_json_integer(self):
        """2captcha's ids pass 2^32 already: 19 digits up to 2^63-1 go as a
        JSON integer; past it a number is no task id (model/task_id.h)."""
        with services_sim() as sim, daemon(account(sim, "2captcha")) as cd:
            notify(cd, "2captcha", "failure", "image", "9223372036854775807")
            notify(cd, "2captcha", "failure", "image", "9223372036854775808")
            cd.wait_for(lambda: reports(sim, "2captcha"), 10, "the report")
            time.sleep(1)
            got = reports(sim, "2captcha")
            self.assertEqual(len(got), 1)
            self.assertIn('"taskId":9223372036854775807', got[0]["raw"])
            self.assertEqual(got[0]["body"]["taskId"], 9223372036854775807)
            self.assertIn("is not a task id", cd.log())

    def test_task_id_form_per_service(self):
        """A UUID for a decimal service, or digits for CapSolver, is an
        invalid notification: nothing sent."""
        with services_sim() as sim, daemon(
                account(sim, "capsolver", "cs") + account(sim, "anti-captcha", "ac")
                + account(sim, "2captcha", "tc")) as cd:
            u = task_ids("capsolver", 1)[0]
            notify(cd, "capsolver", "failure", "recaptcha", "123456", name="cs")
            notify(cd, "anti-captcha", "failure", "recaptcha", u, name="ac")
            notify(cd, "2captcha", "failure", "recaptcha", u, name="tc")
            notify(cd, "capsolver", "failure", "recaptcha", u.upper(), name="cs")
            cd.wait_for(lambda: (cd.csv("anticaptcha",
                                        "derive-notifications-invalid") or
                                 [(0, [0])])[-1][1][0] == 3, 10,
                        "3 invalid notifications")
            cd.wait_for(lambda: counter(cd, "accepted", "cs") == 1, 10,
                        "the CapSolver report")
            time.sleep(1)
            got = [(r["dialect"], r["body"]["taskId"]) for r in sim.requests()
                   if r["method"] in REPORT_METHODS]
            # The UUID goes as CapSolver issued it (case aside: one task).
            self.assertEqual(len(got), 1)
            self.assertEqual(got[0][0], "capsolver")
            self.assertEqual(got[0][1].lower(), u)


class Errors(unittest.TestCase):
    """The vendors' error semantics: what pauses the account, what is a
    refusal of one report."""

    def test_refused_key_pauses_the_account(self):
        for service in SERVICES:
            with self.subTest(service=service), services_sim() as sim, \
                    daemon(account(sim, service, key_file="wrong.key"),
                           files=key_files(**{"wrong.key": "not-the-key\n"})) as cd:
                a, b = task_ids(service, 2)
                notify(cd, service, "failure", "recaptcha", a)
                cd.wait_for(lambda: gauge(cd, "gauge-reports-state") == 3, 10,
                            "the account paused")
                notify(cd, service, "failure", "recaptcha", b)
                cd.wait_for(lambda: counter(cd, "paused") == 1, 10,
                            "the second report counted paused")
                self.assertEqual(len(reports(sim, service)), 1)
                line = [l for l in cd.log().splitlines()
                        if KEY_REFUSED[service] in l and "paused for" in l]
                self.assertTrue(line, cd.log())
                # The line names the service, not another vendor.
                self.assertIn(LABEL[service], line[0])
                for other in SERVICES:
                    if other != service:
                        self.assertNotIn(LABEL[other], line[0])

    def test_capmonster_key_block_respected(self):
        """A refused key at CapMonster: the sender pauses the reports for 10
        minutes, and the reader polls no more for 10 minutes either (with
        Interval 1 collectd's back-off would poll again after 31 s, when
        getBalance's 30 s have passed); so the sim (3 refusals within 60 s
        block the key) never blocks it."""
        with services_sim() as sim, daemon(
                account(sim, "capmonster", balance=True, interval=1,
                        key_file="wrong.key"),
                files=key_files(**{"wrong.key": "0" * 32 + "\n"})) as cd:
            cd.wait_for(lambda: sim.requests(dialect="capmonster"), 10,
                        "the first getBalance")
            first = time.monotonic()
            for tid in task_ids("capmonster", 3):
                notify(cd, "capmonster", "failure", "image", tid)
                time.sleep(2)
            cd.wait_for(lambda: counter(cd, "paused") == 2, 10,
                        "2 reports counted paused")
            time.sleep(max(0.0, first + 40 - time.monotonic()))
            # One getBalance, one report: the reader and the sender each
            # learnt of the refusal once.
            self.assertEqual(sorted(r["method"] for r in
                                    sim.requests(dialect="capmonster")),
                             ["getBalance", "reportIncorrectImageCaptcha"])
            self.assertIsNone(sim.service("capmonster")["blocked_until"])
            m = re.search(r"paused for (\d+) s", cd.log())
            self.assertTrue(m, cd.log())
            self.assertGreaterEqual(int(m.group(1)), 600)
            self.assertIn("no poll for 600 s, as CapMonster Cloud asks",
                          cd.log())

    def test_capmonster_zero_balance(self):
        """Balance 0 is a value; a report refused for zero balance pauses the
        account (repeating it gets the key blocked)."""
        with services_sim() as sim:
            sim.state({"services": {"capmonster": {"zero_balance": True}}})
            with daemon(account(sim, "capmonster", balance=True)) as cd:
                cd.wait_for(lambda: gauge(cd, "gauge-balance") == 0, 10,
                            "balance 0")
                a, b = task_ids("capmonster", 2)
                notify(cd, "capmonster", "failure", "image", a)
                cd.wait_for(lambda: gauge(cd, "gauge-reports-state") == 3, 10,
                            "paused")
                notify(cd, "capmonster", "failure", "image", b)
                cd.wait_for(lambda: counter(cd, "paused") == 1, 10, "paused")
                self.assertEqual(len(reports(sim, "capmonster")), 1)
                self.assertIn("ERROR_ZERO_BALANCE", cd.log())

    def test_2captcha_report_not_recorded_is_rejected(self):
        """ERROR_REPORT_NOT_RECORDED (complaint ratio over 40%), sent with
        errorId 1: rejected, the account goes on; correct reports still go."""
        with services_sim() as sim:
            sim.state({"services": {"2captcha": {"complaint_ratio_exceeded": True}}})
            with daemon(account(sim, "2captcha")) as cd:
                a, b, c = task_ids("2captcha", 3)
                notify(cd, "2captcha", "failure", "recaptcha", a)
                cd.wait_for(lambda: counter(cd, "rejected") == 1, 10, "rejected")
                notify(cd, "2captcha", "okay", "recaptcha", b)
                notify(cd, "2captcha", "failure", "image", c)
                cd.wait_for(lambda: counter(cd, "accepted") == 1 and
                            counter(cd, "rejected") == 2, 10,
                            "1 accepted, 2 rejected")
                self.assertEqual(counter(cd, "paused"), 0)
                self.assertEqual(gauge(cd, "gauge-reports-state"), 0)
                self.assertIn("ERROR_REPORT_NOT_RECORDED", cd.log())

    def test_capsolver_task_error_with_http_400_is_rejected(self):
        """CapSolver answers a task's refusal with HTTP 400 and a JSON body:
        rejected, not a pause of the account."""
        with services_sim() as sim, daemon(account(sim, "capsolver")) as cd:
            a, b = task_ids("capsolver", 2)
            sim.tasks("capsolver", {a: time.time() - 3600})  # gone at the sim
            notify(cd, "capsolver", "failure", "recaptcha", a)
            cd.wait_for(lambda: counter(cd, "rejected") == 1, 10, "rejected")
            notify(cd, "capsolver", "failure", "recaptcha", b)
            cd.wait_for(lambda: counter(cd, "accepted") == 1, 10, "accepted")
            self.assertEqual(counter(cd, "paused"), 0)
            self.assertEqual([r["status"] for r in reports(sim, "capsolver")],
                             [400, 200])
            self.assertIn("ERROR_TASKID_INVALID", cd.log())


class Duplicates(unittest.TestCase):
    def test_duplicates_per_service(self):
        """The same notification twice: one request, counted duplicate. A
        task the service says was reported already: rejected (its own
        answer for it), and the account goes on."""
        for service in SERVICES:
            with self.subTest(service=service), services_sim() as sim, \
                    daemon(account(sim, service)) as cd:
                a, b, c = task_ids(service, 3)
                sim.mark_reported(service, [b])
                notify(cd, service, "failure", "image", a)
                notify(cd, service, "failure", "image", a)
                notify(cd, service, "failure", "image", b)
                notify(cd, service, "failure", "image", c)
                cd.wait_counts(lambda n: counter(cd, n), {
                    "accepted": 2, "rejected": 1, "duplicate": 1})
                self.assertEqual(counter(cd, "paused"), 0)
                sent = [r["body"]["taskId"] for r in reports(sim, service)]
                self.assertEqual(sorted(map(str, sent)), sorted([a, b, c]))


class Window(unittest.TestCase):
    def test_window_per_service(self):
        """A task completed more than the window ago (60 s at every service)
        is expired, never sent; one within it is sent."""
        for service in SERVICES:
            with self.subTest(service=service), services_sim() as sim, \
                    daemon(account(sim, service)) as cd:
                old, fresh = task_ids(service, 2)
                notify(cd, service, "failure", "image", old, t=time.time() - 61)
                notify(cd, service, "failure", "image", fresh,
                       t=time.time() - 30)
                cd.wait_counts(lambda n: counter(cd, n),
                               {"accepted": 1, "expired": 1})
                self.assertEqual([str(r["body"]["taskId"])
                                  for r in reports(sim, service)], [fresh])


class Config(unittest.TestCase):
    """What a service cannot serve is refused at load time, one line naming
    the service and the option."""

    CASES = [
        ("queue", "capmonster", 'Queue "Recaptcha Proxyless"', "Queue"),
        ("explicit total", "2captcha", "Total true", "Total"),
        ("report-rate guard", "capsolver", "IncorrectReportShare 10",
         "IncorrectReportShare"),
    ]

    def config(self, service, extra="", key=None):
        return ('<Account "a">\n Service "%s"\n ClientKey "%s"\n'
                ' URL "http://127.0.0.1:9/%s"\n%s\n</Account>'
                % (service, key or KEYS[service], service, extra))

    def error_lines(self, out):
        return [l for l in out.splitlines()
                if "anticaptcha plugin:" in l and "error" in l.lower()]

    def test_options_a_service_lacks(self):
        for name, service, extra, option in self.CASES:
            with self.subTest(case=name):
                code, out = plugin_config_test(self.config(service, extra))
                self.assertNotEqual(code, 0, out)
                lines = self.error_lines(out)
                self.assertEqual(len(lines), 1, out)
                self.assertIn('option "%s"' % option, lines[0])
                self.assertIn(service, lines[0])
                assert_no_key_in(out, KEYS[service])

    def test_report_rule_a_service_lacks(self):
        conf = self.config("capmonster") + (
            '\n<Report "ok">\n Account "a"\n Plugin "solver"\n'
            ' Method "reportCorrectRecaptcha"\n</Report>')
        code, out = plugin_config_test(conf)
        self.assertNotEqual(code, 0, out)
        lines = self.error_lines(out)
        self.assertEqual(len(lines), 1, out)
        self.assertIn('option "Method"', lines[0])
        self.assertIn("capmonster", lines[0])

    def test_unknown_service(self):
        code, out = plugin_config_test(self.config("deathbycaptcha",
                                                   key=TEST_KEY))
        self.assertNotEqual(code, 0, out)
        lines = self.error_lines(out)
        self.assertEqual(len(lines), 1, out)
        self.assertIn('option "Service"', lines[0])

    def test_what_each_service_takes(self):
        ok = [("anti-captcha", 'Queue "Recaptcha Proxyless"\n Total true'),
              ("2captcha", "Total false"),
              ("capmonster", ""),
              ("capsolver", "")]  # a 68-character key
        with services_sim() as sim:
            for service, extra in ok:
                with self.subTest(service=service):
                    conf = self.config(service, extra).replace(
                        "http://127.0.0.1:9", sim.http_url)
                    code, out = plugin_config_test(conf)
                    self.assertEqual(code, 0, out)
                    self.assertEqual(self.error_lines(out), [])
        # Anti-Captcha's keys keep their 32-character limit.
        code, out = plugin_config_test(self.config("anti-captcha",
                                                   key=KEYS["capsolver"]))
        self.assertNotEqual(code, 0, out)
        self.assertIn('option "ClientKey"', out)


class Mixed(unittest.TestCase):
    def test_one_account_per_service(self):
        """Four accounts, one per service, in one collectd: each account's
        polls and reports reach only its own service, with its own key; each
        balance is its service's."""
        with services_sim() as sim:
            set_balances(sim)
            config = "".join(account(sim, s, name=s.replace("-", ""),
                                     balance=True) for s in SERVICES)
            with daemon(config) as cd:
                ids = {s: task_ids(s, 2) for s in SERVICES}
                for s in SERVICES:
                    name = s.replace("-", "")
                    notify(cd, s, "failure", "recaptcha", ids[s][0], name=name)
                    notify(cd, s, "okay", "recaptcha", ids[s][1], name=name)
                for s in SERVICES:
                    name = s.replace("-", "")
                    cd.wait_for(lambda: gauge(cd, "gauge-balance", name)
                                is not None, 10, "%s's balance" % s)
                    want = sum(1 for k in ("reportIncorrectRecaptcha",
                                           "reportCorrectRecaptcha")
                               if METHOD[s][k])
                    cd.wait_for(lambda: counter(cd, "accepted", name) == want,
                                10, "%s's reports" % s)
                time.sleep(1)
                log = sim.requests()
                self.assertTrue(log)
                # Every request carried the key of the service it reached.
                self.assertEqual([r for r in log if not r["key_ok"]], [])
                for s in SERVICES:
                    name = s.replace("-", "")
                    self.assertAlmostEqual(gauge(cd, "gauge-balance", name),
                                           BALANCES[s])
                    mine = [r for r in log if r["dialect"] == s]
                    methods = {r["method"] for r in mine}
                    expected = {"getBalance"} | {
                        METHOD[s][k] for k in ("reportIncorrectRecaptcha",
                                               "reportCorrectRecaptcha")
                        if METHOD[s][k]}
                    if s == "anti-captcha":
                        expected.add("getSpendingStats")  # Total true
                    self.assertEqual(methods, expected, s)
                    got = {str(r["body"]["taskId"]) for r in mine
                           if r["method"] in REPORT_METHODS}
                    self.assertEqual(got, {t for t, k in zip(
                        ids[s], ("reportIncorrectRecaptcha",
                                 "reportCorrectRecaptcha")) if METHOD[s][k]})
                for s in SERVICES:
                    cd.assert_no_key(KEYS[s])


if __name__ == "__main__":
    runner.main()

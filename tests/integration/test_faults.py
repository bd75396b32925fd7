"""The fault matrix: every fault the simulated API can inject, against the
spending reader and the report sender, in one real collectd.

Each row of the matrix gets its own sim and two accounts in the same daemon:
"r-<row>" polls getSpendingStats (the total, every second; the sim's fault
rule for it matches the no-queue request only) and "s-<row>" sends reports
(its reader polls one queue, once, unharmed). All rows run at once: the
outage starts before collectd does, reports are raised one second in, the
faults are cleared (the API recovers) OUTAGE seconds later, and one more
report per row follows the recovery. Per row the test then checks that

* collectd stayed up and kept serving other plugins (the load plugin's
  values keep coming, unixsock answers at once);
* nothing untrue was dispatched: no spending value during a failure, and
  every value dispatched equals what the API served;
* the failure was logged once for the outage, naming the account and the
  errorCode (or HTTP status / transport failure / unusable answer), and the
  recovery was logged once;
* report A (window open past the recovery) reached the API exactly once and
  nothing was sent for it after success; report B (window closing during the
  outage) was never sent after its window; report C (after the recovery) went
  through;
* the counters (derive-getSpendingStats-*, derive-reports-*) say the same;

and prints the matrix as observed. Timings: Interval 1, MaxReadInterval 4
(collectd doubles a failing reader's interval: 2, 4, 4 ...), Timeout 3,
Window 30.
"""

import re
import threading
import time
import unittest

from harness import (Collectd, KEY_FILE, KEY_FILES, Sim, TEST_KEY,
                     assert_no_key_in, free_port, timeout_factor)
import runner

TIMEOUT = 3          # each account's Timeout
WINDOW = 30          # the sender's Window
OUTAGE = 9           # seconds from the first reports to the recovery
B_LEFT = 4           # report B's window closes this long after it is raised
REPORT = "reportIncorrectRecaptcha"
HTML = ("<!DOCTYPE html><html><head><title>%d</title></head><body><h1>Server "
        "error</h1><p>Please try again later.</p></body></html>")
# The errors that concern the account, not the task (plugin/api_errors.h):
# the sender pauses the account's reports for minutes and counts them
# "paused" instead of sending each to be refused.
ACCOUNT_ERRORS = (1, 11, 21, 55)
ERRORS = {1: "ERROR_KEY_DOES_NOT_EXIST", 10: "ERROR_ZERO_BALANCE",
          11: "ERROR_IP_NOT_ALLOWED", 16: "ERROR_NO_SUCH_CAPCHA_ID",
          21: "ERROR_IP_BLOCKED", 55: "ERROR_ACCOUNT_SUSPENDED"}

# Answers with wrong JSON types, for getSpendingStats (one per queue of the
# r-types account, so every one is served at every poll) and for reports
# (consumed one per attempt, the last one for the rest of the outage).
WRONG_SPENDING = [
    '{"errorId":null,"data":[]}',
    '{"errorId":"zero","data":[]}',
    '{"errorId":[0],"data":[]}',
    '{"errorId":{"a":{"b":[null,{}]}},"data":[]}',
    '{"errorId":0,"data":"[]"}',
    '{"errorId":0,"data":null}',
    '{"errorId":0,"data":{"dateFrom":1}}',
    '{"errorId":0,"data":[[1700000000,1700003599,1,0.1]]}',
    '{"errorId":0,"data":[{"dateFrom":null,"dateTill":1700003599,"volume":1,"money":0.1}]}',
    '{"errorId":0,"data":[{"dateFrom":1700000000,"dateTill":true,"volume":1,"money":0.1}]}',
    '{"errorId":0,"data":[{"dateFrom":1700000000,"dateTill":1700003599,"volume":"lots","money":0.1}]}',
    '{"errorId":0,"data":[{"dateFrom":1700000000,"dateTill":1700003599,"volume":1,"money":{"usd":[0.1]}}]}',
    '{"errorId":0,"data":[{"dateFrom":1700000000,"dateTill":1700003599,"volume":1}]}',
    '["errorId",0,"data",[]]',
    '"success"',
]
WRONG_REPORT = [
    '{"errorId":null,"status":"success"}',
    '{"errorId":"ok","status":"success"}',
    '{"errorId":[0],"status":"success"}',
    '{"errorId":{"x":[{},null]},"status":"success"}',
    '{"errorId":true}',
    '{"errorId":0.5}',
    '{"status":"success"}',
    '[0,"success"]',
    '"success"',
    'null',
]


def err(code):
    return {"action": "error", "errorId": code, "errorCode": ERRORS[code],
            "errorDescription": "simulated %s" % ERRORS[code]}


def http(status):
    return {"action": "http", "status": status, "body": HTML % status,
            "content_type": "text/html"}


def body(text, content_type="application/json", status=200):
    return {"action": "body", "body": text, "content_type": content_type,
            "status": status}


# name, what the table calls it, kind, spending rule(s), report rule(s).
# kind: "transient" (retried, recovers), "final" (API error: never retried),
# "ok" (a valid if unusual answer: no failure at all).
# processed: the sim acts on the report before the fault eats its answer
# (slow, oversize), so the API has the report although the plugin never
# heard back: its retry is answered errorId 16 ("already reported").
ROWS = [
    dict(name="refused", what="connection refused", kind="transient"),
    dict(name="hang", what="accepts, never answers (Timeout 3)",
         kind="transient", spending={"action": "hang"}, report={"action": "hang"}),
    dict(name="drip", what="answers byte by byte, 20 B/s (past Timeout)",
         kind="transient", processed=True,
         spending={"action": "slow", "bytes_per_second": 20},
         report={"action": "slow", "bytes_per_second": 20}),
    dict(name="slowok", what="answers slowly, within Timeout (reports byte by byte)",
         kind="ok", spending={"action": "slow", "bytes_per_second": 2500},
         report={"action": "slow", "bytes_per_second": 99}),
    dict(name="http500", what="HTTP 500, HTML body", kind="transient",
         spending=http(500), report=http(500)),
    dict(name="http502", what="HTTP 502, HTML body", kind="transient",
         spending=http(502), report=http(502)),
    dict(name="http503", what="HTTP 503, HTML body", kind="transient",
         spending=http(503), report=http(503)),
    dict(name="truncated", what="truncated JSON", kind="transient",
         spending=body('{"errorId":0,"data":[{"dateFrom":1700000000,"dateTill":17000'),
         report=body('{"errorId":0,"sta')),
    dict(name="notjson", what="not JSON (HTTP 200)", kind="transient",
         spending=body("Service temporarily unavailable\n", "text/plain"),
         report=body("<html><body>OK</body></html>", "text/html")),
    dict(name="oversize", what="body over the 256 KiB cap (300 KiB)",
         kind="transient", processed=True,
         spending={"action": "oversize", "bytes": 300 * 1024},
         report={"action": "oversize", "bytes": 300 * 1024}),
    dict(name="types", what="wrong JSON types in every field", kind="transient",
         spending=[body(t) for t in WRONG_SPENDING],
         report=[dict(body(t), times=1) for t in WRONG_REPORT[:-1]]
         + [body(WRONG_REPORT[-1])]),
] + [
    dict(name="err%d" % code, what="errorId %d %s" % (code, name), kind="final",
         code=code, account=code in ACCOUNT_ERRORS, spending=err(code), report=err(code))
    for code, name in sorted(ERRORS.items())
] + [
    dict(name="empty", what='empty "data" array', kind="ok",
         spending=body('{"errorId":0,"data":[]}'),
         report=body('{"errorId":0,"data":[]}')),
]

for i, row in enumerate(ROWS):
    row["index"] = i
    row.setdefault("processed", False)
    row.setdefault("account", False)
    # The r-types account polls one queue per wrong answer; the others the
    # total ("all").
    row["series"] = ([("wt_%d" % k, "wt-%d" % k) for k in range(len(WRONG_SPENDING))]
                     if row["name"] == "types" else [("all", None)])
    row["tasks"] = {x: 700000 + 10 * i + n for n, x in enumerate("ABC", 1)}


def spending_rules(row):
    rules = []
    spending = row.get("spending")
    if spending is None:
        return rules
    if isinstance(spending, list):  # one per queue
        for (_, queue), rule in zip(row["series"], spending):
            rules.append(dict(rule, method="getSpendingStats", queue=queue))
    else:
        rules.append(dict(spending, method="getSpendingStats", queue=""))
    return rules


def report_rules(row):
    rep = row.get("report")
    if rep is None:
        return []
    return [dict(r, method=REPORT) for r in (rep if isinstance(rep, list) else [rep])]


def accounts_config(rows, urls):
    parts = []
    for row in rows:
        url = urls[row["name"]]
        queues = "".join('    Queue "%s"\n' % q for _, q in row["series"] if q)
        parts.append('''
  <Account "r-%s">
    ClientKeyFile "@TMP@/%s"
    URL "%s"
%s    Total %s
    Balance false
    Interval 1
    Timeout %d
  </Account>
  <Account "s-%s">
    ClientKeyFile "@TMP@/%s"
    URL "%s"
    Queue "Recaptcha Proxyless"
    Total false
    Balance false
    Interval 3600
    Timeout %d
  </Account>''' % (row["name"], KEY_FILE, url, queues,
                   "false" if queues else "true", TIMEOUT,
                   row["name"], KEY_FILE, url, TIMEOUT))
    parts.append("  Window %d" % WINDOW)
    return "\n".join(parts)


def last(rows):
    return rows[-1][1][0] if rows else None


class FaultMatrix(unittest.TestCase):
    """One collectd, all faults at once; per-row tests read what happened."""

    @classmethod
    def setUpClass(cls):
        cls.obs = {}
        cls.sims = {}
        cls.cd = None
        cls.started = time.monotonic()
        try:
            cls.run_matrix()
        finally:
            cls.shutdown()

    @classmethod
    def shutdown(cls):
        try:
            if cls.cd is not None:
                cd, cls.cd = cls.cd, None
                try:
                    cd.stop()
                    try:
                        assert_no_key_in(cd.dir, exclude=(KEY_FILE,))
                        cls.key_problem = None
                    except AssertionError as e:
                        cls.key_problem = str(e)
                finally:
                    cd.__exit__(None, None, None)  # raises on sanitizer reports
                    cls.log = cd.log()
        finally:
            for sim in cls.sims.values():
                sim.__exit__(None, None, None)
            cls.wall = time.monotonic() - cls.started

    @classmethod
    def run_matrix(cls):
        now = time.time()
        urls = {}
        refused_port = free_port()
        # The sims start together: a fixed clock keeps their records (and
        # expected()) still should an hour end during the test.
        threads = []
        for row in ROWS:
            if row["name"] == "refused":
                urls["refused"] = "http://127.0.0.1:%d" % refused_port
                continue

            def start(row=row):
                sim = Sim(now=now, quiet=True)
                sim.__enter__()
                cls.sims[row["name"]] = sim
            threads.append(threading.Thread(target=start))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if len(cls.sims) != len(ROWS) - 1:
            raise AssertionError("not every sim started")
        for row in ROWS:
            sim = cls.sims.get(row["name"])
            if sim is not None:
                urls[row["name"]] = sim.http_url
                sim.faults(spending_rules(row) + report_rules(row))

        cls.cd = Collectd(accounts_config(ROWS, urls),
                          files=KEY_FILES,
                          plugins=("load",),
                          # One write thread: with collectd's default five, a
                          # loaded machine may write two hours of one series
                          # out of order and the cache refuses the older
                          # (the matrix checks every hour, not the threads).
                          global_config="MaxReadInterval 4\nWriteThreads 1")
        cls.cd.__enter__()
        cd = cls.cd
        time.sleep(1)

        # Reports: A's window stays open past the recovery, B's closes
        # during the outage.
        t1 = time.time()
        cls.t1 = t1
        for row in ROWS:
            for task, t in (("A", t1), ("B", t1 - (WINDOW - B_LEFT))):
                cd.putnotif("failure", time=float(t), message="rejected",
                            plugin="anticaptcha", plugin_instance="s-" + row["name"],
                            type="recaptcha", type_instance=str(row["tasks"][task]))
        cls.b_deadline = t1 + B_LEFT

        # Mid-outage: other plugins and unixsock still served?
        time.sleep(OUTAGE / 2)
        t = time.monotonic()
        listval = cd.unixsock("LISTVAL")
        cls.unixsock_latency = time.monotonic() - t
        cls.listval_ok = listval.split(" ", 1)[0].isdigit() and int(listval.split(" ", 1)[0]) > 0
        time.sleep(max(0, t1 + OUTAGE - time.time()))

        # End of the outage: what was dispatched so far, then recovery.
        cls.during = {row["name"]: cls.spending_rows(row) for row in ROWS}
        cls.log_during = cd.log()
        cls.t_clear = time.time()
        cls.cleared = {}  # when each row's API recovered
        for name, sim in cls.sims.items():
            sim.clear_faults()
            cls.cleared[name] = time.time()
        sim = Sim(now=now, quiet=True, args=("--port", str(refused_port)))
        sim.__enter__()
        cls.sims["refused"] = sim
        cls.cleared["refused"] = time.time()

        # Recovery: every reader dispatches again, every A is delivered.
        def recovered():
            log = cd.log()
            for row in ROWS:
                if row["kind"] != "ok" and \
                        'Account "r-%s": getSpendingStats works again' % row["name"] not in log:
                    return False
                for slug, _ in row["series"]:
                    if not [r for r in cd.csv("anticaptcha-r-" + row["name"],
                                              "count-%s-volume_24h" % slug)
                            if r[0] > cls.cleared[row["name"]]]:
                        return False
                if not cls.report_settled(row, "A"):
                    return False
            return True
        cd.wait_for(recovered, 30, "every reader and report A to recover")

        # C: a report after the recovery.
        t2 = time.time()
        for row in ROWS:
            cd.putnotif("failure", time=float(t2), message="rejected",
                        plugin="anticaptcha", plugin_instance="s-" + row["name"],
                        type="recaptcha", type_instance=str(row["tasks"]["C"]))
        cd.wait_for(lambda: all(cls.report_settled(r, "C") for r in ROWS
                                if not r.get("account")), 15,
                    "every report C")

        # The counters: dispatched every second; wait until they add up.
        def counters_settled():
            for row in ROWS:
                c = cls.counters(row)
                if c["accepted"] + c["rejected"] + c["expired"] + \
                        c["paused"] + c["unconfirmed"] < 3:
                    return False
            return True
        cd.wait_for(counters_settled, 10, "the report counters")
        time.sleep(1.5)
        for row in ROWS:
            o = cls.obs[row["name"]] = {}
            o["counters"] = cls.counters(row)
            o["spending"] = cls.spending_rows(row)
            o["failures"] = last(cd.csv("anticaptcha-r-" + row["name"],
                                        "derive-getSpendingStats-failures"))
            o["requests"] = last(cd.csv("anticaptcha-r-" + row["name"],
                                        "derive-getSpendingStats-requests"))
            sim = cls.sims[row["name"]]
            o["sim_spending"] = sim.requests("getSpendingStats")
            o["sim_reports"] = sim.requests(REPORT)
            o["sim_output"] = sim.output()
            o["expected"] = {slug: sim.expected(q) for slug, q in row["series"]}
        cls.load_rows = cd.csv("load", "load")
        cls.alive_at_end = cd.alive()

    @classmethod
    def report_settled(cls, row, task):
        """The plugin heard a final answer to a report for the task: after
        the recovery any answer, during the outage an API error (final rows)
        or the unusual but valid answer (ok rows)."""
        sim = cls.sims.get(row["name"])
        if sim is None:
            return False
        for r in sim.requests(REPORT):
            if r["body"] and r["body"].get("taskId") == row["tasks"][task] \
                    and r["status"] == 200 and heard(row, r):
                return True
        return False

    @classmethod
    def counters(cls, row):
        names = ("sent", "accepted", "rejected", "expired", "duplicate",
                 "dropped", "retried", "abandoned", "paused", "throttled",
                 "unconfirmed")
        return {n: last(cls.cd.csv("anticaptcha-s-" + row["name"],
                                   "derive-reports-" + n)) or 0 for n in names}

    @classmethod
    def spending_rows(cls, row):
        out = {}
        for slug, _ in row["series"]:
            for what in ("count-%s-volume_24h", "gauge-%s-money_24h",
                         "count-%s-volume_1h", "gauge-%s-money_1h"):
                name = what % slug
                out[name] = cls.cd.csv("anticaptcha-r-" + row["name"], name)
        return out

    # ----- the table ----------------------------------------------------------

    @classmethod
    def tearDownClass(cls):
        if not getattr(cls, "obs", None) or len(cls.obs) != len(ROWS):
            return
        lines = ["", "Fault matrix (%d rows, one collectd, %.0f s wall; A/B/C: "
                 "reports raised during the outage with the window open past "
                 "the recovery / closing in the outage, and after it)" %
                 (len(ROWS), cls.wall),
                 "| Fault | Reader: during outage | Reader: logged | Reader: "
                 "failures/requests | Reports A / B / C | sent/retried/accepted/"
                 "rejected/expired | Sender: logged |",
                 "|---|---|---|---|---|---|---|"]
        for row in ROWS:
            o = cls.obs[row["name"]]
            lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                row["what"], o.get("t_reader_during", "?"),
                o.get("t_reader_log", "?"), o.get("t_reader_counts", "?"),
                o.get("t_abc", "?"), "/".join(str(int(o["counters"][k])) for k in (
                    "sent", "retried", "accepted", "rejected", "expired")),
                o.get("t_sender_log", "?")))
        lines.append("collectd: up throughout; load plugin values during the "
                     "outage: %s; unixsock LISTVAL mid-outage answered in %.3f s"
                     % (cls.load_summary(), cls.unixsock_latency))
        print("\n".join(lines))

    @classmethod
    def load_summary(cls):
        n = len([r for r in cls.load_rows if cls.t1 <= r[0] <= cls.t_clear])
        return "%d in %.0f s" % (n, cls.t_clear - cls.t1)

    # ----- tests ------------------------------------------------------------

    def test_collectd_up_and_serving_other_plugins(self):
        self.assertTrue(self.alive_at_end)
        in_outage = [r for r in self.load_rows if self.t1 <= r[0] <= self.t_clear]
        self.assertGreaterEqual(len(in_outage), OUTAGE - 3, "load plugin starved")
        self.assertTrue(self.listval_ok)
        self.assertLess(self.unixsock_latency, 1.0)

    def test_key_never_written(self):
        self.assertIsNone(self.key_problem)
        assert_no_key_in(self.log)
        for row in ROWS:
            assert_no_key_in(self.obs[row["name"]]["sim_output"])
            for r in self.obs[row["name"]]["sim_reports"] + \
                    self.obs[row["name"]]["sim_spending"]:
                self.assertNotIn(TEST_KEY, repr(r))


def short(cause):
    """The logged cause without its variable details, for the table."""
    cause = re.sub(r" after \d+ ms:.*", "", cause)           # refused
    cause = re.sub(r" after \d+ milliseconds.*", "", cause)  # timeout
    return cause.replace("Failed to connect to 127.0.0.1 port", "connect to port")


def heard(row, r):
    """The plugin got this answer (status 200) in full: no fault, an API
    error fault, or any fault of an "ok" row."""
    return r["fault"] is None or r["fault"] == "error" or row["kind"] == "ok"


def lines_for(log, account, *needles):
    return [l for l in log.splitlines() if 'Account "%s"' % account in l
            and all(n in l for n in needles)]


def check_reader(self, row):
    o = self.obs[row["name"]]
    acct = "r-" + row["name"]
    during = self.during[row["name"]]
    expected = o["expected"]
    failed = lines_for(self.log, acct, "getSpendingStats", "failed")
    again = lines_for(self.log, acct, "getSpendingStats works again")
    if row["kind"] == "ok":
        self.assertEqual(failed, [])
        self.assertEqual(o["failures"], 0)
        if row["name"] == "empty":
            # No records is a fact: 24 h sums of 0, no hourly values.
            v = during["count-all-volume_24h"]
            self.assertTrue(v)
            self.assertTrue(all(x[1][0] == 0 for x in v), v)
            self.assertEqual(during["count-all-volume_1h"], [])
            o["t_reader_during"] = "sums 0 (%d polls), no hourly values" % len(v)
        else:
            o["t_reader_during"] = "values as served"
        o["t_reader_log"] = "nothing"
    else:
        dispatched = {k: v for k, v in during.items() if v}
        self.assertEqual(dispatched, {}, "dispatched during the outage")
        self.assertEqual(len(failed), 1, failed)
        self.assertEqual(len(again), 1, again)
        line = failed[0]
        self.assertIn('Account "%s"' % acct, line)
        if row["kind"] == "final":
            self.assertIn("errorCode %s" % ERRORS[row["code"]], line)
            self.assertIn("errorId %d" % row["code"], line)
            level = "[warning]" if row["code"] == 10 else "[error]"
            self.assertIn(level, line)
            cause = "errorCode %s (%s)" % (ERRORS[row["code"]], level.strip("[]"))
        else:
            for key in ("HTTP status", "transport failure", "unusable answer"):
                if key in line:
                    cause = short(line.split("failed: ", 1)[1].split(";")[0])
                    break
            else:
                self.fail("no cause in %r" % line)
            if row["name"].startswith("http"):
                self.assertIn("HTTP status %s" % row["name"][4:], line)
            if row["name"] == "oversize":
                self.assertIn("larger than 262144 bytes", line)
        o["t_reader_during"] = "nothing"
        o["t_reader_log"] = "1 line: %s; 1 \"works again\"" % cause
        # Every faulted request is a failure, every other one is not.
        faulted = len([r for r in o["sim_spending"] if r["fault"]])
        served = len(o["sim_spending"])
        per_poll = len(row["series"])
        # (A poll or two may be under way when the counters are read.)
        if row["name"] == "refused":
            self.assertGreaterEqual(o["failures"], 2)
            self.assertIn(served - (o["requests"] - o["failures"]), range(2 * per_poll + 1))
        else:
            self.assertEqual(o["failures"], faulted)
            self.assertIn(served - o["requests"], range(2 * per_poll + 1))
        # A first failed poll asks for every series, later ones probe one.
        self.assertGreaterEqual(o["failures"], per_poll + 1)
    o["t_reader_counts"] = "%d/%d" % (o["failures"], o["requests"])
    # Whatever was dispatched is what the API served (after the recovery:
    # the real records; the empty row's zeros are checked above).
    for slug, _ in row["series"]:
        recs = expected[slug]
        # (A poll stamps its values with its start.)
        recovered = self.cleared[row["name"]]
        vols = [r for r in sound(self, o["spending"]["count-%s-volume_24h" % slug])
                if r[0] > recovered or row["name"] != "empty"]
        self.assertTrue(vols, slug)
        for _, v in vols:
            self.assertEqual(v[0], sum(r["volume"] for r in recs))
        for _, v in [r for r in sound(self, o["spending"]["gauge-%s-money_24h" % slug])
                     if r[0] > recovered or row["name"] != "empty"]:
            self.assertAlmostEqual(v[0], sum(r["money"] for r in recs), places=4)
        # Each hourly record once, at its dateTill, oldest first.
        raw = o["spending"]["count-%s-volume_1h" % slug]
        hours = sound(self, raw)
        by_till = {float(r["dateTill"]): float(r["volume"]) for r in recs}
        times = [t for t, _ in hours]
        self.assertEqual(times, sorted(set(times)))
        for t, v in hours:
            self.assertEqual(v[0], by_till.get(t), t)
        self.assertEqual(len(raw), len(recs))


def sound(self, rows):
    """CSV rows minus one the csv plugin may have garbled: its write threads
    race to create a new file (fopen "w" writes the header over a line
    another thread has just appended), which valgrind's pace makes likely
    for the back-fill. At most one such line, at the top of the file."""
    bad = [r for r in rows if r[0] < 1e9]
    self.assertLessEqual(len(bad), 1, rows[:3])
    return [r for r in rows if r[0] >= 1e9]


def check_sender(self, row):
    o = self.obs[row["name"]]
    acct = "s-" + row["name"]
    c = o["counters"]
    reqs = o["sim_reports"]
    by_task = {x: [r for r in reqs if r["body"] and r["body"].get("taskId") == tid]
               for x, tid in row["tasks"].items()}
    # Nothing but A, B and C was ever sent, each as an integer task id.
    self.assertEqual(sum(len(v) for v in by_task.values()), len(reqs))

    def success(r):
        return heard(row, r) and r["status"] == 200 and \
            isinstance(r["answer"], dict) and r["answer"].get("errorId") == 0

    def processed(r):
        # The sim's own report logic ran (it remembers the task id).
        return r["status"] == 200 and r["fault"] in (None, "slow", "oversize")

    for x in "ABC":
        got = by_task[x]
        # Never sent again once the plugin heard an answer.
        final = [i for i, r in enumerate(got) if r["status"] == 200 and heard(row, r)]
        if final:
            self.assertEqual(final[0], len(got) - 1, "%s sent after its answer" % x)
    # B: never sent after its window.
    for r in by_task["B"]:
        self.assertLessEqual(r["time"], self.b_deadline + 0.5, "B sent late")

    failing = lines_for(self.log, acct, REPORT, "failed:")
    refused = lines_for(self.log, acct, REPORT, "was refused")
    again = lines_for(self.log, acct, "reports go through again")
    kind = row["kind"]
    if kind == "ok":
        self.assertEqual(failing + refused, [])
        self.assertEqual(again, [])
        self.assertEqual((c["sent"], c["accepted"], c["retried"], c["expired"]),
                         (3, 3, 0, 0))
        for x in "ABC":
            self.assertEqual(len(by_task[x]), 1, x)
        o["t_abc"] = "accepted at once, each sent once"
        o["t_sender_log"] = "nothing"
    elif kind == "final" and row["account"]:
        # A and B went out together, or B came after A's refusal and was
        # held; C, after the recovery, falls within the account's pause.
        self.assertIn(c["rejected"], (1, 2), c)
        self.assertEqual((c["sent"], c["paused"], c["accepted"], c["retried"],
                          c["expired"]), (c["rejected"], 3 - c["rejected"], 0,
                                          0, 0))
        self.assertEqual([len(by_task[x]) for x in "AC"], [1, 0])
        self.assertLessEqual(len(by_task["B"]), 1)
        self.assertEqual(len(refused), 1, refused)
        self.assertIn("errorCode %s" % ERRORS[row["code"]], refused[0])
        self.assertIn("concerns the account", refused[0])
        self.assertEqual(failing + again, [])
        o["t_abc"] = "rejected once; then the account paused: B (if not " \
                     "sent with A) and C counted paused, not sent"
        o["t_sender_log"] = "1 line: errorCode %s, account paused" % \
            ERRORS[row["code"]]
    elif kind == "final":
        self.assertEqual((c["sent"], c["rejected"], c["accepted"], c["retried"],
                          c["expired"]), (3, 2, 1, 0, 0))
        self.assertEqual([len(by_task[x]) for x in "ABC"], [1, 1, 1])
        self.assertTrue(success(by_task["C"][0]))
        self.assertEqual(len(refused), 1, refused)
        self.assertIn("errorCode %s" % ERRORS[row["code"]], refused[0])
        self.assertEqual(failing, [])
        self.assertEqual(len(again), 1, again)
        o["t_abc"] = "rejected once, not retried / same / accepted"
        o["t_sender_log"] = "1 line: errorCode %s; 1 \"go through again\"" % \
            ERRORS[row["code"]]
    else:
        # A: reached the API exactly once, before its window closed.
        delivered_a = [r for r in by_task["A"] if processed(r)]
        self.assertTrue(delivered_a, "A never reached the API")
        self.assertLessEqual(delivered_a[0]["time"], self.t1 + WINDOW)
        self.assertTrue(success(by_task["C"][-1]))
        self.assertEqual(c["expired"], 1, c)
        # A, C and B once each, plus the retries; B not at all when A's
        # failure came back before B was taken: the account then sends one
        # probe at a time, A first (the oldest), and B's window closes.
        self.assertIn(c["sent"] - c["retried"], (2, 3), c)
        self.assertEqual(c["duplicate"] + c["dropped"] + c["abandoned"], 0, c)
        self.assertGreaterEqual(c["retried"], 2)
        if row["processed"]:
            # The first attempt reached the API but its answer was lost; the
            # retry after the recovery hears errorId 16: already reported.
            # Delivered, most likely: counted unconfirmed, not rejected.
            self.assertEqual((c["accepted"], c["rejected"], c["unconfirmed"]),
                             (1, 0, 1), c)
            self.assertFalse(any(success(r) for r in by_task["A"]))
            self.assertEqual(by_task["A"][-1]["answer"]["errorId"], 16)
            self.assertEqual(refused, [])
            a_text = "reached the API on attempt 1 (answer lost), retry " \
                     "heard errorId 16: unconfirmed"
        else:
            self.assertEqual((c["accepted"], c["rejected"], c["unconfirmed"]),
                             (2, 0, 0), c)
            self.assertEqual(len([r for r in by_task["A"] if success(r)]), 1)
            self.assertEqual(refused, [])
            a_text = "delivered once after the recovery (%d attempts)" % \
                len(by_task["A"]) if row["name"] != "refused" else \
                "delivered once after the recovery"
        self.assertFalse(any(success(r) for r in by_task["B"]))
        self.assertEqual(len(failing), 1, failing)
        self.assertEqual(len(again), 1, again)
        cause = short(failing[0].split("failed: ", 1)[1].split("; retrying")[0])
        o["t_abc"] = "%s / expired, none sent after its window / accepted" % a_text
        o["t_sender_log"] = "1 line: %s; 1 \"go through again\"" % cause


def make_tests():
    for row in ROWS:
        setattr(FaultMatrix, "test_reader_%02d_%s" % (row["index"], row["name"]),
                lambda self, row=row: check_reader(self, row))
        setattr(FaultMatrix, "test_sender_%02d_%s" % (row["index"], row["name"]),
                lambda self, row=row: check_sender(self, row))


make_tests()

# ---- getQueueStats: the same faults against the <QueueStats> reader ----
# One sim, one collectd with a <QueueStats> block that lists one vendor queue
# id per row; each row's fault rule matches its queueId. "refused" needs a
# dead port: its own collectd with a one-queue block. The block is polled
# every 10 s at most (the vendor's cache): MaxReadInterval 10 keeps
# collectd's back-off there, and the outage lasts Q_OUTAGE seconds so that
# every queue fails at least twice.
Q_OUTAGE = 22
Q_IDS = (1, 2, 5, 6, 7, 10, 12, 13, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29)
Q_FIELDS = (("count", "waiting"), ("percent", "load"), ("gauge", "bid"),
            ("duration", "speed"), ("count", "total"))
Q_BODIES = {
    "truncated": body('{"errorId":0,"waiting":24'),
    "types": body('{"errorId":0,"waiting":"lots","load":[1],"bid":{"usd":1}}'),
    # No figure at all: for getQueueStats an empty answer is unusable.
    "empty": body('{"errorId":0,"data":[]}'),
}


def queue_kind(row):
    return "transient" if row["name"] == "empty" else row["kind"]


def queue_rule(row, queue_id):
    rule = Q_BODIES.get(row["name"], row.get("spending"))
    if rule is None or isinstance(rule, list):
        return []
    return [dict(rule, method="getQueueStats", queue_id=queue_id)]


def queue_block(url, ids):
    return ("  <QueueStats>\n%s    URL \"%s\"\n    Interval 10\n"
            "    Timeout %d\n  </QueueStats>"
            % ("".join("    Queue %d\n" % i for i in ids), url, TIMEOUT))


class QueueStatsFaultMatrix(unittest.TestCase):
    """getQueueStats under every fault of the matrix, all rows at once."""

    @classmethod
    def setUpClass(cls):
        cls.ids = {row["name"]: Q_IDS[i] for i, row in enumerate(ROWS)}
        cls.sim = cls.dead_sim = cls.cd = cls.cd_refused = None
        try:
            cls.run_matrix()
        finally:
            for cd in (cls.cd, cls.cd_refused):
                if cd is not None:
                    cd.__exit__(None, None, None)
            for sim in (cls.sim, cls.dead_sim):
                if sim is not None:
                    sim.__exit__(None, None, None)

    @classmethod
    def run_matrix(cls):
        refused_port = free_port()
        cls.sim = Sim(quiet=True)
        cls.sim.__enter__()
        rules = []
        for row in ROWS:
            rules += queue_rule(row, cls.ids[row["name"]])
        cls.sim.faults(rules)
        ids = [cls.ids[r["name"]] for r in ROWS if r["name"] != "refused"]
        cls.cd = Collectd(queue_block(cls.sim.http_url, ids), plugins=("load",),
                          global_config="MaxReadInterval 10")
        cls.cd_refused = Collectd(
            queue_block("http://127.0.0.1:%d" % refused_port,
                        [cls.ids["refused"]]),
            global_config="MaxReadInterval 10")
        cls.cd.__enter__()
        cls.cd_refused.__enter__()
        cls.t_start = time.time()
        time.sleep(Q_OUTAGE)
        cls.t_clear = time.time()
        cls.during = {row["name"]: cls.figures(row) for row in ROWS}
        cls.sim.clear_faults()
        cls.dead_sim = Sim(quiet=True, args=("--port", str(refused_port)))
        cls.dead_sim.__enter__()

        def recovered():
            return all(cls.figures(row, since=cls.t_clear + 0.5).get("total")
                       for row in ROWS)
        slow = timeout_factor()  # 4 under COLLECTD_WRAPPER (valgrind)
        cls.cd.wait_for(recovered, 40 * slow, "every queue to recover")
        cls.cd_refused.wait_for(recovered, 5 * slow,
                                "the refused queue to recover")
        cls.after = {row["name"]: cls.figures(row, since=cls.t_clear + 0.5)
                     for row in ROWS}
        cls.served = {row["name"]: cls.source(row).control(
            "GET", "queue_stats?queueId=%d" % cls.ids[row["name"]])
            for row in ROWS}
        cls.requests = {row["name"]: [
            r for r in cls.source(row).requests("getQueueStats")
            if r["body"] and r["body"].get("queueId") == cls.ids[row["name"]]]
            for row in ROWS}
        cls.logs = {"refused": cls.cd_refused.log(), "*": cls.cd.log()}
        cls.alive = cls.cd.alive() and cls.cd_refused.alive()
        cls.load_rows = cls.cd.csv("load", "load")

    @classmethod
    def source(cls, row):
        return cls.dead_sim if row["name"] == "refused" else cls.sim

    @classmethod
    def daemon(cls, row):
        return cls.cd_refused if row["name"] == "refused" else cls.cd

    @classmethod
    def figures(cls, row, since=0.0):
        """{field: [values]} dispatched for the row's queue after `since`."""
        out = {}
        for t, f in Q_FIELDS:
            rows = cls.daemon(row).csv("anticaptcha-queues", "%s-%s-%s" % (
                t, slug_of(cls.ids[row["name"]]), f))
            out[f] = [v[0] for ts, v in rows if ts > since]
        return out

    @classmethod
    def tearDownClass(cls):
        table = getattr(cls, "table", {})
        if len(table) != len(ROWS):
            return
        lines = ["", "getQueueStats fault matrix (%d rows, one queue each, "
                 "%d s outage)" % (len(ROWS), Q_OUTAGE),
                 "| Fault | During outage | Logged | Requests (faulted) |",
                 "|---|---|---|---|"]
        for row in ROWS:
            lines.append("| %s | %s |" % (row["what"], table[row["name"]]))
        print("\n".join(lines))

    def test_collectd_up_and_serving_other_plugins(self):
        self.assertTrue(self.alive)
        in_outage = [r for r in self.load_rows
                     if self.t_start <= r[0] <= self.t_clear]
        self.assertGreaterEqual(len(in_outage), Q_OUTAGE - 4)


def slug_of(queue_id):
    return re.sub(r"[^a-z0-9]+", "_", QUEUE_NAMES[queue_id].lower())


# The vendor's names (anti-captcha.com/apidoc/methods/getQueueStats), which
# the plugin dispatches an id given as a number under.
QUEUE_NAMES = {
    1: "ImageToText, English", 2: "ImageToText, Russian",
    5: "Recaptcha v2 with proxy", 6: "Recaptcha v2 without proxy",
    7: "Funcaptcha with proxy", 10: "Funcaptcha without proxy",
    12: "GeeTest with proxy", 13: "GeeTest without proxy",
    18: "Recaptcha V3 s0.3", 19: "Recaptcha V3 s0.7", 20: "Recaptcha V3 s0.9",
    21: "hCaptcha with proxy", 22: "hCaptcha without proxy",
    23: "Recaptcha Enterprise V2 with proxy",
    24: "Recaptcha Enterprise V2 without proxy", 25: "AntiGateTask",
    26: "Turnstile with proxy", 27: "Turnstile without proxy",
    28: "Image Coordinates", 29: "Hcaptcha Enterprise",
}


def check_queue(self, row):
    name = row["name"]
    qid = self.ids[name]
    log = self.logs["refused" if name == "refused" else "*"]
    label = 'getQueueStats (queue "%d"' % qid
    failed = [l for l in log.splitlines() if label in l and "failed:" in l]
    again = [l for l in log.splitlines() if label in l and "works again" in l]
    served = self.served[name]
    reqs = self.requests[name]
    # Never more often than every 10 s, outage or not (the vendor's cache).
    times = [r["time"] for r in reqs]
    for a, b in zip(times, times[1:]):
        self.assertGreaterEqual(b - a, 10 - 0.5 * timeout_factor(), times)
    faulted = len([r for r in reqs if r["fault"]])
    if queue_kind(row) == "ok":
        self.assertEqual(failed, [])
        for f, values in self.during[name].items():
            self.assertTrue(values, f)
            for v in values:
                self.assertAlmostEqual(v, served[f], places=6)
        summary = "values as served | nothing"
    else:
        # Nothing untrue: no figure of the queue while it failed.
        self.assertEqual({f: v for f, v in self.during[name].items() if v}, {})
        self.assertEqual(len(failed), 1, failed)
        self.assertEqual(len(again), 1, again)
        line = failed[0]
        self.assertIn("[error]", line)
        if queue_kind(row) == "final":
            self.assertIn("errorId %d, errorCode %s" % (row["code"],
                                                        ERRORS[row["code"]]), line)
        elif name.startswith("http"):
            self.assertIn("HTTP status %s" % name[4:], line)
        elif name == "oversize":
            self.assertIn("larger than 262144 bytes", line)
        elif name in ("refused", "hang", "drip"):
            self.assertIn("transport failure", line)
        else:
            self.assertIn("unusable answer", line)
        if name != "refused":  # polled (and failing) at least twice
            self.assertGreaterEqual(faulted, 2)
        summary = "nothing | 1 line: %s; 1 \"works again\"" % short(
            line.split("failed: ", 1)[1].split("; ")[0])
    # After the recovery: exactly what the API served.
    for f, values in self.after[name].items():
        self.assertTrue(values, f)
        for v in values:
            self.assertAlmostEqual(v, served[f], places=6, msg=f)
    if not hasattr(type(self), "table"):
        type(self).table = {}
    type(self).table[name] = "%s | %d (%d)" % (
        summary, len(reqs), faulted if name != "refused" else 0)


def make_queue_tests():
    for row in ROWS:
        setattr(QueueStatsFaultMatrix,
                "test_queue_%02d_%s" % (row["index"], row["name"]),
                lambda self, row=row: check_queue(self, row))


make_queue_tests()

if __name__ == "__main__":
    runner.main()

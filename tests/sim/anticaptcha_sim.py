#!/usr/bin/env python3
"""Simulated Anti-Captcha API for the collectd-anticaptcha tests and demo.

Serves the seven API methods the plugin uses (see /work/shared/API.md), on
loopback only, over plain HTTP and optionally HTTPS, plus a control API under
/_sim/ (plain-HTTP port only) to inspect the requests received, inject faults
and change the simulated account's state.

It also speaks the other services of doc/services.md, each a "dialect":
a path under /capmonster/, /2captcha/ or /capsolver/ (e.g.
POST /capsolver/feedbackTask) gets that service's methods, answers and
error semantics; /anti-captcha/ and a path without prefix get Anti-Captcha's
(--dialect changes what a path without prefix gets, so one sim process per
port can stand for one service). Per dialect:
  anti-captcha  as before; a registered task (/_sim/tasks) is refused with
                errorId 16 more than 60 s after its completion
  capmonster    getBalance, reportIncorrectImageCaptcha,
                reportIncorrectTokenCaptcha (+ the aliases
                reportIncorrectRecaptcha, reportIncorrectHcaptcha); every
                error is errorId 1 with the meaning in errorCode; after
                block_after requests refused for the key or zero balance
                within block_period s, every request gets ERROR_IP_BANNED
                for block_seconds (600), a request during the block starting
                it again; registered tasks refused after 300 s
  2captcha      getBalance, reportIncorrect, reportCorrect; errorIds
                numbered like Anti-Captcha's; a second report of a task gets
                ERROR_DUPLICATE_REPORT, a report of a registered task after
                900 s or an incorrect report while complaint_ratio_exceeded
                gets ERROR_REPORT_NOT_RECORDED (both with report_error_id,
                default 1: the pages give no errorId for them, and 1 is the
                worst case for a client that reads errorId)
  capsolver     getBalance (+ packages), feedbackTask (taskId a UUID string,
                result.invalid a boolean); errors are errorId 1 + errorCode
                with HTTP 400 (401 ERROR_KEY_DENIED_ACCESS for a refused
                key); an unknown method is a plain-text 404; a second
                feedback gets ERROR_INVALID_TASK_DATA, a registered task
                after 300 s ERROR_TASKID_INVALID
Keys may be given per dialect (--dialect-key-file); a dialect without its own
keys accepts the global ones.

Design notes:
- One asyncio event loop with a small hand-written HTTP/1.1 parser. All sim
  state lives in the loop's thread, so no locks are needed, and delays, hangs
  and slow answers cost a sleeping coroutine rather than a thread.
- The HTTPS listener accepts plain TCP and upgrades with start_tls(), so a
  connection whose TLS handshake fails (unknown CA, host mismatch, ...) is
  still counted in /_sim/stats ("connections", "tls_handshake_failures").
- Every answer carries a Date header from the sim's clock (state "now" or
  "offset"), the clock its hours follow.
- The client key is never printed and never stored: the request log keeps a
  redacted copy of every body (clientKey -> "<redacted>") plus "key_ok".

Control API (plain-HTTP port only; JSON in and out; not in the request log;
connections used for it are not counted in "connections"):
  GET    /_sim/requests[?method=M&since=SEQ]  API requests, in order: seq, time,
         method, path, http_method, headers, body (parsed, clientKey
         "<redacted>") or null, raw (redacted), key_ok, status (null when no
         answer was sent), answer (parsed) or null, fault, connection, tls
  GET    /_sim/stats     connections, tls_connections, tls_handshake_failures,
         control_connections, open_connections, requests, by_method,
         by_status, log_dropped
  GET/POST/DELETE /_sim/faults   list of rules, replaced by POST
  GET/POST /_sim/state   POST merges: balance (any JSON), captcha_credits
         (int or null = absent), records (0..24), shuffle, numbers_as_strings
         (also balance/captchaCredits), latency (s), now (epoch or null: fixed
         clock for getSpendingStats), offset (s added to the real clock when
         now is null: a running clock moved ahead, or behind), queue_stats
         ({queueId: {waiting, load, bid, speed, total}}: served as given for
         that queue id), idle ([[from, till], ...]: the hours starting in
         [from, till) had no task, so getSpendingStats has no record for them)
  GET    /_sim/queue_stats?queueId=N   the getQueueStats fields served now
         for N, native numbers (the answer sends bid as a string)
  POST   /_sim/reset     clears log, stats, reported task ids, faults, state
  GET    /_sim/expected[?queue=Q&date=T]   records served now for Q (absent or
         empty: the total), oldest first, native numbers
  POST   /_sim/tasks     {"dialect": D (anti-captcha), "tasks": {id: epoch}}:
         when these tasks were completed, for the dialect's report window
  POST   /_sim/reported  {"dialect": D, "tasks": [id, ...]}: taken as
         already reported (by any key): the next report is a duplicate
  GET    /_sim/service?dialect=D   the dialect's live state: blocked_until
         (epoch or null), bad_requests (recent refusals counted for a block)
  /_sim/requests also takes dialect=D; every entry names its "dialect".
  State "services": {D: {balance (null: the global one), zero_balance,
         complaint_ratio_exceeded, report_error_id, block_after,
         block_period, block_seconds, packages}}, merged per dialect.

Fault rule: {"method": name or "*" (default), "dialect": optional (only
requests of that dialect), "queue": optional ("" = the
no-queue request), "queue_id": optional (matches getQueueStats' queueId),
"task": optional (only a report of this taskId), "times": N (omitted/null =
forever), "action": ...}; the
first matching rule wins and a rule with times is consumed. Actions:
  error    errorId, errorCode, errorDescription: API error, HTTP 200
  http     status (503), body (""), content_type (text/html), headers ({})
  delay    seconds: then the normal answer
  body     body: raw text as the answer; status (200), content_type
  hang     read the request, never answer
  slow     bytes_per_second: the normal answer (headers too) dribbled out
  oversize bytes: the normal answer padded to exactly that size, valid JSON
  close    close without answering; "reset": true sends a TCP RST
  chunked  chunk_size (7): normal answer in chunked transfer encoding

Python standard library only (3.11).
"""

import argparse
import asyncio
import collections
import email.utils
import hashlib
import ipaddress
import json
import os
import random
import re
import signal
import socket
import ssl
import struct
import sys
import time
import traceback
import urllib.parse
from http import HTTPStatus

import sim_services
from sim_services import DIALECTS

DEFAULT_KEY = "demo-key"
REDACTED = "<redacted>"

# Known queues and their price per task (USD). The no-queue ("total") answer
# is the sum over exactly these queues. Prices have 6 significant decimals so
# that money values really use the 6 decimals the vendor's answers show.
KNOWN_QUEUES = {
    "Recaptcha Proxyless": 0.001953,
    "English ImageToText": 0.000717,
    "Recaptcha V3": 0.002381,
    "ImageToText": 0.000489,
}

API_METHODS = (
    "getSpendingStats",
    "getBalance",
    "reportCorrectRecaptcha",
    "reportIncorrectRecaptcha",
    "reportIncorrectImageCaptcha",
    "reportIncorrectHcaptcha",
    "getQueueStats",
)
REPORT_METHODS = API_METHODS[2:6]

# getQueueStats: the queue ids of the vendor's getQueueStats page
# (anti-captcha.com/apidoc/methods/getQueueStats). Other ids get an API error.
QUEUE_IDS = (1, 2, 5, 6, 7, 10, 12, 13) + tuple(range(18, 30))
ERR_NO_QUEUE = (2, "ERROR_BAD_REQUEST", "queueId is not a known queue")

# API error answers. The real API's errorId 2 is ERROR_NO_SLOT_AVAILABLE; the
# sim uses 2 for "malformed request" as the project agreed: the plugin must key
# its behaviour on errorCode/errorId from the table in API.md, and never sends a
# malformed request in the first place.
ERR_BAD_REQUEST = (2, "ERROR_BAD_REQUEST", "Malformed request")
ERR_KEY = (1, "ERROR_KEY_DOES_NOT_EXIST",
           "Account authorization key not found in the system")
ERR_NO_METHOD = (14, "ERROR_NO_SUCH_METHOD",
                 "Request to API made with method which does not exist")
ERR_NO_CAPTCHA_ID = (16, "ERROR_NO_SUCH_CAPCHA_ID",
                     "Captcha you are requesting does not exist in your current "
                     "captchas list or has been expired")

FAULT_ACTIONS = ("error", "http", "delay", "body", "hang", "slow", "oversize",
                 "close", "chunked")


MAX_HEADER_BYTES = 64 * 1024   # request line + headers
MAX_BODY_BYTES = 1024 * 1024   # request body
LOG_ANSWER_LIMIT = 64 * 1024   # answers bigger than this are logged as null

DEFAULT_STATE = {
    "balance": 12.345678,
    "captcha_credits": 0,      # null: field absent from getBalance answers
    "records": 24,
    "shuffle": False,
    "numbers_as_strings": False,
    "latency": 0.0,
    "now": None,               # fixed clock for getSpendingStats, epoch secs
    "offset": 0,               # else the real clock plus this, seconds
    "queue_stats": {},         # queueId (string) -> getQueueStats answer fields
    "idle": [],                # [[from, till], ...]: hours without a record
    "services": {},            # dialect -> SERVICE_DEFAULTS overrides
}

# Matches the value of a clientKey member in raw JSON text, even when the text
# is truncated or the value is not a string, so it can be redacted.
CLIENTKEY_RE = re.compile(r'("clientKey"\s*:\s*)("(?:[^"\\]|\\.)*"|[^,}\s]*)')


def is_json_int(v):
    """A JSON integer: Python int but not bool (json.loads gives float for 1.0)."""
    return isinstance(v, int) and not isinstance(v, bool)


def api_error(err, description=None):
    err_id, code, desc = err
    return {"errorId": err_id, "errorCode": code,
            "errorDescription": description or desc}


def reason(status):
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"


class AnswerText(str):
    """Answer JSON text that is served many times: keeps its parsed form
    (for the request log) so it is parsed once."""
    __slots__ = ("_parsed",)

    def parsed(self):
        try:
            return self._parsed
        except AttributeError:
            self._parsed = json.loads(self)
            return self._parsed


class Closed(Exception):
    """The connection must be closed without (further) answer."""


# ---------------------------------------------------------------------------
# Deterministic statistics
# ---------------------------------------------------------------------------

def _h(*parts):
    return hashlib.sha256("\x00".join(str(p) for p in parts).encode()).digest()


def queue_price(queue):
    if queue in KNOWN_QUEUES:
        return KNOWN_QUEUES[queue]
    # Unknown queues get a stable made-up price too.
    k = int.from_bytes(_h("price", queue)[:2], "big") % 40
    return round(0.0003 + k * 0.000071, 6)


def queue_record(queue, date_from):
    """(volume, money) of one queue for the hour starting at date_from."""
    volume = 100 + int.from_bytes(_h(queue, date_from)[:4], "big") % 4901
    return volume, round(volume * queue_price(queue), 6)


def spending_records(queue, count, date=None, now=None, idle=()):
    """Without `date`: the `count` completed clock hours before now, oldest
    first. With `date` (getSpendingStats' parameter, API.md): the hours from
    date's clock hour on, at most `count`, those completed by now only.
    queue None or "" means the total over KNOWN_QUEUES. `now`: the sim's
    clock (default the real one). `idle`: [from, till) ranges whose hours
    had no task: no record for them (the API's answers hold 0 to 24)."""
    if now is None:
        now = time.time()
    end = int(now) - int(now) % 3600  # no statistics for unfinished hours
    if date is None:
        starts = [end - 3600 * k for k in range(count, 0, -1)]
    else:
        first = int(date) - int(date) % 3600
        starts = [first + 3600 * k for k in range(count)
                  if first + 3600 * k < end]
    records = []
    for date_from in starts:
        if date_from < 0 or any(a <= date_from < b for a, b in idle):
            continue
        if queue:
            volume, money = queue_record(queue, date_from)
        else:
            volume, money = 0, 0.0
            for q in KNOWN_QUEUES:
                v, m = queue_record(q, date_from)
                volume += v
                money += m
            money = round(money, 6)
        records.append({"dateFrom": date_from, "dateTill": date_from + 3599,
                        "volume": volume, "money": money})
    return records


def render_records(records, as_strings):
    """JSON text of the data array, money with exactly 6 decimals."""
    parts = []
    for r in records:
        vals = (r["dateFrom"], r["dateTill"], r["volume"])
        money = "%.6f" % r["money"]
        if as_strings:
            parts.append('{"dateFrom":"%d","dateTill":"%d","volume":"%d","money":"%s"}'
                         % (vals + (money,)))
        else:
            parts.append('{"dateFrom":%d,"dateTill":%d,"volume":%d,"money":%s}'
                         % (vals + (money,)))
    return "[" + ",".join(parts) + "]"


# ---------------------------------------------------------------------------
# The simulator
# ---------------------------------------------------------------------------

async def start_tls(writer, ctx, timeout):
    """Upgrades a server-side stream to TLS: StreamWriter.start_tls() where
    Python has it (3.11+); on older Pythons (Debian 11's 3.9) the same steps
    through the event loop, rebinding what the 3.11 method rebinds."""
    if hasattr(writer, "start_tls"):
        await writer.start_tls(ctx, ssl_handshake_timeout=timeout)
        return
    protocol = writer.transport.get_protocol()
    await writer.drain()
    transport = await asyncio.get_running_loop().start_tls(
        writer.transport, protocol, ctx, server_side=True,
        ssl_handshake_timeout=timeout)
    writer._transport = transport
    protocol._transport = transport
    protocol._over_ssl = True


class Request:
    __slots__ = ("verb", "path", "query", "version", "headers", "body",
                 "keep_alive")


class Sim:
    def __init__(self, keys, initial_state, quiet, max_log,
                 dialect="anti-captcha", dialect_keys=None):
        self.keys = set(keys)
        self.dialect = dialect  # what a path without prefix speaks
        self.dialect_keys = {d: set(k) for d, k in (dialect_keys or {}).items()}
        self.services = sim_services.Services(self)
        self.initial_state = dict(initial_state)
        self.quiet = quiet
        self.max_log = max_log
        self.conn_counter = 0
        self.open_conns = 0
        self.tasks = set()
        self.answer_cache = {}
        self.reset()

    def reset(self):
        self.epoch = getattr(self, "epoch", 0) + 1
        self.state = dict(self.initial_state)
        self.state["services"] = sim_services.merge_services(
            {}, self.initial_state.get("services", {}))
        self.services.reset()
        self.log = collections.deque(maxlen=self.max_log)
        self.seq = 0
        self.faults = []
        self.stats = {"connections": 0, "tls_connections": 0,
                      "tls_handshake_failures": 0, "control_connections": 0,
                      "requests": 0,
                      "by_method": {}, "by_status": {}, "log_dropped": 0}

    # ----- redaction -------------------------------------------------------

    def now(self):
        """The sim's clock for statistics: state "now" when set (so that a
        test is not disturbed by an hour boundary), else the real time."""
        if self.state["now"] is not None:
            return self.state["now"]
        return time.time() + self.state["offset"]

    def clock(self):
        """The real clock (report windows, CapMonster's block)."""
        return time.time()

    def all_keys(self):
        keys = set(self.keys)
        for k in self.dialect_keys.values():
            keys |= k
        return keys

    def redact_text(self, text, extra_secret=None):
        text = CLIENTKEY_RE.sub(lambda m: m.group(1) + '"' + REDACTED + '"', text)
        secrets = list(self.all_keys())
        # A wrong key sent by a client is a secret too, unless too short to
        # replace safely (the regex above already handled the usual case).
        if isinstance(extra_secret, str) and len(extra_secret) >= 8:
            secrets.append(extra_secret)
        for s in secrets:
            if s and s in text:
                text = text.replace(s, REDACTED)
        return text

    def redact_value(self, v, top=True):
        if isinstance(v, dict):
            return {k: (REDACTED if top and k == "clientKey"
                        else self.redact_value(x, False)) for k, x in v.items()}
        if isinstance(v, list):
            return [self.redact_value(x, False) for x in v]
        if isinstance(v, str) and v in self.all_keys():
            return REDACTED
        return v

    # ----- faults ------------------------------------------------------------

    @staticmethod
    def validate_faults(rules):
        if isinstance(rules, dict):
            rules = [rules]
        if not isinstance(rules, list):
            raise ValueError("faults must be a list of rule objects")
        out = []
        for r in rules:
            if not isinstance(r, dict):
                raise ValueError("a fault rule must be an object")
            r = dict(r)
            if r.get("action") not in FAULT_ACTIONS:
                raise ValueError("action must be one of %s" % ", ".join(FAULT_ACTIONS))
            r.setdefault("method", "*")
            if not isinstance(r["method"], str):
                raise ValueError("method must be a string")
            if "dialect" in r and r["dialect"] not in DIALECTS:
                raise ValueError("dialect must be one of %s" % ", ".join(DIALECTS))
            if "queue" in r and not isinstance(r["queue"], str):
                raise ValueError("queue must be a string")
            if "queue_id" in r and not is_json_int(r["queue_id"]):
                raise ValueError("queue_id must be an integer")
            times = r.get("times")
            if times is not None and not (is_json_int(times) and times >= 0):
                raise ValueError("times must be a non-negative integer")
            for num in ("seconds", "bytes_per_second", "bytes", "status",
                        "chunk_size", "errorId"):
                if num in r and not (isinstance(r[num], (int, float))
                                     and not isinstance(r[num], bool)
                                     and r[num] >= 0):
                    raise ValueError("%s must be a non-negative number" % num)
            if r["action"] == "slow" and not r.get("bytes_per_second", 1) > 0:
                raise ValueError("bytes_per_second must be > 0")
            out.append(r)
        return out

    def take_fault(self, method, body, dialect="anti-captcha"):
        queue = None
        if isinstance(body, dict):
            q = body.get("queue")
            queue = q if isinstance(q, str) else ("" if q is None else None)
        for r in self.faults:
            if r["method"] not in ("*", method):
                continue
            if "dialect" in r and r["dialect"] != dialect:
                continue
            if "queue" in r and r["queue"] != queue:
                continue
            if "queue_id" in r and not (isinstance(body, dict) and
                                        body.get("queueId") == r["queue_id"]):
                continue
            if "task" in r and not (isinstance(body, dict)
                                    and body.get("taskId") == r["task"]):
                continue
            if r.get("times") is not None:
                if r["times"] <= 0:
                    continue
                r["times"] -= 1
            return r
        return None

    # ----- API ---------------------------------------------------------------

    def api_answer(self, method, body, dialect="anti-captcha"):
        """Normal (fault-free) answer: (http status, answer dict or JSON text,
        content type or None for JSON)."""
        if dialect != "anti-captcha":
            return self.services.answer(dialect, method, body,
                                        body.get("clientKey"))
        status, answer = self.anti_captcha_answer(method, body)
        return status, answer, None

    def anti_captcha_answer(self, method, body):
        if method not in API_METHODS:
            return 200, api_error(ERR_NO_METHOD)
        if method == "getQueueStats":  # the only method without a key
            return self.get_queue_stats(body)
        key = body.get("clientKey")
        if not self.services.key_ok("anti-captcha", key):
            return 200, api_error(ERR_KEY)
        if method == "getSpendingStats":
            return self.get_spending_stats(body)
        if method == "getBalance":
            return self.get_balance()
        return self.report(key, body)

    def get_spending_stats(self, body):
        for field, ok, what in (("queue", lambda v: isinstance(v, str), "a string"),
                                ("ip", lambda v: isinstance(v, str), "a string"),
                                ("date", is_json_int, "an integer"),
                                ("softId", is_json_int, "an integer")):
            if field in body and not ok(body[field]):
                return 200, api_error(ERR_BAD_REQUEST, "%s must be %s" % (field, what))
        if body.get("date", 0) < 0:
            return 200, api_error(ERR_BAD_REQUEST, "date must not be negative")
        return 200, self.spending_answer(body.get("queue"), body.get("date"))

    def spending_answer(self, queue, date):
        """getSpendingStats answer text. Without shuffling the text depends
        only on (queue, hour, count, as_strings): cache it, because hashing
        24-96 records per request would cost most of the sim's throughput."""
        count, as_strings = self.state["records"], self.state["numbers_as_strings"]
        now = self.now()
        cache_key = (queue or "", int(now) // 3600,
                     None if date is None else int(date) // 3600, count,
                     as_strings, tuple(map(tuple, self.state["idle"])))
        if not self.state["shuffle"] and cache_key in self.answer_cache:
            return self.answer_cache[cache_key]
        records = spending_records(queue, count, date, now, self.state["idle"])
        if self.state["shuffle"]:
            random.shuffle(records)
            return '{"errorId":0,"data":%s}' % render_records(records, as_strings)
        text = AnswerText('{"errorId":0,"data":%s}'
                          % render_records(records, as_strings))
        if len(self.answer_cache) > 512:
            self.answer_cache.clear()
        self.answer_cache[cache_key] = text
        return text

    def queue_stats(self, queue_id):
        """The getQueueStats fields served for queue_id (native numbers):
        state "queue_stats" when set for it, else made up from the id."""
        fixed = self.state["queue_stats"].get(str(queue_id))
        if fixed is not None:
            return dict(fixed)
        h = _h("queue", queue_id)
        total = 50 + int.from_bytes(h[:2], "big") % 950
        return {"waiting": int.from_bytes(h[2:4], "big") % total,
                "load": round((h[4] * 256 + h[5]) % 10000 / 100.0, 2),
                "bid": round(0.0005 + (h[6] * 256 + h[7]) / 1e8, 10),
                "speed": round(3 + (h[8] * 256 + h[9]) % 4000 / 100.0, 2),
                "total": total}

    def get_queue_stats(self, body):
        """Answers like the vendor's example: bid as a string (always),
        the other numbers native unless numbers_as_strings."""
        queue_id = body.get("queueId")
        if not is_json_int(queue_id) or queue_id <= 0:
            return 200, api_error(ERR_BAD_REQUEST,
                                  "queueId must be a positive integer")
        if "templateName" in body and not isinstance(body["templateName"], str):
            return 200, api_error(ERR_BAD_REQUEST, "templateName must be a string")
        if queue_id not in QUEUE_IDS and str(queue_id) not in self.state["queue_stats"]:
            return 200, api_error(ERR_NO_QUEUE)
        ans = {"errorId": 0}
        for k, v in self.queue_stats(queue_id).items():
            as_string = k == "bid" or self.state["numbers_as_strings"]
            ans[k] = str(v) if as_string and isinstance(v, (int, float)) else v
        return 200, ans

    def get_balance(self):
        ans = {"errorId": 0, "balance": self.state["balance"]}
        if self.state["captcha_credits"] is not None:
            ans["captchaCredits"] = self.state["captcha_credits"]
        if self.state["numbers_as_strings"]:
            for k in ("balance", "captchaCredits"):
                if isinstance(ans.get(k), (int, float)):
                    ans[k] = str(ans[k])
        return 200, ans

    def report(self, key, body):
        task_id = body.get("taskId")
        if not is_json_int(task_id) or task_id <= 0:
            return 200, api_error(ERR_BAD_REQUEST,
                                  "taskId must be a positive integer")
        # Only a task registered through /_sim/tasks has a known completion
        # time, hence a window; a task reported before is refused alike.
        k = sim_services.task_key("anti-captcha", task_id)
        if self.services.late("anti-captcha", k) or \
                self.services.seen_before("anti-captcha", key, k):
            return 200, api_error(ERR_NO_CAPTCHA_ID)
        return 200, {"errorId": 0, "status": "success"}

    # ----- connection handling ---------------------------------------------

    async def handle_conn(self, reader, writer, tls_ctx):
        task = asyncio.current_task()
        self.tasks.add(task)
        self.conn_counter += 1
        conn_id = self.conn_counter
        self.stats["connections"] += 1
        conn_epoch = self.epoch
        self.open_conns += 1
        try:
            if tls_ctx is not None:
                try:
                    await start_tls(writer, tls_ctx, 10)
                except (OSError, ssl.SSLError, asyncio.TimeoutError, EOFError,
                        ConnectionError):
                    self.stats["tls_handshake_failures"] += 1
                    return
                self.stats["tls_connections"] += 1
            counted_as_control = False
            while True:
                req = await self.read_request(reader, writer)
                if req is None:
                    return
                if req.path.startswith("/_sim/") or req.path == "/_sim":
                    if not counted_as_control and tls_ctx is None:
                        # Connections used for the control API are not the
                        # plugin's: keep them out of "connections" so tests
                        # can count the plugin's connections exactly.
                        counted_as_control = True
                        if self.epoch == conn_epoch:  # else already cleared
                            self.stats["connections"] -= 1
                        self.stats["control_connections"] += 1
                    if tls_ctx is not None:
                        await self.send(writer, 404, b'{"error":"not found"}',
                                        "application/json", req.keep_alive)
                    else:
                        await self.control(req, writer)
                else:
                    await self.api(req, reader, writer, conn_id,
                                   tls_ctx is not None)
                if not req.keep_alive:
                    return
        except (Closed, ConnectionError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError, ssl.SSLError, OSError):
            pass
        except asyncio.CancelledError:
            pass  # server stopping
        except Exception:  # a broken client must never kill the server
            sys.stderr.write("anticaptcha_sim: internal error on connection %d:\n%s"
                             % (conn_id, traceback.format_exc()))
        finally:
            self.open_conns -= 1
            self.tasks.discard(task)
            try:
                writer.close()
            except Exception:
                pass

    async def read_request(self, reader, writer):
        """Parse one request; None at a clean EOF between requests."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as e:
            if e.partial.strip():
                raise Closed()
            return None
        except asyncio.LimitOverrunError:
            await self.send(writer, 431, b"request header too large\n",
                            "text/plain", False)
            raise Closed()
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            await self.send(writer, 400, b"bad request line\n", "text/plain", False)
            raise Closed()
        req = Request()
        req.verb, target, req.version = parts
        # Not urlsplit(): "//getBalance" (a client's URL-joining bug) must
        # stay a path, not become a host name.
        req.path, _, req.query = target.partition("?")
        req.headers = {}
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                await self.send(writer, 400, b"bad header\n", "text/plain", False)
                raise Closed()
            req.headers[name.strip().lower()] = value.strip()
        conn = req.headers.get("connection", "").lower()
        if req.version == "HTTP/1.0":
            req.keep_alive = "keep-alive" in conn
        else:
            req.keep_alive = "close" not in conn
        # libcurl sends "Expect: 100-continue" for larger POST bodies and waits
        # up to a second for this interim answer before sending the body.
        if req.headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in req.headers.get("transfer-encoding", "").lower():
            body = bytearray()
            while True:
                size_line = await reader.readuntil(b"\r\n")
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise Closed()
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":
                        pass  # trailers
                    break
                if len(body) + size > MAX_BODY_BYTES:
                    await self.send(writer, 413, b"body too large\n",
                                    "text/plain", False)
                    raise Closed()
                body += await reader.readexactly(size)
                await reader.readexactly(2)
            req.body = bytes(body)
        else:
            try:
                length = int(req.headers.get("content-length", "0"))
            except ValueError:
                length = -1
            if length < 0:
                await self.send(writer, 400, b"bad content-length\n",
                                "text/plain", False)
                raise Closed()
            if length > MAX_BODY_BYTES:
                await self.send(writer, 413, b"body too large\n", "text/plain",
                                False)
                raise Closed()
            req.body = await reader.readexactly(length) if length else b""
        return req

    def response_head(self, status, length, content_type, keep_alive,
                      extra=None, chunked=False):
        # Date, as every origin server with a clock sends it (RFC 9110), from
        # the sim's clock: the one its hours follow. A fault's own Date wins.
        head = ["HTTP/1.1 %d %s" % (status, reason(status)),
                "Server: anticaptcha-sim",
                "Content-Type: " + content_type]
        if not any(k.lower() == "date" for k in (extra or {})):
            head.append("Date: " + email.utils.formatdate(self.now(), usegmt=True))
        head.append("Transfer-Encoding: chunked" if chunked
                    else "Content-Length: %d" % length)
        head.append("Connection: " + ("keep-alive" if keep_alive else "close"))
        for k, v in (extra or {}).items():
            head.append("%s: %s" % (k, v))
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")

    async def send(self, writer, status, body, content_type, keep_alive,
                   extra=None):
        writer.write(self.response_head(status, len(body), content_type,
                                        keep_alive, extra) + body)
        await writer.drain()

    # ----- API request -------------------------------------------------------

    async def api(self, req, reader, writer, conn_id, tls):
        # (A key put into the URL by a broken client must not be logged.)
        path = self.redact_text(req.path)
        dialect, method = sim_services.split_path(path, self.dialect)
        raw = req.body.decode("utf-8", "replace")
        body = None
        try:
            parsed = json.loads(req.body.decode("utf-8"))
            if isinstance(parsed, dict):
                body = parsed
        except (ValueError, UnicodeDecodeError, RecursionError):
            pass
        key = body.get("clientKey") if body is not None else None
        self.seq += 1
        if len(self.log) == self.log.maxlen:
            self.stats["log_dropped"] += 1
        entry = {
            "seq": self.seq, "time": time.time(), "method": method,
            "dialect": dialect, "path": path, "http_method": req.verb,
            "headers": {k: self.redact_text(v, key) for k, v in req.headers.items()},
            "body": self.redact_value(body) if body is not None else None,
            "raw": self.redact_text(raw, key),
            "key_ok": self.services.key_ok(dialect, key),
            "status": None, "answer": None, "fault": None,
            "connection": conn_id, "tls": tls,
        }
        self.log.append(entry)
        self.stats["requests"] += 1
        bm = self.stats["by_method"]
        counted = method if dialect == "anti-captcha" else dialect + "/" + method
        bm[counted] = bm.get(counted, 0) + 1

        fault = self.take_fault(method, body, dialect)
        if fault is not None:
            entry["fault"] = fault["action"]
        latency = self.state["latency"]
        if latency and not (fault and fault["action"] in ("hang", "close")):
            await asyncio.sleep(latency)

        ctype = "application/json"
        action = fault["action"] if fault else None
        if action == "hang":
            self.note(entry)
            # Never answer; discard anything the client sends until it leaves
            # (or the server stops and cancels this task).
            while await reader.read(65536):
                pass
            raise Closed()
        if action == "close":
            self.note(entry)
            if fault.get("reset"):
                try:
                    writer.get_extra_info("socket").setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
                writer.transport.abort()
            raise Closed()
        if action == "delay":
            await asyncio.sleep(float(fault.get("seconds", 1)))

        extra = None
        if action == "error":
            err_id = int(fault.get("errorId", 1))
            status, answer = 200, {
                "errorId": err_id,
                "errorCode": fault.get("errorCode", "ERROR_SIMULATED"),
                "errorDescription": fault.get("errorDescription",
                                              "Simulated error"),
            }
        elif action == "http":
            status = int(fault.get("status", 503))
            answer = str(fault.get("body", ""))
            ctype = fault.get("content_type", "text/html")
            extra = fault.get("headers")
        elif action == "body":
            status = int(fault.get("status", 200))
            answer = str(fault.get("body", ""))
            ctype = fault.get("content_type", "application/json")
        elif req.verb != "POST":
            status, answer = 405, api_error(ERR_BAD_REQUEST, "Use POST")
            extra = {"Allow": "POST"}
        elif body is None:
            status, answer = 400, api_error(ERR_BAD_REQUEST,
                                            "Request body is not a JSON object")
        else:
            status, answer, own_type = self.api_answer(method, body, dialect)
            ctype = own_type or ctype

        if isinstance(answer, dict):
            text = json.dumps(answer, separators=(",", ":"))
        else:
            text = answer
        if action == "oversize":
            # The normal answer, still a valid JSON object, padded to exactly
            # `bytes` bytes with a leading "padding" member.
            want = int(fault.get("bytes", 2 * 1024 * 1024))
            overhead = len('"padding":"",')
            pad = max(0, want - len(text.encode()) - overhead)
            text = '{"padding":"' + "x" * pad + '",' + text[1:] \
                if text.startswith("{") and len(text) > 2 else text
        data = text.encode("utf-8")

        entry["status"] = status
        if len(data) <= LOG_ANSWER_LIMIT:
            try:
                entry["answer"] = text.parsed() if isinstance(text, AnswerText) \
                    else json.loads(text)
            except ValueError:
                entry["answer"] = None
                entry["answer_raw"] = text
        self.note(entry)

        if action == "slow":
            payload = self.response_head(status, len(data), ctype,
                                         req.keep_alive, extra) + data
            bps = float(fault.get("bytes_per_second", 10))
            # Bytes per write: 1 at low rates; batch at high ones so that
            # sleep granularity does not slow the transfer further.
            step = max(1, int(bps / 50))
            for i in range(0, len(payload), step):
                if writer.is_closing():
                    raise Closed()
                writer.write(payload[i:i + step])
                await writer.drain()
                await asyncio.sleep(step / bps)
        elif action == "chunked":
            # Valid answer in chunked transfer encoding, small chunks, so the
            # client's parser gets the body in pieces.
            size = max(1, int(fault.get("chunk_size", 7)))
            writer.write(self.response_head(status, 0, ctype, req.keep_alive,
                                            extra, chunked=True))
            for i in range(0, len(data), size):
                piece = data[i:i + size]
                writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                await writer.drain()
                await asyncio.sleep(0.001)
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        else:
            await self.send(writer, status, data, ctype, req.keep_alive, extra)

    def note(self, entry):
        st = entry["status"]
        bs = self.stats["by_status"]
        bs[str(st)] = bs.get(str(st), 0) + 1
        if not self.quiet:
            # Method name only (never the body: it holds the key).
            meth = entry["method"] if len(entry["method"]) <= 60 \
                else entry["method"][:60] + "..."
            print("%s %s%s%s" % (meth.encode("unicode_escape").decode(), st,
                                 " tls" if entry["tls"] else "",
                                 " fault=" + entry["fault"] if entry["fault"] else ""),
                  flush=True)

    # ----- control API -------------------------------------------------------

    async def control(self, req, writer):
        what = req.path[len("/_sim/"):].strip("/")
        q = urllib.parse.parse_qs(req.query)
        status, answer = 200, {"ok": True}
        try:
            body = json.loads(req.body.decode("utf-8")) if req.body.strip() else None
        except (ValueError, UnicodeDecodeError):
            body = ValueError
        try:
            if body is ValueError:
                raise ValueError("body is not JSON")
            if what == "requests" and req.verb == "GET":
                entries = list(self.log)
                if "method" in q:
                    entries = [e for e in entries if e["method"] == q["method"][0]]
                if "dialect" in q:
                    entries = [e for e in entries if e["dialect"] == q["dialect"][0]]
                if "since" in q:
                    entries = [e for e in entries if e["seq"] > int(q["since"][0])]
                answer = entries
            elif what == "stats" and req.verb == "GET":
                answer = dict(self.stats, open_connections=self.open_conns)
            elif what == "faults" and req.verb == "GET":
                answer = self.faults
            elif what == "faults" and req.verb in ("POST", "PUT"):
                self.faults = self.validate_faults(body if body is not None else [])
            elif what == "faults" and req.verb == "DELETE":
                self.faults = []
            elif what == "state" and req.verb == "GET":
                answer = self.state
            elif what == "state" and req.verb == "POST":
                changes = dict(self.validate_state(body))
                if "services" in changes:
                    changes["services"] = sim_services.merge_services(
                        self.state["services"], changes["services"])
                self.state.update(changes)
                answer = self.state
            elif what == "tasks" and req.verb == "POST":
                self.services.register_tasks(body)
            elif what == "reported" and req.verb == "POST":
                self.services.mark_reported(body)
            elif what == "service" and req.verb == "GET":
                dialect = q.get("dialect", [self.dialect])[0]
                if dialect not in DIALECTS:
                    raise ValueError("unknown dialect %r" % dialect)
                answer = self.services.live(dialect)
            elif what == "reset" and req.verb == "POST":
                self.reset()
            elif what == "queue_stats" and req.verb == "GET":
                # What getQueueStats serves now for queueId (native numbers).
                answer = self.queue_stats(int(q["queueId"][0]))
            elif what == "expected" and req.verb == "GET":
                # The records getSpendingStats would serve now, but always
                # with native numbers and in chronological order.
                date = int(q["date"][0]) if "date" in q else None
                answer = spending_records(q.get("queue", [None])[0],
                                          self.state["records"], date, self.now(),
                                          self.state["idle"])
            else:
                status, answer = 404, {"error": "unknown control request %s %s"
                                                % (req.verb, req.path)}
        except ValueError as e:
            status, answer = 400, {"error": str(e)}
        await self.send(writer, status,
                        json.dumps(answer, separators=(",", ":")).encode(),
                        "application/json", req.keep_alive)

    @staticmethod
    def validate_state(body):
        if not isinstance(body, dict):
            raise ValueError("state must be an object")
        for k, v in body.items():
            if k not in DEFAULT_STATE:
                raise ValueError("unknown state field %r" % k)
            num = isinstance(v, (int, float)) and not isinstance(v, bool)
            if k == "records" and not (is_json_int(v) and 0 <= v <= 24):
                raise ValueError("records must be an integer 0..24")
            if k in ("shuffle", "numbers_as_strings") and not isinstance(v, bool):
                raise ValueError("%s must be a boolean" % k)
            if k == "latency" and not (num and v >= 0):
                raise ValueError("latency must be a number >= 0")
            if k == "now" and not (v is None or (num and v >= 0)):
                raise ValueError("now must be an epoch time or null")
            if k == "offset" and not num:
                raise ValueError("offset must be a number of seconds")
            if k == "queue_stats" and not (isinstance(v, dict) and all(
                    isinstance(x, dict) for x in v.values())):
                raise ValueError("queue_stats must map queue ids to objects")
            if k == "idle" and not (isinstance(v, list) and all(
                    isinstance(r, list) and len(r) == 2 and all(is_json_int(x)
                                                                for x in r)
                    for r in v)):
                raise ValueError("idle must be a list of [from, till] epochs")
            if k == "captcha_credits" and not (v is None or is_json_int(v)):
                raise ValueError("captcha_credits must be an integer or null")
            if k == "services":
                sim_services.validate_services(v)
            # balance: any JSON value on purpose (to test wrong types).
        return body


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def exception_handler(loop, context):
    """asyncio reports some transport errors (a TLS peer resetting, ...) to
    the loop with a traceback: they are the clients' doing, not the sim's, so
    print one line; anything else gets the default, full report."""
    exc = context.get("exception")
    if isinstance(exc, (OSError, ssl.SSLError, EOFError)):
        sys.stderr.write("anticaptcha_sim: client connection error: %s\n"
                         % (exc.__class__.__name__,))
        return
    loop.default_exception_handler(context)


def loopback_host(host):
    """The loopback IP literal to bind, or None if host is not loopback."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    return str(ip) if ip.is_loopback else None


def read_key_file(path):
    keys = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                keys.append(line)
    return keys


def read_keys(args):
    keys = list(args.key or [])
    if args.key_file:
        keys += read_key_file(args.key_file)
    return keys or [DEFAULT_KEY]


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Simulated Anti-Captcha API (loopback only).")
    p.add_argument("--host", default="127.0.0.1",
                   help="loopback address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0,
                   help="plain HTTP port, 0 = pick a free one (default)")
    p.add_argument("--https-port", type=int, default=None,
                   help="HTTPS port, 0 = pick a free one; needs --tls-cert/--tls-key"
                        " (default: 0 when a certificate is given, else no HTTPS)")
    p.add_argument("--tls-cert", help="PEM certificate (chain) for HTTPS")
    p.add_argument("--tls-key", help="PEM private key for HTTPS")
    p.add_argument("--key", action="extend", nargs="+", metavar="KEY",
                   help="accepted client key (repeatable; default: demo-key)")
    p.add_argument("--key-file",
                   help="file with accepted client keys, one a line")
    p.add_argument("--dialect", default="anti-captcha", choices=DIALECTS,
                   help="the service a path without a dialect prefix speaks "
                        "(default anti-captcha)")
    p.add_argument("--dialect-key-file", action="append", default=[],
                   metavar="DIALECT=FILE",
                   help="keys accepted by one dialect only, one a line "
                        "(repeatable; a dialect without any accepts the "
                        "global keys)")
    p.add_argument("--ready-file",
                   help="write {http_port, https_port, pid} JSON here when up")
    p.add_argument("--latency", type=float, default=0.0,
                   help="delay in seconds before every API answer")
    p.add_argument("--now", type=float, default=None,
                   help="fixed clock (epoch seconds) for getSpendingStats: "
                        "records do not move at the hour")
    p.add_argument("--records", type=int, default=24,
                   help="records per getSpendingStats answer (0..24)")
    p.add_argument("--max-log", type=int, default=10000,
                   help="keep at most this many requests in the log")
    p.add_argument("--quiet", action="store_true",
                   help="print nothing per request")
    p.add_argument("--backlog", type=int, default=1024,
                   help="listen backlog of the API ports (5 is Python "
                        "socketserver's, and small proxies')")
    p.add_argument("--watch-parent", action="store_true",
                   help="exit when the parent process goes away (for test "
                        "harnesses that may die without stopping the sim)")
    args = p.parse_args(argv)
    host = loopback_host(args.host)
    if host is None:
        p.error("refusing to bind %r: only loopback addresses are allowed"
                % args.host)
    args.host = host
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if args.https_port is not None and not args.tls_cert:
        p.error("--https-port needs --tls-cert and --tls-key")
    if args.tls_cert and args.https_port is None:
        args.https_port = 0
    if not 0 <= args.records <= 24:
        p.error("--records must be 0..24")
    if args.latency < 0:
        p.error("--latency must be >= 0")
    try:
        args.keys = read_keys(args)
    except OSError as e:
        p.error("cannot read --key-file: %s" % e.strerror)
    args.dialect_keys = {}
    for spec in args.dialect_key_file:
        dialect, sep, path = spec.partition("=")
        if not sep or dialect not in DIALECTS:
            p.error("--dialect-key-file takes DIALECT=FILE, DIALECT one of %s"
                    % ", ".join(DIALECTS))
        try:
            args.dialect_keys.setdefault(dialect, []).extend(read_key_file(path))
        except OSError as e:
            p.error("cannot read --dialect-key-file: %s" % e.strerror)
    return args


async def serve(args):
    state = dict(DEFAULT_STATE, latency=args.latency, records=args.records,
                 now=args.now)
    sim = Sim(args.keys, state, args.quiet, max(1, args.max_log),
              args.dialect, args.dialect_keys)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(exception_handler)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    tls_ctx = None
    if args.tls_cert:
        tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_ctx.load_cert_chain(args.tls_cert, args.tls_key)
        tls_ctx.set_alpn_protocols(["http/1.1"])

    servers = []
    http = await asyncio.start_server(
        lambda r, w: sim.handle_conn(r, w, None), args.host, args.port,
        limit=MAX_HEADER_BYTES, backlog=args.backlog, reuse_address=True)
    servers.append(http)
    http_port = http.sockets[0].getsockname()[1]
    https_port = None
    if tls_ctx is not None:
        https = await asyncio.start_server(
            lambda r, w: sim.handle_conn(r, w, tls_ctx), args.host,
            args.https_port, limit=MAX_HEADER_BYTES, backlog=args.backlog,
            reuse_address=True)
        servers.append(https)
        https_port = https.sockets[0].getsockname()[1]

    ready = {"http_port": http_port, "https_port": https_port, "pid": os.getpid()}
    if args.ready_file:
        tmp = "%s.tmp.%d" % (args.ready_file, os.getpid())
        with open(tmp, "w") as f:
            json.dump(ready, f)
        os.replace(tmp, args.ready_file)
    print("anticaptcha_sim ready: http://%s:%d%s" % (
        args.host, http_port,
        " https://%s:%d" % (args.host, https_port) if https_port else ""),
        flush=True)

    if args.watch_parent:
        parent = os.getppid()

        async def watch():
            while os.getppid() == parent:
                await asyncio.sleep(0.5)
            stop.set()
        watcher = asyncio.create_task(watch())

    await stop.wait()
    if args.watch_parent:
        watcher.cancel()
    for s in servers:
        s.close()
    for t in list(sim.tasks):
        t.cancel()
    if sim.tasks:
        await asyncio.wait(list(sim.tasks), timeout=5)
    for s in servers:
        await s.wait_closed()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    except OSError as e:
        print("anticaptcha_sim: %s" % e, file=sys.stderr)
        return 1
    except ssl.SSLError as e:
        print("anticaptcha_sim: TLS setup failed: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

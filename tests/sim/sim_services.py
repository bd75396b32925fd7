"""The captcha services beside Anti-Captcha that the simulator speaks
(doc/services.md): CapMonster Cloud, 2captcha (API v2) and CapSolver, each a
"dialect" chosen by a path prefix (/capmonster/getBalance) or by the sim's
--dialect. Anti-Captcha's own answers stay in anticaptcha_sim.py; this module
holds what differs: method names, success answers, error semantics, report
windows, duplicates and CapMonster's block. Python standard library only.

Where a vendor's pages say nothing (a duplicate report at CapMonster or
CapSolver, CapSolver's report window), the sim makes a choice and says so
here and in doc/services.md: the plugin must not depend on it."""

import collections
import copy
import re

DIALECTS = ("anti-captcha", "capmonster", "2captcha", "capsolver")

# Methods each service serves (Anti-Captcha's: anticaptcha_sim.API_METHODS).
METHODS = {
    # reportIncorrectTokenCaptcha is the documented name for token captchas;
    # the two others are aliases the vendor's pages name ("also supported").
    "capmonster": ("getBalance", "reportIncorrectImageCaptcha",
                   "reportIncorrectTokenCaptcha", "reportIncorrectRecaptcha",
                   "reportIncorrectHcaptcha"),
    "2captcha": ("getBalance", "reportIncorrect", "reportCorrect"),
    "capsolver": ("getBalance", "feedbackTask"),
}

# How long after its completion a task may still be reported, for tasks
# registered through /_sim/tasks: Anti-Captcha documents 60 s, 2captcha 15
# minutes (its ERROR_REPORT_NOT_RECORDED); CapMonster and CapSolver document
# no report window but keep a task 5 minutes.
REPORT_WINDOW = {"anti-captcha": 60, "capmonster": 300, "2captcha": 900,
                 "capsolver": 300}

# Per-dialect settings (state "services": {dialect: {...}}), defaults.
SERVICE_DEFAULTS = {
    "balance": None,                    # null: the global state's balance
    "zero_balance": False,              # the account has no money left
    "complaint_ratio_exceeded": False,  # 2captcha: over 40% complaints
    "report_error_id": 1,               # 2captcha: errorId of report errors
    "block_after": 3,                   # capmonster: refusals before a block
    "block_period": 60.0,               # ... counted over this many seconds
    "block_seconds": 600.0,             # capmonster: how long a block lasts
    "packages": [],                     # capsolver: getBalance's packages
}

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")


def is_json_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def split_path(path, default):
    """(dialect, method) of a request path: "/capsolver/getBalance" ->
    ("capsolver", "getBalance"); a path without a known prefix belongs to
    `default` and its method is the path without its first "/" (so
    "//getBalance", a client's URL-joining bug, stays an unknown method)."""
    for d in DIALECTS:
        prefix = "/" + d + "/"
        if path.startswith(prefix):
            return d, path[len(prefix):]
    return default, path[1:] if path.startswith("/") else path


def task_key(dialect, task_id):
    """A task id as the sim files it: canonical decimal for the services of
    integer ids, lower case for CapSolver's UUIDs; None when unusable."""
    if dialect == "capsolver":
        return task_id.lower() if isinstance(task_id, str) else None
    if is_json_int(task_id):
        return str(task_id)
    if isinstance(task_id, str) and task_id.isdigit():
        return str(int(task_id))
    return None


def validate_services(value):
    """The state's "services" value, checked; raises ValueError."""
    if not isinstance(value, dict):
        raise ValueError("services must map dialects to objects")
    for d, conf in value.items():
        if d not in DIALECTS:
            raise ValueError("unknown dialect %r" % d)
        if not isinstance(conf, dict):
            raise ValueError("services.%s must be an object" % d)
        for k, v in conf.items():
            if k not in SERVICE_DEFAULTS:
                raise ValueError("unknown service setting %r" % k)
            num = isinstance(v, (int, float)) and not isinstance(v, bool)
            if k in ("zero_balance", "complaint_ratio_exceeded") and \
                    not isinstance(v, bool):
                raise ValueError("%s must be a boolean" % k)
            if k in ("block_after", "report_error_id") and \
                    not (is_json_int(v) and v >= 1):
                raise ValueError("%s must be a positive integer" % k)
            if k in ("block_period", "block_seconds") and not (num and v >= 0):
                raise ValueError("%s must be a number >= 0" % k)
            if k == "packages" and not isinstance(v, list):
                raise ValueError("packages must be a list")
            # balance: any JSON value on purpose (to test wrong types).


def merge_services(old, new):
    """State "services" after a POST: merged per dialect, never shared with
    the defaults."""
    out = copy.deepcopy(old or {})
    for d, conf in new.items():
        out.setdefault(d, {}).update(copy.deepcopy(conf))
    return out


class Services:
    """The dialects' live state (reported tasks, completion times, the
    CapMonster block) and their answers. `sim` gives the state, the clock
    and the keys."""

    def __init__(self, sim):
        self.sim = sim
        self.reset()

    def reset(self):
        self.reported = collections.defaultdict(set)   # (dialect, key) -> ids
        self.pre_reported = collections.defaultdict(set)  # dialect -> ids
        self.completed = collections.defaultdict(dict)  # dialect -> id: epoch
        self.blocked_until = None   # capmonster's block, epoch
        self.bad = collections.deque()  # capmonster: times of refusals

    # ----- settings and control ---------------------------------------------

    def settings(self, dialect):
        conf = dict(SERVICE_DEFAULTS)
        conf.update(self.sim.state.get("services", {}).get(dialect, {}))
        return conf

    def balance(self, dialect):
        conf = self.settings(dialect)
        if conf["zero_balance"]:
            return 0.0
        b = conf["balance"]
        return self.sim.state["balance"] if b is None else b

    def key_ok(self, dialect, key):
        keys = self.sim.dialect_keys.get(dialect, self.sim.keys)
        return isinstance(key, str) and key in keys

    def register_tasks(self, body):
        dialect, tasks = self._control_body(body, dict)
        for tid, t in tasks.items():
            k = task_key(dialect, tid)
            num = isinstance(t, (int, float)) and not isinstance(t, bool)
            if k is None or not num:
                raise ValueError("tasks maps task ids to epoch times")
            self.completed[dialect][k] = float(t)

    def mark_reported(self, body):
        dialect, tasks = self._control_body(body, list)
        for tid in tasks:
            k = task_key(dialect, tid)
            if k is None:
                raise ValueError("not a task id of %s: %r" % (dialect, tid))
            self.pre_reported[dialect].add(k)

    @staticmethod
    def _control_body(body, kind):
        if not isinstance(body, dict):
            raise ValueError("body must be an object")
        dialect = body.get("dialect", "anti-captcha")
        if dialect not in DIALECTS:
            raise ValueError("unknown dialect %r" % dialect)
        tasks = body.get("tasks")
        if not isinstance(tasks, kind):
            raise ValueError("tasks must be a%s %s" % (
                "n" if kind is dict else "", "object" if kind is dict else "list"))
        return dialect, tasks

    def live(self, dialect):
        """GET /_sim/service: what a test may want to see of the state."""
        now = self.sim.clock()
        blocked = self.blocked_until if dialect == "capmonster" and \
            self.blocked_until is not None and self.blocked_until > now else None
        return {"dialect": dialect, "blocked_until": blocked,
                "bad_requests": len(self.bad) if dialect == "capmonster" else 0}

    # ----- reports, shared -----------------------------------------------------

    def late(self, dialect, k):
        """True when task k was registered and its report window is over."""
        t = self.completed[dialect].get(k)
        return t is not None and self.sim.clock() - t > REPORT_WINDOW[dialect]

    def seen_before(self, dialect, key, k):
        """Files the report of task k; True when it was reported already."""
        if k in self.pre_reported[dialect] or k in self.reported[(dialect, key)]:
            return True
        self.reported[(dialect, key)].add(k)
        return False

    # ----- the dialects ------------------------------------------------------

    def answer(self, dialect, method, body, key):
        """(HTTP status, answer dict or text, content type) of a request of a
        dialect other than anti-captcha; body is a parsed JSON object."""
        return getattr(self, "_" + dialect.replace("2", "two_"))(method, body, key)

    # CapMonster Cloud: errorId 1 for every error, the meaning in errorCode
    # (the docs' error answers carry no errorDescription).
    def _capmonster(self, method, body, key):
        now = self.sim.clock()
        conf = self.settings("capmonster")
        if self.blocked_until is not None and now < self.blocked_until:
            # "The duration of the block is 10 minutes, provided that you do
            # not continue to break the rules": every request starts it anew.
            self.blocked_until = now + conf["block_seconds"]
            return self._cm_error("ERROR_IP_BANNED")
        if method not in METHODS["capmonster"]:
            return self._cm_error("ERROR_NO_SUCH_METHOD")
        if not self.key_ok("capmonster", key):
            return self._cm_refusal(now, conf, "ERROR_KEY_DOES_NOT_EXIST")
        if method == "getBalance":
            return 200, {"errorId": 0, "balance": self.balance("capmonster")}, None
        if conf["zero_balance"]:
            return self._cm_refusal(now, conf, "ERROR_ZERO_BALANCE")
        task_id = body.get("taskId")
        k = task_key("capmonster", task_id) if is_json_int(task_id) and \
            task_id > 0 else None
        # A duplicate report is not documented: the sim answers it like a
        # task it does not know (as Anti-Captcha does, errorId 16 there).
        if k is None or self.late("capmonster", k) or \
                self.seen_before("capmonster", key, k):
            return self._cm_error("ERROR_NO_SUCH_CAPCHA_ID")
        return 200, {"errorId": 0, "status": "success"}, None

    @staticmethod
    def _cm_error(code):
        return 200, {"errorId": 1, "errorCode": code}, None

    def _cm_refusal(self, now, conf, code):
        """A refused key or zero balance: counted towards a block."""
        self.bad.append(now)
        while self.bad and self.bad[0] < now - conf["block_period"]:
            self.bad.popleft()
        if len(self.bad) >= conf["block_after"]:
            self.blocked_until = now + conf["block_seconds"]
            self.bad.clear()
        return self._cm_error(code)

    # 2captcha API v2: errorIds numbered like Anti-Captcha's, and two report
    # errors of its own whose errorId its pages do not give.
    def _two_captcha(self, method, body, key):
        conf = self.settings("2captcha")
        if method not in METHODS["2captcha"]:
            return self._tc_error(14, "ERROR_NO_SUCH_METHOD",
                                  "Request made to API with a method that does "
                                  "not exist")
        if not self.key_ok("2captcha", key):
            return self._tc_error(1, "ERROR_KEY_DOES_NOT_EXIST",
                                  "Your API key is incorrect")
        if method == "getBalance":
            return 200, {"errorId": 0, "balance": self.balance("2captcha")}, None
        if conf["zero_balance"]:
            return self._tc_error(10, "ERROR_ZERO_BALANCE",
                                  "You don't have funds on your account")
        task_id = body.get("taskId")
        if not (is_json_int(task_id) and task_id > 0):
            return self._tc_error(16, "ERROR_NO_SUCH_CAPCHA_ID",
                                  "You've provided incorrect captcha ID")
        k = task_key("2captcha", task_id)
        rid = conf["report_error_id"]
        if self.seen_before("2captcha", key, k):
            return self._tc_error(rid, "ERROR_DUPLICATE_REPORT",
                                  "You have already reported this captcha")
        if self.late("2captcha", k) or (method == "reportIncorrect" and
                                         conf["complaint_ratio_exceeded"]):
            return self._tc_error(rid, "ERROR_REPORT_NOT_RECORDED",
                                  "Complaint ratio over 40% or the report "
                                  "came too late")
        return 200, {"errorId": 0, "status": "success"}, None

    @staticmethod
    def _tc_error(err_id, code, desc):
        return 200, {"errorId": err_id, "errorCode": code,
                     "errorDescription": desc}, None

    # CapSolver: errorId 1 with the meaning in errorCode, sent with HTTP 400
    # (401 for a refused key), and string task ids (UUIDs).
    def _capsolver(self, method, body, key):
        conf = self.settings("capsolver")
        if method not in METHODS["capsolver"]:
            return 404, "404 page not found", "text/plain"
        if not self.key_ok("capsolver", key):
            return self._cs_error(401, "ERROR_KEY_DENIED_ACCESS",
                                  "account authorization is invalid")
        if method == "getBalance":
            return 200, {"errorId": 0, "errorCode": "", "errorDescription": "",
                         "balance": self.balance("capsolver"),
                         "packages": conf["packages"]}, None
        task_id = body.get("taskId")
        result = body.get("result")
        if not isinstance(task_id, str):
            return self._cs_error(400, "ERROR_INVALID_TASK_DATA",
                                  "taskId must be a string")
        if not (isinstance(result, dict) and
                isinstance(result.get("invalid"), bool) and
                ("code" not in result or is_json_int(result["code"])) and
                ("message" not in result or isinstance(result["message"], str))):
            return self._cs_error(400, "ERROR_INVALID_TASK_DATA",
                                  "result.invalid must be a boolean")
        if conf["zero_balance"]:
            return self._cs_error(400, "ERROR_ZERO_BALANCE",
                                  "insufficient account balance")
        k = task_key("capsolver", task_id)
        if not UUID_RE.match(task_id) or self.late("capsolver", k):
            return self._cs_error(400, "ERROR_TASKID_INVALID",
                                  "Task ID does not exist or is invalid")
        # A second feedback is not documented: the sim refuses it so.
        if self.seen_before("capsolver", key, k):
            return self._cs_error(400, "ERROR_INVALID_TASK_DATA",
                                  "feedback already submitted for this task")
        return 200, {"errorId": 0, "errorCode": "", "errorDescription": "",
                     "message": "success"}, None

    @staticmethod
    def _cs_error(status, code, desc):
        return status, {"errorId": 1, "errorCode": code,
                        "errorDescription": desc}, None

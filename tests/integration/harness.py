"""Integration-test harness for collectd-anticaptcha (Python stdlib only).

    from harness import Sim, Collectd, TEST_KEY

    with Sim(https=True) as sim, Collectd('''
            <Account "main">
              ClientKeyFile "@TMP@/client.key"
              URL "%s"
              CACert "%s"
            </Account>''' % (sim.https_url, sim.ca_file),
            files={"client.key": TEST_KEY + "\n"}) as cd:
        cd.wait_for(lambda: sim.requests("getBalance"), 10, "a getBalance call")
        cd.assert_no_key()

Every file written goes into a temporary directory (make_tmpdir) removed
afterwards, unless the environment has KEEP_TMP=1 (the kept paths are
printed on stderr): when its test ends, or at the latest when the
interpreter exits, also after a failure, KeyboardInterrupt, SIGTERM or SIGHUP
(make's deadline), which first kill the daemons still running.

Environment:
  ANTICAPTCHA_PLUGIN_DIR  directory holding the built anticaptcha.so
                          (default <repo>/plugin/.libs, else <repo>/.libs)
  COLLECTD_BIN            collectd binary (default /usr/sbin/collectd)
  COLLECTD_WRAPPER        command prepended to collectd, e.g.
                          "valgrind --error-exitcode=99 --leak-check=full";
                          start/stop timeouts are then multiplied by 4;
                          "@TMP@" in it stands for collectd's temp dir, where
                          tool logs named asan.*, ubsan.*, valgrind.* are
                          read when collectd stops: a report whose stack
                          holds the plugin's code fails (scripts/sanitize)
  KEEP_TMP=1              keep the temporary directories (the one switch
                          for every test script of the project)
"""

import atexit
import contextlib
import grp
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
from time import time as _now  # putnotif() has a parameter named time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SIM_SCRIPT = os.path.join(REPO, "tests", "sim", "anticaptcha_sim.py")
MAKE_CA = os.path.join(REPO, "tests", "sim", "make_test_ca.sh")

# unittest's enterClassContext came with Python 3.11; Debian 11 has 3.9
# (scripts/test-distros): the same, from addClassCleanup (3.8).
if not hasattr(unittest.TestCase, "enterClassContext"):
    def _enter_class_context(cls, cm):
        result = type(cm).__enter__(cm)
        cls.addClassCleanup(type(cm).__exit__, cm, None, None, None)
        return result
    unittest.TestCase.enterClassContext = classmethod(_enter_class_context)

# The key every test uses. Fake, but treated as a secret: it must never show
# up in a log, CSV file or any other artefact (see assert_no_key_in).
TEST_KEY = "sim-key-7f3a9c1e5b2d4a6f8e0c"
# The key the way users keep it: a file of its own in the temp dir, mode 0600
# (Collectd(..., files=KEY_FILES)).
KEY_FILE = "client.key"
KEY_FILES = {KEY_FILE: TEST_KEY + "\n"}


def account_block(url, name="main", interval=60, extra=""):
    """An <Account> with the key in KEY_FILE, without getBalance; extra: more
    lines inside the block."""
    return '''
  <Account "%s">
    ClientKeyFile "@TMP@/%s"
    URL "%s"
    Balance false
    Interval %s
%s
  </Account>''' % (name, KEY_FILE, url, interval, extra)

TYPES_DB = "/usr/share/collectd/types.db"
STOCK_PLUGIN_DIR = "/usr/lib/collectd"
HOSTNAME = "testhost"

# Proxy variables libcurl honours: a test must talk to the sim directly.
PROXY_VARS = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
              "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY")


class HarnessError(Exception):
    """The test environment failed (process did not start, stop, ...)."""


# Sim and Collectd objects started and not yet stopped: their process is
# killed and their temp dir removed when the interpreter exits, e.g. after a
# setUpClass that failed half-way (tearDownClass is then not called), and so
# are the temp dirs make_tmpdir made and nobody removed (_TMPDIRS). The sim
# also watches its parent process (--watch-parent) in case we are killed.
_LIVE = set()
_TMPDIRS = set()


@atexit.register
def _abandon_leftovers():
    for obj in list(_LIVE):
        proc = obj.proc
        if proc is not None and proc.poll() is None:
            try:  # a daemon in its own session: its children too
                if os.getpgid(proc.pid) == proc.pid:
                    os.killpg(proc.pid, signal.SIGKILL)
                else:
                    proc.kill()
            except ProcessLookupError:
                pass
            proc.wait()
        remove_tmpdir(obj.dir)
    _LIVE.clear()
    for path in list(_TMPDIRS):
        remove_tmpdir(path)


def _terminated(signum, frame):
    """SIGTERM or SIGHUP (make's `timeout` at the deadline, a cancelled CI
    job): no graceful stops, whose waits could outlast the grace before
    SIGKILL; kill the daemons, remove the temp dirs, die of the signal."""
    sys.stderr.write("harness: %s: killing the daemons, removing the "
                     "temporary directories\n" % signal.Signals(signum).name)
    _abandon_leftovers()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


if threading.current_thread() is threading.main_thread():
    for _sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(_sig) == signal.SIG_DFL:
            signal.signal(_sig, _terminated)


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------

def keep_tmp():
    return os.environ.get("KEEP_TMP") == "1"


def build_library(source, tmpdir, *flags):
    """Compiles a C file (a path, or a name beside this module) with the
    system's cc into tmpdir/<its name>.so: the tests' LD_PRELOAD shims and
    control plugins. Returns the library's path."""
    source = os.path.join(HERE, source)  # an absolute path stays as it is
    so = os.path.join(tmpdir, os.path.splitext(os.path.basename(source))[0]
                      + ".so")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", so, source] + list(flags),
                   check=True, timeout=60)
    return so


def make_tmpdir(prefix, mode=None):
    """A new directory under $TMPDIR, removed by remove_tmpdir() or at exit
    at the latest. mode: e.g. 0o755 for a program that runs as nobody (then
    under /tmp if others cannot reach into $TMPDIR)."""
    # Short names under /tmp: a unix socket path must fit in 108 bytes.
    base = os.environ.get("TMPDIR", "/tmp")
    if len(base) > 40 or (mode is not None and not _others_reach(base)):
        base = "/tmp"
    path = tempfile.mkdtemp(prefix=prefix, dir=base)
    _TMPDIRS.add(path)
    if mode is not None:
        os.chmod(path, mode)
    return path


def _others_reach(path):
    """Whether every directory of path lets others through (o+x)."""
    path = os.path.abspath(path)
    while True:
        try:
            if not os.stat(path).st_mode & 0o001:
                return False
        except OSError:
            return False
        if path == os.path.dirname(path):
            return True
        path = os.path.dirname(path)


def remove_tmpdir(path):
    if path is None:
        return
    _TMPDIRS.discard(path)
    if not os.path.isdir(path):
        return
    if keep_tmp():
        sys.stderr.write("harness: kept %s\n" % path)
    else:
        shutil.rmtree(path, ignore_errors=True)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (racy by nature:
    prefer letting the server pick with port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(fn, timeout=10.0, interval=0.05, what="condition"):
    """Poll fn() until it returns a true value, and return that value.
    Raises AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def read_text(path, default=""):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return default


def tail(text, lines=60):
    return "\n".join(text.splitlines()[-lines:])


def assert_no_key_in(target, key=TEST_KEY, exclude=()):
    """Fail if `key` occurs in `target`: a text (str/bytes), or a directory
    whose every regular file is searched (recursively). `exclude` lists file
    names or paths relative to the directory to skip (e.g. the config file
    that has to contain the key). The failure message never shows the key."""
    needle = key.encode() if isinstance(key, str) else key
    if isinstance(target, (str, os.PathLike)) and "\n" not in str(target) \
            and os.path.isdir(target):
        found = []
        for root, dirs, files in os.walk(target):
            for name in files:
                path = os.path.join(root, name)
                rel = os.path.relpath(path, target)
                if name in exclude or rel in exclude or path in exclude:
                    continue
                if os.path.islink(path) or not os.path.isfile(path):
                    continue  # sockets, fifos, links
                try:
                    with open(path, "rb") as f:
                        if needle in f.read():
                            found.append(rel)
                except OSError:
                    continue
        if found:
            raise AssertionError("the test key appears in: %s" % ", ".join(found))
        return
    data = target.encode("utf-8", "replace") if isinstance(target, str) else bytes(target)
    if needle in data:
        raise AssertionError("the test key appears in the text (%d bytes)" % len(data))


def read_state_file(path):
    """(pending reports, remembered task ids) of a state file, as sets of
    (account number, task id): its records replayed (doc/state-file.md).
    As the plugin reads it: every whole record before a cut, so that a file
    read while a frame is being appended reads too (the line after the last
    newline, or from a NUL on, is not whole yet)."""
    pending, seen = {}, set()
    try:
        with open(path) as f:
            whole = f.read().split("\x00", 1)[0].split("\n")[:-1]
        lines = [json.loads(line) for line in whole]
    except (OSError, ValueError):
        return set(), set()
    for r in lines:
        key = tuple(r[1:3])
        if r[0] == "report":
            pending[key] = r[4]
            seen.add(key)
        elif r[0] == "seen":
            seen.add(key)
        elif r[0] == "done" and pending.get(key) == r[3]:
            del pending[key]
    return set(pending), seen


def conf_quote(value):
    """A collectd config string literal."""
    return '"%s"' % str(value).replace("\\", "\\\\").replace('"', '\\"')


def unixsock_quote(value):
    """A value for a unixsock command option: always quoted, with backslash
    escapes for quote and backslash (the parser un-escapes any char after a
    backslash). Newlines cannot be sent: one command is one line."""
    value = str(value)
    if "\n" in value or "\r" in value:
        raise ValueError("unixsock values cannot contain newlines")
    return '"%s"' % value.replace("\\", "\\\\").replace('"', '\\"')


def timeout_factor():
    return 4.0 if os.environ.get("COLLECTD_WRAPPER") else 1.0


# ---------------------------------------------------------------------------
# The simulated API
# ---------------------------------------------------------------------------

class Sim:
    """Runs tests/sim/anticaptcha_sim.py for the duration of a `with` block.

    https: also serve HTTPS (test CA made by make_test_ca.sh in the temp dir);
    cert: which certificate pair of that directory to serve: "server",
          "wronghost" or "selfsigned";
    keys: accepted client keys (default [TEST_KEY]); passed in a key file that
          is deleted once the sim runs, so the sim's directory holds no key;
    latency, records: initial state; quiet: no per-request lines in sim.log;
    now: fixed clock (epoch) for getSpendingStats: e.g. now=time.time() keeps
          the records (and expected()) from moving when an hour ends during
          the test;
    dialect_keys: {dialect: [keys]}: keys only that service accepts (the
          other services of doc/services.md, reached under url(dialect));
    args: extra command-line arguments.
    """

    def __init__(self, https=False, cert="server", keys=(TEST_KEY,),
                 latency=0.0, records=None, now=None, quiet=False, args=(),
                 dialect_keys=None):
        self.https = https
        self.cert = cert
        self.keys = list(keys)
        self.dialect_keys = {d: list(k) for d, k in (dialect_keys or {}).items()}
        self.key = self.keys[0] if self.keys else None
        self.latency = latency
        self.records = records
        self.now = now
        self.quiet = quiet
        self.extra_args = list(args)
        self.dir = None
        self._final_output = ""
        self.proc = None
        self.port = self.https_port = None
        self.tls_dir = self.ca_file = None

    # ----- lifecycle -------------------------------------------------------

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop(check=False)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop(check=exc_type is None)
        return False

    def start(self):
        self.dir = make_tmpdir("ac-sim-")
        ready = os.path.join(self.dir, "ready.json")
        self.log_path = os.path.join(self.dir, "sim.log")
        cmd = [sys.executable, SIM_SCRIPT, "--host", "127.0.0.1", "--port", "0",
               "--ready-file", ready, "--latency", str(self.latency),
               "--watch-parent"]
        if self.records is not None:
            cmd += ["--records", str(self.records)]
        if self.now is not None:
            cmd += ["--now", repr(float(self.now))]
        if self.quiet:
            cmd.append("--quiet")
        if self.https:
            self.tls_dir = os.path.join(self.dir, "tls")
            # Through sh: a source tree may have lost the exec bit.
            run = subprocess.run(["sh", MAKE_CA, self.tls_dir], capture_output=True,
                                 text=True, timeout=60)
            if run.returncode != 0:
                raise HarnessError("make_test_ca.sh failed:\n%s%s"
                                   % (run.stdout, run.stderr))
            self.ca_file = os.path.join(self.tls_dir, "ca.pem")
            cmd += ["--https-port", "0",
                    "--tls-cert", os.path.join(self.tls_dir, self.cert + ".pem"),
                    "--tls-key", os.path.join(self.tls_dir, self.cert + ".key")]
        key_files = []
        try:
            for dialect, keys in [(None, self.keys)] + sorted(self.dialect_keys.items()):
                key_file = os.path.join(self.dir, "keys" + ("-" + dialect if dialect else ""))
                key_fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                key_files.append(key_file)
                with os.fdopen(key_fd, "w") as f:
                    f.write("".join(k + "\n" for k in keys))
                cmd += (["--key-file", key_file] if dialect is None else
                        ["--dialect-key-file", "%s=%s" % (dialect, key_file)])
            cmd += self.extra_args
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                             stdout=log, stderr=subprocess.STDOUT,
                                             cwd=self.dir)
            _LIVE.add(self)
            deadline = time.monotonic() + 10
            while not os.path.exists(ready):
                if self.proc.poll() is not None:
                    raise HarnessError("the sim exited with %s at start-up:\n%s"
                                       % (self.proc.returncode, self.output()))
                if time.monotonic() > deadline:
                    raise HarnessError("the sim was not ready after 10s:\n%s"
                                       % self.output())
                time.sleep(0.02)
        finally:
            for key_file in key_files:
                os.unlink(key_file)
        with open(ready) as f:
            info = json.load(f)
        self.port = info["http_port"]
        self.https_port = info["https_port"]

    def stop(self, check=True):
        """SIGTERM, then SIGKILL after 5 s. With check, a non-zero exit or a
        Python traceback in the sim's output raises HarnessError."""
        problem = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                problem = "the sim ignored SIGTERM for 5s"
        _LIVE.discard(self)
        if self.proc is not None and problem is None and self.proc.returncode != 0:
            problem = "the sim exited with %s" % self.proc.returncode
        if self.proc is not None and problem is None and "Traceback" in self.output():
            problem = "the sim printed a traceback"
        self._final_output = self.output()
        remove_tmpdir(self.dir)
        self.dir = None
        if problem and check:
            raise HarnessError("%s:\n%s" % (problem, tail(self._final_output)))

    def output(self):
        """What the sim printed (one line per request unless quiet); still
        available after the sim stopped."""
        return read_text(self.log_path) if self.dir else self._final_output

    # ----- addresses ---------------------------------------------------------

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def http_url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def https_url(self):
        return "https://127.0.0.1:%d" % self.https_port if self.https_port else None

    def cert_file(self, name):
        """Path of one of make_test_ca.sh's files (e.g. "other-ca.pem")."""
        return os.path.join(self.tls_dir, name) if self.tls_dir else None

    # ----- control API ---------------------------------------------------------

    def control(self, verb, path, body=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = None if body is None else json.dumps(body).encode()
            headers = {"Content-Type": "application/json"} if data is not None else {}
            conn.request(verb, "/_sim/" + path, body=data, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode()
        finally:
            conn.close()
        if resp.status != 200:
            raise HarnessError("sim control %s %s: HTTP %d %s"
                               % (verb, path, resp.status, text))
        return json.loads(text)

    def requests(self, method=None, dialect=None):
        """API requests received, in order (clientKey redacted, see key_ok);
        dialect: only those of one service ("capmonster", ...)."""
        q = {k: v for k, v in (("method", method), ("dialect", dialect)) if v}
        return self.control("GET", "requests" + (
            "?" + urllib.parse.urlencode(q) if q else ""))

    def url(self, dialect, tls=False):
        """Base URL of one service the sim speaks (doc/services.md)."""
        return "%s/%s" % (self.https_url if tls else self.http_url, dialect)

    def tasks(self, dialect, completed):
        """Tell the sim when tasks ({id: epoch}) were completed: a report
        after the service's window is refused as the service would."""
        return self.control("POST", "tasks", {"dialect": dialect,
                                              "tasks": dict(completed)})

    def mark_reported(self, dialect, ids):
        """Tasks the service takes as reported already (by any key)."""
        return self.control("POST", "reported", {"dialect": dialect,
                                                 "tasks": list(ids)})

    def service(self, dialect):
        """A service's live state: {"blocked_until", "bad_requests"}."""
        return self.control("GET", "service?dialect=" + urllib.parse.quote(dialect))

    def stats(self):
        """{"connections", "requests", "by_method", "by_status",
        "tls_connections", "tls_handshake_failures", "open_connections", ...};
        connections used only for the control API are not counted."""
        return self.control("GET", "stats")

    def faults(self, rules):
        """Replace the fault rules (a list of dicts, see the sim's doc)."""
        return self.control("POST", "faults", list(rules))

    def clear_faults(self):
        return self.control("DELETE", "faults")

    def state(self, changes=None):
        """Merge `changes` into the sim's state; return the whole state."""
        if changes is None:
            return self.control("GET", "state")
        return self.control("POST", "state", dict(changes))

    def reset(self):
        return self.control("POST", "reset", {})

    def expected(self, queue=None, date=None):
        """The records getSpendingStats would serve now for `queue` (None or
        "": the total) and `date`: a list of {dateFrom, dateTill, volume,
        money}, oldest first, native numbers, whatever numbers_as_strings and
        shuffle say."""
        q = {}
        if queue is not None:
            q["queue"] = queue
        if date is not None:
            q["date"] = str(int(date))
        return self.control("GET", "expected" + ("?" + urllib.parse.urlencode(q)
                                                 if q else ""))

    # ----- calling the API directly (tests of the sim itself) -------------------

    def api(self, method, body=None, tls=False, raw=None, timeout=10,
            conn=None, headers=None):
        """POST /method with a JSON body (or raw bytes). Returns
        (HTTP status, parsed JSON or the text if not JSON). `conn` reuses an
        http.client connection (keep-alive)."""
        own = conn is None
        if own:
            conn = self.connection(tls=tls, timeout=timeout)
        try:
            data = raw if raw is not None else json.dumps(body).encode()
            hdrs = {"Content-Type": "application/json", "Accept": "application/json"}
            hdrs.update(headers or {})
            conn.request("POST", "/" + method, body=data, headers=hdrs)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
        finally:
            if own:
                conn.close()
        try:
            return resp.status, json.loads(text)
        except ValueError:
            return resp.status, text

    def connection(self, tls=False, timeout=10):
        """An http.client connection to the sim (HTTPS verified with the CA)."""
        if not tls:
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        ctx = ssl.create_default_context(cafile=self.ca_file)
        return http.client.HTTPSConnection("127.0.0.1", self.https_port,
                                           timeout=timeout, context=ctx)


class SimTestCase(unittest.TestCase):
    """One sim for the whole class (started once: its HTTPS set-up takes a
    while), reset before every test. SIM_ARGS are Sim()'s arguments."""

    SIM_ARGS = {}

    @classmethod
    def setUpClass(cls):
        cls.sim = Sim(**cls.SIM_ARGS)
        cls.sim.__enter__()

    @classmethod
    def tearDownClass(cls):
        # Stop checks the exit code and that no traceback was printed.
        cls.sim.__exit__(None, None, None)

    def setUp(self):
        self.sim.reset()


# ---------------------------------------------------------------------------
# collectd
# ---------------------------------------------------------------------------

def plugin_build_dir():
    """$ANTICAPTCHA_PLUGIN_DIR, else <repo>/plugin/.libs, else <repo>/.libs
    (where the top-level Makefile.am's libtool build puts it)."""
    if os.environ.get("ANTICAPTCHA_PLUGIN_DIR"):
        return os.path.abspath(os.environ["ANTICAPTCHA_PLUGIN_DIR"])
    for d in (os.path.join(REPO, "plugin", ".libs"), os.path.join(REPO, ".libs")):
        if os.path.exists(os.path.join(d, "anticaptcha.so")):
            return d
    return os.path.join(REPO, "plugin", ".libs")


def usable_plugin_dir(tmpdir):
    """The directory to give collectd for anticaptcha.so. collectd refuses a
    plugin file that is a symlink: in that case copy the real file into
    <tmpdir>/plugin and use that."""
    src_dir = plugin_build_dir()
    so = os.path.join(src_dir, "anticaptcha.so")
    if not os.path.exists(so):
        raise HarnessError("%s not found: build the plugin first or set "
                           "ANTICAPTCHA_PLUGIN_DIR" % so)
    if not os.path.islink(so):
        return src_dir
    dst_dir = os.path.join(tmpdir, "plugin")
    os.makedirs(dst_dir, exist_ok=True)
    shutil.copy2(os.path.realpath(so), os.path.join(dst_dir, "anticaptcha.so"))
    return dst_dir


def make_collectd_conf(tmpdir, config="", interval=1, plugins=(),
                       extra_config="", load_anticaptcha=True,
                       global_config="", log_file=None, log_level="info"):
    """Text of a complete collectd.conf whose files all live in tmpdir.

    config: body of <Plugin anticaptcha> (omitted when empty);
    plugins: further stock plugins to load from /usr/lib/collectd;
    extra_config: text placed after the stock LoadPlugin lines (their
        <Plugin ...> blocks), before PluginDir switches to the build;
    global_config: global options placed after Interval (e.g. "ReadThreads 8");
    log_file: default <tmpdir>/collectd.log; "stderr"/"stdout" also work.
    """
    log_file = log_file or os.path.join(tmpdir, "collectd.log")
    try:
        group = grp.getgrgid(os.getegid()).gr_name
    except KeyError:
        group = None
    lines = [
        "# written by tests/integration/harness.py",
        "Hostname %s" % conf_quote(HOSTNAME),
        "FQDNLookup false",
        "Interval %s" % interval,
        "BaseDir %s" % conf_quote(tmpdir),
        "PIDFile %s" % conf_quote(os.path.join(tmpdir, "collectd.pid")),
        "TypesDB %s" % conf_quote(TYPES_DB),
    ]
    if global_config:
        lines.append(global_config)
    lines += [
        "",
        "PluginDir %s" % conf_quote(STOCK_PLUGIN_DIR),
        "LoadPlugin logfile",
        "<Plugin logfile>",
        "  LogLevel %s" % log_level,
        "  File %s" % conf_quote(log_file),
        "  Timestamp true",
        "  PrintSeverity true",
        "</Plugin>",
        "LoadPlugin csv",
        "<Plugin csv>",
        "  DataDir %s" % conf_quote(os.path.join(tmpdir, "csv")),
        "  StoreRates false",
        "</Plugin>",
        "LoadPlugin unixsock",
        "<Plugin unixsock>",
        "  SocketFile %s" % conf_quote(os.path.join(tmpdir, "collectd.sock")),
        "  SocketPerms \"0600\"",
    ]
    if group:  # the default group "collectd" may not exist: avoid a warning
        lines.append("  SocketGroup %s" % conf_quote(group))
    lines += ["  DeleteSocket true", "</Plugin>"]
    for p in plugins:
        lines.append("LoadPlugin %s" % p)
    if extra_config:
        lines += ["", extra_config]
    if load_anticaptcha:
        lines += ["", "PluginDir %s" % conf_quote(usable_plugin_dir(tmpdir)),
                  "LoadPlugin anticaptcha"]
        if config:
            lines += ["<Plugin anticaptcha>", config, "</Plugin>"]
    return "\n".join(lines) + "\n"


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARS}
    env.update(extra or {})
    return env


@contextlib.contextmanager
def changed_wrapper(change):
    """COLLECTD_WRAPPER (scripts/sanitize) changed by change(old) for the
    daemons started inside (the environment's value is read at each start):
    e.g. a test's own LD_PRELOAD library joined to a sanitizer's runtime."""
    old = os.environ.get("COLLECTD_WRAPPER")
    new = change(old or "")
    if new:
        os.environ["COLLECTD_WRAPPER"] = new
    else:
        os.environ.pop("COLLECTD_WRAPPER", None)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("COLLECTD_WRAPPER", None)
        else:
            os.environ["COLLECTD_WRAPPER"] = old


def collectd_command(conf_path, *args):
    wrapper = [w.replace("@TMP@", os.path.dirname(os.path.abspath(conf_path)))
               for w in shlex.split(os.environ.get("COLLECTD_WRAPPER", ""))]
    return wrapper + [os.environ.get("COLLECTD_BIN", "/usr/sbin/collectd"),
                      *args, "-C", conf_path]


def run_config_test(path, timeout=60, env=None):
    """`collectd -T -C path` (load, init, one read round, exit).
    Returns (exit code, stdout+stderr)."""
    # What the daemon or its wrapper leaves in TMPDIR (valgrind's vgdb
    # FIFOs when it is killed) goes with the test's temp dir.
    d = os.path.dirname(os.path.abspath(path))
    tmp = {"TMPDIR": d} if d in _TMPDIRS else {}
    run = subprocess.run(collectd_command(path, "-T"), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         timeout=timeout * timeout_factor(),
                         env=clean_env(dict(tmp, **(env or {}))))
    return run.returncode, run.stdout.decode("utf-8", "replace")


def collectd_config_test(conf_text_or_path, timeout=60, env=None):
    """Like run_config_test, for a complete config given as text (written to
    a temp dir) or as the path of an existing file."""
    if "\n" not in conf_text_or_path and os.path.isfile(conf_text_or_path):
        return run_config_test(conf_text_or_path, timeout, env)
    tmp = make_tmpdir("ac-conftest-")
    try:
        path = os.path.join(tmp, "collectd.conf")
        with open(path, "w") as f:
            f.write(conf_text_or_path)
        return run_config_test(path, timeout, env)
    finally:
        remove_tmpdir(tmp)


def plugin_config_test(config, timeout=60, env=None, **conf_args):
    """Wrap the <Plugin anticaptcha> body `config` into the harness's full
    config (as Collectd does, but logging to stderr) and run `collectd -T`.
    Returns (exit code, output incl. the log). `config` may use @TMP@ for the
    temp dir. Extra keyword arguments go to make_collectd_conf."""
    tmp = make_tmpdir("ac-conftest-")
    try:
        text = make_collectd_conf(tmp, config.replace("@TMP@", tmp),
                                  log_file="stderr", **conf_args)
        path = os.path.join(tmp, "collectd.conf")
        with open(path, "w") as f:
            f.write(text)
        return run_config_test(path, timeout, env)
    finally:
        remove_tmpdir(tmp)


# Tool logs that COLLECTD_WRAPPER writes into collectd's temp dir (@TMP@).
TOOL_LOG_RE = re.compile(r"^(asan|lsan|ubsan|valgrind)\.")
# A stack frame in the plugin: its module, or one of its source files
# (every .c and .h under plugin/; the stock daemon and libraries carry no
# line information).
PLUGIN_SOURCES = sorted({os.path.splitext(name)[0]
                         for _, _, names in os.walk(os.path.join(REPO, "plugin"))
                         for name in names if name.endswith((".c", ".h"))})
PLUGIN_FRAME_RE = re.compile(
    r"anticaptcha\.so|\b(%s)\.[ch]:\d+" % "|".join(PLUGIN_SOURCES))


def tool_reports_in_plugin(directory):
    """The ASan/LSan/UBSan/valgrind reports in `directory`'s tool logs whose
    stack holds a frame of the plugin (a report is a paragraph: the tools end
    each with a blank line, valgrind's lines all start with ==pid==)."""
    found = []
    try:
        names = sorted(n for n in os.listdir(directory) if TOOL_LOG_RE.match(n))
    except OSError:
        return found
    for name in names:
        text = read_text(os.path.join(directory, name))
        text = re.sub(r"(?m)^==\d+== ?", "", text)  # valgrind's prefix
        for para in re.split(r"\n\s*\n", text):
            if re.search(r"ERROR: \w+Sanitizer|leak of|runtime error|"
                         r"Invalid (read|write|free)|uninitialised|"
                         r"are (definitely|possibly|indirectly) lost|"
                         r"Mismatched free|overlap|Syscall param",
                         para) and PLUGIN_FRAME_RE.search(para):
                found.append("%s:\n%s" % (name, para.strip()))
    return found


class Collectd:
    """Runs `collectd -f` with a generated config for a `with` block.

    config: body of <Plugin anticaptcha>; a string in which "@TMP@" stands for
        the temp dir, or a function tmpdir -> string;
    interval: global Interval; plugins: extra stock plugins to load;
    extra_config: their config blocks (may also use @TMP@);
    global_config: extra global options; load_anticaptcha: False to run
        collectd without the plugin; files: {name: text} written into the
        temp dir (mode 0600) before start, e.g. a key file;
    expect_exit: exit code required after SIGTERM (None: do not check);
    env: extra environment for collectd (proxy variables are always removed;
        TMPDIR is the temp dir, so what collectd or a wrapper leaves in it
        goes with it).
    """

    def __init__(self, config="", interval=1, plugins=(), extra_config="",
                 load_anticaptcha=True, global_config="", files=None,
                 start_timeout=15, stop_timeout=20, expect_exit=0, env=None,
                 log_level="info"):
        self.dir = make_tmpdir("ac-collectd-")
        self.conf_path = os.path.join(self.dir, "collectd.conf")
        self.log_path = os.path.join(self.dir, "collectd.log")
        self.out_path = os.path.join(self.dir, "collectd.out")
        self.csv_dir = os.path.join(self.dir, "csv")
        self.socket_path = os.path.join(self.dir, "collectd.sock")
        self.start_timeout = start_timeout * timeout_factor()
        self.stop_timeout = stop_timeout * timeout_factor()
        self.expect_exit = expect_exit
        self.env = env
        self.logs_init = log_level in ("debug", "info")
        self.proc = None
        self.returncode = None
        self._final = None
        self._log_offset = 0  # where this run's part of collectd.log starts
        self._secret_files = tuple(files or ())
        try:
            for name, text in (files or {}).items():
                path = os.path.join(self.dir, name)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(text)
            if callable(config):
                config = config(self.dir)
            self.conf_text = make_collectd_conf(
                self.dir, config.replace("@TMP@", self.dir), interval=interval,
                plugins=plugins, extra_config=extra_config.replace("@TMP@", self.dir),
                load_anticaptcha=load_anticaptcha, global_config=global_config,
                log_level=log_level)
            with open(self.conf_path, "w") as f:
                f.write(self.conf_text)
        except BaseException:
            remove_tmpdir(self.dir)
            raise

    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self._kill()
            _LIVE.discard(self)
            self._snapshot()
            remove_tmpdir(self.dir)
            raise
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self.stop()
        except HarnessError as e:
            if exc_type is None:
                raise
            # Do not hide the test's own failure; report ours beside it.
            sys.stderr.write("harness: while stopping collectd: %s\n" % e)
        finally:
            self._snapshot()
            remove_tmpdir(self.dir)
        return False

    def _snapshot(self):
        # log() and output() stay readable after the temp dir is gone.
        self._final = (self.log(), self.output())

    def start(self):
        with open(self.out_path, "wb") as out:
            self.proc = subprocess.Popen(
                collectd_command(self.conf_path, "-f"), stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, cwd=self.dir,
                env=clean_env(dict({"TMPDIR": self.dir}, **(self.env or {}))),
                start_new_session=True)
        _LIVE.add(self)
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                raise HarnessError("collectd exited with %s at start-up:\n%s"
                                   % (self.proc.returncode, self.diagnostics()))
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.connect(self.socket_path)
                self._wait_init(deadline)
                return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise HarnessError("collectd's unixsock did not accept connections "
                                   "within %.0fs:\n%s"
                                   % (self.start_timeout, self.diagnostics()))
            time.sleep(0.05)

    def _wait_init(self, deadline):
        """unixsock accepts as soon as its own init has run, before the
        plugins initialised after it (collectd inits them in load order, and
        slowly under valgrind): the anticaptcha plugin ignores notifications
        until then, and network has no socket to forward them. collectd logs
        when every init has run."""
        while self.logs_init and time.monotonic() < deadline:
            if ("Initialization complete" in
                    read_text(self.log_path)[self._log_offset:] or
                    self.proc.poll() is not None):
                return
            time.sleep(0.02)

    def stop(self):
        """SIGTERM and wait; SIGKILL and raise after stop_timeout; raise if
        the exit code is not expect_exit. Idempotent."""
        if self.proc is None or self.returncode is not None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self._kill()
                _LIVE.discard(self)
                self.returncode = self.proc.returncode
                raise HarnessError("collectd did not stop within %.0fs of SIGTERM "
                                   "(killed):\n%s" % (self.stop_timeout,
                                                      self.diagnostics()))
        self.returncode = self.proc.returncode
        _LIVE.discard(self)
        found = tool_reports_in_plugin(self.dir)
        if found:
            raise HarnessError("sanitizer/valgrind report(s) in the plugin's "
                               "code:\n%s" % "\n\n".join(found)[:20000])
        if self.expect_exit is not None and self.returncode != self.expect_exit:
            raise HarnessError("collectd exited with %s (expected %s):\n%s"
                               % (self.returncode, self.expect_exit,
                                  self.diagnostics()))

    def restart(self, kill=False, before_start=None):
        """Stop collectd (SIGTERM and the usual checks; SIGKILL with kill)
        and start it again on the same temp dir: same BaseDir, csv files,
        log and state file. before_start(): called while it is down."""
        if kill:
            self._kill()
            self.returncode = self.proc.returncode
            _LIVE.discard(self)
        else:
            self.stop()
        if before_start is not None:
            before_start()
        self.returncode = None
        self._log_offset = len(read_text(self.log_path))
        self.start()

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def diagnostics(self):
        return "--- collectd.log (tail) ---\n%s\n--- stdout/stderr ---\n%s" % (
            tail(self.log()), tail(self.output()))

    # ----- state -----------------------------------------------------------

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        """Text of collectd.log (notifications are logged there too)."""
        return self._final[0] if self._final else read_text(self.log_path)

    def plugin_log(self):
        """The plugin's own lines of collectd.log: collectd's may name the
        plugin's values too (uc_update's "Value too old: .../pair-forged")."""
        return "".join(line for line in self.log().splitlines(True)
                       if "anticaptcha plugin: " in line)

    def output(self):
        """collectd's own stdout/stderr (and the wrapper's, e.g. valgrind)."""
        return self._final[1] if self._final else read_text(self.out_path)

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise HarnessError("no VmRSS for pid %d" % self.proc.pid)

    def wait_counts(self, read, want, timeout=10.0):
        """Waits until read(name) == value for every name, value of want.
        collectd's write threads write the files of one read side by side,
        so one counter may land a moment after another: wait for them all
        rather than wait for one and read the rest."""
        try:
            self.wait_for(lambda: all(read(n) == v for n, v in want.items()),
                          timeout, "the counters %r" % (want,))
        except AssertionError as e:
            got = {n: read(n) for n in want}
            raise AssertionError("%s\ngot %r" % (e, got)) from None

    def wait_for(self, predicate, timeout=10.0, what="condition", interval=0.1):
        """Poll predicate() until true (returned); AssertionError on timeout,
        HarnessError at once if collectd dies meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if not self.alive():
                raise HarnessError("collectd died (exit %s) while waiting for %s:\n%s"
                                   % (self.proc.returncode, what, self.diagnostics()))
            if time.monotonic() >= deadline:
                raise AssertionError("timed out after %.1fs waiting for %s\n%s"
                                     % (timeout, what, tail(self.log(), 30)))
            time.sleep(interval)

    def assert_no_key(self, key=TEST_KEY):
        """No artefact of this collectd (log, CSV, output, ...) holds the key;
        the config file and the `files` given are exempt."""
        assert_no_key_in(self.dir, key,
                         exclude=("collectd.conf",) + self._secret_files)

    # ----- CSV output -------------------------------------------------------

    def csv_files(self):
        """Paths of all CSV files, relative to <csv>/testhost."""
        base = os.path.join(self.csv_dir, HOSTNAME)
        out = []
        for root, _, files in os.walk(base):
            out += [os.path.relpath(os.path.join(root, f), base) for f in files]
        return sorted(out)

    def csv(self, plugin_instance_dir, name):
        """Rows of <csv>/testhost/<plugin_instance_dir>/<name>-YYYY-MM-DD (all
        dates), sorted by time: [(epoch float, [float values]), ...].
        plugin_instance_dir is e.g. "anticaptcha-main", name e.g.
        "gauge-balance" (type, dash, type instance)."""
        d = os.path.join(self.csv_dir, HOSTNAME, plugin_instance_dir)
        pattern = re.compile(re.escape(name) + r"-\d{4}-\d{2}-\d{2}$")
        rows = []
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            return rows
        for fname in names:
            if not pattern.match(fname):
                continue
            for line in read_text(os.path.join(d, fname)).splitlines():
                if not line or line.startswith("epoch"):
                    continue
                fields = line.split(",")
                try:
                    rows.append((float(fields[0]), [float(v) for v in fields[1:]]))
                except ValueError:
                    continue  # a line being written right now
        rows.sort(key=lambda r: r[0])
        return rows

    def logged_values(self, plugin_instance, type_, type_instance):
        """Like csv(), from the write_log plugin's JSON lines (load it with
        plugins=("write_log",) and Format JSON). With several write threads,
        the csv plugin's file creation races (a second thread's fopen "w"
        can clobber the first line of a new file); the log does not."""
        rows = []
        for line in self.log().splitlines():
            if not line.startswith('[{"values"'):
                continue
            try:
                values = json.loads(line)
            except ValueError:
                continue  # a line being written right now
            for v in values:
                if (v.get("plugin") == "anticaptcha"
                        and v.get("plugin_instance") == plugin_instance
                        and v.get("type") == type_
                        and v.get("type_instance") == type_instance):
                    rows.append((float(v["time"]), [float(x) for x in v["values"]]))
        rows.sort(key=lambda r: r[0])
        return rows

    # ----- unixsock -----------------------------------------------------------

    def unixsock(self, cmd, timeout=10):
        """Send one raw command; return the answer: its status line, plus the
        N following lines when the status is N > 0, joined by newlines."""
        line = cmd.rstrip("\n")
        if "\n" in line:
            raise ValueError("one command per call")
        if len(line.encode()) > 1023:
            # The unixsock plugin reads lines with a 1024-byte buffer.
            raise ValueError("unixsock commands are limited to 1023 bytes")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self.socket_path)
            s.sendall(line.encode() + b"\n")
            f = s.makefile("r", encoding="utf-8", errors="replace")
            first = f.readline().rstrip("\n")
            lines = [first]
            try:
                n = int(first.split(" ", 1)[0])
            except ValueError:
                n = 0
            for _ in range(max(0, n)):
                lines.append(f.readline().rstrip("\n"))
            return "\n".join(lines)

    def putnotif(self, severity, time=None, message="", plugin=None,
                 plugin_instance=None, type=None, type_instance=None, host=None,
                 meta=None):
        """Dispatch a notification through unixsock PUTNOTIF; returns the
        answer line ("0 Success"), raises HarnessError otherwise.
        severity: "failure" | "warning" | "okay"; time: epoch (default now);
        meta: {name: string} sent as s:name="value" (string meta only; names
        of letters, digits, '_' and ':' only). Note collectd truncates the
        message to 255 bytes and the other fields to 127."""
        if time is None:
            time = _now()
        parts = ["PUTNOTIF", "severity=%s" % unixsock_quote(severity),
                 "time=%s" % ("%.3f" % time if isinstance(time, float) else time)]
        for k, v in (("host", host), ("plugin", plugin),
                     ("plugin_instance", plugin_instance), ("type", type),
                     ("type_instance", type_instance)):
            if v is not None:
                parts.append("%s=%s" % (k, unixsock_quote(v)))
        for k, v in (meta or {}).items():
            if not re.fullmatch(r"[A-Za-z0-9_:]+", k):
                raise ValueError("meta name %r not accepted by unixsock" % k)
            parts.append("s:%s=%s" % (k, unixsock_quote(v)))
        parts.append("message=%s" % unixsock_quote(message))
        answer = self.unixsock(" ".join(parts))
        if not answer.startswith("0 "):
            raise HarnessError("PUTNOTIF failed: %s" % answer)
        return answer

    def flood(self, ids, lines_of, connections=4, batch=500, pace=None):
        """Sends lines_of(part) (PUTNOTIF lines, one per id of part) for the
        ids, `batch` at a time, over `connections` persistent unixsock
        connections, reading each answer; returns the seconds taken.
        pace(): called before each batch, may sleep to hold the sender back."""
        errors = []
        per = (len(ids) + connections - 1) // connections

        def worker(chunk):
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.settimeout(30)
                    s.connect(self.socket_path)
                    f = s.makefile("rb")
                    for i in range(0, len(chunk), batch):
                        if pace:
                            pace()
                        part = chunk[i:i + batch]
                        s.sendall(lines_of(part))
                        for _ in part:
                            line = f.readline()
                            if not line.startswith(b"0 "):
                                raise HarnessError("PUTNOTIF: %r" % line)
            except Exception as e:  # raised by the caller's thread below
                errors.append(e)

        started = time.monotonic()
        workers = [threading.Thread(target=worker,
                                    args=(ids[k * per:(k + 1) * per],))
                   for k in range(connections)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        if errors:
            raise errors[0]
        return time.monotonic() - started

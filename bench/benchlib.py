"""Pieces of bench/run: the loopback API process, a collectd process with a
minimal configuration, and a unixsock client that streams PUTNOTIF lines.

Python 3 standard library only. Everything runs on 127.0.0.1 / unix sockets.
"""

import array
import bisect
import http.client
import json
import math
import mmap
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import harness  # noqa: E402  (plugin location, proxy-free environment)

HOSTNAME = "benchhost"
KEY = "bench-key-0123456789abcdef"  # fake; the loopback API accepts anything
CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """Something broke (not a figure that missed its target)."""


def wait_until(fn, timeout, what, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise BenchError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(math.ceil(p / 100.0 * len(sorted_values))) - 1))
    return sorted_values[k]


# ---------------------------------------------------------------------------
# The loopback API (bench/loopback_api.py in its own process)
# ---------------------------------------------------------------------------

def build_c(workdir, name, libs=()):
    """Compiles bench/<name>.c into workdir; returns (binary or None, the
    compiler's output)."""
    cc = os.environ.get("CC", "cc")
    out = os.path.join(workdir, name)
    try:
        run = subprocess.run([cc, "-O2", "-o", out, os.path.join(HERE, name + ".c")]
                             + list(libs), capture_output=True, text=True, timeout=120)
    except OSError as e:
        return None, str(e)
    return (out if run.returncode == 0 else None), run.stdout + run.stderr


def build_c_api(workdir):
    """Compiles bench/loopback_api.c; returns the binary, or None (no
    compiler, or it failed: the Python server is used then)."""
    return build_c(workdir, "loopback_api")[0]


def curl_limit(workdir, url, count, rate=0.0, in_flight=128, connections=128,
               warmup=0, first=1):
    """Runs bench/curl_limit.c (built once into workdir): `count` report
    requests with libcurl alone, after `warmup` unmeasured ones. Returns its
    JSON line as a dict (requests, failures, seconds, cpu_seconds,
    cpu_us_per_request). Raises BenchError when it does not build or a
    request fails."""
    binary = os.path.join(workdir, "curl_limit")
    if not os.path.exists(binary):
        built, output = build_c(workdir, "curl_limit", ["-lcurl"])
        if built is None:
            raise BenchError("bench/curl_limit.c does not build (libcurl's headers: "
                             "libcurl4-openssl-dev):\n%s" % output[-2000:])
    try:
        run = subprocess.run(
            [binary, "--url", url, "--key", KEY, "--first", str(first), "--count",
             str(count), "--warmup", str(warmup), "--rate", repr(float(rate)),
             "--in-flight", str(in_flight), "--connections", str(connections)],
            capture_output=True, text=True, timeout=300, env=harness.clean_env())
    except subprocess.TimeoutExpired:
        raise BenchError("bench/curl_limit did not end within 300 s")
    if run.returncode != 0:
        raise BenchError("bench/curl_limit failed (exit %d): %s"
                         % (run.returncode, (run.stderr + run.stdout)[-1000:]))
    return json.loads(run.stdout)


class LoopbackApi:
    """bench/loopback_api.c when it builds, else bench/loopback_api.py (same
    options, protocol and records); `impl` says which runs."""

    def __init__(self, workdir, delay=0.0, records=24, python=False,
                 backlog=1024, name="api"):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.delay = delay
        self.records = records
        self.backlog = backlog
        self.binary = None if python else build_c_api(self.dir)
        self.impl = "C" if self.binary else "Python"
        self.proc = None
        self._counter = None

    def start(self):
        ready = os.path.join(self.dir, "ready.json")
        counter = os.path.join(self.dir, "counter")
        cmd = ([self.binary] if self.binary else
               [sys.executable, os.path.join(HERE, "loopback_api.py")])
        cmd += ["--delay", repr(self.delay), "--records", str(self.records),
                "--ready-file", ready, "--counter-file", counter, "--watch-parent",
                "--backlog", str(self.backlog)]
        self.log = open(os.path.join(self.dir, "api.log"), "wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        harness._LIVE.add(self)  # killed at exit or SIGTERM if still running
        wait_until(lambda: os.path.exists(ready) or self.proc.poll() is not None,
                   10, "the loopback API")
        if self.proc.poll() is not None:
            raise BenchError("the loopback API exited at start-up:\n%s" % self.output())
        with open(ready) as f:
            info = json.load(f)
        self.port, self.control_port = info["port"], info["control_port"]
        fd = os.open(counter, os.O_RDONLY)
        self._counter = mmap.mmap(fd, 8, prot=mmap.PROT_READ)
        os.close(fd)
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        harness._LIVE.discard(self)
        if self._counter is not None:
            self._counter.close()
            self._counter = None
        if self.proc is not None and self.proc.returncode not in (0, None) \
                or "Traceback" in self.output():
            raise BenchError("the loopback API failed (exit %s):\n%s"
                             % (self.proc.returncode, self.output()[-3000:]))

    def output(self):
        try:
            with open(os.path.join(self.dir, "api.log"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def reports(self):
        """Report requests received since the last reset (shared memory)."""
        return struct.unpack_from("=Q", self._counter, 0)[0]

    def cpu_seconds(self):
        return proc_cpu(self.proc.pid)

    def control(self, verb, path):
        conn = http.client.HTTPConnection("127.0.0.1", self.control_port, timeout=60)
        try:
            conn.request(verb, path)
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        if resp.status != 200:
            raise BenchError("loopback API %s %s: HTTP %d %s"
                             % (verb, path, resp.status, body[:200]))
        return json.loads(body)

    def stats(self):
        return self.control("GET", "/stats")

    def dump(self):
        return self.control("GET", "/dump")

    def reset(self):
        self.control("POST", "/reset")

    def set_delay(self, seconds):
        self.control("POST", "/delay?seconds=%r" % seconds)


# ---------------------------------------------------------------------------
# collectd
# ---------------------------------------------------------------------------

def proc_cpu(pid, children=False):
    """utime+stime (plus cutime+cstime: waited-for children) in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is state (field 3); utime is field 14 -> index 11.
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / CLK_TCK


def proc_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise BenchError("no VmRSS for pid %d" % pid)


def conf_quote(value):
    return '"%s"' % str(value).replace("\\", "\\\\").replace('"', '\\"')


class Collectd:
    """collectd -f with a minimal configuration: unixsock, optionally csv,
    `extra` (other plugins' blocks) and the anticaptcha plugin with `plugin`
    as the body of its <Plugin> block (None: not loaded). No log plugin: the
    daemon logs to its stderr, kept in <dir>/collectd.out. (The logfile
    plugin would also write every notification to its file.)"""

    def __init__(self, workdir, name, plugin=None, extra="", csv=False):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.socket_path = os.path.join(self.dir, "sock")
        self.csv_dir = os.path.join(self.dir, "csv")
        self.out_path = os.path.join(self.dir, "collectd.out")
        lines = [
            "Hostname %s" % conf_quote(HOSTNAME),
            "FQDNLookup false",
            "Interval 1",
            "BaseDir %s" % conf_quote(self.dir),
            "PIDFile %s" % conf_quote(os.path.join(self.dir, "collectd.pid")),
            "TypesDB %s" % conf_quote(harness.TYPES_DB),
            "PluginDir %s" % conf_quote(harness.STOCK_PLUGIN_DIR),
            "LoadPlugin unixsock",
            "<Plugin unixsock>",
            "  SocketFile %s" % conf_quote(self.socket_path),
            "  SocketPerms \"0600\"",
            "  SocketGroup \"root\"",
            "  DeleteSocket true",
            "</Plugin>",
        ]
        if csv:
            lines += ["LoadPlugin csv", "<Plugin csv>",
                      "  DataDir %s" % conf_quote(self.csv_dir),
                      "  StoreRates false", "</Plugin>"]
        if extra:
            lines.append(extra)
        if plugin is not None:
            lines += ["PluginDir %s" % conf_quote(harness.usable_plugin_dir(self.dir)),
                      "LoadPlugin anticaptcha", "<Plugin anticaptcha>", plugin,
                      "</Plugin>"]
        self.conf_path = os.path.join(self.dir, "collectd.conf")
        with open(self.conf_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None

    def start(self):
        out = open(self.out_path, "wb")
        self.proc = subprocess.Popen(
            harness.collectd_command(self.conf_path, "-f"), stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT, cwd=self.dir,
            env=harness.clean_env({"TMPDIR": self.dir}), start_new_session=True)
        out.close()
        harness._LIVE.add(self)  # killed at exit or SIGTERM if still running

        def ready():
            if self.proc.poll() is not None:
                raise BenchError("collectd exited with %s at start-up:\n%s"
                                 % (self.proc.returncode, self.output()[-3000:]))
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.connect(self.socket_path)
                return True
            except OSError:
                return False
        wait_until(ready, 20, "collectd's unixsock")
        return self

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, *exc):
        self.stop(check=exc_type is None)
        return False

    def check_alive(self, what="the measurement"):
        if self.proc.poll() is not None:
            raise BenchError("collectd died (exit %s) during %s:\n%s"
                             % (self.proc.returncode, what, self.output()[-3000:]))

    def stop(self, check=True):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                harness._LIVE.discard(self)
                if check:
                    raise BenchError("collectd did not stop within 30 s of SIGTERM")
        harness._LIVE.discard(self)
        if check and self.proc.returncode != 0:
            raise BenchError("collectd exited with %s:\n%s"
                             % (self.proc.returncode, self.output()[-3000:]))

    def output(self):
        try:
            with open(self.out_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    @property
    def pid(self):
        return self.proc.pid

    def cpu_seconds(self, children=False):
        return proc_cpu(self.proc.pid, children)

    def rss_kib(self):
        return proc_rss_kib(self.proc.pid)

    def thread_sched(self, prefix):
        """(CPU seconds, seconds waited for a CPU, voluntary context
        switches) of the threads whose name starts with prefix: live threads
        only; the scheduler's nanoseconds, not clock ticks."""
        cpu = wait = switches = 0
        task = "/proc/%d/task" % self.proc.pid
        for tid in os.listdir(task):
            try:
                with open("%s/%s/comm" % (task, tid)) as f:
                    if not f.read().startswith(prefix):
                        continue
                with open("%s/%s/schedstat" % (task, tid)) as f:
                    run, waited = f.read().split()[:2]
                with open("%s/%s/status" % (task, tid)) as f:
                    for line in f:
                        if line.startswith("voluntary_ctxt_switches:"):
                            switches += int(line.split()[1])
                cpu, wait = cpu + int(run), wait + int(waited)
            except FileNotFoundError:
                continue  # the thread ended meanwhile
        return cpu / 1e9, wait / 1e9, switches

    def thread_cpu(self, prefix):
        return self.thread_sched(prefix)[0]

    def open_fds(self):
        return len(os.listdir("/proc/%d/fd" % self.proc.pid))

    def command(self, line, timeout=10):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(self.socket_path)
            s.sendall(line.encode() + b"\n")
            f = s.makefile("r")
            first = f.readline().rstrip("\n")
            try:
                n = int(first.split(" ", 1)[0])
            except ValueError:
                n = 0
            return [first] + [f.readline().rstrip("\n") for _ in range(max(n, 0))]

    def getval(self, identifier):
        """First value of `identifier` from the daemon's cache, or None."""
        answer = self.command('GETVAL "%s/%s"' % (HOSTNAME, identifier))
        if answer[0].startswith("-") or len(answer) < 2:
            return None
        return float(answer[1].split("=", 1)[1])

    def report_counters(self, account="main"):
        out = {}
        for name in ("sent", "accepted", "rejected", "expired", "duplicate",
                     "dropped", "retried", "abandoned"):
            v = self.getval("anticaptcha-%s/derive-reports-%s" % (account, name))
            out[name] = None if v is None else int(v)
        return out

    def csv_rows(self, plugin_dir, name):
        """[(epoch, value), ...] of <csv>/benchhost/<plugin_dir>/<name>-DATE."""
        d = os.path.join(self.csv_dir, HOSTNAME, plugin_dir)
        rows = []
        try:
            names = os.listdir(d)
        except FileNotFoundError:
            return rows
        for fname in names:
            if not (fname.startswith(name + "-") and fname[len(name) + 1:][:2].isdigit()):
                continue
            with open(os.path.join(d, fname)) as f:
                for line in f:
                    parts = line.strip().split(",")
                    try:
                        rows.append((float(parts[0]), float(parts[1])))
                    except (ValueError, IndexError):
                        continue
        rows.sort()
        return rows


# ---------------------------------------------------------------------------
# Streaming PUTNOTIF into unixsock
# ---------------------------------------------------------------------------

REPORT_LINE = (b"PUTNOTIF severity=failure time=%.3f plugin=anticaptcha "
               b"plugin_instance=main type=recaptcha type_instance=%d message=x\n")
OTHER_LINE = (b"PUTNOTIF severity=failure time=%.3f plugin=solver "
              b"plugin_instance=main type=recaptcha type_instance=%d message=x\n")


class _Conn:
    __slots__ = ("sock", "out", "sent", "answered", "tail", "want_write")

    def __init__(self, sock):
        self.sock = sock
        self.out = bytearray()
        self.sent = 0
        self.answered = 0
        self.tail = b""
        self.want_write = False


class Feeder:
    """Several persistent unixsock connections driven by one thread with
    non-blocking sockets: lines go out as the pacer allows (each connection
    has at most `window` unanswered lines), answers are read as they come,
    so nothing waits for a round trip. Every answer must be "0 ..."."""

    def __init__(self, socket_path, connections=4, window=1024, batch=128):
        self.window = window
        self.batch = batch
        self.sel = selectors.DefaultSelector()
        self.conns = []
        for _ in range(connections):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(socket_path)
            s.setblocking(False)
            c = _Conn(s)
            self.conns.append(c)
            self.sel.register(s, selectors.EVENT_READ, c)
        self.errors = []

    def close(self):
        for c in self.conns:
            self.sel.unregister(c.sock)
            c.sock.close()
        self.sel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def _flush(self, c):
        if c.out:
            try:
                n = c.sock.send(c.out)
                del c.out[:n]
            except BlockingIOError:
                pass
        want = bool(c.out)
        if want != c.want_write:
            c.want_write = want
            self.sel.modify(c.sock, selectors.EVENT_READ |
                            (selectors.EVENT_WRITE if want else 0), c)

    def _read(self, c):
        try:
            data = c.sock.recv(262144)
        except BlockingIOError:
            return
        if not data:
            raise BenchError("collectd closed a unixsock connection")
        n = data.count(b"\n")
        c.answered += n
        text = c.tail + data
        if b"-" in data or (n and not text.startswith(b"0")):
            for line in text.split(b"\n")[:-1]:
                if not line.startswith(b"0 ") and len(self.errors) < 20:
                    self.errors.append(line.decode("utf-8", "replace"))
        c.tail = text[text.rfind(b"\n") + 1:] if n else text[-64:]

    @property
    def answered(self):
        return sum(c.answered for c in self.conns)

    def run(self, first_id, count, pacer, line=REPORT_LINE, stamps=None,
            until=None, on_tick=None, poll=0.002, stall=30.0):
        """Send up to `count` notifications with task ids first_id,
        first_id+1, ...: at any moment at most pacer(now) sent in total (a
        float; math.inf for as fast as possible). With `until` (monotonic
        time) stop sending then. stamps: array('d') of size count; stamps[i]
        is set to the monotonic time line i was handed to send(). on_tick:
        called with (now, answered) on every turn. Returns once every line
        sent has been answered; returns the number sent. Raises BenchError
        when nothing moves for `stall` seconds (a closed-loop pacer waits
        for reports that were dropped, collectd hangs, ...)."""
        sent = 0
        progress = (0, 0)
        last_move = time.monotonic()
        conns = self.conns
        rr = 0
        base_answered = self.answered
        t_send = time.time  # the notification's time field
        mono = time.monotonic
        while True:
            now = mono()
            stop = until is not None and now >= until
            if not stop and sent < count:
                allowed = pacer(now)
                allowed = count if allowed >= count else int(allowed)
                k = 0
                while sent < allowed and k < len(conns):
                    c = conns[rr]
                    rr = (rr + 1) % len(conns)
                    k += 1
                    room = self.window - (c.sent - c.answered)
                    n = min(room, allowed - sent, self.batch)
                    if n <= 0:
                        continue
                    wall = t_send()
                    tid = first_id + sent
                    c.out += b"".join([line % (wall, i) for i in range(tid, tid + n)])
                    if stamps is not None:
                        t = mono()
                        for i in range(sent, sent + n):
                            stamps[i] = t
                    c.sent += n
                    sent += n
                    self._flush(c)
            answered = self.answered - base_answered
            if on_tick is not None:
                on_tick(now, answered)
            if (sent, answered) != progress:
                progress, last_move = (sent, answered), now
            elif now - last_move > stall:
                raise BenchError("no progress for %.0f s: %d of %d notifications sent, "
                                 "%d answered by unixsock (reports dropped?)"
                                 % (stall, sent, count, answered))
            if (sent >= count or stop) and answered >= sent:
                break
            if sent < count and not stop and sent < pacer(now):
                timeout = 0  # window-limited: just look for answers
                if all(c.sent - c.answered >= self.window for c in conns):
                    timeout = 0.05
            else:
                timeout = poll
            for key, mask in self.sel.select(timeout):
                c = key.data
                if mask & selectors.EVENT_READ:
                    self._read(c)
                if mask & selectors.EVENT_WRITE:
                    self._flush(c)
        if self.errors:
            raise BenchError("unixsock refused notifications: %s" % self.errors[:3])
        return sent


def token_bucket(rate, start=None):
    t0 = time.monotonic() if start is None else start
    return lambda now: (now - t0) * rate + 1


def closed_loop(api, backlog, offset=0):
    """At most `backlog` notifications sent that the API has not received."""
    return lambda now: api.reports() - offset + backlog


def as_fast_as_possible(now):
    return math.inf


class Recorded:
    """A pacer that remembers what the pacer it wraps allowed, and when, so
    that another daemon can be fed the same lines in the same batches at the
    same times (replay())."""

    def __init__(self, pacer):
        self.pacer = pacer
        self.t0 = None
        self.times, self.allowed = [], []

    def __call__(self, now):
        if self.t0 is None:
            self.t0 = now
        allowed = self.pacer(now)
        if not self.allowed or allowed != self.allowed[-1]:
            self.times.append(now - self.t0)
            self.allowed.append(allowed)
        return allowed

    def replay(self):
        t0 = []

        def pacer(now):
            if not t0:
                t0.append(now)
            k = bisect.bisect_right(self.times, now - t0[0])
            return self.allowed[k - 1] if k else 0
        return pacer


def new_stamps(count):
    return array.array("d", bytes(8 * count))

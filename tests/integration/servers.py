"""Real downstream servers for the integration tests: carbon-cache (Debian
`graphite-carbon`; its whisper files are read back with Debian's
`python3-whisper` module), graphite-web's render API over them (Debian
`graphite-web`), InfluxDB 1.x (Debian `influxdb`) with its collectd input,
and Prometheus (Debian `prometheus`).

    from servers import CarbonCache, InfluxDB

    with CarbonCache(schemas) as carbon:      # carbon.port: line receiver
        ...
        carbon.fetch("testhost.anticaptcha-main.gauge-balance")

    with InfluxDB() as influx:                # influx.collectd_port: UDP
        influx.query("SHOW MEASUREMENTS")

Each server runs from its own configuration in its own temporary directory
(removed afterwards unless KEEP_TMP=1), listens on 127.0.0.1 only, on ports
picked free at start (retried when another process takes one first), is
waited for until it answers, and is stopped when the `with` block ends,
whatever the outcome (SIGTERM; influxd gets a second one, its hard shutdown;
SIGKILL as the last resort, an error). Neither touches a system instance of
the same server (/etc/carbon, /var/lib/influxdb, ports 2003/8086/8088...).

A missing server package raises HarnessError naming the Debian package
(./scripts/test installs them): the tests fail, they are never skipped.
"""

import fnmatch
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import harness
from harness import (HarnessError, KEY_FILE, clean_env, free_port, make_tmpdir,
                     read_text, remove_tmpdir, tail)

CARBON_CACHE = "/usr/bin/carbon-cache"
WHISPER_PY = "/usr/lib/python3/dist-packages/whisper.py"
INFLUXD = "/usr/bin/influxd"
TYPES_DB = "/usr/share/collectd/types.db"


def require(path, package, executable=True):
    if not (os.access(path, os.X_OK) if executable else os.path.isfile(path)):
        raise HarnessError("%s is missing: install the Debian package %s "
                           "(./scripts/test does)" % (path, package))


def free_udp_port():
    """A UDP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tcp_accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _live():
    """The harness's set of started, not yet stopped processes, killed (and
    their temp dirs removed) when the interpreter exits; a private set if
    the harness has none."""
    live = getattr(harness, "_LIVE", None)
    return _LIVE_FALLBACK if live is None else live


_LIVE_FALLBACK = set()


def http_get(port, path, params, timeout=10):
    """GET http://127.0.0.1:port/path?params: (status, text), HTTP errors
    included. No proxy, whatever the environment says."""
    url = "http://127.0.0.1:%d%s?%s" % (port, path, urllib.parse.urlencode(params))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class _Server:
    """Common life cycle: a process in its own session, output to a file,
    start retried on other ports, stop with SIGTERM then SIGKILL."""

    name = "server"
    prefix = "ac-srv-"
    start_attempts = 3
    start_timeout = 30.0
    stop_timeout = 15.0

    def __init__(self):
        self.dir = None
        self.proc = None
        self._final_output = ""

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

    # To be provided: command() after configure() wrote the config for fresh
    # ports; ready() true once the server serves.
    def configure(self):
        raise NotImplementedError

    def command(self):
        raise NotImplementedError

    def ready(self):
        raise NotImplementedError

    def start(self):
        self.dir = make_tmpdir(self.prefix)
        self.out_path = os.path.join(self.dir, "server.out")
        problem = None
        for _ in range(self.start_attempts):
            self.configure()
            with open(self.out_path, "ab") as out:
                self.proc = subprocess.Popen(
                    self.command(), stdin=subprocess.DEVNULL, stdout=out,
                    stderr=subprocess.STDOUT, cwd=self.dir,
                    env=self._env(), start_new_session=True)
            _live().add(self)
            deadline = time.monotonic() + self.start_timeout
            while True:
                if self.proc.poll() is not None:
                    # Most likely a port taken between picking and binding.
                    problem = "%s exited with %s at start-up" % (
                        self.name, self.proc.returncode)
                    break
                if self.ready():
                    return
                if time.monotonic() > deadline:
                    self._kill()
                    raise HarnessError("%s was not ready after %.0fs:\n%s" % (
                        self.name, self.start_timeout, tail(self.output())))
                time.sleep(0.1)
        raise HarnessError("%s:\n%s" % (problem, tail(self.output())))

    def environment(self):
        return {}

    def second_signal(self):
        """Called when the server is still running stop_timeout seconds after
        SIGTERM: a last chance before SIGKILL (which counts as a failure)."""

    # Variables of the caller's environment the server must not see.
    drop_env_prefix = None

    def _env(self):
        # Their temporary files go with the server's temp dir.
        env = clean_env(dict({"TMPDIR": self.dir}, **self.environment()))
        if self.drop_env_prefix:
            env = {k: v for k, v in env.items()
                   if not k.startswith(self.drop_env_prefix)}
        return env

    def _kill(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()

    def stop(self, check=True):
        """SIGTERM; after stop_timeout second_signal(), then SIGKILL (an
        error with check). Removes the temp dir. Idempotent."""
        problem = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self.second_signal()
        if self.proc is not None and self.proc.poll() is None:
            self._kill()
            problem = "%s did not stop on SIGTERM" % self.name
        _live().discard(self)
        if self.dir is not None:
            self._final_output = self.output()
        remove_tmpdir(self.dir)
        self.dir = None
        if problem and check:
            raise HarnessError("%s:\n%s" % (problem, tail(self._final_output)))

    def output(self):
        """What the server printed (its log); still there after stop()."""
        return read_text(self.out_path) if self.dir else self._final_output

    @property
    def pid(self):
        return self.proc.pid if self.proc else None


# ---------------------------------------------------------------------------
# Graphite: carbon-cache and whisper
# ---------------------------------------------------------------------------

class CarbonCache(_Server):
    """carbon-cache with the plain-text line receiver on 127.0.0.1:`port`
    (pickle receiver and UDP off, cache query port on a loopback ephemeral
    port), whisper files under `whisper_dir`.

    schemas: text of storage-schemas.conf; aggregation: optional text of
    storage-aggregation.conf."""

    name = "carbon-cache"
    prefix = "ac-carbon-"

    def __init__(self, schemas, aggregation=None):
        require(CARBON_CACHE, "graphite-carbon")
        whisper_module()  # python3-whisper must be there too
        super().__init__()
        self.schemas = schemas
        self.aggregation = aggregation
        self.port = None

    @property
    def whisper_dir(self):
        return os.path.join(self.dir, "whisper")

    def configure(self):
        d = self.dir
        for sub in ("conf", "whisper", "lists", "log"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        self.port = free_port()
        conf = os.path.join(d, "conf")
        with open(os.path.join(conf, "carbon.conf"), "w") as f:
            f.write("\n".join([
                "[cache]",
                "STORAGE_DIR = %s/" % d,
                "LOCAL_DATA_DIR = %s/whisper/" % d,
                "WHITELISTS_DIR = %s/lists/" % d,
                "CONF_DIR = %s/" % conf,
                "LOG_DIR = %s/log/" % d,
                "PID_DIR = %s/" % d,
                "USER =",
                "DATABASE = whisper",
                "MAX_CACHE_SIZE = inf",
                "MAX_UPDATES_PER_SECOND = inf",
                "MAX_CREATES_PER_MINUTE = inf",
                "LINE_RECEIVER_INTERFACE = 127.0.0.1",
                "LINE_RECEIVER_PORT = %d" % self.port,
                "ENABLE_UDP_LISTENER = False",
                "PICKLE_RECEIVER_INTERFACE = 127.0.0.1",
                "PICKLE_RECEIVER_PORT = 0",      # 0: not started
                "CACHE_QUERY_INTERFACE = 127.0.0.1",
                "CACHE_QUERY_PORT = 0",          # an ephemeral loopback port
                "LOG_LISTENER_CONN_SUCCESS = False",
                "ENABLE_TAGS = False",           # no graphite-web tagdb calls
                "LOG_UPDATES = False",
                "LOG_CREATES = True",
                "WHISPER_AUTOFLUSH = True",
                "CACHE_WRITE_STRATEGY = sorted",
                "",
            ]))
        with open(os.path.join(conf, "storage-schemas.conf"), "w") as f:
            f.write(self.schemas)
        if self.aggregation:
            with open(os.path.join(conf, "storage-aggregation.conf"), "w") as f:
                f.write(self.aggregation)

    def command(self):
        return [CARBON_CACHE, "--config=%s" % os.path.join(self.dir, "conf",
                                                          "carbon.conf"),
                "--nodaemon", "--pidfile=%s" % os.path.join(self.dir, "carbon.pid"),
                "--logdir=%s" % os.path.join(self.dir, "log"), "start"]

    def environment(self):
        return {"GRAPHITE_ROOT": self.dir, "PYTHONWARNINGS": "ignore"}

    def ready(self):
        # Our carbon logged the listener (not another process on the port).
        return ("CarbonReceiverFactory starting on %d\n" % self.port
                in self.output()) and tcp_accepts(self.port)

    # ----- reading whisper files -----------------------------------------

    def metrics(self):
        """Dotted names of all whisper files, sorted."""
        out = []
        for root, _, files in os.walk(self.whisper_dir):
            for name in files:
                if name.endswith(".wsp"):
                    rel = os.path.relpath(os.path.join(root, name), self.whisper_dir)
                    out.append(rel[:-4].replace(os.sep, "."))
        return sorted(out)

    def glob(self, pattern):
        """Metric names matching a Graphite path expression with `*`, `?`,
        `[...]` and `{a,b}` inside nodes (the way a render target's series
        list is expanded); nodes never match across dots."""
        alternatives = [pattern]
        while any("{" in p for p in alternatives):
            expanded = []
            for p in alternatives:
                if "{" not in p:
                    expanded.append(p)
                    continue
                i = p.index("{")
                j = p.index("}", i)
                for alt in p[i + 1:j].split(","):
                    expanded.append(p[:i] + alt + p[j + 1:])
            alternatives = expanded
        found = set()
        for name in self.metrics():
            nodes = name.split(".")
            for p in alternatives:
                pnodes = p.split(".")
                if len(pnodes) == len(nodes) and all(
                        fnmatch.fnmatchcase(n, pn) for n, pn in zip(nodes, pnodes)):
                    found.add(name)
        return sorted(found)

    def path(self, metric):
        return os.path.join(self.whisper_dir, *metric.split(".")) + ".wsp"

    def fetch(self, metric, start=None, until=None):
        """[(timestamp, value), ...] of a metric's non-null points, read with
        python3-whisper; [] when the file does not exist yet. The default
        range is what the metric's first (finest) archive holds, at most the
        last 26 hours: whisper answers from the first archive that covers the
        whole range, so a longer range would read a coarser one."""
        path = self.path(metric)
        if not os.path.exists(path):
            return []
        wsp = whisper_module()
        now = int(time.time())
        if start is None:
            first = wsp.info(path)["archives"][0]["retention"]
            start = now - min(first - 1, 26 * 3600)
        (t0, _, step), values = wsp.fetch(path, start, until or now)
        return [(t0 + i * step, v) for i, v in enumerate(values) if v is not None]

    def info(self, metric):
        """whisper's header of a metric: archives (secondsPerPoint,
        retention...), aggregationMethod, xFilesFactor."""
        return whisper_module().info(self.path(metric))


def anticaptcha_schemas(retentions, hourly):
    """storage-schemas.conf with the sections doc/writers.md recommends (same
    patterns, same order): `hourly` for the *_1h records, `retentions` for
    the other values of the plugin, one minute for anything else."""
    return """\
[anticaptcha_hourly]
pattern = \\.anticaptcha.*_1h$
retentions = %s

[anticaptcha]
pattern = \\.anticaptcha
retentions = %s

[default]
pattern = .*
retentions = 60s:1d
""" % (hourly, retentions)


_whisper = None


def whisper_module():
    """Debian's python3-whisper module, whichever Python 3 runs the tests
    (it is one pure-Python file in /usr/lib/python3/dist-packages)."""
    global _whisper
    if _whisper is None:
        try:
            import whisper
        except ImportError:
            require(WHISPER_PY, "python3-whisper", executable=False)
            spec = importlib.util.spec_from_file_location("whisper", WHISPER_PY)
            whisper = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(whisper)
        _whisper = whisper
    return _whisper


# ---------------------------------------------------------------------------
# InfluxDB 1.x with the collectd input
# ---------------------------------------------------------------------------

class InfluxDB(_Server):
    """influxd (1.x) with its own meta/data/wal dirs in the temp dir, the HTTP
    API on 127.0.0.1:`http_port`, the RPC (backup) service on another
    loopback port, and the collectd input listening on UDP
    127.0.0.1:`collectd_port`, writing into `database` with collectd's
    types.db. Reporting, the monitor's _internal store, continuous queries
    and subscriptions are off."""

    name = "influxd"
    prefix = "ac-influx-"

    def __init__(self, database="collectd", batch_timeout="200ms"):
        require(INFLUXD, "influxdb")
        super().__init__()
        self.database = database
        self.batch_timeout = batch_timeout
        self.http_port = self.rpc_port = self.collectd_port = None

    def configure(self):
        d = self.dir
        self.http_port = free_port()
        self.rpc_port = free_port()
        while self.rpc_port == self.http_port:
            self.rpc_port = free_port()
        self.collectd_port = free_udp_port()
        self.conf_path = os.path.join(d, "influxdb.conf")
        with open(self.conf_path, "w") as f:
            f.write("""\
reporting-disabled = true
bind-address = "127.0.0.1:%(rpc)d"

[meta]
  dir = "%(d)s/meta"

[data]
  dir = "%(d)s/data"
  wal-dir = "%(d)s/wal"
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:%(http)d"
  auth-enabled = false
  log-enabled = false

[continuous_queries]
  enabled = false

[subscriber]
  enabled = false

[[collectd]]
  enabled = true
  bind-address = "127.0.0.1:%(udp)d"
  database = "%(db)s"
  typesdb = "%(typesdb)s"
  batch-size = 1000
  batch-pending = 10
  batch-timeout = "%(bt)s"
  read-buffer = 0
""" % {"d": d, "rpc": self.rpc_port, "http": self.http_port,
       "udp": self.collectd_port, "db": self.database, "typesdb": TYPES_DB,
       "bt": self.batch_timeout})

    def command(self):
        return [INFLUXD, "run", "-config", self.conf_path]

    # influxd 1.6 hangs in its clean shutdown (until its own 30 s limit) once
    # the collectd input has received data; a second signal is its
    # documented way to a hard shutdown. The data is thrown away anyway.
    stop_timeout = 3.0

    def second_signal(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass

    # influxd reads INFLUXDB_* variables as configuration overrides.
    drop_env_prefix = "INFLUXDB_"

    def ready(self):
        # The HTTP API answers /ping, and the collectd input logged that it
        # listens on our port (it creates its database at the first write).
        if not re.search(r'msg="Listening on UDP" .*service=collectd '
                         r'addr=127\.0\.0\.1:%d\b' % self.collectd_port,
                         self.output()):
            return False
        try:
            return self._get("/ping", {}, timeout=2)[0] == 204
        except OSError:
            return False

    # ----- HTTP API ---------------------------------------------------------

    def _get(self, path, params, timeout=10):
        return http_get(self.http_port, path, params, timeout)

    def query(self, q, db=None, epoch="s"):
        """Run InfluxQL through GET /query; returns the list of series of the
        (single) statement: [{"name", "tags", "columns", "values"}, ...]."""
        params = {"q": q, "epoch": epoch}
        if db:
            params["db"] = db
        status, text = self._get("/query", params)
        if status != 200:
            raise HarnessError("InfluxDB query %r: HTTP %d %s" % (q, status, text))
        result = json.loads(text)["results"][0]
        if "error" in result:
            raise HarnessError("InfluxDB query %r: %s" % (q, result["error"]))
        return result.get("series", [])

    def databases(self):
        series = self.query("SHOW DATABASES")
        return [row[0] for s in series for row in s.get("values", [])]

    def rows(self, q):
        """Rows of a query on `database` as dicts (column name -> value),
        each with the series' tags merged in."""
        out = []
        for s in self.query(q, db=self.database):
            for values in s.get("values", []):
                row = dict(zip(s["columns"], values))
                row.update(s.get("tags") or {})
                row.setdefault("_measurement", s.get("name"))
                out.append(row)
        return out


# ---- What the downstream tests poll ----------------------------------------

QUEUES = ("Recaptcha Proxyless", "English ImageToText")


def two_accounts(url):
    # "main": two queues, the total and the balance, polled every second;
    # "eu.shop": the total only, to see what becomes of a dot in a name.
    return """
  <Account "main">
    ClientKeyFile "@TMP@/%(key)s"
    URL "%(url)s"
    Queue "%(q0)s"
    Queue "%(q1)s"
    Interval 1
  </Account>
  <Account "eu.shop">
    ClientKeyFile "@TMP@/%(key)s"
    URL "%(url)s"
    Balance false
    Interval 1
  </Account>""" % {"key": KEY_FILE, "url": url, "q0": QUEUES[0], "q1": QUEUES[1]}


# ---- Prometheus (Debian `prometheus`) ---------------------------------------

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"


class Prometheus(_Server):
    """The Prometheus server scraping one target (collectd's write_prometheus
    on 127.0.0.1:`target_port`) every `scrape_interval`, evaluating
    `rule_files` as often, its TSDB and config in the temp dir, its web API
    on 127.0.0.1:`port`. honor_labels keeps collectd's `instance` label (the
    host name), as README.md advises for an exporter of other hosts' values."""

    name = "prometheus"
    prefix = "ac-prom-"

    def __init__(self, target_port, rule_files=(), scrape_interval="1s"):
        require(PROMETHEUS, "prometheus")
        super().__init__()
        self.target_port = target_port
        self.rule_files = list(rule_files)
        self.scrape_interval = scrape_interval
        self.port = None

    def configure(self):
        self.port = free_port()
        self.conf_path = os.path.join(self.dir, "prometheus.yml")
        with open(self.conf_path, "w") as f:
            f.write("""\
global:
  scrape_interval: %(si)s
  evaluation_interval: %(si)s
rule_files: [%(rules)s]
scrape_configs:
  - job_name: collectd
    honor_labels: true
    static_configs:
      - targets: ["127.0.0.1:%(target)d"]
""" % {"si": self.scrape_interval, "target": self.target_port,
       "rules": ", ".join(json.dumps(r) for r in self.rule_files)})

    def command(self):
        return [PROMETHEUS, "--config.file=" + self.conf_path,
                "--storage.tsdb.path=" + os.path.join(self.dir, "data"),
                "--web.listen-address=127.0.0.1:%d" % self.port,
                "--log.level=warn"]

    def ready(self):
        try:
            return self._get("/-/ready", {}, timeout=2)[0] == 200
        except OSError:
            return False

    def _get(self, path, params, timeout=10):
        return http_get(self.port, path, params, timeout)

    def api(self, path, **params):
        """GET /api/v1/<path>; returns its "data", raises on an error."""
        status, text = self._get("/api/v1/" + path, params)
        answer = json.loads(text) if text.startswith("{") else {}
        if status != 200 or answer.get("status") != "success":
            raise HarnessError("Prometheus /api/v1/%s %r: HTTP %d %s"
                               % (path, params, status, text[:500]))
        return answer["data"]

    def query(self, promql):
        """An instant query: [(labels without __name__... as a dict, value)],
        the metric name under "__name__" when the result has one."""
        data = self.api("query", query=promql)
        if data["resultType"] != "vector":
            raise HarnessError("%r: a %s, not a vector" % (promql, data["resultType"]))
        return [(r["metric"], float(r["value"][1])) for r in data["result"]]

    def metric_names(self):
        return self.api("label/__name__/values")


# ---- graphite-web (Debian `graphite-web`): the render API -------------------

GRAPHITE_WEB_WSGI = "/usr/lib/python3/dist-packages/graphite/wsgi.py"
# graphite-web is Debian's python3 module: run it with Debian's interpreter,
# whichever Python runs the tests.
DEBIAN_PYTHON3 = "/usr/bin/python3"

# Settings module written into the temp dir (GRAPHITE_SETTINGS_MODULE): the
# whisper files of a CarbonCache, everything else in the temp dir. No
# carbonlink: the tests wait until carbon has written what they read.
_GRAPHITE_SETTINGS = """\
SECRET_KEY = "collectd-anticaptcha tests"
STORAGE_DIR = %(dir)r
WHISPER_DIR = %(whisper)r
LOG_DIR = %(dir)r + "/log"
INDEX_FILE = %(dir)r + "/index"
CARBONLINK_HOSTS = []
DATABASES = {"default": {"NAME": %(dir)r + "/graphite.db",
                         "ENGINE": "django.db.backends.sqlite3"}}
"""

# Django's setup, its database (the metrics finder asks for a user profile),
# then the WSGI app under wsgiref on loopback; one line says it serves.
_GRAPHITE_LAUNCHER = """\
import os, sys
sys.path.insert(0, sys.argv[1])
os.environ["DJANGO_SETTINGS_MODULE"] = "graphite.settings"
os.environ["GRAPHITE_SETTINGS_MODULE"] = "ac_graphite_settings"
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0, interactive=False)
from graphite.wsgi import application
from wsgiref.simple_server import make_server, WSGIRequestHandler
class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass
server = make_server("127.0.0.1", int(sys.argv[2]), application,
                     handler_class=Quiet)
print("graphite-web serves on 127.0.0.1:%s" % sys.argv[2], flush=True)
server.serve_forever()
"""


class GraphiteWeb(_Server):
    """graphite-web's Django application (Debian graphite-web) under
    Python's wsgiref on 127.0.0.1:`port`, reading the whisper files of
    `carbon` (a running CarbonCache): the render API (/render) and the
    metrics finder (/metrics/find), as Grafana's Graphite data source calls
    them. Its settings, log and sqlite database live in its temp dir."""

    name = "graphite-web"
    prefix = "ac-gweb-"

    def __init__(self, carbon):
        require(GRAPHITE_WEB_WSGI, "graphite-web", executable=False)
        require(DEBIAN_PYTHON3, "python3")
        super().__init__()
        self.carbon = carbon
        self.port = None

    def configure(self):
        self.port = free_port()
        os.makedirs(os.path.join(self.dir, "log"), exist_ok=True)
        with open(os.path.join(self.dir, "ac_graphite_settings.py"), "w") as f:
            f.write(_GRAPHITE_SETTINGS % {"dir": self.dir,
                                          "whisper": self.carbon.whisper_dir})

    def command(self):
        return [DEBIAN_PYTHON3, "-c", _GRAPHITE_LAUNCHER, self.dir, str(self.port)]

    def environment(self):
        return {"PYTHONWARNINGS": "ignore", "PYTHONDONTWRITEBYTECODE": "1"}

    def ready(self):
        return ("graphite-web serves on 127.0.0.1:%d\n" % self.port
                in self.output()) and tcp_accepts(self.port)

    def get(self, path, params, timeout=30):
        """GET a graphite-web URL: (status, body bytes)."""
        url = "http://127.0.0.1:%d%s?%s" % (self.port, path,
                                           urllib.parse.urlencode(params, doseq=True))
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(url, timeout=timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def render(self, params):
        """/render with format=json: [{"target", "datapoints": [[v, t]...]}]."""
        status, body = self.get("/render", dict(params, format="json"))
        if status != 200:
            raise HarnessError("graphite-web /render %r: HTTP %d %s"
                               % (params, status, body[-2000:].decode("utf-8", "replace")))
        return json.loads(body)

    def find(self, query, **params):
        """/metrics/find: [{"text", "id", "leaf", ...}]."""
        status, body = self.get("/metrics/find", dict(params, query=query))
        if status != 200:
            raise HarnessError("graphite-web /metrics/find %r: HTTP %d %s"
                               % (query, status, body[-2000:].decode("utf-8", "replace")))
        return json.loads(body)

"""What Grafana sends for the dashboards of dashboards/, and what it shows.

Reads a dashboard's JSON, fills its template variables from the back end the
way Grafana does (the variable's query, its regex, "All" selected), and runs
each panel's queries as Grafana's data source would send them:

    Graphite    /render?target=...&from=-24h&until=now&format=json&maxDataPoints=N
                (variables: {a,b}), and /metrics/find for the variables;
    InfluxDB    /query?db=...&q=...&epoch=ms with $timeFilter as
                time >= <from>ms and time <= <to>ms (variables: (a|b), regex
                escaped), SHOW TAG VALUES for the variables;
    Prometheus  /api/v1/query_range (start and end aligned to the step, the
                step being the target's interval) or /api/v1/query for
                instant targets (variables: (a|b), regex escaped as PromQL
                strings need), /api/v1/label/<l>/values for label_values().

The answer of a target is {display name: [(time, value), ...]}, the display
name as Grafana's legend shows it: Graphite's series name, the InfluxDB
alias or the Prometheus legendFormat filled in, after the panel's
renameByRegex transformations.

Prometheus range queries: Grafana aligns start and end down to the step, so a
series younger than one step is not in the answer yet. A test cannot wait a
day, so the range ends at the next multiple of the step ("the dashboard as
Grafana sends it when opened then"): the samples are the same, as the
simulated account's values do not change."""

import json
import math
import re
import time

HOST_WILDCARD = "*"


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def panels(dashboard):
    """The panels that query (rows left out), in order."""
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def panel_key(title):
    """A repeated panel's title names its variable (": $queue"): not part of
    what the panel is."""
    return re.sub(r": \$\w+$", "", title)


def duration(text):
    """Grafana's "30d", "1h", "1m", "15s" -> seconds."""
    m = re.fullmatch(r"(\d+)([smhdw])", text)
    if not m:
        raise ValueError("not a Grafana duration: %r" % text)
    return int(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400,
                               "w": 604800}[m.group(2)]


def js_regex(text):
    """A Grafana variable regex "/.../" as a Python pattern (the ones the
    dashboards use are plain enough to mean the same in both)."""
    m = re.fullmatch(r"/(.*)/([a-z]*)", text)
    return re.compile(m.group(1)) if m else None


def js_replacement(pattern):
    """renameByRegex's "$1 $2" as Python's "\\1 \\2"."""
    return re.sub(r"\$(\d+)", r"\\\1", pattern)


class Variable:
    def __init__(self, spec):
        self.spec = spec
        self.name = spec["name"]
        self.values = []          # selected values (All: every option)
        self.multi = spec.get("multi", False) or spec.get("includeAll", False)


class Backend:
    """One data source; subclasses know its queries and formats."""

    kind = None

    def __init__(self, dashboard, server, now=None):
        """server: servers.GraphiteWeb, InfluxDB or Prometheus; now: the
        clock of the requests (default: the time of each)."""
        self.dashboard = dashboard
        self.server = server
        self.range_s = self.default_range()
        self.variables = {}
        self.now = now

    def default_range(self):
        t = self.dashboard["time"]
        assert t["to"] == "now", t
        return duration(t["from"][len("now-"):])

    def clock(self):
        return self.now if self.now is not None else time.time()

    # ----- variables -------------------------------------------------------------

    def fill_variables(self):
        """Evaluates the dashboard's variables in order, "All" selected."""
        for spec in self.dashboard["templating"]["list"]:
            v = Variable(spec)
            if spec["type"] == "datasource":
                v.values = ["${datasource}"]
            elif spec["type"] == "constant":
                v.values = [""]       # write_graphite's default: no Prefix
            elif spec["type"] == "query":
                query = self.interpolate(spec["query"], {})
                found = self.variable_values(query)
                rx = js_regex(spec.get("regex") or "")
                options = []
                for text in found:
                    if rx is not None:
                        m = rx.search(text)
                        if not m:
                            continue
                        text = m.group(1) if m.groups() else m.group(0)
                    if text not in options:
                        options.append(text)
                v.values = sorted(options)
            else:
                raise ValueError("variable type %s" % spec["type"])
            self.variables[v.name] = v
        return {n: v.values for n, v in self.variables.items()}

    def interpolate(self, text, scoped):
        """$name and ${name} replaced as the data source formats them;
        scoped: {name: [values]} that take precedence (a repeated panel's
        value, $__interval...)."""
        def sub(m):
            name = m.group(1) or m.group(2)
            if name in scoped:
                values, multi = scoped[name], False
            elif name in self.variables:
                v = self.variables[name]
                values, multi = v.values, v.multi
            else:
                return m.group(0)
            if isinstance(values, str):
                return values
            return self.format(values, multi)
        return re.sub(r"\$\{(\w+)\}|\$(\w+)", sub, text)

    # ----- panels ------------------------------------------------------------------

    def panel_range(self, panel):
        return duration(panel["timeFrom"]) if panel.get("timeFrom") else self.range_s

    def run_panel(self, panel):
        """{display name: [(t, v), ...]} over all targets of the panel and,
        for a repeated panel, all values of its variable."""
        repeats = [{}]
        if panel.get("repeat"):
            repeats = [{panel["repeat"]: [v]}
                       for v in self.variables[panel["repeat"]].values]
        out = {}
        for scoped in repeats:
            for target in panel["targets"]:
                for name, points in self.run_target(panel, target, dict(scoped)).items():
                    name = rename(panel, name)
                    out.setdefault(name, []).extend(points)
        return out


def rename(panel, name):
    for t in panel.get("transformations", []):
        if t["id"] == "renameByRegex":
            rx = re.compile(t["options"]["regex"])
            if rx.search(name):
                name = rx.sub(js_replacement(t["options"]["renamePattern"]), name)
    return name


def escape_regex(value):
    """JavaScript-style escaping of regex metacharacters (one backslash)."""
    return re.sub(r"([\\^$*+?.()|\[\]{}/])", r"\\\1", value)


# ---------------------------------------------------------------------------
# Graphite
# ---------------------------------------------------------------------------

class Graphite(Backend):
    kind = "graphite"

    def format(self, values, multi):
        return values[0] if len(values) == 1 else "{%s}" % ",".join(values)

    def variable_values(self, query):
        return [n["text"] for n in self.server.find(query, **{"from": "-%ds" % self.range_s,
                                                             "until": "now"})]

    def run_target(self, panel, target, scoped):
        params = {"target": self.interpolate(target["target"], scoped),
                  "from": "-%ds" % self.panel_range(panel), "until": "now",
                  "maxDataPoints": panel["maxDataPoints"]}
        out = {}
        for s in self.server.render(params):
            out.setdefault(s["target"], []).extend(
                (t, v) for v, t in s["datapoints"] if v is not None)
        return out


# ---------------------------------------------------------------------------
# InfluxDB 1.x (InfluxQL)
# ---------------------------------------------------------------------------

class InfluxQL(Backend):
    kind = "influxdb"

    def format(self, values, multi):
        escaped = [escape_regex(v) for v in values]
        return escaped[0] if len(escaped) == 1 else "(%s)" % "|".join(escaped)

    def variable_values(self, query):
        out = []
        for s in self.server.query(query, db=self.server.database):
            col = s["columns"].index("value")
            out += [row[col] for row in s.get("values", [])]
        return out

    def run_target(self, panel, target, scoped):
        to = self.clock()
        frm = to - self.panel_range(panel)
        scoped["timeFilter"] = "time >= %dms and time <= %dms" % (frm * 1000, to * 1000)
        q = self.interpolate(target["query"], scoped)
        alias = target.get("alias", "")
        out = {}
        for s in self.server.query(q, db=self.server.database, epoch="ms"):
            tags = s.get("tags") or {}
            name = re.sub(r"\$tag_(\w+)", lambda m: tags.get(m.group(1), ""), alias)
            name = self.interpolate(name, scoped)
            cols = s["columns"]
            vi = 1 if cols[0] == "time" else 0
            out.setdefault(name, []).extend(
                (row[0] / 1000.0, row[vi]) for row in s.get("values", [])
                if row[vi] is not None)
        return out


# ---------------------------------------------------------------------------
# Prometheus
# ---------------------------------------------------------------------------

# Grafana's default scrape interval of a Prometheus data source (used for
# $__rate_interval when the data source does not set one).
GRAFANA_SCRAPE_INTERVAL = 15


def prom_escape(value):
    """Grafana's prometheusSpecialRegexEscape: metacharacters get two
    backslashes, as the regex sits in a PromQL string."""
    value = value.replace("\\", "\\\\\\\\")
    return re.sub(r"([$^*{}\[\]+?.()|])", r"\\\\\1", value)


class PromQL(Backend):
    kind = "prometheus"

    def format(self, values, multi):
        if not multi:
            return values[0]
        escaped = [prom_escape(v) for v in values]
        return escaped[0] if len(escaped) == 1 else "(%s)" % "|".join(escaped)

    def variable_values(self, query):
        m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query.strip())
        if not m:
            raise ValueError("variable query %r" % query)
        end = self.clock()
        return self.server.api("label/%s/values" % m.group(2), **{
            "match[]": m.group(1), "start": int(end - self.range_s), "end": int(end)})

    def step(self, panel, target):
        """The target's interval: the dashboards ask for few enough points
        that Grafana's own interval (range / maxDataPoints) stays below it."""
        step = duration(target["interval"])
        auto = self.panel_range(panel) / panel["maxDataPoints"]
        if auto > step:
            raise AssertionError("%r: %s points over %ds need a step of %.0fs, more "
                                 "than its interval %s" % (panel["title"], panel["maxDataPoints"],
                                                           self.panel_range(panel), auto,
                                                           target["interval"]))
        return step

    def run_target(self, panel, target, scoped):
        rng = self.panel_range(panel)
        now = self.clock()
        scoped["__range"] = "%ds" % rng
        if target.get("instant"):
            expr = self.interpolate(target["expr"], scoped)
            data = self.server.api("query", query=expr, time="%.3f" % now)
            series = [(r["metric"], [r["value"]]) for r in data["result"]]
        else:
            step = self.step(panel, target)
            scoped["__interval"] = target["interval"]
            scoped["__rate_interval"] = "%ds" % max(step + GRAFANA_SCRAPE_INTERVAL,
                                                   4 * GRAFANA_SCRAPE_INTERVAL)
            expr = self.interpolate(target["expr"], scoped)
            end = math.ceil(now / step) * step
            start = (end - rng) // step * step
            data = self.server.api("query_range", query=expr, start=start, end=end, step=step)
            series = [(r["metric"], r["values"]) for r in data["result"]]
        out = {}
        for labels, values in series:
            name = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""),
                          target.get("legendFormat", ""))
            out.setdefault(name, []).extend((float(t), float(v)) for t, v in values
                                            if v not in ("NaN",))
        return out


def backend(kind, dashboard, server, now=None):
    return {"graphite": Graphite, "influxdb": InfluxQL,
            "prometheus": PromQL}[kind](dashboard, server, now)

"""The dashboard files as Grafana's import reads them (no back end needed).

dashboards/*.json must be what dashboards/generate.py writes, and each must
be importable: its __inputs name every ${DS_...}/${VAR_...} placeholder the
file uses (Grafana's import dialog asks for those) and nothing else, its
__requires the panel types and data source it uses; every panel and query
goes to the dashboard's datasource variable; panel ids and refIds are unique,
panels do not overlap; every query restricts time the way its data source
expects, and names only variables the dashboard defines or Grafana provides.
What the queries return is tests/integration/test_dashboards.py's concern,
the schema tests/dashboards/check_schema.mjs's."""

import json
import os
import re
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DASHBOARDS = os.path.join(REPO, "dashboards")
KINDS = ("graphite", "influxdb", "prometheus")
# Variables Grafana itself fills in ($timeFilter: InfluxQL's time range).
BUILTIN = {"__interval", "__range", "__rate_interval", "timeFilter"}


def load(kind):
    with open(os.path.join(DASHBOARDS, kind + ".json"), encoding="utf-8") as f:
        return json.load(f)


def query_panels(d):
    return [p for p in d["panels"] if p["type"] != "row"]


def query_text(kind, target):
    return target[{"graphite": "target", "influxdb": "query", "prometheus": "expr"}[kind]]


class DashboardFiles(unittest.TestCase):

    def test_generated(self):
        run = subprocess.run([sys.executable, os.path.join(DASHBOARDS, "generate.py"), "--check"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)

    def test_inputs_cover_the_placeholders(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                d = load(kind)
                text = json.dumps({k: v for k, v in d.items() if k != "__inputs"})
                used = set(re.findall(r"\$\{((?:DS|VAR)_[A-Z0-9_]+)\}", text))
                inputs = {i["name"]: i for i in d["__inputs"]}
                self.assertEqual(set(inputs), used)
                ds = [i for i in d["__inputs"] if i["type"] == "datasource"]
                self.assertEqual([i["pluginId"] for i in ds], [kind])
                for i in d["__inputs"]:
                    self.assertIn(i["type"], ("datasource", "constant"))
                    self.assertTrue(i["label"], i)

    def test_requires(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                d = load(kind)
                req = {(r["type"], r["id"]) for r in d["__requires"]}
                self.assertIn(("grafana", "grafana"), req)
                self.assertIn(("datasource", kind), req)
                self.assertEqual({i for t, i in req if t == "panel"},
                                 {p["type"] for p in query_panels(d)})

    def test_everything_goes_to_the_datasource_variable(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                d = load(kind)
                ds = {"type": kind, "uid": "${datasource}"}
                (var,) = [v for v in d["templating"]["list"] if v["type"] == "datasource"]
                self.assertEqual(var["name"], "datasource")
                self.assertEqual(var["query"], kind)
                for p in query_panels(d):
                    self.assertEqual(p["datasource"], ds, p["title"])
                    for t in p["targets"]:
                        self.assertEqual(t["datasource"], ds, p["title"])
                for v in d["templating"]["list"]:
                    if v["type"] == "query":
                        self.assertEqual(v["datasource"], ds, v["name"])

    def test_ids_and_layout(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                d = load(kind)
                ids = [p["id"] for p in d["panels"]]
                self.assertEqual(len(ids), len(set(ids)))
                boxes = []
                for p in d["panels"]:
                    g = p["gridPos"]
                    self.assertLessEqual(g["x"] + g["w"], 24, p["title"])
                    for (x, y, w, h, title) in boxes:
                        overlap = (g["x"] < x + w and x < g["x"] + g["w"]
                                   and g["y"] < y + h and y < g["y"] + g["h"])
                        self.assertFalse(overlap, "%r overlaps %r" % (p["title"], title))
                    boxes.append((g["x"], g["y"], g["w"], g["h"], p["title"]))
                    if p["type"] != "row":
                        refs = [t["refId"] for t in p["targets"]]
                        self.assertEqual(len(refs), len(set(refs)), p["title"])
                        self.assertTrue(refs, p["title"])

    def test_queries(self):
        for kind in KINDS:
            d = load(kind)
            defined = {v["name"] for v in d["templating"]["list"]} | BUILTIN
            for p in query_panels(d):
                for t in p["targets"]:
                    with self.subTest(kind=kind, panel=p["title"], ref=t["refId"]):
                        q = query_text(kind, t)
                        names = {a or b for a, b in re.findall(r"\$\{(\w+)\}|\$([A-Za-z_]\w*)", q)}
                        self.assertLessEqual(names, defined)
                        if kind == "influxdb":
                            # A raw query restricted to the panel's range.
                            self.assertIs(t["rawQuery"], True)
                            self.assertEqual(t["resultFormat"], "time_series")
                            self.assertIn("$timeFilter", q)
                            self.assertTrue(t["alias"])
                        elif kind == "prometheus":
                            self.assertNotEqual(t["instant"], t["range"])
                            self.assertTrue(t["legendFormat"])
                            if t["range"]:
                                self.assertRegex(t["interval"], r"^\d+[smhd]$")
                        else:
                            self.assertTrue(q.startswith("aliasSub("), q)

    def test_variables(self):
        for kind in KINDS:
            with self.subTest(kind=kind):
                d = load(kind)
                by_name = {v["name"]: v for v in d["templating"]["list"]}
                for name in ("account", "queue"):
                    v = by_name[name]
                    self.assertEqual(v["type"], "query")
                    self.assertTrue(v["multi"] and v["includeAll"])
                    self.assertNotIn("allValue", v)   # "All": every value, formatted
                self.assertEqual(d["time"], {"from": "now-24h", "to": "now"})


if __name__ == "__main__":
    result = unittest.main(exit=False, verbosity=2).result
    failed = len(result.failures) + len(result.errors)
    print("%d passed, %d failed" % (result.testsRun - failed, failed))
    sys.exit(1 if failed else 0)

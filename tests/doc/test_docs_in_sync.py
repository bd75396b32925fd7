#!/usr/bin/env python3
"""The documentation cannot drift.

* README.md's and doc/reports.md's tables and doc/collectd-anticaptcha.5.pod are what
  doc/gendoc.py makes of doc/options.tsv and doc/values.tsv;
* every option plugin/configuration.c (and the <Report> and <QueueStats>
  parsers, report_config.c and queue_config.c) accepts is documented, and
  nothing else;
* the ranges of doc/options.tsv are the bounds plugin/configuration.c and
  plugin/queue_config.c check, and its defaults are the code's and those
  written in conf.d/anticaptcha.conf;
* configure.ac, debian/changelog and NEWS name the same version.

Run by `make check`; on its own: python3 tests/doc/test_docs_in_sync.py
"""

import difflib
import os
import re
import subprocess
import sys
import tempfile

SRCDIR = os.environ.get("ANTICAPTCHA_SRCDIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok - %s" % what)
    else:
        failed += 1
        print("not ok - %s" % what)
        if detail:
            print(detail.rstrip("\n"))


def read(rel):
    with open(os.path.join(SRCDIR, rel), encoding="utf-8") as f:
        return f.read()


def generated_files_in_sync():
    with tempfile.TemporaryDirectory() as tmp:
        run = subprocess.run(
            [sys.executable, os.path.join(SRCDIR, "doc", "gendoc.py"),
             "--srcdir", SRCDIR, "--outdir", tmp],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        check(run.returncode == 0, "doc/gendoc.py runs", run.stdout)
        if run.returncode != 0:
            return
        for rel in ("README.md", "doc/reports.md",
                    "doc/collectd-anticaptcha.5.pod"):
            with open(os.path.join(tmp, rel), encoding="utf-8") as f:
                want = f.read()
            have = read(rel)
            diff = "".join(difflib.unified_diff(
                have.splitlines(True), want.splitlines(True),
                "%s (in the tree)" % rel, "%s (generated)" % rel))
            check(have == want, "%s matches doc/*.tsv" % rel,
                  diff + "\nEdit doc/options.tsv or doc/values.tsv (not the "
                  "generated text), then run doc/gendoc.py.")


def options_match_the_code():
    # <Report> and <QueueStats> are parsed apart.
    code = "".join(read("plugin/config/%s.c" % m) for m in CONFIG_MODULES)
    accepted = set(re.findall(r'OPTION\w*\(\s*"(\w+)"', code))
    accepted -= {"Report"}  # the <Report> block itself
    documented = set()
    for line in read("doc/options.tsv").splitlines()[1:]:
        if line.strip():
            documented |= set(re.findall(r"`(\w+)", line.split("\t")[1]))
    check(len(accepted) > 10, "options found in plugin/config/configuration.c")
    check(accepted == documented, "doc/options.tsv documents exactly the "
          "options the plugin accepts",
          "  accepted, undocumented: %s\n  documented, not accepted: %s"
          % (sorted(accepted - documented) or "-",
             sorted(documented - accepted) or "-"))


CONFIG_MODULES = ("configuration", "report_config", "queue_config")


def option_rows(section=None):
    """{option name: row} of doc/options.tsv (the first name of a row), of
    one section when given, else the first row of each name."""
    lines = read("doc/options.tsv").splitlines()
    header = lines[0].split("\t")
    rows = {}
    for line in lines[1:]:
        if line.strip() and not line.startswith("#"):
            row = dict(zip(header, line.split("\t")))
            m = re.search(r"`(\w+)", row.get("option", ""))
            if m and section in (None, row.get("section")):
                rows.setdefault(m.group(1), row)
    return rows


def c_constants():
    """Integer and string #defines of plugin/*/*.h, and INT32_MAX."""
    consts = {"INT32_MAX": "2147483647"}
    plugin = os.path.join(SRCDIR, "plugin")
    headers = sorted(os.path.relpath(os.path.join(d, n), SRCDIR)
                     for d, _, names in os.walk(plugin)
                     for n in names if n.endswith(".h"))
    for rel in headers:
        for m in re.finditer(r'^#define\s+(\w+)\s+("[^"]*"|[\d.]+|INT32_MAX)'
                             r'\s*(/\*.*\*/)?\s*$', read(rel), re.M):
            v = m.group(2).strip('"')
            v = {"INT32_MAX": "2147483647"}.get(v, v)
            if re.fullmatch(r"\d+\.0", v):  # 1.0 is written 1
                v = v[:-2]
            consts[m.group(1)] = v
    return consts


# A numeric row of an option table (plugin/config/config_option.h):
# OPTION_RANGE("Name", OPT_KIND, type, field, min, max); percentages are
# written "> 0 to 100" and are left out.
RANGE_ROW = re.compile(r'OPTION_RANGE\(\s*"(\w+)",\s*OPT_(SIZE|INT|INT64|SECONDS),'
                       r'\s*\w+,\s*[\w().]+,\s*([\w.]+),\s*([\w.]+)\s*\)')


def table_ranges(rel):
    """{option: "min to max"} of the numeric rows in one module's table."""
    consts = c_constants()
    value = lambda tok: consts.get(tok.strip(), tok.strip())
    return {m.group(1): "%s to %s" % (value(m.group(3)), value(m.group(4)))
            for m in RANGE_ROW.finditer(read(rel))}


def ranges_match_the_code():
    checked = 0
    for name, want in sorted(table_ranges("plugin/config/configuration.c").items()):
        row = option_rows().get(name, {})
        checked += 1
        check(row.get("range") == want, "%s: range %r (the code checks %s)"
              % (name, row.get("range"), want))
    check(checked >= 5, "numeric options found in plugin/config/configuration.c (%d)"
          % checked)
    # <QueueStats> shares option names with <Account>: its own rows.
    qchecked = 0
    rows = option_rows("queuestats")
    for name, want in sorted(table_ranges("plugin/config/queue_config.c").items()):
        qchecked += 1
        check(rows.get(name, {}).get("range") == want, "QueueStats %s: range "
              "%r (the code checks %s)" % (name, rows.get(name, {}).get("range"),
                                           want))
    check(qchecked >= 2, "numeric options found in plugin/config/queue_config.c (%d)"
          % qchecked)


def tsv_default(row):
    """The default of a row when it is one literal value (`300`, `true`)."""
    m = re.fullmatch(r"`([^`]+)`", row.get("default", ""))
    return m.group(1) if m else None


def defaults_match():
    rows, consts = option_rows(), c_constants()
    code = read("plugin/config/configuration.c")
    # The code's defaults: the sender's macros, the account's initializer
    # and the transport's (TRANSPORT_DEFAULTS, settings.h).
    in_code = {"QueueLimit": consts.get("DEFAULT_QUEUE_LIMIT"),
               "MaxInFlight": consts.get("DEFAULT_MAX_IN_FLIGHT"),
               "Window": consts.get("MAX_WINDOW_SECONDS"),
               "URL": consts.get("DEFAULT_URL")}
    init = re.search(r"\*a = \(account_t\)\{(.*?)\};", code, re.S)
    fields = dict(re.findall(r"\.(\w+) = ([^,}]+)", init.group(1))) if init else {}
    transport = re.search(r"#define TRANSPORT_DEFAULTS(.*?)\n\n",
                          read("plugin/config/settings.h"), re.S)
    fields.update(re.findall(r"\.(\w+) = ([^,}\\]+)", transport.group(1))
                  if transport else [])
    for name, field in (("Interval", "interval"), ("Timeout", "timeout"),
                        ("Total", "total"), ("Balance", "balance"),
                        ("VerifyPeer", "verify_peer"), ("VerifyHost", "verify_host")):
        v = fields.get(field, "").strip()
        m = re.fullmatch(r"TIME_T_TO_CDTIME_T\((\w+)\)", v)
        in_code[name] = consts.get(m.group(1), m.group(1)) if m else v
    for name, want in sorted(in_code.items()):
        have = tsv_default(rows.get(name, {}))
        check(want is not None and have == want,
              "%s: doc/options.tsv's default %s is the code's (%s)" % (name, have, want))
    # conf.d/anticaptcha.conf writes defaults as commented-out lines
    # ("# Interval 300"); every one must be the documented default.
    written = 0
    queue_rows, in_queue_stats = option_rows("queuestats"), False
    for m in re.finditer(r'^\s*#\s*(?:(</?QueueStats>)|([A-Z]\w+)\s+'
                         r'("[^"]*"|\S+))', read("conf.d/anticaptcha.conf"),
                         re.M):
        if m.group(1):
            in_queue_stats = m.group(1) == "<QueueStats>"
            continue
        name, val = m.group(2), m.group(3).strip('"')
        rows = queue_rows if in_queue_stats else option_rows()
        if name not in rows or tsv_default(rows[name]) is None:
            continue  # an example value (SoftId, IP, CACert), not a default
        written += 1
        check(val == tsv_default(rows[name]), "conf.d/anticaptcha.conf: %s %s "
              "is the documented default (%s)" % (name, val, tsv_default(rows[name])))
    check(written >= 5, "defaults written in conf.d/anticaptcha.conf (%d)" % written)


def one_version():
    m = re.search(r"AC_INIT\(\[[^]]*\],\s*\[([^]]+)\]", read("configure.ac"))
    check(m is not None, "configure.ac: AC_INIT has a version")
    if m is None:
        return
    version = m.group(1)
    c = re.match(r"collectd-anticaptcha \(([^)]+)\)", read("debian/changelog"))
    check(c is not None and c.group(1) == version,
          "debian/changelog's top entry is version %s" % version,
          "  debian/changelog: %s" % (c.group(1) if c else "no entry"))
    n = re.search(r"^(?:#+\s*)?(?:collectd-anticaptcha\s+)?(\d[\w.~+-]*)",
                  read("NEWS"), re.M)
    check(n is not None and n.group(1) == version,
          "NEWS's top entry is version %s" % version,
          "  NEWS: %s" % (n.group(1) if n else "no entry"))


generated_files_in_sync()
options_match_the_code()
ranges_match_the_code()
defaults_match()
one_version()
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)

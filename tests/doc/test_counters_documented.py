#!/usr/bin/env python3
"""The report counters have one source: the REPORT_COUNTERS table in
plugin/reports/report_sender.h, from which the sender's struct, its dispatch
(derive-reports-<name>) and this check follow. doc/values.tsv's "reports"
rows must say exactly what the table says, in its order, and README.md's
list of counters name every one, in that order.

Run by `make check`; on its own: python3 tests/doc/test_counters_documented.py
"""

import os
import re
import sys

SRCDIR = os.environ.get("ANTICAPTCHA_SRCDIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read(rel):
    with open(os.path.join(SRCDIR, rel), encoding="utf-8") as f:
        return f.read()


def table():
    header = read("plugin/reports/report_sender.h")
    m = re.search(r"#define REPORT_COUNTERS\(X\)(.*?)\n\n", header, re.S)
    body = m.group(1).replace("\\\n", " ")
    rows = []
    for name, strings in re.findall(r'X\((\w+),\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\)',
                                    body):
        rows.append((name, "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', strings))))
    return rows


def documented():
    rows = []
    for line in read("doc/values.tsv").split("\n")[1:]:
        cells = line.split("\t")
        if len(cells) == 4 and cells[0] == "reports":
            rows.append((cells[1].strip("`"), cells[3]))
    return rows


def in_readme():
    """The counters README.md lists after "derive-reports-<outcome>"."""
    m = re.search(r"Counters `derive-reports-<outcome>`[^:]*:\s*((?:`\w+`,?\s*)+)",
                  read("README.md"))
    return re.findall(r"`(\w+)`", m.group(1)) if m else []


def main():
    code, doc = table(), documented()
    ok = bool(code) and code == doc
    print("%s - the report counters of plugin/reports/report_sender.h are "
          "doc/values.tsv's \"reports\" rows" % ("ok" if ok else "not ok"))
    if not ok:
        print("  code: %s\n  doc:  %s" % (code, doc))
    listed = in_readme()
    ok_readme = listed == [name for name, _ in code]
    print("%s - README.md lists every report counter" %
          ("ok" if ok_readme else "not ok"))
    if not ok_readme:
        print("  README: %s" % listed)
    failed = (not ok) + (not ok_readme)
    print("%d passed, %d failed" % (2 - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The documentation cannot drift.

* README.md's tables and doc/collectd-anticaptcha.5.pod are what
  doc/gendoc.py makes of doc/options.tsv and doc/values.tsv;
* every option plugin/configuration.c accepts is documented, and nothing else;
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
        for rel in ("README.md", "doc/collectd-anticaptcha.5.pod"):
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
    # <QueueStats> is parsed apart, in plugin/queue_config.c.
    code = read("plugin/configuration.c") + read("plugin/queue_config.c")
    accepted = set(re.findall(r'strcasecmp\("(\w+)",\s*o->key\)', code))
    accepted -= {"Report"}  # the <Report> block itself
    documented = set()
    for line in read("doc/options.tsv").splitlines()[1:]:
        if line.strip():
            documented |= set(re.findall(r"`(\w+)", line.split("\t")[1]))
    check(len(accepted) > 10, "options found in plugin/configuration.c")
    check(accepted == documented, "doc/options.tsv documents exactly the "
          "options the plugin accepts",
          "  accepted, undocumented: %s\n  documented, not accepted: %s"
          % (sorted(accepted - documented) or "-",
             sorted(documented - accepted) or "-"))


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
one_version()
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)

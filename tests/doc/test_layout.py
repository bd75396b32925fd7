#!/usr/bin/env python3
"""scripts/check-includes passes on the tree, and fails on a copy of plugin/
with one forbidden #include planted, for each rule of the layers."""
import importlib.machinery
import importlib.util
import os
import shutil
import sys
import tempfile

SRCDIR = os.environ.get("ANTICAPTCHA_SRCDIR") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(SRCDIR, "scripts", "check-includes")

loader = importlib.machinery.SourceFileLoader("check_includes", SCRIPT)
spec = importlib.util.spec_from_loader("check_includes", loader)
check_includes = importlib.util.module_from_spec(spec)
loader.exec_module(check_includes)

# (file that gets the include, the include, the rule it breaks)
PLANTS = [
    ("util/dispatch.c", '"api/request.h"', "util/ includes nothing of ours"),
    ("api/api_client.c", '"config/settings.h"', "api/ includes only util/"),
    ("model/spending.c", '"config/settings.h"', "model/ below config/"),
    ("config/configuration.c", '"reports/report_sender.h"',
     "config/ includes no runtime folder"),
    ("config/queue_config.c", '"readers/reader.h"',
     "config/ includes no runtime folder"),
    ("reports/report_sender.c", '"state/state_store.h"',
     "reports/ not state/"),
    ("reports/sender_worker.c", '"pair/pair_link.h"', "reports/ not pair/"),
    ("reports/report_limit.c", '"readers/reader.h"', "reports/ not readers/"),
    ("readers/reader.c", '"reports/report_limit.h"', "readers/ not reports/"),
    ("readers/reader.c", '"state/state_store.h"', "readers/ not state/"),
    ("state/state_store.c", '"pair/pair_link.h"', "state/ not pair/"),
    ("pair/pair_link.c", '"state/state_store.h"', "pair/ not state/"),
    ("pair/pair_link.c", '"anticaptcha.h"', "nothing of anticaptcha.c's"),
    ("model/report_match.c", "<curl/curl.h>", "pure: no libcurl"),
    ("reports/report_queue.c", '"collectd/core/utils/common/common.h"',
     "pure: collectd's types only"),
    ("state/state_file.c", '"api/api_client.h"', "pure: pure files only"),
]

failed = 0


def check(ok, what, detail=""):
    global failed
    print("%s - %s" % ("ok" if ok else "not ok", what))
    if not ok:
        failed += 1
        if detail:
            print(detail)


def copy_tree(tmp):
    shutil.copytree(os.path.join(SRCDIR, "plugin"), os.path.join(tmp, "plugin"),
                    ignore=shutil.ignore_patterns("*.o", "*.lo", ".libs",
                                                  ".deps", ".dirstamp"))
    shutil.copy(os.path.join(SRCDIR, "Makefile.am"), tmp)


def main():
    found = check_includes.violations(SRCDIR)
    check(found == [], "the tree follows the layers", "\n".join(found))
    for rel, inc, rule in PLANTS:
        with tempfile.TemporaryDirectory(prefix="ac-layout-") as tmp:
            copy_tree(tmp)
            path = os.path.join(tmp, "plugin", rel)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            with open(path, "w", encoding="utf-8") as f:
                f.write("#include %s\n%s" % (inc, text))
            found = check_includes.violations(tmp)
            hit = [v for v in found if v.startswith("plugin/" + rel)]
            check(len(hit) == 1 and inc in hit[0],
                  "a planted #include %s in %s is refused (%s)" % (inc, rel, rule),
                  "  found: %s" % (found or "nothing"))
    # A new file at plugin/'s top is no layer.
    with tempfile.TemporaryDirectory(prefix="ac-layout-") as tmp:
        copy_tree(tmp)
        with open(os.path.join(tmp, "plugin", "helpers.c"), "w") as f:
            f.write('#include "util/secret.h"\n')
        found = check_includes.violations(tmp)
        check(any(v.startswith("plugin/helpers.c") for v in found),
              "a file beside anticaptcha.c is refused")
    print("%d passed, %d failed" % (len(PLANTS) + 2 - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Generates the documentation's tables from one source.

doc/options.tsv (section, option, default, range, meaning) and doc/values.tsv
(section, name, type, meaning) hold every option and every dispatched value,
written in Markdown inline syntax (`code`, [text](link)). From them this
script produces

  * the Markdown tables in README.md, between marker comments such as
    <!-- options:account:begin --> and <!-- options:account:end -->;
  * doc/collectd-anticaptcha.5.pod, from doc/collectd-anticaptcha.5.pod.in,
    where a line @options:account@ (likewise @values:dispatched@ ...) is
    replaced by a POD list.

    doc/gendoc.py                  rewrite README.md and the POD in place
    doc/gendoc.py --outdir DIR     write DIR/README.md, DIR/doc/...pod instead

Python 3 standard library only.
"""

import argparse
import os
import re
import sys

OPTION_SECTIONS = ("account", "sender", "report", "queuestats")
OPTION_COLUMNS = ("section", "option", "default", "range", "meaning")
VALUE_SECTIONS = ("dispatched", "reports")
# Where each value table lives besides the man page (README.md is the
# manual: the report counters are in doc/reports.md, with the rules).
VALUE_FILES = {"dispatched": "README.md", "reports": "doc/reports.md"}
VALUE_HEADERS = {
    "dispatched": ("Identifier (`host/…`)", "Type", "Meaning"),
    "reports": ("Outcome", "Counts"),
}
POD_TEMPLATE = "doc/collectd-anticaptcha.5.pod.in"
POD_OUTPUT = "doc/collectd-anticaptcha.5.pod"


class DocError(Exception):
    pass


def read_tsv(path, columns):
    rows = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    header = lines[0].split("\t")
    if header != list(columns):
        raise DocError("%s: the first line must be the header %s"
                       % (path, "\\t".join(columns)))
    for n, line in enumerate(lines[1:], 2):
        if not line.strip() or line.startswith("#"):
            continue
        cells = line.split("\t")
        if len(cells) != len(columns):
            raise DocError("%s:%d: %d tab-separated fields, want %d (%s; "
                           "an empty range is written —)"
                           % (path, n, len(cells), len(columns),
                              ", ".join(columns)))
        rows.append(dict(zip(columns, (c.strip() for c in cells))))
    return rows


def by_section(rows, sections, path):
    out = {s: [] for s in sections}
    for r in rows:
        if r["section"] not in out:
            raise DocError("%s: unknown section %r (known: %s)"
                           % (path, r["section"], ", ".join(sections)))
        out[r["section"]].append(r)
    return out


# ---- Markdown ----

def md_cell(text):
    return text.replace("|", "\\|") if text else ""


def md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "---|" * len(header)]
    for r in rows:
        lines.append("| " + " | ".join(md_cell(c) for c in r) + " |")
    return "\n".join(lines)


def replace_between(text, name, body, where):
    begin, end = "<!-- %s:begin -->" % name, "<!-- %s:end -->" % name
    pattern = re.compile(re.escape(begin) + r"\n.*?" + re.escape(end), re.S)
    if len(pattern.findall(text)) != 1:
        raise DocError("%s: want exactly one %s ... %s" % (where, begin, end))
    return pattern.sub(lambda _m: begin + "\n" + body + "\n" + end, text)


# ---- POD ----

def pod_escape(text):
    return re.sub(r"[<>]", lambda m: "E<lt>" if m.group() == "<" else "E<gt>",
                  text)


# pod2man (podlators 4.14) prints characters outside Latin-1 as "X" unless
# told --utf8: the man page gets ASCII stand-ins.
ASCII = {"\u2014": "-", "\u2013": "-", "\u2026": "...", "\u2260": "!=",
         "\u2192": "->", "\u2212": "-"}


def pod_ascii(text):
    text = "".join(ASCII.get(c, c) for c in text)
    bad = sorted(set(c for c in text if ord(c) > 127))
    if bad:
        raise DocError("no ASCII stand-in for %s: add one to ASCII in "
                       "doc/gendoc.py" % ", ".join(map(repr, bad)))
    return text


def pod_inline(md, code="C"):
    """Markdown inline text (code spans, links) to POD."""
    md = pod_ascii(md)
    out, pos = [], 0
    for m in re.finditer(r"`([^`]+)`|\[([^\]]+)\]\(([^)]+)\)", md):
        out.append(pod_escape(md[pos:m.start()]))
        if m.group(1) is not None:
            out.append("%s<%s>" % (code, pod_escape(m.group(1))))
        else:
            out.append(pod_escape(m.group(2)))
        pos = m.end()
    out.append(pod_escape(md[pos:]))
    return "".join(out)


def pod_option_head(md):
    """`Name "arg"` -> B<Name> I<arg>, as collectd.conf(5) writes items."""
    parts = []
    for span in re.findall(r"`([^`]+)`", md):
        name, _, arg = span.partition(" ")
        head = "B<%s>" % pod_escape(name)
        arg = arg.strip().strip('"')
        if arg == "\u2026":  # `Method "…"`: the text lists the values
            arg = "value"
        arg = pod_ascii(arg)
        if "|" in arg:
            head += " " + "|".join("B<%s>" % pod_escape(a)
                                   for a in arg.split("|"))
        elif arg:
            head += " I<%s>" % pod_escape(arg)
        parts.append(head)
    if not parts:
        raise DocError("option %r: write it as `Name arg`" % md)
    return ", ".join(parts)


def pod_default(md):
    if md == "—":
        return "No default."
    if md.startswith("— (required)"):
        return "Required."
    return "Default: %s." % pod_inline(md, code="B")


def pod_range(md):
    return "" if md in ("", "—") else " Range: %s." % pod_inline(md, code="B")


def pod_options(rows):
    out = ["=over 4", ""]
    for r in rows:
        out += ["=item %s" % pod_option_head(r["option"]), "",
                pod_inline(r["meaning"]), "",
                pod_default(r["default"]) + pod_range(r["range"]), ""]
    out.append("=back")
    return "\n".join(out)


def pod_values(section, rows):
    out = ["=over 4", ""]
    for r in rows:
        head = pod_inline(r["name"])
        if r["type"]:
            head += " (type I<%s>)" % pod_escape(r["type"])
        meaning = pod_inline(r["meaning"])
        if not meaning.endswith("."):
            meaning += "."
        out += ["=item %s" % head, "", meaning[0].upper() + meaning[1:], ""]
    out.append("=back")
    return "\n".join(out)


# ---- Both ----

def generate(srcdir):
    """Returns {relative path: new text} for README.md, doc/reports.md and
    the POD."""
    opath = os.path.join(srcdir, "doc", "options.tsv")
    vpath = os.path.join(srcdir, "doc", "values.tsv")
    options = by_section(
        read_tsv(opath, OPTION_COLUMNS),
        OPTION_SECTIONS, opath)
    values = by_section(
        read_tsv(vpath, ("section", "name", "type", "meaning")),
        VALUE_SECTIONS, vpath)

    texts = {}
    for rel in set(VALUE_FILES.values()) | {"README.md"}:
        with open(os.path.join(srcdir, rel), encoding="utf-8") as f:
            texts[rel] = f.read()
    with open(os.path.join(srcdir, POD_TEMPLATE), encoding="utf-8") as f:
        pod = f.read()

    for s in OPTION_SECTIONS:
        table = md_table(("Option", "Default", "Range", "Meaning"),
                         [(r["option"], r["default"], r["range"], r["meaning"])
                          for r in options[s]])
        texts["README.md"] = replace_between(texts["README.md"], "options:%s" % s,
                                             table, "README.md")
        pod = replace_marker(pod, "options:%s" % s, pod_options(options[s]))
    for s in VALUE_SECTIONS:
        header = VALUE_HEADERS[s]
        rows = [(r["name"], r["type"], r["meaning"]) if len(header) == 3
                else (r["name"], r["meaning"]) for r in values[s]]
        rel = VALUE_FILES[s]
        texts[rel] = replace_between(texts[rel], "values:%s" % s,
                                     md_table(header, rows), rel)
        pod = replace_marker(pod, "values:%s" % s, pod_values(s, values[s]))
    left = re.findall(r"^@[a-z:]+@$", pod, re.M)
    if left:
        raise DocError("%s: unknown markers %s" % (POD_TEMPLATE, left))
    header = ("=encoding UTF-8\n\n"
              "=for comment\n"
              "Generated by doc/gendoc.py from %s, doc/options.tsv and\n"
              "doc/values.tsv: edit those, then run doc/gendoc.py.\n\n"
              % POD_TEMPLATE)
    return dict(texts, **{POD_OUTPUT: header + pod})


def replace_marker(pod, name, body):
    marker = "@%s@" % name
    if pod.count("\n" + marker + "\n") != 1:
        raise DocError("%s: want the line %s exactly once"
                       % (POD_TEMPLATE, marker))
    return pod.replace("\n" + marker + "\n", "\n" + body + "\n")


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--srcdir", default=os.path.dirname(here),
                   help="source tree (default: this script's parent)")
    p.add_argument("--outdir", help="write here instead of in place")
    args = p.parse_args(argv)
    try:
        files = generate(args.srcdir)
    except (DocError, OSError) as e:
        print("gendoc: %s" % e, file=sys.stderr)
        return 1
    outdir = args.outdir or args.srcdir
    for rel, text in files.items():
        path = os.path.join(outdir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        old = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                old = f.read()
        if old != text:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            if args.outdir is None:
                print("gendoc: updated %s" % rel)
    return 0


if __name__ == "__main__":
    sys.exit(main())

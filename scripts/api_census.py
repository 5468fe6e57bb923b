#!/usr/bin/env python3
"""Compares liteipc's C API headers with upstream LiteIPC's declarations.

The facts (tests/upstream/upstream_api.tsv: each upstream name, its kind, and its value or struct
layout) are checked against what liteipc's headers declare, as a C compiler sees them: names by
preprocessing, values and layouts by compiling and running a probe. The result is the census in
docs/PORTING.md, between its census markers.

  api_census.py --write   rewrite the census in docs/PORTING.md
  api_census.py --check   fail when the census there is stale or a name is missing
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FACTS = os.path.join(ROOT, "tests", "upstream", "upstream_api.tsv")
PORTING = os.path.join(ROOT, "docs", "PORTING.md")
BEGIN = "<!-- census:begin (scripts/api_census.py writes this part: edit the facts or the headers, not the table) -->"
END = "<!-- census:end -->"

# How a program of each generation includes liteipc's headers (by their bare names, as upstream's).
GENERATIONS = {
    "older": (["include", "include/liteipc/lite"], ["liteipc_adapter.h", "serializer.h"]),
    "newer": (["include", "include/liteipc/rpc"], ["ipc_skeleton.h", "serializer.h", "rpc_errno.h"]),
}
TITLES = {"older": "Older API (communication_ipc_lite)", "newer": "Newer API (communication_ipc C API)"}


def read_facts():
    facts = []
    with open(FACTS) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            generation, header, kind, name, value = (line.rstrip("\n").split("\t") + [""])[:5]
            facts.append({"generation": generation, "header": header, "kind": kind, "name": name, "value": value})
    return facts


class Probe:
    """liteipc's headers of one generation, as the C compiler sees them."""

    def __init__(self, cc, generation, workdir):
        dirs, headers = GENERATIONS[generation]
        self.cc, self.workdir, self.generation = cc, workdir, generation
        self.flags = [f for d in dirs for f in ("-I", os.path.join(ROOT, d))]
        self.prelude = "#include <stdio.h>\n#include <stddef.h>\n#include <stdint.h>\n" + "".join(
            '#include "%s"\n' % h for h in headers)
        self.macros = {}
        for line in self._run([self.cc, "-dM", "-E", "-"], self.prelude).splitlines():
            m = re.match(r"#define (\w+)(?:\s+(.*))?$", line)
            if m:
                self.macros[m.group(1)] = (m.group(2) or "").strip()
        self.text = self._run([self.cc, "-E", "-P", "-"], self.prelude)
        self.identifiers = set(re.findall(r"\b[A-Za-z_]\w*\b", self.text))

    def _run(self, command, source):
        return subprocess.run(command + self.flags, input=source, capture_output=True, text=True, check=True).stdout

    def declares_function(self, name):
        return re.search(r"\b%s\s*\(" % re.escape(name), self.text) is not None and not re.search(
            r"\(\s*\*\s*%s\s*\)" % re.escape(name), self.text)

    def compiles(self, body):
        source = os.path.join(self.workdir, "probe_%s.c" % self.generation)
        with open(source, "w") as f:
            f.write(self.prelude + "int main(void) {\n" + body + "\nreturn 0;\n}\n")
        binary = source[:-2]
        done = subprocess.run([self.cc, "-w", "-o", binary, source] + self.flags, capture_output=True, text=True)
        return binary if done.returncode == 0 else None

    def values(self, statements):
        """Runs printf statements ("name\\tvalue" lines) and returns {name: value}."""
        binary = self.compiles("\n".join(statements))
        if binary is None:
            return None
        out = subprocess.run([binary], capture_output=True, text=True, check=True).stdout
        return dict(line.split("\t", 1) for line in out.splitlines())


def layout_of(probe, struct, upstream):
    """liteipc's layout of `struct`, in the facts' notation, for upstream's field names."""
    fields = [part.split("@")[0] for part in upstream.split()[1:]]
    if struct in probe.identifiers and not probe.compiles("(void)sizeof(%s);" % struct):
        return "opaque"
    present = [f for f in fields if probe.compiles("(void)offsetof(%s, %s);" % (struct, f))]
    fmt = "size=%zu" + "".join(" %s@%%zu" % f for f in present)
    args = ", ".join(["sizeof(%s)" % struct] + ["offsetof(%s, %s)" % (struct, f) for f in present])
    got = probe.values(['printf("v\\t%s\\n", %s);' % (fmt, args)])
    if got is None:
        return None
    missing = [f for f in fields if f not in present]
    return got["v"] + ("".join(" %s:absent" % f for f in missing))


def census(cc):
    facts = read_facts()
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for generation in GENERATIONS:
            probe = Probe(cc, generation, workdir)
            mine = [f for f in facts if f["generation"] == generation]
            numbers = [f["name"] for f in mine if f["kind"] in ("macro", "enumerator") and not f["value"].startswith("=")
                       and (f["name"] in probe.macros or f["name"] in probe.identifiers)]
            values = probe.values(['printf("%s\\t%%lld\\n", (long long)(intptr_t)(%s));' % (n, n) for n in numbers]) or {}
            for fact in mine:
                name, kind, upstream = fact["name"], fact["kind"], fact["value"]
                ours, status = "", "same"
                if kind == "function":
                    if probe.declares_function(name) and name not in probe.macros:
                        ours = "function"
                    elif name in probe.macros:
                        ours, status = "macro", "differs"
                    else:
                        status = "missing"
                elif kind == "macro" and upstream.startswith("="):
                    if name in probe.macros:
                        ours = "=" + probe.macros[name]
                    elif probe.declares_function(name):
                        ours = "function"
                    status = "same" if ours == upstream else ("missing" if not ours else "differs")
                elif kind in ("macro", "enumerator"):
                    ours = values.get(name, "")
                    status = "same" if ours == upstream else ("missing" if not ours else "differs")
                elif kind == "type":
                    status = "same" if name in probe.identifiers else "missing"
                elif kind == "layout":
                    ours = layout_of(probe, name, upstream) or ""
                    status = "same" if ours == upstream else ("missing" if not ours else "differs")
                rows.append((generation, fact["header"], name, kind, upstream, ours, status))
    return rows


def render(rows):
    lines = [BEGIN, ""]
    for generation in GENERATIONS:
        mine = [r for r in rows if r[0] == generation]
        counts = {s: sum(1 for r in mine if r[6] == s) for s in ("same", "differs", "missing")}
        lines += ["### Census: %s" % TITLES[generation], "",
                  "%d upstream names: %d same, %d differ, %d missing. Values and layouts as a C compiler on "
                  "x86-64 sees them." % (len(mine), counts["same"], counts["differs"], counts["missing"]), "",
                  "| header | name | kind | upstream | liteipc | status |", "|---|---|---|---|---|---|"]
        for _, header, name, kind, upstream, ours, status in mine:
            shown = "" if status == "same" and kind in ("function", "type") else ours
            lines.append("| %s | %s | %s | %s | %s | %s |" % (header, name, kind, upstream, shown, status))
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cc", default=os.environ.get("CC", "cc"))
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true")
    action.add_argument("--check", action="store_true")
    args = parser.parse_args()
    rows = census(args.cc)
    table = render(rows)
    with open(PORTING) as f:
        document = f.read()
    start, stop = document.find(BEGIN), document.find(END)
    if start < 0 or stop < 0:
        sys.exit("api_census: %s has no census markers" % PORTING)
    updated = document[:start] + table + document[stop + len(END):]
    if args.write:
        with open(PORTING, "w") as f:
            f.write(updated)
        return 0
    failed = False
    for generation, header, name, kind, upstream, ours, status in rows:
        if status == "missing":
            print("api_census: %s API: %s (%s, %s) is missing" % (generation, name, kind, header))
            failed = True
    if updated != document:
        print("api_census: the census in docs/PORTING.md is stale: run scripts/api_census.py --write")
        failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

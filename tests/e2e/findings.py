#!/usr/bin/env python3
"""Summarise a leakwatch JSON report for the end-to-end tests.

findings.py REPORT MODULE_SUBSTR
  one line per finding, sorted:
  KIND count=N fds=A,B func=F resource=R
  where F is the first frame whose module contains MODULE_SUBSTR (the fixture),
  "none" when no such frame exists.
findings.py REPORT --funcs MODULE_SUBSTR
  "FUNC COUNT" per finding, sorted (FUNC as above)
findings.py REPORT --why MODULE_SUBSTR
  one line per finding, sorted: KIND/CLASS count=N fds=A,B func=F why=W
findings.py REPORT --lines MODULE_SUBSTR
  "FUNC LINE" per finding, sorted: the first frame in MODULE_SUBSTR and
  its source line ("none" when unknown)
findings.py REPORT --stat NAME      print stats[NAME]
findings.py REPORT --field NAME     print top-level NAME
findings.py REPORT --scan NAME      print scan[NAME]
findings.py REPORT MODULE_SUBSTR --class
  as the first form, mem findings with class=C (and indirect=BYTES)
findings.py REPORT MODULE_SUBSTR --sum
  as the first form, mem findings of one kind and function summed over
  their classes (and stacks)
"""
import json
import re
import sys


def first_in(stack, mod):
    for fr in stack or []:
        if fr["module"] and mod in fr["module"] and fr["symbol"]:
            return fr["symbol"]
    return "none"


def main():
    with open(sys.argv[1]) as f:
        doc = json.load(f)
    if sys.argv[2] == "--stat":
        print(doc["stats"][sys.argv[3]])
        return
    if sys.argv[2] == "--scan":
        print(doc["scan"][sys.argv[3]])
        return
    if sys.argv[2] == "--field":
        print(json.dumps(doc[sys.argv[3]]))
        return
    if sys.argv[2] == "--lines":
        out = []
        for fd in doc["findings"]:
            fr = next((f for f in fd["stack"] or [] if f["module"] and sys.argv[3] in f["module"] and f["symbol"]), None)
            out.append(f'{fr["symbol"]} {fr["line"] or "none"}' if fr else "none none")
        for line in sorted(out):
            print(line)
        return
    funcs_only = sys.argv[2] == "--funcs"
    why = sys.argv[2] == "--why"
    mod = sys.argv[3] if funcs_only or why else sys.argv[2]
    lines = []
    for fd in doc["findings"]:
        func = "none"
        for fr in fd["stack"] or []:
            if fr["module"] and mod in fr["module"] and fr["symbol"]:
                func = fr["symbol"]
                break
        rel = ";".join(f'{r["label"]}={first_in(r["stack"], mod)}' for r in fd.get("related", []))
        res = fd["resource"] or ""
        res = re.sub(r"\[\d+\]", "[N]", res)
        fds = ",".join(str(x) for x in fd["fds"])
        if funcs_only:
            lines.append(f"{func} {fd['count']}")
            continue
        if why:
            lines.append(f'{fd["kind"]}/{fd.get("class")} count={fd["count"]} fds={fds} func={func} why={fd.get("why")}')
            continue
        if fd["kind"].startswith("mem-"):
            # the innermost frame must be the fixture's allocating call site
            # (the allocator's own frame is not in allocation stacks)
            top = (fd["stack"] or [{}])[0]
            if fd["kind"] == "mem-leak" and mod not in (top.get("module") or ""):
                func = "not-innermost:" + func
            rel = ";".join(f'{r["label"]}={first_in(r["stack"], mod)}' for r in fd.get("related", []))
            line = f'{fd["kind"]} count={fd["count"]} bytes={fd["bytes"]} func={func}' + (f" {rel}" if rel else "")
            if "--class" in sys.argv[3:]:
                line += f' class={fd.get("class")}'
                if fd.get("indirect"):
                    line += f' indirect={fd["indirect"]["bytes"]}'
            lines.append(line)
            continue
        line = f'{fd["kind"]} count={fd["count"]} fds={fds} func={func} resource={res}'
        # plain fd-leaks keep their one-line form; the other kinds show evidence
        if rel and fd["kind"] != "fd-leak":
            line += f" | {rel}"
        lines.append(line)
    if "--sum" in sys.argv[3:]:
        sums = {}
        for line in lines:
            m = re.match(r"(mem-\S+) count=(\d+) bytes=(\d+) (func=.*)", line)
            if not m:
                sums[line] = None
                continue
            key = (m[1], m[4])
            c, b = sums.get(key) or (0, 0)
            sums[key] = (c + int(m[2]), b + int(m[3]))
        lines = [k if v is None else f"{k[0]} count={v[0]} bytes={v[1]} {k[1]}" for k, v in sums.items()]
    for line in sorted(lines):
        print(line)


if __name__ == "__main__":
    main()

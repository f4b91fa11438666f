#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Queries over a liblwinject log, for tests/e2e/inject_lib.sh.

  validate LOG                      exit 1 unless every record is well formed
  count LOG KIND [k=v ...]          records of KIND whose header has k=v
  inrange LOG KIND LO HI PATH       records of KIND with a frame in [LO,HI) of PATH
  sitehash LOG LO HI PATH           hashes of sites whose frame 0 is in [LO,HI) of PATH
  sites LOG EXE                     "pid hash func has-frame-in-EXE(0/1)" per site
"""
import re
import sys

HEAD = re.compile(r"^(init|fault|site|crash)((?: [a-z]+=\S*)+)$")
FRAME = re.compile(r"^ ([0-9a-f]+) ([0-9a-f]+) (.+)$")


def records(path):
    """[(kind, {field: value}, [(abs, rel, path)])]; raises on a malformed log."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    i = 0
    while i < len(lines):
        m = HEAD.match(lines[i])
        if not m:
            raise ValueError(f"line {i + 1}: not a record header: {lines[i]!r}")
        kind = m.group(1)
        fields = dict(kv.split("=", 1) for kv in m.group(2).split())
        i += 1
        frames = []
        if kind != "init":
            k = int(fields["frames"])
            for _ in range(k):
                fm = FRAME.match(lines[i]) if i < len(lines) else None
                if not fm:
                    raise ValueError(f"line {i + 1}: not a frame line")
                frames.append((int(fm.group(1), 16), int(fm.group(2), 16), fm.group(3)))
                i += 1
            if i >= len(lines) or lines[i] != "end":
                raise ValueError(f"line {i + 1}: expected end")
            i += 1
        if kind in ("fault", "site") and not re.fullmatch(r"[0-9a-f]{16}", fields["hash"]):
            raise ValueError(f"bad hash {fields['hash']}")
        out.append((kind, fields, frames))
    return out


def main(argv):
    cmd, log = argv[1], argv[2]
    try:
        recs = records(log)
    except FileNotFoundError:
        recs = []
    if cmd == "validate":
        return 0
    if cmd == "count":
        want = dict(a.split("=", 1) for a in argv[4:])
        print(sum(1 for k, f, _ in recs
                  if k == argv[3] and all(f.get(a) == v for a, v in want.items())))
        return 0
    if cmd == "inrange":
        lo, hi, path = int(argv[4], 16), int(argv[5], 16), argv[6]
        print(sum(1 for k, _, fr in recs
                  if k == argv[3] and any(p == path and lo <= r < hi for _, r, p in fr)))
        return 0
    if cmd == "sitehash":
        lo, hi, path = int(argv[3], 16), int(argv[4], 16), argv[5]
        for k, f, fr in recs:
            if k == "site" and fr and fr[0][2] == path and lo <= fr[0][1] < hi:
                print(f["hash"])
        return 0
    if cmd == "sites":
        for k, f, fr in recs:
            if k == "site":
                has = int(any(p == argv[3] for _, _, p in fr))
                print(f["pid"], f["hash"], f["func"], has)
        return 0
    print(f"unknown command {cmd}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except ValueError as e:
        print(f"malformed log: {e}", file=sys.stderr)
        sys.exit(1)

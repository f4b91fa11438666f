#!/usr/bin/env python3
"""BPF programs and links by owner, from bpftool's JSON, for the
end-to-end tests' leftover check.

bpf_owned.py maxid
  "PROG_MAX LINK_MAX": the highest ids loaded now (0 when none)
bpf_owned.py held PID...
  "prog ID NAME" and "link ID PROG_ID" for every program and link one of
  the given processes holds (bpftool's "pids" field)
bpf_owned.py orphans PROG_MAX LINK_MAX NAMES_FILE
  programs newer than PROG_MAX named as in NAMES_FILE (one per line), and
  links newer than LINK_MAX to such a program, that no process holds

Exits 2 when bpftool fails or prints no JSON.
"""
import json
import subprocess
import sys


def show(what):
    try:
        out = subprocess.run(["bpftool", "-j", what, "show"], capture_output=True,
                             text=True, check=True).stdout
        return json.loads(out or "[]")
    except (OSError, subprocess.CalledProcessError, ValueError) as e:
        print(f"bpftool {what} show: {e}", file=sys.stderr)
        sys.exit(2)


def holders(obj):
    return {p["pid"] for p in obj.get("pids", [])}


def main():
    cmd = sys.argv[1]
    progs, links = show("prog"), show("link")
    if cmd == "maxid":
        print(max([p["id"] for p in progs] or [0]), max([l["id"] for l in links] or [0]))
    elif cmd == "held":
        pids = {int(p) for p in sys.argv[2:]}
        for p in progs:
            if holders(p) & pids:
                print("prog", p["id"], p.get("name", "?"))
        for l in links:
            if holders(l) & pids:
                print("link", l["id"], l.get("prog_id", "?"))
    elif cmd == "orphans":
        pmax, lmax = int(sys.argv[2]), int(sys.argv[3])
        # the kernel keeps 15 bytes of a name; bpftool may print it whole
        with open(sys.argv[4]) as f:
            names = {n.strip()[:15] for n in f if n.strip()}
        ours = {p["id"] for p in progs
                if p["id"] > pmax and p.get("name", "")[:15] in names}
        for p in progs:
            if p["id"] in ours and not holders(p):
                print("prog", p["id"], p.get("name"))
        for l in links:
            if l["id"] > lmax and l.get("prog_id") in ours and not holders(l):
                print("link", l["id"], l.get("prog_id"))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()

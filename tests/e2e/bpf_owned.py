#!/usr/bin/env python3
"""BPF programs and links by owner, for the end-to-end tests' leftover check.

Owners come from /proc/PID/fdinfo ("prog_id:" and "link_id:" lines), plus
bpftool's "pids" when it was built with them (Debian's 7.1 is not); a
program is also held by whoever holds a link to it.

bpf_owned.py maxid
  "PROG_MAX LINK_MAX": the highest ids loaded now (0 when none)
bpf_owned.py held PID...
  "prog ID NAME" and "link ID PROG_ID" for every program and link one of
  the given processes holds
bpf_owned.py orphans PROG_MAX LINK_MAX NAMES_FILE
  programs newer than PROG_MAX named as in NAMES_FILE (one per line), and
  links newer than LINK_MAX to such a program, that no process holds

Exits 2 when bpftool fails or prints no JSON.
"""
import json
import os
import subprocess
import sys
from collections import defaultdict


def show(what):
    try:
        out = subprocess.run(["bpftool", "-j", what, "show"], capture_output=True,
                             text=True, check=True).stdout
        return json.loads(out or "[]")
    except (OSError, subprocess.CalledProcessError, ValueError) as e:
        print(f"bpftool {what} show: {e}", file=sys.stderr)
        sys.exit(2)


def fd_owners(pids):
    """prog id -> pids, link id -> pids, from the fdinfo of pids"""
    progs, links = defaultdict(set), defaultdict(set)
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fdinfo")
        except OSError:
            continue
        for fd in fds:
            try:
                with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                    for line in f:
                        key, _, val = line.partition(":")
                        if key == "prog_id":
                            progs[int(val)].add(pid)
                        elif key == "link_id":
                            links[int(val)].add(pid)
            except (OSError, ValueError):
                continue
    return progs, links


def owners(progs, links, pids):
    """the same maps, with bpftool's pids and programs held through links"""
    po, lo = fd_owners(pids)
    for p in progs:
        po[p["id"]] |= {x["pid"] for x in p.get("pids", [])}
    for l in links:
        lo[l["id"]] |= {x["pid"] for x in l.get("pids", [])}
        if "prog_id" in l:
            po[l["prog_id"]] |= lo[l["id"]]
    return po, lo


def main():
    cmd = sys.argv[1]
    progs, links = show("prog"), show("link")
    if cmd == "maxid":
        print(max([p["id"] for p in progs] or [0]), max([l["id"] for l in links] or [0]))
    elif cmd == "held":
        pids = {int(p) for p in sys.argv[2:]}
        po, lo = owners(progs, links, pids)
        for p in progs:
            if po[p["id"]] & pids:
                print("prog", p["id"], p.get("name", "?"))
        for l in links:
            if lo[l["id"]] & pids:
                print("link", l["id"], l.get("prog_id", "?"))
    elif cmd == "orphans":
        pmax, lmax = int(sys.argv[2]), int(sys.argv[3])
        # the kernel keeps 15 bytes of a name; bpftool may print it whole
        with open(sys.argv[4]) as f:
            names = {n.strip()[:15] for n in f if n.strip()}
        ours = {p["id"] for p in progs
                if p["id"] > pmax and p.get("name", "")[:15] in names}
        po, lo = owners(progs, links, [int(d) for d in os.listdir("/proc") if d.isdigit()])
        for p in progs:
            if p["id"] in ours and not po[p["id"]]:
                print("prog", p["id"], p.get("name"))
        for l in links:
            if l["id"] > lmax and l.get("prog_id") in ours and not lo[l["id"]]:
                print("link", l["id"], l.get("prog_id"))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Check the BPF stack budget of every program in an object.

The verifier adds up the stack of every frame on a call chain and refuses
more than 512 bytes, unless the kernel gives the program a private stack
(6.13+, and only for some program types: some 6.18 kernels give it to
uprobe_multi programs but not to tracepoint ones, kernels before 6.13 to
none). Which kernels do is not ours to choose, so every program must fit
without one. This reads the
object's code the way the verifier does: a function's stack is the deepest
r10 offset it touches, rounded up to 16 bytes (the JIT's granularity), and a
chain is every bpf-to-bpf call reachable from the program.

usage: bpf-stack-budget.py OBJECT [LIMIT]
Prints the deepest chain of each program and a closing "bpf_stack: N passed,
N failed" line; exits 1 when one is over LIMIT (512), 2 on bad input.
"""
import re
import subprocess
import sys

PROGRAM_SECTIONS = ("raw_tracepoint/", "raw_tp/", "tp_btf/", "tracepoint/", "tp/", "uprobe",
                    "uretprobe", "kprobe", "kretprobe")


def parse(obj):
    out = subprocess.run(["llvm-objdump", "-dr", obj], capture_output=True, text=True)
    if out.returncode != 0:
        print(f"bpf-stack-budget: cannot disassemble {obj}: {out.stderr.strip()}", file=sys.stderr)
        sys.exit(2)
    lines = out.stdout.splitlines()
    section = None
    func = None
    depth, calls, section_of = {}, {}, {}
    starts = {}  # section -> {insn index: function}
    pending = []  # (caller, section, target index)
    begun = set()  # functions whose first instruction was seen
    insn_re = re.compile(r"^\s+(\d+):\s+((?:[0-9a-f]{2} ){7}[0-9a-f]{2})\s*(.*)")
    for n, line in enumerate(lines):
        m = re.match(r"^Disassembly of section (.*):", line)
        if m:
            section = m.group(1)
            continue
        m = re.match(r"^[0-9a-f]+ <(.*)>:", line)
        if m:
            if not m.group(1).startswith("LBB"):
                func = m.group(1)
                depth.setdefault(func, 0)
                calls.setdefault(func, set())
                section_of[func] = section
                starts.setdefault(section, {})
            continue
        m = insn_re.match(line)
        if not m or func is None:
            continue
        idx, raw, asm = int(m.group(1)), m.group(2).split(), m.group(3)
        if func not in begun:
            begun.add(func)
            starts[section][idx] = func
        for off in re.findall(r"r10 - (\d+)", asm):
            depth[func] = max(depth[func], int(off))
        # a bpf-to-bpf call: opcode 0x85 with src_reg BPF_PSEUDO_CALL (1)
        if raw[0] == "85" and raw[1][0] == "1":
            nxt = lines[n + 1] if n + 1 < len(lines) else ""
            rel = re.search(r"R_BPF_64_32\s+(\S+)", nxt)
            imm = int.from_bytes(bytes(int(x, 16) for x in raw[4:8]), "little", signed=True)
            if not rel:  # within this section, relative
                pending.append((func, section, idx + imm + 1))
            elif rel.group(1).startswith("."):  # a section symbol: imm + 1 into it
                pending.append((func, rel.group(1), imm + 1))
            else:
                calls[func].add(rel.group(1))
    for func, sec, target in pending:
        callee = starts.get(sec, {}).get(target)
        if callee:
            calls[func].add(callee)
    return depth, calls, section_of


def deepest(func, depth, calls, seen=()):
    own = (max(depth.get(func, 0), 1) + 15) // 16 * 16
    best_total, best_chain = 0, []
    for callee in calls.get(func, ()):
        if callee in depth and callee not in seen:
            total, chain = deepest(callee, depth, calls, seen + (func,))
            if total > best_total:
                best_total, best_chain = total, chain
    return own + best_total, [f"{func}({depth.get(func, 0)})"] + best_chain


def main():
    if len(sys.argv) not in (2, 3):
        print("usage: bpf-stack-budget.py OBJECT [LIMIT]", file=sys.stderr)
        sys.exit(2)
    limit = 512
    if len(sys.argv) == 3:
        if not sys.argv[2].isdigit():
            print(f"bpf-stack-budget: LIMIT must be a number of bytes, not '{sys.argv[2]}'",
                  file=sys.stderr)
            sys.exit(2)
        limit = int(sys.argv[2])
    depth, calls, section_of = parse(sys.argv[1])
    over = fit = 0
    for func, sec in sorted(section_of.items()):
        if sec is None or not sec.startswith(PROGRAM_SECTIONS):
            continue
        total, chain = deepest(func, depth, calls)
        verdict = "ok" if total <= limit else "OVER"
        if total > limit:
            over += 1
        else:
            fit += 1
        print(f"  {func:24s} {total:4d} bytes  {verdict:5s} {' > '.join(chain)}")
    print(f"bpf_stack: {fit} passed, {over} failed")
    if over or not fit:
        sys.exit(1)


if __name__ == "__main__":
    main()

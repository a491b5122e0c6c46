#!/usr/bin/env python3
"""Which start-up work first touches which pages of an ELF executable: page faults by section,
and the code faults by phase of the start and by Swift module.

A fault maps the page and, for code, the kernel's fault-around window (64 KiB) around it, so the
number of code faults times 64 KiB is roughly the resident code; each fault is charged to the work
that first touched its window. Reads `perf script` output of a page-fault recording made with
call chains and data addresses:

  perf record -e page-faults -c 1 -d -g -o faults.perf -- timeout 4 BINARY --config CONFIG
  perf script -i faults.perf -F comm,tid,addr,ip,sym > faults.txt
  Benchmarks/startup-faults.py BINARY faults.txt

For a fixed-address executable (the image's shardline-sidecar) the fault addresses are the
binary's own; a position-independent one would need its load bias subtracted first.
"""
import bisect
import collections
import importlib.util
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("resident_pages", os.path.join(here, "resident-pages.py"))
resident_pages = importlib.util.module_from_spec(spec)
spec.loader.exec_module(resident_pages)


def phase_of(thread, chain):
    """The start-up phase a fault belongs to, from its thread's name and call chain."""
    if "_dl_start_user" in chain or "_dl_relocate_object" in chain:
        return "loader"
    if "__libc_start_main" in chain and "__libc_start_call_main" not in chain:
        return "static constructors"
    if thread.startswith("NIO-ELT"):
        return "event loop threads"
    lowered = chain.lower()  # Swift frames are mangled: `16asyncParseAsRoot`, `13CommandParser`
    if any(word in lowered for word in ("parseasroot", "commandparser", "splitarguments", "argumentset")):
        return "argument parsing (ArgumentParser)"
    if "Yams" in chain or "yaml_" in chain or "ConfigFile" in chain:
        return "config file (Yams)"
    return "the command's start (tasks, bootstrap, services)"


def main():
    binary, recording = sys.argv[1], sys.argv[2]
    sections = resident_pages.sections_of(binary)
    symbols = []
    listing = subprocess.run(["nm", "-n", "--defined-only", binary], capture_output=True, text=True, check=True)
    for line in listing.stdout.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[1] in "tT":
            symbols.append((int(fields[0], 16), fields[2]))
    starts = [address for address, _ in symbols]
    text = next(s for s in sections if s[0] == ".text")

    by_section = collections.Counter()
    by_phase = collections.Counter()
    modules_by_phase = collections.defaultdict(collections.Counter)
    for block in open(recording).read().split("\n\n"):
        lines = block.strip().split("\n")
        head = lines[0].split()
        if len(head) < 3:
            continue
        try:
            address = int(head[2], 16)
        except ValueError:
            continue
        section = next((name for name, start, size in sections if start <= address < start + size), None)
        if section is None:
            continue
        by_section[section] += 1
        if not text[1] <= address < text[1] + text[2]:
            continue
        chain = " ".join(lines[1:])
        phase = phase_of(head[0], chain)
        index = max(bisect.bisect_right(starts, address) - 1, 0)
        by_phase[phase] += 1
        modules_by_phase[phase][resident_pages.module_of(symbols[index][1])] += 1

    print("faults in the binary by section:")
    for name, count in by_section.most_common(15):
        print(f"  {name:30s} {count:5d}")
    print(f"faults in .text by phase ({sum(by_phase.values())}, each up to 64 KiB mapped):")
    for phase, count in by_phase.most_common():
        modules = ", ".join(f"{m} {c}" for m, c in modules_by_phase[phase].most_common(5))
        print(f"  {phase:50s} {count:5d}  ({modules})")


if __name__ == "__main__":
    main()

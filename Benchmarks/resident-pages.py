#!/usr/bin/env python3
"""Which pages of an ELF executable are resident in a running process, and whose they are.

Reads /proc/PID/maps and /proc/PID/pagemap (root: the present bit of each page of the binary's
mappings), attributes every resident page to the section that holds it (`readelf -S`), and the
pages of .text to Swift modules by the symbols that cover them (`nm`; the module is the first
identifier of a Swift mangled name, `$s7NIOCore...` -> NIOCore). A page is resident when the
process touched it or when the kernel mapped it around a touched one (fault-around, 64 KiB), so
a module touched here and there shows most of its code resident.

Usage: Benchmarks/resident-pages.py PID BINARY   (see Benchmarks/sidecar-rss.sh for the figures)
"""
import bisect
import collections
import os
import re
import struct
import subprocess
import sys

PAGE = 4096


def sections_of(binary):
    found = []
    listing = subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True, check=True).stdout
    for line in listing.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
        if m and int(m.group(2), 16):
            found.append((m.group(1), int(m.group(2), 16), int(m.group(4), 16)))
    return found


def first_load_address(binary):
    listing = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True, check=True).stdout
    for line in listing.splitlines():
        m = re.match(r"\s*LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)", line)
        if m:
            return int(m.group(2), 16) - int(m.group(1), 16)
    return 0


def resident_pages(pid, binary):
    real = os.path.realpath(binary)
    maps = []
    for line in open(f"/proc/{pid}/maps"):
        fields = line.split()
        if len(fields) >= 6 and fields[5] == real:
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            maps.append((lo, hi, fields[1], int(fields[2], 16)))
    # The load bias: where the mapping of file offset 0 sits, less the first loadable segment's
    # address in the file (0 in a position-independent executable, 0x400000 in a fixed-address
    # one, where the bias is then 0).
    bias = min(lo - offset for lo, _, _, offset in maps) - first_load_address(binary)
    pages = []
    with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for lo, hi, perms, _ in maps:
            pagemap.seek(lo // PAGE * 8)
            entries = pagemap.read((hi - lo) // PAGE * 8)
            for i in range((hi - lo) // PAGE):
                (entry,) = struct.unpack_from("<Q", entries, i * 8)
                if entry >> 63 & 1 or entry >> 62 & 1:  # present or swapped
                    pages.append((lo + i * PAGE - bias, perms))
    return pages


def module_of(symbol):
    m = re.match(r"^_?\$s(\d+)([A-Za-z_][A-Za-z0-9_]*)", symbol)
    if m:
        return m.group(2)[: int(m.group(1))]
    if re.match(r"^_?\$s", symbol):
        return "Swift standard library"
    if symbol.startswith("_Z"):
        if "icu" in symbol:
            return "ICU (C++)"
        return "Swift runtime (C++)" if "swift" in symbol else "C++"
    if symbol.startswith("swift_u") or symbol.startswith("swift_ucol"):
        return "ICU (C)"
    if symbol.startswith(("swift_", "_swift_", "__swift_")):
        return "Swift runtime"
    if "dispatch" in symbol:
        return "Dispatch"
    if symbol.startswith(("CF", "_CF", "__CF")):
        return "CoreFoundation"
    if symbol.startswith("yaml_"):
        return "CYaml"
    return "other C"


def main():
    pid, binary = sys.argv[1], sys.argv[2]
    sections = sections_of(binary)
    pages = resident_pages(pid, binary)
    print(f"resident pages of {binary}: {len(pages)} ({len(pages) * PAGE / 1048576:.1f} MiB)")
    by_section = collections.Counter()
    for vaddr, perms in pages:
        name = next((s for s, a, size in sections if a <= vaddr < a + size or vaddr <= a < vaddr + PAGE), "?")
        by_section[(perms, name)] += 1
    for (perms, name), count in by_section.most_common(20):
        print(f"  {perms} {name:30s} {count * PAGE / 1048576:6.2f} MiB")

    symbols = []
    for line in subprocess.run(["nm", "-n", "--defined-only", binary], capture_output=True, text=True, check=True).stdout.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[1] in "tT":
            symbols.append((int(fields[0], 16), fields[2]))
    starts = [a for a, _ in symbols]
    in_binary = collections.Counter()
    for i, (start, name) in enumerate(symbols[:-1]):
        in_binary[module_of(name)] += symbols[i + 1][0] - start
    text = next(s for s in sections if s[0] == ".text")
    resident = collections.Counter()
    for vaddr, _ in pages:
        if not text[1] <= vaddr < text[1] + text[2]:
            continue
        i = max(bisect.bisect_right(starts, vaddr) - 1, 0)
        while i < len(symbols) and symbols[i][0] < vaddr + PAGE:
            end = symbols[i + 1][0] if i + 1 < len(symbols) else vaddr + PAGE
            covered = min(end, vaddr + PAGE) - max(symbols[i][0], vaddr)
            if covered > 0:
                resident[module_of(symbols[i][1])] += covered
            i += 1
    print(".text by module: resident MiB / MiB in the binary")
    for module, size in resident.most_common(30):
        print(f"  {module:32s} {size / 1048576:6.2f} / {in_binary[module] / 1048576:6.2f}")


if __name__ == "__main__":
    main()

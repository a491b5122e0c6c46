#!/usr/bin/env bash
# The sidecar image's build command, in one place: sidecar/Dockerfile runs this script, and so do
# CI and sidecar/check-static.sh on a machine without a container engine. It builds two products
# in release mode with the Swift runtime and Foundation linked in statically, so they run on a
# base image that has only glibc and libstdc++ (distroless/cc):
#   shardline-sidecar  the sidecar alone, what the injected sidecar container runs (its code is
#                      a fraction of the CLI's, and so are its resident code pages in every pod);
#   shardline          the full CLI (the injection webhook, `certs`, `inject`, `route`, ...).
# Both share one scratch directory, so the modules they have in common compile once; the second
# product costs little more than its link. Each is then copied without debug information to
# <scratch>/<name>: the files that ship, a fifth smaller, their symbol tables kept so crash
# backtraces still name functions. The full binaries stay in the build directory for
# symbolicating crash reports.
#
# Usage: sidecar/build-static.sh   (prints the two shipped binaries' paths, the sidecar's last)
#        SCRATCH=.build-static sidecar/build-static.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${SCRATCH:-.build-static}"

# The sidecar is linked as a fixed-address executable (not position-independent), for its idle
# resident set: a PIE carries ~96,000 relative relocations (2.2 MiB of .rela.dyn) that the loader
# reads at every start and applies to .data.rel.ro and .data, copying those pages into private
# memory; at a fixed address the linker resolves them, so neither happens (idle RSS about 2 MiB
# lower; README.md, "Where the idle RSS is"). The text segment starts 64 KiB above the usual
# 0x400000: a kernel that caches the file in large folios (Linux 6.18 on ext4 here) maps a whole
# folio at the first touch when the folio lies aligned in the address space. At 0x400000 every
# folio is, up to 2 MiB ones (28.3 MiB idle for a file freshly written by strip); at 0x410000 only
# folios of at most 64 KiB are, no more than the 64 KiB the kernel maps around a touch anyway
# (19.6 MiB; 0x401000, no folio aligned, gave 19.7 to 20.6 depending on how the file was written).
# The cost: no address randomisation for the binary's own code and data (stack, heap, mmap and the
# shared libraries stay randomised), which makes an exploit of a memory-safety bug easier. The
# flags are linker-only, so both products share the same objects; the full CLI (the webhook) stays
# a PIE. To build the sidecar as a PIE again, empty `sidecar_link`. (As the two `swift build`
# calls differ in linker flags, an incremental run in a reused scratch directory recompiles
# Hummingbird and HummingbirdCore, about 75 s here; a build from scratch, as in the Dockerfile, is
# not affected.)
sidecar_link=(-Xlinker -no-pie -Xlinker -Ttext-segment=0x410000)

products=(shardline shardline-sidecar)
for product in "${products[@]}"; do
  link=()
  [ "$product" = shardline-sidecar ] && link=("${sidecar_link[@]}")
  swift build -c release --static-swift-stdlib --product "$product" --scratch-path "$scratch" "${link[@]}"
done

bin="$(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)"
for product in "${products[@]}"; do
  strip --strip-debug -o "$scratch/$product" "$bin/$product"
  echo "$scratch/$product"
done

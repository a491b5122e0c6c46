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

products=(shardline shardline-sidecar)
for product in "${products[@]}"; do
  swift build -c release --static-swift-stdlib --product "$product" --scratch-path "$scratch"
done

bin="$(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)"
for product in "${products[@]}"; do
  strip --strip-debug -o "$scratch/$product" "$bin/$product"
  echo "$scratch/$product"
done

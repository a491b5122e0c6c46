#!/usr/bin/env bash
# The sidecar image's build command, in one place: sidecar/Dockerfile runs this script, and so do
# CI and sidecar/check-static.sh on a machine without a container engine. It builds `shardline`
# in release mode with the Swift runtime and Foundation linked in statically, so the binary runs
# on a base image that has only glibc and libstdc++ (distroless/cc), then writes a copy without
# debug information to <scratch>/shardline: the file that ships, a fifth smaller, its symbol
# table kept so crash backtraces still name functions. The full binary stays in the build
# directory for symbolicating crash reports.
#
# Usage: sidecar/build-static.sh            (prints the shipped binary's path on the last line)
#        SCRATCH=.build-static sidecar/build-static.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${SCRATCH:-.build-static}"

swift build -c release --static-swift-stdlib --product shardline --scratch-path "$scratch"

built="$(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)/shardline"
strip --strip-debug -o "$scratch/shardline" "$built"
echo "$scratch/shardline"

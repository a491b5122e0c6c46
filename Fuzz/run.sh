#!/usr/bin/env bash
# Builds and runs a libFuzzer target against the core or the lean HTTP/1 layer.
#
#   Fuzz/run.sh TARGET SECONDS [libFuzzer options...]
#   Fuzz/run.sh all SECONDS        every target, SECONDS split evenly between them
#
# TARGET: config (ConfigLoader: YAML in, a config or a ConfigError out) or pattern (PathPattern:
# the parser, compiler, Pike VM and class-run fast path; they must agree and stay linear);
# request, response (ShardlineHTTP1's parsers, body framer and head writer: invariants),
# differential (ShardlineHTTP1's request parser against NIOHTTP1's llhttp decoder) or
# response-differential (its response parser and body framer against NIOHTTP1's).
#
# The HTTP/1 targets are compiled with swiftc into the ShardlineHTTP1 module itself, each with
# Fuzz/Targets/HTTP1FuzzSupport.swift (the checks and comparison they share); NIOCore (and for
# the differential targets NIOEmbedded and NIOHTTP1 with llhttp) are SwiftPM's own build of them in
# .build/debug (after `swift test`, or built here with `swift build --product`), linked in
# uninstrumented: coverage guides the fuzzer through ShardlineHTTP1.
#
# The target is compiled with swiftc into the ShardlineCore module itself (so it can call the
# internal Pike VM and fast path), with Yams built from the SwiftPM checkout beside it; SwiftPM
# is not involved, because libFuzzer needs the whole program built with -sanitize=fuzzer.
# Everything built or found goes to .build-fuzz/ (gitignored): the growing corpus in
# .build-fuzz/corpus/TARGET, crashing inputs in .build-fuzz/artifacts/TARGET. The seeds in
# Fuzz/corpus/TARGET are only read. Exit status: libFuzzer's (0 when nothing was found).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

usage() { echo "usage: Fuzz/run.sh config|pattern|request|response|differential|response-differential|all SECONDS [libFuzzer options...]" >&2; exit 64; }
[ $# -ge 2 ] || usage
target=$1
seconds=$2
shift 2
[[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -gt 0 ] || { echo "SECONDS must be a positive whole number, not '$seconds'" >&2; exit 64; }

if [ "$target" = all ]; then
  targets=(config pattern request response differential response-differential)
  share=$(( (seconds + ${#targets[@]} - 1) / ${#targets[@]} ))
  for each in "${targets[@]}"; do
    "$0" "$each" "$share" "$@"
  done
  exit 0
fi
case "$target" in
  config) source_file=ConfigLoaderFuzzTarget.swift ;;
  pattern) source_file=PathPatternFuzzTarget.swift ;;
  request) source_file=HTTP1RequestFuzzTarget.swift ;;
  response) source_file=HTTP1ResponseFuzzTarget.swift ;;
  differential) source_file=HTTP1DifferentialFuzzTarget.swift ;;
  response-differential) source_file=HTTP1ResponseDifferentialFuzzTarget.swift ;;
  *) usage ;;
esac

out=$root/.build-fuzz
mkdir -p "$out"
export SWIFT_BACKTRACE=enable=no

run_target() {
  local binary=$1
  mkdir -p "$out/corpus/$target" "$out/artifacts/$target"
  local dict=()
  [ -f "Fuzz/dict/$target.dict" ] && dict=(-dict="Fuzz/dict/$target.dict")
  echo "fuzz: running $target for ${seconds}s"
  # -max_len: libFuzzer would otherwise cap inputs at the largest seed (1165 bytes for config).
  exec "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 \
    -artifact_prefix="$out/artifacts/$target/" "${dict[@]}" "${extra[@]}" "$out/corpus/$target" "Fuzz/corpus/$target"
}
extra=("$@")

case "$target" in
  request|response|differential|response-differential)
    # NIO from SwiftPM's debug build (the one `swift test` makes; CI runs it first): its
    # ByteBuffer API is inlinable, so it is specialised into the optimised target anyway.
    bin=$(swift build --show-bin-path)
    if [ ! -f "$bin/Modules/NIOHTTP1.swiftmodule" ] || [ ! -f "$bin/Modules/NIOEmbedded.swiftmodule" ]; then
      echo "fuzz: building NIOHTTP1 and NIOEmbedded with SwiftPM"
      swift build --product NIOHTTP1 >/dev/null
      swift build --product NIOEmbedded >/dev/null
    fi
    nio_bin=$bin
    binary=$out/fuzz-$target
    stamp=$nio_bin/Modules/NIOHTTP1.swiftmodule
    support_file=Fuzz/Targets/HTTP1FuzzSupport.swift
    if [ -x "$binary" ] && [ -z "$(find Sources/ShardlineHTTP1 "Fuzz/Targets/$source_file" "$support_file" "$stamp" -newer "$binary" -print -quit)" ]; then
      echo "fuzz: $target is up to date"
    else
      echo "fuzz: building $target"
      snapshot=$out/src/$target
      rm -rf "$snapshot" && mkdir -p "$snapshot"
      cp -R Sources/ShardlineHTTP1 "Fuzz/Targets/$source_file" "$support_file" "$snapshot/"
      rm -f "$binary"
      # The objects of NIOHTTP1's dependency closure, and the C modules' maps and headers.
      objects=()
      cflags=()
      for module in NIOCore NIOEmbedded NIOHTTP1 NIOConcurrencyHelpers _NIOBase64 _NIODataStructures CNIOLLHTTP \
          CNIOLinux CNIODarwin CNIOWindows CNIOOpenBSD CNIOFreeBSD CNIOWASI CNIOAtomics DequeModule \
          InternalCollectionsUtilities ContainersPreview Atomics _AtomicsShims; do
        [ -d "$nio_bin/$module.build" ] || continue
        while IFS= read -r -d '' object; do objects+=("$object"); done < <(find "$nio_bin/$module.build" -name '*.o' -print0 | sort -z)
        [ -f "$nio_bin/$module.build/module.modulemap" ] && cflags+=(-Xcc -fmodule-map-file="$nio_bin/$module.build/module.modulemap")
      done
      for include in .build/checkouts/swift-nio/Sources/*/include .build/checkouts/swift-atomics/Sources/*/include; do
        cflags+=(-Xcc -I"$root/$include")
        [ -f "$include/module.modulemap" ] && cflags+=(-Xcc -fmodule-map-file="$root/$include/module.modulemap")
      done
      swiftc -parse-as-library -module-name ShardlineHTTP1 -swift-version 6 -O -g -sanitize=fuzzer,address \
        -I "$nio_bin/Modules" "${cflags[@]}" $(find "$snapshot" -name '*.swift' | sort) "${objects[@]}" \
        -o "$binary" 2> >(grep -v "Cannot export local symbol" >&2)
    fi
    run_target "$binary"
    ;;
esac

yams=$root/.build/checkouts/Yams/Sources
if [ ! -d "$yams/Yams" ]; then
  echo "fuzz: resolving packages for the Yams sources"
  swift package resolve >/dev/null
fi

# Yams and its C library libyaml: built once per checkout, instrumented too, so coverage guides
# the fuzzer through the YAML parser as well.
yams_stamp=$out/yams.stamp
yams_version=$(git -C "$root/.build/checkouts/Yams" rev-parse HEAD 2>/dev/null || echo unknown)
if [ ! -f "$yams_stamp" ] || [ "$(cat "$yams_stamp")" != "$yams_version" ]; then
  echo "fuzz: building Yams ($yams_version)"
  rm -rf "$out/yams" && mkdir -p "$out/yams"
  for c in "$yams"/CYaml/src/*.c; do
    clang -c -O1 -g -fsanitize=address,fuzzer-no-link -DYAML_DECLARE_STATIC \
      -I "$yams/CYaml/include" "$c" -o "$out/yams/$(basename "$c" .c).o"
  done
  swiftc -parse-as-library -module-name Yams -swift-version 5 -D SWIFT_PACKAGE -O -g -sanitize=fuzzer,address \
    -wmo -c -emit-module -emit-module-path "$out/yams/Yams.swiftmodule" \
    -Xcc -DYAML_DECLARE_STATIC -Xcc -I"$yams/CYaml/include" -I "$yams/CYaml/include" \
    "$yams"/Yams/*.swift -o "$out/yams/Yams.o"
  echo "$yams_version" > "$yams_stamp"
fi

binary=$out/fuzz-$target
# Rebuilt only when the core, the target or Yams changed since the last build.
if [ -x "$binary" ] && [ -z "$(find Sources/ShardlineCore "Fuzz/Targets/$source_file" "$yams_stamp" -newer "$binary" -print -quit)" ]; then
  echo "fuzz: $target is up to date"
else
  echo "fuzz: building $target"
  # From a copy, so editing the sources while a (slow) fuzz build runs cannot break it.
  snapshot=$out/src/$target
  rm -rf "$snapshot" && mkdir -p "$snapshot"
  cp -R Sources/ShardlineCore "Fuzz/Targets/$source_file" "$snapshot/"
  rm -f "$binary"
  swiftc -parse-as-library -module-name ShardlineCore -swift-version 6 -O -g -sanitize=fuzzer,address \
    -D SHARDLINE_FUZZ -I "$out/yams" -Xcc -I"$yams/CYaml/include" -I "$yams/CYaml/include" \
    $(find "$snapshot" -name '*.swift' | sort) \
    "$out"/yams/*.o -o "$binary" 2> >(grep -v "Cannot export local symbol" >&2)
fi

run_target "$binary"

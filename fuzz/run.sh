#!/usr/bin/env bash
# Bounded fuzzing of every cargo-fuzz target (or the ones named), for CI and by hand.
#
#   fuzz/run.sh SECONDS [TARGET...]
#
# Builds all targets once (AddressSanitizer, stable toolchain with RUSTC_BOOTSTRAP=1 on the
# fuzz commands only, see .ci/fuzz-notes.md), then runs each target for SECONDS with a scratch
# corpus (in a mktemp dir) seeded from fuzz/seeds/<target> and fuzz/regressions/<target>.
# Prints one line per target, writes fuzz/last-run.txt, copies every crash/timeout/oom input
# into fuzz/regressions/<target>/ (add it to git, fix the bug, and
# conformance/tests/fuzz_regressions.rs replays it forever), and exits non-zero if any target
# failed. Nothing outside fuzz/ and the mktemp dir is written.
#
# Wall time: build (about 1 s when cached; a clean build compiles libFuzzer and the deps) plus
# about SECONDS + 2 s per target.
set -uo pipefail

usage() {
    echo "usage: $0 SECONDS [TARGET...]" >&2
    exit 2
}
[[ $# -ge 1 && $1 =~ ^[0-9]+$ && $1 -gt 0 ]] || usage
secs=$1
shift

fuzz_dir=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$fuzz_dir") # cargo-fuzz runs from the parent of fuzz/
cd "$root" || exit 1

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    targets=()
    for f in "$fuzz_dir"/fuzz_targets/*.rs; do
        targets+=("$(basename "$f" .rs)")
    done
fi
for t in "${targets[@]}"; do
    [[ -f $fuzz_dir/fuzz_targets/$t.rs ]] || {
        echo "fuzz: no target named '$t'" >&2
        exit 2
    }
done

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.2 --locked || exit 1

# Same flags for build and run, so `cargo fuzz run` finds everything built. The default build
# is optimised with debug assertions and overflow checks on (what a fuzzer should see).
build_flags=()
if [[ -n ${FUZZ_BUILD_FLAGS:-} ]]; then
    read -r -a build_flags <<<"$FUZZ_BUILD_FLAGS" # e.g. FUZZ_BUILD_FLAGS=-O
fi
echo "fuzz: building all targets (cargo fuzz build ${build_flags[*]})"
build_start=$(date +%s)
if ! env RUSTC_BOOTSTRAP=1 cargo fuzz build "${build_flags[@]}"; then
    echo "fuzz: build failed" >&2
    echo "fuzz build failed at $(date -u +%FT%TZ)" >"$fuzz_dir/last-run.txt"
    exit 1
fi
build_secs=$(($(date +%s) - build_start))

work=$(mktemp -d "${TMPDIR:-/tmp}/perouterd-fuzz.XXXXXX")
lines=()
passed=0
failed=0
for t in "${targets[@]}"; do
    mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
    rm -f "$fuzz_dir/last-run-$t.log"
    dirs=("$work/$t/corpus")
    [[ -d $fuzz_dir/seeds/$t ]] && dirs+=("$fuzz_dir/seeds/$t")
    [[ -d $fuzz_dir/regressions/$t ]] && dirs+=("$fuzz_dir/regressions/$t")
    start=$(date +%s)
    rc=0
    timeout -k 10 $((secs + 60)) env RUSTC_BOOTSTRAP=1 cargo fuzz run "${build_flags[@]}" "$t" \
        "${dirs[@]}" -- \
        -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/$t/artifacts/" >"$work/$t/log" 2>&1 || rc=$?
    elapsed=$(($(date +%s) - start))
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$work/$t/log" | tail -n 1)
    line="fuzz $t: ${execs:-0} executions in ${elapsed}s, exit $rc"
    echo "$line"
    lines+=("$line")
    if [[ $rc -eq 0 ]]; then
        passed=$((passed + 1))
        continue
    fi
    failed=$((failed + 1))
    grep -E '^(==[0-9]+== ?ERROR|SUMMARY|thread .* panicked|ERROR: libFuzzer)' "$work/$t/log" | head -n 5 | sed 's/^/    /'
    shopt -s nullglob
    for a in "$work/$t/artifacts"/*; do
        mkdir -p "$fuzz_dir/regressions/$t"
        cp "$a" "$fuzz_dir/regressions/$t/"
        echo "    saved fuzz/regressions/$t/$(basename "$a")"
        lines+=("    saved fuzz/regressions/$t/$(basename "$a")")
    done
    shopt -u nullglob
    cp "$work/$t/log" "$fuzz_dir/last-run-$t.log" 2>/dev/null &&
        echo "    log: fuzz/last-run-$t.log"
done

{
    echo "# fuzz/run.sh $secs ${targets[*]}"
    echo "# $(date -u +%FT%TZ) commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')," \
        "build ${build_secs}s"
    printf '%s\n' "${lines[@]}"
    echo "fuzz targets: $passed clean, $failed failed"
} >"$fuzz_dir/last-run.txt"
echo "fuzz targets: $passed clean, $failed failed"
rm -rf "$work"
[[ $failed -eq 0 ]]

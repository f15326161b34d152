#!/usr/bin/env bash
# Builds audb's fuzz targets (fuzz/, a cargo-fuzz project), replays the saved
# crashing inputs in fuzz/regressions/<target>/, then fuzzes each target for
# a bounded time. Exits non-zero if any input crashes, leaks past the RSS
# limit or hangs past the timeout. See docs/fuzzing.md.
#
# usage: scripts/fuzz.sh [seconds-per-target] [target...]
#   seconds-per-target  default 60; 0 only builds and replays regressions
#   target...           default: every target
# environment:
#   FUZZ_TOOLCHAIN=nightly FUZZ_SANITIZER=address   sanitizer build (needs nightly);
#   the default (stable, no sanitizer) is what CI runs.
set -uo pipefail

SECS=${1:-60}
shift || true
ALL=(sql ops_vs_model segment_open wal_replay pgwire_messages)
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL[@]}"); fi

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT/fuzz" || exit 2

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked || exit 2
fi

SANITIZER=${FUZZ_SANITIZER:-none}
TOOLCHAIN=()
if [ -n "${FUZZ_TOOLCHAIN:-}" ]; then
    TOOLCHAIN=("+$FUZZ_TOOLCHAIN")
else
    # cargo-fuzz passes unstable flags; stable rustc accepts them with this.
    export RUSTC_BOOTSTRAP=1
fi
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
BIN="$ROOT/fuzz/target/$TRIPLE/release"

echo "== building fuzz targets (sanitizer: $SANITIZER)"
start=$(date +%s)
cargo "${TOOLCHAIN[@]}" fuzz build --sanitizer "$SANITIZER" || exit 2
echo "== build took $(( $(date +%s) - start )) s"

# libFuzzer options shared by every run. Without a sanitizer,
# -malloc_limit_mb is not enforced; -rss_limit_mb is, and any single
# allocation that fails aborts the process (a crash).
OPTS=(-rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=30 -print_final_stats=1)

failed=()
for t in "${TARGETS[@]}"; do
    mkdir -p "regressions/$t" "corpus/$t" "seeds/$t" "artifacts/$t"
    if [ -n "$(ls -A "regressions/$t")" ]; then
        echo "== $t: replaying $(ls "regressions/$t" | wc -l) regression inputs"
        if ! "$BIN/$t" "${OPTS[@]}" -runs=0 "regressions/$t"; then
            failed+=("$t (regression)")
            continue
        fi
    fi
    if [ "$SECS" -gt 0 ]; then
        echo "== $t: fuzzing for $SECS s"
        DICT=()
        if [ -f "dicts/$t.dict" ]; then DICT=(-dict="dicts/$t.dict"); fi
        if ! "$BIN/$t" "${OPTS[@]}" "${DICT[@]}" -max_total_time="$SECS" \
            -artifact_prefix="artifacts/$t/" "corpus/$t" "seeds/$t"; then
            failed+=("$t")
            echo "== $t: FAILED; crashing input in fuzz/artifacts/$t/"
        fi
    fi
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "== fuzzing failed: ${failed[*]}"
    exit 1
fi
echo "== fuzzing passed: ${TARGETS[*]} (${SECS} s each)"

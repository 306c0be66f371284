#!/bin/sh
# Runs every fuzz target for a bounded time (FUZZ_SECONDS, default 60) over
# the committed seed corpus. New inputs the fuzzer finds go to
# fuzz/target/corpus, never into the committed corpus; a crash stops the run
# with the input saved under fuzz/artifacts.
#
# cargo fuzz builds with sanitizer flags that only nightly compilers accept;
# RUSTC_BOOTSTRAP lets the stable toolchain, the only one here, accept them.
set -eu
cd "$(dirname "$0")"
seconds=${FUZZ_SECONDS:-60}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O
for target in contract policy verify ledger manifest key_file; do
    work="target/corpus/$target"
    mkdir -p "$work"
    printf '\n== fuzz %s for %ss\n' "$target" "$seconds" >&2
    cargo fuzz run -O "$target" "$work" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=1024 -print_final_stats=1 2>&1 |
        grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|==|SUMMARY|Done)' || true
    # grep hides libFuzzer's progress lines; the pipeline's status is
    # grep's, so check for a crash artifact explicitly.
    if ls artifacts/"$target"/crash-* artifacts/"$target"/leak-* artifacts/"$target"/oom-* \
        artifacts/"$target"/timeout-* >/dev/null 2>&1; then
        echo "fuzz/run.sh: $target found a failing input; see fuzz/artifacts/$target" >&2
        exit 1
    fi
done

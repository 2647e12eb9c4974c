#!/usr/bin/env bash
# Runs the fuzz targets of fuzz/ (see fuzz/README.md) for ${FUZZ_SECONDS:-60}
# seconds each: all of them, or the ones named as arguments.
#
#   scripts/fuzz.sh                       # every target, 60 s each
#   FUZZ_SECONDS=600 scripts/fuzz.sh sse  # one target, 10 minutes
#
# Needs only the stable toolchain: cargo fuzz passes nightly-only flags
# (-Zsanitizer=address, ...), which RUSTC_BOOTSTRAP=1 lets stable rustc
# accept. Each run starts from fuzz/corpus/<target> (kept out of git) plus
# the committed inputs of fuzz/regressions/<target>. A crash is written to
# fuzz/artifacts/<target>/; the other targets still run, and the script
# fails at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"
targets=(validation ids token sse legacy_form log_writes upload_query content_disposition search_query session_body)
if [ "$#" -gt 0 ]; then
    targets=("$@")
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi
export RUSTC_BOOTSTRAP=1

failed=()
for target in "${targets[@]}"; do
    echo "== fuzz target $target: ${seconds}s"
    mkdir -p "fuzz/corpus/$target"
    if ! cargo fuzz run "$target" "fuzz/corpus/$target" "fuzz/regressions/$target" \
        -- -max_total_time="$seconds"; then
        failed+=("$target")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz targets that failed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzzing passed: ${targets[*]}"

#!/usr/bin/env bash
# Fuzz smoke test: build every cargo-fuzz target in fuzz/ once, then run each for a short
# time, starting from the seeds in fuzz/seeds/<target> (copied into fuzz/corpus/<target>).
#
#   scripts/fuzz-smoke.sh                 # 15 s per target
#   FUZZ_SECONDS=60 scripts/fuzz-smoke.sh # longer
#   scripts/fuzz-smoke.sh jws did         # only some targets
#
# cargo-fuzz needs nightly-only rustc flags (sanitizers, coverage). With a nightly toolchain
# installed this uses `cargo +nightly fuzz`; otherwise (CI has only stable) it uses the
# stable compiler with RUSTC_BOOTSTRAP=1. cargo-fuzz is installed if missing.
#
# Exit status: 0 if no target crashed; 1 if one did (the crashing input is printed and kept
# in fuzz/artifacts/<target>/); 2 on a setup or build failure. Logs go to stderr.

set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

seconds="${FUZZ_SECONDS:-15}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
    echo "fuzz-smoke: FUZZ_SECONDS must be a positive integer, got \`$seconds\`" >&2
    exit 2
fi
# A single input slower than this counts as a hang (libFuzzer's default is 20 minutes).
per_input_timeout="${FUZZ_INPUT_TIMEOUT:-20}"

log() { echo "fuzz-smoke: $*" >&2; }
# Sorted file names of a directory, for `comm`.
names() { LC_ALL=C ls -A -- "$1"; }

# Pick how to reach nightly-only compiler features.
cargo_fuzz=()
if command -v rustup >/dev/null 2>&1 && rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    cargo_fuzz=(cargo +nightly fuzz)
    log "using the nightly toolchain"
else
    export RUSTC_BOOTSTRAP=1
    cargo_fuzz=(cargo fuzz)
    log "no nightly toolchain listed; using $(rustc --version) with RUSTC_BOOTSTRAP=1"
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    log "cargo-fuzz not found; installing it"
    cargo install cargo-fuzz --locked >&2 || { log "could not install cargo-fuzz"; exit 2; }
fi

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <("${cargo_fuzz[@]}" list 2>/dev/null)
fi
if [[ ${#targets[@]} -eq 0 ]]; then
    log "no fuzz targets found"
    exit 2
fi
log "targets: ${targets[*]}; ${seconds}s each"

build_start=$SECONDS
if ! "${cargo_fuzz[@]}" build >&2; then
    log "build failed ($(df -h . | tail -1 | awk '{print $4}') free on the disk)"
    exit 2
fi
log "built in $((SECONDS - build_start))s"

failed=()
for target in "${targets[@]}"; do
    corpus="fuzz/corpus/$target"
    artifacts="fuzz/artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    if [[ -d "fuzz/seeds/$target" ]]; then
        cp -R -- "fuzz/seeds/$target/." "$corpus/"
    else
        log "warning: no seeds in fuzz/seeds/$target"
    fi
    # Whatever is already in the artifacts directory is from earlier runs.
    before="$(names "$artifacts")"

    log "running $target for ${seconds}s"
    start=$SECONDS
    status=0
    "${cargo_fuzz[@]}" run "$target" -- \
        -max_total_time="$seconds" \
        -timeout="$per_input_timeout" \
        -print_final_stats=1 >&2 || status=$?
    log "$target finished in $((SECONDS - start))s (exit $status)"

    if [[ $status -ne 0 ]]; then
        failed+=("$target")
        new="$(LC_ALL=C comm -13 <(echo "$before") <(names "$artifacts"))"
        if [[ -n "$new" ]]; then
            while IFS= read -r f; do
                log "CRASH in $target: $artifacts/$f"
                log "  reproduce: ${cargo_fuzz[*]} run $target $artifacts/$f"
            done <<<"$new"
        else
            log "CRASH in $target: no artifact written (see the log above)"
        fi
    fi
done

if [[ ${#failed[@]} -ne 0 ]]; then
    log "FAILED: ${failed[*]}"
    exit 1
fi
log "ok: ${targets[*]} ran ${seconds}s each without a crash"

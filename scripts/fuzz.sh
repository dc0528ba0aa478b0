#!/usr/bin/env bash
# Fuzzes the core's parsers of untrusted input (channel replies, notifies, money text, scanned
# codes, serial lines) with libFuzzer through cargo-fuzz. The targets live in src-tauri/core/fuzz.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     (default: 30 s, every target)
#
# Each target runs on a temporary copy of its committed corpus (src-tauri/core/fuzz/corpus/<target>),
# so a run never changes the repository. Debug assertions and overflow checks are on: an overflow
# on external input is a crash. A crash stops nothing else; the script exits 1 at the end and
# names each crashing input (kept in src-tauri/core/fuzz/artifacts/<target>/). Reproduce one with
#   cd src-tauri/core/fuzz && cargo +nightly fuzz run -O -a <target> <file>
#
# Environment:
#   FUZZ_KEEP_CORPUS=1   merge the inputs a run found that add coverage back into the committed
#                        corpus (libFuzzer -merge=1: only new coverage is added, the corpus stays small)
#   FUZZ_TOOLCHAIN=...   force a toolchain: `nightly`, or `stable` (stable with RUSTC_BOOTSTRAP=1,
#                        the fallback used when no nightly toolchain is installed)
#   CARGO_BUILD_JOBS     passed on to cargo, as usual
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never
fuzz_dir=src-tauri/core/fuzz

seconds=30
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
  seconds=$1
  shift
fi
if [[ $seconds -lt 1 ]]; then
  echo "fuzz: SECONDS_PER_TARGET must be at least 1" >&2
  exit 2
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

# libFuzzer needs nightly flags (-Zsanitizer, sancov). Without a nightly toolchain, stable with
# RUSTC_BOOTSTRAP=1 accepts them too; it builds into its own target dir.
toolchain=${FUZZ_TOOLCHAIN:-}
if [[ -z $toolchain ]]; then
  if command -v rustup >/dev/null 2>&1 && rustup run nightly true >/dev/null 2>&1; then
    toolchain=nightly
  else
    toolchain=stable
  fi
fi
case $toolchain in
  nightly)
    cargo_fuzz=(cargo +nightly fuzz)
    target_dir=target
    ;;
  stable)
    export RUSTC_BOOTSTRAP=1
    if command -v rustup >/dev/null 2>&1 && rustup run stable true >/dev/null 2>&1; then
      cargo_fuzz=(cargo +stable fuzz)
    else
      cargo_fuzz=(cargo fuzz)
    fi
    target_dir=target/bootstrap
    ;;
  *)
    echo "fuzz: FUZZ_TOOLCHAIN must be nightly or stable, not $toolchain" >&2
    exit 2
    ;;
esac
# cargo-fuzz builds for the host; the targets run straight from the build (not through
# `cargo fuzz run`, which could rebuild and would count the build in the run's time).
host=$(rustc -vV | sed -n 's/^host: //p')

cd "$fuzz_dir"
here=$PWD
mapfile -t all_targets < <("${cargo_fuzz[@]}" list)
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  targets=("${all_targets[@]}")
fi
for t in "${targets[@]}"; do
  if ! printf '%s\n' "${all_targets[@]}" | grep -qx -- "$t"; then
    echo "fuzz: no target $t (targets: ${all_targets[*]})" >&2
    exit 2
  fi
done

# Release code with debug assertions and overflow checks (-a), address sanitizer (the default).
build_flags=(-O -a --target-dir "$target_dir")
echo "fuzz: building ${#targets[@]} target(s) with $toolchain$([[ $toolchain == stable ]] && echo ' (RUSTC_BOOTSTRAP=1)')"
if [[ ${#targets[@]} -eq ${#all_targets[@]} ]]; then
  "${cargo_fuzz[@]}" build "${build_flags[@]}"
else
  for t in "${targets[@]}"; do
    "${cargo_fuzz[@]}" build "${build_flags[@]}" "$t"
  done
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/paydesk-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
crashes=()
for t in "${targets[@]}"; do
  corpus="$work/corpus/$t"
  mkdir -p "$corpus"
  if [[ -d corpus/$t ]]; then
    cp -R "corpus/$t/." "$corpus/"
  fi
  log="$work/$t.log"
  started=$(date +%s)
  status=0
  mkdir -p "artifacts/$t"
  # Crashing inputs go to artifacts/<target>/. -timeout: an input that takes 10 s is a hang;
  # -rss_limit_mb: a reply that eats memory is a crash. TMPDIR: a target's own files (the
  # http_listeners ledger) go where this script cleans up.
  TMPDIR="$work" ASAN_OPTIONS=${ASAN_OPTIONS:-detect_odr_violation=0} "$target_dir/$host/release/$t" "$corpus" \
    -artifact_prefix="$here/artifacts/$t/" -max_total_time="$seconds" -print_final_stats=1 \
    -timeout=10 -rss_limit_mb=2048 >"$log" 2>&1 || status=$?
  elapsed=$(($(date +%s) - started))
  execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
  units=$(sed -n 's/.*corp: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
  if [[ $status -eq 0 ]]; then
    echo "fuzz $t: ${execs:-?} executions in $elapsed s, corpus ${units:-$(find "$corpus" -type f | wc -l)}, no crash"
    if [[ ${FUZZ_KEEP_CORPUS:-0} == 1 ]]; then
      mkdir -p "corpus/$t"
      before=$(find "corpus/$t" -type f | wc -l)
      TMPDIR="$work" ASAN_OPTIONS=${ASAN_OPTIONS:-detect_odr_violation=0} "$target_dir/$host/release/$t" -merge=1 \
        "corpus/$t" "$corpus" -timeout=10 -rss_limit_mb=2048 >"$work/$t.merge.log" 2>&1 || {
        echo "fuzz $t: merging into corpus/$t failed:" >&2
        tail -n 20 "$work/$t.merge.log" >&2
        exit 1
      }
      after=$(find "corpus/$t" -type f | wc -l)
      echo "fuzz $t: corpus/$t grew from $before to $after inputs"
    fi
  else
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    echo "fuzz $t: CRASH after ${execs:-?} executions in $elapsed s (exit $status): ${artifact:-no input saved}"
    grep -m 1 -A 12 -E "panicked at|ERROR: (libFuzzer|AddressSanitizer)" "$log" | sed 's/^/    /' || tail -n 30 "$log"
    crashes+=("$t: ${artifact:-$here/artifacts/$t/}")
  fi
done

if [[ ${#crashes[@]} -gt 0 ]]; then
  echo
  echo "fuzz: ${#crashes[@]} target(s) crashed; reproduce with: cd $fuzz_dir && ${cargo_fuzz[*]} run -O -a <target> <file>"
  printf '  %s\n' "${crashes[@]}"
  exit 1
fi
echo "fuzz: all ${#targets[@]} target(s) ran $seconds s each without a crash"

#!/usr/bin/env bash
# bench/fuzz/run.sh - builds the libFuzzer build (build/fuzz, clang, -DFERRY_FUZZ=ON) and
# fuzzes the targets of tests/fuzz/ one after the other (never two at once).
# Usage: bench/fuzz/run.sh [seconds-per-target] [target...]     (default 600 s, every target)
#   e.g. bench/fuzz/run.sh 60 csv pg_redact
# Per target: the committed corpus tests/fuzz/corpus/<name>/ seeds a working corpus in
# build/fuzz/corpus/<name>/ (new inputs go there, the committed one is not touched), the log
# goes to build/fuzz/logs/<name>.log, findings (crash-, leak-, timeout-, oom- files) to
# build/fuzz/artifacts/<name>/. At the end a table (also build/fuzz/logs/summary.txt):
# seconds run, executions, exec/s, cov, ft and corp (corpus files) of libFuzzer's last stats
# line,
# findings. A finding ends that target's run (libFuzzer stops at the first); the others run.
# To minimise the committed corpus afterwards:
#   build/fuzz/tests/fuzz/fuzz_<name> -merge=1 NEWDIR tests/fuzz/corpus/<name> build/fuzz/corpus/<name>
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
secs=${1:-600}
shift || true
build=$root/build/fuzz
all=$(cd "$root/tests/fuzz" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')
targets=${*:-$all}

CC=clang cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DFERRY_FUZZ=ON -DFERRY_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j 2 --target fuzz_all

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/tests/lsan.supp:print_suppressions=0}

dict_of() {
    case $1 in
    tmdb_list | tmdb_detail) echo json ;;
    *) echo "$1" ;;
    esac
}

mkdir -p "$build/logs"
summary=$build/logs/summary.txt
printf '%-12s %6s %12s %8s %6s %6s %7s %8s\n' target seconds executions exec/s cov ft corpus findings >"$summary.tmp"
for t in $targets; do
    bin=$build/tests/fuzz/fuzz_$t
    [ -x "$bin" ] || { echo "run.sh: no target '$t' (have: $(echo $all))" >&2; exit 2; }
    work=$build/corpus/$t art=$build/artifacts/$t log=$build/logs/$t.log
    mkdir -p "$work" "$art"
    args=(-max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
          -artifact_prefix="$art/")
    dict=$root/tests/fuzz/dict/$(dict_of "$t").dict
    [ -f "$dict" ] && args+=(-dict="$dict")
    echo "== fuzz $t for $secs s (log $log)"
    t0=$(date +%s)
    # the target reads no stdin; run it in its own directory so nothing lands in the tree
    (cd "$art" && "$bin" "${args[@]}" "$work" "$root/tests/fuzz/corpus/$t" </dev/null >"$log" 2>&1) || true
    ran=$(( $(date +%s) - t0 ))
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
    execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || true)
    [ -n "$execs" ] || execs=$(sed -E 's/^#([0-9]+).*/\1/' <<<"$last")
    rate=$(grep -oE 'stat::average_exec_per_sec: *[0-9]+' "$log" | grep -oE '[0-9]+$' || true)
    cov=$(grep -oE 'cov: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || true)
    ft=$(grep -oE 'ft: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || true)
    corp=$(grep -oE 'corp: [0-9]+' <<<"$last" | grep -oE '[0-9]+' || true)
    finds=$(ls "$art" | grep -cE '^(crash|leak|timeout|oom|slow-unit)-' || true)
    printf '%-12s %6s %12s %8s %6s %6s %7s %8s\n' "$t" "$ran" "${execs:-?}" "${rate:-?}" \
        "${cov:-?}" "${ft:-?}" "${corp:-?}" "$finds" >>"$summary.tmp"
    tail -n 1 "$summary.tmp"
done
mv "$summary.tmp" "$summary"
echo
cat "$summary"

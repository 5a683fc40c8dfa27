#!/usr/bin/env bash
# bench/telemetry/run.sh - the ship-telemetry benchmarks of issue 3, each side by side with its
# anchor in the same run, on the local stack (scripts/stack). Prints a Markdown report.
#
#   bench/telemetry/run.sh [all|throughput|producer|latency|memory]
#
# Env: N (readings per throughput run, default 2000000), RUNS (default 3), LAT_SECONDS
# (default 60), MEM_N (default 5000000). Uses its own databases (bench_*) on the stack's server.
#
# throughput: `ferry dualwrite` (1 worker; narrow + wide) rows/s, from first record to last
#             commit, against COPY ... FROM STDIN (FORMAT binary) of the same rows into the
#             narrow table alone (bench_copy_baseline). Medians of RUNS, alternating.
# producer:   `ferry telemetry --source sim` against kafka-producer-perf-test with the same
#             record size, acks=all, lz4, idempotence, linger and batch size.
# latency:    record timestamp -> committed in PostgreSQL at a steady 20,000 readings/s.
# memory:     peak RSS (VmHWM) of one dual-write worker started with MEM_N records of lag.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
what=${1:-all}
N=${N:-2000000}
RUNS=${RUNS:-3}
LAT_SECONDS=${LAT_SECONDS:-60}
MEM_N=${MEM_N:-5000000}
SHIPS=20
CH=50
build=${FERRY_BENCH_BUILD:-$root/build/bench}

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFERRY_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
ferry=$build/ferry
"$root/scripts/stack" up >/dev/null 2>&1
eval "$("$root/scripts/stack" env)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
start_us=1767225600000000 # 2026-01-01T00:00:00Z

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
new_db() {
    psql "$FERRY_PG_URL" -qAtc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null 2>&1
    psql "$FERRY_PG_URL" -qAtc "CREATE DATABASE $1" >/dev/null
    echo "${FERRY_PG_URL%/*}/$1"
}
topic_with() { # name count ships channels -> produces the readings, prints the rate
    "$ferry" setup --skip-pg --topic "$1" --partitions 6 --log-level warn
    "$ferry" telemetry --topic "$1" --ships "$3" --channels "$4" --count "$2" \
        --start 2026-01-01T00:00:00Z --progress 0 2>"$tmp/produce.log"
    grep -o '[0-9]* readings/s' "$tmp/produce.log" | tail -1 | awk '{ print $1 }'
}

echo "# telemetry benchmarks ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r))"
echo

if [[ $what == all || $what == throughput ]]; then
    topic=bench.dw.$$.$RANDOM
    topic_with "$topic" "$N" "$SHIPS" "$CH" >/dev/null
    : >"$tmp/base" && : >"$tmp/dw"
    for r in $(seq 1 "$RUNS"); do
        db=$(new_db bench_copy)
        "$build/bench/bench_copy_baseline" "$db" telemetry_narrow "$SHIPS" "$CH" "$N" "$start_us" \
            | awk '{ print $7 }' >>"$tmp/base"
        db=$(new_db bench_dw)
        "$ferry" dualwrite --pg "$db" --topic "$topic" --group "bench.g.$$.$r" --until-idle 2s \
            --progress 0 2>"$tmp/dw.log"
        grep -o 'last commit): [0-9]* readings/s' "$tmp/dw.log" | awk '{ print $3 }' >>"$tmp/dw"
        rows=$(psql "$db" -qAtc 'select count(*) from telemetry_narrow')
        [[ $rows == "$N" ]] || { echo "dualwrite wrote $rows of $N rows" >&2; exit 1; }
    done
    b=$(median <"$tmp/base"); d=$(median <"$tmp/dw")
    echo "## dual-write throughput ($N readings, $SHIPS ships x $CH channels, 1 worker)"
    echo
    echo "| | runs (rows/s) | median rows/s |"
    echo "|---|---|---|"
    echo "| COPY binary into narrow only (anchor) | $(paste -sd' ' "$tmp/base") | $b |"
    echo "| ferry dualwrite, narrow + wide | $(paste -sd' ' "$tmp/dw") | $d |"
    echo
    echo "ratio dualwrite / COPY: **$(awk -v d="$d" -v b="$b" 'BEGIN { printf "%.2f", d / b }')** (target >= 0.7)"
    echo
fi

if [[ $what == all || $what == producer ]]; then
    topic=bench.prod.$$.$RANDOM
    "$ferry" setup --skip-pg --topic "$topic" --partitions 6 --log-level warn
    "$ferry" telemetry --topic "$topic" --count 2000 --progress 0 2>/dev/null
    size=$(kcat -C -b "$FERRY_BROKERS" -t "$topic" -e -c 2000 -f '%S\n' 2>/dev/null |
        awk '{ s += $1 } END { printf "%d", s / NR }')
    : >"$tmp/ours" && : >"$tmp/perf"
    for r in $(seq 1 "$RUNS"); do
        "$ferry" telemetry --topic "$topic" --count "$N" --progress 0 2>"$tmp/p.log"
        grep -o '[0-9]* readings/s' "$tmp/p.log" | tail -1 | awk '{ print $1 }' >>"$tmp/ours"
        "$root/scripts/kafka-tool" producer-perf-test --topic "$topic" --num-records "$N" \
            --record-size "$size" --throughput -1 --producer-props \
            "bootstrap.servers=$FERRY_BROKERS" acks=all compression.type=lz4 linger.ms=20 \
            batch.size=1000000 enable.idempotence=true 2>/dev/null |
            tail -1 | grep -o '[0-9.]* records/sec' | awk '{ printf "%d\n", $1 }' >>"$tmp/perf"
    done
    o=$(median <"$tmp/ours"); p=$(median <"$tmp/perf")
    echo "## producer throughput ($N records of $size bytes, acks=all, lz4, idempotent, linger 20 ms)"
    echo
    echo "| | runs (records/s) | median |"
    echo "|---|---|---|"
    echo "| kafka-producer-perf-test 4.3.1 (anchor) | $(paste -sd' ' "$tmp/perf") | $p |"
    echo "| ferry telemetry --source sim | $(paste -sd' ' "$tmp/ours") | $o |"
    echo
    echo "ratio ferry / perf-test: **$(awk -v o="$o" -v p="$p" 'BEGIN { printf "%.2f", o / p }')** (target >= 1)"
    echo
fi

if [[ $what == all || $what == latency ]]; then
    topic=bench.lat.$$.$RANDOM
    "$ferry" setup --skip-pg --topic "$topic" --partitions 6 --log-level warn
    db=$(new_db bench_lat)
    "$ferry" dualwrite --pg "$db" --topic "$topic" --group "bench.lat.$$" --until-idle 3s \
        --progress 0 2>"$tmp/lat.log" &
    w=$!
    sleep 3
    "$ferry" telemetry --topic "$topic" --realtime --rate 20000 --duration "${LAT_SECONDS}s" \
        --progress 0 2>/dev/null
    wait "$w"
    echo "## end-to-end latency at 20,000 readings/s for ${LAT_SECONDS} s (1 worker)"
    echo
    echo '```'
    grep -E 'done:' "$tmp/lat.log" | sed 's/.*INFO //'
    echo '```'
    echo
    echo "(record timestamp set by the producer at send -> batch committed in PostgreSQL; target p99 < 250 ms)"
    echo
fi

if [[ $what == all || $what == memory ]]; then
    topic=bench.mem.$$.$RANDOM
    topic_with "$topic" "$MEM_N" "$SHIPS" "$CH" >/dev/null
    db=$(new_db bench_mem)
    "$ferry" dualwrite --pg "$db" --topic "$topic" --group "bench.mem.$$" --until-idle 2s \
        --progress 0 2>"$tmp/mem.log" &
    w=$!
    peak=0
    while kill -0 "$w" 2>/dev/null; do
        v=$(awk '/VmHWM/ { print $2 }' "/proc/$w/status" 2>/dev/null || echo 0)
        [[ -n $v && $v -gt $peak ]] && peak=$v
        sleep 0.2
    done
    wait "$w"
    echo "## memory: one worker starting with $MEM_N records of lag (batch 50,000 rows)"
    echo
    echo "peak RSS (VmHWM): **$((peak / 1024)) MiB** (target < 200 MB); $(grep -o 'last commit): [0-9]* readings/s' "$tmp/mem.log" | awk '{ print $3 }') readings/s"
    echo
fi

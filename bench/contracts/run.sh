#!/usr/bin/env bash
# bench/contracts/run.sh - dual-write throughput by framing (issue 11), side by side in one
# run on the local stack (scripts/stack, with its schema registry): the same N readings in
# Avro single-object encoding (the anchor), in Schema Registry framing (schema fetched once,
# then cache hits only), and as JSON telemetry objects. One worker, narrow + wide; rows/s from
# first record to last commit, RUNS runs per framing, alternating. Prints a Markdown report.
#
#   bench/contracts/run.sh          Env: N (default 500000), RUNS (default 5)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
N=${N:-500000}
RUNS=${RUNS:-5}
build=${FERRY_BENCH_BUILD:-$root/build/bench}

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFERRY_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
ferry=$build/ferry
"$root/scripts/stack" up >/dev/null 2>&1
eval "$("$root/scripts/stack" env)"
: "${FERRY_SCHEMA_REGISTRY:?the stack exports no schema registry}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
new_db() {
    psql "$FERRY_PG_URL" -qAtc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null 2>&1
    psql "$FERRY_PG_URL" -qAtc "CREATE DATABASE $1" >/dev/null
    echo "${FERRY_PG_URL%/*}/$1"
}

base=bench.framing.$$.$RANDOM
for f in so reg json; do "$ferry" setup --skip-pg --topic "$base.$f" --partitions 6 --log-level warn; done
sim=(--ships 20 --channels 50 --count "$N" --seed 11 --start 2026-01-01T00:00:00Z --progress 0)
"$ferry" telemetry --topic "$base.so" "${sim[@]}" --wire-format single-object 2>/dev/null
"$ferry" telemetry --topic "$base.reg" "${sim[@]}" --wire-format registry \
    --schema-registry "$FERRY_SCHEMA_REGISTRY" 2>/dev/null
# JSON: the same readings as JSON objects (ferry tail's natural JSON has TelemetryReading's
# field names), keyed by ship, written by kcat
"$ferry" tail --topic "$base.so" -n "$N" --until-idle 3s --log-level warn |
    jq -r '"\(.ship_id)\t\(tojson)"' >"$tmp/json.tsv"
kcat -P -b "$FERRY_BROKERS" -t "$base.json" -K $'\t' -z lz4 <"$tmp/json.tsv"
[[ $(wc -l <"$tmp/json.tsv") == "$N" ]] || { echo "JSON topic: $(wc -l <"$tmp/json.tsv") of $N" >&2; exit 1; }

for f in so reg json; do : >"$tmp/$f"; done
for r in $(seq 1 "$RUNS"); do
    for f in so reg json; do
        db=$(new_db bench_framing)
        "$ferry" dualwrite --pg "$db" --topic "$base.$f" --group "$base.g.$f.$r" --until-idle 2s \
            --progress 0 --schema-registry "$FERRY_SCHEMA_REGISTRY" 2>"$tmp/dw.log"
        grep -o 'last commit): [0-9]* readings/s' "$tmp/dw.log" | awk '{ print $3 }' >>"$tmp/$f"
        rows=$(psql "$db" -qAtc 'select count(*) from telemetry_narrow')
        [[ $rows == "$N" ]] || { echo "$f: dualwrite wrote $rows of $N rows" >&2; exit 1; }
    done
done
so=$(median <"$tmp/so"); reg=$(median <"$tmp/reg"); js=$(median <"$tmp/json")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
worst() { # the lowest per-run ratio of framing $1 to single-object in the same round
    paste "$tmp/$1" "$tmp/so" | awk '{ r = $1 / $2; if (NR == 1 || r < m) m = r } END { printf "%.2f", m }'
}
echo "# dual-write by framing ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -r))"
echo
echo "$N readings (20 ships x 50 channels), 1 worker, narrow + wide, $RUNS runs per framing, alternating"
echo
echo "| framing | runs (rows/s) | median rows/s | median / single-object | worst round |"
echo "|---|---|---|---|---|"
echo "| Avro single-object (anchor) | $(paste -sd' ' "$tmp/so") | $so | 1.00 | |"
echo "| Schema Registry framing | $(paste -sd' ' "$tmp/reg") | $reg | **$(ratio "$reg" "$so")** (target >= 0.95) | $(worst reg) |"
echo "| JSON telemetry | $(paste -sd' ' "$tmp/json") | $js | $(ratio "$js" "$so") | $(worst json) |"

#!/usr/bin/env bash
# bench/movies/run.sh - throughput of `ferry preprocess` (validate, upsert PostgreSQL, derive,
# publish features in Kafka transactions) and `ferry retrain` (count features read_committed),
# against an anchor measured in the same run: `ferry tail` reading and decoding the same
# topic (consume + Avro decode, no PostgreSQL, no transactions). Run by hand (not in CI):
#
#   export FERRY_STACK_DIR=...; scripts/stack up; eval "$(scripts/stack env)"
#   bench/movies/run.sh [FERRY_BIN]          (default: build/dev/ferry)
#
# MOVIES movies (default 10000: the recorded popular page with ids varied) go to a fresh
# PARTITIONS-partition topic. Each measurement is the wall time of one bounded run
# (--until-idle 1s) minus the 1 s idle wait; medians of RUNS runs, each on fresh groups and
# tables. Prints a Markdown table.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${1:-${FERRY_BIN:-$root/build/dev/ferry}}
MOVIES=${MOVIES:-10000}
PARTITIONS=${PARTITIONS:-6}
RUNS=${RUNS:-3}
BATCHES=${BATCHES:-"500 50"}
: "${FERRY_BROKERS:?start the stack: eval \"\$(scripts/stack env)\"}"
: "${FERRY_PG_URL:?start the stack: eval \"\$(scripts/stack env)\"}"
[ -x "$bin" ] || { echo "no ferry binary at $bin" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run=bench.mv.$$
pages=$(((MOVIES + 19) / 20))
jq -c --argjson pages "$pages" '.results as $items | range(1; $pages + 1) as $p | $items[]
    | {id: (.id * 1000 + $p), title, original_title, original_language, overview,
       release_date, popularity, vote_average, vote_count, adult, video, genre_ids,
       poster_path, backdrop_path, raw_json: tojson, details_json: null, job_id: "bench",
       endpoint: "/3/movie/popular", page: $p, fetched_at: (1643673600000000 + $p),
       language: null, region: null}' "$root/tests/fixtures/tmdb/popular_page1.json" |
    head -n "$MOVIES" >"$tmp/movies.jsonl"
"$bin" setup --skip-pg --partitions "$PARTITIONS" --topic "$run.m" --log-level warn
"$bin" produce --topic "$run.m" --schema MovieCrawled "$tmp/movies.jsonl" --log-level warn

secs() { # command... : wall seconds minus the 1 s idle wait
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>"$tmp/last.err"
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a - 1 }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }

echo "| step | records | median s | records/s | vs anchor |"
echo "|---|---|---|---|---|"
for i in $(seq "$RUNS"); do
    secs "$bin" tail --topic "$run.m" --until-idle 1s --log-level warn
    echo
done | median >"$tmp/anchor"
anchor=$(cat "$tmp/anchor")
echo "| anchor: \`ferry tail\` (consume + decode) | $MOVIES | $anchor | $(rate "$MOVIES" "$anchor") | 1.00 |"
features=0
for b in $BATCHES; do
    for i in $(seq "$RUNS"); do
        f="$run.f.$b.$i"
        "$bin" setup --skip-pg --partitions "$PARTITIONS" --topic "$f" --log-level warn
        secs "$bin" preprocess --pg "$FERRY_PG_URL" --topic "$run.m" --features-topic "$f" \
            --group "$run.g.$b.$i" --movies-table "bench_m_$$_${b}_$i" \
            --watch-log-table "bench_w_$$_${b}_$i" --batch-size "$b" --until-idle 1s
        echo
        features=$(grep -o 'features [0-9]*' "$tmp/last.err" | tail -1 | cut -d' ' -f2)
        psql "$FERRY_PG_URL" -qc "drop table bench_m_$$_${b}_$i, bench_w_$$_${b}_$i" >/dev/null
    done | median >"$tmp/pp.$b"
    s=$(cat "$tmp/pp.$b")
    echo "| \`ferry preprocess --batch-size $b\` | $MOVIES movies | $s | $(rate "$MOVIES" "$s") | $(awk -v a="$anchor" -v s="$s" 'BEGIN { printf "%.2f", a / s }') |"
done
features=$("$bin" tail --topic "$run.f.500.1" --until-idle 1s --log-level warn | wc -l)
"$bin" setup --skip-pg --partitions 1 --topic "$run.r" --log-level warn
for i in $(seq "$RUNS"); do
    secs "$bin" retrain --topic "$run.f.500.1" --retrain-topic "$run.r" --group "$run.rg.$i" \
        --min-new-rows 1000000000 --until-idle 1s
    echo
done | median >"$tmp/rt"
s=$(cat "$tmp/rt")
echo "| \`ferry retrain\` (count read_committed) | $features features | $s | $(rate "$features" "$s") | |"
for i in $(seq "$RUNS"); do
    secs "$bin" tail --topic "$run.f.500.1" --until-idle 1s --log-level warn
    echo
done | median >"$tmp/ft"
s=$(cat "$tmp/ft")
echo "| anchor: \`ferry tail\` of the features | $features features | $s | $(rate "$features" "$s") | |"

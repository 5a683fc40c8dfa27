#!/usr/bin/env bash
# bench/migration/run.sh - the migration benchmarks of issue 4 on the local stack, each with its
# anchor in the same run. Prints a Markdown report.
#
#   bench/migration/run.sh [all|backfill|memory]
#
# backfill: history of SHIPS x CHANNELS channels at 1-minute resolution for DAYS days
#           (default 10 x 200 x 2 = 5.76 M rows); `ferry backfill run` with 1 and with 2 workers
#           (rows/s = narrow rows / wall time of the run) against the same pivot done entirely
#           inside PostgreSQL on the same chunks (INSERT INTO wide SELECT ts, max(value)
#           FILTER (WHERE channel = ...) ... GROUP BY ts, one statement per chunk); then
#           `ferry verify` rows/s over the same data.
# memory:   peak RSS of one backfill worker on one chunk of MEM_CHANNELS channels at 1 Hz for
#           MEM_HOURS hours each (default 1000 channels; 1, 2 and 4 h: 3.6 M, 7.2 M, 14.4 M rows),
#           to show that memory does not grow with the chunk.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
what=${1:-all}
SHIPS=${SHIPS:-10}
CHANNELS=${CHANNELS:-200}
DAYS=${DAYS:-2}
MEM_CHANNELS=${MEM_CHANNELS:-1000}
MEM_HOURS=${MEM_HOURS:-"1 2 4"}
build=${FERRY_BENCH_BUILD:-$root/build/bench}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFERRY_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
ferry=$build/ferry
"$root/scripts/stack" up >/dev/null 2>&1
eval "$("$root/scripts/stack" env)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
new_db() {
    psql "$FERRY_PG_URL" -qAtc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null 2>&1
    psql "$FERRY_PG_URL" -qAtc "CREATE DATABASE $1" >/dev/null
    echo "${FERRY_PG_URL%/*}/$1"
}
now() { date +%s.%N; }
prefill() { # db ships channels minutes step_seconds
    psql "$1" -v ON_ERROR_STOP=1 -q <<SQL
CREATE TABLE public.telemetry_narrow (ship_id text NOT NULL, channel_id text NOT NULL,
  ts timestamptz NOT NULL, value_double double precision, value_long bigint, value_bool boolean,
  value_text text, unit text, PRIMARY KEY (ship_id, channel_id, ts));
INSERT INTO public.telemetry_narrow (ship_id, channel_id, ts, value_double)
SELECT 'SHIP-' || s, 'sensor.' || lpad(c::text, 4, '0'),
       '2026-01-01'::timestamptz + m * interval '$5 seconds', s * 1000 + c + (m % 600) / 10.0
FROM generate_series(1, $2) s, generate_series(1, $3) c, generate_series(0, $4 - 1) m;
SQL
}
run_backfill() { # db workers -> prints rows/s
    local db=$1 n=$2 topic=bench.bf.$$.$RANDOM t0 t1 rows
    "$ferry" setup --skip-pg --topic "$topic" --partitions 4 --log-level warn
    "$ferry" backfill plan --all --pg "$db" --topic "$topic" --log-level warn
    t0=$(now)
    for i in $(seq 1 "$n"); do
        "$ferry" backfill run --pg "$db" --topic "$topic" --group "$topic.g" --until-idle 2s \
            --log-level warn &
    done
    wait
    t1=$(now)
    rows=$(psql "$db" -qAtc "select sum(rows_read) from ferry.backfill_chunks")
    awk -v r="$rows" -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", r / (b - a - 2) }'
}
reset_wide() { # db: every ship back to "not backfilled"
    local db=$1
    psql "$db" -qAt -c "select table_name from ferry.ship_tables" | while read -r t; do
        psql "$db" -qc "truncate telemetry_wide.\"$t\""
    done
    psql "$db" -qc "delete from ferry.backfill_chunks"
}

echo "# migration benchmarks ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores)"
echo

if [[ $what == all || $what == backfill ]]; then
    db=$(new_db bench_bf)
    minutes=$((DAYS * 1440))
    prefill "$db" "$SHIPS" "$CHANNELS" "$minutes" 60
    rows=$((SHIPS * CHANNELS * minutes))
    one=$(run_backfill "$db" 1)
    reset_wide "$db"
    two=$(run_backfill "$db" 2)
    # anchor: the same chunks pivoted inside PostgreSQL, into copies of the wide tables
    cols=$(psql "$db" -qAtc "select string_agg(format('max(value_double) FILTER (WHERE channel_id = %L) AS %I', channel_id, column_name), ', ' order by column_name) from ferry.channel_columns where ship_id = 'SHIP-1'")
    psql "$db" -qAt -c "select ship_id, (select table_name from ferry.ship_tables t where t.ship_id = c.ship_id and part = 1), (extract(epoch from start_ts))::bigint, (extract(epoch from end_ts))::bigint from ferry.backfill_chunks c order by 1, 3" -F' ' >"$tmp/chunks"
    psql "$db" -qAt -c "select distinct ship_id, table_name from ferry.ship_tables" -F' ' | while read -r ship table; do
        psql "$db" -qc "create table public.\"anchor_$table\" (like telemetry_wide.\"$table\" including all)"
    done
    t0=$(now)
    while read -r ship table s e; do
        psql "$db" -qc "insert into public.\"anchor_$table\" select ts, $cols from public.telemetry_narrow where ship_id = '$ship' and ts >= to_timestamp($s) and ts < to_timestamp($e) group by ts"
    done <"$tmp/chunks"
    t1=$(now)
    anchor=$(awk -v r="$rows" -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", r / (b - a) }')
    t0=$(now)
    "$ferry" verify --pg "$db" --log-level warn >/dev/null
    t1=$(now)
    vr=$(awk -v r="$rows" -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", r / (b - a) }')
    echo "## backfill ($rows narrow rows: $SHIPS ships x $CHANNELS channels x $DAYS days at 1 min, 24 h chunks)"
    echo
    echo "| | rows/s | ratio to anchor |"
    echo "|---|---|---|"
    echo "| pivot inside PostgreSQL, one INSERT ... GROUP BY per chunk (anchor) | $anchor | 1.00 |"
    echo "| ferry backfill run, 1 worker | $one | $(awk -v a="$one" -v b="$anchor" 'BEGIN { printf "%.2f", a / b }') |"
    echo "| ferry backfill run, 2 workers | $two | **$(awk -v a="$two" -v b="$anchor" 'BEGIN { printf "%.2f", a / b }')** (target >= 2) |"
    echo "| ferry verify | $vr | |"
    echo
fi

if [[ $what == all || $what == memory ]]; then
    echo "## backfill worker memory by chunk size ($MEM_CHANNELS channels at 1 Hz)"
    echo
    echo "| chunk | narrow rows | peak RSS (VmHWM) | rows/s |"
    echo "|---|---|---|---|"
    for h in $MEM_HOURS; do
        db=$(new_db bench_mem)
        prefill "$db" 1 "$MEM_CHANNELS" $((h * 3600)) 1
        topic=bench.mem.$$.$RANDOM
        "$ferry" setup --skip-pg --topic "$topic" --partitions 1 --log-level warn
        "$ferry" backfill plan --all --pg "$db" --topic "$topic" --chunk "${h}h" --log-level warn
        t0=$(now)
        "$ferry" backfill run --pg "$db" --topic "$topic" --group "$topic.g" --until-idle 2s \
            --log-level warn &
        w=$!
        peak=0
        while kill -0 "$w" 2>/dev/null; do
            v=$(awk '/VmHWM/ { print $2 }' "/proc/$w/status" 2>/dev/null || echo 0)
            [[ -n $v && $v -gt $peak ]] && peak=$v
            sleep 0.2
        done
        wait "$w"
        t1=$(now)
        rows=$(psql "$db" -qAtc "select sum(rows_read) from ferry.backfill_chunks")
        echo "| ${h} h | $rows | $((peak / 1024)) MiB | $(awk -v r="$rows" -v a="$t0" -v b="$t1" 'BEGIN { printf "%d", r / (b - a - 2) }') |"
    done
    echo
fi

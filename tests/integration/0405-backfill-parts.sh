#!/usr/bin/env bash
# 0405-backfill-parts: a ship with more channels than one wide table takes (--max-columns)
# is backfilled into several wide tables, each reading only its own channels:
#  - every narrow value lands in exactly the right table and column (the tests' oracle
#    through ferry's catalog), with double, bigint, boolean and text channels;
#  - a history value that does not fit its channel's column is recorded as a reject with
#    its reason, not written, and the values around it are;
#  - verify passes, and reports the rejected cell.
. "$(dirname "$0")/lib.sh"
db=$(new_db it_backfill_parts)
tasks=$(unique it.bfparts)
new_topic "$tasks" 2
psql "$db" -v ON_ERROR_STOP=1 -q <<'SQL'
CREATE TABLE public.telemetry_narrow (ship_id text NOT NULL, channel_id text NOT NULL,
  ts timestamptz NOT NULL, value_double double precision, value_long bigint, value_bool boolean,
  value_text text, unit text, PRIMARY KEY (ship_id, channel_id, ts));
-- 2 ships x 30 channels (c01-c15 double, c16-c21 bigint, c22-c25 boolean, c26-c30 text)
-- x 2 days at 5 minutes
INSERT INTO public.telemetry_narrow (ship_id, channel_id, ts, value_double, value_long, value_bool, value_text)
SELECT 'SHIP-' || s, 'chan.c' || lpad(c::text, 2, '0'), '2026-01-01'::timestamptz + m * interval '5 minutes',
       CASE WHEN c <= 15 THEN s * 100 + c + m / 7.0 END,
       CASE WHEN c BETWEEN 16 AND 21 THEN s * 1000000 + c * 1000 + m END,
       CASE WHEN c BETWEEN 22 AND 25 THEN (m + c) % 3 = 0 END,
       CASE WHEN c >= 26 THEN 'state ' || ((m + c) % 4) END
FROM generate_series(1, 2) s, generate_series(1, 30) c, generate_series(0, 2 * 288 - 1) m;
-- a text value in a double channel, late in the history: rejected, not written
UPDATE public.telemetry_narrow SET value_double = NULL, value_text = 'sensor fault'
 WHERE ship_id = 'SHIP-2' AND channel_id = 'chan.c03' AND ts = '2026-01-02 12:00:00+00';
SQL
rows=$(psql "$db" -qAtc 'select count(*) from telemetry_narrow')
check_eq "plan" 0 "$(exit_code ferry backfill plan --all --pg "$db" --topic "$tasks")"
"$FERRY_BIN" backfill run --pg "$db" --topic "$tasks" --group "$tasks.g" --max-columns 8 \
    --until-idle 3s 2>"$TMP/bf1.log" &
b1=$!
"$FERRY_BIN" backfill run --pg "$db" --topic "$tasks" --group "$tasks.g" --max-columns 8 \
    --until-idle 3s 2>"$TMP/bf2.log" &
b2=$!
for p in "$b1" "$b2"; do rc=0; wait "$p" || rc=$?; check_eq "worker exits 0" 0 "$rc"; done
check_eq "every chunk done" "4 4" \
    "$(psql "$db" -qAt -F' ' -c "select count(*), count(*) filter (where status = 'done') from ferry.backfill_chunks")"
check_eq "30 channels at 8 per table: 4 wide tables per ship" "4 4" \
    "$(psql "$db" -qAt -F' ' -c "select count(*) filter (where ship_id = 'SHIP-1'), count(*) filter (where ship_id = 'SHIP-2') from ferry.ship_tables")"
check_eq "rows read over all tables = the narrow rows" "$rows" \
    "$(psql "$db" -qAtc 'select sum(rows_read) from ferry.backfill_chunks')"
read -r _ values missing extra mismatched <<<"$(check_wide "$db")"
check_eq "every narrow value is in its wide table and column: missing" 1 "$missing"
check_eq "  extra" 0 "$extra"
check_eq "  mismatched" 0 "$mismatched"
check_eq "  values checked" "$rows" "$values"
check_eq "the misfit value is a reject with its reason" "SHIP-2 chan.c03 sensor fault type_conflict" \
    "$(psql "$db" -qAt -F' ' -c "select ship_id, channel_id, value, reason from ferry.backfill_rejects")"
read -r tbl col <<<"$(psql "$db" -qAt -F' ' -c "select table_name, column_name from ferry.channel_columns where ship_id = 'SHIP-2' and channel_id = 'chan.c03'")"
check_eq "its neighbours were written" 2 \
    "$(psql "$db" -qAtc "select count(\"$col\") from telemetry_wide.\"$tbl\" where ts in ('2026-01-02 11:55:00+00', '2026-01-02 12:05:00+00')")"
check_eq "verify: the rejected cell is a mismatch" 1 "$(exit_code ferry verify --pg "$db" --ship SHIP-2)"
check "  named with its key" grep -q 'chan.c03' "$TMP/out"
check_eq "verify of the other ship passes" 0 "$(exit_code ferry verify --pg "$db" --ship SHIP-1)"
finish

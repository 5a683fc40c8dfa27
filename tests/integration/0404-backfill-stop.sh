#!/usr/bin/env bash
# 0404-backfill-stop: a backfill worker stopped with SIGTERM in the middle of a chunk, while
# PostgreSQL is still preparing the chunk's rows (a slow narrow source: a view that sleeps on
# every row, so the sort before the first row takes many seconds):
#  - the worker exits 0 within seconds, and its narrow query is cancelled on the server
#    instead of running on;
#  - the chunk is neither done nor counted as a failed attempt, nothing goes to the DLQ;
#  - the next worker redoes it, and verify then passes;
#  - verify then finds a changed wide value and an extra wide cell, each by its key.
. "$(dirname "$0")/lib.sh"
db=$(new_db it_backfill_stop)
tasks=$(unique it.bfstop)
new_topic "$tasks" 1
psql "$db" -v ON_ERROR_STOP=1 -q <<'SQL'
CREATE TABLE public.telemetry_narrow (ship_id text NOT NULL, channel_id text NOT NULL,
  ts timestamptz NOT NULL, value_double double precision, value_long bigint, value_bool boolean,
  value_text text, unit text, PRIMARY KEY (ship_id, channel_id, ts));
INSERT INTO public.telemetry_narrow (ship_id, channel_id, ts, value_double)
SELECT 'SHIP-1', 'sensor.' || c, '2026-01-01'::timestamptz + m * interval '1 minute', c + m / 10.0
FROM generate_series(1, 20) c, generate_series(0, 2 * 1440 - 1) m;
CREATE VIEW public.slow_narrow AS
  SELECT * FROM public.telemetry_narrow WHERE pg_sleep(0.001) IS NOT NULL;
SQL
check_eq "plan: two chunks" 0 "$(exit_code ferry backfill plan --all --pg "$db" --topic "$tasks")"
chunks=$(psql "$db" -qAtc 'select count(*) from ferry.backfill_chunks')
check_eq "  planned" 2 "$chunks"

"$FERRY_BIN" backfill run --pg "$db" --topic "$tasks" --group "$tasks.g" \
    --narrow-table public.slow_narrow --log-level debug 2>"$TMP/bf1.log" &
w=$!
reading() { # how many narrow-chunk queries run on the server
    psql "$db" -qAtc "select count(*) from pg_stat_activity where state = 'active' and query like 'COPY (SELECT x.ts%'"
}
is_reading() { [ "$(reading)" = 1 ]; }
not_reading() { [ "$(reading)" = 0 ]; }
check "the worker is reading a chunk" wait_for is_reading
sleep 1
t0=$(date +%s%N)
kill -TERM "$w"
gone() { ! kill -0 "$w" 2>/dev/null; }
WAIT_SECONDS=10 wait_for gone || kill -KILL "$w" # a hung worker fails below, not the suite
rc=0; wait "$w" || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
echo "# the worker exited $ms ms after SIGTERM"
check_eq "stopped worker exits 0" 0 "$rc"
check "  within 5 s of SIGTERM (took $ms ms)" test "$ms" -lt 5000
WAIT_SECONDS=5
check "its narrow query was cancelled on the server" wait_for not_reading
check "the log says the chunk will be redone" grep -q 'stopped before it was done; it will be redone' "$TMP/bf1.log"
check_eq "no chunk done, no attempt counted, no error recorded" "0 0 0" \
    "$(psql "$db" -qAt -F' ' -c "select count(*) filter (where status = 'done'), coalesce(sum(attempts), 0), count(last_error) from ferry.backfill_chunks")"
# read the DLQ with kcat (not ferry): a read that fails is a failure, not "nothing there"
rc=0; kcat -C -b "$FERRY_BROKERS" -t "$tasks.dlq" -e -q -f '%o\n' >"$TMP/dlq.txt" 2>"$TMP/dlq.err" || rc=$?
check_eq "the DLQ topic can be read" 0 "$rc"
check_eq "nothing sent to the DLQ" 0 "$(wc -l <"$TMP/dlq.txt")"

# The next worker (on the plain table) picks the uncommitted task up again.
check_eq "a new worker finishes the backfill" 0 \
    "$(exit_code ferry backfill run --pg "$db" --topic "$tasks" --group "$tasks.g" --until-idle 3s)"
check_eq "both chunks done, each in one attempt" "2 2" \
    "$(psql "$db" -qAt -F' ' -c "select count(*) filter (where status = 'done'), sum(attempts) from ferry.backfill_chunks")"
read -r _ values missing extra mismatched <<<"$(check_wide "$db")"
check_eq "every narrow value is in the wide table: missing" 0 "$missing"
check_eq "  extra" 0 "$extra"
check_eq "  mismatched" 0 "$mismatched"
check_eq "  values checked" $((20 * 2 * 1440)) "$values"
check_eq "verify passes" 0 "$(exit_code ferry verify --pg "$db")"

# verify compares values, not counts: a changed value and an extra wide cell (the counts of
# the window stay right for the first) are each a mismatch, named by its key
read -r wt col <<<"$(psql "$db" -qAt -F' ' -c "select table_name, column_name from ferry.channel_columns where ship_id = 'SHIP-1' and channel_id = 'sensor.7'")"
psql "$db" -qc "update telemetry_wide.\"$wt\" set \"$col\" = \"$col\" + 0.5 where ts = '2026-01-01 10:00:00+00'"
check_eq "verify finds a changed value: exit 1" 1 "$(exit_code ferry verify --pg "$db")"
check "  with its key" grep -q 'ts 2026-01-01T10:00:00.000000Z channel sensor.7' "$TMP/out"
psql "$db" -qc "update telemetry_wide.\"$wt\" set \"$col\" = \"$col\" - 0.5 where ts = '2026-01-01 10:00:00+00'"
check_eq "  and passes once it is put back" 0 "$(exit_code ferry verify --pg "$db")"
psql "$db" -qc "insert into telemetry_wide.\"$wt\" (ts, \"$col\") values ('2026-01-01 00:00:30+00', 1.25)"
check_eq "verify finds an extra wide cell: exit 1" 1 "$(exit_code ferry verify --pg "$db")"
check "  with its key" grep -q 'ts 2026-01-01T00:00:30.000000Z channel sensor.7' "$TMP/out"
finish

#!/usr/bin/env bash
# 0417-pg-fatal: a PostgreSQL failure that waiting cannot fix (here the worker's database is
# dropped under it, so every reconnect says "database ... does not exist") stops dualwrite and
# backfill run with exit 3 and a message saying what to do, instead of reconnecting forever;
# a failure that waiting can fix (the server away for a while) is waited for (0305).
. "$(dirname "$0")/lib.sh"
db=$(new_db it_pg_fatal)
name=${db##*/}
topic=$(unique it.pgfatal)
new_topic "$topic" 1
new_topic "$topic.tasks" 1
gone() { ! kill -0 "$1" 2>/dev/null; }

"$FERRY_BIN" dualwrite --pg "$db" --topic "$topic" --group "$topic.g" --progress 0 2>"$TMP/dw.log" &
dw=$!
echo '{"ship_id":"S1","channel_id":"c","timestamp":1767225600000000,"value":1.5}' |
    ferry produce --topic "$topic" --schema TelemetryReading --log-level warn
check "dual-write wrote the first reading" wait_for bash -c "[ \"\$(psql '$db' -qAtc 'select count(*) from telemetry_narrow' 2>/dev/null)\" = 1 ]"
# backfill run starts once the narrow table exists (dual-write creates it; without it backfill
# stops at once, exit 2, which is not what this test is about)
"$FERRY_BIN" backfill run --pg "$db" --topic "$topic.tasks" --group "$topic.bf" 2>"$TMP/bf.log" &
bf=$!
check "backfill run is up (assigned its partition)" wait_for grep -q 'assigned' "$TMP/bf.log"
psql "$FERRY_PG_URL" -qAtc "DROP DATABASE \"$name\" WITH (FORCE)" >/dev/null
echo '{"ship_id":"S1","channel_id":"c","timestamp":1767225601000000,"value":2.5}' |
    ferry produce --topic "$topic" --schema TelemetryReading --log-level warn
echo '{"chunk_id":"S1|0|1","ship_id":"S1","start_ts":0,"end_ts":1,"planned_at":0,"attempt":0,"narrow_table":"telemetry_narrow"}' |
    ferry produce --topic "$topic.tasks" --schema BackfillChunk --log-level warn
check "dual-write stops within 30 s" env WAIT_SECONDS=30 bash -c "$(declare -f wait_for gone); wait_for gone $dw"
check "backfill run stops within 30 s" env WAIT_SECONDS=30 bash -c "$(declare -f wait_for gone); wait_for gone $bf"
# a worker still running has failed the check above: end it, so the test fails now, not later
for p in "$dw" "$bf"; do gone "$p" || kill -KILL "$p"; done
rc=0; wait "$dw" || rc=$?
check_eq "  dual-write exits 3" 3 "$rc"
rc=0; wait "$bf" || rc=$?
check_eq "  backfill run exits 3" 3 "$rc"
for log in dw bf; do
    check "  $log says why and what to do" grep -q 'does not exist.*stopping (fix the connection settings' "$TMP/$log.log"
done
finish

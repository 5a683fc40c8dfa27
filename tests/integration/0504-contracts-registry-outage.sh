#!/usr/bin/env bash
# 0504-contracts-registry-outage: the schema registry is stopped for 20 s in the middle of a
# dual-write run. The worker has written the 300 readings of the first schema version; then
# 300 readings of a second version arrive, whose schema id it has never fetched. While the
# registry is away the worker waits with them (nothing written, nothing dead-lettered, still
# running); once the registry is back it writes them all: narrow equals what the Python side
# sent, wide equals narrow, the DLQ is empty.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/contracts_lib.sh"
STACK="$FERRY_SOURCE_DIR/scripts/stack"
db=$(new_db it_contracts_outage)
topic=$(unique it.contracts.outage)
new_topic "$topic" 3
jq '.fields |= (map(select(.name != "source")) + [{"name": "quality", "type": ["null", "int"], "default": null}])' \
    "$SCHEMA_V1" >"$TMP/v2.avsc"
check "python produces 300 readings (version 1)" "$PY" "$CONTRACTS" produce \
    --brokers "$FERRY_BROKERS" --registry "$FERRY_SCHEMA_REGISTRY" --topic "$topic" \
    --schema "$SCHEMA_V1" --expected "$TMP/expected" --ticks 20 --tick0 0
check "python serializes 300 readings of version 2 (registered, not yet sent)" "$PY" "$CONTRACTS" \
    produce --brokers "$FERRY_BROKERS" --registry "$FERRY_SCHEMA_REGISTRY" --topic "$topic" \
    --schema "$TMP/v2.avsc" --expected "$TMP/expected" --ticks 20 --tick0 20 --raw-out "$TMP/v2.raw"

# no --until-idle: the worker must not end while it waits; SIGTERM stops it at the end
"$FERRY_BIN" dualwrite --pg "$db" --topic "$topic" --group "$topic.g" \
    --progress 0 --schema-registry "$FERRY_SCHEMA_REGISTRY" 2>"$TMP/dualwrite.log" &
pid=$!
narrow_count() { psql "$db" -qAtc "select count(*) from telemetry_narrow" 2>/dev/null || echo 0; }
narrow_is() { test "$(narrow_count)" = "$1"; }
check "the worker writes version 1's 300 readings" wait_for narrow_is 300
"$STACK" registry-stop
check "version 2's readings sent while the registry is away" "$PY" "$CONTRACTS" send-raw \
    --brokers "$FERRY_BROKERS" --topic "$topic" --file "$TMP/v2.raw"
sleep 20
check "after 20 s without the registry the worker still runs" kill -0 $pid
check_eq "... has written nothing more" 300 "$(narrow_count)"
check_eq "... and dead-lettered nothing" 0 "$(dlq_count "$topic")"
check "... and says it waits for the registry" grep -q 'waiting for the schema registry' "$TMP/dualwrite.log"
"$STACK" registry-start
WAIT_SECONDS=120 check "once the registry is back the worker writes version 2's readings" \
    wait_for narrow_is 600
kill -TERM $pid
rc=0
wait $pid || rc=$?
check_eq "the worker stops cleanly on SIGTERM (exit 0)" 0 "$rc"
check "nothing dead-lettered (worker summary)" grep -q 'dead-lettered 0,' "$TMP/dualwrite.log"
check_eq "nothing in the DLQ topic" 0 "$(dlq_count "$topic")"
LC_ALL=C sort "$TMP/expected" >"$TMP/expected.sorted"
narrow_rows "$db" >"$TMP/narrow"
check "narrow holds exactly the 600 readings python sent" diff "$TMP/expected.sorted" "$TMP/narrow"
wide_exact "$db" 480 # the 120 null values have no wide cell
finish

#!/usr/bin/env bash
# 0419-dlq-limits: a dead letter that cannot be written never wedges dual-write or loses one.
#  - A record of 1,048,000 bytes (accepted by the broker: the topic's max.message.bytes is
#    Kafka's default 1,048,588) is dead-lettered truncated to what the DLQ topic takes, with
#    its coordinates and its size; the good readings around it are written; the worker ends 0.
#  - A topic whose .dlq could not exist (246 characters) is refused at start (exit 2).
#  - A DLQ that cannot be written at all (its topic's max.message.bytes is smaller than a dead
#    letter's headers) keeps the poison record's offset uncommitted and is retried with backoff and
#    reported, without spinning: a few log lines in 15 s, not 1 GB.
. "$(dirname "$0")/lib.sh"
db=$(new_db it_dlq_limits)
topic=$(unique it.dlqlim)
new_topic "$topic" 1
good() { echo "{\"ship_id\":\"S1\",\"channel_id\":\"c\",\"timestamp\":$1,\"value\":1.5}"; }

good 1767225600000000 | ferry produce --topic "$topic" --schema TelemetryReading --log-level warn
head -c 1048000 /dev/zero | tr '\0' 'x' >"$TMP/big"
kcat -P -b "$FERRY_BROKERS" -t "$topic" -k S1 -X message.max.bytes=2000000 "$TMP/big"
good 1767225601000000 | ferry produce --topic "$topic" --schema TelemetryReading --log-level warn
check_eq "dual-write ends 0" 0 "$(exit_code ferry dualwrite --pg "$db" --topic "$topic" --group "$topic.g" --until-idle 3s --progress 0)"
check_eq "  both good readings written" 2 "$(psql "$db" -qAtc 'select count(*) from telemetry_narrow')"
kcat -C -b "$FERRY_BROKERS" -t "$topic.dlq" -e -q -f '%h\n' >"$TMP/h" 2>/dev/null || true
kcat -C -b "$FERRY_BROKERS" -t "$topic.dlq" -e -q -f '%S\n' >"$TMP/len" 2>/dev/null || true
check_eq "  one dead letter" 1 "$(grep -c . "$TMP/h" || true)"
check "  truncated, saying so and the size" grep -q 'ferry.dlq.truncated=true.*ferry.source.size=1048000\|ferry.source.size=1048000.*ferry.dlq.truncated=true' "$TMP/h"
check "  with its coordinates" grep -q "ferry.source.topic=$topic,ferry.source.partition=0,ferry.source.offset=1" "$TMP/h"
check "  shorter than the record" test "$(cat "$TMP/len")" -lt 1048000
check "  and most of it kept" test "$(cat "$TMP/len")" -gt 1000000

# a topic whose .dlq could not exist (246 characters: "<name>.dlq" passes Kafka's 249) is
# refused at start, before anything is read: never a worker that cannot dead-letter
long=$(unique it.dlq)
long=$long$(printf 'x%.0s' $(seq 1 $((246 - ${#long}))))
check_eq "a 246-character topic" 246 "${#long}"
check_eq "  dualwrite refuses it at start: exit 2" 2 "$(exit_code timeout 20 "$FERRY_BIN" dualwrite --pg "$db" --topic "$long")"
check "  saying why" grep -q 'dead-letter topic' "$TMP/err"

# the DLQ cannot be written at all: its topic takes records of at most 200 bytes, less than a
# dead letter's headers alone, so even the truncated dead letter is refused, every time
long=$(unique it.dlqnr)
"$FERRY_SOURCE_DIR/scripts/kafka-tool" topics --bootstrap-server "$FERRY_BROKERS" --create \
    --topic "$long" --partitions 1 >/dev/null
"$FERRY_SOURCE_DIR/scripts/kafka-tool" topics --bootstrap-server "$FERRY_BROKERS" --create \
    --topic "$long.dlq" --partitions 1 --config max.message.bytes=200 >/dev/null
printf 'not avro' | kcat -P -b "$FERRY_BROKERS" -t "$long" -k S2
good 1767225602000000 | ferry produce --topic "$long" --schema TelemetryReading --log-level warn
"$FERRY_BIN" dualwrite --pg "$db" --topic "$long" --group "$long.g" --progress 0 2>"$TMP/stuck.log" &
w=$!
sleep 15
check "the worker is still there after 15 s" kill -0 "$w"
kill -TERM "$w" 2>/dev/null || true
rc=0; wait "$w" || rc=$?
check "  it stops on SIGTERM" test "$rc" -lt 128
lines=$(wc -l <"$TMP/stuck.log")
check "  a few log lines, not a flood ($lines)" test "$lines" -lt 60
check "  reporting the undelivered dead letter and the backoff" \
    grep -q 'dead letter(s) not delivered.*the source offsets stay uncommitted; trying again in' "$TMP/stuck.log"
check "  the offsets of the batch with the poison record were not committed" \
    bash -c "! '$FERRY_SOURCE_DIR/scripts/kafka-tool' consumer-groups --bootstrap-server '$FERRY_BROKERS' --describe --group '$long.g' 2>/dev/null | awk '\$2 == \"$long\" && \$4 ~ /^[0-9]+\$/ && \$4 > 0' | grep -q ."
finish

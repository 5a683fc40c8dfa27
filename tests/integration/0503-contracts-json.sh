#!/usr/bin/env bash
# 0503-contracts-json: JSON telemetry lines written with kcat (as an MQTT bridge or Node-RED
# would) are dual-written exactly: the narrow rows are the ones worked out here by hand
# (timestamps as ISO-8601 with and without offset, epoch s/ms/us/ns); malformed JSON, a JSON
# array, a bad timestamp, an array value and a number as ship_id go to the DLQ, each with its
# reason, and so do two registry-framed records: one of an id the registry does not know, one
# of a registered writer schema that cannot be read as ferry's (timestamp a string); nothing
# else does.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/contracts_lib.sh"
db=$(new_db it_contracts_json)
topic=$(unique it.contracts.json)
new_topic "$topic" 1
cat >"$TMP/lines" <<'EOF2'
J1|{"ship_id":"J1","channel_id":"temp","timestamp":"2026-01-01T00:00:00Z","value":21.5,"unit":"C"}
J1|{"ship_id":"J1","channel_id":"temp","timestamp":1767225601,"value":22.25,"unit":"C"}
J1|{"ship_id":"J1","channel_id":"count","timestamp":1767225600000,"value":17}
B|{"ship_id":"B","channel_id":"x",
J1|{"ship_id":"J1","channel_id":"door","timestamp":1767225600000000,"value":false}
B|[{"ship_id":"B","channel_id":"x","timestamp":1767225600}]
J2|{"ship_id":"J2","channel_id":"mode","timestamp":1767225600000000000,"value":"auto","source":"node-red"}
B|{"ship_id":"B","channel_id":"x","timestamp":"soon","value":1}
J2|{"ship_id":"J2","channel_id":"gap","timestamp":"2026-01-01T00:00:05.250+02:00","value":null}
B|{"ship_id":"B","channel_id":"x","timestamp":1767225600,"value":[1,2]}
B|{"ship_id":5,"channel_id":"x","timestamp":1767225600}
EOF2
# 2026-01-01T00:00:00Z = 1767225600 s; 00:00:05.25+02:00 = 1767225600 - 7200 + 5.25 s
cat >"$TMP/want" <<'EOF2'
J1|count|1767225600000000|l|17|
J1|door|1767225600000000|b|false|
J1|temp|1767225600000000|d|21.5|C
J1|temp|1767225601000000|d|22.25|C
J2|gap|1767218405250000|n||
J2|mode|1767225600000000|s|auto|
EOF2
check "kcat writes 11 JSON lines, one record each" kcat -P -b "$FERRY_BROKERS" -t "$topic" -K '|' -l "$TMP/lines"
# 00, id 0x7fffff01 (never registered), a body
printf '\000\177\377\377\001\002\004ab' >"$TMP/unknown-id"
check "kcat writes a record of an unknown schema id" kcat -P -b "$FERRY_BROKERS" -t "$topic" -k B "$TMP/unknown-id"
bad_id=$(jq '(.fields[] | select(.name == "timestamp")).type = "string"' "$SCHEMA_V1" | jq -Rs '{schema: .}' |
    curl -fsS -X POST -H 'Content-Type: application/vnd.schemaregistry.v1+json' --data-binary @- \
        "$FERRY_SCHEMA_REGISTRY/subjects/$topic.other-value/versions" | jq .id)
python3 -c 'import sys; sys.stdout.buffer.write(b"\0" + int(sys.argv[1]).to_bytes(4, "big") + b"\x04S1")' \
    "$bad_id" >"$TMP/bad-schema"
check "kcat writes a record of an unresolvable writer schema" kcat -P -b "$FERRY_BROKERS" -t "$topic" -k B "$TMP/bad-schema"
check_eq "dualwrite exits 0" 0 "$(exit_code ferry dualwrite --pg "$db" --topic "$topic" \
    --group "$topic.g" --until-idle 3s --progress 0 --schema-registry "$FERRY_SCHEMA_REGISTRY")"
cp "$TMP/err" "$TMP/dualwrite.log"
check "the worker counts 7 dead letters" grep -q 'consumed 13, narrow rows 6, wide cells 5, dead-lettered 7,' "$TMP/dualwrite.log"
narrow_rows "$db" >"$TMP/narrow"
check "narrow holds exactly the 6 good readings" diff "$TMP/want" "$TMP/narrow"
wide_exact "$db" 5 # the null reading has no wide cell
kcat -C -b "$FERRY_BROKERS" -t "$topic.dlq" -e -q -f '%k %h\n' >"$TMP/dlq"
check_eq "7 records in the DLQ" 7 "$(wc -l <"$TMP/dlq")"
check_eq "all of them ship B's" 7 "$(grep -c '^B ' "$TMP/dlq")"
check_eq "every one with reason undecodable" 7 "$(grep -c 'ferry.error.reason=undecodable' "$TMP/dlq")"
n=0
for why in "json: not JSON" "must be an object, got an array" "json: JSON telemetry: timestamp:" \
    "value must be a number, boolean, string or null, got an array" "ship_id must be a string" \
    "registry: schema id 2147483393 is unknown to the schema registry" \
    "registry: writer schema .* cannot be read as .*TelemetryReading.timestamp: writer type string cannot be read as long"; do
    n=$((n + 1))
    check "dead letter $n says: $why" grep -q "$why" <(sed -n "${n}p" "$TMP/dlq")
done

# A registry-framed record reaching a worker without a registry: it stops (exit 1) instead of
# dead-lettering what may be a good record, and commits nothing past it.
t2=$topic.noreg
new_topic "$t2" 1
check "kcat writes one registry-framed record" kcat -P -b "$FERRY_BROKERS" -t "$t2" -k B "$TMP/bad-schema"
check_eq "dualwrite without --schema-registry exits 1" 1 "$(exit_code env -u FERRY_SCHEMA_REGISTRY \
    "$FERRY_BIN" dualwrite --pg "$db" --topic "$t2" --group "$t2.g" --until-idle 3s --progress 0)"
check "... saying why" grep -q 'Schema Registry framing (schema id [0-9]*), but no --schema-registry' "$TMP/err"
check_eq "... nothing dead-lettered" 0 "$(dlq_count "$t2")"
committed() { # the group's committed offset on the topic's partition 0, or "-" for none
    "$FERRY_SOURCE_DIR/scripts/kafka-tool" consumer-groups --bootstrap-server "$FERRY_BROKERS" \
        --describe --group "$t2.g" 2>/dev/null | awk -v t="$t2" '$2 == t && $3 == 0 { print $4 }'
}
check "... and no offset was committed past it" bash -c "[ '$(committed)' = - ] || [ '$(committed)' = 0 ] || [ -z '$(committed)' ]"
finish

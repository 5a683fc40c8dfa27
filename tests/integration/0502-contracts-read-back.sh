#!/usr/bin/env bash
# 0502-contracts-read-back: ferry's records read by clients nobody here wrote. `ferry produce`
# in Schema Registry framing is read by confluent-kafka's AvroDeserializer, in single-object
# encoding by fastavro alone (fingerprint computed by fastavro), and both give back, field for
# field, the values of the JSON lines written here by hand. `ferry telemetry` (simulator, same
# seed) in both framings: AvroDeserializer and fastavro decode the same 200 readings.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/contracts_lib.sh"
base=$(unique it.contracts.rb)
for t in reg so simreg simso clash; do new_topic "$base.$t" 2; done

cat >"$TMP/in.jsonl" <<'JSON'
{"ship_id":"R1","channel_id":"a","timestamp":1767225600000000,"value":1.25,"unit":"kn","source":"t"}
{"ship_id":"R1","channel_id":"b","timestamp":1767225601000000,"value":42}
{"ship_id":"R2","channel_id":"c","timestamp":"2026-01-01T00:00:02Z","value":true,"unit":null}
{"ship_id":"R2","channel_id":"d","timestamp":1767225603000000,"value":"on é"}
{"ship_id":"R3","channel_id":"e","timestamp":1767225604000000,"value":null}
JSON
# what the other side must decode, written by hand (sorted keys, lines sorted)
cat >"$TMP/want" <<'JSON'
{"channel_id": "a", "ship_id": "R1", "source": "t", "timestamp": 1767225600000000, "unit": "kn", "value": 1.25}
{"channel_id": "b", "ship_id": "R1", "source": null, "timestamp": 1767225601000000, "unit": null, "value": 42}
{"channel_id": "c", "ship_id": "R2", "source": null, "timestamp": 1767225602000000, "unit": null, "value": true}
{"channel_id": "d", "ship_id": "R2", "source": null, "timestamp": 1767225603000000, "unit": null, "value": "on é"}
{"channel_id": "e", "ship_id": "R3", "source": null, "timestamp": 1767225604000000, "unit": null, "value": null}
JSON
check_eq "produce --wire-format registry exits 0" 0 "$(exit_code ferry produce --topic "$base.reg" \
    --schema TelemetryReading --schema-registry "$FERRY_SCHEMA_REGISTRY" --strict "$TMP/in.jsonl")"
check "produce registered the schema under <topic>-value" grep -q "registered under $base.reg-value" "$TMP/err"
check_eq "produce --wire-format single-object exits 0" 0 "$(exit_code ferry produce --topic "$base.so" \
    --schema TelemetryReading --schema-registry "$FERRY_SCHEMA_REGISTRY" --wire-format single-object \
    --strict "$TMP/in.jsonl")"
check_eq "the registry's schema for $base.reg-value is ferry's (same fields)" \
    "$(jq -c '[.fields[].name]' "$SCHEMA_V1")" \
    "$(curl -fsS "$FERRY_SCHEMA_REGISTRY/subjects/$base.reg-value/versions/latest" | jq -r .schema | jq -c '[.fields[].name]')"

"$PY" "$CONTRACTS" read --brokers "$FERRY_BROKERS" --registry "$FERRY_SCHEMA_REGISTRY" \
    --topic "$base.reg" --group "$base.py1" --framing registry --count 5 >"$TMP/got.reg"
check "AvroDeserializer reads ferry's registry-framed records, field for field" diff "$TMP/want" "$TMP/got.reg"
"$PY" "$CONTRACTS" read --brokers "$FERRY_BROKERS" --topic "$base.so" --group "$base.py2" \
    --framing single-object --schema "$SCHEMA_V1" --count 5 >"$TMP/got.so"
check "fastavro reads ferry's single-object records, field for field" diff "$TMP/want" "$TMP/got.so"

for f in registry single-object; do
    t=$base.simreg; [ "$f" = single-object ] && t=$base.simso
    check_eq "telemetry --wire-format $f exits 0" 0 "$(exit_code ferry telemetry --topic "$t" \
        --ships 4 --channels 5 --count 200 --seed 7 --start 2026-01-01T00:00:00Z --progress 0 \
        --schema-registry "$FERRY_SCHEMA_REGISTRY" --wire-format "$f")"
done
"$PY" "$CONTRACTS" read --brokers "$FERRY_BROKERS" --registry "$FERRY_SCHEMA_REGISTRY" \
    --topic "$base.simreg" --group "$base.py3" --framing registry --count 200 >"$TMP/sim.reg"
"$PY" "$CONTRACTS" read --brokers "$FERRY_BROKERS" --topic "$base.simso" --group "$base.py4" \
    --framing single-object --schema "$SCHEMA_V1" --count 200 >"$TMP/sim.so"
check_eq "AvroDeserializer decoded 200 simulator readings" 200 "$(wc -l <"$TMP/sim.reg")"
check_eq "200 distinct readings" 200 "$(jq -r '[.ship_id, .channel_id, .timestamp] | @tsv' "$TMP/sim.reg" | sort -u | wc -l)"
check "fastavro decodes the same 200 readings from the single-object topic" diff "$TMP/sim.reg" "$TMP/sim.so"
check_eq "readings start at the --start time" 1767225600000000 "$(jq -s 'map(.timestamp) | min' "$TMP/sim.reg")"

# ferry's own reader of both framings: ferry tail gives the same values
check_eq "ferry tail reads the registry-framed topic" 0 "$(exit_code ferry tail --topic "$base.reg" \
    --until-idle 2s -n 5 --schema-registry "$FERRY_SCHEMA_REGISTRY")"
check "... the same 5 records, field for field" diff "$TMP/want" <(jq -S -c . "$TMP/out" | sort | sed 's/,"/, "/g; s/":/": /g')
check_eq "ferry tail reads the single-object topic" 0 "$(exit_code ferry tail --topic "$base.so" \
    --until-idle 2s -n 5 --meta)"
check_eq "... and says which framing each record had" 5 "$(grep -c '"framing":"single-object"' "$TMP/out")"

# An incompatible schema already registered for the topic: ferry stops before sending anything.
jq '.fields[0].type = "int"' "$SCHEMA_V1" | jq -Rs '{schema: .}' |
    curl -fsS -o /dev/null -X POST -H 'Content-Type: application/vnd.schemaregistry.v1+json' \
        --data-binary @- "$FERRY_SCHEMA_REGISTRY/subjects/$base.clash-value/versions"
check_eq "telemetry exits 1 when the registry refuses ferry's schema" 1 "$(exit_code ferry telemetry \
    --topic "$base.clash" --count 10 --progress 0 --schema-registry "$FERRY_SCHEMA_REGISTRY")"
check "... with the registry's message (HTTP 409, incompatible)" grep -q 'HTTP 409: .*Incompatible' "$TMP/err"
check_eq "... and nothing was sent" 0 "$(kcat -C -b "$FERRY_BROKERS" -t "$base.clash" -e -q -f 'x\n' | wc -l)"

# A registry nobody answers: exit 3 (unreachable) and the basic-auth password appears nowhere.
check_eq "telemetry exits 3 when the registry cannot be reached" 3 "$(FERRY_SCHEMA_REGISTRY_USER=team \
    FERRY_SCHEMA_REGISTRY_PASSWORD=pw-5ecret-77 exit_code ferry telemetry --topic "$base.clash" \
    --count 1 --progress 0 --schema-registry http://127.0.0.1:9/apis/ccompat/v7)"
check "... saying so" grep -q 'schema registry http://127.0.0.1:9/apis/ccompat/v7: registering' "$TMP/err"
check "... without the password" bash -c "! grep -q pw-5ecret-77 '$TMP/err' '$TMP/out'"
FERRY_SCHEMA_REGISTRY_PASSWORD=pw-5ecret-77 ferry telemetry --help >"$TMP/help"
check "--help does not show the password" bash -c "! grep -q pw-5ecret-77 '$TMP/help'"
finish

#!/usr/bin/env bash
# 0501-contracts-evolution: another team's Python producer (confluent-kafka's AvroSerializer
# through the real registry) writes TelemetryReading with ferry's schema, then with an evolved
# one (a field added with a default, the defaulted field `source` removed, registered as a
# BACKWARD-compatible new version); one dualwrite worker writes every reading: narrow equals
# what the Python side sent (its own list, not ferry's output), wide equals narrow, nothing is
# dead-lettered.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/contracts_lib.sh"
db=$(new_db it_contracts_evo)
topic=$(unique it.contracts.evo)
new_topic "$topic" 3
jq '.fields |= (map(select(.name != "source")) + [{"name": "quality", "type": ["null", "int"], "default": null}])' \
    "$SCHEMA_V1" >"$TMP/v2.avsc"

check "python produces 300 readings with ferry's schema" "$PY" "$CONTRACTS" produce \
    --brokers "$FERRY_BROKERS" --registry "$FERRY_SCHEMA_REGISTRY" --topic "$topic" \
    --schema "$SCHEMA_V1" --expected "$TMP/expected" --ticks 20 --tick0 0
check "python produces 300 readings with the evolved schema" "$PY" "$CONTRACTS" produce \
    --brokers "$FERRY_BROKERS" --registry "$FERRY_SCHEMA_REGISTRY" --topic "$topic" \
    --schema "$TMP/v2.avsc" --expected "$TMP/expected" --ticks 20 --tick0 20
check_eq "the registry holds two versions of $topic-value" "[1,2]" \
    "$(curl -fsS "$FERRY_SCHEMA_REGISTRY/subjects/$topic-value/versions" | jq -c .)"

check_eq "dualwrite exits 0" 0 "$(exit_code ferry dualwrite --pg "$db" --topic "$topic" \
    --group "$topic.g" --until-idle 3s --progress 0 --schema-registry "$FERRY_SCHEMA_REGISTRY")"
cp "$TMP/err" "$TMP/dualwrite.log"
check "nothing dead-lettered (worker summary)" grep -q 'dead-lettered 0,' "$TMP/dualwrite.log"
check_eq "nothing in the DLQ topic" 0 "$(dlq_count "$topic")"
LC_ALL=C sort "$TMP/expected" >"$TMP/expected.sorted"
narrow_rows "$db" >"$TMP/narrow"
check_eq "600 readings sent" 600 "$(wc -l <"$TMP/expected.sorted")"
check "narrow holds exactly what python sent" diff "$TMP/expected.sorted" "$TMP/narrow"
wide_exact "$db" 480 # 600 readings less the 120 null values, which have no wide cell
finish

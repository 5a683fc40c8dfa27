#!/usr/bin/env bash
# 0507-contracts-schemas-dir: schema evolution without a registry. Another team writes
# TelemetryReading in Avro single-object encoding with fastavro alone (its own fingerprint),
# half with ferry's schema and half with an evolved one (a field added with a default, the
# defaulted field `source` removed):
#  - without --schemas, dualwrite writes ferry's-schema readings and dead-letters the evolved
#    ones as an unknown fingerprint, saying to give the schema with --schemas;
#  - with --schemas DIR holding the evolved .avsc, every reading is written: narrow equals what
#    the Python side sent (its own list), wide equals narrow, nothing is dead-lettered;
#  - a missing directory or a file that is not a schema is refused at start (exit 2, naming it).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/contracts_lib.sh"
base=$(unique it.contracts.sd)
for t in a b; do new_topic "$base.$t" 2; done
jq '.fields |= (map(select(.name != "source")) + [{"name": "quality", "type": ["null", "int"], "default": null}])' \
    "$SCHEMA_V1" >"$TMP/v2.avsc"
mkdir -p "$TMP/writers"
cp "$TMP/v2.avsc" "$TMP/writers/telemetry-v2.avsc"

check "fastavro writes 150 readings with ferry's schema" "$PY" "$CONTRACTS" produce --single-object --brokers "$FERRY_BROKERS" \
    --raw-out "$TMP/v1.raw" --topic "$base.a" --schema "$SCHEMA_V1" --expected "$TMP/expected.v1" \
    --ticks 10 --tick0 0
check "fastavro writes 150 readings with the evolved schema" "$PY" "$CONTRACTS" produce --single-object --brokers "$FERRY_BROKERS" \
    --raw-out "$TMP/v2.raw" --topic "$base.a" --schema "$TMP/v2.avsc" --expected "$TMP/expected.v2" \
    --ticks 10 --tick0 10
check_eq "the records are single-object, not ferry's fingerprint for v2" "C301A45FA90BB838FF83 150" \
    "$(cut -f2 "$TMP/v1.raw" | cut -c1-20 | tr a-f A-F | sort | uniq -c | awk '{print $2, $1}')"
check_eq "... the evolved ones carry another fingerprint" 1 \
    "$(cut -f2 "$TMP/v2.raw" | cut -c1-20 | sort -u | grep -vic '^c301a45fa90bb838ff83$')"
for t in a b; do
    for v in v1 v2; do
        "$PY" "$CONTRACTS" send-raw --brokers "$FERRY_BROKERS" --topic "$base.$t" --file "$TMP/$v.raw"
    done
done

# without --schemas: the evolved writer is unknown
dba=$(new_db it_contracts_sda)
check_eq "dualwrite without --schemas exits 0" 0 "$(exit_code ferry dualwrite --pg "$dba" \
    --topic "$base.a" --group "$base.ga" --until-idle 3s --progress 0)"
check_eq "... the 150 evolved readings are dead letters" 150 "$(dlq_count "$base.a")"
check_eq "... each says unknown fingerprint and to use --schemas" 150 \
    "$(kcat -C -b "$FERRY_BROKERS" -t "$base.a.dlq" -e -q -f '%h\n' | grep -c 'unknown schema fingerprint.*--schemas DIR')"
LC_ALL=C sort "$TMP/expected.v1" >"$TMP/want.a"
check "... and narrow holds exactly the 150 readings of ferry's schema" diff "$TMP/want.a" <(narrow_rows "$dba")

# with --schemas: every reading
dbb=$(new_db it_contracts_sdb)
check_eq "dualwrite --schemas DIR exits 0" 0 "$(exit_code ferry dualwrite --pg "$dbb" \
    --topic "$base.b" --group "$base.gb" --until-idle 3s --progress 0 --schemas "$TMP/writers")"
check "... it says it added the writer schema" grep -q -- "--schemas $TMP/writers: 1 writer schema(s) added" "$TMP/err"
check "... nothing dead-lettered (worker summary)" grep -q 'dead-lettered 0,' "$TMP/err"
check_eq "... nothing in the DLQ topic" 0 "$(dlq_count "$base.b")"
cat "$TMP/expected.v1" "$TMP/expected.v2" | LC_ALL=C sort >"$TMP/want.b"
check_eq "300 readings sent" 300 "$(wc -l <"$TMP/want.b")"
check "narrow holds exactly what fastavro wrote, both versions" diff "$TMP/want.b" <(narrow_rows "$dbb")
wide_exact "$dbb" 240 # 300 readings less the 60 null values, which have no wide cell

# refused at start
check_eq "a missing --schemas directory: exit 2" 2 "$(exit_code ferry dualwrite --pg "$dbb" \
    --topic "$base.b" --group "$base.gc" --until-idle 1s --schemas "$TMP/nowhere")"
check "... naming it" grep -q -- "--schemas $TMP/nowhere: No such file or directory" "$TMP/err"
mkdir -p "$TMP/bad"
echo '{"type": "record", "name": "X", "fields": [{"name": "a", "type": "nosuchtype"}]}' >"$TMP/bad/x.avsc"
check_eq "a file that is not a schema: exit 2" 2 "$(exit_code ferry tail --topic "$base.b" -n 1 \
    --until-idle 1s --schemas "$TMP/bad")"
check "... naming the file" grep -q -- "--schemas: $TMP/bad/x.avsc: " "$TMP/err"
finish

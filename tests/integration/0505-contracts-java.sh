#!/usr/bin/env bash
# 0505-contracts-java: another team's Java producer (examples/java/ProduceTelemetry.java, run
# here as its users would: javac and java with Apache Avro 1.12.2 from Maven Central and the
# plain Kafka client) writes TelemetryReading in Avro single-object encoding with Avro's own
# BinaryMessageEncoder; one dualwrite worker writes every reading: narrow equals what the Java
# side says it sent (its own list), wide equals narrow, nothing is dead-lettered.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/contracts_lib.sh"
: "${FERRY_KAFKA_LIBS:?FERRY_KAFKA_LIBS not set: scripts/stack env exports it}"
ex=$FERRY_SOURCE_DIR/examples/java
libs=${FERRY_CACHE_DIR:-$HOME/.cache/ferry}/java-example-libs
# Avro and what it needs, fetched once into the cache (one fetcher at a time)
exec 6>"$libs.lock"
flock -w 600 6 || fail "timed out waiting for $libs.lock"
if ! ls "$libs"/avro-1.12.2.jar >/dev/null 2>&1; then
    rm -rf "$libs.tmp"
    mvn -q -B -Dstyle.color=never -f "$ex/pom.xml" dependency:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$libs.tmp" >"$TMP/mvn.log" 2>&1 ||
        fail "fetching Avro from Maven Central: $(tail -5 "$TMP/mvn.log")"
    mv "$libs.tmp" "$libs"
fi
exec 6>&-
# only the Kafka client from the Kafka folder (its slf4j would clash with Avro's)
cp=$(ls "$libs"/*.jar | paste -sd:):$(ls "$FERRY_KAFKA_LIBS"/kafka-clients-*.jar | head -1)
for j in lz4 snappy zstd; do
    f=$(ls "$FERRY_KAFKA_LIBS"/*"$j"*.jar 2>/dev/null | head -1) && [ -n "$f" ] && cp=$cp:$f
done
mkdir -p "$TMP/classes"
javac -d "$TMP/classes" -cp "$cp" "$ex/ProduceTelemetry.java" 2>"$TMP/javac.log" ||
    fail "javac: $(cat "$TMP/javac.log")"

db=$(new_db it_contracts_java)
topic=$(unique it.contracts.java)
new_topic "$topic" 3
check "the Java program sends 200 readings" java -cp "$TMP/classes:$cp" ProduceTelemetry \
    "$SCHEMA_V1" "$FERRY_BROKERS" "$topic" "$TMP/expected" 20
check_eq "... in Avro single-object encoding with ferry's fingerprint" "C301A45FA90BB838FF83 200" \
    "$(kcat -C -b "$FERRY_BROKERS" -t "$topic" -e -q -f '%s' -c 200 | od -An -v -tx1 | tr -d ' \n' |
        grep -o 'c301a45fa90bb838ff83' | sort | uniq -c | awk '{print toupper($2), $1}')"
check_eq "dualwrite exits 0" 0 "$(exit_code ferry dualwrite --pg "$db" --topic "$topic" \
    --group "$topic.g" --until-idle 3s --progress 0)"
check "nothing dead-lettered (worker summary)" grep -q 'dead-lettered 0,' "$TMP/err"
check_eq "nothing in the DLQ topic" 0 "$(dlq_count "$topic")"
LC_ALL=C sort "$TMP/expected" >"$TMP/expected.sorted"
check_eq "200 readings listed by the Java side" 200 "$(wc -l <"$TMP/expected.sorted")"
check "narrow holds exactly what the Java program sent" diff "$TMP/expected.sorted" <(narrow_rows "$db")
wide_exact "$db" 160 # 200 readings less the 40 null values, which have no wide cell
finish

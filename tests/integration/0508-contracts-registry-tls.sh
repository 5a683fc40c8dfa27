#!/usr/bin/env bash
# 0508-contracts-registry-tls: a Schema Registry behind https with its own CA (the stack's
# registry behind a TLS front with a certificate made here).
#  - with --schema-registry-ca-file, ferry produce registers its schema and writes registry
#    framing through it, and ferry tail fetches the schema through it and reads the records
#    back field for field;
#  - without the CA file the certificate is not trusted: the producer exits 3 (unreachable)
#    saying so, and sends nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/contracts_lib.sh"
topic=$(unique it.contracts.tls)
new_topic "$topic" 1
new_topic "$topic.untrusted" 1
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/ca.pem" -days 1 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
python3 "$(dirname "$0")/tls_proxy.py" "$TMP/ca.pem" "$TMP/key.pem" "$FERRY_SCHEMA_REGISTRY" \
    "$TMP/port" 2>"$TMP/proxy.log" &
proxy=$!
trap 'kill $proxy 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do [ -s "$TMP/port" ] && break; sleep 0.1; done
[ -s "$TMP/port" ] || fail "the TLS front did not start: $(cat "$TMP/proxy.log")"
url="https://127.0.0.1:$(cat "$TMP/port")/apis/ccompat/v7"

cat >"$TMP/in.jsonl" <<'JSON'
{"ship_id":"T1","channel_id":"a","timestamp":1767225600000000,"value":2.5,"unit":"kn","source":"tls"}
{"ship_id":"T1","channel_id":"b","timestamp":1767225601000000,"value":7}
JSON
check_eq "produce through the https registry with its CA exits 0" 0 "$(exit_code ferry produce \
    --topic "$topic" --schema TelemetryReading --schema-registry "$url" \
    --schema-registry-ca-file "$TMP/ca.pem" --strict "$TMP/in.jsonl")"
check "... it registered the schema there" grep -q "registered under $topic-value at https://127.0.0.1" "$TMP/err"
check_eq "... the subject is in the registry behind it" 1 \
    "$(curl -fsS "$FERRY_SCHEMA_REGISTRY/subjects/$topic-value/versions" | jq length)"
# tail's schema cache starts empty: the schema is fetched by id through TLS
check_eq "tail through the https registry exits 0" 0 "$(exit_code ferry tail --topic "$topic" -n 2 \
    --until-idle 2s --meta --schema-registry "$url" --schema-registry-ca-file "$TMP/ca.pem")"
check_eq "... both records, registry-framed, field for field" \
    '["registry","T1","a",1767225600000000,2.5,"kn","tls"] ["registry","T1","b",1767225601000000,7,null,null]' \
    "$(jq -c '[.framing, .value.ship_id, .value.channel_id, .value.timestamp, .value.value, .value.unit, .value.source]' "$TMP/out" | paste -sd' ')"

check_eq "without the CA file the producer exits 3" 3 "$(exit_code ferry produce --topic "$topic.untrusted" \
    --schema TelemetryReading --schema-registry "$url" --strict "$TMP/in.jsonl")"
check "... saying the certificate is not trusted" grep -qi "certificate" "$TMP/err"
check_eq "... and sent nothing" 0 "$(kcat -C -b "$FERRY_BROKERS" -t "$topic.untrusted" -e -q -f 'x\n' | wc -l)"
finish

# contracts_lib.sh - shared by the 05NN-contracts-* tests (sourced after lib.sh): the Python
# venv with the other team's clients, the registry URL, and the narrow-table oracle.
: "${FERRY_SCHEMA_REGISTRY:?FERRY_SCHEMA_REGISTRY not set: scripts/stack up && eval \"\$(scripts/stack env)\"}"
# The registry must answer: a missing service is a failure, never a skip.
if ! curl -fsS -m 5 -o /dev/null "$FERRY_SCHEMA_REGISTRY/subjects"; then
    echo "FAIL: the schema registry at $FERRY_SCHEMA_REGISTRY does not answer" >&2
    exit 1
fi
# The venv: created once and cached (pinned versions; rebuilt when the pins change).
CONTRACTS_PINS="confluent-kafka[avro,schemaregistry]==2.16.1 fastavro==1.13.1"
VENV=${FERRY_CACHE_DIR:-$HOME/.cache/ferry}/venv-contracts
mkdir -p "$(dirname "$VENV")"
exec 7>"$VENV.lock" # one creator at a time (builds and worktrees share the cache)
flock -w 600 7 || { echo "FAIL: timed out waiting for $VENV.lock" >&2; exit 1; }
if [ "$(cat "$VENV/.pins" 2>/dev/null)" != "$CONTRACTS_PINS" ]; then
    echo "# creating $VENV ($CONTRACTS_PINS)"
    rm -rf "$VENV"
    python3 -m venv "$VENV"
    # shellcheck disable=SC2086
    "$VENV/bin/pip" install -q $CONTRACTS_PINS
    echo "$CONTRACTS_PINS" >"$VENV/.pins"
fi
exec 7>&-
PY="$VENV/bin/python"
CONTRACTS="$FERRY_SOURCE_DIR/tests/integration/contracts.py"
SCHEMA_V1="$FERRY_SOURCE_DIR/schemas/TelemetryReading.avsc"

# narrow_rows DBURL: every narrow row as "ship|channel|ts_us|kind|value|unit", sorted, in the
# form contracts.py writes its expected readings.
narrow_rows() {
    psql "$1" -qAt -c "select ship_id || '|' || channel_id || '|' ||
        ((extract(epoch from ts) * 1000000)::numeric)::bigint || '|' ||
        case when value_double is not null then 'd|' || value_double::text
             when value_long is not null then 'l|' || value_long::text
             when value_bool is not null then 'b|' || value_bool::text
             when value_text is not null then 's|' || value_text
             else 'n|' end || '|' || coalesce(unit, '')
        from telemetry_narrow" | LC_ALL=C sort
}

# dlq_count TOPIC: records in TOPIC.dlq (read to its end with kcat).
dlq_count() {
    kcat -C -b "$FERRY_BROKERS" -t "$1.dlq" -e -q -f 'x\n' 2>/dev/null | wc -l
}

# wide_exact DBURL: the tests' oracle that every wide cell equals its narrow value.
wide_exact() {
    local res channels values missing extra mismatched
    res=$(check_wide "$1")
    read -r channels values missing extra mismatched <<<"$res"
    check_eq "wide: no narrow value missing" 0 "$missing"
    check_eq "wide: no extra cell" 0 "$extra"
    check_eq "wide: every cell equals its narrow value" 0 "$mismatched"
    check_eq "wide: all narrow values checked" "$2" "$values"
}

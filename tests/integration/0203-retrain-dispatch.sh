#!/usr/bin/env bash
# 0203-retrain-dispatch: `ferry retrain dispatch` delivering real triggers (made by
# `ferry retrain` from 3 N feature rows) to tests/webhook_server.py, an Airflow-2-REST-API
# look-alike bound to 127.0.0.1.
#  - the receiver fails the first two deliveries with 503: it still receives each trigger
#    exactly once as a success (dag_run_id = trigger id, the watermark in conf, basic auth),
#    and ferry records each delivered (attempts, HTTP status) in its table;
#  - a restarted dispatcher, and a new group replaying the topic, deliver nothing again;
#  - with the record lost (fresh table), re-delivery meets Airflow's 409 and counts as
#    delivered: still one success per trigger at the receiver;
#  - killed with SIGKILL in the middle of retries, a restarted dispatcher finishes the job:
#    one success per trigger;
#  - wrong credentials (401) are a permanent failure: recorded failed and dead-lettered;
#  - the generic kind POSTs the trigger itself with a bearer token and an Idempotency-Key;
#  - the password and the token never appear in ferry's output.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/movies_lib.sh"

run=$(unique it.wh)
tab="ferry.it_wh_$$_$(date +%s%N | tail -c 7)"
N=50
PASSWORD='pa55-w0rd-SECRET'
TOKEN='t0ken-SECRET-abc'
printf '%s\n' "$PASSWORD" >"$TMP/pw"
printf '%s\n' "$TOKEN" >"$TMP/token"
printf 'wrong\n' >"$TMP/badpw"

# three triggers from 3 N rows
create_topics 1 "$run.f" "$run.r"
jq -nc --argjson n $((3 * N)) 'range(0; $n) | {user_id: (. + 1), content_id: (. % 7 + 1),
    watch_seconds: 60, rating: 3.5, popularity: 10.0, event_time: 1643673600000000,
    derivation_version: 1, source: null}' |
    ferry produce --topic "$run.f" --schema WatchLogFeature --key content_id 2>/dev/null
check_eq "retrain worker exits 0" 0 "$(exit_code ferry retrain --topic "$run.f" \
    --retrain-topic "$run.r" --group "$run.rg" --min-new-rows $N --until-idle 1s)"
committed_values "$run.r" | jq -c .value >"$TMP/triggers"
check_eq "three triggers to deliver" 3 "$(wc -l <"$TMP/triggers")"
jq -r .trigger_id "$TMP/triggers" | sort >"$TMP/ids"

servers=()
# server NAME [options...] : starts the receiver, sets PORT and LOG
server() {
    local name=$1
    shift
    LOG=$TMP/$name.log
    rm -f "$TMP/$name.port"
    WEBHOOK_PASSWORD=$PASSWORD WEBHOOK_TOKEN=$TOKEN python3 "$FERRY_SOURCE_DIR/tests/webhook_server.py" \
        --port-file "$TMP/$name.port" --log "$LOG" "$@" 2>/dev/null &
    servers+=($!)
    for _ in $(seq 100); do [ -s "$TMP/$name.port" ] && break; sleep 0.05; done
    PORT=$(cat "$TMP/$name.port")
    touch "$LOG"
}
trap 'kill "${servers[@]}" 2>/dev/null; rm -rf "$TMP"' EXIT
dispatch() { # GROUP TABLE [options...]
    local g=$1 t=$2
    shift 2
    ferry retrain dispatch --pg "$FERRY_PG_URL" --topic "$run.r" --group "$g" \
        --deliveries-table "$t" --retry-initial 100ms --retry-max 1s --until-idle 1s "$@"
}
successes() { jq -r 'select(.success) | .dag_run_id' "$1" | sort; }
no_secret() { ! grep -qE "$PASSWORD|$TOKEN" "$@"; }

# ---- Airflow, basic auth, the first two deliveries fail with 503 -------------------------
server airflow --fail-first 2 --user airflow
check_eq "dispatch exits 0" 0 "$(exit_code dispatch "$run.d1" "$tab" --webhook-url "http://127.0.0.1:$PORT/" \
    --webhook-user airflow --webhook-password-file "$TMP/pw")"
cp "$TMP/err" "$TMP/d1.err"
check_eq "the receiver saw 2 failures, then 3 successes" "503 503 200 200 200" \
    "$(jq -r .status "$LOG" | paste -sd' ')"
check "each trigger received exactly once as a success" diff -q "$TMP/ids" <(successes "$LOG")
check_eq "every request authenticated (basic auth)" "ok" "$(jq -r .auth "$LOG" | sort -u)"
check_eq "the DAG run endpoint was used" "/api/v1/dags/ferry_retrain/dagRuns" "$(jq -r .path "$LOG" | sort -u)"
check_eq "conf carries the trigger: watermark, reason, counts" "$(jq -c '[.trigger_id, .reason,
    .new_rows, .total_rows, .watermark]' "$TMP/triggers")" \
    "$(jq -c 'select(.success) | .body | [.conf.trigger_id, .conf.reason, .conf.new_rows,
        .conf.total_rows, .conf.watermark]' "$LOG")"
check_eq "dag_run_id is the trigger id and logical_date its creation time" 3 \
    "$(jq -c 'select(.success) | .body | select(.dag_run_id == .conf.trigger_id and
        (.logical_date | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{6}Z$")))' "$LOG" | wc -l)"
check_eq "ferry recorded each trigger delivered" \
    "$(awk 'NR == 1 { print $0 "|delivered|3|200|t|t" } NR > 1 { print $0 "|delivered|1|200|t|t" }' "$TMP/ids")" \
    "$(psql "$FERRY_PG_URL" -Atc "select trigger_id, status, attempts, http_status,
        delivered_at is not null, last_error is null from $tab order by trigger_id")"
check "the password never appears in ferry's output" no_secret "$TMP/d1.err"
check "the retries were logged" grep -q 'attempt 2 .*failed (HTTP 503' "$TMP/d1.err"

# ---- restart, and a new group replaying the topic: nothing delivered again ---------------
check_eq "restarted dispatcher exits 0" 0 "$(exit_code dispatch "$run.d1" "$tab" --webhook-url "http://127.0.0.1:$PORT" \
    --webhook-user airflow --webhook-password-file "$TMP/pw")"
check_eq "new group replaying the topic exits 0" 0 "$(exit_code dispatch "$run.d2" "$tab" --webhook-url "http://127.0.0.1:$PORT" \
    --webhook-user airflow --webhook-password-file "$TMP/pw")"
check "replay: the recorded triggers are skipped" grep -q '3 already recorded' "$TMP/err"
check_eq "no further request reached the receiver" 5 "$(wc -l <"$LOG")"

# ---- the record lost: re-delivery meets 409 and counts as delivered ----------------------
check_eq "dispatch with a fresh table exits 0" 0 "$(exit_code dispatch "$run.d3" "${tab}_b" --webhook-url "http://127.0.0.1:$PORT" \
    --webhook-user airflow --webhook-password-file "$TMP/pw")"
check_eq "the receiver answered 409 three times" "409 409 409" "$(jq -r .status "$LOG" | tail -3 | paste -sd' ')"
check "still exactly one success per trigger" diff -q "$TMP/ids" <(successes "$LOG")
check_eq "409 recorded as delivered" "delivered|409
delivered|409
delivered|409" "$(psql "$FERRY_PG_URL" -Atc "select status, http_status from ${tab}_b")"

# ---- SIGKILL in the middle of retries ----------------------------------------------------
# (the binary itself in the background, so $! is its pid)
server crash --fail-first 6 --user airflow
"$FERRY_BIN" retrain dispatch --pg "$FERRY_PG_URL" --topic "$run.r" --group "$run.d4" \
    --deliveries-table "${tab}_c" --retry-initial 300ms --retry-max 300ms \
    --webhook-url "http://127.0.0.1:$PORT" --webhook-user airflow \
    --webhook-password-file "$TMP/pw" -X group.instance.id="$run.i4" >"$TMP/d4.err" 2>&1 &
pid=$!
for _ in $(seq 100); do [ "$(wc -l <"$LOG")" -ge 3 ] && break; sleep 0.05; done
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
check_eq "killed while retrying (nothing delivered yet)" 0 "$(successes "$LOG" | wc -l)"
check_eq "the attempts so far are recorded as pending" "pending" \
    "$(psql "$FERRY_PG_URL" -Atc "select status from ${tab}_c")"
# static membership: the restarted member takes over at once (no session timeout to wait)
check_eq "restarted dispatcher exits 0" 0 "$(exit_code dispatch "$run.d4" "${tab}_c" --webhook-url "http://127.0.0.1:$PORT" \
    --webhook-user airflow --webhook-password-file "$TMP/pw" -X group.instance.id="$run.i4")"
check "after the kill: exactly one success per trigger" diff -q "$TMP/ids" <(successes "$LOG")
# 7 POSTs for the first trigger; the one in flight at the kill may not have been recorded
check_eq "after the kill: all recorded delivered, attempts counted across the restart" \
    "delivered 3 t" "$(psql "$FERRY_PG_URL" -Atc "select min(status), count(*), max(attempts) between 6 and 7
        from ${tab}_c" | tr '|' ' ')"

# ---- wrong credentials: permanent failure, recorded and dead-lettered --------------------
check_eq "401: dispatch exits 0 (nothing blocks)" 0 "$(exit_code dispatch "$run.d5" "${tab}_d" --webhook-url "http://127.0.0.1:$PORT" \
    --webhook-user airflow --webhook-password-file "$TMP/badpw" --max-attempts 5)"
check_eq "401: recorded failed after one attempt" "failed|1|401
failed|1|401
failed|1|401" "$(psql "$FERRY_PG_URL" -Atc "select status, attempts, http_status from ${tab}_d")"
check_eq "401: the triggers are dead-lettered with the reason" "delivery_failed
delivery_failed
delivery_failed" "$(dlq_reasons "$run.r.dlq")"

# ---- generic JSON endpoint with a bearer token --------------------------------------------
server generic
check_eq "generic: exits 0" 0 "$(exit_code dispatch "$run.d6" "${tab}_e" --webhook-kind generic \
    --webhook-url "http://127.0.0.1:$PORT/hooks/retrain?src=ferry" --webhook-token-file "$TMP/token")"
cp "$TMP/err" "$TMP/d6.err"
check_eq "generic: three POSTs to the URL" "/hooks/retrain" "$(jq -r .path "$LOG" | sort -u)"
check "generic: the body is the trigger, the key its id" diff -q "$TMP/ids" \
    <(jq -r 'select(.idempotency_key == .body.trigger_id and (.body.watermark | length) > 0)
        | .body.trigger_id' "$LOG" | sort)
check "the token never appears in ferry's output" no_secret "$TMP/d6.err" "$TMP/d4.err" "$TMP/err"
server bearer --token "$TOKEN"
check_eq "bearer: exits 0" 0 "$(exit_code dispatch "$run.d7" "${tab}_f" --webhook-url "http://127.0.0.1:$PORT" \
    --webhook-token-file "$TMP/token")"
check_eq "bearer: accepted" "ok ok ok" "$(jq -r .auth "$LOG" | paste -sd' ')"

for t in "$tab" "${tab}_b" "${tab}_c" "${tab}_d" "${tab}_e" "${tab}_f"; do
    psql "$FERRY_PG_URL" -qc "drop table if exists $t" >/dev/null
done
finish

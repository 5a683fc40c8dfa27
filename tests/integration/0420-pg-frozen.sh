#!/usr/bin/env bash
# 0420-pg-frozen: PostgreSQL frozen (SIGSTOP: connections stay open, nothing answers) for 40 s
# in the middle of a run. The worker does not hang silently: it notices the silence, checks on
# a second connection, says so in its log, drops the connection and reconnects with backoff;
# once the server is thawed it goes on, and the tables are exact.
. "$(dirname "$0")/lib.sh"
db=$(new_db it_pg_frozen)
topic=$(unique it.pgfrozen)
group=$topic.g
new_topic "$topic" 3
thaw() { "$FERRY_SOURCE_DIR/scripts/stack" pg-thaw >/dev/null 2>&1 || true; }
trap 'thaw; rm -rf "$TMP"' EXIT
"$FERRY_BIN" telemetry --topic "$topic" --ships 5 --channels 10 --count 300000 \
    --start 2026-05-01T00:00:00Z --rate 5000 --progress 0 2>"$TMP/producer.log" &
producer=$!
"$FERRY_BIN" dualwrite --pg "$db" --topic "$topic" --group "$group" --until-idle 5s --progress 0 \
    2>"$TMP/worker.log" &
worker=$!
check "dual-write is writing" wait_for bash -c "[ \$(psql '$db' -qAtc 'select count(*) from telemetry_narrow') -gt 1000 ]"
"$FERRY_SOURCE_DIR/scripts/stack" pg-freeze
t=$SECONDS
WAIT_SECONDS=45 wait_for grep -q 'PostgreSQL has not answered' "$TMP/worker.log" || true
noticed=$((SECONDS - t))
check "the worker noticed the frozen server and said so (after $noticed s)" \
    grep -q 'PostgreSQL has not answered (.*) for [0-9]* s and a new connection does not get through either' "$TMP/worker.log"
check "  within 40 s" test "$noticed" -le 40
sleep $((t + 40 - SECONDS > 0 ? t + 40 - SECONDS : 0))
check "the worker is still running after 40 s of frozen PostgreSQL" kill -0 "$worker"
thaw
rc=0; wait "$producer" || rc=$?
check_eq "producer delivered everything" 0 "$rc"
rc=0; wait "$worker" || rc=$?
check_eq "worker exits 0" 0 "$rc"
check "the worker reconnected" grep -q 'PostgreSQL is back' "$TMP/worker.log"
dw_expect_exact "$db" 300000 5 6000
finish

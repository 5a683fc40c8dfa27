#!/usr/bin/env bash
# 0305-dualwrite-pg-outage: PostgreSQL is stopped for 20 seconds in the middle of a run and
# started again. The worker neither crashes nor loses nor skips anything: it waits with
# backoff and resumes; the final tables are exact.
. "$(dirname "$0")/lib.sh"
db=$(new_db it_dw_outage)
topic=$(unique it.dw.outage)
group=$topic.g
new_topic "$topic" 3
"$FERRY_BIN" telemetry --topic "$topic" --ships 10 --channels 20 --count 400000 \
    --start 2026-04-01T00:00:00Z --rate 15000 --progress 0 2>"$TMP/producer.log" &
producer=$!
"$FERRY_BIN" dualwrite --pg "$db" --topic "$topic" --group "$group" --until-idle 5s --progress 0 \
    2>"$TMP/worker.log" &
worker=$!
sleep 5
before=$(psql "$db" -qAtc 'select count(*) from telemetry_narrow')
echo "# stopping PostgreSQL at $before narrow rows"
"$FERRY_SOURCE_DIR/scripts/stack" pg-stop
sleep 20
check "the worker survived 20 s without PostgreSQL" kill -0 "$worker"
"$FERRY_SOURCE_DIR/scripts/stack" pg-start
check "the worker said it was waiting for PostgreSQL" grep -q 'waiting for PostgreSQL' "$TMP/worker.log"
rc=0; wait "$producer" || rc=$?
check_eq "producer delivered everything" 0 "$rc"
rc=0; wait "$worker" || rc=$?
check_eq "worker exits 0 after the outage" 0 "$rc"
check "the worker reconnected" grep -q 'PostgreSQL is back' "$TMP/worker.log"
dw_expect_exact "$db" 400000 10 2000
finish

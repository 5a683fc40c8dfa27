#!/usr/bin/env bash
# 0303-dualwrite-scale: while 1,000,000 readings are produced, the dual-write group is scaled
# 1 -> 3 -> 1 workers (two added, then those two stopped with SIGTERM: they write and commit
# what they hold before their partitions move). The tables are exact.
. "$(dirname "$0")/lib.sh"
db=$(new_db it_dw_scale)
topic=$(unique it.dw.scale)
group=$topic.g
new_topic "$topic" 6
worker() { # log file; sets $pid (no subshell: the test must be able to wait for it)
    "$FERRY_BIN" dualwrite --pg "$db" --topic "$topic" --group "$group" --until-idle 6s --progress 0 \
        -X session.timeout.ms=6000 2>>"$1" &
    pid=$!
}
"$FERRY_BIN" telemetry --topic "$topic" --ships 20 --channels 50 --count 1000000 \
    --start 2026-03-01T00:00:00Z --rate 60000 --progress 0 2>"$TMP/producer.log" &
producer=$!
worker "$TMP/w1.log"; w1=$pid
sleep 2
worker "$TMP/w2.log"; w2=$pid
worker "$TMP/w3.log"; w3=$pid
sleep 3
n_mid=$(psql "$db" -qAtc 'select count(*) from telemetry_narrow')
echo "# 3 workers running, $n_mid narrow rows so far"
check "scaled to 3 while data was still arriving" test "$n_mid" -lt 1000000
kill -TERM "$w2" "$w3"
for p in "$w2" "$w3"; do
    rc=0; wait "$p" || rc=$?
    check_eq "worker $p stops cleanly on SIGTERM" 0 "$rc"
done
check "a stopped worker committed its batch before leaving" grep -q 'done: consumed' "$TMP/w2.log"
rc=0; wait "$producer" || rc=$?
check_eq "producer delivered everything" 0 "$rc"
rc=0; wait "$w1" || rc=$?
check_eq "the remaining worker finishes" 0 "$rc"
dw_expect_exact "$db" 1000000 20 1000
check_eq "group caught up (lag 0)" 0 "$(group_lag "$group" "$topic")"
finish

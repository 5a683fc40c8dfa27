#!/usr/bin/env bash
# 0302-dualwrite-crash: 1,000,000 readings produced while 2 dual-write workers consume them;
# one worker is killed with SIGKILL three times at random moments and restarted. The tables
# are exact all the same: nothing lost, nothing doubled, every wide cell equals narrow.
. "$(dirname "$0")/lib.sh"
db=$(new_db it_dw_crash)
topic=$(unique it.dw.crash)
group=$topic.g
new_topic "$topic" 6
worker() { # log file; sets $pid (no subshell: the test must be able to wait for it)
    "$FERRY_BIN" dualwrite --pg "$db" --topic "$topic" --group "$group" --until-idle 6s --progress 0 \
        --batch-rows 20000 -X session.timeout.ms=6000 2>>"$1" &
    pid=$!
}
"$FERRY_BIN" telemetry --topic "$topic" --ships 20 --channels 50 --count 1000000 \
    --start 2026-02-01T00:00:00Z --rate 60000 --progress 0 2>"$TMP/producer.log" &
producer=$!
worker "$TMP/steady.log"; steady=$pid
worker "$TMP/victim.log"; victim=$pid
kills=0
for k in 1 2 3; do
    sleep "$(awk -v s=$RANDOM 'BEGIN { srand(s); printf "%.1f", 1.5 + rand() * 2.5 }')"
    if kill -0 "$victim" 2>/dev/null; then
        n=$(psql "$db" -qAtc 'select count(*) from telemetry_narrow' 2>/dev/null || echo 0)
        kill -KILL "$victim"
        wait "$victim" 2>/dev/null || true
        echo "# SIGKILL $k at $n narrow rows"
        [ "$n" -lt 1000000 ] && kills=$((kills + 1))
    fi
    worker "$TMP/victim.log"; victim=$pid
done
check_eq "the victim was killed 3 times mid-run" 3 "$kills"
rc=0; wait "$producer" || rc=$?
check_eq "producer delivered everything" 0 "$rc"
for p in "$steady" "$victim"; do
    rc=0; wait "$p" || rc=$?
    check_eq "surviving worker $p exits 0" 0 "$rc"
done
dw_expect_exact "$db" 1000000 20 1000
check_eq "group caught up (lag 0)" 0 "$(group_lag "$group" "$topic")"
finish

#!/usr/bin/env bash
# 0301-dualwrite-exact: 1,000,000 simulated readings (20 ships x 50 channels x 1000 ticks)
# consumed by 2 dual-write workers in one group: the narrow table has exactly one row per
# reading, every wide cell equals its narrow value (checked in SQL through the catalog),
# zero missing, zero extra, zero mismatched; the group's offsets are at the end.
. "$(dirname "$0")/lib.sh"
db=$(new_db it_dw_exact)
topic=$(unique it.dw.exact)
group=$topic.g
new_topic "$topic" 6

check_eq "producer publishes 1,000,000 readings" 0 "$(exit_code ferry telemetry --topic "$topic" \
    --ships 20 --channels 50 --count 1000000 --start 2026-01-01T00:00:00Z --progress 0)"
check "producer summary: all acknowledged" grep -q 'sent 1000000, acknowledged 1000000, failed 0' "$TMP/err"

t0=$SECONDS
for i in 1 2; do
    "$FERRY_BIN" dualwrite --pg "$db" --topic "$topic" --group "$group" --until-idle 4s \
        --progress 0 -X session.timeout.ms=6000 2>"$TMP/w$i.log" &
    pids[$i]=$!
done
# Once every reading is in the narrow table, the workers must see the group caught up and exit
# within seconds: waiting on them blindly hung the suite when offsets were never committed.
all_in() { [ "$(psql "$db" -qAtc 'select count(*) from telemetry_narrow')" = 1000000 ]; }
WAIT_SECONDS=600
check "every reading reaches the narrow table" wait_for all_in
WAIT_SECONDS=60
gone() { ! kill -0 "${pids[1]}" 2>/dev/null && ! kill -0 "${pids[2]}" 2>/dev/null; }
if ! wait_for gone; then
    not_ok "the workers exit within 60 s of writing everything (are offsets committed?)"
    kill -TERM "${pids[1]}" "${pids[2]}" 2>/dev/null || true
fi
for i in 1 2; do
    rc=0; wait "${pids[$i]}" || rc=$?
    check_eq "worker $i exits 0" 0 "$rc"
done
echo "# 2 workers: $((SECONDS - t0)) s"
check "both workers had partitions" bash -c "grep -q 'assigned' '$TMP/w1.log' && grep -q 'assigned' '$TMP/w2.log'"
dw_expect_exact "$db" 1000000 20 1000
check_eq "group caught up (lag 0)" 0 "$(group_lag "$group" "$topic")"
finish

#!/usr/bin/env bash
# 0202-retrain: `ferry retrain` against the real stack (triggers counted with a
# read_committed consumer of the retrain topic).
#  - with --min-new-rows N, 3.5 N rows give exactly 3 RetrainRequested events, each with
#    N new rows, running totals, a watermark over every partition that covers exactly the
#    counted rows, and a deterministic id; a restart fires nothing more; 0.5 N more rows
#    (4 N in all) give the 4th;
#  - the same while the worker is killed with SIGKILL at random moments (and restarted) as
#    the rows arrive: still exactly 3;
#  - a second worker in the same group fences the first: one trigger per watermark;
#  - the drift rule fires against the last window, whose statistics a NEW process reads
#    back from Kafka; an undecodable feature record is dead-lettered and not counted;
#  - --max-interval fires with enough rows and not without;
#  - a policy with every rule off is a usage error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/movies_lib.sh"

run=$(unique it.rt)
N=200
create_topics 3 "$run.fa" "$run.fb" "$run.fc"
create_topics 1 "$run.fd" "$run.fe" "$run.ra" "$run.rb" "$run.rc" "$run.rd" "$run.re"

# rows FROM COUNT RATING : WatchLogFeature JSON lines (ids FROM..FROM+COUNT-1).
rows() {
    jq -nc --argjson from "$1" --argjson n "$2" --argjson r "$3" '
        range($from; $from + $n) | {user_id: (. % 1000 + 1), content_id: (. % 37 + 1),
        watch_seconds: (. % 7200), rating: $r, popularity: (100 + . % 10),
        event_time: (1643673600000000 + .), derivation_version: 1, source: null}'
}
feed() { # TOPIC FROM COUNT [RATING]
    rows "$2" "$3" "${4:-3.5}" | ferry produce --topic "$1" --schema WatchLogFeature \
        --key content_id 2>>"$TMP/produce.log"
}
retrain() { # FEATURES RETRAIN GROUP [options...]
    local f=$1 r=$2 g=$3
    shift 3
    ferry retrain --topic "$f" --retrain-topic "$r" --group "$g" "$@"
}
triggers() { # RETRAIN_TOPIC -> one JSON line per committed trigger, in order
    committed_values "$1" | jq -c '{key, id: .value.trigger_id, reason: .value.reason,
        new: .value.new_rows, total: .value.total_rows, drift: .value.drift_score,
        wm: ([.value.watermark[].offset] | add), parts: (.value.watermark | length)}'
}
# check_triggers NAME FILE COUNT : COUNT min_new_rows triggers of N rows each, totals and
# watermarks k*N, distinct well-formed ids.
check_triggers() {
    local name=$1 f=$2 n=$3
    check_eq "$name: exactly $n triggers" "$n" "$(wc -l <"$f")"
    check_eq "$name: each has N new rows, total k*N, and a watermark covering exactly them" \
        "$(seq "$N" "$N" $((n * N)) | awk '{print "min_new_rows 200 " $1 " " $1 " 3"}')" \
        "$(jq -r '"\(.reason) \(.new) \(.total) \(.wm) \(.parts)"' "$f")"
    check_eq "$name: trigger ids distinct and sequential" \
        "$(seq -f 'retrain-%06g' 1 "$n")" "$(jq -r '.id[0:14]' "$f" | sort -u)"
    check_eq "$name: ids well-formed" 0 \
        "$(jq -r .id "$f" | grep -cvE '^retrain-[0-9]{6}-[0-9a-f]{16}$' || true)"
}

# ---- 3.5 N rows -> 3 triggers; restart -> none; 4 N -> the 4th ---------------------------
feed "$run.fa" 0 $((N * 7 / 2))
check_eq "worker exits 0" 0 "$(exit_code retrain "$run.fa" "$run.ra" "$run.ga" --min-new-rows $N --until-idle 1s)"
cp "$TMP/err" "$TMP/ga.log"
check "worker reports the rows waiting" grep -q '100 rows wait for the next trigger' "$TMP/err"
triggers "$run.ra" >"$TMP/ta"
check_triggers "3.5 N rows" "$TMP/ta" 3
check_eq "triggers are keyed by the worker group" "$run.ga" "$(jq -r .key "$TMP/ta" | sort -u)"
check "triggers carry the state header" bash -c \
    "kcat -C -b '$FERRY_BROKERS' -t '$run.ra' -e -q -f '%h\n' | grep -q '\"seq\":3'"
check_eq "restart exits 0" 0 "$(exit_code retrain "$run.fa" "$run.ra" "$run.ga" --min-new-rows $N --until-idle 1s)"
check "restart recounts the rows since the last trigger from Kafka" \
    grep -q 'last trigger of group .*: #3, 600 rows in total' "$TMP/err"
check "restart fires nothing (100 rows wait)" grep -q '0 triggers fired.*100 rows wait' "$TMP/err"
feed "$run.fa" $((N * 7 / 2)) $((N / 2))
check_eq "after 4 N rows exits 0" 0 "$(exit_code retrain "$run.fa" "$run.ra" "$run.ga" --min-new-rows $N --until-idle 1s)"
triggers "$run.ra" >"$TMP/ta"
check_triggers "4 N rows" "$TMP/ta" 4

# ---- SIGKILL at random moments while the rows arrive -------------------------------------
(for i in $(seq 0 6); do feed "$run.fb" $((i * 100)) 100; sleep 0.2; done) &
feeder=$!
kills=0
while kill -0 "$feeder" 2>/dev/null || [ "$kills" -lt 5 ]; do
    # the binary itself in the background (not a shell function), so $! is its pid
    "$FERRY_BIN" retrain --topic "$run.fb" --retrain-topic "$run.rb" --group "$run.gb" \
        --min-new-rows $N >>"$TMP/kill.log" 2>&1 &
    pid=$!
    sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.2 + (r % 120) / 100 }')"
    if [ "$(cat /proc/$pid/comm 2>/dev/null)" = ferry ]; then
        kill -KILL "$pid"
        kills=$((kills + 1))
    fi
    wait "$pid" 2>/dev/null || true
done
wait "$feeder"
check "the worker was killed at least 5 times" test "$kills" -ge 5
echo "# killed $kills times; triggers committed by the killed workers: $(grep -c ' fired (' "$TMP/kill.log" || true)"
check "no killed worker saw another one running (fenced)" bash -c "test -s '$TMP/kill.log' && ! grep -q fenced '$TMP/kill.log'"
check_eq "final run exits 0" 0 "$(exit_code retrain "$run.fb" "$run.rb" "$run.gb" --min-new-rows $N --until-idle 1s)"
triggers "$run.rb" >"$TMP/tb"
check_triggers "SIGKILLs" "$TMP/tb" 3

# ---- two workers in one group: the second fences the first --------------------------------
retrain "$run.fc" "$run.rc" "$run.gc" --min-new-rows $N --until-idle 8s >"$TMP/first.log" 2>&1 &
first=$!
sleep 1.5
retrain "$run.fc" "$run.rc" "$run.gc" --min-new-rows $N --until-idle 3s >"$TMP/second.log" 2>&1 &
second=$!
sleep 1
feed "$run.fc" 0 $((N * 2 + 10)) # both count every row; only the second may commit
rc1=0 rc2=0
wait "$first" || rc1=$?
wait "$second" || rc2=$?
echo "# first worker exit $rc1, second $rc2"
triggers "$run.rc" >"$TMP/tc"
check_triggers "two workers" "$TMP/tc" 2
check "the fenced worker stops with an error, the other succeeds" \
    test "$((rc1 + rc2))" -eq 1 -a "$((rc1 * rc2))" -eq 0

# ---- drift against the last window, read back from Kafka by a new process ----------------
feed "$run.fd" 0 100 4.0
check_eq "drift: first window exits 0" 0 \
    "$(exit_code retrain "$run.fd" "$run.rd" "$run.gd" --min-new-rows 100 --drift-threshold 0.5 \
        --drift-min-rows 20 --until-idle 1s)"
printf 'garbage' | kcat -P -b "$FERRY_BROKERS" -t "$run.fd" -k 1
feed "$run.fd" 100 30 1.0
check_eq "drift: second process exits 0" 0 \
    "$(exit_code retrain "$run.fd" "$run.rd" "$run.gd" --min-new-rows 100 --drift-threshold 0.5 \
        --drift-min-rows 20 --until-idle 1s)"
triggers "$run.rd" >"$TMP/td"
check_eq "drift: min_new_rows, then drift after 20 rows, score 0.75 (mean 1 vs 4)" \
    "min_new_rows 100 100 null|drift 20 120 0.75" \
    "$(jq -r '"\(.reason) \(.new) \(.total) \(.drift)"' "$TMP/td" | paste -sd'|')"
check_eq "drift: the garbage record is dead-lettered, once" "undecodable" "$(dlq_reasons "$run.fd.dlq")"
check_eq "drift: the watermark covers the garbage record too" 121 "$(jq -s '.[1].wm' "$TMP/td")"

# ---- max interval --------------------------------------------------------------------------
feed "$run.fe" 0 15
check_eq "interval: exits 0" 0 "$(exit_code retrain "$run.fe" "$run.re" "$run.ge" --min-new-rows 0 \
    --max-interval 1s --min-rows-for-interval 10 --until-idle 2s)"
check_eq "interval: one max_interval trigger with the 15 rows" "max_interval 15" \
    "$(triggers "$run.re" | jq -r '"\(.reason) \(.new)"' | paste -sd'|')"
check_eq "interval: too few rows, no trigger" 0 "$(exit_code retrain "$run.fe" "$run.re" "$run.ge2" \
    --min-new-rows 0 --max-interval 1s --min-rows-for-interval 16 --until-idle 2s)"
check_eq "interval: still one trigger" 1 "$(triggers "$run.re" | wc -l)"

check_eq "every rule off is a usage error" 2 "$(exit_code ferry retrain --min-new-rows 0)"
finish

#!/usr/bin/env bash
# 0401-replay: `ferry replay` resets a consumer group's offsets through Kafka's admin API
# like kafka-consumer-groups --reset-offsets: a dry run prints the plan and changes nothing;
# --earliest makes the group read everything again; --to-time lands exactly on the first
# record of a burst produced after that time, and computes the same plan as Kafka's own
# tool; --to-offset moves only the partitions named; a partition that does not exist is a
# usage error; a group with a running member is refused with a message naming it.
. "$(dirname "$0")/lib.sh"
export TZ=UTC # Kafka's tool reads a zone-less --to-datetime in the JVM's zone
topic=$(unique ferry.it.replay)
group=$topic.g
new_topic "$topic" 3

kt() { "$FERRY_SOURCE_DIR/scripts/kafka-tool" consumer-groups --bootstrap-server "$FERRY_BROKERS" "$@"; }
# committed: "partition:offset ..." of the group on the topic, by Kafka's own tool
committed() { kt --describe --group "$group" 2>/dev/null | awk -v t="$topic" '$2 == t { print $3 ":" $4 }' | sort -n | tr '\n' ' '; }
# ends: "partition:end ..." from Kafka's own tool
ends() { "$FERRY_SOURCE_DIR/scripts/kafka-tool" get-offsets --bootstrap-server "$FERRY_BROKERS" --topic "$topic" 2>/dev/null | awk -F: '{ print $2 ":" $3 }' | sort -n | tr '\n' ' '; }
# consume: reads what the group has not committed yet, commits it, prints the count
consume() { ferry tail --topic "$topic" --group "$group" --commit --until-idle 2s 2>>"$TMP/tail.log" | wc -l; }
produce() { # COUNT SHIP_OFFSET
    ferry telemetry --topic "$topic" --ships 12 --channels 2 --count "$1" --ship-offset "$2" \
        --progress 0 --log-level warn
}

# ---- burst 1, consumed by the group ----------------------------------------------------
produce 120 0
check_eq "the group consumes burst 1" 120 "$(consume)"
before=$(committed)
ends1=$(ends)
check_eq "committed offsets are at the end after consuming" "$ends1" "$before"
parts_with_data=$(echo "$ends1" | tr ' ' '\n' | awk -F: '$2 > 0' | wc -l)
check_eq "burst 1 reached all 3 partitions" 3 "$parts_with_data"

# ---- dry run ----------------------------------------------------------------------------
rc=$(exit_code ferry replay --group "$group" --topic "$topic" --earliest --dry-run)
check_eq "--earliest --dry-run exits 0" 0 "$rc"
cp "$TMP/out" "$TMP/dry.txt"
check "the dry run prints the plan table" grep -q '^PARTITION .*CURRENT .*NEW .*DIFF' "$TMP/dry.txt"
check "the dry run says nothing changed" grep -q 'dry run: nothing changed' "$TMP/dry.txt"
check_eq "the plan has one row per partition" 3 "$(grep -cE '^[0-2] ' "$TMP/dry.txt")"
p0_end=$(echo "$ends1" | tr ' ' '\n' | awk -F: '$1 == 0 { print $2 }')
check_eq "the plan row of partition 0: current end, new 0, diff -end" "0 $p0_end 0 -$p0_end" \
    "$(awk '$1 == 0 { print $1, $2, $3, $4 }' "$TMP/dry.txt")"
check_eq "the dry run changed no committed offset (Kafka's tool)" "$before" "$(committed)"
rc=$(exit_code ferry replay --group "$group" --topic "$topic" --earliest --dry-run --json)
check_eq "--json dry run: current/new/diff/applied" "[$p0_end,0,-$p0_end,false,true]" \
    "$(jq -c '[.partitions[0].current, .partitions[0].new, .partitions[0].diff, .applied, .dry_run]' "$TMP/out")"

# ---- earliest ---------------------------------------------------------------------------
check_eq "--earliest exits 0" 0 "$(exit_code ferry replay --group "$group" --topic "$topic" --earliest)"
check_eq "--earliest: every committed offset is 0 (Kafka's tool)" "0:0 1:0 2:0 " "$(committed)"
check_eq "after --earliest the group reads all 120 records again" 120 "$(consume)"

# ---- to-time between two bursts ---------------------------------------------------------
sleep 2
cut=$(date -u +%Y-%m-%dT%H:%M:%S.%3N)
sleep 1
produce 90 100
check_eq "the group consumes burst 2" 90 "$(consume)"
ends2=$(ends)
rc=$(exit_code ferry replay --group "$group" --topic "$topic" --to-time "$cut" --dry-run --json)
check_eq "--to-time --dry-run exits 0" 0 "$rc"
ferry_plan=$(jq -r '.partitions[] | "\(.partition):\(.new)"' "$TMP/out" | sort -n | tr '\n' ' ')
check_eq "--to-time plan = first offset of burst 2 in every partition" "$ends1" "$ferry_plan"
kt --group "$group" --topic "$topic" --reset-offsets --to-datetime "$cut" --dry-run >"$TMP/kafka-plan.txt" 2>&1 || true
kafka_plan=$(awk -v t="$topic" '$2 == t { print $3 ":" $4 }' "$TMP/kafka-plan.txt" | sort -n | tr '\n' ' ')
check_eq "Kafka's own --to-datetime computes the same plan" "$kafka_plan" "$ferry_plan"
check_eq "--to-time (ISO, with zone) exits 0" 0 \
    "$(exit_code ferry replay --group "$group" --topic "$topic" --to-time "${cut}Z")"
check_eq "--to-time: committed offsets are the first offsets of burst 2" "$ends1" "$(committed)"
check_eq "after --to-time the group reads exactly burst 2 again" 90 "$(consume)"
cut_ms=$(date -u -d "$cut" +%s%3N)
check_eq "--to-time in epoch milliseconds gives the same plan" "$ferry_plan" \
    "$(ferry replay --group "$group" --topic "$topic" --to-time "$cut_ms" --dry-run --json 2>/dev/null |
        jq -r '.partitions[] | "\(.partition):\(.new)"' | sort -n | tr '\n' ' ')"
rc=$(exit_code ferry replay --group "$group" --topic "$topic" --to-time 2099-01-01T00:00:00Z --dry-run --json)
check_eq "a time after the last record plans the end offsets (as Kafka's tool)" "$ends2" \
    "$(jq -r '.partitions[] | "\(.partition):\(.new)"' "$TMP/out" | sort -n | tr '\n' ' ')"

# ---- to-offset: only the partitions named -----------------------------------------------
before=$(committed)
check_eq "--to-offset 0:5 exits 0" 0 "$(exit_code ferry replay --group "$group" --topic "$topic" --to-offset 0:5)"
check_eq "--to-offset 0:5 moves partition 0 only" \
    "$(echo "$before" | sed -E 's/(^| )0:[0-9]+/\10:5/')" "$(committed)"
p0_end2=$(echo "$ends2" | tr ' ' '\n' | awk -F: '$1 == 0 { print $2 }')
check_eq "the group then reads partition 0 from offset 5" $((p0_end2 - 5)) "$(consume)"
check_eq "--to-offset of a partition that does not exist is a usage error" 2 \
    "$(exit_code ferry replay --group "$group" --topic "$topic" --to-offset 0:1,3:5)"
check "  ... naming the partition" grep -q 'partition 3 of topic .* does not exist' "$TMP/err"
check_eq "  ... and nothing changed" "$ends2" "$(committed)"
check_eq "a malformed --to-offset is a usage error" 2 \
    "$(exit_code ferry replay --group "$group" --topic "$topic" --to-offset 0=5)"
check_eq "two targets at once are a usage error" 2 \
    "$(exit_code ferry replay --group "$group" --topic "$topic" --earliest --latest)"
check_eq "an unknown topic is a usage error" 2 \
    "$(exit_code ferry replay --group "$group" --topic "$topic.nope" --earliest)"

# ---- refused while a member is running --------------------------------------------------
"$FERRY_BIN" tail --topic "$topic" --group "$group" -X client.id=replay-blocker >/dev/null 2>"$TMP/member.log" &
member=$!
stable() { [ "$(ferry status --group "$group" --json 2>/dev/null | jq -r '.groups[0].state')" = Stable ]; }
check "the running member joined the group" wait_for stable
before=$(committed)
rc=$(exit_code ferry replay --group "$group" --topic "$topic" --earliest)
check_eq "--earliest while a member runs exits 1" 1 "$rc"
check "  ... with a message naming the member's client id and host" \
    grep -qE 'group .* is active .*replay-blocker@/?127\.0\.0\.1' "$TMP/err"
check "  ... and the plan saying REFUSED" grep -q 'REFUSED' "$TMP/out"
check_eq "  ... and nothing changed" "$before" "$(committed)"
check_eq "a dry run is refused too (exit 1), as Kafka's tool does" 1 \
    "$(exit_code ferry replay --group "$group" --topic "$topic" --earliest --dry-run --json)"
check_eq "  ... its JSON plan says refused and names the member" "true replay-blocker" \
    "$(jq -r '"\(.refused) \(.members[0].client_id)"' "$TMP/out")"
kill -TERM "$member"
wait "$member" || true
empty() { [ "$(ferry status --group "$group" --json 2>/dev/null | jq -r '.groups[0].state')" = Empty ]; }
check "the member left" wait_for empty
check_eq "once the member is gone --latest works" 0 \
    "$(exit_code ferry replay --group "$group" --topic "$topic" --latest)"
check_eq "--latest: committed = end offsets" "$ends2" "$(committed)"

check_eq "an unreachable Kafka exits 3" 3 \
    "$(exit_code ferry replay --brokers 127.0.0.1:1 --timeout 2s --group "$group" --topic "$topic" --earliest)"
finish

#!/usr/bin/env bash
# 0205-preprocess-big-dead-letter: a record the broker took but that cannot be dead-lettered
# whole (999,950 bytes of garbage: with ferry's headers it passes the producer's
# 1,000,000-byte limit) never wedges preprocess: it is dead-lettered truncated, with
# ferry.dlq.truncated and its size, in the same transaction as the good records around it,
# which are stored. (Before, the transaction failed on every attempt and the worker never got
# past it.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/movies_lib.sh"

run=$(unique it.bigdl)
tab="it_bigdl_$$"
create_topics 1 "$run.m" "$run.f"
make_movies "$TMP/all.jsonl"
head -3 "$TMP/all.jsonl" | jq -c '.id += 7000000' >"$TMP/before.jsonl"
sed -n 4,6p "$TMP/all.jsonl" | jq -c '.id += 8000000' >"$TMP/after.jsonl"
ferry produce --topic "$run.m" --schema MovieCrawled "$TMP/before.jsonl" 2>>"$TMP/produce.log"
python3 -c "import sys; sys.stdout.write('x' * 999950)" >"$TMP/big.bin"
kcat -P -b "$FERRY_BROKERS" -t "$run.m" -p 0 -k big -X message.max.bytes=2000000 "$TMP/big.bin"
ferry produce --topic "$run.m" --schema MovieCrawled "$TMP/after.jsonl" 2>>"$TMP/produce.log"

check_eq "preprocess gets through the big record and exits 0" 0 \
    "$(exit_code timeout 60 "$FERRY_BIN" preprocess --pg "$FERRY_PG_URL" --topic "$run.m" \
        --features-topic "$run.f" --group "$run.g" --movies-table "${tab}_m" \
        --watch-log-table "${tab}_w" --until-idle 2s)"
check "  it said it truncated the dead letter" grep -q 'is 999950 bytes, more than .* takes: truncated' "$TMP/err"
check_eq "the movies before and after it are stored" \
    "$(cat "$TMP/before.jsonl" "$TMP/after.jsonl" | jq -s 'map(.id) | unique | length')" \
    "$(psql "$FERRY_PG_URL" -qAtc "select count(*) from ${tab}_m")"
kcat -C -b "$FERRY_BROKERS" -t "$run.m.dlq" -X isolation.level=read_committed -e -q \
    -f '%k %S %h\n' >"$TMP/dlq.txt"
check_eq "one dead letter, committed" 1 "$(wc -l <"$TMP/dlq.txt")"
check "  keyed as the source, marked truncated, with the source's size" \
    grep -q '^big [0-9]* .*ferry.dlq.truncated=true.*ferry.source.size=999950' "$TMP/dlq.txt"
check "  with its reason" grep -q 'ferry.error.reason=undecodable' "$TMP/dlq.txt"
size=$(awk '{print $2}' "$TMP/dlq.txt")
check "  and as much of the value as fits (990,000 to 999,950 bytes: $size)" \
    test "$size" -ge 990000 -a "$size" -lt 999950
psql "$FERRY_PG_URL" -qc "drop table if exists ${tab}_m, ${tab}_w" >/dev/null
finish

#!/usr/bin/env bash
# 0506-contracts-movies: the movie flow through the Schema Registry with clients nobody here
# wrote.
#  - Python (confluent-kafka AvroSerializer) produces MovieCrawled through the registry: half
#    with ferry's schema, half with an evolved one (a field added with a default); `ferry
#    preprocess` stores exactly the latest fetch of every movie, dead-letters nothing;
#  - its WatchLogFeature events (registry framing, the default with a registry) are read by
#    confluent-kafka's AvroDeserializer: those of the stored fetches are exactly the watch_log
#    rows, field for field;
#  - `ferry retrain` reads them and fires; its RetrainRequested events (registry framing) are
#    read by the AvroDeserializer with the values ferry tail shows, N new rows each;
#  - a registry-framed record reaching preprocess without a registry stops it (exit 1), and
#    nothing is committed or dead-lettered;
#  - with the registry stopped for 20 s, a new preprocess worker stores nothing and
#    dead-letters nothing while it waits, and once the registry is back stores the same tables.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/movies_lib.sh"
. "$(dirname "$0")/contracts_lib.sh"

run=$(unique it.contracts.mv)
tab=$(echo "it_cmv_$$_$(date +%s%N | tail -c 7)")
make_movies "$TMP/good.jsonl"
n_good=$(wc -l <"$TMP/good.jsonl")
head -n $((n_good / 2)) "$TMP/good.jsonl" >"$TMP/half1.jsonl"
tail -n +$((n_good / 2 + 1)) "$TMP/good.jsonl" >"$TMP/half2.jsonl"
create_topics 2 "$run.m" "$run.f"
create_topics 1 "$run.r" "$run.f.0" "$run.f.2"
MOVIE_V1=$FERRY_SOURCE_DIR/schemas/MovieCrawled.avsc
jq '.fields += [{"name": "crawler", "type": ["null", "string"], "default": null,
    "doc": "added by the other team"}]' "$MOVIE_V1" >"$TMP/MovieCrawled.v2.avsc"

for h in 1 2; do
    schema=$MOVIE_V1 extra=
    [ $h = 2 ] && schema=$TMP/MovieCrawled.v2.avsc extra='{"crawler": "team-py"}'
    "$PY" "$CONTRACTS" produce-records --brokers "$FERRY_BROKERS" --registry "$FERRY_SCHEMA_REGISTRY" \
        --topic "$run.m" --schema "$schema" --file "$TMP/half$h.jsonl" --key id ${extra:+--extra "$extra"} \
        2>>"$TMP/py.log" || { cat "$TMP/py.log" >&2; fail "contracts.py produce-records (half $h)"; }
done
check_eq "the registry holds both versions of $run.m-value" 2 \
    "$(curl -fsS "$FERRY_SCHEMA_REGISTRY/subjects/$run.m-value/versions" | jq length)"
check_eq "Python's records are in registry framing" "$n_good registry" \
    "$(committed_values "$run.m" | jq -r .framing | sort | uniq -c | awk '{print $1, $2}')"

# Without a registry, a registry-framed record stops the worker before anything is committed.
check_eq "preprocess without a registry exits 1" 1 "$(FERRY_SCHEMA_REGISTRY= exit_code ferry preprocess \
    --pg "$FERRY_PG_URL" --topic "$run.m" --features-topic "$run.f" --group "$run.g0" \
    --movies-table "${tab}_m0" --watch-log-table "${tab}_w0" --until-idle 1s)"
check "... saying a registry is needed" grep -q 'Schema Registry framing (schema id [0-9]*), but no --schema-registry' "$TMP/err"
check_eq "... no movie stored" 0 "$(psql "$FERRY_PG_URL" -Atc "select count(*) from ${tab}_m0")"
check_eq "... nothing dead-lettered" 0 "$(dlq_count "$run.m")"
check_eq "the same group with the registry exits 0" 0 "$(exit_code ferry preprocess --pg "$FERRY_PG_URL" \
    --topic "$run.m" --features-topic "$run.f.0" --group "$run.g0" --movies-table "${tab}_m0" \
    --watch-log-table "${tab}_w0" --until-idle 1s)"
check "... and processes every record: nothing was committed past them" \
    grep -q "records $n_good, " "$TMP/err"

check_eq "preprocess with the registry exits 0" 0 "$(exit_code ferry preprocess --pg "$FERRY_PG_URL" \
    --topic "$run.m" --features-topic "$run.f" --group "$run.g1" --movies-table "${tab}_m1" \
    --watch-log-table "${tab}_w1" --until-idle 1s)"
check "... every record processed, none dead-lettered" \
    grep -q "records $n_good, movies stored .*dead-lettered 0" "$TMP/err"
check_eq "... the dead-letter topic is empty" 0 "$(dlq_count "$run.m")"
check "... WatchLogFeature registered under $run.f-value" grep -q "registered under $run.f-value" "$TMP/err"

jq -s -S 'group_by(.id) | map(max_by(.fetched_at)) | map(
    .raw_json |= fromjson | .details_json |= (if . == null then null else fromjson end))
    | sort_by(.id)' "$TMP/good.jsonl" >"$TMP/expected.json"
psql "$FERRY_PG_URL" -Atc "select coalesce(json_agg(json_build_object(
    'id', id, 'title', title, 'original_title', original_title,
    'original_language', original_language, 'overview', overview,
    'release_date', coalesce(release_date::text, ''), 'popularity', popularity,
    'vote_average', vote_average, 'vote_count', vote_count, 'adult', adult, 'video', video,
    'genre_ids', genre_ids, 'poster_path', poster_path, 'backdrop_path', backdrop_path,
    'raw_json', raw_json, 'details_json', details_json, 'job_id', job_id, 'endpoint', endpoint,
    'page', page, 'fetched_at', (extract(epoch from fetched_at) * 1000000)::bigint,
    'language', language, 'region', region) order by id), '[]') from ${tab}_m1" |
    jq -S . >"$TMP/actual.json"
check "movies = the latest fetch of each id, column for column as Python sent it" \
    diff "$TMP/expected.json" "$TMP/actual.json"

# The registry away: a new worker (its schema cache empty; its events single-object, so only
# reading needs the registry) waits, and catches up after.
STACK="$FERRY_SOURCE_DIR/scripts/stack"
"$STACK" registry-stop >/dev/null
"$FERRY_BIN" preprocess --pg "$FERRY_PG_URL" --topic "$run.m" --features-topic "$run.f.2" \
    --group "$run.g2" --movies-table "${tab}_m2" --watch-log-table "${tab}_w2" --until-idle 3s \
    --wire-format single-object 2>"$TMP/outage.log" &
pid=$!
sleep 20
check_eq "registry away 20 s: no movie stored" 0 "$(psql "$FERRY_PG_URL" -Atc "select count(*) from ${tab}_m2")"
check_eq "... nothing dead-lettered" 0 "$(dlq_count "$run.m")"
check "... the worker says it will redo the batch for the registry" \
    grep -q 'will be redone: schema registry' "$TMP/outage.log"
"$STACK" registry-start >/dev/null
rc=0
wait $pid || rc=$?
check_eq "registry back: the worker finishes, exit 0" 0 "$rc"
check_eq "... the same movies as the first worker (md5)" "$(movies_checksum "${tab}_m1")" \
    "$(movies_checksum "${tab}_m2")"
check_eq "... still nothing dead-lettered" 0 "$(dlq_count "$run.m")"

# The features, read by confluent-kafka's AvroDeserializer.
n_feat=$(kcat -C -b "$FERRY_BROKERS" -t "$run.f" -X isolation.level=read_committed -e -q -f 'x\n' | wc -l)
check_eq "features were written" 1 "$([ "$n_feat" -gt "$n_good" ] && echo 1)"
"$PY" "$CONTRACTS" read --brokers "$FERRY_BROKERS" --registry "$FERRY_SCHEMA_REGISTRY" \
    --topic "$run.f" --group "$run.py1" --framing registry --count "$n_feat" >"$TMP/feat.json"
check_eq "AvroDeserializer decoded every feature event" "$n_feat" "$(wc -l <"$TMP/feat.json")"
psql "$FERRY_PG_URL" -Atc "select source_partition, source_offset from ${tab}_m1" | tr '|' '\t' |
    sort >"$TMP/winners"
jq -r '[.source.partition, .source.offset, .content_id, .user_id, .watch_seconds, .rating,
        .popularity, .event_time, .derivation_version] | @tsv' "$TMP/feat.json" >"$TMP/feat.tsv"
awk -F'\t' 'NR == FNR { w[$1 "\t" $2] = 1; next } ($1 "\t" $2) in w {
    print $3 "\t" $4 "\t" $5 "\t" $6 "\t" $7 "\t" $8 }' "$TMP/winners" "$TMP/feat.tsv" | sort >"$TMP/from_events"
psql "$FERRY_PG_URL" -Atc "select content_id, user_id, watch_seconds, rating, popularity,
    (extract(epoch from event_time) * 1000000)::bigint from ${tab}_w1" | tr '|' '\t' |
    sort >"$TMP/watch_rows"
check_eq "watch_log has rows" 1 "$([ "$(wc -l <"$TMP/watch_rows")" -gt 20 ] && echo 1)"
check "the events of the stored fetches, as Python reads them, are exactly watch_log" \
    diff "$TMP/watch_rows" "$TMP/from_events"
check_eq "every event says derivation version 1" 0 "$(awk -F'\t' '$9 != 1' "$TMP/feat.tsv" | wc -l)"

# Retrain on them; its triggers read by Python.
N=$((n_feat / 3))
check_eq "retrain exits 0" 0 "$(exit_code ferry retrain --topic "$run.f" --retrain-topic "$run.r" \
    --group "$run.gr" --min-new-rows "$N" --until-idle 1s)"
"$PY" "$CONTRACTS" read --brokers "$FERRY_BROKERS" --registry "$FERRY_SCHEMA_REGISTRY" \
    --topic "$run.r" --group "$run.py2" --framing registry --count 3 >"$TMP/trig.py"
check_eq "AvroDeserializer reads the 3 RetrainRequested events, N new rows each, totals k*N" \
    "$(printf 'min_new_rows %s %s\n' "$N" "$N" "$N" $((2 * N)) "$N" $((3 * N)))" \
    "$(jq -r '"\(.reason) \(.new_rows) \(.total_rows)"' "$TMP/trig.py" | sort -k3n)"
committed_values "$run.r" | jq -S -c '.value' | sort >"$TMP/trig.ferry"
check "... field for field what ferry tail decodes" diff <(jq -S -c . "$TMP/trig.py" | sort) "$TMP/trig.ferry"
check_eq "... in registry framing" "3 registry" \
    "$(committed_values "$run.r" | jq -r .framing | sort | uniq -c | awk '{print $1, $2}')"
check_eq "a restarted retrain worker reads its registry-framed triggers and fires none again" 0 \
    "$(exit_code ferry retrain --topic "$run.f" --retrain-topic "$run.r" --group "$run.gr" \
        --min-new-rows "$N" --until-idle 1s)"
check_eq "... still 3 triggers" 3 \
    "$(kcat -C -b "$FERRY_BROKERS" -t "$run.r" -X isolation.level=read_committed -e -q -f 'x\n' | wc -l)"
finish

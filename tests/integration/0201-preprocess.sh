#!/usr/bin/env bash
# 0201-preprocess: `ferry preprocess` against the real stack.
#  - `movies` holds exactly the latest fetch of every valid movie, column for column as fed
#    (non-Latin titles, null paths, empty dates and genres, details bodies); a later fetch
#    wins, an earlier fetch arriving later loses;
#  - bad records (vote_average 11, id 0 and -3, impossible date, empty title, NaN
#    popularity, garbage bytes, another schema) are dead-lettered with their reason, once,
#    and the good records around them are processed;
#  - the features topic, read as a read_committed consumer, holds exactly one copy of the
#    derived events of every valid record (no duplicate, none missing), and the events of
#    each stored fetch are exactly its watch_log rows;
#  - the whole pipeline run again on a fresh topic, group and tables gives identical
#    `movies` and `watch_log` (md5 of the ordered rows) and identical events;
#  - replaying the topic (group reset to earliest) changes neither table and emits every
#    event exactly once more (one copy per processing);
#  - a worker killed with SIGKILL at random moments and restarted converges to the same
#    tables and still exactly one copy of every event.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/movies_lib.sh"

run=$(unique it.mv)
tab=$(echo "it_mv_$$_$(date +%s%N | tail -c 7)")
make_movies "$TMP/good.jsonl"
make_bad "$TMP/bad.jsonl"
n_good=$(wc -l <"$TMP/good.jsonl")
n_ids=$(jq -s 'map(.id) | unique | length' "$TMP/good.jsonl")
create_topics 3 "$run.m1" "$run.f1" "$run.m2" "$run.f2" "$run.m3" "$run.f3"
for i in 1 2 3; do feed_movies "$run.m$i" "$TMP/good.jsonl" "$TMP/bad.jsonl"; done

preprocess() { # N GROUP [extra options...]
    local n=$1 g=$2
    shift 2
    ferry preprocess --pg "$FERRY_PG_URL" --topic "$run.m$n" --features-topic "$run.f$n" \
        --group "$g" --movies-table "${tab}_m$n" --watch-log-table "${tab}_w$n" "$@"
}

# ---- run 1 ------------------------------------------------------------------------------
check_eq "run 1 exits 0" 0 "$(exit_code preprocess 1 "$run.g1" --until-idle 1s)"
cp "$TMP/err" "$TMP/run1.err"
check "run 1 summary counts the records and dead letters" \
    grep -q "records $((n_good + 8)), movies stored $((n_good - 20)), stale fetches 20, .*dead-lettered 8" "$TMP/run1.err"

# movies: exactly the latest fetch of each id, every column as fed
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
check_eq "movies has one row per valid id" "$n_ids" "$(jq length "$TMP/actual.json")"
if diff -u "$TMP/expected.json" "$TMP/actual.json" >"$TMP/movies.diff"; then
    ok "movies matches the latest fetch of every movie, column for column"
else
    head -30 "$TMP/movies.diff"
    not_ok "movies differs from what was fed"
fi
check "a Korean title is stored as sent" \
    grep -q '"영화 Spider-Man: No Way Home (한국어)"' "$TMP/actual.json"
check "the Japanese original title is stored as sent" \
    grep -q '劇場版「鬼滅の刃」無限列車編' "$TMP/actual.json"
check_eq "the re-fetch (later fetched_at) won for every page-1 movie" 20 \
    "$(jq '[.[] | select(.page == 6)] | length' "$TMP/actual.json")"
check_eq "the stale fetch (earlier fetched_at, later offset) lost everywhere" 0 \
    "$(jq '[.[] | select(.page == 7 or (.title | startswith("STALE")))] | length' "$TMP/actual.json")"
check_eq "a movie without a translated title is stored, title empty" "|Spider-Man: No Way Home" \
    "$(psql "$FERRY_PG_URL" -Atc "select title, original_title from ${tab}_m1 where id = 6346494")"
check_eq "null paths and empty dates stored as NULL" 20 \
    "$(psql "$FERRY_PG_URL" -Atc "select count(*) from ${tab}_m1 where poster_path is null and
        backdrop_path is null and release_date is null and genre_ids = '{}' and page = 4")"
check_eq "details bodies stored as jsonb" 20 \
    "$(psql "$FERRY_PG_URL" -Atc "select count(*) from ${tab}_m1 where (details_json->>'runtime')::int = 148")"

# dead letters: each bad record once, with its reason; nothing bad in the tables
printf '%s\n' empty_title invalid_id invalid_id invalid_popularity invalid_release_date \
    invalid_vote_average undecodable wrong_schema | sort >"$TMP/reasons.want"
dlq_reasons "$run.m1.dlq" >"$TMP/reasons.got"
if diff -u "$TMP/reasons.want" "$TMP/reasons.got"; then
    ok "bad records dead-lettered once each, with their reasons"
else
    not_ok "dead letters differ"
fi
check "dead letters carry the source coordinates" bash -c \
    "kcat -C -b '$FERRY_BROKERS' -t '$run.m1.dlq' -e -q -f '%h\n' | grep -q 'ferry.source.topic=$run.m1,ferry.source.partition=0,ferry.source.offset='"
check_eq "no bad movie reached the table" 0 \
    "$(psql "$FERRY_PG_URL" -Atc "select count(*) from ${tab}_m1 where id <= 0 or id = 990001")"

# features: exactly one copy per valid record, equal to the stored rows for stored fetches
committed_values "$run.f1" >"$TMP/f1.json"
feature_tuples "$TMP/f1.json" >"$TMP/e1"
check "features: no event twice" test -z "$(cut -f1-4 "$TMP/e1" | uniq -d | head -1)"
check_eq "features: every valid record has its events" "$n_good" \
    "$(cut -f1,2 "$TMP/e1" | sort -u | wc -l)"
check_eq "features are keyed by movie id" 0 \
    "$(jq -r 'select(.key != (.value.content_id | tostring)) | .offset' "$TMP/f1.json" | wc -l)"
psql "$FERRY_PG_URL" -Atc "select source_partition, source_offset from ${tab}_m1" |
    tr '|' '\t' | sort >"$TMP/winners"
awk -F'\t' 'NR == FNR { w[$1 "\t" $2] = 1; next } ($1 "\t" $2) in w {
    print $3 "\t" $4 "\t" $5 "\t" $6 "\t" $7 }' "$TMP/winners" "$TMP/e1" | sort >"$TMP/from_events"
psql "$FERRY_PG_URL" -Atc "select content_id, user_id, watch_seconds, rating,
    (extract(epoch from event_time) * 1000000)::bigint from ${tab}_w1" | tr '|' '\t' |
    sort >"$TMP/watch_rows"
check_eq "watch_log has rows" 1 "$([ "$(wc -l <"$TMP/watch_rows")" -gt "$n_ids" ] && echo 1)"
check "watch_log = the events of the stored fetches" diff -q "$TMP/from_events" "$TMP/watch_rows"
# and = the derivation of docs/movies.md, computed again by an oracle written from that text
psql "$FERRY_PG_URL" -Atc "select content_id, user_id, watch_seconds, rating, popularity,
    (extract(epoch from event_time) * 1000000)::bigint from ${tab}_w1" | tr '|' '\t' >"$TMP/watch_full"
python3 "$(dirname "$0")/movie_oracle.py" "$TMP/expected.json" "$TMP/watch_full" >"$TMP/oracle.out" || true
tail -1 "$TMP/oracle.out"
check "watch_log = the documented derivation of each stored fetch (an independent oracle)" \
    awk '/^rows expected/ { ok = $3 == $5 && $3 > 0 && $7 == 0 } END { exit !ok }' "$TMP/oracle.out"
check_eq "watch times within the 120-minute runtime, ratings 0.5..5" 0 \
    "$(psql "$FERRY_PG_URL" -Atc "select count(*) from ${tab}_w1 where watch_seconds not between 0
        and 7200 or rating not between 0.5 and 5")"
m1=$(movies_checksum "${tab}_m1")
w1=$(watch_checksum "${tab}_w1")

# ---- run 2: the same input on a fresh topic, group and tables ----------------------------
check_eq "run 2 exits 0" 0 "$(exit_code preprocess 2 "$run.g2" --until-idle 1s)"
check_eq "run 2: movies identical (md5)" "$m1" "$(movies_checksum "${tab}_m2")"
check_eq "run 2: watch_log identical (md5)" "$w1" "$(watch_checksum "${tab}_w2")"
committed_values "$run.f2" >"$TMP/f2.json"
feature_tuples "$TMP/f2.json" >"$TMP/e2"
check "run 2: identical feature events" diff -q "$TMP/e1" "$TMP/e2"

# ---- replay run 1's topic: reset the group to earliest, process again --------------------
"$KTOOL" consumer-groups --bootstrap-server "$FERRY_BROKERS" --group "$run.g1" \
    --reset-offsets --to-earliest --topic "$run.m1" --execute >"$TMP/reset.out" 2>&1
check "group reset to earliest" grep -q "$run.m1" "$TMP/reset.out"
check_eq "replay exits 0" 0 "$(exit_code preprocess 1 "$run.g1" --until-idle 1s)"
check "replay processed every record again" grep -q "records $((n_good + 8)), " "$TMP/err"
check_eq "replay: movies unchanged (md5)" "$m1" "$(movies_checksum "${tab}_m1")"
check_eq "replay: watch_log unchanged (md5)" "$w1" "$(watch_checksum "${tab}_w1")"
committed_values "$run.f1" >"$TMP/f1b.json"
feature_tuples "$TMP/f1b.json" >"$TMP/e1b"
check "replay: every event exactly twice (once per processing)" \
    diff -q <(sed 'p' "$TMP/e1" | sort) "$TMP/e1b"
check_eq "replay: every bad record dead-lettered once more" 16 \
    "$(dlq_reasons "$run.m1.dlq" | wc -l)"

# ---- run 3: SIGKILL at random moments, restart, converge ---------------------------------
# One record per transaction (1-3 s of work), killed at random moments after each start.
# Static membership (-X group.instance.id) lets the restarted worker take the partitions
# over at once instead of waiting for the killed member's session to time out.
committed_count() {
    kcat -C -b "$FERRY_BROKERS" -t "$1" -X isolation.level=read_committed -e -q -f 'x\n' | wc -l
}
kills=0 progress=""
for _ in 1 2 3 4; do
    # the binary itself in the background (not a shell function), so $! is its pid
    "$FERRY_BIN" preprocess --pg "$FERRY_PG_URL" --topic "$run.m3" --features-topic "$run.f3" \
        --group "$run.g3" --movies-table "${tab}_m3" --watch-log-table "${tab}_w3" \
        --batch-size 1 --batch-time 10ms -X group.instance.id="$run.i3" \
        -X session.timeout.ms=6000 >>"$TMP/run3.log" 2>&1 &
    pid=$!
    # the first kill early (0.3-0.9 s: surely mid-run), the others 0.5-1.5 s after the start
    sleep "$(awk -v r="$RANDOM" -v k="$kills" 'BEGIN {
        printf "%.2f", k == 0 ? 0.3 + (r % 60) / 100 : 0.5 + (r % 100) / 100 }')"
    if [ "$(cat /proc/$pid/comm 2>/dev/null)" = ferry ]; then
        kill -KILL "$pid"
        kills=$((kills + 1))
    fi
    wait "$pid" 2>/dev/null || true
    progress="$progress $(committed_count "$run.f3")"
done
echo "# run 3: committed events after each kill:$progress (of $(wc -l <"$TMP/e1"))"
check_eq "run 3: the worker was killed 4 times" 4 "$kills"
check "run 3: the first kill landed before the work was done" \
    test "$(echo "$progress" | awk '{print $1}')" -lt "$(wc -l <"$TMP/e1")"
check "run 3: no killed worker saw another one running (fenced)" bash -c "test -s '$TMP/run3.log' && ! grep -qi fenced '$TMP/run3.log'"
check_eq "run 3: final run exits 0" 0 \
    "$(exit_code preprocess 3 "$run.g3" --until-idle 1s -X group.instance.id="$run.i3")"
check_eq "run 3: movies identical after the kills (md5)" "$m1" "$(movies_checksum "${tab}_m3")"
check_eq "run 3: watch_log identical after the kills (md5)" "$w1" "$(watch_checksum "${tab}_w3")"
committed_values "$run.f3" >"$TMP/f3.json"
feature_tuples "$TMP/f3.json" >"$TMP/e3"
check "run 3: exactly one copy of every event despite the kills" diff -q "$TMP/e1" "$TMP/e3"
check_eq "run 3: every bad record dead-lettered exactly once" 8 \
    "$(dlq_reasons "$run.m3.dlq" | wc -l)"
echo "# run 3: $(kcat -C -b "$FERRY_BROKERS" -t "$run.f3" -X isolation.level=read_uncommitted \
    -e -q -f 'x\n' | wc -l) feature records in the log, $(wc -l <"$TMP/e3") committed (the rest were aborted)"

for i in 1 2 3; do
    psql "$FERRY_PG_URL" -qc "drop table if exists ${tab}_m$i, ${tab}_w$i" >/dev/null
done
finish

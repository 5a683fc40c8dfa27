# shellcheck shell=bash
# movies_lib.sh - helpers for the movie pipeline's shell tests (sourced after lib.sh):
# building MovieCrawled input from the recorded TMDB page, creating topics, reading a topic
# the way a read_committed consumer sees it, and checksumming the tables.

export KTOOL=${FERRY_SOURCE_DIR:?}/scripts/kafka-tool # used by the tests
FIXTURES=$FERRY_SOURCE_DIR/tests/fixtures/tmdb

# create_topics PARTITIONS TOPIC... : creates the topics, each with its one-partition
# .dlq topic, through `ferry setup` (the admin API).
create_topics() {
    local parts=$1 t args=()
    shift
    for t in "$@"; do args+=(--topic "$t"); done
    ferry setup --skip-pg --partitions "$parts" "${args[@]}" --log-level warn
}

# make_movies OUT_GOOD : writes MovieCrawled JSON lines built from the recorded popular page:
#   pages 1-5: the 20 movies with ids made unique per page; page 2 Korean titles, page 3
#              the Japanese original titles as titles, page 4 null paths / empty date,
#              genres and overview and (for one movie) an empty title, page 5 the
#              recorded details body and language/region;
#   page 6:    a later re-fetch of page 1 with other scores (must win);
#   page 7:    an earlier fetch of page 2 that arrives later (must lose).
make_movies() {
    jq -c --slurpfile det "$FIXTURES/movie_634649.json" '
      .results as $items
      | def base($p): $items[] | . as $it
          | {id: (.id * 10 + $p), title, original_title, original_language, overview,
             release_date, popularity, vote_average, vote_count, adult, video, genre_ids,
             poster_path, backdrop_path, raw_json: ($it | tojson), details_json: null,
             job_id: "it-movies", endpoint: "/3/movie/popular", page: $p,
             fetched_at: (1643673600000000 + $p * 1000000), language: null, region: null};
      [ base(1),
        (base(2) | .title = "영화 " + .title + " (한국어)" | .language = "ko-KR"),
        (base(3) | .title = .original_title + " — 日本語 タイトル"),
        (base(4) | .poster_path = null | .backdrop_path = null | .release_date = ""
                 | .genre_ids = [] | .overview = ""
                 | if .id == 6346494 then .title = "" else . end),
        (base(5) | .details_json = ($det[0] | tojson) | .language = "ko-KR" | .region = "KR"),
        (base(1) | .page = 6 | .fetched_at += 100000000
                 | .vote_average = ((.vote_average + 1.3) | if . > 10 then 10 else . end)
                 | .popularity = .popularity / 3 | .title = .title + " (re-fetched)"),
        (base(2) | .page = 7 | .fetched_at -= 500000000 | .title = "STALE " + .title)
      ] | .[]' "$FIXTURES/popular_page1.json" >"$1"
}

# make_bad OUT : invalid MovieCrawled JSON lines (each must be dead-lettered).
make_bad() {
    jq -c '.results[0]
      | {id: 990001, title, original_title, original_language, overview, release_date,
         popularity, vote_average, vote_count, adult, video, genre_ids, poster_path,
         backdrop_path, raw_json: (. | tojson), details_json: null, job_id: "it-bad",
         endpoint: "/3/movie/popular", page: 1, fetched_at: 1643673600000000, language: null,
         region: null} as $m
      | ($m | .vote_average = 11),
        ($m | .id = 0),
        ($m | .id = -3),
        ($m | .release_date = "2021-02-30"),
        ($m | .title = "" | .original_title = ""),
        ($m | .popularity = "NaN")' "$FIXTURES/popular_page1.json" >"$1"
}

# feed_movies TOPIC GOOD BAD : the same byte-for-byte sequence on every topic it is given:
# good records, a garbage value, the bad records, a record of another schema.
feed_movies() {
    local topic=$1 good=$2 bad=$3
    ferry produce --topic "$topic" --schema MovieCrawled "$good" 2>>"$TMP/produce.log"
    printf 'this is not avro' | kcat -P -b "$FERRY_BROKERS" -t "$topic" -k 4242 -p 0
    ferry produce --topic "$topic" --schema MovieCrawled "$bad" 2>>"$TMP/produce.log"
    # a record of another embedded schema (wrong_schema), single-object even when the stack's
    # FERRY_SCHEMA_REGISTRY would make TelemetryReading registry-framed
    echo '{"ship_id":"IMO-1","channel_id":"rpm","timestamp":1,"value":1.5}' |
        ferry produce --topic "$topic" --schema TelemetryReading --key ship_id \
            --wire-format single-object 2>>"$TMP/produce.log"
}

# committed_values TOPIC : every record a read_committed consumer sees, as natural JSON with
# its coordinates ({topic, partition, offset, key, value, ...}), one per line.
committed_values() {
    ferry tail -X isolation.level=read_committed --topic "$1" --meta --until-idle 500ms \
        --log-level warn
}

# dlq_reasons TOPIC : the ferry.error.reason header of every committed dead letter, sorted.
dlq_reasons() {
    kcat -C -b "$FERRY_BROKERS" -t "$1" -X isolation.level=read_committed -e -q -f '%h\n' |
        tr ',' '\n' | sed -n 's/^ferry\.error\.reason=//p' | sort
}

# movies_checksum TABLE / watch_checksum TABLE : md5 of the ordered rows (every column but
# the source topic name, which differs between runs by construction).
movies_checksum() {
    psql "$FERRY_PG_URL" -Atc "select md5(coalesce(string_agg(t::text, E'\n' order by id), ''))
      from (select id, title, original_title, original_language, overview, release_date,
            popularity, vote_average, vote_count, adult, video, genre_ids, poster_path,
            backdrop_path, raw_json, details_json, job_id, endpoint, page, fetched_at, language,
            region, source_partition, source_offset, derivation_version from $1) t"
}
watch_checksum() {
    psql "$FERRY_PG_URL" -Atc "select md5(coalesce(string_agg(t::text, E'\n'
      order by content_id, user_id), '')) from $1 t"
}

# feature_tuples FILE : "source_partition source_offset content user secs rating event_time"
# per feature event of a committed_values dump, sorted.
feature_tuples() {
    jq -r '.value | [.source.partition, .source.offset, .content_id, .user_id, .watch_seconds,
        .rating, .event_time] | @tsv' "$1" | sort
}

#!/usr/bin/env bash
# 0104-crawl-hostile: `ferry crawl tmdb` against hostile answers of the local TMDB server,
# with the real broker:
#   - a 50 MB list page is not read past --max-body (default 4 x max.message.bytes): the page
#     is dead-lettered (key "<job>/<page>", its size and reason) and recorded as done, so the
#     next run does not fetch it again; a 50 MB details body dead-letters its movie;
#   - a movie whose event is larger than the topic's max.message.bytes is dead-lettered, the
#     rest of its page published;
#   - vote_count 1e300 / -1e300 and an id of 99999999999999999999 dead-letter those movies
#     with their reasons (never undefined behaviour), the other movies of the page arrive;
#   - total_pages 1e300 is a clear page error;
#   - 301/302/307/308 redirects are followed; a redirect loop ends at the limit, not retried.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/crawl_lib.sh"

key="it-key-$$-$RANDOM"
export TMDB_TEST_API_KEY=$key
start_tmdb hostile --total-pages 10 --big-page 2:52428800 --big-item 3:2000000 \
    --odd-numbers 4 --redirect 5,6,7,8 --big-details 9:52428800 --redirect-loop 10
topic=$(unique it.crawl.hostile)
ptopic=$(unique it.crawl.hostile.progress)
crawl() {
    env -u TMDB_TOKEN TMDB_API_KEY="$key" "$FERRY_BIN" crawl tmdb --base-url "$TMDB_URL" \
        --rate 50 --concurrency 4 --timeout 20s --retries 1 --topic "$topic" \
        --progress-topic "$ptopic" "$@"
}
job=$(unique job)

# ---- pages 1-8: big page, big item, odd numbers, redirects ----
check_eq "crawl of pages 1-8 exits 0" 0 "$(exit_code crawl --pages 1-8 --job "$job")"
cp "$TMP/err" "$TMP/crawl.err"
grep -E 'ERROR|WARN' "$TMP/crawl.err" | cut -c1-260 | head -12
summary=$(grep 'crawl tmdb done' "$TMP/crawl.err" || true)
check "summary: 8 pages done, 0 failed" grep -q 'pages 8 done, 0 done before, 0 failed' <<<"$summary"
check "summary: 136 movies sent, 5 dead-lettered" \
    grep -q 'movies 136 sent, 136 acknowledged, 5 dead-lettered' <<<"$summary"
check_eq "the 50 MB page was requested once (not retried)" 1 \
    "$(grep '"kind": "list"' "$TMDB_LOG" | grep -c '"page": 2,' || true)"
check_eq "every redirected page was fetched at its new place" 4 \
    "$(grep '"kind": "list"' "$TMDB_LOG" | grep -c '"redirected": true' || true)"
check "the key never appears on stderr" bash -c "! grep -q -- '$key' '$TMP/crawl.err'"

check_eq "tail exits 0" 0 "$(exit_code ferry tail --topic "$topic" --until-idle 3s)"
cp "$TMP/out" "$TMP/tail.jsonl"
check_eq "136 events on the topic" 136 "$(wc -l <"$TMP/tail.jsonl")"
check_eq "per page: 20, 0, 19, 17, 20, 20, 20, 20 movies" "20 19 17 20 20 20 20" \
    "$(jq -r '.page' "$TMP/tail.jsonl" | sort -n | uniq -c | awk '{print $1}' | tr '\n' ' ' | sed 's/ $//')"
check "the movies of redirected pages arrived exactly as served" \
    $CRAWL_CHECK compare <(grep -E '"page": [5-8],' "$TMDB_SERVED") \
    <(ferry tail --topic "$topic" --meta --until-idle 2s | jq -c 'select(.value.page >= 5)') \
    --job "$job" --endpoint /3/movie/popular --pages 5-8

kcat -C -b "$FERRY_BROKERS" -t "$topic.dlq" -e -q \
    -f '%k\t%h\t%S\n' 2>/dev/null | sed 's/ferry.dlq.time=[0-9]*//' >"$TMP/dlq" || true
cut -c1-300 "$TMP/dlq"
check_eq "5 dead letters" 5 "$(wc -l <"$TMP/dlq")"
# its Content-Length announced the size: refused before a byte of the body was read
check "the 50 MB page: keyed <job>/2, with its size and reason" \
    grep -qE "^$job/2	.*ferry.error.reason=body_too_large.*page 2 of /3/movie/popular.*response body larger than 4194352 bytes \(Content-Length: 52[0-9]{6}\); not read further" "$TMP/dlq"
check "the huge movie: event_too_large, keyed by its id" \
    grep -qE "^[0-9]+003	.*ferry.error.reason=event_too_large.*more than .* takes \(max.message.bytes 1048588\)" "$TMP/dlq"
check "vote_count 1e300: dead-lettered with the reason" \
    grep -qE "^[0-9]+004	.*reason=bad_list_item.*\"vote_count\" is 1.0000000000000001e\+300: out of the 64-bit integer range \(page 4 of" "$TMP/dlq"
check "vote_count -1e300: dead-lettered with the reason" \
    grep -qE "^[0-9]+004	.*\"vote_count\" is -1.0000000000000001e\+300: out of the 64-bit" "$TMP/dlq"
check "id 99999999999999999999: dead-lettered, keyed by the id as written" \
    grep -qE "^99999999999999999999	.*list item 4 cannot be read: too big integer" "$TMP/dlq"
check_eq "pages 1-8 are recorded as done (the dead-lettered one too)" "1 2 3 4 5 6 7 8" \
    "$(progress_pages "$ptopic" "$job" | tr '\n' ' ' | sed 's/ $//')"
before=$(count_requests "$TMDB_LOG" "")
check_eq "the same job again exits 0" 0 "$(exit_code crawl --pages 1-8 --job "$job")"
check_eq "and fetches nothing (the 50 MB page is not fetched forever)" "$before" "$(count_requests "$TMDB_LOG" "")"

# ---- details of 50 MB: the movie is dead-lettered, the page goes on ----
check_eq "page 9 with details exits 0" 0 "$(exit_code crawl --pages 9 --details --job "$(unique det)")"
check "summary: 19 movies sent, 1 dead-lettered" grep -q 'movies 19 sent, 19 acknowledged, 1 dead-lettered' "$TMP/err"
check_eq "the movie of the 50 MB details is in the DLQ with the reason" 1 \
    "$(kcat -C -b "$FERRY_BROKERS" -t "$topic.dlq" -e -q -f '%k %h\n' 2>/dev/null |
        grep -cE '^[0-9]+009 .*reason=details_too_large.*details of movie [0-9]+009: response body larger than' || true)"

# ---- a redirect loop: stops at the limit, no retry ----
n=$(count_requests "$TMDB_LOG" list)
check_eq "a redirect loop: exit 1" 1 "$(exit_code crawl --pages 10 --job "$(unique loop)")"
check "it says so" grep -q 'limit: more than 5 redirects' "$TMP/err"
check_eq "1 request + 5 redirects, not retried" 6 "$(($(count_requests "$TMDB_LOG" list) - n))"

# ---- total_pages 1e300: a clear page error ----
start_tmdb total --bad-total-pages 1
check_eq "total_pages 1e300: exit 1" 1 \
    "$(exit_code env TMDB_API_KEY="$key" "$FERRY_BIN" crawl tmdb --base-url "$TMDB_URL" --topic "$topic" \
        --progress-topic "$ptopic" --pages 1 --retries 0 --job "$(unique tp)")"
check "it names total_pages" grep -q '"total_pages" is 1.0000000000000001e+300, not a page count' "$TMP/err"
check "no runtime error (UBSan)" bash -c "! grep -q 'runtime error' '$TMP/err'"

finish

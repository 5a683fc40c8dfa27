#!/usr/bin/env bash
# 0102-crawl-resume: a crawl killed with SIGKILL in the middle and started again with the same
# --job resumes where it stopped: the pages the progress topic recorded as done before the
# kill are NOT requested again, every other page is, and in the end every movie of every page
# is on the topic and every page is recorded. A different job starts from scratch. The rate
# limit holds across both runs as the server saw them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/crawl_lib.sh"

key="it-key-$$-$RANDOM"
export TMDB_TEST_API_KEY=$key
start_tmdb resume --latency-ms 60
topic=$(unique it.crawl.resume)
ptopic=$(unique it.crawl.resume.progress)
job=$(unique resume-job)
pages=40
rate=10
crawl() {
    env -u TMDB_TOKEN TMDB_API_KEY="$key" "$FERRY_BIN" crawl tmdb --base-url "$TMDB_URL" \
        --pages 1-$pages --rate $rate --concurrency 4 --topic "$topic" \
        --progress-topic "$ptopic" --progress 1s "$@"
}

# ---- run 1, killed when half of the pages were requested ----
# (env execs ferry, so $! is ferry's own pid)
env -u TMDB_TOKEN TMDB_API_KEY="$key" "$FERRY_BIN" crawl tmdb --base-url "$TMDB_URL" \
    --pages 1-$pages --rate $rate --concurrency 4 --topic "$topic" --progress-topic "$ptopic" \
    --progress 1s --job "$job" >"$TMP/run1.out" 2>"$TMP/run1.err" &
pid=$!
for i in $(seq 600); do
    [ "$(count_requests "$TMDB_LOG" list)" -ge 20 ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.05
done
kill -9 $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
n1=$(count_requests "$TMDB_LOG" "")
echo "run 1 killed after $n1 requests"
check "run 1 was killed mid-crawl (not finished)" bash -c "! grep -q 'crawl tmdb done' '$TMP/run1.err'"
progress_pages "$ptopic" "$job" | sort >"$TMP/done1"
d1=$(wc -l <"$TMP/done1")
echo "pages recorded as done before the kill: $(sort -n "$TMP/done1" | tr '\n' ' ')"
check "some pages were recorded as done before the kill" test "$d1" -ge 5
check "not all pages were done before the kill" test "$d1" -lt $pages

# ---- run 2, same job ----
check_eq "run 2 (same job) exits 0" 0 "$(exit_code crawl --job "$job")"
cp "$TMP/err" "$TMP/run2.err"
grep 'crawl tmdb done' "$TMP/run2.err" || tail -5 "$TMP/run2.err"
check "run 2 says $d1 pages were done before" grep -q "pages $((pages - d1)) done, $d1 done before, 0 failed" "$TMP/run2.err"
$CRAWL_CHECK list-pages "$TMDB_LOG" --from-line "$n1" | sort >"$TMP/req2"
check_eq "run 2 requested none of the pages recorded as done" "" \
    "$(comm -12 "$TMP/req2" "$TMP/done1" | tr '\n' ' ')"
check_eq "run 2 requested every page not recorded, each once" \
    "$(seq 1 $pages | sort | comm -23 - "$TMP/done1" | tr '\n' ' ')" \
    "$(tr '\n' ' ' <"$TMP/req2")"
check_eq "all $pages pages are recorded as done" "$(seq 1 $pages | tr '\n' ' ')" \
    "$(progress_pages "$ptopic" "$job" | tr '\n' ' ')"
check "the server never saw more than $rate requests in any 1 s window" $CRAWL_CHECK window "$TMDB_LOG" $rate
check "  and the limiter let the rate through: at least $((rate * 3 / 4)) in its busiest 1 s window" $CRAWL_CHECK window "$TMDB_LOG" $rate --at-least $((rate * 3 / 4))

check_eq "tail exits 0" 0 "$(exit_code ferry tail --topic "$topic" --meta --until-idle 3s)"
cp "$TMP/out" "$TMP/tail.jsonl"
check_eq "every movie of the $pages pages is on the topic" $((pages * 20)) \
    "$(jq -r '.value.id' "$TMP/tail.jsonl" | sort -u | wc -l)"
# Movies of pages fetched twice (in flight at the kill) may be there twice; all as served.
check "every movie arrived as served" $CRAWL_CHECK compare "$TMDB_SERVED" "$TMP/tail.jsonl" \
    --job "$job" --endpoint /3/movie/popular --pages 1-$pages

# ---- another job is another crawl ----
n2=$(count_requests "$TMDB_LOG" "")
check_eq "a new job crawls from scratch" 0 "$(exit_code crawl --job "$job.other" --pages 1-3)"
check_eq "it requested pages 1-3" "1 2 3" \
    "$($CRAWL_CHECK list-pages "$TMDB_LOG" --from-line "$n2" | sort -n | tr '\n' ' ' | sed 's/ $//')"

finish

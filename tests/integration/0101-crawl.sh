#!/usr/bin/env bash
# 0101-crawl: `ferry crawl tmdb` against a local TMDB-compatible server (tests/tmdb_server.py,
# bodies built from the recorded real ones) and the real Kafka broker, with faults injected:
# a 429 with Retry-After: 1, 500s, a response slower than --timeout, a 503 on a details
# request and details that answer 404. Checks that
#   - every page and movie arrives exactly as served (ids, non-Latin titles, null fields,
#     raw_json, details_json or null for the 404s, crawl metadata), keyed by movie id;
#   - the server never saw more requests in any 1-second window than --rate;
#   - the 429's Retry-After was honoured (nothing started during it), failures were retried
#     with backoff, the list's total_pages bounded the range;
#   - every completed page is recorded on the progress topic, and a second run of the same
#     job has nothing left to do (no request at all);
#   - the API key never appears on stderr.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/crawl_lib.sh"

key="it-key-$$-$RANDOM"
export TMDB_TEST_API_KEY=$key
start_tmdb main --total-pages 10 --fail-429 3 --fail-500 5,5 --slow 1:1200,7:3000 \
    --details-404 2,4 --details-500 6
topic=$(unique it.crawl.movies)
ptopic=$(unique it.crawl.progress)
job=$(unique job)
rate=20
crawl() {
    env -u TMDB_TOKEN TMDB_API_KEY="$key" "$FERRY_BIN" crawl tmdb --base-url "$TMDB_URL" \
        --pages 1-12 --details --language ko-KR --region KR --rate $rate --concurrency 8 \
        --timeout 2s --retries 4 --topic "$topic" --progress-topic "$ptopic" --job "$job" \
        --progress 1s "$@"
}

t0=$(date +%s)
check_eq "crawl exits 0" 0 "$(exit_code crawl)"
cp "$TMP/err" "$TMP/crawl.err"
echo "crawl took $(($(date +%s) - t0)) s"
tail -n 3 "$TMP/crawl.err"
summary=$(grep 'crawl tmdb done' "$TMP/crawl.err" || true)
check "summary: 10 pages done, 2 past total_pages" \
    grep -q 'pages 10 done, 0 done before, 0 failed, 0 not finished, 2 past total_pages' <<<"$summary"
check "summary: 200 movies sent and acknowledged" \
    grep -q 'movies 200 sent, 200 acknowledged, 0 dead-lettered' <<<"$summary"
check "summary: the 429, the 5xx and the timeout were counted" \
    grep -qE 'retries 5; 429 1, 5xx 3, timeouts 1, connection errors 0' <<<"$summary"
check "summary: the 2 details 404s were counted" grep -q 'details 404 2;' <<<"$summary"
check "progress lines were printed" grep -q 'INFO crawl: pages' "$TMP/crawl.err"
check "the 404s were logged" grep -q 'details answered HTTP 404' "$TMP/crawl.err"
check "the API key never appears on stderr" bash -c "! grep -q -- '$key' '$TMP/crawl.err'"

# ---- what the server saw ----
log=$TMDB_LOG
check "the server never saw more than $rate requests in any 1 s window" $CRAWL_CHECK window "$log" $rate
check "  and the limiter let the rate through: at least $((rate * 3 / 4)) in its busiest 1 s window" $CRAWL_CHECK window "$log" $rate --at-least $((rate * 3 / 4))
check_eq "every request carried the key (and only the key)" 0 \
    "$(grep -vc '"auth": "key"' "$log" || true)"
check_eq "list requests: 10 pages + 429 + 2x500 + timeout" 14 "$(count_requests "$log" list)"
check_eq "details requests: 200 + one 503" 201 "$(count_requests "$log" details)"
check_eq "no page past total_pages (10) was requested" 0 \
    "$($CRAWL_CHECK list-pages "$log" | awk '$1 > 10' | wc -l)"
check_eq "language and region were sent on every list request" 14 \
    "$(grep '"kind": "list"' "$log" | grep -c '"query": \["language", "page", "region"\]' || true)"
# page 1 answers after 1.2 s: nothing else may start before its total_pages is known
check_eq "the first request was the only one until total_pages was known" 1 \
    "$(python3 -c '
import json,sys
r=[json.loads(l) for l in open(sys.argv[1])]
r.sort(key=lambda x: x["t"])
print(1 if r[0]["kind"]=="list" and r[0]["page"]==1 and r[1]["t"] >= r[0]["t"] + 1.15 else 0)' "$log")"
python3 - "$log" >"$TMP/timing" <<'EOF'
import json, sys
r = sorted((json.loads(l) for l in open(sys.argv[1])), key=lambda x: x["t"])
def first(pred):
    return next(x for x in r if pred(x))
a = first(lambda x: x["kind"] == "list" and x["page"] == 3 and x["status"] == 429)
b = first(lambda x: x["kind"] == "list" and x["page"] == 3 and x["status"] == 200)
during = [x for x in r if a["t"] + 0.1 < x["t"] < a["t"] + 0.95]
print("retry_after_gap %.3f" % (b["t"] - a["t"]))
print("started_during_hold %d" % len(during))
c = [x for x in r if x["kind"] == "list" and x["page"] == 5]
print("backoff_gap %.3f" % (c[1]["t"] - c[0]["t"]))
EOF
cat "$TMP/timing"
check "the 429 was retried after its Retry-After (>= 1 s)" \
    awk '/retry_after_gap/ { exit !($2 >= 0.98) }' "$TMP/timing"
check "nothing started while the 429's Retry-After ran" \
    awk '/started_during_hold/ { exit !($2 == 0) }' "$TMP/timing"
check "the 500 was retried after a backoff (>= 250 ms)" \
    awk '/backoff_gap/ { exit !($2 >= 0.25) }' "$TMP/timing"

# ---- what arrived in Kafka ----
check_eq "tail exits 0" 0 "$(exit_code ferry tail --topic "$topic" --meta --until-idle 3s)"
cp "$TMP/out" "$TMP/tail.jsonl"
check_eq "200 events on the topic" 200 "$(wc -l <"$TMP/tail.jsonl")"
check "every movie arrived exactly as served (incl. non-Latin titles, nulls, details)" \
    $CRAWL_CHECK compare "$TMDB_SERVED" "$TMP/tail.jsonl" --job "$job" \
    --endpoint /3/movie/popular --language ko-KR --region KR --details --pages 1-10
check_eq "Korean titles arrived (one per page)" 10 \
    "$(jq -r '.value.title' "$TMP/tail.jsonl" | grep -c '^기생충 ' || true)"
check_eq "null titles arrived as empty strings" 10 \
    "$(jq -r 'select(.value.title == "") | .value.id' "$TMP/tail.jsonl" | wc -l)"
check_eq "null poster paths stayed null" 10 \
    "$(jq -r 'select(.value.poster_path == null) | .value.id' "$TMP/tail.jsonl" | wc -l)"
check_eq "the two 404 movies have no details" 2 \
    "$(jq -r 'select(.value.details_json == null) | .value.id' "$TMP/tail.jsonl" | wc -l)"
check "every event is keyed by its movie id" \
    bash -c "jq -e -s 'all(.[]; .key == (.value.id | tostring))' '$TMP/tail.jsonl' >/dev/null"
check_eq "nothing was dead-lettered" 0 \
    "$(ferry tail --topic "$topic.dlq" --until-idle 2s 2>/dev/null | wc -l)"

# ---- progress ----
check_eq "pages 1-10 are recorded as done" "$(seq 1 10 | tr '\n' ' ')" \
    "$(progress_pages "$ptopic" "$job" | tr '\n' ' ')"

# ---- the same job again: nothing left to do ----
before=$(count_requests "$log" "")
check_eq "the same job again exits 0" 0 "$(exit_code crawl)"
check "it says every page was done before" grep -q 'nothing to do' "$TMP/err"
check_eq "and made no request" "$before" "$(count_requests "$log" "")"

finish

# crawl_lib.sh - helpers for the crawl integration tests (sourced after lib.sh): a local
# TMDB-compatible server (tests/tmdb_server.py) per test, stopped when the test exits.
: "${FERRY_SOURCE_DIR:?FERRY_SOURCE_DIR is not set; run through ctest}"
CRAWL_CHECK="python3 $FERRY_SOURCE_DIR/tests/integration/crawl_check.py"
TMDB_PIDS=()
crawl_cleanup() {
    local p
    for p in "${TMDB_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap crawl_cleanup EXIT

# start_tmdb NAME [tmdb_server.py options...]: starts a server; sets TMDB_URL (the base URL,
# .../3), TMDB_LOG (its request log) and TMDB_SERVED (what it served). FAILS the test when the
# server does not come up.
start_tmdb() {
    local dir=$TMP/tmdb-$1
    shift
    mkdir -p "$dir"
    python3 "$FERRY_SOURCE_DIR/tests/tmdb_server.py" --port-file "$dir/port" --log "$dir/log" \
        --served "$dir/served" "$@" >"$dir/server.out" 2>&1 &
    TMDB_PIDS+=($!)
    local i
    for i in $(seq 100); do
        [ -s "$dir/port" ] && break
        sleep 0.1
    done
    if [ ! -s "$dir/port" ]; then
        echo "FAIL: the local TMDB server did not start:" >&2
        cat "$dir/server.out" >&2
        exit 1
    fi
    TMDB_URL="http://127.0.0.1:$(cat "$dir/port")/3"
    TMDB_LOG=$dir/log
    TMDB_SERVED=$dir/served
    touch "$TMDB_LOG" "$TMDB_SERVED"
}

# progress_pages TOPIC JOB: the pages recorded as done for JOB, sorted, one per line.
progress_pages() {
    { kcat -C -b "$FERRY_BROKERS" -t "$1" -e -q -f '%k\t%s\n' 2>/dev/null || true; } |
        awk -F'\t' -v job="$2" 'index($1, job "/") == 1 && $2 ~ /"status":"done"/ {
            print substr($1, length(job) + 2) }' | sort -n | uniq
}

# count_requests LOG KIND: number of requests of that kind ("list", "details", "" for all).
count_requests() {
    if [ -z "$2" ]; then wc -l <"$1" | tr -d ' '; else grep -c "\"kind\": \"$2\"" "$1" || true; fi
}

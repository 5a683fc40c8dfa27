#!/usr/bin/env bash
# 0103-crawl-auth: credentials and refusals of `ferry crawl tmdb`.
#   - an invalid key: the server answers 401 with TMDB's real error body; the crawl stops at
#     once (one request, no retry, nothing published, nothing recorded) with a message naming
#     the key problem, exit 1, and the key never shows on stderr, even at debug level;
#   - the same for an invalid v4 token (the message names the token);
#   - a valid token from TMDB_TOKEN_FILE is sent as Authorization: Bearer, never as api_key,
#     also when a key is set too; a valid key from --api-key-file is sent as api_key;
#   - no credentials, pages past the API's cap of 500 and an unknown list are usage errors
#     (exit 2) before any request;
#   - `ferry crawl --help` lists tmdb; `ferry crawl tmdb --help` never shows a secret.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/crawl_lib.sh"

good_key="good-key-$$-$RANDOM"
good_token="eyJhbGciOiJIUzI1NiJ9.good-token-$$-$RANDOM"
export TMDB_TEST_API_KEY=$good_key TMDB_TEST_TOKEN=$good_token
start_tmdb auth
topic=$(unique it.crawl.auth)
ptopic=$(unique it.crawl.auth.progress)
base=(crawl tmdb --base-url "$TMDB_URL" --topic "$topic" --progress-topic "$ptopic" --rate 20)
unset TMDB_API_KEY TMDB_TOKEN TMDB_API_KEY_FILE TMDB_TOKEN_FILE

# ---- an invalid key ----
bad_key="BAD-KEY-$$-SECRET"
t0=$(date +%s%N)
check_eq "invalid key: exit 1" 1 \
    "$(exit_code env TMDB_API_KEY="$bad_key" "$FERRY_BIN" "${base[@]}" --pages 1-50 \
        --concurrency 8 --job "$(unique bad)" --log-level debug)"
t1=$(date +%s%N)
cp "$TMP/err" "$TMP/bad.err"
grep -E 'ERROR' "$TMP/bad.err" | tail -2
check "the message carries TMDB's status_message" \
    grep -q 'Invalid API key: You must be granted a valid key.' "$TMP/bad.err"
check "the message names the API key as the problem" grep -q 'check the API key (TMDB_API_KEY' "$TMP/bad.err"
check "the key never appears on stderr (debug level)" bash -c "! grep -q -- '$bad_key' '$TMP/bad.err'"
check "the key never appears on stdout" bash -c "! grep -q -- '$bad_key' '$TMP/out'"
check_eq "it stopped at once: the server saw exactly one request" 1 "$(count_requests "$TMDB_LOG" "")"
check_eq "that request had the (bad) key" 1 "$(grep -c '"auth": "bad"' "$TMDB_LOG" || true)"
check "it stopped within a few seconds" test $(((t1 - t0) / 1000000)) -lt 15000
check_eq "nothing was published" 0 "$(ferry tail --topic "$topic" --until-idle 2s 2>/dev/null | wc -l)"
check_eq "nothing was recorded as done" 0 \
    "$({ kcat -C -b "$FERRY_BROKERS" -t "$ptopic" -e -q 2>/dev/null || true; } | wc -l)"

# ---- an invalid token ----
n=$(count_requests "$TMDB_LOG" "")
check_eq "invalid token: exit 1" 1 \
    "$(exit_code env TMDB_TOKEN="bad-token-SECRET" "$FERRY_BIN" "${base[@]}" --pages 1-5 --job "$(unique badt)")"
check "the message names the token" grep -q 'check the v4 read access token (TMDB_TOKEN' "$TMP/err"
check "the token never appears on stderr" bash -c "! grep -q 'bad-token-SECRET' '$TMP/err'"
check_eq "one request, sent with the bearer token" 1 \
    "$(tail -n +$((n + 1)) "$TMDB_LOG" | grep -c '"auth": "bad"' || true)"

# ---- a valid token from a file, with a key set as well: the token wins ----
printf '%s\n' "$good_token" >"$TMP/token"
n=$(count_requests "$TMDB_LOG" "")
job=$(unique tok)
check_eq "token from TMDB_TOKEN_FILE: exit 0" 0 \
    "$(exit_code env TMDB_TOKEN_FILE="$TMP/token" TMDB_API_KEY="$good_key" "$FERRY_BIN" "${base[@]}" \
        --pages 1-2 --details --job "$job")"
tail -n +$((n + 1)) "$TMDB_LOG" >"$TMP/tok.log"
check_eq "every request (2 lists + 40 details) used Bearer and no api_key" 42 \
    "$(grep -c '"auth": "bearer"' "$TMP/tok.log" || true)"
check "the token never appears on stderr" bash -c "! grep -q -- '$good_token' '$TMP/err'"
check_eq "pages 1-2 recorded" "1 2" "$(progress_pages "$ptopic" "$job" | tr '\n' ' ' | sed 's/ $//')"

# ---- a valid key from --api-key-file ----
printf '%s\n' "$good_key" >"$TMP/key"
n=$(count_requests "$TMDB_LOG" "")
check_eq "key from --api-key-file: exit 0" 0 \
    "$(exit_code "$FERRY_BIN" "${base[@]}" --api-key-file "$TMP/key" --pages 3 --job "$(unique key)")"
check_eq "the request carried the key as api_key" 1 \
    "$(tail -n +$((n + 1)) "$TMDB_LOG" | grep -c '"auth": "key"' || true)"
check "the key never appears on stderr" bash -c "! grep -q -- '$good_key' '$TMP/err'"

# ---- refused before any request ----
n=$(count_requests "$TMDB_LOG" "")
check_eq "no credentials: exit 2" 2 "$(exit_code "$FERRY_BIN" "${base[@]}" --pages 1)"
check "no credentials: says which variables to set" grep -q 'TMDB_API_KEY.*TMDB_TOKEN' "$TMP/err"
check_eq "pages past 500: exit 2" 2 \
    "$(exit_code env TMDB_API_KEY="$good_key" "$FERRY_BIN" "${base[@]}" --pages 490-501)"
check "pages past 500: the message explains the cap" grep -q 'at most 500 pages' "$TMP/err"
check_eq "--to-page 600: exit 2" 2 \
    "$(exit_code env TMDB_API_KEY="$good_key" "$FERRY_BIN" "${base[@]}" --to-page 600)"
check_eq "unknown list: exit 2" 2 \
    "$(exit_code env TMDB_API_KEY="$good_key" "$FERRY_BIN" "${base[@]}" --endpoint upcoming_soon)"
check_eq "bad --pages: exit 2" 2 \
    "$(exit_code env TMDB_API_KEY="$good_key" "$FERRY_BIN" "${base[@]}" --pages 5-2)"
check_eq "missing key file: exit 2" 2 \
    "$(exit_code env TMDB_API_KEY_FILE="$TMP/nope" "$FERRY_BIN" "${base[@]}")"
check_eq "none of these made a request" "$n" "$(count_requests "$TMDB_LOG" "")"

# ---- the API unreachable: the first page's retries run out, the crawl stops (exit 3) ----
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
check_eq "API unreachable: exit 3" 3 \
    "$(exit_code env TMDB_API_KEY="$good_key" "$FERRY_BIN" crawl tmdb \
        --base-url "http://127.0.0.1:$closed/3" --topic "$topic" --progress-topic "$ptopic" \
        --pages 1-100 --retries 2 --job "$(unique down)")"
check "it says so, after the retries" grep -q 'failed for good (connect: .*check --base-url' "$TMP/err"
check_eq "it tried the first page 3 times (2 retries)" 2 "$(grep -c 'page=1: connect: .*retry [12]/2' "$TMP/err" || true)"
check "and gave up on it" grep -q 'page=1: connect: .*giving up after 3 attempt' "$TMP/err"
check "and tried no other page" bash -c "! grep -q 'page=2' '$TMP/err'"

# ---- help ----
check_eq "ferry crawl --help exits 0" 0 "$(exit_code ferry crawl --help)"
check "ferry crawl --help lists tmdb" grep -q '^  tmdb ' "$TMP/out"
check_eq "ferry crawl (no source) exits 2" 2 "$(exit_code ferry crawl)"
check_eq "ferry crawl bogus exits 2" 2 "$(exit_code ferry crawl bogus)"
check_eq "ferry crawl tmdb --help exits 0" 0 \
    "$(exit_code env TMDB_API_KEY=SeCrEtKeY TMDB_TOKEN=SeCrEtToK FERRY_API_KEY=SeCrEtKeY \
        FERRY_TOKEN=SeCrEtToK "$FERRY_BIN" crawl tmdb --help)"
check "help shows the usage" grep -q '^Usage: ferry crawl tmdb' "$TMP/out"
check "help mentions TMDB_API_KEY and TMDB_TOKEN" grep -q 'TMDB_API_KEY' "$TMP/out"
check "help never shows a secret" bash -c "! grep -q SeCrEt '$TMP/out' '$TMP/err'"

finish

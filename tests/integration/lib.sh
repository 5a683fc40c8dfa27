# lib.sh - helpers for the shell integration tests (sourced). They run against the real
# stack: FERRY_BROKERS and FERRY_PG_URL must be set; a missing service is a FAILURE.
set -euo pipefail
: "${FERRY_BIN:?FERRY_BIN (path to the ferry binary) is not set; run through ctest}"
if [ -z "${FERRY_BROKERS:-}" ] || [ -z "${FERRY_PG_URL:-}" ]; then
    echo "FAIL: FERRY_BROKERS / FERRY_PG_URL not set: scripts/stack up && eval \"\$(scripts/stack env)\"" >&2
    exit 1
fi
# In the foreground only: a backgrounded shell function runs in a subshell, so `kill $!`
# would hit the subshell and not ferry. Start background processes with "$FERRY_BIN".
ferry() { "$FERRY_BIN" "$@"; }
T_PASS=0
T_FAIL=0
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# A wall-clock limit of the test's own (FERRY_TEST_LIMIT seconds, default 600), well under
# ctest's: past it the test is stopped with a line saying what it was waiting for (wait_for
# records that), instead of hanging until ctest kills it without a word. The watchdog ends
# with the test.
T_LIMIT=${FERRY_TEST_LIMIT:-600}
T_SELF=$$
(
    trap - EXIT
    end=$((SECONDS + T_LIMIT))
    while kill -0 "$T_SELF" 2>/dev/null; do
        if ((SECONDS >= end)); then
            echo "not ok - $(basename "$0") ran past its limit of ${T_LIMIT} s; it was waiting for: $(cat "$TMP/.waiting" 2>/dev/null || echo 'nothing recorded (a command that did not return)')" >&2
            pkill -TERM -P "$T_SELF" 2>/dev/null
            kill -TERM "$T_SELF" 2>/dev/null
            break
        fi
        sleep 1
    done
) </dev/null >/dev/null 2>&2 &
unique() { echo "$1.$$.$(date +%s%N | tail -c 10)"; }
ok() { T_PASS=$((T_PASS + 1)); echo "ok - $*"; }
not_ok() { T_FAIL=$((T_FAIL + 1)); echo "not ok - $*"; }
check() { # description, command...
    local d=$1; shift
    if "$@"; then ok "$d"; else not_ok "$d"; fi
}
check_eq() { # description, expected, actual
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (expected '$2', got '$3')"; fi
}
# exit_code CMD...: prints the exit status of CMD without tripping set -e
exit_code() { local rc=0; "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?; echo "$rc"; }
finish() {
    if [ "$T_FAIL" != 0 ]; then
        local keep=${TMPDIR:-/tmp}/ferry-failed-$(basename "$0" .sh)
        rm -rf "$keep" && cp -r "$TMP" "$keep" && echo "# logs kept in $keep"
        for f in "$TMP"/*.log; do
            [ -f "$f" ] || continue
            echo "---- last lines of $(basename "$f") (warnings and errors)"
            grep -E 'WARN|ERROR' "$f" | tail -15
        done
    fi
    echo "$T_PASS passed, $T_FAIL failed"
    [ "$T_FAIL" = 0 ]
}

# new_db NAME: creates a fresh database on the stack's server (dropping an old one of that
# name) and prints its URL, so tests that share ferry's catalog tables never see each other.
new_db() {
    local name=$1
    psql "$FERRY_PG_URL" -qAtc "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >/dev/null
    psql "$FERRY_PG_URL" -qAtc "CREATE DATABASE \"$name\"" >/dev/null
    echo "${FERRY_PG_URL%/*}/$name"
}

# new_topic NAME PARTITIONS: creates the topic and its .dlq topic through `ferry setup`.
new_topic() {
    ferry setup --skip-pg --topic "$1" --partitions "$2" --log-level warn
}

# wait_for COND_CMD... : polls a command until it succeeds (60 s at most).
wait_for() {
    local deadline=$((SECONDS + ${WAIT_SECONDS:-60}))
    [ -z "${TMP:-}" ] || echo "$* (since ${SECONDS} s of the test, for ${WAIT_SECONDS:-60} s)" >"$TMP/.waiting" 2>/dev/null || true
    until "$@"; do
        if ((SECONDS >= deadline)); then
            echo "# wait_for gave up after ${WAIT_SECONDS:-60} s: $*" >&2
            return 1
        fi
        sleep 0.5
    done
    [ -z "${TMP:-}" ] || rm -f "$TMP/.waiting"
}

# check_wide DBURL: prints "channels narrow_values missing extra mismatched" (the tests'
# oracle, tests/sql/check_wide.sql) for ferry's default narrow table and wide schema.
check_wide() {
    psql "$1" -v ON_ERROR_STOP=1 -qAt -F' ' -f "$FERRY_SOURCE_DIR/tests/sql/check_wide.sql" \
        -c "select * from pg_temp.check_wide('${2:-telemetry_narrow}', '${3:-telemetry_wide}')"
}

# dw_expect_exact DBURL READINGS SHIPS TICKS: the dual-write oracle for a simulator run:
# exactly one narrow row per reading, every wide cell equal to its narrow value, one wide row
# per ship and tick, a cutoff for every ship.
dw_expect_exact() {
    local db=$1 n=$2 ships=$3 ticks=$4 res
    check_eq "narrow has exactly one row per reading" "$n" \
        "$(psql "$db" -qAtc 'select count(*) from telemetry_narrow')"
    check_eq "no duplicate narrow keys" 0 \
        "$(psql "$db" -qAtc 'select count(*) from (select 1 from telemetry_narrow group by ship_id, channel_id, ts having count(*) > 1) d')"
    res=$(check_wide "$db")
    read -r channels values missing extra mismatched <<<"$res"
    check_eq "every narrow value is a wide cell: missing" 0 "$missing"
    check_eq "every wide cell comes from narrow: extra" 0 "$extra"
    check_eq "every wide cell equals its narrow value: mismatched" 0 "$mismatched"
    check_eq "all narrow values checked through the catalog" "$n" "$values"
    local rows q
    q=$(psql "$db" -qAtc "select 'select sum(c) from (' || string_agg(format('select count(*) c from telemetry_wide.%I', table_name), ' union all ') || ') x' from ferry.ship_tables where part = 1")
    rows=$(psql "$db" -qAtc "$q")
    check_eq "one wide row per ship and tick" "$((ships * ticks))" "$rows"
    check_eq "a cutoff recorded for every ship" "$ships" \
        "$(psql "$db" -qAtc 'select count(*) from ferry.ship_state')"
}

# group_lag GROUP TOPIC: total lag of the group on the topic, from Kafka's own tool, checked
# partition by partition (end offset - committed offset). Prints "error: ..." instead of a
# number when it cannot be told: the tool failed (it exits 0 on an unknown group), the group
# has no row for a partition of the topic, or a partition has no committed offset ("-") - so
# `check_eq ... 0 "$(group_lag ...)"` fails then, instead of reading them as 0.
group_lag() {
    local out parts
    out=$("$FERRY_SOURCE_DIR/scripts/kafka-tool" consumer-groups --bootstrap-server "$FERRY_BROKERS" \
        --describe --group "$1" 2>&1) || { echo "error: kafka-consumer-groups failed: ${out:0:200}"; return 0; }
    if grep -qE '^Error|Exception' <<<"$out"; then
        echo "error: $(grep -m1 -E '^Error|Exception' <<<"$out" | cut -c1-200)"
        return 0
    fi
    parts=$(kcat -L -b "$FERRY_BROKERS" -t "$2" 2>/dev/null | grep -c '^ *partition [0-9]*,' || true)
    awk -v t="$2" -v want="$parts" '
        $2 == t { n++; seen[$3] = 1
                  if ($4 !~ /^[0-9]+$/ || $5 !~ /^[0-9]+$/) { bad = bad " " $3 "(committed " $4 ", end " $5 ")"; next }
                  s += $5 - $4 }
        END { if (want == 0) { print "error: topic " t " has no partitions (unknown topic?)"; exit }
              if (n != want) { print "error: the group has " n " of the " want " partitions of " t; exit }
              if (bad != "") { print "error: no committed offset for partition(s)" bad; exit }
              print s }' <<<"$out"
}

# lib.sh - helpers for the shell integration tests (sourced). They run against the real
# stack: FERRY_BROKERS and FERRY_PG_URL must be set; a missing service is a FAILURE.
set -euo pipefail
: "${FERRY_BIN:?FERRY_BIN (path to the ferry binary) is not set; run through ctest}"
if [ -z "${FERRY_BROKERS:-}" ] || [ -z "${FERRY_PG_URL:-}" ]; then
    echo "FAIL: FERRY_BROKERS / FERRY_PG_URL not set: scripts/stack up && eval \"\$(scripts/stack env)\"" >&2
    exit 1
fi
ferry() { "$FERRY_BIN" "$@"; }
T_PASS=0
T_FAIL=0
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
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
    echo "$T_PASS passed, $T_FAIL failed"
    [ "$T_FAIL" = 0 ]
}

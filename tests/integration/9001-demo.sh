#!/usr/bin/env bash
# 9001-demo: README's first command, end to end, as a new user runs it: scripts/demo on a
# stack of its own (a private FERRY_STACK_DIR, so the suite's stack and data are not
# involved) must exit 0 and print its closing line; what it says landed must be there.
. "$(dirname "$0")/lib.sh"
src=${FERRY_SOURCE_DIR:?}
export FERRY_STACK_DIR=$TMP/stack
trap 'scripts_down; rm -rf "$TMP"' EXIT
scripts_down() { (cd "$src" && scripts/stack down >/dev/null 2>&1) || true; }

rc=0
(cd "$src" && scripts/demo) >"$TMP/demo.out" 2>"$TMP/demo.err" || rc=$?
check_eq "scripts/demo exits 0" 0 "$rc"
check "scripts/demo prints its closing line" grep -q '^== demo: done\. The stack is still up' "$TMP/demo.err"
check "the demo showed readings from ferry.telemetry" grep -qE '^ferry\.telemetry: [1-9][0-9]* readings from 3 ships' "$TMP/demo.out"
check "the demo showed movies from ferry.movies" grep -qE '^ferry\.movies: [1-9][0-9]* movies' "$TMP/demo.out"
check "five telemetry lines were listed" test "$(grep -cE '^IMO-' "$TMP/demo.out")" -ge 5
if [ "$T_FAIL" != 0 ]; then tail -30 "$TMP/demo.err"; fi
finish

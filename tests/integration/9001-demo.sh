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
# 120 readings of 3 ships from its JSON lines, 6000 of 3 more from the simulator
check "the demo showed readings from ferry.telemetry" grep -qE '^ferry\.telemetry: 6120 readings from 6 ships' "$TMP/demo.out"
check "the demo showed the 20 movies of ferry.movies" grep -qE '^ferry\.movies: 20 movies' "$TMP/demo.out"
check "five telemetry lines were listed" test "$(grep -cE $'^IMO-?[0-9]+\t' "$TMP/demo.out")" -eq 5
check "the demo showed what landed in PostgreSQL" grep -qE '^ +6120 \| +6$' "$TMP/demo.out"
if [ "$T_FAIL" != 0 ]; then tail -30 "$TMP/demo.err"; fi
finish

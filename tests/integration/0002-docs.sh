#!/usr/bin/env bash
# 0002-docs: docs/commands.md is exactly what scripts/gen-reference produces from this
# binary's --help, so the command reference cannot drift from the code.
. "$(dirname "$0")/lib.sh"
root=${FERRY_SOURCE_DIR:?}
"$root/scripts/gen-reference" "$FERRY_BIN" "$TMP/commands.md"
if diff -u "$root/docs/commands.md" "$TMP/commands.md" >"$TMP/diff"; then
    ok "docs/commands.md matches the binary's --help"
else
    head -40 "$TMP/diff"
    not_ok "docs/commands.md is stale: run scripts/gen-reference"
fi
finish

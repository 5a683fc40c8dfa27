#!/usr/bin/env bash
# 0004-schemas-check: `ferry schemas check` holds for schemas/ as committed (CI runs this, so
# a change that breaks BACKWARD compatibility with a released version cannot land), and it
# refuses, naming schema, version and field, the changes that would break readers:
#  - a field added without a default (old records lack it), recorded as version 2;
#  - a type narrowed (timestamp long -> int), recorded as version 2;
#  - a change not recorded in history/ at all;
#  - a schema without any released version.
# A compatible change (a field added with a default, recorded as version 2) passes.
. "$(dirname "$0")/lib.sh"
src=$FERRY_SOURCE_DIR/schemas

check_eq "the built-in schemas pass" 0 "$(exit_code ferry schemas check)"
check_eq "schemas/ as committed passes" 0 "$(exit_code ferry schemas check --dir "$src")"
check_eq "... every schema was checked against a released version" \
    "$(find "$src" -maxdepth 1 -name '*.avsc' | wc -l)" "$(grep -c '^ok .* reads version 1 ' "$TMP/out")"

variant() { # NAME JQ-FILTER [record]: a copy of schemas/ with TelemetryReading changed
    rm -rf "$TMP/$1"
    cp -r "$src" "$TMP/$1"
    jq "$2" "$src/TelemetryReading.avsc" >"$TMP/$1/TelemetryReading.avsc"
    if [ "${3:-}" = record ]; then
        cp "$TMP/$1/TelemetryReading.avsc" "$TMP/$1/history/TelemetryReading.v2.avsc"
    fi
}

variant nodefault '.fields += [{"name": "quality", "type": "int"}]' record
check_eq "a field added without a default: exit 1" 1 "$(exit_code ferry schemas check --dir "$TMP/nodefault")"
check "... naming version 1 and the field" grep -q \
    "^FAIL TelemetryReading.avsc: cannot read what version 1 .*TelemetryReading.quality: missing in the writer's schema and has no default" "$TMP/out"

variant narrowed '(.fields[] | select(.name == "timestamp") | .type) = "int"' record
check_eq "a type narrowed: exit 1" 1 "$(exit_code ferry schemas check --dir "$TMP/narrowed")"
check "... naming the field and the types" grep -q \
    "TelemetryReading.timestamp: writer type long cannot be read as int" "$TMP/out"

variant unrecorded '.fields += [{"name": "quality", "type": ["null", "int"], "default": null}]'
check_eq "a change not recorded in history/: exit 1" 1 "$(exit_code ferry schemas check --dir "$TMP/unrecorded")"
check "... saying how to record it" grep -q \
    "differs from its latest released version 1: record it as history/TelemetryReading.v2.avsc" "$TMP/out"

variant compatible '.fields += [{"name": "quality", "type": ["null", "int"], "default": null}]' record
check_eq "a field added with a default, recorded: exit 0" 0 "$(exit_code ferry schemas check --dir "$TMP/compatible")"
check "... it reads both versions" grep -q "^ok   TelemetryReading.avsc reads version 2" "$TMP/out"

variant nohistory '.'
rm "$TMP/nohistory/history/TelemetryReading.v1.avsc"
check_eq "a schema without a released version: exit 1" 1 "$(exit_code ferry schemas check --dir "$TMP/nohistory")"
check "... saying what to add" grep -q "no released version in history/: add history/TelemetryReading.v1.avsc" "$TMP/out"

check_eq "a directory that does not exist: exit 2" 2 "$(exit_code ferry schemas check --dir "$TMP/nowhere")"
finish

#!/usr/bin/env bash
# 0306-telemetry-csv: `ferry telemetry --source csv` publishes the readings real exports hold,
# through the real broker: header or not, `,` `;` or tab, quoted fields (with delimiters,
# quotes and line breaks inside), a UTF-8 BOM, CRLF, columns by name or position, narrow and
# wide shapes, ISO-8601 with fractions and offsets or epoch s/ms/us/ns; bad lines are reported
# with their line numbers and counted (or stop the run with --strict).
. "$(dirname "$0")/lib.sh"
fx=$FERRY_SOURCE_DIR/tests/fixtures/csv
# publish FILE|- ARGS... : publishes into a fresh topic, leaves the readings as
# "ship|channel|timestamp|value-json|unit" lines in $TMP/got (sorted)
publish() {
    local file=$1; shift
    topic=$(unique it.csv)
    new_topic "$topic" 1
    if [ "$file" = - ]; then
        rc=$(exit_code ferry telemetry --source csv --topic "$topic" "$@")
    else
        rc=$(exit_code ferry telemetry --source csv --topic "$topic" "$@" "$file")
    fi
    cp "$TMP/err" "$TMP/publish.err"
    ferry tail --topic "$topic" --until-idle 2s --log-level warn |
        jq -r '[.ship_id, .channel_id, (.timestamp|tostring), (.value|tojson), (.unit // "")] | join("|")' |
        sort >"$TMP/got"
}
has() { grep -qxF -- "$1" "$TMP/got"; }

publish "$fx/narrow_basic.csv"
check_eq "narrow, header by name: exit 0" 0 "$rc"
check_eq "narrow: 15 readings" 15 "$(wc -l <"$TMP/got")"
check "integer text is a long" has "ship-1|engine.rpm|1714564800000000|1450|rpm"
check "fraction of a second, non-ASCII unit" has "ship-1|engine.temp|1714564800500000|81.25|°C"
check "+09:00 offset, TRUE is a boolean" has "ship-1|engine.on|1714532401000000|true|"
check "nanosecond fraction, lower-case t/z, text stays text" has 'ship-1|status|1714564801123456|"running normally"|'
check "epoch seconds" has "ship-2|engine.rpm|1714564800000000|-3|rpm"
check "epoch ms, 1e3 is a number" has "ship-2|fuel|1714564800250000|1000|t"
check "epoch us, padded +7" has "ship-2|fuel|1714564800250001|7|t"
check "epoch ns, empty value is null" has "ship-2|note|1714564800250001|null|"
check "date only, trimmed fields" has "ship-3|depth|1714521600000000|-0.0005|m"
check "0x1f is not a number" has 'ship-3|hex|1714503600000000|"0x1f"|'
check '"1,5" is not a number' has 'ship-3|comma|1714521600000000|"1,5"|'
check "year 1 and false" has "ship-3|false|-62135596800000000|false|"

cat "$fx/narrow_bom_crlf_semicolon.csv" | publish - 
check_eq "BOM + CRLF + ; from stdin: exit 0" 0 "$rc"
check_eq "BOM + CRLF + ;: 4 readings" 4 "$(wc -l <"$TMP/got")"
check "header names after a BOM, quoted line break kept" has 's1|note|1714564800000000|"line one\r\nline two"|'
check "quotes and delimiters inside quoted fields" has 's1|quote "x", y; z|1714564801000000|"a \"b\", c"|'

publish "$fx/narrow_noheader.tsv"
check_eq "tab, no header, by position: exit 0" 0 "$rc"
check "epoch ms by magnitude, decimal" has "ship-9|speed|1714564800000000|12.5|kn"
check "false is boolean" has "ship-9|ok|1714564803000000|false|"

publish "$fx/narrow_bad.csv"
check_eq "bad lines skipped without --strict: exit 0" 0 "$rc"
check "bad line reported with its number (missing value)" grep -q 'narrow_bad.csv:3:' "$TMP/publish.err"
check "bad line reported with its number (2024-02-30)" grep -q 'narrow_bad.csv:4:' "$TMP/publish.err"
check "unterminated quote reported at the line it starts" grep -q 'narrow_bad.csv:15:' "$TMP/publish.err"
read -r lines readings bad <<<"$(sed -n 's/.*narrow_bad.csv: \([0-9]*\) lines, \([0-9]*\) readings, \([0-9]*\) bad lines.*/\1 \2 \3/p' "$TMP/publish.err")"
check_eq "every line accounted for: readings published" "$readings" "$(wc -l <"$TMP/got")"
check "bad lines counted" test "${bad:-0}" -ge 8
check "the line after a stray quote is not lost" has "s1|c1|1714521612000000|12|"
check_eq "--strict stops at the first bad line with exit 1" 1 \
    "$(exit_code ferry telemetry --source csv --strict --topic "$(unique it.csv.strict)" "$fx/narrow_bad.csv")"
check "--strict names the line" grep -q 'narrow_bad.csv:3:' "$TMP/err"

publish "$fx/wide_ships.csv" --csv-shape wide
check_eq "wide with a ship column: exit 0" 0 "$rc"
check_eq "wide: one reading per non-empty cell" 9 "$(wc -l <"$TMP/got")"
check "wide: an empty cell is no reading" bash -c "! grep -q '^s2|[a-z]*|1714521600000000|' '$TMP/got'"
check "wide: values typed" has 's1|mode|1714521600000000|"eco"|'
check "wide: TRUE" has "s2|alarm|1714521601000000|true|"

publish "$fx/wide_names.csv" --csv-shape wide --ship S-W
check_eq "wide, fixed ship, BOM and ;: exit 0" 0 "$rc"
check "wide: non-Latin channel name" has "S-W|선박 속도|1714489200000000|2|"
check 'wide: channel name with quotes and ;' has 'S-W|a "b"; c|1714521600000000|"x;y"|'
check "wide: '; DROP TABLE channel" has "S-W|'; DROP TABLE x; --|1714489200000000|3|"
finish

#!/usr/bin/env bash
# 0306-telemetry-csv: `ferry telemetry --source csv` publishes the readings real exports hold,
# through the real broker: header or not, `,` `;` or tab, quoted fields (with delimiters,
# quotes and line breaks inside), a UTF-8 BOM, CRLF, columns by name or position, narrow and
# wide shapes, ISO-8601 with fractions and offsets or epoch s/ms/us/ns; bad lines are reported
# with their line numbers and counted (or stop the run with --strict). Files written by Python's
# csv module (dialects excel, excel-tab, unix, and CR-only "mac" line ends) arrive exactly; a
# byte order mark after the start makes its record bad; a duplicate default column is refused
# (exit 2); --strict refuses a non-empty input without a reading.
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
# worked out by hand from the fixture: lines 2, 9, 13-14 (a quoted line break) and 16 are
# readings; 3 (3 fields), 4 (Feb 30), 5 (no ship), 6 (blank channel), 7 (invalid UTF-8), 8 (a
# character after a closing quote), 10 (NUL), 11 (5 fields), 12 (no time) and 15 (a quote
# never closed) are bad
check_eq "narrow_bad: exactly its 4 readings" \
    "s1|c1|1714521600000000|1| s1|c1|1714521606000000|6| s1|c1|1714521610000000|\"multi\\nline ok\"| s1|c1|1714521612000000|12|" \
    "$(echo $(sort "$TMP/got"))"
check_eq "narrow_bad: exactly its 10 bad lines, each reported by number" "3 4 5 6 7 8 10 11 12 15" \
    "$(echo $(sed -n 's/.*narrow_bad\.csv:\([0-9]*\): .*/\1/p' "$TMP/publish.err"))"
check "narrow_bad: the summary says so" grep -q 'narrow_bad.csv: 16 lines, 4 readings, 10 bad lines' "$TMP/publish.err"
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
# ---- files written by Python's csv module: every dialect, and old Mac CR-only line ends ----
# gen_csv DIALECT FILE EXPECTED: writes a narrow file in that csv dialect (quoting delimiters,
# quotes and line breaks its own way) and the readings it must give, in publish()'s format.
gen_csv() {
    python3 - "$@" <<'PY'
import csv, json, sys
dialect, path, expected = sys.argv[1:4]
if dialect == "mac":  # classic Mac OS line ends; QUOTE_ALL, as a lone LF is then data
    csv.register_dialect("mac", "excel", lineterminator="\r", quoting=csv.QUOTE_ALL)
rows = [("s-1", "engine.rpm", 0, "1450", "rpm"), ("s-1", "engine.temp", 1, "81.25", "°C"),
        ("s-1", "note", 2, 'said "hi", then; left', ""), ("s-2", "선박 속도", 3, "-3", "kn"),
        ("s-2", "log", 4, "line one\nline two", ""), ("s-2", "tab\there", 5, "1e3", ""),
        ("s-3", "flag", 6, "TRUE", ""), ("s-3", "quoted", 7, '"', "")]
with open(path, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f, dialect=dialect)
    w.writerow(["ship", "channel", "timestamp", "value", "unit"])
    for ship, chan, sec, val, unit in rows:
        w.writerow([ship, chan, "2024-05-01T00:00:%02dZ" % sec, val, unit])
def typed(v):
    if v == "TRUE":
        return True
    try:
        return int(v)
    except ValueError:
        pass
    try:
        f = float(v)
        return int(f) if f == int(f) else f
    except ValueError:
        return v
with open(expected, "w", encoding="utf-8") as f:
    for ship, chan, sec, val, unit in sorted(rows):
        ts = 1714521600000000 + sec * 1000000
        f.write("%s|%s|%d|%s|%s\n" % (ship, chan, ts, json.dumps(typed(val), ensure_ascii=False), unit))
PY
}
for dialect in excel excel-tab unix mac; do
    gen_csv "$dialect" "$TMP/py-$dialect.csv" "$TMP/py-$dialect.want"
    publish "$TMP/py-$dialect.csv" --strict
    check_eq "csv module, dialect $dialect: exit 0 with --strict" 0 "$rc"
    sort "$TMP/py-$dialect.want" >"$TMP/want"
    check "csv module, dialect $dialect: exactly the readings written" diff "$TMP/want" "$TMP/got"
done
check "the CR-only file: 10 physical lines (one break inside quotes)" grep -q 'py-mac.csv: 10 lines, 8 readings, 0 bad lines' \
    "$TMP/publish.err"

# ---- a byte order mark after the start: that record is bad (and stops --strict) ----
{ printf '\xef\xbb\xbfship,channel,ts,value\n'; printf 's1,a,2024-05-01T00:00:00Z,1\n'
  printf '\xef\xbb\xbfs1,b,2024-05-01T00:00:00Z,2\n'; printf 's1,c,2024-05-01T00:00:00Z,3\n'; } >"$TMP/bom.csv"
publish "$TMP/bom.csv"
check_eq "mid-file BOM: exit 0 without --strict" 0 "$rc"
check_eq "mid-file BOM: the other readings arrive, the BOM is in no id" \
    "s1|a|1714521600000000|1||s1|c|1714521600000000|3||" "$(tr '\n' '|' <"$TMP/got")"
check "mid-file BOM: the record is reported with its line and reason" \
    grep -q 'bom.csv:3: field 1 has a UTF-8 byte order mark (U+FEFF)' "$TMP/publish.err"
check_eq "mid-file BOM with --strict: exit 1" 1 \
    "$(exit_code ferry telemetry --source csv --strict --topic "$(unique it.csv.bom)" "$TMP/bom.csv")"

# ---- a duplicate default column is refused (exit 2), naming it ----
printf 'ship,channel,ts,value,value\ns1,a,2024-05-01T00:00:00Z,1,2\n' >"$TMP/dup.csv"
check_eq "duplicate value column: exit 2" 2 \
    "$(exit_code ferry telemetry --source csv --topic "$(unique it.csv.dup)" "$TMP/dup.csv")"
check "duplicate value column: the message names it" \
    grep -q 'the header names 2 columns "value" (columns 4 and 5); choose one with --value-col N' "$TMP/err"
publish "$TMP/dup.csv" --value-col 5
check_eq "duplicate value column chosen by number: the 5th is read" "s1|a|1714521600000000|2|" "$(cat "$TMP/got")"

# ---- --strict: a non-empty input without a reading is an error ----
printf 'ship,channel,ts,value\n' >"$TMP/header-only.csv"
check_eq "header only with --strict: exit 1" 1 \
    "$(exit_code ferry telemetry --source csv --strict --topic "$(unique it.csv.ho)" "$TMP/header-only.csv")"
check "header only with --strict: says there was no reading" grep -q 'not one reading (--strict)' "$TMP/err"
check_eq "header only without --strict: exit 0" 0 \
    "$(exit_code ferry telemetry --source csv --topic "$(unique it.csv.ho)" "$TMP/header-only.csv")"
finish

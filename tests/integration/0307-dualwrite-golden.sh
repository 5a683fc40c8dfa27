#!/usr/bin/env bash
# 0307-dualwrite-golden: dual-write against values written by hand, not by ferry: JSON lines of
# every value type and their edges (doubles down to the smallest subnormal and -0, longs at
# both ends of 64 bits, booleans, text with quotes, tabs, non-Latin script and an empty
# string, null), through `ferry produce` and dualwrite; each narrow row and each wide cell must
# read back as the text written here, so a decoding bug that writes the same wrong value to
# both tables (which the narrow-against-wide checks cannot see) fails.
. "$(dirname "$0")/lib.sh"
db=$(new_db it_dw_golden)
topic=$(unique it.dw.golden)
new_topic "$topic" 2
# ship|channel|timestamp µs|JSON value|expected narrow text (column=value)|expected wide text
cat >"$TMP/golden.psv" <<'G'
G-1|d.plain|1767225600000000|87.5|value_double=87.5|87.5
G-1|d.neg|1767225600000000|-273.15|value_double=-273.15|-273.15
G-1|d.tiny|1767225600000000|5e-324|value_double=5e-324|5e-324
G-1|d.big|1767225600000000|1.7976931348623157e308|value_double=1.7976931348623157e+308|1.7976931348623157e+308
G-1|d.third|1767225600000000|0.1|value_double=0.1|0.1
G-1|d.negzero|1767225600000000|-0.0|value_double=-0|-0
G-1|l.max|1767225600000000|9223372036854775807|value_long=9223372036854775807|9223372036854775807
G-1|l.min|1767225600000000|-9223372036854775808|value_long=-9223372036854775808|-9223372036854775808
G-1|l.zero|1767225600000000|0|value_long=0|0
G-1|b.true|1767225600000000|true|value_bool=true|true
G-1|b.false|1767225600000000|false|value_bool=false|false
G-1|t.korean|1767225600000000|"선박 정상 운항"|value_text=선박 정상 운항|선박 정상 운항
G-1|t.quotes|1767225600000000|"say \"hi\"\ttab"|value_text=say "hi"	tab|say "hi"	tab
G-1|t.empty|1767225600000000|""|value_text=|
G-2|d.plain|1767225601000000|-1e-10|value_double=-1e-10|-1e-10
G-2|l.max|1767225601000000|-1|value_long=-1|-1
G
while IFS='|' read -r ship ch ts val _ _; do
    printf '{"ship_id":"%s","channel_id":"%s","timestamp":%s,"value":%s}\n' "$ship" "$ch" "$ts" "$val"
done <"$TMP/golden.psv" >"$TMP/in.jsonl"
echo '{"ship_id":"G-2","channel_id":"n.null","timestamp":1767225601000000,"value":null}' >>"$TMP/in.jsonl"
check_eq "produce exits 0" 0 "$(exit_code ferry produce --topic "$topic" --schema TelemetryReading --key ship_id "$TMP/in.jsonl")"
check_eq "dualwrite exits 0" 0 "$(exit_code ferry dualwrite --pg "$db" --topic "$topic" --group "$topic.g" --until-idle 3s --progress 0)"

narrow() { # ship channel -> "column=value" of the non-null value column
    psql "$db" -qAt -c "select coalesce('value_double=' || value_double::text, 'value_long=' || value_long::text,
        'value_bool=' || value_bool::text, 'value_text=' || value_text, 'null') from telemetry_narrow
        where ship_id = '$1' and channel_id = '$2'"
}
wide() { # ship channel -> the wide cell as text
    local t c
    read -r t c <<<"$(psql "$db" -qAt -F' ' -c "select table_name, column_name from ferry.channel_columns where ship_id = '$1' and channel_id = '$2'")"
    [ -n "$t" ] || { echo "(no wide column)"; return; }
    psql "$db" -qAt -c "select coalesce(\"$c\"::text, '(null)') from telemetry_wide.\"$t\" where ts = to_timestamp($3 / 1e6)"
}
while IFS='|' read -r ship ch ts _ want_n want_w; do
    check_eq "narrow $ship $ch" "$want_n" "$(narrow "$ship" "$ch")"
    check_eq "wide $ship $ch" "$want_w" "$(wide "$ship" "$ch" "$ts")"
done <"$TMP/golden.psv"
check_eq "a null reading is a narrow row with no value" "null" "$(narrow G-2 n.null)"
check_eq "narrow holds exactly the readings" 17 "$(psql "$db" -qAtc 'select count(*) from telemetry_narrow')"
finish

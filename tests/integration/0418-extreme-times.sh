#!/usr/bin/env bash
# 0418-extreme-times: readings at the edges of time that dual-write accepts - past the year
# 9999, before year 1 (BC), and the last microsecond an int64 holds (year 294247) as the very
# first reading of a new ship - are stored in narrow and wide, the new ship's cutoff is
# recorded (no "interval out of range" dead letter), and verify checks every ship, these and
# the ordinary one after them, with zero mismatches.
. "$(dirname "$0")/lib.sh"
db=$(new_db it_extreme_times)
topic=$(unique it.times)
new_topic "$topic" 2
# the microseconds of these times, as PostgreSQL counts them
us() { psql "$db" -qAtc "select (extract(epoch from '$1'::timestamptz) * 1000000)::bigint"; }
{
    # A-far: years 10000 and 50000; A-bc: 1 BC (year 0) and 4000 BC; A-max: INT64_MAX first
    for ts in "$(us '10000-01-01 00:00+00')" "$(us '50000-01-01 00:00+00')"; do
        echo "{\"ship_id\":\"A-far\",\"channel_id\":\"c\",\"timestamp\":$ts,\"value\":1.5}"
    done
    for ts in "$(us '0001-01-01 00:00+00 BC')" "$(us '4000-01-01 00:00+00 BC')"; do
        echo "{\"ship_id\":\"A-bc\",\"channel_id\":\"c\",\"timestamp\":$ts,\"value\":2.5}"
    done
    echo '{"ship_id":"A-max","channel_id":"c","timestamp":9223372036854775807,"value":3.5}'
    for i in 0 1 2; do
        echo "{\"ship_id\":\"Z-normal\",\"channel_id\":\"c\",\"timestamp\":$((1767225600000000 + i * 1000000)),\"value\":$i}"
    done
} | ferry produce --topic "$topic" --schema TelemetryReading --log-level warn
check_eq "dual-write exits 0" 0 "$(exit_code ferry dualwrite --pg "$db" --topic "$topic" --group "$topic.g" --until-idle 3s --progress 0)"
check_eq "every reading is in narrow" 8 "$(psql "$db" -qAtc 'select count(*) from telemetry_narrow')"
check_eq "  stored at its time (years 10000 and 50000)" "10000-01-01 00:00:00+00,50000-01-01 00:00:00+00" \
    "$(psql "$db" -qAtc "set timezone = 'UTC'; select string_agg(ts::text, ',' order by ts) from telemetry_narrow where ship_id = 'A-far'")"
check_eq "  BC" "4000-01-01 00:00:00+00 BC,0001-01-01 00:00:00+00 BC" \
    "$(psql "$db" -qAtc "set timezone = 'UTC'; select string_agg(ts::text, ',' order by ts) from telemetry_narrow where ship_id = 'A-bc'")"
check_eq "nothing dead-lettered" 0 \
    "$({ kcat -C -b "$FERRY_BROKERS" -t "$topic.dlq" -e -q 2>/dev/null || true; } | wc -l)"
check_eq "the ship first seen at INT64_MAX has its cutoff" "294247-01-10 04:00:54.775807+00" \
    "$(psql "$db" -qAtc "set timezone = 'UTC'; select cutoff_ts from ferry.ship_state where ship_id = 'A-max'")"
read -r _ values missing extra mismatched <<<"$(check_wide "$db")"
check_eq "every value is a wide cell: 8 values, 0 missing 0 extra 0 mismatched" "8 0 0 0" \
    "$values $missing $extra $mismatched"
check_eq "verify exits 0" 0 "$(exit_code ferry verify --pg "$db")"
for s in A-bc A-far A-max Z-normal; do
    check "  verified $s" grep -q "^ship $s: ok" "$TMP/out"
done
finish

#!/usr/bin/env bash
# 0413-legacy-integer: the whole migration on a legacy table whose values are `integer`:
# integral readings (as longs or as integral doubles) are stored and become bigint cells; a
# fraction (12.5) is not rounded into the table but dead-lettered as type_conflict, and a
# value beyond integer (3000000000) as value_out_of_range.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/legacy_lib.sh"
L_NAME=integer
L_TABLE=counter_log
L_SPEC=ship=ship,channel=tag,time=t,value=v
L_DDL="create table counter_log (ship text, tag text, t timestamptz, v integer, primary key (ship, tag, t))"
L_HIST="insert into counter_log select 'IMO' || (9300000 + s), c.name,
        :'t0'::timestamptz - (m + 1) * interval '10 minutes', s * 100000 + m
        from generate_series(1, 3) s, generate_series(0, 287) m,
             (values ('nav.ais_message_count'), ('main_engine.running_hours')) c(name)"
L_KINDS=nav.ais_message_count:l,main_engine.running_hours:i
L_EXTRA_LIVE='{"ship_id":"IMO9300001","channel_id":"nav.ais_message_count","timestamp":1772323230000000,"value":12.5}
{"ship_id":"IMO9300001","channel_id":"nav.ais_message_count","timestamp":1772323231000000,"value":3000000000}'
L_DLQ=2
L_DLQ_REASON=type_conflict
L_O_SHIP=n.ship L_O_CHAN=n.tag L_O_TS=n.t L_O_VAL=n.v::text
legacy_flow
check "the value beyond integer was dead-lettered as value_out_of_range" grep -q 'ferry.error.reason=value_out_of_range' "$TMP/dlq.headers"
check_eq "integral readings made bigint columns" bigint \
    "$(l_psql -c "select string_agg(distinct pg_type, ',') from ferry.channel_columns")"
finish

#!/usr/bin/env bash
# 0410-legacy-partitioned: the whole migration on a declaratively partitioned legacy table
# (PARTITION BY RANGE (time), monthly partitions, the usual shape of a big narrow table). A
# reading whose time falls outside every partition goes to the DLQ with reason no_partition;
# nothing else is lost.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/legacy_lib.sh"
L_NAME=partitioned
L_TABLE=telemetry.readings_by_month
L_SPEC=ship=ship,channel=channel,time=ts,value=value
L_DDL="create schema telemetry;
       create table telemetry.readings_by_month (ship text not null, channel text not null,
         ts timestamptz not null, value double precision, primary key (ship, channel, ts))
         partition by range (ts);
       create table telemetry.readings_2026_02 partition of telemetry.readings_by_month
         for values from ('2026-02-01 00:00+00') to ('2026-03-01 00:00+00');
       create table telemetry.readings_2026_03 partition of telemetry.readings_by_month
         for values from ('2026-03-01 00:00+00') to ('2026-04-01 00:00+00')"
L_HIST="insert into telemetry.readings_by_month select 'IMO' || (9300000 + s), c.name,
        :'t0'::timestamptz - (m + 1) * interval '10 minutes', s + m / 4.0
        from generate_series(1, 3) s, generate_series(0, 287) m,
             (values ('main_engine.rpm'), ('nav.speed_kn'), ('main_engine.running_hours')) c(name)"
L_KINDS=main_engine.rpm:d,nav.speed_kn:d,main_engine.running_hours:l
L_EXTRA_LIVE='{"ship_id":"IMO9300001","channel_id":"main_engine.rpm","timestamp":1812153600000000,"value":99.5}'
L_DLQ=1
L_DLQ_REASON=no_partition
L_O_SHIP=n.ship L_O_CHAN=n.channel L_O_TS=n.ts L_O_VAL=n.value::text
legacy_flow
check "the dead letter says which partition is missing" grep -q 'no partition of relation' "$TMP/dlq.headers"
check_eq "rows landed in both monthly partitions" "2" \
    "$(l_psql -c "select count(distinct tableoid) from telemetry.readings_by_month")"
finish

#!/usr/bin/env bash
# 0414-legacy-bigint: the whole migration on a legacy table whose values are `bigint`, with
# counters beyond 2^53 that a double cannot hold: they stay exact in narrow and in the wide
# bigint cells, and verify compares them exactly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/legacy_lib.sh"
L_NAME=bigint
L_TABLE=big_counters
L_SPEC=ship=ship,channel=tag,time=t,value=v
L_DDL="create table big_counters (ship text, tag text, t timestamptz, v bigint, primary key (ship, tag, t))"
L_HIST="insert into big_counters select 'IMO' || (9300000 + s), c.name,
        :'t0'::timestamptz - (m + 1) * interval '10 minutes', 9007199254740993 + s * 1000000 + m
        from generate_series(1, 3) s, generate_series(0, 287) m,
             (values ('shaft.revolutions'), ('energy.meter_wh')) c(name)"
L_KINDS=shaft.revolutions:L,energy.meter_wh:L
L_O_SHIP=n.ship L_O_CHAN=n.tag L_O_TS=n.t L_O_VAL=n.v::text
legacy_flow
read -r wt wc <<<"$(l_psql -c "select format('%I.%I', 'telemetry_wide', c.table_name) || ' ' || quote_ident(c.column_name) from ferry.channel_columns c where ship_id = 'IMO9300001' and channel_id = 'shaft.revolutions'")"
check_eq "a live 9007199254741994 is exact in the wide cell" 9007199254741994 \
    "$(l_psql -c "select $wc from $wt where ts = '$L_T0'::timestamptz + interval '1 minute'")"
check_eq "  and a history 9007199255740999 too" 9007199255740999 \
    "$(l_psql -c "select $wc from $wt where ts = '$L_T0'::timestamptz - interval '70 minutes'")"
finish

#!/usr/bin/env bash
# 0416-legacy-typed-columns: the whole migration on a legacy table that, like ferry's own
# layout, keeps values in one column per type (num double precision, cnt bigint, flag boolean,
# label text), mapped with value_double=,value_long=,value_bool=,value_text=.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/legacy_lib.sh"
L_NAME=typed
L_TABLE=history.channel_values
L_SPEC=ship=vessel,channel=sensor,time=at,value_double=num,value_long=cnt,value_bool=flag,value_text=label
L_DDL="create schema history;
       create table history.channel_values (vessel text not null, sensor text not null,
         at timestamptz not null, num double precision, cnt bigint, flag boolean, label text,
         unit text, primary key (vessel, sensor, at))"
L_HIST="insert into history.channel_values select 'IMO' || (9300000 + s), c.name,
        :'t0'::timestamptz - (m + 1) * interval '10 minutes',
        case when c.k = 'd' then s + m / 8.0 end, case when c.k = 'l' then s * 1000 + m end,
        case when c.k = 'b' then m % 3 = 0 end,
        case when c.k = 's' then (array['sea passage', 'port'])[1 + m / 144] end, null
        from generate_series(1, 3) s, generate_series(0, 287) m,
             (values ('main_engine.rpm', 'd'), ('nav.ais_message_count', 'l'),
                     ('bilge.alarm', 'b'), ('ship.operating_mode', 's')) c(name, k)"
L_KINDS=main_engine.rpm:d,nav.ais_message_count:l,bilge.alarm:b,ship.operating_mode:s
L_O_SHIP=n.vessel L_O_CHAN=n.sensor L_O_TS=n.at
L_O_VAL="coalesce(n.num::text, n.cnt::text, n.flag::text, n.label)"
legacy_flow
check_eq "one wide column per channel, typed like its values" \
    "bigint,boolean,double precision,text" \
    "$(l_psql -c "select string_agg(distinct pg_type, ',' order by pg_type) from ferry.channel_columns")"
check_eq "each live value went to its type's column" 0 \
    "$(l_psql -c "select count(*) from history.channel_values where at >= '$L_T0' and num_nonnulls(num, cnt, flag, label) <> 1")"
finish

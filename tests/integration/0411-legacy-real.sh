#!/usr/bin/env bash
# 0411-legacy-real: the whole migration on a legacy table whose values are `real`: a reading
# of 1.1 is stored as real's nearest value, and the wide cell holds exactly what the table
# stores (1.100000023841858 as double precision), so verify compares them as stored. A value
# real cannot hold (1e39) goes to the DLQ.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/legacy_lib.sh"
L_NAME=real
L_TABLE=float_log
L_SPEC=ship=ship,channel=tag,time=t,value=v
L_DDL="create table float_log (ship text, tag text, t timestamptz, v real, primary key (ship, tag, t))"
L_HIST="insert into float_log select 'IMO' || (9300000 + s), c.name,
        :'t0'::timestamptz - (m + 1) * interval '10 minutes', (s + m / 7.0)::real
        from generate_series(1, 3) s, generate_series(0, 287) m,
             (values ('main_engine.rpm'), ('sea.wave_height_m')) c(name)"
L_KINDS=main_engine.rpm:r,sea.wave_height_m:r
L_EXTRA_LIVE='{"ship_id":"IMO9300001","channel_id":"main_engine.rpm","timestamp":1772323230000000,"value":1e39}'
L_DLQ=1
L_DLQ_REASON=value_out_of_range
L_O_SHIP=n.ship L_O_CHAN=n.tag L_O_TS=n.t L_O_VAL=n.v::float8::text
legacy_flow
wide=$(l_psql -c "select format('%I.%I', 'telemetry_wide', c.table_name) || ' ' || quote_ident(c.column_name) from ferry.channel_columns c where ship_id = 'IMO9300001' and channel_id = 'main_engine.rpm'")
read -r wt wc <<<"$wide"
check_eq "a live 1.1 is the wide cell real stores: 1.100000023841858" 1.100000023841858 \
    "$(l_psql -c "select $wc from $wt where ts = '$L_T0'::timestamptz + interval '1 minute'")"
finish

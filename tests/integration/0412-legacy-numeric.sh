#!/usr/bin/env bash
# 0412-legacy-numeric: the whole migration on a legacy table whose values are numeric(12,3):
# a reading of 1.23456 is stored as 1.235 and the wide cell is 1.235, exactly as stored. A
# value beyond numeric(12,3) (1e9) goes to the DLQ.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/legacy_lib.sh"
L_NAME=numeric
L_TABLE=decimal_log
L_SPEC=ship=ship,channel=tag,time=t,value=v
L_DDL="create table decimal_log (ship text, tag text, t timestamptz, v numeric(12,3), primary key (ship, tag, t))"
L_HIST="insert into decimal_log select 'IMO' || (9300000 + s), c.name,
        :'t0'::timestamptz - (m + 1) * interval '10 minutes', round(s * 1000 + m / 7.0, 3)
        from generate_series(1, 3) s, generate_series(0, 287) m,
             (values ('fuel.tank1_level_m3'), ('fuel.flow_rate_lph')) c(name)"
L_KINDS=fuel.tank1_level_m3:n,fuel.flow_rate_lph:n
L_EXTRA_LIVE='{"ship_id":"IMO9300001","channel_id":"fuel.flow_rate_lph","timestamp":1772323230000000,"value":1000000000.5}'
L_DLQ=1
L_DLQ_REASON=value_out_of_range
L_O_SHIP=n.ship L_O_CHAN=n.tag L_O_TS=n.t L_O_VAL=n.v::text
legacy_flow
read -r wt wc <<<"$(l_psql -c "select format('%I.%I', 'telemetry_wide', c.table_name) || ' ' || quote_ident(c.column_name) from ferry.channel_columns c where ship_id = 'IMO9300001' and channel_id = 'fuel.tank1_level_m3'")"
check_eq "a live 1.23456 is stored 1.235 in narrow" 1.235 \
    "$(l_psql -c "select v from decimal_log where ship = 'IMO9300001' and tag = 'fuel.tank1_level_m3' and t = '$L_T0'")"
check_eq "  and the wide cell is 1.235" 1.235 "$(l_psql -c "select $wc from $wt where ts = '$L_T0'")"
finish

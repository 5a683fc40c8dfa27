#!/usr/bin/env bash
# 0406-legacy-names: the whole migration on a legacy table with its own column names and a
# double precision value (the table from the issue that first met ferry with "could not
# determine data type of parameter $2"): legacy_narrow (vessel, tag, created, val).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/legacy_lib.sh"
L_NAME=names
L_TABLE=legacy_narrow
L_SPEC=ship=vessel,channel=tag,time=created,value=val
L_DDL="create table legacy_narrow (vessel text, tag text, created timestamptz,
       val double precision, primary key (vessel, tag, created))"
L_HIST="insert into legacy_narrow select 'IMO' || (9300000 + s), c.name,
        :'t0'::timestamptz - (m + 1) * interval '10 minutes',
        case c.name when 'main_engine.running_hours' then (41000 + s * 100 + m / 6)::float8
                    else round((s * 10 + sin(m / 9.0) * 5)::numeric, 4)::float8 end
        from generate_series(1, 3) s, generate_series(0, 287) m,
             (values ('main_engine.rpm'), ('main_engine.load_pct'), ('main_engine.running_hours')) c(name)"
L_KINDS=main_engine.rpm:d,main_engine.load_pct:d,main_engine.running_hours:l
L_O_SHIP=n.vessel L_O_CHAN=n.tag L_O_TS=n.created L_O_VAL=n.val::text
legacy_flow
finish

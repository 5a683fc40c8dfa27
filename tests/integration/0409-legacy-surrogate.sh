#!/usr/bin/env bash
# 0409-legacy-surrogate: the whole migration on a legacy table keyed by a surrogate
# (id bigserial primary key) with UNIQUE (ship, channel, time): new rows get their id from
# the table's own sequence, the old ones keep theirs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/legacy_lib.sh"
L_NAME=surrogate
L_TABLE=public.vessel_readings
L_SPEC=ship=vessel_id,channel=channel_name,time=measured_at,value=measured_value
L_DDL="create table vessel_readings (id bigserial primary key, vessel_id text not null,
       channel_name text not null, measured_at timestamptz not null, measured_value double precision,
       unique (vessel_id, channel_name, measured_at));
       create index on vessel_readings (measured_at)"
L_HIST="insert into vessel_readings (vessel_id, channel_name, measured_at, measured_value)
        select 'IMO' || (9300000 + s), c.name, :'t0'::timestamptz - (m + 1) * interval '10 minutes',
        s * 100 + m * 0.5
        from generate_series(1, 3) s, generate_series(0, 287) m,
             (values ('main_engine.rpm'), ('main_engine.load_pct'), ('generator1.power_kw')) c(name)"
L_KINDS=main_engine.rpm:d,main_engine.load_pct:d,generator1.power_kw:i
L_O_SHIP=n.vessel_id L_O_CHAN=n.channel_name L_O_TS=n.measured_at L_O_VAL=n.measured_value::text
legacy_flow
check_eq "new rows took ids from the table's sequence, after the old ones" 0 \
    "$(l_psql -c "select count(*) from vessel_readings where measured_at >= '$L_T0' and id <= (select max(id) from vessel_readings where measured_at < '$L_T0')")"
finish

#!/usr/bin/env bash
# 0407-legacy-text: the whole migration on a legacy table that keeps every value as text
# (numbers as text, as many legacy systems do). The wide columns are still typed by what the
# values are: numbers become double precision or bigint columns, words text, and a history
# channel whose first values are integers and later ones fractions is widened, not rejected.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/legacy_lib.sh"
L_NAME=text
L_TABLE=sensor_log
L_SPEC=ship=ship_code,channel=signal,time=recorded_at,value=reading
L_DDL="create table sensor_log (ship_code varchar(16) not null, signal varchar(200) not null,
       recorded_at timestamptz not null, reading text, primary key (ship_code, signal, recorded_at))"
L_HIST="insert into sensor_log select 'IMO' || (9300000 + s), c.name,
        :'t0'::timestamptz - (m + 1) * interval '10 minutes',
        case c.name
          when 'main_engine.rpm' then (round((s * 10 + sin(m / 9.0) * 5)::numeric, 2))::text
          when 'main_engine.running_hours' then (41000 + s * 100 + m / 6)::text
          when 'nav.status' then (array['under way', 'at anchor', 'moored'])[1 + m / 100]
          when 'bilge.alarm' then (m % 50 = 0)::text
          else case when m >= 188 then (12 + m)::text else (12 + m + 0.5)::text end end
        from generate_series(1, 3) s, generate_series(0, 287) m,
             (values ('main_engine.rpm'), ('main_engine.running_hours'), ('nav.status'),
                     ('bilge.alarm'), ('fuel.flow_lph')) c(name)"
L_KINDS=main_engine.rpm:d,main_engine.running_hours:l,nav.status:s,bilge.alarm:b
L_O_SHIP=n.ship_code L_O_CHAN=n.signal L_O_TS=n.recorded_at L_O_VAL=n.reading
legacy_flow
check_eq "numbers as text became a double precision column" "double precision" \
    "$(l_psql -c "select pg_type from ferry.channel_columns where ship_id = 'IMO9300001' and channel_id = 'main_engine.rpm'")"
check_eq "integers as text a bigint column" bigint \
    "$(l_psql -c "select pg_type from ferry.channel_columns where ship_id = 'IMO9300001' and channel_id = 'main_engine.running_hours'")"
check_eq "words a text column" text \
    "$(l_psql -c "select pg_type from ferry.channel_columns where ship_id = 'IMO9300001' and channel_id = 'nav.status'")"
check_eq "integers then fractions: widened to double precision" "double precision" \
    "$(l_psql -c "select pg_type from ferry.channel_columns where ship_id = 'IMO9300001' and channel_id = 'fuel.flow_lph'")"
check_eq "no history cell rejected" 0 "$(l_psql -c 'select count(*) from ferry.backfill_rejects')"
finish

#!/usr/bin/env bash
# 0408-legacy-local-time: the whole migration on a legacy table whose times are
# `timestamp without time zone` in Europe/Oslo wall-clock time (--narrow-time-zone), over the
# night the clocks go forward (2026-03-29): every value lands at its true instant, chunks and
# windows are UTC days, and readers see UTC instants.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/legacy_lib.sh"
L_NAME=localtime
L_TABLE=measurements
L_SPEC=ship=imo,channel=sensor,time=local_time,value=value
L_ZONE=Europe/Oslo
L_T0=2026-03-30T00:00:00Z
L_DDL="create table measurements (imo text, sensor text, local_time timestamp(6),
       value double precision, primary key (imo, sensor, local_time))"
# the other system stored wall-clock times: UTC instants every 10 minutes, as Oslo local time
L_HIST="insert into measurements select 'IMO' || (9300000 + s), c.name,
        (:'t0'::timestamptz - (m + 1) * interval '10 minutes') at time zone 'Europe/Oslo',
        s * 10 + m / 8.0
        from generate_series(1, 3) s, generate_series(0, 287) m,
             (values ('main_engine.rpm'), ('nav.speed_kn')) c(name)"
L_KINDS=main_engine.rpm:d,nav.speed_kn:d
L_O_SHIP=n.imo L_O_CHAN=n.sensor L_O_TS="(n.local_time at time zone 'Europe/Oslo')" L_O_VAL=n.value::text
legacy_flow
check_eq "the first live reading (00:00 UTC) is stored as Oslo time 02:00 (CEST)" \
    "2026-03-30 02:00:00" \
    "$(l_psql -c "select local_time from measurements where imo = 'IMO9300004' order by local_time limit 1")"
check_eq "history over the clock change is backfilled hour for hour (UTC 2026-03-29 00:00-03:00: 18 rows)" 18 \
    "$(l_psql -c "select count(*) from telemetry_wide.\"$(l_psql -c "select table_name from ferry.ship_tables where ship_id = 'IMO9300001'")\" where ts >= '2026-03-29 00:00+00' and ts < '2026-03-29 03:00+00'")"
check_eq "without --narrow-time-zone it is refused, saying so" 2 \
    "$(exit_code ferry verify --pg "$db" --narrow-table measurements --narrow-columns "$L_SPEC")"
check "  naming the option" grep -q -- "--narrow-time-zone" "$TMP/err"
finish

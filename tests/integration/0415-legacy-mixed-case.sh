#!/usr/bin/env bash
# 0415-legacy-mixed-case: the whole migration on a legacy table with mixed-case quoted names
# (ops."Legacy" with "ShipID", "Channel", "At", "Value") and extra NOT NULL columns that have
# defaults ("Site", "Ingested"): the table is named as psql takes it ('ops."Legacy"'), the
# columns by their exact names, and the extra columns get their defaults on new rows.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/legacy_lib.sh"
L_NAME=mixedcase
L_TABLE='ops."Legacy"'
L_SPEC=ship=ShipID,channel=Channel,time=At,value=Value
L_DDL='create schema ops;
       create table ops."Legacy" ("ShipID" text not null, "Channel" text not null,
         "At" timestamptz not null, "Value" double precision,
         "Site" text not null default '"'"'north'"'"',
         "Ingested" timestamptz not null default now(),
         constraint "Legacy_pkey" primary key ("ShipID", "Channel", "At"))'
L_HIST='insert into ops."Legacy" ("ShipID", "Channel", "At", "Value", "Site", "Ingested")
        select '"'"'IMO'"'"' || (9300000 + s), c.name,
        :'"'"'t0'"'"'::timestamptz - (m + 1) * interval '"'"'10 minutes'"'"', s * 3 + m / 16.0,
        '"'"'south'"'"', '"'"'2020-01-01 00:00+00'"'"'
        from generate_series(1, 3) s, generate_series(0, 287) m,
             (values ('"'"'Main Engine RPM'"'"'), ('"'"'Bridge "Temp"'"'"')) c(name)'
L_KINDS='Main Engine RPM:d,Bridge "Temp":d'
L_O_SHIP='n."ShipID"' L_O_CHAN='n."Channel"' L_O_TS='n."At"' L_O_VAL='n."Value"::text'
legacy_flow
check_eq "new rows got the extra columns' defaults" "north" \
    "$(l_psql -c "select string_agg(distinct \"Site\", ',') from ops.\"Legacy\" where \"At\" >= '$L_T0'")"
check_eq "the table unquoted is another table (case folds), refused with a hint" 2 \
    "$(exit_code ferry verify --pg "$db" --narrow-table ops.Legacy --narrow-columns "$L_SPEC")"
check "  saying to quote it" grep -q "quote" "$TMP/err"
check_eq "a column name in another case is not the column" 2 \
    "$(exit_code ferry verify --pg "$db" --narrow-table "$L_TABLE" --narrow-columns ship=shipid,channel=Channel,time=At,value=Value)"
check "  and the message lists the columns there are" grep -q '"ShipID"' "$TMP/err"
finish

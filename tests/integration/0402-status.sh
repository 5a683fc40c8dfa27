#!/usr/bin/env bash
# 0402-status: `ferry status --json` on a database prepared by `ferry telemetry` +
# `ferry dualwrite`: the dual-write group's committed offsets, end offsets and lag per
# partition (the same numbers as Kafka's own tool), and each ship's migration state —
# legacy, dual_writing, backfilling (with % done and ETA), backfilled, verified,
# verify_failed, cut_over, rolled_back — from the migration tables, which are read only
# when they exist. Missing tables are reported, not errors; an unreachable Kafka or
# PostgreSQL exits 3.
. "$(dirname "$0")/lib.sh"
db=$(new_db it_status)
topic=$(unique ferry.it.status)
group=$topic.dw
new_topic "$topic" 3
kt() { "$FERRY_SOURCE_DIR/scripts/kafka-tool" consumer-groups --bootstrap-server "$FERRY_BROKERS" "$@"; }
q() { psql "$db" -v ON_ERROR_STOP=1 -qAtc "$1"; }
# status ARGS...: runs ferry status --json into $TMP/st.json, prints its exit status
status() { local rc=0; ferry status --pg "$db" --group "$group" --json "$@" >"$TMP/st.json" 2>"$TMP/st.err" || rc=$?; echo "$rc"; }
state_of() { jq -r --arg s "$1" '.ships[] | select(.ship_id == $s) | .state' "$TMP/st.json"; }

# ---- the pipeline: 4 ships dual-written, then 30 readings the group has not read ---------
ferry telemetry --topic "$topic" --ships 4 --channels 3 --count 120 --progress 0 --log-level warn
"$FERRY_BIN" dualwrite --pg "$db" --topic "$topic" --group "$group" --until-idle 2s \
    --progress 0 -X session.timeout.ms=6000 2>"$TMP/dw.log"
ferry telemetry --topic "$topic" --ships 4 --channels 3 --count 30 --progress 0 --log-level warn \
    --start 2030-01-01T00:00:00Z

# ---- before the migration tables exist --------------------------------------------------
check_eq "status exits 0 while migration tables are missing" 0 "$(status)"
check_eq "the missing tables are named" \
    '["ferry.backfill_chunks","ferry.cutover","ferry.ship_events","ferry.verify_results"]' \
    "$(jq -c '.pg.missing | sort' "$TMP/st.json")"
check_eq "pg ok, kafka ok" "true true" "$(jq -r '"\(.pg.ok) \(.kafka.ok)"' "$TMP/st.json")"
check_eq "one group shown: the dual-write group, Empty" "1 $group Empty" \
    "$(jq -r '"\(.groups | length) \(.groups[0].group) \(.groups[0].state)"' "$TMP/st.json")"
check_eq "the group's lag is the 30 unread readings" 30 "$(jq '.groups[0].lag' "$TMP/st.json")"
ours=$(jq -r '.groups[0].partitions[] | "\(.partition):\(.committed):\(.end):\(.lag)"' "$TMP/st.json" | sort -n | tr '\n' ' ')
kafkas=$(kt --describe --group "$group" 2>/dev/null | awk -v t="$topic" '$2 == t { print $3 ":" $4 ":" $5 ":" $6 }' | sort -n | tr '\n' ' ')
check_eq "per partition committed/end/lag equal Kafka's own tool" "$kafkas" "$ours"
check_eq "lag = end - committed in every partition" 0 \
    "$(jq '[.groups[0].partitions[] | select(.lag != .end - .committed)] | length' "$TMP/st.json")"
check_eq "the 4 dual-written ships are dual_writing" "dual_writing dual_writing dual_writing dual_writing" \
    "$(jq -r '[.ships[].state] | join(" ")' "$TMP/st.json")"
check_eq "each shows the cutoff recorded in ferry.ship_state" \
    "$(q "select string_agg(ship_id || '=' || to_char(cutoff_ts at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), ' ' order by ship_id) from ferry.ship_state")" \
    "$(jq -r '[.ships[] | "\(.ship_id)=\(.cutoff)"] | join(" ")' "$TMP/st.json")"
check_eq "legacy ships found through the primary key index" index "$(jq -r '.pg.legacy_scan' "$TMP/st.json")"

# ---- the migration tables (the DDL of lib/migration.c) and one ship in each state -------
q "CREATE TABLE IF NOT EXISTS ferry.backfill_chunks (
     chunk_id text PRIMARY KEY, ship_id text NOT NULL, start_ts timestamptz NOT NULL,
     end_ts timestamptz NOT NULL, status text NOT NULL DEFAULT 'planned',
     published boolean NOT NULL DEFAULT false, attempts int NOT NULL DEFAULT 0,
     rows_read bigint, cells_written bigint, rejected bigint, duration_ms bigint,
     worker text, last_error text, planned_at timestamptz NOT NULL DEFAULT now(),
     updated_at timestamptz NOT NULL DEFAULT now());
   CREATE TABLE IF NOT EXISTS ferry.verify_results (
     id bigserial PRIMARY KEY, ship_id text NOT NULL, from_ts timestamptz, to_ts timestamptz,
     ok boolean NOT NULL, windows int NOT NULL DEFAULT 0, mismatches bigint NOT NULL,
     details jsonb, verified_at timestamptz NOT NULL DEFAULT clock_timestamp());
   CREATE TABLE IF NOT EXISTS ferry.cutover (
     ship_id text PRIMARY KEY, view_schema text NOT NULL DEFAULT 'x',
     view_name text NOT NULL DEFAULT 'x', cut_over boolean NOT NULL DEFAULT false,
     updated_at timestamptz NOT NULL DEFAULT now());
   CREATE TABLE IF NOT EXISTS ferry.ship_events (
     id bigserial PRIMARY KEY, ship_id text NOT NULL, event text NOT NULL,
     at timestamptz NOT NULL DEFAULT clock_timestamp(), details jsonb);"
# a legacy ship: narrow rows written before ferry existed, no ship_state
q "INSERT INTO telemetry_narrow (ship_id, channel_id, ts, value_double)
   SELECT 'LEGACY-1', 'c' || c, '2020-01-01'::timestamptz + s * interval '1 minute', s
   FROM generate_series(1, 3) c, generate_series(1, 50) s"
chunk() { # ship id status duration_ms worker updated_at
    q "INSERT INTO ferry.backfill_chunks (chunk_id, ship_id, start_ts, end_ts, status, duration_ms,
         worker, rows_read, cells_written, updated_at)
       VALUES ('$2', '$1', '2020-01-01', '2020-01-02', '$3', $4, $5,
               CASE WHEN '$3' = 'done' THEN 100 END, CASE WHEN '$3' = 'done' THEN 90 END, $6)"
}
verify() { # ship ok mismatches verified_at
    q "INSERT INTO ferry.verify_results (ship_id, from_ts, to_ts, ok, mismatches, details, verified_at)
       VALUES ('$1', '2020-01-01', '2026-01-01', $2, $3, '{\"first\": [\"k\"]}', $4)"
}
# IMO9300001 stays dual_writing.
# IMO9300002 backfilling: 2 done by one worker (1 s and 3 s), 1 failed, 1 planned.
chunk IMO9300002 b2a done 1000 "'w1'" "now() - interval '5 min'"
chunk IMO9300002 b2b done 3000 "'w1'" "now() - interval '4 min'"
chunk IMO9300002 b2c failed NULL "'w1'" "now() - interval '3 min'"
chunk IMO9300002 b2d planned NULL NULL "now() - interval '6 min'"
# IMO9300003 verified: all chunks done, then a passing verify.
chunk IMO9300003 b3a done 2000 "'w1'" "now() - interval '10 min'"
chunk IMO9300003 b3b done 2000 "'w2'" "now() - interval '10 min'"
verify IMO9300003 true 0 "now() - interval '1 min'"
# IMO9300004 cut over.
chunk IMO9300004 b4a done 2000 "'w1'" "now() - interval '10 min'"
verify IMO9300004 true 0 "now() - interval '5 min'"
q "INSERT INTO ferry.cutover (ship_id, cut_over, updated_at) VALUES ('IMO9300004', true, now() - interval '2 min')"
# SHIP-BF backfilled (no verify yet); SHIP-VF verify failed; a failed verify before a passing one is history.
chunk SHIP-BF bfa done 500 "'w1'" "now() - interval '1 min'"
chunk SHIP-VF vfa done 500 "'w1'" "now() - interval '10 min'"
verify SHIP-VF true 0 "now() - interval '8 min'"
verify SHIP-VF false 3 "now() - interval '2 min'"
# SHIP-RB rolled back: everything before the rollback event, nothing after.
chunk SHIP-RB rba done 500 "'w1'" "now() - interval '30 min'"
verify SHIP-RB true 0 "now() - interval '25 min'"
q "INSERT INTO ferry.cutover (ship_id, cut_over, updated_at) VALUES ('SHIP-RB', false, now() - interval '20 min')"
q "INSERT INTO ferry.ship_events (ship_id, event, at) VALUES ('SHIP-RB', 'cut_over', now() - interval '22 min'),
   ('SHIP-RB', 'rolled_back', now() - interval '10 min')"
# SHIP-RB2 rolled back, then planned again: backfilling once more.
q "INSERT INTO ferry.ship_events (ship_id, event, at) VALUES ('SHIP-RB2', 'rolled_back', now() - interval '10 min')"
chunk SHIP-RB2 r2a planned NULL NULL "now()"

check_eq "status exits 0 with every table there" 0 "$(status)"
check_eq "no table missing now" "[]" "$(jq -c '.pg.missing' "$TMP/st.json")"
check_eq "legacy ship" legacy "$(state_of LEGACY-1)"
check_eq "  ... has no cutoff" null "$(jq -r '.ships[] | select(.ship_id == "LEGACY-1") | .cutoff' "$TMP/st.json")"
check_eq "dual-writing ship" dual_writing "$(state_of IMO9300001)"
check_eq "backfilling ship" backfilling "$(state_of IMO9300002)"
check_eq "  ... chunks done/failed/planned/total, % done" "2 1 1 4 50" \
    "$(jq -r '.ships[] | select(.ship_id == "IMO9300002") | .chunks | "\(.done) \(.failed) \(.planned) \(.total) \(.percent_done)"' "$TMP/st.json")"
check_eq "  ... ETA = 2 chunks left x 2 s mean / 1 worker" 4 \
    "$(jq -r '.ships[] | select(.ship_id == "IMO9300002") | .chunks.eta_seconds' "$TMP/st.json")"
check_eq "  ... rows read and cells written of the done chunks" "200 180" \
    "$(jq -r '.ships[] | select(.ship_id == "IMO9300002") | .chunks | "\(.rows_read) \(.cells_written)"' "$TMP/st.json")"
check_eq "verified ship" verified "$(state_of IMO9300003)"
check_eq "  ... with its last verify result" "true 0 k" \
    "$(jq -r '.ships[] | select(.ship_id == "IMO9300003") | .last_verify | "\(.ok) \(.mismatches) \(.details.first[0])"' "$TMP/st.json")"
check_eq "cut-over ship" cut_over "$(state_of IMO9300004)"
check_eq "backfilled ship (not verified yet)" backfilled "$(state_of SHIP-BF)"
check_eq "ship whose latest verify failed" verify_failed "$(state_of SHIP-VF)"
check_eq "  ... shows the latest verify (3 mismatches)" "false 3" \
    "$(jq -r '.ships[] | select(.ship_id == "SHIP-VF") | .last_verify | "\(.ok) \(.mismatches)"' "$TMP/st.json")"
check_eq "rolled-back ship" rolled_back "$(state_of SHIP-RB)"
check_eq "  ... with its last event" rolled_back \
    "$(jq -r '.ships[] | select(.ship_id == "SHIP-RB") | .last_event.event' "$TMP/st.json")"
check_eq "a ship planned again after its rollback is backfilling" backfilling "$(state_of SHIP-RB2)"
check_eq "cut over again after a rollback: cut_over" cut_over "$(
    q "INSERT INTO ferry.cutover (ship_id, cut_over, updated_at) VALUES ('SHIP-RB', true, now())
       ON CONFLICT (ship_id) DO UPDATE SET cut_over = true, updated_at = now()"
    status >/dev/null; state_of SHIP-RB)"
check_eq "every ship has one of the documented states" 0 \
    "$(jq '[.ships[] | select(.state | IN("legacy","dual_writing","backfilling","backfilled","verified","verify_failed","cut_over","rolled_back") | not)] | length' "$TMP/st.json")"

# ---- filters, the human table, skipped services -----------------------------------------
check_eq "--ship: exit 0" 0 "$(status --ship IMO9300002 --ship LEGACY-1)"
check_eq "--ship filters the ships" "IMO9300002 LEGACY-1" "$(jq -r '[.ships[].ship_id] | join(" ")' "$TMP/st.json")"
ferry status --pg "$db" --group-prefix "$topic" --json >"$TMP/st.json" 2>"$TMP/st.err" || true
check_eq "without --group: the groups named --group-prefix*" "$group" "$(jq -r '[.groups[].group] | join(" ")' "$TMP/st.json")"
ferry status --pg "$db" --group "$group" >"$TMP/human.txt" 2>&1 || true
check "the human table shows the group's partitions" grep -qE "^  $group +Empty/0 +$topic +0 " "$TMP/human.txt"
check "the human table shows the backfilling ship with % and ETA" \
    grep -qE '^  IMO9300002 +backfilling .* 2/1/4 +50\.0% +4s' "$TMP/human.txt"
check_eq "--skip-kafka: no groups, exit 0" "0 false 0" \
    "$(echo "$(status --skip-kafka) $(jq -r '"\(.kafka.checked) \(.groups | length)"' "$TMP/st.json")")"

# a legacy table without an index that leads with the ship column is not scanned by default
q "CREATE TABLE legacy_narrow (t timestamptz, ship text, chan text, v float8);
   INSERT INTO legacy_narrow SELECT '2020-01-01'::timestamptz + s * interval '1 s', 'OLD-' || (s % 3), 'x', s
   FROM generate_series(1, 300) s"
check_eq "a legacy table without an index: exit 0" 0 \
    "$(status --skip-kafka --narrow-table legacy_narrow --narrow-columns ship=ship,channel=chan,time=t,value=v)"
check "no index on the ship column: the legacy scan is skipped and says why" \
    grep -q 'skipped: no btree index' <(jq -r '.pg.legacy_scan' "$TMP/st.json")
check_eq "--legacy-scan full: exit 0" 0 \
    "$(status --skip-kafka --narrow-table legacy_narrow --narrow-columns ship=ship,channel=chan,time=t,value=v --legacy-scan full)"
check_eq "--legacy-scan full finds the legacy ships" "OLD-0 OLD-1 OLD-2" \
    "$(jq -r '[.ships[] | select(.state == "legacy") | .ship_id] | join(" ")' "$TMP/st.json")"

# ---- unreachable services ---------------------------------------------------------------
check_eq "an unreachable PostgreSQL exits 3" 3 \
    "$(ferry status --skip-kafka --pg postgresql://ferry@127.0.0.1:1/x --timeout 1s --json >"$TMP/st.json" 2>/dev/null; echo $?)"
check_eq "  ... and says so in the JSON" "false" "$(jq -r '.pg.ok' "$TMP/st.json")"
check_eq "an unreachable Kafka exits 3" 3 \
    "$(ferry status --brokers 127.0.0.1:1 --timeout 2s --pg "$db" --json >"$TMP/st.json" 2>/dev/null; echo $?)"
check_eq "  ... while the PostgreSQL part is still reported" "false true 9" \
    "$(jq -r '"\(.kafka.ok) \(.pg.ok) \(.ships | length)"' "$TMP/st.json")"
finish

#!/usr/bin/env bash
# 0403-migration: the whole narrow -> wide migration on the real stack.
#  - a narrow table pre-filled with history (10 ships x 100 channels x 7 days at 1-minute
#    resolution by default: MIG_SHIPS, MIG_CHANNELS, MIG_DAYS) while dual-write runs live on
#    new readings of the same ships; backfill by 2 workers, one of them SIGKILLed in the middle
#    of a chunk; verify reports zero mismatches; no dual-write value was replaced by backfill;
#  - replay of the dual-write group to the earliest offset (with ferry replay, then with
#    Kafka's kafka-consumer-groups): the wide tables' checksums are unchanged;
#  - a corrupted wide cell is found by verify, with its key;
#  - cutover refused before verify and allowed after; the view returns the same rows;
#  - rollback of one ship from a time on, dual-write replayed from there, backfill and verify
#    again: passes, and the other ships were untouched throughout.
FERRY_TEST_LIMIT=${FERRY_TEST_LIMIT:-2100} # the 10-million-row run: see tests/CMakeLists.txt
. "$(dirname "$0")/lib.sh"
SHIPS=${MIG_SHIPS:-10}
CH=${MIG_CHANNELS:-100}
DAYS=${MIG_DAYS:-7}
db=$(new_db it_migration)
topic=$(unique it.mig)
tasks=$topic.tasks
group=$topic.dw
new_topic "$topic" 3
new_topic "$tasks" 3
T0=2026-03-01T00:00:00Z
T0_US=1772323200000000
t0=$SECONDS

# The simulator's channel names and types, so history and live data share channels.
new_topic "$topic.names" 1
ferry telemetry --topic "$topic.names" --ships 1 --channels "$CH" --count "$CH" --start "$T0" --progress 0 2>/dev/null
ferry tail --topic "$topic.names" --until-idle 2s --log-level warn |
    jq -r '[.channel_id, (.value | type)] | @csv' >"$TMP/chans.csv"
check_eq "channel list from the simulator" "$CH" "$(wc -l <"$TMP/chans.csv")"

psql "$db" -v ON_ERROR_STOP=1 -q <<SQL
-- the key is added once the history is in: one index build instead of 10 M index inserts
CREATE TABLE public.telemetry_narrow (ship_id text NOT NULL, channel_id text NOT NULL,
  ts timestamptz NOT NULL, value_double double precision, value_long bigint, value_bool boolean,
  value_text text, unit text);
CREATE TEMP TABLE chans (name text, kind text);
\copy chans from '$TMP/chans.csv' csv
INSERT INTO public.telemetry_narrow (ship_id, channel_id, ts, value_double, value_long, value_bool, value_text)
SELECT 'IMO' || (9300000 + s), c.name, '$T0'::timestamptz - (m + 1) * interval '1 minute',
       CASE WHEN c.kind = 'number' AND c.name NOT LIKE '%count%' AND c.name NOT LIKE '%hours%'
            THEN round((s * 10 + sin(m / 60.0) * 5)::numeric, 3)::float8 END,
       CASE WHEN c.kind = 'number' AND (c.name LIKE '%count%' OR c.name LIKE '%hours%') THEN s * 1000000 + m END,
       CASE WHEN c.kind = 'boolean' THEN m % 97 = 0 END,
       CASE WHEN c.kind = 'string' THEN (ARRAY['under way','at anchor','moored'])[1 + m / 600 % 3] END
FROM generate_series(1, $SHIPS) s, chans c, generate_series(0, $DAYS * 1440 - 1) m;
ALTER TABLE public.telemetry_narrow ADD PRIMARY KEY (ship_id, channel_id, ts);
SQL
hist=$(psql "$db" -qAtc 'select count(*) from telemetry_narrow')
check_eq "history pre-filled" "$((SHIPS * CH * DAYS * 1440))" "$hist"
echo "# history: $hist narrow rows in $((SECONDS - t0)) s"

# Live dual-write on new readings of the same ships from T0 on (1 hour at 1 reading/min).
live=$((SHIPS * CH * 60))
"$FERRY_BIN" telemetry --topic "$topic" --ships "$SHIPS" --channels "$CH" --start "$T0" \
    --interval 1m --count "$live" --rate 20000 --progress 0 2>"$TMP/producer.log" &
producer=$!
"$FERRY_BIN" dualwrite --pg "$db" --topic "$topic" --group "$group" --until-idle 8s --progress 0 \
    2>"$TMP/dw1.log" &
dw=$!
WAIT_SECONDS=60 wait_for bash -c "[ \$(psql '$db' -qAtc 'select count(*) from ferry.ship_state') = $SHIPS ]"
check_eq "cutoff of every ship is its first dual-written reading" "$SHIPS" \
    "$(psql "$db" -qAtc "select count(*) from ferry.ship_state where cutoff_ts = '$T0'")"
state_of() { ferry status --json --pg "$db" --skip-kafka --ship "$1" 2>/dev/null | jq -r '.ships[0].state'; }
check_eq "status: a dual-written ship is dual_writing" dual_writing "$(state_of IMO9300001)"
# A late reading of a new channel at a history timestamp, written by dual-write before backfill.
echo '{"ship_id":"IMO9300001","channel_id":"late.sensor","timestamp":1772321400000000,"value":42.5}' |
    ferry produce --topic "$topic" --schema TelemetryReading --log-level warn

# Backfill while dual-write runs: plan, then 2 workers; one is SIGKILLed mid-chunk.
check_eq "backfill plan exits 0" 0 "$(exit_code ferry backfill plan --all --pg "$db" --topic "$tasks")"
chunks=$(psql "$db" -qAtc 'select count(*) from ferry.backfill_chunks')
check_eq "one chunk per ship-day before the cutoff" "$((SHIPS * DAYS))" "$chunks"
check_eq "status: planned, not yet backfilled: backfilling at 0 %" "backfilling 0" \
    "$(ferry status --json --pg "$db" --skip-kafka --ship IMO9300002 | jq -r '.ships[0] | "\(.state) \(.chunks.percent_done)"')"
check_eq "planning again publishes nothing new" 0 "$(exit_code ferry backfill plan --all --pg "$db" --topic "$tasks")"
check "  (it said so)" grep -q 'planned 0 new chunk(s), published 0 task(s)' "$TMP/err"
rc=0; wait "$producer" || rc=$?
check_eq "live readings delivered" 0 "$rc"
WAIT_SECONDS=60 wait_for bash -c "[ \$(psql '$db' -qAtc \"select count(*) from telemetry_narrow where ts >= '$T0'\") = $live ]"
psql "$db" -qAt -c "select md5(string_agg(t::text, '' order by t::text)) from (select ship_id, channel_id, ts, value_double, value_long, value_bool, value_text from telemetry_narrow where ts >= '$T0' or channel_id = 'late.sensor') t" >"$TMP/dw_cells.before"
bf() { "$FERRY_BIN" backfill run --pg "$db" --topic "$tasks" --group "$topic.bf" --until-idle 5s \
    -X session.timeout.ms=6000 2>>"$1" & pid=$!; }
# Hold a SHARE lock on ship 1's wide table: a worker backfilling one of its chunks streams
# the chunk and then blocks at the merge, mid-chunk, where it is SIGKILLed.
locked=$(psql "$db" -qAtc "select table_name from ferry.ship_tables where ship_id = 'IMO9300001' and part = 1")
PGAPPNAME=it-lock psql "$db" -qc "BEGIN; LOCK TABLE telemetry_wide.\"$locked\" IN SHARE MODE; SELECT pg_sleep(600)" >/dev/null 2>&1 &
locker=$!
WAIT_SECONDS=30 wait_for bash -c "[ \$(psql '$db' -qAtc \"select count(*) from pg_locks l join pg_stat_activity a using (pid) where a.application_name = 'it-lock' and l.mode = 'ShareLock' and l.granted\") -ge 1 ]"
bf "$TMP/bf1.log"; b1=$pid
bf "$TMP/bf2.log"; b2=$pid
WAIT_SECONDS=120 wait_for bash -c "psql '$db' -qAtc \"select application_name from pg_stat_activity where wait_event_type = 'Lock' and application_name like 'ferry backfill run %'\" | grep -q ."
victim=$(psql "$db" -qAtc "select substring(application_name from 'ferry backfill run ([0-9]+)') from pg_stat_activity where wait_event_type = 'Lock' and application_name like 'ferry backfill run %' limit 1")
inflight=$(psql "$db" -qAtc "select chunk_id from ferry.backfill_chunks where ship_id = 'IMO9300001' and status <> 'done' and attempts = 1 order by start_ts limit 1")
check "a worker is blocked in the middle of a chunk of ship 1" test -n "$victim"
kill -KILL "$victim"
wait "$victim" 2>/dev/null || true
psql "$db" -qAtc "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'it-lock'" >/dev/null
wait "$locker" 2>/dev/null || true
if [ "$victim" = "$b1" ]; then bf "$TMP/bf1b.log"; b1=$pid; else bf "$TMP/bf2b.log"; b2=$pid; fi
for p in "$b1" "$b2"; do rc=0; wait "$p" || rc=$?; check_eq "backfill worker exits 0" 0 "$rc"; done
rc=0; wait "$dw" || rc=$?
check_eq "dual-write worker exits 0" 0 "$rc"
check_eq "every chunk done" "$chunks" "$(psql "$db" -qAtc "select count(*) from ferry.backfill_chunks where status = 'done'")"
check_eq "the killed worker's chunk was redone" "done 2" \
    "$(psql "$db" -qAt -F' ' -c "select status, attempts from ferry.backfill_chunks where chunk_id = '$inflight'")"
echo "# backfill done at $((SECONDS - t0)) s"
read -r _ values missing extra mismatched <<<"$(check_wide "$db")"
check_eq "every narrow value is in the wide tables exactly: missing" 0 "$missing"
check_eq "  extra" 0 "$extra"
check_eq "  mismatched" 0 "$mismatched"
check_eq "  all values checked" "$((hist + live + 1 - SHIPS * $(grep -c '"null"' "$TMP/chans.csv" || true)))" "$values"
psql "$db" -qAt -c "select md5(string_agg(t::text, '' order by t::text)) from (select ship_id, channel_id, ts, value_double, value_long, value_bool, value_text from telemetry_narrow where ts >= '$T0' or channel_id = 'late.sensor') t" >"$TMP/dw_cells.after"
check "dual-write's readings untouched by backfill" cmp -s "$TMP/dw_cells.before" "$TMP/dw_cells.after"
check_eq "the late dual-write cell kept its value" "42.5" \
    "$(psql "$db" -qAtc "select value_double from telemetry_narrow where channel_id = 'late.sensor'")"
check_eq "verify: zero mismatches" 0 "$(exit_code ferry verify --pg "$db")"
check "verify said ok for every ship" bash -c "[ \$(grep -c ': ok (' '$TMP/out') = $SHIPS ]"
check_eq "status: verified" verified "$(state_of IMO9300001)"

wide_sum() { # md5 of every wide table of ships LIKE $1
    local q
    q=$(psql "$db" -qAtc "select string_agg(format('select %L t, md5(string_agg(w::text, %L order by ts)) from telemetry_wide.%I w', table_name, '', table_name), ' union all ' order by table_name) from ferry.ship_tables where ship_id like '${1:-%}'")
    psql "$db" -qAtc "select md5(string_agg(t || coalesce(md5, ''), ',' order by t)) from ($q) x(t, md5)"
}
sum0=$(wide_sum)

# Replay with ferry replay, then with Kafka's own tool: nothing changes.
check_eq "ferry replay --earliest" 0 "$(exit_code ferry replay --group "$group" --topic "$topic" --earliest)"
"$FERRY_BIN" dualwrite --pg "$db" --topic "$topic" --group "$group" --until-idle 4s --progress 0 2>"$TMP/dw2.log"
check "the replay re-read the topic" grep -q "consumed $((live + 1))," "$TMP/dw2.log"
check_eq "wide checksums unchanged after ferry replay" "$sum0" "$(wide_sum)"
"$FERRY_SOURCE_DIR/scripts/kafka-tool" consumer-groups --bootstrap-server "$FERRY_BROKERS" \
    --group "$group" --topic "$topic" --reset-offsets --to-earliest --execute >/dev/null
"$FERRY_BIN" dualwrite --pg "$db" --topic "$topic" --group "$group" --until-idle 4s --progress 0 2>"$TMP/dw3.log"
check "the second replay re-read the topic" grep -q "consumed $((live + 1))," "$TMP/dw3.log"
check_eq "wide checksums unchanged after kafka-consumer-groups --reset-offsets" "$sum0" "$(wide_sum)"

# A corrupted wide cell is found, with its key.
read -r tbl col <<<"$(psql "$db" -qAt -F' ' -c "select table_name, column_name from ferry.channel_columns where ship_id = 'IMO9300002' and channel_id = 'main_engine.rpm'")"
psql "$db" -qc "update telemetry_wide.\"$tbl\" set \"$col\" = -1 where ts = '2026-02-28 12:00:00+00'"
check_eq "verify finds the corrupted cell: exit 1" 1 "$(exit_code ferry verify --pg "$db" --ship IMO9300002)"
check "  with its key" grep -q 'ts 2026-02-28T12:00:00.000000Z channel main_engine.rpm value -1' "$TMP/out"
check_eq "cutover refused after a failed verify" 1 "$(exit_code ferry cutover --pg "$db" --ship IMO9300002)"
psql "$db" -qc "update telemetry_wide.\"$tbl\" w set \"$col\" = n.value_double from telemetry_narrow n where n.ship_id = 'IMO9300002' and n.channel_id = 'main_engine.rpm' and n.ts = w.ts and w.ts = '2026-02-28 12:00:00+00'"
check_eq "verify passes again" 0 "$(exit_code ferry verify --pg "$db" --ship IMO9300002)"
view=$(psql "$db" -qAtc "select view_name from ferry.cutover where ship_id = 'IMO9300002'")
before=$(psql "$db" -qAtc "select md5(string_agg(v::text, '' order by ts)) from telemetry.\"$view\" v")
check_eq "cutover allowed after verify" 0 "$(exit_code ferry cutover --pg "$db" --ship IMO9300002)"
check_eq "status: cut_over" cut_over "$(state_of IMO9300002)"
check_eq "the view now reads the wide table" t \
    "$(psql "$db" -qAtc "select definition like '%telemetry_wide%' from pg_views where viewname = '$view'")"
check_eq "the view returns the same rows before and after cutover" "$before" \
    "$(psql "$db" -qAtc "select md5(string_agg(v::text, '' order by ts)) from telemetry.\"$view\" v")"

# Rollback of one ship from 30 minutes after T0, then dual-write from there, backfill, verify.
o_before=$(wide_sum | tr -d ' ')
"$FERRY_BIN" dualwrite --pg "$db" --topic "$topic" --group "$group" --progress 0 2>"$TMP/dw4.log" &
dw=$!
sleep 4
check_eq "rollback refused while dual-write runs" 1 \
    "$(exit_code ferry rollback --pg "$db" --ship IMO9300003 --group "$group" --topic "$topic" --since 2026-03-01T00:30:00Z)"
check "  with a clear message" grep -q 'active members' "$TMP/err"
kill -TERM "$dw"; wait "$dw" || true
check_eq "rollback --since after the group stopped" 0 \
    "$(exit_code ferry rollback --pg "$db" --ship IMO9300003 --group "$group" --topic "$topic" --since 2026-03-01T00:30:00Z)"
check_eq "the ship's wide rows from T are gone" 0 \
    "$(psql "$db" -qAtc "select count(*) from telemetry_wide.\"$(psql "$db" -qAtc "select table_name from ferry.ship_tables where ship_id='IMO9300003' and part=1")\" where ts >= '2026-03-01 00:30:00+00'")"
check_eq "the narrow table is untouched" "$((hist + live + 1))" "$(psql "$db" -qAtc 'select count(*) from telemetry_narrow')"
check_eq "status: rolled_back" rolled_back "$(state_of IMO9300003)"
check_eq "cutover refused until the ship is verified again" 1 "$(exit_code ferry cutover --pg "$db" --ship IMO9300003)"
"$FERRY_BIN" dualwrite --pg "$db" --topic "$topic" --group "$group" --until-idle 4s --progress 0 2>"$TMP/dw5.log"
check_eq "backfill plan after rollback" 0 "$(exit_code ferry backfill plan --ship IMO9300003 --pg "$db" --topic "$tasks")"
"$FERRY_BIN" backfill run --pg "$db" --topic "$tasks" --group "$topic.bf" --until-idle 4s 2>"$TMP/bf3.log"
check_eq "verify after rollback, replay and backfill passes" 0 "$(exit_code ferry verify --pg "$db")"
check_eq "wide tables identical to before the rollback cycle (other ships untouched)" "$o_before" "$(wide_sum | tr -d ' ')"
echo "# migration test took $((SECONDS - t0)) s"
finish

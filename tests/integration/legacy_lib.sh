# legacy_lib.sh - the whole migration on a legacy narrow table that ferry did not create
# (sourced by the 04xx-legacy-* tests; lib.sh first). A test describes its table, then calls
# legacy_flow, which runs with live data arriving:
#   history in the legacy table (written by "the other system", here plain SQL) ->
#   dualwrite with 2 workers on live readings (JSON lines through ferry produce) ->
#   backfill plan + 2 run workers while more live readings arrive ->
#   checks: every narrow value is exactly one wide cell (tests/sql/check_legacy.sql, with the
#   test's own SQL for its table), dead letters as expected, verify 0 mismatches, a corrupted
#   cell found with its key -> cutover (the reader view returns the same rows before and after)
#   -> rollback of one ship with a replay from the start, backfill again (wide checksums
#   identical) -> ferry replay --earliest (wide checksums and narrow unchanged) -> the legacy
#   rows that were there before are byte-for-byte unchanged.
#
# The test sets:
#   L_NAME      short name (databases, topics)
#   L_TABLE     --narrow-table as a user types it (an SQL name: '"Legacy"', 'ops."Narrow"')
#   L_SPEC      --narrow-columns
#   L_ZONE      --narrow-time-zone, or empty
#   L_DDL       SQL creating the table (and partitions, indexes)
#   L_HIST      SQL filling the history before $T0 for ships IMO9300001..3 (3 rows per ship
#               and channel at least); :'t0' is $T0
#   L_KINDS     the live channels, name:kind,... (kinds: d double, r double that real rounds,
#               n double that numeric(12,3) rounds, i integral double, l long, L long > 2^53,
#               s string, b boolean); every one also has history
#   L_O_SHIP, L_O_CHAN, L_O_TS, L_O_VAL   the oracle's SQL over alias n: ship and channel as
#               text, the time as timestamptz, the value as text that casts to the wide cell
#   L_T0        the first live time (default 2026-03-01T00:00:00Z); live readings run 60 minutes
#               from it at one per minute for ships IMO9300001, IMO9300002, IMO9300004
#   L_EXTRA_LIVE  optional extra JSON lines produced with the first half
#   L_DLQ       how many live readings are expected in the DLQ (default 0), L_DLQ_REASON its reason
#   L_CORRUPT_CHANNEL  a numeric channel whose wide cell the test corrupts (default first of L_KINDS)
: "${L_T0:=2026-03-01T00:00:00Z}"
: "${L_DLQ:=0}"
L_WORKER_OPTS=()

legacy_opts() {
    local o=(--pg "$db" --narrow-table "$L_TABLE" --narrow-columns "$L_SPEC")
    [ -n "${L_ZONE:-}" ] && o+=(--narrow-time-zone "$L_ZONE")
    printf '%s\n' "${o[@]}"
}

# live_lines FROM_MIN TO_MIN: the live readings of minutes [FROM, TO) as JSON lines.
live_lines() {
    python3 - "$L_KINDS" "$L_T0" "$1" "$2" <<'PY'
import datetime, json, sys
kinds = [k.split(':') for k in sys.argv[1].split(',')]
t0 = datetime.datetime.fromisoformat(sys.argv[2].replace('Z', '+00:00'))
t0_us = int(t0.timestamp()) * 1000000
status = ['under way', 'at anchor', 'moored']
for m in range(int(sys.argv[3]), int(sys.argv[4])):
    for s in (1, 2, 4):
        for name, k in kinds:
            v = {'d': s * 10 + m * 0.25 + 0.125, 'r': s + m / 10, 'n': s * 1.23456 + m,
                 'i': float(s * 100 + m), 'l': s * 1000000 + m, 'L': 9007199254740993 + s * 1000 + m,
                 's': status[(s + m) % 3], 'b': (s + m) % 2 == 0}[k]
            print(json.dumps({'ship_id': 'IMO%d' % (9300000 + s), 'channel_id': name,
                              'timestamp': t0_us + m * 60000000, 'value': v}))
PY
}

l_psql() { psql "$db" -v ON_ERROR_STOP=1 -qAt "$@"; }

# Ends the test at once when a stage failed: later stages only wait on what is not there.
l_bail() {
    if [ "$T_FAIL" != 0 ]; then
        echo "# stopping after a failed stage"
        finish
        exit 1
    fi
}

# The legacy rows that were there before live data, as text, hashed (every column).
legacy_rows_sum() {
    l_psql -c "select count(*) || ' ' || md5(coalesce(string_agg(n::text, '|' order by n::text), '')) from $L_QTABLE n where $L_O_TS < '$L_T0'"
}

oracle() {
    l_psql -F' ' -f "$FERRY_SOURCE_DIR/tests/sql/check_legacy.sql" \
        -c "select * from pg_temp.check_legacy('$L_QTABLE', \$q\$$L_O_SHIP\$q\$, \$q\$$L_O_CHAN\$q\$, \$q\$$L_O_TS\$q\$, \$q\$$L_O_VAL\$q\$, 'telemetry_wide')"
}

wide_sum() { # md5 of every wide table of ships LIKE $1
    local q
    q=$(l_psql -c "select string_agg(format('select %L t, md5(string_agg(w::text, %L order by ts)) from telemetry_wide.%I w', table_name, '', table_name), ' union all ' order by table_name) from ferry.ship_tables where ship_id like '${1:-%}'")
    l_psql -c "select md5(string_agg(t || coalesce(md5, ''), ',' order by t)) from ($q) x(t, md5)"
}

narrow_count() { l_psql -c "select count(*) from $L_QTABLE"; }
# dlq_sources FILE: how many distinct source records (topic, partition, offset) the dead
# letters whose kcat '%h' lines FILE holds came from.
dlq_sources() {
    awk '{ k = ""; n = split($0, h, ",")
           for (i = 1; i <= n; i++) if (h[i] ~ /^ferry\.source\.(topic|partition|offset)=/) k = k h[i] ","
           if (k != "") print k }' "$1" | sort -u | grep -c . || true
}

legacy_flow() {
    local t0=$SECONDS
    db=$(new_db "it_legacy_$L_NAME")
    topic=$(unique "it.legacy.$L_NAME")
    tasks=$topic.tasks
    group=$topic.dw
    new_topic "$topic" 3
    new_topic "$tasks" 2
    mapfile -t OPTS < <(legacy_opts)
    # background workers go with the test, whatever happens
    trap 'kill ${dwp[*]:-} ${bfp[*]:-} 2>/dev/null || true; rm -rf "$TMP"' EXIT
    l_psql -c "$L_DDL"
    psql "$db" -v ON_ERROR_STOP=1 -qAt -v t0="$L_T0" <<<"$L_HIST"
    L_QTABLE=$(l_psql -c "select '$L_TABLE'::regclass::text")
    local hist nkinds live
    hist=$(narrow_count)
    nkinds=$(tr ',' '\n' <<<"$L_KINDS" | wc -l)
    live=$((60 * 3 * nkinds))
    check "history in the legacy table ($hist rows)" test "$hist" -gt 0
    local before
    before=$(legacy_rows_sum)

    # 1. dual-write, 2 workers, on the first half hour of live readings
    for i in 1 2; do
        "$FERRY_BIN" dualwrite "${OPTS[@]}" --topic "$topic" --group "$group" --progress 0 \
            -X session.timeout.ms=6000 2>"$TMP/dw$i.log" &
        dwp[$i]=$!
    done
    local extra=0
    if [ -n "${L_EXTRA_LIVE:-}" ]; then
        extra=$(printf '%s\n' "$L_EXTRA_LIVE" | wc -l)
        printf '%s\n' "$L_EXTRA_LIVE" >"$TMP/extra.jsonl"
    else
        : >"$TMP/extra.jsonl"
    fi
    { live_lines 0 30; cat "$TMP/extra.jsonl"; } |
        ferry produce --topic "$topic" --schema TelemetryReading --log-level warn
    local want1=$((hist + live / 2 + extra - L_DLQ))
    # written, or both workers gone (then fail now rather than after the wait)
    WAIT_SECONDS=90 wait_for bash -c "[ \$(psql '$db' -qAtc 'select count(*) from $L_QTABLE') -ge $want1 ] ||
        ! { kill -0 ${dwp[1]} || kill -0 ${dwp[2]}; } 2>/dev/null" || true
    check_eq "dual-write wrote the first half hour" "$want1" "$(narrow_count)"
    check_eq "a cutoff for every live ship" 3 "$(l_psql -c 'select count(*) from ferry.ship_state')"
    l_bail

    # 2. backfill by 2 workers while the second half hour arrives
    check_eq "backfill plan exits 0" 0 "$(exit_code ferry backfill plan --all "${OPTS[@]}" --topic "$tasks")"
    for i in 1 2; do
        "$FERRY_BIN" backfill run "${OPTS[@]}" --topic "$tasks" --group "$topic.bf" \
            --until-idle 4s -X session.timeout.ms=6000 2>"$TMP/bf$i.log" &
        bfp[$i]=$!
    done
    live_lines 30 60 | ferry produce --topic "$topic" --schema TelemetryReading --log-level warn
    for i in 1 2; do
        local rc=0
        wait "${bfp[$i]}" || rc=$?
        check_eq "backfill worker $i exits 0" 0 "$rc"
    done
    local want=$((hist + live + extra - L_DLQ))
    WAIT_SECONDS=90 wait_for bash -c "[ \$(psql '$db' -qAtc 'select count(*) from $L_QTABLE') -ge $want ]" || true
    sleep 1
    for i in 1 2; do kill -TERM "${dwp[$i]}"; done
    for i in 1 2; do
        local rc=0
        wait "${dwp[$i]}" || rc=$?
        check_eq "dual-write worker $i exits 0 on SIGTERM" 0 "$rc"
    done
    check_eq "narrow: history + every live reading that fits, once" "$want" "$(narrow_count)"
    check_eq "every chunk done" 0 "$(l_psql -c "select count(*) from ferry.backfill_chunks where status <> 'done'")"
    check "chunks were planned" test "$(l_psql -c 'select count(*) from ferry.backfill_chunks')" -gt 0
    kcat -C -b "$FERRY_BROKERS" -t "$topic.dlq" -e -q -f '%h\n' >"$TMP/dlq.headers" 2>"$TMP/dlq.err" ||
        not_ok "reading the DLQ failed: $(tail -1 "$TMP/dlq.err")"
    # at least once: a batch read again after a commit refused by a rebalance is dead-lettered
    # again (docs/contracts.md); each bad record counts once, by its source coordinates
    check_eq "dead letters (distinct source records)" "$L_DLQ" "$(dlq_sources "$TMP/dlq.headers")"
    if [ "$L_DLQ" -gt 0 ]; then
        check "  with reason ${L_DLQ_REASON:-}" grep -q "ferry.error.reason=${L_DLQ_REASON:-}" "$TMP/dlq.headers"
    fi
    echo "# dual-write + backfill done at $((SECONDS - t0)) s"
    l_bail

    # 3. exact, verified
    read -r chans values missing xtra mismatched <<<"$(oracle)"
    check "the wide tables have columns ($chans)" test "$chans" -gt 0
    check_eq "every narrow value is a wide cell: missing" 0 "$missing"
    check_eq "  extra" 0 "$xtra"
    check_eq "  mismatched" 0 "$mismatched"
    check_eq "  all narrow values checked" "$want" "$values"
    check_eq "verify: zero mismatches" 0 "$(exit_code ferry verify "${OPTS[@]}")"
    check "  every ship ok" bash -c "[ \$(grep -c ': ok (' '$TMP/out') = 4 ]"
    local cc=${L_CORRUPT_CHANNEL:-${L_KINDS%%:*}} tbl col at old
    read -r tbl col <<<"$(l_psql -F' ' -c "select table_name, column_name from ferry.channel_columns where ship_id = 'IMO9300001' and channel_id = '$cc'")"
    at=$(l_psql -c "select ts from telemetry_wide.\"$tbl\" where \"$col\" is not null and ts < '$L_T0' order by ts limit 1 offset 5")
    old=$(l_psql -c "select \"$col\" from telemetry_wide.\"$tbl\" where ts = '$at'")
    l_psql -c "update telemetry_wide.\"$tbl\" set \"$col\" = \"$col\" + 1 where ts = '$at'"
    check_eq "verify finds a corrupted cell: exit 1" 1 "$(exit_code ferry verify "${OPTS[@]}" --ship IMO9300001)"
    local when
    when=$(l_psql -c "select to_char('$at'::timestamptz at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS')")
    check "  with its key" grep -q "ts $when.000000Z channel $cc" "$TMP/out"
    l_psql -c "update telemetry_wide.\"$tbl\" set \"$col\" = '$old' where ts = '$at'"
    check_eq "verify passes again" 0 "$(exit_code ferry verify "${OPTS[@]}" --ship IMO9300001)"

    # 4. cutover: the reader view returns the same rows
    local view vbefore
    view=$(l_psql -c "select view_name from ferry.cutover where ship_id = 'IMO9300001'")
    vbefore=$(l_psql -c "select count(*) || md5(string_agg(v::text, '' order by ts)) from telemetry.\"$view\" v")
    check_eq "cutover" 0 "$(exit_code ferry cutover "${OPTS[@]}" --ship IMO9300001)"
    check_eq "the view returns the same rows before and after cutover" "$vbefore" \
        "$(l_psql -c "select count(*) || md5(string_agg(v::text, '' order by ts)) from telemetry.\"$view\" v")"

    # 5. rollback of one ship and a replay from the start, then backfill again
    local sum0
    sum0=$(wide_sum)
    check_eq "rollback --since" 0 "$(exit_code ferry rollback "${OPTS[@]}" --ship IMO9300002 --group "$group" --topic "$topic" --since "$L_T0")"
    check_eq "  the ship's live wide rows are gone" 0 "$(l_psql -c "select count(*) from telemetry_wide.\"$(l_psql -c "select table_name from ferry.ship_tables where ship_id = 'IMO9300002' and part = 1")\" where ts >= '$L_T0'")"
    "$FERRY_BIN" dualwrite "${OPTS[@]}" --topic "$topic" --group "$group" --until-idle 4s --progress 0 2>"$TMP/dw3.log" ||
        not_ok "dual-write replay after rollback"
    check_eq "  backfill plan for the ship" 0 "$(exit_code ferry backfill plan --ship IMO9300002 "${OPTS[@]}" --topic "$tasks")"
    "$FERRY_BIN" backfill run "${OPTS[@]}" --topic "$tasks" --group "$topic.bf" --until-idle 3s 2>"$TMP/bf3.log" ||
        not_ok "backfill run after rollback"
    check_eq "  wide tables identical after rollback, replay and backfill" "$sum0" "$(wide_sum)"
    check_eq "  verify" 0 "$(exit_code ferry verify "${OPTS[@]}")"

    # 6. a replay of everything changes nothing
    check_eq "ferry replay --earliest" 0 "$(exit_code ferry replay --group "$group" --topic "$topic" --earliest)"
    "$FERRY_BIN" dualwrite "${OPTS[@]}" --topic "$topic" --group "$group" --until-idle 4s --progress 0 2>"$TMP/dw4.log" ||
        not_ok "dual-write replay"
    check "  the replay re-read the topic" grep -q "consumed $((live + extra))," "$TMP/dw4.log"
    check_eq "  wide checksums unchanged" "$sum0" "$(wide_sum)"
    check_eq "  narrow unchanged" "$want" "$(narrow_count)"
    check_eq "the legacy rows that were there are byte-for-byte unchanged" "$before" "$(legacy_rows_sum)"
    echo "# legacy flow took $((SECONDS - t0)) s"
}

#!/usr/bin/env bash
# 0003-hostile-cli: secrets stay secret and bad command lines are usage errors, tried as a new
# user with bad input would: libpq echoing a bad %-escape of the password, a second password=
# in a URI, a --pg-file that holds only a password, a config line of 10,000 bytes, ps looking
# at argv; integers that would wrap, topic names Kafka refuses (and a topic whose .dlq would
# not fit: neither is created), empty bootstrap servers, unknown -X keys.
. "$(dirname "$0")/lib.sh"
pgport=${FERRY_PG_URL##*:}; pgport=${pgport%%/*}
nosecret() { # description, secret: neither out nor err of the last exit_code holds it
    if grep -q -- "$2" "$TMP/out" "$TMP/err"; then not_ok "$1 (printed: $(grep -ho -- ".\{0,30\}$2.\{0,10\}" "$TMP/out" "$TMP/err" | head -1))"; else ok "$1"; fi
}

# ---- secrets ----------------------------------------------------------------------------
url="postgresql://ferry:Wrong%ZZPassw0rdXYZ@127.0.0.1:$pgport/ferry"
check_eq "a password with a bad %-escape: status exits 3" 3 "$(exit_code ferry status --pg "$url" --timeout 2s --skip-kafka)"
check "  libpq's complaint is shown" grep -q 'invalid percent-encoded token' "$TMP/out" "$TMP/err"
nosecret "  ... without the password" "Passw0rdXYZ"
check_eq "  status --json exits 3" 3 "$(exit_code ferry status --pg "$url" --timeout 2s --skip-kafka --json)"
nosecret "  the JSON document holds no password" "Passw0rdXYZ"
check_eq "  dualwrite stops at once with exit 3 (fatal: fix the settings)" 3 "$(exit_code timeout 20 "$FERRY_BIN" dualwrite --pg "$url" -b "$FERRY_BROKERS" --topic "$(unique hc)")"
nosecret "  dualwrite prints no password" "Passw0rdXYZ"

url="postgresql://ferry@127.0.0.1:1/ferry?password=FirstPwXYZ&sslmode=disable&password=SecondPwXYZ"
check_eq "two password= in a URI: status exits 3" 3 "$(exit_code ferry status --pg "$url" --timeout 2s --skip-kafka)"
check "  the URI is shown, redacted" grep -q 'password=\*\*\*&sslmode=disable&password=\*\*\*' "$TMP/out" "$TMP/err"
nosecret "  the first password is not printed" "FirstPwXYZ"
nosecret "  the second password is not printed" "SecondPwXYZ"

printf 'JustAPassw0rdXYZ\n' >"$TMP/pw"
check_eq "a --pg-file holding only a password: status exits 3" 3 "$(exit_code ferry status --pg-file "$TMP/pw" --timeout 2s --skip-kafka)"
nosecret "  the file's content is not printed" "JustAPassw0rd"

python3 -c "import sys; print('pg = postgresql://ferry:' + 'a' * 10000 + 'TailSecretXYZ@127.0.0.1:1/ferry')" >"$TMP/long.conf"
check_eq "a config line of 10,000 bytes is one line: status exits 3 (unreachable), not 2" 3 "$(exit_code ferry status --config "$TMP/long.conf" --timeout 2s --skip-kafka)"
nosecret "  the line's tail is not printed" "TailSecretXYZ"
printf '\0pg = x\n' >"$TMP/nul.conf"
check_eq "a config line starting with NUL is a usage error" 2 "$(exit_code ferry status --config "$TMP/nul.conf")"
check "  named by file and line" grep -q 'nul.conf:1: the line holds a NUL byte' "$TMP/err"

# ps: a running worker's argv shows x's where the password was
"$FERRY_BIN" dualwrite --pg "postgresql://ferry:ArgvSecretXYZ@127.0.0.1:1/ferry" -b "$FERRY_BROKERS" --topic "$(unique hc)" >"$TMP/argv.log" 2>&1 &
pid=$!
wait_for grep -q 'not reachable' "$TMP/argv.log" || true
check "ps shows no password in a worker's argv" bash -c "! tr '\0' ' ' </proc/$pid/cmdline | grep -q ArgvSecretXYZ"
check "  but x's where it was" bash -c "tr '\0' ' ' </proc/$pid/cmdline | grep -q -- '--pg xxxxxxxx'"
kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
check "  nor does its log" bash -c "! grep -q ArgvSecretXYZ '$TMP/argv.log'"

# ---- command-line rules -----------------------------------------------------------------
check_eq "--max-columns 4294967297 is a usage error (it wrapped to 1)" 2 "$(exit_code timeout 20 "$FERRY_BIN" dualwrite --pg "$FERRY_PG_URL" -b "$FERRY_BROKERS" --topic "$(unique hc)" --max-columns 4294967297)"
check "  out of range, said so" grep -q 'max-columns: 4294967297 is out of range' "$TMP/err"
check_eq "--count 99999999999999999999 is a usage error" 2 "$(exit_code timeout 20 "$FERRY_BIN" tail -b "$FERRY_BROKERS" --topic x --count 99999999999999999999)"
for bad in "bad topic" "bad/topic" "" ".."; do
    check_eq "--topic '$bad' is a usage error" 2 "$(exit_code timeout 20 "$FERRY_BIN" dualwrite --pg "$FERRY_PG_URL" -b "$FERRY_BROKERS" --topic "$bad")"
done
check_eq "tail --topic '' is a usage error" 2 "$(exit_code timeout 20 "$FERRY_BIN" tail -b "$FERRY_BROKERS" --topic '' --until-idle 1s)"
u=$(unique hc)
long=$(python3 -c "import sys; u = sys.argv[1]; print(u + 'a' * (246 - len(u)))" "$u")  # 246 characters: its .dlq would be 250
check_eq "setup --topic <246 characters> is a usage error" 2 "$(exit_code ferry setup --skip-pg -b "$FERRY_BROKERS" --topic "$long")"
check "  the reason is the .dlq's length" grep -q 'dead-letter topic' "$TMP/err"
kcat -L -b "$FERRY_BROKERS" >"$TMP/md" 2>&1
check "  neither the topic nor its .dlq was created" bash -c "! grep -q '$long' '$TMP/md'"
check_eq "crawl --topic <246 characters> is a usage error" 2 "$(exit_code timeout 20 "$FERRY_BIN" crawl --topic "$long")"

for cmd in "tail --topic x --until-idle 1s" "setup --skip-pg" "status" "dualwrite --pg $FERRY_PG_URL" "retrain dispatch --pg $FERRY_PG_URL --webhook-url http://127.0.0.1:1/"; do
    s=$SECONDS
    check_eq "$cmd -X bootstrap.servers= is a usage error" 2 "$(exit_code timeout 15 "$FERRY_BIN" $cmd -b "$FERRY_BROKERS" -X bootstrap.servers=)"
    check "  at once (it hung 60 s and more)" test $((SECONDS - s)) -le 10
    check_eq "$cmd -X no.such.key=1 is a usage error" 2 "$(exit_code timeout 15 "$FERRY_BIN" $cmd -b "$FERRY_BROKERS" -X no.such.key=1)"
    check "  naming the key" grep -q 'no.such.key' "$TMP/out" "$TMP/err"
done
check_eq "retrain dispatch --deliveries-table with a 64-byte name is a usage error" 2 "$(exit_code timeout 20 "$FERRY_BIN" retrain dispatch --pg "$FERRY_PG_URL" -b "$FERRY_BROKERS" --webhook-url http://127.0.0.1:1/ --deliveries-table "$(python3 -c "print('d' * 64)")")"
check "  PostgreSQL would have cut it to 63" grep -q 'at most 63' "$TMP/err"
finish

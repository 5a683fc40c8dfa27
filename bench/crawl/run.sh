#!/usr/bin/env bash
# bench/crawl/run.sh - achieved request rate of `ferry crawl tmdb` against its --rate limit,
# and the legacy crawler as the anchor, measured in the same run. Run by hand (not in CI):
#
#   export FERRY_STACK_DIR=...; scripts/stack up; eval "$(scripts/stack env)"
#   bench/crawl/run.sh [FERRY_BIN]           (default: build/dev/ferry)
#
# A local TMDB-compatible server (tests/tmdb_server.py) answers every request after 50 ms
# (LATENCY_MS). For each limit in RATES, RUNS crawls of pages 1-500 (PAGES) go to a fresh
# topic and job; the achieved rate is taken from the server's own log (arrival times:
# (requests - 1) / (last arrival - first arrival)), with the largest count in any 1-second
# window. The anchor is bench/crawl/legacy_crawler.py (one request at a time, 0.4 s pause)
# on LEGACY_PAGES pages of the same server. Prints a Markdown table; medians of the runs.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${1:-${FERRY_BIN:-$root/build/dev/ferry}}
RATES=${RATES:-"40 100"}
RUNS=${RUNS:-3}
PAGES=${PAGES:-500}
LATENCY_MS=${LATENCY_MS:-50}
LEGACY_PAGES=${LEGACY_PAGES:-10}
CONCURRENCY=${CONCURRENCY:-16}
: "${FERRY_BROKERS:?start the stack: eval \"\$(scripts/stack env)\"}"
[ -x "$bin" ] || { echo "no ferry binary at $bin" >&2; exit 1; }

tmp=$(mktemp -d)
key="bench-key-$$"
python3 "$root/tests/tmdb_server.py" --port-file "$tmp/port" --log "$tmp/log" \
    --api-key "$key" --latency-ms "$LATENCY_MS" >"$tmp/server.out" 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$tmp/port")/3"
touch "$tmp/log"

# stats FROM_LINE: "<requests> <achieved req/s> <max in any 1 s window>" of log lines FROM_LINE..
stats() {
    python3 - "$tmp/log" "$1" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()[int(sys.argv[2]):]
ts = sorted(json.loads(l)["t"] for l in lines if l.strip())
best, j = 0, 0
for i in range(len(ts)):
    while ts[i] - ts[j] >= 1.0:
        j += 1
    best = max(best, i - j + 1)
rate = (len(ts) - 1) / (ts[-1] - ts[0]) if len(ts) > 1 else 0.0
print("%d %.2f %d" % (len(ts), rate, best))
EOF
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "machine: $(nproc) cores, $(uname -r); ferry $("$bin" --version | awk '{print $2}'); latency ${LATENCY_MS} ms/response; pages 1-$PAGES"
echo
echo "| crawler | limit (req/s) | run | requests | achieved req/s | % of limit | max in any 1 s | wall s |"
echo "|---|---|---|---|---|---|---|---|"
declare -A med
for rate in $RATES; do
    : >"$tmp/rates"
    for run in $(seq "$RUNS"); do
        from=$(wc -l <"$tmp/log")
        t0=$(date +%s.%N)
        TMDB_API_KEY=$key "$bin" crawl tmdb --base-url "$url" --pages 1-"$PAGES" --rate "$rate" \
            --concurrency "$CONCURRENCY" --topic "bench.crawl.$$.$rate.$run" \
            --progress-topic "bench.crawl.progress.$$" --job "bench-$$-$rate-$run" \
            --progress 0 --log-level warn
        t1=$(date +%s.%N)
        read -r n achieved window < <(stats "$from")
        pct=$(awk -v a="$achieved" -v r="$rate" 'BEGIN {printf "%.1f", 100 * a / r}')
        wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')
        echo "| ferry crawl tmdb | $rate | $run | $n | $achieved | $pct % | $window | $wall |"
        echo "$achieved" >>"$tmp/rates"
    done
    med[$rate]=$(median <"$tmp/rates")
done
: >"$tmp/legacy"
for run in $(seq "$RUNS"); do
    from=$(wc -l <"$tmp/log")
    out=$(python3 "$root/bench/crawl/legacy_crawler.py" "$url" "$key" 1 "$LEGACY_PAGES")
    read -r n achieved window < <(stats "$from")
    wall=$(awk '{print $4}' <<<"$out")
    legacy=$(awk '{print $6}' <<<"$out")
    echo "| legacy (1 at a time + 0.4 s pause) | - | $run | $n | $legacy | - | $window | $wall |"
    echo "$legacy" >>"$tmp/legacy"
done
lmed=$(median <"$tmp/legacy")
echo
for rate in $RATES; do
    awk -v r="$rate" -v a="${med[$rate]}" -v l="$lmed" 'BEGIN {
        printf "median at limit %s: %.2f req/s = %.1f %% of the limit, %.1fx the legacy crawler (%.2f req/s)\n",
               r, a, 100 * a / r, a / l, l }'
done

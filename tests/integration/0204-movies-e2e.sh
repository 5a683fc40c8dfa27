#!/usr/bin/env bash
# 0204-movies-e2e: the whole movie pipeline on the real stack, from a local TMDB look-alike
# (tests/tmdb_server.py: recorded bodies with non-Latin titles, null titles and paths, empty
# strings and arrays, escaped slashes, fields TMDB adds later, details bodies, a 404 detail)
# to a local Airflow look-alike (tests/webhook_server.py):
#   ferry crawl tmdb -> ferry preprocess -> ferry retrain -> ferry retrain dispatch
#  - `movies` matches what the server served, field for field (a null title is stored as
#    the crawler sends it, ""; null paths stay NULL; raw_json is the served item, details_json
#    the served details body or NULL after the 404);
#  - watch_log holds the derived rows of every movie, and the feature stream exactly one copy
#    of each (read_committed);
#  - the retrain worker fires floor(rows / N) triggers and Airflow receives each once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/movies_lib.sh"

run=$(unique it.e2e)
tab="it_e2e_$$_$(date +%s%N | tail -c 7)"
key="e2e-key-$$"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$TMP"' EXIT
create_topics 3 "$run.movies" "$run.features"
create_topics 1 "$run.retrain"

python3 "$FERRY_SOURCE_DIR/tests/tmdb_server.py" --port-file "$TMP/tmdb.port" \
    --served "$TMP/served" --api-key "$key" --total-pages 8 --details-404 2 >/dev/null 2>&1 &
pids+=($!)
python3 "$FERRY_SOURCE_DIR/tests/webhook_server.py" --port-file "$TMP/wh.port" \
    --log "$TMP/wh.log" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$TMP/tmdb.port" ] && [ -s "$TMP/wh.port" ] && break; sleep 0.1; done

check_eq "crawl exits 0" 0 "$(exit_code env TMDB_API_KEY="$key" "$FERRY_BIN" crawl tmdb \
    --base-url "http://127.0.0.1:$(cat "$TMP/tmdb.port")/3" --topic "$run.movies" \
    --pages 1-8 --details --job "$run.job" --language ko-KR --region KR --log-level warn)"
check_eq "preprocess exits 0" 0 "$(exit_code ferry preprocess --pg "$FERRY_PG_URL" \
    --topic "$run.movies" --features-topic "$run.features" --group "$run.pp" \
    --movies-table "${tab}_m" --watch-log-table "${tab}_w" --until-idle 1s)"
check "preprocess: 160 movies stored, nothing dead-lettered" \
    grep -q 'records 160, movies stored 160, stale fetches 0, .*dead-lettered 0' "$TMP/err"

# movies vs the bodies the server served
psql "$FERRY_PG_URL" -Atc "select coalesce(json_agg(json_build_object('id', id, 'title', title,
    'original_title', original_title, 'original_language', original_language,
    'overview', overview, 'release_date', coalesce(release_date::text, ''),
    'popularity', popularity, 'vote_average', vote_average, 'vote_count', vote_count,
    'adult', adult, 'video', video, 'genre_ids', genre_ids, 'poster_path', poster_path,
    'backdrop_path', backdrop_path, 'raw_json', raw_json, 'details_json', details_json,
    'page', page, 'language', language, 'region', region, 'job_id', job_id)), '[]')
    from ${tab}_m" >"$TMP/movies.json"
python3 - "$TMP/served" "$TMP/movies.json" "$run.job" >"$TMP/compare.out" <<'EOF'
import json, math, sys
served = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rows = {r["id"]: r for r in json.load(open(sys.argv[2]))}
job = sys.argv[3]
items, details = {}, {}
for r in served:
    if r["kind"] == "list":
        for it in json.loads(r["body"])["results"]:
            items[it["id"]] = (r["page"], it)
    elif r["kind"] == "details":
        details[r["id"]] = json.loads(r["body"]) if r.get("status") == 200 else None
bad = []
def same(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return a == b
for mid, (page, it) in items.items():
    r = rows.get(mid)
    if r is None:
        bad.append("movie %s missing" % mid); continue
    want = {
        "title": it.get("title") or "", "original_title": it.get("original_title") or "",
        "original_language": it.get("original_language") or "",
        "overview": it.get("overview") or "", "release_date": it.get("release_date") or "",
        "popularity": float(it.get("popularity") or 0), "vote_average": float(it.get("vote_average") or 0),
        "vote_count": it.get("vote_count") or 0, "adult": bool(it.get("adult")),
        "video": bool(it.get("video")), "genre_ids": it.get("genre_ids") or [],
        "poster_path": it.get("poster_path"), "backdrop_path": it.get("backdrop_path"),
        "raw_json": it, "details_json": details.get(mid, "not served"), "page": page,
        "language": "ko-KR", "region": "KR", "job_id": job}
    for k, v in want.items():
        if not same(v, r[k]):
            bad.append("movie %s %s: served %r, stored %r" % (mid, k, v, r[k]))
extra = set(rows) - set(items)
bad += ["movie %s stored but not served" % m for m in sorted(extra)]
nonlatin = sum(1 for _, it in items.values() if any(ord(c) > 127 for c in (it.get("title") or "")))
print("\n".join(bad[:20]))
print("served %d, stored %d, non-Latin titles %d, null titles %d, details 404 %d, mismatches %d" % (
    len(items), len(rows), nonlatin, sum(1 for _, it in items.values() if it.get("title") is None),
    sum(1 for v in details.values() if v is None), len(bad)))
EOF
tail -1 "$TMP/compare.out"
check "movies matches what the server served, field for field" grep -q 'mismatches 0$' "$TMP/compare.out"
check "the served movies include non-Latin titles, null titles and a details 404" \
    grep -qE 'non-Latin titles [1-9][0-9]*, null titles [1-9][0-9]*, details 404 [1-9]' "$TMP/compare.out"

committed_values "$run.features" >"$TMP/f.json"
feature_tuples "$TMP/f.json" >"$TMP/e"
rows=$(psql "$FERRY_PG_URL" -Atc "select count(*) from ${tab}_w")
check_eq "one feature event per watch_log row" "$rows" "$(wc -l <"$TMP/e")"
check "no feature event twice" test -z "$(cut -f1-4 "$TMP/e" | uniq -d | head -1)"
check_eq "every movie has watch-log rows" 160 \
    "$(psql "$FERRY_PG_URL" -Atc "select count(distinct content_id) from ${tab}_w")"

N=500
# the trigger checks below compare with rows / N: they say something only if that is not 0
check "the watch log is big enough for at least 2 triggers of $N rows ($rows rows)" test $((rows / N)) -ge 2
check_eq "retrain exits 0" 0 "$(exit_code ferry retrain --topic "$run.features" \
    --retrain-topic "$run.retrain" --group "$run.rt" --min-new-rows $N --until-idle 1s)"
check_eq "retrain fired floor(rows / N) triggers" "$((rows / N))" \
    "$(committed_values "$run.retrain" | wc -l)"
check_eq "dispatch exits 0" 0 "$(exit_code ferry retrain dispatch --pg "$FERRY_PG_URL" \
    --topic "$run.retrain" --group "$run.d" --deliveries-table "${tab}_d" \
    --webhook-url "http://127.0.0.1:$(cat "$TMP/wh.port")" --until-idle 1s)"
check_eq "Airflow received every trigger" "$((rows / N))" \
    "$(jq -r 'select(.success) | .dag_run_id' "$TMP/wh.log" | sort -u | wc -l)"
check_eq "  each exactly once (no run created twice)" "$((rows / N))" \
    "$(jq -r 'select(.success) | .dag_run_id' "$TMP/wh.log" | wc -l)"
check_eq "ferry recorded them delivered" "$((rows / N))" \
    "$(psql "$FERRY_PG_URL" -Atc "select count(*) from ${tab}_d where status = 'delivered'")"

psql "$FERRY_PG_URL" -qc "drop table if exists ${tab}_m, ${tab}_w, ${tab}_d" >/dev/null
finish

#!/usr/bin/env python3
"""crawl_check.py - checks for the crawl integration tests (used by 01NN-crawl*.sh).

  crawl_check.py window LOG RATE [--at-least N]
      max number of requests the test server saw in any 1-second window (half-open, by
      arrival time); exit 1 when it is above RATE, or (with --at-least) below N: a limiter
      far too slow must fail as well as one too fast.
  crawl_check.py compare SERVED TAIL --job J --endpoint E [--language L] [--region R]
                 [--details] [--pages A-B]
      every movie of every list page the server served (SERVED, tests/tmdb_server.py
      --served) is in TAIL (`ferry tail --meta` output) with exactly the values served:
      key, id, titles (a null title is ""), paths (null stays null), numbers, flags, genre
      ids, raw_json (the item), details_json (the details body served, or null when the
      details answered 404 or --details is off), page, endpoint, job, language, region.
      Prints one line per mismatch and a summary; exit 1 on any mismatch.
  crawl_check.py list-pages LOG [--from-line N]
      the list pages requested (one per line, in order), from line N of the log on.
"""
import argparse
import json
import math
import sys


def load_lines(path, start=0):
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    return [json.loads(l) for l in lines[start:] if l.strip()]


def cmd_window(args):
    ts = sorted(r["t"] for r in load_lines(args.log) if r.get("t") is not None)
    best, j, at = 0, 0, None
    for i in range(len(ts)):
        while ts[i] - ts[j] >= 1.0:
            j += 1
        if i - j + 1 > best:
            best, at = i - j + 1, ts[j]
    print("requests %d, max in any 1 s window %d (limit %s, at least %s)"
          % (len(ts), best, args.rate, args.at_least))
    if best > float(args.rate):
        return 1
    return 0 if args.at_least is None or best >= float(args.at_least) else 1


def feq(a, b):
    return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)


def cmd_compare(args):
    served = load_lines(args.served)
    pages = None
    if args.pages:
        a, b = args.pages.split("-")
        pages = set(range(int(a), int(b) + 1))
    expected = {}  # id -> (page, item)
    details = {}  # id -> body or None (404)
    for r in served:
        if r["kind"] == "list":
            if pages is not None and r["page"] not in pages:
                continue
            for item in json.loads(r["body"])["results"]:
                expected[item["id"]] = (r["page"], item)
        elif r["kind"] == "details":
            details[r["id"]] = json.loads(r["body"]) if r.get("status") == 200 else None
    got = {}
    for rec in load_lines(args.tail):
        v = rec["value"]
        got.setdefault(v["id"], []).append(rec)
    bad = []

    def check(mid, what, want, have):
        if isinstance(want, float) or isinstance(have, float):
            ok = want is not None and have is not None and feq(want, have)
        else:
            ok = want == have
        if not ok:
            bad.append("movie %s: %s: want %r, got %r" % (mid, what, want, have))

    for mid, (page, item) in sorted(expected.items()):
        recs = got.get(mid)
        if not recs:
            bad.append("movie %s (page %d) missing" % (mid, page))
            continue
        for rec in recs:
            v = rec["value"]
            check(mid, "key", str(mid), rec["key"])
            for f in ("title", "original_title", "original_language", "overview", "release_date"):
                check(mid, f, item.get(f) if item.get(f) is not None else "", v[f])
            for f in ("poster_path", "backdrop_path"):
                check(mid, f, item.get(f), v[f])
            for f in ("popularity", "vote_average"):
                check(mid, f, float(item.get(f) or 0), float(v[f]))
            check(mid, "vote_count", item.get("vote_count") or 0, v["vote_count"])
            check(mid, "adult", bool(item.get("adult")), v["adult"])
            check(mid, "video", bool(item.get("video")), v["video"])
            check(mid, "genre_ids", [g for g in item.get("genre_ids") or [] if isinstance(g, int)],
                  v["genre_ids"])
            check(mid, "raw_json", item, json.loads(v["raw_json"]))
            if args.details:
                want = details.get(mid, "not served")
                have = json.loads(v["details_json"]) if v["details_json"] is not None else None
                check(mid, "details_json", want, have)
            else:
                check(mid, "details_json", None, v["details_json"])
            check(mid, "page", page, v["page"])
            check(mid, "endpoint", args.endpoint, v["endpoint"])
            check(mid, "job_id", args.job, v["job_id"])
            check(mid, "language", args.language, v["language"])
            check(mid, "region", args.region, v["region"])
            if not isinstance(v["fetched_at"], int) or v["fetched_at"] < 1600000000 * 10**6:
                bad.append("movie %s: fetched_at %r is not a recent time in us" % (mid, v["fetched_at"]))
    extra = sorted(set(got) - set(expected))
    for mid in extra[:10]:
        bad.append("movie %s was not served on the pages checked" % mid)
    for b in bad[:30]:
        print(b)
    n404 = sum(1 for mid in expected if details.get(mid, 0) is None)
    print("served %d movies, found %d distinct (%d records), %d with details 404, %d mismatches"
          % (len(expected), len(got), sum(len(r) for r in got.values()), n404, len(bad)))
    return 1 if bad else 0


def cmd_list_pages(args):
    for r in load_lines(args.log, args.from_line):
        if r["kind"] == "list":
            print(r["page"])
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("window")
    w.add_argument("log")
    w.add_argument("rate")
    w.add_argument("--at-least", dest="at_least")
    c = sub.add_parser("compare")
    c.add_argument("served")
    c.add_argument("tail")
    c.add_argument("--job", required=True)
    c.add_argument("--endpoint", required=True)
    c.add_argument("--language")
    c.add_argument("--region")
    c.add_argument("--details", action="store_true")
    c.add_argument("--pages")
    lp = sub.add_parser("list-pages")
    lp.add_argument("log")
    lp.add_argument("--from-line", type=int, default=0)
    args = ap.parse_args()
    return {"window": cmd_window, "compare": cmd_compare, "list-pages": cmd_list_pages}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())

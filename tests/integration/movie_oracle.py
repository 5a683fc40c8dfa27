#!/usr/bin/env python3
"""movie_oracle.py - the watch-log derivation of docs/movies.md ("The derivation (version 1)"),
written again from that text in Python, as the tests' oracle for what preprocess stores.

  movie_oracle.py MOVIES.json ROWS.tsv
      MOVIES.json: a JSON array of the stored fetches (id, vote_average, popularity,
      fetched_at in microseconds); ROWS.tsv: content_id, user_id, watch_seconds, rating,
      popularity, event_time in microseconds, as the table holds them. Prints each difference
      and a summary line "rows expected N got M differences D"; exit 1 on any difference.
"""
import json
import math
import struct
import sys

M64 = (1 << 64) - 1
VERSION = 1
POOL = 1000
RUNTIME = 7200
WINDOW_S = 7 * 86400
MAX_VIEWS = 64


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


class Gen:
    def __init__(self, state):
        self.state = state

    def next64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & M64
        return mix64(self.state)

    def unit(self):
        return (self.next64() >> 11) * (1.0 / 9007199254740992.0)

    def noise(self):
        s = self.unit() + self.unit() + self.unit() + self.unit()
        return (s - 2.0) * 1.7320508075688772


def bits(d):
    if d == 0.0:
        d = 0.0
    return struct.unpack("<Q", struct.pack("<d", d))[0]


def views(va, pop):
    v = math.exp2(va / 2.0) * (1.0 + math.log10(1.0 + pop)) / 4.0
    if not v < MAX_VIEWS:
        return MAX_VIEWS
    return min(MAX_VIEWS, 1 + math.floor(v))


def derive(m):
    va, pop = float(m["vote_average"]), float(m["popularity"])
    state = mix64((m["id"] & M64) ^ 0x66657272792D6D76)  # "ferry-mv"
    state = mix64(state ^ bits(va))
    state = mix64(state ^ bits(pop))
    state = mix64(state ^ VERSION)
    g = Gen(state)
    lo, hi = math.pow(1.1, -5.0), math.pow(1.1, 5.0)
    frac = (math.pow(1.1, va - 5.0) - lo) / (hi - lo)
    a = g.next64() % POOL
    b = 1 + 2 * (g.next64() % (POOL // 2))
    if b % 5 == 0:
        b += 2
    rows = []
    for i in range(views(va, pop)):
        user = 1 + (a + i * b) % POOL
        secs = round(RUNTIME * frac * (1.0 + 0.1 * g.noise()))  # half to even, as rint
        secs = 0 if secs < 0 else RUNTIME if secs > RUNTIME else int(secs)
        rating = round((va / 2.0 + 0.5 * g.noise()) * 2.0) / 2.0
        rating = 0.5 if rating < 0.5 else 5.0 if rating > 5.0 else rating
        event = m["fetched_at"] - (g.next64() % WINDOW_S) * 1000000
        rows.append((m["id"], user, secs, rating, pop, event))
    return rows


def main():
    movies = json.load(open(sys.argv[1], encoding="utf-8"))
    want = {}
    for m in movies:
        for r in derive(m):
            want[(r[0], r[1])] = r
    got = {}
    for line in open(sys.argv[2], encoding="utf-8"):
        if not line.strip():
            continue
        f = line.rstrip("\n").split("\t")
        r = (int(f[0]), int(f[1]), int(f[2]), float(f[3]), float(f[4]), int(f[5]))
        got[(r[0], r[1])] = r
    diffs = 0
    for k in sorted(set(want) | set(got)):
        if want.get(k) != got.get(k):
            diffs += 1
            if diffs <= 20:
                print("content %s user %s: expected %s, got %s" % (k[0], k[1], want.get(k), got.get(k)))
    print("rows expected %d got %d differences %d" % (len(want), len(got), diffs))
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""legacy_crawler.py - the anchor for bench/crawl: the legacy TMDB crawler of seed 000
(data-prepare/crawler.py, TMDBCrawler.get_bulk_popular_movies), reduced to what sets its
speed: one request at a time, then a 0.4 s pause, page after page, results kept in memory.

    legacy_crawler.py BASE_URL API_KEY FIRST LAST
prints "requests N seconds S rate R" (R = requests per second over the whole run).
"""
import json
import sys
import time
import urllib.request


def main():
    base, key, first, last = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    movies = []
    t0 = time.monotonic()
    n = 0
    for page in range(first, last + 1):
        url = "%s/movie/popular?page=%d&api_key=%s" % (base, page, key)
        with urllib.request.urlopen(url, timeout=30) as r:
            movies.extend(json.loads(r.read())["results"])
        n += 1
        time.sleep(0.4)  # the legacy crawler's pause between requests
    secs = time.monotonic() - t0
    print("requests %d seconds %.2f rate %.2f movies %d" % (n, secs, n / secs, len(movies)))


if __name__ == "__main__":
    main()

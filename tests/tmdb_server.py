#!/usr/bin/env python3
"""tmdb_server.py - a local TMDB API v3 look-alike for ferry's crawl tests and benchmark.

Serves GET /3/movie/{popular,top_rated,now_playing}?page=N and GET /3/movie/{id} with bodies
BUILT FROM the recorded real responses in tests/fixtures/tmdb/ (popular_page1.json,
movie_634649.json, error_401.json):

  * every page holds the 20 fixture movies made distinct: id = fixture id * 1000 + page,
    titles varied per page; some items get non-Latin titles (Korean, Japanese, Russian,
    Arabic, Chinese + emoji), null paths, empty strings and arrays, a null title, an
    integer where TMDB usually sends a real, and a field TMDB might add later;
  * pages are written three ways in turn: tab-indented like the fixture, compact with
    escaped slashes ("\\/x.jpg"), and ASCII-only with \\uXXXX escapes;
  * details bodies are the fixture details with the movie's id and titles;
  * credentials are checked like TMDB: api_key query parameter or Authorization: Bearer;
    a wrong or missing one gets HTTP 401 with the real error body;
  * pages past --total-pages come back with empty results; page > 500 gets HTTP 422.

Faults on demand (each applies to the FIRST attempts of a request only, so retries succeed):
  --fail-429 PAGES    list pages answered 429 with Retry-After: 1 (and TMDB's 429 body)
  --fail-500 PAGES    list pages answered 500 (a page listed twice fails twice)
  --slow PAGES        list pages answered after --slow-ms (or PAGE:MS for a page's own delay)
  --details-404 PAGES on these pages the details of the 4th movie (index 3) answer 404
  --details-500 PAGES on these pages the details of the 6th movie (index 5) fail once with 503
  --latency-ms N      every response waits N ms (benchmark)

Hostile bodies and redirects (every attempt):
  --big-page PAGE:BYTES     the list body of PAGE is padded (the 1st movie's overview) to BYTES
  --big-item PAGE:BYTES     the 3rd movie of PAGE gets an overview of BYTES (its event is huge)
  --big-details PAGE:BYTES  the details body of the 1st movie of PAGE is padded to BYTES
  --odd-numbers PAGES       on these pages: 2nd movie vote_count 1e300, 4th movie id
                            99999999999999999999, 5th movie vote_count -1e300
  --bad-total-pages PAGES   these pages say total_pages: 1e300
  --redirect PAGES          list pages answered 301, 302, 307 or 308 (by page % 4) with a
                            Location under /r/3/..., which serves the same as /3/...
  --redirect-loop PAGES     list pages answered 302 to themselves, forever

Every request is appended to --log as one JSON line: {"t": arrival time (kernel receive
timestamp of the request's first byte when available, else time.time()), "path", "kind"
("list"/"details"/"other"), "page", "id", "status", "auth" ("key"/"bearer"/"none"/"bad"),
"attempt"}. The api_key value itself is never written. Every 200 body served is appended to
--served as {"kind": "list", "page", "body"} or {"kind": "details", "id", "body"}.

The server binds 127.0.0.1 on a free port (or --port) and writes the port to --port-file
once it is listening. It runs until killed (SIGTERM/SIGINT).
"""
import argparse
import copy
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SCM_TIMESTAMPNS = getattr(socket, "SCM_TIMESTAMPNS", SO_TIMESTAMPNS)

NON_LATIN = {
    1: "기생충 {p}",
    2: "千と千尋の神隠し {p}",
    4: "Брат {p}",
    6: "وجدة {p}",
    8: "霸王别姬 🎬 {p}",
}
LISTS = ("popular", "top_rated", "now_playing")
ERR_404 = {"success": False, "status_code": 34,
           "status_message": "The resource you requested could not be found."}
ERR_429 = {"success": False, "status_code": 25,
           "status_message": "Your request count (41) is over the allowed limit of 40."}
ERR_500 = {"success": False, "status_code": 11, "status_message": "Internal error: Something went wrong, contact TMDb."}
ERR_422 = {"success": False, "status_code": 22,
           "status_message": "Invalid page: Pages start at 1 and max at 500. They are expected to be an integer."}


def pages_arg(s):
    out = {}
    for part in (s or "").split(","):
        part = part.strip()
        if part:
            out[int(part)] = out.get(int(part), 0) + 1
    return out


class Catalog:
    """Builds the served bodies from the fixtures."""

    def __init__(self, fixtures, total_pages):
        with open(os.path.join(fixtures, "popular_page1.json"), encoding="utf-8") as f:
            self.page1 = json.load(f)
        with open(os.path.join(fixtures, "movie_634649.json"), encoding="utf-8") as f:
            self.details = json.load(f)
        with open(os.path.join(fixtures, "error_401.json"), "rb") as f:
            self.err401 = f.read()
        self.base = self.page1["results"]
        self.by_orig = {m["id"]: i for i, m in enumerate(self.base)}
        self.total_pages = total_pages

    def item(self, page, i):
        m = copy.deepcopy(self.base[i])
        m["id"] = m["id"] * 1000 + page
        title = NON_LATIN.get(i)
        if title:
            m["title"] = title.format(p=page)
            m["original_title"] = title.format(p=page)
            m["original_language"] = {1: "ko", 2: "ja", 4: "ru", 6: "ar", 8: "zh"}[i]
        else:
            m["title"] = "%s #%d" % (m["title"], page)
        if i == 5:
            m["poster_path"] = None
            m["backdrop_path"] = None
        if i == 7:
            m["overview"] = ""
            m["release_date"] = ""
            m["genre_ids"] = []
        if i == 9:
            m["title"] = None
        if i == 10:
            m["vote_average"] = 0
            m["popularity"] = 12
        if i == 11:
            m["added_by_tmdb_later"] = {"nested": [1, "two", None], "flag": True}
        return m

    def list_body(self, page, hostile=None):
        hostile = hostile or {}
        if page > self.total_pages:
            results = []
        else:
            results = [self.item(page, i) for i in range(len(self.base))]
        if results and page in hostile.get("odd", ()):
            results[1]["vote_count"] = 1e300
            results[3]["id"] = 99999999999999999999
            results[4]["vote_count"] = -1e300
        if results and page in hostile.get("big_item", {}):
            results[2]["overview"] = "o" * hostile["big_item"][page]
        doc = {"page": page, "results": results, "total_pages": self.total_pages,
               "total_results": self.total_pages * len(self.base)}
        if page in hostile.get("bad_total", ()):
            doc["total_pages"] = 1e300
        if results and page in hostile.get("big_page", {}):
            results[0]["overview"] = "p" * hostile["big_page"][page]
        style = page % 3
        if style == 0:
            text = json.dumps(doc, indent="\t", ensure_ascii=False)
        elif style == 1:
            # compact, and every "/" escaped as TMDB's older serializer did ("\/x.jpg");
            # "/" only occurs inside strings, so this stays valid JSON
            text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False).replace("/", "\\/")
        else:
            text = json.dumps(doc, separators=(", ", ": "), ensure_ascii=True)
        return text.encode("utf-8")

    def details_body(self, movie_id):
        page, orig = movie_id % 1000, movie_id // 1000
        i = self.by_orig.get(orig)
        if i is None or page < 1 or page > self.total_pages:
            return None
        item = self.item(page, i)
        d = copy.deepcopy(self.details)
        d["id"] = movie_id
        d["title"] = item["title"]
        d["original_title"] = item["original_title"]
        return json.dumps(d, indent="\t", ensure_ascii=False).encode("utf-8")


class State:
    def __init__(self, args):
        self.args = args
        self.cat = Catalog(args.fixtures, args.total_pages)
        self.lock = threading.Lock()
        self.attempts = {}
        self.log = open(args.log, "a", encoding="utf-8") if args.log else None
        self.served = open(args.served, "a", encoding="utf-8") if args.served else None
        self.fail429 = pages_arg(args.fail_429)
        self.fail500 = pages_arg(args.fail_500)
        self.slow = {}
        for part in (args.slow or "").split(","):
            if part.strip():
                page, _, ms = part.partition(":")
                self.slow[int(page)] = int(ms) if ms else args.slow_ms
        def sizes(arg):
            out = {}
            for part in (arg or "").split(","):
                if part.strip():
                    page, _, n = part.partition(":")
                    out[int(page)] = int(n)
            return out
        self.hostile = {"odd": pages_arg(args.odd_numbers), "bad_total": pages_arg(args.bad_total_pages),
                        "big_item": sizes(args.big_item), "big_page": sizes(args.big_page)}
        self.big_details = sizes(args.big_details)
        self.redirect = pages_arg(args.redirect)
        self.redirect_loop = pages_arg(args.redirect_loop)
        self.d404 = pages_arg(args.details_404)
        self.d500 = pages_arg(args.details_500)

    def attempt(self, key):
        with self.lock:
            n = self.attempts.get(key, 0) + 1
            self.attempts[key] = n
            return n

    def write(self, fp, rec):
        if fp:
            with self.lock:
                fp.write(json.dumps(rec, ensure_ascii=False) + "\n")
                fp.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tmdb-test/1"
    timeout = 60

    def log_message(self, fmt, *args):  # quiet
        pass

    def _arrival(self):
        """Kernel receive time of the next request's first byte (peeked, not consumed)."""
        try:
            data, anc, _flags, _addr = self.connection.recvmsg(1, socket.CMSG_SPACE(16),
                                                               socket.MSG_PEEK)
            if not data:
                return None
            for level, typ, cdata in anc:
                if level == socket.SOL_SOCKET and typ == SCM_TIMESTAMPNS and len(cdata) >= 16:
                    sec, nsec = struct.unpack("qq", cdata[:16])
                    return sec + nsec / 1e9
        except (OSError, ValueError):
            return None
        return time.time()

    def handle_one_request(self):
        self.t_arrival = self._arrival()
        if self.t_arrival is None:
            self.close_connection = True
            return
        super().handle_one_request()

    def send_json(self, status, body, headers=None):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):  # noqa: N802
        st = self.server.state
        args = st.args
        u = urlsplit(self.path)
        q = parse_qs(u.query)
        parts = [p for p in u.path.split("/") if p]
        redirected = parts[:1] == ["r"]
        if redirected:
            parts = parts[1:]
        rec = {"t": self.t_arrival, "path": u.path, "kind": "other", "page": None, "id": None,
               "query": sorted(k for k in q if k != "api_key")}
        # credentials, as TMDB checks them
        key = q.get("api_key", [None])[0]
        authz = self.headers.get("Authorization", "")
        if authz.startswith("Bearer "):
            rec["auth"] = "bearer" if args.token and authz[7:] == args.token else "bad"
        elif key is not None:
            rec["auth"] = "key" if args.api_key and key == args.api_key else "bad"
        else:
            rec["auth"] = "none"
        if key is not None and authz:
            rec["auth"] += "+both"
        status, body, headers, delay = 404, ERR_404, {}, 0.0
        if len(parts) >= 3 and parts[0] == "3" and parts[1] == "movie":
            if parts[2] in LISTS and len(parts) == 3:
                rec["kind"] = "list"
                try:
                    page = int(q.get("page", ["1"])[0])
                except ValueError:
                    page = 0
                rec["page"] = page
            elif parts[2].isdigit() and len(parts) == 3:
                rec["kind"] = "details"
                rec["id"] = int(parts[2])
        if rec["kind"] != "other" and rec["auth"] not in ("key", "bearer"):
            status, body = 401, st.cat.err401
        elif rec["kind"] == "list":
            page = rec["page"]
            n = st.attempt(("list", parts[2], page))
            rec["attempt"] = n
            if page < 1 or page > 500:
                status, body = 422, ERR_422
            elif page in st.redirect_loop:
                status, body = 302, ERR_404
                headers = {"Location": self.path}
            elif page in st.redirect and not redirected:
                status, body = (308, 301, 302, 307)[page % 4], ERR_404
                headers = {"Location": "/r" + self.path}
            elif n <= st.fail429.get(page, 0):
                status, body, headers = 429, ERR_429, {"Retry-After": "1"}
            elif n <= st.fail500.get(page, 0):
                status, body = 500, ERR_500
            else:
                if n == 1 and page in st.slow:
                    delay = st.slow[page] / 1000.0
                status, body = 200, st.cat.list_body(page, st.hostile)
                if page not in st.hostile["big_page"]:
                    st.write(st.served, {"kind": "list", "page": page, "list": parts[2],
                                         "body": body.decode("utf-8")})
        elif rec["kind"] == "details":
            mid = rec["id"]
            n = st.attempt(("details", mid))
            rec["attempt"] = n
            page, idx = mid % 1000, st.cat.by_orig.get(mid // 1000)
            dbody = st.cat.details_body(mid)
            if dbody is None or (idx == 3 and page in st.d404):
                status, body = 404, ERR_404
                st.write(st.served, {"kind": "details", "id": mid, "status": 404})
            elif idx == 5 and page in st.d500 and n <= st.d500[page]:
                status, body = 503, ERR_500
            else:
                status, body = 200, dbody
                if idx == 0 and page in st.big_details:
                    d = json.loads(dbody)
                    d["overview"] = "d" * st.big_details[page]
                    body = json.dumps(d).encode("utf-8")
                else:
                    st.write(st.served, {"kind": "details", "id": mid, "status": 200,
                                         "body": dbody.decode("utf-8")})
        rec["status"] = status
        rec["redirected"] = redirected
        st.write(st.log, rec)
        delay += args.latency_ms / 1000.0
        if delay > 0:
            time.sleep(delay)
        try:
            self.send_json(status, body, headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def server_bind(self):
        # Kernel receive timestamps; accepted sockets inherit the option.
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:
            pass
        super().server_bind()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--fixtures", default=os.path.join(here, "fixtures", "tmdb"))
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log")
    ap.add_argument("--served")
    ap.add_argument("--api-key", help="the valid v3 key (else every key is refused)")
    ap.add_argument("--token", help="the valid v4 token (else every token is refused)")
    ap.add_argument("--total-pages", type=int, default=500)
    ap.add_argument("--fail-429", default="")
    ap.add_argument("--fail-500", default="")
    ap.add_argument("--slow", default="")
    ap.add_argument("--slow-ms", type=int, default=2500)
    ap.add_argument("--details-404", default="")
    ap.add_argument("--details-500", default="")
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--big-page", default="")
    ap.add_argument("--big-item", default="")
    ap.add_argument("--big-details", default="")
    ap.add_argument("--odd-numbers", default="")
    ap.add_argument("--bad-total-pages", default="")
    ap.add_argument("--redirect", default="")
    ap.add_argument("--redirect-loop", default="")
    args = ap.parse_args()
    if args.api_key is None:
        args.api_key = os.environ.get("TMDB_TEST_API_KEY")
    if args.token is None:
        args.token = os.environ.get("TMDB_TEST_TOKEN")
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.state = State(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, args.port_file)
    try:
        srv.serve_forever(poll_interval=0.2)
    except (KeyboardInterrupt, SystemExit):
        pass


if __name__ == "__main__":
    main()

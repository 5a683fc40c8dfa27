#!/usr/bin/env python3
"""webhook_server.py - a local stand-in for the retraining webhook, for ferry's tests.

It behaves like Apache Airflow 2's stable REST API for triggering DAG runs, and like a
plain JSON endpoint on every other path:

  POST /api/v1/dags/{dag_id}/dagRuns   {"dag_run_id": ..., "logical_date": ..., "conf": {...}}
      200 + the DAGRun object     the run was created (state "queued")
      409 + Airflow's error body  a run with this dag_run_id (or logical_date) exists already
      400                         body is not a JSON object / bad field
      401                         missing or wrong credentials (when --user/--token are set)
      503                         the first --fail-first deliveries (to test retries)
  GET  /api/v1/dags/{dag_id}/dagRuns   {"dag_runs": [...], "total_entries": n}
  POST /anything-else                  200 {"ok": true} (or 503 / 401 as above)

Every request is appended to --log as one JSON line: time, method, path, status,
auth ("ok", "missing", "wrong" or "none"), dag_run_id, success (true for a 2xx answer to a
POST), body (the parsed JSON, or the raw text) and the Idempotency-Key header. Credentials
themselves are never written. The chosen port goes to --port-file once the socket listens.

Only the Python 3 standard library is used.
"""
import argparse
import base64
import datetime
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DAG_RUNS = re.compile(r"^/api/v1/dags/([^/]+)/dagRuns/?$")
ERRORS_DOC = "https://airflow.apache.org/docs/apache-airflow/2.7.3/stable-rest-api-ref.html"


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.posts = 0
        self.runs = {}  # (dag_id, dag_run_id) -> run
        self.logical = set()  # (dag_id, logical_date)
        self.log = open(args.log, "a", encoding="utf-8") if args.log else None

    def record(self, entry):
        entry["time"] = time.time()
        if self.log:
            self.log.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self.log.flush()


def problem(status, title, detail, kind):
    return {"detail": detail, "status": status, "title": title,
            "type": f"{ERRORS_DOC}#section/Errors/{kind}"}


class Handler(BaseHTTPRequestHandler):
    server_version = "ferry-test-webhook/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: everything goes to --log
        pass

    def reply(self, status, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def auth(self, args):
        if not args.user and not args.token:
            return "none"
        h = self.headers.get("Authorization")
        if not h:
            return "missing"
        if args.token and h == f"Bearer {args.token}":
            return "ok"
        if args.user and h.startswith("Basic "):
            try:
                user, _, pw = base64.b64decode(h[6:]).decode().partition(":")
            except Exception:  # noqa: BLE001 - any garbage is a wrong credential
                return "wrong"
            if user == args.user and pw == (args.password or ""):
                return "ok"
        return "wrong"

    def do_GET(self):
        st = self.server.state
        m = DAG_RUNS.match(self.path.split("?")[0])
        if not m:
            self.reply(404, problem(404, "Not Found", "no such endpoint", "NotFound"))
            return
        with st.lock:
            runs = [r for (d, _), r in st.runs.items() if d == m.group(1)]
        self.reply(200, {"dag_runs": runs, "total_entries": len(runs)})

    def do_POST(self):
        st = self.server.state
        args = st.args
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n).decode("utf-8", "replace")
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        path = self.path.split("?")[0]
        m = DAG_RUNS.match(path)
        entry = {"method": "POST", "path": path, "body": body if body is not None else raw,
                 "idempotency_key": self.headers.get("Idempotency-Key"),
                 "dag_run_id": body.get("dag_run_id") if isinstance(body, dict) else None}
        auth = self.auth(args)
        entry["auth"] = auth
        if args.delay > 0:
            time.sleep(args.delay)
        with st.lock:
            st.posts += 1
            if auth in ("missing", "wrong"):
                status, out = 401, problem(401, "Unauthorized", "Invalid credentials",
                                           "Unauthenticated")
            elif st.posts <= args.fail_first:
                status, out = 503, {"detail": "service unavailable (test server: failing the "
                                              f"first {args.fail_first} deliveries)",
                                    "status": 503, "title": "Service Unavailable"}
            elif not isinstance(body, dict):
                status, out = 400, problem(400, "Bad Request", "the body is not a JSON object",
                                           "BadRequest")
            elif not m:
                status, out = 200, {"ok": True}
            else:
                status, out = self.trigger(st, m.group(1), body)
            entry["status"] = status
            entry["success"] = 200 <= status < 300
            st.record(entry)
        headers = {"Retry-After": str(args.retry_after)} if status == 503 and args.retry_after >= 0 else None
        self.reply(status, out, headers)

    @staticmethod
    def trigger(st, dag_id, body):
        run_id = body.get("dag_run_id")
        conf = body.get("conf", {})
        if run_id is not None and not isinstance(run_id, str):
            return 400, problem(400, "Bad Request", "dag_run_id: Not a valid string.", "BadRequest")
        if not isinstance(conf, dict):
            return 400, problem(400, "Bad Request", "conf: Not a valid mapping type.", "BadRequest")
        now = datetime.datetime.now(datetime.timezone.utc).isoformat()
        logical = body.get("logical_date") or now
        if run_id is None:
            run_id = f"manual__{logical}"
        if (dag_id, run_id) in st.runs:
            return 409, problem(409, "Conflict", f"DAGRun with DAG ID: '{dag_id}' and DAGRun ID: "
                                f"'{run_id}' already exists", "AlreadyExists")
        if (dag_id, logical) in st.logical:
            return 409, problem(409, "Conflict", f"DAGRun with DAG ID: '{dag_id}' and DAGRun "
                                f"logical date: '{logical}' already exists", "AlreadyExists")
        run = {"conf": conf, "dag_id": dag_id, "dag_run_id": run_id,
               "data_interval_end": logical, "data_interval_start": logical, "end_date": None,
               "execution_date": logical, "external_trigger": True,
               "last_scheduling_decision": None, "logical_date": logical, "note": None,
               "run_type": "manual", "start_date": None, "state": "queued"}
        st.runs[(dag_id, run_id)] = run
        st.logical.add((dag_id, logical))
        return 200, run


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0, help="port (0: any free one)")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--log", help="append one JSON line per request here")
    ap.add_argument("--fail-first", type=int, default=0,
                    help="answer the first N POSTs with 503")
    ap.add_argument("--retry-after", type=int, default=-1,
                    help="send Retry-After: N (seconds) with those 503s")
    ap.add_argument("--user", help="require basic auth with this user")
    ap.add_argument("--password", default=os.environ.get("WEBHOOK_PASSWORD"),
                    help="basic auth password (or env WEBHOOK_PASSWORD)")
    ap.add_argument("--token", default=os.environ.get("WEBHOOK_TOKEN"),
                    help="accept this bearer token (or env WEBHOOK_TOKEN)")
    ap.add_argument("--delay", type=float, default=0.0, help="seconds to wait before answering")
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.state = State(args)
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    print(f"webhook_server: listening on 127.0.0.1:{port}", file=sys.stderr, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()

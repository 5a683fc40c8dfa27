"""tls_proxy.py - an https front for the stack's schema registry, as a registry behind TLS
with its own CA is seen by its clients: every request is forwarded to UPSTREAM and the answer
returned as it came. Listens on 127.0.0.1 (a free port, written to PORTFILE).

  tls_proxy.py CERT KEY UPSTREAM PORTFILE
"""
import http.server
import ssl
import sys
import urllib.error
import urllib.request

cert, key, upstream, portfile = sys.argv[1:5]


class Proxy(http.server.BaseHTTPRequestHandler):
    def forward(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        req = urllib.request.Request(upstream.rstrip("/") + self.path.split("/apis/ccompat/v7", 1)[-1],
                                     data=body, method=self.command)
        for h in ("Content-Type", "Accept", "Authorization"):
            if self.headers.get(h):
                req.add_header(h, self.headers[h])
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, data, ctype = r.status, r.read(), r.headers.get("Content-Type")
        except urllib.error.HTTPError as e:
            status, data, ctype = e.code, e.read(), e.headers.get("Content-Type")
        self.send_response(status)
        self.send_header("Content-Type", ctype or "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = forward

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(portfile, "w") as f:
    f.write(str(srv.server_address[1]))
srv.serve_forever()

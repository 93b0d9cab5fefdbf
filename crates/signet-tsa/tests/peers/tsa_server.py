#!/usr/bin/env python3
"""A tiny local RFC 3161 time-stamp authority for tests: `openssl ts -reply` behind HTTP.

Usage: tsa_server.py DIR   (DIR made by make-pki.sh). Listens on 127.0.0.1, an ephemeral
port, and prints `PORT <n>` on its first line of stdout. Paths:
  POST /ec, /rsa, /expired   answer with the `openssl ts` section tsa_ec, tsa_rsa, tsa_expired
  POST /down                 HTTP 503 (a TSA that is down)
  POST /hang                 never answers (for client timeouts)
Every request and response is also kept as DIR/exchanges/N.tsq / N.tsr.
"""
import http.server
import os
import subprocess
import sys
import tempfile
import threading
import time

DIR = sys.argv[1]
SECTIONS = {"/ec": "tsa_ec", "/rsa": "tsa_rsa", "/expired": "tsa_expired"}
LOCK = threading.Lock()
COUNT = [0]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/hang":
            time.sleep(3600)
            return
        section = SECTIONS.get(self.path)
        if section is None:
            self.send_response(503 if self.path == "/down" else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with LOCK, tempfile.TemporaryDirectory() as tmp:
            q = os.path.join(tmp, "q.tsq")
            r = os.path.join(tmp, "r.tsr")
            with open(q, "wb") as f:
                f.write(body)
            subprocess.run(
                ["openssl", "ts", "-reply", "-config", os.path.join(DIR, "tsa.cnf"),
                 "-section", section, "-queryfile", q, "-out", r],
                check=True, capture_output=True)
            with open(r, "rb") as f:
                reply = f.read()
            COUNT[0] += 1
            keep = os.path.join(DIR, "exchanges")
            os.makedirs(keep, exist_ok=True)
            for ext, data in (("tsq", body), ("tsr", reply)):
                with open(os.path.join(keep, f"{COUNT[0]}.{ext}"), "wb") as f:
                    f.write(data)
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(f"PORT {server.server_address[1]}", flush=True)
server.serve_forever()
